#!/usr/bin/env bash
# tests/integration/test_catalog_writers.sh: concurrent Delta writers in
# separate processes: WRITERS `tarn table insert` loops (APPENDS inserts of
# 3 rows each) into one table through the embedded metadata service (`tarn
# local --server`) and through a 3-member `tarn cluster` (--cluster), where
# the leader is killed (-9) and restarted while they write. Every insert
# must be acknowledged (the client rides out the election, retrying with
# the same txn_id), each with its own version, versions 1..WRITERS*APPENDS
# with no gap (blind appends: one winner per version, however stale the
# base); the table's rows (tarn table scan) equal the acknowledged rows;
# the log agrees (a file per version, each txnId once) and DuckDB reads
# the final version's files with the same count and sum. Then, on each,
# WRITERS plain commits race on one base: exactly one winner per base.
# Every server names the tables' store on GET /v1/catalog (tarn local its
# DATA/objects, each cluster member the --store D/objects cluster up gave).
#   test_catalog_writers.sh TARN_BINARY
set -euo pipefail
tarn=$1
here=$(cd "$(dirname "$0")" && pwd)
writers=${WRITERS:-8}
appends=${APPENDS:-3}
work=$(mktemp -d /tmp/tarn-catalog-writers-XXXXXX)
local_pid=""
cleanup() {
  [[ -n "$local_pid" ]] && kill "$local_pid" 2>/dev/null && wait "$local_pid" 2>/dev/null || true
  [[ -f "$work/c/cluster.json" ]] && "$tarn" cluster down --cluster "$work/c/cluster.json" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run_writers LABEL FLAGS...: the table, the writers, the checks.
run_writers() {
  local label=$1; shift
  "$tarn" table create t --columns id:long!,w:integer "$@" >/dev/null
  local pids=() w k
  for ((w = 1; w <= writers; w++)); do
    (
      for ((k = 1; k <= appends; k++)); do
        f="$work/$label-$w-$k.csv"
        printf 'id,w\n%d,%d\n%d,%d\n%d,%d\n' $((w * 1000 + k * 10 + 1)) $w \
          $((w * 1000 + k * 10 + 2)) $w $((w * 1000 + k * 10 + 3)) $w >"$f"
        "$tarn" table insert t "$f" "$@" || echo "insert $w/$k failed"
      done
    ) >"$work/$label-out-$w" 2>&1 &
    pids+=($!)
  done
  [[ -n "${KILL_LEADER:-}" ]] && kill_leader
  for p in "${pids[@]}"; do wait "$p"; done
  local total=$((writers * appends))
  cat "$work/$label"-out-* >"$work/$label-all"
  if grep -v '^inserted 3 rows into t (version [0-9]*)$' "$work/$label-all"; then
    fail "$label: an insert failed (above)"
  fi
  local versions
  versions=$(sed -n 's/.*(version \([0-9]*\))$/\1/p' "$work/$label-all" | sort -n | paste -sd' ')
  [[ "$versions" == "$(seq -s ' ' 1 $total)" ]] || fail "$label: versions $versions, want 1..$total once each"
  local rows sum=0 want_sum=0
  rows=$("$tarn" table scan t --format csv "$@" | tail -n +2 | wc -l)
  [[ "$rows" == $((total * 3)) ]] || fail "$label: $rows rows, want $((total * 3))"
  for ((w = 1; w <= writers; w++)); do
    for ((k = 1; k <= appends; k++)); do want_sum=$((want_sum + 3 * (w * 1000 + k * 10) + 6)); done
  done
  sum=$("$tarn" table scan t --format csv --columns id "$@" | tail -n +2 | paste -sd+ | bc)
  [[ "$sum" == "$want_sum" ]] || fail "$label: sum(id) $sum, want $want_sum"
  echo "$label: $total inserts from $writers processes: versions 1..$total, $rows rows"
  node "$here/catalog_duckdb.mjs" \
    "$store/tables/t" "$total" "$rows" "$want_sum" || fail "$label: log or DuckDB disagree"
}

# race_one_base LABEL KEY URL...: WRITERS processes commit on the same
# (latest) base at once, without the blind-append flag: exactly one wins
# (200, version base + 1), every other gets 409 naming base + 1 as the
# latest. Three rounds.
race_one_base() {
  local label=$1 key=$2; shift 2
  local urls=("$@") round base w wins conflicts pids
  for round in 1 2 3; do
    base=$(curl -s -H "X-API-Key: $key" "${urls[0]}/v1/tables/t" | sed -n 's/.*"version":\([0-9]*\).*/\1/p')
    [[ -n "$base" ]] || fail "$label: no latest version"
    pids=()
    for ((w = 1; w <= writers; w++)); do
      curl -s -o "$work/$label-race-$w" -w '%{http_code}' -H "X-API-Key: $key" \
        -d "{\"base_version\":$base,\"txn_id\":\"race-$round-$w\",\"actions\":\"{\\\"add\\\":{\\\"path\\\":\\\"r$round-$w\\\"}}\\n\"}" \
        "${urls[$((w % ${#urls[@]}))]}/v1/tables/t/commits" >"$work/$label-code-$w" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    wins=$(cat "$work/$label"-code-* | grep -o 200 | wc -l)
    conflicts=$(grep -l '"code":"conflict"' "$work/$label"-race-[0-9]* | wc -l)
    [[ "$wins" == 1 && "$conflicts" == $((writers - 1)) ]] ||
      fail "$label: base $base: $wins winners and $conflicts conflicts of $writers"
    if grep -L "\"version\":$((base + 1))[,}]" "$work/$label"-race-[0-9]* | grep .; then
      fail "$label: an answer above does not name version $((base + 1))"
    fi
    rm -f "$work/$label"-race-* "$work/$label"-code-*
  done
  echo "$label: 3 rounds of $writers commits on one base: one winner each, the rest 409 with the latest"
}

kill_leader() {
  sleep 1.5
  local status pid id
  status=$("$tarn" cluster status --cluster "$work/c/cluster.json")
  pid=$(echo "$status" | sed -n 's/.*"pid":\([0-9]*\).*"role":"leader".*/\1/p')
  id=$(echo "$status" | sed -n 's/.*"id":\([0-9]*\).*"role":"leader".*/\1/p')
  [[ -n "$pid" ]] || fail "no leader to kill"
  echo "cluster: kill -9 leader $id (pid $pid) while the writers write"
  kill -9 "$pid"
  sleep 0.5
  "$tarn" cluster restart --cluster "$work/c/cluster.json" --id "$id" >/dev/null
}

# check_store KEY DIR URL...: GET /v1/catalog on each URL names DIR
# (absolute) as the tables' object-store root.
check_store() {
  local key=$1 dir want got u; dir=$(cd "$2" && pwd -P); shift 2
  want="\"store\":\"$dir\""
  for u in "$@"; do
    got=$(curl -s --max-time 10 -H "X-API-Key: $key" "$u/v1/catalog")
    [[ "$got" == *"$want"* ]] || fail "$u/v1/catalog: $got, want $want"
  done
  echo "store on /v1/catalog of $# server(s): $dir"
}

# Embedded: one tarn local.
"$tarn" local --listen 127.0.0.1:0 --data "$work/local" --rate-write-per-s 0 --rate-read-per-s 0 \
  --rate-admin-per-s 0 --log-level warn >"$work/local.out" 2>"$work/local.err" &
local_pid=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^tarn: listening on //p' "$work/local.out")
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { cat "$work/local.err"; fail "tarn local did not start"; }
store="$work/local/objects"
check_store "$(cat "$work/local/admin.key")" "$store" "$url"
run_writers local --server "$url" --data "$work/local"
race_one_base local "$(cat "$work/local/admin.key")" "$url"
kill "$local_pid"; wait "$local_pid" || true; local_pid=""

# Cluster: three tarn meta, the store next to the cluster file.
"$tarn" cluster up --meta 3 --dir "$work/c" -- --rate-write-per-s 0 --rate-read-per-s 0 \
  --rate-admin-per-s 0 --log-level warn >/dev/null
store="$work/c/objects"
KILL_LEADER=1 run_writers cluster --cluster "$work/c/cluster.json"
mapfile -t members < <("$tarn" cluster status --cluster "$work/c/cluster.json" |
  sed -n 's/.*"url":"\([^"]*\)".*/\1/p')
race_one_base cluster "$(cat "$work/c/admin.key")" "${members[@]}"
# Every member names the store (tarn cluster up passed --store D/objects;
# the killed leader kept it through its restart), as tarn local does.
check_store "$(cat "$work/c/admin.key")" "$store" "${members[@]}"
echo PASS
