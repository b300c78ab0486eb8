// tests/sql/tarn_runner.js: runs SQL statements in Tarn through
// `tarn sql --data DIR --format json -f SCRIPT`, many per process (the
// start-up of a process, the node's WAL recovery and election, costs more
// than most queries). After each statement the script selects a marker
// row, so the output splits into per-statement results. `tarn sql` stops
// at the first error (exit 1, the error on stderr): that statement is the
// one after the last marker printed, and the rest run in a new process.
'use strict';
const fs = require('fs');
const path = require('path');
const {spawn} = require('child_process');
const H = require('./harness.js');

const MARKER_COL = 'tarn_test_marker';

function markerOf(line) {
  const m = /^\{"tarn_test_marker":"m(\d+)"\}$/.exec(line.trim());
  return m ? Number(m[1]) : -1;
}

function stderrText(s) {
  return (s || '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{"ts"')).join(' | ');
}

// spawnSync's result shape, without blocking the other workers.
function run(cmd, args) {
  return new Promise((resolve) => {
    const out = [], err = [];
    const p = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']});
    const timer = setTimeout(() => p.kill('SIGKILL'), 600000);
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', (e) => resolve({error: e, stdout: '', stderr: ''}));
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({status, signal, stdout: Buffer.concat(out).toString('utf8'),
               stderr: Buffer.concat(err).toString('utf8')});
    });
  });
}

// Runs statements[from..] in one process; fills results; returns the
// index to continue at.
async function runFrom(tarn, dataDir, statements, from, results, scriptPath, leaks) {
  const parts = [];
  for (let j = from; j < statements.length; j++)
    parts.push(`${statements[j]};\nSELECT 'm${j}' AS ${MARKER_COL};\n`);
  fs.writeFileSync(scriptPath, parts.join(''));
  const t0 = Date.now();
  const p = await run(tarn, ['sql', '--data', dataDir, '--format', 'json', '-f', scriptPath]);
  if (process.env.TARN_SQL_TRACE)
    console.log(`tarn sql process: statements ${from}.. on ${path.basename(dataDir)}: exit ${p.status}, ${Date.now() - t0} ms`);
  let cur = from, rows = [];
  let bad = null;
  for (const line of (p.stdout || '').split('\n')) {
    if (line.trim() === '') continue;
    const m = markerOf(line);
    if (m >= 0) {
      if (m !== cur) {
        bad = `marker ${m} where ${cur} was expected`;
        break;
      }
      results[cur] = bad || {ok: true, rows};
      cur++;
      rows = [];
      continue;
    }
    try {
      rows.push(H.parseJsonRow(line).map((c) => c.cell));
    } catch (e) {
      bad = `unreadable output: ${e.message}`;
      break;
    }
  }
  if (cur >= statements.length && p.status === 0) return cur;
  if (cur >= statements.length && /LeakSanitizer/.test(p.stderr || '')) {
    // Leaks are found at exit, not at the statement that leaked.
    const kept = `${scriptPath}.leak${leaks.length + 1}`;
    fs.copyFileSync(scriptPath, kept); // to find the statement that leaks
    leaks.push({from, to: cur - 1, script: kept, report: stderrText(p.stderr).slice(0, 1500)});
    return cur;
  }
  if (cur >= statements.length) {
    // Everything answered, yet the process failed (at exit?): blame the last.
    results[cur - 1] = {ok: false, crashed: true, error: `exit ${p.status} ${p.signal || ''} after the last statement: ${stderrText(p.stderr)}`};
    return cur;
  }
  if (p.error) results[cur] = {ok: false, crashed: true, error: `could not run tarn: ${p.error.message}`};
  else if (bad) results[cur] = {ok: false, crashed: true, error: bad};
  else if (p.status === 1) {
    results[cur] = {ok: false, error: stderrText(p.stderr) || 'exit 1'};
    if (/LeakSanitizer/.test(p.stderr || '')) {
      const kept = `${scriptPath}.leak${leaks.length + 1}`;
      fs.copyFileSync(scriptPath, kept);
      leaks.push({from, to: cur, script: kept, report: stderrText(p.stderr).slice(0, 1500)});
    }
  }
  else if (p.status === 0) results[cur] = {ok: false, crashed: true, error: 'tarn sql stopped early without an error'};
  else results[cur] = {ok: false, crashed: true, error: `exit ${p.status} ${p.signal || ''}: ${stderrText(p.stderr).slice(0, 2000)}`};
  return cur + 1;
}

async function open(tarn, dataDir) {
  fs.mkdirSync(dataDir, {recursive: true});
  let processes = 0;
  const leaks = [];
  const runOn = async (dir, statements) => {
    const results = new Array(statements.length);
    const script = `${dir}.script.sql`;
    for (let i = 0; i < statements.length; processes++)
      i = await runFrom(tarn, dir, statements, i, results, script, leaks);
    return results;
  };
  // Read-only statements on `workers` copies of the data directory at once
  // (one process per directory; the copies are taken while none runs).
  const runParallel = async (statements, workers) => {
    const dirs = [dataDir];
    for (let w = 1; w < workers; w++) {
      const copy = `${dataDir}-${w}`;
      fs.rmSync(copy, {recursive: true, force: true});
      fs.cpSync(dataDir, copy, {recursive: true, preserveTimestamps: true}); // version 0's time is its log file's mtime
      dirs.push(copy);
    }
    const parts = dirs.map((d, w) => runOn(d, statements.filter((_, i) => i % workers === w)));
    const done = await Promise.all(parts);
    return statements.map((_, i) => done[i % workers][Math.floor(i / workers)]);
  };
  return {
    runMany: (statements) => runOn(dataDir, statements),
    runParallel,
    run: async (sql) => (await runOn(dataDir, [sql]))[0],
    processes: () => processes,
    leaks: () => leaks,
    close: async () => {},
  };
}

module.exports = {open};
