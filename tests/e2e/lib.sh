# tests/e2e/lib.sh: what the end-to-end scripts share. Source it after
# setting `tarn` (the binary) and `work` (a fresh temp dir); it sets `pid`
# and `url` and removes $work on exit.
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f "$work/out" ]] && { echo "--- server stdout/stderr:"; cat "$work/out" "$work/err"; } >&2
  exit 1
}

# Starts tarn local on an ephemeral port (--listen 127.0.0.1:0) with data in
# $work/data and sets $url from the line it prints. Extra args go to tarn.
start() {
  "$tarn" local --listen "127.0.0.1:0" --data "$work/data" "$@" >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 150); do
    # The background shell may not have created out yet; sed's failure
    # must not end the script under set -e.
    url=$(sed -n 's/^tarn: listening on \(http:\/\/127.0.0.1:[0-9]*\)$/\1/p' "$work/out" 2>/dev/null || true)
    [[ -n "$url" && "$url" != "http://127.0.0.1:0" ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "tarn local exited during start-up"
    sleep 0.1
  done
  fail "tarn local did not print its URL within 15 s"
}

# SIGTERM: must exit 0.
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "tarn local exited non-zero after SIGTERM"
  pid=""
}

# SIGKILL: power-cut-like stop of the process.
crash() {
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}
