// tests/integration/kv_history.js: the recorded kv history of real Tarn
// processes, shared by cluster_chaos.js and test_cluster_membership.js.
// Each op carries its client, key, kind, value/version and call/return
// times (ns) in the format of tests/sim/linz_hist.h; a write whose answer
// leaves its effect unknown stays pending (ret null) to the end. check()
// runs tests/sim/linz_check on it, then proves the checker would catch a
// stale read planted in a doctored copy of the same history.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

// A write's answer: 200 is done; statuses that prove nothing was applied
// (the request was refused before proposing) drop the op; anything else
// (no answer, 500, 503: the proposal may still commit) leaves it pending.
const definiteNoEffect = (st) => [400, 401, 403, 404, 405, 413, 429].includes(st);
const decode = (b64) => Buffer.from(b64, 'base64').toString();

// request(method, url, body, headers) -> {status, body}; linzCheck: the
// checker binary ('' to only write the history); log/fail: the test's.
function kvHistory({ request, linzCheck, log, fail }) {
  const t0 = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - t0); // ns since start
  const ops = [];

  function recordWrite(op, r) {
    if (r.status === 200) {
      op.ret = now();
      try { op.version = JSON.parse(r.body).version; } catch (e) { op.version = null; }
    } else if (r.status === 409 && op.op === 'cas') {
      const b = JSON.parse(r.body);
      op.ret = now();
      op.op = 'cas_failed';
      op.version = b.version;
      op.value = b.exists ? decode(b.value) : null;
    } else if (definiteNoEffect(r.status)) {
      return;
    } else {
      op.ret = null; // ambiguous: pending to the end
    }
    ops.push(op);
  }

  // A linearizable (or serializable) GET through member m ({url, id}),
  // recorded when it answered 200 or 404; returns the response.
  async function recordedGet(m, k, client, serializable = false) {
    const op = { client, member: m.id, key: k, op: 'read', call: now() };
    const r = await request('GET', `${m.url}/v1/kv/${k}${serializable ? '?consistency=serializable' : ''}`);
    if (r.status === 200 || r.status === 404) {
      op.ret = now();
      if (r.status === 200) {
        const item = JSON.parse(r.body);
        op.value = decode(item.value);
        op.version = item.version;
      } else {
        op.value = null;
        op.version = 0;
      }
      if (serializable) op.consistency = 'serializable';
      ops.push(op);
    }
    return r;
  }

  // A PUT through member m; with `expect` a CAS on that version (0: absent).
  async function recordedPut(m, k, v, client, headers = {}, expect = undefined) {
    const op = { client, member: m.id, key: k, op: expect === undefined ? 'put' : 'cas', value: v, call: now() };
    if (expect !== undefined) op.expect = expect;
    const r = await request('PUT', `${m.url}/v1/kv/${k}`, v, headers);
    recordWrite(op, r);
    return r;
  }

  function runLinzCheck(file) {
    const r = spawnSync(linzCheck, [file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
  }

  // A linearizable read whose version's write had returned before the
  // read was called, turned into a read of the version before: a stale
  // read the checker must catch.
  function doctorStaleRead() {
    const made = new Map();
    for (const op of ops) {
      if ((op.op === 'put' || op.op === 'cas') && op.ret != null && op.version != null) made.set(`${op.key}:${op.version}`, op);
    }
    const candidates = [];
    for (const op of ops) {
      if (op.op !== 'read' || op.consistency || op.ret == null || !(op.version >= 2)) continue;
      const w = made.get(`${op.key}:${op.version}`), prev = made.get(`${op.key}:${op.version - 1}`);
      if (w && prev && w.ret < op.call) candidates.push({ op, prev });
    }
    if (candidates.length === 0) return null;
    const { op, prev } = candidates[Math.floor(Math.random() * candidates.length)];
    return { key: op.key, ops: ops.map((o) => (o === op ? { ...op, value: prev.value, version: prev.version } : o)) };
  }

  // Writes dir/history.json ({ops, ...extra}), checks it and fails the
  // test on a violation (with explain()'s text appended); then checks the
  // checker on a doctored copy.
  function check(dir, { extra = {}, explain = () => '' } = {}) {
    const file = path.join(dir, 'history.json');
    fs.writeFileSync(file, JSON.stringify({ ops, ...extra }));
    const pending = ops.filter((op) => op.ret == null).length;
    const serializable = ops.filter((op) => op.consistency).length;
    log(`history of ${ops.length} ops (${pending} pending, ${serializable} serializable reads) in ${file}`);
    if (!linzCheck) { log('no checker given: history not checked'); return; }
    const r = runLinzCheck(file);
    if (r.status === 0) log(`linz_check: ${r.out.trim()}`);
    else { fail(`linz_check exit ${r.status} on ${file}:\n${r.out}${explain()}`); return; }
    const bad = doctorStaleRead();
    if (!bad) { fail('no read in the history could be doctored into a stale one: too few reads'); return; }
    const badFile = path.join(dir, 'history-doctored.json');
    fs.writeFileSync(badFile, JSON.stringify({ ops: bad.ops }));
    const d = runLinzCheck(badFile);
    if (d.status !== 1 || !d.out.includes(`sub-history of key '${bad.key}'`)) {
      fail(`linz_check missed a stale read planted on key ${bad.key} (exit ${d.status}):\n${d.out}`);
    } else {
      log(`linz_check caught a stale read planted on key ${bad.key}: ${d.out.split('\n')[0]}`);
    }
  }

  return { ops, now, recordedGet, recordedPut, check };
}

module.exports = { kvHistory };
