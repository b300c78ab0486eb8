// tests/interop/duckdb_matrix.js PQ_DUMP OUT_DIR: DuckDB writes a matrix of
// Parquet files (every type x codec x dictionary on/off x nulls or not x one
// or several row groups x data page v1/v2) and Tarn's reading of each must
// equal DuckDB's reading, value by value. MATRIX_FILTER=substring limits
// the files (for debugging).
'use strict';
const fs = require('fs');
const path = require('path');
const { compareFile, connection } = require('./pqcompare');

// One row group of 2500 rows, or 5000 rows in row groups of 2048 (DuckDB
// rounds row group sizes to its 2048-row vectors).
const ROWS_ONE = 2500, ROWS_SEVERAL = 5000;
// name -> SQL expression over r (0 .. ROWS-1).
const COLUMNS = {
  b: 'r % 3 = 0',
  i8: '(r % 256 - 128)::TINYINT',
  i16: '(r * 7 % 65536 - 32768)::SMALLINT',
  i32: '(r * 2654435761 % 4294967296 - 2147483648)::INTEGER',
  i64: "CASE r WHEN 1 THEN -9223372036854775808 WHEN 2 THEN 9223372036854775807 ELSE r * 1000000007 - 5000000000 END::BIGINT",
  u8: '(r % 256)::UTINYINT',
  u16: '(r * 13 % 65536)::USMALLINT',
  u32: '(r * 2654435761 % 4294967296)::UINTEGER',
  u64: '(18446744073709551615::UBIGINT - (r * r)::UBIGINT)',
  f32: "CASE r WHEN 5 THEN 'nan'::FLOAT WHEN 6 THEN '-inf'::FLOAT ELSE (r / 7.0)::FLOAT END",
  f64: "CASE r WHEN 5 THEN 'inf'::DOUBLE WHEN 6 THEN -0.0::DOUBLE ELSE r * 1.1 - 1000 END",
  d: "DATE '1970-01-01' + (r * 37 % 100000 - 50000)::INTEGER",
  t: "TIME '00:00:00' + to_microseconds(r * 12345678 % 86400000000)",
  ts: "TIMESTAMP '2000-01-01' + to_microseconds(r * 123456789 - 100000000000)",
  ts_ms: "(TIMESTAMP '2000-01-01' + to_milliseconds(r * 1000))::TIMESTAMP_MS",
  ts_ns: "(TIMESTAMP '2000-01-01' + to_microseconds(r * 3))::TIMESTAMP_NS",
  tstz: "(TIMESTAMP '2010-05-01' + to_microseconds(r * 999))::TIMESTAMPTZ",
  dec4: '(r % 10000 / 100.0 - 50)::DECIMAL(4,2)',
  dec18: '(r * 1234.567891 - 99999)::DECIMAL(18,6)',
  dec38: '(r * 123456789012345.1234567891 - 999999999999999999)::DECIMAL(38,10)',
  s: "'str_' || (r % 50)",
  s_uniq: "'u' || r || repeat('x', (r % 20)::INTEGER)",
  s_empty: "CASE WHEN r % 5 = 0 THEN '' ELSE 'é😈' END",
  blob: "('bin' || (r % 300))::BLOB",
  uuid: 'md5(r::VARCHAR)::UUID',
};

const NESTED_SQL = `SELECT r AS id,
    CASE WHEN r % 5 = 0 THEN NULL WHEN r % 5 = 1 THEN [] ELSE [r, NULL, r * 2] END::INTEGER[] AS l,
    CASE WHEN r % 7 = 0 THEN NULL ELSE ['a' || (r % 30), NULL, 'b'] END AS ls,
    CASE WHEN r % 4 = 0 THEN NULL ELSE MAP {'k' || r: r, 'z': NULL} END AS m,
    CASE WHEN r % 6 = 0 THEN NULL ELSE {'a': r, 'b': 's' || r, 'c': {'d': r * 1.5}} END AS st,
    range(r % 4)::BIGINT[] AS big,
    CASE WHEN r % 9 = 0 THEN NULL ELSE [{'x': r, 'y': 'v' || r}, NULL] END AS lst,
    [DATE '2020-01-01' + (r % 100)::INTEGER] AS dates
    FROM range(5000) t(r)`;

function selectSql(nulls, rows) {
  const cols = Object.entries(COLUMNS).map(([name, e]) =>
    nulls ? `CASE WHEN r % 7 = 3 THEN NULL ELSE (${e}) END AS ${name}` : `(${e}) AS ${name}`);
  return `SELECT ${cols.join(', ')} FROM (SELECT range AS r FROM range(${rows})) ORDER BY r`;
}

function* matrix() {
  for (const codec of ['uncompressed', 'snappy', 'zstd', 'gzip', 'lz4'])
    for (const dict of [true, false])
      for (const nulls of [false, true])
        // Several row groups for the two codecs the lakehouse writes; the
        // others once (keeps the suite's run time down).
        for (const rgs of codec === 'snappy' || codec === 'zstd' ? [1, 3] : [1])
          for (const v of ['V1', 'V2'])
            yield { codec, dict, nulls, rgs, v };
}

(async () => {
  const [dump, outDir] = process.argv.slice(2);
  fs.mkdirSync(outDir, { recursive: true });
  const con = await connection();
  const filter = process.env.MATRIX_FILTER || '';
  let files = 0, bad = 0;
  for (const m of matrix()) {
    const name = `${m.codec}_${m.dict ? 'dict' : 'plain'}_${m.nulls ? 'nulls' : 'full'}_rg${m.rgs}_${m.v}.parquet`;
    if (!name.includes(filter)) continue;
    const file = path.join(outDir, name);
    const opts = [`FORMAT parquet`, `COMPRESSION ${m.codec}`, `PARQUET_VERSION ${m.v}`];
    if (!m.dict) opts.push('DICTIONARY_SIZE_LIMIT 1', 'STRING_DICTIONARY_PAGE_SIZE_LIMIT 1');
    if (m.rgs > 1) opts.push('ROW_GROUP_SIZE 2048');
    const rows = m.rgs > 1 ? ROWS_SEVERAL : ROWS_ONE;
    await con.run(`COPY (${selectSql(m.nulls, rows)}) TO '${file}' (${opts.join(', ')})`);
    const rg = await con.runAndReadAll(
      `SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${file}')`);
    if (Number(rg.getRows()[0][0]) !== m.rgs) throw new Error(`${name}: wrong row group count`);
    // Batches of 1000 rows (pages and batches misaligned); for the files with
    // nulls and several row groups also batches of 7 rows with dictionaries
    // flattened (slower, so not for every file).
    const variants = m.nulls && m.rgs > 1 ? [[1000, true], [7, false]] : [[1000, true]];
    const problems = await compareFile(dump, file, { variants });
    problems.forEach((p) => console.log('MISMATCH ' + p));
    files++;
    bad += problems.length > 0;
  }
  // Nested columns with one repetition level: lists, maps, structs, lists of
  // structs, with null and empty lists, in several row groups.
  for (const codec of ['snappy', 'zstd'])
    for (const v of ['V1', 'V2']) {
      const name = `nested_${codec}_${v}.parquet`;
      if (!name.includes(filter)) continue;
      const file = path.join(outDir, name);
      await con.run(`COPY (${NESTED_SQL}) TO '${file}' (FORMAT parquet, COMPRESSION ${codec},
                     PARQUET_VERSION ${v}, ROW_GROUP_SIZE 2048)`);
      const problems = await compareFile(dump, file, { variants: [[1000, true], [7, false]] });
      problems.forEach((p) => console.log('MISMATCH ' + p));
      files++;
      bad += problems.length > 0;
    }
  console.log(`${files} files, ${bad} with mismatches`);
  if (files === 0 || bad > 0) process.exit(1);
})().catch((e) => { console.error(e); process.exit(1); });
