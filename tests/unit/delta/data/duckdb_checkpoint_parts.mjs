// Reads every part of a (multi-part) checkpoint Tarn wrote with DuckDB's
// Parquet reader (the offline oracle: DuckDB's delta extension is not
// available offline, so the parts are read as plain Parquet) and checks
// the actions they hold. Usage (repo root):
//   node tests/unit/delta/data/duckdb_checkpoint_parts.mjs EXPECTED_JSON_FILE PART...
// EXPECTED_JSON_FILE: {"adds":[sorted add.path], "removes":[sorted
// remove.path], "deletionTimestamp": ms of every remove,
// "partitionColumns":[...], "numParts": n}. Exit 0 when equal, 1 otherwise.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const want = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const parts = process.argv.slice(3);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const list = `[${parts.map((p) => `'${p.replaceAll("'", "''")}'`).join(',')}]`;
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const src = `read_parquet(${list}, filename = true)`;
const adds = (await q(`SELECT add.path AS p FROM ${src} WHERE add IS NOT NULL ORDER BY 1`)).map((r) => r.p);
const removes = (await q(`SELECT remove.path AS p FROM ${src} WHERE remove IS NOT NULL ORDER BY 1`)).map((r) => r.p);
const stamps = (await q(`SELECT DISTINCT remove.deletionTimestamp AS t FROM ${src}
  WHERE remove IS NOT NULL`)).map((r) => Number(r.t));
const ext = (await q(`SELECT count(*) AS n FROM ${src} WHERE remove IS NOT NULL
  AND (NOT remove.extendedFileMetadata OR remove.size IS NULL OR remove.partitionValues IS NULL)`))[0].n;
const meta = await q(`SELECT metaData.partitionColumns AS pc FROM ${src} WHERE metaData IS NOT NULL`);
const proto = await q(`SELECT 1 FROM ${src} WHERE protocol IS NOT NULL`);
// Every row holds exactly one action.
const multi = (await q(`SELECT count(*) AS n FROM ${src} WHERE (add IS NOT NULL)::INT +
  (remove IS NOT NULL)::INT + (metaData IS NOT NULL)::INT + (protocol IS NOT NULL)::INT +
  (txn IS NOT NULL)::INT <> 1`))[0].n;
const files = (await q(`SELECT count(DISTINCT filename) AS n FROM ${src}`))[0].n;
const got = {
  adds,
  removes,
  deletionTimestamp: stamps.length === 1 ? stamps[0] : stamps,
  partitionColumns: meta.length === 1 ? meta[0].pc : null,
  numParts: parts.length,
};
const bad = Object.keys(want).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
if (proto.length !== 1) bad.push(`protocol rows ${proto.length}`);
if (Number(multi) !== 0) bad.push(`${multi} rows without exactly one action`);
if (Number(ext) !== 0) bad.push(`${ext} removes without extended file metadata`);
if (Number(files) > parts.length) bad.push(`files ${files}`);
if (bad.length > 0) {
  console.error(`duckdb checkpoint parts: ${bad.map((k) => (k in got ? `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}` : k)).join('; ')}`);
  process.exit(1);
}
