#!/usr/bin/env bash
# bench/q1/run.sh: TPC-H Q1 on Tarn (Parquet scan + exec operators) and on
# DuckDB 1.5.6, each with 1 and 2 threads, over the same lineitem Parquet
# file, in the same run; checks the results are equal (doubles to 1e-9
# relative) and prints the timings (min and median of RUNS) and the ratios.
#   bench/q1/run.sh [ROWS]   (default 6000000, the full table of lineitem-gen.sql)
# Env: BUILD (default /work/build-exec-rel, a release build: cmake --preset
# default -B "$BUILD"), DATA_DIR (where the Parquet file goes; default a temp dir), RUNS (5).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-6000000}
runs=${RUNS:-5}
build=${BUILD:-/work/build-exec-rel}
data=${DATA_DIR:-${TMPDIR:-/tmp}/tarn-q1}
mkdir -p "$data"
file="$data/lineitem-$rows.parquet"
cd "$root"
[[ -x "$build/bench/q1/q1_bench" ]] || { cmake --preset default -B "$build" >/dev/null; }
cmake --build "$build" --target q1_bench >/dev/null
if [[ ! -s "$file" ]]; then
  echo "generating $rows lineitem rows into $file (DuckDB)"
  node bench/q1/duck.js gen "$rows" "$file"
fi
"$build/bench/q1/q1_bench" "$file" "$runs" 0 > "$data/tarn1.out"
THREADS=1 node bench/q1/duck.js q1 "$file" "$runs" > "$data/duck1.out"
"$build/bench/q1/q1_bench" "$file" "$runs" 2 > "$data/tarn2.out"
THREADS=2 node bench/q1/duck.js q1 "$file" "$runs" > "$data/duck2.out"
"$build/bench/q1/q1_bench" "$file" "$runs" scan > "$data/scan.out"
node bench/q1/duck.js compare "$data/tarn1.out" "$data/duck1.out"
node bench/q1/duck.js compare "$data/tarn2.out" "$data/duck2.out"
field() { grep '^time_ms' "$1" | cut -d, -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "file $file ($(du -h "$file" | cut -f1), $rows rows), $runs runs each, min / median ms"
for t in 1 2; do
  echo "threads $t: tarn min $(field "$data/tarn$t.out" 2) median $(field "$data/tarn$t.out" 3)" \
       "| duckdb min $(field "$data/duck$t.out" 2) median $(field "$data/duck$t.out" 3)" \
       "| ratio tarn/duckdb (min) $(ratio "$(field "$data/tarn$t.out" 2)" "$(field "$data/duck$t.out" 2)")"
done
echo "tarn Parquet scan of the 7 columns alone (1 thread): min $(field "$data/scan.out" 2) ms, median $(field "$data/scan.out" 3) ms"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (timings on a loaded machine are inflated)"
