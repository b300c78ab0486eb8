// tests/sql/tarn_runner.js: runs SQL statements in Tarn, one `tarn sql -c`
// process per statement on one data directory (the WAL lock allows one
// process at a time).
'use strict';
const fs = require('fs');
const H = require('./harness.js');

async function open(tarn, dataDir) {
  fs.mkdirSync(dataDir, {recursive: true});
  const env = {...process.env};
  return {
    run: async (sql) => H.runTarn(tarn, dataDir, sql, env),
    close: async () => {},
  };
}

module.exports = {open};
