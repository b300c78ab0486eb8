#!/usr/bin/env bash
# tests/integration/test_cluster_cli.sh: `tarn cluster up|status|transfer|
# restart|down` and `tarn meta` as a user drives them: status prints one
# JSON line per member with exactly one leader; a write through a follower
# is forwarded and readable everywhere; POST /v1/tso on a follower is a 307
# to the leader; garbage, an HTTP request and a bad handshake on a
# member's peer port close that connection only (the member keeps serving
# and counts them); bad flags are usage errors; down stops everything and
# status then exits 1. Usage: test_cluster_cli.sh TARN_BINARY
set -euo pipefail
tarn=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tarn-cluster-cli.XXXXXX")
cleanup() {
  "$tarn" cluster down --cluster "$work/cluster.json" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/meta-*.log; do [[ -f $f ]] && { echo "--- $f"; tail -20 "$f"; } >&2; done
  exit 1
}

# Bad input first: usage errors, not crashes.
set +e
"$tarn" meta --peers 1=127.0.0.1:1 >/dev/null 2>&1; [[ $? == 2 ]] || fail "meta without --id must exit 2"
"$tarn" meta --id 4 --peers 1=127.0.0.1:1,2=127.0.0.1:2 --data "$work/x" >/dev/null 2>&1
[[ $? == 2 ]] || fail "meta with an id not in --peers must exit 2"
"$tarn" meta --id 1 --peers 1=nohostport >/dev/null 2>&1; [[ $? == 2 ]] || fail "bad --peers must exit 2"
"$tarn" cluster up --dir "$work" --meta 0 >/dev/null 2>&1; [[ $? == 2 ]] || fail "--meta 0 must exit 2"
"$tarn" cluster status --cluster "$work/none.json" >/dev/null 2>&1; [[ $? == 1 ]] || fail "missing cluster file must exit 1"
set -e

"$tarn" cluster up --meta 3 --dir "$work" -- --rate-admin-per-s 0 >"$work/up.out" || fail "cluster up"
grep -q "^tarn: cluster of 3 members up" "$work/up.out" || fail "up output: $(cat "$work/up.out")"
key=$(cat "$work/admin.key")
# Under load an election may still be running when `up` returns: wait (at
# most 20 s) for one leader before checking the status lines.
for _ in $(seq 100); do
  "$tarn" cluster status --cluster "$work/cluster.json" >"$work/status" || fail "status exit code"
  [[ $(grep -c '"role":"leader"' "$work/status") == 1 ]] && break
  sleep 0.2
done
[[ $(wc -l <"$work/status") == 3 ]] || fail "status lines: $(cat "$work/status")"
[[ $(grep -c '"role":"leader"' "$work/status") == 1 ]] || fail "one leader: $(cat "$work/status")"
grep -q '"commit_index":' "$work/status" || fail "status has commit_index"
follower=$(grep '"role":"follower"' "$work/status" | head -1 | sed 's/.*"url":"\([^"]*\)".*/\1/')
leader=$(grep '"role":"leader"' "$work/status" | sed 's/.*"url":"\([^"]*\)".*/\1/')

out=$(curl -s -X PUT -H "X-API-Key: $key" --data-binary 'via follower' "$follower/v1/kv/fw")
[[ $out == *'"version":1'* ]] || fail "forwarded put: $out"
for u in $(sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/status"); do
  out=$(curl -s -H "X-API-Key: $key" "$u/v1/kv/fw")
  [[ $out == *'"value":"dmlhIGZvbGxvd2Vy"'* ]] || fail "read on $u: $out"
done
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -X POST -H "X-API-Key: $key" "$follower/v1/tso?count=2")
[[ $code == "307 $leader/v1/tso?count=2" ]] || fail "tso on a follower: $code"
out=$(curl -s -L -X POST -H "X-API-Key: $key" "$follower/v1/tso?count=2")
[[ $out == *'"count":2'* ]] || fail "tso through the redirect: $out"

# Garbage on a peer port: the connection is closed, the member lives on.
peer=$(grep -o '"peer": *"[^"]*"' "$work/cluster.json" | head -1 | sed 's/.*"\(127[^"]*\)"/\1/')
port=${peer##*:}
{ printf '\xff\xff\xff\x7f'; head -c 4096 /dev/urandom; } >"$work/junk"
for payload in "$work/junk"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port"; cat "$payload" >&3; timeout 10 cat <&3 >/dev/null || true) || true
done
(exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3; timeout 10 cat <&3 >/dev/null || true) || true
first_url=$(grep -o '"url": *"[^"]*"' "$work/cluster.json" | head -1 | sed 's/.*"\(http[^"]*\)"/\1/')
bad=$(curl -s "$first_url/metrics" | sed -n 's/^tarn_peer_bad_frames_total \([0-9]*\)$/\1/p')
[[ -n $bad && $bad -ge 2 ]] || fail "bad frames counted: '$bad'"
"$tarn" cluster status --cluster "$work/cluster.json" >/dev/null || fail "a member died after garbage on its peer port"

# Leadership moves on request; a stopped member comes back with restart.
to=$(grep '"role":"follower"' "$work/status" | head -1 | sed 's/.*"id":\([0-9]*\).*/\1/')
out=$("$tarn" meta transfer --cluster "$work/cluster.json" --to "$to") || fail "transfer"
[[ $out == *"\"leader\":$to"* ]] || fail "transfer output: $out"
pid=$(grep '"role":"leader"' <("$tarn" cluster status --cluster "$work/cluster.json") | sed 's/.*"pid":\([0-9]*\).*/\1/')
kill -9 "$pid"
set +e
"$tarn" cluster status --cluster "$work/cluster.json" >"$work/status2"; rc=$?
set -e
[[ $rc == 1 ]] || fail "status with a member down must exit 1"
grep -q '"role":"down"' "$work/status2" || fail "down member shown: $(cat "$work/status2")"
# restart returns once the member answers: status sees all three at once.
"$tarn" cluster restart --cluster "$work/cluster.json" --id "$to" >/dev/null || fail "restart"
"$tarn" cluster status --cluster "$work/cluster.json" >/dev/null || fail "member not back when restart returned"
# A linearizable read during the election that follows the kill is a 503
# (retry later), as for any client: retry for at most 20 s.
for _ in $(seq 100); do
  out=$(curl -s -H "X-API-Key: $key" "$leader/v1/kv/fw")
  [[ $out == *'"version":1'* ]] && break
  sleep 0.2
done
[[ $out == *'"version":1'* ]] || fail "read after restart: $out"

"$tarn" cluster down --cluster "$work/cluster.json" || fail "down"
set +e
"$tarn" cluster status --cluster "$work/cluster.json" >"$work/status3"; rc=$?
set -e
[[ $rc == 1 && $(grep -c '"role":"down"' "$work/status3") == 3 ]] || fail "after down: $(cat "$work/status3")"
echo PASS
