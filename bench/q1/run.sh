#!/usr/bin/env bash
# bench/q1/run.sh: TPC-H Q1 on Tarn (Parquet scan + exec operators, one
# thread) and on DuckDB 1.5.6 (2 threads) over the same lineitem Parquet
# file, in the same run; checks the results are equal (doubles to 1e-9
# relative) and prints both timings (min and median of RUNS).
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
"$build/bench/q1/q1_bench" "$file" "$runs" > "$data/tarn.out"
node bench/q1/duck.js q1 "$file" "$runs" > "$data/duck.out"
THREADS=1 node bench/q1/duck.js q1 "$file" "$runs" > "$data/duck1.out"
"$build/bench/q1/q1_bench" "$file" "$runs" scan > "$data/scan.out"
node bench/q1/duck.js compare "$data/tarn.out" "$data/duck.out"
t=$(grep '^time_ms' "$data/tarn.out"); d=$(grep '^time_ms' "$data/duck.out")
d1=$(grep '^time_ms' "$data/duck1.out"); s=$(grep '^time_ms' "$data/scan.out")
echo "file $file ($(du -h "$file" | cut -f1), $rows rows), $runs runs each"
echo "tarn   (1 thread):  min $(echo "$t" | cut -d, -f2) ms, median $(echo "$t" | cut -d, -f3) ms"
echo "duckdb (2 threads): min $(echo "$d" | cut -d, -f2) ms, median $(echo "$d" | cut -d, -f3) ms"
echo "duckdb (1 thread):  min $(echo "$d1" | cut -d, -f2) ms, median $(echo "$d1" | cut -d, -f3) ms"
echo "tarn Parquet scan of the 7 columns alone: min $(echo "$s" | cut -d, -f2) ms, median $(echo "$s" | cut -d, -f3) ms"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (timings on a loaded machine are inflated)"
