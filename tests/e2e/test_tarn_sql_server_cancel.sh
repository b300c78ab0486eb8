#!/usr/bin/env bash
# tests/e2e/test_tarn_sql_server_cancel.sh: a streamed POST /v1/sql whose
# client goes away before the first row is cancelled, against the real
# server. The statement is an aggregation over a cross join of 8e9 rows
# (minutes of work), so it writes nothing until it ends:
#  - curl gives up after 2 s: the server notices the hang-up of the
#    waiting connection, cancels the statement (the log says "statement
#    cancelled", tarn_sql_cancelled_total counts it) and serves the next
#    request;
#  - a second such statement is running when the server gets SIGTERM: the
#    stop cancels it and the process exits 0 (under ASan: nothing leaked).
# Without the cancellation either step would wait for the whole join and
# fail at the test's timeout.
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
: >"$work/out" # lib.sh start reads it at once: do not let set -e race its creation
start --log-level debug
key=$(cat "$work/data/admin.key")
post() { curl -sS -N -H "X-API-Key: $key" -H "Accept: application/x-ndjson" -X POST --data-binary "$@" "$url/v1/sql"; }
cancelled() { grep -c '"statement cancelled"' "$work/err" || true; }
wait_cancelled() {
  for _ in $(seq 300); do
    (( $(cancelled) >= $1 )) && return 0
    sleep 0.1
  done
  fail "$2"
}

seq 1 2000 | sed 's/^/1,/' >"$work/s.csv"
post "{\"sql\":\"CREATE TABLE s (k INT, v INT); COPY s FROM '$work/s.csv' (FORMAT csv)\"}" |
  grep -q '"end"' || fail "create the table"
long='{"sql":"SELECT count(*) AS n FROM s a, s b, s c"}'

# The client hangs up before the first row.
rc=0
post "$long" --max-time 2 >"$work/first.out" 2>/dev/null || rc=$?
(( rc == 28 )) || fail "curl should have timed out (28), got $rc: $(cat "$work/first.out")"
[[ ! -s "$work/first.out" ]] || fail "a row came before the hang-up: $(cat "$work/first.out")"
wait_cancelled 1 "the statement of the client that hung up was not cancelled"
grep '"statement cancelled"' "$work/err" | head -1
curl -sS -H "X-API-Key: $key" "$url/metrics" | grep -q '^tarn_sql_cancelled_total 1$' ||
  fail "tarn_sql_cancelled_total is not 1"
out=$(post '{"sql":"SELECT count(*) AS n FROM s"}')
grep -q '^\[2000\]$' <<<"$out" || fail "request after the cancellation: $out"

# The server stops while a statement runs.
started=$(grep -c '"streamed script started"' "$work/err" || true)
post "$long" >/dev/null 2>&1 &
client=$!
for _ in $(seq 300); do
  (( $(grep -c '"streamed script started"' "$work/err" || true) > started )) && break
  sleep 0.1
done
sleep 0.3 # into the join
stop
wait "$client" || true
(( $(cancelled) >= 2 )) || fail "the statement running at the stop was not cancelled"
echo ok
