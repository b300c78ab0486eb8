/*
 * exec/expr_eval.c: evaluating expression trees a batch at a time. Each
 * node evaluates its children into columns (a column reference is the
 * batch's own column, no copy), then runs one typed kernel over the live
 * rows into its scratch column. Design note: exec/README.md, "Expressions".
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "exec/exec_int.h"

#include <math.h>
#include <string.h>

static int eval(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                const vec_col **out, tarn_err *err);

/* Readies e->out for b->len rows: no nulls yet, strings emptied. */
static int node_prepare(exec_expr *e, uint32_t rows, tarn_err *err)
{
    e->out.validity = NULL;
    uint32_t old_cap = e->out.cap;
    int rc = exec_col_prepare(&e->out, e->type, rows, e->budget, &e->acct_bytes, "expression", err);
    if (rc != 0)
        return rc;
    if (e->vbuf == NULL || e->out.cap != old_cap) {
        size_t nb = ((size_t)e->out.cap + 7) / 8;
        rc = exec_budget_reserve(e->budget, nb, "expression", err);
        if (rc != 0)
            return rc;
        uint8_t *v = tarn_realloc(e->vbuf, nb);
        if (v == NULL) {
            exec_budget_release(e->budget, nb);
            return tarn_err_set(err, TARN_ENOMEM, "expression validity");
        }
        e->vbuf = v;
        e->acct_bytes += nb;
        e->const_filled = false;
    }
    if (vec_type_is_var(e->type.id) && e->kind != EXEC_K_CONST) {
        e->out.len = 0;
        e->out.bytes_len = 0;
    }
    e->out.len = vec_type_is_var(e->type.id) && e->kind != EXEC_K_CONST ? 0 : rows;
    return 0;
}

static int eval_const(exec_expr *e, const vec_batch *b, const vec_col **out, tarn_err *err)
{
    int rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    if (!e->const_filled) {
        uint32_t cap = e->out.cap;
        if (vec_type_is_var(e->type.id)) {
            e->out.len = 0;
            e->out.bytes_len = 0;
            size_t need = (size_t)cap * e->slen;
            rc = exec_budget_reserve(e->budget, need, "string constant", err);
            if (rc != 0)
                return rc;
            e->acct_bytes += need;
            if (vec_col_reserve_bytes(&e->out, need) != 0)
                return tarn_err_set(err, TARN_ENOMEM, "string constant");
            for (uint32_t i = 0; i < cap; i++)
                (void)vec_col_append_str(&e->out, e->sval, e->slen); /* room reserved */
        } else {
            for (uint32_t i = 0; i < cap; i++) {
                switch (exec_phys_of(e->type.id)) {
                case EXEC_P_BOOL:
                    ((uint8_t *)e->out.data)[i] = (uint8_t)e->ival;
                    break;
                case EXEC_P_I32:
                    ((int32_t *)e->out.data)[i] = (int32_t)e->ival;
                    break;
                case EXEC_P_I64:
                    ((int64_t *)e->out.data)[i] = e->ival;
                    break;
                default:
                    ((double *)e->out.data)[i] = e->fval;
                }
            }
        }
        memset(e->vbuf, 0, ((size_t)cap + 7) / 8);
        e->const_filled = true;
    }
    /* A broadcast column keeps all `cap` rows; readers look at rows < b->len. */
    e->out.len = vec_type_is_var(e->type.id) ? e->out.cap : b->len;
    e->out.validity = e->is_null ? e->vbuf : NULL;
    *out = &e->out;
    return 0;
}

/* Strings in dictionary form against a constant: the predicate runs once
 * per dictionary entry (cached while the dictionary stays the same), and
 * rows look their code up. */
static int dict_results(exec_expr *e, const vec_col *s, const exec_expr *c, tarn_err *err)
{
    if (e->dcache == s->dict && e->dcache_count == s->dict->count)
        return 0;
    /* The cache holds a reference: a freed dictionary's address could
     * otherwise come back as a new dictionary and hit stale results. */
    vec_dict_release((vec_dict *)e->dcache);
    e->dcache = NULL;
    uint32_t cnt = s->dict->count;
    if (e->dres_bytes < cnt) {
        int rc = exec_budget_reserve(e->budget, cnt, "dictionary predicate", err);
        if (rc != 0)
            return rc;
        uint8_t *d = tarn_realloc(e->dres, cnt ? cnt : 1);
        if (d == NULL) {
            exec_budget_release(e->budget, cnt);
            return tarn_err_set(err, TARN_ENOMEM, "dictionary predicate");
        }
        e->dres = d;
        e->acct_bytes += cnt;
        e->dres_bytes = cnt;
    }
    for (uint32_t j = 0; j < cnt; j++) {
        const uint8_t *p = s->dict->bytes + s->dict->offsets[j];
        size_t pl = s->dict->offsets[j + 1] - s->dict->offsets[j];
        if (e->kind == EXEC_K_LIKE) {
            e->dres[j] = exec_like_match(p, pl, c->sval, c->slen);
        } else {
            size_t m = pl < c->slen ? pl : c->slen;
            int r = memcmp(p, c->sval, m);
            r = r != 0 ? (r < 0 ? -1 : 1) : (pl < c->slen ? -1 : pl > c->slen);
            static const int8_t want[6][3] = {{0, 1, 0}, {1, 0, 1}, {1, 0, 0},
                                              {1, 1, 0}, {0, 0, 1}, {0, 1, 1}};
            e->dres[j] = (uint8_t)want[e->op][r + 1];
        }
    }
    e->dcache = vec_dict_retain(s->dict);
    e->dcache_count = cnt;
    return 0;
}

static void dict_apply(const exec_expr *e, const vec_col *s, const uint32_t *sel, uint32_t n,
                       uint8_t *res)
{
    const uint32_t *codes = s->codes;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        /* invalid rows hold code 0, which exists whenever count > 0 */
        res[i] = s->dict->count ? e->dres[codes[i]] : 0;
    }
}

static void set_validity(exec_expr *e, const vec_col *a, const vec_col *b)
{
    if (exec_validity_and(e->vbuf, a, b, e->out.len))
        e->out.validity = e->vbuf;
}

static int eval_cmp(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                    tarn_err *err)
{
    const vec_col *x, *y;
    int rc = eval(e->args[0], b, sel, n, &x, err);
    if (rc == 0)
        rc = eval(e->args[1], b, sel, n, &y, err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    if (x->dict && x->codes && e->args[1]->kind == EXEC_K_CONST && !e->args[1]->is_null) {
        rc = dict_results(e, x, e->args[1], err);
        if (rc != 0)
            return rc;
        dict_apply(e, x, sel, n, e->out.data);
    } else {
        exec_k_cmp((exec_cmp_op)e->op, x, y, sel, n, e->out.data);
    }
    set_validity(e, x, y);
    return 0;
}

static int eval_like(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                     tarn_err *err)
{
    const vec_col *x;
    const exec_expr *pat = e->args[1];
    int rc = eval(e->args[0], b, sel, n, &x, err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    uint8_t *res = e->out.data;
    if (pat->is_null) { /* x LIKE NULL is NULL */
        memset(e->vbuf, 0, ((size_t)b->len + 7) / 8);
        e->out.validity = e->vbuf;
        return 0;
    }
    if (x->dict && x->codes) {
        rc = dict_results(e, x, pat, err);
        if (rc != 0)
            return rc;
        dict_apply(e, x, sel, n, res);
    } else {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = sel ? sel[k] : k;
            const uint8_t *s;
            size_t l;
            vec_col_str(x, i, &s, &l);
            res[i] = exec_like_match(s, l, pat->sval, pat->slen);
        }
    }
    set_validity(e, x, NULL);
    return 0;
}

/* x % y as DuckDB: the sign of x (C's remainder), NULL when an integer or
 * decimal y is 0 (doubles: fmod, NaN for 0), INT64_MIN % -1 an overflow
 * error. Decimals at equal scale are remainders of their unscaled values. */
static int eval_mod(exec_expr *e, const vec_col *x, const vec_col *y, const uint32_t *sel,
                    uint32_t n, uint32_t rows, tarn_err *err)
{
    bool f = exec_phys_of(x->type.id) == EXEC_P_F64;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        bool zero = !f && ((const int64_t *)y->data)[i] == 0;
        if (zero && vec_col_is_valid(&e->out, i)) {
            if (e->out.validity == NULL) { /* all valid so far: start a bitmap */
                memset(e->vbuf, 0xff, ((size_t)rows + 7) / 8);
                e->out.validity = e->vbuf;
            }
            exec_bit_set(e->vbuf, i, false);
        }
        if (f) {
            ((double *)e->out.data)[i] =
                fmod(((const double *)x->data)[i], ((const double *)y->data)[i]);
            continue;
        }
        int64_t a = ((const int64_t *)x->data)[i], d = ((const int64_t *)y->data)[i];
        if (d == -1 && a == INT64_MIN && vec_col_is_valid(&e->out, i))
            return tarn_err_set(err, TARN_ERANGE, "integer overflow: %lld %% -1", (long long)a);
        ((int64_t *)e->out.data)[i] = zero || d == -1 ? 0 : a % d;
    }
    return 0;
}

static int eval_arith(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                      tarn_err *err)
{
    const vec_col *x, *y;
    int rc = eval(e->args[0], b, sel, n, &x, err);
    if (rc == 0)
        rc = eval(e->args[1], b, sel, n, &y, err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    /* Validity first: the kernel skips overflow at invalid rows. */
    set_validity(e, x, y);
    if (x->type.id == VEC_DATE) { /* date - date: days */
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = sel ? sel[k] : k;
            ((int64_t *)e->out.data)[i] =
                (int64_t)((const int32_t *)x->data)[i] - ((const int32_t *)y->data)[i];
        }
        return 0;
    }
    if (e->op == EXEC_MOD)
        return eval_mod(e, x, y, sel, n, b->len, err);
    rc = exec_k_arith((exec_arith_op)e->op, x, y, sel, n, &e->out, err);
    if (rc == 0 && e->type.id == VEC_DECIMAL64 && e->op <= EXEC_MUL && e->param[0] == 0)
        rc = exec_k_decimal_digits((exec_arith_op)e->op, x, y, sel, n, &e->out, err);
    return rc;
}

static int sbuf_room(exec_expr *e, uint32_t rows, tarn_err *err)
{
    if (e->sbuf_cap >= rows)
        return 0;
    size_t bytes = (size_t)rows * sizeof(uint32_t);
    int rc = exec_budget_reserve(e->budget, bytes, "expression", err);
    if (rc != 0)
        return rc;
    uint32_t *p = tarn_realloc(e->sbuf, bytes);
    if (p == NULL) {
        exec_budget_release(e->budget, bytes);
        return tarn_err_set(err, TARN_ENOMEM, "expression selection");
    }
    e->sbuf = p;
    e->sbuf_cap = rows;
    e->acct_bytes += bytes;
    return 0;
}

/* Three-valued AND / OR (SQL:2016 8.12, Kleene logic). The right side is
 * evaluated only at rows the left side does not decide (FALSE for AND, TRUE
 * for OR), so `x <> 0 AND y / x > 1` never divides by zero. */
static int eval_andor(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                      tarn_err *err)
{
    bool is_and = e->kind == EXEC_K_AND;
    const uint8_t decided = is_and ? 0 : 1;
    const vec_col *l, *r = NULL;
    int rc = eval(e->args[0], b, sel, n, &l, err);
    if (rc == 0)
        rc = sbuf_room(e, b->len, err);
    if (rc != 0)
        return rc;
    const uint8_t *lv = l->data;
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if (!(vec_col_is_valid(l, i) && lv[i] == decided))
            e->sbuf[m++] = i;
    }
    if (m > 0) {
        rc = eval(e->args[1], b, e->sbuf, m, &r, err);
        if (rc != 0)
            return rc;
    }
    rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    uint8_t *res = e->out.data;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        bool lok = vec_col_is_valid(l, i);
        bool valid = true;
        uint8_t v = decided;
        if (!(lok && lv[i] == decided)) {
            bool rok = vec_col_is_valid(r, i);
            uint8_t rv = ((const uint8_t *)r->data)[i];
            if (rok && rv == decided)
                v = decided;
            else if (lok && rok)
                v = (uint8_t)!decided;
            else
                valid = false;
        }
        res[i] = v;
        exec_bit_set(e->vbuf, i, valid);
    }
    e->out.validity = e->vbuf;
    return 0;
}

static int eval_unary(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                      tarn_err *err)
{
    const vec_col *x;
    int rc = eval(e->args[0], b, sel, n, &x, err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    uint8_t *res = e->out.data;
    const uint8_t *xv = x->data;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        switch (e->kind) {
        case EXEC_K_NOT:
            res[i] = !xv[i];
            break;
        case EXEC_K_IS_NULL:
            res[i] = !vec_col_is_valid(x, i);
            break;
        default:
            res[i] = vec_col_is_valid(x, i);
        }
    }
    if (e->kind == EXEC_K_NOT)
        set_validity(e, x, NULL);
    return 0;
}

/* Reads row i of an integer-like column as i64. */
static int64_t int_at(const vec_col *x, uint32_t i)
{
    return exec_phys_of(x->type.id) == EXEC_P_I32 ? ((const int32_t *)x->data)[i]
                                                  : ((const int64_t *)x->data)[i];
}

static int cast_row(exec_expr *e, const vec_col *x, uint32_t i, tarn_err *err)
{
    vec_type from = x->type.id, to = e->type.id;
    if (to == VEC_F64) {
        double d = from == VEC_F64 ? ((const double *)x->data)[i] : (double)int_at(x, i);
        if (from == VEC_DECIMAL64)
            d /= (double)tarn_pow10_i64[x->type.scale];
        ((double *)e->out.data)[i] = d;
        return 0;
    }
    int64_t v = int_at(x, i), r = v;
    int up = to == VEC_DECIMAL64 ? e->type.scale - (from == VEC_DECIMAL64 ? x->type.scale : 0) : 0;
    if (up > 0 && __builtin_mul_overflow(v, tarn_pow10_i64[up], &r) && vec_col_is_valid(x, i))
        return tarn_err_set(err, TARN_ERANGE, "integer overflow: cast %lld to decimal scale %u",
                            (long long)v, e->type.scale);
    if (exec_phys_of(to) == EXEC_P_I32) {
        if ((r < INT32_MIN || r > INT32_MAX) && vec_col_is_valid(x, i))
            return tarn_err_set(err, TARN_ERANGE, "integer overflow: cast %lld to i32",
                                (long long)r);
        ((int32_t *)e->out.data)[i] = (int32_t)r;
    } else {
        ((int64_t *)e->out.data)[i] = r;
    }
    return 0;
}

/* The casts of the Q1 era stay per-row loops without the general path's
 * scalar round trip: integers to f64 or i64, decimals to f64. */
static bool cast_fast(vec_type_info f, vec_type_info t)
{
    bool from_int = f.id == VEC_I32 || f.id == VEC_I64;
    return (t.id == VEC_F64 && (from_int || f.id == VEC_DECIMAL64 || f.id == VEC_F64)) ||
           (t.id == VEC_I64 && from_int);
}

static int eval_cast(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                     tarn_err *err)
{
    const vec_col *x;
    int rc = eval(e->args[0], b, sel, n, &x, err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    /* e->out.len is 0 for a string result being built: use the batch's */
    if (exec_validity_and(e->vbuf, x, NULL, b->len))
        e->out.validity = e->vbuf;
    if (!cast_fast(x->type, e->type))
        return exec_cast_rows(x, &e->out, sel, n, b->len, e->budget, &e->acct_bytes, err);
    for (uint32_t k = 0; k < n && rc == 0; k++)
        rc = cast_row(e, x, sel ? sel[k] : k, err);
    return rc;
}

static int eval_func(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                     tarn_err *err)
{
    const vec_col *xs[EXEC_EXPR_ARGS_MAX];
    int rc = 0;
    for (uint32_t a = 0; a < e->nargs && rc == 0; a++)
        rc = eval(e->args[a], b, sel, n, &xs[a], err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    return exec_func_eval(e, xs, b->len, sel, n, err);
}

/* COALESCE: per row the first valid argument; every argument is evaluated
 * on all live rows (they have no side effects beyond errors). */
static int eval_coalesce(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                         tarn_err *err)
{
    const vec_col *xs[EXEC_EXPR_ARGS_MAX];
    int rc = 0;
    for (uint32_t a = 0; a < e->nargs && rc == 0; a++)
        rc = eval(e->args[a], b, sel, n, &xs[a], err);
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    bool var = vec_type_is_var(e->type.id);
    size_t w = vec_type_width(e->type.id);
    uint32_t k = 0;
    for (uint32_t i = 0; i < b->len; i++) {
        bool live = sel ? (k < n && sel[k] == i) : i < n;
        k += sel && live;
        uint32_t a = 0;
        while (live && a < e->nargs && !vec_col_is_valid(xs[a], i))
            a++;
        bool found = live && a < e->nargs;
        exec_bit_set(e->vbuf, i, found);
        if (var) {
            const uint8_t *s = (const uint8_t *)"";
            size_t l = 0;
            if (found)
                vec_col_str(xs[a], i, &s, &l);
            rc = vec_col_append_str(&e->out, s, l);
            if (rc != 0)
                return tarn_err_set(err, rc, "coalesce: string of %zu bytes", l);
        } else if (found) {
            memcpy((uint8_t *)e->out.data + i * w, (const uint8_t *)xs[a]->data + i * w, w);
        }
    }
    e->out.validity = e->vbuf;
    return 0;
}

/* Writes row i of the result from column x (NULL: a NULL result). */
static int put_row(exec_expr *e, uint32_t i, const vec_col *x)
{
    bool valid = x != NULL && vec_col_is_valid(x, i);
    exec_bit_set(e->vbuf, i, valid);
    if (vec_type_is_var(e->type.id)) {
        const uint8_t *s = (const uint8_t *)"";
        size_t l = 0;
        if (valid)
            vec_col_str(x, i, &s, &l);
        return vec_col_append_str(&e->out, s, l);
    }
    size_t w = vec_type_width(e->type.id);
    if (valid)
        memcpy((uint8_t *)e->out.data + i * w, (const uint8_t *)x->data + i * w, w);
    return 0;
}

/* CASE WHEN c1 THEN v1 ... ELSE e END: each condition runs on the rows no
 * earlier condition took, each value only on the rows its condition took
 * (so a value's errors cannot come from rows it does not produce). */
static int eval_case(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                     tarn_err *err)
{
    int rc = sbuf_room(e, 3 * b->len, err);
    if (rc != 0)
        return rc;
    uint32_t *rest = e->sbuf, *took = e->sbuf + b->len, *pick = e->sbuf + 2 * b->len;
    const vec_col *vals[EXEC_EXPR_ARGS_MAX / 2 + 1];
    uint32_t nrest = n, nwhen = e->nargs / 2;
    for (uint32_t k = 0; k < n; k++) {
        rest[k] = sel ? sel[k] : k;
        pick[rest[k]] = UINT32_MAX;
    }
    for (uint32_t w = 0; w <= nwhen && nrest > 0 && rc == 0; w++) {
        vals[w] = NULL;
        uint32_t ntook = 0, keep = 0;
        if (w == nwhen) { /* ELSE (when present) takes whatever is left */
            if (e->nargs % 2 == 0)
                break;
            memcpy(took, rest, nrest * sizeof(uint32_t));
            ntook = nrest;
        } else {
            const vec_col *c;
            rc = eval(e->args[2 * w], b, rest, nrest, &c, err);
            for (uint32_t k = 0; k < nrest && rc == 0; k++) {
                uint32_t i = rest[k];
                if (vec_col_is_valid(c, i) && ((const uint8_t *)c->data)[i])
                    took[ntook++] = i;
                else
                    rest[keep++] = i;
            }
            nrest = keep;
        }
        if (rc == 0 && ntook > 0)
            rc =
                eval(e->args[w == nwhen ? e->nargs - 1 : 2 * w + 1], b, took, ntook, &vals[w], err);
        for (uint32_t k = 0; k < ntook && rc == 0; k++)
            pick[took[k]] = w;
    }
    if (rc == 0)
        rc = node_prepare(e, b->len, err);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0, k = 0; i < b->len; i++) {
        bool live = sel ? (k < n && sel[k] == i) : i < n;
        k += sel && live;
        rc = put_row(e, i, live && pick[i] != UINT32_MAX ? vals[pick[i]] : NULL);
        if (rc != 0)
            return tarn_err_set(err, rc, "case: result row %u", i);
    }
    e->out.validity = e->vbuf;
    return 0;
}

static int eval(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                const vec_col **out, tarn_err *err)
{
    int rc;
    switch (e->kind) {
    case EXEC_K_COL:
        *out = &b->cols[e->col];
        return 0;
    case EXEC_K_CONST:
        return eval_const(e, b, out, err);
    case EXEC_K_CMP:
        rc = eval_cmp(e, b, sel, n, err);
        break;
    case EXEC_K_LIKE:
        rc = eval_like(e, b, sel, n, err);
        break;
    case EXEC_K_ARITH:
        rc = eval_arith(e, b, sel, n, err);
        break;
    case EXEC_K_AND:
    case EXEC_K_OR:
        rc = eval_andor(e, b, sel, n, err);
        break;
    case EXEC_K_CAST:
        rc = eval_cast(e, b, sel, n, err);
        break;
    case EXEC_K_COALESCE:
        rc = eval_coalesce(e, b, sel, n, err);
        break;
    case EXEC_K_CASE:
        rc = eval_case(e, b, sel, n, err);
        break;
    case EXEC_K_FUNC:
        rc = eval_func(e, b, sel, n, err);
        break;
    default:
        rc = eval_unary(e, b, sel, n, err);
    }
    *out = &e->out;
    return rc;
}

int exec_expr_eval(exec_expr *e, const vec_batch *b, const vec_col **out, tarn_err *err)
{
    const uint32_t *sel = b->sel_active ? b->sel : NULL;
    return eval(e, b, sel, vec_batch_live_count(b), out, err);
}

/* Narrows sel[0..n) to the rows where e is TRUE, into out (may equal sel:
 * the result is written only after evaluation, at positions <= the read). */
static int select_rows(exec_expr *e, const vec_batch *b, const uint32_t *sel, uint32_t n,
                       uint32_t *out, uint32_t *count, tarn_err *err)
{
    if (e->kind == EXEC_K_AND) {
        int rc = select_rows(e->args[0], b, sel, n, out, count, err);
        if (rc != 0 || *count == 0)
            return rc;
        return select_rows(e->args[1], b, out, *count, out, count, err);
    }
    const vec_col *r;
    int rc = eval(e, b, sel, n, &r, err);
    if (rc != 0)
        return rc;
    const uint8_t *v = r->data;
    uint32_t m = 0;
    if (r->validity == NULL) {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = sel ? sel[k] : k;
            out[m] = i;
            m += v[i];
        }
    } else {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = sel ? sel[k] : k;
            out[m] = i;
            m += v[i] & vec_col_is_valid(r, i);
        }
    }
    *count = m;
    return 0;
}

int exec_expr_select(exec_expr *e, const vec_batch *b, uint32_t *sel_out, uint32_t *count,
                     tarn_err *err)
{
    TARN_ASSERT(e->type.id == VEC_BOOL);
    const uint32_t *sel = b->sel_active ? b->sel : NULL;
    *count = 0;
    return select_rows(e, b, sel, vec_batch_live_count(b), sel_out, count, err);
}

void exec_expr_free(exec_expr *e)
{
    if (e == NULL)
        return;
    for (uint32_t a = 0; a < e->nargs; a++)
        exec_expr_free(e->args[a]);
    tarn_free(e->args);
    tarn_free(e->sval);
    e->out.validity = NULL;
    vec_col_free(&e->out);
    tarn_free(e->vbuf);
    tarn_free(e->sbuf);
    tarn_free(e->dres);
    vec_dict_release((vec_dict *)e->dcache);
    if (e->budget)
        exec_budget_release(e->budget, e->acct_bytes);
    tarn_free(e);
}

vec_type_info exec_expr_type(const exec_expr *e)
{
    return e->type;
}
