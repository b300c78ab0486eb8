// tests/interop/make_fixtures.js: regenerates the small DuckDB-written files
// under tests/unit/parquet/data that test_parquet_reader checks (run with
// node from the repository root). Prints the aggregates the test expects.
'use strict';
const path = require('path');
const duckdb = require('@duckdb/node-api');
(async () => {
  const con = await (await duckdb.DuckDBInstance.create(':memory:')).connect();
  const sel = `SELECT CASE WHEN r % 5 = 1 THEN NULL ELSE r * 3 - 100 END::INTEGER AS i,
     'v' || (r % 7) AS s, r / 4.0 AS d, TIMESTAMP '2020-01-01' + to_seconds(r) AS ts,
     CASE WHEN r % 3 = 0 THEN NULL ELSE 'w' || r END AS u
     FROM range(300) t(r) ORDER BY r`;
  const dir = path.join(__dirname, '..', 'unit', 'parquet', 'data');
  await con.run(`COPY (${sel}) TO '${dir}/v1_snappy_dict.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 150)`);
  await con.run(`COPY (${sel}) TO '${dir}/v2_zstd_delta.parquet' (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 1, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1)`);
  await con.run(`COPY (${sel}) TO '${dir}/v1_gzip_plain.parquet' (FORMAT parquet, COMPRESSION gzip, DICTIONARY_SIZE_LIMIT 1, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1)`);
  // Lists, maps and structs (one repetition level); row r of l is null when
  // r % 5 == 0, empty when r % 5 == 1, else [r, NULL, 2r].
  await con.run(`COPY (SELECT r AS id,
      CASE WHEN r % 5 = 0 THEN NULL WHEN r % 5 = 1 THEN [] ELSE [r, NULL, r * 2] END::INTEGER[] AS l,
      CASE WHEN r % 4 = 0 THEN NULL ELSE MAP {'k' || r: r, 'z': NULL} END AS m,
      CASE WHEN r % 6 = 0 THEN NULL ELSE {'a': r, 'b': 's' || r} END AS st
      FROM range(300) t(r)) TO '${dir}/nested_v2.parquet' (FORMAT parquet, PARQUET_VERSION V2)`);
  // Uncompressed PLAIN strings without page CRCs: test_parquet_reader
  // patches bytes in place (invalid UTF-8).
  await con.run(`COPY (${sel}) TO '${dir}/v1_uncompressed_plain.parquet' (FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 1, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1)`);
  const r = await con.runAndReadAll(`SELECT sum(i), count(i), count(u), string_agg(s, '') FILTER (WHERE r < 10) FROM (${sel.replace('AS u', 'AS u, r')})`);
  console.log(JSON.stringify(r.getRowsJson()));
})();
