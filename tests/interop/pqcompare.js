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
// a struct's fields are leaves (all null when the struct is null), a list is
// <name>.list.element and a map <name>.key_value.key / .value, each a JSON
// array (null when the list or map is); a list of structs gives one list
// per struct field.
function kind(t) { return t.constructor.name; }

function flatten(name, v, o, t) {
  if (kind(t) === 'DuckDBStructType') {
    t.entryNames.forEach((f, i) =>
      flatten(`${name}.${f}`, v === null ? null : v.entries[f], o, t.entryTypes[i]));
  } else if (kind(t) === 'DuckDBMapType') {
    o[`${name}.key_value.key`] = v === null ? null : v.entries.map((e) => canon(e.key));
    o[`${name}.key_value.value`] = v === null ? null : v.entries.map((e) => canon(e.value));
  } else if (kind(t) === 'DuckDBListType' && kind(t.valueType) === 'DuckDBStructType') {
    const st = t.valueType;
    for (const f of st.entryNames)
      o[`${name}.list.element.${f}`] =
        v === null ? null : v.items.map((x) => (x === null ? null : canon(x.entries[f])));
  } else if (kind(t) === 'DuckDBListType') {
    o[`${name}.list.element`] = v === null ? null : v.items.map(canon);
  } else {
    o[name] = canon(v);
  }
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
