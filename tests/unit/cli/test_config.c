/* Tests of cli/config: defaults, the file format, flags and precedence,
 * and that bad input is an error naming where it is. */
#include "common/test_util.h"

#include "cli/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_defaults(void **state)
{
    (void)state;
    tarn_config c;
    tarn_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:7070");
    assert_string_equal(c.data_dir, "./tarn-data");
    assert_int_equal(c.max_body_bytes, 1 << 20);
    assert_int_equal(c.max_connections, 512);
    assert_int_equal(c.connection_timeout_s, 30);
    assert_int_equal(c.metrics_require_key, 0);
    assert_true(c.rate_read_per_s == 100 && c.burst_read == 200);
    assert_true(c.rate_admin_per_s == 50 && c.burst_admin == 100);
    assert_string_equal(c.log_level, "info");
}

static void test_sizes(void **state)
{
    (void)state;
    size_t v;
    assert_int_equal(tarn_config_parse_size("1048576", &v), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(tarn_config_parse_size("64KiB", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(tarn_config_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(tarn_config_parse_size("10B", &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(tarn_config_parse_size("1MB", &v), TARN_EINVAL);
    assert_int_equal(tarn_config_parse_size("-1", &v), TARN_EINVAL);
    assert_int_equal(tarn_config_parse_size("", &v), TARN_EINVAL);
    assert_int_equal(tarn_config_parse_size("99999999999999999999", &v), TARN_ERANGE);
    assert_int_equal(tarn_config_parse_size("17179869184GiB", &v), TARN_ERANGE);
}

static char *write_conf(const char *text)
{
    static char path[4300];
    char *dir = tarn_test_mkdtemp("conf");
    snprintf(path, sizeof(path), "%s/tarn.conf", dir);
    tarn_test_write_file(path, text, strlen(text));
    return dir;
}

static void test_file_and_flags_precedence(void **state)
{
    (void)state;
    char *dir = write_conf("# a comment\n"
                           "\n"
                           "listen = 127.0.0.1:9000   # trailing comment\n"
                           "data = \"/tmp/with # hash\"\n"
                           "max_body_bytes = 2MiB\n"
                           "metrics_require_key = true\n"
                           "log_level = warn\n");
    char path[4300];
    snprintf(path, sizeof(path), "%s/tarn.conf", dir);
    tarn_config c;
    tarn_config_defaults(&c);
    tarn_err err = TARN_ERR_INIT;
    /* The flag before --config still wins: the file is applied first. */
    char *argv[] = {"--listen=127.0.0.1:9100", "--config", path, "--max-connections", "7"};
    int help = 1;
    assert_int_equal(tarn_config_parse_args(&c, 5, argv, &help, &err), 0);
    assert_int_equal(help, 0);
    assert_string_equal(c.listen, "127.0.0.1:9100");
    assert_string_equal(c.data_dir, "/tmp/with # hash");
    assert_int_equal(c.max_body_bytes, 2 << 20);
    assert_int_equal(c.max_connections, 7);
    assert_int_equal(c.metrics_require_key, 1);
    assert_string_equal(c.log_level, "warn");
    tarn_test_rmdir(dir);
}

static void expect_file_error(const char *text, const char *needle)
{
    char *dir = write_conf(text);
    char path[4300];
    snprintf(path, sizeof(path), "%s/tarn.conf", dir);
    tarn_config c;
    tarn_config_defaults(&c);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(tarn_config_load_file(&c, path, &err), TARN_EINVAL);
    if (strstr(tarn_err_msg(&err), needle) == NULL)
        fail_msg("error '%s' does not contain '%s'", tarn_err_msg(&err), needle);
    tarn_test_rmdir(dir);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_file_error("listen = x:1\nbogus = 1\n", "tarn.conf:2: unknown option 'bogus'");
    expect_file_error("max_body_bytes = lots\n",
                      "tarn.conf:1: max_body_bytes: 'lots' is not a size");
    expect_file_error("\n\njust words\n", "tarn.conf:3: expected 'key = value'");
    expect_file_error("data = \"unterminated\n", "tarn.conf:1: data: unterminated");
    expect_file_error("log_level = chatty\n", "log_level: 'chatty' is not debug, info");
    expect_file_error("metrics_require_key = maybe\n", "is not true or false");
    expect_file_error("rate_read_per_s = -5\n", "rate_read_per_s: '-5' is not a number >= 0");
    expect_file_error("listen =\n", "listen: '' is not text");
}

static void test_bad_flags(void **state)
{
    (void)state;
    tarn_config c;
    tarn_config_defaults(&c);
    tarn_err err = TARN_ERR_INIT;
    int help;
    char *a1[] = {"--nope", "1"};
    assert_int_equal(tarn_config_parse_args(&c, 2, a1, &help, &err), TARN_ENOENT);
    assert_string_equal(tarn_err_msg(&err), "unknown option 'nope'");
    char *a2[] = {"--listen"};
    assert_int_equal(tarn_config_parse_args(&c, 1, a2, &help, &err), TARN_EINVAL);
    assert_string_equal(tarn_err_msg(&err), "option --listen needs a value");
    char *a3[] = {"stray"};
    assert_int_equal(tarn_config_parse_args(&c, 1, a3, &help, &err), TARN_EINVAL);
    char *a4[] = {"--config", "/nonexistent/tarn.conf"};
    assert_int_equal(tarn_config_parse_args(&c, 2, a4, &help, &err), TARN_ENOENT);
    char *a5[] = {"--nope", "--help"};
    assert_int_equal(tarn_config_parse_args(&c, 2, a5, &help, &err), 0);
    assert_int_equal(help, 1);
}

static void test_help_lists_every_option(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("help");
    char path[4300];
    snprintf(path, sizeof(path), "%s/help.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    tarn_config_print_help(f);
    fclose(f);
    char *text = tarn_test_read_file(path, NULL);
    const char *flags[] = {"--listen",
                           "--data",
                           "--max-body-bytes",
                           "--max-connections",
                           "--connection-timeout-s",
                           "--http-threads",
                           "--metrics-require-key",
                           "--rate-read-per-s",
                           "--burst-admin",
                           "--log-level",
                           "--config"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strstr(text, flags[i]) == NULL)
            fail_msg("help does not list %s", flags[i]);
    assert_non_null(strstr(text, "127.0.0.1:7070"));
    free(text);
    tarn_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_file_and_flags_precedence),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
