/*
 * tests/unit/delta/test_delta_acceptance.c: every Delta Acceptance case in
 * ../shared/data/delta-acceptance (tables Spark wrote), at every version
 * listed in its expected/ folder: the rows our snapshot and scan return
 * (all columns, partition columns included) equal table_content.parquet as
 * a multiset of typed rows, and the version, protocol and properties equal
 * table_version_metadata.json. The shared tables are only read: the object
 * store is opened on them and only get/list/head are called.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cases x versions checked, so that an empty or unreadable data folder
 * fails instead of passing vacuously (4 cases, 12 expected versions). */
#define EXPECTED_CHECKS_MIN 12

static void check_metadata(const char *dir, const delta_snapshot *s)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/table_version_metadata.json", dir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), s->version);
    assert_int_equal(json_integer_value(json_object_get(j, "min_reader_version")),
                     s->protocol.min_reader_version);
    assert_int_equal(json_integer_value(json_object_get(j, "min_writer_version")),
                     s->protocol.min_writer_version);
    json_t *props = json_object_get(j, "properties");
    assert_int_equal(json_object_size(props), s->metadata.configuration.count);
    for (size_t i = 0; i < s->metadata.configuration.count; i++) {
        json_t *v = json_object_get(props, s->metadata.configuration.keys[i]);
        assert_non_null(v);
        assert_string_equal(json_string_value(v), s->metadata.configuration.vals[i]);
    }
    json_decref(j);
}

/* One expected version ("v3" or "latest") of one case. */
static void check_version(const char *case_dir, const char *vname)
{
    char url[768], exp[768], what[800];
    snprintf(url, sizeof(url), "%s/delta", case_dir);
    snprintf(exp, sizeof(exp), "%s/expected/%s", case_dir, vname);
    snprintf(what, sizeof(what), "%s @ %s", case_dir, vname);
    tarn_err err = TARN_ERR_INIT;
    objstore *os = NULL;
    assert_int_equal(objstore_open(url, &os, &err), 0);
    delta_table *t = NULL;
    int rc = delta_table_open(os, "", &t, &err);
    delta_snapshot *s = NULL;
    if (rc == 0)
        rc = strcmp(vname, "latest") == 0
                 ? delta_snapshot_latest(t, &s, &err)
                 : delta_snapshot_at_version(t, strtoll(vname + 1, NULL, 10), &s, &err);
    dt_rows got = {0}, want = {0};
    if (rc == 0)
        rc = dt_snapshot_rows(t, s, &got, &err);
    if (rc != 0)
        print_error("%s: %s\n", what, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    check_metadata(exp, s);
    snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "/table_content.parquet");
    dt_parquet_rows(exp, &want);
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, what);
    print_message("ok: %s: version %lld, %zu files, %zu rows\n", what, (long long)s->version,
                  s->nfiles, got.n);
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(s);
    delta_table_close(t);
    objstore_close(os);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted subdirectory names of `dir` (malloc'd), skipping dot entries. */
static size_t list_dirs(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_name);
    return n;
}

static void test_every_case_every_version(void **state)
{
    (void)state;
    char *cases[64], *versions[64], path[512];
    size_t ncases = list_dirs(DELTA_ACCEPTANCE_DIR, cases, 64), checks = 0;
    for (size_t i = 0; i < ncases; i++) {
        snprintf(path, sizeof(path), "%s/%s/expected", DELTA_ACCEPTANCE_DIR, cases[i]);
        size_t nv = list_dirs(path, versions, 64);
        for (size_t k = 0; k < nv; k++) {
            snprintf(path, sizeof(path), "%s/%s", DELTA_ACCEPTANCE_DIR, cases[i]);
            check_version(path, versions[k]);
            checks++;
            free(versions[k]);
        }
        free(cases[i]);
    }
    print_message("%zu acceptance checks in %zu cases\n", checks, ncases);
    assert_true(checks >= EXPECTED_CHECKS_MIN);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_case_every_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
