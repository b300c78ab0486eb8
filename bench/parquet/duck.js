// bench/parquet/duck.js: the DuckDB side of the Parquet scan benchmark (run
// from the repo root so that node finds @duckdb/node-api).
//   node bench/parquet/duck.js gen ROWS OUT.parquet        lineitem-gen.sql, snappy
//   node bench/parquet/duck.js scan FILE RUNS THREADS [COL...]  timed scan
//   node bench/parquet/duck.js sums FILE [COL...]           exact checksums
//   node bench/parquet/duck.js report DIR                   the table
//   node bench/parquet/duck.js write IN OUT RUNS THREADS    timed COPY ... TO (snappy)
//   node bench/parquet/duck.js wreport DIR                  the write table
// The timed query folds every chosen column as bench_parquet_scan does:
// count(*), integers summed, doubles summed, dates summed as days since
// 1970, strings' lengths summed (strlen). The exact checksums: integers and
// dates as above, doubles as sum(round(x * 100)::BIGINT), strings as
// sum(1000 * strlen + ascii).
'use strict';
const fs = require('fs');
const duckdb = require('@duckdb/node-api');

const GEN_SQL = process.env.LINEITEM_GEN_SQL || '/work/shared/tools/lineitem-gen.sql';

async function connect(threads) {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  if (threads) await c.run(`SET threads = ${threads}`);
  return c;
}

async function gen(rows, out) {
  const c = await connect(0);
  const sql = fs.readFileSync(GEN_SQL, 'utf8').replace(/range\(6000000\)/, `range(${rows})`);
  await c.run(sql);
  await c.run(`COPY li TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
}

// [name, duckdb type] of the chosen columns (all when none named).
async function columns(c, file, names) {
  const r = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
  const all = r.getRows().map((row) => [String(row[0]), String(row[1])]);
  return names.length ? names.map((n) => all.find((x) => x[0] === n)) : all;
}

function fold(name, type, exact) {
  const q = `"${name}"`;
  if (type === 'DATE') return `sum(${q} - DATE '1970-01-01')`;
  if (type === 'VARCHAR') return exact ? `sum(1000 * strlen(${q}) + ascii(${q}))` : `sum(strlen(${q}))`;
  if (type === 'DOUBLE' && exact) return `sum(round(${q} * 100)::BIGINT)`;
  return `sum(${q})`;
}

async function scan(file, runs, threads, names) {
  const c = await connect(threads);
  const cols = await columns(c, file, names);
  const sql = `SELECT count(*), ${cols.map(([n, t]) => fold(n, t, false)).join(', ')} ` +
              `FROM read_parquet('${file}')`;
  const ms = [], cpu = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    await c.runAndReadAll(sql);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const cu = process.cpuUsage(c0);
    cpu.push((cu.user + cu.system) / 1e3);
  }
  const s = [...ms].sort((a, b) => a - b);
  console.log(`time_ms,${s[Math.floor(runs / 2)].toFixed(1)},${s[0].toFixed(1)},` +
              ms.map((x) => x.toFixed(1)).join(','));
  console.log(`cpu_ms,${cpu.sort((a, b) => a - b)[Math.floor(runs / 2)].toFixed(1)}`);
  console.log(`query,${sql}`);
}

async function sums(file, names) {
  const c = await connect(0);
  const cols = await columns(c, file, names);
  const r = await c.runAndReadAll(`SELECT ${cols.map(([n, t]) => fold(n, t, true)).join(', ')} ` +
                                  `FROM read_parquet('${file}')`);
  r.getRows()[0].forEach((v, i) => console.log(`sum,${i},${BigInt.asIntN(64, BigInt(v))}`));
}

function lines(path, key) {
  return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith(key + ','))
    .map((l) => l.split(',').slice(1));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// One figure over rounds: the median of each round's median.
function overRounds(dir, stem, key) {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(stem + '-r') && f.endsWith('.out'))
    .sort();
  return files.map((f) => Number(lines(`${dir}/${f}`, key)[0][0]));
}

// DIR holds tarn-<set>-<source>-r<round>.out, duck-<set>-t<threads>-r<round>.out,
// sums-<set>.out.
function report(dir) {
  let bad = 0;
  const row = (who, set, stem, rows, bytes) => {
    const wall = overRounds(dir, stem, 'time_ms'), ms = median(wall);
    const cpu = median(overRounds(dir, stem, 'cpu_ms'));
    console.log(`| ${set.padEnd(4)} | ${who.padEnd(22)} | ${ms.toFixed(1).padStart(9)} | ` +
                `${cpu.toFixed(1).padStart(9)} | ${(rows / ms / 1e3).toFixed(1).padStart(7)} | ` +
                `${(bytes / ms / 1e3).toFixed(0).padStart(6)} | ${''.padStart(26)} |`);
    return wall;
  };
  console.log('| set  | engine                 | median ms |    cpu ms | Mrows/s |   MB/s | ' +
              'tarn (pread) vs duckdb wall |');
  // Ratios: DuckDB's wall time over ours with as many threads (pread).
  console.log('|------|------------------------|-----------|-----------|---------|--------|' +
              '----------------------------|');
  for (const set of ['all', 'proj']) {
    const first = fs.readdirSync(dir).find((f) => f.startsWith(`tarn-${set}-pread-r`));
    const rows = Number(lines(`${dir}/${first}`, 'rows')[0][0]);
    const bytes = Number(lines(`${dir}/${first}`, 'bytes')[0][0]);
    const ours = row('tarn 1 thread (pread)', set, `tarn-${set}-pread`, rows, bytes);
    const ours2 = fs.readdirSync(dir).some((f) => f.startsWith(`tarn-${set}-pread2-r`))
      ? row('tarn 2 threads (pread)', set, `tarn-${set}-pread2`, rows, bytes) : ours;
    row('tarn 1 thread (mmap)', set, `tarn-${set}-mmap`, rows, bytes);
    for (const th of [1, 2]) {
      const d = row(`duckdb ${th} thread${th > 1 ? 's' : ''}`, set, `duck-${set}-t${th}`, rows, bytes);
      const mine = th === 1 ? ours : ours2; // the same thread count
      const ratios = d.map((x, k) => x / mine[k]);
      const per = ratios.map((x) => x.toFixed(2)).join(' ');
      const txt = `vs ${th} thr: ${median(ratios).toFixed(2)}x (median)`;
      console.log(`|      | ${('rounds: ' + per).padEnd(22)} |           |           |         |        | ` +
                  `${txt.padStart(26)} |`);
    }
    const ours_s = lines(`${dir}/${first}`, 'sum'), theirs = lines(`${dir}/sums-${set}.out`, 'sum');
    const names = lines(`${dir}/${first}`, 'col').map((x) => x[0]);
    ours_s.forEach(([i, v], k) => {
      if (!theirs[k] || theirs[k][1] !== v) {
        console.log(`CHECKSUM MISMATCH ${set} column ${names[k]}: tarn ${v}, duckdb ${theirs[k] && theirs[k][1]}`);
        bad = 1;
      }
    });
    if (!bad) console.log(`checksums equal (${set}: ${names.join(' ')})`);
  }
  process.exit(bad);
}

// The table of IN loaded into DuckDB's memory (untimed), then RUNS timed
// COPY ... TO OUT (FORMAT parquet, COMPRESSION snappy) with THREADS threads;
// the same lines as bench_parquet_write prints.
async function write(input, out, runs, threads) {
  const c = await connect(threads);
  await c.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${input}')`);
  const ms = [], cpu = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    await c.run(`COPY t TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const cu = process.cpuUsage(c0);
    cpu.push((cu.user + cu.system) / 1e3);
  }
  const s = [...ms].sort((a, b) => a - b);
  const rows = (await c.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0];
  console.log(`time_ms,${s[Math.floor(runs / 2)].toFixed(1)},${s[0].toFixed(1)},` +
              ms.map((x) => x.toFixed(1)).join(','));
  console.log(`cpu_ms,${median(cpu).toFixed(1)}`);
  console.log(`rows,${rows}`);
  console.log(`out_bytes,${fs.statSync(out).size}`);
}

// DIR holds wtarn-r<round>.out, wduck-t<threads>-r<round>.out and
// wsums-in.out / wsums-tarn.out (checksums of the input and of our output).
function wreport(dir) {
  const row = (who, stem) => {
    const med = overRounds(dir, stem, 'time_ms');
    const files = fs.readdirSync(dir).filter((f) => f.startsWith(stem + '-r')).sort();
    const mins = files.map((f) => Number(lines(`${dir}/${f}`, 'time_ms')[0][1]));
    const cpu = median(overRounds(dir, stem, 'cpu_ms'));
    const rows = Number(lines(`${dir}/${files[0]}`, 'rows')[0][0]);
    const out = Number(lines(`${dir}/${files[0]}`, 'out_bytes')[0][0]);
    const ms = median(med);
    console.log(`| ${who.padEnd(22)} | ${ms.toFixed(1).padStart(9)} | ` +
                `${Math.min(...mins).toFixed(1).padStart(8)} | ${cpu.toFixed(1).padStart(9)} | ` +
                `${(rows / ms / 1e3).toFixed(2).padStart(7)} | ${(out / 1e6).toFixed(1).padStart(6)} |`);
    return { med, mins };
  };
  console.log('| engine                 | median ms |   min ms |    cpu ms | Mrows/s | out MB |');
  console.log('|------------------------|-----------|----------|-----------|---------|--------|');
  const ours = row('tarn 1 thread', 'wtarn');
  for (const th of [1, 2]) {
    const d = row(`duckdb ${th} thread${th > 1 ? 's' : ''}`, `wduck-t${th}`);
    const per = d.med.map((x, k) => (x / ours.med[k]).toFixed(2)).join(' ');
    console.log(`  duckdb ${th} thr / tarn: median ${(median(d.med) / median(ours.med)).toFixed(2)}x, ` +
                `min ${(Math.min(...d.mins) / Math.min(...ours.mins)).toFixed(2)}x ` +
                `(rounds: ${per}; above 1 means tarn is faster)`);
  }
  const a = lines(`${dir}/wsums-in.out`, 'sum'), b = lines(`${dir}/wsums-tarn.out`, 'sum');
  const same = a.length > 0 && a.length === b.length && a.every((x, i) => x[1] === b[i][1]);
  console.log(same ? `checksums of Tarn's output equal the input's (${a.length} columns, read by DuckDB)`
                   : 'CHECKSUM MISMATCH between the input and the file Tarn wrote');
  process.exit(same ? 0 : 1);
}

const [mode, ...a] = process.argv.slice(2);
const main = mode === 'gen' ? gen(Number(a[0]), a[1])
  : mode === 'write' ? write(a[0], a[1], Number(a[2]), Number(a[3]))
  : mode === 'wreport' ? wreport(a[0])
  : mode === 'scan' ? scan(a[0], Number(a[1]), Number(a[2]), a.slice(3))
  : mode === 'sums' ? sums(a[0], a.slice(1)) : report(a[0]);
Promise.resolve(main).catch((e) => { console.error(e); process.exit(1); });
