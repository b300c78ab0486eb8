// tests/sql/randgen.js: a seeded random query generator over the test
// tables. Queries are well-typed by construction and their results are
// deterministic (orders broken by unique keys, doubles that are multiples
// of 1/4 so that sums are exact in any order), so any difference between
// engines is a bug in one of them.
//
// Casts to DECIMAL(p,s) may overflow the precision: such a query must fail
// in both engines (expect 'same'). They appear only in select items and
// aggregate arguments, never in WHERE (DuckDB reorders conjuncts, so which
// rows reach a cast there is its choice) nor under a LIMIT (which rows are
// computed is the engine's choice). DISTINCT aggregates run over tm too
// (t in 4 files): a parallel plan on 2 threads, partial and final.
'use strict';

// mulberry32: small, fast, and the same sequence in every node version.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
  return r;
}

// Arithmetic only on INTEGER and BIGINT columns: TINYINT and SMALLINT
// products overflow their own type in DuckDB (they are compared only).
const INT_COLS = ['k', 'n', 'id'];
const SMALL_COLS = ['ti', 'sm'];
const DBL_COLS = ['x'];
const DEC_COLS = ['m'];
const STR_COLS = ['g', 's'];
const STR_CONSTS = ["'red'", "'blue'", "''", "'alpha'", "'Beta1'", "'ünï'", "'gamma2'", "'zeta'"];
const LIKE_PATS = ["'a%'", "'%a%'", "'_e%'", "'%1'", "'%'", "'G%'", "'%ß%'"];

// Expressions of a type; depth bounds nesting. `q` qualifies columns.
function gen(r, q) {
  const col = (c) => (q ? `${q}.${c}` : c);
  const intExpr = (d) => {
    if (d <= 0 || r.chance(0.4))
      return r.chance(0.75) ? col(r.pick(INT_COLS)) : String(r.int(-20, 20));
    switch (r.int(0, 5)) {
      case 0: return `(${intExpr(d - 1)} + ${intExpr(d - 1)})`;
      case 1: return `(${intExpr(d - 1)} - ${intExpr(d - 1)})`;
      case 2: return `(${intExpr(d - 1)} * ${r.int(-3, 3)})`;
      case 3: return `COALESCE(${intExpr(d - 1)}, ${r.int(-5, 5)})`;
      case 4: return `CASE WHEN ${boolExpr(d - 1)} THEN ${intExpr(d - 1)} ELSE ${intExpr(d - 1)} END`;
      default: return `length(${strExpr(d - 1)})`;
    }
  };
  const dblExpr = (d) => {
    if (d <= 0 || r.chance(0.4)) return r.chance(0.7) ? col(r.pick(DBL_COLS)) : `${r.int(-8, 8) / 4}e0`;
    switch (r.int(0, 2)) {
      case 0: return `(${dblExpr(d - 1)} + ${intExpr(d - 1)})`;
      case 1: return `(${dblExpr(d - 1)} * ${r.pick(['2', '0.5e0', '-1'])})`;
      default: return `COALESCE(${dblExpr(d - 1)}, 0e0)`;
    }
  };
  const decExpr = (d) => {
    if (d <= 0 || r.chance(0.5)) return r.chance(0.8) ? col(r.pick(DEC_COLS)) : `${r.int(-500, 500)}.25`;
    return r.chance(0.5) ? `(${decExpr(d - 1)} + ${decExpr(d - 1)})` : `(${decExpr(d - 1)} - ${r.int(0, 9)})`;
  };
  const strExpr = (d) => {
    if (d <= 0 || r.chance(0.5)) return r.chance(0.8) ? col(r.pick(STR_COLS)) : r.pick(STR_CONSTS);
    switch (r.int(0, 4)) {
      case 0: return `lower(${strExpr(d - 1)})`;
      case 1: return `upper(${strExpr(d - 1)})`;
      case 2: return `substr(${strExpr(d - 1)}, ${r.int(1, 3)}, ${r.int(0, 4)})`;
      case 3: return `(${strExpr(d - 1)} || ${strExpr(d - 1)})`;
      default: return `COALESCE(${strExpr(d - 1)}, 'none')`;
    }
  };
  // A cast to a DECIMAL whose precision may be too small for the value.
  const decCastExpr = (d) => {
    const p = r.int(1, 18), sc = r.int(0, Math.min(p, 6));
    const x = r.pick([() => intExpr(d), () => dblExpr(d), () => decExpr(d),
                      () => `'${r.int(-999, 999) / 4}'`]);
    return `CAST(${x()} AS DECIMAL(${p},${sc}))`;
  };
  const dateExpr = (d) => {
    if (d <= 0 || r.chance(0.5)) return col('d');
    return r.chance(0.5) ? `(${col('d')} + ${r.int(-40, 40)})` : `CAST(${col('ts')} AS DATE)`;
  };
  const cmp = () => r.pick(['=', '<>', '<', '<=', '>', '>=']);
  const boolExpr = (d) => {
    const leaf = () => {
      switch (r.int(0, 9)) {
        case 0: return `${intExpr(1)} ${cmp()} ${intExpr(1)}`;
        case 1: return `${dblExpr(1)} ${cmp()} ${r.int(-8, 8) / 2}`;
        case 2: return `${strExpr(1)} ${cmp()} ${r.pick(STR_CONSTS)}`;
        case 3: return `${col(r.pick([...INT_COLS, ...SMALL_COLS, ...STR_COLS, 'x', 'd', 'b', 'm']))} IS ${r.chance(0.5) ? 'NOT ' : ''}NULL`;
        case 4: return `${col(r.pick([...INT_COLS, ...SMALL_COLS]))} ${r.chance(0.3) ? 'NOT ' : ''}BETWEEN ${r.int(-50, 10)} AND ${r.int(0, 200)}`;
        case 5: return `${col('k')} ${r.chance(0.3) ? 'NOT ' : ''}IN (${[r.int(0, 6), r.int(0, 6), r.int(0, 6)].join(', ')})`;
        case 6: return `${col(r.pick(STR_COLS))} ${r.chance(0.3) ? 'NOT ' : ''}LIKE ${r.pick(LIKE_PATS)}`;
        case 7: return `${dateExpr(1)} ${cmp()} DATE '${r.pick(['2020-01-01', '2020-06-30', '2021-02-28', '2021-12-31'])}'`;
        case 8: return `${decExpr(1)} ${cmp()} ${r.int(-300, 300)}.5`;
        default: return r.chance(0.5) ? col('b') : `NOT ${col('b')}`;
      }
    };
    if (d <= 0 || r.chance(0.4)) return leaf();
    switch (r.int(0, 2)) {
      case 0: return `(${boolExpr(d - 1)} AND ${boolExpr(d - 1)})`;
      case 1: return `(${boolExpr(d - 1)} OR ${boolExpr(d - 1)})`;
      default: return `NOT (${boolExpr(d - 1)})`;
    }
  };
  return {intExpr, dblExpr, decExpr, decCastExpr, strExpr, dateExpr, boolExpr};
}

function scalarItem(r, e, i, casts) {
  const kind = r.int(0, casts ? 6 : 5);
  const x = kind === 0 ? e.intExpr(2) : kind === 1 ? e.dblExpr(2) : kind === 2 ? e.decExpr(2)
          : kind === 3 ? e.strExpr(2) : kind === 4 ? e.dateExpr(1) : kind === 5 ? e.boolExpr(1)
          : e.decCastExpr(1);
  return `${x} AS c${i}`;
}

// count/sum/avg(DISTINCT x) of every type (sum and avg of numbers only).
function distinctAgg(r, e, i) {
  const num = r.pick([() => e.intExpr(1), () => e.dblExpr(1), () => e.decExpr(1),
                      () => r.pick(['k', 'n', 'x', 'm', 'ti', 'sm', 'k % 3']), () => e.decCastExpr(0)]);
  switch (r.int(0, 3)) {
    case 0: return `sum(DISTINCT ${num()}) AS a${i}`;
    case 1: return `avg(DISTINCT ${num()}) AS a${i}`;
    case 2: return `count(DISTINCT ${r.pick([num, () => e.strExpr(1), () => e.dateExpr(1),
                                             () => r.pick(['b', 'ts', 'g', 's'])])()}) AS a${i}`;
    default: return `count(DISTINCT ${num()}) AS a${i}`;
  }
}

function aggItem(r, e, i) {
  switch (r.int(0, 10)) {
    case 0: return `count(*) AS a${i}`;
    case 1: return `count(${r.pick(['k', 'g', 's', 'x', 'd', 'm', 'b'])}) AS a${i}`;
    case 2: return `count(DISTINCT ${r.pick(['k', 'g', 'n', 'd', 'x'])}) AS a${i}`;
    case 3: return `sum(${r.chance(0.5) ? e.intExpr(1) : e.dblExpr(1)}) AS a${i}`;
    case 4: return `min(${r.pick(['n', 'x', 'm', 'd', 'ts', 'k'])}) AS a${i}`;
    case 5: return `max(${r.pick(['n', 'x', 'm', 'd', 'ts', 'k'])}) AS a${i}`;
    case 6: return `avg(${r.pick(['n', 'x', 'k', 'ti'])}) AS a${i}`;
    case 7: return `sum(${e.decExpr(1)}) AS a${i}`;
    case 8: return `sum(${e.decCastExpr(1)}) AS a${i}`;
    default: return distinctAgg(r, e, i);
  }
}

// tm is t in 4 files: plans over it run in parallel on 2 threads.
const SOURCES = ['t', "read_parquet('@DATA@/t.parquet')", 'tm'];

// One random query: {sql, ordered}.
function randomQuery(r) {
  const e = gen(r, null);
  const src = r.pick(SOURCES);
  const where = r.chance(0.7) ? ` WHERE ${e.boolExpr(2)}` : '';
  switch (r.int(0, 5)) {
    case 0: { // projection, maybe ordered and limited
      const items = ['id'];
      const casts = r.chance(0.3); // then no LIMIT: every row is cast in both
      for (let i = 0, n = r.int(1, 3); i < n; i++) items.push(scalarItem(r, e, i, casts));
      if (r.chance(0.4)) {
        const dir = r.pick(['', ' DESC']);
        const lim = !casts && r.chance(0.6) ? ` LIMIT ${r.int(0, 30)}${r.chance(0.3) ? ` OFFSET ${r.int(0, 20)}` : ''}` : '';
        return {sql: `SELECT ${items.join(', ')} FROM ${src}${where} ORDER BY id${dir}${lim}`, ordered: true};
      }
      return {sql: `SELECT ${items.join(', ')} FROM ${src}${where}`, ordered: false};
    }
    case 1: { // grouped aggregate
      const key = r.pick(['k', 'g', 'b', 'k % 3', 'extract(month FROM d)', 'lower(g)', 'n > 0']);
      const aggs = [];
      for (let i = 0, n = r.int(1, 3); i < n; i++) aggs.push(aggItem(r, e, i));
      const having = r.chance(0.3) ? ` HAVING count(*) > ${r.int(0, 30)}` : '';
      if (r.chance(0.4))
        return {sql: `SELECT ${key} AS key, ${aggs.join(', ')} FROM ${src}${where} GROUP BY ${key}${having} ORDER BY key NULLS ${r.pick(['FIRST', 'LAST'])}`, ordered: true};
      return {sql: `SELECT ${key} AS key, ${aggs.join(', ')} FROM ${src}${where} GROUP BY ${key}${having}`, ordered: false};
    }
    case 2: { // global aggregate
      const aggs = [];
      for (let i = 0, n = r.int(1, 4); i < n; i++) aggs.push(aggItem(r, e, i));
      return {sql: `SELECT ${aggs.join(', ')} FROM ${src}${where}`, ordered: false};
    }
    case 3: { // join with u
      const jt = r.pick(['JOIN', 'LEFT JOIN']);
      const et = gen(r, 'a');
      const w = r.chance(0.6) ? ` WHERE ${et.boolExpr(1)}` : '';
      if (r.chance(0.5))
        return {sql: `SELECT a.id, b.label, b.w FROM ${src} a ${jt} u b ON a.k = b.k${w}`, ordered: false};
      return {sql: `SELECT b.label, count(*) AS c, sum(a.n) AS s FROM ${src} a ${jt} u b ON a.k = b.k${w} GROUP BY b.label`, ordered: false};
    }
    case 4: { // DISTINCT
      const cols = [];
      for (let i = 0, n = r.int(1, 2); i < n; i++) cols.push(scalarItem(r, e, i, true));
      return {sql: `SELECT DISTINCT ${cols.join(', ')} FROM ${src}${where}`, ordered: false};
    }
    default: { // UNION ALL, subquery, WITH
      const e2 = gen(r, null);
      const a = `SELECT id, ${e.intExpr(1)} AS v FROM t WHERE ${e.boolExpr(1)}`;
      const b = `SELECT id, ${e2.intExpr(1)} AS v FROM ${src} WHERE ${e2.boolExpr(1)}`;
      if (r.chance(0.5)) return {sql: `${a} UNION ALL ${b}`, ordered: false};
      if (r.chance(0.5))
        return {sql: `SELECT count(*) AS c, sum(v) AS s, count(DISTINCT v) AS dv FROM (${a} UNION ALL ${b}) q`, ordered: false};
      return {sql: `WITH q AS (${a}) SELECT v, count(*) AS c FROM q GROUP BY v`, ordered: false};
    }
  }
}

function randomQueries(seed, count) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const q = randomQuery(r);
    // 'same': both answer equal rows, or both fail (a DECIMAL cast overflow)
    out.push({id: `random:${seed}:${i + 1}`, sql: q.sql, ordered: q.ordered, expect: 'same', why: '',
              file: 'random', random: true});
  }
  return out;
}

module.exports = {randomQueries, rng};
