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
# has HTTP_THREADS threads: writes hold none while they commit (deferred
# replies), but reads and TSO requests still hold one through their read
# barrier, and 16 is the CAS and TSO workloads' client count (README).
#
#   bench/kv/run.sh
# Env: BUILD (a RelWithDebInfo build dir; default /work/build-kv-bench,
# configured when missing), SECONDS_PER_RUN (5), CLIENTS ("1 16 64"),
# HTTP_THREADS (16; HTTP_THREADS_<NAME> for one TARN_BINS binary), TARGETS ("tarn-local tarn-cluster etcd"), WORK (temp),
# ROUNDS (1: every measurement is repeated this many times, the table shows
# the median of each cell), WORKLOADS ("put cas tso"),
# TARN_BINS ("NAME=PATH ...": compare several tarn binaries, e.g. the
# commit before a change and after it; each gets its own tarn-local.NAME
# and tarn-cluster.NAME target, started side by side and measured back to
# back with etcd, which is what makes a comparison on a shared machine
# fair; unset: the tarn of BUILD).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/work/build-kv-bench}
secs=${SECONDS_PER_RUN:-5}
clients=${CLIENTS:-"1 16 64"}
threads=${HTTP_THREADS:-16}
targets=${TARGETS:-"tarn-local tarn-cluster etcd"}
work=${WORK:-$(mktemp -d /tmp/tarn-bench-kv-XXXXXX)}
rounds=${ROUNDS:-1}
workloads=" ${WORKLOADS:-put cas tso} "
etcd_sh=/work/shared/tools/etcd-cluster.sh
mkdir -p "$work"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
declare -A bin
variants=()
if [[ -n "${TARN_BINS:-}" ]]; then
  cmake --build "$build" --target kv_bench -j2 >/dev/null
  for nb in $TARN_BINS; do
    [[ $nb == *=* && -n ${nb%%=*} && ${nb%%=*} != *.* ]] || { echo "run.sh: TARN_BINS wants NAME=PATH, got $nb" >&2; exit 2; }
    variants+=("${nb%%=*}")
    bin[${nb%%=*}]=${nb#*=}
    [[ -x "${nb#*=}" ]] || { echo "run.sh: ${nb#*=} is not executable" >&2; exit 2; }
  done
else
  cmake --build "$build" --target tarn kv_bench -j2 >/dev/null
  variants=("")
  bin[_]=$build/tarn # "_": the variant without a name
fi
bench=$build/bench/kv/kv_bench
# The targets with one per tarn binary: tarn-local.NAME (or tarn-local).
expanded=""
for t in $targets; do
  if [[ $t == etcd ]]; then expanded+=" etcd"; continue; fi
  for v in "${variants[@]}"; do expanded+=" $t${v:+.$v}"; done
done
targets=${expanded# }
server_flags=(--rate-read-per-s 0 --rate-write-per-s 0 --rate-admin-per-s 0
              --max-connections 1024 --log-level warn)
# threads_for VARIANT: HTTP_THREADS_<VARIANT> when set (a binary's own pool
# size, e.g. an old one whose handlers block next to a new one's default),
# else HTTP_THREADS.
threads_for() {
  local var="HTTP_THREADS_${1:-}"
  if [[ ${1:-} =~ ^[A-Za-z0-9_]+$ && -n ${!var:-} ]]; then echo "${!var}"; else echo "$threads"; fi
}

declare -A url key
local_pids=()
cluster_dirs=()
cleanup() {
  for p in "${local_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in "${cluster_dirs[@]}"; do
    v=${d##*/cluster}
    [[ -f "$d/cluster.json" ]] && "${bin[${v:-_}]}" cluster down --cluster "$d/cluster.json" >/dev/null 2>&1 || true
  done
  [[ " $targets " == *" etcd "* ]] && ETCD_DIR="$work/etcd" "$etcd_sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# start_local TARGET VARIANT
start_local() {
  local t=$1 v=$2 d=$work/local$2
  "${bin[${v:-_}]}" local --listen 127.0.0.1:0 --data "$d" "${server_flags[@]}" \
    --http-threads "$(threads_for "$v")" >"$d.out" 2>"$d.err" &
  local_pids+=($!)
  for _ in $(seq 100); do
    url[$t]=$(sed -n 's/^tarn: listening on //p' "$d.out" 2>/dev/null || true) # not created yet: retry
    [[ -n "${url[$t]}" ]] && break
    sleep 0.1
  done
  [[ -n "${url[$t]}" ]] || { cat "$d.err"; exit 1; }
  key[$t]=$(cat "$d/admin.key")
}

# start_cluster TARGET VARIANT
start_cluster() {
  local t=$1 v=$2 d=$work/cluster$2 status leader others
  cluster_dirs+=("$d")
  "${bin[${v:-_}]}" cluster up --meta 3 --dir "$d" -- "${server_flags[@]}" \
    --http-threads "$(threads_for "$v")" >"$d.out"
  status=$("${bin[${v:-_}]}" cluster status --cluster "$d/cluster.json")
  leader=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"leader".*/\1/p')
  others=$(echo "$status" | sed -n 's/.*"url":"\([^"]*\)","role":"follower".*/\1/p' | paste -sd, -)
  url[$t]="$leader${others:+,$others}"
  key[$t]=$(cat "$d/admin.key")
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
  v=""
  [[ $t == *.* ]] && v=${t#*.}
  case $t in
    tarn-local*) start_local "$t" "$v" ;;
    tarn-cluster*) start_cluster "$t" "$v" ;;
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
for ((round = 1; round <= rounds; round++)); do
  if [[ $workloads == *" put "* ]]; then
    for n in $clients; do
      for t in $targets; do measure "$t" put "$n"; done
    done
  fi
  if [[ $workloads == *" cas "* ]]; then
    for t in $targets; do measure "$t" cas 16; done
  fi
  for t in $targets; do
    [[ $t == etcd || $workloads != *" tso "* ]] && continue
    measure "$t" tso 16 1
    measure "$t" tso 16 1000
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The side-by-side table (median of the rounds in each cell) and the goals.
awk -v targets="$targets" '
  function median(key,    n, i, j, v, a) {
    n = cnt[key]
    for (i = 1; i <= n; i++) a[i] = vals[key, i]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function add(key, v) { vals[key, ++cnt[key]] = v }
  { delete f
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    row = f["workload"] " " f["clients"] (f["batch"] > 1 ? " batch " f["batch"] : "")
    if (!(row in seen)) { seen[row] = 1; rows[++nrows] = row }
    c = row SUBSEP f["target"]
    add(c SUBSEP "rate", f["workload"] == "tso" ? f["items_per_s"] : f["ops_per_s"])
    add(c SUBSEP "p50", f["p50_ms"]); add(c SUBSEP "p99", f["p99_ms"])
    if (f["errors"] > 0 || f["check"] == "FAILED") bad[c] = 1 }
  END {
    nt = split(targets, t, " ")
    for (r = 1; r <= nrows; r++) for (j = 1; j <= nt; j++) {
      c = rows[r] SUBSEP t[j]
      if (!((c SUBSEP "rate") in cnt)) continue
      rate[c] = median(c SUBSEP "rate"); p50[c] = median(c SUBSEP "p50")
      cell[c] = sprintf("%9.0f/s p50 %7.2f p99 %7.2f%s", rate[c], p50[c], median(c SUBSEP "p99"), bad[c] ? " !" : "")
    }
    printf "\n%-22s", "ms / workload clients"
    for (j = 1; j <= nt; j++) printf " | %-41s", t[j]
    printf "\n"
    for (r = 1; r <= nrows; r++) {
      printf "%-22s", rows[r]
      for (j = 1; j <= nt; j++) printf " | %-41s", ((rows[r] SUBSEP t[j]) in cell ? cell[rows[r] SUBSEP t[j]] : "-")
      printf "\n"
    }
    printf "\ngoals:\n"
    e = "put 64" SUBSEP "etcd"
    for (j = 1; j <= nt; j++) {
      if (t[j] == "etcd") continue
      if ((e in rate) && rate[e] > 0)
        printf "  %s puts/s at 64 clients / etcd: %.2fx (goal >= 2x)\n", t[j], rate["put 64" SUBSEP t[j]] / rate[e]
      printf "  %s single-client put p50: %.3f ms (goal <= 0.5 ms)\n", t[j], p50["put 1" SUBSEP t[j]]
      printf "  %s TSO timestamps/s, batch 1000: %.0f (goal >= 1000000)\n", t[j], rate["tso 16 batch 1000" SUBSEP t[j]]
    }
  }' "$results"
echo "(! = errors or a failed counter check in that run; raw lines in $results)"
