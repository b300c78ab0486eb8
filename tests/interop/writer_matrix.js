// tests/interop/writer_matrix.js PQ_WRITE_MATRIX PQ_DUMP OUT_DIR: Tarn writes
// its matrix of files (pq_write_matrix.c, with the rows it meant to write in
// FILE.expected.jsonl); every file must read back equal in Tarn's reader,
// DuckDB and hyparquet, and the footer statistics must equal DuckDB's
// min/max/null count of each row group.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { connection, canon, tarnLines, duckdbRows } = require('./pqcompare');

// hyparquet hands back times and timestamps through these parsers; we make
// them produce the canonical nanosecond strings directly.
const PARSERS = {
  timestampFromMilliseconds: (v) => (BigInt(v) * 1000000n).toString(),
  timestampFromMicroseconds: (v) => (BigInt(v) * 1000n).toString(),
  timestampFromNanoseconds: (v) => BigInt(v).toString(),
  dateFromDays: (v) => v,
};
const DECIMAL_SCALE = { dec9: 2, dec18: 4, dec38: 6 };

// The expected canonical row in the form hyparquet can produce: decimals
// become JS numbers exactly as hyparquet computes them (unscaled * 10^-scale).
function forHyparquet(row) {
  const o = {};
  for (const [k, v] of Object.entries(row)) {
    o[k] = v !== null && k in DECIMAL_SCALE ? Number(BigInt(v)) * 10 ** -DECIMAL_SCALE[k] : v;
  }
  return o;
}

// List columns of pq_write_matrix.c: hyparquet names them by their group.
const LIST_COLS = new Set(['li', 'lstr']);

function fromHyparquet(row) {
  const o = {};
  for (const [k, v] of Object.entries(row)) {
    if (LIST_COLS.has(k))
      o[`${k}.list.element`] = v === null || v === undefined ? null
        : v.map((x) => (x === null || x === undefined ? null : canon(x)));
    else if (v === null || v === undefined) o[k] = null;
    else if (k === 't_us') o[k] = (BigInt(v) * 1000n).toString();
    else if (k === 't_ms') o[k] = (BigInt(v) * 1000000n).toString();
    else if (v instanceof Uint8Array) o[k] = Buffer.from(v).toString('hex');
    else o[k] = canon(v);
  }
  return o;
}

async function hyparquetRows(file) {
  const hp = await import('hyparquet');
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = await hp.parquetReadObjects({ file: ab, utf8: false, parsers: PARSERS });
  return rows.map(fromHyparquet);
}

function firstDiff(name, a, b, problems) {
  if (a.length !== b.length) {
    problems.push(`${name}: ${a.length} rows, expected ${b.length}`);
    return;
  }
  for (let i = 0; i < a.length; i++) {
    const x = JSON.stringify(a[i]), y = JSON.stringify(b[i]);
    if (x !== y) {
      problems.push(`${name} row ${i}:\n  got      ${x}\n  expected ${y}`);
      return;
    }
  }
}

// Footer statistics (as DuckDB decodes them) equal DuckDB's aggregates over
// the rows of each row group.
async function checkStats(file, problems) {
  const con = await connection();
  const q = (sql) => con.runAndReadAll(sql).then((r) => r.getRowsJson());
  const meta = await q(`SELECT row_group_id, row_group_num_rows, path_in_schema, stats_min_value,
    stats_max_value, stats_null_count FROM parquet_metadata('${file}') ORDER BY row_group_id, column_id`);
  let start = 0, rg = -1;
  for (const [id, nrows, col, mn, mx, nulls] of meta) {
    if (Number(id) !== rg) {
      if (rg >= 0) start += prevRows;
      rg = Number(id);
    }
    var prevRows = Number(nrows);
    if (col === 'f32' || col === 'f64') continue; // NaN ordering differs; nulls checked in C
    // A list column's path is "name, list, element": its min/max are over the
    // elements (its null count, over levels, is checked in pq_write_matrix).
    const list = col.includes(', ');
    const expr = list ? `unnest("${col.split(', ')[0]}")` : `"${col}"`;
    const [[amin, amax, anulls]] = await q(`SELECT min(x)::VARCHAR, max(x)::VARCHAR,
      count(*) - count(x) FROM (SELECT ${expr} AS x FROM (SELECT *, row_number() OVER () - 1 AS rn
      FROM read_parquet('${file}')) WHERE rn >= ${start} AND rn < ${start + prevRows})`);
    if ((!list && String(nulls) !== String(anulls)) || (amin !== null && (mn !== amin || mx !== amax)))
      problems.push(`${file} row group ${id} column ${col}: footer min ${mn} max ${mx} nulls ${nulls}, ` +
                    `data min ${amin} max ${amax} nulls ${anulls}`);
  }
}

(async () => {
  const [writer, dump, outDir] = process.argv.slice(2);
  fs.mkdirSync(outDir, { recursive: true });
  execFileSync(writer, [outDir], { stdio: 'inherit' });
  const files = fs.readdirSync(outDir).filter((f) => f.endsWith('.parquet')).sort();
  let bad = 0;
  for (const name of files) {
    const file = path.join(outDir, name);
    const expected = fs.readFileSync(file + '.expected.jsonl', 'utf8').split('\n')
      .filter((l) => l).map((l) => JSON.parse(l));
    const problems = [];
    firstDiff(`${name} tarn`, tarnLines(dump, file, 0, true), expected, problems);
    firstDiff(`${name} duckdb`, await duckdbRows(file), expected, problems);
    // hyparquet alone decodes no ZSTD (that needs hyparquet-compressors).
    if (!name.includes('zstd'))
      firstDiff(`${name} hyparquet`, await hyparquetRows(file), expected.map(forHyparquet), problems);
    await checkStats(file, problems);
    problems.forEach((p) => console.log('MISMATCH ' + p));
    bad += problems.length > 0;
  }
  console.log(`${files.length} files, ${bad} with mismatches`);
  if (files.length === 0 || bad > 0) process.exit(1);
})().catch((e) => { console.error(e); process.exit(1); });
