/*
 * parquet/writer.c: writing Parquet files (flat or nested) from vec
 * batches. The contract is in parquet.h; formats in parquet/README.md.
 *
 * A flat schema (pq_write_col) is turned into the node form first, so one
 * path serves both. Each leaf is one column chunk (wcol) with the path of
 * nodes from its top-level node down to it; each row of a batch is
 * shredded into the leaf's (repetition, definition) levels by walking that
 * path (shred), reading list shape from the leaf's own batch column and
 * struct presence from the structs' columns.
 *
 * Per column the writer keeps the current page (definition levels, and
 * either dictionary indexes or PLAIN bytes), the chunk's dictionary (PLAIN
 * entries, a hash table over them) and the chunk's finished data pages.
 * At the end of a row group each chunk goes to the sink as [dictionary
 * page] data pages..., and its ColumnChunk metadata is recorded.
 *
 * Invariants:
 *  1. dict_on implies the column is not BOOLEAN and no page of the current
 *     chunk has been written PLAIN (fallback is one way, per chunk).
 *  2. idx_len + plain values == page non-null values; only one of the two is
 *     in use for a page (dict_on decides).
 *  3. offset == bytes handed to the sink.
 */
#include "parquet/parquet.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/hash.h"
#include "parquet/pq_int.h"

#include <math.h>
#include <string.h>

#define MAX_BUF ((size_t)1 << 31)

/* PLAIN values are little endian; le_signed and the dictionary's integer
 * hash read them in place. */
TARN_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");

typedef struct wstats {
    int64_t nulls;
    bool has;
    tarn_buf min, max; /* PLAIN bytes (no length prefix) */
} wstats;

/* A slot of a dictionary's hash table. The full hash is kept so that a
 * probe rarely touches the entries themselves: for 4- and 8-byte values the
 * hash (an invertible mixer of the value) even decides equality alone. */
typedef struct wslot {
    uint64_t hash;
    uint32_t entry1; /* entry index + 1, or 0: empty */
} wslot;

typedef struct wcol {
    pq_write_col spec; /* dotted path, leaf type (list clear), leaf nullable */
    int32_t physical, type_length;
    /* current page */
    uint32_t page_values; /* levels in the page (values, nulls, list levels) */
    uint32_t page_rows;
    uint32_t *defs, defs_cap;
    uint32_t *reps, reps_cap; /* when max_rep > 0 */
    uint32_t max_def, max_rep;
    uint32_t path[PQ_WRITE_DEPTH_MAX]; /* nodes from the top-level one to the leaf */
    uint32_t path_len;
    const char **schema_path; /* path_in_schema (list/key_value groups included) */
    uint32_t schema_path_len;
    uint32_t bcol; /* the leaf's batch column */
    uint32_t *idx, idx_len, idx_cap;
    tarn_buf plain;
    /* dictionary of the current chunk */
    bool dict_on, dict_used;
    tarn_buf dict;      /* PLAIN entries (byte arrays with their prefix) */
    uint32_t *dict_off; /* dict_count + 1 entry starts */
    uint32_t dict_count, dict_off_cap;
    struct wslot *slots; /* hash table over the entries, open addressing */
    uint32_t nslots;
    /* Input in dictionary form (vec_dict codes): code -> entry, valid where
     * cm_stamp[code] == cm_gen. cm_gen moves on with every batch and every
     * dictionary reset, so a code is hashed once per batch. */
    uint32_t *cm_stamp, *cm_entry, cm_cap, cm_gen;
    /* finished pages of the current chunk */
    tarn_buf chunk;
    int64_t chunk_values, chunk_uncompressed;
    uint32_t enc_mask;
    wstats chunk_st, file_st;
    pq_write_stats out;
} wcol;

/* A node of the schema, resolved. */
typedef struct wnode {
    pq_write_node n; /* name in the metadata arena */
    uint32_t depth;  /* lists and maps strictly above */
    int32_t bcol;    /* batch column (leaves, nullable structs), else -1 */
    int32_t ref;     /* lists and maps: batch column whose shape the others match */
    uint32_t end;    /* index past the node's subtree */
} wnode;

struct pq_writer {
    pq_writer_opts o;
    char *name;
    wnode *nodes;
    uint32_t nnodes, nbcols;
    wcol *cols; /* o.ncols leaves (o.ncols is set to the leaf count) */
    int codec;  /* enum pq_codec */
    uint64_t offset;
    int64_t rows, rg_rows;
    pq_meta meta; /* arena for names and statistics; row groups below */
    pq_row_group *rgs;
    uint32_t nrgs, rgs_cap;
    int failed;
    bool finished;
};

/* ---- values as PLAIN bytes, and their order ---- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The PLAIN bytes of row r (byte arrays: the bytes, no prefix). */
static void value_bytes(const wcol *c, const vec_col *v, uint32_t r, uint8_t tmp[16],
                        const uint8_t **p, size_t *n)
{
    const uint8_t *d = v->data;
    *p = tmp;
    switch (v->type.id) {
    case VEC_BOOL:
        tmp[0] = d[r] != 0;
        *n = 1;
        return;
    case VEC_I8:
        put_le(tmp, (uint64_t)(int64_t)((const int8_t *)d)[r], 4);
        *n = 4;
        return;
    case VEC_U8:
        put_le(tmp, d[r], 4);
        *n = 4;
        return;
    case VEC_I16:
        put_le(tmp, (uint64_t)(int64_t)((const int16_t *)d)[r], 4);
        *n = 4;
        return;
    case VEC_U16:
        put_le(tmp, ((const uint16_t *)d)[r], 4);
        *n = 4;
        return;
    case VEC_STRING:
    case VEC_BINARY:
        vec_col_str(v, r, p, n);
        return;
    case VEC_DECIMAL128: {
        vec_i128 x = ((const vec_i128 *)d)[r];
        for (int i = 0; i < 8; i++) { /* big endian two's complement */
            tmp[i] = (uint8_t)((uint64_t)x.hi >> (56 - 8 * i));
            tmp[8 + i] = (uint8_t)(x.lo >> (56 - 8 * i));
        }
        *n = 16;
        return;
    }
    default:
        break;
    }
    size_t w = vec_type_width(v->type.id);
    uint64_t x = 0;
    memcpy(&x, d + (size_t)r * w, w);
    *n = c->physical == PQ_INT32 || c->physical == PQ_FLOAT ? 4 : 8;
    put_le(tmp, x, (int)*n); /* INT32 targets keep the low 4 bytes */
}

static int64_t le_signed(const uint8_t *p, size_t n)
{
    if (n == 8) { /* the common widths without a loop (little-endian host) */
        int64_t x;
        memcpy(&x, p, 8);
        return x;
    }
    if (n == 4) {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);
    return (int64_t)v;
}

/* -1, 0, 1: a before, equal to, after b in the column's sort order. */
static int value_cmp(const wcol *c, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    vec_type t = c->spec.type.id;
    if (t == VEC_U8 || t == VEC_U16 || t == VEC_U32 || t == VEC_U64 || t == VEC_BOOL) {
        uint64_t x = (uint64_t)le_signed(a, an), y = (uint64_t)le_signed(b, bn);
        if (an < 8) { /* unsigned 32-bit: drop the sign extension */
            x &= 0xffffffffu;
            y &= 0xffffffffu;
        }
        return x < y ? -1 : x > y;
    }
    if (t == VEC_F32 || t == VEC_F64) {
        double x, y;
        if (an == 4) {
            float fx, fy;
            memcpy(&fx, a, 4);
            memcpy(&fy, b, 4);
            x = fx;
            y = fy;
        } else {
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
        }
        return x < y ? -1 : x > y;
    }
    if (t == VEC_DECIMAL128) {
        if ((int8_t)a[0] != (int8_t)b[0])
            return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
        int m = memcmp(a + 1, b + 1, 15);
        return m < 0 ? -1 : m > 0;
    }
    if (t == VEC_STRING || t == VEC_BINARY) {
        int m = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;
        return m ? (m < 0 ? -1 : 1) : an < bn ? -1 : an > bn;
    }
    int64_t x = le_signed(a, an), y = le_signed(b, bn);
    return x < y ? -1 : x > y;
}

static int stats_add(const wcol *c, wstats *s, const uint8_t *p, size_t n)
{
    vec_type t = c->spec.type.id;
    if (t == VEC_F32 || t == VEC_F64) {
        double x;
        if (n == 4) {
            float f;
            memcpy(&f, p, 4);
            x = f;
        } else {
            memcpy(&x, p, 8);
        }
        if (isnan(x))
            return 0; /* NaN has no place in min/max (parquet.thrift ColumnOrder) */
    }
    int rc = 0;
    if (!s->has || value_cmp(c, p, n, s->min.data, s->min.len) < 0) {
        tarn_buf_reset(&s->min);
        rc = tarn_buf_append(&s->min, p, n);
    }
    if (rc == 0 && (!s->has || value_cmp(c, p, n, s->max.data, s->max.len) > 0)) {
        tarn_buf_reset(&s->max);
        rc = tarn_buf_append(&s->max, p, n);
    }
    s->has = rc == 0;
    return rc;
}

/* ---- the dictionary ---- */

/* Invalidates the code cache (the entries it points at are gone). */
static void code_cache_bump(wcol *c)
{
    if (++c->cm_gen == 0) { /* wrapped: forget every stamp */
        if (c->cm_stamp)
            memset(c->cm_stamp, 0, (size_t)c->cm_cap * sizeof(uint32_t));
        c->cm_gen = 1;
    }
}

/* Makes room in the code cache for `count` codes, for a new batch. */
static int code_cache_prepare(wcol *c, uint32_t count)
{
    code_cache_bump(c);
    if (count <= c->cm_cap)
        return 0;
    uint32_t *st = tarn_realloc(c->cm_stamp, (size_t)count * sizeof(uint32_t));
    if (st == NULL)
        return TARN_ENOMEM;
    c->cm_stamp = st;
    uint32_t *en = tarn_realloc(c->cm_entry, (size_t)count * sizeof(uint32_t));
    if (en == NULL)
        return TARN_ENOMEM;
    c->cm_entry = en;
    memset(st + c->cm_cap, 0, (size_t)(count - c->cm_cap) * sizeof(uint32_t));
    c->cm_cap = count;
    return 0;
}

static void dict_reset(pq_writer *w, wcol *c)
{
    code_cache_bump(c);
    tarn_buf_reset(&c->dict);
    c->dict_count = 0;
    if (c->slots)
        memset(c->slots, 0, (size_t)c->nslots * sizeof(wslot));
    c->dict_on = !w->o.no_dict && c->physical != PQ_BOOLEAN;
    c->dict_used = false;
}

/* Entry i's PLAIN bytes (with the length prefix for byte arrays). */
static const uint8_t *dict_entry(const wcol *c, uint32_t i, size_t *n)
{
    *n = c->dict_off[i + 1] - c->dict_off[i];
    return c->dict.data + c->dict_off[i];
}

/* memcmp for the common fixed widths without a call. */
static inline bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n == 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x == y;
    }
    if (n == 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x == y;
    }
    return memcmp(a, b, n) == 0;
}

/* Appends n bytes to b; 4- and 8-byte values (most PLAIN values) without
 * a call once there is room. */
static inline int buf_put(tarn_buf *b, const uint8_t *p, size_t n)
{
    if (b->data == NULL || b->cap - b->len <= n)
        return tarn_buf_append(b, p, n);
    if (n == 8)
        memcpy(b->data + b->len, p, 8);
    else if (n == 4)
        memcpy(b->data + b->len, p, 4);
    else
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Hash of an entry's PLAIN bytes: 4- and 8-byte values (the fixed-width
 * types) through tarn_mix64, which costs a fraction of the byte hash and
 * is a bijection on 64-bit words (xor-shifts and odd multipliers invert),
 * so equal hashes of two such values mean equal values. */
static uint64_t entry_hash(const uint8_t *p, size_t n)
{
    if (n == 8 || n == 4) {
        uint64_t x = 0;
        memcpy(&x, p, n);
        return tarn_mix64(x);
    }
    return tarn_hash64(p, n, 0);
}

static int dict_grow(wcol *c)
{
    uint32_t n = c->nslots ? c->nslots * 2 : 1024;
    wslot *slots = tarn_calloc(n, sizeof(wslot));
    if (slots == NULL)
        return TARN_ENOMEM;
    for (uint32_t i = 0; i < c->nslots; i++) {
        if (c->slots[i].entry1 == 0)
            continue;
        uint32_t h = (uint32_t)c->slots[i].hash & (n - 1);
        while (slots[h].entry1)
            h = (h + 1) & (n - 1);
        slots[h] = c->slots[i];
    }
    tarn_free(c->slots);
    c->slots = slots;
    c->nslots = n;
    return 0;
}

/* Finds or adds the entry for PLAIN bytes p (prefixed for byte arrays). */
static int dict_lookup(wcol *c, const uint8_t *p, size_t n, uint32_t *out)
{
    int rc;
    if ((size_t)(c->dict_count + 1) * 2 > c->nslots && (rc = dict_grow(c)) != 0)
        return rc;
    uint64_t hv = entry_hash(p, n);
    /* Values of a fixed-width column all have the same width: for 4 and 8
     * bytes the hash alone decides (see entry_hash). */
    bool by_hash = (n == 4 || n == 8) && c->physical != PQ_BYTE_ARRAY;
    uint32_t mask = c->nslots - 1, h = (uint32_t)hv & mask;
    for (; c->slots[h].entry1; h = (h + 1) & mask) {
        if (c->slots[h].hash != hv)
            continue;
        size_t len;
        const uint8_t *e = by_hash ? NULL : dict_entry(c, c->slots[h].entry1 - 1, &len);
        if (by_hash || (len == n && bytes_equal(e, p, n))) {
            *out = c->slots[h].entry1 - 1;
            return 0;
        }
    }
    if (c->dict_count + 2 > c->dict_off_cap) {
        uint32_t cap = c->dict_off_cap ? c->dict_off_cap * 2 : 1024;
        uint32_t *o = tarn_realloc(c->dict_off, (size_t)cap * sizeof(uint32_t));
        if (o == NULL)
            return TARN_ENOMEM;
        c->dict_off = o;
        c->dict_off_cap = cap;
    }
    if ((rc = tarn_buf_append(&c->dict, p, n)) != 0)
        return rc;
    c->dict_off[c->dict_count] = (uint32_t)(c->dict.len - n);
    c->dict_off[c->dict_count + 1] = (uint32_t)c->dict.len;
    c->slots[h] = (wslot){hv, ++c->dict_count};
    *out = c->dict_count - 1;
    return 0;
}

/* Dictionary too big: the current page's indexes become PLAIN values and
 * the rest of the chunk is PLAIN. Pages already written keep theirs. */
static int dict_fallback(wcol *c)
{
    for (uint32_t i = 0; i < c->idx_len; i++) {
        size_t n;
        const uint8_t *e = dict_entry(c, c->idx[i], &n);
        int rc = tarn_buf_append(&c->plain, e, n);
        if (rc != 0)
            return rc;
    }
    c->idx_len = 0;
    c->dict_on = false;
    code_cache_bump(c);
    return 0;
}

/* ---- pages ---- */

static int grow_u32(uint32_t **a, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    uint32_t *p = tarn_realloc(*a, (size_t)n * sizeof(uint32_t));
    if (p == NULL)
        return TARN_ENOMEM;
    *a = p;
    *cap = n;
    return 0;
}

/* Bytes the current page would take, roughly, before compression. */
static size_t page_estimate(const wcol *c)
{
    size_t idx_bits = (size_t)c->idx_len * (size_t)pq_bit_width(c->dict_count);
    return c->plain.len + idx_bits / 8 + (c->max_def ? c->page_values / 8 : 0) +
           (c->max_rep ? c->page_values / 8 : 0);
}

/* Repetition (lists) and definition levels of the page (RLE, no length
 * prefix); empty when the column has none. */
static int page_levels(const wcol *c, tarn_buf *rl, tarn_buf *dl)
{
    int rc = 0;
    if (c->max_rep > 0)
        rc = pq_rle_encode(c->reps, c->page_values, pq_bit_width(c->max_rep), rl);
    if (rc == 0 && c->max_def > 0)
        rc = pq_rle_encode(c->defs, c->page_values, pq_bit_width(c->max_def), dl);
    return rc;
}

/* The encoding of the page's values: RLE_DICTIONARY, PLAIN, or with v2
 * pages the DELTA / BYTE_STREAM_SPLIT encodings instead of PLAIN. */
static int page_encoding(const pq_writer *w, const wcol *c)
{
    if (c->dict_on)
        return PQ_ENC_RLE_DICTIONARY;
    if (!w->o.page_v2)
        return PQ_ENC_PLAIN;
    switch (c->physical) {
    case PQ_INT32:
    case PQ_INT64:
        return PQ_ENC_DELTA_BINARY_PACKED;
    case PQ_BYTE_ARRAY:
        return PQ_ENC_DELTA_BYTE_ARRAY;
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return PQ_ENC_BYTE_STREAM_SPLIT;
    default:
        return PQ_ENC_PLAIN;
    }
}

/* PLAIN integers of the page as int64 (n values of 4 or 8 bytes). */
static int64_t *plain_ints(const wcol *c, uint32_t *n)
{
    size_t w = c->physical == PQ_INT32 ? 4 : 8;
    *n = (uint32_t)(c->plain.len / w);
    int64_t *v = tarn_malloc_array(*n ? *n : 1, sizeof(int64_t));
    for (uint32_t i = 0; v && i < *n; i++) {
        uint64_t x = 0;
        memcpy(&x, c->plain.data + (size_t)i * w, w);
        v[i] = w == 4 ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x;
    }
    return v;
}

/* DELTA_BYTE_ARRAY of the page's PLAIN byte arrays: shared prefixes with
 * the previous value, then the suffixes as DELTA_LENGTH_BYTE_ARRAY. */
static int put_delta_bytes(const wcol *c, tarn_buf *out)
{
    uint32_t n = 0;
    for (size_t pos = 0; pos < c->plain.len; n++) {
        uint32_t len;
        memcpy(&len, c->plain.data + pos, 4);
        pos += 4 + (size_t)len;
    }
    int64_t *pre = tarn_malloc_array(n ? n : 1, sizeof(int64_t));
    int64_t *suf = tarn_malloc_array(n ? n : 1, sizeof(int64_t));
    int rc = pre && suf ? 0 : TARN_ENOMEM;
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    size_t pos = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t len;
        memcpy(&len, c->plain.data + pos, 4);
        const uint8_t *v = c->plain.data + pos + 4;
        uint32_t k = 0;
        while (k < len && k < prev_len && v[k] == prev[k])
            k++;
        pre[i] = k;
        suf[i] = len - k;
        prev = v;
        prev_len = len;
        pos += 4 + (size_t)len;
    }
    if (rc == 0)
        rc = pq_delta_encode(pre, n, true, out);
    if (rc == 0)
        rc = pq_delta_encode(suf, n, true, out);
    pos = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t len;
        memcpy(&len, c->plain.data + pos, 4);
        if (suf[i] > 0)
            rc = tarn_buf_append(out, c->plain.data + pos + 4 + pre[i], (size_t)suf[i]);
        pos += 4 + (size_t)len;
    }
    tarn_free(pre);
    tarn_free(suf);
    return rc;
}

/* The page's values, uncompressed, in `enc`. */
static int page_values(const wcol *c, int enc, tarn_buf *out)
{
    int rc = 0;
    if (enc == PQ_ENC_RLE_DICTIONARY) {
        int bw = pq_bit_width(c->dict_count ? c->dict_count - 1 : 0);
        bw = bw ? bw : 1;
        rc = tarn_buf_append_byte(out, (uint8_t)bw);
        return rc ? rc : pq_rle_encode(c->idx, c->idx_len, bw, out);
    }
    if (enc == PQ_ENC_DELTA_BINARY_PACKED) {
        uint32_t n;
        int64_t *v = plain_ints(c, &n);
        rc = v ? pq_delta_encode(v, n, c->physical == PQ_INT32, out) : TARN_ENOMEM;
        tarn_free(v);
        return rc;
    }
    if (enc == PQ_ENC_DELTA_BYTE_ARRAY)
        return put_delta_bytes(c, out);
    if (enc == PQ_ENC_BYTE_STREAM_SPLIT) {
        size_t w = c->physical == PQ_FLOAT ? 4 : 8, n = c->plain.len / w;
        if ((rc = tarn_buf_reserve(out, c->plain.len)) != 0)
            return rc;
        for (size_t k = 0; k < w; k++) /* byte k of value i at k * n + i */
            for (size_t i = 0; i < n; i++)
                out->data[out->len + k * n + i] = c->plain.data[i * w + k];
        out->len += c->plain.len;
        return 0;
    }
    if (c->physical == PQ_BOOLEAN) {
        /* PLAIN booleans are bit-packed, LSB first. */
        for (size_t i = 0; rc == 0 && i < c->plain.len; i += 8) {
            uint8_t byte = 0;
            for (size_t k = 0; k < 8 && i + k < c->plain.len; k++)
                byte |= (uint8_t)(c->plain.data[i + k] << k);
            rc = tarn_buf_append_byte(out, byte);
        }
        return rc;
    }
    return c->plain.len ? tarn_buf_append(out, c->plain.data, c->plain.len) : 0;
}

/* Header, then the stored bytes: `raw` as is (v2 levels, or nothing) and
 * `body` compressed. The CRC covers everything after the header. */
static int put_page(pq_writer *w, wcol *c, const pq_page_header *h0, const tarn_buf *raw,
                    const tarn_buf *body, tarn_buf *out)
{
    tarn_buf z;
    tarn_buf_init(&z, MAX_BUF);
    int rc = raw && raw->len ? tarn_buf_append(&z, raw->data, raw->len) : 0;
    if (rc == 0)
        rc = pq_compress(w->codec, body->data ? body->data : (const uint8_t *)"", body->len, &z);
    pq_page_header h = *h0;
    size_t raw_len = raw ? raw->len : 0;
    h.uncompressed_size = (int32_t)(raw_len + body->len);
    h.compressed_size = (int32_t)z.len;
    /* A CRC lets readers tell damaged pages from valid ones. */
    h.has_crc = true;
    h.crc = pq_crc32(z.data ? z.data : (const uint8_t *)"", z.len);
    size_t before = out->len;
    if (rc == 0)
        rc = pq_page_header_encode(&h, out);
    size_t hlen = out->len - before;
    if (rc == 0 && z.len)
        rc = tarn_buf_append(out, z.data, z.len);
    c->chunk_uncompressed += (int64_t)(hlen + raw_len + body->len);
    tarn_buf_free(&z);
    return rc;
}

/* Page statistics of a dictionary-encoded page: each entry the page uses
 * is compared once (a bitmap over the dictionary marks those seen). */
static int page_stats_dict(const wcol *c, wstats *st)
{
    bool ba = c->physical == PQ_BYTE_ARRAY;
    uint8_t *seen = tarn_calloc((size_t)c->dict_count / 8 + 1, 1);
    if (seen == NULL)
        return TARN_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < c->idx_len; i++) {
        uint32_t k = c->idx[i];
        if (seen[k >> 3] & (1u << (k & 7)))
            continue;
        seen[k >> 3] |= (uint8_t)(1u << (k & 7));
        size_t n;
        const uint8_t *e = dict_entry(c, k, &n);
        rc = ba ? stats_add(c, st, e + 4, n - 4) : stats_add(c, st, e, n);
    }
    tarn_free(seen);
    return rc;
}

/* PLAIN integers of 4 or 8 bytes (signed or unsigned order, as
 * value_cmp): min and max in one typed loop. False for other types. */
static bool page_stats_ints(const wcol *c, size_t w, uint32_t nvals, wstats *st, int *rc)
{
    vec_type t = c->spec.type.id;
    if (t == VEC_F32 || t == VEC_F64 || t == VEC_STRING || t == VEC_BINARY || t == VEC_BOOL ||
        t == VEC_DECIMAL128 || c->plain.len != (size_t)nvals * w)
        return false;
    bool is_unsigned = t == VEC_U8 || t == VEC_U16 || t == VEC_U32 || t == VEC_U64;
    const uint8_t *p = c->plain.data;
    size_t lo = 0, hi = 0; /* value indexes of min and max */
    for (size_t i = 1; i < nvals; i++) {
        if (is_unsigned) {
            uint64_t x = (uint64_t)le_signed(p + i * w, w), a = (uint64_t)le_signed(p + lo * w, w),
                     b = (uint64_t)le_signed(p + hi * w, w);
            if (w == 4) {
                x &= 0xffffffffu;
                a &= 0xffffffffu;
                b &= 0xffffffffu;
            }
            lo = x < a ? i : lo;
            hi = x > b ? i : hi;
        } else {
            int64_t x = le_signed(p + i * w, w);
            lo = x < le_signed(p + lo * w, w) ? i : lo;
            hi = x > le_signed(p + hi * w, w) ? i : hi;
        }
    }
    *rc = stats_add(c, st, p + lo * w, w);
    if (*rc == 0)
        *rc = stats_add(c, st, p + hi * w, w);
    return true;
}

/* PLAIN FLOAT / DOUBLE: min and max in one typed loop, NaN left out (as
 * stats_add does). False for other types. */
static bool page_stats_floats(const wcol *c, size_t w, uint32_t nvals, wstats *st, int *rc)
{
    vec_type t = c->spec.type.id;
    if ((t != VEC_F32 && t != VEC_F64) || c->plain.len != (size_t)nvals * w)
        return false;
    const uint8_t *p = c->plain.data;
    double lo = 0, hi = 0;
    size_t ilo = SIZE_MAX, ihi = SIZE_MAX;
    for (size_t i = 0; i < nvals; i++) {
        double x;
        if (w == 4) {
            float f;
            memcpy(&f, p + i * 4, 4);
            x = f;
        } else {
            memcpy(&x, p + i * 8, 8);
        }
        if (isnan(x))
            continue;
        if (ilo == SIZE_MAX || x < lo)
            lo = x, ilo = i;
        if (ihi == SIZE_MAX || x > hi)
            hi = x, ihi = i;
    }
    *rc = 0;
    if (ilo != SIZE_MAX)
        *rc = stats_add(c, st, p + ilo * w, w);
    if (*rc == 0 && ihi != SIZE_MAX)
        *rc = stats_add(c, st, p + ihi * w, w);
    return true;
}

/* Statistics of the current page (min, max, null count) for its header
 * (DataPageHeader.statistics): readers skip pages by them. The values are
 * the page's dictionary indexes or its PLAIN bytes, whichever it holds. */
static int page_stats(const wcol *c, wstats *st)
{
    uint32_t nvals = 0;
    for (uint32_t i = 0; i < c->page_values; i++)
        nvals += c->defs[i] == c->max_def;
    st->nulls = (int64_t)(c->page_values - nvals);
    int rc = 0;
    bool ba = c->physical == PQ_BYTE_ARRAY;
    if (c->dict_on)
        return page_stats_dict(c, st);
    if (nvals == 0)
        return 0;
    size_t w = ba ? 0 : c->plain.len / nvals, pos = 0;
    if ((w == 4 || w == 8) &&
        (page_stats_ints(c, w, nvals, st, &rc) || page_stats_floats(c, w, nvals, st, &rc)))
        return rc;
    for (uint32_t i = 0; rc == 0 && i < nvals && pos < c->plain.len; i++) {
        size_t n = w;
        if (ba) {
            uint32_t len;
            memcpy(&len, c->plain.data + pos, 4);
            pos += 4;
            n = len;
        }
        rc = stats_add(c, st, c->plain.data + pos, n);
        pos += n;
    }
    return rc;
}

/* v1: [4-byte length, levels] values, all compressed; v2: levels stored
 * raw, values compressed, sizes of each in the header. */
static int write_data_page(pq_writer *w, wcol *c, int enc)
{
    tarn_buf rl, lv, vals, body;
    tarn_buf_init(&rl, MAX_BUF);
    tarn_buf_init(&lv, MAX_BUF);
    tarn_buf_init(&vals, MAX_BUF);
    tarn_buf_init(&body, MAX_BUF);
    int rc = page_levels(c, &rl, &lv);
    if (rc == 0)
        rc = page_values(c, enc, &vals);
    pq_page_header h = {.num_values = (int32_t)c->page_values, .encoding = enc};
    wstats st = {0};
    tarn_buf_init(&st.min, MAX_BUF);
    tarn_buf_init(&st.max, MAX_BUF);
    if (rc == 0)
        rc = page_stats(c, &st);
    if (rc == 0) {
        h.has_stats = true;
        h.stats.has_null_count = true;
        h.stats.null_count = st.nulls;
        h.stats.has_min = h.stats.has_max = st.has;
        h.stats.min = st.min.data ? st.min.data : (const uint8_t *)"";
        h.stats.max = st.max.data ? st.max.data : (const uint8_t *)"";
        h.stats.min_len = (uint32_t)st.min.len;
        h.stats.max_len = (uint32_t)st.max.len;
    }
    if (rc == 0 && w->o.page_v2) {
        uint32_t nulls = 0;
        for (uint32_t i = 0; i < c->page_values; i++)
            nulls += c->defs[i] < c->max_def;
        h.type = PQ_PAGE_DATA_V2;
        h.num_nulls = (int32_t)nulls;
        h.num_rows = (int32_t)c->page_rows;
        h.rep_len = (int32_t)rl.len;
        h.def_len = (int32_t)lv.len;
        h.is_compressed = w->codec != PQ_CODEC_UNCOMPRESSED;
        rc = lv.len ? tarn_buf_append(&rl, lv.data, lv.len) : 0; /* levels: rep, then def */
        if (rc == 0)
            rc = put_page(w, c, &h, &rl, &vals, &c->chunk);
    } else if (rc == 0) {
        uint8_t len4[4];
        h.type = PQ_PAGE_DATA;
        h.def_encoding = h.rep_encoding = PQ_ENC_RLE;
        put_le(len4, rl.len, 4);
        if (c->max_rep > 0)
            rc = tarn_buf_append(&body, len4, 4);
        if (rc == 0 && rl.len)
            rc = tarn_buf_append(&body, rl.data, rl.len);
        put_le(len4, lv.len, 4);
        if (rc == 0 && c->max_def > 0)
            rc = tarn_buf_append(&body, len4, 4);
        if (rc == 0 && lv.len)
            rc = tarn_buf_append(&body, lv.data, lv.len);
        if (rc == 0 && vals.len)
            rc = tarn_buf_append(&body, vals.data, vals.len);
        if (rc == 0)
            rc = put_page(w, c, &h, NULL, &body, &c->chunk);
    }
    tarn_buf_free(&rl);
    tarn_buf_free(&lv);
    tarn_buf_free(&vals);
    tarn_buf_free(&body);
    tarn_buf_free(&st.min);
    tarn_buf_free(&st.max);
    return rc;
}

static int flush_page(pq_writer *w, wcol *c)
{
    if (c->page_values == 0)
        return 0;
    int enc = page_encoding(w, c);
    int rc = write_data_page(w, c, enc);
    if (rc != 0)
        return rc;
    c->enc_mask |= 1u << enc | 1u << PQ_ENC_RLE;
    c->dict_used |= c->dict_on;
    c->chunk_values += c->page_values;
    c->page_values = 0;
    c->page_rows = 0;
    c->idx_len = 0;
    tarn_buf_reset(&c->plain);
    return 0;
}

/* Appends one level (rep, def) to column c's page and, when def is the
 * maximum, the value at row r of v. */
static int append_level(pq_writer *w, wcol *c, const vec_col *v, uint32_t r, uint32_t rep,
                        uint32_t def)
{
    int rc = grow_u32(&c->defs, &c->defs_cap, c->page_values + 1);
    if (rc == 0 && c->max_rep > 0)
        rc = grow_u32(&c->reps, &c->reps_cap, c->page_values + 1);
    if (rc != 0)
        return rc;
    c->defs[c->page_values] = def;
    if (c->max_rep > 0)
        c->reps[c->page_values] = rep;
    c->page_values++;
    if (def < c->max_def) {
        c->chunk_st.nulls++;
        return 0;
    }
    /* A code of a dictionary-form input seen before in this batch: its
     * entry is known (and its value checked and in the statistics). */
    bool coded = c->dict_on && v->dict != NULL && v->codes[r] < c->cm_cap;
    if (coded && c->cm_stamp[v->codes[r]] == c->cm_gen) {
        rc = grow_u32(&c->idx, &c->idx_cap, c->idx_len + 1);
        if (rc == 0)
            c->idx[c->idx_len++] = c->cm_entry[v->codes[r]];
        return rc;
    }
    uint8_t tmp[16];
    const uint8_t *p;
    size_t n;
    value_bytes(c, v, r, tmp, &p, &n);
    /* A STRING column promises UTF-8; readers (ours, DuckDB) refuse less. */
    if (c->spec.type.id == VEC_STRING && !pq_utf8_valid(p, n))
        return TARN_EINVAL;
    /* With a dictionary, statistics need only its new entries: they cover
     * every value of the chunk (the dictionary and the chunk's statistics
     * reset together). */
    if (!c->dict_on && (rc = stats_add(c, &c->chunk_st, p, n)) != 0)
        return rc;
    uint8_t pre[4];
    bool ba = c->physical == PQ_BYTE_ARRAY;
    if (ba && n > UINT32_MAX - 4)
        return TARN_ETOOBIG;
    put_le(pre, n, 4);
    if (c->dict_on) {
        /* Entries are looked up by their PLAIN form, prefix included. */
        uint8_t stack[256];
        uint8_t *e = ba && n + 4 <= sizeof(stack) ? stack : NULL;
        if (ba && e == NULL && (e = tarn_malloc(n + 4)) == NULL)
            return TARN_ENOMEM;
        if (ba) {
            memcpy(e, pre, 4);
            if (n)
                memcpy(e + 4, p, n);
        }
        uint32_t k = 0, before = c->dict_count;
        rc = dict_lookup(c, ba ? e : p, ba ? n + 4 : n, &k);
        if (e != stack && e != NULL)
            tarn_free(e);
        if (rc == 0 && c->dict_count > before)
            rc = stats_add(c, &c->chunk_st, p, n);
        if (rc == 0)
            rc = grow_u32(&c->idx, &c->idx_cap, c->idx_len + 1);
        if (rc != 0)
            return rc;
        c->idx[c->idx_len++] = k;
        if (coded) {
            c->cm_stamp[v->codes[r]] = c->cm_gen;
            c->cm_entry[v->codes[r]] = k;
        }
        if (c->dict.len > w->o.dict_max_bytes)
            rc = dict_fallback(c);
    } else {
        rc = ba ? buf_put(&c->plain, pre, 4) : 0;
        if (rc == 0 && n)
            rc = buf_put(&c->plain, p, n);
    }
    return rc;
}

#define PAGE_CHECK_ROWS 16

/* What shred reads for one leaf and one batch: the leaf column's levels
 * (lv[i] the list column of depth i, lv[depth] the values) and, per path
 * step that is a nullable struct, the innermost level of its column. */
typedef struct shred_ctx {
    pq_writer *w;
    wcol *c;
    const vec_col *lv[VEC_LIST_DEPTH_MAX + 1];
    const vec_col *present[PQ_WRITE_DEPTH_MAX];
} shred_ctx;

/* The vec column at list depth `depth` of column v. */
static const vec_col *col_level(const vec_col *v, uint32_t depth)
{
    for (uint32_t i = 0; i < depth; i++)
        v = v->elems;
    return v;
}

/* Emits the levels of path step s at index e of its level (a row for the
 * top-level node, an element index below lists), with definition level d
 * reached so far and repetition level r for the first level emitted (the
 * Dremel shredding of one column). Struct: null at d, else its field one
 * level deeper when nullable. List or map: null at d, empty at d + b
 * (b = 1 when nullable), else each element at d + b + 1, the first with r
 * and the others with this list's repetition level (its depth + 1). Leaf:
 * null at d, a value at d + b. Recursion depth is the path length
 * (<= PQ_WRITE_DEPTH_MAX, checked at open). */
static int shred(shred_ctx *x, uint32_t s, uint32_t e, uint32_t d, uint32_t r)
{
    wcol *c = x->c;
    const wnode *nd = &x->w->nodes[c->path[s]];
    uint32_t b = nd->n.nullable;
    if (nd->n.kind == PQ_NODE_LEAF) {
        const vec_col *v = x->lv[nd->depth];
        bool valid = vec_col_is_valid(v, e);
        if (!valid && !b)
            return TARN_EINVAL;
        return append_level(x->w, c, v, e, r, valid ? d + b : d);
    }
    if (nd->n.kind == PQ_NODE_STRUCT) {
        if (b && !vec_col_is_valid(x->present[s], e))
            return append_level(x->w, c, NULL, 0, r, d);
        return shred(x, s + 1, e, d + b, r);
    }
    const vec_col *v = x->lv[nd->depth];
    if (!vec_col_is_valid(v, e))
        return b ? append_level(x->w, c, NULL, 0, r, d) : TARN_EINVAL;
    uint32_t first = v->list_offsets[e], end = v->list_offsets[e + 1];
    if (first == end)
        return append_level(x->w, c, NULL, 0, r, d + b);
    int rc = 0;
    for (uint32_t i = first; rc == 0 && i < end; i++)
        rc = shred(x, s + 1, i, d + b + 1, i == first ? r : nd->depth + 1);
    return rc;
}

/* Appends row `row` of the batch to leaf column c. Pages end between rows. */
static int append_row(shred_ctx *x, uint32_t row)
{
    wcol *c = x->c;
    int rc;
    if (c->path_len == 1) { /* a top-level leaf: one level per row */
        const vec_col *v = x->lv[0];
        bool valid = vec_col_is_valid(v, row);
        if (!valid && c->max_def == 0)
            return TARN_EINVAL;
        rc = append_level(x->w, c, v, row, 0, valid ? c->max_def : 0);
    } else {
        rc = shred(x, 0, row, 0, 0);
    }
    /* The page size is looked at every PAGE_CHECK_ROWS rows (pages end
     * between rows and may pass page_bytes by that many rows). */
    if (rc == 0 && ++c->page_rows % PAGE_CHECK_ROWS == 0 && page_estimate(c) >= x->w->o.page_bytes)
        rc = flush_page(x->w, c);
    return rc;
}

/* ---- row groups and the footer ---- */

static int sink(pq_writer *w, const void *p, size_t n, tarn_err *err)
{
    if (n == 0)
        return 0;
    int rc = w->o.sink(w->o.sink_ctx, p, n, err);
    if (rc == 0)
        w->offset += n;
    return rc;
}

/* Copies a chunk's statistics into the metadata arena. */
static int stats_to_meta(pq_writer *w, const wstats *s, pq_stats *out)
{
    out->has_null_count = true;
    out->null_count = s->nulls;
    if (!s->has)
        return 0;
    uint8_t *mn = pq_meta_alloc(&w->meta, s->min.len + 1);
    uint8_t *mx = pq_meta_alloc(&w->meta, s->max.len + 1);
    if (mn == NULL || mx == NULL)
        return TARN_ENOMEM;
    memcpy(mn, s->min.data ? s->min.data : (const uint8_t *)"", s->min.len);
    memcpy(mx, s->max.data ? s->max.data : (const uint8_t *)"", s->max.len);
    out->min = mn;
    out->max = mx;
    out->min_len = (uint32_t)s->min.len;
    out->max_len = (uint32_t)s->max.len;
    out->has_min = out->has_max = true;
    return 0;
}

/* Folds a chunk's statistics into the file's. */
static int stats_merge(const wcol *c, wstats *file, const wstats *chunk)
{
    file->nulls += chunk->nulls;
    int rc = 0;
    if (chunk->has)
        rc = stats_add(c, file, chunk->min.data, chunk->min.len);
    if (rc == 0 && chunk->has)
        rc = stats_add(c, file, chunk->max.data, chunk->max.len);
    return rc;
}

/* Sends column c's chunk ([dictionary page] data pages) to the sink. */
static int write_chunk(pq_writer *w, wcol *c, pq_column_chunk *cc, tarn_err *err)
{
    int rc = flush_page(w, c);
    pq_column_meta *m = &cc->meta;
    m->dictionary_page_offset = m->index_page_offset = -1;
    if (rc == 0 && c->dict_used) {
        tarn_buf page;
        tarn_buf_init(&page, MAX_BUF);
        pq_page_header h = {.type = PQ_PAGE_DICTIONARY,
                            .num_values = (int32_t)c->dict_count,
                            .encoding = PQ_ENC_PLAIN};
        rc = put_page(w, c, &h, NULL, &c->dict, &page);
        m->dictionary_page_offset = (int64_t)w->offset;
        m->total_compressed += (int64_t)page.len;
        if (rc == 0)
            rc = sink(w, page.data, page.len, err);
        tarn_buf_free(&page);
        c->enc_mask |= 1u << PQ_ENC_PLAIN;
    }
    if (rc != 0)
        return rc;
    m->data_page_offset = (int64_t)w->offset;
    if ((rc = sink(w, c->chunk.data, c->chunk.len, err)) != 0)
        return rc;
    m->total_compressed += (int64_t)c->chunk.len;
    m->total_uncompressed = c->chunk_uncompressed;
    m->num_values = c->chunk_values;
    m->type = c->physical;
    m->encodings_mask = c->enc_mask;
    m->codec = w->codec;
    m->path = c->schema_path;
    m->path_len = c->schema_path_len;
    cc->has_meta = true;
    cc->file_offset =
        m->dictionary_page_offset >= 0 ? m->dictionary_page_offset : m->data_page_offset;
    rc = stats_to_meta(w, &c->chunk_st, &m->stats);
    if (rc == 0)
        rc = stats_merge(c, &c->file_st, &c->chunk_st);
    return rc;
}

static void chunk_reset(pq_writer *w, wcol *c)
{
    tarn_buf_reset(&c->chunk);
    c->chunk_values = c->chunk_uncompressed = 0;
    c->enc_mask = 0;
    c->chunk_st.nulls = 0;
    c->chunk_st.has = false;
    dict_reset(w, c);
}

static int flush_row_group(pq_writer *w, tarn_err *err)
{
    if (w->rg_rows == 0)
        return 0;
    if (w->nrgs == w->rgs_cap) {
        uint32_t cap = w->rgs_cap ? w->rgs_cap * 2 : 8;
        pq_row_group *r = tarn_realloc(w->rgs, (size_t)cap * sizeof(*r));
        if (r == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "row groups");
        w->rgs = r;
        w->rgs_cap = cap;
    }
    pq_row_group *g = &w->rgs[w->nrgs];
    memset(g, 0, sizeof(*g));
    g->file_offset = (int64_t)w->offset;
    g->columns = pq_meta_alloc(&w->meta, w->o.ncols * sizeof(pq_column_chunk));
    if (g->columns == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "row group metadata");
    g->ncols = w->o.ncols;
    g->num_rows = w->rg_rows;
    w->nrgs++;
    for (uint32_t i = 0; i < w->o.ncols; i++) {
        int rc = write_chunk(w, &w->cols[i], &g->columns[i], err);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "row group %u, column '%s'", w->nrgs - 1,
                                 w->cols[i].spec.name);
        g->total_byte_size += g->columns[i].meta.total_uncompressed;
        g->total_compressed_size += g->columns[i].meta.total_compressed;
        chunk_reset(w, &w->cols[i]);
    }
    w->rg_rows = 0;
    return 0;
}

static size_t row_group_estimate(const pq_writer *w)
{
    size_t n = 0;
    for (uint32_t i = 0; i < w->o.ncols; i++)
        n += w->cols[i].chunk.len + page_estimate(&w->cols[i]) + w->cols[i].dict.len;
    return n;
}

/* The schema element (physical, logical and converted type) of a column. */
static int leaf_element(const pq_write_col *col, pq_schema_elem *e)
{
    const vec_type_info *t = &col->type;
    *e = (pq_schema_elem){.name = col->name,
                          .type = PQ_INT32,
                          .type_length = -1,
                          .repetition = col->nullable ? PQ_OPTIONAL : PQ_REQUIRED,
                          .converted = -1,
                          .scale = -1,
                          .precision = -1,
                          .field_id = -1};
    pq_logical *lt = &e->logical;
    static const uint8_t unit[] = {PQ_UNIT_MILLIS, PQ_UNIT_MICROS, PQ_UNIT_NANOS};
    switch (t->id) {
    case VEC_BOOL:
        e->type = PQ_BOOLEAN;
        return 0;
    case VEC_I8:
    case VEC_I16:
    case VEC_I32:
    case VEC_I64:
    case VEC_U8:
    case VEC_U16:
    case VEC_U32:
    case VEC_U64: {
        static const uint8_t bits[] = {8, 16, 32, 64, 8, 16, 32, 64};
        int k = t->id >= VEC_U8 ? t->id - VEC_U8 + 4 : t->id - VEC_I8;
        bool is_signed = t->id < VEC_U8;
        e->type = bits[k] == 64 ? PQ_INT64 : PQ_INT32;
        *lt = (pq_logical){.kind = PQ_LT_INTEGER, .bit_width = bits[k], .is_signed = is_signed};
        static const int8_t conv[] = {PQ_CT_INT_8,  PQ_CT_INT_16,  PQ_CT_INT_32,  PQ_CT_INT_64,
                                      PQ_CT_UINT_8, PQ_CT_UINT_16, PQ_CT_UINT_32, PQ_CT_UINT_64};
        e->converted = conv[k];
        return 0;
    }
    case VEC_F32:
        e->type = PQ_FLOAT;
        return 0;
    case VEC_F64:
        e->type = PQ_DOUBLE;
        return 0;
    case VEC_DATE:
        lt->kind = PQ_LT_DATE;
        e->converted = PQ_CT_DATE;
        return 0;
    case VEC_TIME:
    case VEC_TIMESTAMP:
        if ((unsigned)t->unit > VEC_UNIT_NANOS)
            return TARN_EINVAL;
        e->type = t->id == VEC_TIME && t->unit == VEC_UNIT_MILLIS ? PQ_INT32 : PQ_INT64;
        *lt = (pq_logical){.kind = t->id == VEC_TIME ? PQ_LT_TIME : PQ_LT_TIMESTAMP,
                           .unit = unit[t->unit],
                           .utc = t->utc};
        if (t->utc && t->unit != VEC_UNIT_NANOS)
            e->converted = (t->id == VEC_TIME ? PQ_CT_TIME_MILLIS : PQ_CT_TIMESTAMP_MILLIS) +
                           (t->unit == VEC_UNIT_MICROS);
        return 0;
    case VEC_DECIMAL64:
    case VEC_DECIMAL128:
        if (t->precision < 1 || t->precision > (t->id == VEC_DECIMAL64 ? 18 : 38) ||
            t->scale > t->precision)
            return TARN_EINVAL;
        e->type = t->id == VEC_DECIMAL128 ? PQ_FIXED_LEN_BYTE_ARRAY
                  : t->precision <= 9     ? PQ_INT32
                                          : PQ_INT64;
        e->type_length = t->id == VEC_DECIMAL128 ? 16 : -1;
        *lt = (pq_logical){.kind = PQ_LT_DECIMAL, .scale = t->scale, .precision = t->precision};
        e->converted = PQ_CT_DECIMAL;
        e->scale = t->scale;
        e->precision = t->precision;
        return 0;
    case VEC_STRING:
        e->type = PQ_BYTE_ARRAY;
        lt->kind = PQ_LT_STRING;
        e->converted = PQ_CT_UTF8;
        return 0;
    case VEC_BINARY:
        e->type = PQ_BYTE_ARRAY;
        return 0;
    default:
        return TARN_EINVAL;
    }
}

static pq_schema_elem group_element(const char *name, int repetition, int32_t nchildren)
{
    return (pq_schema_elem){.name = name,
                            .type = -1,
                            .type_length = -1,
                            .repetition = repetition,
                            .num_children = nchildren,
                            .converted = -1,
                            .scale = -1,
                            .precision = -1,
                            .field_id = -1};
}

/* The flat options as nodes: a column is a leaf, a list column a LIST
 * node with a nullable element. */
static int nodes_from_cols(pq_writer *w, pq_write_node **out, uint32_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < w->o.ncols; i++)
        k += w->o.cols[i].type.list ? 2 : 1;
    pq_write_node *nodes = tarn_calloc(k ? k : 1, sizeof(*nodes));
    if (nodes == NULL)
        return TARN_ENOMEM;
    k = 0;
    for (uint32_t i = 0; i < w->o.ncols; i++) {
        const pq_write_col *c = &w->o.cols[i];
        if (c->type.list_inner) {
            tarn_free(nodes);
            return TARN_EINVAL; /* lists of lists: through nodes */
        }
        if (c->type.list) {
            nodes[k++] = (pq_write_node){c->name, PQ_NODE_LIST, {0}, c->nullable, 1};
            vec_type_info et = c->type;
            et.list = false;
            nodes[k++] = (pq_write_node){NULL, PQ_NODE_LEAF, et, true, 0};
        } else {
            nodes[k++] = (pq_write_node){c->name, PQ_NODE_LEAF, c->type, c->nullable, 0};
        }
    }
    *out = nodes;
    *n = k;
    return 0;
}

/* Checks one node against its parent (kind, children, names) and records
 * its depth; `pos` is its place among its parent's children. */
static const char *node_check(const pq_write_node *nd, const wnode *parent, uint32_t pos,
                              uint32_t depth)
{
    if ((unsigned)nd->kind > PQ_NODE_MAP)
        return "unknown kind";
    bool std_child = parent && (parent->n.kind == PQ_NODE_LIST || parent->n.kind == PQ_NODE_MAP);
    if (nd->name == NULL && !std_child)
        return "no name";
    if (nd->name && nd->name[0] == '\0')
        return "empty name";
    if (nd->kind == PQ_NODE_LEAF     ? nd->nchildren != 0 || nd->type.list || nd->type.list_inner
        : nd->kind == PQ_NODE_STRUCT ? nd->nchildren == 0
        : nd->kind == PQ_NODE_LIST   ? nd->nchildren != 1
                                     : nd->nchildren != 2)
        return "wrong number of children (or a leaf of list type)";
    if (parent && parent->n.kind == PQ_NODE_MAP && pos == 0 &&
        (nd->kind != PQ_NODE_LEAF || nd->nullable))
        return "map key must be a required leaf";
    if (depth > VEC_LIST_DEPTH_MAX)
        return "lists nested too deep";
    return NULL;
}

/* Copies and checks the node forest (pre-order, explicit stack), giving
 * each node its depth, batch column and subtree end. */
static int nodes_resolve(pq_writer *w, const pq_write_node *in, uint32_t n, tarn_err *err)
{
    uint32_t stack[PQ_WRITE_DEPTH_MAX], left[PQ_WRITE_DEPTH_MAX], top = 0;
    if (n == 0 || n > PQ_WRITE_NODES_MAX)
        return tarn_err_set(err, TARN_EINVAL, "%u schema nodes (1..%u)", n, PQ_WRITE_NODES_MAX);
    w->nodes = tarn_calloc(n, sizeof(wnode));
    if (w->nodes == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "writer");
    w->nnodes = n;
    for (uint32_t i = 0; i < n; i++) {
        while (top > 0 && left[top - 1] == 0)
            w->nodes[stack[--top]].end = i;
        const wnode *parent = top ? &w->nodes[stack[top - 1]] : NULL;
        wnode *nd = &w->nodes[i];
        nd->n = in[i];
        uint32_t pos = parent ? parent->n.nchildren - left[top - 1] : 0;
        nd->depth = parent ? parent->depth + (parent->n.kind >= PQ_NODE_LIST) : 0;
        const char *why = node_check(&in[i], parent, pos, nd->depth + (in[i].kind >= PQ_NODE_LIST));
        if (why == NULL && top == PQ_WRITE_DEPTH_MAX && in[i].kind != PQ_NODE_LEAF)
            why = "nested too deep";
        if (why != NULL)
            return tarn_err_set(err, TARN_EINVAL, "schema node %u ('%s'): %s", i,
                                in[i].name ? in[i].name : "", why);
        if (nd->n.name == NULL)
            nd->n.name = parent->n.kind == PQ_NODE_LIST ? "element" : pos == 0 ? "key" : "value";
        nd->n.name = pq_meta_strndup(&w->meta, nd->n.name, strlen(nd->n.name));
        if (nd->n.name == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "writer");
        if (top)
            left[top - 1]--;
        bool has_col =
            nd->n.kind == PQ_NODE_LEAF || (nd->n.kind == PQ_NODE_STRUCT && nd->n.nullable);
        nd->bcol = has_col ? (int32_t)w->nbcols++ : -1;
        nd->ref = nd->n.kind >= PQ_NODE_LIST ? (int32_t)w->nbcols : -1;
        w->o.ncols += nd->n.kind == PQ_NODE_LEAF;
        nd->end = i + 1;
        if (nd->n.kind != PQ_NODE_LEAF) {
            stack[top] = i;
            left[top++] = nd->n.nchildren;
        }
    }
    while (top > 0 && left[top - 1] == 0)
        w->nodes[stack[--top]].end = n;
    if (top > 0)
        return tarn_err_set(err, TARN_EINVAL, "schema nodes: node %u lacks children",
                            stack[top - 1]);
    return 0;
}

/* Schema elements of node i (2 for lists and maps) at *at. */
static int node_elements(pq_writer *w, uint32_t i, uint32_t *at)
{
    const wnode *nd = &w->nodes[i];
    pq_schema_elem *e = &w->meta.schema[*at];
    int rep = nd->n.nullable ? PQ_OPTIONAL : PQ_REQUIRED;
    if (nd->n.kind == PQ_NODE_LEAF) {
        pq_write_col col = {nd->n.name, nd->n.type, nd->n.nullable};
        (*at)++;
        return leaf_element(&col, e);
    }
    if (nd->n.kind == PQ_NODE_STRUCT) {
        e[0] = group_element(nd->n.name, rep, (int32_t)nd->n.nchildren);
        (*at)++;
        return 0;
    }
    bool list = nd->n.kind == PQ_NODE_LIST;
    e[0] = group_element(nd->n.name, rep, 1);
    e[0].converted = list ? PQ_CT_LIST : PQ_CT_MAP;
    e[0].logical.kind = list ? PQ_LT_LIST : PQ_LT_MAP;
    e[1] = group_element(list ? "list" : "key_value", PQ_REPEATED, (int32_t)nd->n.nchildren);
    *at += 2;
    return 0;
}

/* Leaf column c ends at node `leaf`; stack[0..top) are its ancestors. */
static int leaf_setup(pq_writer *w, wcol *c, const uint32_t *stack, uint32_t top, uint32_t leaf)
{
    char name[1024];
    size_t len = 0;
    c->schema_path = pq_meta_alloc(&w->meta, 2 * (top + 1) * sizeof(char *));
    if (c->schema_path == NULL)
        return TARN_ENOMEM;
    for (uint32_t k = 0; k <= top; k++) {
        const wnode *nd = &w->nodes[k < top ? stack[k] : leaf];
        c->path[c->path_len++] = k < top ? stack[k] : leaf;
        c->max_def += nd->n.nullable;
        c->schema_path[c->schema_path_len++] = nd->n.name;
        if (nd->n.kind >= PQ_NODE_LIST) {
            c->max_def++;
            c->max_rep++;
            c->schema_path[c->schema_path_len++] =
                nd->n.kind == PQ_NODE_LIST ? "list" : "key_value";
        }
    }
    for (uint32_t k = 0; k < c->schema_path_len; k++) {
        size_t n = strlen(c->schema_path[k]);
        if (len + n + 2 > sizeof(name))
            return TARN_EINVAL;
        memcpy(name + len, c->schema_path[k], n);
        len += n;
        name[len++] = k + 1 < c->schema_path_len ? '.' : '\0';
    }
    const wnode *lf = &w->nodes[leaf];
    c->spec = (pq_write_col){pq_meta_strndup(&w->meta, name, len - 1), lf->n.type, lf->n.nullable};
    c->bcol = (uint32_t)lf->bcol;
    return c->spec.name ? 0 : TARN_ENOMEM;
}

static void wcol_init(pq_writer *w, wcol *c, const pq_schema_elem *e)
{
    c->physical = e->type;
    c->type_length = e->type_length;
    tarn_buf_init(&c->plain, MAX_BUF);
    tarn_buf_init(&c->dict, MAX_BUF);
    tarn_buf_init(&c->chunk, MAX_BUF);
    tarn_buf_init(&c->chunk_st.min, MAX_BUF);
    tarn_buf_init(&c->chunk_st.max, MAX_BUF);
    tarn_buf_init(&c->file_st.min, MAX_BUF);
    tarn_buf_init(&c->file_st.max, MAX_BUF);
    dict_reset(w, c);
}

/* Schema elements and leaf columns from the resolved nodes. */
static int schema_setup(pq_writer *w, tarn_err *err)
{
    uint32_t ntop = 0, stack[PQ_WRITE_DEPTH_MAX], top = 0, at = 1, leaf = 0;
    w->meta.nschema = 1 + w->nnodes;
    for (uint32_t i = 0; i < w->nnodes; i = w->nodes[i].end)
        ntop++;
    for (uint32_t i = 0; i < w->nnodes; i++)
        w->meta.nschema += w->nodes[i].n.kind >= PQ_NODE_LIST;
    w->meta.schema = pq_meta_alloc(&w->meta, w->meta.nschema * sizeof(pq_schema_elem));
    w->cols = tarn_calloc(w->o.ncols ? w->o.ncols : 1, sizeof(wcol));
    if (w->meta.schema == NULL || w->cols == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "writer");
    w->meta.schema[0] = group_element("schema", -1, (int32_t)ntop);
    for (uint32_t i = 0; i < w->nnodes; i++) {
        while (top > 0 && w->nodes[stack[top - 1]].end <= i)
            top--;
        uint32_t elem = at;
        int rc = node_elements(w, i, &at);
        if (rc != 0)
            return tarn_err_set(err, TARN_EINVAL, "column '%s': cannot write type %s",
                                w->nodes[i].n.name, vec_type_name(w->nodes[i].n.type.id));
        if (w->nodes[i].n.kind != PQ_NODE_LEAF) {
            stack[top++] = i;
            continue;
        }
        wcol *c = &w->cols[leaf++];
        if ((rc = leaf_setup(w, c, stack, top, i)) != 0)
            return tarn_err_set(err, rc, "column '%s': path too long", w->nodes[i].n.name);
        wcol_init(w, c, &w->meta.schema[elem]);
    }
    TARN_ASSERT(at == w->meta.nschema && leaf == w->o.ncols);
    return 0;
}

static int writer_setup(pq_writer *w, tarn_err *err)
{
    pq_write_node *own = NULL;
    const pq_write_node *nodes = w->o.nodes;
    uint32_t n = w->o.nnodes;
    bool flat = nodes == NULL;
    int rc = flat ? nodes_from_cols(w, &own, &n) : 0;
    if (rc != 0)
        return tarn_err_set(
            err, rc,
            rc == TARN_EINVAL ? "columns: a list of lists needs pq_writer_opts.nodes" : "writer");
    if (flat)
        nodes = own;
    w->o.ncols = 0; /* counted again as leaves */
    rc = flat && n == 0 ? 0 : nodes_resolve(w, nodes, n, err);
    tarn_free(own);
    if (rc == 0)
        rc = schema_setup(w, err);
    return rc;
}

int pq_writer_open(const pq_writer_opts *opts, pq_writer **out, tarn_err *err)
{
    *out = NULL;
    if (opts->sink == NULL || (opts->ncols > 0 && opts->cols == NULL) ||
        (opts->cols != NULL && opts->nodes != NULL) || (opts->nnodes > 0 && opts->nodes == NULL) ||
        (unsigned)opts->codec > PQ_WRITE_UNCOMPRESSED)
        return tarn_err_set(err, TARN_EINVAL, "writer options");
    pq_writer *w = tarn_calloc(1, sizeof(*w));
    if (w == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "writer");
    w->o = *opts;
    static const int codecs[] = {PQ_CODEC_SNAPPY, PQ_CODEC_ZSTD, PQ_CODEC_UNCOMPRESSED};
    w->codec = codecs[opts->codec];
    if (!w->o.page_bytes)
        w->o.page_bytes = PQ_WRITE_PAGE_BYTES_DEFAULT;
    if (!w->o.row_group_bytes)
        w->o.row_group_bytes = PQ_WRITE_ROW_GROUP_BYTES_DEFAULT;
    if (!w->o.dict_max_bytes)
        w->o.dict_max_bytes = PQ_WRITE_DICT_BYTES_DEFAULT;
    w->name = tarn_strdup(opts->name ? opts->name : "(unnamed)");
    int rc = w->name ? writer_setup(w, err) : tarn_err_set(err, TARN_ENOMEM, "writer");
    if (rc == 0)
        rc = sink(w, "PAR1", 4, err);
    if (rc != 0) {
        tarn_err_wrap(err, rc, "parquet writer %s", opts->name ? opts->name : "(unnamed)");
        pq_writer_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int fail(pq_writer *w, int rc, tarn_err *err)
{
    w->failed = rc;
    return tarn_err_wrap(err, rc, "parquet writer %s", w->name);
}

/* Rows are appended in slices so that row group boundaries fall between
 * slices, with every column at the same row. */
#define SLICE_ROWS 1024

/* Column x's list levels are well formed: at each depth the offsets of
 * the n rows in use ascend and stay within the level below. */
static bool levels_ok(const vec_col *x, uint32_t depth, uint32_t rows)
{
    uint32_t n = rows;
    for (uint32_t k = 0; k < depth; k++) {
        if (n > x->cap || x->list_offsets == NULL || x->elems == NULL)
            return false;
        for (uint32_t i = 0; i < n; i++)
            if (x->list_offsets[i + 1] < x->list_offsets[i])
                return false;
        if (x->list_offsets[n] > x->elems->len)
            return false;
        n = x->elems->len;
        x = x->elems;
    }
    return n <= x->cap;
}

/* Columns x and ref have the same lists (validity and offsets) at depth. */
static bool same_shape(const vec_col *x, const vec_col *ref, uint32_t depth, uint32_t rows)
{
    uint32_t n = depth == 0 ? rows : col_level(x, depth)->len;
    x = col_level(x, depth);
    ref = col_level(ref, depth);
    if (depth > 0 && n != ref->len)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (vec_col_is_valid(x, i) != vec_col_is_valid(ref, i))
            return false;
    return memcmp(x->list_offsets, ref->list_offsets, ((size_t)n + 1) * sizeof(uint32_t)) == 0;
}

/* Types and shapes of the batch's columns (before anything is written, so
 * a refused batch leaves the writer usable). */
static int batch_check(const pq_writer *w, const vec_batch *b, tarn_err *err)
{
    if (b->ncols != w->nbcols)
        return tarn_err_set(err, TARN_EINVAL, "batch has %u columns, writer %u", b->ncols,
                            w->nbcols);
    for (uint32_t i = 0; i < w->nnodes; i++) {
        const wnode *nd = &w->nodes[i];
        if (nd->bcol < 0)
            continue;
        const vec_col *x = &b->cols[nd->bcol];
        vec_type want = nd->n.kind == PQ_NODE_LEAF ? nd->n.type.id : VEC_BOOL;
        if (x->type.id != want || x->type.list != (nd->depth > 0) ||
            (nd->depth > 0 && x->type.list_inner != nd->depth - 1))
            return tarn_err_set(err, TARN_EINVAL,
                                "column %d ('%s'): batch type %s (list depth %u), writer type %s "
                                "(list depth %u)",
                                nd->bcol, nd->n.name, vec_type_name(x->type.id),
                                x->type.list ? x->type.list_inner + 1u : 0u, vec_type_name(want),
                                nd->depth);
        if (!levels_ok(x, nd->depth, b->len))
            return tarn_err_set(err, TARN_EINVAL, "column %d ('%s'): malformed list offsets",
                                nd->bcol, nd->n.name);
    }
    for (uint32_t i = 0; i < w->nnodes; i++) {
        const wnode *nd = &w->nodes[i];
        if (nd->ref < 0)
            continue;
        const vec_col *ref = &b->cols[nd->ref];
        for (uint32_t k = i + 1; k < nd->end; k++) {
            int32_t bc = w->nodes[k].bcol;
            if (bc > nd->ref && !same_shape(&b->cols[bc], ref, nd->depth, b->len))
                return tarn_err_set(err, TARN_EINVAL,
                                    "columns %d and %d disagree on the lists of '%s'", nd->ref, bc,
                                    nd->n.name);
        }
    }
    return 0;
}

/* Appends rows [start, end) of the batch's live rows to leaf column c. */
static int append_rows(pq_writer *w, wcol *c, const vec_batch *b, uint32_t start, uint32_t end,
                       tarn_err *err)
{
    shred_ctx x = {.w = w, .c = c};
    const vec_col *v = &b->cols[c->bcol];
    for (uint32_t k = 0; k <= w->nodes[c->path[c->path_len - 1]].depth; k++)
        x.lv[k] = col_level(v, k);
    for (uint32_t s = 0; s < c->path_len; s++) {
        const wnode *nd = &w->nodes[c->path[s]];
        if (nd->n.kind == PQ_NODE_STRUCT && nd->bcol >= 0)
            x.present[s] = col_level(&b->cols[nd->bcol], nd->depth);
    }
    const vec_col *leaf = x.lv[w->nodes[c->path[c->path_len - 1]].depth];
    int prc = leaf->dict ? code_cache_prepare(c, leaf->dict->count) : 0;
    if (prc != 0)
        return tarn_err_set(err, prc, "column '%s'", c->spec.name);
    for (uint32_t k = start; k < end; k++) {
        int rc = append_row(&x, b->sel_active ? b->sel[k] : k);
        if (rc == TARN_EINVAL)
            return tarn_err_set(err, rc,
                                "null in required column '%s' (or a required field above it)",
                                c->spec.name);
        if (rc != 0)
            return tarn_err_set(err, rc, "column '%s'", c->spec.name);
    }
    return 0;
}

int pq_writer_write(pq_writer *w, const vec_batch *b, tarn_err *err)
{
    if (w->failed || w->finished)
        return tarn_err_set(err, TARN_ESTATE, "parquet writer %s: unusable", w->name);
    int rc = batch_check(w, b, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "parquet writer %s", w->name);
    uint32_t live = vec_batch_live_count(b);
    for (uint32_t start = 0; start < live; start += SLICE_ROWS) {
        uint32_t end = live - start < SLICE_ROWS ? live : start + SLICE_ROWS;
        for (uint32_t i = 0; i < w->o.ncols; i++)
            if ((rc = append_rows(w, &w->cols[i], b, start, end, err)) != 0)
                return fail(w, rc, err);
        w->rows += end - start;
        w->rg_rows += end - start;
        if (row_group_estimate(w) >= w->o.row_group_bytes) {
            rc = flush_row_group(w, err);
            if (rc != 0)
                return fail(w, rc, err);
        }
    }
    return 0;
}

uint32_t pq_writer_nleaves(const pq_writer *w)
{
    return w->o.ncols;
}

const char *pq_writer_leaf_name(const pq_writer *w, uint32_t i)
{
    return i < w->o.ncols ? w->cols[i].spec.name : NULL;
}

uint32_t pq_writer_batch_ncols(const pq_writer *w)
{
    return w->nbcols;
}

static int write_footer(pq_writer *w, tarn_err *err)
{
    w->meta.version = 1;
    w->meta.num_rows = w->rows;
    w->meta.row_groups = w->rgs;
    w->meta.nrow_groups = w->nrgs;
    w->meta.created_by = "tarn version " TARN_VERSION;
    tarn_buf f;
    tarn_buf_init(&f, PQ_FOOTER_MAX);
    int rc = pq_meta_encode(&w->meta, &f);
    w->meta.row_groups = NULL; /* owned by w->rgs, not the arena */
    uint8_t tail[8];
    put_le(tail, f.len, 4);
    memcpy(tail + 4, "PAR1", 4);
    if (rc == 0)
        rc = sink(w, f.data, f.len, err);
    if (rc == 0)
        rc = sink(w, tail, 8, err);
    tarn_buf_free(&f);
    return rc;
}

int pq_writer_finish(pq_writer *w, tarn_err *err)
{
    if (w->failed || w->finished)
        return tarn_err_set(err, TARN_ESTATE, "parquet writer %s: unusable", w->name);
    int rc = flush_row_group(w, err);
    if (rc == 0)
        rc = write_footer(w, err);
    if (rc != 0)
        return fail(w, rc, err);
    for (uint32_t i = 0; i < w->o.ncols; i++) {
        wcol *c = &w->cols[i];
        c->out = (pq_write_stats){.null_count = c->file_st.nulls,
                                  .has_min_max = c->file_st.has,
                                  .min = c->file_st.min.data,
                                  .max = c->file_st.max.data,
                                  .min_len = (uint32_t)c->file_st.min.len,
                                  .max_len = (uint32_t)c->file_st.max.len,
                                  .physical = c->physical};
    }
    w->finished = true;
    return 0;
}

int64_t pq_writer_rows(const pq_writer *w)
{
    return w->rows;
}

const pq_write_stats *pq_writer_stats(const pq_writer *w, uint32_t i)
{
    return w->finished && i < w->o.ncols ? &w->cols[i].out : NULL;
}

static void wcol_free(wcol *c)
{
    tarn_free(c->defs);
    tarn_free(c->reps);
    tarn_free(c->idx);
    tarn_free(c->dict_off);
    tarn_free(c->slots);
    tarn_free(c->cm_stamp);
    tarn_free(c->cm_entry);
    tarn_buf_free(&c->plain);
    tarn_buf_free(&c->dict);
    tarn_buf_free(&c->chunk);
    tarn_buf_free(&c->chunk_st.min);
    tarn_buf_free(&c->chunk_st.max);
    tarn_buf_free(&c->file_st.min);
    tarn_buf_free(&c->file_st.max);
}

void pq_writer_close(pq_writer *w)
{
    if (w == NULL)
        return;
    for (uint32_t i = 0; w->cols && i < w->o.ncols; i++)
        wcol_free(&w->cols[i]);
    tarn_free(w->cols);
    tarn_free(w->nodes);
    tarn_free(w->rgs);
    pq_meta_free(&w->meta);
    tarn_free(w->name);
    tarn_free(w);
}
