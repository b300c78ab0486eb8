// tests/unit/exec/func_cases.js: the scalar function and cast cases of
// test_exec_func.c, each as SQL for DuckDB and as exec expression JSON.
// `node tests/unit/exec/func_cases.js > tests/unit/exec/func_cases.inc`
// (from the repo root) asks DuckDB for every result and writes the C
// table; the test then needs no DuckDB. A case DuckDB rejects expects an
// error from us too.
'use strict';
const duckdb = require('@duckdb/node-api');

const S = (v) => ({const: v, type: 'string'});
const I = (v) => ({const: typeof v === 'string' ? '__RAW' + v : v, type: 'i64'});
const I32 = (v) => ({const: v, type: 'i32'});
const F = (v) => ({const: Number.isFinite(v) ? '__RAW' + (Object.is(v, -0) ? '-0.0' : v.toExponential())
                                            : v > 0 ? 'inf' : '-inf', type: 'f64'});
const D = (v) => ({const: v, type: 'date'});
const T = (v) => ({const: v, type: 'timestamp'});
const DEC = (v, p, s) => ({const: v, type: 'decimal64', precision: p, scale: s});
const NUL = (t) => ({const: null, type: t});
const op = (o, args, extra) => Object.assign({op: o, args}, extra || {});
const cast = (e, t, extra) => op('cast', [e], Object.assign({type: t}, extra || {}));
const sq = (s) => `'${s.replace(/'/g, "''")}'`;

const cases = [];
const add = (sql, json) => cases.push([sql, json]);

const dates = ['2024-02-29', '1969-12-31', '2000-01-01', '2021-01-03', '1900-03-01', '2020-12-31',
               '1970-01-01', '0001-01-01', '9999-12-31', '2024-01-01'];
const stamps = ['1969-12-31 23:59:59.5', '2024-05-17 10:11:12.123456', '1970-01-01 00:00:00',
                '2000-02-29 23:00:01', '1900-01-01 00:00:00.000001'];
const fields = ['year', 'quarter', 'month', 'day', 'dow', 'isodow', 'doy', 'week', 'hour', 'minute',
                'second', 'millisecond', 'microsecond', 'epoch', 'decade', 'century',
                'millennium'];
for (const f of fields) {
  for (const d of dates)
    add(`extract(${f} FROM DATE '${d}')`, op('extract', [D(d)], {field: f}));
  for (const t of stamps)
    add(`extract(${f} FROM TIMESTAMP '${t}')`, op('extract', [T(t)], {field: f}));
}
const units = ['millennium', 'century', 'decade', 'year', 'quarter', 'month', 'week', 'day', 'hour',
               'minute', 'second', 'millisecond', 'microsecond'];
for (const u of units) {
  for (const d of dates.slice(0, 7))
    add(`date_trunc('${u}', DATE '${d}')`,
        op('date_trunc', [D(d)], {part: u, type: 'timestamp'}));
  for (const t of stamps)
    add(`date_trunc('${u}', TIMESTAMP '${t}')`, op('date_trunc', [T(t)], {part: u}));
}
const ivs = [['1 MONTH', 1, 0, 0], ['-1 MONTH', -1, 0, 0], ['1 YEAR', 12, 0, 0],
             ['13 MONTH', 13, 0, 0], ['90 DAY', 0, 90, 0], ['-90 DAY', 0, -90, 0],
             ['36 HOUR', 0, 0, 36 * 3600e6], ['-1 SECOND', 0, 0, -1e6],
             ['100 YEAR', 1200, 0, 0], ['-25 MONTH', -25, 0, 0]];
// "+ INTERVAL -1 MONTH" does not parse in DuckDB: the sign goes outside
const iv = (plus, sql) => ((sql[0] === '-') === plus ? '- ' : '+ ') +
                          `INTERVAL ${sql.replace('-', '')}`;
for (const [sql, m, d, us] of ivs) {
  for (const dt of ['2024-01-31', '2024-02-29', '2023-03-31', '1970-01-01', '1999-12-31'])
    add(`DATE '${dt}' ${iv(true, sql)}`,
        op('add_interval', [D(dt)], {months: m, days: d, micros: us, type: 'timestamp'}));
  for (const t of ['2024-01-31 10:00:00', '1969-12-31 23:59:59.5'])
    add(`TIMESTAMP '${t}' ${iv(true, sql)}`,
        op('add_interval', [T(t)], {months: m, days: d, micros: us}));
  add(`TIMESTAMP '2024-03-31 12:00:00' ${iv(false, sql)}`,
      op('sub_interval', [T('2024-03-31 12:00:00')], {months: m, days: d, micros: us}));
}
// date results (whole days) compared as dates
add(`CAST(DATE '2024-01-31' + INTERVAL 1 MONTH AS DATE)`,
    op('add_interval', [D('2024-01-31')], {months: 1, type: 'date'}));
add(`CAST(DATE '1998-12-01' - INTERVAL 90 DAY AS DATE)`,
    op('sub_interval', [D('1998-12-01')], {days: 90}));

// Not here: Latin Extended-B and beyond (ǅ), which we leave unmapped (func.c).
const strs = ['hello', 'héllo wörld', '', 'ÀÉÎ abc', 'ΑΒΓ δεζ', 'Привет', 'a\u00ffb', 'ĳ Ŀ Ÿ', 'x'];
for (const s of strs) {
  add(`lower(${sq(s)})`, op('lower', [S(s)]));
  add(`upper(${sq(s)})`, op('upper', [S(s)]));
  add(`length(${sq(s)})`, op('length', [S(s)]));
}
for (const s of ['hello', 'héllo', '']) {
  for (const st of [-10, -6, -5, -2, -1, 0, 1, 2, 5, 6, 100]) {
    add(`substr(${sq(s)}, ${st})`, op('substr', [S(s), I(st)]));
    for (const ln of [-3, -1, 0, 1, 2, 100])
      add(`substr(${sq(s)}, ${st}, ${ln})`, op('substr', [S(s), I(st), I32(ln)]));
  }
}
add(`substr('hello', 9223372036854775807, 2)`, op('substr', [S('hello'), I('9223372036854775807'), I(2)]));
add(`concat('a', NULL, 'b')`, op('concat', [S('a'), NUL('string'), S('b')]));
add(`concat(NULL::VARCHAR, NULL::VARCHAR)`, op('concat', [NUL('string'), NUL('string')]));
add(`concat('é', 'x', '')`, op('concat', [S('é'), S('x'), S('')]));
add(`'a' || NULL`, op('||', [S('a'), NUL('string')]));
add(`'a' || 'bc' || ''`, op('||', [S('a'), S('bc'), S('')]));
for (const v of ['0', '5', '-5', '-9223372036854775807'])
  add(`abs(${v}::BIGINT)`, op('abs', [I(v)]));
add(`abs((-9223372036854775807 - 1)::BIGINT)`, op('abs', [I('-9223372036854775808')]));
add(`abs((-2147483647 - 1)::INTEGER)`, op('abs', [I32(-2147483648)]));
add(`abs(-2.5::DOUBLE)`, op('abs', [F(-2.5)]));
add(`abs(-0.0::DOUBLE)`, op('abs', [F(-0.0)]));
add(`abs(-2.50::DECIMAL(10,2))`, op('abs', [DEC(-250, 10, 2)]));
for (const v of [2.5, -2.5, 0.5, 1.4999, 1234.5678, -0.0001, 1e300])
  for (const dg of [null, 0, 1, 2, -1, -2])
    add(dg === null ? `round(${v}::DOUBLE)` : `round(${v}::DOUBLE, ${dg})`,
        op('round', dg === null ? [F(v)] : [F(v), I32(dg)]));
for (const [u, sc] of [[12345, 4], [-12345, 4], [15, 1], [-25, 1], [999999, 2]])
  for (const dg of [0, 1, 2, 5, -1])
    add(`round(${u / 10 ** sc}::DECIMAL(18,${sc}), ${dg})`, op('round', [DEC(u, 18, sc), I32(dg)]));
// Not here: round(2147483647::INTEGER, -1), which DuckDB 1.5 wraps to
// -2147483646; we report the overflow.
for (const v of [15, -15, 25, 2147483640, 0])
  for (const dg of [0, 2, -1, -2])
    add(`round(${v}::INTEGER, ${dg})`, op('round', [I32(v), I32(dg)]));

// % (NULL for a zero divisor, as DuckDB) and date - date (days)
for (const [x, y] of [[7, 3], [-7, 3], [7, -3], [-7, -3], [5, 0], [0, 5], ['-9223372036854775808', -1],
                      ['-9223372036854775808', 7]])
  add(`(${x})::BIGINT % (${y})::BIGINT`.replace('(-9223372036854775808)', '(-9223372036854775807-1)'),
      op('%', [I(x), I(y)]));
for (const [x, y] of [[7.5, 2], [-7.5, 2], [7.5, -2], [5, 0], [0.1, 0.03]])
  add(`(${x})::DOUBLE % (${y})::DOUBLE`, op('%', [F(x), F(y)]));
add(`5.5::DECIMAL(10,1) % 2.0::DECIMAL(10,1)`, op('%', [DEC(55, 10, 1), DEC(20, 10, 1)]));
add(`-5.5::DECIMAL(10,1) % 2.0::DECIMAL(10,1)`, op('%', [DEC(-55, 10, 1), DEC(20, 10, 1)]));
for (const [a, b] of [['2024-03-01', '2024-02-01'], ['1969-12-31', '2000-01-01'], ['2024-01-01', '2024-01-01']])
  add(`DATE '${a}' - DATE '${b}'`, op('-', [D(a), D(b)]));

// casts from text
const texts = ['12', ' 12 ', '-7', '+5', '12.5', '-12.5', '1e3', 'abc', '', '2147483648',
               '9223372036854775807', '9223372036854775808', '0.0001', '1.35', 'inf', 'nan',
               '-Infinity', '1e400', '2024-02-03', '2024-02-30', '2024-02-03 10:11:12',
               '2024-02-03T10:11:12.123456', '2024-02-03 10:11', '2024-2-3', 'true', 'T', 'no',
               'yes', 'maybe', ' 1.5 ', '.5', '5.', '-', '1.2.3'];
const targets = [['INTEGER', 'i32'], ['BIGINT', 'i64'], ['SMALLINT', 'i16'], ['TINYINT', 'i8'],
                 ['DOUBLE', 'f64'], ['REAL', 'f32'], ['DECIMAL(10,1)', 'decimal64', 10, 1],
                 ['DECIMAL(4,2)', 'decimal64', 4, 2], ['DATE', 'date'], ['TIMESTAMP', 'timestamp'],
                 ['BOOLEAN', 'bool']];
// Not here: 'inf' as a date or timestamp (DuckDB has infinite dates, we do not).
for (const t of texts)
  for (const [sqlt, ty, p, s] of targets.filter((x) => !/inf/i.test(t) || !/DATE|TIME/.test(x[0])))
    add(`CAST(${sq(t)} AS ${sqlt})`, cast(S(t), ty, p !== undefined ? {precision: p, scale: s} : {}));
// casts between numbers
const nums = [['2.5::DOUBLE', F(2.5)], ['3.5::DOUBLE', F(3.5)], ['-2.5::DOUBLE', F(-2.5)],
              ['1e300::DOUBLE', F(1e300)], ['2.675::DOUBLE', F(2.675)], ['300::BIGINT', I(300)],
              ['-129::BIGINT', I(-129)], ['2.5::DECIMAL(10,1)', DEC(25, 10, 1)],
              ['-2.5::DECIMAL(10,1)', DEC(-25, 10, 1)], ['123.45::DECIMAL(10,2)', DEC(12345, 10, 2)],
              ['1::BIGINT', I(1)], ['0::BIGINT', I(0)], ['true', {const: true, type: 'bool'}]];
const ntargets = [['INTEGER', 'i32'], ['TINYINT', 'i8'], ['SMALLINT', 'i16'], ['BIGINT', 'i64'],
                  ['DOUBLE', 'f64'], ['REAL', 'f32'], ['DECIMAL(10,2)', 'decimal64', 10, 2],
                  ['DECIMAL(3,0)', 'decimal64', 3, 0], ['DECIMAL(5,3)', 'decimal64', 5, 3],
                  ['BOOLEAN', 'bool'], ['VARCHAR', 'string']];
for (const [sqlv, j] of nums)
  for (const [sqlt, ty, p, s] of ntargets)
    add(`CAST(${sqlv} AS ${sqlt})`, cast(j, ty, p !== undefined ? {precision: p, scale: s} : {}));
// numbers, dates and timestamps to text
for (const v of [1.0, 1e20, 0.1, 123456.789, 1e-7, 1.5e15, 1e16, -0.0, 123456789012345678,
                 0.000123, 1e-5, 0.0001, 1 / 3, -2.5e-300, 5e-324, 1.7976931348623157e308])
  add(`CAST(${v === 0 && 1 / v < 0 ? '-0.0' : v}::DOUBLE AS VARCHAR)`, cast(F(v), 'string'));
add(`CAST('inf'::DOUBLE AS VARCHAR)`, cast(F(Infinity), 'string'));
for (const d of ['2024-02-29', '1969-12-31', '0001-01-01'])
  add(`CAST(DATE '${d}' AS VARCHAR)`, cast(D(d), 'string'));
for (const t of stamps)
  add(`CAST(TIMESTAMP '${t}' AS VARCHAR)`, cast(T(t), 'string'));
for (const t of stamps)
  add(`CAST(TIMESTAMP '${t}' AS DATE)`, cast(T(t), 'date'));
for (const d of dates)
  add(`CAST(DATE '${d}' AS TIMESTAMP)`, cast(D(d), 'timestamp'));
add(`CAST(-1.50::DECIMAL(10,2) AS VARCHAR)`, cast(DEC(-150, 10, 2), 'string'));
add(`CAST(0.05::DECIMAL(10,2) AS VARCHAR)`, cast(DEC(5, 10, 2), 'string'));
add(`CAST(-0.05::DECIMAL(10,2) AS VARCHAR)`, cast(DEC(-5, 10, 2), 'string'));
add(`CAST(7::DECIMAL(10,0) AS VARCHAR)`, cast(DEC(7, 10, 0), 'string'));
add(`CAST(false AS VARCHAR)`, cast({const: false, type: 'bool'}, 'string'));
add(`CAST((-9223372036854775807 - 1)::BIGINT AS VARCHAR)`, cast(I('-9223372036854775808'), 'string'));

function cstr(s) {
  return '"' + Buffer.from(s, 'utf8').toString('latin1').replace(/[\\"]/g, (c) => '\\' + c)
    .replace(/[^\x20-\x7e]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0')) + '"';
}

(async () => {
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const out = ['/* Generated by func_cases.js from DuckDB ' + (await (await c.runAndReadAll('SELECT version()')).getRows())[0][0] + '; do not edit. */'];
  for (const [sql, json] of cases) {
    let want;
    try {
      const r = await c.runAndReadAll(`SELECT CAST((${sql}) AS VARCHAR)`);
      const v = r.getRows()[0][0];
      want = v === null ? 'NULL' : String(v);
    } catch (e) {
      want = 'ERROR';
    }
    const js = JSON.stringify(json).replace(/"__RAW([^"]*)"/g, '$1');
    out.push(`{${cstr(sql)},\n ${cstr(js)},\n ${cstr(want)}},`);
  }
  console.log(out.join('\n'));
})().catch((e) => { console.error(e); process.exit(1); });
