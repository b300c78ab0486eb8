#!/usr/bin/env bash
# bench/commit/run.sh: Delta appends per second and p50/p99 latency at 1, 8
# and 64 concurrent appenders (commit_bench.c says what one append is),
# printed side by side in one run for:
#   embedded  an in-process node (one voter: WAL fsync + LMDB), threads
#   local     a `tarn local` over HTTP (the client library's committer)
#   cluster   a 3-member `tarn cluster` on loopback over HTTP
# each in two commit modes: rebase (a conflict is answered by proposing
# again on the latest version: how appends committed before blind appends)
# and blind (the catalog lands the append on the next version in the same
# proposal). Each (threads, target, mode) runs back to back with the others,
# so the machine's load hits them alike. No peer runs here: no other Delta
# writer (Spark, delta-rs) is installed offline.
#   bench/commit/run.sh
# Env: BUILD (a RelWithDebInfo build dir; default /work/build-bench-commit,
# configured when missing), SECONDS_PER_RUN (5), THREADS ("1,8,64"),
# ROWS (rows per append, 10), MODES ("rebase,blind"), HTTP_THREADS (80),
# WORK (temp dir; on disk, for real fsyncs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/work/build-bench-commit}
work=${WORK:-$(mktemp -d /tmp/tarn-bench-commit-XXXXXX)}
threads=${HTTP_THREADS:-80}
mkdir -p "$work"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target tarn commit_bench -j2 >/dev/null
tarn=$build/tarn
server_flags=(--rate-read-per-s 0 --rate-write-per-s 0 --rate-admin-per-s 0
              --http-threads "$threads" --max-connections 1024 --log-level warn)
local_pid=""
cleanup() {
  [[ -n "$local_pid" ]] && kill "$local_pid" 2>/dev/null && wait "$local_pid" 2>/dev/null || true
  [[ -f "$work/cluster/cluster.json" ]] && "$tarn" cluster down --cluster "$work/cluster/cluster.json" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$tarn" local --listen 127.0.0.1:0 --data "$work/local" "${server_flags[@]}" >"$work/local.out" 2>"$work/local.err" &
local_pid=$!
local_url=""
for _ in $(seq 100); do
  local_url=$(sed -n 's/^tarn: listening on //p' "$work/local.out")
  [[ -n "$local_url" ]] && break
  sleep 0.1
done
[[ -n "$local_url" ]] || { cat "$work/local.err"; exit 1; }

"$tarn" cluster up --meta 3 --dir "$work/cluster" -- "${server_flags[@]}" >/dev/null
status=$("$tarn" cluster status --cluster "$work/cluster/cluster.json")
leader=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"leader".*/\1/p')
others=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"follower".*/\1/p' | paste -sd, -)
mkdir -p "$work/cluster/objects" "$work/embedded"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/commit/commit_bench" --threads "${THREADS:-1,8,64}" --seconds "${SECONDS_PER_RUN:-5}" \
  --rows "${ROWS:-10}" --modes "${MODES:-rebase,blind}" --dir "$work/embedded" \
  --http local "$local_url" "$work/local/admin.key" "$work/local/objects" \
  --http cluster "$leader${others:+,$others}" "$work/cluster/admin.key" "$work/cluster/objects"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
