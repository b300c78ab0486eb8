#!/usr/bin/env bash
# End-to-end test of the key-value API of the real binary: `tarn local` on
# a free loopback port with a fresh data directory, driven with curl:
# versions, CAS, scans, txns, the timestamp oracle, limits, keys and roles,
# and acknowledged writes surviving SIGKILL.
# Usage: test_tarn_kv.sh PATH/TO/tarn
set -euo pipefail
tarn=${1:?usage: test_tarn_kv.sh PATH/TO/tarn}
work=$(mktemp -d /tmp/tarn-e2e-kv-XXXXXX)
source "$(dirname "$0")/lib.sh"

# req METHOD PATH [curl args...] -> prints the status; body in $work/body
req() {
  local m=$1 p=$2
  shift 2
  curl -s -o "$work/body" -w '%{http_code}' -X "$m" -H "X-API-Key: $key" "$@" "$url$p"
}
body() { cat "$work/body"; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$work/body"; }

start
key=$(cat "$work/data/admin.key")

# PUT / GET / versions.
[[ $(req PUT /v1/kv/alpha --data-binary 'one') == 200 ]] || fail "put: $(body)"
[[ $(field version) == 1 ]] || fail "first version: $(body)"
[[ $(req PUT /v1/kv/alpha --data-binary 'two') == 200 ]] || fail "put 2"
[[ $(field version) == 2 ]] || fail "second version: $(body)"
[[ $(req GET /v1/kv/alpha) == 200 ]] || fail "get"
grep -q '"value":"dHdv"' "$work/body" || fail "get value (base64 of two): $(body)"
[[ $(req GET "/v1/kv/alpha?consistency=serializable") == 200 ]] || fail "serializable get"
[[ $(req GET "/v1/kv/alpha?consistency=bogus") == 400 ]] || fail "bad consistency"
[[ $(req GET /v1/kv/nothing) == 404 ]] || fail "absent key not 404"

# CAS: stale version 409 with the current version; right version 200.
[[ $(req PUT /v1/kv/alpha -H 'If-Match: 1' --data-binary 'x') == 409 ]] || fail "stale CAS: $(body)"
[[ $(field version) == 2 ]] || fail "409 body lacks current version: $(body)"
[[ $(req PUT /v1/kv/alpha -H 'If-Match: 2' --data-binary 'three') == 200 ]] || fail "CAS"
[[ $(req PUT /v1/kv/alpha -H 'If-None-Match: *' --data-binary 'x') == 409 ]] || fail "create-only on existing"
[[ $(req PUT /v1/kv/fresh -H 'If-None-Match: *' --data-binary 'x') == 200 ]] || fail "create-only on absent"

# DELETE.
[[ $(req DELETE /v1/kv/fresh) == 200 ]] || fail "delete"
[[ $(req DELETE /v1/kv/fresh) == 404 ]] || fail "delete absent"
[[ $(req GET /v1/kv/fresh) == 404 ]] || fail "deleted key still there"

# Range scan with pagination: 7 keys s0..s6, pages of 3.
for i in 0 1 2 3 4 5 6; do
  [[ $(req PUT /v1/kv/s$i --data-binary "v$i") == 200 ]] || fail "put s$i"
done
seen=""
token=""
for page in 1 2 3 4; do
  [[ $(req GET "/v1/kv?start=s&end=t&limit=3${token:+&token=$token}") == 200 ]] || fail "scan: $(body)"
  seen+=$(grep -o '"key":"s[0-9]"' "$work/body" | tr -d '\n')
  token=$(sed -n 's/.*"next":"\([0-9a-f]*\)".*/\1/p' "$work/body")
  [[ -z "$token" ]] && break
done
want='"key":"s0""key":"s1""key":"s2""key":"s3""key":"s4""key":"s5""key":"s6"'
[[ "$seen" == "$want" ]] || fail "scan pages: $seen"
[[ $page == 3 ]] || fail "scan took $page pages, want 3"

# Txn: a failed compare writes nothing; a good one writes everything.
t='{"compare":[{"key":"alpha","version":1}],"put":[{"key":"t1","value":"eA=="}],"delete":[{"key":"s0"}]}'
[[ $(req POST /v1/kv/txn -d "$t") == 409 ]] || fail "txn stale compare: $(body)"
[[ $(req GET /v1/kv/t1) == 404 ]] || fail "failed txn wrote t1"
[[ $(req GET /v1/kv/s0) == 200 ]] || fail "failed txn deleted s0"
t='{"compare":[{"key":"alpha","version":3}],"put":[{"key":"t1","value":"eA=="}],"delete":[{"key":"s0"}]}'
[[ $(req POST /v1/kv/txn -d "$t") == 200 ]] || fail "txn: $(body)"
[[ $(req GET /v1/kv/t1) == 200 ]] || fail "txn did not write t1"
[[ $(req GET /v1/kv/s0) == 404 ]] || fail "txn did not delete s0"
[[ $(req POST /v1/kv/txn -d '{"put":[{"key":"x","value":"!!"}]}') == 400 ]] || fail "bad base64 not 400"
[[ $(req POST /v1/kv/txn -d '{"put":') == 400 ]] || fail "bad JSON not 400"

# Limits: value over 1 MiB and key over 500 bytes are 413.
head -c $((1024 * 1024 + 10)) /dev/zero >"$work/big"
[[ $(req PUT /v1/kv/big --data-binary @"$work/big") == 413 ]] || fail "oversized value not 413"
long=$(printf 'k%.0s' $(seq 501))
[[ $(req PUT "/v1/kv/$long" --data-binary 'x') == 413 ]] || fail "oversized key not 413"

# Keys and roles: no key 401, read key cannot write 403 but can read.
[[ $(curl -s -o /dev/null -w '%{http_code}' "$url/v1/kv/alpha") == 401 ]] || fail "no key not 401"
read_key=$("$tarn" key create --role read --data "$work/data" 2>/dev/null)
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $read_key" "$url/v1/kv/alpha") == 200 ]] || fail "read key cannot read"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-API-Key: $read_key" --data-binary x "$url/v1/kv/alpha") == 403 ]] || fail "read key write not 403"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: $read_key" "$url/v1/tso") == 403 ]] || fail "read key tso not 403"

# TSO: strictly increasing within a run and across a restart.
[[ $(req POST "/v1/tso?count=5") == 200 ]] || fail "tso: $(body)"
t1=$(field first)
[[ $(req POST "/v1/tso?count=1") == 200 ]] || fail "tso 2"
t2=$(field first)
(( t2 >= t1 + 5 )) || fail "tso not increasing: $t1 then $t2"
[[ $(req POST "/v1/tso?count=0") == 400 ]] || fail "tso count 0 not 400"
stop
start
[[ $(req POST "/v1/tso?count=1") == 200 ]] || fail "tso after restart: $(body)"
t3=$(field first)
(( t3 > t2 )) || fail "tso went back across a restart: $t2 then $t3"
[[ $(req GET /v1/kv/t1) == 200 ]] || fail "data lost across a clean restart"

# SIGKILL: every acknowledged write is there after a restart.
acked=0
for i in $(seq 1 40); do
  [[ $(req PUT /v1/kv/crash$i --data-binary "c$i") == 200 ]] || fail "put crash$i"
  acked=$i
done
crash
start
for i in $(seq 1 $acked); do
  [[ $(req GET /v1/kv/crash$i) == 200 ]] || fail "acknowledged crash$i lost after SIGKILL"
done
[[ $(req POST "/v1/tso?count=1") == 200 ]] || fail "tso after kill: $(body)"
t4=$(field first)
(( t4 > t3 )) || fail "tso went back across SIGKILL: $t3 then $t4"
stop
echo "ok: tarn kv end-to-end"
