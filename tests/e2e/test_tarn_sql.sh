#!/usr/bin/env bash
# tests/e2e/test_tarn_sql.sh: `tarn sql` as a user runs it: -c, -f, stdin,
# the three output formats, errors with a caret and exit 1, --timing, and
# the golden GROUP BY over several commits.
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
data="$work/data"
sql() { "$tarn" sql --data "$data" "$@"; }

# Several commits of deterministic rows.
sql -c "CREATE TABLE orders (id BIGINT, region VARCHAR, amount DECIMAL(10,2), qty INT) PARTITIONED BY (region)" >/dev/null
for c in 0 1 2; do
  rows=""
  for i in 0 1 2 3 4 5 6 7 8 9; do
    id=$((c * 10 + i))
    region=$(( id % 3 == 0 ? 0 : id % 3 == 1 ? 1 : 2 ))
    names=(east north south)
    rows+="${rows:+, }($id, '${names[$region]}', $id.25, $((id % 4)))"
  done
  sql -c "INSERT INTO orders VALUES $rows" >/dev/null
done

# The golden query: exact rows.
got=$(sql --format json -c "SELECT region, count(*) AS n, sum(qty) AS q, sum(amount) AS total FROM orders GROUP BY region ORDER BY region")
want='{"region":"east","n":10,"q":15,"total":"137.50"}
{"region":"north","n":10,"q":13,"total":"147.50"}
{"region":"south","n":10,"q":15,"total":"157.50"}'
[[ "$got" == "$want" ]] || fail "golden query: got
$got
want
$want"

# Time travel: version 1 is the first commit's 10 rows.
got=$(sql --format csv -c "SELECT count(*) AS n FROM orders VERSION AS OF 1")
[[ "$got" == $'n\n10' ]] || fail "time travel: $got"

# Doubles print exactly (17 significant digits at most), NULL as null.
got=$(sql --format json -c "SELECT CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS d, NULL AS z, DATE '2024-02-29' AS day")
[[ "$got" == '{"d":0.30000000000000004,"z":null,"day":"2024-02-29"}' ]] || fail "json values: $got"

# Table format for people.
got=$(sql -c "SELECT id, region FROM orders WHERE id < 2 ORDER BY id")
grep -q '^ id | region$' <<<"$got" || fail "table header: $got"
grep -q '^ 1  | north *$' <<<"$got" || fail "table row: $got"
grep -q '^(2 rows)$' <<<"$got" || fail "table footer: $got"

# A file of statements, and stdin.
printf 'SELECT 1 AS one;\n-- a comment\nSELECT 2 AS two;\n' >"$work/script.sql"
got=$(sql --format csv -f "$work/script.sql")
[[ "$got" == $'one\n1\ntwo\n2' ]] || fail "-f: $got"
got=$(echo "SELECT count(*) AS n FROM orders WHERE region = 'east';" | sql --format csv)
[[ "$got" == $'n\n10' ]] || fail "stdin: $got"

# Errors: exit 1, the message on stderr with a caret and a suggestion.
if sql -c "SELECT regoin FROM orders" >"$work/out" 2>"$work/err"; then
  fail "unknown column succeeded"
fi
grep -q 'column "regoin" not found' "$work/err" || fail "error text: $(cat "$work/err")"
grep -q '^  SELECT regoin FROM orders$' "$work/err" || fail "error line: $(cat "$work/err")"
grep -q '^         \^$' "$work/err" || fail "caret: $(cat "$work/err")"
grep -q 'did you mean "region"' "$work/err" || fail "hint: $(cat "$work/err")"
[[ ! -s "$work/out" ]] || fail "stdout on error: $(cat "$work/out")"
if sql -c "SELEC 1" 2>"$work/err"; then fail "syntax error succeeded"; fi
grep -q 'syntax error at line 1, column 1' "$work/err" || fail "syntax: $(cat "$work/err")"

# A failing statement stops the script; the ones before it stay done.
if sql -c "INSERT INTO orders VALUES (100, 'west', 1.00, 1); SELECT nope FROM orders; INSERT INTO orders VALUES (101, 'west', 1.00, 1)" >/dev/null 2>&1; then
  fail "script with an error succeeded"
fi
got=$(sql --format csv -c "SELECT id FROM orders WHERE region = 'west'")
[[ "$got" == $'id\n100' ]] || fail "stop at error: $got"

# --timing on stderr; DESCRIBE HISTORY and EXPLAIN.
sql --timing -c "SELECT 1" 2>"$work/err" >/dev/null
grep -q '^Time: [0-9.]* ms$' "$work/err" || fail "timing: $(cat "$work/err")"
got=$(sql --format csv -c "SELECT version, operation FROM (SELECT 1 AS version, 'x' AS operation) AS s")
[[ "$got" == $'version,operation\n1,x' ]] || fail "derived: $got"
sql --format csv -c "DESCRIBE HISTORY orders" | grep -q '^4,' || fail "history"
sql -c "EXPLAIN SELECT region, count(*) FROM orders GROUP BY region" | grep -q 'exchange' || fail "explain"

# The usage error.
if "$tarn" sql --format xml -c "SELECT 1" 2>/dev/null; then fail "--format xml accepted"; fi
echo "ok"
