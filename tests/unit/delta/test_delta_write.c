/*
 * tests/unit/delta/test_delta_write.c: the write path: create and append
 * (partitioned or not) read back through snapshots and scans, the stats
 * JSON against the data, stale bases (conflict, no log file, files
 * removed), rebasing, retried txn ids, crash points (after the upload,
 * after the commit), pending-log completion, the node-backed committer,
 * and out-of-memory over create + append.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
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
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-write");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    assert_int_equal(delta_committer_mem(&f->c), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    delta_committer_close(&f->c);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static const char *const col_names[] = {"id", "name", "x", "d"};
static const delta_column cols[] = {{"id", {.id = VEC_I64}, false},
                                    {"name", {.id = VEC_STRING}, true},
                                    {"x", {.id = VEC_F64}, true},
                                    {"d", {.id = VEC_DATE}, true}};

/* Rows id = first..first+n-1; name "n<id%3>" (null when id%4 == 0);
 * x = id / 2.0; d = id days. */
static void make_batch(vec_batch *b, int64_t first, uint32_t n)
{
    vec_type_info types[4];
    for (int i = 0; i < 4; i++)
        types[i] = cols[i].type;
    assert_int_equal(vec_batch_init(b, types, 4, n), 0);
    for (uint32_t r = 0; r < n; r++) {
        int64_t id = first + r;
        ((int64_t *)b->cols[0].data)[r] = id;
        char s[16];
        snprintf(s, sizeof(s), "n%lld", (long long)(id % 3));
        assert_int_equal(vec_col_append_str(&b->cols[1], s, strlen(s)), 0);
        if (id % 4 == 0)
            assert_int_equal(vec_col_set_null(&b->cols[1], r), 0);
        ((double *)b->cols[2].data)[r] = (double)id / 2.0;
        ((int32_t *)b->cols[3].data)[r] = (int32_t)id;
    }
    for (int i = 0; i < 4; i++)
        b->cols[i].len = n;
    b->len = n;
}

/* Reopens *t (closing the previous handle) and takes its latest snapshot
 * (owned by the caller; it outlives the handle). */
static delta_snapshot *latest(fx *f, const char *root, delta_table **t)
{
    delta_table_close(*t);
    *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_table_open(f->os, root, t, &err);
    delta_snapshot *s = NULL;
    if (rc == 0)
        rc = delta_snapshot_latest(*t, &s, &err);
    if (rc != 0)
        print_error("%s: %s\n", root, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    return s;
}

static void create(fx *f, const char *name, const delta_column *c, size_t n,
                   const char *const *parts, size_t nparts)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_create_table(&f->c, f->os, name, c, n, parts, nparts, &err);
    if (rc != 0)
        print_error("create: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
}

static int append(fx *f, const char *name, const delta_snapshot *base, const vec_batch *b,
                  size_t nb, const delta_append_opts *o, int64_t *v, tarn_err *err)
{
    int rc = delta_append(&f->c, f->os, name, base, b, nb, o, v, err);
    return rc;
}

static bool key_exists(fx *f, const char *key)
{
    objstore_info info;
    return objstore_head(f->os, key, &info, NULL) == 0;
}

/* Keys under a prefix that end in ".parquet". */
static size_t count_parquet(fx *f, const char *prefix)
{
    objstore_list_page pg;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_list(f->os, prefix, NULL, OBJSTORE_LIST_MAX, &pg, &err), 0);
    size_t n = 0;
    for (size_t i = 0; i < pg.count; i++) {
        const char *k = pg.entries[i].key;
        n += strlen(k) > 8 && strcmp(k + strlen(k) - 8, ".parquet") == 0;
    }
    objstore_list_page_free(&pg);
    return n;
}

/* DuckDB (data/duckdb_check.mjs) reads the snapshot's data files and
 * must find the aggregates of ids 1..15 as make_batch built them. */
static void duckdb_check(fx *f, const delta_snapshot *s)
{
    /* The oracle is installed in the checkout (npm), not in exports of it. */
    if (system("command -v node >/dev/null 2>&1") != 0 ||
        access(DELTA_REPO_ROOT "/node_modules/@duckdb/node-api", F_OK) != 0) {
        print_message("node or @duckdb/node-api not found: DuckDB check skipped\n");
        return;
    }
    char cmd[8192];
    int n = snprintf(cmd, sizeof(cmd),
                     "cd '%s' && node tests/unit/delta/data/duckdb_check.mjs "
                     "'{\"count\":15,\"sum_id\":120,\"count_name\":12,"
                     "\"min_d\":\"1970-01-02\",\"max_d\":\"1970-01-16\",\"sum_x\":60}'",
                     DELTA_REPO_ROOT);
    for (size_t i = 0; i < s->nfiles; i++)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " '%s/tables/t/%s'", f->dir,
                      s->files[i].path);
    assert_true((size_t)n < sizeof(cmd));
    assert_int_equal(system(cmd), 0);
}

/* Create, two appends, read back: versions, files, rows, stats, and each
 * data file read alone by the Parquet reader. */
static void test_roundtrip_unpartitioned(void **state)
{
    fx *f = *state;
    create(f, "t", cols, 4, NULL, 0);
    assert_true(key_exists(f, "tables/t/_delta_log/00000000000000000000.json"));
    delta_table *t = NULL;
    delta_snapshot *s0 = latest(f, "tables/t", &t);
    assert_int_equal(s0->version, 0);
    assert_int_equal(s0->nfiles, 0);
    assert_int_equal(s0->metadata.schema.ntop, 4);
    vec_batch b[2];
    make_batch(&b[0], 1, 10);
    make_batch(&b[1], 11, 5);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    assert_int_equal(append(f, "t", s0, b, 1, NULL, &v, &err), 0);
    assert_int_equal(v, 1);
    delta_snapshot *s1 = latest(f, "tables/t", &t);
    assert_int_equal(append(f, "t", s1, &b[1], 1, NULL, &v, &err), 0);
    assert_int_equal(v, 2);
    delta_snapshot *s2 = latest(f, "tables/t", &t);
    assert_int_equal(s2->version, 2);
    assert_int_equal(s2->nfiles, 2);
    dt_rows got = {0}, want = {0};
    assert_int_equal(dt_snapshot_rows(t, s2, &got, &err), 0);
    dt_rows_add_batch(&want, &b[0], col_names);
    dt_rows_add_batch(&want, &b[1], col_names);
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "appended rows");
    dt_rows_free(&got);
    /* Each file alone, by path, holds one append's rows. */
    dt_rows file_rows = {0};
    for (size_t i = 0; i < s2->nfiles; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/tables/t/%s", f->dir, s2->files[i].path);
        dt_parquet_rows(path, &file_rows);
        assert_true(strncmp(s2->files[i].path, "part-", 5) == 0);
    }
    assert_int_equal(file_rows.n, 15);
    dt_rows_free(&file_rows);
    dt_rows_free(&want);
    /* Stats of the 10-row file (ids 1..10): exact min, max, null counts. */
    const delta_file *big = NULL;
    for (size_t i = 0; i < s2->nfiles; i++) {
        delta_stats st;
        assert_int_equal(delta_stats_parse(s2->files[i].stats, &st, &err), 0);
        if (st.num_records == 10) {
            big = &s2->files[i];
            assert_string_equal(delta_stats_find(&st, "id")->min, "1");
            assert_string_equal(delta_stats_find(&st, "id")->max, "10");
            assert_int_equal(delta_stats_find(&st, "id")->null_count, 0);
            assert_int_equal(delta_stats_find(&st, "name")->null_count, 2); /* ids 4, 8 */
            assert_string_equal(delta_stats_find(&st, "name")->min, "\"n0\"");
            assert_string_equal(delta_stats_find(&st, "name")->max, "\"n2\"");
            assert_string_equal(delta_stats_find(&st, "x")->max, "5");
            assert_string_equal(delta_stats_find(&st, "d")->min, "\"1970-01-02\"");
            assert_string_equal(delta_stats_find(&st, "d")->max, "\"1970-01-11\"");
        } else {
            assert_int_equal(st.num_records, 5);
        }
        delta_stats_free(&st);
    }
    assert_non_null(big);
    duckdb_check(f, s2);
    delta_snapshot_free(s0);
    delta_snapshot_free(s1);
    delta_snapshot_free(s2);
    delta_table_close(t);
    vec_batch_free(&b[0]);
    vec_batch_free(&b[1]);
}

/* Partition columns become directories (escaped, null as
 * __HIVE_DEFAULT_PARTITION__) and come back from the log typed. */
static void test_roundtrip_partitioned(void **state)
{
    fx *f = *state;
    static const char *const pnames[] = {"p", "k", "v"};
    const delta_column pc[] = {{"p", {.id = VEC_STRING}, true},
                               {"k", {.id = VEC_I32}, true},
                               {"v", {.id = VEC_I64}, false}};
    create(f, "pt", pc, 3, (const char *[]){"p", "k"}, 2);
    delta_table *t = NULL;
    delta_snapshot *s0 = latest(f, "tables/pt", &t);
    vec_batch b;
    vec_type_info types[3] = {pc[0].type, pc[1].type, pc[2].type};
    assert_int_equal(vec_batch_init(&b, types, 3, 8), 0);
    static const char *const ps[] = {"a", "x/y %", "a", NULL, "a", "x/y %", NULL, "a"};
    for (uint32_t r = 0; r < 8; r++) {
        const char *p = ps[r] ? ps[r] : "z";
        assert_int_equal(vec_col_append_str(&b.cols[0], p, strlen(p)), 0);
        if (ps[r] == NULL)
            assert_int_equal(vec_col_set_null(&b.cols[0], r), 0);
        ((int32_t *)b.cols[1].data)[r] = (int32_t)(r % 2);
        ((int64_t *)b.cols[2].data)[r] = 100 + r;
    }
    b.cols[0].len = b.cols[1].len = b.cols[2].len = b.len = 8;
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    assert_int_equal(append(f, "pt", s0, &b, 1, NULL, &v, &err), 0);
    delta_snapshot *s1 = latest(f, "tables/pt", &t);
    /* (a,0) (x/y %,1) (null,1) (null,0) (a,1): one file each. */
    assert_int_equal(s1->nfiles, 5);
    bool saw_escaped = false, saw_null = false;
    for (size_t i = 0; i < s1->nfiles; i++) {
        saw_escaped |= strncmp(s1->files[i].path, "p=x%2Fy%20%25/k=1/", 18) == 0;
        saw_null |= strncmp(s1->files[i].path, "p=__HIVE_DEFAULT_PARTITION__/k=", 31) == 0;
        if (strncmp(s1->files[i].path, "p=x", 3) == 0)
            assert_string_equal(s1->files[i].part_values[0], "x/y %");
    }
    assert_true(saw_escaped);
    assert_true(saw_null);
    assert_int_equal(count_parquet(f, "tables/pt/p=x%2Fy%20%25/"), 1);
    dt_rows got = {0}, want = {0};
    assert_int_equal(dt_snapshot_rows(t, s1, &got, &err), 0);
    dt_rows_add_batch(&want, &b, pnames);
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "partitioned rows");
    dt_rows_free(&got);
    dt_rows_free(&want);
    vec_batch_free(&b);
    delta_snapshot_free(s0);
    delta_snapshot_free(s1);
    delta_table_close(t);
}

/* A stale base is a conflict naming the latest version: nothing is
 * committed, no log file appears, the uploaded files are removed. With
 * rebasing allowed the same append lands on the latest version. A retried
 * txn id answers the first version and adds nothing. */
static void test_conflict_rebase_and_retry(void **state)
{
    fx *f = *state;
    create(f, "t", cols, 4, NULL, 0);
    delta_table *t = NULL;
    delta_snapshot *s0 = latest(f, "tables/t", &t);
    vec_batch b;
    make_batch(&b, 1, 4);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    delta_append_opts once = {.txn_id = "writer-a"};
    assert_int_equal(append(f, "t", s0, &b, 1, &once, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(count_parquet(f, "tables/t/part-"), 1);
    /* Writer B still on version 0. */
    assert_int_equal(append(f, "t", s0, &b, 1, NULL, &v, &err), TARN_ECONFLICT);
    assert_int_equal(v, 1);
    assert_false(key_exists(f, "tables/t/_delta_log/00000000000000000002.json"));
    assert_int_equal(count_parquet(f, "tables/t/part-"), 1);
    assert_int_equal(append(f, "t", s0, &b, 1, &(delta_append_opts){.rebase_max = 2}, &v, &err), 0);
    assert_int_equal(v, 2);
    /* Writer A retries its first append (its reply was lost). */
    assert_int_equal(append(f, "t", s0, &b, 1, &once, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_false(key_exists(f, "tables/t/_delta_log/00000000000000000003.json"));
    assert_int_equal(count_parquet(f, "tables/t/part-"), 2);
    delta_snapshot *s = latest(f, "tables/t", &t);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->nfiles, 2);
    delta_snapshot_free(s);
    delta_snapshot_free(s0);
    delta_table_close(t);
    vec_batch_free(&b);
}

/* Killed after the upload: the files exist but no version names them.
 * Killed after the commit: the metadata service has the version, the log
 * does not until delta_finish_pending_logs writes it (once). A log file
 * written before the writer could mark it (same bytes) is accepted; one
 * with other bytes is corruption. */
static void test_crash_points_and_pending_logs(void **state)
{
    fx *f = *state;
    create(f, "t", cols, 4, NULL, 0);
    delta_table *t = NULL;
    delta_snapshot *s0 = latest(f, "tables/t", &t);
    vec_batch b;
    make_batch(&b, 1, 6);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    assert_int_equal(append(f, "t", s0, &b, 1, &(delta_append_opts){.crash_point = 1}, &v, &err),
                     TARN_EIO);
    assert_int_equal(count_parquet(f, "tables/t/part-"), 1);
    delta_snapshot *s = latest(f, "tables/t", &t);
    assert_int_equal(s->version, 0);
    assert_int_equal(s->nfiles, 0);
    delta_snapshot_free(s);
    size_t done = 9;
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 0);

    assert_int_equal(append(f, "t", s0, &b, 1, &(delta_append_opts){.crash_point = 2}, &v, &err),
                     TARN_EIO);
    assert_int_equal(v, 1);
    const char *log1 = "tables/t/_delta_log/00000000000000000001.json";
    assert_false(key_exists(f, log1));
    /* The log file appears, but a writer on version 0 still conflicts:
     * the metadata service, not the log, decides. */
    assert_int_equal(append(f, "t", s0, &b, 1, NULL, &v, &err), TARN_ECONFLICT);
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 1);
    assert_true(key_exists(f, log1));
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 0);
    s = latest(f, "tables/t", &t);
    assert_int_equal(s->version, 1);
    assert_int_equal(s->nfiles, 1);
    dt_rows got = {0}, want = {0};
    assert_int_equal(dt_snapshot_rows(t, s, &got, &err), 0);
    dt_rows_add_batch(&want, &b, col_names);
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "rows after the finished log write");
    dt_rows_free(&got);
    dt_rows_free(&want);

    /* Crash after the commit again; this time the log file got written
     * (same bytes) but not marked: finishing accepts it. */
    assert_int_equal(append(f, "t", s, &b, 1, &(delta_append_opts){.crash_point = 2}, &v, &err),
                     TARN_EIO);
    delta_pending *p = NULL;
    size_t np = 0;
    assert_int_equal(f->c.pending(f->c.ctx, &p, &np, &err), 0);
    assert_int_equal(np, 1);
    assert_int_equal(p[0].version, 2);
    const char *log2 = "tables/t/_delta_log/00000000000000000002.json";
    assert_int_equal(objstore_put(f->os, log2, p[0].actions, p[0].actions_len, &err), 0);
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 1);
    /* Other bytes under a committed version's name: refused. */
    assert_int_equal(
        append(f, "t", s, &b, 1, &(delta_append_opts){.crash_point = 2, .rebase_max = 1}, &v, &err),
        TARN_EIO);
    assert_int_equal(v, 3);
    assert_int_equal(
        objstore_put(f->os, "tables/t/_delta_log/00000000000000000003.json", "{}\n", 3, &err), 0);
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), TARN_ECORRUPT);
    delta_pending_free(p, np);
    delta_snapshot_free(s);
    delta_snapshot_free(s0);
    delta_table_close(t);
    vec_batch_free(&b);
}

/* A creator that died after the metadata service recorded version 0:
 * the pending pass writes a version 0 the reader accepts. */
static void test_pending_create(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    uint64_t id = 0;
    const char *schema = "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\","
                         "\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":\"string\","
                         "\"nullable\":true,\"metadata\":{}}]}";
    assert_int_equal(f->c.create(f->c.ctx, "c", schema, (const char *[]){"p"}, 1, &id, &err), 0);
    assert_int_equal(delta_create_table(&f->c, f->os, "c", cols, 4, NULL, 0, &err), TARN_EEXIST);
    size_t done = 0;
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 1);
    delta_table *t = NULL;
    delta_snapshot *s = latest(f, "tables/c", &t);
    assert_int_equal(s->version, 0);
    assert_string_equal(s->metadata.schema_string, schema);
    assert_int_equal(s->metadata.n_partition_columns, 1);
    assert_string_equal(s->metadata.partition_columns[0], "p");
    delta_snapshot_free(s);
    delta_table_close(t);
    /* Bad requests. */
    assert_int_equal(delta_create_table(&f->c, f->os, "1x", cols, 4, NULL, 0, &err), TARN_EINVAL);
    assert_int_equal(delta_create_table(&f->c, f->os, "y", cols, 4, (const char *[]){"x"}, 1, &err),
                     TARN_ENOTSUP); /* a double partition column */
    assert_int_equal(delta_create_table(&f->c, f->os, "y", cols, 4, (const char *[]){"q"}, 1, &err),
                     TARN_EINVAL);
}

/* The same protocol through the metadata service: a single-voter node
 * with the catalog commands. */
static void test_node_committer(void **state)
{
    fx *f = *state;
    char *data = tarn_test_mkdtemp("delta-node");
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    tarn_err err = TARN_ERR_INIT;
    node *n = NULL;
    node_opts no = {.data_dir = data, .tick_ms = 2, .rng_seed = tarn_test_seed() | 1};
    assert_int_equal(node_open(&no, &reg, &n, &err), 0);
    assert_int_equal(node_wait_leader(n, 10000, &err), 0);
    delta_committer_close(&f->c);
    assert_int_equal(delta_committer_node(n, 10000, &f->c), 0);
    create(f, "nt", cols, 4, NULL, 0);
    assert_int_equal(delta_create_table(&f->c, f->os, "nt", cols, 4, NULL, 0, &err), TARN_EEXIST);
    delta_table *t = NULL;
    delta_snapshot *s0 = latest(f, "tables/nt", &t);
    vec_batch b;
    make_batch(&b, 1, 3);
    int64_t v = -1;
    delta_append_opts a = {.txn_id = "node-a"};
    assert_int_equal(append(f, "nt", s0, &b, 1, &a, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(append(f, "nt", s0, &b, 1, NULL, &v, &err), TARN_ECONFLICT);
    assert_int_equal(v, 1);
    assert_int_equal(append(f, "nt", s0, &b, 1, &a, &v, &err), 0); /* retried: same version */
    assert_int_equal(v, 1);
    assert_int_equal(append(f, "nt", s0, &b, 1,
                            &(delta_append_opts){.crash_point = 2, .rebase_max = 1}, &v, &err),
                     TARN_EIO);
    assert_int_equal(v, 2);
    size_t done = 0;
    assert_int_equal(delta_finish_pending_logs(&f->c, f->os, &done, &err), 0);
    assert_int_equal(done, 1);
    delta_snapshot *s = latest(f, "tables/nt", &t);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->nfiles, 2);
    delta_snapshot_free(s);
    delta_snapshot_free(s0);
    delta_table_close(t);
    vec_batch_free(&b);
    delta_committer_close(&f->c);
    node_close(n);
    tarn_test_rmdir(data);
    assert_int_equal(delta_committer_mem(&f->c), 0);
}

typedef struct oom_ctx {
    fx *f;
    vec_batch b;
    int round;
} oom_ctx;

/* Create + append on a fresh table name each round, through a committer
 * of its own (a failed process would lose its in-memory state too). */
static int oom_op(void *ctx)
{
    oom_ctx *o = ctx;
    char name[32], root[64];
    snprintf(name, sizeof(name), "o%d", o->round++);
    snprintf(root, sizeof(root), "tables/%s", name);
    tarn_err err = TARN_ERR_INIT;
    delta_committer c;
    int rc = delta_committer_mem(&c);
    if (rc == 0)
        rc = delta_create_table(&c, o->f->os, name, cols, 4, (const char *[]){"d"}, 1, &err);
    delta_table *t = NULL;
    delta_snapshot *s = NULL;
    if (rc == 0)
        rc = delta_table_open(o->f->os, root, &t, &err);
    if (rc == 0)
        rc = delta_snapshot_latest(t, &s, &err);
    int64_t v = -1;
    if (rc == 0)
        rc = delta_append(&c, o->f->os, name, s, &o->b, 1, NULL, &v, &err);
    if (rc == 0 && v != 1)
        rc = TARN_EINVAL;
    delta_snapshot_free(s);
    delta_table_close(t);
    delta_committer_close(&c);
    return rc;
}

static void test_out_of_memory(void **state)
{
    oom_ctx o = {.f = *state};
    make_batch(&o.b, 1, 5);
    assert_true(tarn_test_oom_loop(oom_op, NULL, &o, 20000) > 10);
    vec_batch_free(&o.b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_unpartitioned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_partitioned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_rebase_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_points_and_pending_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_committer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
