#!/usr/bin/env bash
# End-to-end test of the real binary, as a user runs it: `tarn local` on a
# free loopback port with a fresh data directory, driven with curl.
# Usage: test_tarn_local.sh PATH/TO/tarn
set -euo pipefail
tarn=${1:?usage: test_tarn_local.sh PATH/TO/tarn}
work=$(mktemp -d /tmp/tarn-e2e-XXXXXX)
source "$(dirname "$0")/lib.sh"

# status METHOD PATH [KEY] -> prints the HTTP status
status() {
  local key=${3:-}
  curl -s -o "$work/body" -w '%{http_code}' -X "$1" ${key:+-H "X-API-Key: $key"} "$url$2"
}

# Usage errors are clear and exit 2; --help lists the options with defaults.
set +e
"$tarn" local --no-such-flag 1 >/dev/null 2>"$work/usage"; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "unknown flag: exit $rc, want 2"
grep -q "unknown option 'no-such-flag'" "$work/usage" || fail "unknown flag message: $(cat "$work/usage")"
"$tarn" local --help | grep -q -- "--max-body-bytes" || fail "--help does not list --max-body-bytes"

# First start: prints the URL and creates the admin key file, mode 0600.
start
grep -q "admin API key in $work/data/admin.key (created now)" "$work/out" || fail "key line: $(cat "$work/out")"
[[ $(stat -c %a "$work/data/admin.key") == 600 ]] || fail "admin.key mode is not 0600"
[[ $(stat -c %a "$work/data/keys.json") == 600 ]] || fail "keys.json mode is not 0600"
admin=$(cat "$work/data/admin.key")
grep -q "$admin" "$work/data/keys.json" && fail "keys.json holds the key itself, not its hash"

[[ $(status GET /health) == 200 ]] || fail "/health"
grep -q '"status":"ok"' "$work/body" || fail "/health body: $(cat "$work/body")"
[[ $(status GET /metrics) == 200 ]] || fail "/metrics"
grep -q '^tarn_http_requests_total{' "$work/body" || fail "/metrics has no request counter"
[[ $(status GET /v1/whoami) == 401 ]] || fail "whoami without key"
[[ $(status GET /v1/whoami "$admin") == 200 ]] || fail "whoami with admin key"
grep -q '"role":"admin"' "$work/body" || fail "whoami body: $(cat "$work/body")"

# A read key made by the CLI while the server runs works at once, cannot
# do admin work, and stops working when revoked.
read_key=$("$tarn" key create --role read --data "$work/data" 2>"$work/created")
id=$(sed -n 's/^created read key \([0-9a-f]*\).*/\1/p' "$work/created")
[[ -n "$id" ]] || fail "key create did not report an id: $(cat "$work/created")"
[[ $(status GET /v1/whoami "$read_key") == 200 ]] || fail "new read key rejected"
[[ $(status GET /v1/keys "$read_key") == 403 ]] || fail "read key listing keys is not 403"
grep -q '"code":"forbidden"' "$work/body" || fail "403 body: $(cat "$work/body")"
"$tarn" key list --data "$work/data" | grep -q "$id" || fail "key list does not show $id"
"$tarn" key revoke "$id" --data "$work/data" 2>/dev/null
[[ $(status GET /v1/whoami "$read_key") == 401 ]] || fail "revoked key still accepted"
set +e
"$tarn" key revoke "$id" --data "$work/data" 2>"$work/revoke"; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "revoking an unknown key: exit $rc, want 1"

stop

# Restart: the same admin key still works and no new one is made.
start
grep -q "(created now)" "$work/out" && fail "a second start created another admin key"
[[ $(status GET /v1/whoami "$admin") == 200 ]] || fail "admin key lost across restart"

# A second server on the same data directory is refused (the WAL's lock),
# and the first keeps serving.
set +e
timeout 10 "$tarn" local --listen 127.0.0.1:0 --data "$work/data" >/dev/null 2>"$work/second"; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "second server on one data directory: exit $rc, want 1"
grep -q "in use by another process" "$work/second" || fail "second server message: $(cat "$work/second")"
[[ $(status GET /health) == 200 ]] || fail "first server hurt by the second start"

# A port in use is a clear error and exit 1, not a hang.
set +e
timeout 10 "$tarn" local --listen "${url#http://}" --data "$work/data2" >/dev/null 2>"$work/busy"; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "port in use: exit $rc, want 1"
[[ $(status GET /health) == 200 ]] || fail "first server hurt by the second start"
stop
echo "e2e: tarn local ok"
