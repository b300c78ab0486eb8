// tests/integration/test_cluster_membership.js: membership changes of real
// `tarn meta` processes on loopback, under load. Usage:
//   node test_cluster_membership.js TARN_BINARY [LINZ_CHECK_BINARY]
// `tarn cluster up --meta 3`; clients put distinct keys, overwrite two
// shared registers, do CAS increments of one counter and read (linearizable
// GETs, and one in five `?consistency=serializable`) through random current
// members all along; meanwhile `tarn meta add` brings in members 4 and 5
// (each joins as a learner, gets a store snapshot since members keep only
// 32 log entries, catches up and is promoted), `tarn meta transfer` hands
// the leadership to member 4, `tarn meta remove` takes out one old follower
// and then the old leader, and finally the current leader (the command
// moves the leadership away first); then member 5 is killed with SIGKILL
// and restarted from its compacted WAL and store.
//
// Every kv operation goes into a history as cluster_chaos.js records it
// (call and return times, op, key, value, version, the expected version of
// a CAS; a 409 is a failed compare carrying the current version and value;
// a write refused before proposing is dropped; no answer or a 5xx leaves it
// pending to the end). At the end tests/sim/linz_check (LINZ_CHECK_BINARY)
// checks it against a versioned register per key and the test fails on a
// violation, printing the key's sub-history and the membership changes on
// the checker's time scale; then the checker must catch a stale read
// planted in a doctored copy of the same history. Each op also names the
// member that served it ("member"; the joined members 4 and 5 must have
// answered linearizable reads). The history stays in the work directory
// (history.json, with the changes' times) for a rerun of the checker.
// Also at the end: every acknowledged put is in the state of every
// remaining member, the counter is at least every acknowledged increment
// and no two increments were acknowledged with the same value (no lost
// update), cluster.json names exactly the remaining members, removed
// members' processes are gone, and every remaining member reports the
// final voter count (tarn_raft_voters) and logged the changes as JSON
// lines. Exit status 0 = pass.
'use strict';
const { execFile, execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { kvHistory } = require('./kv_history');

const tarn = process.argv[2];
const linzCheck = process.argv[3] || '';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tarn-membership-'));
const file = path.join(work, 'cluster.json');
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let key = '';
let live = []; // members the clients use: {id, url}
let leaving = []; // members being removed: only the readers still use them
let stop = false;
let failed = false;
const acked = new Map(); // key -> value of acknowledged puts
const ackedKeys = []; // the same keys, for the readers
const casAcked = []; // counter values whose CAS was acknowledged
let joinSnapshots = 0; // store snapshots the joining members installed
const counts = { put: 0, put_fail: 0, reg_put: 0, read: 0, read_fail: 0, read_leaving: 0, cas: 0,
  cas_conflict: 0, cas_unknown: 0 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${new Date().toISOString()}]`, ...a);
function fail(msg) { failed = true; console.error('FAIL:', msg); }

function request(method, url, body, headers = {}, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, agent,
        headers: { 'X-API-Key': key, ...headers }, timeout: timeoutMs },
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

const pick = () => live[Math.floor(Math.random() * live.length)];
const oneOf = (a) => a[Math.floor(Math.random() * a.length)];
const decode = (b64) => Buffer.from(b64, 'base64').toString();

function cluster() { return JSON.parse(fs.readFileSync(file)); }

async function status(url) {
  const r = await request('GET', `${url}/v1/status`);
  if (r.status !== 200) return null;
  try { return JSON.parse(r.body); } catch (e) { return null; }
}

// A counter or gauge from a member's /metrics; null when absent.
async function metric(url, name) {
  const r = await request('GET', `${url}/metrics`);
  const x = new RegExp(`^${name} (\\d+)`, 'm').exec(r.body || '');
  return x ? parseInt(x[1], 10) : null;
}

async function leaderOf(members) {
  for (let t = 0; t < 300; t++) {
    for (const m of members) {
      const s = await status(m.url);
      if (s && s.role === 'leader') return { ...m, status: s };
    }
    await sleep(100);
  }
  throw new Error('no leader within 30 s');
}

// `tarn ARGS...` without blocking the clients; resolves its stdout. Each
// one goes into the timeline of changes that a violation is printed with.
function tarnAsync(args) {
  return new Promise((resolve, reject) => {
    const t = Date.now();
    const ev = { what: `tarn ${args.filter((a) => a !== '--cluster' && a !== file).join(' ')}`, call: now(), ret: null };
    changeLog.push(ev);
    execFile(tarn, args, { encoding: 'utf8', timeout: 120000 }, (e, out, err) => {
      ev.ret = now();
      if (e) reject(new Error(`tarn ${args.join(' ')}: ${e.message}\n${out}${err}`));
      else { log(`tarn ${args[0]} ${args[1]} (${Date.now() - t} ms): ${out.trim()}`); resolve(out); }
    });
  });
}

// ---- the history (tests/integration/kv_history.js, as cluster_chaos.js) ----
// Each op also names the member that served it ("member").
const hist = kvHistory({ request, linzCheck, log, fail });
const { now, recordedGet, recordedPut } = hist;
const changeLog = []; // {what, call, ret}: the membership changes, in the same clock
let uniq = 0; // makes every written value unique per key (the checker needs it)

// The membership changes in the checker's time scale (ms from the first
// call), to read next to a failing key's sub-history.
function changeTimeline() {
  const first = hist.ops.reduce((a, op) => Math.min(a, op.call), Infinity);
  const ms = (t) => (t == null ? 'pending' : ((t - first) / 1e6).toFixed(3));
  return changeLog.map((e) => `  [${ms(e.call)} .. ${ms(e.ret)}] ${e.what}`).join('\n');
}

// Joined members must have served linearizable reads; then the check, with
// the membership changes next to a violation (each op's "member" is the
// member that served it).
function checkHistory() {
  for (const id of [4, 5]) {
    if (!hist.ops.some((op) => op.op === 'read' && !op.consistency && op.member === id)) fail(`no linearizable read answered by joined member ${id} in the history`);
  }
  hist.check(work, {
    extra: { membership_changes: changeLog },
    explain: () => `membership changes (ms from the first call):\n${changeTimeline()}`,
  });
}

// ---- clients ------------------------------------------------------------------
async function putter(c) {
  for (let i = 0; !stop; i++) {
    const k = `k${c}-${i}`, v = `v${i}-${c}`;
    const r = await recordedPut(pick(), k, v, c);
    if (r.status === 200) { acked.set(k, v); ackedKeys.push(k); counts.put++; }
    else { counts.put_fail++; await sleep(50); }
  }
}

// Blind overwrites of two shared registers with unique values.
const registers = ['reg0', 'reg1'];
async function registerWriter(c) {
  while (!stop) {
    const r = await recordedPut(pick(), oneOf(registers), `w${c}-${++uniq}`, c);
    if (r.status === 200) counts.reg_put++;
    else await sleep(50);
  }
}

// Reads of the registers, the counter and acknowledged keys through random
// current members; one in five is serializable (recorded, left out of the
// check). A member being removed (the old leader among them) gets a third
// of the reads until its removal returns: whatever it answers must be
// linearizable too.
async function reader(c) {
  while (!stop) {
    const x = Math.random();
    const k = x < 0.2 ? 'counter' : x < 0.7 || ackedKeys.length === 0 ? oneOf(registers) : oneOf(ackedKeys);
    const m = leaving.length && Math.random() < 0.33 ? oneOf(leaving) : pick();
    const r = await recordedGet(m, k, c, Math.random() < 0.2);
    if (r.status === 200 || r.status === 404) { counts.read++; if (!live.includes(m)) counts.read_leaving++; }
    else { counts.read_fail++; await sleep(50); }
  }
}

// The counter's {version, n} from a GET or a 409 body ("N:client:unique").
const counterState = (item) => (item.exists === false ? { version: 0, n: 0 }
  : { version: item.version, n: parseInt(decode(item.value), 10) });

// CAS increments of "counter" ("N:client:unique"); a 409 carries the
// current value, so the next attempt needs no read.
async function casser(c) {
  let cur = null;
  while (!stop) {
    if (cur === null) {
      const g = await recordedGet(pick(), 'counter', c);
      if (g.status === 404) cur = { version: 0, n: 0 };
      else if (g.status === 200) cur = counterState(JSON.parse(g.body));
      else { await sleep(50); continue; }
    }
    const next = cur.n + 1;
    const hdr = cur.version === 0 ? { 'If-None-Match': '*' } : { 'If-Match': `${cur.version}` };
    const r = await recordedPut(pick(), 'counter', `${next}:${c}:${++uniq}`, c, hdr, cur.version);
    if (r.status === 200) { casAcked.push(next); counts.cas++; cur = null; }
    else if (r.status === 409) { counts.cas_conflict++; cur = counterState(JSON.parse(r.body)); }
    else { counts.cas_unknown++; cur = null; await sleep(50); }
  }
}

// ---- the membership changes ---------------------------------------------------------
async function add(id) {
  const out = await tarnAsync(['meta', 'add', '--cluster', file, '--id', `${id}`]);
  const r = JSON.parse(out);
  if (r.added !== id) fail(`tarn meta add printed ${out}`);
  const voters = r.configuration.members.filter((m) => m.voter).map((m) => m.id);
  if (!voters.includes(id)) fail(`member ${id} is no voter after tarn meta add: ${out}`);
  const m = cluster().members.find((x) => x.id === id);
  if (!m) { fail(`member ${id} not in cluster.json after tarn meta add`); return; }
  live.push({ id, url: m.url });
  joinSnapshots += (await metric(m.url, 'tarn_node_snapshots_installed_total')) || 0;
}

// Whether pid runs (a zombie waiting for a parent that does not reap it
// has stopped).
function running(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(st);
  } catch (e) { return false; }
}

async function remove(id) {
  const gone = cluster().members.find((x) => x.id === id);
  leaving = live.filter((m) => m.id === id);
  live = live.filter((m) => m.id !== id); // writers stop using it first
  const out = await tarnAsync(['meta', 'remove', '--cluster', file, '--id', `${id}`]).finally(() => { leaving = []; });
  const r = JSON.parse(out);
  if (r.removed !== id || r.configuration.members.some((m) => m.id === id)) fail(`tarn meta remove printed ${out}`);
  if (cluster().members.some((x) => x.id === id)) fail(`member ${id} still in cluster.json`);
  if (running(gone.pid)) fail(`removed member ${id} (pid ${gone.pid}) still runs`);
}

// The admin route: a follower answers 307 to the leader's route (the body
// goes along), no key is 401, a bad body is 400.
async function routeChecks() {
  let ld, f, r;
  const body = JSON.stringify({ op: 'promote', id: 1 }); // a voter: a no-op on a leader
  for (let t = 0; t < 10; t++) { // a loaded machine may re-elect in between: ask again
    ld = await leaderOf(live);
    f = live.find((m) => m.id !== ld.id);
    r = await request('POST', `${f.url}/v1/cluster/members`, body);
    const s = await status(f.url);
    if (r.status === 307 || (s && s.role === 'leader')) {
      if (r.status === 307) break;
      continue;
    }
    break;
  }
  if (r.status !== 307) fail(`POST /v1/cluster/members on a follower: ${r.status} ${r.body}`);
  const anon = await new Promise((resolve) => {
    const u = new URL(`${ld.url}/v1/cluster/members`);
    const q = http.request({ method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname, agent },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    q.on('error', () => resolve(0));
    q.end(body);
  });
  if (anon !== 401) fail(`POST /v1/cluster/members without a key: ${anon}`);
  const bad = await request('POST', `${ld.url}/v1/cluster/members`, '{"op":"grow","id":9}');
  if (bad.status !== 400) fail(`unknown op: ${bad.status} ${bad.body}`);
  const list = await request('GET', `${f.url}/v1/cluster/members`);
  if (list.status !== 200 || JSON.parse(list.body).members.length !== 3) fail(`GET /v1/cluster/members: ${list.status} ${list.body}`);
}

async function changes() {
  await sleep(1000);
  await routeChecks();
  await add(4);
  await add(5);
  const old = await leaderOf(live);
  log(`old leader ${old.id}; transferring to 4`);
  await tarnAsync(['meta', 'transfer', '--cluster', file, '--to', '4']);
  const follower = [1, 2, 3].find((id) => id !== old.id);
  await remove(follower);
  await remove(old.id);
  await sleep(500);
  const cur = await leaderOf(live);
  log(`removing the current leader ${cur.id}`);
  await remove(cur.id);
  await sleep(1000);
  // A joined member killed and restarted (its own argv: --join, the
  // members of its day): it must find the configuration and its peers in
  // its own store and WAL (the log is compacted: the changes are not in
  // the WAL any more) and serve again.
  const m5 = cluster().members.find((x) => x.id === 5);
  log(`kill -9 member 5 (pid ${m5.pid}) and restart it`);
  changeLog.push({ what: 'kill -9 member 5', call: now(), ret: now() });
  process.kill(m5.pid, 'SIGKILL');
  for (let t = 0; t < 100 && running(m5.pid); t++) await sleep(50);
  await tarnAsync(['cluster', 'restart', '--cluster', file, '--id', '5']);
  for (let t = 0; t < 300; t++) {
    const s = await status(m5.url);
    if (s && s.voter && s.voters === live.length && s.leader) break;
    await sleep(100);
  }
  await sleep(1500);
}

// ---- checks -------------------------------------------------------------------------
async function verify() {
  const ld = await leaderOf(live);
  const target = ld.status.commit_index;
  const ids = cluster().members.map((m) => m.id).sort();
  if (JSON.stringify(ids) !== JSON.stringify(live.map((m) => m.id).sort())) fail(`cluster.json members ${ids}, expected ${live.map((m) => m.id)}`);
  log(`verifying ${acked.size} acknowledged puts on members ${ids.join(',')}`);
  for (const m of live) {
    for (let t = 0; t < 200; t++) { const s = await status(m.url); if (s && s.applied_index >= target) break; await sleep(100); }
    let missing = 0;
    for (const [k, v] of acked) {
      const r = await request('GET', `${m.url}/v1/kv/${k}?consistency=serializable`);
      const got = r.status === 200 ? decode(JSON.parse(r.body).value) : null;
      if (got !== v) { if (!missing) console.error(`member ${m.id} ${k}: ${r.status} ${got}`); missing++; }
    }
    if (missing) fail(`member ${m.id}: ${missing} acknowledged keys missing or wrong`);
    const s = await status(m.url);
    if (!s || s.voters !== live.length || !s.voter) fail(`member ${m.id} status ${JSON.stringify(s)}: expected ${live.length} voters, itself one`);
    const voters = await metric(m.url, 'tarn_raft_voters');
    if (voters !== live.length) fail(`member ${m.id}: tarn_raft_voters ${voters}`);
    const logText = fs.readFileSync(path.join(work, `meta-${m.id}.log`), 'utf8');
    const lines = logText.split('\n').filter((l) => l.includes('"msg":"membership change"'));
    if (lines.length === 0) fail(`member ${m.id} logged no membership change`);
    for (const l of lines) JSON.parse(l); // each one a JSON line
  }
  const c = await recordedGet(live[0], 'counter', 0);
  const final = c.status === 200 ? counterState(JSON.parse(c.body)).n : 0;
  const max = casAcked.reduce((a, b) => Math.max(a, b), 0);
  if (final < max) fail(`counter ${final} below an acknowledged value ${max}`);
  if (new Set(casAcked).size !== casAcked.length) fail('two CAS increments acknowledged with the same value (lost update)');
  log(`counter ${final}, ${casAcked.length} increments acknowledged; ${JSON.stringify(counts)}`);
  if (counts.put < 50 || counts.cas < 10 || counts.reg_put < 10 || counts.read < 50) fail(`too little progress: ${JSON.stringify(counts)}`);
  log(`${joinSnapshots} store snapshots installed by the joining members`);
  if (joinSnapshots === 0) fail('no joining member needed a store snapshot: the test did not exercise the configuration in snapshots');
  checkHistory();
}

async function main() {
  execFileSync(tarn, ['cluster', 'up', '--meta', '3', '--dir', work, '--',
    '--rate-write-per-s', '0', '--rate-read-per-s', '0', '--rate-admin-per-s', '0',
    '--log-keep-entries', '32', '--log-level', 'info'], { stdio: 'inherit' });
  const c = cluster();
  key = fs.readFileSync(c.admin_key_file, 'utf8').trim();
  live = c.members.map((m) => ({ id: m.id, url: m.url }));
  const clients = [putter(1), putter(2), putter(3), casser(4), casser(5), registerWriter(6), reader(7),
    reader(8)];
  await changes();
  stop = true;
  await Promise.all(clients);
  await verify();
}

main().catch((e) => fail(e.stack || e)).finally(() => {
  stop = true;
  try { execFileSync(tarn, ['cluster', 'down', '--cluster', file], { stdio: 'inherit' }); } catch (e) { /* reported */ }
  agent.destroy();
  if (failed) {
    for (const f of fs.readdirSync(work).filter((f) => f.endsWith('.log'))) {
      const text = fs.readFileSync(path.join(work, f), 'utf8').split('\n').filter((l) => !l.includes('"level":"info"'));
      console.error(`--- ${f} (last 30 non-info lines)`); console.error(text.slice(-30).join('\n'));
    }
    process.exit(1);
  }
  fs.rmSync(work, { recursive: true, force: true });
  log('PASS');
  process.exit(0);
});
