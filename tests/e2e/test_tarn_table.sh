#!/usr/bin/env bash
# End-to-end test of `tarn table` and `tarn delta` as a user runs them: a
# table created in a data directory, rows inserted from CSV, JSON lines and
# Parquet, scans in every format, time travel, history, OPTIMIZE (same rows
# after), VACUUM (refused below the minimum, then forced), clear errors for
# bad input, and `tarn delta scan` on a table Spark wrote.
# Usage: test_tarn_table.sh PATH/TO/tarn [SHARED_DATA_DIR]
set -euo pipefail
tarn=${1:?usage: test_tarn_table.sh PATH/TO/tarn [SHARED_DATA_DIR]}
shared=${2:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/tarn-e2e-table.XXXXXX")
source "$(dirname "$0")/lib.sh"
d="$work/data"
t() { "$tarn" table "$@" --data "$d"; }

t create ev --columns 'id:long!,name:string,score:double,day:date,amount:decimal(10,2)' \
  --partition-by day >/dev/null || fail "create"
printf 'id,name,score,day,amount\n1,alpha,1.5,2024-01-01,10.25\n2,"be,ta",,2024-01-02,3\n3,,2.25,2024-01-01,-1.50\n' >"$work/a.csv"
out=$(t insert ev "$work/a.csv") || fail "insert csv"
[[ "$out" == "inserted 3 rows into ev (version 1)" ]] || fail "insert csv: $out"
printf '{"id":4,"name":"delta","score":4,"day":"2024-01-02","amount":"7.10"}\n{"id":5,"name":null,"day":null}\n' >"$work/b.jsonl"
out=$(t insert ev "$work/b.jsonl") || fail "insert json"
[[ "$out" == "inserted 2 rows into ev (version 2)" ]] || fail "insert json: $out"

want_json='{"id":1,"name":"alpha","score":1.5,"day":"2024-01-01","amount":"10.25"}
{"id":2,"name":"be,ta","score":null,"day":"2024-01-02","amount":"3.00"}
{"id":3,"name":null,"score":2.25,"day":"2024-01-01","amount":"-1.50"}
{"id":4,"name":"delta","score":4,"day":"2024-01-02","amount":"7.10"}
{"id":5,"name":null,"score":null,"day":null,"amount":null}'
got=$(t scan ev --format json | sort)
[[ "$got" == "$want_json" ]] || fail "scan json: $got"
got=$(t scan ev --format csv --version 1 --columns id,name | sort)
[[ "$got" == $'1,alpha\n2,"be,ta"\n3,\nid,name' ]] || fail "scan csv at version 1: $got"
got=$(t scan ev --limit 2)
grep -q '^(2 rows)$' <<<"$got" || fail "scan table --limit 2: $got"

# Parquet in: an unpartitioned table fed with one of its own data files.
t create flat --columns 'id:long,name:string' >/dev/null || fail "create flat"
printf '{"id":10,"name":"x"}\n{"id":11}\n' >"$work/c.jsonl"
t insert flat "$work/c.jsonl" >/dev/null || fail "insert flat"
pq=$(ls "$d"/objects/tables/flat/*.parquet | head -1)
out=$(t insert flat "$pq") || fail "insert parquet"
[[ "$out" == "inserted 2 rows into flat (version 2)" ]] || fail "insert parquet: $out"
got=$(t scan flat --format csv | sort | tr '\n' ' ')
[[ "$got" == "10,x 10,x 11, 11, id,name " ]] || fail "scan after parquet insert: $got"

hist=$(t history ev)
grep -q '^0 .*| CREATE TABLE' <<<"$hist" || fail "history: $hist"
grep -q '^2 .*| WRITE .*"numOutputRows":"2"' <<<"$hist" || fail "history metrics: $hist"
out=$(t optimize ev) || fail "optimize"
grep -q '^compacted 2 files' <<<"$out" || fail "optimize: $out"
got=$(t scan ev --format json | sort)
[[ "$got" == "$want_json" ]] || fail "rows changed by optimize: $got"
t history ev --format json | tail -1 | grep -q '"operation":"OPTIMIZE"' || fail "history json"

# VACUUM: nothing is old enough by default; below the minimum is refused.
out=$(t vacuum ev) || fail "vacuum"
[[ "$out" == "removed 0 files (0 bytes); kept 5" ]] || fail "vacuum default: $out"
if t vacuum ev --retain-hours 0 >/dev/null 2>"$work/err1"; then fail "vacuum below minimum ran"; fi
grep -q 'below the minimum of 168 hours' "$work/err1" || fail "vacuum refusal: $(cat "$work/err1")"
out=$(t vacuum ev --retain-hours 0 --force) || fail "vacuum forced"
grep -q '^removed 2 files' <<<"$out" || fail "vacuum forced: $out"
got=$(t scan ev --format json | sort)
[[ "$got" == "$want_json" ]] || fail "rows changed by vacuum: $got"

# Bad input: clear errors, exit 1; bad usage: exit 2.
printf 'id,name\n7,x\nseven,y\n' >"$work/bad.csv"
if t insert flat "$work/bad.csv" >/dev/null 2>"$work/err2"; then fail "bad csv accepted"; fi
grep -q 'line 3: column id: "seven" is not a valid long' "$work/err2" || fail "bad csv: $(cat "$work/err2")"
printf 'id,nope\n1,2\n' >"$work/bad2.csv"
if t insert flat "$work/bad2.csv" >/dev/null 2>"$work/err3"; then fail "unknown column accepted"; fi
grep -q 'header column "nope" is not in the table' "$work/err3" || fail "unknown column: $(cat "$work/err3")"
if t scan nosuch >/dev/null 2>"$work/err4"; then fail "scan of a missing table"; fi
grep -q 'nosuch' "$work/err4" || fail "missing table: $(cat "$work/err4")"
set +e
"$tarn" table frobnicate ev --data "$d" >/dev/null 2>&1; rc=$?
set -e
[[ $rc == 2 ]] || fail "bad subcommand exit $rc"
got=$(t scan flat --format csv | wc -l)
[[ "$got" == 5 ]] || fail "a failed insert changed the table"

# Crash points, with the writer really gone (the process exits as kill -9
# would, at the point TARN_TEST_CRASH_POINT names).
nfiles() { find "$d/objects/tables/flat" -name '*.parquet' | wc -l; }
before=$(nfiles)
printf '{"id":20,"name":"lost"}\n' >"$work/lost.jsonl"
set +e
TARN_TEST_CRASH_POINT=1 "$tarn" table insert flat "$work/lost.jsonl" --data "$d" >/dev/null 2>&1; rc=$?
set -e
[[ $rc == 137 ]] || fail "crash point 1: exit $rc"
[[ $(nfiles) == $((before + 1)) ]] || fail "crash point 1: the upload is not there"
got=$(t scan flat --format csv | wc -l)
[[ "$got" == 5 ]] || fail "crash after upload: unacknowledged rows visible"
out=$(t vacuum flat --retain-hours 0 --force)
grep -q '^removed 1 files' <<<"$out" || fail "vacuum of the dead writer's upload: $out"
printf '{"id":21,"name":"kept"}\n' >"$work/kept.jsonl"
set +e
TARN_TEST_CRASH_POINT=2 "$tarn" table insert flat "$work/kept.jsonl" --data "$d" >/dev/null 2>&1; rc=$?
set -e
[[ $rc == 137 ]] || fail "crash point 2: exit $rc"
log3="$d/objects/tables/flat/_delta_log/00000000000000000003.json"
[[ ! -e "$log3" ]] || fail "crash point 2: the log file was written"
# A reader of the log alone does not see version 3 yet; one through the
# metadata service does, and publishes the missing log file on the way.
got=$("$tarn" delta scan "$d/objects/tables/flat" --format csv | wc -l)
[[ "$got" == 5 ]] || fail "log reader before the pending write: $got lines"
# A crash during a log write leaves at most a temporary file: ignored.
printf '{"commitInfo":{' >"$d/objects/tables/flat/_delta_log/.tarn-tmp-00112233445566778899"
got=$(t scan flat --format csv | sort | tr '\n' ' ')
[[ "$got" == "10,x 10,x 11, 11, 21,kept id,name " ]] || fail "after crash point 2: $got"
[[ -e "$log3" ]] || fail "the pending log write was not finished"
got=$("$tarn" delta scan "$d/objects/tables/flat" --format csv | wc -l)
[[ "$got" == 6 ]] || fail "log reader after the pending write: $got lines"
t history flat | grep -q '^3 .*WRITE' || fail "history after crash point 2"

# tarn delta scan: the same table through its log, and a table Spark wrote.
got=$("$tarn" delta scan "$d/objects/tables/ev" --format json | sort)
[[ "$got" == "$want_json" ]] || fail "delta scan of our table: $got"
if [[ -n "$shared" && -d "$shared/delta-acceptance" ]]; then
  sp="$shared/delta-acceptance/basic_partitioned/delta"
  got=$("$tarn" delta scan "$sp" --format json | sort | head -2)
  [[ "$got" == $'{"letter":"a","number":1,"a_float":1.1}\n{"letter":"a","number":4,"a_float":4.4}' ]] ||
    fail "delta scan of Spark's table: $got"
  got=$("$tarn" delta scan "$sp" --version 0 --format csv | wc -l)
  [[ "$got" == 4 ]] || fail "delta scan --version 0: $got lines"
  "$tarn" delta history "$sp" | grep -q '^1 ' || fail "delta history"
fi
if "$tarn" delta scan "$work" >/dev/null 2>"$work/err5"; then fail "delta scan of a non-table"; fi
grep -q 'no Delta log' "$work/err5" || fail "non-table: $(cat "$work/err5")"
echo "e2e tarn table: ok"
