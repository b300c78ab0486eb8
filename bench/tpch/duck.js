// bench/tpch/duck.js: the DuckDB side of bench/tpch (run from the repo root
// so that node finds @duckdb/node-api).
//   node bench/tpch/duck.js QUERY FILE RUNS     QUERY: q1 | q6 | count, on $THREADS threads
'use strict';
const duckdb = require('@duckdb/node-api');

const Q = {
  q1: `SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
  sum(l_extendedprice * (1 - l_discount)), sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
  avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
FROM read_parquet('FILE') WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus`,
  q6: `SELECT sum(l_extendedprice * l_discount) FROM read_parquet('FILE')
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'
  AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24`,
  count: `SELECT count(*) FROM read_parquet('FILE') WHERE l_quantity < 24 AND l_returnflag = 'R'`,
};

async function main(query, file, runs) {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads = ${Number(process.env.THREADS || 2)}`);
  const sql = Q[query].replace('FILE', file);
  const ms = [];
  let rows;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = await c.runAndReadAll(sql);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rows = r.getRows();
  }
  for (const r of rows)
    console.log('row,' + r.map((v) => (typeof v === 'bigint' ? v.toString() : String(v))).join(','));
  const s = [...ms].sort((a, b) => a - b);
  console.log(`time_ms,${s[0].toFixed(1)},${s[Math.floor(runs / 2)].toFixed(1)},` +
              ms.map((x) => x.toFixed(1)).join(','));
}

const [query, file, runs] = process.argv.slice(2);
main(query, file, Number(runs)).catch((e) => { console.error(e); process.exit(1); });
