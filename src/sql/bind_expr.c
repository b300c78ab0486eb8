/*
 * sql/bind_expr.c: expressions from the syntax tree to exec's typed
 * expression JSON: names resolved against a relation's columns, literals
 * typed by what they meet, implicit casts inserted (exec wants equal types
 * on both sides), aggregates collected for a grouped SELECT. Rules:
 * src/sql/README.md, "Binder".
 */
#include "sql/bind_int.h"

#include "base/alloc.h"
#include "base/num.h"
#include "sql/literal.h"
#include "sql/parser_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const vec_type_info T_BOOL = {.id = VEC_BOOL};
static const vec_type_info T_I32 = {.id = VEC_I32};
static const vec_type_info T_I64 = {.id = VEC_I64};
static const vec_type_info T_F64 = {.id = VEC_F64};
static const vec_type_info T_STR = {.id = VEC_STRING};
static const vec_type_info T_DATE = {.id = VEC_DATE};
static const vec_type_info T_TS = {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true};

/* ---- errors ---- */

int sql_bind_fail(sql_binder *b, int code, sql_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    b->e->code = code;
    b->e->pos = pos;
    vsnprintf(b->e->msg, sizeof(b->e->msg), fmt, ap);
    va_end(ap);
    b->e->hint[0] = '\0';
    b->e->incomplete = 0;
    return code;
}

int sql_bind_oom(sql_binder *b)
{
    return sql_bind_fail(b, TARN_ENOMEM, b->e->pos, "out of memory while binding");
}

void sql_bind_suggest(sql_binder *b, const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t wn = strlen(word);
    int best_d = wn <= 4 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL)
            continue;
        int d = sqlp_edit_distance(word, wn, cands[i], strlen(cands[i]));
        if (d > 0 && d < best_d) {
            best = cands[i];
            best_d = d;
        }
    }
    if (best != NULL)
        snprintf(b->e->hint, sizeof(b->e->hint), "did you mean \"%s\"?", best);
}

/* ---- types ---- */

bool sql_type_equal(vec_type_info a, vec_type_info b)
{
    return a.id == b.id &&
           (a.id != VEC_DECIMAL64 || (a.scale == b.scale && a.precision == b.precision));
}

static unsigned dec_precision(vec_type_info t)
{
    return t.precision == 0 || t.precision > 18 ? 18 : t.precision;
}

/* Whether a value of type a is a value of type b as it is: the same exec
 * type, and for decimals of equal scale a precision that does not shrink
 * (a narrower DECIMAL(p,s) needs the cast, which checks the digits). */
static bool same_exec_type(vec_type_info a, vec_type_info b)
{
    return a.id == b.id &&
           (a.id != VEC_DECIMAL64 || (a.scale == b.scale && dec_precision(b) >= dec_precision(a)));
}

vec_type_info sql_compute_type(vec_type_info t)
{
    if (t.id == VEC_I8 || t.id == VEC_I16)
        return T_I32;
    if (t.id == VEC_F32)
        return T_F64;
    return t;
}

void sql_json_type(json_t *o, vec_type_info t)
{
    json_object_set_new(o, "type", json_string(vec_type_name(t.id)));
    if (t.id == VEC_DECIMAL64 || t.id == VEC_DECIMAL128) {
        json_object_set_new(o, "precision", json_integer(t.precision));
        json_object_set_new(o, "scale", json_integer(t.scale));
    }
}

/* A widening cast of an integer or decimal constant (INTEGER -> BIGINT,
 * to a DECIMAL of at least its scale) done now instead of per batch. NULL
 * when j is not such a constant or the value does not fit `to` (then the
 * cast runs in exec and reports it). */
static json_t *fold_const_cast(const json_t *j, vec_type_info from, vec_type_info to)
{
    const json_t *k = json_object_get(j, "const");
    bool from_ok = from.id == VEC_I32 || from.id == VEC_I64 || from.id == VEC_DECIMAL64;
    if (!json_is_integer(k) || !from_ok || (to.id != VEC_I64 && to.id != VEC_DECIMAL64))
        return NULL;
    int fs = from.id == VEC_DECIMAL64 ? from.scale : 0, ts = to.id == VEC_DECIMAL64 ? to.scale : 0;
    if (ts < fs || ts > 18 || (to.id == VEC_DECIMAL64 && (to.precision < 1 || to.precision > 18)))
        return NULL;
    int64_t v = json_integer_value(k);
    for (int i = fs; i < ts; i++)
        if (__builtin_mul_overflow(v, 10, &v))
            return NULL;
    if (to.id == VEC_DECIMAL64) {
        int64_t lim = 1;
        for (int i = 0; i < to.precision; i++)
            lim *= 10;
        if (v >= lim || v <= -lim)
            return NULL;
    }
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "const", json_integer(v));
    sql_json_type(o, to);
    return o;
}

json_t *sql_cast_json(json_t *j, vec_type_info from, vec_type_info to)
{
    if (j == NULL || same_exec_type(from, to))
        return j;
    json_t *folded = fold_const_cast(j, from, to);
    if (folded != NULL) {
        json_decref(j);
        return folded;
    }
    json_t *o = json_object();
    if (o == NULL) {
        json_decref(j);
        return NULL;
    }
    json_object_set_new(o, "op", json_string("cast"));
    sql_json_type(o, to);
    json_object_set_new(o, "args", json_pack("[o]", j));
    return o;
}

static bool is_int(vec_type_info t)
{
    return t.id == VEC_I32 || t.id == VEC_I64;
}

static bool is_numeric(vec_type_info t)
{
    return is_int(t) || t.id == VEC_F64 || t.id == VEC_DECIMAL64;
}

static json_t *const_json(json_t *v, vec_type_info t)
{
    json_t *o = json_object();
    json_object_set_new(o, "const", v);
    sql_json_type(o, t);
    return o;
}

static vec_type_info dec_type(uint8_t scale)
{
    return (vec_type_info){.id = VEC_DECIMAL64, .precision = 18, .scale = scale};
}

/* Decimal literal text ("12.50", ".5", "5.") to an unscaled value; -1
 * when it has more than 18 digits. */
static int dec_parse(const char *s, int64_t *unscaled, uint8_t *scale)
{
    int64_t v = 0;
    int digits = 0, frac = -1;
    for (; *s; s++) {
        if (*s == '.') {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return -1;
        if (digits > 0 || *s != '0')
            digits++;
        if (digits > 18)
            return -1;
        v = v * 10 + (*s - '0');
        if (frac >= 0)
            frac++;
    }
    *unscaled = v;
    *scale = (uint8_t)(frac < 0 ? 0 : frac);
    return 0;
}

/* ---- literals ---- */

static int lit_set(sql_bctx *c, sql_bx *x, json_t *j)
{
    x->j = j;
    return j == NULL ? sql_bind_oom(c->b) : 0;
}

static int bind_literal(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    memset(x, 0, sizeof(*x));
    switch (n->u.lit.kind) {
    case SQL_LIT_NULL:
        x->lc = SQL_LC_NULL;
        x->t = T_I32;
        return lit_set(c, x, const_json(json_null(), T_I32));
    case SQL_LIT_BOOL:
        x->t = T_BOOL;
        return lit_set(c, x, const_json(json_boolean(n->u.lit.bval), T_BOOL));
    case SQL_LIT_INT:
        x->lc = SQL_LC_INT;
        x->ival = n->u.lit.ival;
        x->t = T_I64;
        return lit_set(c, x, const_json(json_integer(x->ival), T_I64));
    case SQL_LIT_DECIMAL:
        if (dec_parse(n->u.lit.text, &x->ival, &x->t.scale) == 0) {
            x->lc = SQL_LC_DEC;
            x->dval = n->u.lit.dval;
            x->t = dec_type(x->t.scale);
            return lit_set(c, x, const_json(json_integer(x->ival), x->t));
        }
        /* too many digits for decimal64: a double */
        __attribute__((fallthrough));
    case SQL_LIT_DOUBLE:
        x->lc = SQL_LC_DBL;
        x->dval = n->u.lit.dval;
        x->t = T_F64;
        return lit_set(c, x, const_json(json_real(x->dval), T_F64));
    case SQL_LIT_STRING:
        x->lc = SQL_LC_STR;
        x->str = n->u.lit.str;
        x->t = T_STR;
        return lit_set(c, x, const_json(json_string(x->str), T_STR));
    case SQL_LIT_DATE:
        x->t = T_DATE;
        return lit_set(c, x, const_json(json_integer(n->u.lit.ival), T_DATE));
    case SQL_LIT_TIMESTAMP:
        x->t = T_TS;
        return lit_set(c, x, const_json(json_integer(n->u.lit.ival), T_TS));
    case SQL_LIT_INTERVAL:
    default:
        return sql_bind_fail(c->b, TARN_ENOTSUP, n->pos,
                             "INTERVAL values are only supported in date arithmetic, which the "
                             "executor does not evaluate yet");
    }
}

void sql_bx_free(sql_bx *x)
{
    json_decref(x->j);
    x->j = NULL;
}

/* unscaled v at scale vs rescaled to t's scale (vs <= t.scale) in *out;
 * false when it does not fit t's precision (DuckDB's rule: |value| <
 * 10^(p-s)). */
static bool dec_fits(int64_t v, unsigned vs, vec_type_info t, int64_t *out)
{
    /* precision <= 18 and vs <= scale <= 18: both within the table */
    int64_t r, lim = tarn_pow10_i64[dec_precision(t)];
    if (__builtin_mul_overflow(v, tarn_pow10_i64[t.scale - vs], &r) || r >= lim || r <= -lim)
        return false;
    *out = r;
    return true;
}

/* A literal that does not fit t is left to exec's cast (return 1), whose
 * error comes only when a row is cast, as in DuckDB: `CASE WHEN k > 100
 * THEN CAST(1234 AS DECIMAL(3,1)) END` is NULL where no k is over 100. */
static int retype_int(sql_bctx *c, sql_bx *x, vec_type_info t, sql_pos pos)
{
    (void)pos;
    int64_t v = x->ival;
    if (t.id == VEC_I32 && (v < INT32_MIN || v > INT32_MAX))
        return 1;
    if (t.id == VEC_F64)
        return lit_set(c, x, const_json(json_real((double)v), t));
    if (t.id == VEC_DECIMAL64) {
        int64_t r;
        return dec_fits(v, 0, t, &r) ? lit_set(c, x, const_json(json_integer(r), t)) : 1;
    }
    if (!is_int(t))
        return 1;
    return lit_set(c, x, const_json(json_integer(v), t));
}

static int retype_str(sql_bctx *c, sql_bx *x, vec_type_info t, sql_pos pos)
{
    int64_t v;
    size_t n = strlen(x->str);
    if (t.id == VEC_DATE) {
        if (sql_lit_parse_date(x->str, n, &v) != 0)
            return sql_bind_fail(c->b, TARN_EINVAL, pos, "invalid DATE '%s': expected 'YYYY-MM-DD'",
                                 x->str);
        return lit_set(c, x, const_json(json_integer(v), t));
    }
    if (t.id == VEC_TIMESTAMP) {
        if (sql_lit_parse_timestamp(x->str, n, &v) != 0)
            return sql_bind_fail(c->b, TARN_EINVAL, pos,
                                 "invalid TIMESTAMP '%s': expected 'YYYY-MM-DD HH:MM:SS[.ffffff]'",
                                 x->str);
        return lit_set(c, x, const_json(json_integer(v), t));
    }
    return 1;
}

/* Retypes an open literal to t in place: 0 done, 1 not possible this way
 * (a cast is needed; x unchanged), or an error. x->j is replaced, not
 * freed: the caller holds the old one. */
static int retype_literal(sql_bctx *c, sql_bx *x, vec_type_info t, sql_pos pos)
{
    int rc = 1;
    switch (x->lc) {
    case SQL_LC_NULL:
        rc = lit_set(c, x, const_json(json_null(), t));
        break;
    case SQL_LC_INT:
        rc = retype_int(c, x, t, pos);
        break;
    case SQL_LC_DEC:
        if (t.id == VEC_F64)
            rc = lit_set(c, x, const_json(json_real(x->dval), t));
        else if (t.id == VEC_DECIMAL64 && t.scale >= x->t.scale) {
            int64_t r; /* 1 when it does not fit: exec's cast reports it */
            rc = dec_fits(x->ival, x->t.scale, t, &r)
                     ? lit_set(c, x, const_json(json_integer(r), t))
                     : 1;
        }
        break;
    case SQL_LC_DBL:
        if (t.id == VEC_F64)
            rc = lit_set(c, x, const_json(json_real(x->dval), t));
        break;
    case SQL_LC_STR:
        rc = t.id == VEC_STRING ? lit_set(c, x, const_json(json_string(x->str), t))
                                : retype_str(c, x, t, pos);
        break;
    default:
        break;
    }
    if (rc == 0) {
        x->t = t;
        x->lc = SQL_LC_NONE;
    }
    return rc;
}

int sql_bx_close(sql_bctx *c, sql_bx *x, sql_pos pos)
{
    (void)c;
    (void)pos;
    x->lc = SQL_LC_NONE;
    return 0;
}

int sql_bx_as(sql_bctx *c, sql_bx *x, vec_type_info t, sql_pos pos)
{
    if (x->lc != SQL_LC_NONE) {
        json_t *old = x->j;
        x->j = NULL;
        int rc = retype_literal(c, x, t, pos);
        if (rc != 1) {
            json_decref(old);
            return rc;
        }
        x->j = old;
    }
    x->lc = SQL_LC_NONE;
    if (same_exec_type(x->t, t)) {
        x->t = t;
        return 0;
    }
    x->j = sql_cast_json(x->j, x->t, t);
    x->t = t;
    return x->j == NULL ? sql_bind_oom(c->b) : 0;
}

static const char *tname(vec_type_info t, char *buf)
{
    return sql_type_name(t, buf, 40);
}

/* The numeric type both sides convert to, when both are numeric. */
static bool numeric_common(const sql_bx *a, const sql_bx *b, vec_type_info *out)
{
    vec_type_info ta = a->t, tb = b->t;
    if (!is_numeric(ta) || !is_numeric(tb))
        return false;
    if (ta.id == VEC_F64 || tb.id == VEC_F64) {
        *out = T_F64;
    } else if (ta.id == VEC_DECIMAL64 || tb.id == VEC_DECIMAL64) {
        uint8_t s = ta.id == VEC_DECIMAL64 ? ta.scale : 0;
        if (tb.id == VEC_DECIMAL64 && tb.scale > s)
            s = tb.scale;
        *out = dec_type(s);
    } else if (ta.id == VEC_I32 && tb.id == VEC_I32) {
        *out = T_I32;
    } else if (a->lc == SQL_LC_INT && tb.id == VEC_I32 && a->ival >= INT32_MIN &&
               a->ival <= INT32_MAX) {
        *out = T_I32; /* int_col = 5 compares as int */
    } else if (b->lc == SQL_LC_INT && ta.id == VEC_I32 && b->ival >= INT32_MIN &&
               b->ival <= INT32_MAX) {
        *out = T_I32;
    } else {
        *out = T_I64;
    }
    return true;
}

int sql_unify(sql_bctx *c, sql_bx *a, sql_bx *b, sql_pos pos, vec_type_info *out)
{
    char b1[40], b2[40];
    if (a->lc == SQL_LC_NULL && b->lc == SQL_LC_NULL)
        *out = T_I32;
    else if (a->lc == SQL_LC_NULL)
        *out = b->t;
    else if (b->lc == SQL_LC_NULL)
        *out = a->t;
    else if (numeric_common(a, b, out))
        ;
    else if (a->lc == SQL_LC_STR && (b->t.id == VEC_DATE || b->t.id == VEC_TIMESTAMP))
        *out = b->t;
    else if (b->lc == SQL_LC_STR && (a->t.id == VEC_DATE || a->t.id == VEC_TIMESTAMP))
        *out = a->t;
    else if ((a->t.id == VEC_DATE && b->t.id == VEC_TIMESTAMP) ||
             (a->t.id == VEC_TIMESTAMP && b->t.id == VEC_DATE))
        *out = T_TS;
    else if (a->t.id == b->t.id && !is_numeric(a->t))
        *out = a->t;
    else
        return sql_bind_fail(c->b, TARN_EINVAL, pos, "cannot combine %s and %s (add a CAST)",
                             tname(a->t, b1), tname(b->t, b2));
    /* Integer literals fold to the side's type; an open literal against
     * another open literal settles on the common type too. */
    int rc = sql_bx_as(c, a, *out, pos);
    return rc != 0 ? rc : sql_bx_as(c, b, *out, pos);
}

/* ---- names ---- */

static bool name_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int column_not_found(sql_bctx *c, const sql_node *n)
{
    const sql_rel *r = c->scope;
    const char *qual = n->u.column.table.folded;
    if (qual != NULL) {
        bool known = false;
        for (uint32_t i = 0; i < r->n && !known; i++)
            known = name_eq(r->cols[i].qual, qual);
        if (!known) {
            sql_bind_fail(c->b, TARN_ENOENT, n->pos, "table \"%s\" is not in the FROM clause",
                          n->u.column.table.text);
            const char **q = tarn_calloc(r->n ? r->n : 1, sizeof(*q));
            for (uint32_t i = 0; q && i < r->n; i++)
                q[i] = r->cols[i].qual;
            if (q)
                sql_bind_suggest(c->b, qual, q, r->n);
            tarn_free(q);
            return TARN_ENOENT;
        }
    }
    sql_bind_fail(c->b, TARN_ENOENT, n->u.column.column.pos, "column \"%s\" not found",
                  n->u.column.column.text);
    const char **names = tarn_calloc(r->n ? r->n : 1, sizeof(*names));
    for (uint32_t i = 0; names && i < r->n; i++)
        if (qual == NULL || name_eq(r->cols[i].qual, qual))
            names[i] = r->cols[i].name;
    if (names)
        sql_bind_suggest(c->b, n->u.column.column.folded, names, r->n);
    tarn_free(names);
    return TARN_ENOENT;
}

static int bind_column(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    const sql_rel *r = c->scope;
    const char *qual = n->u.column.table.folded, *name = n->u.column.column.folded;
    int found = -1;
    for (uint32_t i = 0; i < r->n; i++) {
        if (!name_eq(r->cols[i].name, name) || (qual != NULL && !name_eq(r->cols[i].qual, qual)))
            continue;
        if (found >= 0)
            return sql_bind_fail(c->b, TARN_EINVAL, n->pos,
                                 "column \"%s\" is ambiguous (qualify it with its table)",
                                 n->u.column.column.text);
        found = (int)i;
    }
    if (found < 0)
        return column_not_found(c, n);
    memset(x, 0, sizeof(*x));
    if (r->cols[found].tab >= 0)
        c->b->tabs[r->cols[found].tab]->used[r->cols[found].tcol] = true;
    x->t = r->cols[found].type;
    x->j = json_pack("{s:i}", "col", (json_int_t)found);
    return x->j == NULL ? sql_bind_oom(c->b) : 0;
}

/* ---- operators ---- */

static json_t *op_json(const char *op, json_t *args)
{
    return json_pack("{s:s,s:o}", "op", op, "args", args);
}

static int bind_bool(sql_bctx *c, const sql_node *n, sql_bx *x, const char *what)
{
    int rc = sql_bind_expr(c, n, x);
    if (rc != 0)
        return rc;
    if (x->lc == SQL_LC_NULL)
        return sql_bx_as(c, x, T_BOOL, n->pos);
    char buf[40];
    if (x->t.id != VEC_BOOL) {
        sql_bx_free(x);
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s must be BOOLEAN, not %s", what,
                             tname(x->t, buf));
    }
    return 0;
}

static const char *const cmp_ops[] = {[SQL_OP_EQ] = "=",  [SQL_OP_NE] = "<>", [SQL_OP_LT] = "<",
                                      [SQL_OP_LE] = "<=", [SQL_OP_GT] = ">",  [SQL_OP_GE] = ">="};

static int bind_pair(sql_bctx *c, const sql_node *l, const sql_node *r, sql_bx *a, sql_bx *b)
{
    int rc = sql_bind_expr(c, l, a);
    if (rc != 0)
        return rc;
    if ((rc = sql_bind_expr(c, r, b)) != 0)
        sql_bx_free(a);
    return rc;
}

static int finish(sql_bctx *c, sql_bx *x, json_t *j, vec_type_info t)
{
    memset(x, 0, sizeof(*x));
    x->j = j;
    x->t = t;
    return j == NULL ? sql_bind_oom(c->b) : 0;
}

/* A DATE compared with a TIMESTAMP constant at midnight compares as
 * DATEs: CAST(d AS TIMESTAMP) op midnight(X) is d op X for every op (the
 * cast is monotonic and one-to-one), without a cast per row, and
 * `column op constant` prunes. */
static void date_vs_midnight(const sql_bx *d, sql_bx *ts)
{
    if (d->t.id != VEC_DATE || ts->t.id != VEC_TIMESTAMP || ts->lc != SQL_LC_NONE)
        return;
    json_t *v = json_object_get(ts->j, "const");
    const char *ty = json_string_value(json_object_get(ts->j, "type"));
    if (!json_is_integer(v) || ty == NULL || strcmp(ty, "timestamp") != 0 ||
        json_integer_value(v) % 86400000000LL != 0)
        return;
    json_t *dj = const_json(json_integer(json_integer_value(v) / 86400000000LL), T_DATE);
    if (dj == NULL)
        return; /* out of memory: the cast compare is still right */
    json_decref(ts->j);
    ts->j = dj;
    ts->t = T_DATE;
}

static int bind_compare(sql_bctx *c, const sql_node *n, const char *op, sql_bx *x)
{
    sql_bx a, b;
    vec_type_info t;
    int rc = bind_pair(c, n->u.binary.left, n->u.binary.right, &a, &b);
    if (rc == 0) {
        date_vs_midnight(&a, &b);
        date_vs_midnight(&b, &a);
    }
    if (rc == 0 && (rc = sql_unify(c, &a, &b, n->op_pos, &t)) != 0) {
        sql_bx_free(&a);
        sql_bx_free(&b);
    }
    if (rc != 0)
        return rc;
    return finish(c, x, op_json(op, json_pack("[oo]", a.j, b.j)), T_BOOL);
}

static int arith_type(sql_bctx *c, const sql_node *n, sql_bx *a, sql_bx *b, vec_type_info *t)
{
    char b1[40], b2[40];
    sql_op op = n->u.binary.op;
    if (a->lc == SQL_LC_NULL && b->lc == SQL_LC_NULL) {
        *t = T_I64;
    } else if (!numeric_common(a, b, t) && a->lc != SQL_LC_NULL && b->lc != SQL_LC_NULL) {
        if (a->t.id == VEC_DATE || a->t.id == VEC_TIMESTAMP || b->t.id == VEC_DATE ||
            b->t.id == VEC_TIMESTAMP)
            return sql_bind_fail(c->b, TARN_ENOTSUP, n->op_pos,
                                 "date arithmetic (%s %s %s) is not evaluated by the executor yet",
                                 tname(a->t, b1), sql_op_sql(op), tname(b->t, b2));
        return sql_bind_fail(c->b, TARN_EINVAL, n->op_pos, "cannot apply %s to %s and %s",
                             sql_op_sql(op), tname(a->t, b1), tname(b->t, b2));
    } else if (a->lc == SQL_LC_NULL || b->lc == SQL_LC_NULL) {
        *t = sql_compute_type(a->lc == SQL_LC_NULL ? b->t : a->t);
        if (!is_numeric(*t))
            return sql_bind_fail(c->b, TARN_EINVAL, n->op_pos, "cannot apply %s to %s",
                                 sql_op_sql(op), tname(*t, b1));
    }
    if (t->id == VEC_I32)
        *t = T_I64; /* exec adds 64-bit integers (overflow checked) */
    if (op == SQL_OP_DIV && t->id != VEC_F64)
        *t = T_F64; /* `/` divides as double, as DuckDB does */
    return 0;
}

/* An integer divisor of zero is an error (SQL's rule; DuckDB gives NULL):
 * CASE WHEN a_i64 / b_i64 IS NULL THEN NULL ELSE a / b END, whose
 * integer division fails at a live, valid zero divisor. */
static json_t *guard_int_div(json_t *quot, const sql_bx *a, const sql_bx *b)
{
    json_t *ia = sql_cast_json(json_deep_copy(a->j), a->t, T_I64);
    json_t *ib = sql_cast_json(json_deep_copy(b->j), b->t, T_I64);
    json_t *check = op_json("is_null", json_pack("[o]", op_json("/", json_pack("[oo]", ia, ib))));
    json_t *null = const_json(json_null(), T_F64);
    return op_json("case", json_pack("[ooo]", check, null, quot));
}

/* DATE +/- integer: days (DuckDB gives a DATE). */
static int date_plus_days(sql_bctx *c, const sql_node *n, sql_bx *d, sql_bx *k, sql_bx *x)
{
    sql_op op = n->u.binary.op;
    if (k->lc != SQL_LC_INT || (op == SQL_OP_SUB && d->t.id != VEC_DATE)) {
        sql_bx_free(d);
        sql_bx_free(k);
        return sql_bind_fail(c->b, TARN_ENOTSUP, n->op_pos,
                             "date arithmetic other than DATE +/- an integer constant or an "
                             "INTERVAL is not evaluated yet");
    }
    int64_t days = k->ival;
    sql_bx_free(k);
    json_t *j = json_pack("{s:s,s:i,s:I,s:i,s:[o],s:s}", "op",
                          op == SQL_OP_SUB ? "sub_interval" : "add_interval", "months", 0, "days",
                          (json_int_t)days, "micros", 0, "args", d->j, "type", "date");
    return finish(c, x, j, T_DATE);
}

/* The value of a constant `{"const": integer, "type": t}` of a BIGINT or
 * DECIMAL type; false for anything else. */
static bool const_int_of(const json_t *j, int64_t *v)
{
    const json_t *k = json_object_get(j, "const");
    const char *ty = json_string_value(json_object_get(j, "type"));
    if (!json_is_integer(k) || ty == NULL ||
        (strcmp(ty, "i64") != 0 && strcmp(ty, "decimal64") != 0))
        return false;
    *v = json_integer_value(k);
    return true;
}

/* Constant + - * constant (BIGINT, or DECIMAL with the operands already at
 * the scales exec would use) computed now, so that a filter such as Q6's
 * `BETWEEN 0.06 - 0.01 AND 0.06 + 0.01` compares with a constant instead
 * of evaluating the arithmetic for every batch. NULL when not constant,
 * or when the result would overflow (then exec reports it when it runs). */
static json_t *fold_const_arith(sql_op op, const json_t *a, const json_t *b, vec_type_info res)
{
    int64_t x, y, v;
    if ((op != SQL_OP_ADD && op != SQL_OP_SUB && op != SQL_OP_MUL) || !const_int_of(a, &x) ||
        !const_int_of(b, &y) || (res.id != VEC_I64 && res.id != VEC_DECIMAL64))
        return NULL;
    bool over = op == SQL_OP_ADD   ? __builtin_add_overflow(x, y, &v)
                : op == SQL_OP_SUB ? __builtin_sub_overflow(x, y, &v)
                                   : __builtin_mul_overflow(x, y, &v);
    if (over ||
        (res.id == VEC_DECIMAL64 && (v > 999999999999999999LL || v < -999999999999999999LL)))
        return NULL;
    return const_json(json_integer(v), res);
}

/* A BIGINT operand makes DuckDB's decimal result DECIMAL(19+) (128-bit),
 * which does not stop at 18 digits: exec's "wide" arithmetic holds such a
 * result to int64's range instead (its nearest). Integer literals are
 * INTEGERs to DuckDB when they fit one. */
static bool is_bigint_operand(const sql_bx *x)
{
    if (x->lc == SQL_LC_INT)
        return x->ival < INT32_MIN || x->ival > INT32_MAX;
    return x->t.id == VEC_I64;
}

static int bind_arith(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_op op = n->u.binary.op;
    const sql_node *l = n->u.binary.left, *r = n->u.binary.right;
    if (op == SQL_OP_CONCAT)
        return sql_bind_concat_op(c, n, x);
    bool riv = r->kind == SQL_LITERAL && r->u.lit.kind == SQL_LIT_INTERVAL;
    bool liv = l->kind == SQL_LITERAL && l->u.lit.kind == SQL_LIT_INTERVAL;
    if ((op == SQL_OP_ADD || op == SQL_OP_SUB) && riv)
        return sql_bind_interval_arith(c, n, l, r, x);
    if (op == SQL_OP_ADD && liv)
        return sql_bind_interval_arith(c, n, r, l, x);
    sql_bx a, b;
    vec_type_info t;
    int rc = bind_pair(c, n->u.binary.left, n->u.binary.right, &a, &b);
    if (rc != 0)
        return rc;
    if (op == SQL_OP_SUB && a.t.id == VEC_DATE && b.t.id == VEC_DATE && a.lc != SQL_LC_STR &&
        b.lc != SQL_LC_STR) /* DATE - DATE: days between, a BIGINT (DuckDB) */
        return finish(c, x, op_json("-", json_pack("[oo]", a.j, b.j)), T_I64);
    if ((op == SQL_OP_ADD || op == SQL_OP_SUB) && a.t.id == VEC_DATE && b.lc != SQL_LC_STR &&
        (is_int(b.t) || b.t.id == VEC_DATE))
        return date_plus_days(c, n, &a, &b, x);
    if (op == SQL_OP_ADD && b.t.id == VEC_DATE && is_int(a.t))
        return date_plus_days(c, n, &b, &a, x);
    /* INTEGER op INTEGER stays INTEGER (computed in 64 bits, then checked
     * back into 32: overflow is an error, as in DuckDB). */
    vec_type_info narrow;
    bool both_i32 = op != SQL_OP_DIV && numeric_common(&a, &b, &narrow) && narrow.id == VEC_I32;
    bool int_div = op == SQL_OP_DIV && is_int(a.t) && is_int(b.t);
    bool wide = is_bigint_operand(&a) || is_bigint_operand(&b);
    rc = arith_type(c, n, &a, &b, &t);
    /* the integer operands, for the zero-divisor guard */
    sql_bx ia = {0}, ib = {0};
    if (rc == 0 && int_div) {
        ia = a;
        ib = b;
        ia.j = json_deep_copy(a.j);
        ib.j = json_deep_copy(b.j);
        if (a.lc == SQL_LC_INT)
            ia.t = T_I64;
        if (b.lc == SQL_LC_INT)
            ib.t = T_I64;
    }
    vec_type_info ta = t, tb = t, res = t;
    if (rc == 0 && op == SQL_OP_MUL && t.id == VEC_DECIMAL64) {
        /* decimal products add the scales: each side keeps its own */
        ta = a.t.id == VEC_DECIMAL64 ? a.t : dec_type(0);
        tb = b.t.id == VEC_DECIMAL64 ? b.t : dec_type(0);
        res = dec_type((uint8_t)(ta.scale + tb.scale));
        if (res.scale > 18)
            rc =
                sql_bind_fail(c->b, TARN_ENOTSUP, n->op_pos,
                              "decimal product with scale %u (over 18): cast to DOUBLE", res.scale);
    }
    if (rc == 0)
        rc = sql_bx_as(c, &a, ta, n->op_pos);
    if (rc == 0)
        rc = sql_bx_as(c, &b, tb, n->op_pos);
    if (rc != 0) {
        sql_bx_free(&a);
        sql_bx_free(&b);
        sql_bx_free(&ia);
        sql_bx_free(&ib);
        return rc;
    }
    if (int_div) {
        json_t *q = op_json("/", json_pack("[oo]", a.j, b.j));
        json_t *g = guard_int_div(q, &ia, &ib);
        sql_bx_free(&ia);
        sql_bx_free(&ib);
        return finish(c, x, g, res);
    }
    json_t *folded = both_i32 ? NULL : fold_const_arith(op, a.j, b.j, res);
    if (folded != NULL) {
        json_decref(a.j);
        json_decref(b.j);
        return finish(c, x, folded, res);
    }
    json_t *j = op_json(sql_op_sql(op), json_pack("[oo]", a.j, b.j));
    if (j != NULL && wide && res.id == VEC_DECIMAL64)
        json_object_set_new(j, "wide", json_true());
    if (both_i32)
        return finish(c, x, sql_cast_json(j, T_I64, T_I32), T_I32);
    return finish(c, x, j, res);
}

static int bind_logic(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_bx a, b;
    const char *what = n->u.binary.op == SQL_OP_AND ? "an AND operand" : "an OR operand";
    int rc = bind_bool(c, n->u.binary.left, &a, what);
    if (rc != 0)
        return rc;
    if ((rc = bind_bool(c, n->u.binary.right, &b, what)) != 0) {
        sql_bx_free(&a);
        return rc;
    }
    const char *op = n->u.binary.op == SQL_OP_AND ? "and" : "or";
    return finish(c, x, op_json(op, json_pack("[oo]", a.j, b.j)), T_BOOL);
}

static int bind_binary(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_op op = n->u.binary.op;
    if (op == SQL_OP_AND || op == SQL_OP_OR)
        return bind_logic(c, n, x);
    if (op >= SQL_OP_EQ && op <= SQL_OP_GE)
        return bind_compare(c, n, cmp_ops[op], x);
    return bind_arith(c, n, x);
}

static int bind_unary(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_op op = n->u.unary.op;
    if (op == SQL_OP_NOT) {
        sql_bx a;
        int rc = bind_bool(c, n->u.unary.arg, &a, "the operand of NOT");
        return rc != 0 ? rc : finish(c, x, op_json("not", json_pack("[o]", a.j)), T_BOOL);
    }
    const sql_node *arg = n->u.unary.arg;
    if (op == SQL_OP_NEG && arg->kind == SQL_LITERAL && arg->u.lit.kind == SQL_LIT_DECIMAL &&
        strcmp(arg->u.lit.text, "9223372036854775808") == 0) {
        /* (neg 9223372036854775808): the one integer only its negation fits */
        int rc = finish(c, x, const_json(json_integer(INT64_MIN), T_I64), T_I64);
        x->lc = SQL_LC_INT;
        x->ival = INT64_MIN;
        return rc;
    }
    int rc = sql_bind_expr(c, arg, x);
    if (rc != 0 || op == SQL_OP_PLUS)
        return rc;
    /* Negation: fold literals (so -9223372036854775808 is a BIGINT), else 0 - x. */
    if ((x->lc == SQL_LC_INT || x->lc == SQL_LC_DEC) && x->ival == INT64_MIN) {
        sql_bx_free(x);
        return sql_bind_fail(c->b, TARN_ERANGE, n->pos, "integer overflow in negation");
    }
    if (x->lc == SQL_LC_INT || x->lc == SQL_LC_DEC) {
        x->ival = -x->ival;
        json_object_set_new(x->j, "const", json_integer(x->ival));
        x->dval = -x->dval;
        return 0;
    }
    if (x->lc == SQL_LC_DBL ||
        (x->lc == SQL_LC_NONE && x->t.id == VEC_F64 && json_object_get(x->j, "const") != NULL)) {
        x->dval = -x->dval;
        json_object_set_new(x->j, "const", json_real(x->dval));
        return 0;
    }
    if (x->lc == SQL_LC_NULL)
        return 0;
    char buf[40];
    vec_type_info t = x->t.id == VEC_I32 ? T_I64 : x->t;
    if (!is_numeric(t)) {
        sql_bx_free(x);
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "cannot negate %s", tname(x->t, buf));
    }
    json_t *zero = t.id == VEC_F64 ? json_real(0) : json_integer(0);
    json_t *j = sql_cast_json(x->j, x->t, t);
    return finish(c, x, op_json("-", json_pack("[oo]", const_json(zero, t), j)), t);
}

/* ---- predicates ---- */

static int bind_is_null(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_bx a;
    int rc = sql_bind_expr(c, n->u.is_null.arg, &a);
    if (rc == 0 && a.lc != SQL_LC_NONE)
        rc = sql_bx_as(c, &a, a.lc == SQL_LC_NULL ? T_BOOL : a.t, n->pos);
    if (rc != 0)
        return rc;
    const char *op = n->u.is_null.negated ? "is_not_null" : "is_null";
    return finish(c, x, op_json(op, json_pack("[o]", a.j)), T_BOOL);
}

static json_t *negate_if(json_t *j, int negated)
{
    return negated ? op_json("not", json_pack("[o]", j)) : j;
}

/* Binds a list of expressions and converts them all to one common type
 * (the first's, widened by each next one). */
static int bind_common(sql_bctx *c, const sql_node *const *nodes, size_t n, sql_bx *xs, sql_pos pos,
                       vec_type_info *t)
{
    size_t done = 0;
    int rc = 0;
    for (; done < n && rc == 0; done++)
        rc = sql_bind_expr(c, nodes[done], &xs[done]);
    if (rc != 0)
        done--;
    for (size_t i = 1; i < done && rc == 0; i++) {
        sql_bx probe = xs[0];
        rc = sql_unify(c, &probe, &xs[i], pos, t);
        xs[0] = probe;
    }
    if (rc == 0 && done == 1)
        *t = xs[0].t;
    for (size_t i = 0; i < done && rc == 0; i++)
        rc = sql_bx_as(c, &xs[i], *t, pos);
    if (rc != 0)
        for (size_t i = 0; i < done; i++)
            sql_bx_free(&xs[i]);
    return rc;
}

static int bind_between(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    const sql_node *nodes[3] = {n->u.between.arg, n->u.between.lo, n->u.between.hi};
    sql_bx xs[3];
    vec_type_info t;
    int rc = bind_common(c, nodes, 3, xs, n->op_pos, &t);
    if (rc != 0)
        return rc;
    json_t *arg2 = json_deep_copy(xs[0].j);
    json_t *j = op_json("and", json_pack("[oo]", op_json(">=", json_pack("[oo]", xs[0].j, xs[1].j)),
                                         op_json("<=", json_pack("[oo]", arg2, xs[2].j))));
    return finish(c, x, negate_if(j, n->u.between.negated), T_BOOL);
}

static int bind_in(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    size_t k = n->u.in_list.list.count + 1;
    if (k > 255)
        return sql_bind_fail(c->b, TARN_ENOTSUP, n->op_pos, "IN lists of more than 254 values");
    const sql_node **nodes = tarn_calloc(k, sizeof(*nodes));
    sql_bx *xs = tarn_calloc(k, sizeof(*xs));
    int rc = nodes && xs ? 0 : sql_bind_oom(c->b);
    vec_type_info t;
    if (rc == 0) {
        nodes[0] = n->u.in_list.arg;
        for (size_t i = 1; i < k; i++)
            nodes[i] = n->u.in_list.list.items[i - 1];
        rc = bind_common(c, nodes, k, xs, n->op_pos, &t);
    }
    json_t *args = rc == 0 ? json_array() : NULL;
    for (size_t i = 0; rc == 0 && i < k; i++)
        json_array_append_new(args, xs[i].j);
    tarn_free(nodes);
    tarn_free(xs);
    if (rc != 0)
        return rc;
    return finish(c, x, negate_if(op_json("in", args), n->u.in_list.negated), T_BOOL);
}

static int bind_like(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_bx a, p;
    char buf[40];
    int rc = bind_pair(c, n->u.like.arg, n->u.like.pattern, &a, &p);
    if (rc != 0)
        return rc;
    if (a.lc != SQL_LC_NONE)
        rc = sql_bx_as(c, &a, T_STR, n->pos);
    if (rc == 0 && a.t.id != VEC_STRING)
        rc = sql_bind_fail(c->b, TARN_EINVAL, n->pos, "LIKE needs a VARCHAR, not %s",
                           tname(a.t, buf));
    if (rc == 0 && p.lc != SQL_LC_STR)
        rc = sql_bind_fail(c->b, TARN_ENOTSUP, n->u.like.pattern->pos,
                           "the LIKE pattern must be a string literal");
    if (rc == 0)
        rc = sql_bx_as(c, &p, T_STR, n->pos);
    if (rc != 0) {
        sql_bx_free(&a);
        sql_bx_free(&p);
        return rc;
    }
    json_t *j = op_json("like", json_pack("[oo]", a.j, p.j));
    return finish(c, x, negate_if(j, n->u.like.negated), T_BOOL);
}

/* Simple CASE x WHEN v is rewritten to the searched form, x = v. */
static int bind_when_cond(sql_bctx *c, const sql_node *operand, const sql_node *w, sql_bx *x)
{
    if (operand == NULL)
        return bind_bool(c, w->u.when.cond, x, "a WHEN condition");
    sql_node eq = {.kind = SQL_BINARY, .pos = w->u.when.cond->pos, .op_pos = w->u.when.cond->pos};
    eq.u.binary.op = SQL_OP_EQ;
    eq.u.binary.left = (sql_node *)operand;
    eq.u.binary.right = w->u.when.cond;
    return bind_compare(c, &eq, "=", x);
}

static int bind_case(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    size_t nw = n->u.case_.whens.count, nv = nw + (n->u.case_.else_expr != NULL);
    if (nw * 2 + 1 > 255)
        return sql_bind_fail(c->b, TARN_ENOTSUP, n->pos, "CASE with more than 127 branches");
    const sql_node **vals = tarn_calloc(nv, sizeof(*vals));
    sql_bx *vx = tarn_calloc(nv, sizeof(*vx)), *cx = tarn_calloc(nw, sizeof(*cx));
    int rc = vals && vx && cx ? 0 : sql_bind_oom(c->b);
    size_t nc = 0;
    for (; rc == 0 && nc < nw; nc++)
        rc = bind_when_cond(c, n->u.case_.operand, n->u.case_.whens.items[nc], &cx[nc]);
    if (rc != 0 && nc > 0)
        nc--;
    for (size_t i = 0; rc == 0 && i < nv; i++)
        vals[i] = i < nw ? n->u.case_.whens.items[i]->u.when.result : n->u.case_.else_expr;
    vec_type_info t;
    if (rc == 0)
        rc = bind_common(c, vals, nv, vx, n->pos, &t);
    json_t *args = rc == 0 ? json_array() : NULL;
    for (size_t i = 0; rc == 0 && i < nw; i++) {
        json_array_append_new(args, cx[i].j);
        json_array_append_new(args, vx[i].j);
    }
    if (rc == 0 && nv > nw)
        json_array_append_new(args, vx[nw].j);
    if (rc != 0)
        for (size_t i = 0; i < nc; i++)
            sql_bx_free(&cx[i]);
    tarn_free(vals);
    tarn_free(vx);
    tarn_free(cx);
    return rc != 0 ? rc : finish(c, x, op_json("case", args), t);
}

static int bind_cast(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    vec_type_info t;
    tarn_err err = TARN_ERR_INIT;
    if (sql_type_to_vec(&n->u.cast.type, &t, &err) != 0)
        return sql_bind_fail(c->b, err.code, n->u.cast.type.pos, "%s", tarn_err_msg(&err));
    int rc = sql_bind_expr(c, n->u.cast.arg, x);
    if (rc != 0)
        return rc;
    vec_type_info wide = sql_compute_type(t);
    if (!sql_type_equal(wide, t) && x->lc != SQL_LC_NULL) {
        /* CAST to TINYINT/SMALLINT/REAL checks the range, then widens to
         * what the kernels compute with. */
        if ((rc = sql_bx_as(c, x, x->t, n->op_pos)) != 0)
            return rc;
        x->j = sql_cast_json(x->j, x->t, t);
        x->t = t;
        if (x->j == NULL)
            return sql_bind_oom(c->b);
    }
    return sql_bx_as(c, x, wide, n->op_pos);
}

/* ---- calls ---- */

bool sql_is_agg_name(const char *f)
{
    return strcmp(f, "count") == 0 || strcmp(f, "sum") == 0 || strcmp(f, "min") == 0 ||
           strcmp(f, "max") == 0 || strcmp(f, "avg") == 0;
}

bool sql_node_has_agg(const sql_node *n)
{
    if (n == NULL || n->kind >= SQL_QUERY)
        return false;
    if (n->kind == SQL_CALL && sql_is_agg_name(n->u.call.name.folded))
        return true;
    const sql_node *ch;
    for (size_t i = 0; (ch = sql_node_child(n, i)) != NULL; i++)
        if (sql_node_has_agg(ch))
            return true;
    return false;
}

static int agg_result(sql_bctx *c, const sql_node *n, exec_agg_fn fn, vec_type_info at,
                      vec_type_info *rt)
{
    char buf[40];
    switch (fn) {
    case EXEC_AGG_COUNT_STAR:
    case EXEC_AGG_COUNT:
        *rt = T_I64;
        return 0;
    case EXEC_AGG_SUM:
    case EXEC_AGG_AVG:
        if (!is_numeric(at))
            return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s of %s: a number is needed",
                                 n->u.call.name.text, tname(at, buf));
        *rt = fn == EXEC_AGG_AVG ? T_F64
              : is_int(at)       ? T_I64
              : at.id == VEC_F64 ? T_F64
                                 : dec_type(at.scale);
        return 0;
    default:
        *rt = at;
        return 0;
    }
}

/* Adds (or finds) an aggregate of the grouping; returns its output column. */
static int add_agg(sql_bctx *c, const sql_node *n, exec_agg_fn fn, sql_bx *arg, bool distinct,
                   sql_bx *x)
{
    sql_grouping *g = c->grp;
    int32_t ai = -1;
    if (arg != NULL) {
        for (uint32_t i = 0; i < g->nargs && ai < 0; i++)
            if (json_equal(json_array_get(g->args, i), arg->j))
                ai = (int32_t)i;
        if (ai < 0) {
            if (g->nargs >= EXEC_AGG_AGGS_MAX)
                return sql_bind_fail(c->b, TARN_ETOOBIG, n->pos, "more than %d aggregates",
                                     EXEC_AGG_AGGS_MAX);
            ai = (int32_t)g->nargs;
            g->arg_types[g->nargs++] = arg->t;
            json_array_append(g->args, arg->j);
        }
    }
    vec_type_info rt;
    int rc = agg_result(c, n, fn, arg ? arg->t : T_I64, &rt);
    if (rc != 0)
        return rc;
    uint32_t k = 0;
    while (k < g->naggs &&
           !(g->aggs[k].fn == fn && g->aggs[k].arg == ai && g->aggs[k].distinct == distinct))
        k++;
    if (k == g->naggs) {
        if (g->naggs >= EXEC_AGG_AGGS_MAX)
            return sql_bind_fail(c->b, TARN_ETOOBIG, n->pos, "more than %d aggregates",
                                 EXEC_AGG_AGGS_MAX);
        g->aggs[g->naggs++] = (sql_agg){fn, ai, rt, distinct};
    }
    return finish(c, x, json_pack("{s:i}", "col", (json_int_t)(g->nkeys + k)), rt);
}

static int bind_agg(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    const char *f = n->u.call.name.folded;
    if (c->in_agg)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "aggregate calls cannot be nested");
    if (c->grp == NULL)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "aggregate %s() is not allowed in %s",
                             n->u.call.name.text, c->clause);
    if (n->u.call.star)
        return strcmp(f, "count") == 0 ? add_agg(c, n, EXEC_AGG_COUNT_STAR, NULL, false, x)
                                       : sql_bind_fail(c->b, TARN_EINVAL, n->pos,
                                                       "%s(*) is not a function; "
                                                       "only count(*)",
                                                       n->u.call.name.text);
    if (n->u.call.args.count != 1)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s() takes one argument",
                             n->u.call.name.text);
    exec_agg_fn fn = strcmp(f, "count") == 0 ? EXEC_AGG_COUNT
                     : strcmp(f, "sum") == 0 ? EXEC_AGG_SUM
                     : strcmp(f, "min") == 0 ? EXEC_AGG_MIN
                     : strcmp(f, "max") == 0 ? EXEC_AGG_MAX
                                             : EXEC_AGG_AVG;
    /* The argument is over the FROM relation, not the groups. */
    sql_bctx inner = *c;
    inner.grp = NULL;
    inner.in_agg = true;
    sql_bx arg;
    int rc = sql_bind_expr(&inner, n->u.call.args.items[0], &arg);
    if (rc == 0 && arg.lc != SQL_LC_NONE)
        rc = sql_bx_as(c, &arg, arg.lc == SQL_LC_NULL ? T_I64 : arg.t, n->pos);
    if (rc != 0)
        return rc;
    /* min/max(DISTINCT x) is min/max(x) */
    bool distinct = n->u.call.distinct && fn != EXEC_AGG_MIN && fn != EXEC_AGG_MAX;
    rc = add_agg(c, n, fn, &arg, distinct, x);
    sql_bx_free(&arg);
    return rc;
}

static int bind_coalesce(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    size_t k = n->u.call.args.count;
    if (k == 0 || k > 255)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "coalesce() takes 1 to 255 arguments");
    sql_bx *xs = tarn_calloc(k, sizeof(*xs));
    if (xs == NULL)
        return sql_bind_oom(c->b);
    vec_type_info t;
    int rc = bind_common(c, (const sql_node *const *)n->u.call.args.items, k, xs, n->pos, &t);
    json_t *args = rc == 0 ? json_array() : NULL;
    for (size_t i = 0; rc == 0 && i < k; i++)
        json_array_append_new(args, xs[i].j);
    tarn_free(xs);
    return rc != 0 ? rc : finish(c, x, op_json("coalesce", args), t);
}

static const char *const known_functions[] = {
    "count",  "sum",    "min",    "max", "avg",   "coalesce",   "lower",     "upper",
    "length", "substr", "concat", "abs", "round", "date_trunc", "substring", NULL};

static int bind_call(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    const char *f = n->u.call.name.folded;
    if (sql_is_agg_name(f))
        return bind_agg(c, n, x);
    if (n->u.call.star || n->u.call.distinct)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s() is not an aggregate",
                             n->u.call.name.text);
    if (strcmp(f, "coalesce") == 0)
        return bind_coalesce(c, n, x);
    int rc = sql_bind_scalar_fn(c, n, x);
    if (rc != 1)
        return rc;
    sql_bind_fail(c->b, TARN_ENOENT, n->pos, "unknown function %s()", n->u.call.name.text);
    size_t nk = sizeof(known_functions) / sizeof(known_functions[0]) - 1;
    sql_bind_suggest(c->b, f, known_functions, nk);
    return TARN_ENOENT;
}

/* ---- dispatch ---- */

/* In a grouped SELECT, an expression without aggregates must be a GROUP
 * BY key (or built from keys and constants). */
static int match_key(sql_bctx *c, const sql_node *n, sql_bx *x, bool *matched)
{
    *matched = false;
    sql_bctx plain = *c;
    plain.grp = NULL;
    sql_bx k;
    int rc = sql_bind_expr(&plain, n, &k);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < c->grp->nkeys; i++) {
        if (json_equal(json_array_get(c->grp->keys, i), k.j)) {
            *matched = true;
            sql_bx_free(&k);
            return finish(c, x, json_pack("{s:i}", "col", (json_int_t)i), c->grp->types[i]);
        }
    }
    if (k.lc != SQL_LC_NONE || json_object_get(k.j, "const") != NULL) {
        *matched = true; /* a constant means the same over the groups */
        *x = k;
        return 0;
    }
    sql_bx_free(&k);
    return 0;
}

int sql_bind_expr(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    memset(x, 0, sizeof(*x));
    if (c->grp != NULL && !sql_node_has_agg(n)) {
        bool matched;
        int rc = match_key(c, n, x, &matched);
        if (rc != 0 || matched)
            return rc;
        if (n->kind == SQL_COLUMN)
            return sql_bind_fail(c->b, TARN_EINVAL, n->pos,
                                 "column \"%s\" must appear in GROUP BY or be used in an "
                                 "aggregate function",
                                 n->u.column.column.text);
    }
    switch (n->kind) {
    case SQL_LITERAL:
        return bind_literal(c, n, x);
    case SQL_COLUMN:
        return bind_column(c, n, x);
    case SQL_UNARY:
        return bind_unary(c, n, x);
    case SQL_BINARY:
        return bind_binary(c, n, x);
    case SQL_IS_NULL:
        return bind_is_null(c, n, x);
    case SQL_BETWEEN:
        return bind_between(c, n, x);
    case SQL_IN_LIST:
        return bind_in(c, n, x);
    case SQL_LIKE:
        return bind_like(c, n, x);
    case SQL_CASE:
        return bind_case(c, n, x);
    case SQL_CAST:
        return bind_cast(c, n, x);
    case SQL_CALL:
        return bind_call(c, n, x);
    case SQL_EXTRACT:
        return sql_bind_extract(c, n, x);
    case SQL_STAR:
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos,
                             "* is only allowed as a select item "
                             "or in count(*)");
    default:
        return sql_bind_fail(c->b, TARN_ENOTSUP, n->pos, "subqueries in expressions");
    }
}

int sql_bind_scalar(sql_binder *b, const sql_rel *scope, const sql_node *n, json_t **out,
                    vec_type_info *type)
{
    sql_bctx c = {.b = b, .scope = scope, .clause = "this expression"};
    sql_bx x;
    int rc = sql_bind_expr(&c, n, &x);
    if (rc == 0 && x.lc != SQL_LC_NONE)
        rc = sql_bx_as(&c, &x, x.lc == SQL_LC_NULL ? T_I32 : x.t, n->pos);
    if (rc != 0)
        return rc;
    *out = x.j;
    *type = x.t;
    return 0;
}

int sql_bind_as(sql_binder *b, const sql_rel *scope, const sql_node *n, vec_type_info t,
                json_t **out)
{
    sql_bctx c = {.b = b, .scope = scope, .clause = "VALUES"};
    sql_bx x;
    int rc = sql_bind_expr(&c, n, &x);
    if (rc == 0)
        rc = sql_bx_as(&c, &x, t, n->pos);
    if (rc == 0)
        *out = x.j;
    return rc;
}
