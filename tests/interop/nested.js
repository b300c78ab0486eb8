// tests/interop/nested.js PQ_DUMP TEST_PARQUET_NESTED OUT_DIR: nested
// Parquet (structs, maps, lists of structs, maps with struct values, lists
// of lists, structs of lists) both ways:
//  1. DuckDB writes a nested table (several codecs, row group sizes, page
//     v1 and v2); Tarn's reader must read every leaf equal to DuckDB's
//     reading (pqcompare.js shreds DuckDB's values into the same leaves).
//  2. Tarn's writer writes the checkpoint-like files of
//     tests/unit/parquet/test_nested.c; DuckDB and hyparquet must read them
//     equal to each other and to Tarn's reader, with the nulls of structs,
//     struct elements and map values where the writer put them.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { compareFile, connection } = require('./pqcompare');

const TABLE = `SELECT
  i AS id,
  CASE WHEN i % 5 = 0 THEN NULL ELSE {'a': i, 'b': 'x' || i,
    'c': CASE WHEN i % 3 = 0 THEN NULL ELSE [i, i + 1][1:(i % 3)] END} END AS s,
  CASE WHEN i % 7 = 0 THEN NULL
       ELSE MAP(['k1', 'k2'][1:(i % 3)], ['v' || i, NULL][1:(i % 3)]) END AS m,
  CASE WHEN i % 4 = 0 THEN NULL
       ELSE [{'x': i, 'y': NULL::VARCHAR}, NULL, {'x': NULL, 'y': 'q' || i}][1:(i % 4)] END AS ls,
  MAP {'p': {'u': i, 'v': [i, NULL]}, 'q': NULL} AS ms,
  CASE WHEN i % 6 = 0 THEN NULL ELSE [[i, NULL], NULL, [], [i * 2]][1:(i % 5)] END AS ll,
  [[[i::SMALLINT]], [[NULL, (i % 100)::SMALLINT], []], NULL] AS lll,
  {'inner': {'deep': i % 9, 'arr': ['a', NULL, 'b' || (i % 11)]}, 'd': DATE '2020-01-01' + (i % 400)::INT} AS ss
FROM range(3000) t(i)`;

const DUCK_VARIANTS = [
  ['snappy', ''],
  ['zstd', ', COMPRESSION zstd, ROW_GROUP_SIZE 1000'],
  ['uncompressed_v2', ', COMPRESSION uncompressed, PARQUET_VERSION v2'],
  ['gzip_small_groups', ', COMPRESSION gzip, ROW_GROUP_SIZE 300'],
];

const HYPARQUET_PARSERS = { dateFromDays: (v) => v };

// A DuckDB value (getRowsJson form) as plain JSON shaped as hyparquet gives
// it: maps become objects, the rest stays.
function plain(v, t) {
  if (v === null || v === undefined) return null;
  switch (t.constructor.name) {
    case 'DuckDBStructType': {
      const o = {};
      t.entryNames.forEach((f, i) => { o[f] = plain(v[f], t.entryTypes[i]); });
      return o;
    }
    case 'DuckDBListType': return v.map((x) => plain(x, t.valueType));
    case 'DuckDBMapType': {
      const o = {};
      for (const e of v) o[e.key] = plain(e.value, t.valueType);
      return o;
    }
    default: return v;
  }
}

// hyparquet's value as plain JSON: BigInt as a decimal string, absent as null.
function fromHyparquet(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(fromHyparquet);
  if (typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromHyparquet(x);
    return o;
  }
  return v;
}

async function duckPlainRows(file) {
  const con = await connection();
  const r = await con.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  const names = r.columnNames(), types = r.columnTypes();
  return r.getRowsJson().map((row) => {
    const o = {};
    row.forEach((v, i) => { o[names[i]] = plain(v, types[i]); });
    return o;
  });
}

async function hyparquetRows(file, names) {
  const hp = await import('hyparquet');
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = await hp.parquetReadObjects({ file: ab, parsers: HYPARQUET_PARSERS });
  return rows.map((row) => {
    const o = {};
    for (const n of names) o[n] = fromHyparquet(row[n]);
    return o;
  });
}

function firstDiff(what, a, b, problems) {
  if (a.length !== b.length) return problems.push(`${what}: ${a.length} rows, expected ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = JSON.stringify(a[i]), y = JSON.stringify(b[i]);
    if (x !== y) return problems.push(`${what} row ${i}:\n  got      ${x}\n  expected ${y}`);
  }
  return 0;
}

// Where test_nested.c's generator puts nulls of whole structs, struct
// elements and map values: DuckDB must see them there (the leaf comparison
// cannot tell a null struct from a struct of nulls).
const STRUCT_CHECKS = [
  ['add null', `(add IS NULL) != (id % 3 = 0)`],
  ['deletionVector null', `(add.deletionVector IS NULL) != (id % 3 = 0 OR id % 4 != 1)`],
  ['pts null elements', `len(list_filter(pts, e -> e IS NULL)) IS DISTINCT FROM
     CASE WHEN id % 6 = 0 THEN NULL ELSE (id % 4 > 2)::INT END`],
  ['m2 null values', `len(list_filter(map_values(m2), v -> v IS NULL)) IS DISTINCT FROM
     CASE WHEN id % 5 = 4 THEN NULL ELSE (id % 3 > 0 AND id % 2 = 1)::INT END`],
  ['tags empty', `(add.tags IS NOT NULL AND cardinality(add.tags) != 0)`],
  ['ll shape', `ll IS DISTINCT FROM CASE WHEN id % 7 = 3 THEN NULL ELSE
     list_transform(range(id % 4), j -> CASE WHEN j = 2 AND id % 2 = 1 THEN NULL ELSE
       list_transform(range((j + id) % 4), k -> CASE WHEN k = 1 THEN NULL ELSE id * 100 + j * 10 + k END)
     END) END`],
];

(async () => {
  const [dump, nestedTest, outDir] = process.argv.slice(2);
  fs.mkdirSync(outDir, { recursive: true });
  const con = await connection();
  const problems = [];
  let files = 0;

  // 1. DuckDB writes, Tarn reads.
  await con.run(`CREATE OR REPLACE TABLE nested AS ${TABLE}`);
  for (const [name, opts] of DUCK_VARIANTS) {
    const file = path.join(outDir, `duckdb_${name}.parquet`);
    await con.run(`COPY nested TO '${file}' (FORMAT parquet${opts})`);
    problems.push(...await compareFile(dump, file, { variants: [[0, true], [7, false]] }));
    files++;
  }

  // 2. Tarn writes; Tarn, DuckDB and hyparquet read.
  execFileSync(nestedTest, ['test_nested_round_trip'],
               { env: { ...process.env, PQ_NESTED_OUT: outDir }, stdio: 'inherit' });
  const tarnFiles = fs.readdirSync(outDir).filter((f) => f.startsWith('tarn_nested')).sort();
  if (tarnFiles.length === 0) problems.push('the writer test wrote no file');
  for (const name of tarnFiles) {
    const file = path.join(outDir, name);
    files++;
    problems.push(...await compareFile(dump, file, { variants: [[0, true], [13, false]] }));
    for (const [what, cond] of STRUCT_CHECKS) {
      const r = await con.runAndReadAll(
        `SELECT count(*)::INT FROM read_parquet('${file}') WHERE ${cond}`);
      const bad = r.getRows()[0][0];
      if (bad !== 0) problems.push(`${name}: DuckDB: ${what}: ${bad} rows differ`);
    }
    if (!name.includes('zstd')) { // hyparquet alone decodes no ZSTD
      const want = await duckPlainRows(file);
      const got = await hyparquetRows(file, Object.keys(want[0] || {}));
      firstDiff(`${name}: hyparquet vs DuckDB`, got, want, problems);
    }
  }
  problems.slice(0, 20).forEach((p) => console.log('MISMATCH ' + p));
  console.log(`${files} nested files, ${problems.length} mismatches`);
  if (problems.length > 0) process.exit(1);
})().catch((e) => { console.error(e); process.exit(1); });
