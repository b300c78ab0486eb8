/*
 * parquet/scan.c: reading column chunks page by page into vec batches.
 * Design note and encoding tables: parquet/README.md.
 *
 * For each projected column of the current row group a col_state holds the
 * whole column chunk (one ranged read), the chunk's dictionary, and the
 * current page fully decoded: its definition levels and its non-null values
 * (converted to the vec type, or dictionary indexes, or string slices into
 * the page). Batches copy slices of that page state out.
 *
 * Invariants:
 *  1. pos <= n (levels of the current page) and vpos <= nn (its values);
 *     the number of defs[0..pos) equal to max_def is vpos (defs == NULL:
 *     every level is max_def, so vpos == pos).
 *  2. Every dictionary index in idx[] is < the dictionary's count (checked
 *     when the page is decoded, so batches never check again).
 *  3. s->mem_used is the sum of the bytes every col_state holds, and never
 *     exceeds s->budget: an allocation that would is refused before it is
 *     made (TARN_ENOMEM_BUDGET).
 */
#include "parquet/parquet.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "parquet/pq_int.h"
#include "parquet/reader_int.h"

#include <stdlib.h>
#include <string.h>

/* PLAIN data is little endian; the fast paths copy it as it is. */
TARN_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");

/* One decoded run of values: converted fixed-width values, or slices of
 * byte arrays (start offset into `base`, length). */
typedef struct decoded {
    uint8_t *vals;    /* n * width bytes (fixed-width outputs) */
    uint32_t *sstart; /* n offsets into base (string/binary outputs) */
    uint32_t *slen;   /* n lengths */
    const uint8_t *base;
    uint32_t n;
    uint8_t *own; /* base when values were rebuilt (DELTA_BYTE_ARRAY) */
    size_t own_len;
    bool borrowed; /* vals points into the page buffer (not to be freed) */
} decoded;

/* A buffer reused from page to page and row group to row group: a fresh
 * allocation per page cost page faults on every page. Charged to the
 * budget at its capacity. */
typedef struct scratch {
    uint8_t *p;
    size_t cap;
} scratch;

typedef struct col_state {
    const pq_column_info *ci;
    size_t width;        /* vec_type_width of the output, 0 for strings */
    uint8_t *chunk;      /* the column chunk's bytes */
    bool chunk_borrowed; /* chunk points into the file's bytes in memory */
    size_t chunk_len, chunk_pos;
    uint64_t chunk_offset; /* file offset of chunk[0] */
    int codec;
    int64_t values_left;  /* values (levels) not yet loaded into pages */
    uint32_t page_no;     /* pages loaded so far (for messages) */
    uint64_t page_offset; /* file offset of the current page header */
    bool has_dict;
    vec_dict *sdict; /* string dictionary */
    decoded fdict;   /* fixed-width dictionary values */
    /* current page */
    uint8_t *page; /* uncompressed page (values section for v2): in page_buf or the chunk */
    size_t page_len;
    uint32_t n, pos;               /* levels in the page, levels consumed */
    uint8_t *defs;                 /* n definition levels (in defs_buf), or NULL: all at max_def */
    uint8_t *reps;                 /* n repetition levels, or NULL when max_rep == 0 */
    bool open[VEC_LIST_DEPTH_MAX]; /* lists: the list at depth i has elements coming */
    uint32_t nn, vpos;             /* non-null values, values consumed */
    bool is_dict;                  /* values are dictionary indexes */
    uint32_t *idx;                 /* nn dictionary indexes (in idx_buf) */
    decoded vals;                  /* nn plain values */
    size_t mem;                    /* bytes held, for the budget */
    scratch page_buf, defs_buf, idx_buf; /* kept until the scan closes */
} col_state;

/* Rows [start, end) of a row group. */
typedef struct row_range {
    int64_t start, end;
} row_range;

struct pq_scan {
    pq_file *f;
    uint32_t ncols;
    uint32_t *leaf;  /* ncols leaf column indexes */
    col_state *cols; /* ncols */
    uint32_t batch_rows;
    bool keep_dict;
    size_t budget, mem_used;
    uint32_t rg;          /* current row group; rg_end at the end */
    uint32_t rg_end;      /* past the last row group of the scan's range */
    int64_t rg_rows_left; /* rows of the current row group not yet returned */
    bool rg_open;
    int failed; /* sticky error */
    const pq_predicate *preds;
    uint32_t npreds;
    uint32_t skipped; /* row groups skipped by the predicates */
    /* Page skipping (see plan_page_skips): rows [start, end) of the
     * current row group that pages' statistics exclude, sorted, disjoint. */
    bool page_skip;  /* every projected column is flat: rows can be skipped */
    int64_t rg_rows; /* rows of the current row group */
    row_range *skip; /* nskip ranges */
    uint32_t nskip, skip_cap, skip_i;
    uint64_t pages_skipped; /* data pages passed over undecoded */
    uint64_t rows_skipped;  /* rows not returned because of page statistics */
};

/* ---- memory within the budget ---- */

static void *take(pq_scan *s, col_state *c, size_t n, tarn_err *err)
{
    if (n > s->budget || s->mem_used > s->budget - n) {
        tarn_err_set(err, TARN_ENOMEM_BUDGET, "needs %zu bytes, %zu of the %zu byte budget in use",
                     n, s->mem_used, s->budget);
        return NULL;
    }
    void *p = tarn_malloc(n ? n : 1);
    if (p == NULL) {
        tarn_err_set(err, TARN_ENOMEM, "allocating %zu bytes", n);
        return NULL;
    }
    s->mem_used += n;
    c->mem += n;
    return p;
}

static void give(pq_scan *s, col_state *c, void *p, size_t n)
{
    if (p == NULL)
        return;
    TARN_ASSERT(c->mem >= n && s->mem_used >= n);
    s->mem_used -= n;
    c->mem -= n;
    tarn_free(p);
}

/* A buffer of at least n bytes, reusing b's when it is large enough. */
static void *scratch_get(pq_scan *s, col_state *c, scratch *b, size_t n, tarn_err *err)
{
    if (n <= b->cap && b->p != NULL)
        return b->p;
    give(s, c, b->p, b->cap);
    b->cap = 0;
    b->p = take(s, c, n, err);
    if (b->p != NULL)
        b->cap = n;
    return b->p;
}

static void scratch_free(pq_scan *s, col_state *c, scratch *b)
{
    give(s, c, b->p, b->cap);
    b->p = NULL;
    b->cap = 0;
}

static void decoded_free(pq_scan *s, col_state *c, decoded *d)
{
    size_t w = c->width;
    if (!d->borrowed)
        give(s, c, d->vals, (size_t)d->n * w);
    give(s, c, d->sstart, (size_t)d->n * 4);
    give(s, c, d->slen, (size_t)d->n * 4);
    give(s, c, d->own, d->own_len);
    memset(d, 0, sizeof(*d));
}

static void page_free(pq_scan *s, col_state *c)
{
    decoded_free(s, c, &c->vals);
    give(s, c, c->reps, c->n);
    c->reps = NULL;
    c->idx = NULL;
    c->defs = NULL;
    c->page = NULL;
    c->page_len = 0;
    c->n = c->pos = c->nn = c->vpos = 0;
    c->is_dict = false;
}

/* Frees what a row group's chunk holds; the scratch buffers stay. */
static void col_free(pq_scan *s, col_state *c)
{
    page_free(s, c);
    decoded_free(s, c, &c->fdict);
    if (!c->chunk_borrowed)
        give(s, c, c->chunk, c->chunk_len);
    vec_dict_release(c->sdict);
    col_state keep = *c;
    TARN_ASSERT(c->mem == c->page_buf.cap + c->defs_buf.cap + c->idx_buf.cap);
    memset(c, 0, sizeof(*c));
    c->ci = keep.ci;
    c->mem = keep.mem;
    c->page_buf = keep.page_buf;
    c->defs_buf = keep.defs_buf;
    c->idx_buf = keep.idx_buf;
}

/* ---- value conversion ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Big-endian two's complement of 1..16 bytes (DECIMAL on byte arrays). */
static vec_i128 be_decimal(const uint8_t *p, uint32_t len)
{
    uint64_t hi = (p[0] & 0x80) ? UINT64_MAX : 0, lo = hi;
    for (uint32_t i = 0; i < len; i++) {
        hi = hi << 8 | lo >> 56;
        lo = lo << 8 | p[i];
    }
    return (vec_i128){lo, (int64_t)hi};
}

static void store_decimal(const pq_column_info *ci, vec_i128 v, uint8_t *dst)
{
    if (ci->type.id == VEC_DECIMAL64) {
        int64_t x = (int64_t)v.lo; /* precision <= 18 fits; larger is the writer's bug */
        memcpy(dst, &x, 8);
    } else {
        memcpy(dst, &v, 16);
    }
}

/* INT96: 8 bytes nanoseconds of the day, then 4 bytes Julian day number.
 * Unsigned arithmetic: hostile days wrap instead of overflowing. */
static int64_t int96_to_nanos(const uint8_t *p)
{
    uint64_t nanos = le64(p);
    int64_t jd = (int32_t)le32(p + 8);
    uint64_t days = (uint64_t)(jd - 2440588); /* 1970-01-01 */
    return (int64_t)(days * 86400000000000ull + nanos);
}

/* Converts one physical value (src, len bytes) to the column's vec type. */
static int convert(const pq_column_info *ci, const uint8_t *src, uint32_t len, uint8_t *dst)
{
    vec_type t = ci->type.id;
    switch (ci->physical) {
    case PQ_INT32: {
        int32_t v = (int32_t)le32(src);
        int64_t w = v;
        if (t == VEC_I8 || t == VEC_U8)
            *dst = (uint8_t)v;
        else if (t == VEC_I16 || t == VEC_U16) {
            uint16_t h = (uint16_t)v;
            memcpy(dst, &h, 2);
        } else if (t == VEC_DECIMAL64 || t == VEC_DECIMAL128)
            store_decimal(ci, (vec_i128){(uint64_t)w, w < 0 ? -1 : 0}, dst);
        else if (t == VEC_TIME)
            memcpy(dst, &w, 8);
        else
            memcpy(dst, &v, 4);
        return 0;
    }
    case PQ_INT64: {
        int64_t v = (int64_t)le64(src);
        if (t == VEC_DECIMAL128)
            store_decimal(ci, (vec_i128){(uint64_t)v, v < 0 ? -1 : 0}, dst);
        else
            memcpy(dst, &v, 8);
        return 0;
    }
    case PQ_INT96: {
        int64_t v = int96_to_nanos(src);
        memcpy(dst, &v, 8);
        return 0;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE:
        memcpy(dst, src, len);
        return 0;
    case PQ_BYTE_ARRAY:
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (len < 1 || len > 16)
            return TARN_ECORRUPT; /* decimals only reach here */
        store_decimal(ci, be_decimal(src, len), dst);
        return 0;
    default:
        return TARN_ECORRUPT;
    }
}

static uint32_t phys_width(const pq_column_info *ci)
{
    switch (ci->physical) {
    case PQ_INT32:
    case PQ_FLOAT:
        return 4;
    case PQ_INT64:
    case PQ_DOUBLE:
        return 8;
    case PQ_INT96:
        return 12;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        return (uint32_t)ci->type_length;
    default:
        return 0;
    }
}

/* Whether PLAIN values are already the output's bytes (this reader runs on
 * little-endian hosts, as the static assertion below checks). */
static bool same_layout(const pq_column_info *ci)
{
    vec_type t = ci->type.id;
    switch (ci->physical) {
    case PQ_INT32:
        return t == VEC_I32 || t == VEC_U32 || t == VEC_DATE;
    case PQ_INT64:
        return t == VEC_I64 || t == VEC_U64 || t == VEC_TIMESTAMP || t == VEC_TIME ||
               t == VEC_DECIMAL64;
    case PQ_FLOAT:
        return t == VEC_F32;
    case PQ_DOUBLE:
        return t == VEC_F64;
    default:
        return false;
    }
}

/* ---- PLAIN decoding ---- */

/* Byte arrays: 4-byte little-endian length, then the bytes. Records
 * slices (strings) or converts (decimals). */
static int plain_byte_arrays(pq_scan *s, col_state *c, const uint8_t *p, size_t len, decoded *d,
                             tarn_err *err)
{
    bool slices = c->width == 0;
    size_t pos = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        if (len - pos < 4)
            return tarn_err_set(err, TARN_ECORRUPT, "PLAIN byte array %u: length ends early", i);
        uint32_t n = le32(p + pos);
        pos += 4;
        if (n > len - pos)
            return tarn_err_set(err, TARN_ECORRUPT, "PLAIN byte array %u: %u bytes overrun", i, n);
        if (slices) {
            d->sstart[i] = (uint32_t)pos;
            d->slen[i] = n;
        } else if (convert(c->ci, p + pos, n, d->vals + (size_t)i * c->width) != 0) {
            return tarn_err_set(err, TARN_ECORRUPT, "decimal %u has %u bytes", i, n);
        }
        pos += n;
    }
    (void)s;
    return 0;
}

/* Decodes d->n PLAIN values of the column's physical type from p. */
static int plain_decode(pq_scan *s, col_state *c, const uint8_t *p, size_t len, decoded *d,
                        tarn_err *err)
{
    const pq_column_info *ci = c->ci;
    d->base = p;
    if (c->width) {
        d->vals = take(s, c, (size_t)d->n * c->width, err);
        if (d->vals == NULL)
            return err ? err->code : TARN_ENOMEM;
    } else {
        d->sstart = take(s, c, (size_t)d->n * 4, err);
        d->slen = d->sstart ? take(s, c, (size_t)d->n * 4, err) : NULL;
        if (d->slen == NULL)
            return err ? err->code : TARN_ENOMEM;
    }
    if (ci->physical == PQ_BOOLEAN) {
        if (len < ((size_t)d->n + 7) / 8)
            return tarn_err_set(err, TARN_ECORRUPT, "PLAIN booleans end early");
        for (uint32_t i = 0; i < d->n; i++)
            d->vals[i] = (p[i >> 3] >> (i & 7)) & 1;
        return 0;
    }
    if (ci->physical == PQ_BYTE_ARRAY)
        return plain_byte_arrays(s, c, p, len, d, err);
    uint32_t pw = phys_width(ci);
    if ((uint64_t)d->n * pw > len)
        return tarn_err_set(err, TARN_ECORRUPT, "PLAIN: %u values of %u bytes need more than %zu",
                            d->n, pw, len);
    if (same_layout(ci)) {
        /* Little-endian values of the output's width: one copy. */
        if (d->n)
            memcpy(d->vals, p, (size_t)d->n * pw);
        return 0;
    }
    for (uint32_t i = 0; i < d->n; i++) {
        if (c->width == 0) {
            d->sstart[i] = i * pw;
            d->slen[i] = pw;
        } else if (convert(ci, p + (size_t)i * pw, pw, d->vals + (size_t)i * c->width) != 0) {
            return tarn_err_set(err, TARN_ECORRUPT, "value %u does not convert", i);
        }
    }
    return 0;
}

/* STRING values must be valid UTF-8: the executor and every output format
 * rely on it (DuckDB refuses such files too). */
static int check_utf8(const col_state *c, const decoded *d, tarn_err *err)
{
    if (c->ci->type.id != VEC_STRING || d->sstart == NULL)
        return 0;
    for (uint32_t i = 0; i < d->n; i++)
        if (!pq_utf8_valid(d->base + d->sstart[i], d->slen[i]))
            return tarn_err_set(err, TARN_ECORRUPT, "value %u is not valid UTF-8", i);
    return 0;
}

/* ---- pages ---- */

/* Decompresses `len` stored bytes into the page buffer (`ulen` bytes);
 * an uncompressed page is used where it lies in the chunk, uncopied. */
static int page_inflate(pq_scan *s, col_state *c, const uint8_t *src, size_t len, size_t ulen,
                        int codec, tarn_err *err)
{
    if (codec == PQ_CODEC_UNCOMPRESSED && len == ulen) {
        c->page = (uint8_t *)(uintptr_t)src; /* read only, like the chunk */
        c->page_len = ulen;
        return 0;
    }
    c->page = scratch_get(s, c, &c->page_buf, ulen, err);
    if (c->page == NULL)
        return err ? err->code : TARN_ENOMEM;
    c->page_len = ulen;
    return pq_decompress(codec, src, len, c->page, ulen, err);
}

/* A dictionary page: PLAIN values kept for the whole chunk. */
static int load_dict(pq_scan *s, col_state *c, const pq_page_header *h, const uint8_t *src,
                     tarn_err *err)
{
    if (c->has_dict || c->page_no > 1)
        return tarn_err_set(err, TARN_ECORRUPT, "unexpected second dictionary page");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return tarn_err_set(err, TARN_ENOTSUP, "dictionary page encoding %d", h->encoding);
    int rc = page_inflate(s, c, src, (size_t)h->compressed_size, (size_t)h->uncompressed_size,
                          c->codec, err);
    decoded d = {.n = (uint32_t)h->num_values};
    if (rc == 0)
        rc = plain_decode(s, c, c->page, c->page_len, &d, err);
    if (rc == 0)
        rc = check_utf8(c, &d, err);
    if (rc == 0 && c->width == 0) {
        /* Strings: gather into a vec_dict that batches can share. */
        uint32_t *offs = tarn_malloc_array((size_t)d.n + 1, 4);
        size_t total = 0;
        for (uint32_t i = 0; i < d.n; i++)
            total += d.slen[i];
        uint8_t *bytes = offs && total <= VEC_COL_BYTES_MAX ? tarn_malloc(total) : NULL;
        if (bytes == NULL || vec_dict_take(offs, bytes, d.n, &c->sdict) != 0) {
            tarn_free(offs);
            tarn_free(bytes);
            rc = tarn_err_set(err, TARN_ENOMEM, "dictionary of %u values", d.n);
        } else {
            offs[0] = 0;
            for (uint32_t i = 0; i < d.n; i++) {
                memcpy(bytes + offs[i], d.base + d.sstart[i], d.slen[i]);
                offs[i + 1] = offs[i] + d.slen[i];
            }
        }
        decoded_free(s, c, &d);
    } else if (rc == 0) {
        c->fdict = d;
    } else {
        decoded_free(s, c, &d);
    }
    c->page = NULL;
    c->page_len = 0;
    c->has_dict = rc == 0;
    return rc;
}

/* Repetition levels: n values of bit width bw(max_rep), checked <= max_rep;
 * a chunk's first level must start a row (0). */
static int load_reps(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    uint32_t *tmp = take(s, c, (size_t)c->n * 4, err);
    if (tmp == NULL)
        return err ? err->code : TARN_ENOMEM;
    size_t used;
    const char *why = "";
    int rc = pq_rle_decode(p, len, pq_bit_width((uint64_t)c->ci->max_rep), c->n, tmp, &used, &why);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "repetition levels: %s", why);
    if (rc == 0 && (c->reps = take(s, c, c->n, err)) == NULL)
        rc = err ? err->code : TARN_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < c->n; i++) {
        if (tmp[i] > (uint32_t)c->ci->max_rep)
            rc = tarn_err_set(err, TARN_ECORRUPT, "repetition level %u above max %d", tmp[i],
                              c->ci->max_rep);
        c->reps[i] = (uint8_t)tmp[i];
    }
    give(s, c, tmp, (size_t)c->n * 4);
    return rc;
}

/* Definition levels: n values of bit width bw(max_def), checked <= max_def.
 * Counts the non-null values into c->nn; c->defs stays NULL when all are
 * max_def. */
static int load_defs(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    c->nn = c->n;
    c->defs = NULL;
    int max = c->ci->max_def, bw = pq_bit_width((uint64_t)max);
    /* A page without nulls is one RLE run of max_def: no levels to keep,
     * and batches copy its values in whole runs. */
    if (max == 0 || pq_rle_starts_with_run(p, len, bw, c->n, (uint32_t)max))
        return 0;
    uint8_t *defs = scratch_get(s, c, &c->defs_buf, c->n, err);
    if (defs == NULL)
        return err ? err->code : TARN_ENOMEM;
    const char *why = "";
    if (pq_rle_decode_levels(p, len, bw, c->n, (uint32_t)max, defs, &c->nn, &why) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "definition levels: %s", why);
    if (c->nn < c->n)
        c->defs = defs;
    return 0;
}

/* Dictionary indexes: a bit-width byte, then the hybrid RLE. */
static int load_indexes(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    if (!c->has_dict)
        return tarn_err_set(err, TARN_ECORRUPT, "dictionary-encoded page without a dictionary");
    c->is_dict = true;
    c->idx = scratch_get(s, c, &c->idx_buf, (size_t)c->nn * 4, err);
    if (c->idx == NULL)
        return err ? err->code : TARN_ENOMEM;
    if (c->nn == 0)
        return 0;
    if (len < 1 || p[0] > 32)
        return tarn_err_set(err, TARN_ECORRUPT, "bad dictionary index bit width");
    size_t used;
    const char *why = "";
    if (pq_rle_decode(p + 1, len - 1, p[0], c->nn, c->idx, &used, &why) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "dictionary indexes: %s", why);
    /* The largest index, without an early exit (a lane-split version did
     * not vectorize at -O2 and ran slower). */
    uint32_t count = c->sdict ? c->sdict->count : c->fdict.n, top = 0;
    for (uint32_t i = 0; i < c->nn; i++)
        top = c->idx[i] > top ? c->idx[i] : top;
    if (top >= count)
        return tarn_err_set(err, TARN_ECORRUPT, "dictionary index %u of %u entries", top, count);
    return 0;
}

/* Booleans in RLE: a 4-byte length, then the hybrid with bit width 1. */
static int load_rle_bools(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    if (len < 4 || le32(p) > len - 4)
        return tarn_err_set(err, TARN_ECORRUPT, "RLE booleans: bad length");
    uint32_t *tmp = take(s, c, (size_t)c->nn * 4, err);
    c->vals.n = c->nn;
    c->vals.vals = tmp ? take(s, c, c->nn, err) : NULL;
    size_t used;
    const char *why = "";
    int rc = c->vals.vals ? 0 : err ? err->code : TARN_ENOMEM;
    if (rc == 0 && pq_rle_decode(p + 4, le32(p), 1, c->nn, tmp, &used, &why) != 0)
        rc = tarn_err_set(err, TARN_ECORRUPT, "RLE booleans: %s", why);
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++)
        c->vals.vals[i] = (uint8_t)tmp[i];
    give(s, c, tmp, (size_t)c->nn * 4);
    return rc;
}

/* Allocates the value arrays of c->vals for nn values. */
static int vals_alloc(pq_scan *s, col_state *c, tarn_err *err)
{
    decoded *d = &c->vals;
    d->n = c->nn;
    if (c->width) {
        d->vals = take(s, c, (size_t)d->n * c->width, err);
        return d->vals ? 0 : err ? err->code : TARN_ENOMEM;
    }
    d->sstart = take(s, c, (size_t)d->n * 4, err);
    d->slen = d->sstart ? take(s, c, (size_t)d->n * 4, err) : NULL;
    return d->slen ? 0 : err ? err->code : TARN_ENOMEM;
}

/* Decodes nn DELTA_BINARY_PACKED integers into a scratch array (charged to
 * the budget; the caller gives it back). */
static int delta_ints(pq_scan *s, col_state *c, const uint8_t *p, size_t len, int64_t **out,
                      size_t *used, tarn_err *err)
{
    const char *why = "";
    *out = take(s, c, (size_t)c->nn * 8, err);
    if (*out == NULL)
        return err ? err->code : TARN_ENOMEM;
    if (pq_delta_decode(p, len, c->nn, *out, used, &why) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "%s", why);
    return 0;
}

static int load_delta_ints(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    int64_t *tmp = NULL;
    size_t used;
    int rc = delta_ints(s, c, p, len, &tmp, &used, err);
    if (rc == 0)
        rc = vals_alloc(s, c, err);
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++) {
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)((uint64_t)tmp[i] >> (8 * k));
        /* Integers always convert; the return value only reports decimals. */
        (void)convert(c->ci, le, c->ci->physical == PQ_INT32 ? 4 : 8,
                      c->vals.vals + (size_t)i * c->width);
    }
    give(s, c, tmp, tmp ? (size_t)c->nn * 8 : 0);
    return rc;
}

/* Stores value i (bytes at base + off, len n) as a slice or a decimal. */
static int put_slice(col_state *c, uint32_t i, const uint8_t *base, size_t off, uint32_t n,
                     tarn_err *err)
{
    if (c->width == 0) {
        c->vals.sstart[i] = (uint32_t)off;
        c->vals.slen[i] = n;
        return 0;
    }
    if (convert(c->ci, base + off, n, c->vals.vals + (size_t)i * c->width) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "decimal %u has %u bytes", i, n);
    return 0;
}

/* DELTA_LENGTH_BYTE_ARRAY: DELTA_BINARY_PACKED lengths, then the bytes. */
static int load_delta_lengths(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    int64_t *lens = NULL;
    size_t used = 0;
    int rc = delta_ints(s, c, p, len, &lens, &used, err);
    if (rc == 0)
        rc = vals_alloc(s, c, err);
    c->vals.base = p;
    size_t pos = used;
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > len - pos)
            rc = tarn_err_set(err, TARN_ECORRUPT, "DELTA_LENGTH_BYTE_ARRAY value %u overruns", i);
        else
            rc = put_slice(c, i, p, pos, (uint32_t)lens[i], err);
        pos += rc == 0 ? (size_t)lens[i] : 0;
    }
    give(s, c, lens, lens ? (size_t)c->nn * 8 : 0);
    return rc;
}

/* Checks DELTA_BYTE_ARRAY prefix/suffix lengths against the data and
 * returns the total size of the rebuilt values in *total. */
static int delta_bytes_sizes(const col_state *c, const int64_t *pre, const int64_t *suf,
                             size_t avail, size_t *total, tarn_err *err)
{
    int64_t prev_len = 0;
    size_t sufsum = 0;
    *total = 0;
    for (uint32_t i = 0; i < c->nn; i++) {
        if (pre[i] < 0 || suf[i] < 0 || (uint64_t)suf[i] > avail - sufsum)
            return tarn_err_set(err, TARN_ECORRUPT, "DELTA_BYTE_ARRAY value %u overruns", i);
        if (pre[i] > prev_len)
            return tarn_err_set(err, TARN_ECORRUPT, "DELTA_BYTE_ARRAY prefix %u too long", i);
        sufsum += (size_t)suf[i];
        prev_len = pre[i] + suf[i];
        if ((uint64_t)prev_len > VEC_COL_BYTES_MAX - *total)
            return tarn_err_set(err, TARN_ECORRUPT, "DELTA_BYTE_ARRAY values too large");
        *total += (size_t)prev_len;
    }
    return 0;
}

/* DELTA_BYTE_ARRAY: prefix lengths (DELTA_BINARY_PACKED), then suffixes
 * (DELTA_LENGTH_BYTE_ARRAY); value i = the first pre[i] bytes of value i-1,
 * then suffix i. Values are rebuilt into an owned buffer whose size is
 * computed, and charged to the budget, before it is filled. */
static int load_delta_bytes(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    int64_t *pre = NULL, *suf = NULL;
    size_t used1 = 0, used2 = 0, total = 0;
    int rc = delta_ints(s, c, p, len, &pre, &used1, err);
    if (rc == 0)
        rc = delta_ints(s, c, p + used1, len - used1, &suf, &used2, err);
    size_t sp = used1 + used2;
    if (rc == 0)
        rc = delta_bytes_sizes(c, pre, suf, len - sp, &total, err);
    if (rc == 0)
        rc = vals_alloc(s, c, err);
    uint8_t *own = rc == 0 ? take(s, c, total, err) : NULL;
    if (rc == 0 && own == NULL)
        rc = err ? err->code : TARN_ENOMEM;
    if (rc == 0) {
        c->vals.own = own;
        c->vals.own_len = total;
        c->vals.base = own;
    }
    size_t out = 0, prev_off = 0;
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++) {
        memmove(own + out, own + prev_off, (size_t)pre[i]);
        memcpy(own + out + pre[i], p + sp, (size_t)suf[i]);
        sp += (size_t)suf[i];
        rc = put_slice(c, i, own, out, (uint32_t)(pre[i] + suf[i]), err);
        prev_off = out;
        out += (size_t)(pre[i] + suf[i]);
    }
    give(s, c, pre, pre ? (size_t)c->nn * 8 : 0);
    give(s, c, suf, suf ? (size_t)c->nn * 8 : 0);
    return rc;
}

/* BYTE_STREAM_SPLIT: byte k of value i is at p[k * nn + i]. */
static int load_split(pq_scan *s, col_state *c, const uint8_t *p, size_t len, tarn_err *err)
{
    uint32_t w = phys_width(c->ci);
    if ((uint64_t)c->nn * w > len)
        return tarn_err_set(err, TARN_ECORRUPT, "BYTE_STREAM_SPLIT data ends early");
    uint8_t *tmp = take(s, c, (size_t)c->nn * w, err);
    int rc = tmp ? vals_alloc(s, c, err) : err ? err->code : TARN_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++)
        for (uint32_t k = 0; k < w; k++)
            tmp[(size_t)i * w + k] = p[(size_t)k * c->nn + i];
    if (rc == 0 && c->width == 0) {
        /* FIXED_LEN_BYTE_ARRAY read as binary: the gathered bytes are the values. */
        c->vals.own = tmp;
        c->vals.own_len = (size_t)c->nn * w;
        c->vals.base = tmp;
        for (uint32_t i = 0; i < c->nn; i++)
            (void)put_slice(c, i, tmp, (size_t)i * w, w, err); /* slices cannot fail */
        return 0;
    }
    for (uint32_t i = 0; rc == 0 && i < c->nn; i++)
        if (convert(c->ci, tmp + (size_t)i * w, w, c->vals.vals + (size_t)i * c->width) != 0)
            rc = tarn_err_set(err, TARN_ECORRUPT, "BYTE_STREAM_SPLIT value %u", i);
    give(s, c, tmp, tmp ? (size_t)c->nn * w : 0);
    return rc;
}

static int load_values_as(pq_scan *s, col_state *c, int encoding, const uint8_t *p, size_t len,
                          tarn_err *err);

static int load_values(pq_scan *s, col_state *c, int encoding, const uint8_t *p, size_t len,
                       tarn_err *err)
{
    int rc = load_values_as(s, c, encoding, p, len, err);
    return rc == 0 && !c->is_dict ? check_utf8(c, &c->vals, err) : rc;
}

static int load_values_as(pq_scan *s, col_state *c, int encoding, const uint8_t *p, size_t len,
                          tarn_err *err)
{
    switch (encoding) {
    case PQ_ENC_PLAIN:
        c->vals.n = c->nn;
        if (same_layout(c->ci) && (uint64_t)c->nn * c->width <= len) {
            /* Zero copy: the values stay in the page buffer, which lives
             * exactly as long as c->vals (both go in page_free). Readers
             * copy them out with memcpy, so alignment does not matter. */
            c->vals.vals = (uint8_t *)(uintptr_t)p;
            c->vals.borrowed = true;
            return 0;
        }
        return plain_decode(s, c, p, len, &c->vals, err);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY:
        return load_indexes(s, c, p, len, err);
    case PQ_ENC_RLE:
        if (c->ci->physical == PQ_BOOLEAN)
            return load_rle_bools(s, c, p, len, err);
        break;
    case PQ_ENC_DELTA_BINARY_PACKED:
        if (c->ci->physical == PQ_INT32 || c->ci->physical == PQ_INT64)
            return load_delta_ints(s, c, p, len, err);
        break;
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (c->ci->physical == PQ_BYTE_ARRAY)
            return load_delta_lengths(s, c, p, len, err);
        break;
    case PQ_ENC_DELTA_BYTE_ARRAY:
        if (c->ci->physical == PQ_BYTE_ARRAY || c->ci->physical == PQ_FIXED_LEN_BYTE_ARRAY)
            return load_delta_bytes(s, c, p, len, err);
        break;
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (c->ci->physical != PQ_BOOLEAN && c->ci->physical != PQ_BYTE_ARRAY &&
            c->ci->physical != PQ_INT96)
            return load_split(s, c, p, len, err);
        break;
    default:
        break;
    }
    return tarn_err_set(err, TARN_ENOTSUP, "encoding %d not supported yet", encoding);
}

/* Data page v1: the whole page is compressed; levels are length-prefixed. */
static int load_v1(pq_scan *s, col_state *c, const pq_page_header *h, const uint8_t *src,
                   tarn_err *err)
{
    int rc = page_inflate(s, c, src, (size_t)h->compressed_size, (size_t)h->uncompressed_size,
                          c->codec, err);
    if (rc != 0)
        return rc;
    const uint8_t *p = c->page;
    size_t len = c->page_len;
    if (c->ci->max_rep > 0) {
        if (h->rep_encoding != PQ_ENC_RLE)
            return tarn_err_set(err, TARN_ENOTSUP, "repetition level encoding %d", h->rep_encoding);
        if (len < 4 || le32(p) > len - 4)
            return tarn_err_set(err, TARN_ECORRUPT, "repetition levels: bad length");
        uint32_t rlen = le32(p);
        if ((rc = load_reps(s, c, p + 4, rlen, err)) != 0)
            return rc;
        p += 4 + rlen;
        len -= 4 + (size_t)rlen;
    }
    if (c->ci->max_def > 0) {
        if (h->def_encoding != PQ_ENC_RLE)
            return tarn_err_set(err, TARN_ENOTSUP, "definition level encoding %d", h->def_encoding);
        if (len < 4 || le32(p) > len - 4)
            return tarn_err_set(err, TARN_ECORRUPT, "definition levels: bad length");
        uint32_t dlen = le32(p);
        if ((rc = load_defs(s, c, p + 4, dlen, err)) != 0)
            return rc;
        p += 4 + dlen;
        len -= 4 + (size_t)dlen;
    } else {
        c->nn = c->n;
    }
    return load_values(s, c, h->encoding, p, len, err);
}

/* Data page v2: levels are stored first and never compressed. */
static int load_v2(pq_scan *s, col_state *c, const pq_page_header *h, const uint8_t *src,
                   tarn_err *err)
{
    size_t lv = (size_t)h->def_len + (size_t)h->rep_len;
    if (lv > (size_t)h->compressed_size || lv > (size_t)h->uncompressed_size)
        return tarn_err_set(err, TARN_ECORRUPT, "level lengths exceed the page");
    int rc = c->ci->max_rep > 0 ? load_reps(s, c, src, (size_t)h->rep_len, err) : 0;
    if (rc == 0)
        rc = load_defs(s, c, src + h->rep_len, (size_t)h->def_len, err);
    if (rc != 0)
        return rc;
    if (h->num_nulls != (int32_t)(c->n - c->nn))
        return tarn_err_set(err, TARN_ECORRUPT, "num_nulls %d, levels say %u", h->num_nulls,
                            c->n - c->nn);
    int codec = h->is_compressed ? c->codec : PQ_CODEC_UNCOMPRESSED;
    rc = page_inflate(s, c, src + lv, (size_t)h->compressed_size - lv,
                      (size_t)h->uncompressed_size - lv, codec, err);
    if (rc == 0)
        rc = load_values(s, c, h->encoding, c->page, c->page_len, err);
    return rc;
}

/* Loads the next data page into c (dictionary pages on the way are kept),
 * after checking its header against the chunk. */
static int next_page(pq_scan *s, col_state *c, tarn_err *err)
{
    for (;;) {
        page_free(s, c); /* also after a page of no values, which loops */
        if (c->values_left <= 0)
            return tarn_err_set(err, TARN_ECORRUPT, "column chunk has fewer values than rows");
        if (c->chunk_pos >= c->chunk_len)
            return tarn_err_set(err, TARN_ECORRUPT, "column chunk ends after %u pages", c->page_no);
        c->page_offset = c->chunk_offset + c->chunk_pos;
        c->page_no++;
        pq_page_header h;
        size_t hlen;
        int rc = pq_page_header_decode(c->chunk + c->chunk_pos, c->chunk_len - c->chunk_pos, &h,
                                       &hlen, err);
        if (rc != 0)
            return rc;
        const uint8_t *src = c->chunk + c->chunk_pos + hlen;
        if ((size_t)h.compressed_size > c->chunk_len - c->chunk_pos - hlen)
            return tarn_err_set(err, TARN_ECORRUPT, "page of %d bytes overruns the chunk",
                                h.compressed_size);
        c->chunk_pos += hlen + (size_t)h.compressed_size;
        if (h.has_crc && pq_crc32(src, (size_t)h.compressed_size) != h.crc)
            return tarn_err_set(err, TARN_ECORRUPT, "page CRC mismatch");
        if (h.type == PQ_PAGE_DICTIONARY) {
            if ((rc = load_dict(s, c, &h, src, err)) != 0)
                return rc;
            continue;
        }
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2)
            continue; /* index pages and unknown types carry no values */
        if (h.num_values > c->values_left)
            return tarn_err_set(err, TARN_ECORRUPT, "page has %d values, chunk has %lld left",
                                h.num_values, (long long)c->values_left);
        c->n = (uint32_t)h.num_values;
        c->values_left -= h.num_values;
        rc = h.type == PQ_PAGE_DATA ? load_v1(s, c, &h, src, err) : load_v2(s, c, &h, src, err);
        if (rc != 0 || c->n > 0)
            return rc;
    }
}

/* Reads column chunk `c` of row group `g` with one ranged read. */
static int open_chunk(pq_scan *s, col_state *c, const pq_row_group *g, uint32_t leaf, tarn_err *err)
{
    const pq_column_chunk *cc = &g->columns[leaf];
    const pq_column_meta *m = &cc->meta;
    if (!cc->has_meta || cc->file_path != NULL)
        return tarn_err_set(err, TARN_ENOTSUP, "column metadata missing or in another file");
    if (m->type != c->ci->physical)
        return tarn_err_set(err, TARN_ECORRUPT, "chunk type %d, schema type %d", m->type,
                            c->ci->physical);
    /* Flat: one value per row; lists: at least one level per row. */
    if (c->ci->max_rep == 0 ? m->num_values != g->num_rows : m->num_values < g->num_rows)
        return tarn_err_set(err, TARN_ECORRUPT, "chunk has %lld values for %lld rows",
                            (long long)m->num_values, (long long)g->num_rows);
    int64_t start = m->data_page_offset;
    if (m->dictionary_page_offset > 0 && m->dictionary_page_offset < start)
        start = m->dictionary_page_offset;
    uint64_t size = s->f->src.size;
    if (start < 4 || m->total_compressed < 0 || (uint64_t)start > size ||
        (uint64_t)m->total_compressed > size - (uint64_t)start)
        return tarn_err_set(err, TARN_ECORRUPT, "chunk range %lld+%lld outside the file",
                            (long long)start, (long long)m->total_compressed);
    c->width = vec_type_width(c->ci->type.id);
    c->codec = m->codec;
    c->values_left = m->num_values;
    c->chunk_offset = (uint64_t)start;
    c->chunk_len = (size_t)m->total_compressed;
    if (s->f->bytes != NULL) {
        /* The file is in memory (pq_file_open_bytes): read it in place. */
        c->chunk = (uint8_t *)(uintptr_t)(s->f->bytes + start);
        c->chunk_borrowed = true;
        return 0;
    }
    c->chunk = take(s, c, c->chunk_len, err);
    if (c->chunk == NULL)
        return err ? err->code : TARN_ENOMEM;
    return s->f->src.read(s->f->src.ctx, c->chunk_offset, c->chunk_len, c->chunk, err);
}

/* Copies the string of value v (page or dictionary) to the flat column. */
static int append_value_str(col_state *c, vec_col *out, uint32_t v)
{
    if (!c->is_dict)
        return vec_col_append_str(out, c->vals.base + c->vals.sstart[v], c->vals.slen[v]);
    const vec_dict *d = c->sdict;
    uint32_t k = c->idx[v];
    return vec_col_append_str(out, d->bytes + d->offsets[k], d->offsets[k + 1] - d->offsets[k]);
}

/* Appends one row (value or null) of the current page to `out`. */
static int append_row(col_state *c, vec_col *out, bool valid)
{
    uint32_t row = out->len;
    int rc = valid ? 0 : vec_col_set_null(out, row);
    if (rc != 0)
        return rc;
    if (c->width) {
        uint8_t *dst = (uint8_t *)out->data + (size_t)row * c->width;
        if (!valid)
            memset(dst, 0, c->width);
        else if (c->is_dict)
            memcpy(dst, c->fdict.vals + (size_t)c->idx[c->vpos] * c->width, c->width);
        else
            memcpy(dst, c->vals.vals + (size_t)c->vpos * c->width, c->width);
        out->len++;
    } else if (out->dict) {
        out->codes[row] = valid ? c->idx[c->vpos] : 0;
        out->len++;
    } else {
        rc = valid ? append_value_str(c, out, c->vpos) : vec_col_append_str(out, "", 0);
    }
    c->vpos += valid;
    return rc;
}

/* Copies dictionary entries idx[0..n) of width w to dst. The widths of
 * the common types get a loop of their own: a memcpy call of a runtime
 * width per value cost more than the rest of the gather. */
static void dict_gather(uint8_t *dst, const uint8_t *dict, const uint32_t *idx, uint32_t n,
                        size_t w)
{
    if (w == 8) {
        for (uint32_t i = 0; i < n; i++)
            memcpy(dst + 8 * (size_t)i, dict + 8 * (size_t)idx[i], 8);
    } else if (w == 4) {
        for (uint32_t i = 0; i < n; i++)
            memcpy(dst + 4 * (size_t)i, dict + 4 * (size_t)idx[i], 4);
    } else if (w == 16) {
        for (uint32_t i = 0; i < n; i++)
            memcpy(dst + 16 * (size_t)i, dict + 16 * (size_t)idx[i], 16);
    } else {
        for (uint32_t i = 0; i < n; i++)
            memcpy(dst + w * i, dict + (size_t)idx[i] * w, w);
    }
}

/* Fixed-width columns: copies the run of valid rows at the page position
 * in one go (plain) or by index (dictionary); stops at the first null,
 * which the caller's row-by-row loop takes. */
static void fill_fixed(col_state *c, vec_col *out, uint32_t target)
{
    for (;;) {
        uint32_t run = 0,
                 max = target - out->len < c->n - c->pos ? target - out->len : c->n - c->pos;
        if (c->defs == NULL)
            run = max;
        else
            while (run < max && c->defs[c->pos + run] == c->ci->max_def)
                run++;
        if (run == 0)
            return;
        size_t w = c->width;
        uint8_t *dst = (uint8_t *)out->data + (size_t)out->len * w;
        if (!c->is_dict)
            memcpy(dst, c->vals.vals + (size_t)c->vpos * w, (size_t)run * w);
        else
            dict_gather(dst, c->fdict.vals, c->idx + c->vpos, run, w);
        out->len += run;
        c->vpos += run;
        c->pos += run;
        if (c->defs == NULL || c->pos == c->n || out->len == target)
            return;
        /* A null follows: take the run of nulls here as well. */
        while (out->len < target && c->pos < c->n && c->defs[c->pos] != c->ci->max_def) {
            if (vec_col_set_null(out, out->len) != 0)
                return; /* no memory: the caller's slow path reports it */
            memset((uint8_t *)out->data + (size_t)out->len * w, 0, w);
            out->len++;
            c->pos++;
        }
    }
}

/* Strings kept as codes, on a page without nulls: the page's dictionary
 * indexes are the codes (the batch column shares the chunk's dictionary). */
static void fill_codes(col_state *c, vec_col *out, uint32_t target)
{
    uint32_t run = target - out->len < c->n - c->pos ? target - out->len : c->n - c->pos;
    memcpy(out->codes + out->len, c->idx + c->vpos, (size_t)run * 4);
    out->len += run;
    c->vpos += run;
    c->pos += run;
}

/* Makes room for one more row in e, a list's child column. */
static int child_room(vec_col *e)
{
    if (e->len < e->cap)
        return 0;
    uint32_t cap = e->cap < VEC_ROWS_MAX / 2 ? e->cap * 2 : VEC_ROWS_MAX;
    int rc = vec_col_grow(e, cap);
    return rc == 0 && e->len >= e->cap ? TARN_ETOOBIG : rc;
}

/* Ends the open lists at depths >= from, innermost first. */
static int lists_close(col_state *c, vec_col **lv, int from)
{
    for (int i = c->ci->max_rep - 1; i >= from; i--) {
        if (!c->open[i])
            continue;
        c->open[i] = false;
        int rc = i > 0 ? child_room(lv[i]) : 0;
        if (rc == 0)
            rc = vec_col_list_end(lv[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Appends to lv[j..] what level (d) says, from depth j down: at each list
 * depth i, d < L[i] is a null list, d == L[i] an empty one, more an open
 * list whose next element comes from depth i + 1; at the leaf depth, a
 * value (d == D) or a null. */
static int level_put(col_state *c, vec_col **lv, int j, int d)
{
    const int K = c->ci->max_rep, D = c->ci->max_def;
    for (;; j++) {
        int rc = j > 0 ? child_room(lv[j]) : 0;
        if (rc != 0)
            return rc;
        if (j == K)
            return append_row(c, lv[j], d == D);
        int L = c->ci->list_defs[j];
        if (d > L) {
            c->open[j] = true;
            continue;
        }
        if (d < L && (rc = vec_col_set_null(lv[j], lv[j]->len)) != 0)
            return rc;
        return vec_col_list_end(lv[j]);
    }
}

/* Lists, nested max_rep deep (Dremel record assembly of one column): a row
 * starts at each repetition level 0, and a level with repetition r > 0 is
 * a new element of the open list at depth r - 1 (the lists below it end).
 * A batch ends before the level that would start row `rows` + 1; the last
 * row of a chunk ends with the chunk. */
static int fill_list(pq_scan *s, col_state *c, vec_col *out, uint32_t rows, tarn_err *err)
{
    vec_col *lv[VEC_LIST_DEPTH_MAX + 1];
    lv[0] = out;
    for (int i = 0; i < c->ci->max_rep; i++)
        lv[i + 1] = lv[i]->elems;
    uint32_t started = 0;
    for (;;) {
        int rc = 0;
        if (c->pos == c->n && c->values_left == 0) {
            if ((rc = lists_close(c, lv, 0)) != 0)
                return tarn_err_set(err, rc, "appending to the batch");
            if (started < rows)
                return tarn_err_set(err, TARN_ECORRUPT,
                                    "column chunk has fewer rows than its row group");
            return 0;
        }
        if (c->pos == c->n && (rc = next_page(s, c, err)) != 0)
            return rc;
        int r = c->reps[c->pos], d = c->defs ? c->defs[c->pos] : c->ci->max_def;
        if (r > 0 && (!c->open[r - 1] || d <= c->ci->list_defs[r - 1]))
            return tarn_err_set(err, TARN_ECORRUPT, "level %u: repetition without an element",
                                c->pos);
        if ((rc = lists_close(c, lv, r)) != 0)
            return tarn_err_set(err, rc, "appending to the batch");
        if (r == 0 && started++ == rows)
            return 0; /* this level starts the next batch's first row */
        if ((rc = level_put(c, lv, r, d)) != 0)
            return tarn_err_set(err, rc, "appending list elements");
        c->pos++;
    }
}

/* Appends `rows` rows of column c to `out`, loading pages as needed. */
static int fill_col(pq_scan *s, col_state *c, vec_col *out, uint32_t rows, tarn_err *err)
{
    if (c->ci->type.list)
        return fill_list(s, c, out, rows, err);
    uint32_t target = out->len + rows;
    while (out->len < target) {
        int rc = c->pos < c->n ? 0 : next_page(s, c, err);
        if (rc != 0)
            return rc;
        if (c->width == 0) {
            /* Keep codes when the page is dictionary encoded and the batch
             * column is still empty; leave dictionary form on a plain page. */
            if (out->len == 0 && out->dict == NULL && c->is_dict && s->keep_dict)
                rc = vec_col_use_dict(out, c->sdict);
            else if (out->dict != NULL && !c->is_dict)
                rc = vec_col_flatten(out);
        }
        if (rc == 0 && c->width)
            fill_fixed(c, out, target);
        else if (rc == 0 && out->dict != NULL && c->defs == NULL)
            fill_codes(c, out, target);
        while (rc == 0 && c->pos < c->n && out->len < target) {
            bool valid = c->defs == NULL || c->defs[c->pos] == c->ci->max_def;
            rc = append_row(c, out, valid);
            c->pos++;
        }
        if (rc != 0)
            return tarn_err_set(err, rc, "appending to the batch");
    }
    return 0;
}

/* Whether a leaf's min/max statistics follow its vec type's order. */
static bool stats_ordered(const pq_column_info *ci, const pq_stats *st)
{
    vec_type t = ci->type.id;
    if (ci->unsupported || t == VEC_F32 || t == VEC_F64 || ci->physical == PQ_INT96)
        return false; /* NaN is left out of min/max; INT96 order is undefined */
    if (!st->legacy)
        return true;
    /* The deprecated fields compare as signed numbers or signed bytes. */
    bool is_unsigned = t == VEC_U8 || t == VEC_U16 || t == VEC_U32 || t == VEC_U64;
    return !is_unsigned && ci->physical != PQ_BYTE_ARRAY && ci->physical != PQ_FIXED_LEN_BYTE_ARRAY;
}

/* False when statistics `st` of `num_values` values (a column chunk's or
 * a data page's) prove that none of them satisfies `p`. */
static bool stats_may_match(const pq_predicate *p, const pq_column_info *ci, const pq_stats *st,
                            int64_t num_values)
{
    bool all_null = st->has_null_count && st->null_count == num_values;
    if (p->op == PQ_OP_IS_NULL)
        return !(st->has_null_count && st->null_count == 0);
    if (p->op == PQ_OP_IS_NOT_NULL || all_null)
        return !all_null;
    if (!st->has_min || !st->has_max || !stats_ordered(ci, st))
        return true;
    vec_col mm;
    if (vec_col_init(&mm, ci->type, 2) != 0)
        return true; /* no memory: keeping the row group is always correct */
    bool may = true;
    if (pq_stat_to_vec(ci, st->min, st->min_len, &mm) == 0 &&
        pq_stat_to_vec(ci, st->max, st->max_len, &mm) == 0) {
        int vs_min = vec_value_cmp(p->value, 0, &mm, 0);
        int vs_max = vec_value_cmp(p->value, 0, &mm, 1);
        switch (p->op) {
        case PQ_OP_EQ:
            may = vs_min >= 0 && vs_max <= 0;
            break;
        case PQ_OP_LT:
            may = vs_min > 0;
            break; /* some x < v needs min < v */
        case PQ_OP_LE:
            may = vs_min >= 0;
            break;
        case PQ_OP_GT:
            may = vs_max < 0;
            break; /* some x > v needs max > v */
        case PQ_OP_GE:
            may = vs_max <= 0;
            break;
        default:
            break;
        }
    }
    vec_col_free(&mm);
    return may;
}

static bool pred_may_match(const pq_predicate *p, const pq_column_info *ci, const pq_column_meta *m)
{
    return stats_may_match(p, ci, &m->stats, m->num_values);
}

static bool rg_may_match(const pq_scan *s, const pq_row_group *g)
{
    for (uint32_t i = 0; i < s->npreds; i++) {
        const pq_predicate *p = &s->preds[i];
        const pq_column_chunk *cc = &g->columns[p->column];
        if (cc->has_meta && !pred_may_match(p, &s->f->cols[p->column], &cc->meta))
            return false;
    }
    return true;
}

/* Checks the predicates against the file's columns. */
static int check_preds(const pq_file *f, const pq_scan_opts *o, tarn_err *err)
{
    for (uint32_t i = 0; i < o->npreds; i++) {
        const pq_predicate *p = &o->preds[i];
        if (p->column >= f->ncols || (unsigned)p->op > PQ_OP_IS_NOT_NULL)
            return tarn_err_set(err, TARN_EINVAL, "predicate %u: bad column or operator", i);
        if (f->cols[p->column].type.list)
            return tarn_err_set(err, TARN_EINVAL, "predicate %u: list column", i);
        if (p->op >= PQ_OP_IS_NULL)
            continue;
        const vec_col *v = p->value;
        if (v == NULL || v->len < 1 || !vec_col_is_valid(v, 0) ||
            v->type.id != f->cols[p->column].type.id)
            return tarn_err_set(err, TARN_EINVAL, "predicate %u: value must be row 0 of a %s", i,
                                vec_type_name(f->cols[p->column].type.id));
    }
    return 0;
}

/* ---- page skipping ----
 *
 * Within a row group that its statistics keep, the data pages of a
 * predicated column carry statistics of their own (DataPageHeader /
 * DataPageHeaderV2 `statistics`; v2's num_nulls too). A page whose
 * statistics prove that no value satisfies a predicate excludes its rows:
 * plan_page_skips walks the page headers of each predicated column (the
 * chunk is in memory already; headers only, nothing decompressed) and
 * collects those rows as ranges. The scan then returns no row of a range:
 * every projected column passes over its rows, a whole page at a time
 * without decoding it when the page lies inside the range, by advancing
 * its page position otherwise (pages of different columns do not align).
 * Only when every projected column and the predicated ones are flat: a
 * flat column's page has one value per row, so its value count is its row
 * count; in a list column rows and values differ and pages are not skipped.
 * Predicates on columns that are not projected skip row groups only. */

/* Appends rows [start, end) to the scan's skip ranges. */
static int skip_add(pq_scan *s, int64_t start, int64_t end)
{
    if (s->nskip == s->skip_cap) {
        uint32_t cap = s->skip_cap ? s->skip_cap * 2 : 16;
        row_range *r = tarn_realloc(s->skip, (size_t)cap * sizeof(row_range));
        if (r == NULL)
            return TARN_ENOMEM;
        s->skip = r;
        s->skip_cap = cap;
    }
    s->skip[s->nskip++] = (row_range){start, end};
    return 0;
}

static int range_cmp(const void *a, const void *b)
{
    const row_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts the ranges and merges those that overlap or touch. */
static void skip_normalize(pq_scan *s)
{
    if (s->nskip == 0)
        return;
    qsort(s->skip, s->nskip, sizeof(row_range), range_cmp);
    uint32_t k = 0;
    for (uint32_t i = 1; i < s->nskip; i++) {
        if (s->skip[i].start <= s->skip[k].end) {
            if (s->skip[i].end > s->skip[k].end)
                s->skip[k].end = s->skip[i].end;
        } else {
            s->skip[++k] = s->skip[i];
        }
    }
    s->nskip = k + 1;
}

/* Adds the rows of the pages of column c that predicate p excludes. A
 * header that does not decode or fit ends the walk: those pages are kept,
 * and reading them reports the damage. */
static int plan_column(pq_scan *s, const col_state *c, const pq_predicate *p)
{
    size_t pos = 0;
    int64_t row = 0;
    while (pos < c->chunk_len && row < s->rg_rows) {
        pq_page_header h;
        size_t hlen;
        if (pq_page_header_decode(c->chunk + pos, c->chunk_len - pos, &h, &hlen, NULL) != 0 ||
            (size_t)h.compressed_size > c->chunk_len - pos - hlen)
            return 0;
        pos += hlen + (size_t)h.compressed_size;
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2)
            continue;
        int64_t end = row + h.num_values < s->rg_rows ? row + h.num_values : s->rg_rows;
        pq_stats st = h.stats;
        if (!h.has_stats)
            memset(&st, 0, sizeof(st));
        if (h.type == PQ_PAGE_DATA_V2 && !st.has_null_count) {
            st.has_null_count = true; /* v2 headers count their nulls */
            st.null_count = h.num_nulls;
        }
        if (end > row && (h.has_stats || h.type == PQ_PAGE_DATA_V2) &&
            !stats_may_match(p, c->ci, &st, h.num_values)) {
            int rc = skip_add(s, row, end);
            if (rc != 0)
                return rc;
        }
        row = end;
    }
    return 0;
}

/* Plans the skip ranges of the row group just opened. */
static int plan_page_skips(pq_scan *s, tarn_err *err)
{
    s->nskip = s->skip_i = 0;
    if (!s->page_skip)
        return 0;
    for (uint32_t i = 0; i < s->npreds; i++)
        for (uint32_t k = 0; k < s->ncols; k++)
            if (s->leaf[k] == s->preds[i].column) {
                if (plan_column(s, &s->cols[k], &s->preds[i]) != 0)
                    return tarn_err_set(err, TARN_ENOMEM, "page skip ranges");
                break;
            }
    skip_normalize(s);
    return 0;
}

/* Passes over the next page of c without decoding it when it is a data
 * page of at most `rows` rows (dictionary pages on the way are loaded,
 * other pages passed). *done gets the rows passed, 0 when the next data
 * page is to be loaded instead (next_page does that and reports errors). */
static int try_skip_page(pq_scan *s, col_state *c, int64_t rows, int64_t *done, tarn_err *err)
{
    *done = 0;
    page_free(s, c);
    while (c->chunk_pos < c->chunk_len && c->values_left > 0) {
        pq_page_header h;
        size_t hlen;
        if (pq_page_header_decode(c->chunk + c->chunk_pos, c->chunk_len - c->chunk_pos, &h, &hlen,
                                  NULL) != 0 ||
            (size_t)h.compressed_size > c->chunk_len - c->chunk_pos - hlen)
            return 0;
        bool data = h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2;
        if (data && (h.num_values > rows || h.num_values > c->values_left))
            return 0;
        const uint8_t *src = c->chunk + c->chunk_pos + hlen;
        if (h.type == PQ_PAGE_DICTIONARY) {
            c->page_offset = c->chunk_offset + c->chunk_pos;
            c->page_no++;
            if (h.has_crc && pq_crc32(src, (size_t)h.compressed_size) != h.crc)
                return tarn_err_set(err, TARN_ECORRUPT, "page CRC mismatch");
            int rc = load_dict(s, c, &h, src, err);
            if (rc != 0)
                return rc;
        }
        c->chunk_pos += hlen + (size_t)h.compressed_size;
        if (data) {
            c->page_no++;
            c->values_left -= h.num_values;
            s->pages_skipped++;
            *done = h.num_values;
            return 0;
        }
    }
    return 0;
}

/* Passes over the next `rows` rows of flat column c. */
static int col_skip_rows(pq_scan *s, col_state *c, int64_t rows, tarn_err *err)
{
    TARN_ASSERT(c->ci->max_rep == 0);
    while (rows > 0) {
        if (c->pos < c->n) {
            uint32_t m = rows < (int64_t)(c->n - c->pos) ? (uint32_t)rows : c->n - c->pos;
            uint32_t valid = m;
            if (c->defs != NULL) {
                valid = 0;
                for (uint32_t i = c->pos; i < c->pos + m; i++)
                    valid += c->defs[i] == c->ci->max_def;
            }
            c->pos += m;
            c->vpos += valid;
            rows -= m;
            continue;
        }
        int64_t done;
        int rc = try_skip_page(s, c, rows, &done, err);
        if (rc == 0 && done == 0)
            rc = next_page(s, c, err);
        if (rc != 0)
            return rc;
        rows -= done;
    }
    return 0;
}

/* ---- the scan ---- */

int pq_scan_open(pq_file *f, const pq_scan_opts *opts, pq_scan **out, tarn_err *err)
{
    static const pq_scan_opts defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    *out = NULL;
    uint32_t ncols = opts->columns ? opts->ncols : f->ncols;
    if (opts->batch_rows > VEC_ROWS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "batch_rows %u above %u", opts->batch_rows,
                            VEC_ROWS_MAX);
    for (uint32_t i = 0; opts->columns && i < ncols; i++)
        if (opts->columns[i] >= f->ncols)
            return tarn_err_set(err, TARN_EINVAL, "column %u of %u", opts->columns[i], f->ncols);
    int prc = check_preds(f, opts, err);
    if (prc != 0)
        return prc;
    uint32_t nrg = f->meta.nrow_groups;
    if (opts->rg_first > nrg || opts->rg_count > nrg - opts->rg_first)
        return tarn_err_set(err, TARN_EINVAL, "row groups [%u, +%u) outside the file's %u",
                            opts->rg_first, opts->rg_count, nrg);
    pq_scan *s = tarn_calloc(1, sizeof(*s));
    if (s == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan");
    s->leaf = tarn_calloc(ncols ? ncols : 1, sizeof(uint32_t));
    s->cols = tarn_calloc(ncols ? ncols : 1, sizeof(col_state));
    if (s->leaf == NULL || s->cols == NULL) {
        pq_scan_close(s);
        return tarn_err_set(err, TARN_ENOMEM, "scan");
    }
    s->f = f;
    s->ncols = ncols;
    s->batch_rows = opts->batch_rows ? opts->batch_rows : VEC_BATCH_ROWS;
    s->budget = opts->mem_budget_bytes ? opts->mem_budget_bytes : PQ_SCAN_BUDGET_DEFAULT;
    s->keep_dict = opts->keep_dict;
    s->preds = opts->preds;
    s->npreds = opts->npreds;
    s->rg = opts->rg_first;
    s->rg_end = opts->rg_count ? opts->rg_first + opts->rg_count : nrg;
    s->page_skip = opts->npreds > 0 && !opts->no_page_skip;
    for (uint32_t i = 0; i < ncols; i++) {
        s->leaf[i] = opts->columns ? opts->columns[i] : i;
        s->cols[i].ci = &f->cols[s->leaf[i]];
        s->page_skip &= s->cols[i].ci->max_rep == 0;
        if (s->cols[i].ci->unsupported) {
            int rc = tarn_err_set(err, s->cols[i].ci->unsupported,
                                  "parquet file %s: column '%s': type not supported yet", f->name,
                                  s->cols[i].ci->name);
            pq_scan_close(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int pq_scan_batch_init(const pq_scan *s, vec_batch *b)
{
    vec_type_info *types = tarn_calloc(s->ncols ? s->ncols : 1, sizeof(vec_type_info));
    if (types == NULL)
        return TARN_ENOMEM;
    for (uint32_t i = 0; i < s->ncols; i++)
        types[i] = s->cols[i].ci->type;
    int rc = vec_batch_init(b, types, s->ncols, s->batch_rows);
    tarn_free(types);
    return rc;
}

/* Moves to the next row group with rows, opening its column chunks. */
static int next_row_group(pq_scan *s, tarn_err *err, uint32_t *bad_col)
{
    const pq_meta *m = &s->f->meta;
    for (uint32_t i = 0; i < s->ncols; i++)
        col_free(s, &s->cols[i]);
    if (s->rg_open)
        s->rg++;
    s->rg_open = false;
    for (; s->rg < s->rg_end; s->rg++) {
        const pq_row_group *g = &m->row_groups[s->rg];
        if (g->num_rows != 0 && (g->ncols != s->f->ncols || rg_may_match(s, g)))
            break; /* to read, or malformed: reported below */
        s->skipped += g->num_rows != 0;
    }
    if (s->rg >= s->rg_end)
        return 0;
    const pq_row_group *g = &m->row_groups[s->rg];
    if (g->num_rows < 0 || g->ncols != s->f->ncols)
        return tarn_err_set(err, TARN_ECORRUPT, "row group has %u columns, schema has %u", g->ncols,
                            s->f->ncols);
    s->rg_open = true;
    s->rg_rows_left = s->rg_rows = g->num_rows;
    s->nskip = s->skip_i = 0;
    for (uint32_t i = 0; i < s->ncols; i++) {
        *bad_col = i;
        int rc = open_chunk(s, &s->cols[i], g, s->leaf[i], err);
        if (rc != 0)
            return rc;
    }
    *bad_col = UINT32_MAX;
    return plan_page_skips(s, err);
}

/* At a skip range: passes over its rows in every column (the end of the
 * row group needs no passing). *skipped says whether it did. */
static int skip_range(pq_scan *s, bool *skipped, uint32_t *bad_col, tarn_err *err)
{
    int64_t row = s->rg_rows - s->rg_rows_left;
    while (s->skip_i < s->nskip && s->skip[s->skip_i].end <= row)
        s->skip_i++;
    *skipped = s->skip_i < s->nskip && s->skip[s->skip_i].start <= row;
    if (!*skipped)
        return 0;
    int64_t rows = s->skip[s->skip_i].end - row;
    for (uint32_t i = 0; i < s->ncols; i++) {
        *bad_col = i;
        int rc = col_skip_rows(s, &s->cols[i], rows, err);
        if (rc != 0)
            return rc;
    }
    s->rg_rows_left -= rows;
    s->rows_skipped += (uint64_t)rows;
    return 0;
}

static int scan_fail(pq_scan *s, int rc, uint32_t col, tarn_err *err)
{
    const col_state *c = col < s->ncols ? &s->cols[col] : NULL;
    s->failed = rc;
    if (c && c->page_no > 0)
        return tarn_err_wrap(
            err, rc, "parquet file %s: row group %u, column '%s', page %u at offset %llu",
            s->f->name, s->rg, c->ci->name, c->page_no - 1, (unsigned long long)c->page_offset);
    if (c)
        return tarn_err_wrap(err, rc, "parquet file %s: row group %u, column '%s'", s->f->name,
                             s->rg, c->ci->name);
    return tarn_err_wrap(err, rc, "parquet file %s: row group %u", s->f->name, s->rg);
}

int pq_scan_next(pq_scan *s, vec_batch *b, tarn_err *err)
{
    if (s->failed)
        return tarn_err_set(err, TARN_ESTATE, "scan failed earlier");
    vec_batch_reset(b);
    TARN_ASSERT(b->ncols == s->ncols);
    uint32_t col = UINT32_MAX;
    for (;;) {
        int rc = 0;
        bool skipped = false;
        if (!s->rg_open || s->rg_rows_left == 0)
            rc = next_row_group(s, err, &col);
        if (rc == 0 && s->rg_open)
            rc = skip_range(s, &skipped, &col, err);
        if (rc != 0)
            return scan_fail(s, rc, col, err);
        if (!s->rg_open)
            return 0; /* end of the file */
        if (!skipped && s->rg_rows_left > 0)
            break;
    }
    int64_t avail = s->rg_rows_left;
    if (s->skip_i < s->nskip) /* a batch ends where a skip range starts */
        avail = s->skip[s->skip_i].start - (s->rg_rows - s->rg_rows_left);
    uint32_t rows = avail < (int64_t)b->cap ? (uint32_t)avail : b->cap;
    for (uint32_t i = 0; i < s->ncols; i++) {
        int rc = fill_col(s, &s->cols[i], &b->cols[i], rows, err);
        if (rc != 0)
            return scan_fail(s, rc, i, err);
        TARN_DASSERT(vec_col_check(&b->cols[i]));
    }
    b->len = rows;
    s->rg_rows_left -= rows;
    return 0;
}

void pq_scan_close(pq_scan *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; s->cols && i < s->ncols; i++) {
        col_state *c = &s->cols[i];
        col_free(s, c);
        scratch_free(s, c, &c->page_buf);
        scratch_free(s, c, &c->defs_buf);
        scratch_free(s, c, &c->idx_buf);
    }
    TARN_ASSERT(s->mem_used == 0);
    tarn_free(s->skip);
    tarn_free(s->cols);
    tarn_free(s->leaf);
    tarn_free(s);
}

int pq_stat_to_vec(const pq_column_info *ci, const uint8_t *p, uint32_t len, vec_col *out)
{
    if (out->type.list || out->type.id != ci->type.id)
        return TARN_EINVAL;
    if (out->len >= out->cap)
        return TARN_ERANGE;
    size_t w = vec_type_width(ci->type.id);
    if (w == 0)
        return vec_col_append_str(out, p, len);
    if (ci->physical == PQ_BOOLEAN) {
        if (len < 1)
            return TARN_ECORRUPT;
        ((uint8_t *)out->data)[out->len++] = p[0] & 1;
        return 0;
    }
    uint32_t pw = phys_width(ci);
    if (ci->physical != PQ_BYTE_ARRAY && len != pw)
        return TARN_ECORRUPT;
    if (convert(ci, p, len, (uint8_t *)out->data + (size_t)out->len * w) != 0)
        return TARN_ECORRUPT;
    out->len++;
    return 0;
}

uint32_t pq_file_nrow_groups(const pq_file *f)
{
    return f->meta.nrow_groups;
}

int64_t pq_file_row_group_rows(const pq_file *f, uint32_t rg)
{
    return rg < f->meta.nrow_groups ? f->meta.row_groups[rg].num_rows : 0;
}

int pq_file_column_stats(const pq_file *f, uint32_t rg, uint32_t leaf, vec_col *min_out,
                         vec_col *max_out, pq_rg_stats *out)
{
    *out = (pq_rg_stats){.null_count = -1};
    if (rg >= f->meta.nrow_groups || leaf >= f->ncols || f->meta.row_groups[rg].ncols != f->ncols)
        return TARN_EINVAL;
    const pq_column_chunk *cc = &f->meta.row_groups[rg].columns[leaf];
    const pq_column_info *ci = &f->cols[leaf];
    if (!cc->has_meta)
        return 0;
    const pq_stats *st = &cc->meta.stats;
    out->num_values = cc->meta.num_values;
    if (st->has_null_count)
        out->null_count = st->null_count;
    if (!st->has_min || !st->has_max || !stats_ordered(ci, st))
        return 0;
    if (min_out->len >= min_out->cap || max_out->len >= max_out->cap)
        return TARN_ERANGE;
    uint32_t len = min_out->len;
    size_t bytes_len = min_out->bytes_len;
    int rc = pq_stat_to_vec(ci, st->min, st->min_len, min_out);
    if (rc == 0 && (rc = pq_stat_to_vec(ci, st->max, st->max_len, max_out)) != 0) {
        min_out->len = len; /* leave both outputs as they were */
        min_out->bytes_len = bytes_len;
    }
    out->min_max = rc == 0;
    return rc;
}

uint32_t pq_scan_skipped_row_groups(const pq_scan *s)
{
    return s->skipped;
}

uint64_t pq_scan_skipped_pages(const pq_scan *s)
{
    return s->pages_skipped;
}

uint64_t pq_scan_skipped_rows(const pq_scan *s)
{
    return s->rows_skipped;
}
