// bench/parquet/duck.js: the DuckDB side of the Parquet scan benchmark (run
// from the repo root so that node finds @duckdb/node-api).
//   node bench/parquet/duck.js gen ROWS OUT.parquet        lineitem-gen.sql, snappy
//   node bench/parquet/duck.js scan FILE RUNS THREADS [COL...]  timed scan
//   node bench/parquet/duck.js sums FILE [COL...]           exact checksums
//   node bench/parquet/duck.js report DIR                   the table
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

// DIR holds tarn-<set>-<source>.out, duck-<set>-t<threads>.out, sums-<set>.out.
function report(dir) {
  let bad = 0;
  const row = (who, set, file, rows, bytes) => {
    const ms = Number(lines(`${dir}/${file}`, 'time_ms')[0][0]);
    const cpu = Number(lines(`${dir}/${file}`, 'cpu_ms')[0][0]);
    console.log(`| ${set.padEnd(4)} | ${who.padEnd(22)} | ${ms.toFixed(1).padStart(9)} | ${cpu.toFixed(1).padStart(9)} | ` +
                `${(rows / ms / 1e3).toFixed(1).padStart(7)} | ` +
                `${(bytes / ms / 1e3).toFixed(0).padStart(6)} | ${''.padStart(22)} |`);
    return ms;
  };
  console.log('| set  | engine                 | median ms |    cpu ms | Mrows/s |   MB/s | tarn speed vs duckdb   |');
  console.log('|------|------------------------|-----------|-----------|---------|--------|------------------------|');
  for (const set of ['all', 'proj']) {
    const t = `tarn-${set}-pread.out`;
    const rows = Number(lines(`${dir}/${t}`, 'rows')[0][0]);
    const bytes = Number(lines(`${dir}/${t}`, 'bytes')[0][0]);
    const ours = row('tarn 1 thread (pread)', set, t, rows, bytes);
    row('tarn 1 thread (mmap)', set, `tarn-${set}-mmap.out`, rows, bytes);
    for (const th of [1, 2]) {
      const d = Number(lines(`${dir}/duck-${set}-t${th}.out`, 'time_ms')[0][0]);
      row(`duckdb ${th} thread${th > 1 ? 's' : ''}`, set, `duck-${set}-t${th}.out`, rows, bytes);
      console.log(`|      |                        |           |           |         |        | ${('(wall) vs ' + th + ' thr: ' + (d / ours).toFixed(2) + 'x').padStart(22)} |`);
    }
    const ours_s = lines(`${dir}/${t}`, 'sum'), theirs = lines(`${dir}/sums-${set}.out`, 'sum');
    const names = lines(`${dir}/${t}`, 'col').map((x) => x[0]);
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

const [mode, ...a] = process.argv.slice(2);
const main = mode === 'gen' ? gen(Number(a[0]), a[1])
  : mode === 'scan' ? scan(a[0], Number(a[1]), Number(a[2]), a.slice(3))
  : mode === 'sums' ? sums(a[0], a.slice(1)) : report(a[0]);
Promise.resolve(main).catch((e) => { console.error(e); process.exit(1); });
