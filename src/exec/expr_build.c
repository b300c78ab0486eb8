/*
 * exec/expr_build.c: building expression trees from their JSON form and
 * writing them back (the serializable plan a planner hands over). Type
 * checking happens here, once, so evaluation never dispatches per row.
 * Grammar: exec/README.md, "Expression JSON".
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct build_ctx {
    const vec_type_info *types;
    uint32_t ncols;
    exec_budget *budget;
    tarn_err *err;
} build_ctx;

static const struct {
    const char *name;
    exec_kind kind;
    int op;
} ops[] = {
    {"=", EXEC_K_CMP, EXEC_EQ},
    {"<>", EXEC_K_CMP, EXEC_NE},
    {"<", EXEC_K_CMP, EXEC_LT},
    {"<=", EXEC_K_CMP, EXEC_LE},
    {">", EXEC_K_CMP, EXEC_GT},
    {">=", EXEC_K_CMP, EXEC_GE},
    {"+", EXEC_K_ARITH, EXEC_ADD},
    {"-", EXEC_K_ARITH, EXEC_SUB},
    {"*", EXEC_K_ARITH, EXEC_MUL},
    {"/", EXEC_K_ARITH, EXEC_DIV},
    {"%", EXEC_K_ARITH, EXEC_MOD},
    {"and", EXEC_K_AND, 0},
    {"or", EXEC_K_OR, 0},
    {"not", EXEC_K_NOT, 0},
    {"is_null", EXEC_K_IS_NULL, 0},
    {"is_not_null", EXEC_K_IS_NOT_NULL, 0},
    {"like", EXEC_K_LIKE, 0},
    {"cast", EXEC_K_CAST, 0},
    {"coalesce", EXEC_K_COALESCE, 0},
    {"case", EXEC_K_CASE, 0},
    {"extract", EXEC_K_FUNC, EXEC_FN_EXTRACT},
    {"date_trunc", EXEC_K_FUNC, EXEC_FN_DATE_TRUNC},
    {"add_interval", EXEC_K_FUNC, EXEC_FN_ADD_INTERVAL},
    {"sub_interval", EXEC_K_FUNC, EXEC_FN_ADD_INTERVAL}, /* the interval negated */
    {"lower", EXEC_K_FUNC, EXEC_FN_LOWER},
    {"upper", EXEC_K_FUNC, EXEC_FN_UPPER},
    {"length", EXEC_K_FUNC, EXEC_FN_LENGTH},
    {"substr", EXEC_K_FUNC, EXEC_FN_SUBSTR},
    {"concat", EXEC_K_FUNC, EXEC_FN_CONCAT},
    {"||", EXEC_K_FUNC, EXEC_FN_CONCAT_OP},
    {"abs", EXEC_K_FUNC, EXEC_FN_ABS},
    {"round", EXEC_K_FUNC, EXEC_FN_ROUND},
};

/* Types that columns may have and CAST may read or produce, but that no
 * other node computes on (the binder widens them: i8/i16/u8/u16 -> i32,
 * u32 -> i64, f32 -> f64). */
static bool narrow_type(vec_type t)
{
    return t == VEC_I8 || t == VEC_I16 || t == VEC_U8 || t == VEC_U16 || t == VEC_U32 ||
           t == VEC_F32;
}

static const char *const unit_names[] = {"ms", "us", "ns"};

/* Timestamps and times: "unit" ms|us|ns, microseconds when absent. */
static int parse_unit(json_t *j, vec_type_info *t, build_ctx *c)
{
    const char *u = json_string_value(json_object_get(j, "unit"));
    t->unit = VEC_UNIT_MICROS;
    for (int k = 0; u && k < 3; k++)
        if (strcmp(u, unit_names[k]) == 0) {
            t->unit = (vec_time_unit)k;
            return 0;
        }
    return u ? tarn_err_set(c->err, TARN_EINVAL, "unknown time unit \"%s\"", u) : 0;
}

static int parse_type_ex(json_t *j, vec_type_info *t, bool narrow_ok, build_ctx *c)
{
    const char *name = json_string_value(json_object_get(j, "type"));
    memset(t, 0, sizeof(*t));
    for (int id = 0; name && id < VEC_TYPE_COUNT; id++) {
        if (strcmp(name, vec_type_name((vec_type)id)) == 0) {
            t->id = (vec_type)id;
            t->precision = (uint8_t)json_integer_value(json_object_get(j, "precision"));
            t->scale = (uint8_t)json_integer_value(json_object_get(j, "scale"));
            if (t->id == VEC_DECIMAL64 && (t->scale > 18 || t->precision > 18))
                return tarn_err_set(c->err, TARN_EINVAL, "decimal64 scale/precision over 18");
            if (t->id == VEC_DECIMAL64 && t->precision != 0 && t->scale > t->precision)
                return tarn_err_set(c->err, TARN_EINVAL, "decimal64 scale over its precision");
            if (t->id == VEC_TIMESTAMP || t->id == VEC_TIME) {
                int rc = parse_unit(j, t, c);
                if (rc != 0)
                    return rc;
            }
            if (exec_phys_of(t->id) == EXEC_P_NONE && !(narrow_ok && narrow_type(t->id)))
                return tarn_err_set(c->err, TARN_ENOTSUP, "type %s in expressions", name);
            return 0;
        }
    }
    return tarn_err_set(c->err, TARN_EINVAL, "unknown type \"%s\"", name ? name : "(none)");
}

static int parse_type(json_t *j, vec_type_info *t, build_ctx *c)
{
    return parse_type_ex(j, t, false, c);
}

static int new_node(exec_kind kind, uint32_t nargs, build_ctx *c, exec_expr **out)
{
    exec_expr *e = tarn_calloc(1, sizeof(*e));
    if (e != NULL && nargs > 0)
        e->args = tarn_calloc(nargs, sizeof(exec_expr *));
    if (e == NULL || (nargs > 0 && e->args == NULL)) {
        tarn_free(e);
        return tarn_err_set(c->err, TARN_ENOMEM, "expression node");
    }
    e->kind = kind;
    e->nargs = nargs;
    e->budget = c->budget;
    *out = e;
    return 0;
}

static int build_const(json_t *j, build_ctx *c, exec_expr **out)
{
    vec_type_info t;
    int rc = parse_type(j, &t, c);
    if (rc != 0 || (rc = new_node(EXEC_K_CONST, 0, c, out)) != 0)
        return rc;
    exec_expr *e = *out;
    e->type = t;
    json_t *v = json_object_get(j, "const");
    e->is_null = v == NULL || json_is_null(v);
    if (e->is_null)
        return 0;
    exec_phys p = exec_phys_of(t.id);
    if (p == EXEC_P_STR && json_is_string(v)) {
        e->slen = json_string_length(v);
        e->sval = tarn_malloc(e->slen + 1);
        if (e->sval == NULL)
            return tarn_err_set(c->err, TARN_ENOMEM, "string constant");
        memcpy(e->sval, json_string_value(v), e->slen + 1);
    } else if (p == EXEC_P_BOOL && json_is_boolean(v)) {
        e->ival = json_is_true(v);
    } else if (p == EXEC_P_F64 && json_is_number(v)) {
        e->fval = json_number_value(v);
    } else if (p == EXEC_P_F64 && json_is_string(v) && strcmp(json_string_value(v), "inf") == 0) {
        e->fval = INFINITY; /* JSON has no infinities or NaN: "inf", "-inf", "nan" */
    } else if (p == EXEC_P_F64 && json_is_string(v) && strcmp(json_string_value(v), "-inf") == 0) {
        e->fval = -INFINITY;
    } else if (p == EXEC_P_F64 && json_is_string(v) && strcmp(json_string_value(v), "nan") == 0) {
        e->fval = NAN;
    } else if ((p == EXEC_P_I32 || p == EXEC_P_I64) && json_is_integer(v)) {
        e->ival = json_integer_value(v);
        if (p == EXEC_P_I32 && (e->ival < INT32_MIN || e->ival > INT32_MAX))
            return tarn_err_set(c->err, TARN_ERANGE, "constant %lld out of i32 range",
                                (long long)e->ival);
    } else if (t.id == VEC_DATE && json_is_string(v) &&
               exec_parse_date(json_string_value(v), json_string_length(v), &e->ival)) {
        /* dates may be written as "YYYY-MM-DD" */
    } else if (t.id == VEC_TIMESTAMP && t.unit == VEC_UNIT_MICROS && json_is_string(v) &&
               exec_parse_timestamp(json_string_value(v), json_string_length(v), &e->ival)) {
        /* timestamps as "YYYY-MM-DD HH:MM:SS[.ffffff]" */
    } else {
        return tarn_err_set(c->err, TARN_EINVAL, "constant does not fit type %s",
                            vec_type_name(t.id));
    }
    return 0;
}

static int build(json_t *j, build_ctx *c, int depth, exec_expr **out);

static bool same_type(vec_type_info a, vec_type_info b)
{
    return a.id == b.id && (a.id != VEC_DECIMAL64 || a.scale == b.scale) &&
           ((a.id != VEC_TIMESTAMP && a.id != VEC_TIME) || a.unit == b.unit);
}

static int check_cast(exec_expr *e, build_ctx *c)
{
    vec_type_info f = e->args[0]->type, t = e->type;
    bool ok = exec_cast_ok(f, t) || (same_type(f, t) && !f.list);
    if (!ok)
        return tarn_err_set(c->err, TARN_ENOTSUP, "cast from %s to %s", vec_type_name(f.id),
                            vec_type_name(t.id));
    return 0;
}

/* Sets e->type from its arguments, or fails with the reason. */
static int check_types(exec_expr *e, build_ctx *c)
{
    exec_expr **a = e->args;
    vec_type_info boolean = {.id = VEC_BOOL};
    for (uint32_t i = 0; i < e->nargs; i++)
        if (exec_phys_of(a[i]->type.id) == EXEC_P_NONE && e->kind != EXEC_K_IS_NULL &&
            e->kind != EXEC_K_IS_NOT_NULL)
            return tarn_err_set(c->err, TARN_EINVAL, "%s operand (cast it to a wider type first)",
                                vec_type_name(a[i]->type.id));
    switch (e->kind) {
    case EXEC_K_FUNC:
        return exec_func_check(e, c->err);
    case EXEC_K_CMP:
        if (!same_type(a[0]->type, a[1]->type))
            return tarn_err_set(c->err, TARN_EINVAL, "comparison of %s and %s (cast first)",
                                vec_type_name(a[0]->type.id), vec_type_name(a[1]->type.id));
        e->type = boolean;
        return 0;
    case EXEC_K_ARITH: {
        vec_type_info t = a[0]->type;
        exec_phys p = exec_phys_of(t.id);
        if (t.id == VEC_DATE && a[1]->type.id == VEC_DATE && e->op == EXEC_SUB) {
            e->type = (vec_type_info){.id = VEC_I64}; /* date - date: days, as DuckDB */
            return 0;
        }
        if (t.id != a[1]->type.id || (p != EXEC_P_I64 && p != EXEC_P_F64))
            return tarn_err_set(c->err, TARN_EINVAL,
                                "arithmetic on %s and %s (i64, f64, "
                                "decimal64 of equal types; cast first)",
                                vec_type_name(t.id), vec_type_name(a[1]->type.id));
        if (t.id == VEC_DECIMAL64 && e->op == EXEC_DIV)
            return tarn_err_set(c->err, TARN_ENOTSUP, "decimal division (cast to f64)");
        if (t.id == VEC_DECIMAL64 && e->op == EXEC_MUL) {
            t.scale = (uint8_t)(t.scale + a[1]->type.scale);
            t.precision = 18;
            if (t.scale > 18)
                return tarn_err_set(c->err, TARN_ENOTSUP, "decimal product scale over 18");
        } else if (t.id == VEC_DECIMAL64 && t.scale != a[1]->type.scale) {
            return tarn_err_set(c->err, TARN_EINVAL, "decimal +/- of different scales");
        }
        e->type = t;
        return 0;
    }
    case EXEC_K_AND:
    case EXEC_K_OR:
    case EXEC_K_NOT:
        for (uint32_t i = 0; i < e->nargs; i++)
            if (a[i]->type.id != VEC_BOOL)
                return tarn_err_set(c->err, TARN_EINVAL, "AND/OR/NOT of %s",
                                    vec_type_name(a[i]->type.id));
        e->type = boolean;
        return 0;
    case EXEC_K_IS_NULL:
    case EXEC_K_IS_NOT_NULL:
        e->type = boolean;
        return 0;
    case EXEC_K_LIKE:
        if (a[0]->type.id != VEC_STRING || a[1]->kind != EXEC_K_CONST ||
            a[1]->type.id != VEC_STRING)
            return tarn_err_set(c->err, TARN_EINVAL, "LIKE wants a string and a constant pattern");
        e->type = boolean;
        return 0;
    case EXEC_K_CAST:
        return check_cast(e, c);
    case EXEC_K_CASE:
        for (uint32_t i = 0; i < e->nargs; i++) {
            bool cond = i % 2 == 0 && i + 1 < e->nargs;
            if (cond ? a[i]->type.id != VEC_BOOL : !same_type(a[i]->type, a[1]->type))
                return tarn_err_set(c->err, TARN_EINVAL,
                                    "CASE wants boolean conditions and values of one type");
        }
        e->type = a[1]->type;
        return 0;
    case EXEC_K_COALESCE:
        for (uint32_t i = 1; i < e->nargs; i++)
            if (!same_type(a[i]->type, a[0]->type))
                return tarn_err_set(c->err, TARN_EINVAL, "COALESCE of different types");
        e->type = a[0]->type;
        return 0;
    default:
        return tarn_err_set(c->err, TARN_EINTERNAL, "check_types");
    }
}

/* Builds kind(op) over already built arguments (taken, also on failure). */
static int make(exec_kind kind, int op, exec_expr **args, uint32_t nargs, build_ctx *c,
                exec_expr **out)
{
    int rc = new_node(kind, nargs, c, out);
    if (rc != 0) {
        for (uint32_t i = 0; i < nargs; i++)
            exec_expr_free(args[i]);
        return rc;
    }
    (*out)->op = op;
    memcpy((*out)->args, args, nargs * sizeof(exec_expr *));
    rc = check_types(*out, c);
    if (rc != 0) {
        exec_expr_free(*out);
        *out = NULL;
    }
    return rc;
}

/* x BETWEEN lo AND hi  ->  x >= lo AND x <= hi;  x IN (a, b)  ->  x = a OR x = b.
 * x is built once per use from its JSON, so the trees share nothing. This
 * keeps SQL's NULL rules exact (x IN (1, NULL) is NULL when x <> 1). */
static int build_sugar(json_t *args, bool between, build_ctx *c, int depth, exec_expr **out)
{
    size_t n = json_array_size(args);
    if (between ? n != 3 : n < 2)
        return tarn_err_set(c->err, TARN_EINVAL, "%s: wrong number of arguments",
                            between ? "between" : "in");
    exec_expr *acc = NULL;
    for (size_t i = 1; i < n; i++) {
        exec_expr *pair[2] = {NULL, NULL}, *cmp;
        int rc = build(json_array_get(args, 0), c, depth + 1, &pair[0]);
        if (rc == 0)
            rc = build(json_array_get(args, i), c, depth + 1, &pair[1]);
        int op = between ? (i == 1 ? EXEC_GE : EXEC_LE) : EXEC_EQ;
        if (rc == 0) {
            rc = make(EXEC_K_CMP, op, pair, 2, c, &cmp);
        } else {
            exec_expr_free(pair[0]);
            exec_expr_free(pair[1]);
        }
        if (rc == 0 && acc != NULL) {
            exec_expr *two[2] = {acc, cmp};
            acc = NULL;
            rc = make(between ? EXEC_K_AND : EXEC_K_OR, 0, two, 2, c, &cmp);
        }
        if (rc != 0) {
            exec_expr_free(acc);
            return rc;
        }
        acc = cmp;
    }
    *out = acc;
    return 0;
}

/* The parameters of a function node: "field" (extract) or "part"
 * (date_trunc) by name; "months", "days", "micros" (add_interval,
 * sub_interval); an optional result "type" (date functions). */
static int func_params(json_t *j, const char *name, exec_expr *e, build_ctx *c)
{
    e->type.id = VEC_TYPE_COUNT; /* unset: the function decides */
    if (e->op == EXEC_FN_EXTRACT || e->op == EXEC_FN_DATE_TRUNC) {
        const char *f =
            json_string_value(json_object_get(j, e->op == EXEC_FN_EXTRACT ? "field" : "part"));
        int64_t k = 0;
        while (f && k < EXEC_DT_COUNT && strcmp(exec_dt_names[k], f) != 0)
            k++;
        if (f == NULL || k == EXEC_DT_COUNT)
            return tarn_err_set(c->err, TARN_EINVAL, "%s: unknown date part \"%s\"", name,
                                f ? f : "(none)");
        e->param[0] = k;
    }
    if (e->op == EXEC_FN_ADD_INTERVAL) {
        static const char *const parts[3] = {"months", "days", "micros"};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(j, parts[k]);
            if (v && !json_is_integer(v))
                return tarn_err_set(c->err, TARN_EINVAL, "%s: \"%s\" must be an integer", name,
                                    parts[k]);
            e->param[k] = json_integer_value(v);
            if (name[0] == 's' && __builtin_sub_overflow(0, e->param[k], &e->param[k]))
                return tarn_err_set(c->err, TARN_ERANGE, "%s: interval out of range", name);
        }
    }
    if (json_object_get(j, "type") != NULL) {
        int rc = parse_type(j, &e->type, c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int build_func(json_t *j, const char *name, int fn, exec_expr **a, uint32_t n, build_ctx *c,
                      exec_expr **out)
{
    int rc = new_node(EXEC_K_FUNC, n, c, out);
    if (rc != 0) {
        for (uint32_t i = 0; i < n; i++)
            exec_expr_free(a[i]);
        return rc;
    }
    exec_expr *e = *out;
    e->op = fn;
    memcpy(e->args, a, n * sizeof(exec_expr *));
    rc = func_params(j, name, e, c);
    if (rc == 0)
        rc = check_types(e, c);
    return rc; /* on failure build() frees *out with its arguments */
}

static int build_op(json_t *j, const char *name, build_ctx *c, int depth, exec_expr **out)
{
    json_t *args = json_object_get(j, "args");
    size_t n = json_array_size(args);
    if (strcmp(name, "between") == 0 || strcmp(name, "in") == 0)
        return build_sugar(args, name[0] == 'b', c, depth, out);
    size_t k = 0;
    while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[k].name, name) != 0)
        k++;
    if (k == sizeof(ops) / sizeof(ops[0]))
        return tarn_err_set(c->err, TARN_EINVAL, "unknown operator \"%s\"", name);
    exec_kind kind = ops[k].kind;
    size_t want = kind == EXEC_K_NOT || kind == EXEC_K_IS_NULL || kind == EXEC_K_IS_NOT_NULL ||
                          kind == EXEC_K_CAST
                      ? 1
                      : 2;
    bool many = kind == EXEC_K_AND || kind == EXEC_K_OR || kind == EXEC_K_COALESCE ||
                kind == EXEC_K_CASE || kind == EXEC_K_FUNC;
    if (kind == EXEC_K_FUNC)
        want = 1;
    if (n > EXEC_EXPR_ARGS_MAX || n < (kind == EXEC_K_COALESCE ? 1 : want) || (!many && n != want))
        return tarn_err_set(c->err, TARN_EINVAL, "\"%s\": wrong number of arguments", name);
    exec_expr *a[EXEC_EXPR_ARGS_MAX];
    int rc = 0;
    size_t built = 0;
    for (; built < n && rc == 0; built++)
        rc = build(json_array_get(args, built), c, depth + 1, &a[built]);
    if (rc != 0) {
        for (size_t i = 0; i + 1 < built; i++)
            exec_expr_free(a[i]);
        return rc;
    }
    if (kind == EXEC_K_CAST) {
        vec_type_info t;
        if ((rc = parse_type_ex(j, &t, true, c)) != 0 || (rc = new_node(kind, 1, c, out)) != 0) {
            exec_expr_free(a[0]);
            return rc;
        }
        (*out)->args[0] = a[0];
        (*out)->type = t;
        rc = check_cast(*out, c);
        return rc;
    }
    if (kind == EXEC_K_FUNC)
        return build_func(j, name, ops[k].op, a, (uint32_t)n, c, out);
    if (kind == EXEC_K_COALESCE || kind == EXEC_K_CASE || n <= 2) {
        rc = make(kind, ops[k].op, a, (uint32_t)n, c, out);
        /* "wide": decimal + - * held to int64's range instead of 18
         * digits (DuckDB's DECIMAL(19+) results of a BIGINT operand) */
        if (rc == 0 && kind == EXEC_K_ARITH && json_is_true(json_object_get(j, "wide")))
            (*out)->param[0] = 1;
        return rc;
    }
    /* AND/OR of more than two: a left-deep chain */
    exec_expr *acc = a[0];
    for (size_t i = 1; i < n && rc == 0; i++) {
        exec_expr *two[2] = {acc, a[i]}, *next = NULL;
        rc = make(kind, 0, two, 2, c, &next);
        acc = next;
        if (rc != 0)
            for (size_t r = i + 1; r < n; r++)
                exec_expr_free(a[r]);
    }
    *out = acc;
    return rc;
}

static int build(json_t *j, build_ctx *c, int depth, exec_expr **out)
{
    *out = NULL;
    if (depth > EXEC_EXPR_DEPTH_MAX)
        return tarn_err_set(c->err, TARN_EINVAL, "expression deeper than %d", EXEC_EXPR_DEPTH_MAX);
    if (!json_is_object(j))
        return tarn_err_set(c->err, TARN_EINVAL, "expression node is not an object");
    json_t *col = json_object_get(j, "col");
    const char *op = json_string_value(json_object_get(j, "op"));
    int rc;
    if (col != NULL) {
        json_int_t i = json_integer_value(col);
        if (!json_is_integer(col) || i < 0 || i >= (json_int_t)c->ncols)
            return tarn_err_set(c->err, TARN_EINVAL, "column %lld out of range (%u columns)",
                                (long long)i, c->ncols);
        if ((exec_phys_of(c->types[i].id) == EXEC_P_NONE && !narrow_type(c->types[i].id)) ||
            c->types[i].list)
            return tarn_err_set(c->err, TARN_ENOTSUP, "column %lld of type %s", (long long)i,
                                vec_type_name(c->types[i].id));
        if ((rc = new_node(EXEC_K_COL, 0, c, out)) != 0)
            return rc;
        (*out)->col = (uint32_t)i;
        (*out)->type = c->types[i];
        return 0;
    }
    if (json_object_get(j, "const") != NULL)
        rc = build_const(j, c, out);
    else if (op != NULL)
        rc = build_op(j, op, c, depth, out);
    else
        return tarn_err_set(c->err, TARN_EINVAL, "expression node without col, const or op");
    if (rc != 0 && *out != NULL) {
        exec_expr_free(*out);
        *out = NULL;
    }
    return rc;
}

int exec_expr_from_jsonv(const void *jnode, const vec_type_info *types, uint32_t ncols,
                         exec_budget *budget, exec_expr **out, tarn_err *err)
{
    build_ctx c = {types, ncols, budget, err};
    int rc = build((json_t *)jnode, &c, 0, out);
    return rc != 0 ? tarn_err_wrap(err, rc, "build expression") : 0;
}

int exec_expr_from_json(const char *json, const vec_type_info *types, uint32_t ncols,
                        exec_budget *budget, exec_expr **out, tarn_err *err)
{
    json_error_t jerr;
    *out = NULL;
    tarn_alloc_hook_jansson();
    json_t *j = json_loads(json, 0, &jerr);
    if (j == NULL)
        return tarn_err_set(err, TARN_EINVAL, "expression JSON: %s at %d", jerr.text,
                            jerr.position);
    build_ctx c = {types, ncols, budget, err};
    int rc = build(j, &c, 0, out);
    json_decref(j);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "build expression");
    return 0;
}

static json_t *type_json(json_t *o, vec_type_info t)
{
    json_object_set_new(o, "type", json_string(vec_type_name(t.id)));
    if (t.id == VEC_DECIMAL64) {
        json_object_set_new(o, "precision", json_integer(t.precision));
        json_object_set_new(o, "scale", json_integer(t.scale));
    }
    if ((t.id == VEC_TIMESTAMP || t.id == VEC_TIME) && t.unit != VEC_UNIT_MICROS)
        json_object_set_new(o, "unit", json_string(unit_names[t.unit]));
    return o;
}

static void func_json(json_t *o, const exec_expr *e)
{
    if (e->op == EXEC_FN_EXTRACT || e->op == EXEC_FN_DATE_TRUNC)
        json_object_set_new(o, e->op == EXEC_FN_EXTRACT ? "field" : "part",
                            json_string(exec_dt_names[e->param[0]]));
    if (e->op == EXEC_FN_ADD_INTERVAL) {
        json_object_set_new(o, "months", json_integer(e->param[0]));
        json_object_set_new(o, "days", json_integer(e->param[1]));
        json_object_set_new(o, "micros", json_integer(e->param[2]));
    }
    if (e->op == EXEC_FN_DATE_TRUNC || e->op == EXEC_FN_ADD_INTERVAL)
        type_json(o, e->type);
}

static json_t *const_json(const exec_expr *e)
{
    if (e->is_null)
        return json_null();
    switch (exec_phys_of(e->type.id)) {
    case EXEC_P_STR:
        return json_stringn((const char *)e->sval, e->slen);
    case EXEC_P_BOOL:
        return json_boolean(e->ival);
    case EXEC_P_F64:
        if (isnan(e->fval))
            return json_string("nan");
        if (isinf(e->fval))
            return json_string(e->fval > 0 ? "inf" : "-inf");
        return json_real(e->fval);
    default:
        return json_integer(e->ival);
    }
}

/* NULL on ENOMEM (jansson's allocations go through tarn_malloc). */
static json_t *to_json(const exec_expr *e)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (e->kind == EXEC_K_COL) {
        json_object_set_new(o, "col", json_integer(e->col));
        return o;
    }
    if (e->kind == EXEC_K_CONST) {
        json_object_set_new(o, "const", const_json(e));
        return type_json(o, e->type);
    }
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (ops[k].kind == e->kind &&
            (ops[k].op == e->op ||
             (e->kind != EXEC_K_CMP && e->kind != EXEC_K_ARITH && e->kind != EXEC_K_FUNC))) {
            json_object_set_new(o, "op", json_string(ops[k].name));
            break;
        }
    json_t *args = json_array();
    for (uint32_t i = 0; i < e->nargs; i++)
        json_array_append_new(args, to_json(e->args[i]));
    json_object_set_new(o, "args", args);
    if (e->kind == EXEC_K_CAST)
        type_json(o, e->type);
    if (e->kind == EXEC_K_FUNC)
        func_json(o, e);
    if (e->kind == EXEC_K_ARITH && e->param[0])
        json_object_set_new(o, "wide", json_true());
    return o;
}

char *exec_expr_to_json(const exec_expr *e)
{
    tarn_alloc_hook_jansson();
    json_t *j = to_json(e);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    return s; /* jansson allocates through tarn_malloc once hooked, so tarn_free frees it */
}
