// tests/integration/catalog_retry.js: a Delta commit whose answer is lost
// because its leader died, retried with the same txn_id after a leader
// change, on three real `tarn meta` processes. Usage:
//   node catalog_retry.js TARN_BINARY
// Each round: the client sends POST /v1/tables/t/commits to the leader
// through a TCP proxy of ours; the moment the leader's answer starts
// coming back (so the commit was applied, hence committed by a majority)
// the proxy drops it and the leader gets kill -9. The client then sends
// the same request (same txn_id, same base) to the surviving members until
// one answers: it must be 200 with duplicate=true and the version the
// first attempt got (base + 1). At the end the table's versions are read
// through every member: each txn_id appears exactly once, versions have
// no gap, and a blind append retried the same way behaves alike. The
// killed member is restarted (`tarn cluster restart`) between rounds.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const tarn = process.argv[2];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tarn-catalog-retry-'));
const clusterFile = path.join(work, 'cluster.json');
let members = [];
let key = '';
let failed = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${new Date().toISOString()}]`, ...a);
function fail(msg) { failed = true; console.error('FAIL:', msg); }

function request(method, url, body, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request({ method, hostname: u.hostname, port: u.port, path: u.pathname + u.search,
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, timeout: timeoutMs, agent: false },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0 }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0 }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function loadMembers() {
  const c = JSON.parse(fs.readFileSync(clusterFile));
  members = c.members.map((m) => ({ id: m.id, url: m.url, pid: m.pid }));
  key = fs.readFileSync(c.admin_key_file, 'utf8').trim();
}

async function leader() {
  for (let t = 0; t < 300; t++) {
    for (const m of members) {
      const r = await request('GET', `${m.url}/v1/status`, undefined, 1000);
      if (r.status === 200 && JSON.parse(r.body).role === 'leader') return m;
    }
    await sleep(100);
  }
  throw new Error('no leader within 30 s');
}

// A proxy to `target` that forwards the request and, at the first byte of
// the answer, cuts both sides and calls onAnswer (which kills the leader).
function dropAnswerProxy(targetPort, onAnswer) {
  return new Promise((resolve) => {
    const server = net.createServer((client) => {
      const up = net.connect(targetPort, '127.0.0.1');
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
      client.pipe(up);
      up.once('data', (chunk) => { client.destroy(); up.destroy(); onAnswer(chunk.toString()); });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const actions = (n) => `{"commitInfo":{"operation":"WRITE","readVersion":${n},"isBlindAppend":true}}\n` +
  `{"add":{"path":"part-${n}.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}\n`;

async function latestVersion() {
  for (let t = 0; t < 100; t++) {
    const m = members[t % members.length];
    const r = await request('GET', `${m.url}/v1/tables/t`);
    if (r.status === 200) return JSON.parse(r.body).version;
    await sleep(100);
  }
  throw new Error('cannot read the table');
}

async function round(r, blind) {
  const base = await latestVersion();
  const l = await leader();
  const txn = `retry-${r}`;
  const body = JSON.stringify({ base_version: blind ? Math.max(0, base - 1) : base, txn_id: txn,
    blind_append: blind, actions: actions(r) });
  let killed = false, dropped = '';
  const proxy = await dropAnswerProxy(new URL(l.url).port, (head) => {
    killed = true;
    dropped = head.split('\r\n')[0];
    process.kill(l.pid, 'SIGKILL');
  });
  log(`round ${r}: commit ${txn} on base ${base}${blind ? ' (blind, base - 1)' : ''} to leader ${l.id} through the proxy`);
  const first = await request('POST', `http://127.0.0.1:${proxy.address().port}/v1/tables/t/commits`, body);
  proxy.close();
  if (first.status !== 0 || !killed) fail(`round ${r}: the first answer arrived (${first.status}) or the leader lived`);
  // The same request to the survivors until one answers.
  const others = members.filter((m) => m.id !== l.id);
  let again = null;
  for (let t = 0; t < 200 && !again; t++) {
    const res = await request('POST', `${others[t % others.length].url}/v1/tables/t/commits`, body);
    if (res.status === 200 || res.status === 409) again = res; else await sleep(100);
  }
  if (!again) { fail(`round ${r}: no member answered the retry`); return; }
  const a = JSON.parse(again.body);
  log(`round ${r}: the dropped answer was "${dropped}"; the retry answered ${again.status} ${again.body}`);
  // The answer the client never saw said 200 (the commit applied): the
  // retry must learn that very version. (Had the leader answered 503, its
  // outcome was unknown and a fresh commit would be right; the end check
  // still wants the txn once.)
  const applied = dropped.includes(' 200 ');
  if (applied && (again.status !== 200 || a.version !== base + 1 || a.duplicate !== true))
    fail(`round ${r}: retry of ${txn}: ${again.status} ${again.body}, want 200 version ${base + 1} duplicate`);
  if (!applied && again.status !== 200)
    fail(`round ${r}: retry of ${txn} after "${dropped}": ${again.status} ${again.body}`);
  if (applied) appliedRounds++;
  execFileSync(tarn, ['cluster', 'restart', '--cluster', clusterFile, '--id', `${l.id}`], { stdio: 'inherit' });
  loadMembers();
}

let appliedRounds = 0;

async function verify(rounds) {
  if (appliedRounds === 0) fail('no round had its commit applied before the leader died');
  for (const m of members) {
    let r;
    for (let t = 0; t < 100; t++) {
      r = await request('GET', `${m.url}/v1/tables/t/commits?from=0&limit=1000`);
      if (r.status === 200) break;
      await sleep(100);
    }
    if (r.status !== 200) { fail(`member ${m.id}: versions: ${r.status}`); continue; }
    const v = JSON.parse(r.body);
    const txns = v.versions.filter((x) => x.txn_id).map((x) => x.txn_id);
    v.versions.forEach((x, i) => { if (x.version !== i) fail(`member ${m.id}: version ${x.version} at ${i}`); });
    for (let i = 0; i < rounds; i++) {
      const n = txns.filter((t) => t === `retry-${i}`).length;
      if (n !== 1) fail(`member ${m.id}: txn retry-${i} committed ${n} times`);
    }
    if (v.latest !== rounds + 1) fail(`member ${m.id}: latest ${v.latest}, want ${rounds + 1}`);
    log(`member ${m.id}: ${v.versions.length} versions, txn ids ${txns.join(' ')}`);
  }
}

async function main() {
  execFileSync(tarn, ['cluster', 'up', '--meta', '3', '--dir', work, '--', '--rate-write-per-s', '0',
    '--rate-read-per-s', '0', '--rate-admin-per-s', '0', '--log-level', 'warn'], { stdio: 'inherit' });
  loadMembers();
  const l = await leader();
  const schema = '{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}';
  let c = await request('POST', `${l.url}/v1/tables`, JSON.stringify({ name: 't', schema }));
  if (c.status !== 201) throw new Error(`create: ${c.status} ${c.body}`);
  c = await request('POST', `${l.url}/v1/tables/t/commits`, JSON.stringify({ base_version: 0, txn_id: 'seed', actions: actions(99) }));
  if (c.status !== 200) throw new Error(`seed commit: ${c.status} ${c.body}`);
  const rounds = 3;
  for (let r = 0; r < rounds && !failed; r++) await round(r, r === rounds - 1);
  await verify(rounds);
}

main().catch((e) => fail(e.stack || e)).finally(() => {
  try { execFileSync(tarn, ['cluster', 'down', '--cluster', clusterFile], { stdio: 'inherit' }); } catch (e) { /* reported */ }
  if (failed) process.exit(1);
  fs.rmSync(work, { recursive: true, force: true });
  log('PASS');
  process.exit(0);
});
