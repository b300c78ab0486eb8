/*
 * parquet/reader.c: opening a file (magic numbers, footer) and resolving
 * its schema into leaf columns with their vec types. Scanning pages is in
 * scan.c. Design note: parquet/README.md.
 *
 * File layout (parquet-format README, "File Format"):
 *
 *   offset            size   meaning
 *   0                 4      "PAR1"
 *   4                 ...    column chunks (pages), located by the footer
 *   size - 8 - F      F      FileMetaData, Thrift compact
 *   size - 8          4      F, little endian
 *   size - 4          4      "PAR1"
 */
#include "parquet/parquet.h"

#include "base/alloc.h"
#include "parquet/reader_int.h"

#include <string.h>

static int mem_read(void *ctx, uint64_t offset, size_t len, void *dst, tarn_err *err)
{
    (void)err;
    memcpy(dst, (const uint8_t *)ctx + offset, len);
    return 0;
}

/* INT32/INT64 leaves: INTEGER, DATE, TIME, TIMESTAMP or plain integers. */
static void int_type(const pq_schema_elem *e, pq_column_info *c)
{
    const pq_logical *lt = &e->logical;
    vec_type_info *t = &c->type;
    bool i64 = c->physical == PQ_INT64;
    t->id = i64 ? VEC_I64 : VEC_I32;
    int bits = 0, is_signed = 1, unit = 0, ct = e->converted;
    if (lt->kind == PQ_LT_INTEGER) {
        bits = lt->bit_width;
        is_signed = lt->is_signed;
    } else if (lt->kind == PQ_LT_NONE && ct >= PQ_CT_UINT_8 && ct <= PQ_CT_INT_64) {
        static const int8_t widths[] = {8, 16, 32, 64, 8, 16, 32, 64};
        bits = widths[ct - PQ_CT_UINT_8];
        is_signed = ct >= PQ_CT_INT_8;
    }
    if (bits) {
        static const vec_type s[] = {VEC_I8, VEC_I16, VEC_I32, VEC_I64};
        static const vec_type u[] = {VEC_U8, VEC_U16, VEC_U32, VEC_U64};
        int k = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : bits == 64 ? 3 : -1;
        if (k < 0 || (k == 3) != i64) {
            c->unsupported = TARN_ENOTSUP;
            return;
        }
        t->id = is_signed ? s[k] : u[k];
        return;
    }
    if (lt->kind == PQ_LT_DATE || (lt->kind == PQ_LT_NONE && ct == PQ_CT_DATE)) {
        t->id = VEC_DATE;
        if (i64)
            c->unsupported = TARN_ENOTSUP;
        return;
    }
    if (lt->kind == PQ_LT_TIME || lt->kind == PQ_LT_TIMESTAMP) {
        t->id = lt->kind == PQ_LT_TIME ? VEC_TIME : VEC_TIMESTAMP;
        unit = lt->unit;
        t->utc = lt->utc;
    } else if (lt->kind == PQ_LT_NONE && ct >= PQ_CT_TIME_MILLIS && ct <= PQ_CT_TIMESTAMP_MICROS) {
        t->id = ct <= PQ_CT_TIME_MICROS ? VEC_TIME : VEC_TIMESTAMP;
        unit = ct == PQ_CT_TIME_MILLIS || ct == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS
                                                                       : PQ_UNIT_MICROS;
        t->utc = true; /* converted types predate the flag; they meant UTC */
    } else {
        return;
    }
    if (unit < PQ_UNIT_MILLIS || unit > PQ_UNIT_NANOS) {
        c->unsupported = TARN_ENOTSUP;
        return;
    }
    t->unit = unit == PQ_UNIT_MILLIS   ? VEC_UNIT_MILLIS
              : unit == PQ_UNIT_MICROS ? VEC_UNIT_MICROS
                                       : VEC_UNIT_NANOS;
    /* TIME millis is INT32 on the wire; everything else must be INT64. */
    bool want_i32 = t->id == VEC_TIME && t->unit == VEC_UNIT_MILLIS;
    if (want_i32 == i64)
        c->unsupported = TARN_ENOTSUP;
}

static bool is_string_type(const pq_schema_elem *e)
{
    int k = e->logical.kind, ct = e->converted;
    if (k == PQ_LT_STRING || k == PQ_LT_ENUM || k == PQ_LT_JSON)
        return true;
    return k == PQ_LT_NONE && (ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM || ct == PQ_CT_JSON);
}

/* The vec type a leaf is read as (c->physical and c->type_length set). */
static void leaf_type(const pq_schema_elem *e, pq_column_info *c)
{
    const pq_logical *lt = &e->logical;
    vec_type_info *t = &c->type;
    memset(t, 0, sizeof(*t));
    if (lt->kind == PQ_LT_DECIMAL || (lt->kind == PQ_LT_NONE && e->converted == PQ_CT_DECIMAL)) {
        int prec = lt->kind == PQ_LT_DECIMAL ? lt->precision : e->precision;
        int scale = lt->kind == PQ_LT_DECIMAL ? lt->scale : e->scale;
        bool phys_ok =
            c->physical == PQ_INT32 || c->physical == PQ_INT64 || c->physical == PQ_BYTE_ARRAY ||
            (c->physical == PQ_FIXED_LEN_BYTE_ARRAY && c->type_length >= 1 && c->type_length <= 16);
        if (prec < 1 || prec > 38 || scale < 0 || scale > prec || !phys_ok) {
            c->unsupported = TARN_ENOTSUP;
            return;
        }
        t->id = prec <= 18 ? VEC_DECIMAL64 : VEC_DECIMAL128;
        t->precision = (uint8_t)prec;
        t->scale = (uint8_t)scale;
        return;
    }
    switch (c->physical) {
    case PQ_BOOLEAN:
        t->id = VEC_BOOL;
        break;
    case PQ_FLOAT:
        t->id = VEC_F32;
        break;
    case PQ_DOUBLE:
        t->id = VEC_F64;
        break;
    case PQ_INT96:
        /* Impala/Spark timestamps: nanoseconds, not adjusted to UTC. */
        t->id = VEC_TIMESTAMP;
        t->unit = VEC_UNIT_NANOS;
        break;
    case PQ_BYTE_ARRAY:
        t->id = is_string_type(e) ? VEC_STRING : VEC_BINARY;
        break;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        t->id = VEC_BINARY;
        if (c->type_length <= 0 || c->type_length > (1 << 20))
            c->unsupported = TARN_ENOTSUP;
        break;
    case PQ_INT32:
    case PQ_INT64:
        int_type(e, c);
        break;
    default:
        c->unsupported = TARN_ENOTSUP;
        break;
    }
}

/* One open group while walking the schema. */
typedef struct walk_frame {
    int32_t children_left;
    int16_t def, rep;
    size_t name_len; /* length of the dotted prefix for this group's children */
} walk_frame;

/* Adds leaf `i` with its levels and dotted name to f->cols; stack[0..top]
 * are its ancestors (stack[0] the root). */
static int add_leaf(pq_file *f, uint32_t i, const walk_frame *stack, int top, const char *prefix)
{
    const walk_frame *fr = &stack[top];
    const pq_schema_elem *e = &f->meta.schema[i];
    pq_column_info *c = &f->cols[f->ncols];
    memset(c, 0, sizeof(*c));
    size_t nlen = strlen(e->name), prefix_len = fr->name_len;
    char *name = tarn_malloc(prefix_len + nlen + 1);
    if (name == NULL)
        return TARN_ENOMEM;
    memcpy(name, prefix, prefix_len);
    memcpy(name + prefix_len, e->name, nlen + 1);
    f->col_names[f->ncols] = name;
    c->name = name;
    c->schema_index = i;
    c->physical = e->type;
    c->type_length = e->type_length;
    c->max_def = (int16_t)(fr->def + (e->repetition != PQ_REQUIRED));
    c->max_rep = (int16_t)(fr->rep + (e->repetition == PQ_REPEATED));
    leaf_type(e, c);
    /* Each repeated ancestor (or the leaf itself) makes a list level: its
     * list is present (maybe empty) at the repeated node's definition
     * level minus one. */
    if (c->max_rep > VEC_LIST_DEPTH_MAX) {
        c->unsupported = TARN_ENOTSUP;
    } else if (c->max_rep > 0) {
        for (int t = 1; t <= top; t++)
            if (stack[t].rep > stack[t - 1].rep)
                c->list_defs[stack[t].rep - 1] = (int16_t)(stack[t].def - 1);
        if (e->repetition == PQ_REPEATED)
            c->list_defs[c->max_rep - 1] = (int16_t)(c->max_def - 1);
        c->list_def = c->list_defs[0];
        c->type.list = true;
        c->type.list_inner = (uint8_t)(c->max_rep - 1);
    }
    f->ncols++;
    return 0;
}

/* Walks the depth-first schema with an explicit stack (its depth comes
 * from the file, so no recursion), collecting leaves. */
static int resolve_schema(pq_file *f, tarn_err *err)
{
    const pq_meta *m = &f->meta;
    walk_frame stack[PQ_SCHEMA_DEPTH_MAX];
    char prefix[1024];
    int top = 0;
    stack[0] = (walk_frame){m->schema[0].num_children, 0, 0, 0};
    f->cols = tarn_calloc(m->nschema, sizeof(pq_column_info));
    f->col_names = tarn_calloc(m->nschema, sizeof(char *));
    if (f->cols == NULL || f->col_names == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "schema");
    uint32_t i = 1;
    for (; i < m->nschema && top >= 0; i++) {
        while (top >= 0 && stack[top].children_left == 0)
            top--;
        if (top < 0)
            break;
        walk_frame *fr = &stack[top];
        fr->children_left--;
        const pq_schema_elem *e = &m->schema[i];
        if (e->num_children == 0) {
            if (e->type < 0)
                return tarn_err_set(err, TARN_ECORRUPT, "schema element %u: leaf without type", i);
            if (add_leaf(f, i, stack, top, prefix) != 0)
                return tarn_err_set(err, TARN_ENOMEM, "schema");
            continue;
        }
        size_t nlen = strlen(e->name);
        if (top + 1 >= PQ_SCHEMA_DEPTH_MAX || fr->name_len + nlen + 2 > sizeof(prefix))
            return tarn_err_set(err, TARN_ENOTSUP, "schema element %u: nesting too deep", i);
        memcpy(prefix + fr->name_len, e->name, nlen);
        prefix[fr->name_len + nlen] = '.';
        bool repeated = e->repetition == PQ_REPEATED;
        int16_t def = (int16_t)(fr->def + (e->repetition == PQ_OPTIONAL || repeated));
        stack[top + 1] = (walk_frame){e->num_children, def, (int16_t)(fr->rep + repeated),
                                      fr->name_len + nlen + 1};
        top++;
    }
    while (top >= 0 && stack[top].children_left == 0)
        top--;
    if (i != m->nschema || top >= 0)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "schema: num_children does not match the %u elements", m->nschema);
    return 0;
}

/* Reads and checks the magic numbers and the footer length. */
static int read_tail(pq_file *f, uint32_t *footer_len, tarn_err *err)
{
    uint8_t head[4], tail[8];
    uint64_t size = f->src.size;
    if (size < 12)
        return tarn_err_set(err, TARN_ECORRUPT, "%llu bytes is too short for a Parquet file",
                            (unsigned long long)size);
    int rc = f->src.read(f->src.ctx, 0, 4, head, err);
    if (rc == 0)
        rc = f->src.read(f->src.ctx, size - 8, 8, tail, err);
    if (rc != 0)
        return rc;
    if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "missing PAR1 magic (encrypted files: PARE)");
    *footer_len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                  (uint32_t)tail[3] << 24;
    if (*footer_len > size - 12 || *footer_len > PQ_FOOTER_MAX)
        return tarn_err_set(err, TARN_ECORRUPT, "footer length %u does not fit the file",
                            *footer_len);
    return 0;
}

static int open_footer(pq_file *f, tarn_err *err)
{
    uint32_t flen = 0; /* set by read_tail on success */
    int rc = read_tail(f, &flen, err);
    if (rc != 0)
        return rc;
    uint8_t *buf = tarn_malloc(flen);
    if (buf == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "footer of %u bytes", flen);
    rc = f->src.read(f->src.ctx, f->src.size - 8 - flen, flen, buf, err);
    if (rc == 0)
        rc = pq_meta_decode(buf, flen, &f->meta, err);
    tarn_free(buf);
    if (rc == 0)
        rc = resolve_schema(f, err);
    return rc;
}

int pq_file_open(const pq_source *src, pq_file **out, tarn_err *err)
{
    *out = NULL;
    pq_file *f = tarn_calloc(1, sizeof(*f));
    if (f == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "open %s", src->name ? src->name : "?");
    f->src = *src;
    f->name = tarn_strdup(src->name ? src->name : "(unnamed)");
    int rc = f->name ? open_footer(f, err) : tarn_err_set(err, TARN_ENOMEM, "name");
    if (rc != 0) {
        tarn_err_wrap(err, rc, "parquet file %s", src->name ? src->name : "(unnamed)");
        pq_file_close(f);
        return rc;
    }
    f->src.name = f->name;
    *out = f;
    return 0;
}

int pq_file_open_bytes(const void *data, size_t len, const char *name, pq_file **out, tarn_err *err)
{
    pq_source src = {.read = mem_read, .ctx = (void *)(uintptr_t)data, .size = len, .name = name};
    int rc = pq_file_open(&src, out, err);
    if (rc == 0)
        (*out)->bytes = data; /* scans read column chunks in place, uncopied */
    return rc;
}

void pq_file_close(pq_file *f)
{
    if (f == NULL)
        return;
    for (uint32_t i = 0; f->col_names && i < f->ncols; i++)
        tarn_free(f->col_names[i]);
    tarn_free(f->col_names);
    tarn_free(f->cols);
    pq_meta_free(&f->meta);
    tarn_free(f->name);
    tarn_free(f);
}

const pq_meta *pq_file_meta(const pq_file *f)
{
    return &f->meta;
}

uint32_t pq_file_ncols(const pq_file *f)
{
    return f->ncols;
}

const pq_column_info *pq_file_column(const pq_file *f, uint32_t i)
{
    return i < f->ncols ? &f->cols[i] : NULL;
}

int pq_file_find_column(const pq_file *f, const char *name)
{
    for (uint32_t i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}
