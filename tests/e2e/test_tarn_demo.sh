#!/usr/bin/env bash
# tests/e2e/test_tarn_demo.sh: `tarn demo`, the main job scripts/run runs.
# It must succeed on a fresh data directory and again on the same one (it
# replaces its table), print the steps, and leave a table `tarn sql` reads
# with the rows the tour says: the generator is deterministic, so the
# counts are exact.
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
data="$work/data"

for run in 1 2; do
  "$tarn" demo --data "$data" >"$work/out" 2>"$work/err" || fail "demo run $run: $(cat "$work/err")"
  for want in '== 2. The golden query' '== 3. Time travel' '== 4. Delete' '== 5. Compaction' \
    '== 6. History' "tarn sql --data $data"; do
    grep -qF -- "$want" "$work/out" || fail "run $run: missing '$want'"
  done
  grep -q '^ 10000 *$' "$work/out" || fail "run $run: version 1 is not the first 10000 rows"
done

sql() { "$tarn" sql --data "$data" --format csv -c "$1"; }
# The golden query's groups add up to every generated row at version 3.
got=$(sql "SELECT sum(n) AS n FROM (SELECT l_returnflag, count(*) AS n FROM demo_lineitem VERSION AS OF 3 GROUP BY l_returnflag) AS g")
[[ "$got" == $'n\n30000' ]] || fail "golden groups at version 3: $got"
# After the delete and the compaction: no early shipments, the same rows.
got=$(sql "SELECT count(*) AS n FROM demo_lineitem WHERE l_shipdate < DATE '1993-01-01'")
[[ "$got" == $'n\n0' ]] || fail "deleted rows still there: $got"
before=$(sql "SELECT count(*) AS n FROM demo_lineitem VERSION AS OF 4")
after=$(sql "SELECT count(*) AS n FROM demo_lineitem")
[[ "$before" == "$after" ]] || fail "compaction changed the rows: $before vs $after"
sql "SHOW TABLES" | grep -qx 'demo_lineitem' || fail "SHOW TABLES: $(sql "SHOW TABLES")"

# Bad arguments: a usage error, nothing written.
if "$tarn" demo --rows 0 --data "$work/other" 2>/dev/null; then fail "--rows 0 accepted"; fi
[[ ! -e "$work/other" ]] || fail "--rows 0 wrote a data directory"
echo "ok"
