/* Tests of base/crc32c against RFC 3720 appendix B.4 and known strings,
 * for both the table and the SSE4.2 implementation. */
#include "common/test_util.h"

#include "base/crc32c.h"
#include "base/rand.h"

#include <stdint.h>
#include <string.h>

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
    uint8_t buf[48];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, "", 0), 0u);
    assert_int_equal(f(0, "a", 1), 0xC1D04330u);
    memset(buf, 0, 32);
    assert_int_equal(f(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    assert_int_equal(f(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, 32), 0x113FDB5Cu);
    /* RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU. */
    static const uint8_t iscsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    assert_int_equal(f(0, iscsi, sizeof(iscsi)), 0xD9963A56u);
}

static void test_software_vectors(void **state)
{
    (void)state;
    check_vectors(crc32c_sw);
}

static void test_hardware_vectors(void **state)
{
    (void)state;
    if (!crc32c_hw_available()) {
        print_message("# no SSE4.2 on this CPU: hardware path not exercised\n");
        skip();
    }
    check_vectors(crc32c_hw);
}

static void test_dispatch_vectors(void **state)
{
    (void)state;
    check_vectors(crc32c);
}

/* Random lengths, offsets and split points: hw == sw, and chaining two
 * halves equals one pass. */
static void test_random_agreement_and_chaining(void **state)
{
    (void)state;
    tarn_rng rng;
    tarn_rng_seed(&rng, tarn_test_seed());
    uint8_t data[1024 + 8];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)tarn_rng_next(&rng);
    for (int iter = 0; iter < 2000; iter++) {
        size_t off = tarn_rng_below(&rng, 8);
        size_t len = tarn_rng_below(&rng, 1024);
        size_t split = len ? tarn_rng_below(&rng, len + 1) : 0;
        uint32_t whole = crc32c_sw(0, data + off, len);
        if (crc32c_hw_available())
            assert_int_equal(crc32c_hw(0, data + off, len), whole);
        uint32_t chained = crc32c(crc32c(0, data + off, split), data + off + split, len - split);
        assert_int_equal(chained, whole);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_software_vectors),
        cmocka_unit_test(test_hardware_vectors),
        cmocka_unit_test(test_dispatch_vectors),
        cmocka_unit_test(test_random_agreement_and_chaining),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
