/* Tests of base/buf: bounds, printf, JSON strings, out-of-memory. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/error.h"

#include <jansson.h>
#include <string.h>

static void test_append_and_bound(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, 10);
    assert_string_equal(tarn_buf_cstr(&b), "");
    assert_int_equal(tarn_buf_append_str(&b, "hello"), 0);
    assert_int_equal(tarn_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(tarn_buf_cstr(&b), "hello1234");
    assert_int_equal(tarn_buf_append_str(&b, "xy"), TARN_ETOOBIG);
    assert_string_equal(tarn_buf_cstr(&b), "hello1234"); /* unchanged */
    assert_int_equal(tarn_buf_append_byte(&b, '!'), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(tarn_buf_append_byte(&b, '!'), TARN_ETOOBIG);
    tarn_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(tarn_buf_printf(&b, "%s", "0123456789abc"), TARN_ETOOBIG);
    tarn_buf_free(&b);
}

static void test_long_printf(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(tarn_buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 1001);
    size_t len;
    uint8_t *p = tarn_buf_detach(&b, &len);
    assert_int_equal(len, 1001);
    assert_int_equal(b.len, 0);
    assert_int_equal(p[0], '<');
    tarn_free(p);
}

static void check_json_roundtrip(const char *in, size_t len, const char *expect)
{
    tarn_buf b;
    tarn_buf_init(&b, 4096);
    assert_int_equal(tarn_buf_append_json_str(&b, in, len), 0);
    json_error_t e;
    json_t *j = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, &e);
    if (j == NULL)
        fail_msg("not JSON: %s (%s)", tarn_buf_cstr(&b), e.text);
    assert_string_equal(json_string_value(j), expect);
    json_decref(j);
    tarn_buf_free(&b);
}

static void test_json_strings(void **state)
{
    (void)state;
    check_json_roundtrip("plain", 5, "plain");
    check_json_roundtrip("q\"b\\s\n\x01", 7, "q\"b\\s\n\x01");
    check_json_roundtrip("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac");
    /* Invalid UTF-8 (lone continuation, overlong, truncated) becomes U+FFFD. */
    check_json_roundtrip("a\x80z", 3, "a\xef\xbf\xbdz");
    check_json_roundtrip("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
    check_json_roundtrip("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd");
    check_json_roundtrip("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_json_string_too_big_leaves_nothing(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, 8);
    assert_int_equal(tarn_buf_append_str(&b, "ab"), 0);
    assert_int_equal(tarn_buf_append_json_str(&b, "0123456789", 10), TARN_ETOOBIG);
    assert_string_equal(tarn_buf_cstr(&b), "ab");
    tarn_buf_free(&b);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    assert_int_equal(tarn_buf_append_str(&b, "keep"), 0);
    tarn_alloc_fail_at(1, 1);
    char big[5000];
    memset(big, 'a', sizeof(big));
    assert_int_equal(tarn_buf_append(&b, big, sizeof(big)), TARN_ENOMEM);
    tarn_alloc_fail_at(0, 0);
    assert_string_equal(tarn_buf_cstr(&b), "keep");
    tarn_buf_free(&b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_bound),
        cmocka_unit_test(test_long_printf),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_json_string_too_big_leaves_nothing),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
