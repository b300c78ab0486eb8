#!/usr/bin/env bash
# bench/commit/run.sh: commits per second and p50/p99 commit latency of
# Delta appends through the embedded metadata service (one process, one
# voter, WAL fsync), at 1, 8 and 64 concurrent appender threads
# (commit_bench.c says what one append is). Threads, not processes: the
# WAL's lock admits one process per data directory, so concurrent writers
# embedded share the node. No peer runs here: no other Delta writer
# (Spark, delta-rs) is installed offline.
#   bench/commit/run.sh
# Env: BUILD (a RelWithDebInfo build dir; default /work/build-bench-commit,
# configured when missing), SECONDS_PER_RUN (5), THREADS ("1,8,64"),
# ROWS (rows per append, 10), WORK (temp dir; on disk, for real fsyncs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/work/build-bench-commit}
work=${WORK:-$(mktemp -d /tmp/tarn-bench-commit-XXXXXX)}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target commit_bench -j2 >/dev/null
"$build/bench/commit/commit_bench" --threads "${THREADS:-1,8,64}" \
  --seconds "${SECONDS_PER_RUN:-5}" --rows "${ROWS:-10}" --dir "$work"
rm -rf "$work"
