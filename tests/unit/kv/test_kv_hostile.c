/* Hostile command bytes: every truncation, wrong lengths, unknown
 * versions, types and kinds, trailing bytes and random byte flips of valid
 * commands are answered with an error result when applied (never a crash,
 * never a write), and kv_decode agrees. */
#include "kv_test_util.h"

#include "base/rand.h"

/* Encodes one of each command kind into bufs. */
static size_t sample_commands(tarn_buf *bufs)
{
    for (int i = 0; i < 5; i++)
        tarn_buf_init(&bufs[i], TARN_BUF_UNBOUNDED);
    kv_compare cv = {
        .kind = KV_CMP_VERSION, .key = (const uint8_t *)"key", .key_len = 3, .version = 7};
    kv_compare cval = {.kind = KV_CMP_VALUE,
                       .key = (const uint8_t *)"key",
                       .key_len = 3,
                       .value = (const uint8_t *)"old",
                       .value_len = 3};
    assert_int_equal(kv_encode_put(&bufs[0], "key", 3, "value", 5, &cv), 0);
    assert_int_equal(kv_encode_delete(&bufs[1], "key", 3, &cval), 0);
    kv_op ops[2] = {{KV_OP_PUT, (const uint8_t *)"p", 1, (const uint8_t *)"v", 1},
                    {KV_OP_DELETE, (const uint8_t *)"q", 1, NULL, 0}};
    kv_compare cmps[2] = {cv, cval};
    assert_int_equal(kv_encode_txn(&bufs[2], cmps, 2, ops, 2), 0);
    assert_int_equal(kv_encode_tso_reserve(&bufs[3], 123456), 0);
    assert_int_equal(kv_encode_put(&bufs[4], "k", 1, "", 0, NULL), 0);
    return 5;
}

static void test_decode_roundtrip(void **state)
{
    (void)state;
    tarn_buf bufs[5];
    size_t n = sample_commands(bufs);
    kv_cmd *cmd = malloc(sizeof(*cmd));
    assert_int_equal(kv_decode(bufs[2].data, bufs[2].len, cmd), 0);
    assert_int_equal(cmd->type, KV_CMD_TXN);
    assert_int_equal(cmd->n_cmps, 2);
    assert_int_equal(cmd->n_ops, 2);
    assert_int_equal(cmd->cmps[0].version, 7);
    assert_memory_equal(cmd->cmps[1].value, "old", 3);
    assert_int_equal(cmd->ops[1].kind, KV_OP_DELETE);
    assert_int_equal(kv_decode(bufs[3].data, bufs[3].len, cmd), 0);
    assert_int_equal(cmd->tso_upto_ms, 123456);
    for (size_t i = 0; i < n; i++)
        tarn_buf_free(&bufs[i]);
    free(cmd);
}

static void test_every_truncation_and_trailing_byte(void **state)
{
    kvt t;
    kvt_open(&t);
    tarn_buf bufs[5];
    size_t n = sample_commands(bufs);
    kv_cmd *cmd = malloc(sizeof(*cmd));
    for (size_t i = 0; i < n; i++) {
        for (size_t len = 0; len < bufs[i].len; len++) {
            /* A copy of exactly len bytes, so ASan sees any over-read. */
            uint8_t *p = malloc(len + 1);
            memcpy(p, bufs[i].data, len);
            assert_int_equal(kv_decode(p, len, cmd), TARN_EINVAL);
            if (len > 0)
                assert_int_equal(kvt_apply_raw(&t, p, len).code, TARN_EINVAL);
            free(p);
        }
        uint8_t *p = malloc(bufs[i].len + 1);
        memcpy(p, bufs[i].data, bufs[i].len);
        p[bufs[i].len] = 0;
        assert_int_equal(kv_decode(p, bufs[i].len + 1, cmd), TARN_EINVAL);
        assert_int_equal(kvt_apply_raw(&t, p, bufs[i].len + 1).code, TARN_EINVAL);
        free(p);
        tarn_buf_free(&bufs[i]);
    }
    free(cmd);
    kv_item it;
    assert_int_equal(kvt_get(&t, "key", &it, NULL, 0), TARN_ENOENT);
    assert_int_equal(kvt_get(&t, "p", &it, NULL, 0), TARN_ENOENT);
    kvt_close(&t);
    (void)state;
}

static void test_wrong_fields(void **state)
{
    (void)state;
    kvt t;
    kvt_open(&t);
    tarn_buf bufs[5];
    size_t n = sample_commands(bufs);
    uint8_t *p = malloc(bufs[0].len);
    struct {
        size_t off;
        uint8_t val;
        int want;
    } cases[] = {
        {1, 2, TARN_EINVAL},             /* unknown format version */
        {1, 0, TARN_EINVAL},             /* version 0 */
        {6, 9, TARN_EINVAL},             /* unknown compare kind */
        {7, 200, TARN_EINVAL},           /* key length beyond the bytes */
        {7, 0, TARN_EINVAL},             /* empty key */
        {2, 2, TARN_EINVAL},             /* n_cmps says 2 */
        {4, 2, TARN_EINVAL},             /* n_ops says 2 */
        {4, 0, TARN_EINVAL},             /* a put without its op */
        {0, KV_CMD_DELETE, TARN_EINVAL}, /* a delete carrying a put */
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(cases); i++) {
        memcpy(p, bufs[0].data, bufs[0].len);
        p[cases[i].off] = cases[i].val;
        kv_result r = kvt_apply_raw(&t, p, bufs[0].len);
        if (r.code != cases[i].want)
            fail_msg("case %zu: code %d, want %d", i, r.code, cases[i].want);
    }
    /* Types of kv's range with no handler are answered by store/. */
    p[0] = 0x1f;
    assert_int_equal(kvt_apply_raw(&t, p, bufs[0].len).code, TARN_ENOTSUP);
    free(p);
    for (size_t i = 0; i < n; i++)
        tarn_buf_free(&bufs[i]);
    kvt_close(&t);
}

static void test_random_flips(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    kvt t;
    kvt_open(&t);
    tarn_buf bufs[5];
    size_t n = sample_commands(bufs);
    kv_cmd *cmd = malloc(sizeof(*cmd));
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        tarn_buf *b = &bufs[tarn_rng_below(&rng, n)];
        uint8_t *p = malloc(b->len);
        memcpy(p, b->data, b->len);
        int flips = 1 + (int)tarn_rng_below(&rng, 4);
        for (int f = 0; f < flips; f++)
            p[tarn_rng_below(&rng, b->len)] ^= (uint8_t)(1u << tarn_rng_below(&rng, 8));
        int drc = kv_decode(p, b->len, cmd);
        assert_true(drc == 0 || drc == TARN_EINVAL || drc == TARN_ETOOBIG);
        if (p[0] >= KV_CMD_PUT && p[0] <= KV_CMD_TSO_RESERVE) {
            kv_result r = kvt_apply_raw(&t, p, b->len);
            /* A decodable command may legitimately apply; otherwise the
             * result must be the decoder's verdict. */
            if (drc != 0)
                assert_int_equal(r.code, drc);
            accepted += drc == 0;
        }
        free(p);
    }
    print_message("seed %llu: %d of 3000 mutants still decoded\n", (unsigned long long)seed,
                  accepted);
    free(cmd);
    for (size_t i = 0; i < n; i++)
        tarn_buf_free(&bufs[i]);
    kvt_close(&t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_roundtrip),
        cmocka_unit_test(test_every_truncation_and_trailing_byte),
        cmocka_unit_test(test_wrong_fields),
        cmocka_unit_test(test_random_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
