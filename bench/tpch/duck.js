// bench/tpch/duck.js: the DuckDB side of bench/tpch (run from the repo root
// so that node finds @duckdb/node-api).
//   node bench/tpch/duck.js SQLFILE RUNS     the statement in SQLFILE, on $THREADS threads
// The statement is the text Tarn runs (tpch_sql sql ... file): the same
// bytes, with read_parquet of the same file. Prints the rows of the last
// run ("row,...") and the timings ("time_ms," min, median, each run).
'use strict';
const fs = require('fs');
const duckdb = require('@duckdb/node-api');

// Runs `sql` RUNS times on $THREADS (2) threads in a fresh in-memory
// database; prints the last run's rows and the timings. bench/q1/duck.js
// times its Q1 with it too.
async function runTimed(sql, runs) {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads = ${Number(process.env.THREADS || 2)}`);
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

module.exports = { runTimed };

if (require.main === module) {
  const [sqlFile, runs] = process.argv.slice(2);
  if (!sqlFile || !(Number(runs) >= 1)) {
    console.error('usage: node bench/tpch/duck.js SQLFILE RUNS');
    process.exit(2);
  }
  const sql = fs.readFileSync(sqlFile, 'utf8').replace(/;\s*$/, '');
  runTimed(sql, Number(runs)).catch((e) => { console.error(e); process.exit(1); });
}
