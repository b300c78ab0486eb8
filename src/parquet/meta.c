/*
 * parquet/meta.c: FileMetaData and PageHeader decoding and encoding over
 * the compact protocol (thrift.c). Field ids are parquet.thrift's; see
 * meta.h and parquet/README.md.
 *
 * Each struct has one reader function with the same shape: enter the
 * struct, loop over fields, dispatch on the field id when the wire type is
 * the expected one, skip anything else. Nesting is fixed by this code (not
 * by the input), and pq_tdec_skip bounds the depth of unknown fields.
 */
#include "parquet/meta.h"

#include "base/alloc.h"
#include "parquet/thrift.h"

#include <string.h>

/* ---- arena ---- */

struct pq_arena_block {
    pq_arena_block *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
};

#define ARENA_BLOCK_MIN 4096

void *pq_meta_alloc(pq_meta *m, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    pq_arena_block *b = m->blocks;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
        if (b && b->cap * 2 > cap && b->cap < ((size_t)1 << 20))
            cap = b->cap * 2; /* grow blocks geometrically up to 1 MiB */
        if (cap > PQ_META_MEM_MAX - m->arena_bytes)
            return NULL;
        b = tarn_malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->next = m->blocks;
        b->used = 0;
        b->cap = cap;
        m->blocks = b;
        m->arena_bytes += cap;
    }
    void *p = (uint8_t *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *pq_meta_strndup(pq_meta *m, const void *s, size_t len)
{
    char *p = pq_meta_alloc(m, len + 1);
    if (p) {
        if (len)
            memcpy(p, s, len);
        p[len] = 0;
    }
    return p;
}

void pq_meta_free(pq_meta *m)
{
    pq_arena_block *b = m->blocks;
    while (b) {
        pq_arena_block *next = b->next;
        tarn_free(b);
        b = next;
    }
    memset(m, 0, sizeof(*m));
}

/* ---- decoding ---- */

typedef struct rd {
    pq_tdec d;
    pq_meta *m; /* arena for copies; NULL: borrow from the input */
    int oom;    /* arena exhausted (TARN_ENOMEM) rather than bad bytes */
} rd;

#define CORRUPT TARN_ECORRUPT

static int bad(rd *r, const char *why)
{
    if (r->d.why == NULL)
        r->d.why = why;
    return CORRUPT;
}

static int rd_int(rd *r, uint8_t t, int64_t lo, int64_t hi, int64_t *out)
{
    if (t != PQ_T_I16 && t != PQ_T_I32 && t != PQ_T_I64 && t != PQ_T_BYTE)
        return bad(r, "field has the wrong type");
    if (t == PQ_T_BYTE) {
        int8_t b;
        if (pq_tdec_byte(&r->d, &b))
            return CORRUPT;
        *out = b;
    } else if (pq_tdec_i64(&r->d, out)) {
        return CORRUPT;
    }
    if (*out < lo || *out > hi)
        return bad(r, "integer field out of range");
    return 0;
}

static int rd_i32(rd *r, uint8_t t, int32_t *out)
{
    int64_t v;
    if (rd_int(r, t, INT32_MIN, INT32_MAX, &v))
        return CORRUPT;
    *out = (int32_t)v;
    return 0;
}

static int rd_i64(rd *r, uint8_t t, int64_t *out)
{
    return rd_int(r, t, INT64_MIN, INT64_MAX, out);
}

static int rd_bool(rd *r, uint8_t t, bool *out)
{
    if (t != PQ_T_TRUE && t != PQ_T_FALSE)
        return bad(r, "field has the wrong type");
    *out = t == PQ_T_TRUE;
    return 0;
}

/* A binary field: copied into the arena (NUL-terminated) or borrowed. */
static int rd_bin(rd *r, uint8_t t, const uint8_t **out, uint32_t *len)
{
    if (t != PQ_T_BINARY)
        return bad(r, "field has the wrong type");
    const uint8_t *p;
    if (pq_tdec_binary(&r->d, &p, len))
        return CORRUPT;
    if (r->m == NULL) {
        *out = p;
        return 0;
    }
    *out = (const uint8_t *)pq_meta_strndup(r->m, p, *len);
    if (*out == NULL) {
        r->oom = 1;
        return CORRUPT;
    }
    return 0;
}

static int rd_str(rd *r, uint8_t t, const char **out)
{
    uint32_t len;
    const uint8_t *p;
    if (rd_bin(r, t, &p, &len))
        return CORRUPT;
    *out = (const char *)p;
    return 0;
}

/* Allocates `count` zeroed elements for a list. */
static void *rd_array(rd *r, uint32_t count, size_t size)
{
    if (count > PQ_META_MEM_MAX / size) {
        r->oom = 1;
        return NULL;
    }
    void *p = pq_meta_alloc(r->m, (size_t)count * size);
    if (p == NULL)
        r->oom = 1;
    return p;
}

/* The field loop shared by every struct reader. Declares `t` and `id`. */
#define FIELD_LOOP(r)                                                                              \
    int16_t last_id_ = 0;                                                                          \
    uint8_t t;                                                                                     \
    int16_t id;                                                                                    \
    if (pq_tdec_struct_begin(&(r)->d))                                                             \
        return CORRUPT;                                                                            \
    for (;;)                                                                                       \
        if (pq_tdec_field(&(r)->d, &last_id_, &t, &id))                                            \
            return CORRUPT;                                                                        \
        else if (t == PQ_T_STOP) {                                                                 \
            pq_tdec_struct_end(&(r)->d);                                                           \
            break;                                                                                 \
        } else

#define SKIP(r) pq_tdec_skip(&(r)->d, t)

/* A struct whose fields are all skipped (empty union members). */
static int rd_empty(rd *r)
{
    FIELD_LOOP(r)
    {
        if (SKIP(r))
            return CORRUPT;
    }
    return 0;
}

static int rd_time_unit(rd *r, uint8_t *unit)
{
    FIELD_LOOP(r)
    {
        if (t == PQ_T_STRUCT && id >= 1 && id <= 3)
            *unit = (uint8_t)id;
        if (SKIP(r))
            return CORRUPT;
    }
    return 0;
}

/* TimeType and TimestampType: 1 isAdjustedToUTC, 2 unit. */
static int rd_time_type(rd *r, pq_logical *lt)
{
    FIELD_LOOP(r)
    {
        int rc = 0;
        if (id == 1 && (t == PQ_T_TRUE || t == PQ_T_FALSE))
            rc = rd_bool(r, t, &lt->utc);
        else if (id == 2 && t == PQ_T_STRUCT)
            rc = rd_time_unit(r, &lt->unit);
        else
            rc = SKIP(r);
        if (rc)
            return CORRUPT;
    }
    return 0;
}

/* DecimalType (1 scale, 2 precision) and IntType (1 bitWidth, 2 isSigned). */
static int rd_logical_params(rd *r, pq_logical *lt)
{
    FIELD_LOOP(r)
    {
        int rc = 0;
        int32_t v = 0;
        if (lt->kind == PQ_LT_DECIMAL && id == 1 && t != PQ_T_STRUCT)
            rc = rd_i32(r, t, &lt->scale);
        else if (lt->kind == PQ_LT_DECIMAL && id == 2 && t != PQ_T_STRUCT)
            rc = rd_i32(r, t, &lt->precision);
        else if (lt->kind == PQ_LT_INTEGER && id == 1 && t == PQ_T_BYTE) {
            rc = rd_i32(r, t, &v);
            lt->bit_width = (uint8_t)v;
        } else if (lt->kind == PQ_LT_INTEGER && id == 2 && t != PQ_T_STRUCT)
            rc = rd_bool(r, t, &lt->is_signed);
        else
            rc = SKIP(r);
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_logical(rd *r, pq_logical *lt)
{
    FIELD_LOOP(r)
    {
        int rc;
        if (t != PQ_T_STRUCT) {
            rc = SKIP(r);
        } else {
            lt->kind = id >= 1 && id <= 15 && id != 9 ? (uint8_t)id : PQ_LT_UNKNOWN;
            if (id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP)
                rc = rd_time_type(r, lt);
            else if (id == PQ_LT_DECIMAL || id == PQ_LT_INTEGER)
                rc = rd_logical_params(r, lt);
            else
                rc = rd_empty(r);
        }
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_schema_elem(rd *r, pq_schema_elem *e)
{
    e->name = "";
    e->type = e->type_length = e->repetition = e->converted = -1;
    e->scale = e->precision = e->field_id = -1;
    FIELD_LOOP(r)
    {
        int rc;
        switch (id) {
        case 1:
            rc = rd_i32(r, t, &e->type);
            break;
        case 2:
            rc = rd_i32(r, t, &e->type_length);
            break;
        case 3:
            rc = rd_i32(r, t, &e->repetition);
            break;
        case 4:
            rc = rd_str(r, t, &e->name);
            break;
        case 5:
            rc = rd_i32(r, t, &e->num_children);
            break;
        case 6:
            rc = rd_i32(r, t, &e->converted);
            break;
        case 7:
            rc = rd_i32(r, t, &e->scale);
            break;
        case 8:
            rc = rd_i32(r, t, &e->precision);
            break;
        case 9:
            rc = rd_i32(r, t, &e->field_id);
            break;
        case 10:
            rc = t == PQ_T_STRUCT ? rd_logical(r, &e->logical) : SKIP(r);
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    if (e->num_children < 0)
        return bad(r, "negative num_children");
    return 0;
}

static int rd_stats(rd *r, pq_stats *s)
{
    bool new_min = false, new_max = false;
    FIELD_LOOP(r)
    {
        int rc;
        switch (id) {
        case 1:
        case 5:
            if (id == 1 && new_max) {
                rc = SKIP(r);
                break;
            }
            rc = rd_bin(r, t, &s->max, &s->max_len);
            s->has_max = true;
            new_max = new_max || id == 5;
            break;
        case 2:
        case 6:
            if (id == 2 && new_min) {
                rc = SKIP(r);
                break;
            }
            rc = rd_bin(r, t, &s->min, &s->min_len);
            s->has_min = true;
            new_min = new_min || id == 6;
            break;
        case 3:
            rc = rd_i64(r, t, &s->null_count);
            s->has_null_count = true;
            break;
        case 4:
            rc = rd_i64(r, t, &s->distinct_count);
            s->has_distinct_count = true;
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    s->legacy = (s->has_min && !new_min) || (s->has_max && !new_max);
    return 0;
}

static int rd_encodings(rd *r, uint8_t t, uint32_t *mask)
{
    uint8_t et;
    uint32_t n;
    if (t != PQ_T_LIST || pq_tdec_list(&r->d, &et, &n))
        return bad(r, "encodings is not a list");
    for (uint32_t i = 0; i < n; i++) {
        int32_t e;
        if (rd_i32(r, et, &e))
            return CORRUPT;
        if (e >= 0 && e < 32)
            *mask |= 1u << e;
    }
    return 0;
}

static int rd_path(rd *r, uint8_t t, pq_column_meta *c)
{
    uint8_t et;
    uint32_t n;
    if (t != PQ_T_LIST || pq_tdec_list(&r->d, &et, &n))
        return bad(r, "path_in_schema is not a list");
    c->path = rd_array(r, n ? n : 1, sizeof(char *));
    if (c->path == NULL)
        return CORRUPT;
    c->path_len = n;
    for (uint32_t i = 0; i < n; i++)
        if (rd_str(r, et, &c->path[i]))
            return CORRUPT;
    return 0;
}

static int rd_column_meta(rd *r, pq_column_meta *c)
{
    c->dictionary_page_offset = c->index_page_offset = -1;
    FIELD_LOOP(r)
    {
        int rc;
        switch (id) {
        case 1:
            rc = rd_i32(r, t, &c->type);
            break;
        case 2:
            rc = rd_encodings(r, t, &c->encodings_mask);
            break;
        case 3:
            rc = rd_path(r, t, c);
            break;
        case 4:
            rc = rd_i32(r, t, &c->codec);
            break;
        case 5:
            rc = rd_i64(r, t, &c->num_values);
            break;
        case 6:
            rc = rd_i64(r, t, &c->total_uncompressed);
            break;
        case 7:
            rc = rd_i64(r, t, &c->total_compressed);
            break;
        case 9:
            rc = rd_i64(r, t, &c->data_page_offset);
            break;
        case 10:
            rc = rd_i64(r, t, &c->index_page_offset);
            break;
        case 11:
            rc = rd_i64(r, t, &c->dictionary_page_offset);
            break;
        case 12:
            rc = t == PQ_T_STRUCT ? rd_stats(r, &c->stats) : SKIP(r);
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_column_chunk(rd *r, pq_column_chunk *c)
{
    FIELD_LOOP(r)
    {
        int rc;
        if (id == 1)
            rc = rd_str(r, t, &c->file_path);
        else if (id == 2)
            rc = rd_i64(r, t, &c->file_offset);
        else if (id == 3 && t == PQ_T_STRUCT) {
            rc = rd_column_meta(r, &c->meta);
            c->has_meta = true;
        } else
            rc = SKIP(r);
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_row_group(rd *r, pq_row_group *g)
{
    g->file_offset = g->total_compressed_size = -1;
    FIELD_LOOP(r)
    {
        int rc = 0;
        uint8_t et;
        switch (id) {
        case 1:
            if (t != PQ_T_LIST || pq_tdec_list(&r->d, &et, &g->ncols) || et != PQ_T_STRUCT)
                return bad(r, "RowGroup.columns is not a list of structs");
            g->columns = rd_array(r, g->ncols ? g->ncols : 1, sizeof(pq_column_chunk));
            if (g->columns == NULL)
                return CORRUPT;
            for (uint32_t i = 0; i < g->ncols && rc == 0; i++)
                rc = rd_column_chunk(r, &g->columns[i]);
            break;
        case 2:
            rc = rd_i64(r, t, &g->total_byte_size);
            break;
        case 3:
            rc = rd_i64(r, t, &g->num_rows);
            break;
        case 5:
            rc = rd_i64(r, t, &g->file_offset);
            break;
        case 6:
            rc = rd_i64(r, t, &g->total_compressed_size);
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_kv(rd *r, pq_kv *kv)
{
    FIELD_LOOP(r)
    {
        int rc;
        if (id == 1)
            rc = rd_str(r, t, &kv->key);
        else if (id == 2)
            rc = rd_str(r, t, &kv->value);
        else
            rc = SKIP(r);
        if (rc)
            return CORRUPT;
    }
    if (kv->key == NULL)
        kv->key = "";
    return 0;
}

/* Reads a list of structs into a fresh arena array, calling `one` for each. */
#define RD_STRUCT_LIST(r, t, arr, count, type, one)                                                \
    do {                                                                                           \
        uint8_t et_;                                                                               \
        if ((t) != PQ_T_LIST || pq_tdec_list(&(r)->d, &et_, &(count)) || et_ != PQ_T_STRUCT)       \
            return bad(r, "expected a list of structs");                                           \
        (arr) = rd_array(r, (count) ? (count) : 1, sizeof(type));                                  \
        if ((arr) == NULL)                                                                         \
            return CORRUPT;                                                                        \
        for (uint32_t i_ = 0; i_ < (count); i_++)                                                  \
            if (one(r, &(arr)[i_]))                                                                \
                return CORRUPT;                                                                    \
    } while (0)

static int rd_file_meta(rd *r, pq_meta *m)
{
    FIELD_LOOP(r)
    {
        int rc = 0;
        switch (id) {
        case 1:
            rc = rd_i32(r, t, &m->version);
            break;
        case 2:
            RD_STRUCT_LIST(r, t, m->schema, m->nschema, pq_schema_elem, rd_schema_elem);
            break;
        case 3:
            rc = rd_i64(r, t, &m->num_rows);
            break;
        case 4:
            RD_STRUCT_LIST(r, t, m->row_groups, m->nrow_groups, pq_row_group, rd_row_group);
            break;
        case 5:
            RD_STRUCT_LIST(r, t, m->kv, m->nkv, pq_kv, rd_kv);
            break;
        case 6:
            rc = rd_str(r, t, &m->created_by);
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    return 0;
}

int pq_meta_decode(const void *data, size_t len, pq_meta *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    rd r = {.m = out};
    pq_tdec_init(&r.d, data, len);
    if (rd_file_meta(&r, out) == 0) {
        if (out->nschema == 0)
            r.d.why = "schema is empty";
        else if (out->num_rows < 0)
            r.d.why = "negative num_rows";
        else
            return 0;
    }
    size_t pos = pq_tdec_pos(&r.d);
    pq_meta_free(out);
    if (r.oom)
        return tarn_err_set(err, TARN_ENOMEM, "footer metadata exceeds memory (limit %zu bytes)",
                            (size_t)PQ_META_MEM_MAX);
    return tarn_err_set(err, TARN_ECORRUPT, "footer: %s at byte %zu of %zu",
                        r.d.why ? r.d.why : "bad metadata", pos, len);
}

/* ---- page headers ---- */

/* DataPageHeader (1), DataPageHeaderV2 (2) and DictionaryPageHeader (3). */
static int rd_page_sub(rd *r, int kind, pq_page_header *h)
{
    FIELD_LOOP(r)
    {
        int rc;
        int32_t *dst = NULL;
        if (id == 1)
            dst = &h->num_values;
        else if (id == 2)
            dst = kind == 2 ? &h->num_nulls : &h->encoding;
        else if (id == 3)
            dst = kind == 1 ? &h->def_encoding : kind == 2 ? &h->num_rows : NULL;
        else if (id == 4)
            dst = kind == 1 ? &h->rep_encoding : kind == 2 ? &h->encoding : NULL;
        else if (kind == 2 && id == 5)
            dst = &h->def_len;
        else if (kind == 2 && id == 6)
            dst = &h->rep_len;
        if (dst && t != PQ_T_STRUCT)
            rc = rd_i32(r, t, dst);
        else if (kind == 3 && id == 3 && (t == PQ_T_TRUE || t == PQ_T_FALSE))
            rc = rd_bool(r, t, &h->is_sorted);
        else if (kind == 2 && id == 7 && (t == PQ_T_TRUE || t == PQ_T_FALSE))
            rc = rd_bool(r, t, &h->is_compressed);
        else if (kind != 3 && id == (kind == 1 ? 5 : 8) && t == PQ_T_STRUCT) {
            rc = rd_stats(r, &h->stats);
            h->has_stats = true;
        } else
            rc = SKIP(r);
        if (rc)
            return CORRUPT;
    }
    return 0;
}

static int rd_page_header(rd *r, pq_page_header *h)
{
    FIELD_LOOP(r)
    {
        int rc;
        int32_t crc = 0;
        switch (id) {
        case 1:
            rc = rd_i32(r, t, &h->type);
            break;
        case 2:
            rc = rd_i32(r, t, &h->uncompressed_size);
            break;
        case 3:
            rc = rd_i32(r, t, &h->compressed_size);
            break;
        case 4:
            rc = rd_i32(r, t, &crc);
            h->crc = (uint32_t)crc;
            h->has_crc = true;
            break;
        case 5:
            rc = t == PQ_T_STRUCT ? rd_page_sub(r, 1, h) : SKIP(r);
            break;
        case 7:
            rc = t == PQ_T_STRUCT ? rd_page_sub(r, 3, h) : SKIP(r);
            break;
        case 8:
            rc = t == PQ_T_STRUCT ? rd_page_sub(r, 2, h) : SKIP(r);
            break;
        default:
            rc = SKIP(r);
            break;
        }
        if (rc)
            return CORRUPT;
    }
    return 0;
}

int pq_page_header_decode(const void *data, size_t len, pq_page_header *out, size_t *header_len,
                          tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = -1;
    out->is_compressed = true; /* the v2 default when the field is absent */
    rd r = {.m = NULL};
    pq_tdec_init(&r.d, data, len);
    if (rd_page_header(&r, out) == 0) {
        if (out->compressed_size < 0 || out->uncompressed_size < 0)
            r.d.why = "negative page size";
        else if (out->num_values < 0 || out->num_nulls < 0 || out->num_rows < 0)
            r.d.why = "negative value count";
        else if (out->def_len < 0 || out->rep_len < 0)
            r.d.why = "negative level length";
        else {
            *header_len = pq_tdec_pos(&r.d);
            return 0;
        }
    }
    return tarn_err_set(err, TARN_ECORRUPT, "page header: %s at byte %zu",
                        r.d.why ? r.d.why : "bad header", pq_tdec_pos(&r.d));
}
