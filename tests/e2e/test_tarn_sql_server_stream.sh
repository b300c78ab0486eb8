#!/usr/bin/env bash
# tests/e2e/test_tarn_sql_server_stream.sh: the streamed POST /v1/sql at
# scale, against the real server:
#  - a result of ROWS rows (default 10,000,000: a self-join of 3163 rows on
#    a constant key; 3163^2 = 10,004,569) streams in full with every row
#    counted, while the server's peak RSS grows far less than the body
#    (the old buffered reply would need the whole body: >100 MB);
#  - a client that disconnects mid-stream cancels the query: the server
#    logs the stream as cancelled, serves the next request, and exits 0 at
#    SIGTERM (under ASan: nothing leaked, no thread left behind).
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
: >"$work/out" # lib.sh start reads it at once: do not let set -e race its creation
side=${TARN_STREAM_SIDE:-3163}
# A small ASan quarantine, so that freed memory is not counted as held.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"
start --log-level debug
key=$(cat "$work/data/admin.key")
post() { curl -sS -N -H "X-API-Key: $key" -H "Accept: application/x-ndjson" -X POST --data-binary "$1" "$url/v1/sql"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }

seq 1 "$side" | sed 's/^/1,/' >"$work/s.csv"
post "{\"sql\":\"CREATE TABLE s (k INT, v INT); COPY s FROM '$work/s.csv' (FORMAT csv)\"}" |
  grep -q '"end"' || fail "create the side table"
q='{"sql":"SELECT a.v AS x, b.v AS y FROM s a JOIN s b ON a.k = b.k"}'
post '{"sql":"SELECT count(*) FROM s a JOIN s b ON a.k = b.k"}' >/dev/null # warm up
before=$(hwm)

# The whole result, counted by a client that reads as it comes.
post "$q" | awk -v want=$((side * side)) '
  /^\[/ { rows++; next }
  /^\{"end"/ { ended = 1 }
  /^\{"statement"/ { if ($0 !~ "\"rows\":" want ",") bad = "summary " $0 }
  END { if (rows != want || !ended || bad != "") { print "rows " rows " of " want ", end " ended " " bad; exit 1 } }' \
  >"$work/count.out" || fail "streamed result: $(cat "$work/count.out")"
after=$(hwm)
grown_mb=$(( (after - before) / 1024 ))
body_mb=$(( side * side * 10 / 1048576 ))
echo "server peak RSS grew ${grown_mb} MB while streaming a body of about ${body_mb} MB"
(( grown_mb < 64 )) || fail "server peak RSS grew ${grown_mb} MB streaming ${body_mb} MB"

# Disconnect mid-stream: read a little, then close.
set +o pipefail
post "$q" | head -c 200000 >/dev/null
set -o pipefail
for _ in $(seq 100); do
  grep -q '"stream":"cancelled"' "$work/err" && break
  sleep 0.1
done
grep -q '"stream":"cancelled"' "$work/err" || fail "the disconnected stream was not cancelled"
out=$(post '{"sql":"SELECT count(*) AS n FROM s"}')
grep -q "^\[$side\]$" <<<"$out" || fail "request after the disconnect: $out"
stop
echo ok
