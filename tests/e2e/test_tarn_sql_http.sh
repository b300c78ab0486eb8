#!/usr/bin/env bash
# tests/e2e/test_tarn_sql_http.sh: POST /v1/sql on `tarn local`: writes
# and reads, column names and types, errors in the standard envelope, a
# read key refused a write.
set -euo pipefail
tarn=$1
work=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
start
key=$(cat "$work/data/admin.key")
post() { curl -s -w '\n%{http_code}' -X POST -H "X-API-Key: $1" --data-binary "$2" "$url/v1/sql"; }

out=$(post "$key" '{"sql":"CREATE TABLE t (a INT, b VARCHAR, d DATE); INSERT INTO t VALUES (1, '"'x'"', '"'2024-01-02'"'), (2, NULL, NULL)"}')
[[ "$(tail -1 <<<"$out")" == 200 ]] || fail "create+insert: $out"
grep -q '"kind":"insert","rows":2,"version":1' <<<"$out" || fail "insert summary: $out"

out=$(post "$key" '{"sql":"SELECT a, b, d, a * 1.5 AS c FROM t ORDER BY a"}')
want='{"columns":[{"name":"a","type":"INTEGER"},{"name":"b","type":"VARCHAR"},{"name":"d","type":"DATE"},{"name":"c","type":"DECIMAL(18,1)"}],"rows":[[1,"x","2024-01-02","1.5"],[2,null,null,"3.0"]]'
[[ "$(head -1 <<<"$out")" == "$want"* ]] || fail "select: $out"

out=$(post "$key" '{"sql":"SELECT aa FROM t"}')
[[ "$(tail -1 <<<"$out")" == 400 ]] || fail "unknown column status: $out"
grep -q '"code":"bad_request","message":"error at line 1, column 8: column \\"aa\\" not found (did you mean \\"a\\"?)"' <<<"$out" || fail "unknown column body: $out"

out=$(post "$key" '{"query":"SELECT 1"}')
[[ "$(tail -1 <<<"$out")" == 400 ]] || fail "bad body: $out"

rkey=$("$tarn" key create --role read --data "$work/data" 2>/dev/null | tail -1)
out=$(post "$rkey" '{"sql":"SELECT count(*) AS n FROM t"}')
grep -q '"rows":\[\[2\]\]' <<<"$out" || fail "read key select: $out"
out=$(post "$rkey" '{"sql":"DROP TABLE t"}')
[[ "$(tail -1 <<<"$out")" == 403 ]] || fail "read key write: $out"
out=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"sql":"SELECT 1"}' "$url/v1/sql")
[[ "$out" == 401 ]] || fail "no key: $out"
stop
echo ok
