#!/usr/bin/env node
// tests/sql/gen_check.js: `tarn gen lineitem` end to end, with DuckDB as
// the judge. The same options give the same bytes; DuckDB reads the file
// with the expected column types; its counts per (returnflag, linestatus)
// match what lineitem-gen.sql gives for the same row count (within
// sampling error: the hash functions differ, the distributions do not);
// sums and ranges are plausible; the order keys are exactly the script's;
// and a table written with --table holds the same rows as the file.
//
//   node tests/sql/gen_check.js TARN WORKDIR
// Exit 77 (skipped) when DuckDB's npm package is not installed.
'use strict';
const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');

let duckdb;
try {
  duckdb = require('@duckdb/node-api');
} catch (e) {
  console.log('skipped: @duckdb/node-api is not installed (scripts/setup installs it)');
  process.exit(77);
}

const [tarn, work] = process.argv.slice(2);
const ROWS = 400000;
const GEN_SQL = process.env.LINEITEM_GEN_SQL || path.resolve(__dirname, '../../../shared/tools/lineitem-gen.sql');

function gen(args) {
  execFileSync(tarn, ['gen', 'lineitem', ...args], {stdio: ['ignore', 'pipe', 'pipe']});
}

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

async function rows(conn, sql) {
  const r = await conn.runAndReadAll(sql);
  return r.getRows().map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v && typeof v === 'object' ? String(v) : v)));
}

async function main() {
  fs.rmSync(work, {recursive: true, force: true});
  fs.mkdirSync(work, {recursive: true});
  const a = path.join(work, 'a.parquet'), b = path.join(work, 'b.parquet'), c = path.join(work, 'c.parquet');
  gen(['--rows', '50000', '--seed', '3', '--out', a]);
  gen(['--rows=50000', '--seed=3', '--out', b]);
  gen(['--rows', '50000', '--seed', '4', '--out', c]);
  check(fs.readFileSync(a).equals(fs.readFileSync(b)), 'same options, same bytes');
  check(!fs.readFileSync(a).equals(fs.readFileSync(c)), 'another seed, other bytes');

  const file = path.join(work, 'li.parquet');
  gen(['--rows', String(ROWS), '--seed', '11', '--out', file]);
  const data = path.join(work, 'data');
  gen(['--rows', String(ROWS), '--seed', '11', '--table', 'lineitem', '--data', data, '--file-rows', '150000']);

  const db = await duckdb.DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const types = await rows(conn, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
  check(JSON.stringify(types) === JSON.stringify([
    ['l_orderkey', 'BIGINT'], ['l_quantity', 'DECIMAL(15,2)'], ['l_extendedprice', 'DECIMAL(15,2)'],
    ['l_discount', 'DECIMAL(15,2)'], ['l_tax', 'DECIMAL(15,2)'], ['l_returnflag', 'VARCHAR'],
    ['l_linestatus', 'VARCHAR'], ['l_shipdate', 'DATE']]), `column names and types: ${JSON.stringify(types)}`);
  const rgs = await rows(conn, `SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${file}')`);
  check(rgs[0][0] >= 1, `${rgs[0][0]} row groups`);

  await conn.run(fs.readFileSync(GEN_SQL, 'utf8').replace(/range\(6000000\)/, `range(${ROWS})`));
  await conn.run(`CREATE VIEW ours AS SELECT * FROM read_parquet('${file}')`);
  const groups = `SELECT l_returnflag, l_linestatus, count(*) AS c, sum(l_quantity)::DOUBLE AS q,
      avg(l_extendedprice)::DOUBLE AS p, avg(l_discount)::DOUBLE AS d, avg(l_tax)::DOUBLE AS t
    FROM SRC GROUP BY 1, 2 ORDER BY 1, 2`;
  const ours = await rows(conn, groups.replace('SRC', 'ours'));
  const ref = await rows(conn, groups.replace('SRC', 'li'));
  check(ours.length === 4 && ref.length === 4, `four (returnflag, linestatus) groups: ${ours.map((r) => r[0] + r[1]).join(' ')}`);
  for (let i = 0; i < Math.min(ours.length, ref.length); i++) {
    const [f, s, n, q, p, d, t] = ours[i], [rf, rs, rn, rq, rp, rd, rt] = ref[i];
    // Four lines share an order date, so counts vary about twice as much
    // as independent rows would: allow 8 standard deviations of that.
    const tol = 8 * Math.sqrt(4 * rn) + 20;
    check(f === rf && s === rs && Math.abs(n - rn) <= tol,
          `${f}${s}: ${n} rows, lineitem-gen.sql ${rn} (tolerance ${tol.toFixed(0)})`);
    // Quantities are uniform on 1..50 (mean 25.5, sd 14.4) in every group
    // here; the script's DuckDB hashes correlate a little across columns,
    // so its group means stray by up to 2%: compare ours with the
    // distribution, and with the script loosely.
    check(Math.abs(q / n - 25.5) < 6 * 14.43 / Math.sqrt(n) && Math.abs(q / n - rq / rn) < 0.04 * (rq / rn),
          `${f}${s}: mean quantity ${(q / n).toFixed(3)} (uniform 1..50: 25.5; script ${(rq / rn).toFixed(3)})`);
    check(Math.abs(p - rp) < 0.04 * rp, `${f}${s}: mean price ${p.toFixed(2)} vs ${rp.toFixed(2)}`);
    check(Math.abs(d - rd) < 0.003 && Math.abs(t - rt) < 0.003, `${f}${s}: mean discount ${d.toFixed(4)} vs ${rd.toFixed(4)}, tax ${t.toFixed(4)} vs ${rt.toFixed(4)}`);
  }
  const ranges = `SELECT count(*), min(l_quantity)::DOUBLE, max(l_quantity)::DOUBLE, min(l_discount)::DOUBLE,
      max(l_discount)::DOUBLE, min(l_tax)::DOUBLE, max(l_tax)::DOUBLE, min(l_shipdate), max(l_shipdate),
      count(DISTINCT l_orderkey), max(l_orderkey), sum(l_orderkey)::DOUBLE, count(l_returnflag) FROM SRC`;
  const [o] = await rows(conn, ranges.replace('SRC', 'ours'));
  const [r] = await rows(conn, ranges.replace('SRC', 'li'));
  check(o[0] === ROWS, `${o[0]} rows`);
  check(o[1] === 1 && o[2] === 50 && o[3] === 0 && o[4] === 0.1 && o[5] === 0 && o[6] === 0.08,
        `quantity 1..50, discount 0..0.10, tax 0..0.08: ${o.slice(1, 7).join(', ')}`);
  check(o[7] >= '1992-01-02' && o[8] <= '1998-12-01' && o[7] <= '1992-02-01' && o[8] >= '1998-10-01',
        `ship dates ${o[7]} .. ${o[8]} (script: ${r[7]} .. ${r[8]})`);
  check(o[9] === r[9] && o[10] === r[10] && o[11] === r[11],
        `order keys exactly the script's: ${o[9]} orders, max ${o[10]}`);
  check(o[12] === ROWS, 'no NULLs');

  // The table's data files hold the same rows as the file.
  const log = fs.readdirSync(path.join(data, 'objects', 'tables', 'lineitem', '_delta_log')).filter((f) => f.endsWith('.json'));
  check(log.length === 4, `table log: ${log.join(' ')} (create, then three commits)`);
  const digest = `SELECT count(*), sum(l_orderkey), sum(l_extendedprice), sum(l_discount), sum(l_tax),
      count(DISTINCT l_shipdate), sum(hash(l_orderkey, l_quantity, l_shipdate, l_returnflag, l_linestatus)) FROM SRC`;
  const tdig = await rows(conn, digest.replace('SRC', `read_parquet('${data}/objects/tables/lineitem/*.parquet')`));
  const fdig = await rows(conn, digest.replace('SRC', 'ours'));
  check(JSON.stringify(tdig) === JSON.stringify(fdig), `table rows equal the file's: ${JSON.stringify(tdig[0].map(String))}`);

  // tarn sql reads the generated table and agrees with DuckDB on the file.
  const sql = 'SELECT count(*) AS c, sum(l_extendedprice) AS p, sum(l_orderkey) AS k FROM lineitem';
  const out = execFileSync(tarn, ['sql', '--data', data, '--format', 'json', '-c', sql],
                           {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();
  const [want] = await rows(conn, 'SELECT count(*), sum(l_extendedprice)::VARCHAR, sum(l_orderkey) FROM ours');
  let got = {};
  try {
    got = JSON.parse(out);
  } catch (e) {
    got = {error: out};
  }
  check(got.c === want[0] && String(got.p) === want[1] && got.k === want[2],
        `tarn sql on the table: ${out} (DuckDB on the file: ${want.join(', ')})`);
  if (failures > 0) {
    console.log(`${failures} checks failed`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
