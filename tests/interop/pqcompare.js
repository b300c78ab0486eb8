// tests/interop/pqcompare.js: compares Tarn's reading of a Parquet file
// (the canonical JSON lines of pq_dump) with DuckDB's reading of the same
// file, value by value, as typed values (see pq_dump.c for the canonical
// form). Used by duckdb_matrix.js and spark_files.js.
'use strict';
const { execFileSync } = require('child_process');
const duckdb = require('@duckdb/node-api');

function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

// DuckDB value -> the canonical form pq_dump prints.
function canon(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return v;
  }
  switch (v.constructor.name) {
    case 'DuckDBDateValue': return v.days;
    case 'DuckDBTimeValue': return (v.micros * 1000n).toString();
    case 'DuckDBTimeNSValue': return v.nanos.toString();
    case 'DuckDBTimeTZValue': return (v.micros * 1000n).toString();
    case 'DuckDBTimestampValue':
    case 'DuckDBTimestampTZValue': return (v.micros * 1000n).toString();
    case 'DuckDBTimestampMillisecondsValue': return (v.millis * 1000000n).toString();
    case 'DuckDBTimestampSecondsValue': return (v.seconds * 1000000000n).toString();
    case 'DuckDBTimestampNanosecondsValue': return v.nanos.toString();
    case 'DuckDBDecimalValue': return v.value.toString();
    case 'DuckDBBlobValue': return hex(v.bytes);
    case 'DuckDBUUIDValue': return v.toUint128().toString(16).padStart(32, '0');
    default: throw new Error('no canonical form for ' + v.constructor.name);
  }
}

// Nested DuckDB values -> the leaf columns Tarn reads (dotted Parquet
// paths, as DuckDB and Spark name them), driven by the column's DuckDB type:
// a struct's fields are leaves (null where the struct is null), a list is
// <name>.list.element and a map <name>.key_value.key / .value, each a JSON
// array (null when the list or map is); a list of structs gives one list
// per struct field (a null struct element: null in each); lists of lists
// give arrays of arrays.
function kind(t) { return t.constructor.name; }

// [leaf name, function from a value of type t to the leaf's value] pairs.
function leafPaths(t, name) {
  const orNull = (f) => (v) => (v === null || v === undefined ? null : f(v));
  if (kind(t) === 'DuckDBStructType')
    return t.entryNames.flatMap((f, i) => leafPaths(t.entryTypes[i], `${name}.${f}`)
      .map(([n, ex]) => [n, orNull((v) => ex(v.entries[f]))]));
  if (kind(t) === 'DuckDBListType')
    return leafPaths(t.valueType, `${name}.list.element`)
      .map(([n, ex]) => [n, orNull((v) => v.items.map(ex))]);
  if (kind(t) === 'DuckDBMapType')
    return [...leafPaths(t.keyType, `${name}.key_value.key`)
      .map(([n, ex]) => [n, orNull((v) => v.entries.map((e) => ex(e.key)))]),
            ...leafPaths(t.valueType, `${name}.key_value.value`)
      .map(([n, ex]) => [n, orNull((v) => v.entries.map((e) => ex(e.value)))])];
  return [[name, canon]];
}

function flatten(name, v, o, t) {
  for (const [n, ex] of leafPaths(t, name)) o[n] = ex(v);
}

let instance = null;
async function connection() {
  if (!instance) instance = await duckdb.DuckDBInstance.create(':memory:');
  return instance.connect();
}

async function duckdbRows(file) {
  const con = await connection();
  const sql = `SELECT * FROM read_parquet('${file.replace(/'/g, "''")}', hive_partitioning = false)`;
  const reader = await con.runAndReadAll(sql);
  const names = reader.columnNames();
  const types = reader.columnTypes();
  return reader.getRows().map((row) => {
    const o = {};
    row.forEach((v, i) => flatten(names[i], v, o, types[i]));
    return o;
  });
}

function tarnLines(dump, file, batchRows, keepDict) {
  const out = execFileSync(dump, [file, String(batchRows || 0), keepDict ? '1' : '0'],
                           { maxBuffer: 1 << 30, encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

// Returns a list of problems (empty when equal). Also checks that DuckDB's
// rows are in the same order (read_parquet keeps file order, one thread).
async function compareFile(dump, file, opts = {}) {
  const want = await duckdbRows(file);
  const problems = [];
  for (const [batchRows, keepDict] of opts.variants || [[0, true]]) {
    let got;
    try {
      got = tarnLines(dump, file, batchRows, keepDict);
    } catch (e) {
      problems.push(`${file}: pq_dump failed: ${e.stderr || e.message}`);
      continue;
    }
    if (got.length !== want.length) {
      problems.push(`${file}: ${got.length} rows from Tarn, ${want.length} from DuckDB`);
      continue;
    }
    for (let i = 0; i < want.length && problems.length < 5; i++) {
      const a = JSON.stringify(got[i]), b = JSON.stringify(want[i]);
      if (a !== b) problems.push(`${file} row ${i} (batch ${batchRows}, dict ${keepDict}):\n  tarn   ${a}\n  duckdb ${b}`);
    }
  }
  return problems;
}

module.exports = { compareFile, connection, canon, tarnLines, duckdbRows };
