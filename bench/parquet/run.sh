#!/usr/bin/env bash
# bench/parquet/run.sh: our Parquet scan (one thread, and two threads each
# scanning half of the row groups) next to DuckDB (threads=1 and 2) over the
# same lineitem Parquet file, in the same run:
# every column, and a 4-column projection. Prints median wall time, rows/s
# and MB/s (uncompressed bytes of the scanned column chunks, per the
# footer), the ratios, and checks per-column checksums equal. What each
# side computes: bench_parquet_scan.c and duck.js (top comments).
#   bench/parquet/run.sh [ROWS]   (default 6000000, lineitem-gen.sql's full table)
# Then the write benchmark: the same table, held in memory, written by our
# writer (bench_parquet_write.c, one thread) and by DuckDB's COPY ... TO
# (FORMAT parquet, COMPRESSION snappy) with threads 1 and 2; median and min
# of RUNS per round, the ratio, and DuckDB's checksums of our output
# against the input's.
# Env: BUILD (default /work/build-pqbench, release: cmake --preset default
# -B "$BUILD"), DATA_DIR (the cached Parquet file and outputs; default
# $TMPDIR/tarn-pqbench), RUNS (runs per round; default 5), ROUNDS (default 3),
# PARTS ("scan write" by default; either alone).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-6000000}
runs=${RUNS:-5}
rounds=${ROUNDS:-3}
build=${BUILD:-/work/build-pqbench}
data=${DATA_DIR:-${TMPDIR:-/tmp}/tarn-pqbench}
proj=(l_quantity l_extendedprice l_discount l_shipdate)
mkdir -p "$data"
file="$data/lineitem-$rows.parquet"
cd "$root"
[[ -f "$build/build.ninja" ]] || cmake --preset default -B "$build" >/dev/null
cmake --build "$build" --target bench_parquet_scan bench_parquet_write >/dev/null
parts=${PARTS:-scan write}
if [[ ! -s "$file" ]]; then
  echo "generating $rows lineitem rows into $file (DuckDB)"
  node bench/parquet/duck.js gen "$rows" "$file.tmp" && mv "$file.tmp" "$file"
fi
bin="$build/bench/parquet/bench_parquet_scan"
rm -f "$data"/*.out
echo "file $file ($(du -h "$file" | cut -f1), $rows rows), $rounds rounds of $runs runs;" \
     "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [[ " $parts " == *" scan "* ]]; then
# Rounds alternate the engines so that a busy moment of a shared machine
# falls on both sides; the table takes the median over rounds.
for round in $(seq "$rounds"); do
  for set in all proj; do
    cols=(); [[ $set == proj ]] && cols=("${proj[@]}")
    for src in pread pread:2 mmap; do
      "$bin" "$file" "$runs" "$src" "${cols[@]}" > "$data/tarn-$set-${src/:/}-r$round.out"
    done
    for th in 1 2; do
      node bench/parquet/duck.js scan "$file" "$runs" "$th" "${cols[@]}" \
        > "$data/duck-$set-t$th-r$round.out"
    done
  done
done
for set in all proj; do
  cols=(); [[ $set == proj ]] && cols=("${proj[@]}")
  node bench/parquet/duck.js sums "$file" "${cols[@]}" > "$data/sums-$set.out"
done
node bench/parquet/duck.js report "$data"
fi
if [[ " $parts " == *" write "* ]]; then
  wbin="$build/bench/parquet/bench_parquet_write"
  for round in $(seq "$rounds"); do
    "$wbin" "$file" "$data/tarn-written.parquet" "$runs" snappy > "$data/wtarn-r$round.out"
    for th in 1 2; do
      node bench/parquet/duck.js write "$file" "$data/duck-written.parquet" "$runs" "$th" \
        > "$data/wduck-t$th-r$round.out"
    done
  done
  node bench/parquet/duck.js sums "$file" > "$data/wsums-in.out"
  node bench/parquet/duck.js sums "$data/tarn-written.parquet" > "$data/wsums-tarn.out"
  echo "write: the table in memory to a snappy Parquet file on $(df --output=source "$data" | tail -1)"
  node bench/parquet/duck.js wreport "$data"
fi
