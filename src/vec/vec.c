/*
 * vec/vec.c: column batches. The layout and invariants are in vec.h.
 */
#include "vec/vec.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

static const struct {
    size_t width;
    const char *name;
} type_table[VEC_TYPE_COUNT] = {
    [VEC_BOOL] = {1, "bool"},
    [VEC_I8] = {1, "i8"},
    [VEC_I16] = {2, "i16"},
    [VEC_I32] = {4, "i32"},
    [VEC_I64] = {8, "i64"},
    [VEC_U8] = {1, "u8"},
    [VEC_U16] = {2, "u16"},
    [VEC_U32] = {4, "u32"},
    [VEC_U64] = {8, "u64"},
    [VEC_F32] = {4, "f32"},
    [VEC_F64] = {8, "f64"},
    [VEC_DATE] = {4, "date"},
    [VEC_TIME] = {8, "time"},
    [VEC_TIMESTAMP] = {8, "timestamp"},
    [VEC_DECIMAL64] = {8, "decimal64"},
    [VEC_DECIMAL128] = {16, "decimal128"},
    [VEC_STRING] = {0, "string"},
    [VEC_BINARY] = {0, "binary"},
};

size_t vec_type_width(vec_type t)
{
    return (unsigned)t < VEC_TYPE_COUNT ? type_table[t].width : 0;
}

const char *vec_type_name(vec_type t)
{
    return (unsigned)t < VEC_TYPE_COUNT ? type_table[t].name : "?";
}

int vec_col_init(vec_col *col, vec_type_info type, uint32_t cap)
{
    memset(col, 0, sizeof(*col));
    if (cap == 0 || cap > VEC_ROWS_MAX || (unsigned)type.id >= VEC_TYPE_COUNT ||
        type.list_inner >= VEC_LIST_DEPTH_MAX || (type.list_inner > 0 && !type.list))
        return TARN_EINVAL;
    col->type = type;
    col->cap = cap;
    if (type.list) {
        /* The list itself: offsets into a child of the element type. */
        vec_type_info et = type;
        et.list = type.list_inner > 0;
        et.list_inner = type.list_inner > 0 ? (uint8_t)(type.list_inner - 1) : 0;
        col->list_offsets = tarn_calloc((size_t)cap + 1, sizeof(uint32_t));
        col->elems = tarn_calloc(1, sizeof(vec_col));
        int rc = col->list_offsets && col->elems ? vec_col_init(col->elems, et, cap) : TARN_ENOMEM;
        if (rc != 0)
            vec_col_free(col);
        return rc;
    }
    if (vec_type_is_var(type.id)) {
        /* calloc: offsets[0] must be 0 (invariant 2). */
        col->offsets = tarn_calloc((size_t)cap + 1, sizeof(uint32_t));
        if (col->offsets == NULL)
            return TARN_ENOMEM;
        return 0;
    }
    /* calloc: values of null rows are zeroes (invariant 5). */
    col->data = tarn_calloc(cap, vec_type_width(type.id));
    return col->data ? 0 : TARN_ENOMEM;
}

void vec_col_free(vec_col *col)
{
    tarn_free(col->validity);
    tarn_free(col->data);
    tarn_free(col->offsets);
    tarn_free(col->bytes);
    tarn_free(col->codes);
    vec_dict_release(col->dict);
    tarn_free(col->list_offsets);
    if (col->elems) {
        /* Depth bounded by VEC_LIST_DEPTH_MAX (checked in vec_col_init). */
        TARN_ASSERT(col->elems->type.list_inner < col->type.list_inner || !col->elems->type.list);
        vec_col_free(col->elems);
        tarn_free(col->elems);
    }
    memset(col, 0, sizeof(*col));
}

void vec_col_reset(vec_col *col)
{
    col->len = 0;
    col->bytes_len = 0;
    if (col->validity)
        memset(col->validity, 0xff, ((size_t)col->cap + 7) / 8);
    vec_dict_release(col->dict);
    col->dict = NULL;
    if (col->elems)
        vec_col_reset(col->elems);
}

size_t vec_col_mem_bytes(const vec_col *col)
{
    size_t n = col->bytes_cap;
    if (col->validity)
        n += ((size_t)col->cap + 7) / 8;
    if (col->data)
        n += (size_t)col->cap * vec_type_width(col->type.id);
    if (col->offsets)
        n += ((size_t)col->cap + 1) * sizeof(uint32_t);
    if (col->codes)
        n += (size_t)col->cap * sizeof(uint32_t);
    if (col->list_offsets)
        n += ((size_t)col->cap + 1) * sizeof(uint32_t) + vec_col_mem_bytes(col->elems);
    return n;
}

int vec_col_set_null(vec_col *col, uint32_t row)
{
    TARN_ASSERT(row < col->cap);
    if (col->validity == NULL) {
        size_t n = ((size_t)col->cap + 7) / 8;
        col->validity = tarn_malloc(n);
        if (col->validity == NULL)
            return TARN_ENOMEM;
        memset(col->validity, 0xff, n);
    }
    col->validity[row >> 3] &= (uint8_t) ~(1u << (row & 7));
    return 0;
}

uint32_t vec_col_null_count(const vec_col *col)
{
    if (col->validity == NULL)
        return 0;
    uint32_t nulls = 0;
    for (uint32_t i = 0; i < col->len; i++)
        nulls += !vec_col_is_valid(col, i);
    return nulls;
}

int vec_col_reserve_bytes(vec_col *col, size_t extra)
{
    TARN_ASSERT(vec_type_is_var(col->type.id));
    if (extra > VEC_COL_BYTES_MAX - col->bytes_len)
        return TARN_ETOOBIG;
    size_t need = col->bytes_len + extra;
    if (need <= col->bytes_cap)
        return 0;
    size_t cap = col->bytes_cap ? col->bytes_cap : 256;
    while (cap < need)
        cap = cap > VEC_COL_BYTES_MAX / 2 ? VEC_COL_BYTES_MAX : cap * 2;
    uint8_t *p = tarn_realloc(col->bytes, cap);
    if (p == NULL)
        return TARN_ENOMEM;
    col->bytes = p;
    col->bytes_cap = cap;
    return 0;
}

int vec_col_append_str(vec_col *col, const void *s, size_t len)
{
    TARN_ASSERT(col->dict == NULL);
    if (col->len >= col->cap)
        return TARN_ERANGE;
    int rc = vec_col_reserve_bytes(col, len);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(col->bytes + col->bytes_len, s, len);
    col->bytes_len += len;
    col->len++;
    col->offsets[col->len] = (uint32_t)col->bytes_len;
    return 0;
}

int vec_col_use_dict(vec_col *col, vec_dict *dict)
{
    if (!vec_type_is_var(col->type.id) || col->len != 0 || dict == NULL)
        return TARN_EINVAL;
    if (col->codes == NULL) {
        col->codes = tarn_calloc(col->cap, sizeof(uint32_t));
        if (col->codes == NULL)
            return TARN_ENOMEM;
    }
    vec_dict_release(col->dict);
    col->dict = vec_dict_retain(dict);
    return 0;
}

void vec_col_str(const vec_col *col, uint32_t row, const uint8_t **s, size_t *len)
{
    TARN_ASSERT(row < col->len);
    TARN_ASSERT(!col->type.list); /* a list's strings are in col->elems */
    if (col->dict) {
        uint32_t c = col->codes[row];
        TARN_ASSERT(c < col->dict->count || !vec_col_is_valid(col, row));
        if (c >= col->dict->count)
            c = 0; /* an invalid row with a stray code: read as empty */
        if (col->dict->count == 0) {
            *s = (const uint8_t *)"";
            *len = 0;
            return;
        }
        *s = col->dict->bytes + col->dict->offsets[c];
        *len = col->dict->offsets[c + 1] - col->dict->offsets[c];
        return;
    }
    *s = col->bytes ? col->bytes + col->offsets[row] : (const uint8_t *)"";
    *len = col->offsets[row + 1] - col->offsets[row];
}

int vec_col_flatten(vec_col *col)
{
    if (col->dict == NULL)
        return 0;
    size_t total = 0;
    for (uint32_t i = 0; i < col->len; i++) {
        const uint8_t *s;
        size_t n;
        vec_col_str(col, i, &s, &n);
        total += n;
    }
    /* Build into a fresh flat column so that failure leaves `col` as it was. */
    vec_col flat;
    int rc = vec_col_init(&flat, col->type, col->cap);
    if (rc == 0)
        rc = vec_col_reserve_bytes(&flat, total);
    for (uint32_t i = 0; rc == 0 && i < col->len; i++) {
        const uint8_t *s;
        size_t n;
        vec_col_str(col, i, &s, &n);
        rc = vec_col_append_str(&flat, s, n);
    }
    if (rc != 0) {
        vec_col_free(&flat);
        return rc;
    }
    flat.validity = col->validity;
    col->validity = NULL;
    vec_col_free(col);
    *col = flat;
    return 0;
}

bool vec_col_check(const vec_col *col)
{
    if (col->len > col->cap || col->cap > VEC_ROWS_MAX)
        return false;
    if (col->type.list) {
        if (col->list_offsets[0] != 0 || col->list_offsets[col->len] != col->elems->len)
            return false;
        for (uint32_t i = 0; i < col->len; i++)
            if (col->list_offsets[i + 1] < col->list_offsets[i])
                return false;
        return col->elems->type.list == (col->type.list_inner > 0) && vec_col_check(col->elems);
    }
    if (!vec_type_is_var(col->type.id))
        return col->data != NULL;
    if (col->dict) {
        for (uint32_t i = 0; i < col->len; i++)
            if (vec_col_is_valid(col, i) && col->codes[i] >= col->dict->count)
                return false;
        return true;
    }
    if (col->offsets[0] != 0 || col->offsets[col->len] != col->bytes_len)
        return false;
    for (uint32_t i = 0; i < col->len; i++)
        if (col->offsets[i + 1] < col->offsets[i])
            return false;
    return col->bytes_len <= col->bytes_cap || col->bytes_len == 0;
}

int vec_dict_take(uint32_t *offsets, uint8_t *bytes, uint32_t count, vec_dict **out)
{
    *out = NULL;
    vec_dict *d = tarn_malloc(sizeof(*d));
    if (d == NULL)
        return TARN_ENOMEM;
    d->refs = 1;
    d->count = count;
    d->offsets = offsets;
    d->bytes = bytes;
    *out = d;
    return 0;
}

int vec_dict_new(const uint32_t *offsets, const uint8_t *bytes, uint32_t count, vec_dict **out)
{
    *out = NULL;
    if (offsets[0] != 0)
        return TARN_EINVAL;
    for (uint32_t i = 0; i < count; i++)
        if (offsets[i + 1] < offsets[i])
            return TARN_EINVAL;
    size_t nbytes = offsets[count];
    if (nbytes > VEC_COL_BYTES_MAX)
        return TARN_ETOOBIG;
    uint32_t *o = tarn_malloc_array((size_t)count + 1, sizeof(uint32_t));
    uint8_t *b = tarn_malloc(nbytes);
    if (o == NULL || b == NULL || vec_dict_take(o, b, count, out) != 0) {
        tarn_free(o);
        tarn_free(b);
        return TARN_ENOMEM;
    }
    memcpy(o, offsets, ((size_t)count + 1) * sizeof(uint32_t));
    if (nbytes)
        memcpy(b, bytes, nbytes);
    return 0;
}

/* The count is atomic: a batch made on one thread may be read, and its
 * dictionary retained or released, on another (parallel pipelines). */
vec_dict *vec_dict_retain(vec_dict *d)
{
    uint32_t before = __atomic_fetch_add(&d->refs, 1, __ATOMIC_RELAXED);
    TARN_ASSERT(before > 0);
    (void)before;
    return d;
}

void vec_dict_release(vec_dict *d)
{
    if (d == NULL)
        return;
    /* release: this thread's writes to the dictionary happen before the
     * free on whichever thread drops the last reference (acquire) */
    uint32_t left = __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL);
    TARN_ASSERT(left != UINT32_MAX);
    if (left > 0)
        return;
    tarn_free(d->offsets);
    tarn_free(d->bytes);
    tarn_free(d);
}

int vec_batch_init(vec_batch *b, const vec_type_info *types, uint32_t ncols, uint32_t cap)
{
    memset(b, 0, sizeof(*b));
    if (cap == 0 || cap > VEC_ROWS_MAX)
        return TARN_EINVAL;
    b->cols = tarn_calloc(ncols ? ncols : 1, sizeof(vec_col));
    if (b->cols == NULL)
        return TARN_ENOMEM;
    b->cap = cap;
    for (uint32_t i = 0; i < ncols; i++) {
        int rc = vec_col_init(&b->cols[i], types[i], cap);
        if (rc != 0) {
            vec_batch_free(b);
            return rc;
        }
        b->ncols = i + 1;
    }
    b->ncols = ncols;
    return 0;
}

void vec_batch_free(vec_batch *b)
{
    for (uint32_t i = 0; i < b->ncols; i++)
        vec_col_free(&b->cols[i]);
    tarn_free(b->cols);
    tarn_free(b->sel);
    memset(b, 0, sizeof(*b));
}

void vec_batch_reset(vec_batch *b)
{
    for (uint32_t i = 0; i < b->ncols; i++)
        vec_col_reset(&b->cols[i]);
    b->len = 0;
    b->sel_count = 0;
    b->sel_active = false;
}

int vec_batch_select(vec_batch *b, const uint32_t *rows, uint32_t count)
{
    if (count > b->len)
        return TARN_EINVAL;
    for (uint32_t i = 0; i < count; i++) {
        if (rows[i] >= b->len || (i > 0 && rows[i] <= rows[i - 1]))
            return TARN_EINVAL;
    }
    if (b->sel == NULL) {
        b->sel = tarn_malloc_array(b->cap, sizeof(uint32_t));
        if (b->sel == NULL)
            return TARN_ENOMEM;
    }
    memcpy(b->sel, rows, (size_t)count * sizeof(uint32_t));
    b->sel_count = count;
    b->sel_active = true;
    return 0;
}

uint32_t vec_batch_live_count(const vec_batch *b)
{
    return b->sel_active ? b->sel_count : b->len;
}

static int cmp_double(double x, double y)
{
    if (x != x || y != y) /* NaN: after everything, equal to itself */
        return (x != x) - (y != y);
    return x < y ? -1 : x > y;
}

int vec_value_cmp(const vec_col *a, uint32_t ra, const vec_col *b, uint32_t rb)
{
    TARN_ASSERT(a->type.id == b->type.id);
    const void *x = a->data, *y = b->data;
#define CMP(T)                                                                                     \
    return ((const T *)x)[ra] < ((const T *)y)[rb] ? -1 : ((const T *)x)[ra] > ((const T *)y)[rb]
    switch (a->type.id) {
    case VEC_BOOL:
    case VEC_U8:
        CMP(uint8_t);
    case VEC_I8:
        CMP(int8_t);
    case VEC_I16:
        CMP(int16_t);
    case VEC_U16:
        CMP(uint16_t);
    case VEC_I32:
    case VEC_DATE:
        CMP(int32_t);
    case VEC_U32:
        CMP(uint32_t);
    case VEC_I64:
    case VEC_TIME:
    case VEC_TIMESTAMP:
    case VEC_DECIMAL64:
        CMP(int64_t);
    case VEC_U64:
        CMP(uint64_t);
    case VEC_F32:
        return cmp_double(((const float *)x)[ra], ((const float *)y)[rb]);
    case VEC_F64:
        return cmp_double(((const double *)x)[ra], ((const double *)y)[rb]);
    case VEC_DECIMAL128: {
        vec_i128 p = ((const vec_i128 *)x)[ra], q = ((const vec_i128 *)y)[rb];
        if (p.hi != q.hi)
            return p.hi < q.hi ? -1 : 1;
        return p.lo < q.lo ? -1 : p.lo > q.lo;
    }
    default:
        break;
    }
#undef CMP
    const uint8_t *s, *t;
    size_t n, m;
    vec_col_str(a, ra, &s, &n);
    vec_col_str(b, rb, &t, &m);
    int c = n && m ? memcmp(s, t, n < m ? n : m) : 0;
    return c ? (c < 0 ? -1 : 1) : n < m ? -1 : n > m;
}

/* Reallocates *p from `old` to `new` elements of `size` bytes, zeroing the
 * new part; leaves *p alone on failure. */
static int regrow(void **p, size_t old, size_t new, size_t size, int fill)
{
    if (*p == NULL)
        return 0;
    void *q = tarn_realloc(*p, new *size);
    if (q == NULL)
        return TARN_ENOMEM;
    memset((uint8_t *)q + old * size, fill, (new - old) * size);
    *p = q;
    return 0;
}

int vec_col_grow(vec_col *col, uint32_t cap)
{
    if (cap <= col->cap)
        return 0;
    if (cap > VEC_ROWS_MAX)
        return TARN_ETOOBIG;
    size_t old = col->cap;
    size_t vold = (old + 7) / 8, vnew = ((size_t)cap + 7) / 8;
    /* Each array grows on its own; a failure leaves the column valid at its
     * old cap because cap is raised only at the end. */
    int rc = regrow(&col->data, old, cap, vec_type_width(col->type.id), 0);
    if (rc == 0)
        rc = regrow((void **)&col->offsets, old + 1, (size_t)cap + 1, sizeof(uint32_t), 0);
    if (rc == 0)
        rc = regrow((void **)&col->codes, old, cap, sizeof(uint32_t), 0);
    if (rc == 0)
        rc = regrow((void **)&col->list_offsets, old + 1, (size_t)cap + 1, sizeof(uint32_t), 0);
    if (rc == 0)
        rc = regrow((void **)&col->validity, vold, vnew, 1, 0xff);
    if (rc == 0)
        col->cap = cap;
    return rc;
}

int vec_col_list_end(vec_col *col)
{
    TARN_ASSERT(col->type.list);
    if (col->len >= col->cap)
        return TARN_ERANGE;
    col->len++;
    col->list_offsets[col->len] = col->elems->len;
    return 0;
}
