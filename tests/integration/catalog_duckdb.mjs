// tests/integration/catalog_duckdb.mjs: checks a Tarn table written by
// concurrent writers against its own log and against DuckDB. Usage:
//   node catalog_duckdb.mjs TABLE_DIR LATEST EXPECTED_ROWS EXPECTED_SUM
// TABLE_DIR holds _delta_log/ and the data files. Checks: versions
// 0..LATEST all have a log file; each commit's txnId appears once and its
// readVersion is below its version (a blind append may land after several
// others; it is never based on itself or later); the live files of LATEST
// (adds minus removes, replayed from the log) read by DuckDB give
// EXPECTED_ROWS rows whose ids sum to EXPECTED_SUM. Exit 0 = pass.
import { existsSync, readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, latestArg, rowsArg, sumArg] = process.argv.slice(2);
const latest = Number(latestArg);
const fail = (m) => { console.error(`FAIL: ${m}`); process.exitCode = 1; };
const live = new Set();
const txns = new Map();
for (let v = 0; v <= latest; v++) {
  const f = `${dir}/_delta_log/${String(v).padStart(20, '0')}.json`;
  if (!existsSync(f)) { fail(`version ${v} has no log file`); continue; }
  for (const line of readFileSync(f, 'utf8').split('\n').filter((l) => l)) {
    const a = JSON.parse(line);
    if (a.add) live.add(decodeURIComponent(a.add.path));
    if (a.remove) live.delete(decodeURIComponent(a.remove.path));
    if (a.commitInfo && a.commitInfo.txnId) {
      if (txns.has(a.commitInfo.txnId)) fail(`txn ${a.commitInfo.txnId} in versions ${txns.get(a.commitInfo.txnId)} and ${v}`);
      txns.set(a.commitInfo.txnId, v);
      if (!(a.commitInfo.readVersion < v)) fail(`version ${v}: readVersion ${a.commitInfo.readVersion}`);
    }
  }
}
if (existsSync(`${dir}/_delta_log/${String(latest + 1).padStart(20, '0')}.json`)) fail(`a version after ${latest}`);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const list = [...live].map((p) => `'${`${dir}/${p}`.replaceAll("'", "''")}'`).join(', ');
const r = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n, coalesce(sum(id), 0)::BIGINT AS s FROM read_parquet([${list}])`);
const { n, s } = r.getRowObjectsJson()[0];
console.log(`duckdb: ${live.size} live files at version ${latest}: ${n} rows, sum(id) ${s}; ${txns.size} txn ids`);
if (String(n) !== rowsArg || String(s) !== sumArg) fail(`duckdb read ${n} rows (sum ${s}), want ${rowsArg} (sum ${sumArg})`);
