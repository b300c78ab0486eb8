// tests/integration/cluster_chaos.js: three real `tarn meta` processes on
// loopback under clients and faults. Usage:
//   node cluster_chaos.js TARN_BINARY kill|partition [LINZ_CHECK_BINARY]
// kill:      `tarn cluster up`, then kill -9 the leader (and every third
//            round a follower) and restart it with `tarn cluster restart`;
//            one round first moves leadership with `tarn meta transfer`.
// partition: members started by hand with every peer link (i -> j) going
//            through a fault-injecting TCP proxy of ours (below); rounds
//            isolate one member (the leader every other round) or cut one
//            direction only, then heal.
// While that happens, clients put distinct keys, overwrite a few shared
// registers, read them back (linearizable GETs, and some serializable
// ones), do CAS increments of one counter, and ask for timestamps, each
// through random members (followers forward writes and linearizable reads;
// POST /v1/tso answers 307 to the leader, followed here).
//
// Every kv operation goes into a history (call and return times, op, key,
// value, version, the expected version of a CAS, the result); an operation
// that timed out or failed ambiguously (no answer, 5xx on a write) is
// recorded with no return: it may have taken effect at any time after its
// call, or never. At the end tests/sim/linz_check (LINZ_CHECK_BINARY)
// checks the history against a versioned register per key and the test
// fails on a violation, printing the key's sub-history; the history stays
// in the work directory (history.json) for a rerun of the checker.
// Serializable reads are recorded but left out of the model (they may be
// stale by design). In partition mode a member's peer port also gets
// garbage, a frame with an absurd length, one with a bad CRC, and, after a
// handshake it accepts, frames the wire decoder must refuse (unknown kind,
// truncated messages, an absurd entry count); it must close each of those
// connections, count the bad frames and keep serving.
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
const { kvHistory } = require('./kv_history');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const tarn = process.argv[2];
const mode = process.argv[3] || 'kill';
const linzCheck = process.argv[4] || '';
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

// ---- the history (tests/integration/kv_history.js) ---------------------------------
const hist = kvHistory({ request, linzCheck, log, fail });
const { now, recordedGet, recordedPut } = hist;
let uniq = 0; // makes every written value unique per key (the checker needs it)

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
    return { id: i, url: `http://127.0.0.1:${httpPort[i]}`, peerPort: peerPort[i],
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

// ---- hostile bytes on a peer port -----------------------------------------------------
const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
function crc32c(b) {
  let c = 0xffffffff;
  for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// A frame as node/transport.h lays it out: length, CRC32C, body.
function frame(body, crc = crc32c(body)) {
  const f = Buffer.alloc(8 + body.length);
  f.writeUInt32LE(body.length, 0);
  f.writeUInt32LE(crc >>> 0, 4);
  body.copy(f, 8);
  return f;
}
// Sends bytes to a peer port; resolves 'closed' when the member hangs up,
// 'open' when it still waits after waitMs (it may want more bytes).
function sendRaw(port, bytes, waitMs = 2000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { s.destroy(); resolve('open'); }, waitMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve('closed'); });
  });
}
// The HELLO a member sends first on a connection (node/transport.h):
// kind 1, "TARNPEER", version 1, reserved, cluster id (node_tp_cluster_id:
// FNV-1a 64 of the cluster name, with node/transport.c's offset basis
// 1469598103934665603), from, to, URL.
function fnv1a64(str) {
  let h = 1469598103934665603n;
  for (const b of Buffer.from(str)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}
function hello(cluster, from, to, url) {
  const u = Buffer.from(url);
  const b = Buffer.alloc(39 + u.length);
  b[0] = 1;
  b.write('TARNPEER', 1, 'latin1');
  b.writeUInt16LE(1, 9);
  b.writeBigUInt64LE(fnv1a64(cluster), 13);
  b.writeBigUInt64LE(BigInt(from), 21);
  b.writeBigUInt64LE(BigInt(to), 29);
  b.writeUInt16LE(u.length, 37);
  u.copy(b, 39);
  return frame(b);
}
function peerConn(port) {
  return new Promise((resolve) => {
    const c = { s: net.connect(port, '127.0.0.1'), closed: false };
    c.s.on('data', () => {});
    c.s.on('close', () => { c.closed = true; });
    c.s.on('error', () => resolve(c));
    c.s.on('connect', () => resolve(c));
  });
}
async function closedWithin(c, ms) {
  for (let t = 0; t < ms / 50 && !c.closed; t++) await sleep(50);
  return c.closed;
}
// After a handshake that the member accepts (as its peer `from`), frames
// with a good CRC whose bodies node/wire.c must refuse: each closes that
// connection and nothing else. None of them decodes to a Raft message, so
// the cluster's state is not touched. A handshake replaces the peer's
// older inbound connection, so the real `from` -> m link is blocked
// meanwhile (or its reconnect would replace ours).
async function hostileAfterHandshake(m, from) {
  const link = proxies.filter((p) => p.from === from.id && p.to === m.id);
  link.forEach((p) => setBlocked(p, true));
  try { await hostileFrames(m, from); } finally { link.forEach((p) => setBlocked(p, false)); }
}
async function hostileFrames(m, from) {
  const raftHuge = Buffer.alloc(77);
  raftHuge[0] = 2;
  raftHuge.writeUInt32LE(0xffffffff, 73); // n_entries with no entries
  const reqOnly = Buffer.alloc(9);
  reqOnly[0] = 3; // FWD_PROPOSE without a command
  const bodies = [
    ['an unknown kind', Buffer.from([0xee, 1, 2, 3])],
    ['a truncated Raft message', Buffer.from([2, 1, 0, 0])],
    ['a Raft message claiming 2^32-1 entries', raftHuge],
    ['a forwarded proposal without a command', reqOnly],
    ['a truncated snapshot chunk', Buffer.from([6, 1, 2, 3])],
    ['a second handshake', hello('chaos', from.id, m.id, from.url).subarray(8)],
  ];
  for (const [what, body] of bodies) {
    const c = await peerConn(m.peerPort);
    c.s.write(hello('chaos', from.id, m.id, from.url));
    if (await closedWithin(c, 500)) { fail(`member ${m.id} refused a well-formed handshake: the frames after it go untested`); return; }
    c.s.write(frame(body));
    if (!(await closedWithin(c, 3000))) fail(`member ${m.id} kept a peer connection open after ${what}`);
    c.s.destroy();
  }
}

async function badFrames(m) {
  const r = await request('GET', `${m.url}/metrics`);
  const x = /^tarn_peer_bad_frames_total (\d+)/m.exec(r.body || '');
  return x ? parseInt(x[1], 10) : -1;
}
async function hostilePeerBytes() {
  const m = members[0];
  const before = await badFrames(m);
  const huge = Buffer.alloc(12);
  huge.writeUInt32LE(0xffffffff, 0);
  const body = Buffer.from('\xeenot a hello frame at all', 'latin1');
  const cases = [
    ['an absurd length', huge, true],
    ['a bad CRC', frame(body, crc32c(body) ^ 0x40), true],
    ['a well-formed frame that is no handshake', frame(body), true],
    ['a zero length', Buffer.alloc(8), true],
    ['4 KiB of random bytes', require('crypto').randomBytes(4096), false],
  ];
  for (const [what, bytes, mustClose] of cases) {
    const how = await sendRaw(m.peerPort, bytes);
    if (mustClose && how !== 'closed') fail(`member ${m.id} kept a peer connection open after ${what}`);
  }
  await hostileAfterHandshake(m, members[1]);
  const after = await badFrames(m);
  if (!(await status(m))) fail(`member ${m.id} stopped serving after bad peer frames`);
  // 4 refused before a handshake (the random bytes may just wait for more)
  // and 6 after one.
  if (before < 0 || after - before < 10) fail(`bad peer frames counted ${before} -> ${after}, expected +10`);
  log(`member ${m.id}: hostile peer bytes refused (${after - before} bad frames counted), still serving`);
}

// ---- clients ---------------------------------------------------------------------------
const acked = new Map(); // key -> value of acknowledged puts
const casAcked = []; // counter values whose CAS was acknowledged
const tsoSeen = [];
let stop = false;
const ackedKeys = []; // keys of acknowledged puts, for the readers
const counts = { put: 0, put_fail: 0, reg_put: 0, read: 0, read_fail: 0, cas: 0, cas_conflict: 0,
  cas_unknown: 0, tso: 0, tso_fail: 0 };

async function putter(c) {
  for (let i = 0; !stop; i++) {
    const k = `k${c}-${i}`, v = `v${i}-${c}`;
    const r = await recordedPut(pick(), k, v, c);
    if (r.status === 200) { acked.set(k, v); ackedKeys.push(k); counts.put++; }
    else { counts.put_fail++; await sleep(50); }
  }
}

// Blind overwrites of a few shared registers with unique values.
const registers = ['reg0', 'reg1', 'reg2'];
async function registerWriter(c) {
  while (!stop) {
    const k = registers[Math.floor(Math.random() * registers.length)];
    const r = await recordedPut(pick(), k, `w${c}-${++uniq}`, c);
    if (r.status === 200) counts.reg_put++;
    else await sleep(50);
  }
}

// Reads of the registers and of acknowledged keys through random members;
// one in five is serializable (recorded, left out of the check).
async function reader(c) {
  while (!stop) {
    const k = Math.random() < 0.7 || ackedKeys.length === 0
      ? registers[Math.floor(Math.random() * registers.length)]
      : ackedKeys[Math.floor(Math.random() * ackedKeys.length)];
    const r = await recordedGet(pick(), k, c, Math.random() < 0.2);
    if (r.status === 200 || r.status === 404) counts.read++;
    else { counts.read_fail++; await sleep(50); }
  }
}

// CAS increments of "counter": the value is "N:client:attempt" (unique per
// write, as the checker needs; N is the count). A 409 carries the current
// value, so the next attempt needs no read.
async function casser(c) {
  let cur = null; // {version, n} from the last read or 409
  while (!stop) {
    if (cur === null) {
      const g = await recordedGet(pick(), 'counter', c);
      if (g.status === 404) cur = { version: 0, n: 0 };
      else if (g.status === 200) {
        const item = JSON.parse(g.body);
        cur = { version: item.version, n: parseInt(Buffer.from(item.value, 'base64').toString(), 10) };
      } else { await sleep(50); continue; }
    }
    const next = cur.n + 1;
    const hdr = cur.version === 0 ? { 'If-None-Match': '*' } : { 'If-Match': `${cur.version}` };
    const r = await recordedPut(pick(), 'counter', `${next}:${c}:${++uniq}`, c, hdr, cur.version);
    if (r.status === 200) { casAcked.push(next); counts.cas++; cur = null; }
    else if (r.status === 409) {
      counts.cas_conflict++;
      const b = JSON.parse(r.body);
      cur = b.exists ? { version: b.version, n: parseInt(Buffer.from(b.value, 'base64').toString(), 10) }
        : { version: 0, n: 0 };
    } else { counts.cas_unknown++; cur = null; await sleep(50); }
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
      r = await recordedGet(m, k, 0);
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
  const c = await recordedGet(members[0], 'counter', 0);
  const final = c.status === 200 ? parseInt(Buffer.from(JSON.parse(c.body).value, 'base64').toString(), 10) : 0;
  const max = casAcked.reduce((a, b) => Math.max(a, b), 0);
  if (final < max) fail(`counter ${final} below an acknowledged value ${max}`);
  if (new Set(casAcked).size !== casAcked.length) fail('two CAS increments acknowledged with the same value (lost update)');
  log(`counter ${final}, ${casAcked.length} increments acknowledged; ${tsoSeen.length} timestamp batches; ${JSON.stringify(counts)}`);
  if (counts.put < 20 || counts.cas < 5 || counts.tso < 5 || counts.read < 20 || counts.reg_put < 10)
    fail(`too little progress: ${JSON.stringify(counts)}`);
  hist.check(work);
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
  if (mode === 'partition') await hostilePeerBytes();
  const clients = [putter(1), putter(2), registerWriter(3), registerWriter(4), reader(5), reader(6),
    casser(7), casser(8), tsoClient()];
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
