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

/* ---- delete and overwrite ------------------------------------------------------ */

typedef struct del_ctx {
    int64_t mod;         /* delete ids divisible by mod */
    const char *skip_p;  /* files of this partition cannot match */
    const char *whole_p; /* files of this partition match whole */
    int calls;
} del_ctx;

static int del_rows(void *ctx, const vec_batch *b, uint8_t *match, tarn_err *err)
{
    del_ctx *d = ctx;
    (void)err;
    d->calls++;
    assert_int_equal(b->ncols, 3);
    for (uint32_t r = 0; r < b->len; r++)
        match[r] = ((const int64_t *)b->cols[0].data)[r] % d->mod == 0;
    return 0;
}

static int del_files(void *ctx, const delta_snapshot *s, const delta_file *f, delta_file_match *out,
                     tarn_err *err)
{
    del_ctx *d = ctx;
    (void)s;
    (void)err;
    const char *p = f->part_values[0];
    *out = d->skip_p && p && strcmp(p, d->skip_p) == 0     ? DELTA_FILE_NONE
           : d->whole_p && p && strcmp(p, d->whole_p) == 0 ? DELTA_FILE_ALL
                                                           : DELTA_FILE_MAYBE;
    return 0;
}

static bool not_mult3(int64_t id)
{
    return id % 3 != 0;
}

static bool not_mult5(int64_t id)
{
    return id % 5 != 0;
}

static bool odd_or_not_mult3(int64_t id)
{
    return id % 2 != 0 || id % 3 != 0;
}

static bool even_not_mult3(int64_t id)
{
    return id % 2 == 0 && id % 3 != 0;
}

static void test_delete(void **state)
{
    fx *f = *state;
    create(f, "d", true);
    append_rows(f, "d", 1, 10);
    append_rows(f, "d", 11, 10);
    delta_snapshot *s = managed(f, "d", -1);
    assert_int_equal(s->nfiles, 4);
    tarn_err err = TARN_ERR_INIT;
    delta_write_result res;
    /* Delete ids divisible by 3 in partition a only (b cannot match). */
    del_ctx dc = {.mod = 3, .skip_p = "b"};
    delta_delete_opts o = {
        .rows = del_rows, .files = del_files, .ctx = &dc, .predicate = "id % 3 = 0"};
    assert_int_equal(delta_delete(&f->c, f->os, "d", s, &o, &res, &err), 0);
    assert_int_equal(res.version, 3);
    assert_int_equal(res.rows_deleted, 3); /* 6, 12, 18 */
    assert_int_equal(res.files_removed, 2);
    assert_int_equal(res.files_added, 2);
    assert_int_equal(dc.calls, 2); /* only partition a's files were read */
    delta_snapshot *s3 = managed(f, "d", -1);
    assert_rows(f, "d", s3, 1, 20, odd_or_not_mult3, "after delete in a");
    /* The old version still reads as it was. */
    delta_snapshot *s2 = managed(f, "d", 2);
    assert_rows(f, "d", s2, 1, 20, NULL, "version 2 after the delete");
    /* Files of partition b match whole: removed without being read. */
    dc = (del_ctx){.mod = 3, .whole_p = "b"};
    assert_int_equal(delta_delete(&f->c, f->os, "d", s3, &o, &res, &err), 0);
    assert_int_equal(res.version, 4);
    assert_int_equal(res.rows_deleted, 10);
    assert_int_equal(res.files_removed, 2);
    assert_int_equal(res.files_added, 0);
    assert_int_equal(dc.calls, 2); /* a's files: read, nothing matched, kept */
    delta_snapshot *s4 = managed(f, "d", -1);
    assert_rows(f, "d", s4, 1, 20, even_not_mult3, "after dropping b");
    /* A delete that matches nothing commits nothing. */
    dc = (del_ctx){.mod = 1000};
    assert_int_equal(delta_delete(&f->c, f->os, "d", s4, &o, &res, &err), 0);
    assert_int_equal(res.version, 4);
    /* The log agrees with the catalog: DuckDB-free check through the log. */
    delta_table *t = NULL;
    delta_snapshot *logged = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/d", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &logged, &err), 0);
    assert_int_equal(logged->version, 4);
    assert_rows(f, "d", logged, 1, 20, even_not_mult3, "the log after deletes");
    delta_snapshot_free(logged);
    delta_table_close(t);
    delta_snapshot_free(s);
    delta_snapshot_free(s2);
    delta_snapshot_free(s3);
    delta_snapshot_free(s4);
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

/* Every data file under tables/<name>/ is live in some version: no upload
 * of a failed or abandoned commit was left behind. */
static void assert_no_orphans(fx *f, const char *name)
{
    delta_snapshot *last = managed(f, name, -1);
    dt_rows seen = {0};
    for (int64_t v = 0; v <= last->version; v++) {
        delta_snapshot *s = managed(f, name, v);
        for (size_t i = 0; i < s->nfiles; i++) {
            char key[1024];
            snprintf(key, sizeof(key), "tables/%s/%s", name, s->files[i].path);
            if (seen.n == seen.cap) {
                seen.cap = seen.cap ? seen.cap * 2 : 64;
                seen.rows = realloc(seen.rows, seen.cap * sizeof(char *));
            }
            seen.rows[seen.n++] = strdup(key);
        }
        delta_snapshot_free(s);
    }
    objstore_list_page pg;
    tarn_err err = TARN_ERR_INIT;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "tables/%s/", name);
    assert_int_equal(objstore_list(f->os, prefix, NULL, OBJSTORE_LIST_MAX, &pg, &err), 0);
    for (size_t i = 0; i < pg.count; i++) {
        const char *k = pg.entries[i].key;
        if (strlen(k) < 8 || strcmp(k + strlen(k) - 8, ".parquet") != 0 ||
            strstr(k, "/_delta_log/") != NULL)
            continue;
        bool found = false;
        for (size_t j = 0; j < seen.n && !found; j++)
            found = strcmp(seen.rows[j], k) == 0;
        if (!found)
            print_error("orphan: %s\n", k);
        assert_true(found);
    }
    objstore_list_page_free(&pg);
    dt_rows_free(&seen);
    delta_snapshot_free(last);
}

/* A delete whose base went stale: rebased over an append, refused over a
 * commit that removed the same files; the refused one leaves no file. */
static void test_delete_conflicts(void **state)
{
    fx *f = *state;
    create(f, "dc", false);
    append_rows(f, "dc", 1, 6);
    delta_snapshot *s1 = managed(f, "dc", -1);
    append_rows(f, "dc", 7, 6); /* version 2: only adds */
    tarn_err err = TARN_ERR_INIT;
    delta_write_result res;
    del_ctx dc = {.mod = 3};
    delta_delete_opts o = {.rows = del_rows, .ctx = &dc};
    assert_int_equal(delta_delete(&f->c, f->os, "dc", s1, &o, &res, &err), TARN_ECONFLICT);
    assert_int_equal(count_parquet(f, "tables/dc/"), 2); /* the rewrite's file is gone */
    o.rebase_max = 2;
    assert_int_equal(delta_delete(&f->c, f->os, "dc", s1, &o, &res, &err), 0);
    assert_int_equal(res.version, 3);
    delta_snapshot *s3 = managed(f, "dc", -1);
    /* Rows 7..12 were appended after the delete's base: they stay. */
    dt_rows got = {0}, want = {0};
    rows_of(f, "dc", s3, &got);
    want_rows(&want, 1, 6, not_mult3);
    want_rows(&want, 7, 12, NULL);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "delete rebased over an append");
    dt_rows_free(&got);
    dt_rows_free(&want);
    /* A second delete from base 1 removes the same file version 3 removed. */
    size_t before = count_parquet(f, "tables/dc/");
    dc.mod = 2;
    assert_int_equal(delta_delete(&f->c, f->os, "dc", s1, &o, &res, &err), TARN_ECONFLICT);
    assert_non_null(strstr(tarn_err_msg(&err), "also removes"));
    assert_int_equal(count_parquet(f, "tables/dc/"), before);
    assert_no_orphans(f, "dc");
    delta_snapshot_free(s1);
    delta_snapshot_free(s3);
}

static void test_overwrite(void **state)
{
    fx *f = *state;
    create(f, "o", true);
    append_rows(f, "o", 1, 10);
    delta_snapshot *s1 = managed(f, "o", -1);
    vec_batch b;
    make_batch(&b, 100, 5);
    tarn_err err = TARN_ERR_INIT;
    delta_write_result res;
    assert_int_equal(delta_overwrite(&f->c, f->os, "o", s1, &b, 1, NULL, &res, &err), 0);
    assert_int_equal(res.version, 2);
    assert_int_equal(res.files_removed, 2);
    assert_int_equal(res.files_added, 2);
    assert_int_equal(res.rows_written, 5);
    delta_snapshot *s2 = managed(f, "o", -1);
    assert_rows(f, "o", s2, 100, 104, NULL, "overwritten");
    assert_rows(f, "o", s1, 1, 10, NULL, "version 1 after the overwrite");
    /* From a stale base: a conflict, and its files are removed. */
    size_t before = count_parquet(f, "tables/o/");
    assert_int_equal(delta_overwrite(&f->c, f->os, "o", s1, &b, 1, NULL, &res, &err),
                     TARN_ECONFLICT);
    assert_int_equal(count_parquet(f, "tables/o/"), before);
    /* Overwrite with nothing empties the table. */
    assert_int_equal(delta_overwrite(&f->c, f->os, "o", s2, NULL, 0, NULL, &res, &err), 0);
    delta_snapshot *s3 = managed(f, "o", -1);
    assert_int_equal(s3->nfiles, 0);
    assert_no_orphans(f, "o");
    vec_batch_free(&b);
    delta_snapshot_free(s1);
    delta_snapshot_free(s2);
    delta_snapshot_free(s3);
}

/* ---- file pruning ------------------------------------------------------------- */

static size_t kept(const delta_snapshot *s, const delta_pred *p, size_t n)
{
    bool keep[16];
    size_t k = 0;
    tarn_err err = TARN_ERR_INIT;
    assert_true(s->nfiles <= 16);
    int rc = delta_prune(s, p, n, keep, &k, &err);
    if (rc != 0)
        print_error("prune: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    return k;
}

static void test_prune(void **state)
{
    fx *f = *state;
    create(f, "pr", true);
    append_rows(f, "pr", 1, 10);  /* a: 2..10, b: 1..9 */
    append_rows(f, "pr", 11, 10); /* a: 12..20, b: 11..19 */
    delta_snapshot *s = managed(f, "pr", -1);
    assert_int_equal(s->nfiles, 4);
    delta_pred p = {.column = "id", .op = DELTA_CMP_EQ, .kind = DELTA_VALUE_INT, .i64 = 12};
    assert_int_equal(kept(s, &p, 1), 2); /* id 12: only the second append's files */
    p.op = DELTA_CMP_GT;
    p.i64 = 19;
    assert_int_equal(kept(s, &p, 1), 1); /* only a's 12..20 */
    p.op = DELTA_CMP_LT;
    p.i64 = 1;
    assert_int_equal(kept(s, &p, 1), 0);
    p.op = DELTA_CMP_LE;
    assert_int_equal(kept(s, &p, 1), 1);
    p.op = DELTA_CMP_GE;
    p.i64 = 20;
    assert_int_equal(kept(s, &p, 1), 1);
    p.op = DELTA_CMP_NE;
    assert_int_equal(kept(s, &p, 1), 4);
    p.op = DELTA_CMP_IS_NULL;
    assert_int_equal(kept(s, &p, 1), 0); /* nullCount 0 everywhere */
    p.op = DELTA_CMP_IS_NOT_NULL;
    assert_int_equal(kept(s, &p, 1), 4);
    /* The partition column, exactly; AND of two predicates. */
    delta_pred two[2] = {
        {.column = "P", .op = DELTA_CMP_EQ, .kind = DELTA_VALUE_STRING, .str = "a"},
        {.column = "id", .op = DELTA_CMP_LE, .kind = DELTA_VALUE_INT, .i64 = 10}};
    assert_int_equal(kept(s, two, 1), 2);
    assert_int_equal(kept(s, two, 2), 1);
    two[0].op = DELTA_CMP_IS_NULL;
    assert_int_equal(kept(s, two, 1), 0);
    /* Strings by stats: s is "s1".."s9" | "s11".."s19" ... bytewise. */
    delta_pred ps = {.column = "s", .op = DELTA_CMP_LT, .kind = DELTA_VALUE_STRING, .str = "s0"};
    assert_int_equal(kept(s, &ps, 1), 0);
    ps.op = DELTA_CMP_EQ;
    ps.str = "s5";
    assert_int_equal(kept(s, &ps, 1), 2); /* ["s1","s9"] and ["s10","s8"] of append 1 */
    ps.op = DELTA_CMP_GT;
    ps.str = "s9";
    assert_int_equal(kept(s, &ps, 1), 0);
    /* A constant of the wrong kind, an unknown column: errors. */
    bool keep[4];
    size_t k;
    tarn_err err = TARN_ERR_INIT;
    ps.column = "id";
    assert_int_equal(delta_prune(s, &ps, 1, keep, &k, &err), TARN_EINVAL);
    ps.column = "zz";
    assert_int_equal(delta_prune(s, &ps, 1, keep, &k, &err), TARN_EINVAL);
    /* A file without stats is always kept. */
    char *saved = s->files[0].stats;
    s->files[0].stats = NULL;
    p.op = DELTA_CMP_LT;
    p.i64 = -5;
    assert_int_equal(kept(s, &p, 1), 1);
    s->files[0].stats = saved;
    delta_snapshot_free(s);
}

/* ---- OPTIMIZE, VACUUM, history ------------------------------------------------- */

static void test_optimize(void **state)
{
    fx *f = *state;
    create(f, "op", true);
    for (int i = 0; i < 6; i++)
        append_rows(f, "op", 1 + 3 * i, 3);
    delta_snapshot *s6 = managed(f, "op", -1);
    assert_int_equal(s6->nfiles, 12);
    tarn_err err = TARN_ERR_INIT;
    delta_optimize_result res;
    int rc = delta_optimize(&f->c, f->os, "op", NULL, &res, &err);
    if (rc != 0)
        print_error("optimize: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    assert_int_equal(res.version, 7);
    assert_int_equal(res.files_removed, 12);
    assert_int_equal(res.files_added, 2); /* one per partition */
    assert_int_equal(res.rows, 18);
    delta_snapshot *s7 = managed(f, "op", -1);
    assert_int_equal(s7->nfiles, 2);
    for (size_t i = 0; i < s7->nfiles; i++)
        assert_false(s7->files[i].data_change);
    assert_rows(f, "op", s7, 1, 18, NULL, "after optimize");
    assert_rows(f, "op", s6, 1, 18, NULL, "version 6 after optimize");
    /* Nothing left to compact. */
    assert_int_equal(delta_optimize(&f->c, f->os, "op", NULL, &res, &err), 0);
    assert_int_equal(res.files_removed, 0);
    assert_int_equal(res.version, 7);
    /* A target below the file sizes: nothing is small enough. */
    append_rows(f, "op", 19, 3);
    delta_optimize_opts tiny = {.target_bytes = 10};
    assert_int_equal(delta_optimize(&f->c, f->os, "op", &tiny, &res, &err), 0);
    assert_int_equal(res.files_removed, 0);
    delta_snapshot_free(s6);
    delta_snapshot_free(s7);
}

typedef struct race {
    fx *f;
    int calls;
    bool remove_theirs; /* delete rows of partition a (removing its files) */
} race;

static int del_all_even(void *ctx, const vec_batch *b, uint8_t *match, tarn_err *err)
{
    (void)ctx;
    (void)err;
    for (uint32_t r = 0; r < b->len; r++)
        match[r] = ((const int64_t *)b->cols[0].data)[r] == 2;
    return 0;
}

/* Lands another commit between the compaction's upload and its commit. */
static void race_hook(void *ctx)
{
    race *r = ctx;
    if (r->calls++ > 0)
        return;
    if (!r->remove_theirs) {
        append_rows(r->f, "or", 100, 4);
        return;
    }
    delta_snapshot *s = managed(r->f, "or", -1);
    delta_write_result res;
    tarn_err err = TARN_ERR_INIT;
    delta_delete_opts o = {.rows = del_all_even};
    assert_int_equal(delta_delete(&r->f->c, r->f->os, "or", s, &o, &res, &err), 0);
    assert_int_equal(res.rows_deleted, 1);
    delta_snapshot_free(s);
}

static bool not_2(int64_t id)
{
    return id != 2;
}

static void test_optimize_races(void **state)
{
    fx *f = *state;
    create(f, "or", true);
    for (int i = 0; i < 4; i++)
        append_rows(f, "or", 1 + 3 * i, 3);
    /* An append lands first: the compaction rebases over it. */
    race r = {.f = f};
    delta_optimize_opts o = {.before_commit = race_hook, .ctx = &r};
    delta_optimize_result res;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_optimize(&f->c, f->os, "or", &o, &res, &err), 0);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.version, 6);
    dt_rows got = {0}, want = {0};
    delta_snapshot *s = managed(f, "or", -1);
    assert_int_equal(s->nfiles, 4); /* 2 compacted + the racing append's 2 */
    rows_of(f, "or", s, &got);
    want_rows(&want, 1, 12, NULL);
    want_rows(&want, 100, 103, NULL);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "optimize rebased over an append");
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(s);
    /* A delete removes a file being compacted: the compaction re-plans. */
    for (int i = 0; i < 3; i++)
        append_rows(f, "or", 20 + 3 * i, 3);
    r = (race){.f = f, .remove_theirs = true};
    assert_int_equal(delta_optimize(&f->c, f->os, "or", &o, &res, &err), 0);
    assert_int_equal(res.attempts, 2);
    s = managed(f, "or", -1);
    rows_of(f, "or", s, &got);
    want_rows(&want, 1, 12, not_2);
    want_rows(&want, 100, 103, NULL);
    want_rows(&want, 20, 28, NULL);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "optimize re-planned after a delete");
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(s);
    /* The failed attempt's uploads were removed at once. */
    assert_no_orphans(f, "or");
}

static void on_vacuum_file(void *ctx, const char *path, uint64_t size)
{
    (void)size;
    (void)path;
    (*(int *)ctx)++;
}

static void test_vacuum(void **state)
{
    fx *f = *state;
    create(f, "v", false);
    append_rows(f, "v", 1, 6);
    append_rows(f, "v", 7, 6);
    delta_snapshot *s2 = managed(f, "v", -1);
    tarn_err err = TARN_ERR_INIT;
    delta_write_result wr;
    del_ctx dc = {.mod = 3};
    delta_delete_opts d = {.rows = del_rows, .ctx = &dc};
    assert_int_equal(delta_delete(&f->c, f->os, "v", s2, &d, &wr, &err), 0);
    assert_int_equal(wr.files_removed, 2);
    /* An orphan: a data file no commit references (a dead writer's). */
    assert_int_equal(objstore_put(f->os, "tables/v/part-orphan.snappy.parquet", "x", 1, &err), 0);
    assert_int_equal(objstore_put(f->os, "tables/v/_tmp/keep.parquet", "x", 1, &err), 0);
    assert_int_equal(count_parquet(f, "tables/v/"), 6);
    delta_vacuum_result vr;
    /* Default retention (7 days): everything is recent. */
    assert_int_equal(delta_vacuum(&f->c, f->os, "v", NULL, &vr, &err), 0);
    assert_int_equal(vr.files_deleted, 0);
    assert_true(vr.from_tombstones);
    /* A retention longer than the table keeps tombstones reads every version. */
    delta_vacuum_opts longer = {.retention_ms = 30LL * 24 * 3600 * 1000, .min_retention_ms = -1};
    assert_int_equal(delta_vacuum(&f->c, f->os, "v", &longer, &vr, &err), 0);
    assert_false(vr.from_tombstones);
    assert_int_equal(vr.files_deleted, 0);
    /* Below the minimum: refused without force. */
    delta_vacuum_opts o = {.retention_ms = 3600000, .min_retention_ms = -1};
    assert_int_equal(delta_vacuum(&f->c, f->os, "v", &o, &vr, &err), TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "below the minimum"));
    /* Eight days later: the removed files and the orphan go (dry run first). */
    f->clock.wall_ms += 8LL * 24 * 3600 * 1000;
    int seen = 0;
    o = (delta_vacuum_opts){.retention_ms = -1,
                            .min_retention_ms = -1,
                            .dry_run = true,
                            .on_file = on_vacuum_file,
                            .ctx = &seen};
    assert_int_equal(delta_vacuum(&f->c, f->os, "v", &o, &vr, &err), 0);
    assert_int_equal(vr.files_deleted, 3);
    assert_int_equal(seen, 3);
    assert_int_equal(count_parquet(f, "tables/v/"), 6);
    o.dry_run = false;
    assert_int_equal(delta_vacuum(&f->c, f->os, "v", &o, &vr, &err), 0);
    assert_int_equal(vr.files_deleted, 3);
    assert_int_equal(count_parquet(f, "tables/v/"), 3); /* 2 live + the hidden one */
    delta_snapshot *s3 = managed(f, "v", -1);
    assert_rows(f, "v", s3, 1, 12, not_mult3, "latest after vacuum");
    /* Version 2 needed the removed files: its scan now fails, clearly. */
    delta_table *t = NULL;
    dt_rows got = {0};
    assert_int_equal(delta_table_open_managed(f->os, "v", &t, &err), 0);
    assert_int_equal(dt_snapshot_rows(t, s2, &got, &err), TARN_ENOENT);
    dt_rows_free(&got);
    delta_table_close(t);
    /* The log is untouched. */
    objstore_info info;
    assert_int_equal(
        objstore_head(f->os, "tables/v/_delta_log/00000000000000000003.json", &info, &err), 0);
    delta_snapshot_free(s2);
    delta_snapshot_free(s3);
}

static void test_history(void **state)
{
    fx *f = *state;
    create(f, "h", true);
    append_rows(f, "h", 1, 4);
    append_rows(f, "h", 5, 4);
    delta_snapshot *s = managed(f, "h", -1);
    delta_write_result wr;
    tarn_err err = TARN_ERR_INIT;
    del_ctx dc = {.mod = 4};
    delta_delete_opts d = {.rows = del_rows, .ctx = &dc, .predicate = "id % 4 = 0"};
    assert_int_equal(delta_delete(&f->c, f->os, "h", s, &d, &wr, &err), 0);
    delta_optimize_result orr;
    assert_int_equal(delta_optimize(&f->c, f->os, "h", NULL, &orr, &err), 0);
    delta_history h;
    assert_int_equal(delta_history_managed(&f->c, f->os, "h", &h, &err), 0);
    static const char *const ops[] = {"CREATE TABLE", "WRITE", "WRITE", "DELETE", "OPTIMIZE"};
    assert_int_equal(h.count, 5);
    for (size_t i = 0; i < h.count; i++) {
        assert_int_equal(h.entries[i].version, (int64_t)i);
        assert_string_equal(h.entries[i].operation, ops[i]);
        if (i > 0)
            assert_true(h.entries[i].timestamp_ms > h.entries[i - 1].timestamp_ms);
    }
    /* The in-memory committer records creation times, as the catalog. */
    assert_non_null(strstr(h.entries[0].commit_info, "\"operation\":\"CREATE TABLE\""));
    assert_non_null(strstr(h.entries[1].commit_info, "\"numOutputRows\":\"4\""));
    assert_non_null(strstr(h.entries[3].commit_info, "\"numDeletedRows\":\"2\""));
    assert_non_null(strstr(h.entries[3].commit_info, "id % 4 = 0"));
    assert_non_null(strstr(h.entries[4].commit_info, "\"numRows\":\"6\""));
    /* The log says the same. */
    delta_history hl;
    delta_table *t = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/h", &t, &err), 0);
    assert_int_equal(delta_history_log(t, &hl, &err), 0);
    assert_int_equal(hl.count, 5);
    for (size_t i = 0; i < hl.count; i++)
        assert_string_equal(hl.entries[i].operation, ops[i]);
    delta_history_free(&hl);
    delta_table_close(t);
    delta_history_free(&h);
    delta_snapshot_free(s);
}

/* ---- version 0's time ------------------------------------------------------------ */

/* A committer that records when each table was created, as a metadata
 * service that keeps creation times does (delta_pending.created_ms),
 * over the in-memory one. */
typedef struct timed_cm {
    delta_committer *inner;
    char names[4][32];
    int64_t ms[4];
    int n;
} timed_cm;

static int tc_create(void *ctx, const char *name, const char *schema, const char *const *parts,
                     size_t nparts, uint64_t *id, tarn_err *err)
{
    timed_cm *t = ctx;
    int rc = t->inner->create(t->inner->ctx, name, schema, parts, nparts, id, err);
    if (rc == 0 && t->n < 4) {
        snprintf(t->names[t->n], sizeof(t->names[0]), "%s", name);
        t->ms[t->n++] = tarn_wall_ms();
    }
    return rc;
}

/* Version 0 of a table created through this committer gets its time; any
 * other reads as a record without one (a catalog from before creation
 * times were recorded). */
static void tc_stamp(timed_cm *t, delta_pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].version != 0)
            continue;
        p[i].created_ms = 0;
        for (int k = 0; k < t->n; k++)
            if (strcmp(p[i].table, t->names[k]) == 0)
                p[i].created_ms = t->ms[k];
    }
}

static int tc_commit(void *ctx, const char *name, int64_t base, const char *txn, const char *a,
                     size_t len, int64_t *v, bool *dup, tarn_err *err)
{
    timed_cm *t = ctx;
    return t->inner->commit(t->inner->ctx, name, base, txn, a, len, v, dup, err);
}

static int tc_log_written(void *ctx, const char *name, int64_t v, tarn_err *err)
{
    timed_cm *t = ctx;
    return t->inner->log_written(t->inner->ctx, name, v, err);
}

static int tc_pending(void *ctx, delta_pending **out, size_t *count, tarn_err *err)
{
    timed_cm *t = ctx;
    int rc = t->inner->pending(t->inner->ctx, out, count, err);
    if (rc == 0)
        tc_stamp(t, *out, *count);
    return rc;
}

static int tc_read(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                   size_t *count, int64_t *latest, tarn_err *err)
{
    timed_cm *t = ctx;
    int rc = t->inner->read(t->inner->ctx, name, from, to, out, count, latest, err);
    if (rc == 0)
        tc_stamp(t, *out, *count);
    return rc;
}

static void tc_close(void *ctx)
{
    (void)ctx;
}

/* A data directory copied with `cp -r` (every file's mtime now the copy's
 * time): time travel still finds the original times, version 0's
 * included, because they come from commitInfo, not the files. */
static void test_version0_time_after_copy(void **state)
{
    fx *f = *state;
    timed_cm tcm = {.inner = &f->c};
    delta_committer tc = {.ctx = &tcm,
                          .create = tc_create,
                          .commit = tc_commit,
                          .log_written = tc_log_written,
                          .pending = tc_pending,
                          .close = tc_close,
                          .read = tc_read};
    tarn_err err = TARN_ERR_INIT;
    static const char *const parts[] = {"p"};
    int64_t t0 = tarn_wall_ms();
    assert_int_equal(delta_create_table(&tc, f->os, "tt", cols, 3, parts, 1, &err), 0);
    create(f, "plain", false); /* read through tc: a record without a time */
    const int64_t hour = 3600 * 1000;
    f->clock.wall_ms += hour;
    vec_batch b;
    make_batch(&b, 1, 4);
    int64_t v = -1;
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "plain" : "tt";
        delta_snapshot *s = NULL;
        assert_int_equal(delta_managed_snapshot_latest(&tc, f->os, name, &s, &err), 0);
        assert_int_equal(delta_append(&tc, f->os, name, s, &b, 1, NULL, &v, &err), 0);
        assert_int_equal(v, 1);
        delta_snapshot_free(s);
    }
    vec_batch_free(&b);
    /* Version 0's log carries its time, and the history says so. */
    tarn_buf v0;
    tarn_buf_init(&v0, 1 << 16);
    assert_int_equal(
        objstore_get(f->os, "tables/tt/_delta_log/00000000000000000000.json", 1 << 16, &v0, &err),
        0);
    char want[128];
    snprintf(want, sizeof(want), "{\"commitInfo\":{\"timestamp\":%lld,", (long long)t0);
    assert_memory_equal(v0.data, want, strlen(want));
    snprintf(want, sizeof(want), "\"createdTime\":%lld}", (long long)t0);
    assert_non_null(strstr((const char *)v0.data, want));
    tarn_buf_free(&v0);
    delta_history h;
    assert_int_equal(delta_history_managed(&tc, f->os, "tt", &h, &err), 0);
    assert_int_equal(h.count, 2);
    assert_int_equal(h.entries[0].timestamp_ms, t0);
    assert_string_equal(h.entries[0].operation, "CREATE TABLE");
    delta_history_free(&h);
    /* Copy the objects; every file's mtime becomes a day later. */
    char copy[1024], cmd[4096];
    snprintf(copy, sizeof(copy), "%s-copy", f->dir);
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s' && find '%s' -type f -exec touch -d '@%lld' {} +",
             f->dir, copy, copy, (long long)(tarn_wall_ms() / 1000 + 86400));
    assert_int_equal(system(cmd), 0);
    objstore *os2 = NULL;
    assert_int_equal(objstore_open(copy, &os2, &err), 0);
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_at_timestamp(&tc, os2, "tt", t0 + hour / 2, &s, &err),
                     0);
    assert_int_equal(s->version, 0);
    assert_int_equal(s->timestamp_ms, t0);
    delta_snapshot_free(s);
    assert_int_equal(delta_managed_snapshot_at_timestamp(&tc, os2, "tt", t0 + 2 * hour, &s, &err),
                     0);
    assert_int_equal(s->version, 1);
    delta_snapshot_free(s);
    /* Without a recorded creation time, version 0 only has the copied
     * file's mtime: a time before version 1 finds nothing. */
    assert_int_equal(
        delta_managed_snapshot_at_timestamp(&tc, os2, "plain", t0 + hour / 2, &s, &err),
        TARN_ENOENT);
    assert_null(s);
    objstore_close(os2);
    tarn_test_rmdir(strdup(copy));
}

/* ---- checkpoints ------------------------------------------------------------- */

static bool have_duckdb(void)
{
    return system("command -v node >/dev/null 2>&1") == 0 &&
           access(DELTA_REPO_ROOT "/node_modules/@duckdb/node-api", F_OK) == 0;
}

/* DuckDB reads the checkpoint file and finds the snapshot's adds. */
static void duckdb_checkpoint(fx *f, const char *key, const delta_snapshot *s)
{
    if (!have_duckdb()) {
        print_message("node or @duckdb/node-api not found: DuckDB check skipped\n");
        return;
    }
    tarn_buf w;
    tarn_buf_init(&w, 1 << 20);
    assert_int_equal(tarn_buf_append_str(&w, "{\"paths\":["), 0);
    for (size_t i = 0; i < s->nfiles; i++) {
        assert_int_equal(tarn_buf_append_str(&w, i ? "," : ""), 0);
        assert_int_equal(tarn_buf_append_json_str(&w, s->files[i].path, strlen(s->files[i].path)),
                         0);
    }
    assert_int_equal(tarn_buf_append_str(&w, "],\"partitionColumns\":[\"p\"],\"schemaString\":"),
                     0);
    assert_int_equal(
        tarn_buf_append_json_str(&w, s->metadata.schema_string, strlen(s->metadata.schema_string)),
        0);
    assert_int_equal(tarn_buf_printf(&w,
                                     ",\"minReaderVersion\":1,\"minWriterVersion\":2,"
                                     "\"partitionValue\":\"%s\"}",
                                     s->files[0].part_values[0]),
                     0);
    assert_int_equal(tarn_buf_append_byte(&w, '\0'), 0);
    /* The expectation goes through a file: it is too long for a shell word. */
    char exp_path[1024], cmd[4096];
    snprintf(exp_path, sizeof(exp_path), "%s/expected.json", f->dir);
    FILE *fp = fopen(exp_path, "w");
    assert_non_null(fp);
    fputs((const char *)w.data, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && node tests/unit/delta/data/duckdb_checkpoint.mjs '%s/%s' \"$(cat '%s')\"",
             DELTA_REPO_ROOT, f->dir, key, exp_path);
    assert_int_equal(system(cmd), 0);
    tarn_buf_free(&w);
}

static void same_files(const delta_snapshot *a, const delta_snapshot *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_string_equal(a->files[i].path, b->files[i].path);
        assert_int_equal(a->files[i].size_bytes, b->files[i].size_bytes);
        assert_string_equal(a->files[i].stats, b->files[i].stats);
        for (size_t p = 0; p < a->metadata.n_partition_columns; p++)
            assert_string_equal(a->files[i].part_values[p], b->files[i].part_values[p]);
    }
    assert_string_equal(a->metadata.schema_string, b->metadata.schema_string);
}

static void test_checkpoint_write(void **state)
{
    fx *f = *state;
    create(f, "cp", true);
    for (int i = 0; i < 9; i++)
        append_rows(f, "cp", 1 + 2 * i, 2);
    objstore_info info;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_head(f->os, "tables/cp/_delta_log/_last_checkpoint", &info, &err),
                     TARN_ENOENT);
    /* Version 10 is a delete: the checkpoint holds the state after it. */
    delta_snapshot *s9 = managed(f, "cp", -1);
    del_ctx dc = {.mod = 5};
    delta_delete_opts o = {.rows = del_rows, .ctx = &dc};
    delta_write_result wr;
    assert_int_equal(delta_delete(&f->c, f->os, "cp", s9, &o, &wr, &err), 0);
    assert_int_equal(wr.version, 10);
    const char *key = "tables/cp/_delta_log/00000000000000000010.checkpoint.parquet";
    assert_int_equal(objstore_head(f->os, key, &info, &err), 0);
    tarn_buf hint;
    tarn_buf_init(&hint, 4096);
    assert_int_equal(
        objstore_get(f->os, "tables/cp/_delta_log/_last_checkpoint", 4096, &hint, &err), 0);
    assert_non_null(strstr((const char *)hint.data, "\"version\":10"));
    tarn_buf_free(&hint);
    /* A late writer of an older checkpoint does not move the hint back. */
    delta_snapshot *m5 = managed(f, "cp", 5);
    assert_int_equal(delta_checkpoint_write(f->os, "tables/cp", m5, NULL, &err), 0);
    delta_snapshot_free(m5);
    tarn_buf_init(&hint, 4096);
    assert_int_equal(
        objstore_get(f->os, "tables/cp/_delta_log/_last_checkpoint", 4096, &hint, &err), 0);
    assert_non_null(strstr((const char *)hint.data, "\"version\":10"));
    tarn_buf_free(&hint);
    append_rows(f, "cp", 100, 2); /* version 11 after the checkpoint */
    /* Our log reader starts from the checkpoint and agrees with the catalog. */
    delta_table *t = NULL;
    delta_snapshot *logged = NULL, *at10 = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/cp", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &logged, &err), 0);
    assert_int_equal(logged->checkpoint_version, 10);
    delta_snapshot *m11 = managed(f, "cp", -1), *m10 = managed(f, "cp", 10), *full = NULL;
    /* The catalog's snapshot starts from the checkpoint too; by timestamp
     * it replays every version: the same files either way. */
    assert_int_equal(m11->checkpoint_version, 10);
    assert_int_equal(
        delta_managed_snapshot_at_timestamp(&f->c, f->os, "cp", INT64_MAX - 1, &full, &err), 0);
    assert_int_equal(full->checkpoint_version, -1);
    same_files(full, m11);
    delta_snapshot_free(full);
    same_files(logged, m11);
    assert_int_equal(delta_snapshot_at_version(t, 10, &at10, &err), 0);
    same_files(at10, m10);
    assert_int_equal(at10->checkpoint_version, 10);
    /* With the JSON before it gone, the checkpoint alone rebuilds version 10. */
    for (int v = 0; v <= 10; v++) {
        char k[128];
        snprintf(k, sizeof(k), "tables/cp/_delta_log/%020d.json", v);
        assert_int_equal(objstore_del(f->os, k, &err), 0);
    }
    delta_snapshot *again = NULL;
    assert_int_equal(delta_snapshot_latest(t, &again, &err), 0);
    same_files(again, m11);
    dt_rows got = {0}, want = {0};
    rows_of(f, "cp", again, &got);
    want_rows(&want, 1, 18, not_mult5);
    want_rows(&want, 100, 101, NULL);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "rows through the checkpoint");
    dt_rows_free(&got);
    dt_rows_free(&want);
    duckdb_checkpoint(f, key, m10);
    delta_snapshot_free(again);
    delta_snapshot_free(logged);
    delta_snapshot_free(at10);
    delta_snapshot_free(m10);
    delta_snapshot_free(m11);
    delta_snapshot_free(s9);
    delta_table_close(t);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* DuckDB reads every part and finds the snapshot's adds and the
 * tombstones removed at `deleted_ms` (the only ones kept). */
static void duckdb_parts(fx *f, const char *const *keys, uint32_t nparts, const delta_snapshot *s,
                         int64_t deleted_ms)
{
    if (!have_duckdb()) {
        print_message("node or @duckdb/node-api not found: DuckDB check skipped\n");
        return;
    }
    tarn_buf w;
    tarn_buf_init(&w, 1 << 20);
    assert_int_equal(tarn_buf_append_str(&w, "{\"adds\":["), 0);
    for (size_t i = 0; i < s->nfiles; i++) {
        assert_int_equal(tarn_buf_append_str(&w, i ? "," : ""), 0);
        assert_int_equal(tarn_buf_append_json_str(&w, s->files[i].path, strlen(s->files[i].path)),
                         0);
    }
    assert_int_equal(tarn_buf_append_str(&w, "],\"removes\":["), 0);
    const char **rm = calloc(s->ntombstones + 1, sizeof(char *));
    size_t nrm = 0;
    for (size_t i = 0; i < s->ntombstones; i++)
        if (s->tombstones[i].deletion_timestamp_ms == deleted_ms)
            rm[nrm++] = s->tombstones[i].path;
    qsort(rm, nrm, sizeof(char *), cmp_str_ptr);
    for (size_t i = 0; i < nrm; i++) {
        assert_int_equal(tarn_buf_append_str(&w, i ? "," : ""), 0);
        assert_int_equal(tarn_buf_append_json_str(&w, rm[i], strlen(rm[i])), 0);
    }
    free(rm);
    assert_int_equal(tarn_buf_printf(&w,
                                     "],\"deletionTimestamp\":%lld,\"partitionColumns\":[\"p\"],"
                                     "\"numParts\":%u}",
                                     (long long)deleted_ms, nparts),
                     0);
    char exp_path[1024], cmd[8192];
    snprintf(exp_path, sizeof(exp_path), "%s/expected_parts.json", f->dir);
    FILE *fp = fopen(exp_path, "w");
    assert_non_null(fp);
    fwrite(w.data, 1, w.len, fp);
    fclose(fp);
    int n = snprintf(cmd, sizeof(cmd),
                     "cd '%s' && node tests/unit/delta/data/duckdb_checkpoint_parts.mjs '%s'",
                     DELTA_REPO_ROOT, exp_path);
    for (uint32_t i = 0; i < nparts; i++)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " '%s/%s'", f->dir, keys[i]);
    assert_int_equal(system(cmd), 0);
    tarn_buf_free(&w);
}

static void part_keys(const char *name, int64_t version, uint32_t parts, char keys[][128])
{
    for (uint32_t i = 0; i < parts; i++)
        snprintf(keys[i], 128, "tables/%s/_delta_log/%020lld.checkpoint.%010u.%010u.parquet", name,
                 (long long)version, i + 1, parts);
}

static void get_bytes(fx *f, const char *key, tarn_buf *out)
{
    tarn_err err = TARN_ERR_INIT;
    tarn_buf_init(out, 1 << 26);
    assert_int_equal(objstore_get(f->os, key, 1 << 26, out, &err), 0);
}

/* Tombstones: kept in snapshots, written to checkpoints while younger
 * than the retention, read back from them; multi-part checkpoints
 * written (by parts and by actions per part), read back by our log
 * reader, the catalog snapshot and DuckDB; a missing part refused. */
static void test_checkpoint_tombstones_parts(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    create(f, "tp", true);
    append_rows(f, "tp", 1, 4);
    append_rows(f, "tp", 5, 4);
    append_rows(f, "tp", 9, 4);
    /* Version 4 (now) removes the files holding 4, 8, 12; version 5, eight
     * days later, those holding 3, 6, 9. */
    delta_write_result w4, w5;
    delta_snapshot *s = managed(f, "tp", -1);
    del_ctx dc = {.mod = 4};
    delta_delete_opts o = {.rows = del_rows, .ctx = &dc};
    assert_int_equal(delta_delete(&f->c, f->os, "tp", s, &o, &w4, &err), 0);
    delta_snapshot_free(s);
    int64_t t4 = tarn_wall_ms();
    f->clock.wall_ms += 8LL * 24 * 3600 * 1000;
    int64_t t5 = tarn_wall_ms();
    s = managed(f, "tp", -1);
    dc = (del_ctx){.mod = 3};
    assert_int_equal(delta_delete(&f->c, f->os, "tp", s, &o, &w5, &err), 0);
    delta_snapshot_free(s);
    append_rows(f, "tp", 13, 4); /* version 6 */
    delta_snapshot *m6 = managed(f, "tp", -1);
    assert_int_equal(m6->version, 6);
    /* The snapshot keeps every tombstone, ordered by path. */
    assert_int_equal(m6->ntombstones, w4.files_removed + w5.files_removed);
    size_t young = 0;
    for (size_t i = 0; i < m6->ntombstones; i++) {
        int64_t t = m6->tombstones[i].deletion_timestamp_ms;
        assert_true(t == t4 || t == t5);
        young += t == t5;
        assert_true(m6->tombstones[i].size_bytes > 0);
        if (i > 0)
            assert_true(strcmp(m6->tombstones[i - 1].path, m6->tombstones[i].path) < 0);
        for (size_t j = 0; j < m6->nfiles; j++)
            assert_string_not_equal(m6->files[j].path, m6->tombstones[i].path);
    }
    assert_int_equal(young, w5.files_removed);
    /* Three parts; version 4's tombstones are past the 7-day retention. */
    delta_checkpoint_opts co = {.parts = 3};
    assert_int_equal(delta_checkpoint_write(f->os, "tables/tp", m6, &co, &err), 0);
    char keys[3][128];
    part_keys("tp", 6, 3, keys);
    tarn_buf first[3];
    for (int i = 0; i < 3; i++)
        get_bytes(f, keys[i], &first[i]);
    tarn_buf hint;
    get_bytes(f, "tables/tp/_delta_log/_last_checkpoint", &hint);
    assert_non_null(strstr((const char *)hint.data, "\"version\":6"));
    assert_non_null(strstr((const char *)hint.data, "\"parts\":3"));
    tarn_buf_free(&hint);
    /* A second writer of the same checkpoint writes the same parts. */
    assert_int_equal(delta_checkpoint_write(f->os, "tables/tp", m6, &co, &err), 0);
    for (int i = 0; i < 3; i++) {
        tarn_buf again;
        get_bytes(f, keys[i], &again);
        assert_int_equal(again.len, first[i].len);
        assert_memory_equal(again.data, first[i].data, again.len);
        tarn_buf_free(&again);
        tarn_buf_free(&first[i]);
    }
    duckdb_parts(f, (const char *const[]){keys[0], keys[1], keys[2]}, 3, m6, t5);
    /* Our log reader, with the JSON up to the checkpoint gone. */
    for (int v = 0; v <= 6; v++) {
        char k[128];
        snprintf(k, sizeof(k), "tables/tp/_delta_log/%020d.json", v);
        assert_int_equal(objstore_del(f->os, k, &err), 0);
    }
    delta_table *t = NULL;
    delta_snapshot *logged = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/tp", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &logged, &err), 0);
    assert_int_equal(logged->checkpoint_version, 6);
    same_files(logged, m6);
    assert_int_equal(logged->ntombstones, w5.files_removed);
    for (size_t i = 0; i < logged->ntombstones; i++) {
        assert_int_equal(logged->tombstones[i].deletion_timestamp_ms, t5);
        assert_true(logged->tombstones[i].size_bytes > 0);
        assert_int_equal(logged->tombstones[i].partition_values.count, 1);
    }
    dt_rows got = {0}, want = {0};
    rows_of(f, "tp", logged, &got);
    for (int64_t id = 1; id <= 16; id++)
        if (id > 12 || (id % 4 != 0 && id % 3 != 0))
            want_rows(&want, id, id, NULL);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "rows through the multi-part checkpoint");
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(logged);
    /* The catalog's snapshot starts from it too, tombstones included. */
    append_rows(f, "tp", 17, 2); /* version 7 */
    delta_snapshot *m7 = managed(f, "tp", -1), *full = NULL;
    assert_int_equal(m7->checkpoint_version, 6);
    assert_int_equal(m7->ntombstones, w5.files_removed);
    assert_int_equal(
        delta_managed_snapshot_at_timestamp(&f->c, f->os, "tp", INT64_MAX - 1, &full, &err), 0);
    same_files(full, m7);
    delta_snapshot_free(full);
    /* A part goes missing: the log reader cannot rebuild version 6 and
     * says why; the catalog snapshot replays from version 0 instead. */
    tarn_buf saved;
    get_bytes(f, keys[1], &saved);
    assert_int_equal(objstore_del(f->os, keys[1], &err), 0);
    delta_snapshot *broken = NULL;
    assert_int_equal(delta_snapshot_at_version(t, 6, &broken, &err), TARN_ECORRUPT);
    assert_null(broken);
    assert_non_null(strstr(tarn_err_msg(&err), "has 2 of its 3 parts"));
    delta_snapshot *m7b = managed(f, "tp", -1);
    assert_int_equal(m7b->checkpoint_version, -1);
    same_files(m7b, m7);
    delta_snapshot_free(m7b);
    assert_int_equal(objstore_put(f->os, keys[1], saved.data, saved.len, &err), 0);
    tarn_buf_free(&saved);
    /* Parts from a limit of actions per part. */
    co = (delta_checkpoint_opts){.part_actions = 4};
    assert_int_equal(delta_checkpoint_write(f->os, "tables/tp", m7, &co, &err), 0);
    uint32_t nparts = (uint32_t)((2 + m7->nfiles + w5.files_removed + 3) / 4);
    assert_true(nparts > 1);
    char keys7[16][128];
    assert_true(nparts <= 16);
    part_keys("tp", 7, nparts, keys7);
    objstore_info info;
    for (uint32_t i = 0; i < nparts; i++)
        assert_int_equal(objstore_head(f->os, keys7[i], &info, &err), 0);
    get_bytes(f, "tables/tp/_delta_log/_last_checkpoint", &hint);
    char want_parts[32];
    snprintf(want_parts, sizeof(want_parts), "\"parts\":%u", nparts);
    assert_non_null(strstr((const char *)hint.data, want_parts));
    tarn_buf_free(&hint);
    delta_snapshot *at7 = NULL;
    assert_int_equal(delta_snapshot_latest(t, &at7, &err), 0);
    assert_int_equal(at7->checkpoint_version, 7);
    same_files(at7, m7);
    delta_snapshot_free(at7);
    delta_table_close(t);
    delta_snapshot_free(m6);
    delta_snapshot_free(m7);
}

/* delta.deletedFileRetentionDuration as Spark writes it; bad values refused. */
static void test_tombstone_retention(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms; /* -1: refused */
    } cases[] = {
        {NULL, 7LL * 86400000},
        {"interval 1 week", 7LL * 86400000},
        {"interval 2 weeks", 14LL * 86400000},
        {"interval 30 days", 30LL * 86400000},
        {"INTERVAL 36 HOURS", 36LL * 3600000},
        {"interval 1 day 12 hours", 36LL * 3600000},
        {"interval 90 minutes", 90LL * 60000},
        {"10 seconds", 10000},
        {"interval 0 seconds", 0},
        {"interval 1 month", -1},
        {"interval", -1},
        {"one week", -1},
        {"interval -1 day", -1},
        {"interval 1 fortnight", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *k = (char *)"delta.deletedFileRetentionDuration", *v = (char *)cases[i].text;
        delta_metadata m;
        memset(&m, 0, sizeof(m));
        m.configuration = (delta_map){&k, &v, cases[i].text ? 1 : 0};
        tarn_err err = TARN_ERR_INIT;
        int64_t ms = -2;
        int rc = delta_tombstone_retention(&m, &ms, &err);
        if (cases[i].ms < 0) {
            assert_int_equal(rc, TARN_EINVAL);
            assert_non_null(strstr(tarn_err_msg(&err), "deletedFileRetentionDuration"));
        } else {
            if (rc != 0)
                fail_msg("\"%s\": %s", cases[i].text, tarn_err_msg(&err));
            assert_int_equal(ms, cases[i].ms);
        }
    }
}

/* ---- out of memory ------------------------------------------------------------- */

typedef struct oom_ctx {
    fx *f;
    int round;
    int stride; /* inject at every stride-th allocation */
} oom_ctx;

/* Every operation of this file on a fresh table, through a committer of
 * its own (a failed process would lose its in-memory state too). */
static int oom_op(void *ctx)
{
    oom_ctx *o = ctx;
    char name[32];
    snprintf(name, sizeof(name), "oom%d", o->round++);
    objstore *os = o->f->os;
    tarn_err err = TARN_ERR_INIT;
    delta_committer c;
    delta_snapshot *s = NULL, *s2 = NULL;
    vec_batch b;
    memset(&b, 0, sizeof(b));
    int64_t v;
    static const char *const parts[] = {"p"};
    int rc = delta_committer_mem(&c);
    if (rc == 0)
        rc = delta_create_table(&c, os, name, cols, 3, parts, 1, &err);
    if (rc == 0)
        rc = vec_batch_init(&b, (vec_type_info[]){cols[0].type, cols[1].type, cols[2].type}, 3, 8);
    for (uint32_t r = 0; rc == 0 && r < 8; r++) {
        ((int64_t *)b.cols[0].data)[r] = r;
        rc = vec_col_append_str(&b.cols[1], r % 2 ? "b" : "a", 1);
        if (rc == 0)
            rc = vec_col_append_str(&b.cols[2], "x", 1);
    }
    if (rc == 0)
        b.cols[0].len = b.len = 8;
    for (int i = 0; rc == 0 && i < 2; i++) {
        delta_snapshot_free(s);
        s = NULL;
        rc = delta_managed_snapshot_latest(&c, os, name, &s, &err);
        if (rc == 0)
            rc = delta_append(&c, os, name, s, &b, 1, NULL, &v, &err);
    }
    del_ctx dc = {.mod = 3};
    delta_delete_opts d = {.rows = del_rows, .ctx = &dc};
    delta_write_result wr;
    delta_snapshot_free(s);
    s = NULL;
    if (rc == 0)
        rc = delta_managed_snapshot_latest(&c, os, name, &s, &err);
    if (rc == 0)
        rc = delta_delete(&c, os, name, s, &d, &wr, &err);
    delta_optimize_result orr;
    if (rc == 0)
        rc = delta_optimize(&c, os, name, NULL, &orr, &err);
    if (rc == 0)
        rc = delta_managed_snapshot_latest(&c, os, name, &s2, &err);
    bool keep[8];
    size_t kept_n;
    delta_pred p = {.column = "s", .op = DELTA_CMP_EQ, .kind = DELTA_VALUE_STRING, .str = "x"};
    if (rc == 0 && s2->nfiles <= 8)
        rc = delta_prune(s2, &p, 1, keep, &kept_n, &err);
    char root[64];
    snprintf(root, sizeof(root), "tables/%s", name);
    if (rc == 0)
        rc = delta_checkpoint_write(os, root, s2, NULL, &err);
    delta_history h;
    if (rc == 0 && (rc = delta_history_managed(&c, os, name, &h, &err)) == 0)
        delta_history_free(&h);
    delta_vacuum_opts vo = {.retention_ms = 0, .force = true, .dry_run = true};
    delta_vacuum_result vr;
    if (rc == 0)
        rc = delta_vacuum(&c, os, name, &vo, &vr, &err);
    vec_batch_free(&b);
    delta_snapshot_free(s);
    delta_snapshot_free(s2);
    delta_committer_close(&c);
    return rc;
}

/* Every allocation point fails in turn under TARN_LONG_TESTS=1 (minutes:
 * each round writes and fsyncs files); by default every 151st, from a
 * seeded offset, so that a run covers a different sample. Each failure
 * must be an error and leak nothing; the op must succeed without one. */
static void test_out_of_memory(void **state)
{
    oom_ctx o = {.f = *state};
    bool all = getenv("TARN_LONG_TESTS") != NULL;
    uint64_t stride = all ? 1 : 151, first = all ? 1 : 1 + tarn_test_seed() % 151;
    int injected = 0;
    for (uint64_t n = first;; n += stride) {
        int64_t live = tarn_alloc_live_count();
        tarn_alloc_fail_at(n, 0);
        int rc = oom_op(&o);
        int fired = tarn_alloc_fail_fired();
        tarn_alloc_fail_at(0, 0);
        if (tarn_alloc_live_count() != live)
            fail_msg("leak after a failure at allocation %llu (rc %d)", (unsigned long long)n, rc);
        if (!fired) {
            assert_int_equal(rc, 0);
            break;
        }
        injected++;
    }
    print_message("%d allocation failures injected\n", injected);
    assert_true(injected > 10);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_managed_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_managed_snapshots_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimize_races, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vacuum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version0_time_after_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_tombstones_parts, setup, teardown),
        cmocka_unit_test(test_tombstone_retention),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
