#!/usr/bin/env bash
# bench/kv/run.sh: key-value and timestamp-oracle throughput of Tarn next to
# a 3-member etcd 3.4, in one run, on this machine, with the same load
# generator (bench/kv/kv_bench.c: closed loop, keep-alive HTTP, N client
# threads) and the same payloads (100-byte values, own keys per client):
#
#   tarn-local    `tarn local` (one voter: WAL fsync + LMDB)
#   tarn-cluster  `tarn cluster up --meta 3` (three `tarn meta` on loopback)
#   etcd          Debian's etcd 3.4, 3 members on loopback
#                 (/work/shared/tools/etcd-cluster.sh), JSON gateway
#
# Each measurement (puts at 1, 16 and 64 clients; CAS increments of one
# counter at 16 clients; TSO at 16 clients, batch 1 and 1000) runs on every
# target back to back, so that the machine's load, which other work on it
# changes, hits them alike. Every request goes to the leader first (the
# Tarn client finds it by redirect; etcd's URL list is ordered by
# `etcdctl endpoint status`). Rate limits are off and the HTTP thread pool
# has HTTP_THREADS threads (a Tarn handler blocks a thread while its write
# commits, so the pool bounds the writes in flight).
#
#   bench/kv/run.sh
# Env: BUILD (a RelWithDebInfo build dir; default /work/build-kv-bench,
# configured when missing), SECONDS_PER_RUN (5), CLIENTS ("1 16 64"),
# HTTP_THREADS (64), TARGETS ("tarn-local tarn-cluster etcd"), WORK (temp).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/work/build-kv-bench}
secs=${SECONDS_PER_RUN:-5}
clients=${CLIENTS:-"1 16 64"}
threads=${HTTP_THREADS:-64}
targets=${TARGETS:-"tarn-local tarn-cluster etcd"}
work=${WORK:-$(mktemp -d /tmp/tarn-bench-kv-XXXXXX)}
etcd_sh=/work/shared/tools/etcd-cluster.sh
mkdir -p "$work"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target tarn kv_bench -j2 >/dev/null
tarn=$build/tarn
bench=$build/bench/kv/kv_bench
server_flags=(--rate-read-per-s 0 --rate-write-per-s 0 --rate-admin-per-s 0
              --http-threads "$threads" --max-connections 1024 --log-level warn)

declare -A url key
local_pid=""
cleanup() {
  [[ -n "$local_pid" ]] && kill "$local_pid" 2>/dev/null && wait "$local_pid" 2>/dev/null || true
  [[ -f "$work/cluster/cluster.json" ]] && "$tarn" cluster down --cluster "$work/cluster/cluster.json" >/dev/null 2>&1 || true
  [[ " $targets " == *" etcd "* ]] && ETCD_DIR="$work/etcd" "$etcd_sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

start_local() {
  "$tarn" local --listen 127.0.0.1:0 --data "$work/local" "${server_flags[@]}" >"$work/local.out" 2>"$work/local.err" &
  local_pid=$!
  for _ in $(seq 100); do
    url[tarn-local]=$(sed -n 's/^tarn: listening on //p' "$work/local.out")
    [[ -n "${url[tarn-local]}" ]] && break
    sleep 0.1
  done
  [[ -n "${url[tarn-local]}" ]] || { cat "$work/local.err"; exit 1; }
  key[tarn-local]=$(cat "$work/local/admin.key")
}

start_cluster() {
  "$tarn" cluster up --meta 3 --dir "$work/cluster" -- "${server_flags[@]}" >"$work/cluster.out"
  local status leader others
  status=$("$tarn" cluster status --cluster "$work/cluster/cluster.json")
  leader=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"leader".*/\1/p')
  others=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"follower".*/\1/p' | paste -sd, -)
  url[tarn-cluster]="$leader${others:+,$others}"
  key[tarn-cluster]=$(cat "$work/cluster/admin.key")
}

start_etcd() {
  command -v etcd >/dev/null || "$etcd_sh" install
  ETCD_DIR="$work/etcd" "$etcd_sh" start
  local eps=127.0.0.1:12379,127.0.0.1:22379,127.0.0.1:32379 leader
  leader=$(etcdctl --endpoints=$eps endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1}')
  url[etcd]="http://${leader:-127.0.0.1:12379}"
  for e in ${eps//,/ }; do [[ "http://$e" != "${url[etcd]}" ]] && url[etcd]+=",http://$e"; done
  key[etcd]=""
}

for t in $targets; do
  case $t in
    tarn-local) start_local ;;
    tarn-cluster) start_cluster ;;
    etcd) start_etcd ;;
  esac
done

results=$work/results.txt
: >"$results"
# measure TARGET WORKLOAD CLIENTS [BATCH]
measure() {
  local t=$1 wl=$2 n=$3 batch=${4:-1} kind=tarn
  [[ $t == etcd ]] && kind=etcd
  "$bench" --target "$kind" --label "$t" --url "${url[$t]}" ${key[$t]:+--key "${key[$t]}"} \
    --workload "$wl" --clients "$n" --seconds "$secs" --batch "$batch" | tee -a "$results" ||
    true # a failed check is marked in the table
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $clients; do
  for t in $targets; do measure "$t" put "$n"; done
done
for t in $targets; do measure "$t" cas 16; done
for t in $targets; do
  [[ $t == etcd ]] && continue
  measure "$t" tso 16 1
  measure "$t" tso 16 1000
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The side-by-side table and the goals.
awk -v targets="$targets" '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    row = f["workload"] " " f["clients"] (f["batch"] > 1 ? " batch " f["batch"] : "")
    if (!(row in seen)) { seen[row] = 1; rows[++nrows] = row }
    cell[row, f["target"]] = sprintf("%9.0f/s p50 %7.2f p99 %7.2f", \
      (f["workload"] == "tso" ? f["items_per_s"] : f["ops_per_s"]), f["p50_ms"], f["p99_ms"])
    if (f["errors"] > 0 || f["check"] == "FAILED") cell[row, f["target"]] = cell[row, f["target"]] " !"
    ops[row, f["target"]] = f["ops_per_s"]; items[row, f["target"]] = f["items_per_s"]
    p50[row, f["target"]] = f["p50_ms"] }
  END {
    nt = split(targets, t, " ")
    printf "\n%-22s", "ms / workload clients"
    for (j = 1; j <= nt; j++) printf " | %-41s", t[j]
    printf "\n"
    for (r = 1; r <= nrows; r++) {
      printf "%-22s", rows[r]
      for (j = 1; j <= nt; j++) printf " | %-41s", ((rows[r], t[j]) in cell ? cell[rows[r], t[j]] : "-")
      printf "\n"
    }
    printf "\ngoals:\n"
    for (j = 1; j <= nt; j++) {
      if (t[j] == "etcd") continue
      if (("put 64", "etcd") in ops && ops["put 64", "etcd"] > 0)
        printf "  %s puts/s at 64 clients / etcd: %.2fx (goal >= 2x)\n", t[j], ops["put 64", t[j]] / ops["put 64", "etcd"]
      printf "  %s single-client put p50: %.3f ms (goal <= 0.5 ms)\n", t[j], p50["put 1", t[j]]
      printf "  %s TSO timestamps/s, batch 1000: %.0f (goal >= 1000000)\n", t[j], items["tso 16 batch 1000", t[j]]
    }
  }' "$results"
echo "(! = errors or a failed counter check in that run; raw lines in $results)"
