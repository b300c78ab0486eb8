// Writes the checkpoint fixtures of test_delta_replay.c with DuckDB (the
// offline oracle; run from the repo root: node tests/unit/delta/data/make_checkpoints.mjs).
// The columns follow the schema Spark writes for classic checkpoints
// (PROTOCOL.md "Checkpoint Schema"): one struct column per action kind,
// maps for partitionValues/configuration/tags, lists for partitionColumns
// and features. The state is that of the log CP_LOG in test_delta_replay.c
// at version 2.
import { DuckDBInstance } from '@duckdb/node-api';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dir = path.dirname(fileURLToPath(import.meta.url));
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const map = 'MAP(VARCHAR, VARCHAR)';
const dv = 'STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT)';
const schema = (sizeType, partColsType = 'VARCHAR[]') => `
  txn STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT),
  "add" STRUCT(path VARCHAR, partitionValues ${map}, size ${sizeType}, modificationTime BIGINT,
             dataChange BOOLEAN, tags ${map}, deletionVector ${dv}, stats VARCHAR),
  remove STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN,
                extendedFileMetadata BOOLEAN, partitionValues ${map}, size BIGINT, deletionVector ${dv}),
  metaData STRUCT(id VARCHAR, name VARCHAR, description VARCHAR,
                  format STRUCT(provider VARCHAR, options ${map}), schemaString VARCHAR,
                  partitionColumns ${partColsType}, configuration ${map}, createdTime BIGINT),
  protocol STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[],
                  writerFeatures VARCHAR[]),
  ord INTEGER`;
const schemaString = JSON.stringify({type: 'struct', fields: [
  {name: 'x', type: 'long', nullable: true, metadata: {}},
  {name: 'p', type: 'string', nullable: true, metadata: {}}]});
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const add = (p, pv, size, stats) =>
  `{'path': ${q(p)}, 'partitionValues': ${pv}, 'size': ${size}, 'modificationTime': 1,
    'dataChange': false, 'tags': NULL, 'deletionVector': NULL, 'stats': ${stats ? q(stats) : 'NULL'}}`;

async function build(table, sizeType, partColsType, partCols = "['p']") {
  await c.run(`CREATE TABLE ${table} (${schema(sizeType, partColsType)})`);
  const ins = (col, v, ord) => c.run(`INSERT INTO ${table} (${col}, ord) VALUES (${v}, ${ord})`);
  await ins('protocol', `{'minReaderVersion': 1, 'minWriterVersion': 2, 'readerFeatures': NULL, 'writerFeatures': NULL}`, 0);
  await ins('metaData', `{'id': 't1', 'name': NULL, 'description': NULL,
    'format': {'provider': 'parquet', 'options': MAP {}}, 'schemaString': ${q(schemaString)},
    'partitionColumns': ${partCols}, 'configuration': MAP {'delta.appendOnly': 'false'}, 'createdTime': 1000}`, 1);
  await ins('txn', `{'appId': 'app', 'version': 4, 'lastUpdated': 5}`, 2);
  await ins('"add"', add('b.parquet', `MAP {'p': NULL}`, 20, null), 3);
  await ins('"add"', add('c%20d.parquet', `MAP {'p': 'y'}`, 30, null), 4);
  await ins('"add"', add('e.parquet', `MAP {'p': 'x'}`, 40, '{"numRecords":2}'), 5);
  await ins('remove', `{'path': 'a.parquet', 'deletionTimestamp': 9, 'dataChange': true,
    'extendedFileMetadata': true, 'partitionValues': MAP {'p': 'x'}, 'size': 10, 'deletionVector': NULL}`, 6);
}
const out = (name) => q(path.join(dir, name));
const cols = 'txn, "add", remove, metaData, protocol';
await build('cp', 'BIGINT');
await c.run(`COPY (SELECT ${cols} FROM cp ORDER BY ord) TO ${out('checkpoint_v2.parquet')} (FORMAT parquet)`);
await c.run(`COPY (SELECT ${cols} FROM cp WHERE ord < 4 ORDER BY ord) TO ${out('checkpoint_v2_part1.parquet')} (FORMAT parquet)`);
await c.run(`COPY (SELECT ${cols} FROM cp WHERE ord >= 4 ORDER BY ord) TO ${out('checkpoint_v2_part2.parquet')} (FORMAT parquet)`);
// add.size as text: a checkpoint whose column types are wrong.
await build('bad', 'VARCHAR');
await c.run(`COPY (SELECT ${cols} FROM bad ORDER BY ord) TO ${out('checkpoint_bad_size.parquet')} (FORMAT parquet)`);
// metaData.partitionColumns as a list of lists: a column the Parquet reader
// cannot read (two repetition levels), so the reader falls back to JSON.
await build('deep', 'BIGINT', 'VARCHAR[][]', "[['p']]");
await c.run(`COPY (SELECT ${cols} FROM deep ORDER BY ord) TO ${out('checkpoint_unreadable.parquet')} (FORMAT parquet)`);
