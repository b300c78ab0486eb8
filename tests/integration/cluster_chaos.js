// tests/integration/cluster_chaos.js: three real `tarn meta` processes on
// loopback under clients and faults. Usage:
//   node cluster_chaos.js TARN_BINARY kill|partition
// kill:      `tarn cluster up`, then kill -9 the leader (and every third
//            round a follower) and restart it with `tarn cluster restart`;
//            one round first moves leadership with `tarn meta transfer`.
// partition: members started by hand with every peer link (i -> j) going
//            through a fault-injecting TCP proxy of ours (below); rounds
//            isolate one member (the leader every other round) or cut one
//            direction only, then heal.
// While that happens, clients put distinct keys, do CAS increments of one
// counter, and ask for timestamps, each through random members (followers
// forward writes; POST /v1/tso answers 307 to the leader, followed here).
// At the end: every acknowledged put is readable (linearizable reads
// through every member, then serializable reads on each member once it has
// applied everything), the counter is at least every acknowledged value and
// no two CAS acknowledgements carry the same value (no lost update), and
// every client saw strictly increasing timestamps across leader changes.
// Members keep only 8 log entries behind their applied index, so members
// coming back from a kill or a partition catch up through store snapshots.
// TARN_LONG_TESTS=1 runs more rounds. Exit status 0 = pass.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const tarn = process.argv[2];
const mode = process.argv[3] || 'kill';
const long = process.env.TARN_LONG_TESTS === '1';
const rounds = long ? 20 : 5;
const work = fs.mkdtempSync(path.join(os.tmpdir(), `tarn-chaos-${mode}-`));
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let key = '';
let members = []; // {id, url, pid, proc?}
const proxies = [];
let failed = false;
// Clients give up on a member after 1.5 s and try another, so an isolated
// member does not stall the load (the others fall further ahead of it).
let clientTimeoutMs = 1500;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${new Date().toISOString()}]`, ...a);

function fail(msg) {
  failed = true;
  console.error('FAIL:', msg);
}

// One HTTP request; resolves {status, body, headers} or {status: 0} on a
// network error or timeout (3 s).
function request(method, url, body, headers = {}, timeoutMs = clientTimeoutMs) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, agent,
        headers: { 'X-API-Key': key, ...headers }, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                      body: Buffer.concat(chunks).toString() }));
        res.on('error', () => resolve({ status: 0 }));
      });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0 }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const pick = () => members[Math.floor(Math.random() * members.length)];

async function status(m) {
  const r = await request('GET', `${m.url}/v1/status`);
  if (r.status !== 200) return null;
  try { return JSON.parse(r.body); } catch (e) { return null; }
}

async function leader() {
  for (let t = 0; t < 300; t++) {
    for (const m of members) {
      const s = await status(m);
      if (s && s.role === 'leader') return m;
    }
    await sleep(100);
  }
  throw new Error('no leader within 30 s');
}

// ---- the fault-injecting proxy ---------------------------------------------------
// One listener per directed peer link. While blocked, existing connections
// are cut and new ones are accepted and black-holed (bytes read and
// dropped, nothing forwarded): the sender sees a peer that never answers
// its handshake, as in a real partition.
function startProxy(from, to, targetPort) {
  return new Promise((resolve) => {
    const p = { from, to, blocked: false, conns: new Set() };
    p.server = net.createServer((client) => {
      p.conns.add(client);
      client.on('close', () => p.conns.delete(client));
      client.on('error', () => {});
      if (p.blocked) { client.on('data', () => {}); return; }
      const up = net.connect(targetPort, '127.0.0.1');
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
      client.pipe(up);
      up.pipe(client);
      p.conns.add(up);
      up.on('close', () => p.conns.delete(up));
    });
    p.server.listen(0, '127.0.0.1', () => { p.port = p.server.address().port; resolve(p); });
    proxies.push(p);
  });
}
function setBlocked(p, blocked) {
  p.blocked = blocked;
  for (const c of p.conns) c.destroy(); // cut (block) or release black-holed ones (heal)
}

// ---- clusters ------------------------------------------------------------------------
function clusterFile() { return path.join(work, 'cluster.json'); }

function loadMembers() {
  const c = JSON.parse(fs.readFileSync(clusterFile()));
  members = c.members.map((m) => ({ id: m.id, url: m.url, pid: m.pid }));
  key = fs.readFileSync(c.admin_key_file, 'utf8').trim();
}

async function upWithCli() {
  execFileSync(tarn, ['cluster', 'up', '--meta', '3', '--dir', work, '--',
    '--rate-write-per-s', '0', '--rate-read-per-s', '0', '--rate-admin-per-s', '0', '--log-keep-entries', '8', '--log-level', 'warn'], { stdio: 'inherit' });
  loadMembers();
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

function startMember(m) {
  const out = fs.openSync(path.join(work, `meta-${m.id}.log`), 'a');
  m.proc = spawn(tarn, m.argv, { stdio: ['ignore', out, out] });
  m.pid = m.proc.pid;
  m.proc.on('exit', () => { m.proc = null; });
}

async function upWithProxies() {
  const ids = [1, 2, 3];
  const peerPort = {}, httpPort = {};
  for (const i of ids) { peerPort[i] = await freePort(); httpPort[i] = await freePort(); }
  const via = {};
  for (const i of ids) for (const j of ids) if (i !== j) via[`${i}>${j}`] = await startProxy(i, j, peerPort[j]);
  members = ids.map((i) => {
    const peers = ids.map((j) => `${j}=127.0.0.1:${i === j ? peerPort[j] : via[`${i}>${j}`].port}`).join(',');
    return { id: i, url: `http://127.0.0.1:${httpPort[i]}`,
      argv: ['meta', '--id', `${i}`, '--listen', `127.0.0.1:${httpPort[i]}`, '--peers', peers,
        '--data', path.join(work, `meta-${i}`), '--keys', work, '--cluster-name', 'chaos',
        '--rate-write-per-s', '0', '--rate-read-per-s', '0', '--rate-admin-per-s', '0', '--log-keep-entries', '8', '--log-level', 'warn'] };
  });
  for (const m of members) startMember(m);
  for (let t = 0; t < 100 && !fs.existsSync(path.join(work, 'admin.key')); t++) await sleep(100);
  await sleep(200);
  key = fs.readFileSync(path.join(work, 'admin.key'), 'utf8').trim();
  await leader();
}

// ---- clients ---------------------------------------------------------------------------
const acked = new Map(); // key -> value of acknowledged puts
const casAcked = []; // counter values whose CAS was acknowledged
const tsoSeen = [];
let stop = false;
const counts = { put: 0, put_fail: 0, cas: 0, cas_conflict: 0, tso: 0, tso_fail: 0 };

async function putter(c) {
  for (let i = 0; !stop; i++) {
    const k = `k${c}-${i}`, v = `v${i}-${c}`;
    const r = await request('PUT', `${pick().url}/v1/kv/${k}`, v);
    if (r.status === 200) { acked.set(k, v); counts.put++; }
    else { counts.put_fail++; await sleep(50); }
  }
}

async function casser() {
  while (!stop) {
    const m = pick();
    const g = await request('GET', `${m.url}/v1/kv/counter`);
    let hdr, next;
    if (g.status === 404) { hdr = { 'If-None-Match': '*' }; next = 1; }
    else if (g.status === 200) {
      const item = JSON.parse(g.body);
      next = parseInt(Buffer.from(item.value, 'base64').toString(), 10) + 1;
      hdr = { 'If-Match': `${item.version}` };
    } else { await sleep(50); continue; }
    const r = await request('PUT', `${pick().url}/v1/kv/counter`, `${next}`, hdr);
    if (r.status === 200) { casAcked.push(next); counts.cas++; }
    else if (r.status === 409) counts.cas_conflict++;
    else await sleep(50);
  }
}

async function tsoClient() {
  let last = 0n;
  while (!stop) {
    let url = `${pick().url}/v1/tso?count=4`;
    let r = await request('POST', url);
    if (r.status === 307 && r.headers.location) r = await request('POST', r.headers.location);
    if (r.status !== 200) { counts.tso_fail++; await sleep(50); continue; }
    const first = BigInt(JSON.parse(r.body.replace(/"first":(\d+)/, '"first":"$1"')).first);
    if (first <= last) fail(`timestamp ${first} after ${last}: not strictly increasing`);
    last = first + 3n;
    tsoSeen.push(first);
    counts.tso++;
  }
}

// ---- faults ------------------------------------------------------------------------------
async function waitUp(m) {
  for (let t = 0; t < 300; t++) { if (await status(m)) return; await sleep(100); }
  throw new Error(`member ${m.id} did not come back`);
}

async function killRounds() {
  for (let r = 0; r < rounds && !failed; r++) {
    await sleep(1500);
    let l = await leader();
    if (r === 1) { // leadership transfer under load (tarn meta transfer)
      const to = members.find((m) => m.id !== l.id);
      log(`round ${r}: tarn meta transfer --to ${to.id}`);
      execFileSync(tarn, ['meta', 'transfer', '--cluster', clusterFile(), '--to', `${to.id}`], { stdio: 'inherit' });
      l = await leader();
      if (l.id !== to.id) fail(`leader ${l.id} after a transfer to ${to.id}`);
      await sleep(500);
    }
    const victim = r % 3 === 2 ? members.find((m) => m.id !== l.id) : l;
    log(`round ${r}: kill -9 member ${victim.id} (${victim === l ? 'leader' : 'follower'}) pid ${victim.pid}`);
    process.kill(victim.pid, 'SIGKILL');
    await sleep(800);
    execFileSync(tarn, ['cluster', 'restart', '--cluster', clusterFile(), '--id', `${victim.id}`], { stdio: 'inherit' });
    loadMembers();
    await waitUp(members.find((m) => m.id === victim.id));
  }
}

async function partitionRounds() {
  const links = (pred) => proxies.filter(pred);
  for (let r = 0; r < rounds && !failed; r++) {
    await sleep(1500);
    const l = await leader();
    const target = r % 2 === 0 ? l.id : members.find((m) => m.id !== l.id).id;
    const oneWay = r % 3 === 1;
    const cut = oneWay ? links((p) => p.from === target) : links((p) => p.from === target || p.to === target);
    log(`round ${r}: ${oneWay ? 'cut outbound links of' : 'isolate'} member ${target}${target === l.id ? ' (leader)' : ''}`);
    cut.forEach((p) => setBlocked(p, true));
    await sleep(3000);
    cut.forEach((p) => setBlocked(p, false));
    log(`round ${r}: healed`);
  }
}

// ---- checks -------------------------------------------------------------------------------
async function verify() {
  clientTimeoutMs = 5000;
  await leader();
  log(`verifying ${acked.size} acknowledged puts`);
  let i = 0;
  for (const [k, v] of acked) {
    const m = members[i++ % members.length];
    let r;
    for (let t = 0; t < 50; t++) {
      r = await request('GET', `${m.url}/v1/kv/${k}`);
      if (r.status === 200 || r.status === 404) break;
      await sleep(100);
    }
    if (r.status !== 200) { fail(`acknowledged key ${k} missing on member ${m.id} (status ${r.status})`); continue; }
    const got = Buffer.from(JSON.parse(r.body).value, 'base64').toString();
    if (got !== v) fail(`key ${k}: ${got}, acknowledged ${v}`);
  }
  // Every member applies everything: serializable reads agree then.
  const st = await status(await leader());
  for (const m of members) {
    for (let t = 0; t < 100; t++) { const s = await status(m); if (s && s.applied_index >= st.commit_index) break; await sleep(100); }
    let missing = 0;
    for (const [k] of acked) {
      const r = await request('GET', `${m.url}/v1/kv/${k}?consistency=serializable`);
      if (r.status !== 200) { if (!missing) console.error(`member ${m.id} ${k}: ${r.status} ${r.body}`); missing++; }
    }
    if (missing) fail(`member ${m.id}: ${missing} acknowledged keys missing from its own state`);
  }
  const c = await request('GET', `${members[0].url}/v1/kv/counter`);
  const final = c.status === 200 ? parseInt(Buffer.from(JSON.parse(c.body).value, 'base64').toString(), 10) : 0;
  const max = casAcked.reduce((a, b) => Math.max(a, b), 0);
  if (final < max) fail(`counter ${final} below an acknowledged value ${max}`);
  if (new Set(casAcked).size !== casAcked.length) fail('two CAS increments acknowledged with the same value (lost update)');
  log(`counter ${final}, ${casAcked.length} increments acknowledged; ${tsoSeen.length} timestamp batches; ${JSON.stringify(counts)}`);
  if (counts.put < 20 || counts.cas < 5 || counts.tso < 5) fail(`too little progress: ${JSON.stringify(counts)}`);
  let snaps = 0;
  for (const m of members) {
    const r = await request('GET', `${m.url}/metrics`);
    const x = /^tarn_node_snapshots_installed_total (\d+)/m.exec(r.body || '');
    const y = /^tarn_node_log_compactions_total (\d+)/m.exec(r.body || '');
    log(`member ${m.id}: ${x ? x[1] : '?'} snapshots installed, ${y ? y[1] : '?'} compactions`);
    snaps += x ? parseInt(x[1], 10) : 0;
  }
  log(`${snaps} store snapshots installed by live members`);
}

async function shutdown() {
  stop = true;
  for (const p of proxies) { p.blocked = false; for (const c of p.conns) c.destroy(); p.server.close(); }
  if (mode === 'kill') {
    try { execFileSync(tarn, ['cluster', 'down', '--cluster', clusterFile()], { stdio: 'inherit' }); } catch (e) { /* reported below */ }
  } else {
    for (const m of members) if (m.proc) m.proc.kill('SIGTERM');
    await sleep(500);
  }
  agent.destroy();
}

async function main() {
  if (mode === 'kill') await upWithCli(); else await upWithProxies();
  log(`cluster up (${mode}); members ${members.map((m) => m.url).join(' ')}`);
  const clients = [putter(1), putter(2), casser(), casser(), tsoClient()];
  await (mode === 'kill' ? killRounds() : partitionRounds());
  await sleep(1000);
  stop = true;
  await Promise.all(clients);
  stop = false;
  await verify();
}

main().catch((e) => fail(e.stack || e)).finally(async () => {
  await shutdown();
  if (failed) {
    for (const f of fs.readdirSync(work).filter((f) => f.endsWith('.log'))) {
      const text = fs.readFileSync(path.join(work, f), 'utf8').split('\n');
      console.error(`--- ${f} (last 40 lines)`); console.error(text.slice(-40).join('\n'));
    }
    process.exit(1);
  }
  fs.rmSync(work, { recursive: true, force: true });
  log('PASS');
  process.exit(0);
});
