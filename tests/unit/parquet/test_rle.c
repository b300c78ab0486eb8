/* Tests of parquet/rle.c: the RLE / bit-packed hybrid decoders against the
 * encoder over every bit width and run shape (the unrolled per-width
 * unpacking and its tail), the level decoder's max check and all-equal
 * shortcut, and truncated input. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "parquet/pq_int.h"

#include <string.h>

/* Values with runs (RLE) and noise (bit-packed), of up to bw bits. */
static void fill_values(uint32_t *v, uint32_t n, int bw, uint32_t seed)
{
    uint64_t mask = bw == 32 ? 0xffffffffu : ((1ull << bw) - 1);
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        bool run = (i / 37) % 3 == 0; /* stretches of one value */
        v[i] = (uint32_t)((run ? (i / 37) * 7919u : x >> 3) & mask);
    }
}

static void test_round_trip_every_width(void **state)
{
    (void)state;
    static uint32_t v[3000], got[3000];
    static const uint32_t counts[] = {1, 7, 8, 9, 63, 64, 65, 1000, 2999};
    for (int bw = 0; bw <= 32; bw++) {
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            uint32_t n = counts[c];
            fill_values(v, n, bw, (uint32_t)(bw * 100 + c));
            tarn_buf b;
            tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
            assert_int_equal(pq_rle_encode(v, n, bw, &b), 0);
            size_t used = 0;
            const char *why = NULL;
            memset(got, 0xee, sizeof(got));
            int rc = pq_rle_decode(b.data, b.len, bw, n, got, &used, &why);
            if (rc != 0)
                print_message("bw %d n %u: %s\n", bw, n, why);
            assert_int_equal(rc, 0);
            assert_memory_equal(got, v, n * sizeof(uint32_t));
            assert_true(used <= b.len);
            /* Every shorter buffer is an error or a correct decode, never
             * a read past the end (ASan watches). */
            for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 50) {
                uint8_t *p = tarn_malloc(cut ? cut : 1);
                memcpy(p, b.data, cut);
                if (pq_rle_decode(p, cut, bw, n, got, &used, &why) == 0)
                    assert_memory_equal(got, v, n * sizeof(uint32_t));
                tarn_free(p);
            }
            tarn_buf_free(&b);
        }
    }
}

static void test_levels(void **state)
{
    (void)state;
    static uint32_t v[2000];
    static uint8_t lv[2000];
    for (int bw = 0; bw <= 8; bw++) {
        uint32_t max = bw ? (1u << bw) - 1 : 0, n = 1999, nmax = 0, want = 0;
        fill_values(v, n, bw, (uint32_t)bw);
        for (uint32_t i = 0; i < n; i++)
            want += v[i] == max;
        tarn_buf b;
        tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
        assert_int_equal(pq_rle_encode(v, n, bw, &b), 0);
        const char *why = NULL;
        assert_int_equal(pq_rle_decode_levels(b.data, b.len, bw, n, max, lv, &nmax, &why), 0);
        assert_int_equal(nmax, want);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(lv[i], v[i]);
        /* A lower maximum than the data holds is corrupt. */
        if (bw > 0)
            assert_int_equal(pq_rle_decode_levels(b.data, b.len, bw, n, max - 1, lv, &nmax, &why),
                             TARN_ECORRUPT);
        for (size_t cut = 0; cut < b.len; cut++)
            if (pq_rle_decode_levels(b.data, cut, bw, n, max, lv, &nmax, &why) == 0)
                assert_int_equal(nmax, want);
        tarn_buf_free(&b);
    }
}

static void test_all_equal_shortcut(void **state)
{
    (void)state;
    uint32_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 1;
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(pq_rle_encode(v, 100, 1, &b), 0);
    assert_true(pq_rle_starts_with_run(b.data, b.len, 1, 100, 1));
    assert_false(pq_rle_starts_with_run(b.data, b.len, 1, 100, 0));
    assert_false(pq_rle_starts_with_run(b.data, b.len, 1, 101, 1));
    assert_false(pq_rle_starts_with_run(b.data, 1, 1, 100, 1)); /* value byte missing */
    v[50] = 0;
    tarn_buf_reset(&b);
    assert_int_equal(pq_rle_encode(v, 100, 1, &b), 0);
    assert_false(pq_rle_starts_with_run(b.data, b.len, 1, 100, 1));
    tarn_buf_free(&b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_width),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_all_equal_shortcut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
