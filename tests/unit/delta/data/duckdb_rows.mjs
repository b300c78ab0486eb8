// Reads data files of a Tarn table with DuckDB (the offline oracle) and
// compares their rows with the rows Tarn returned for the same version.
// Usage (repo root): node tests/unit/delta/data/duckdb_rows.mjs EXPECTED FILE...
// EXPECTED: a file of "id|s" lines (s empty for NULL, written "\N"), any
// order. DuckDB's rows of (id, s) over FILE... must be the same multiset.
// Exit 0 when equal, 1 otherwise.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [expFile, ...files] = process.argv.slice(2);
const want = readFileSync(expFile, 'utf8').split('\n').filter((l) => l.length > 0).sort();
let got = [];
if (files.length > 0) {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
  const r = await c.runAndReadAll(`SELECT id::VARCHAR AS id, s FROM read_parquet([${list}])`);
  got = r.getRowObjectsJson().map((o) => `${o.id}|${o.s === null ? '\\N' : o.s}`).sort();
}
if (JSON.stringify(got) !== JSON.stringify(want)) {
  console.error(`duckdb rows: got ${got.length} rows, want ${want.length}`);
  for (let i = 0; i < Math.max(got.length, want.length); i++)
    if (got[i] !== want[i]) { console.error(`  first difference at ${i}: got ${got[i]}, want ${want[i]}`); break; }
  process.exit(1);
}
