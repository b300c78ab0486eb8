// tests/sql/harness.js: the pieces of the differential SQL test: reading
// the corpus, running a query in DuckDB and in Tarn, turning both results
// into comparable cells, and comparing them (multisets, or in order where
// the query's ORDER BY fixes the order; doubles to 1e-9 relative).
'use strict';
const fs = require('fs');
const path = require('path');
const {spawnSync} = require('child_process');

// ---- the corpus ---------------------------------------------------------
//
// A corpus file holds queries, each ending with ';' at the end of a line.
// Comment lines right before a query annotate it:
//   -- ordered                 compare rows in order (ORDER BY fixes it)
//   -- expect: error           both engines must fail (overflow, bad cast)
//   -- expect: tarn-error WHY  Tarn must fail; DuckDB's answer is not the
//                              SQL standard's (e.g. 1/0 is NULL there)
//   -- name: NAME              the query's id (default FILE:N, N from 1)
// Other comment lines are ignored. `@DATA@` is the directory of the test
// data (both engines); `hist VERSION AS OF n` reads hist_v<n>.parquet in
// DuckDB.

function parseCorpusFile(file) {
  const base = path.basename(file, '.sql');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = [];
  let ann = {}, sql = [];
  for (const line of lines) {
    const t = line.trim();
    if (sql.length === 0 && t.startsWith('--')) {
      const a = t.replace(/^--\s*/, '');
      let m;
      if (a === 'ordered') ann.ordered = true;
      else if ((m = /^expect:\s*error\b/.exec(a))) ann.expect = 'error';
      else if ((m = /^expect:\s*tarn-error\s*(.*)$/.exec(a))) {
        ann.expect = 'tarn-error';
        ann.why = m[1];
      } else if ((m = /^name:\s*(\S+)/.exec(a))) ann.name = m[1];
      continue;
    }
    if (sql.length === 0 && t === '') continue;
    sql.push(line);
    if (t.endsWith(';')) {
      const text = sql.join('\n').trim().replace(/;$/, '').trim();
      out.push({id: ann.name || `${base}:${out.length + 1}`, sql: text, ordered: !!ann.ordered,
                expect: ann.expect || 'ok', why: ann.why || '', file: base});
      ann = {};
      sql = [];
    }
  }
  if (sql.length > 0) throw new Error(`${file}: query without a final ';': ${sql.join(' ')}`);
  return out;
}

function loadCorpus(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const all = [];
  for (const f of files) all.push(...parseCorpusFile(path.join(dir, f)));
  const seen = new Set();
  for (const q of all) {
    if (seen.has(q.id)) throw new Error(`duplicate query id ${q.id}`);
    seen.add(q.id);
  }
  return all;
}

// histTimes[v]: the commit time of hist's version v, from DESCRIBE HISTORY.
function forTarn(sql, dataDir, histTimes) {
  return sql.replace(/@DATA@/g, dataDir).replace(/@HIST_TS_(\d+)@/g, (m, v) => (histTimes && histTimes[v]) || m);
}

// DuckDB has no Delta time travel here: each version of hist is a file.
function forDuck(sql, dataDir, latestHist) {
  return sql.replace(/@DATA@/g, dataDir)
    .replace(/\bhist\s+VERSION\s+AS\s+OF\s+(\d+)/gi,
             (_, v) => `read_parquet('${dataDir}/hist_v${v}.parquet')`)
    .replace(/\bhist\s+TIMESTAMP\s+AS\s+OF\s+'@HIST_TS_(\d+)@'/gi,
             (_, v) => `read_parquet('${dataDir}/hist_v${v}.parquet')`)
    .replace(/\bhist\s+TIMESTAMP\s+AS\s+OF\s+'2999-[^']*'/gi,
             () => `read_parquet('${dataDir}/hist_v${latestHist}.parquet')`);
}

// ---- cells ----------------------------------------------------------------
//
// A cell is {t: 'null'} | {t: 'num', text, approx, tol} | {t: 'str', v} |
// {t: 'bool', v}. Numbers keep their exact text (BigInt-safe) and say
// whether they are approximate (a double or float on either side).

const FLOAT_TOL = 1e-6; // REAL values printed by two engines
const DOUBLE_TOL = 1e-9;

function numCell(text, approx, tol) {
  return {t: 'num', text: String(text), approx, tol: tol || DOUBLE_TOL};
}

function normTimestamp(s) {
  // 'YYYY-MM-DD HH:MM:SS[.ffffff]': drop trailing zeros of the fraction.
  // A midnight timestamp equals its date: DuckDB's date + INTERVAL is a
  // TIMESTAMP where Tarn may keep a DATE.
  return s.replace(/T/, ' ').replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '').replace(/ 00:00:00$/, '');
}

function duckCell(v, type) {
  if (v === null || v === undefined) return {t: 'null'};
  const id = type.typeId;
  const name = type.toString();
  if (typeof v === 'boolean') return {t: 'bool', v};
  if (typeof v === 'bigint') return numCell(v.toString(), false);
  if (typeof v === 'number') {
    const approx = name === 'DOUBLE' || name === 'FLOAT';
    return numCell(Number.isNaN(v) ? 'NaN' : !Number.isFinite(v) ? (v > 0 ? 'Infinity' : '-Infinity')
                   : String(v), approx, name === 'FLOAT' ? FLOAT_TOL : DOUBLE_TOL);
  }
  if (typeof v === 'string') return {t: 'str', v};
  if (name.startsWith('DECIMAL')) return numCell(v.toString(), false);
  if (name === 'DATE') return {t: 'str', v: v.toString()};
  if (name.startsWith('TIMESTAMP')) return {t: 'str', v: normTimestamp(v.toString())};
  if (name === 'INTERVAL') return {t: 'str', v: v.toString()};
  void id;
  return {t: 'str', v: String(v)};
}

// Tarn's JSON rows keep 64-bit integers and decimals exact, so they are
// read with a small parser that keeps number text and column order.
function parseJsonRow(line) {
  let i = 0;
  const ws = () => { while (i < line.length && /\s/.test(line[i])) i++; };
  const str = () => {
    let j = i + 1;
    while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
    const s = JSON.parse(line.slice(i, j + 1));
    i = j + 1;
    return s;
  };
  ws();
  if (line[i] !== '{') throw new Error(`not a JSON object: ${line}`);
  i++;
  const cells = [];
  ws();
  if (line[i] === '}') return cells;
  for (;;) {
    ws();
    const name = str();
    ws();
    if (line[i] !== ':') throw new Error(`bad JSON row: ${line}`);
    i++;
    ws();
    let cell;
    if (line[i] === '"') {
      cell = {t: 'jstr', v: str()};
    } else {
      const m = /^(null|true|false|-?Infinity|NaN|-?\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(line.slice(i));
      if (!m) throw new Error(`bad JSON value at ${i}: ${line}`);
      i += m[0].length;
      const tok = m[0];
      if (tok === 'null') cell = {t: 'null'};
      else if (tok === 'true' || tok === 'false') cell = {t: 'bool', v: tok === 'true'};
      else cell = numCell(tok, /[.eEIN]/.test(tok));
    }
    cells.push({name, cell});
    ws();
    if (line[i] === ',') { i++; continue; }
    if (line[i] === '}') break;
    throw new Error(`bad JSON row: ${line}`);
  }
  return cells;
}

// ---- comparing ----------------------------------------------------------------

const DEC_RE = /^[-+]?\d+(\.\d+)?$/;
const DATE_RE = /^-?\d{4,}-\d\d-\d\d([ T]\d\d:\d\d:\d\d(\.\d+)?)?$/;

// Exact decimal text -> canonical "[-]digits[.digits]" without padding.
function canonDecimal(s) {
  let neg = s.startsWith('-');
  s = s.replace(/^[-+]/, '');
  let [ip, fp = ''] = s.split('.');
  ip = ip.replace(/^0+(?=\d)/, '');
  fp = fp.replace(/0+$/, '');
  if (ip === '0' && fp === '') neg = false;
  return (neg ? '-' : '') + ip + (fp ? '.' + fp : '');
}

function numValue(text) {
  if (text === 'NaN') return NaN;
  if (text === 'Infinity') return Infinity;
  if (text === '-Infinity') return -Infinity;
  return Number(text);
}

function numbersEqual(a, b) {
  if (DEC_RE.test(a.text) && DEC_RE.test(b.text) && canonDecimal(a.text) === canonDecimal(b.text))
    return true;
  if (!a.approx && !b.approx) return false;
  const x = numValue(a.text), y = numValue(b.text);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  const tol = Math.max(a.tol, b.tol);
  return Math.abs(x - y) <= tol * Math.max(Math.abs(x), Math.abs(y)) ||
         Math.abs(x - y) < 1e-300; // both denormal-small
}

// Tarn's JSON strings carry decimals (exact text) as well as text, dates
// and timestamps: DuckDB's column type says which, so that both sides'
// cells are of the same kinds before sorting and comparing.
function coerceTarnCell(c, duckKind) {
  if (c.t !== 'jstr') return c;
  if (duckKind === 'num' && (DEC_RE.test(c.v) || /^-?(Infinity|NaN)$/.test(c.v))) return numCell(c.v, false);
  return {t: 'str', v: c.v};
}

function duckKind(type) {
  return /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/.test(type.toString()) ? 'num' : 'other';
}

// Tarn's cell (coerced) against DuckDB's.
function cellsEqual(d, t) {
  if (d.t === 'null' || t.t === 'null') return d.t === t.t;
  if (d.t === 'num') return t.t === 'num' && numbersEqual(d, t);
  if (d.t === 'bool') return t.t === 'bool' && t.v === d.v;
  if (d.t === 'str') {
    if (t.t !== 'str') return false;
    return t.v === d.v || (DATE_RE.test(d.v) && DATE_RE.test(t.v) && normTimestamp(t.v) === normTimestamp(d.v));
  }
  return false;
}

// A sort key that puts equal rows of either engine next to each other.
function cellKey(c) {
  if (c.t === 'null') return '0';
  if (c.t === 'bool') return 'b' + c.v;
  if (c.t === 'num') {
    const text = c.text;
    if (/^-?\d+$/.test(text)) return 'n' + BigInt(text).toString();
    const x = numValue(text);
    if (Number.isInteger(x) && Math.abs(x) < 2 ** 53) return 'n' + BigInt(x).toString();
    return 'n' + (Number.isFinite(x) ? x.toPrecision(8) : String(x));
  }
  const v = c.v;
  return 's' + (DATE_RE.test(v) ? normTimestamp(v) : v);
}

function rowKey(r) {
  return r.map(cellKey).join('\u0001');
}

function cellText(c) {
  if (c.t === 'null') return 'NULL';
  if (c.t === 'num') return c.text;
  if (c.t === 'bool') return String(c.v);
  return JSON.stringify(c.v);
}

function rowText(r) {
  return '(' + r.map(cellText).join(', ') + ')';
}

// null when equal, else a message naming the first difference.
function compareRows(duckRows, tarnRows, ordered, kinds) {
  if (kinds) tarnRows = tarnRows.map((r) => r.map((c, j) => coerceTarnCell(c, kinds[j])));
  if (duckRows.length !== tarnRows.length)
    return `row counts differ: DuckDB ${duckRows.length}, Tarn ${tarnRows.length}` +
           sampleDiff(duckRows, tarnRows);
  let a = duckRows, b = tarnRows;
  if (!ordered) {
    a = [...duckRows].sort((x, y) => (rowKey(x) < rowKey(y) ? -1 : rowKey(x) > rowKey(y) ? 1 : 0));
    b = [...tarnRows].sort((x, y) => (rowKey(x) < rowKey(y) ? -1 : rowKey(x) > rowKey(y) ? 1 : 0));
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length)
      return `column counts differ: DuckDB ${a[i].length}, Tarn ${b[i].length}`;
    for (let j = 0; j < a[i].length; j++)
      if (!cellsEqual(a[i][j], b[i][j]))
        return `${ordered ? 'row' : 'sorted row'} ${i} column ${j + 1}: DuckDB ${rowText(a[i])}, Tarn ${rowText(b[i])}`;
  }
  return null;
}

function sampleDiff(a, b) {
  const fmt = (rs) => rs.slice(0, 5).map(rowText).join(' ') + (rs.length > 5 ? ' ...' : '');
  return `\n    DuckDB: ${fmt(a)}\n    Tarn:   ${fmt(b)}`;
}

// ---- running ------------------------------------------------------------------------

async function runDuck(conn, sql) {
  try {
    const r = await conn.runAndReadAll(sql);
    const types = r.columnTypes();
    const rows = r.getRows().map((row) => row.map((v, j) => duckCell(v, types[j])));
    return {ok: true, rows, names: r.columnNames(), kinds: types.map(duckKind)};
  } catch (e) {
    return {ok: false, error: String(e.message || e).split('\n')[0]};
  }
}

function parseTarnOutput(stdout) {
  const rows = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    rows.push(parseJsonRow(line).map((c) => c.cell));
  }
  return rows;
}

// One `tarn sql -c` process per statement.
function runTarn(tarn, dataDir, sql, env) {
  const p = spawnSync(tarn, ['sql', '--data', dataDir, '--format', 'json', '-c', sql],
                      {encoding: 'utf8', env, maxBuffer: 256 << 20, timeout: 120000});
  if (p.error) return {ok: false, error: `could not run tarn: ${p.error.message}`, crashed: true};
  if (p.status !== 0) {
    const err = (p.stderr || '').trim().split('\n').filter((l) => !l.startsWith('{"ts"')).join(' | ');
    return {ok: false, error: err || `exit ${p.status}`, crashed: p.status !== 1, status: p.status};
  }
  try {
    return {ok: true, rows: parseTarnOutput(p.stdout)};
  } catch (e) {
    return {ok: false, error: `unreadable output: ${e.message}`, crashed: true};
  }
}

module.exports = {loadCorpus, parseCorpusFile, forTarn, forDuck, runDuck, runTarn, compareRows,
                  parseJsonRow, parseTarnOutput, rowText, cellsEqual, numCell, duckCell};
