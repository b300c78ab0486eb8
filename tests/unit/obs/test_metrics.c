/* Tests of obs/: registration rules, updates, the text exposition, and
 * that promtool accepts what we render. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/error.h"
#include "obs/obs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static obs_family *reg_family(obs_registry *r, obs_type t, const char *name, size_t nl,
                              const char *const *labels)
{
    obs_family *f = NULL;
    obs_family_opts o = {
        .type = t, .name = name, .help = "Help text.", .label_names = labels, .label_count = nl};
    assert_int_equal(obs_family_register(r, &o, &f), 0);
    return f;
}

static char *render(obs_registry *r)
{
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    assert_int_equal(obs_registry_render(r, &b), 0);
    size_t len;
    return (char *)tarn_buf_detach(&b, &len);
}

static void test_registration_rules(void **state)
{
    (void)state;
    obs_registry *r;
    assert_int_equal(obs_registry_new(&r), 0);
    obs_family *f;
    const char *lbl[] = {"route"};
    obs_family_opts bad_counter = {.type = OBS_COUNTER, .name = "requests", .help = "h"};
    assert_int_equal(obs_family_register(r, &bad_counter, &f), TARN_EINVAL);
    obs_family_opts bad_name = {.type = OBS_GAUGE, .name = "9lives", .help = "h"};
    assert_int_equal(obs_family_register(r, &bad_name, &f), TARN_EINVAL);
    const char *dup[] = {"a", "a"};
    obs_family_opts dup_labels = {
        .type = OBS_GAUGE, .name = "g", .help = "h", .label_names = dup, .label_count = 2};
    assert_int_equal(obs_family_register(r, &dup_labels, &f), TARN_EINVAL);
    const char *le[] = {"le"};
    obs_family_opts le_label = {
        .type = OBS_HISTOGRAM, .name = "h", .help = "h", .label_names = le, .label_count = 1};
    assert_int_equal(obs_family_register(r, &le_label, &f), TARN_EINVAL);
    double unsorted[] = {1, 0.5};
    obs_family_opts bad_buckets = {
        .type = OBS_HISTOGRAM, .name = "h", .help = "h", .buckets = unsorted, .bucket_count = 2};
    assert_int_equal(obs_family_register(r, &bad_buckets, &f), TARN_EINVAL);
    /* Same shape twice: the same family. Another shape: refused. */
    obs_family *a = reg_family(r, OBS_COUNTER, "x_total", 1, lbl);
    obs_family *b = reg_family(r, OBS_COUNTER, "x_total", 1, lbl);
    assert_ptr_equal(a, b);
    obs_family_opts other = {.type = OBS_GAUGE, .name = "x_total", .help = "h"};
    assert_int_equal(obs_family_register(r, &other, &f), TARN_EINVAL);
    obs_registry_free(r);
}

static void test_values_and_exposition(void **state)
{
    (void)state;
    obs_registry *r;
    assert_int_equal(obs_registry_new(&r), 0);
    const char *lbl[] = {"route", "status"};
    obs_family *c = reg_family(r, OBS_COUNTER, "tarn_test_requests_total", 2, lbl);
    obs_family *g = reg_family(r, OBS_GAUGE, "tarn_test_open", 0, NULL);
    double buckets[] = {0.1, 1};
    obs_family *h = NULL;
    obs_family_opts ho = {.type = OBS_HISTOGRAM,
                          .name = "tarn_test_seconds",
                          .help = "Latency.",
                          .buckets = buckets,
                          .bucket_count = 2};
    assert_int_equal(obs_family_register(r, &ho, &h), 0);

    obs_series_t *ok = obs_series(c, (const char *[]){"/v1/x", "200"});
    obs_series_t *odd = obs_series(c, (const char *[]){"a\"b\\c\nd", "500"});
    assert_ptr_equal(ok, obs_series(c, (const char *[]){"/v1/x", "200"}));
    obs_counter_add(ok, 2);
    obs_counter_add(ok, 3);
    obs_counter_add(odd, 1);
    obs_gauge_set(obs_series(g, NULL), 4);
    obs_gauge_add(obs_series(g, NULL), -1.5);
    obs_series_t *hs = obs_series(h, NULL);
    obs_histogram_observe(hs, 0.05);
    obs_histogram_observe(hs, 0.5);
    obs_histogram_observe(hs, 7);
    assert_int_equal(obs_counter_value(ok), 5);
    assert_true(obs_gauge_value(obs_series(g, NULL)) == 2.5);
    assert_int_equal(obs_histogram_count(hs), 3);
    assert_true(obs_histogram_sum(hs) == 7.55);

    char *text = render(r);
    assert_non_null(strstr(text, "# HELP tarn_test_requests_total Help text.\n"
                                 "# TYPE tarn_test_requests_total counter\n"
                                 "tarn_test_requests_total{route=\"/v1/x\",status=\"200\"} 5\n"));
    assert_non_null(strstr(text, "{route=\"a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"));
    assert_non_null(strstr(text, "tarn_test_open 2.5\n"));
    assert_non_null(strstr(text, "tarn_test_seconds_bucket{le=\"0.1\"} 1\n"
                                 "tarn_test_seconds_bucket{le=\"1\"} 2\n"
                                 "tarn_test_seconds_bucket{le=\"+Inf\"} 3\n"
                                 "tarn_test_seconds_sum 7.55\n"
                                 "tarn_test_seconds_count 3\n"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    tarn_free(text);
    obs_registry_free(r);
}

static void test_series_limit_and_null_safety(void **state)
{
    (void)state;
    obs_registry *r;
    assert_int_equal(obs_registry_new(&r), 0);
    const char *lbl[] = {"k"};
    obs_family *c = reg_family(r, OBS_COUNTER, "many_total", 1, lbl);
    char v[32];
    for (int i = 0; i < OBS_SERIES_MAX; i++) {
        snprintf(v, sizeof(v), "%d", i);
        assert_non_null(obs_series(c, (const char *[]){v}));
    }
    assert_null(obs_series(c, (const char *[]){"one-too-many"}));
    obs_counter_add(NULL, 1); /* accepted, does nothing */
    obs_gauge_set(NULL, 1);
    obs_histogram_observe(NULL, 1);
    char *text = render(r);
    assert_non_null(strstr(text, "tarn_obs_series_dropped_total 1\n"));
    tarn_free(text);
    /* Memory short while creating a series: NULL, not a crash. */
    tarn_alloc_fail_at(1, 1);
    obs_family *g = NULL;
    obs_family_opts go = {.type = OBS_GAUGE, .name = "g2", .help = "h"};
    assert_int_equal(obs_family_register(r, &go, &g), TARN_ENOMEM);
    tarn_alloc_fail_at(0, 0);
    obs_registry_free(r);
}

typedef struct {
    obs_series_t *s;
    obs_family *fam;
} race_arg;

static void *hammer(void *p)
{
    race_arg *a = p;
    for (int i = 0; i < 100000; i++)
        obs_counter_add(a->s, 1);
    for (int i = 0; i < 200; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i % 50);
        obs_counter_add(obs_series(a->fam, (const char *[]){v}), 1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    obs_registry *r;
    assert_int_equal(obs_registry_new(&r), 0);
    const char *lbl[] = {"k"};
    obs_family *c = reg_family(r, OBS_COUNTER, "race_total", 1, lbl);
    race_arg a = {obs_series(c, (const char *[]){"hot"}), c};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(obs_counter_value(a.s), 400000);
    assert_int_equal(obs_counter_value(obs_series(c, (const char *[]){"7"})), 16);
    obs_registry_free(r);
}

/* promtool (Debian's prometheus package) must accept our exposition. */
static void test_promtool_accepts(void **state)
{
    (void)state;
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        fail_msg("promtool not installed (scripts/setup installs prometheus)");
    obs_registry *r;
    assert_int_equal(obs_registry_new(&r), 0);
    const char *lbl[] = {"route", "status"};
    obs_counter_add(obs_series(reg_family(r, OBS_COUNTER, "tarn_a_total", 2, lbl),
                               (const char *[]){"/v1/\"q\"", "200"}),
                    3);
    obs_gauge_set(obs_series(reg_family(r, OBS_GAUGE, "tarn_open_items", 0, NULL), NULL), -0.25);
    obs_histogram_observe(obs_series(reg_family(r, OBS_HISTOGRAM, "tarn_c_seconds", 2, lbl),
                                     (const char *[]){"/x", "500"}),
                          0.003);
    char *text = render(r);
    char *dir = tarn_test_mkdtemp("promtool");
    char path[4200], cmd[8600];
    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    tarn_test_write_file(path, text, strlen(text));
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    int rc = system(cmd);
    tarn_free(text);
    tarn_test_rmdir(dir);
    obs_registry_free(r);
    assert_int_equal(rc, 0);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_values_and_exposition),
        cmocka_unit_test(test_series_limit_and_null_safety),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_promtool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
