/*
 * tests/unit/delta/test_delta_acceptance.c: every Delta Acceptance case in
 * ../shared/data/delta-acceptance (tables Spark wrote), at every version
 * listed in its expected/ folder: the rows our snapshot and scan return
 * (all columns, partition columns included) equal table_content.parquet as
 * a multiset of typed rows, and the version, protocol and properties equal
 * table_version_metadata.json. The shared tables are only read: the object
 * store is opened on them and only get/list/head are called. Then each
 * case is copied, checkpointed by us (tombstones of Spark's removes
 * included) with Spark's JSON deleted, and read back through our
 * checkpoint alone.
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

/* A copy of one case, checkpointed by us at its latest version (in two
 * parts) with Spark's JSON before it deleted: our reader rebuilds the
 * same files, tombstones and rows from our checkpoint alone. `now_ms`:
 * the time the tombstone retention counts back from. */
static size_t check_own_checkpoint(const char *case_dir, int64_t now_ms, bool expire)
{
    char *tmp = tarn_test_mkdtemp("delta-acc-cp"), cmd[2048], exp[768];
    snprintf(cmd, sizeof(cmd), "cp -r '%s/delta/.' '%s' && chmod -R u+w '%s'", case_dir, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    tarn_err err = TARN_ERR_INIT;
    objstore *os = NULL;
    delta_table *t = NULL;
    delta_snapshot *spark = NULL, *ours = NULL;
    assert_int_equal(objstore_open(tmp, &os, &err), 0);
    assert_int_equal(delta_table_open(os, "", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &spark, &err), 0);
    int64_t newest = 0;
    for (size_t i = 0; i < spark->ntombstones; i++)
        if (spark->tombstones[i].deletion_timestamp_ms > newest)
            newest = spark->tombstones[i].deletion_timestamp_ms;
    delta_checkpoint_opts o = {.parts = 2, .now_ms = expire ? now_ms : newest + 1};
    assert_int_equal(delta_checkpoint_write(os, "", spark, &o, &err), 0);
    for (int64_t v = 0; v <= spark->version; v++) {
        char key[64];
        snprintf(key, sizeof(key), "_delta_log/%020lld.json", (long long)v);
        assert_int_equal(objstore_del(os, key, &err), 0);
    }
    assert_int_equal(delta_snapshot_latest(t, &ours, &err), 0);
    assert_int_equal(ours->checkpoint_version, spark->version);
    assert_int_equal(ours->nfiles, spark->nfiles);
    for (size_t i = 0; i < ours->nfiles; i++) {
        assert_string_equal(ours->files[i].path, spark->files[i].path);
        assert_int_equal(ours->files[i].size_bytes, spark->files[i].size_bytes);
        assert_string_equal(ours->files[i].stats, spark->files[i].stats);
        for (size_t k = 0; k < spark->metadata.n_partition_columns; k++)
            if (spark->files[i].part_values[k] == NULL)
                assert_null(ours->files[i].part_values[k]);
            else
                assert_string_equal(ours->files[i].part_values[k], spark->files[i].part_values[k]);
    }
    /* Tombstones: all kept within the retention of the newest, none when
     * the checkpoint is written long after. */
    assert_int_equal(ours->ntombstones, expire ? 0 : spark->ntombstones);
    for (size_t i = 0; i < ours->ntombstones; i++) {
        const delta_file_action *a = &ours->tombstones[i], *b = &spark->tombstones[i];
        assert_string_equal(a->path, b->path);
        assert_int_equal(a->deletion_timestamp_ms, b->deletion_timestamp_ms);
        assert_int_equal(a->size_bytes, b->size_bytes);
        assert_int_equal(a->partition_values.count, b->partition_values.count);
    }
    dt_rows got = {0}, want = {0};
    assert_int_equal(dt_snapshot_rows(t, ours, &got, &err), 0);
    snprintf(exp, sizeof(exp), "%s/expected/latest/table_content.parquet", case_dir);
    dt_parquet_rows(exp, &want);
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, case_dir);
    print_message("ok: %s through our checkpoint: %zu files, %zu tombstones\n", case_dir,
                  ours->nfiles, ours->ntombstones);
    size_t kept = ours->ntombstones;
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(spark);
    delta_snapshot_free(ours);
    delta_table_close(t);
    objstore_close(os);
    tarn_test_rmdir(tmp);
    return kept;
}

static void test_every_case_through_our_checkpoint(void **state)
{
    (void)state;
    char *cases[64], path[512];
    size_t ncases = list_dirs(DELTA_ACCEPTANCE_DIR, cases, 64), tombstones = 0;
    for (size_t i = 0; i < ncases; i++) {
        snprintf(path, sizeof(path), "%s/%s", DELTA_ACCEPTANCE_DIR, cases[i]);
        tombstones += check_own_checkpoint(path, 0, false);
        check_own_checkpoint(path, INT64_C(1) << 50, true);
        free(cases[i]);
    }
    /* Spark removed files in some cases: their tombstones went through. */
    assert_true(ncases >= 4);
    assert_true(tombstones > 0);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_case_every_version),
        cmocka_unit_test(test_every_case_through_our_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
