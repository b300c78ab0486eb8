/*
 * tests/sim/test_linz_hist.c: the history checker the cluster chaos tests
 * run (linz_hist.h), fed JSON histories as the chaos clients write them. A
 * good history with overlapping puts, CAS increments, failed compares,
 * pending writes and stale serializable reads passes; doctored copies of it
 * (a stale linearizable read, a lost update, a failed CAS reporting a value
 * that was not current, a version that skips, a pending write that would
 * have to act before it was called) fail with the key's sub-history
 * printed; malformed input is refused.
 */
#include "common/test_util.h"

#include "linz_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checked {
    int rc;
    char *text; /* what the checker printed; free() */
} checked;

static checked check_json(const char *json)
{
    char *dir = tarn_test_mkdtemp("linz-hist");
    char path[4096];
    snprintf(path, sizeof(path), "%s/history.json", dir);
    tarn_test_write_file(path, json, strlen(json));
    checked c = {0};
    size_t len = 0;
    FILE *out = open_memstream(&c.text, &len);
    assert_non_null(out);
    c.rc = linz_hist_check_file(path, 0, out, NULL);
    fclose(out);
    print_message("    %s", c.text);
    tarn_test_rmdir(dir);
    return c;
}

static void expect(const char *json, int rc, const char *needle)
{
    checked c = check_json(json);
    assert_int_equal(c.rc, rc);
    if (needle)
        assert_non_null(strstr(c.text, needle));
    free(c.text);
}

/* A good history on two keys, times in ns. Key "r": blind puts of unique
 * values that report the version they made, overlapping linearizable
 * reads. Key "counter": CAS increments by version, one failed compare that
 * carried the current value, one CAS whose outcome the client never heard
 * (pending) but which a later read shows took effect, a pending put nobody
 * saw whose effect shows only in a later version number, and a stale
 * serializable read. */
#define GOOD_R                                                                                     \
    "{\"key\":\"r\",\"op\":\"read\",\"call\":100,\"ret\":200,\"value\":null,\"version\":0},"       \
    "{\"key\":\"r\",\"op\":\"put\",\"call\":300,\"ret\":900,\"value\":\"a\",\"version\":1},"       \
    "{\"key\":\"r\",\"op\":\"read\",\"call\":400,\"ret\":500,\"value\":null,\"version\":0},"       \
    "{\"key\":\"r\",\"op\":\"read\",\"call\":600,\"ret\":700,\"value\":\"a\",\"version\":1},"      \
    "{\"key\":\"r\",\"op\":\"put\",\"call\":1000,\"ret\":1100,\"value\":\"b\",\"version\":2},"     \
    "{\"key\":\"r\",\"op\":\"put\",\"call\":1200,\"ret\":null,\"value\":\"lost\"},"                \
    "{\"key\":\"r\",\"op\":\"put\",\"call\":1300,\"ret\":1400,\"value\":\"c\",\"version\":4},"     \
    "{\"key\":\"r\",\"op\":\"read\",\"call\":1500,\"ret\":1600,\"value\":\"a\",\"version\":1,"     \
    "\"consistency\":\"serializable\"},"
#define GOOD_COUNTER                                                                               \
    "{\"key\":\"counter\",\"op\":\"cas\",\"call\":100,\"ret\":150,\"value\":\"1\",\"expect\":0,"   \
    "\"version\":1,\"client\":1},"                                                                 \
    "{\"key\":\"counter\",\"op\":\"cas_failed\",\"call\":120,\"ret\":170,\"value\":\"1\","         \
    "\"expect\":0,\"version\":1,\"client\":2},"                                                    \
    "{\"key\":\"counter\",\"op\":\"cas\",\"call\":200,\"ret\":null,\"value\":\"2\",\"expect\":1,"  \
    "\"client\":1},"                                                                               \
    "{\"key\":\"counter\",\"op\":\"read\",\"call\":300,\"ret\":350,\"value\":\"2\",\"version\":2," \
    "\"client\":2},"                                                                               \
    "{\"key\":\"counter\",\"op\":\"cas\",\"call\":400,\"ret\":450,\"value\":\"3\",\"expect\":2,"   \
    "\"version\":3,\"client\":2}"

static void test_good_history_passes(void **state)
{
    (void)state;
    expect("{\"ops\":[" GOOD_R GOOD_COUNTER "]}", LINZ_HIST_OK, "linearizable");
}

static void test_stale_read_caught(void **state)
{
    (void)state;
    /* After put b (version 2) returned, a linearizable read sees a. */
    expect("{\"ops\":[" GOOD_R
           "{\"key\":\"r\",\"op\":\"read\",\"call\":1150,\"ret\":1180,\"value\":\"a\","
           "\"version\":1}," GOOD_COUNTER "]}",
           LINZ_HIST_VIOLATION, "read saw 'a' version 1   <-- no linearization gets past this");
}

static void test_lost_update_caught(void **state)
{
    (void)state;
    /* Two increments from version 2 both acknowledged. */
    expect("{\"ops\":[" GOOD_R GOOD_COUNTER
           ",{\"key\":\"counter\",\"op\":\"cas\",\"call\":500,\"ret\":550,\"value\":\"3b\","
           "\"expect\":2,\"version\":3}]}",
           LINZ_HIST_VIOLATION, "sub-history of key 'counter'");
}

static void test_failed_cas_with_wrong_value_caught(void **state)
{
    (void)state;
    /* The 409 claims value 1 at version 1 after version 3 was made. */
    expect("{\"ops\":[" GOOD_R GOOD_COUNTER
           ",{\"key\":\"counter\",\"op\":\"cas_failed\",\"call\":500,\"ret\":550,\"value\":\"1\","
           "\"expect\":2,\"version\":1}]}",
           LINZ_HIST_VIOLATION, "sub-history of key 'counter'");
}

static void test_version_skip_caught(void **state)
{
    (void)state;
    /* Without the pending put "lost" (called at 1200), put c cannot have
     * made version 4: moving that call after c returned breaks it. */
    char good[4096];
    snprintf(good, sizeof(good), "{\"ops\":[%s]}", GOOD_R);
    good[strlen(good) - 3] = ']'; /* drop the trailing comma */
    good[strlen(good) - 2] = '}';
    good[strlen(good) - 1] = '\0';
    expect(good, LINZ_HIST_OK, NULL);
    char *bad = strdup(good);
    char *at = strstr(bad, "\"call\":1200");
    assert_non_null(at);
    memcpy(at, "\"call\":1450", 11);
    expect(bad, LINZ_HIST_VIOLATION, "sub-history of key 'r'");
    free(bad);
}

static void test_read_of_unwritten_value_caught(void **state)
{
    (void)state;
    expect("{\"ops\":[{\"key\":\"k\",\"op\":\"read\",\"call\":1,\"ret\":2,\"value\":\"ghost\","
           "\"version\":1}]}",
           LINZ_HIST_VIOLATION, "nobody wrote");
}

static void test_ties_overlap(void **state)
{
    (void)state;
    /* A read called at the instant a put returned may see the old value:
     * equal times are read as overlapping, never as ordered. */
    expect("{\"ops\":[{\"key\":\"k\",\"op\":\"put\",\"call\":1,\"ret\":5,\"value\":\"x\","
           "\"version\":1},{\"key\":\"k\",\"op\":\"read\",\"call\":5,\"ret\":9,\"value\":null,"
           "\"version\":0}]}",
           LINZ_HIST_OK, NULL);
}

/* n pending puts nobody saw, all called before a put that reports version
 * `made` and a read that sees it: fine while made <= n + 1, a violation
 * above. Decided in linear time: such puts are interchangeable. */
static char *many_pending(int n, int made)
{
    size_t cap = (size_t)n * 96 + 512;
    char *j = malloc(cap);
    assert_non_null(j);
    size_t o = (size_t)snprintf(j, cap, "{\"ops\":[");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(j + o, cap - o,
                              "{\"key\":\"k\",\"op\":\"put\",\"call\":%d,\"ret\":null,"
                              "\"value\":\"p%d\"},",
                              10 + i, i);
    snprintf(j + o, cap - o,
             "{\"key\":\"k\",\"op\":\"put\",\"call\":1000,\"ret\":1100,\"value\":\"done\","
             "\"version\":%d},{\"key\":\"k\",\"op\":\"read\",\"call\":1200,\"ret\":1300,"
             "\"value\":\"done\",\"version\":%d}]}",
             made, made);
    return j;
}

static void test_many_pending_puts_decided_fast(void **state)
{
    (void)state;
    char *j = many_pending(60, 31);
    checked c = check_json(j);
    assert_int_equal(c.rc, LINZ_HIST_OK);
    free(c.text);
    free(j);
    j = many_pending(60, 62);
    c = check_json(j);
    assert_int_equal(c.rc, LINZ_HIST_VIOLATION);
    free(c.text);
    free(j);
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "{}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"frob\",\"call\":1,\"ret\":2,\"value\":null}]}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"put\",\"call\":1,\"ret\":2,\"value\":null}]}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"read\",\"call\":3,\"ret\":2,\"value\":null}]}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"cas\",\"call\":1,\"ret\":2,\"value\":\"v\"}]}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"put\",\"call\":1,\"ret\":2,\"value\":\"v\"},"
        "{\"key\":\"k\",\"op\":\"put\",\"call\":3,\"ret\":4,\"value\":\"v\"}]}",
        "{\"ops\":[{\"key\":\"k\",\"op\":\"read\",\"call\":1,\"ret\":2,\"value\":null,"
        "\"version\":-1}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect(bad[i], LINZ_HIST_BAD_INPUT, "linz_check:");
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_history_passes),
        cmocka_unit_test(test_stale_read_caught),
        cmocka_unit_test(test_lost_update_caught),
        cmocka_unit_test(test_failed_cas_with_wrong_value_caught),
        cmocka_unit_test(test_version_skip_caught),
        cmocka_unit_test(test_read_of_unwritten_value_caught),
        cmocka_unit_test(test_ties_overlap),
        cmocka_unit_test(test_many_pending_puts_decided_fast),
        cmocka_unit_test(test_bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
