// bench/q1/duck.js: the DuckDB side of the Q1 benchmark (run from the repo
// root so that node finds @duckdb/node-api).
//   node bench/q1/duck.js gen ROWS OUT.parquet   lineitem-gen.sql at ROWS rows
//   node bench/q1/duck.js q1 FILE RUNS           Q1 on $THREADS (2) threads: rows, then timings
//   node bench/q1/duck.js compare A B            rows of two outputs, 1e-9 relative
'use strict';
const fs = require('fs');
const duckdb = require('@duckdb/node-api');
const { runTimed } = require('../tpch/duck.js');

const GEN_SQL = process.env.LINEITEM_GEN_SQL || '/work/shared/tools/lineitem-gen.sql';
const Q1 = `SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
  sum(l_extendedprice * (1 - l_discount)), sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
  avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
FROM read_parquet('FILE')
WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus`;

async function gen(rows, out) {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const sql = fs.readFileSync(GEN_SQL, 'utf8').replace(/range\(6000000\)/, `range(${rows})`);
  await c.run(sql);
  await c.run(`COPY li TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
}

function q1(file, runs) {
  return runTimed(Q1.replace('FILE', file), runs);
}

function rowsOf(path) {
  return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('row,'))
    .map((l) => l.split(',').slice(1));
}

function compare(a, b) {
  const x = rowsOf(a), y = rowsOf(b);
  let bad = x.length !== y.length ? `row counts ${x.length} vs ${y.length}` : null;
  for (let i = 0; !bad && i < x.length; i++) {
    for (let j = 0; !bad && j < x[i].length; j++) {
      const p = Number(x[i][j]), q = Number(y[i][j]);
      const same = Number.isNaN(p) ? x[i][j] === y[i][j]
                                   : Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q));
      if (!same) bad = `row ${i} column ${j}: ${x[i][j]} vs ${y[i][j]}`;
    }
  }
  if (bad) { console.log('MISMATCH: ' + bad); process.exit(1); }
  console.log(`results equal: ${x.length} rows, doubles to 1e-9 relative`);
}

const [mode, a, b] = process.argv.slice(2);
const main = mode === 'gen' ? gen(Number(a), b) : mode === 'q1' ? q1(a, Number(b)) : compare(a, b);
Promise.resolve(main).catch((e) => { console.error(e); process.exit(1); });
