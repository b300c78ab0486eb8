#!/usr/bin/env bash
# bench/tpch/run.sh: TPC-H Q1, Q6 and a filtered count(*) over one lineitem
# Parquet file (lineitem-gen.sql's distributions, 6M rows by default): Tarn
# (our Parquet scan and exec operators: read_parquet of the file) and
# DuckDB 1.5.6 on the same file, each with 1 and 2 threads, in the same
# run; results compared (doubles to 1e-9 relative); min and median of RUNS.
#   bench/tpch/run.sh [ROWS]
# Env: BUILD (default /work/build-exec-rel: cmake --preset default -B "$BUILD"),
# DATA_DIR (where the file goes; default $TMPDIR/tarn-q1, shared with bench/q1), RUNS (5).
# Not measured here: Tarn on its own Delta table (needs the SQL front end).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-6000000}
runs=${RUNS:-5}
build=${BUILD:-/work/build-exec-rel}
data=${DATA_DIR:-${TMPDIR:-/tmp}/tarn-q1}
mkdir -p "$data"
file="$data/lineitem-$rows.parquet"
cd "$root"
[[ -f "$build/CMakeCache.txt" ]] || cmake --preset default -B "$build" >/dev/null
cmake --build "$build" --target tpch_bench >/dev/null
if [[ ! -s "$file" ]]; then
  echo "generating $rows lineitem rows into $file (DuckDB)"
  node bench/q1/duck.js gen "$rows" "$file"
fi
field() { grep '^time_ms' "$1" | cut -d, -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "file $file ($(du -h "$file" | cut -f1), $rows rows), $runs runs each; times in ms (min / median)"
printf '%-6s %-3s %-20s %-20s %s\n' query thr tarn duckdb "tarn/duckdb (min)"
for q in q1 q6 count; do
  for t in 1 2; do
    tt=$t; [[ $t == 1 ]] && tt=0   # one thread: the serial plan
    "$build/bench/tpch/tpch_bench" "$file" "$q" "$runs" "$tt" > "$data/tpch-$q-$t.tarn"
    THREADS=$t node bench/tpch/duck.js "$q" "$file" "$runs" > "$data/tpch-$q-$t.duck"
    node bench/q1/duck.js compare "$data/tpch-$q-$t.tarn" "$data/tpch-$q-$t.duck" >/dev/null ||
      { echo "$q on $t threads: results differ"; node bench/q1/duck.js compare "$data/tpch-$q-$t.tarn" "$data/tpch-$q-$t.duck"; exit 1; }
    a=$data/tpch-$q-$t.tarn; b=$data/tpch-$q-$t.duck
    printf '%-6s %-3s %-20s %-20s %s\n' "$q" "$t" "$(field "$a" 2) / $(field "$a" 3)" \
      "$(field "$b" 2) / $(field "$b" 3)" "$(ratio "$(field "$a" 2)" "$(field "$b" 2)")"
  done
done
echo "results equal to DuckDB's (doubles to 1e-9 relative) for every row above"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (timings on a loaded machine are inflated)"
