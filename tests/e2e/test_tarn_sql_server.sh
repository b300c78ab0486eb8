#!/usr/bin/env bash
# tests/e2e/test_tarn_sql_server.sh: SQL against a running `tarn local`:
#  - `tarn sql --data DIR` on a held directory says to use --server;
#  - `tarn sql --server URL` (-c, -f, stdin) prints what a local session
#    prints, in every format, errors with the same caret;
#  - --cluster FILE skips a member that does not answer;
#  - the streamed POST /v1/sql (JSON lines): header, rows, statement, end;
#    an error after rows went out ends the stream visibly (an error line,
#    and the chunked body cut short); an error before any row is a 400.
# The 10M-row stream, the disconnect and the bounded memory are in
# test_tarn_sql_server_stream.sh.
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
: >"$work/out" # lib.sh start reads it at once: do not let set -e race its creation
data="$work/data"
local_sql() { "$tarn" sql --data "$data" "$@"; }

# Data made locally first, so that the two front ends can be compared.
rows=""
for i in $(seq 1 40); do rows+="${rows:+, }($i, 'r$((i % 3))', $i.5, DATE '2024-01-$(printf %02d $((i % 28 + 1)))', $((i % 2 == 0)))"; done
local_sql -c "CREATE TABLE t (id BIGINT, region VARCHAR, amount DECIMAL(10,2), day DATE, even BOOLEAN);
              INSERT INTO t VALUES $rows; INSERT INTO t VALUES (99, NULL, NULL, NULL, NULL)" >/dev/null
q="SELECT region, count(*) AS n, sum(amount) AS total, min(day) AS first, CAST(sum(id) AS DOUBLE) / 3 AS d FROM t GROUP BY region ORDER BY region NULLS FIRST"
q2="SELECT id, region, amount, day, even FROM t WHERE id > 35 ORDER BY id"
# Integers at their extremes (the streamed reply writes integers itself).
q3="SELECT CAST(-9223372036854775807 - 1 AS BIGINT) AS mn, CAST(9223372036854775807 AS BIGINT) AS mx, CAST(-128 AS TINYINT) AS t, CAST(-32768 AS SMALLINT) AS s, CAST(-2147483648 AS INT) AS i, 0 AS z, -id AS neg FROM t WHERE id < 3 ORDER BY id"
# Strings that need JSON escapes (the client parses simple ones itself
# and hands \u escapes to jansson: a control character takes that path).
local_sql -c $'CREATE TABLE txt (s VARCHAR); INSERT INTO txt VALUES (\'plain\'), (\'q"uote\'), (\'back\\slash/\'), (\'tab\there\'), (\'new\nline\'), (\'caf\xc3\xa9 \xf0\x9f\x98\x80\'), (\'ctl\x01x\'), (NULL), (\'\')' >/dev/null
q4="SELECT s, length(s) AS n FROM txt ORDER BY s NULLS FIRST"
script="SELECT 1 AS one; $q; $q2; $q3; $q4"
for f in table csv json; do
  local_sql --format "$f" -c "$script" >"$work/local.$f"
done
local_sql -c "SELECT regin FROM t" 2>"$work/local.err" && fail "local unknown column succeeded"

start
key="$work/data/admin.key"

# The held directory: a clear error that names --server.
out=$("$tarn" sql --data "$data" -c "SELECT 1" 2>&1) && fail "tarn sql on a held directory succeeded"
grep -q "in use by another process" <<<"$out" || fail "held directory message: $out"
grep -q -- "--server" <<<"$out" || fail "held directory message names no --server: $out"

remote() { "$tarn" sql --server "$url" --key-file "$key" "$@"; }
for f in table csv json; do
  remote --format "$f" -c "$script" >"$work/remote.$f" || fail "remote $f failed"
  diff "$work/local.$f" "$work/remote.$f" >&2 || fail "remote $f output differs from local"
done
# The key from DATA/admin.key when --data is given; -f and stdin.
echo "$script" >"$work/script.sql"
"$tarn" sql --server "$url" --data "$data" --format csv -f "$work/script.sql" >"$work/remote.f" ||
  fail "remote -f"
diff "$work/local.csv" "$work/remote.f" >&2 || fail "remote -f differs"
"$tarn" sql --server "$url" --data "$data" --format csv <"$work/script.sql" >"$work/remote.stdin" ||
  fail "remote stdin"
diff "$work/local.csv" "$work/remote.stdin" >&2 || fail "remote stdin differs"

# Errors: the same caret as a local session, exit 1.
remote -c "SELECT regin FROM t" 2>"$work/remote.err" && fail "remote unknown column succeeded"
diff "$work/local.err" "$work/remote.err" >&2 || fail "remote error differs from local"
out=$("$tarn" sql --server "$url" --key nope -c "SELECT 1" 2>&1) && fail "bad key succeeded"
grep -q "unknown API key" <<<"$out" || fail "bad key message: $out"
out=$("$tarn" sql --server "http://127.0.0.1:1" --key-file "$key" -c "SELECT 1" 2>&1) &&
  fail "unreachable server succeeded"
grep -q "cannot reach http://127.0.0.1:1" <<<"$out" || fail "unreachable message: $out"

# Writes through the server, seen by the next statement; the summary lines.
out=$(remote -c "INSERT INTO t VALUES (100, 'r9', 1.00, NULL, true); SELECT count(*) AS n FROM t")
grep -q "insert: 1 row (version" <<<"$out" || fail "remote insert summary: $out"
grep -q "^ 42 *$" <<<"$out" || fail "remote count after insert: $out"

# --cluster: the first member does not answer, the second serves.
printf '{"members":[{"url":"http://127.0.0.1:1"},{"url":"%s"}],"admin_key_file":"%s"}\n' \
  "$url" "$key" >"$work/cluster.json"
out=$("$tarn" sql --cluster "$work/cluster.json" --format csv -c "SELECT count(*) AS n FROM t") ||
  fail "cluster: $out"
[[ "$out" == $'n\n42' ]] || fail "cluster result: $out"

# The wire format.
post() { curl -sS -N -H "X-API-Key: $(cat "$key")" -H "Accept: application/x-ndjson" \
  -X POST --data-binary "$1" "$url/v1/sql"; }
got=$(post '{"sql":"SELECT id, region FROM t WHERE id <= 2 ORDER BY id; SELECT 7 AS x"}' |
  sed 's/"elapsed_ms":[0-9.]*/"elapsed_ms":E/')
want='{"columns":[{"name":"id","type":"BIGINT"},{"name":"region","type":"VARCHAR"}],"statement":0}
[1,"r1"]
[2,"r2"]
{"statement":{"kind":"select","rows":2,"version":-1,"elapsed_ms":E},"index":0}
{"columns":[{"name":"x","type":"BIGINT"}],"statement":1}
[7]
{"statement":{"kind":"select","rows":1,"version":-1,"elapsed_ms":E},"index":1}
{"end":{"statements":2}}'
[[ "$got" == "$want" ]] || fail "stream lines: got
$got
want
$want"

# An error before any line: an ordinary 400 with the position.
out=$(curl -s -w '\n%{http_code}' -H "X-API-Key: $(cat "$key")" -H "Accept: application/x-ndjson" \
  -X POST --data-binary '{"sql":"SELECT nope FROM t"}' "$url/v1/sql")
[[ "$(tail -1 <<<"$out")" == 400 ]] || fail "stream bind error status: $out"
grep -q '"sql_error":{"code":-4,"line":1,"column":8,"offset":7' <<<"$out" ||
  fail "stream bind error position: $out"

# An error after rows went out (overflow in the second batch): the rows,
# then an error line, and curl sees the body cut short.
seq 1 5000 >"$work/big.csv" # one file: scanned in order, 2048 rows a batch
post "{\"sql\":\"CREATE TABLE big (x BIGINT); COPY big FROM '$work/big.csv' (FORMAT csv)\"}" |
  grep -q '"end"' || fail "create big"
set +e
post '{"sql":"SELECT x * 4000000000000000 AS y FROM big"}' >"$work/mid.out" 2>"$work/mid.err"
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "a stream that failed mid-way ended as a complete HTTP body"
head -1 "$work/mid.out" | grep -q '^{"columns":\[{"name":"y"' || fail "mid-stream: no header"
[[ $(grep -c '^\[' "$work/mid.out") -ge 1 ]] || fail "mid-stream: no rows before the error"
tail -1 "$work/mid.out" | grep -q '^{"error":{"code":"bad_request".*overflow' ||
  fail "mid-stream: last line is not the error: $(tail -c 300 "$work/mid.out")"
grep -q '"end"' "$work/mid.out" && fail "mid-stream: an end line after an error"
# The same error before the first row: still an ordinary 400.
out=$(curl -s -w '\n%{http_code}' -H "X-API-Key: $(cat "$key")" -H "Accept: application/x-ndjson" \
  -X POST --data-binary '{"sql":"SELECT x * 4000000000000000 AS y FROM big WHERE x > 4000"}' "$url/v1/sql")
[[ "$(tail -1 <<<"$out")" == 400 ]] || fail "stream runtime error before rows: $out"
grep -q 'overflow' <<<"$out" || fail "stream runtime error before rows, message: $out"
# The shell reports it and exits 1, after the rows it got.
remote --format csv -c "SELECT x * 4000000000000000 AS y FROM big" >"$work/mid.csv" 2>"$work/mid.cerr" &&
  fail "tarn sql --server: mid-stream error exited 0"
grep -q "overflow" "$work/mid.cerr" || fail "tarn sql --server mid-stream message: $(cat "$work/mid.cerr")"

# The buffered shape is unchanged for clients that do not ask for lines.
out=$(curl -s -H "X-API-Key: $(cat "$key")" -X POST --data-binary '{"sql":"SELECT 7 AS x"}' "$url/v1/sql")
[[ "$out" == '{"columns":[{"name":"x","type":"BIGINT"}],"rows":[[7]],"statements":[{"kind":"select"'* ]] ||
  fail "buffered shape: $out"
stop
echo ok
