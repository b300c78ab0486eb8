#!/usr/bin/env bash
# bench/tpch/run.sh: TPC-H Q1, Q6 and a filtered count(*) over lineitem,
# measured the way a user runs them: through Tarn's SQL front end
# (sql_session, what `tarn sql` runs) on a Tarn table and on
# read_parquet of the same rows, next to DuckDB 1.5.6 on the same Parquet
# file with 1 and 2 threads, and next to the hand-built exec plans of
# tpch_bench (no SQL: the plans a planner could emit) with 1 and 2 threads.
# Everything in the same run; min and median of RUNS; every result
# compared with DuckDB's (doubles to 1e-9 relative) before a time is shown.
#
#   bench/tpch/run.sh [--quick] [ROWS]     ROWS default 6000000 (--quick: 100000, RUNS 2)
#
# Env: BUILD (a RelWithDebInfo build dir; default $root/build, made with
# `cmake --preset default`), DIR (data cache root, default
# ${TMPDIR:-/tmp}/tarn-tpch), SEED (1), RUNS (5), DECIMAL=1 (DECIMAL(15,2)
# columns as TPC-H specifies, instead of DOUBLE as lineitem-gen.sql; the
# hand-built plans read DOUBLE only and are then left out).
# The data (gen: one Parquet file and table `lineitem` in a data directory
# with the same rows) is made once per (ROWS, SEED, types) under DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
quick=0
if [[ ${1:-} == --quick ]]; then quick=1; shift; fi
rows=${1:-$((quick ? 100000 : 6000000))}
runs=${RUNS:-$((quick ? 2 : 5))}
seed=${SEED:-1}
types=double; [[ ${DECIMAL:-0} == 1 ]] && types=decimal
build=${BUILD:-$root/build}
cache=${DIR:-${TMPDIR:-/tmp}/tarn-tpch}
dir=$cache/lineitem-$rows-seed$seed-$types
out=$dir/out
cd "$root"
[[ -f "$build/CMakeCache.txt" ]] || cmake --preset default -B "$build" >/dev/null
cmake --build "$build" --target tpch_sql tpch_bench >/dev/null
mkdir -p "$cache"
sqlbin=$build/bench/tpch/tpch_sql
"$sqlbin" prepare "$dir" "$rows" "$seed" $([[ $types == decimal ]] && echo decimal)
mkdir -p "$out"
file=$dir/lineitem.parquet

field() { grep '^time_ms' "$1" | cut -d, -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mm() { echo "$(field "$1" 2) / $(field "$1" 3)"; }
check() { # check TARN_OUT DUCK_OUT WHAT
  node bench/q1/duck.js compare "$1" "$2" >/dev/null ||
    { echo "$3: results differ from DuckDB's"; node bench/q1/duck.js compare "$1" "$2"; exit 1; }
}

echo "lineitem: $rows rows (seed $seed, $types), $file ($(du -h "$file" | cut -f1)) and table" \
     "lineitem in $dir/data; $runs runs each; times in ms, min / median"
printf '%-6s %-3s %-17s %-17s %-17s %-17s %-11s %-11s %s\n' query thr "sql table" \
  "sql read_parquet" "hand-built plan" duckdb "table/duck" "file/duck" "plan/duck"
# Sessions with a thread setting run the SQL on 1 and 2 threads; before
# parallel plans there is one serial figure, shown in both rows (marked *).
threads=0; "$sqlbin" threads && threads=1
for q in q1 q6 count; do
  "$sqlbin" sql "$dir" "$q" file > "$out/$q.sql"
  for t in 1 2; do
    if [[ $threads == 1 || $t == 1 ]]; then
      "$sqlbin" run "$dir" "$q" table "$runs" $((threads ? t : 1)) > "$out/$q-table.tarn"
      "$sqlbin" run "$dir" "$q" file "$runs" $((threads ? t : 1)) > "$out/$q-file.tarn"
    fi
    THREADS=$t node bench/tpch/duck.js "$out/$q.sql" "$runs" > "$out/$q-$t.duck"
    check "$out/$q-table.tarn" "$out/$q-$t.duck" "$q, Tarn table"
    check "$out/$q-file.tarn" "$out/$q-$t.duck" "$q, Tarn read_parquet"
    plan="-" plan_ratio="-"
    if [[ $types == double ]]; then
      tt=$t; [[ $t == 1 ]] && tt=0   # one thread: the serial plan
      "$build/bench/tpch/tpch_bench" "$file" "$q" "$runs" "$tt" > "$out/$q-plan-$t.tarn"
      check "$out/$q-plan-$t.tarn" "$out/$q-$t.duck" "$q, hand-built plan on $t threads"
      plan=$(mm "$out/$q-plan-$t.tarn")
      plan_ratio=$(ratio "$(field "$out/$q-plan-$t.tarn" 2)" "$(field "$out/$q-$t.duck" 2)")
    fi
    mark=""; [[ $t == 2 && $threads == 0 ]] && mark=" *"
    d=$out/$q-$t.duck
    printf '%-6s %-3s %-17s %-17s %-17s %-17s %-11s %-11s %s\n' "$q" "$t" \
      "$(mm "$out/$q-table.tarn")$mark" "$(mm "$out/$q-file.tarn")$mark" "$plan" "$(mm "$d")" \
      "$(ratio "$(field "$out/$q-table.tarn" 2)" "$(field "$d" 2)")" \
      "$(ratio "$(field "$out/$q-file.tarn" 2)" "$(field "$d" 2)")" "$plan_ratio"
  done
done
if [[ $threads == 0 ]]; then
  echo "* this build's SQL session has no thread setting (serial plans only): the SQL columns"
  echo "  are one serial run, shown in both rows (the 2-thread ratios compare it with DuckDB on 2)."
else
  echo "SQL columns: the session's thread setting (sql_session_opts.threads) at 1 and 2."
fi
echo "Ratios on the minimums. Every Tarn result above equals DuckDB's (doubles to 1e-9 relative)."
echo "Statements: $out/{q1,q6,count}.sql (Tarn's table runs them with FROM lineitem)."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (timings on a loaded machine are inflated)"
