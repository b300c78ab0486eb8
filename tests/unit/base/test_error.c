/* Tests of base/error: the code table and the error context. */
#include "common/test_util.h"

#include "base/error.h"

#include <errno.h>
#include <string.h>

static void test_table_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(tarn_error_name(TARN_ENOMEM), "TARN_ENOMEM");
    assert_string_equal(tarn_strerror(TARN_ENOMEM), "out of memory");
    assert_string_equal(tarn_strerror(TARN_OK), "success");
    assert_string_equal(tarn_error_name(-9999), "TARN_EUNKNOWN");
    assert_string_equal(tarn_strerror(12345), "unknown error");
    /* Every code in the table is negative (except OK) and distinct. */
    int codes[] = {
#define X(name, value, msg) value,
        TARN_ERROR_TABLE(X)
#undef X
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] <= 0);
        assert_string_not_equal(tarn_error_name(codes[i]), "TARN_EUNKNOWN");
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void test_errno_mapping(void **state)
{
    (void)state;
    assert_int_equal(tarn_err_from_errno(0), TARN_OK);
    assert_int_equal(tarn_err_from_errno(ENOENT), TARN_ENOENT);
    assert_int_equal(tarn_err_from_errno(EEXIST), TARN_EEXIST);
    assert_int_equal(tarn_err_from_errno(ENOSPC), TARN_ETOOBIG);
    assert_int_equal(tarn_err_from_errno(EIO), TARN_EIO);
    assert_int_equal(tarn_err_from_errno(EACCES), TARN_EFORBIDDEN);
}

static int read_footer(tarn_err *err)
{
    return tarn_err_set(err, TARN_EIO, "short read at %d", 4096);
}

static int open_table(tarn_err *err, const char *name)
{
    int rc = read_footer(err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "open table %s", name);
    return 0;
}

static void test_context_chain(void **state)
{
    (void)state;
    tarn_err err = TARN_ERR_INIT;
    int rc = open_table(&err, "t");
    assert_int_equal(rc, TARN_EIO);
    assert_int_equal(err.code, TARN_EIO);
    assert_string_equal(tarn_err_msg(&err), "open table t: short read at 4096");
    tarn_err_clear(&err);
    assert_int_equal(err.code, TARN_OK);
    assert_string_equal(tarn_err_msg(&err), "success");
    /* NULL contexts are allowed and still return the code. */
    assert_int_equal(open_table(NULL, "t"), TARN_EIO);
}

static void test_wrap_bare_code(void **state)
{
    (void)state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(tarn_err_wrap(&err, TARN_ENOMEM, "load keys"), TARN_ENOMEM);
    assert_string_equal(tarn_err_msg(&err), "load keys: out of memory");
}

static void test_long_messages_are_cut(void **state)
{
    (void)state;
    tarn_err err = TARN_ERR_INIT;
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    tarn_err_set(&err, TARN_EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), TARN_ERR_MSG_MAX - 1);
    assert_string_equal(err.msg + TARN_ERR_MSG_MAX - 4, "...");
    for (int i = 0; i < 20; i++)
        tarn_err_wrap(&err, TARN_EINVAL, "layer %d", i);
    assert_int_equal(strlen(err.msg), TARN_ERR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "layer 19: ", 10);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_names_and_messages),
        cmocka_unit_test(test_errno_mapping),
        cmocka_unit_test(test_context_chain),
        cmocka_unit_test(test_wrap_bare_code),
        cmocka_unit_test(test_long_messages_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
