/* Tests of base/hash: SHA-256 vectors (FIPS 180-2), constant-time compare,
 * hex. */
#include "common/test_util.h"

#include "base/error.h"
#include "base/hash.h"

#include <string.h>

static void sha_hex(const char *in, char out[65])
{
    uint8_t d[TARN_SHA256_BYTES];
    tarn_sha256(in, strlen(in), d);
    tarn_hex_encode(d, sizeof(d), out);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char h[65];
    sha_hex("", h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex("abc", h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(tarn_ct_equal("abcd", "abcd", 4));
    assert_false(tarn_ct_equal("abcd", "abce", 4));
    assert_false(tarn_ct_equal("xbcd", "abcd", 4));
    assert_true(tarn_ct_equal("", "", 0));
}

static void test_hex_roundtrip_and_errors(void **state)
{
    (void)state;
    uint8_t in[4] = {0x00, 0x7f, 0x80, 0xff}, out[4];
    char hex[9];
    tarn_hex_encode(in, 4, hex);
    assert_string_equal(hex, "007f80ff");
    assert_int_equal(tarn_hex_decode("007F80fF", 8, out, 4), 0);
    assert_memory_equal(in, out, 4);
    assert_int_equal(tarn_hex_decode("007f80f", 7, out, 4), TARN_EINVAL);
    assert_int_equal(tarn_hex_decode("007g80ff", 8, out, 4), TARN_EINVAL);
}

static void test_hash64_spreads(void **state)
{
    (void)state;
    /* Deterministic, seed-dependent, and no collisions over small keys. */
    assert_int_equal(tarn_hash64("key", 3, 1), tarn_hash64("key", 3, 1));
    assert_int_not_equal(tarn_hash64("key", 3, 1), tarn_hash64("key", 3, 2));
    assert_int_not_equal(tarn_hash64("", 0, 0), tarn_hash64("\0", 1, 0));
    /* An empty string may have no bytes at all (UBSan: memcpy from NULL). */
    assert_int_equal(tarn_hash64(NULL, 0, 7), tarn_hash64("", 0, 7));
    uint64_t seen[4096];
    for (uint32_t i = 0; i < 4096; i++) {
        seen[i] = tarn_hash64(&i, sizeof(i), 7);
        for (uint32_t j = 0; j < i; j++)
            assert_int_not_equal(seen[i], seen[j]);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_hex_roundtrip_and_errors),
        cmocka_unit_test(test_hash64_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
