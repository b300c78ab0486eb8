/* Tests of base/log: each line is one valid JSON object with the fields. */
#include "common/test_util.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"

#include <jansson.h>
#include <string.h>

typedef struct captured {
    char lines[8][TARN_LOG_LINE_MAX + 1];
    int count;
} captured;

static void capture(void *ctx, const char *line, size_t len)
{
    captured *c = ctx;
    if (c->count < 8) {
        memcpy(c->lines[c->count], line, len);
        c->lines[c->count][len] = 0;
        c->count++;
    }
}

static json_t *parse_line(const char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    if (j == NULL)
        fail_msg("log line is not JSON (%s): %s", e.text, line);
    return j;
}

static void test_line_shape(void **state)
{
    (void)state;
    captured c = {0};
    tarn_manual_clock mc = {.wall_ms = 1795341600123LL, .mono_ns = 0};
    tarn_clock clk = tarn_manual_clock_as_clock(&mc);
    tarn_clock_set(&clk);
    tarn_log_set_sink(capture, &c);
    TARN_LOGF(TARN_LOG_WARN, "wal", "torn tail \"truncated\"", TARN_F_STR("job", "j-1"),
              TARN_F_INT("task", -3), TARN_F_UINT("bytes", 4096), TARN_F_BOOL("retry", 1),
              TARN_F_DBL("ratio", 0.5), TARN_F_ERR(TARN_ECORRUPT), TARN_F_STR("none", NULL));
    tarn_log_set_sink(NULL, NULL);
    tarn_clock_set(NULL);
    assert_int_equal(c.count, 1);
    json_t *j = parse_line(c.lines[0]);
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2026-11-22T10:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "component")), "wal");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "torn tail \"truncated\"");
    assert_string_equal(json_string_value(json_object_get(j, "job")), "j-1");
    assert_int_equal(json_integer_value(json_object_get(j, "task")), -3);
    assert_int_equal(json_integer_value(json_object_get(j, "bytes")), 4096);
    assert_true(json_is_true(json_object_get(j, "retry")));
    assert_true(json_real_value(json_object_get(j, "ratio")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "TARN_ECORRUPT");
    assert_true(json_is_null(json_object_get(j, "none")));
    json_decref(j);
}

static void test_level_filter(void **state)
{
    (void)state;
    captured c = {0};
    tarn_log_set_sink(capture, &c);
    tarn_log_set_level(TARN_LOG_WARN);
    TARN_LOG(TARN_LOG_INFO, "x", "dropped");
    TARN_LOG(TARN_LOG_ERROR, "x", "kept");
    tarn_log_set_level(TARN_LOG_INFO);
    tarn_log_set_sink(NULL, NULL);
    assert_int_equal(c.count, 1);
    assert_non_null(strstr(c.lines[0], "\"kept\""));
    tarn_log_level l;
    assert_int_equal(tarn_log_level_parse("debug", &l), 0);
    assert_int_equal(l, TARN_LOG_DEBUG);
    assert_int_equal(tarn_log_level_parse("loud", &l), TARN_EINVAL);
}

static void test_control_bytes_escaped(void **state)
{
    (void)state;
    char line[512];
    tarn_log_format(line, sizeof(line), 0, TARN_LOG_INFO, "c", "a\nb\tc\x01\\",
                    (tarn_log_field[]){TARN_F_STR("k\"ey", "v")}, 1);
    json_t *j = parse_line(line);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "a\nb\tc\x01\\");
    assert_string_equal(json_string_value(json_object_get(j, "k\"ey")), "v");
    json_decref(j);
}

/* Overlong lines are cut but stay valid JSON and say so. */
static void test_truncation_keeps_json_valid(void **state)
{
    (void)state;
    static char big[10000];
    memset(big, '"', sizeof(big) - 1);
    for (size_t cap = TARN_LOG_LINE_MIN; cap < 600; cap += 37) {
        char line[600];
        tarn_log_format(line, cap, 0, TARN_LOG_INFO, "c", "m",
                        (tarn_log_field[]){TARN_F_STR("a", "short"), TARN_F_STR("big", big)}, 2);
        assert_true(strlen(line) < cap);
        json_t *j = parse_line(line);
        assert_true(json_is_true(json_object_get(j, "truncated")));
        json_decref(j);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_control_bytes_escaped),
        cmocka_unit_test(test_truncation_keeps_json_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
