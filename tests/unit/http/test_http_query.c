/* Tests of http/query: finding and decoding query-string parameters. */
#include "common/test_util.h"

#include "http/http.h"

#include <string.h>

static int get(const char *q, const char *name, char *out, size_t cap, size_t *len)
{
    return http_query_get(q, name, out, cap, len);
}

static void test_found_decoded(void **state)
{
    (void)state;
    char v[32];
    size_t len = 0;
    assert_int_equal(get("a=1&start=x%2Fy+z&limit=5", "start", v, sizeof(v), &len), 0);
    assert_string_equal(v, "x/y z");
    assert_int_equal(len, 5);
    assert_int_equal(get("a=1&limit=5", "limit", v, sizeof(v), &len), 0);
    assert_string_equal(v, "5");
    /* a bare name has the empty value */
    assert_int_equal(get("flag&x=1", "flag", v, sizeof(v), &len), 0);
    assert_int_equal(len, 0);
    /* %00 decodes to a NUL the caller can see through the length */
    assert_int_equal(get("k=a%00b", "k", v, sizeof(v), &len), 0);
    assert_int_equal(len, 3);
    assert_int_equal(memcmp(v, "a\0b", 3), 0);
}

static void test_names_match_whole(void **state)
{
    (void)state;
    char v[32];
    size_t len = 0;
    /* "limit" must not match "limitx" nor "xlimit" */
    assert_int_equal(get("limitx=1&xlimit=2", "limit", v, sizeof(v), &len), TARN_ENOENT);
    assert_int_equal(get(NULL, "limit", v, sizeof(v), &len), TARN_ENOENT);
    assert_int_equal(get("", "limit", v, sizeof(v), &len), TARN_ENOENT);
    /* the first occurrence wins */
    assert_int_equal(get("n=1&n=2", "n", v, sizeof(v), &len), 0);
    assert_string_equal(v, "1");
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    char v[4];
    size_t len = 0;
    assert_int_equal(get("k=%4", "k", v, sizeof(v), &len), TARN_EINVAL);
    assert_int_equal(get("k=%zz", "k", v, sizeof(v), &len), TARN_EINVAL);
    assert_int_equal(get("k=%", "k", v, sizeof(v), &len), TARN_EINVAL);
    /* cap 4 holds three bytes and the NUL */
    assert_int_equal(get("k=abc", "k", v, sizeof(v), &len), 0);
    assert_int_equal(get("k=abcd", "k", v, sizeof(v), &len), TARN_ETOOBIG);
    assert_int_equal(get("k=ab%41x", "k", v, sizeof(v), &len), TARN_ETOOBIG);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_decoded),
        cmocka_unit_test(test_names_match_whole),
        cmocka_unit_test(test_bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
