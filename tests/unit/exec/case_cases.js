// tests/unit/exec/case_cases.js: DuckDB's upper() and lower() of every
// Unicode code point, for test_exec_func.c's test_case_mapping.
// `node tests/unit/exec/case_cases.js > tests/unit/exec/case_cases.inc`
// (from the repo root) writes {code point, upper, lower} for each code
// point that either function changes; every other code point maps to
// itself. Our table (src/exec/case_table.inc) is made from Perl's Unicode
// data instead, so the test compares two independent sources.
'use strict';
const duckdb = require('@duckdb/node-api');

(async () => {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const con = await db.connect();
  // chr() of a surrogate is an error in DuckDB: skip them
  const r = await con.runAndReadAll(
      `SELECT i::INTEGER, upper(chr(i::INTEGER)), lower(chr(i::INTEGER)) FROM range(1, 1114112) t(i)
       WHERE i < 55296 OR i > 57343 ORDER BY i`);
  const lines = [];
  for (const [i, up, low] of r.getRows()) {
    // the client's UTF-8 decoder drops a leading U+FEFF (a byte order
    // mark): it has no case, DuckDB returns it unchanged
    const cps = [up, low].map((s) => (i === 0xfeff && s === '' ? [i] : [...s].map((c) => c.codePointAt(0))));
    if (cps[0].length !== 1 || cps[1].length !== 1)
      throw new Error(`code point ${i} maps to more than one code point`);
    if (cps[0][0] !== i || cps[1][0] !== i)
      lines.push(`{0x${i.toString(16)}, 0x${cps[0][0].toString(16)}, 0x${cps[1][0].toString(16)}},`);
  }
  const v = await con.runAndReadAll('SELECT version()');
  console.log(`/* DuckDB ${v.getRows()[0][0]}: code point, upper, lower (case_cases.js) */`);
  console.log(lines.join('\n'));
})();
