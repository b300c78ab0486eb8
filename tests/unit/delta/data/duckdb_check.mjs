// Reads the data files of a Tarn-written Delta table with DuckDB (the
// offline oracle) and checks aggregates the C test computed from the rows
// it appended. Usage (from the repo root):
//   node tests/unit/delta/data/duckdb_check.mjs EXPECTED_JSON FILE...
// EXPECTED_JSON: {"count":n,"sum_id":n,"count_name":n,"min_d":"YYYY-MM-DD",
// "max_d":"YYYY-MM-DD","sum_x":n}. Exit 0 when equal, 1 otherwise.
import { DuckDBInstance } from '@duckdb/node-api';

const [want, ...files] = [JSON.parse(process.argv[2]), ...process.argv.slice(3)];
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
const r = await c.runAndReadAll(`SELECT count(*)::BIGINT AS count, sum(id)::BIGINT AS sum_id,
  count(name)::BIGINT AS count_name, min(d)::VARCHAR AS min_d, max(d)::VARCHAR AS max_d,
  sum(x)::DOUBLE AS sum_x FROM read_parquet([${list}])`);
const row = r.getRowObjectsJson()[0];
const got = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
const ok = Object.keys(want).every((k) => got[k] === want[k]);
if (!ok) {
  console.error(`duckdb: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  process.exit(1);
}
