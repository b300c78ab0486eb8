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

# File pruning by delta's rules over a Spark-like table (hand-written log
# over our data files): string maxima truncated to 32 characters are no
# bound (a 40-character value past the prefix is still found), timestamps
# and decimals prune files, rows equal an unpruned run.
x40=$(printf 'z%.0s' $(seq 1 39))9
sql -c "CREATE TABLE sp (k BIGINT, s VARCHAR, ts TIMESTAMP, d DECIMAL(10,2));
  INSERT INTO sp VALUES (1, 'a', TIMESTAMP '2026-01-01 10:00:00', 1.50), (2, '$x40', TIMESTAMP '2026-01-02 00:00:00', 2.00);
  INSERT INTO sp VALUES (3, 'c', TIMESTAMP '2026-06-01 00:00:00', 150.00), (4, 'd', TIMESTAMP '2026-06-02 12:00:00', 199.99)" >/dev/null
spark="$work/spark"
mkdir -p "$spark/_delta_log"
SRC="$data/objects/tables/sp" DST="$spark" X40="$x40" node -e '
const fs = require("fs"), p = require("path");
const src = process.env.SRC, dst = process.env.DST, x = process.env.X40;
const log = v => fs.readFileSync(p.join(src, "_delta_log", String(v).padStart(20, "0") + ".json"), "utf8")
  .trim().split("\n").map(l => JSON.parse(l));
const out = (v, acts) => fs.writeFileSync(p.join(dst, "_delta_log", String(v).padStart(20, "0") + ".json"),
  acts.map(a => JSON.stringify(a)).join("\n") + "\n");
out(0, log(0).filter(a => a.protocol || a.metaData));
const stats = [
  {numRecords: 2, minValues: {k: 1, s: "a", ts: "2026-01-01T10:00:00.000Z", d: 1.5},
   maxValues: {k: 2, s: x.slice(0, 32), ts: "2026-01-02T00:00:00.000Z", d: 2.0},
   nullCount: {k: 0, s: 0, ts: 0, d: 0}},
  {numRecords: 2, minValues: {k: 3, s: "c", ts: "2026-06-01T00:00:00.000Z", d: 150.0},
   maxValues: {k: 4, s: "d", ts: "2026-06-02T12:00:00.000Z", d: 199.99},
   nullCount: {k: 0, s: 0, ts: 0, d: 0}}];
for (const v of [1, 2]) {
  const add = log(v).find(a => a.add).add;
  fs.copyFileSync(p.join(src, add.path), p.join(dst, add.path));
  out(v, [{add: {path: add.path, partitionValues: {}, size: add.size,
                 modificationTime: add.modificationTime, dataChange: true,
                 stats: JSON.stringify(stats[v - 1])}}]);
}'
prune_case() { # WHERE, expected rows (csv of k), expected files read of 2
  local got plan
  got=$(sql --format csv -c "SELECT k FROM delta_scan('$spark') WHERE $1 ORDER BY k" | tail -n +2 | paste -sd, -)
  [[ "$got" == "$2" ]] || fail "pruned WHERE $1: got '$got', want '$2'"
  got=$(sql --format csv -c "SELECT k FROM sp WHERE $1 OR k IS NULL ORDER BY k" | tail -n +2 | paste -sd, -)
  [[ "$got" == "$2" ]] || fail "unpruned WHERE $1: got '$got', want '$2'"
  plan=$(sql -c "EXPLAIN ANALYZE SELECT k FROM delta_scan('$spark') WHERE $1")
  grep -q "files 2 (read $3 after pruning)" <<<"$plan" || fail "files read for WHERE $1 (want $3): $plan"
}
prune_case "s = '$x40'" 2 1
prune_case "s > 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'" 2 1
prune_case "s = 'c'" 3 2
prune_case "s < 'b'" 1 1
prune_case "ts >= TIMESTAMP '2026-03-01 00:00:00'" 3,4 1
prune_case "ts < TIMESTAMP '2026-01-01 10:00:00.001'" 1 1
prune_case "ts <= TIMESTAMP '2026-01-02 00:00:00'" 1,2 1
prune_case "d > 50" 3,4 1
prune_case "d = 2.00" 2 1
prune_case "d < 1.5" "" 0
prune_case "d >= 199.99" 4 1
prune_case "k >= 1" 1,2,3,4 2

# Ctrl-C (SIGINT) cancels a long statement: its operators stop at their
# next batch, tarn sql says so and exits 1, nothing leaks (ASan).
sql -c "CREATE TABLE cx (v BIGINT); INSERT INTO cx VALUES (1),(2),(3),(4),(5),(6),(7),(8)" >/dev/null
for i in 1 2 3 4 5 6 7 8; do sql -c "INSERT INTO cx SELECT v + 100 FROM cx" >/dev/null; done
"$tarn" sql --data "$data" -c "SELECT count(*) FROM cx a, cx b, cx c" >"$work/cx.out" 2>"$work/cx.err" &
pid=$!
# A SIGINT before the statement starts is ignored (a background job's
# default); send one, wait for the exit, and again if it came too early.
for try in 1 2 3 4 5 6 7 8 9 10; do
  sleep 1
  kill -INT "$pid" 2>/dev/null || break
  for w in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || break
done
if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "SIGINT did not stop the query"; fi
rc=0; wait "$pid" || rc=$?
[[ $rc == 1 ]] || fail "SIGINT: exit $rc, want 1: $(cat "$work/cx.err")"
grep -q '^cancelled (Ctrl-C): the statement at line 1 was stopped' "$work/cx.err" || fail "SIGINT message: $(cat "$work/cx.err")"
! grep -q 'Sanitizer' "$work/cx.err" || fail "SIGINT: $(cat "$work/cx.err")"
[[ ! -s "$work/cx.out" ]] || fail "SIGINT: rows printed: $(cat "$work/cx.out")"

# A table written by one process is there at the very next open of the
# directory, after each of several writers exited (the read at open must
# see every entry the WAL holds as committed).
for i in 1 2 3 4 5 6; do
  sql -c "CREATE TABLE lp$i (v BIGINT); INSERT INTO lp$i VALUES ($i), ($i)" >/dev/null
  got=$(sql --format csv -c "SELECT count(*) AS n, sum(v) AS s FROM lp$i")
  [[ "$got" == $'n,s\n2,'$((2 * i)) ]] || fail "open after a writer exited, round $i: $got"
done

# The usage error.
if "$tarn" sql --format xml -c "SELECT 1" 2>/dev/null; then fail "--format xml accepted"; fi
echo "ok"
