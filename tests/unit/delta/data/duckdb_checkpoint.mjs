// Reads a checkpoint Tarn wrote with DuckDB's Parquet reader (the offline
// oracle) and checks it holds what the C test expects. Usage (repo root):
//   node tests/unit/delta/data/duckdb_checkpoint.mjs FILE EXPECTED_JSON
// EXPECTED_JSON: {"paths":[...sorted add.path...],"partitionColumns":[...],
// "schemaString":"...","minReaderVersion":1,"minWriterVersion":2,
// "partitionValue":"<value of the first partition column in the first add>"}.
// Exit 0 when equal, 1 otherwise.
import { DuckDBInstance } from '@duckdb/node-api';

const [file, want] = [process.argv[2], JSON.parse(process.argv[3])];
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const f = `'${file.replaceAll("'", "''")}'`;
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const paths = (await q(`SELECT add.path AS p FROM read_parquet(${f}) WHERE add IS NOT NULL ORDER BY 1`)).map((r) => r.p);
const meta = (await q(`SELECT metaData.schemaString AS s, metaData.partitionColumns AS pc,
  metaData.format.provider AS fp FROM read_parquet(${f}) WHERE metaData IS NOT NULL`));
const proto = (await q(`SELECT protocol.minReaderVersion AS r, protocol.minWriterVersion AS w
  FROM read_parquet(${f}) WHERE protocol IS NOT NULL`));
const pv = want.partitionColumns.length === 0 ? null : (await q(`SELECT
  map_extract(add.partitionValues, '${want.partitionColumns[0]}')[1] AS v
  FROM read_parquet(${f}) WHERE add IS NOT NULL ORDER BY add.path LIMIT 1`))[0].v;
const got = {
  paths,
  partitionColumns: meta.length === 1 ? meta[0].pc : null,
  schemaString: meta.length === 1 ? meta[0].s : null,
  provider: meta.length === 1 ? meta[0].fp : null,
  minReaderVersion: proto.length === 1 ? Number(proto[0].r) : null,
  minWriterVersion: proto.length === 1 ? Number(proto[0].w) : null,
  partitionValue: pv,
};
want.provider = 'parquet';
const bad = Object.keys(want).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
if (bad.length > 0) {
  console.error(`duckdb checkpoint: ${bad.map((k) => `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`).join('; ')}`);
  process.exit(1);
}
