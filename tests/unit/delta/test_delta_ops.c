/*
 * tests/unit/delta/test_delta_ops.c: Tarn's tables beyond create and
 * append: snapshots from the metadata service (a version accepted but not
 * yet published is visible; time travel by version and timestamp), and
 * the operations added on top of the write path.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "delta/delta.h"
#include "node/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
    char *dir;
    objstore *os;
    delta_committer c;
    tarn_manual_clock clock;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-ops");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    assert_int_equal(delta_committer_mem(&f->c), 0);
    /* Version 0's time is its log file's mtime: start at the real time. */
    f->clock.wall_ms = tarn_wall_ms() + 1000;
    f->clock.mono_ns = 1;
    tarn_clock ck = tarn_manual_clock_as_clock(&f->clock);
    tarn_clock_set(&ck);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tarn_clock_set(NULL);
    delta_committer_close(&f->c);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static const char *const col_names[] = {"id", "p", "s"};
static const delta_column cols[] = {{"id", {.id = VEC_I64}, false},
                                    {"p", {.id = VEC_STRING}, true},
                                    {"s", {.id = VEC_STRING}, true}};

/* Rows id = first..first+n-1; p = "a" for even ids, "b" for odd; s =
 * "s<id>". */
static void make_batch(vec_batch *b, int64_t first, uint32_t n)
{
    vec_type_info types[3] = {cols[0].type, cols[1].type, cols[2].type};
    assert_int_equal(vec_batch_init(b, types, 3, n), 0);
    for (uint32_t r = 0; r < n; r++) {
        int64_t id = first + r;
        ((int64_t *)b->cols[0].data)[r] = id;
        const char *p = id % 2 == 0 ? "a" : "b";
        assert_int_equal(vec_col_append_str(&b->cols[1], p, 1), 0);
        char s[32];
        snprintf(s, sizeof(s), "s%lld", (long long)id);
        assert_int_equal(vec_col_append_str(&b->cols[2], s, strlen(s)), 0);
    }
    for (int i = 0; i < 3; i++)
        b->cols[i].len = n;
    b->len = n;
}

static void create(fx *f, const char *name, bool partitioned)
{
    tarn_err err = TARN_ERR_INIT;
    static const char *const parts[] = {"p"};
    int rc = delta_create_table(&f->c, f->os, name, cols, 3, parts, partitioned ? 1 : 0, &err);
    if (rc != 0)
        print_error("create: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
}

static delta_snapshot *managed(fx *f, const char *name, int64_t version)
{
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int rc = version < 0 ? delta_managed_snapshot_latest(&f->c, f->os, name, &s, &err)
                         : delta_managed_snapshot_at_version(&f->c, f->os, name, version, &s, &err);
    if (rc != 0)
        print_error("snapshot %s@%lld: %s\n", name, (long long)version, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    return s;
}

/* Appends ids first..first+n-1 on the latest version; returns the version. */
static int64_t append_rows(fx *f, const char *name, int64_t first, uint32_t n)
{
    delta_snapshot *s = managed(f, name, -1);
    vec_batch b;
    make_batch(&b, first, n);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    int rc = delta_append(&f->c, f->os, name, s, &b, 1, NULL, &v, &err);
    if (rc != 0)
        print_error("append: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    vec_batch_free(&b);
    delta_snapshot_free(s);
    return v;
}

/* The sorted canonical rows of a snapshot. */
static void rows_of(fx *f, const char *name, const delta_snapshot *s, dt_rows *out)
{
    delta_table *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open_managed(f->os, name, &t, &err), 0);
    int rc = dt_snapshot_rows(t, s, out, &err);
    if (rc != 0)
        print_error("scan: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    dt_rows_sort(out);
    delta_table_close(t);
}

/* The canonical rows of ids in [first, last] for which keep(id) holds. */
static void want_rows(dt_rows *out, int64_t first, int64_t last, bool (*keep)(int64_t))
{
    for (int64_t id = first; id <= last; id++) {
        if (keep != NULL && !keep(id))
            continue;
        vec_batch b;
        make_batch(&b, id, 1);
        dt_rows_add_batch(out, &b, col_names);
        vec_batch_free(&b);
    }
    dt_rows_sort(out);
}

static void assert_rows(fx *f, const char *name, const delta_snapshot *s, int64_t first,
                        int64_t last, bool (*keep)(int64_t), const char *what)
{
    dt_rows got = {0}, want = {0};
    rows_of(f, name, s, &got);
    want_rows(&want, first, last, keep);
    dt_rows_assert_equal(&got, &want, what);
    dt_rows_free(&got);
    dt_rows_free(&want);
}

/* ---- snapshots from the metadata service ---------------------------------- */

static void test_managed_snapshots(void **state)
{
    fx *f = *state;
    create(f, "m", true);
    f->clock.wall_ms += 1000;
    assert_int_equal(append_rows(f, "m", 1, 4), 1);
    int64_t t1 = f->clock.wall_ms;
    f->clock.wall_ms += 1000;
    assert_int_equal(append_rows(f, "m", 5, 4), 2);
    int64_t t2 = f->clock.wall_ms;
    /* Version 3 accepted but its log file never written (the writer died). */
    f->clock.wall_ms += 1000;
    delta_snapshot *s2 = managed(f, "m", -1);
    vec_batch b;
    make_batch(&b, 9, 2);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    assert_int_equal(delta_append(&f->c, f->os, "m", s2, &b, 1,
                                  &(delta_append_opts){.crash_point = 2}, &v, &err),
                     TARN_EIO);
    assert_int_equal(v, 3);
    vec_batch_free(&b);
    /* The log's readers see version 2; the metadata service's see 3. */
    delta_table *t = NULL;
    delta_snapshot *logged = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/m", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &logged, &err), 0);
    assert_int_equal(logged->version, 2);
    delta_snapshot *s3 = managed(f, "m", -1);
    assert_int_equal(s3->version, 3);
    assert_int_equal(s3->nfiles, 6); /* two partitions per append */
    assert_rows(f, "m", s3, 1, 10, NULL, "latest from the catalog");
    /* The same snapshot as the log's where both exist. */
    assert_int_equal(logged->nfiles, s2->nfiles);
    for (size_t i = 0; i < s2->nfiles; i++)
        assert_string_equal(logged->files[i].path, s2->files[i].path);
    /* Time travel by version and by timestamp. */
    delta_snapshot *s1 = managed(f, "m", 1);
    assert_rows(f, "m", s1, 1, 4, NULL, "version 1");
    assert_int_equal(s1->timestamp_ms, t1);
    delta_snapshot *ts = NULL;
    assert_int_equal(delta_managed_snapshot_at_timestamp(&f->c, f->os, "m", t2 - 1, &ts, &err), 0);
    assert_int_equal(ts->version, 1);
    delta_snapshot_free(ts);
    assert_int_equal(delta_managed_snapshot_at_timestamp(&f->c, f->os, "m", t2, &ts, &err), 0);
    assert_int_equal(ts->version, 2);
    delta_snapshot_free(ts);
    assert_int_equal(delta_managed_snapshot_at_timestamp(&f->c, f->os, "m", INT64_MAX, &ts, &err),
                     0);
    assert_int_equal(ts->version, 3);
    delta_snapshot_free(ts);
    assert_int_equal(delta_managed_snapshot_at_version(&f->c, f->os, "m", 4, &ts, &err),
                     TARN_ENOENT);
    assert_non_null(strstr(tarn_err_msg(&err), "latest is 3"));
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "nope", &ts, &err), TARN_ENOENT);
    /* The log's time travel still works for versions it has. */
    delta_snapshot *l1 = NULL;
    assert_int_equal(delta_snapshot_at_version(t, 1, &l1, &err), 0);
    assert_int_equal(l1->nfiles, s1->nfiles);
    delta_snapshot_free(l1);
    delta_snapshot_free(logged);
    delta_snapshot_free(s1);
    delta_snapshot_free(s2);
    delta_snapshot_free(s3);
    delta_table_close(t);
}

/* The node + catalog committer answers reads the same way. */
static void test_managed_snapshots_node(void **state)
{
    fx *f = *state;
    char *data = tarn_test_mkdtemp("delta-ops-node");
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    tarn_err err = TARN_ERR_INIT;
    node *n = NULL;
    tarn_clock_set(NULL); /* the node's loop needs time to move */
    node_opts no = {.data_dir = data, .tick_ms = 2, .rng_seed = tarn_test_seed() | 1};
    assert_int_equal(node_open(&no, &reg, &n, &err), 0);
    assert_int_equal(node_wait_leader(n, 10000, &err), 0);
    delta_committer_close(&f->c);
    assert_int_equal(delta_committer_node(n, 10000, &f->c), 0);
    create(f, "nm", false);
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_rows(f, "nm", 1 + 3 * i, 3), i + 1);
    delta_snapshot *s = managed(f, "nm", -1);
    assert_int_equal(s->version, 3);
    assert_rows(f, "nm", s, 1, 9, NULL, "node latest");
    delta_snapshot *s1 = managed(f, "nm", 1);
    assert_rows(f, "nm", s1, 1, 3, NULL, "node version 1");
    delta_snapshot_free(s);
    delta_snapshot_free(s1);
    delta_committer_close(&f->c);
    node_close(n);
    tarn_test_rmdir(data);
    assert_int_equal(delta_committer_mem(&f->c), 0);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_managed_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_managed_snapshots_node, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
