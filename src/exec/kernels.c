/*
 * exec/kernels.c: typed kernels (comparison, arithmetic, validity) and
 * column helpers. Each kernel switches on type and operator once per batch,
 * then runs a tight loop without per-row dispatch (design note:
 * exec/README.md, "Kernels").
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "exec/exec_int.h"

#include <string.h>
#include <unistd.h>

void exec_budget_init(exec_budget *b, size_t limit_bytes)
{
    memset(b, 0, sizeof(*b));
    if (limit_bytes == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        /* 1 GiB when the system does not say */
        limit_bytes = pages > 0 && page > 0 ? (size_t)pages / EXEC_BUDGET_RAM_DIVISOR * (size_t)page
                                            : (size_t)1 << 30;
    }
    b->limit_bytes = limit_bytes;
}

/* Atomic (compare-and-swap loops), so that the operators of a parallel
 * pipeline's threads share the query's one budget. */
int exec_budget_reserve(exec_budget *b, size_t bytes, const char *what, tarn_err *err)
{
    size_t used = __atomic_load_n(&b->used_bytes, __ATOMIC_RELAXED), want;
    do {
        if (bytes > b->limit_bytes || used > b->limit_bytes - bytes)
            return tarn_err_set(err, TARN_ENOMEM_BUDGET,
                                "%s: %zu more bytes would pass the query budget (%zu of %zu used)",
                                what, bytes, used, b->limit_bytes);
        want = used + bytes;
    } while (!__atomic_compare_exchange_n(&b->used_bytes, &used, want, true, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    size_t peak = __atomic_load_n(&b->peak_bytes, __ATOMIC_RELAXED);
    while (want > peak && !__atomic_compare_exchange_n(&b->peak_bytes, &peak, want, true,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return 0;
}

bool exec_budget_cancelled(const exec_budget *b)
{
    return b != NULL && b->cancel != NULL && __atomic_load_n(b->cancel, __ATOMIC_ACQUIRE) != 0;
}

void exec_budget_release(exec_budget *b, size_t bytes)
{
    size_t used = __atomic_load_n(&b->used_bytes, __ATOMIC_RELAXED), want;
    do
        want = bytes > used ? 0 : used - bytes;
    while (!__atomic_compare_exchange_n(&b->used_bytes, &used, want, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
}

exec_phys exec_phys_of(vec_type t)
{
    switch (t) {
    case VEC_BOOL:
        return EXEC_P_BOOL;
    case VEC_I32:
    case VEC_DATE:
        return EXEC_P_I32;
    case VEC_I64:
    case VEC_DECIMAL64:
    case VEC_TIMESTAMP:
    case VEC_TIME:
        return EXEC_P_I64;
    case VEC_F64:
        return EXEC_P_F64;
    case VEC_STRING:
    case VEC_BINARY:
        return EXEC_P_STR;
    default:
        return EXEC_P_NONE;
    }
}

/* When a selection keeps most rows, kernels without side effects run
 * densely over 0..last selected row instead: the dense loop vectorizes, and
 * values at unselected rows are never read (invariant 3 of README.md). */
static const uint32_t *dense_if_most(const uint32_t *sel, uint32_t *n)
{
    if (sel == NULL || *n == 0 || (uint64_t)*n * 4 < (uint64_t)(sel[*n - 1] + 1) * 3)
        return sel;
    *n = sel[*n - 1] + 1;
    return NULL;
}

/* One loop per (type, operator): the compiler vectorizes the dense form. */
#define CMP_LOOP(T, EXPR)                                                                          \
    do {                                                                                           \
        const T *x = a->data, *y = b->data;                                                        \
        if (sel) {                                                                                 \
            for (uint32_t k = 0; k < n; k++) {                                                     \
                uint32_t i = sel[k];                                                               \
                res[i] = (uint8_t)(EXPR);                                                          \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t i = 0; i < n; i++)                                                       \
                res[i] = (uint8_t)(EXPR);                                                          \
        }                                                                                          \
    } while (0)

#define CMP_OPS(T)                                                                                 \
    switch (op) {                                                                                  \
    case EXEC_EQ:                                                                                  \
        CMP_LOOP(T, x[i] == y[i]);                                                                 \
        break;                                                                                     \
    case EXEC_NE:                                                                                  \
        CMP_LOOP(T, x[i] != y[i]);                                                                 \
        break;                                                                                     \
    case EXEC_LT:                                                                                  \
        CMP_LOOP(T, x[i] < y[i]);                                                                  \
        break;                                                                                     \
    case EXEC_LE:                                                                                  \
        CMP_LOOP(T, x[i] <= y[i]);                                                                 \
        break;                                                                                     \
    case EXEC_GT:                                                                                  \
        CMP_LOOP(T, x[i] > y[i]);                                                                  \
        break;                                                                                     \
    case EXEC_GE:                                                                                  \
        CMP_LOOP(T, x[i] >= y[i]);                                                                 \
        break;                                                                                     \
    }

static bool cmp_result(exec_cmp_op op, int c)
{
    switch (op) {
    case EXEC_EQ:
        return c == 0;
    case EXEC_NE:
        return c != 0;
    case EXEC_LT:
        return c < 0;
    case EXEC_LE:
        return c <= 0;
    case EXEC_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int str_cmp(const uint8_t *p, size_t pl, const uint8_t *q, size_t ql)
{
    int c = memcmp(p, q, pl < ql ? pl : ql);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return pl < ql ? -1 : pl > ql;
}

/* Strings: bytewise unsigned order, as vec_value_cmp. */
static void cmp_str(exec_cmp_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                    uint32_t n, uint8_t *res)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        const uint8_t *p, *q;
        size_t pl, ql;
        vec_col_str(a, i, &p, &pl);
        vec_col_str(b, i, &q, &ql);
        res[i] = cmp_result(op, str_cmp(p, pl, q, ql));
    }
}

/* Floats compare as IEEE here (NaN is unequal to everything), as SQL
 * predicates in DuckDB do for the values our data holds; sorting uses
 * vec_value_cmp's total order instead. */
void exec_k_cmp(exec_cmp_op op, const vec_col *a, const vec_col *b, const uint32_t *sel, uint32_t n,
                uint8_t *res)
{
    switch (exec_phys_of(a->type.id)) {
    case EXEC_P_BOOL:
        CMP_OPS(uint8_t);
        break;
    case EXEC_P_I32:
        CMP_OPS(int32_t);
        break;
    case EXEC_P_I64:
        CMP_OPS(int64_t);
        break;
    case EXEC_P_F64:
        CMP_OPS(double);
        break;
    case EXEC_P_STR:
        cmp_str(op, a, b, sel, n, res);
        break;
    default:
        TARN_ASSERT(!"exec_k_cmp: type checked at build");
    }
}

bool exec_validity_and(uint8_t *out, const vec_col *a, const vec_col *b, uint32_t len)
{
    if (a->validity == NULL && (b == NULL || b->validity == NULL))
        return false;
    size_t nb = ((size_t)len + 7) / 8;
    for (size_t j = 0; j < nb; j++) {
        uint8_t v = a->validity ? a->validity[j] : 0xff;
        if (b && b->validity)
            v &= b->validity[j];
        out[j] = v;
    }
    return true;
}

/* Checked i64 arithmetic: the loop only ORs overflow flags; a set flag is
 * then located, and it is an error only at a live, valid row (invalid rows
 * hold arbitrary values that must not raise errors). */
#define ARITH_CHECKED(BUILTIN)                                                                     \
    do {                                                                                           \
        if (sel) {                                                                                 \
            for (uint32_t k = 0; k < n; k++) {                                                     \
                uint32_t i = sel[k];                                                               \
                bad |= BUILTIN(x[i], y[i], &r[i]);                                                 \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t i = 0; i < n; i++)                                                       \
                bad |= BUILTIN(x[i], y[i], &r[i]);                                                 \
        }                                                                                          \
    } while (0)

static bool row_valid(const vec_col *a, const vec_col *b, uint32_t i)
{
    return vec_col_is_valid(a, i) && vec_col_is_valid(b, i);
}

static int arith_i64_check(exec_arith_op op, const vec_col *a, const vec_col *b,
                           const uint32_t *sel, uint32_t n, tarn_err *err)
{
    const int64_t *x = a->data, *y = b->data;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        int64_t t;
        bool o = op == EXEC_ADD   ? __builtin_add_overflow(x[i], y[i], &t)
                 : op == EXEC_SUB ? __builtin_sub_overflow(x[i], y[i], &t)
                                  : __builtin_mul_overflow(x[i], y[i], &t);
        if (o && row_valid(a, b, i))
            return tarn_err_set(err, TARN_ERANGE, "integer overflow: %lld %c %lld", (long long)x[i],
                                "+-*"[op], (long long)y[i]);
    }
    return 0;
}

static int div_i64(const vec_col *a, const vec_col *b, const uint32_t *sel, uint32_t n, int64_t *r,
                   tarn_err *err)
{
    const int64_t *x = a->data, *y = b->data;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if (y[i] == 0 || (y[i] == -1 && x[i] == INT64_MIN)) {
            r[i] = 0;
            if (!row_valid(a, b, i))
                continue;
            if (y[i] == 0)
                return tarn_err_set(err, TARN_ERANGE, "division by zero");
            return tarn_err_set(err, TARN_ERANGE, "integer overflow: %lld / -1", (long long)x[i]);
        }
        r[i] = x[i] / y[i]; /* SQL integer division truncates toward zero, as C */
    }
    return 0;
}

static int arith_i64(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                     uint32_t n, int64_t *r, tarn_err *err)
{
    const int64_t *x = a->data, *y = b->data;
    bool bad = false;
    switch (op) {
    case EXEC_ADD:
        ARITH_CHECKED(__builtin_add_overflow);
        break;
    case EXEC_SUB:
        ARITH_CHECKED(__builtin_sub_overflow);
        break;
    case EXEC_MUL:
        ARITH_CHECKED(__builtin_mul_overflow);
        break;
    case EXEC_DIV:
        return div_i64(a, b, sel, n, r, err);
    case EXEC_MOD: /* expr_eval.c's eval_mod */
        return tarn_err_set(err, TARN_EINTERNAL, "%% in the arithmetic kernel");
    }
    return bad ? arith_i64_check(op, a, b, sel, n, err) : 0;
}

#define F64_LOOP(EXPR)                                                                             \
    do {                                                                                           \
        if (sel) {                                                                                 \
            for (uint32_t k = 0; k < n; k++) {                                                     \
                uint32_t i = sel[k];                                                               \
                r[i] = EXPR;                                                                       \
            }                                                                                      \
        } else {                                                                                   \
            for (uint32_t i = 0; i < n; i++)                                                       \
                r[i] = EXPR;                                                                       \
        }                                                                                          \
    } while (0)

/* Doubles follow IEEE 754 (x / 0 is an infinity or NaN, as in C). */
static void arith_f64(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                      uint32_t n, double *r)
{
    const double *x = a->data, *y = b->data;
    switch (op) {
    case EXEC_ADD:
        F64_LOOP(x[i] + y[i]);
        break;
    case EXEC_SUB:
        F64_LOOP(x[i] - y[i]);
        break;
    case EXEC_MUL:
        F64_LOOP(x[i] * y[i]);
        break;
    case EXEC_DIV:
        F64_LOOP(x[i] / y[i]);
        break;
    case EXEC_MOD: /* expr_eval.c's eval_mod */
        break;
    }
}

/* exec_int.h: decimal results hold 18 digits, as DuckDB's. */
int exec_k_decimal_digits(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                          uint32_t n, const vec_col *out, tarn_err *err)
{
    const int64_t *r = out->data, lim = tarn_pow10_i64[18];
    bool bad = false;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        bad |= r[i] >= lim || r[i] <= -lim;
    }
    if (!bad)
        return 0;
    const int64_t *x = a->data, *y = b->data;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if ((r[i] >= lim || r[i] <= -lim) && row_valid(a, b, i))
            return tarn_err_set(err, TARN_ERANGE,
                                "decimal overflow: %lld %c %lld (unscaled) is past DECIMAL(18,%u)",
                                (long long)x[i], "+-*"[op], (long long)y[i], out -> type.scale);
    }
    return 0;
}

/* Decimals are scaled i64: + and - at equal scale, * adds the scales (the
 * builder sets the result type), so all three are checked i64 arithmetic
 * (then exec_k_decimal_digits, unless the node is "wide"). */
int exec_k_arith(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                 uint32_t n, vec_col *out, tarn_err *err)
{
    switch (exec_phys_of(a->type.id)) {
    case EXEC_P_I64:
        return arith_i64(op, a, b, sel, n, out->data, err);
    case EXEC_P_F64:
        sel = dense_if_most(sel, &n);
        arith_f64(op, a, b, sel, n, out->data);
        return 0;
    default:
        return tarn_err_set(err, TARN_EINTERNAL, "arithmetic on %s", vec_type_name(a->type.id));
    }
}

int exec_col_prepare(vec_col *col, vec_type_info type, uint32_t rows, exec_budget *bud,
                     size_t *acct, const char *what, tarn_err *err)
{
    if (rows == 0)
        rows = 1;
    if (col->cap >= rows && col->type.id == type.id)
        return 0;
    size_t width = vec_type_width(type.id);
    size_t need = (size_t)rows * (width ? width : 4) + rows / 8 + 8;
    int rc = exec_budget_reserve(bud, need, what, err);
    if (rc != 0)
        return rc;
    if (col->cap == 0)
        rc = vec_col_init(col, type, rows);
    else
        rc = vec_col_grow(col, rows);
    if (rc != 0) {
        exec_budget_release(bud, need);
        return tarn_err_set(err, rc, "%s: column of %u rows", what, rows);
    }
    *acct += need;
    return 0;
}

/* Grows dst so that `extra` more rows fit, doubling. */
static int col_room(vec_col *dst, uint32_t extra, exec_budget *bud, size_t *acct, tarn_err *err)
{
    if ((uint64_t)dst->len + extra <= dst->cap)
        return 0;
    uint64_t want = (uint64_t)dst->cap * 2;
    if (want < (uint64_t)dst->len + extra)
        want = (uint64_t)dst->len + extra;
    if (want > VEC_ROWS_MAX)
        want = VEC_ROWS_MAX;
    if ((uint64_t)dst->len + extra > want)
        return tarn_err_set(err, TARN_ETOOBIG, "column passes %u rows", VEC_ROWS_MAX);
    return exec_col_prepare(dst, dst->type, (uint32_t)want, bud, acct, "collect rows", err);
}

static int append_strs(vec_col *dst, const vec_col *src, const uint32_t *rows, uint32_t n,
                       exec_budget *bud, size_t *acct, tarn_err *err)
{
    size_t total = 0;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *s;
        size_t l;
        vec_col_str(src, rows[k], &s, &l);
        total += l;
    }
    size_t before = dst->bytes_cap;
    if (dst->bytes_len + total > dst->bytes_cap) {
        size_t grow = dst->bytes_cap > total ? dst->bytes_cap : total;
        int rc = exec_budget_reserve(bud, grow, "collect strings", err);
        if (rc != 0)
            return rc;
        rc = vec_col_reserve_bytes(dst, grow);
        exec_budget_release(bud, grow);
        if (rc != 0)
            return tarn_err_set(err, rc, "collect strings: %zu bytes", grow);
        int rc2 = exec_budget_reserve(bud, dst->bytes_cap - before, "collect strings", err);
        if (rc2 != 0)
            return rc2;
        *acct += dst->bytes_cap - before;
    }
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *s;
        size_t l;
        vec_col_str(src, rows[k], &s, &l);
        int rc = vec_col_append_str(dst, s, l);
        TARN_ASSERT(rc == 0); /* room reserved above */
        (void)rc;
    }
    return 0;
}

int exec_col_append_rows(vec_col *dst, const vec_col *src, const uint32_t *rows, uint32_t n,
                         exec_budget *bud, size_t *acct, tarn_err *err)
{
    int rc = col_room(dst, n, bud, acct, err);
    if (rc != 0)
        return rc;
    uint32_t base = dst->len;
    if (src->validity || dst->validity) {
        for (uint32_t k = 0; k < n; k++) {
            if (vec_col_is_valid(src, rows[k])) {
                if (dst->validity)
                    exec_bit_set(dst->validity, base + k, true);
            } else if (vec_col_set_null(dst, base + k) != 0) {
                return tarn_err_set(err, TARN_ENOMEM, "collect rows: validity");
            }
        }
    }
    if (vec_type_is_var(dst->type.id))
        return append_strs(dst, src, rows, n, bud, acct, err);
    size_t w = vec_type_width(dst->type.id);
    uint8_t *d = (uint8_t *)dst->data + (size_t)base * w;
    const uint8_t *s = src->data;
    if (w == 8) {
        for (uint32_t k = 0; k < n; k++)
            memcpy(d + (size_t)k * 8, s + (size_t)rows[k] * 8, 8);
    } else if (w == 4) {
        for (uint32_t k = 0; k < n; k++)
            memcpy(d + (size_t)k * 4, s + (size_t)rows[k] * 4, 4);
    } else {
        for (uint32_t k = 0; k < n; k++)
            memcpy(d + (size_t)k * w, s + (size_t)rows[k] * w, w);
    }
    dst->len = base + n;
    return 0;
}
