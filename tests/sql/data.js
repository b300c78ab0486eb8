// tests/sql/data.js: the tables of the differential SQL tests, built by
// DuckDB from deterministic expressions (no random()) and written as
// Parquet files; the same files are loaded into Tarn and read by DuckDB.
//
//   t     240 rows, every type, NULLs in every column but id, duplicates,
//         groups of one row, doubles that are multiples of 1/4 (exact sums
//         in any order), unicode and empty strings, dates across leap years
//   u     join partner of t.k: duplicate keys, a NULL key, keys t lacks
//   e     t's schema, no rows
//   x     extreme values: INT64 min/max, huge and tiny doubles, a 10,000
//         character string, unicode, dates and timestamps far apart
//   li    lineitem-gen.sql at 20,000 rows (TPC-H shapes)
//   hist  a table built in several commits (time travel): hist_v0..v4 are
//         its contents at each version, for DuckDB
//   tm    t's rows in 4 files (4 INSERTs: id % 4), lm li's in 3 (l_orderkey
//         % 3): parallel plans (morsels are files); views of t and li in
//         DuckDB. li_rg.parquet is li in row groups of 2048 rows, for
//         read_parquet's parallel plans (morsels are row groups)
'use strict';
const fs = require('fs');
const path = require('path');

const T_COLS = [
  ['id', 'BIGINT'], ['k', 'INTEGER'], ['g', 'VARCHAR'], ['n', 'BIGINT'], ['x', 'DOUBLE'],
  ['s', 'VARCHAR'], ['d', 'DATE'], ['ts', 'TIMESTAMP'], ['b', 'BOOLEAN'], ['m', 'DECIMAL(15,2)'],
  ['ti', 'TINYINT'], ['sm', 'SMALLINT'], ['r', 'REAL'],
];

const T_SQL = `
SELECT i::BIGINT AS id,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 7)::INTEGER END AS k,
  CASE WHEN i % 13 = 0 THEN NULL
       ELSE ['red', 'green', 'blue', 'Gelb', 'ünï', '', 'a_b%c'][1 + (i * 3) % 7] END AS g,
  CASE WHEN i % 9 = 0 THEN NULL ELSE (i * 37 % 1000 - 500)::BIGINT END AS n,
  CASE WHEN i % 10 = 0 THEN NULL ELSE ((i * 7) % 50) * 0.25 - 3.5 END::DOUBLE AS x,
  CASE WHEN i % 8 = 3 THEN NULL
       ELSE ['alpha', 'Beta', 'gamma', 'DELTA', 'héllo wörld', 'straße', '日本語テキスト', '😀 emoji',
             '', 'a''quote', 'comma, here', 'alpha', 'x', 'percent%', 'under_score', 'Alpha',
             'zeta'][1 + (i * 5) % 17] || CASE WHEN i % 4 = 0 THEN '' ELSE (i % 6)::VARCHAR END END AS s,
  CASE WHEN i % 12 = 5 THEN NULL ELSE DATE '2019-11-15' + ((i * 13) % 900)::INTEGER END AS d,
  CASE WHEN i % 14 = 6 THEN NULL
       ELSE TIMESTAMP '2021-03-04 05:06:07' + to_seconds(i * 77777) + to_microseconds((i * 123457) % 1000000) END AS ts,
  CASE WHEN i % 5 = 2 THEN NULL ELSE i % 2 = 0 END AS b,
  CASE WHEN i % 8 = 1 THEN NULL ELSE ((i * 1234) % 100000 / 100.0 - 300)::DECIMAL(15,2) END AS m,
  CASE WHEN i % 15 = 4 THEN NULL ELSE (i % 100 - 50)::TINYINT END AS ti,
  CASE WHEN i % 16 = 7 THEN NULL ELSE ((i * 300) % 30000 - 15000)::SMALLINT END AS sm,
  CASE WHEN i % 17 = 8 THEN NULL ELSE ((i % 20) * 0.5 - 2)::REAL END AS r
FROM range(1, 241) r(i)`;

const U_COLS = [['k', 'INTEGER'], ['label', 'VARCHAR'], ['w', 'DOUBLE']];
const U_SQL = `
SELECT * FROM (VALUES (0, 'zero', 0.5), (1, 'one', 1.5), (1, 'uno', -1.25), (2, 'two', 2.0),
  (3, 'three', NULL), (4, NULL, 4.75), (5, 'five', 5.0), (5, 'fünf', 5.5), (5, 'cinq', 6.0),
  (NULL, 'nothing', 9.0), (9, 'nine', 9.25), (10, 'ten', 10.0)) v(k, label, w)`;

const X_COLS = [['id', 'BIGINT'], ['big', 'BIGINT'], ['dbl', 'DOUBLE'], ['str', 'VARCHAR'],
                ['dt', 'DATE'], ['ts', 'TIMESTAMP'], ['i32', 'INTEGER']];
const X_SQL = `
SELECT * FROM (VALUES
  (1, 9223372036854775807, 1.7976931348623157e308, repeat('abcdefghij', 1000), DATE '9999-12-31', TIMESTAMP '2200-01-01 12:00:00.5', 2147483647),
  (2, -9223372036854775808, -1.7976931348623157e308, 'Ωmega ≠ alpha', DATE '0001-01-01', TIMESTAMP '1900-01-01 00:00:00', -2147483648),
  (3, 0, 5e-324, '', DATE '1970-01-01', TIMESTAMP '1970-01-01 00:00:00', 0),
  (4, -1, 2.2250738585072014e-308, '日本語', DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.999999', -1),
  (5, 1, 1e300, 'line1
line2	tab', DATE '2000-02-29', TIMESTAMP '2000-02-29 23:59:59', 1),
  (6, 9223372036854775806, -1e-300, '😀😀😀', DATE '1900-03-01', TIMESTAMP '2038-01-19 03:14:08', 2147483646),
  (7, NULL, NULL, NULL, NULL, NULL, NULL),
  (8, -9223372036854775807, 123456789.125, 'back\\slash "dq"', DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.789012', -2147483647)
) v(id, big, dbl, str, dt, ts, i32)`;

const LI_COLS = [['l_orderkey', 'BIGINT'], ['l_quantity', 'DOUBLE'], ['l_extendedprice', 'DOUBLE'],
                 ['l_discount', 'DOUBLE'], ['l_tax', 'DOUBLE'], ['l_returnflag', 'VARCHAR'],
                 ['l_linestatus', 'VARCHAR'], ['l_shipdate', 'DATE']];

const HIST_COLS = [['id', 'BIGINT'], ['name', 'VARCHAR'], ['amount', 'DOUBLE']];
// The commits that build hist, as Tarn statements; DuckDB replays them on
// a table and writes its contents after each one.
const HIST_STEPS = [
  `INSERT INTO hist VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', NULL), (4, NULL, 4.0), (5, 'e', 5.25)`,
  `INSERT INTO hist VALUES (6, 'f', 6.0), (7, 'g', -7.5), (8, 'a', 8.0), (9, 'b', 9.75), (10, 'c', 10.0)`,
  `DELETE FROM hist WHERE id IN (3, 6, 9)`,
  `INSERT INTO hist VALUES (11, 'k', 11.0), (12, 'a', 12.5)`,
];

const TABLES = [
  {name: 't', cols: T_COLS, sql: T_SQL},
  {name: 'u', cols: U_COLS, sql: U_SQL},
  {name: 'e', cols: T_COLS, sql: `SELECT * FROM (${T_SQL}) WHERE false`},
  {name: 'x', cols: X_COLS, sql: X_SQL},
  {name: 'li', cols: LI_COLS, sql: null},
];

// Tables loaded in several commits from another one, one file each.
const SPLIT = [
  {name: 'tm', from: 't', cols: T_COLS, by: 'id', parts: 4},
  {name: 'lm', from: 'li', cols: LI_COLS, by: 'l_orderkey', parts: 3},
];

function colList(cols) {
  return cols.map(([n, t]) => `${n} ${t}`).join(', ');
}

function lineitemSql(rows) {
  const f = process.env.LINEITEM_GEN_SQL || path.resolve(__dirname, '../../../shared/tools/lineitem-gen.sql');
  return fs.readFileSync(f, 'utf8').replace(/range\(6000000\)/, `range(${rows})`);
}

// Writes every table as DIR/<name>.parquet and hist as DIR/hist_v<N>.parquet
// (and the rows each hist INSERT adds as hist_add<N>.parquet).
async function makeData(conn, dir) {
  fs.mkdirSync(dir, {recursive: true});
  for (const t of TABLES) {
    const file = path.join(dir, `${t.name}.parquet`);
    if (t.name === 'li') {
      await conn.run(lineitemSql(20000));
      await conn.run(`CREATE OR REPLACE TABLE li_typed AS SELECT ${t.cols.map(([n, ty]) => `${n}::${ty} AS ${n}`).join(', ')} FROM li`);
      await conn.run(`COPY li_typed TO '${file}' (FORMAT parquet)`);
      await conn.run(`COPY li_typed TO '${path.join(dir, 'li_rg.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
      await conn.run('DROP TABLE li_typed; DROP TABLE li');
      continue;
    }
    const cast = t.cols.map(([n, ty]) => `${n}::${ty} AS ${n}`).join(', ');
    await conn.run(`COPY (SELECT ${cast} FROM (${t.sql}) ORDER BY 1) TO '${file}' (FORMAT parquet)`);
  }
  await conn.run(`CREATE OR REPLACE TABLE hist (${colList(HIST_COLS)})`);
  await conn.run(`COPY hist TO '${path.join(dir, 'hist_v0.parquet')}' (FORMAT parquet)`);
  for (let v = 1; v <= HIST_STEPS.length; v++) {
    await conn.run(HIST_STEPS[v - 1]);
    await conn.run(`COPY (SELECT * FROM hist ORDER BY id) TO '${path.join(dir, `hist_v${v}.parquet`)}' (FORMAT parquet)`);
  }
  await conn.run('DROP TABLE hist');
}

// Views over the files, so queries name tables as they do in Tarn.
async function makeViews(conn, dir) {
  for (const t of TABLES)
    await conn.run(`CREATE OR REPLACE VIEW ${t.name} AS SELECT * FROM read_parquet('${path.join(dir, t.name + '.parquet')}')`);
  for (const t of SPLIT)
    await conn.run(`CREATE OR REPLACE VIEW ${t.name} AS SELECT * FROM ${t.from}`);
  await conn.run(`CREATE OR REPLACE VIEW hist AS SELECT * FROM read_parquet('${path.join(dir, `hist_v${HIST_STEPS.length}.parquet`)}')`);
}

// The Tarn statements that load the same data: CREATE TABLE + COPY for
// each table, and hist in its commits (version 0 is the CREATE).
function tarnLoadStatements(dir) {
  const out = [];
  for (const t of TABLES) {
    out.push(`CREATE TABLE ${t.name} (${colList(t.cols)})`);
    out.push(`COPY ${t.name} FROM '${path.join(dir, t.name + '.parquet')}' (FORMAT parquet)`);
  }
  for (const t of SPLIT) {
    out.push(`CREATE TABLE ${t.name} (${colList(t.cols)})`);
    for (let r = 0; r < t.parts; r++)
      out.push(`INSERT INTO ${t.name} SELECT * FROM ${t.from} WHERE ${t.by} % ${t.parts} = ${r}`);
  }
  out.push(`CREATE TABLE hist (${colList(HIST_COLS)})`);
  for (const s of HIST_STEPS) out.push(s);
  return out;
}

module.exports = {TABLES, SPLIT, T_COLS, U_COLS, X_COLS, LI_COLS, HIST_COLS, HIST_STEPS, makeData, makeViews,
                  tarnLoadStatements};
