#!/usr/bin/env node
// tests/sql/run.js: the differential SQL test. Builds the test tables with
// DuckDB (data.js), runs the corpus (corpus/*.sql) and seeded random
// queries (randgen.js) in DuckDB and, with --tarn, in Tarn, and compares.
//
//   node tests/sql/run.js --work DIR [--tarn build/tarn] [--random N] [--seed S]
//                         [--gaps tests/sql/known_gaps.txt] [--only REGEX] [--verbose]
//
// Without --tarn it checks the corpus against DuckDB alone: every query
// runs there, or is marked as an expected error and fails there.
// With --tarn, a query fails the test when Tarn's answer differs from
// DuckDB's (or Tarn errs where DuckDB answers, or answers where both
// should fail), unless known_gaps.txt lists it; a listed query that now
// passes fails the test too, so the list stays honest. Tarn crashes
// (exit codes other than 0 and 1) always fail.
//
// Env: TARN_SEED (the random seed; default 1, printed), TARN_LONG_TESTS=1
// (2000 random queries instead of --random).
'use strict';
const fs = require('fs');
const path = require('path');
let duckdb;
try {
  duckdb = require('@duckdb/node-api');
} catch (e) {
  console.log('skipped: @duckdb/node-api is not installed (scripts/setup installs it)');
  process.exit(77);
}
const H = require('./harness.js');
const data = require('./data.js');
const {randomQueries} = require('./randgen.js');
const tarnRunner = require('./tarn_runner.js');

function parseArgs(argv) {
  const a = {random: 100, gaps: path.join(__dirname, 'known_gaps.txt'), verbose: false};
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = () => argv[++i];
    if (k === '--work') a.work = v();
    else if (k === '--tarn') a.tarn = v();
    else if (k === '--random') a.random = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--gaps') a.gaps = v();
    else if (k === '--only') a.only = new RegExp(v());
    else if (k === '--verbose') a.verbose = true;
    else if (k === '--write-gaps') a.writeGaps = v();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.work) throw new Error('--work DIR is required');
  if (a.seed === undefined) a.seed = process.env.TARN_SEED ? Number(process.env.TARN_SEED) : 1;
  if (process.env.TARN_LONG_TESTS === '1') a.random = Math.max(a.random, 2000);
  return a;
}

// known_gaps.txt: `ID  reason` or `re:/REGEX/  reason` (matched against the
// query text; for random queries). '#' starts a comment.
function loadGaps(file) {
  const gaps = [];
  if (!fs.existsSync(file)) return gaps;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(re:\/(.*)\/|\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`${file}: bad line: ${raw}`);
    gaps.push(m[2] !== undefined ? {re: new RegExp(m[2], 'i'), reason: m[3], text: m[1], hits: 0, passes: 0}
                                 : {id: m[1], reason: m[3], text: m[1], hits: 0, passes: 0});
  }
  return gaps;
}

function gapFor(gaps, q) {
  return gaps.find((g) => g.id === q.id) || (q.random ? gaps.find((g) => g.re && g.re.test(q.sql)) : undefined);
}

// One line of reason from a problem message: Tarn's own error without its
// position and caret, or the first difference.
function reasonOf(problem) {
  let r = problem.replace(/\s+/g, ' ');
  const m = /^Tarn fails: (?:[a-z ]+ at line \d+, column \d+: )?([^|]*)/.exec(r);
  if (m) r = `Tarn fails: ${m[1].trim()}`;
  else if (/^Tarn crashed/.test(r)) r = r.replace(/(Sanitizer: [^ ]+ [^ ]+ [^ ]+).*/, '$1');
  return r.length > 200 ? r.slice(0, 197) + '...' : r;
}

// Writes the known gaps file for the current state (listed and new
// failures), for a person to review.
function writeGaps(file, gapHits, failures) {
  const lines = ['# Queries Tarn cannot run yet or answers differently from DuckDB, one per',
    '# line: ID reason (or re:/REGEX/ reason for random queries). tests/sql/run.js',
    '# fails on a failure not listed here and on a listed query that passes.'];
  const all = gapHits.map((h) => ({id: h.q.id, reason: h.gap.reason, random: h.q.random}))
    .concat(failures.map((f) => ({id: f.q.id, reason: reasonOf(f.problem), random: f.q.random})));
  for (const x of all) lines.push(`${x.id}  ${x.reason}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

async function runDuckAll(queries, dataDir) {
  const db = await duckdb.DuckDBInstance.create(':memory:', {threads: '1'});
  const conn = await db.connect();
  await data.makeData(conn, dataDir);
  await data.makeViews(conn, dataDir);
  for (const q of queries) q.duck = await H.runDuck(conn, H.forDuck(q.sql, dataDir, data.HIST_STEPS.length));
}

// DuckDB alone: the corpus must be right about what runs and what fails.
function validate(queries) {
  const bad = [];
  for (const q of queries) {
    if (q.expect === 'ok' && !q.duck.ok) bad.push(`${q.id}: DuckDB fails: ${q.duck.error}\n    ${q.sql}`);
    if (q.expect === 'error' && q.duck.ok) bad.push(`${q.id}: marked expect: error, but DuckDB answers\n    ${q.sql}`);
  }
  return bad;
}

// Tarn's outcome against DuckDB's and the annotation: null or a message.
function judge(q, tr) {
  if (tr.crashed) return `Tarn crashed or misbehaved: ${tr.error}`;
  if (q.expect === 'same' && !q.duck.ok)
    return tr.ok ? `Tarn answers (${tr.rows.length} rows) where DuckDB fails (${q.duck.error})` : null;
  if (q.expect === 'error' || q.expect === 'tarn-error')
    return tr.ok ? `Tarn answers (${tr.rows.length} rows) where it must fail${q.why ? ` (${q.why})` : ''}: ${tr.rows.slice(0, 3).map(H.rowText).join(' ')}` : null;
  if (!tr.ok) return `Tarn fails: ${tr.error}`;
  const d = H.compareRows(q.duck.rows, tr.rows, q.ordered, q.duck.kinds);
  return d;
}

async function main() {
  const a = parseArgs(process.argv);
  const dataDir = path.resolve(a.work, 'data');
  fs.rmSync(a.work, {recursive: true, force: true});
  fs.mkdirSync(a.work, {recursive: true});
  let queries = H.loadCorpus(path.join(__dirname, 'corpus'));
  const ncorpus = queries.length;
  queries = queries.concat(randomQueries(a.seed, a.random));
  if (a.only) queries = queries.filter((q) => a.only.test(q.id));
  console.log(`sql differential test: ${ncorpus} corpus queries, ${a.random} random (seed ${a.seed}; replay with TARN_SEED=${a.seed})`);

  const t0 = Date.now();
  await runDuckAll(queries, dataDir);
  const bad = validate(queries);
  console.log(`DuckDB: ${queries.filter((q) => q.duck.ok).length} answered, ${queries.filter((q) => !q.duck.ok).length} failed, ${Date.now() - t0} ms`);
  if (bad.length > 0) {
    console.log(`corpus problems (${bad.length}):\n  ` + bad.join('\n  '));
    process.exit(1);
  }
  if (!a.tarn) {
    console.log('corpus valid against DuckDB (no --tarn: Tarn not compared)');
    return;
  }

  const tarnDir = path.resolve(a.work, 'tarn');
  const t1 = Date.now();
  const runner = await tarnRunner.open(a.tarn, tarnDir);
  // Loading: a statement that fails is a failure too (id load:N), unless
  // listed; the queries that need its data then fail on their own.
  const gaps = loadGaps(a.gaps);
  const failures = [], gapHits = [];
  const load = data.tarnLoadStatements(dataDir).map((sql, i) => ({id: `load:${i + 1}`, sql, file: 'load', expect: 'ok'}));
  const loaded = await runner.runMany(load.map((l) => l.sql));
  for (let i = 0; i < load.length; i++) {
    const problem = loaded[i].ok ? null : `loading the test data failed: ${loaded[i].error}`;
    const gap = gapFor(gaps, load[i]);
    if (gap) problem ? (gap.hits++, gapHits.push({q: load[i], gap, problem})) : gap.passes++;
    else if (problem) failures.push({q: load[i], problem});
  }
  // Commit times of hist's versions, for TIMESTAMP AS OF '@HIST_TS_n@'.
  const histTimes = {};
  const hist = await runner.run('DESCRIBE HISTORY hist');
  for (const row of hist.ok ? hist.rows : []) if (row[0].t === 'num' && row[1].t === 'jstr') histTimes[row[0].text] = row[1].v;
  const answers = await runner.runParallel(queries.map((q) => H.forTarn(q.sql, dataDir, histTimes)), Number(process.env.TARN_SQL_WORKERS || 4));
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i], tr = answers[i];
    const problem = judge(q, tr);
    const gap = gapFor(gaps, q);
    if (gap) {
      if (problem) {
        gap.hits++;
        gapHits.push({q, gap, problem});
      } else {
        gap.passes++;
      }
    }
    if (problem && !gap) failures.push({q, problem});
    if (a.verbose) console.log(`${problem ? (gap ? 'GAP ' : 'FAIL') : 'ok  '} ${q.id}`);
  }
  await runner.close();
  // Memory leaks show at a process's exit (ASan builds): one pseudo-query.
  const leakQ = {id: 'process:leak', sql: '(any statement)', file: 'process', expect: 'ok'};
  const leakProblem = runner.leaks().length === 0 ? null
    : `LeakSanitizer reported leaks at the exit of ${runner.leaks().length} tarn sql processes; the first ran statements ` +
      `${runner.leaks()[0].from}..${runner.leaks()[0].to} (script kept in ${runner.leaks()[0].script}): ${runner.leaks()[0].report.slice(0, 600)}`;
  const leakGap = gapFor(gaps, leakQ);
  if (leakGap) leakProblem ? (leakGap.hits++, gapHits.push({q: leakQ, gap: leakGap, problem: leakProblem})) : leakGap.passes++;
  else if (leakProblem) failures.push({q: leakQ, problem: leakProblem});
  // A listed query id that passes, or a pattern all of whose queries pass.
  const stale = gaps.filter((g) => (g.id ? g.passes > 0 : g.passes > 0 && g.hits === 0));
  const unknownIds = gaps.filter((g) => g.id && g.id !== 'process:leak' && !queries.some((q) => q.id === g.id) && !load.some((l) => l.id === g.id) &&
                                      !a.only && !g.id.startsWith('random:'));

  console.log(`Tarn: ${queries.length} queries in ${Date.now() - t1} ms (${runner.processes()} processes); ${queries.length - failures.length - gapHits.length} agree, ${gapHits.length} known gaps, ${failures.length} new failures`);
  if (gapHits.length > 0) {
    console.log(`known gaps (${gapHits.length}):`);
    for (const h of gapHits) console.log(`  ${h.q.id}: ${h.gap.reason}`);
  }
  for (const f of failures) {
    console.log(`MISMATCH ${f.q.id}${f.q.random ? ` (seed ${a.seed}; replay: TARN_SEED=${a.seed})` : ''}\n  query: ${f.q.sql}\n  ${f.problem}`);
    if (f.q.duck && f.q.duck.ok && (f.q.expect === 'ok' || f.q.expect === 'same'))
      console.log(`  DuckDB: ${f.q.duck.rows.slice(0, 5).map(H.rowText).join(' ')}${f.q.duck.rows.length > 5 ? ` ... (${f.q.duck.rows.length} rows)` : ''}`);
  }
  if (a.writeGaps) writeGaps(a.writeGaps, gapHits, failures);
  for (const g of stale) console.log(`STALE known gap (now passes; remove it from ${path.basename(a.gaps)}): ${g.text}`);
  for (const g of unknownIds) console.log(`STALE known gap (no such query): ${g.text}`);
  if (failures.length > 0 || stale.length > 0 || unknownIds.length > 0) process.exit(1);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
