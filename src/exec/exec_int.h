/*
 * exec/exec_int.h: what the executor's files share: the expression node,
 * the operator base, the kernels and column helpers. Design note:
 * exec/README.md.
 */
#ifndef TARN_EXEC_EXEC_INT_H
#define TARN_EXEC_EXEC_INT_H

#include "base/num.h" /* tarn_pow10_i64, the civil calendar */
#include "exec/exec.h"

typedef enum exec_kind {
    EXEC_K_COL,
    EXEC_K_CONST,
    EXEC_K_CMP,
    EXEC_K_ARITH,
    EXEC_K_AND,
    EXEC_K_OR,
    EXEC_K_NOT,
    EXEC_K_IS_NULL,
    EXEC_K_IS_NOT_NULL,
    EXEC_K_LIKE,
    EXEC_K_CAST,
    EXEC_K_COALESCE,
    EXEC_K_CASE, /* args: cond, value, cond, value, ... [, else] */
    EXEC_K_FUNC, /* scalar function: op is an exec_fn, parameters in param[] */
} exec_kind;

/* Scalar functions (func.c); the JSON names are in expr_build.c's table. */
typedef enum exec_fn {
    EXEC_FN_EXTRACT,      /* param[0]: exec_dt_field */
    EXEC_FN_DATE_TRUNC,   /* param[0]: exec_dt_field (the unit) */
    EXEC_FN_ADD_INTERVAL, /* param[0..2]: months, days, micros */
    EXEC_FN_LOWER,
    EXEC_FN_UPPER,
    EXEC_FN_LENGTH,
    EXEC_FN_SUBSTR,    /* 2 or 3 arguments */
    EXEC_FN_CONCAT,    /* NULL arguments are skipped */
    EXEC_FN_CONCAT_OP, /* ||: NULL when any argument is */
    EXEC_FN_ABS,
    EXEC_FN_ROUND, /* param[0]: digits (a constant) */
} exec_fn;

/* Fields of extract and units of date_trunc. */
typedef enum exec_dt_field {
    EXEC_DT_MILLENNIUM,
    EXEC_DT_CENTURY,
    EXEC_DT_DECADE,
    EXEC_DT_YEAR,
    EXEC_DT_QUARTER,
    EXEC_DT_MONTH,
    EXEC_DT_WEEK, /* ISO week; date_trunc: the Monday */
    EXEC_DT_DAY,
    EXEC_DT_HOUR,
    EXEC_DT_MINUTE,
    EXEC_DT_SECOND,
    EXEC_DT_MILLISECOND,
    EXEC_DT_MICROSECOND,
    EXEC_DT_DOW,    /* extract only: Sunday 0 .. Saturday 6 */
    EXEC_DT_ISODOW, /* extract only: Monday 1 .. Sunday 7 */
    EXEC_DT_DOY,    /* extract only: 1 .. 366 */
    EXEC_DT_EPOCH,  /* extract only: seconds since 1970 (f64) */
    EXEC_DT_COUNT
} exec_dt_field;
extern const char *const exec_dt_names[EXEC_DT_COUNT];

typedef enum exec_cmp_op { EXEC_EQ, EXEC_NE, EXEC_LT, EXEC_LE, EXEC_GT, EXEC_GE } exec_cmp_op;
/* EXEC_MOD is evaluated in expr_eval.c (its NULLs need the node's validity). */
typedef enum exec_arith_op { EXEC_ADD, EXEC_SUB, EXEC_MUL, EXEC_DIV, EXEC_MOD } exec_arith_op;

/* Physical classes the kernels are written for. */
typedef enum exec_phys {
    EXEC_P_BOOL,
    EXEC_P_I32,
    EXEC_P_I64,
    EXEC_P_F64,
    EXEC_P_STR,
    EXEC_P_NONE
} exec_phys;
exec_phys exec_phys_of(vec_type t);

/* Bounded depth of expression trees (the evaluator recurses). */
#define EXEC_EXPR_DEPTH_MAX 64
/* Bounded arguments of one node (IN lists desugar into OR chains). */
#define EXEC_EXPR_ARGS_MAX 256

struct exec_expr {
    exec_kind kind;
    int op; /* exec_cmp_op or exec_arith_op */
    vec_type_info type;
    exec_expr **args;
    uint32_t nargs;
    uint32_t col; /* EXEC_K_COL */
    /* EXEC_K_CONST: */
    bool is_null;
    int64_t ival; /* ints, dates, decimals (unscaled), bools */
    double fval;
    uint8_t *sval; /* tarn_malloc'd, slen bytes */
    size_t slen;
    /* Scratch result, reused batch to batch. */
    vec_col out;
    uint8_t *vbuf;       /* validity buffer; out.validity is vbuf or NULL */
    bool const_filled;   /* constants: out holds the broadcast value */
    size_t acct_bytes;   /* accounted against budget */
    exec_budget *budget; /* borrowed */
    int64_t param[3];    /* EXEC_K_FUNC: see exec_fn; EXEC_K_ARITH: param[0] 1 = "wide" */
    uint32_t *sbuf;      /* AND/OR: rows the right side is evaluated on */
    uint32_t sbuf_cap;
    /* Strings in dictionary form vs a constant: result per dictionary entry. */
    const vec_dict *dcache;
    uint32_t dcache_count;
    uint8_t *dres;
    size_t dres_bytes;
};

/* ---- dates and timestamps (datetime.c); days since 1970-01-01, micros
 * since 1970-01-01 00:00:00, proleptic Gregorian ---- */
#define EXEC_US_PER_DAY INT64_C(86400000000)
int exec_days_in_month(int64_t y, int m);
/* "YYYY-MM-DD" (surrounding spaces allowed); false when malformed or not a
 * real date (2024-02-30). */
bool exec_parse_date(const char *s, size_t len, int64_t *days);
/* "YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]]"; false when malformed. */
bool exec_parse_timestamp(const char *s, size_t len, int64_t *micros);
/* Writes the text form into buf (>= 40 bytes); returns its length. */
size_t exec_format_date(int64_t days, char *buf);
size_t exec_format_timestamp(int64_t micros, char *buf);
static inline int64_t exec_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* ---- casts and scalar functions ---- */
/* Whether CAST(from AS to) is supported (cast.c). */
bool exec_cast_ok(vec_type_info from, vec_type_info to);
/* Casts the live rows sel[0..n) of x (a batch of `rows` rows) into out,
 * prepared for the target type (string targets: empty, filled with all
 * `rows` rows, empty at dead rows); validity is the caller's. TARN_EINVAL
 * for text that does not parse, TARN_ERANGE for a value out of the
 * target's range; both only at valid rows. */
int exec_cast_rows(const vec_col *x, vec_col *out, const uint32_t *sel, uint32_t n, uint32_t rows,
                   exec_budget *bud, size_t *acct, tarn_err *err);
/* Type-checks a function node and sets e->type (func.c). */
int exec_func_check(exec_expr *e, tarn_err *err);
/* Evaluates the function node's rows sel[0..n) from its argument columns. */
int exec_func_eval(exec_expr *e, const vec_col *const *args, uint32_t rows, const uint32_t *sel,
                   uint32_t n, tarn_err *err);
/* Reserves budget for flat string output of `extra` more bytes. */
int exec_str_room(vec_col *col, size_t extra, exec_budget *bud, size_t *acct, tarn_err *err);

/* exec_expr_from_json over an already parsed jansson node (json_t *). */
int exec_expr_from_jsonv(const void *jnode, const vec_type_info *types, uint32_t ncols,
                         exec_budget *budget, exec_expr **out, tarn_err *err);

/* Kernels over rows sel[0..n) (or 0..n-1 when sel is NULL). */
void exec_k_cmp(exec_cmp_op op, const vec_col *a, const vec_col *b, const uint32_t *sel, uint32_t n,
                uint8_t *res);
/* A decimal + - * result holds at most 18 digits (|unscaled| < 10^18), as
 * DuckDB's DECIMAL(18) results of 64-bit decimals: 999999999999999999 + 1
 * at DECIMAL(18,0) is TARN_ERANGE there, though int64 could hold it.
 * Checked at live, valid rows of out (a's and b's validity). */
int exec_k_decimal_digits(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                          uint32_t n, const vec_col *out, tarn_err *err);
int exec_k_arith(exec_arith_op op, const vec_col *a, const vec_col *b, const uint32_t *sel,
                 uint32_t n, vec_col *out, tarn_err *err);
/* out = valid(a) AND valid(b) over `len` rows; returns false (and leaves
 * out untouched) when both are all-valid. */
bool exec_validity_and(uint8_t *out, const vec_col *a, const vec_col *b, uint32_t len);
static inline void exec_bit_set(uint8_t *bits, uint32_t i, bool v)
{
    if (v)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* Makes `col` (zeroed or earlier prepared) a column of `type` with room for
 * `rows`, accounting growth in *acct against the budget. */
int exec_col_prepare(vec_col *col, vec_type_info type, uint32_t rows, exec_budget *bud,
                     size_t *acct, const char *what, tarn_err *err);
/* Appends rows[0..n) of src (any form; dictionary strings are decoded) to
 * dst (flat, same type id), growing it; accounts growth. */
int exec_col_append_rows(vec_col *dst, const vec_col *src, const uint32_t *rows, uint32_t n,
                         exec_budget *bud, size_t *acct, tarn_err *err);

/* The operator base: each kind embeds it first. */
typedef struct exec_op_vt {
    const char *name;
    int (*open)(exec_op *op, tarn_err *err);
    int (*next)(exec_op *op, const vec_batch **out, tarn_err *err);
    void (*close)(exec_op *op); /* frees the kind's state, not the base or child */
} exec_op_vt;

struct exec_op {
    const exec_op_vt *vt;
    exec_op *child;
    exec_budget *budget;
    vec_type_info *types; /* output schema */
    uint32_t ncols;
    bool failed;
};
/* Allocates an operator of `size` bytes with the base filled in. */
int exec_op_alloc(size_t size, const exec_op_vt *vt, exec_op *child, exec_budget *bud,
                  const vec_type_info *types, uint32_t ncols, exec_op **out, tarn_err *err);

#endif
