/*
 * parquet/tool.c: `tarn parquet schema|meta|cat`, as a function the command
 * line calls (pq_tool_main in parquet/tool.h). Reads a local file through
 * pread, so it shows the reader exactly as the engine uses it.
 *
 * Value text (the `json` format of every command that prints rows):
 *   NULL null; booleans and numbers (64-bit integers too) as JSON numbers,
 *   floats in the shortest form that reads back exactly; decimals as
 *   strings (exact); DATE "YYYY-MM-DD"; TIME "HH:MM:SS[.fff...]"; TIMESTAMP
 *   "YYYY-MM-DD HH:MM:SS[.fff...]" with "+00" when UTC-adjusted; BLOB as a
 *   string with non-printable bytes as \xNN. The `csv` and `table` formats
 *   use the same text, unquoted where the format allows.
 * Rows print by top-level field: structs as objects, lists as arrays, maps
 * as arrays of {"key": ..., "value": ...}, nested as deep as the file (see
 * "nested values" below); `--columns` names leaves by their dotted path
 * and keeps the fields that hold them, in the order given.
 */
#include "parquet/tool.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/num.h"
#include "parquet/parquet.h"
#include "parquet/pq_int.h"
#include "parquet/reader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a local file as a pq_source ---- */

int pq_fd_read(void *ctx, uint64_t off, size_t len, void *dst, tarn_err *err)
{
    int fd = *(int *)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)dst + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tarn_err_set(err, n < 0 ? tarn_err_from_errno(errno) : TARN_ECORRUPT,
                                "read %zu bytes at %llu", len, (unsigned long long)off);
        done += (size_t)n;
    }
    return 0;
}

/* ---- value text ---- */

static int64_t unit_per_second(vec_time_unit u)
{
    return u == VEC_UNIT_MILLIS ? 1000 : u == VEC_UNIT_MICROS ? 1000000 : 1000000000;
}

/* HH:MM:SS[.fraction] of `v` units since midnight (0 <= v < one day). */
static void put_time_of_day(tarn_buf *b, int64_t v, vec_time_unit u)
{
    int64_t ups = unit_per_second(u), secs = v / ups, frac = v % ups;
    tarn_buf_printf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                    (int)(secs % 60));
    int digits = u == VEC_UNIT_MILLIS ? 3 : u == VEC_UNIT_MICROS ? 6 : 9;
    if (frac)
        tarn_buf_printf(b, ".%0*" PRId64, digits, frac);
}

static void put_date(tarn_buf *b, int64_t days)
{
    int64_t y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    tarn_buf_printf(b, "%04" PRId64 "-%02d-%02d", y, m, d);
}

static void put_timestamp(tarn_buf *b, int64_t v, const vec_type_info *t)
{
    int64_t per_day = unit_per_second(t->unit) * 86400;
    int64_t days = v / per_day, rem = v % per_day;
    if (rem < 0) {
        rem += per_day;
        days--;
    }
    put_date(b, days);
    tarn_buf_append_byte(b, ' ');
    put_time_of_day(b, rem, t->unit);
    if (t->utc)
        tarn_buf_append_str(b, "+00");
}

/* An unscaled decimal with `scale` digits after the point. */
static void put_decimal(tarn_buf *b, vec_i128 v, unsigned scale)
{
    uint64_t hi = (uint64_t)v.hi, lo = v.lo;
    bool neg = v.hi < 0;
    if (neg) {
        lo = ~lo + 1;
        hi = ~hi + (lo == 0);
    }
    char digits[48];
    int n = 0;
    do {
        uint64_t limbs[4] = {hi >> 32, hi & 0xffffffff, lo >> 32, lo & 0xffffffff}, rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = cur / 10;
            rem = cur % 10;
        }
        hi = limbs[0] << 32 | limbs[1];
        lo = limbs[2] << 32 | limbs[3];
        digits[n++] = (char)('0' + rem);
    } while (hi || lo);
    while (n <= (int)scale)
        digits[n++] = '0';
    if (neg)
        tarn_buf_append_byte(b, '-');
    for (int i = n - 1; i >= 0; i--) {
        tarn_buf_append_byte(b, (uint8_t)digits[i]);
        if (i == (int)scale && scale > 0)
            tarn_buf_append_byte(b, '.');
    }
}

static void put_blob(tarn_buf *b, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
            tarn_buf_append_byte(b, s[i]);
        else
            tarn_buf_printf(b, "\\x%02X", s[i]);
    }
}

static void value_text(tarn_buf *b, const vec_col *c, uint32_t r, bool *quote);

/* A list as a JSON array of element texts (in every format). */
static void list_text(tarn_buf *b, const vec_col *c, uint32_t r)
{
    tarn_buf_append_byte(b, '[');
    for (uint32_t i = c->list_offsets[r]; i < c->list_offsets[r + 1]; i++) {
        if (i > c->list_offsets[r])
            tarn_buf_append_byte(b, ',');
        bool quote = false;
        if (!vec_col_is_valid(c->elems, i)) {
            tarn_buf_append_str(b, "null");
            continue;
        }
        tarn_buf t;
        tarn_buf_init(&t, TARN_BUF_UNBOUNDED);
        value_text(&t, c->elems, i, &quote);
        if (quote)
            tarn_buf_append_json_str(b, tarn_buf_cstr(&t), t.len);
        else
            tarn_buf_append(b, tarn_buf_cstr(&t), t.len);
        tarn_buf_free(&t);
    }
    tarn_buf_append_byte(b, ']');
}

/* The fewest significant digits (up to 9 for a float, 17 for a double)
 * that read back as the same value: 1.1, not 1.1000000000000001. */
static void put_shortest_float(tarn_buf *b, double x, bool is_float)
{
    char text[40];
    int max_digits = is_float ? 9 : 17;
    for (int digits = 1; digits <= max_digits; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, x);
        double back = strtod(text, NULL);
        if (is_float ? (float)back == (float)x : back == x)
            break;
    }
    tarn_buf_append_str(b, text);
}

/* The value text of a valid row; *quote says whether JSON needs quotes. */
static void value_text(tarn_buf *b, const vec_col *c, uint32_t r, bool *quote)
{
    if (c->type.list) {
        list_text(b, c, r);
        *quote = false;
        return;
    }
    const void *d = c->data;
    *quote = true;
    switch (c->type.id) {
    case VEC_BOOL:
        tarn_buf_append_str(b, ((const uint8_t *)d)[r] ? "true" : "false");
        break;
    case VEC_I8:
        tarn_buf_printf(b, "%d", ((const int8_t *)d)[r]);
        break;
    case VEC_I16:
        tarn_buf_printf(b, "%d", ((const int16_t *)d)[r]);
        break;
    case VEC_I32:
        tarn_buf_printf(b, "%" PRId32, ((const int32_t *)d)[r]);
        break;
    case VEC_U8:
        tarn_buf_printf(b, "%u", ((const uint8_t *)d)[r]);
        break;
    case VEC_U16:
        tarn_buf_printf(b, "%u", ((const uint16_t *)d)[r]);
        break;
    case VEC_U32:
        tarn_buf_printf(b, "%" PRIu32, ((const uint32_t *)d)[r]);
        break;
    case VEC_I64:
        tarn_buf_printf(b, "%" PRId64, ((const int64_t *)d)[r]);
        break;
    case VEC_U64:
        tarn_buf_printf(b, "%" PRIu64, ((const uint64_t *)d)[r]);
        break;
    case VEC_F32:
    case VEC_F64: {
        double x = c->type.id == VEC_F32 ? ((const float *)d)[r] : ((const double *)d)[r];
        if (isnan(x) || isinf(x)) {
            tarn_buf_append_str(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
            return;
        }
        put_shortest_float(b, x, c->type.id == VEC_F32);
        break;
    }
    case VEC_DATE:
        put_date(b, ((const int32_t *)d)[r]);
        return;
    case VEC_TIME:
        put_time_of_day(b, ((const int64_t *)d)[r], c->type.unit);
        return;
    case VEC_TIMESTAMP:
        put_timestamp(b, ((const int64_t *)d)[r], &c->type);
        return;
    case VEC_DECIMAL64: {
        int64_t v = ((const int64_t *)d)[r];
        put_decimal(b, (vec_i128){(uint64_t)v, v < 0 ? -1 : 0}, c->type.scale);
        return;
    }
    case VEC_DECIMAL128:
        put_decimal(b, ((const vec_i128 *)d)[r], c->type.scale);
        return;
    case VEC_STRING:
    case VEC_BINARY: {
        const uint8_t *s;
        size_t n;
        vec_col_str(c, r, &s, &n);
        if (c->type.id == VEC_STRING)
            tarn_buf_append(b, s, n);
        else
            put_blob(b, s, n);
        return;
    }
    default:
        tarn_buf_append_str(b, "?");
        return;
    }
    *quote = false;
}

/* ---- nested values: the schema as a print tree ---- */

/*
 * Rows print by top-level field: a struct as an object of its fields, a
 * list as an array, a map as an array of {"key": ..., "value": ...}, from
 * the leaf columns the scan returns. Each REPEATED node is a list level:
 * under a LIST-annotated group its single child is the element (3-level
 * lists; a repeated group of several fields is a list of structs), under a
 * MAP-annotated group its two children are the key and the value; an
 * annotated group with one repeated child is that list or map. A struct is
 * null where every leaf below it is (the leaves cannot tell a null struct
 * from one whose fields are all null).
 */
enum { P_LEAF, P_STRUCT, P_LIST, P_MAP };

typedef struct pnode {
    const char *name;
    int kind;
    int32_t col;    /* leaves: batch column, -1 when not projected */
    int32_t ref;    /* lists, maps: a batch column below (their shape) */
    uint32_t depth; /* lists and maps above */
    uint32_t nkids; /* children follow in pre-order */
    uint32_t end;   /* index past the subtree */
} pnode;

typedef struct ptree {
    pnode *n;
    uint32_t len, cap;
    uint32_t *top; /* the shown top-level nodes, in the order of --columns */
    uint32_t ntop;
} ptree;

static int ptree_add(ptree *t, pnode nd, uint32_t *at)
{
    if (t->len == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        pnode *n = tarn_realloc(t->n, (size_t)cap * sizeof(pnode));
        if (n == NULL)
            return TARN_ENOMEM;
        t->n = n;
        t->cap = cap;
    }
    *at = t->len;
    t->n[t->len++] = nd;
    return 0;
}

static bool annotated(const pq_schema_elem *e, int ct, int lt)
{
    return e->converted == ct || e->logical.kind == lt ||
           (ct == PQ_CT_MAP && e->converted == PQ_CT_MAP_KEY_VALUE);
}

/* Batch column of the leaf at schema element i, or -1. */
static int32_t leaf_col(const pq_file *f, const uint32_t *cols, uint32_t n, uint32_t i)
{
    for (uint32_t k = 0; k < n; k++)
        if (pq_file_column(f, cols[k])->schema_index == i)
            return (int32_t)k;
    return -1;
}

typedef struct pbuild {
    const pq_file *f;
    const pq_meta *m;
    const uint32_t *cols;
    uint32_t ncols;
    ptree *t;
} pbuild;

static int build_node(pbuild *b, uint32_t i, uint32_t depth, int level, uint32_t *next);

/* The first projected leaf column below node `at` (its subtree so far). */
static int32_t first_col(const ptree *t, uint32_t at)
{
    for (uint32_t k = at; k < t->len; k++)
        if (t->n[k].kind == P_LEAF && t->n[k].col >= 0)
            return t->n[k].col;
    return -1;
}

/* Schema element i as a value that does not repeat (a leaf, a struct, or
 * an annotated list or map); *next gets the element after its subtree.
 * Recursion is bounded: `level` <= PQ_SCHEMA_DEPTH_MAX, which the reader
 * enforces on every file it opens. */
static int build_plain(pbuild *b, uint32_t i, uint32_t depth, int level, uint32_t *next)
{
    const pq_schema_elem *e = &b->m->schema[i];
    uint32_t at, n = (uint32_t)e->num_children;
    if (level > PQ_SCHEMA_DEPTH_MAX || i + n >= b->m->nschema + (n == 0))
        return TARN_ECORRUPT;
    if (n == 0) {
        *next = i + 1;
        return ptree_add(b->t,
                         (pnode){e->name, P_LEAF, leaf_col(b->f, b->cols, b->ncols, i), -1, depth,
                                 0, b->t->len + 1},
                         &at);
    }
    const pq_schema_elem *r = &b->m->schema[i + 1];
    bool wrap = n == 1 && r->repetition == PQ_REPEATED && r->num_children > 0;
    bool map = wrap && annotated(e, PQ_CT_MAP, PQ_LT_MAP) && r->num_children == 2;
    bool list = wrap && !map && annotated(e, PQ_CT_LIST, PQ_LT_LIST);
    int kind = map ? P_MAP : list ? P_LIST : P_STRUCT;
    int rc = ptree_add(b->t, (pnode){e->name, kind, -1, -1, depth, 0, 0}, &at);
    uint32_t k = i + 1;
    if (rc == 0 && map) { /* key and value: the repeated group's two fields */
        k = i + 2;
        for (int c = 0; rc == 0 && c < 2; c++)
            rc = build_node(b, k, depth + 1, level + 1, &k);
    } else if (rc == 0 && list && r->num_children == 1 && strcmp(r->name, "array") != 0) {
        k = i + 2; /* 3-level list: the repeated group's one field is the element */
        rc = build_node(b, k, depth + 1, level + 1, &k);
    } else if (rc == 0 && list) {
        rc = build_plain(b, i + 1, depth + 1, level + 1, &k); /* 2-level: a list of structs */
    } else {
        for (uint32_t c = 0; rc == 0 && c < n; c++)
            rc = build_node(b, k, depth, level + 1, &k);
    }
    if (rc == 0) {
        b->t->n[at].end = b->t->len;
        b->t->n[at].ref = first_col(b->t, at);
    }
    *next = k;
    return rc;
}

/* Schema element i: a repeated element is a list of itself. */
static int build_node(pbuild *b, uint32_t i, uint32_t depth, int level, uint32_t *next)
{
    if (i >= b->m->nschema)
        return TARN_ECORRUPT;
    if (b->m->schema[i].repetition != PQ_REPEATED)
        return build_plain(b, i, depth, level, next);
    uint32_t at;
    int rc = ptree_add(b->t, (pnode){b->m->schema[i].name, P_LIST, -1, -1, depth, 0, 0}, &at);
    if (rc == 0)
        rc = build_plain(b, i, depth + 1, level + 1, next);
    if (rc == 0) {
        b->t->n[at].end = b->t->len;
        b->t->n[at].ref = first_col(b->t, at);
    }
    return rc;
}

/* The print tree of the file's top-level fields over the projected leaf
 * columns `cols` (batch column k is leaf cols[k]). */
static int ptree_build(const pq_file *f, const uint32_t *cols, uint32_t ncols, ptree *t)
{
    pbuild b = {f, pq_file_meta(f), cols, ncols, t};
    uint32_t k = 1;
    int rc = 0;
    for (int32_t c = 0; rc == 0 && c < b.m->schema[0].num_children; c++)
        rc = build_node(&b, k, 0, 1, &k);
    if (rc == 0 && (t->top = tarn_calloc(t->len ? t->len : 1, sizeof(uint32_t))) == NULL)
        rc = TARN_ENOMEM;
    /* Top-level fields ordered by their first projected column (insertion
     * sort: a handful of fields). */
    uint32_t *key = rc == 0 ? tarn_calloc(t->len ? t->len : 1, sizeof(uint32_t)) : NULL;
    if (rc == 0 && key == NULL)
        rc = TARN_ENOMEM;
    for (uint32_t c = 0; rc == 0 && c < t->len; c = t->n[c].end) {
        uint32_t min = UINT32_MAX;
        for (uint32_t j = c; j < t->n[c].end; j++)
            if (t->n[j].kind == P_LEAF && t->n[j].col >= 0 && (uint32_t)t->n[j].col < min)
                min = (uint32_t)t->n[j].col;
        if (min == UINT32_MAX)
            continue;
        uint32_t at = t->ntop++;
        while (at > 0 && key[at - 1] > min) {
            key[at] = key[at - 1];
            t->top[at] = t->top[at - 1];
            at--;
        }
        key[at] = min;
        t->top[at] = c;
    }
    tarn_free(key);
    return rc;
}

/* Whether a node has a projected leaf below it. */
static bool pnode_shown(const ptree *t, uint32_t i)
{
    if (t->n[i].kind == P_LEAF)
        return t->n[i].col >= 0;
    return t->n[i].ref >= 0;
}

static const vec_col *at_depth(const vec_batch *b, int32_t col, uint32_t depth)
{
    const vec_col *v = &b->cols[col];
    for (uint32_t k = 0; k < depth; k++)
        v = v->elems;
    return v;
}

/* Whether node i is null at index e of its depth. */
static bool pnode_null(const ptree *t, uint32_t i, const vec_batch *b, uint32_t e)
{
    const pnode *nd = &t->n[i];
    if (nd->kind == P_LEAF || nd->kind == P_LIST || nd->kind == P_MAP)
        return !vec_col_is_valid(at_depth(b, nd->kind == P_LEAF ? nd->col : nd->ref, nd->depth), e);
    for (uint32_t c = i + 1; c < nd->end; c = t->n[c].end)
        if (pnode_shown(t, c) && !pnode_null(t, c, b, e))
            return false;
    return true;
}

static void pnode_text(tarn_buf *out, const ptree *t, uint32_t i, const vec_batch *b, uint32_t e);

static void field_text(tarn_buf *out, const ptree *t, uint32_t c, const vec_batch *b, uint32_t e,
                       bool first)
{
    if (!first)
        tarn_buf_append_byte(out, ',');
    tarn_buf_append_json_str(out, t->n[c].name, strlen(t->n[c].name));
    tarn_buf_append_byte(out, ':');
    pnode_text(out, t, c, b, e);
}

/* A struct's fields (children of a node in [from, end)) as a JSON object. */
static void fields_text(tarn_buf *out, const ptree *t, uint32_t from, uint32_t end,
                        const vec_batch *b, uint32_t e)
{
    tarn_buf_append_byte(out, '{');
    bool first = true;
    for (uint32_t c = from; c < end; c = t->n[c].end) {
        if (pnode_shown(t, c)) {
            field_text(out, t, c, b, e, first);
            first = false;
        }
    }
    tarn_buf_append_byte(out, '}');
}

/* Node i at index e of its depth as JSON. Depth is bounded as the tree's. */
static void pnode_text(tarn_buf *out, const ptree *t, uint32_t i, const vec_batch *b, uint32_t e)
{
    const pnode *nd = &t->n[i];
    if (pnode_null(t, i, b, e)) {
        tarn_buf_append_str(out, "null");
        return;
    }
    if (nd->kind == P_LEAF) {
        tarn_buf v;
        tarn_buf_init(&v, TARN_BUF_UNBOUNDED);
        bool quote = false;
        value_text(&v, at_depth(b, nd->col, nd->depth), e, &quote);
        if (quote)
            tarn_buf_append_json_str(out, tarn_buf_cstr(&v), v.len);
        else
            tarn_buf_append(out, tarn_buf_cstr(&v), v.len);
        tarn_buf_free(&v);
        return;
    }
    if (nd->kind == P_STRUCT) {
        fields_text(out, t, i + 1, nd->end, b, e);
        return;
    }
    const vec_col *l = at_depth(b, nd->ref, nd->depth);
    uint32_t key = i + 1, val = t->n[key].end;
    tarn_buf_append_byte(out, '[');
    for (uint32_t k = l->list_offsets[e]; k < l->list_offsets[e + 1]; k++) {
        if (k > l->list_offsets[e])
            tarn_buf_append_byte(out, ',');
        if (nd->kind == P_LIST) {
            pnode_text(out, t, key, b, k);
            continue;
        }
        tarn_buf_append_str(out, "{\"key\":");
        pnode_text(out, t, key, b, k);
        tarn_buf_append_str(out, ",\"value\":");
        if (val < nd->end && pnode_shown(t, val))
            pnode_text(out, t, val, b, k);
        else
            tarn_buf_append_str(out, "null");
        tarn_buf_append_byte(out, '}');
    }
    tarn_buf_append_byte(out, ']');
}

/* ---- output formats ---- */

enum { FMT_TABLE, FMT_CSV, FMT_JSON };

/* Appends row r of batch b to `line` in the format (no newline): one
 * field per shown top-level node of t; nested values as JSON text. */
static void put_row(tarn_buf *line, const vec_batch *b, uint32_t r, const ptree *t, int fmt)
{
    if (fmt == FMT_JSON) {
        tarn_buf_append_byte(line, '{');
        for (uint32_t k = 0; k < t->ntop; k++)
            field_text(line, t, t->top[k], b, r, k == 0);
        tarn_buf_append_byte(line, '}');
        return;
    }
    tarn_buf v;
    tarn_buf_init(&v, TARN_BUF_UNBOUNDED);
    for (uint32_t k = 0; k < t->ntop; k++) {
        uint32_t c = t->top[k];
        if (k > 0)
            tarn_buf_append_str(line, fmt == FMT_TABLE ? " | " : ",");
        const pnode *nd = &t->n[c];
        bool valid = !pnode_null(t, c, b, r), quote = false;
        tarn_buf_reset(&v);
        if (valid && nd->kind == P_LEAF)
            value_text(&v, &b->cols[nd->col], r, &quote);
        else if (valid)
            pnode_text(&v, t, c, b, r);
        const char *s = tarn_buf_cstr(&v);
        if (!valid)
            tarn_buf_append_str(line, fmt == FMT_TABLE ? "NULL" : "");
        else if (fmt == FMT_CSV && strpbrk(s, ",\"\r\n")) {
            tarn_buf_append_byte(line, '"');
            for (size_t i = 0; i < v.len; i++) {
                if (s[i] == '"')
                    tarn_buf_append_byte(line, '"');
                tarn_buf_append_byte(line, (uint8_t)s[i]);
            }
            tarn_buf_append_byte(line, '"');
        } else
            tarn_buf_append(line, s, v.len);
    }
    tarn_buf_free(&v);
}

/* ---- commands ---- */

typedef struct cat_opts {
    const char *columns; /* "a,b" or NULL */
    int64_t limit;       /* -1: all */
    int fmt;
} cat_opts;

/* Resolves --columns into leaf indexes (all when NULL). */
static int pick_columns(pq_file *f, const char *list, uint32_t **out, uint32_t *n, tarn_err *err)
{
    uint32_t cap = pq_file_ncols(f);
    *n = 0;
    *out = tarn_calloc(cap ? cap : 1, sizeof(uint32_t));
    if (*out == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "columns");
    if (list == NULL) {
        for (uint32_t i = 0; i < cap; i++)
            (*out)[(*n)++] = i;
        return 0;
    }
    char *copy = tarn_strdup(list), *save = NULL;
    int rc = copy ? 0 : tarn_err_set(err, TARN_ENOMEM, "columns");
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; rc == 0 && t;
         t = strtok_r(NULL, ",", &save)) {
        int i = pq_file_find_column(f, t);
        if (i < 0 || *n >= cap)
            rc = tarn_err_set(err, TARN_ENOENT, "no column '%s'", t);
        else
            (*out)[(*n)++] = (uint32_t)i;
    }
    tarn_free(copy);
    return rc;
}

static int cmd_cat(pq_file *f, const cat_opts *o, FILE *out, tarn_err *err)
{
    uint32_t *cols, n;
    int rc = pick_columns(f, o->columns, &cols, &n, err);
    pq_scan *s = NULL;
    ptree t = {0};
    if (rc == 0)
        rc = pq_scan_open(f, &(pq_scan_opts){.columns = cols, .ncols = n}, &s, err);
    vec_batch b = {0};
    if (rc == 0 && (rc = ptree_build(f, cols, n, &t)) != 0)
        rc = tarn_err_set(err, rc, "schema of %u elements", pq_file_meta(f)->nschema);
    if (rc == 0)
        rc = pq_scan_batch_init(s, &b);
    tarn_buf line;
    tarn_buf_init(&line, TARN_BUF_UNBOUNDED);
    if (rc == 0 && o->fmt != FMT_JSON) {
        for (uint32_t k = 0; k < t.ntop; k++)
            fprintf(out, "%s%s", k ? (o->fmt == FMT_TABLE ? " | " : ",") : "", t.n[t.top[k]].name);
        fputc('\n', out);
    }
    int64_t printed = 0;
    while (rc == 0 && (o->limit < 0 || printed < o->limit) &&
           (rc = pq_scan_next(s, &b, err)) == 0 && b.len > 0) {
        for (uint32_t r = 0; r < b.len && (o->limit < 0 || printed < o->limit); r++, printed++) {
            tarn_buf_reset(&line);
            put_row(&line, &b, r, &t, o->fmt);
            tarn_buf_append_byte(&line, '\n');
            fwrite(line.data, 1, line.len, out);
        }
    }
    tarn_buf_free(&line);
    tarn_free(t.n);
    tarn_free(t.top);
    vec_batch_free(&b);
    pq_scan_close(s);
    tarn_free(cols);
    return rc;
}

static const char *type_name(int32_t t)
{
    static const char *names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                  "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t < 8 ? names[t] : "group";
}

static int cmd_schema(pq_file *f, FILE *out)
{
    for (uint32_t i = 0; i < pq_file_ncols(f); i++) {
        const pq_column_info *c = pq_file_column(f, i);
        const pq_schema_elem *e = &pq_file_meta(f)->schema[c->schema_index];
        fprintf(out, "%s: %s", c->name, type_name(c->physical));
        if (c->physical == PQ_FIXED_LEN_BYTE_ARRAY)
            fprintf(out, "(%d)", c->type_length);
        fprintf(out, " %s -> ", e->repetition == PQ_OPTIONAL ? "optional" : "required");
        for (int k = 0; k < c->max_rep; k++) /* lists of lists: one "list of" per level */
            fputs("list of ", out);
        fputs(vec_type_name(c->type.id), out);
        if (c->type.id == VEC_DECIMAL64 || c->type.id == VEC_DECIMAL128)
            fprintf(out, "(%u,%u)", c->type.precision, c->type.scale);
        if (c->type.id == VEC_TIME || c->type.id == VEC_TIMESTAMP)
            fprintf(out, "[%s%s]",
                    c->type.unit == VEC_UNIT_MILLIS   ? "ms"
                    : c->type.unit == VEC_UNIT_MICROS ? "us"
                                                      : "ns",
                    c->type.utc ? ", utc" : "");
        fprintf(out, "%s\n", c->unsupported ? " (not supported yet)" : "");
    }
    return 0;
}

/* min/max as value text, through a one-row column of the leaf's type. */
static void put_stat(FILE *out, const pq_column_info *ci, const uint8_t *p, uint32_t len)
{
    vec_col c;
    tarn_buf t;
    tarn_buf_init(&t, TARN_BUF_UNBOUNDED);
    bool quote;
    vec_type_info et = ci->type;
    et.list = false; /* statistics are of the elements */
    if (ci->unsupported == 0 && vec_col_init(&c, et, 1) == 0) {
        if (pq_stat_to_vec(ci, p, len, &c) == 0)
            value_text(&t, &c, 0, &quote);
        else
            tarn_buf_append_str(&t, "(bad)");
        vec_col_free(&c);
    }
    fprintf(out, "%s", tarn_buf_cstr(&t));
    tarn_buf_free(&t);
}

static void meta_column(FILE *out, const pq_file *f, uint32_t i, const pq_column_chunk *cc)
{
    const pq_column_meta *m = &cc->meta;
    const pq_column_info *ci = pq_file_column(f, i);
    fprintf(out, "  %s: %s %s values=%" PRId64 " compressed=%" PRId64 " uncompressed=%" PRId64,
            ci->name, type_name(m->type), pq_codec_name(m->codec), m->num_values,
            m->total_compressed, m->total_uncompressed);
    static const char *enc[] = {"PLAIN",
                                "?",
                                "PLAIN_DICTIONARY",
                                "RLE",
                                "BIT_PACKED",
                                "DELTA_BINARY_PACKED",
                                "DELTA_LENGTH_BYTE_ARRAY",
                                "DELTA_BYTE_ARRAY",
                                "RLE_DICTIONARY",
                                "BYTE_STREAM_SPLIT"};
    fprintf(out, " encodings=");
    for (int e = 0, first = 1; e < 10; e++)
        if (m->encodings_mask >> e & 1) {
            fprintf(out, "%s%s", first ? "" : ",", enc[e]);
            first = 0;
        }
    if (m->stats.has_null_count)
        fprintf(out, " nulls=%" PRId64, m->stats.null_count);
    if (m->stats.has_min) {
        fprintf(out, " min=");
        put_stat(out, ci, m->stats.min, m->stats.min_len);
    }
    if (m->stats.has_max) {
        fprintf(out, " max=");
        put_stat(out, ci, m->stats.max, m->stats.max_len);
    }
    fputc('\n', out);
}

static int cmd_meta(pq_file *f, FILE *out)
{
    const pq_meta *m = pq_file_meta(f);
    fprintf(out, "created_by: %s\nversion: %d\nrows: %" PRId64 "\nrow groups: %u\n",
            m->created_by ? m->created_by : "", m->version, m->num_rows, m->nrow_groups);
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const pq_row_group *rg = &m->row_groups[g];
        fprintf(out, "row group %u: rows=%" PRId64 " bytes=%" PRId64 "\n", g, rg->num_rows,
                rg->total_byte_size);
        for (uint32_t i = 0; i < rg->ncols && i < pq_file_ncols(f); i++)
            meta_column(out, f, i, &rg->columns[i]);
    }
    return 0;
}

static int usage(FILE *err)
{
    fprintf(err, "usage: tarn parquet schema FILE\n"
                 "       tarn parquet meta FILE\n"
                 "       tarn parquet cat FILE [--columns a,b] [--limit N]"
                 " [--format table|csv|json]\n");
    return 2;
}

/* Parses cat's options from argv[3..]. */
static int parse_cat(int argc, char **argv, cat_opts *o)
{
    *o = (cat_opts){NULL, -1, FMT_TABLE};
    for (int i = 3; i < argc; i++) {
        if (i + 1 >= argc)
            return -1;
        if (strcmp(argv[i], "--columns") == 0)
            o->columns = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0) {
            char *end;
            o->limit = strtoll(argv[++i], &end, 10);
            if (*end || o->limit < 0)
                return -1;
        } else if (strcmp(argv[i], "--format") == 0) {
            const char *v = argv[++i];
            o->fmt = strcmp(v, "json") == 0 ? FMT_JSON : strcmp(v, "csv") == 0 ? FMT_CSV : -1;
            if (strcmp(v, "table") == 0)
                o->fmt = FMT_TABLE;
            if (o->fmt < 0)
                return -1;
        } else
            return -1;
    }
    return 0;
}

int pq_tool_main(int argc, char **argv, FILE *out, FILE *errout)
{
    if (argc < 3)
        return usage(errout);
    const char *cmd = argv[1], *path = argv[2];
    cat_opts co = {0}; /* parse_cat fills it for `cat` */
    bool is_cat = strcmp(cmd, "cat") == 0;
    if (!is_cat && (strcmp(cmd, "schema") != 0 && strcmp(cmd, "meta") != 0))
        return usage(errout);
    if ((is_cat && parse_cat(argc, argv, &co) != 0) || (!is_cat && argc != 3))
        return usage(errout);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(errout, "tarn parquet: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    tarn_err err = TARN_ERR_INIT;
    pq_source src = {.read = pq_fd_read, .ctx = &fd, .size = (uint64_t)st.st_size, .name = path};
    pq_file *f;
    int rc = pq_file_open(&src, &f, &err);
    if (rc == 0) {
        rc = is_cat                       ? cmd_cat(f, &co, out, &err)
             : strcmp(cmd, "schema") == 0 ? cmd_schema(f, out)
                                          : cmd_meta(f, out);
        pq_file_close(f);
    }
    close(fd);
    if (rc != 0) {
        fprintf(errout, "tarn parquet: %s: %s\n", tarn_error_name(rc), tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
