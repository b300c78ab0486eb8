// tests/interop/spark_files.js PQ_DUMP DIR: every .parquet file under DIR
// (Spark-written Delta tables) read by Tarn equals DuckDB's reading.
'use strict';
const fs = require('fs');
const path = require('path');
const { compareFile } = require('./pqcompare');

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.parquet')) out.push(p);
  }
  return out;
}

(async () => {
  const [dump, dir] = process.argv.slice(2);
  if (!fs.existsSync(dir)) { console.log('SKIP: no ' + dir); process.exit(77); }
  const files = walk(dir, []).sort();
  let bad = 0;
  for (const f of files) {
    const problems = await compareFile(dump, f, { variants: [[0, true], [1, false]] });
    problems.forEach((p) => console.log('MISMATCH ' + p));
    bad += problems.length > 0;
  }
  console.log(`${files.length} files, ${bad} with mismatches`);
  if (files.length === 0 || bad > 0) process.exit(1);
})().catch((e) => { console.error(e); process.exit(1); });
