/* Tests of parquet/thrift.c and parquet/meta.c: the compact protocol on
 * hand-built bytes (including truncated and hostile input), and metadata
 * and page header round trips with truncation and byte-flip sweeps. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "parquet/meta.h"
#include "parquet/thrift.h"

#include <string.h>

static void test_varints_and_zigzag(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x01, 0x02, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f};
    pq_tdec d;
    pq_tdec_init(&d, bytes, sizeof(bytes));
    int32_t v;
    assert_int_equal(pq_tdec_i32(&d, &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(pq_tdec_i32(&d, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(pq_tdec_i32(&d, &v), 0);
    assert_int_equal(v, 150);
    assert_int_equal(pq_tdec_i32(&d, &v), 0); /* zigzag 0xffffffff = INT32_MIN */
    assert_int_equal(v, INT32_MIN);
    assert_int_equal(pq_tdec_pos(&d), sizeof(bytes));
    assert_int_equal(pq_tdec_i32(&d, &v), TARN_ECORRUPT);
    assert_non_null(d.why);
}

static void test_bad_varints(void **state)
{
    (void)state;
    const uint8_t truncated[] = {0x80, 0x80};
    pq_tdec d;
    uint64_t u;
    pq_tdec_init(&d, truncated, sizeof(truncated));
    assert_int_equal(pq_tdec_varint(&d, &u), TARN_ECORRUPT);
    uint8_t longer[11];
    memset(longer, 0x80, sizeof(longer));
    longer[10] = 0x01;
    pq_tdec_init(&d, longer, sizeof(longer));
    assert_int_equal(pq_tdec_varint(&d, &u), TARN_ECORRUPT);
    /* Ten bytes whose last carries bits past 64. */
    uint8_t overflow[10];
    memset(overflow, 0xff, 9);
    overflow[9] = 0x02;
    pq_tdec_init(&d, overflow, sizeof(overflow));
    assert_int_equal(pq_tdec_varint(&d, &u), TARN_ECORRUPT);
    /* An i32 field holding a value outside 32 bits. */
    const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x20};
    int32_t v;
    pq_tdec_init(&d, big, sizeof(big));
    assert_int_equal(pq_tdec_i32(&d, &v), TARN_ECORRUPT);
}

static void test_field_headers(void **state)
{
    (void)state;
    /* field 1 i32 = 5, field 3 binary "ab", field 300 (long form) true, STOP */
    const uint8_t bytes[] = {0x15, 0x0a, 0x28, 0x02, 'a', 'b', 0x01, 0xd8, 0x04, 0x00};
    pq_tdec d;
    pq_tdec_init(&d, bytes, sizeof(bytes));
    int16_t last = 0, id;
    uint8_t t;
    int32_t v;
    const uint8_t *p;
    uint32_t n;
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_I32);
    assert_int_equal(id, 1);
    assert_int_equal(pq_tdec_i32(&d, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_BINARY);
    assert_int_equal(id, 3);
    assert_int_equal(pq_tdec_binary(&d, &p, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "ab", 2);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_TRUE);
    assert_int_equal(id, 300);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_STOP);
}

static void test_hostile_lengths(void **state)
{
    (void)state;
    pq_tdec d;
    const uint8_t *p;
    uint32_t n;
    uint8_t et;
    const uint8_t bin[] = {0x05, 'a', 'b'}; /* claims 5 bytes, has 2 */
    pq_tdec_init(&d, bin, sizeof(bin));
    assert_int_equal(pq_tdec_binary(&d, &p, &n), TARN_ECORRUPT);
    /* A list claiming 2^32 elements in 6 bytes. */
    const uint8_t list[] = {0xf5, 0x80, 0x80, 0x80, 0x80, 0x10};
    pq_tdec_init(&d, list, sizeof(list));
    assert_int_equal(pq_tdec_list(&d, &et, &n), TARN_ECORRUPT);
    /* A struct field with an unknown type nibble. */
    const uint8_t field[] = {0x1d};
    int16_t last = 0, id;
    pq_tdec_init(&d, field, sizeof(field));
    assert_int_equal(pq_tdec_field(&d, &last, &et, &id), TARN_ECORRUPT);
}

static void test_skip_nested_and_deep(void **state)
{
    (void)state;
    /* A struct holding: field 1 list<struct> of 2 empty structs, field 2 map<i32,binary>
     * with 1 entry, field 3 double, field 4 set<bool> of 2, then STOP. */
    const uint8_t ok[] = {0x19, 0x2c, 0x00, 0x00, 0x1b, 0x01, 0x58, 0x02, 0x01, 'x',  0x17, 0,
                          0,    0,    0,    0,    0,    0xf0, 0x3f, 0x1a, 0x21, 0x01, 0x02, 0x00};
    pq_tdec d;
    pq_tdec_init(&d, ok, sizeof(ok));
    assert_int_equal(pq_tdec_skip(&d, PQ_T_STRUCT), 0);
    assert_int_equal(pq_tdec_pos(&d), sizeof(ok));
    /* Every truncation of it is an error. */
    for (size_t len = 0; len < sizeof(ok); len++) {
        pq_tdec_init(&d, ok, len);
        assert_int_equal(pq_tdec_skip(&d, PQ_T_STRUCT), TARN_ECORRUPT);
    }
    /* 1,000 nested structs (field 1 of type struct, repeated): refused by the
     * depth limit, not by running out of stack. */
    uint8_t deep[1001];
    memset(deep, 0x1c, sizeof(deep));
    deep[1000] = 0;
    pq_tdec_init(&d, deep, sizeof(deep));
    assert_int_equal(pq_tdec_skip(&d, PQ_T_STRUCT), TARN_ECORRUPT);
    assert_string_equal(d.why, "nesting too deep");
    /* Nested lists of lists likewise. */
    uint8_t lists[1000];
    memset(lists, 0x19, sizeof(lists));
    pq_tdec_init(&d, lists, sizeof(lists));
    assert_int_equal(pq_tdec_skip(&d, PQ_T_LIST), TARN_ECORRUPT);
}

static void test_encoder_matches_decoder(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    pq_tenc e;
    pq_tenc_init(&e, &b);
    pq_tenc_struct_begin(&e);
    pq_tenc_i32_field(&e, 1, -7);
    pq_tenc_i64_field(&e, 40, INT64_MIN);
    pq_tenc_bool_field(&e, 41, false);
    pq_tenc_field(&e, 42, PQ_T_LIST);
    pq_tenc_list(&e, PQ_T_I32, 20);
    for (int i = 0; i < 20; i++)
        pq_tenc_i32(&e, i * 1000);
    pq_tenc_struct_end(&e);
    assert_int_equal(e.err, 0);
    pq_tdec d;
    pq_tdec_init(&d, b.data, b.len);
    int16_t last = 0, id;
    uint8_t t;
    int32_t v;
    int64_t w;
    uint32_t n;
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(pq_tdec_i32(&d, &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(id, 40); /* delta 39 > 15: long form */
    assert_int_equal(pq_tdec_i64(&d, &w), 0);
    assert_true(w == INT64_MIN);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_FALSE);
    assert_int_equal(id, 41);
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(pq_tdec_list(&d, &t, &n), 0);
    assert_int_equal(n, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(pq_tdec_i32(&d, &v), 0);
        assert_int_equal(v, i * 1000);
    }
    assert_int_equal(pq_tdec_field(&d, &last, &t, &id), 0);
    assert_int_equal(t, PQ_T_STOP);
    tarn_buf_free(&b);
}

/* A small FileMetaData: root + 2 columns, 2 row groups. */
static void build_meta(pq_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->version = 2;
    m->nschema = 3;
    m->schema = pq_meta_alloc(m, 3 * sizeof(pq_schema_elem));
    for (int i = 0; i < 3; i++) {
        pq_schema_elem *s = &m->schema[i];
        s->type = s->type_length = s->repetition = s->converted = -1;
        s->scale = s->precision = s->field_id = -1;
    }
    m->schema[0].name = "schema";
    m->schema[0].num_children = 2;
    m->schema[1] = (pq_schema_elem){"id", PQ_INT64, -1, PQ_REQUIRED, 0, -1, -1, -1, -1, {0}};
    m->schema[1].logical = (pq_logical){.kind = PQ_LT_INTEGER, .bit_width = 64, .is_signed = 1};
    m->schema[2] = (pq_schema_elem){"ts", PQ_INT64, -1, PQ_OPTIONAL, 0, -1, -1, -1, 7, {0}};
    m->schema[2].logical =
        (pq_logical){.kind = PQ_LT_TIMESTAMP, .unit = PQ_UNIT_NANOS, .utc = true};
    m->num_rows = 300;
    m->nrow_groups = 2;
    m->row_groups = pq_meta_alloc(m, 2 * sizeof(pq_row_group));
    static const char *paths[2][1] = {{"id"}, {"ts"}};
    for (int g = 0; g < 2; g++) {
        pq_row_group *rg = &m->row_groups[g];
        rg->num_rows = 150;
        rg->total_byte_size = 1000 + g;
        rg->file_offset = rg->total_compressed_size = -1;
        rg->ncols = 2;
        rg->columns = pq_meta_alloc(m, 2 * sizeof(pq_column_chunk));
        for (int c = 0; c < 2; c++) {
            pq_column_meta *cm = &rg->columns[c].meta;
            rg->columns[c].has_meta = true;
            rg->columns[c].file_offset = 4 + g * 100 + c * 50;
            cm->type = PQ_INT64;
            cm->encodings_mask = 1u << PQ_ENC_PLAIN | 1u << PQ_ENC_RLE_DICTIONARY;
            cm->path = paths[c];
            cm->path_len = 1;
            cm->codec = PQ_CODEC_ZSTD;
            cm->num_values = 150;
            cm->total_compressed = cm->total_uncompressed = 50;
            cm->data_page_offset = rg->columns[c].file_offset;
            cm->dictionary_page_offset = -1;
            cm->index_page_offset = -1;
            cm->stats.has_min = cm->stats.has_max = cm->stats.has_null_count = true;
            cm->stats.min = (const uint8_t *)"\x01\0\0\0\0\0\0\0";
            cm->stats.max = (const uint8_t *)"\x96\0\0\0\0\0\0\0";
            cm->stats.min_len = cm->stats.max_len = 8;
            cm->stats.null_count = c;
        }
    }
    m->created_by = "tarn version test";
}

static void encode_meta(tarn_buf *b)
{
    pq_meta m;
    build_meta(&m);
    tarn_buf_init(b, 1 << 20);
    assert_int_equal(pq_meta_encode(&m, b), 0);
    pq_meta_free(&m);
}

static void test_meta_round_trip(void **state)
{
    (void)state;
    tarn_buf b;
    encode_meta(&b);
    pq_meta m;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_meta_decode(b.data, b.len, &m, &err), 0);
    assert_int_equal(m.version, 2);
    assert_int_equal(m.nschema, 3);
    assert_string_equal(m.schema[0].name, "schema");
    assert_int_equal(m.schema[0].num_children, 2);
    assert_int_equal(m.schema[0].type, -1);
    assert_string_equal(m.schema[2].name, "ts");
    assert_int_equal(m.schema[2].repetition, PQ_OPTIONAL);
    assert_int_equal(m.schema[2].field_id, 7);
    assert_int_equal(m.schema[2].logical.kind, PQ_LT_TIMESTAMP);
    assert_int_equal(m.schema[2].logical.unit, PQ_UNIT_NANOS);
    assert_true(m.schema[2].logical.utc);
    assert_int_equal(m.schema[1].logical.kind, PQ_LT_INTEGER);
    assert_int_equal(m.schema[1].logical.bit_width, 64);
    assert_true(m.schema[1].logical.is_signed);
    assert_int_equal(m.num_rows, 300);
    assert_int_equal(m.nrow_groups, 2);
    assert_int_equal(m.row_groups[1].total_byte_size, 1001);
    const pq_column_meta *cm = &m.row_groups[1].columns[1].meta;
    assert_int_equal(cm->codec, PQ_CODEC_ZSTD);
    assert_int_equal(cm->encodings_mask, 1u << PQ_ENC_PLAIN | 1u << PQ_ENC_RLE_DICTIONARY);
    assert_string_equal(cm->path[0], "ts");
    assert_int_equal(cm->data_page_offset, 154);
    assert_int_equal(cm->dictionary_page_offset, -1);
    assert_true(cm->stats.has_min);
    assert_int_equal(cm->stats.max_len, 8);
    assert_int_equal(cm->stats.max[0], 0x96);
    assert_int_equal(cm->stats.null_count, 1);
    assert_string_equal(m.created_by, "tarn version test");
    pq_meta_free(&m);
    tarn_buf_free(&b);
}

/* Every proper prefix is an error with a message; every single-byte flip is
 * either an error or a successful decode (never a crash or a leak). */
static void test_meta_truncation_and_flips(void **state)
{
    (void)state;
    tarn_buf b;
    encode_meta(&b);
    pq_meta m;
    for (size_t len = 0; len < b.len; len++) {
        tarn_err err = TARN_ERR_INIT;
        uint8_t *copy = tarn_malloc(len); /* exact size so ASan sees overreads */
        memcpy(copy, b.data, len);
        assert_int_equal(pq_meta_decode(copy, len, &m, &err), TARN_ECORRUPT);
        assert_non_null(strstr(err.msg, "footer"));
        tarn_free(copy);
    }
    uint8_t *copy = tarn_malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, b.data, b.len);
            copy[i] ^= (uint8_t)(1u << bit);
            int rc = pq_meta_decode(copy, b.len, &m, NULL);
            assert_true(rc == 0 || rc == TARN_ECORRUPT);
            if (rc == 0)
                pq_meta_free(&m);
        }
    }
    tarn_free(copy);
    tarn_buf_free(&b);
}

static void test_page_headers(void **state)
{
    (void)state;
    pq_page_header h = {.type = PQ_PAGE_DATA_V2,
                        .uncompressed_size = 1000,
                        .compressed_size = 400,
                        .num_values = 100,
                        .num_nulls = 3,
                        .num_rows = 100,
                        .encoding = PQ_ENC_RLE_DICTIONARY,
                        .def_len = 12,
                        .is_compressed = false};
    tarn_buf b;
    tarn_buf_init(&b, 4096);
    assert_int_equal(pq_page_header_encode(&h, &b), 0);
    /* Unknown trailing bytes after the header must not be consumed. */
    assert_int_equal(tarn_buf_append(&b, "\xde\xad", 2), 0);
    pq_page_header g;
    size_t hlen;
    assert_int_equal(pq_page_header_decode(b.data, b.len, &g, &hlen, NULL), 0);
    assert_int_equal(hlen, b.len - 2);
    assert_int_equal(g.type, PQ_PAGE_DATA_V2);
    assert_int_equal(g.compressed_size, 400);
    assert_int_equal(g.num_nulls, 3);
    assert_int_equal(g.encoding, PQ_ENC_RLE_DICTIONARY);
    assert_int_equal(g.def_len, 12);
    assert_false(g.is_compressed);
    for (size_t len = 0; len < hlen; len++) {
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(pq_page_header_decode(b.data, len, &g, &hlen, &err), TARN_ECORRUPT);
        assert_non_null(strstr(err.msg, "page header"));
    }
    /* Dictionary page header, and a negative size is refused. */
    tarn_buf_reset(&b);
    h = (pq_page_header){.type = PQ_PAGE_DICTIONARY,
                         .uncompressed_size = 8,
                         .compressed_size = 8,
                         .num_values = 2,
                         .encoding = PQ_ENC_PLAIN};
    assert_int_equal(pq_page_header_encode(&h, &b), 0);
    assert_int_equal(pq_page_header_decode(b.data, b.len, &g, &hlen, NULL), 0);
    assert_int_equal(g.num_values, 2);
    tarn_buf_reset(&b);
    h.compressed_size = -5;
    assert_int_equal(pq_page_header_encode(&h, &b), 0);
    assert_int_equal(pq_page_header_decode(b.data, b.len, &g, &hlen, NULL), TARN_ECORRUPT);
    tarn_buf_free(&b);
}

typedef struct oom_ctx {
    tarn_buf *b;
    pq_meta m;
} oom_ctx;

static int oom_decode(void *ctx)
{
    oom_ctx *c = ctx;
    return pq_meta_decode(c->b->data, c->b->len, &c->m, NULL);
}

static void oom_cleanup(void *ctx)
{
    pq_meta_free(&((oom_ctx *)ctx)->m);
}

static void test_meta_oom(void **state)
{
    (void)state;
    tarn_buf b;
    encode_meta(&b);
    oom_ctx c = {.b = &b};
    assert_true(tarn_test_oom_loop(oom_decode, oom_cleanup, &c, 100) >= 1);
    tarn_buf_free(&b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints_and_zigzag),
        cmocka_unit_test(test_bad_varints),
        cmocka_unit_test(test_field_headers),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_skip_nested_and_deep),
        cmocka_unit_test(test_encoder_matches_decoder),
        cmocka_unit_test(test_meta_round_trip),
        cmocka_unit_test(test_meta_truncation_and_flips),
        cmocka_unit_test(test_page_headers),
        cmocka_unit_test(test_meta_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
