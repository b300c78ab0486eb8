#!/usr/bin/env bash
# End-to-end test of `tarn parquet schema|meta|cat` on a file Spark wrote
# (the Delta Acceptance data in ../shared/data), as a user runs them.
# Usage: test_tarn_parquet.sh PATH/TO/tarn SHARED_DATA_DIR
set -euo pipefail
tarn=${1:?usage: test_tarn_parquet.sh PATH/TO/tarn SHARED_DATA_DIR}
data=${2:?usage: test_tarn_parquet.sh PATH/TO/tarn SHARED_DATA_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
file=$(ls "$data"/delta-acceptance/basic_append/delta/*.parquet | head -1)
[[ -f "$file" ]] || fail "no Spark Parquet file under $data"

schema=$("$tarn" parquet schema "$file")
grep -q '^letter: BYTE_ARRAY optional -> string$' <<<"$schema" || fail "schema: $schema"
grep -q '^number: INT64 optional -> i64$' <<<"$schema" || fail "schema: $schema"

meta=$("$tarn" parquet meta "$file")
grep -q '^created_by: parquet-mr' <<<"$meta" || fail "meta: $meta"
grep -q 'number: INT64 SNAPPY .* min=1 max=3' <<<"$meta" || fail "meta stats: $meta"

csv=$("$tarn" parquet cat "$file" --columns letter,number --format csv)
[[ "$csv" == $'letter,number\na,1\nb,2\nc,3' ]] || fail "cat csv: $csv"
json=$("$tarn" parquet cat "$file" --columns number --limit 1 --format json)
[[ "$json" == '{"number":1}' ]] || fail "cat json (int64 as a JSON number): $json"
floats=$("$tarn" parquet cat "$file" --columns a_float --format csv)
[[ "$floats" == $'a_float\n1.1\n2.2\n3.3' ]] || fail "doubles not in shortest exact form: $floats"

# Bad input: a clear error and exit 1; bad usage: exit 2.
set +e
"$tarn" parquet cat /etc/hostname >/dev/null 2>"${TMPDIR:-/tmp}/tarn-pq-err.$$"; rc=$?
"$tarn" parquet frobnicate "$file" >/dev/null 2>&1; rc2=$?
set -e
msg=$(cat "${TMPDIR:-/tmp}/tarn-pq-err.$$"); rm -f "${TMPDIR:-/tmp}/tarn-pq-err.$$"
[[ $rc -eq 1 ]] || fail "non-Parquet file: exit $rc, want 1"
grep -q 'TARN_ECORRUPT' <<<"$msg" || fail "non-Parquet file message: $msg"
[[ $rc2 -eq 2 ]] || fail "unknown subcommand: exit $rc2, want 2"
echo "e2e: tarn parquet ok"
