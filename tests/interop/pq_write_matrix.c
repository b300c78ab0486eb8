/*
 * tests/interop/pq_write_matrix.c OUT_DIR: Tarn's writer writes a matrix of
 * files (every vec type x codec snappy/zstd/uncompressed x dictionary on/off
 * x nulls or not x default or small page and row group sizes). Next to each
 * FILE it writes FILE.expected.jsonl, the canonical form (pq_canon.h) of the
 * rows it meant to write, for writer_matrix.js to compare with what DuckDB,
 * hyparquet and Tarn's reader read back. It also checks here that the
 * statistics the writer returns equal the footer's (one row group files)
 * and its null counts equal the nulls written.
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "parquet/parquet.h"
#include "pq_canon.h"

#include "common/test_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS  5000
#define BATCH 1000

static const pq_write_col COLS[] = {
    {"b", {.id = VEC_BOOL}, 0},
    {"i8", {.id = VEC_I8}, 0},
    {"i16", {.id = VEC_I16}, 0},
    {"i32", {.id = VEC_I32}, 0},
    {"i64", {.id = VEC_I64}, 0},
    {"u8", {.id = VEC_U8}, 0},
    {"u16", {.id = VEC_U16}, 0},
    {"u32", {.id = VEC_U32}, 0},
    {"u64", {.id = VEC_U64}, 0},
    {"f32", {.id = VEC_F32}, 0},
    {"f64", {.id = VEC_F64}, 0},
    {"d", {.id = VEC_DATE}, 0},
    {"t_us", {.id = VEC_TIME, .unit = VEC_UNIT_MICROS, .utc = false}, 0},
    {"t_ms", {.id = VEC_TIME, .unit = VEC_UNIT_MILLIS, .utc = false}, 0},
    {"ts_us", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true}, 0},
    {"ts_ms", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MILLIS, .utc = false}, 0},
    /* Not UTC-adjusted: DuckDB reads UTC nanos as TIMESTAMPTZ in micros. */
    {"ts_ns", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_NANOS, .utc = false}, 0},
    {"dec9", {.id = VEC_DECIMAL64, .precision = 9, .scale = 2}, 0},
    {"dec18", {.id = VEC_DECIMAL64, .precision = 18, .scale = 4}, 0},
    {"dec38", {.id = VEC_DECIMAL128, .precision = 38, .scale = 6}, 0},
    {"s", {.id = VEC_STRING}, 0},
    {"s_uniq", {.id = VEC_STRING}, 0},
    {"bin", {.id = VEC_BINARY}, 0},
    {"li", {.id = VEC_I64, .list = true}, 0},
    {"lstr", {.id = VEC_STRING, .list = true}, 0},
};
/* The leaf names readers give list columns (Parquet's 3-level LIST). */
static const char *LEAF_NAMES[] = {"li.list.element", "lstr.list.element"};
#define FIRST_LIST 23
#define NCOLS      (sizeof(COLS) / sizeof(COLS[0]))

static void set64(vec_col *c, uint32_t k, uint64_t v)
{
    size_t w = vec_type_width(c->type.id);
    memcpy((uint8_t *)c->data + (size_t)k * w, &v, w); /* little endian: low bytes */
}

/* Value of column col at row r (r is the global row number). */
static void fill_value(vec_col *c, uint32_t col, uint32_t k, uint64_t r)
{
    char s[128];
    int64_t x = (int64_t)(r * 2654435761u % 1000003) - 500000;
    switch (col) {
    case 0:
        set64(c, k, r % 3 == 0);
        break;
    case 1:
        set64(c, k, (uint64_t)(r == 1 ? -128 : r == 2 ? 127 : (int64_t)(r % 200) - 100));
        break;
    case 2:
        set64(c, k, (uint64_t)(r == 1 ? -32768 : r == 2 ? 32767 : x % 30000));
        break;
    case 3:
        set64(c, k, (uint64_t)(r == 1 ? INT32_MIN : r == 2 ? INT32_MAX : x * 1000));
        break;
    case 4:
        set64(c, k, (uint64_t)(r == 1 ? INT64_MIN : r == 2 ? INT64_MAX : x * 1000000007));
        break;
    case 5:
        set64(c, k, r == 2 ? 255 : r % 200);
        break;
    case 6:
        set64(c, k, r == 2 ? 65535 : r * 7 % 60000);
        break;
    case 7:
        set64(c, k, r == 2 ? UINT32_MAX : (uint64_t)(r * 2654435761u) & 0xffffffffu);
        break;
    case 8:
        set64(c, k, r == 2 ? UINT64_MAX : r * 0x9e3779b97f4a7c15ull);
        break;
    case 9:
        ((float *)c->data)[k] = r == 5 ? NAN : r == 6 ? -0.0f : (float)x / 7.0f;
        break;
    case 10:
        ((double *)c->data)[k] = r == 5 ? INFINITY : r == 6 ? NAN : (double)x * 1.1;
        break;
    case 11:
        set64(c, k, (uint64_t)(x % 100000));
        break;
    case 12:
        set64(c, k, r * 12345678ull % 86400000000ull);
        break;
    case 13:
        set64(c, k, r * 12345ull % 86400000ull);
        break;
    case 14:
        set64(c, k, (uint64_t)(946684800000000 + x * 123456789));
        break;
    case 15:
        set64(c, k, (uint64_t)(946684800000 + x * 1000));
        break;
    case 16:
        set64(c, k, (uint64_t)(1600000000000000000 + x * 1000003));
        break;
    case 17:
        set64(c, k, (uint64_t)(x * 1997 % 999999999));
        break;
    case 18:
        set64(c, k, (uint64_t)(x * 123456789012));
        break;
    case 19: {
        int64_t hi = x * 4000000000;
        ((vec_i128 *)c->data)[k] = (vec_i128){(uint64_t)x * 0x9e3779b97f4a7c15ull, hi};
        break;
    }
    case 20:
        snprintf(s, sizeof(s), "cat_%d", (int)(r % 37));
        vec_col_append_str(c, s, strlen(s));
        return;
    case 21: {
        int n = snprintf(s, sizeof(s), "unique-%" PRIu64 "-%s", r, r % 4 ? "é😈" : "");
        vec_col_append_str(c, s, (size_t)n);
        return;
    }
    case 22: {
        uint8_t bin[9] = {0, 0xff, (uint8_t)r, (uint8_t)(r >> 8), 0x80, 1, 2, 3, 4};
        vec_col_append_str(c, bin, r % 9);
        return;
    }
    }
    if (!vec_type_is_var(c->type.id))
        c->len = k + 1;
}

typedef struct file_sink {
    FILE *fp;
} file_sink;

static int put(void *ctx, const void *p, size_t n, tarn_err *err)
{
    if (fwrite(p, 1, n, ((file_sink *)ctx)->fp) != n)
        return tarn_err_set(err, TARN_EIO, "short write");
    return 0;
}

/* Row r of a list column: null (when asked), empty when r % 5 == 0,
 * [null] when r % 5 == 1, else r % 6 + 1 values (with a null when r % 3). */
static void fill_list(vec_col *col, uint32_t c, uint64_t r, bool null_row)
{
    vec_col *e = col->elems;
    uint32_t n = null_row || r % 5 == 0 ? 0 : r % 5 == 1 ? 1 : (uint32_t)(r % 6) + 1;
    if (e->len + n > e->cap && vec_col_grow(e, e->cap * 2 + n) != 0)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        bool null_elem = r % 5 == 1 || (r % 3 && i == 1);
        char s[32];
        int len = snprintf(s, sizeof(s), "e%" PRIu64 "_%u", r, i);
        if (null_elem)
            vec_col_set_null(e, e->len);
        if (c == FIRST_LIST) {
            ((int64_t *)e->data)[e->len] = null_elem ? 0 : (int64_t)(r * 1000 + i) - 7000;
            e->len++;
        } else {
            vec_col_append_str(e, null_elem ? "" : s, null_elem ? 0 : (size_t)len);
        }
    }
    if (null_row)
        vec_col_set_null(col, col->len);
    vec_col_list_end(col);
}

/* Builds batch bi (rows bi*BATCH ..), nulls at r % 7 == 3 when asked, a
 * selection that drops r % 10 == 9 in batch 2. */
static void build_batch(vec_batch *b, uint32_t bi, bool nulls)
{
    vec_batch_reset(b);
    for (uint32_t k = 0; k < BATCH; k++) {
        uint64_t r = (uint64_t)bi * BATCH + k;
        for (uint32_t c = 0; c < NCOLS; c++) {
            vec_col *col = &b->cols[c];
            if (col->type.list) {
                fill_list(col, c, r, nulls && r % 7 == 3);
                continue;
            }
            if (nulls && r % 7 == 3) {
                vec_col_set_null(col, k);
                if (vec_type_is_var(col->type.id))
                    vec_col_append_str(col, "", 0);
                else
                    col->len = k + 1;
                continue;
            }
            fill_value(col, c, k, r);
        }
    }
    b->len = BATCH;
    if (bi == 2) {
        uint32_t sel[BATCH], n = 0;
        for (uint32_t k = 0; k < BATCH; k++)
            if (k % 10 != 9)
                sel[n++] = k;
        vec_batch_select(b, sel, n);
    }
}

/* Batch 1 carries column s as dictionary codes, as a reader keeping
 * dictionaries would hand it over. */
static void dict_form_s(vec_batch *b, bool nulls)
{
    uint32_t offs[38];
    char bytes[512];
    size_t len = 0;
    offs[0] = 0;
    for (int i = 0; i < 37; i++) {
        len += (size_t)snprintf(bytes + len, sizeof(bytes) - len, "cat_%d", i);
        offs[i + 1] = (uint32_t)len;
    }
    vec_dict *d;
    vec_col *c = &b->cols[20];
    uint8_t *validity = c->validity;
    c->validity = NULL;
    vec_col_reset(c);
    c->validity = validity;
    if (vec_dict_new(offs, (const uint8_t *)bytes, 37, &d) != 0 || vec_col_use_dict(c, d) != 0)
        abort();
    vec_dict_release(d);
    for (uint32_t k = 0; k < BATCH; k++) {
        uint64_t r = (uint64_t)BATCH + k;
        c->codes[k] = nulls && r % 7 == 3 ? 0 : (uint32_t)(r % 37);
    }
    c->len = BATCH;
}

/* Parquet's null_count counts levels below the maximum definition: a null
 * row, or for lists a null or empty list and each null element. */
static int64_t null_levels(const vec_col *c, uint32_t r)
{
    if (!vec_col_is_valid(c, r))
        return 1;
    if (!c->type.list)
        return 0;
    uint32_t a = c->list_offsets[r], z = c->list_offsets[r + 1];
    int64_t n = a == z;
    for (uint32_t i = a; i < z; i++)
        n += !vec_col_is_valid(c->elems, i);
    return n;
}

/* Returned statistics equal the footer's, read back by our reader. */
static int check_stats(pq_writer *w, const char *path, int64_t nulls_want[NCOLS])
{
    size_t len;
    uint8_t *data = (uint8_t *)tarn_test_read_file(path, &len);
    if (data == NULL) {
        fprintf(stderr, "%s: cannot read the file just written\n", path);
        return 1;
    }
    pq_file *f;
    tarn_err err = TARN_ERR_INIT;
    int bad = 0;
    if (pq_file_open_bytes(data, len, path, &f, &err) != 0) {
        fprintf(stderr, "%s: %s\n", path, tarn_err_msg(&err));
        free(data);
        return 1;
    }
    const pq_meta *m = pq_file_meta(f);
    for (uint32_t c = 0; c < NCOLS; c++) {
        const pq_write_stats *st = pq_writer_stats(w, c);
        int64_t nulls = 0;
        for (uint32_t g = 0; g < m->nrow_groups; g++)
            nulls += m->row_groups[g].columns[c].meta.stats.null_count;
        if (st->null_count != nulls_want[c] || nulls != nulls_want[c]) {
            fprintf(stderr, "%s col %u: null counts %lld / %lld, want %lld\n", path, c,
                    (long long)st->null_count, (long long)nulls, (long long)nulls_want[c]);
            bad = 1;
        }
        const pq_stats *fs = &m->row_groups[0].columns[c].meta.stats;
        if (m->nrow_groups == 1 &&
            (st->has_min_max != fs->has_min || st->min_len != fs->min_len ||
             st->max_len != fs->max_len || memcmp(st->min, fs->min, fs->min_len) != 0 ||
             memcmp(st->max, fs->max, fs->max_len) != 0)) {
            fprintf(stderr, "%s col %u: returned min/max differ from the footer\n", path, c);
            bad = 1;
        }
    }
    if (m->created_by == NULL || strcmp(m->created_by, "tarn version " TARN_VERSION) != 0) {
        fprintf(stderr, "%s: created_by %s\n", path, m->created_by ? m->created_by : "(none)");
        bad = 1;
    }
    pq_file_close(f);
    free(data);
    return bad;
}

static int write_one(const char *dir, pq_write_codec codec, bool dict, bool nulls, bool small)
{
    static const char *codec_names[] = {"snappy", "zstd", "uncompressed"};
    char path[1024], exp_path[1100];
    /* Small pages also switch to data page v2 with the DELTA and
     * BYTE_STREAM_SPLIT encodings (not with zstd, which hyparquet lacks). */
    bool v2 = small && codec != PQ_WRITE_ZSTD;
    snprintf(path, sizeof(path), "%s/tarn_%s_%s_%s_%s%s.parquet", dir, codec_names[codec],
             dict ? "dict" : "plain", nulls ? "nulls" : "full", small ? "small" : "default",
             v2 ? "_v2" : "");
    snprintf(exp_path, sizeof(exp_path), "%s.expected.jsonl", path);
    pq_write_col cols[NCOLS];
    const char *names[NCOLS];
    vec_type_info types[NCOLS];
    for (uint32_t c = 0; c < NCOLS; c++) {
        cols[c] = COLS[c];
        cols[c].nullable = nulls;
        names[c] = c >= FIRST_LIST ? LEAF_NAMES[c - FIRST_LIST] : COLS[c].name;
        types[c] = COLS[c].type;
    }
    file_sink fs = {fopen(path, "wb")};
    FILE *exp = fopen(exp_path, "wb");
    pq_writer_opts o = {.cols = cols,
                        .ncols = NCOLS,
                        .sink = put,
                        .sink_ctx = &fs,
                        .codec = codec,
                        .no_dict = !dict,
                        .page_v2 = v2,
                        .name = path};
    if (small) {
        o.page_bytes = 1024;
        o.row_group_bytes = 64 << 10;
        o.dict_max_bytes = 8192; /* i16 falls back to PLAIN after dictionary pages */
    }
    pq_writer *w;
    tarn_err err = TARN_ERR_INIT;
    vec_batch b;
    int64_t nulls_want[NCOLS] = {0};
    tarn_buf line;
    tarn_buf_init(&line, TARN_BUF_UNBOUNDED);
    int rc = pq_writer_open(&o, &w, &err);
    if (rc == 0)
        rc = vec_batch_init(&b, types, NCOLS, BATCH);
    for (uint32_t bi = 0; rc == 0 && bi < ROWS / BATCH; bi++) {
        build_batch(&b, bi, nulls);
        if (bi == 1)
            dict_form_s(&b, nulls);
        rc = pq_writer_write(w, &b, &err);
        for (uint32_t k = 0; k < vec_batch_live_count(&b); k++) {
            uint32_t r = b.sel_active ? b.sel[k] : k;
            tarn_buf_reset(&line);
            pq_canon_row(&line, &b, r, names);
            fwrite(line.data, 1, line.len, exp);
            for (uint32_t c = 0; c < NCOLS; c++)
                nulls_want[c] += null_levels(&b.cols[c], r);
        }
    }
    if (rc == 0)
        rc = pq_writer_finish(w, &err);
    fclose(fs.fp);
    fclose(exp);
    tarn_buf_free(&line);
    vec_batch_free(&b);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, tarn_err_msg(&err));
        pq_writer_close(w);
        return 1;
    }
    int bad = check_stats(w, path, nulls_want);
    pq_writer_close(w);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pq_write_matrix OUT_DIR\n");
        return 2;
    }
    int bad = 0;
    for (int codec = 0; codec < 3; codec++)
        for (int dict = 0; dict < 2; dict++)
            for (int nulls = 0; nulls < 2; nulls++)
                for (int small = 0; small < 2; small++)
                    bad |= write_one(argv[1], (pq_write_codec)codec, dict, nulls, small);
    return bad;
}
