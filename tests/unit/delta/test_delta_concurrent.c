/*
 * tests/unit/delta/test_delta_concurrent.c: what issue 7 asks of Tarn's
 * tables beyond single operations: concurrent appenders through the
 * embedded metadata service (threads sharing one node: the WAL lock lets
 * one process open a data directory, so separate processes cannot share
 * it), exactly one winner per base version and every acknowledged row
 * there; compaction while appends continue; DuckDB reading each version's
 * files (the list from our log) and finding our rows; hostile logs with
 * clear errors.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "catalog/catalog.h"
#include "delta/delta.h"
#include "node/node.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
    char *dir, *data;
    objstore *os;
    node *n;
    delta_committer c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-conc");
    f->data = tarn_test_mkdtemp("delta-conc-node");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    node_opts no = {.data_dir = f->data, .tick_ms = 2, .rng_seed = tarn_test_seed() | 1};
    assert_int_equal(node_open(&no, &reg, &f->n, &err), 0);
    assert_int_equal(node_wait_leader(f->n, 10000, &err), 0);
    assert_int_equal(delta_committer_node(f->n, 10000, &f->c), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    delta_committer_close(&f->c);
    node_close(f->n);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    tarn_test_rmdir(f->data);
    free(f);
    return 0;
}

static const char *const col_names[] = {"id", "p", "s"};
static const delta_column cols[] = {{"id", {.id = VEC_I64}, false},
                                    {"p", {.id = VEC_STRING}, true},
                                    {"s", {.id = VEC_STRING}, true}};

/* Rows id = first..first+n-1, p = "a"/"b" by parity, s = "s<id>" (null
 * for multiples of 7). */
static void make_batch(vec_batch *b, int64_t first, uint32_t n)
{
    vec_type_info types[3] = {cols[0].type, cols[1].type, cols[2].type};
    assert_int_equal(vec_batch_init(b, types, 3, n), 0);
    for (uint32_t r = 0; r < n; r++) {
        int64_t id = first + r;
        ((int64_t *)b->cols[0].data)[r] = id;
        assert_int_equal(vec_col_append_str(&b->cols[1], id % 2 ? "b" : "a", 1), 0);
        char s[32];
        snprintf(s, sizeof(s), "s%lld", (long long)id);
        assert_int_equal(vec_col_append_str(&b->cols[2], s, strlen(s)), 0);
        if (id % 7 == 0)
            assert_int_equal(vec_col_set_null(&b->cols[2], r), 0);
    }
    for (int i = 0; i < 3; i++)
        b->cols[i].len = n;
    b->len = n;
}

static void create(fx *f, const char *name, delta_committer *c)
{
    static const char *const parts[] = {"p"};
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_create_table(c, f->os, name, cols, 3, parts, 1, &err);
    if (rc != 0)
        print_error("create: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
}

static int64_t count_rows(fx *f, const char *name, const delta_snapshot *s, dt_rows *rows)
{
    delta_table *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open_managed(f->os, name, &t, &err), 0);
    dt_rows local = {0};
    dt_rows *r = rows ? rows : &local;
    int rc = dt_snapshot_rows(t, s, r, &err);
    if (rc != 0)
        print_error("scan: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    int64_t n = (int64_t)r->n;
    dt_rows_free(&local);
    delta_table_close(t);
    return n;
}

/* ---- concurrent appenders ------------------------------------------------------- */

#define WRITERS         8
#define APPENDS_PER     4
#define ROWS_PER_APPEND 3
#define ATTEMPTS_MAX    400

typedef struct writer {
    fx *f;
    const char *name;
    int id;
    int64_t base[APPENDS_PER], version[APPENDS_PER]; /* each acknowledged append */
    int acked, conflicts;
    int rc;
} writer;

/* Appends without rebasing: a stale base is a conflict, answered by a new
 * snapshot and a new attempt, as independent writers would. */
static void *writer_main(void *arg)
{
    writer *w = arg;
    tarn_err err = TARN_ERR_INIT;
    for (int k = 0, tries = 0; k < APPENDS_PER && w->rc == 0 && tries < ATTEMPTS_MAX; tries++) {
        delta_snapshot *s = NULL;
        w->rc = delta_managed_snapshot_latest(&w->f->c, w->f->os, w->name, &s, &err);
        if (w->rc != 0)
            break;
        vec_batch b;
        make_batch(&b, 1000 * w->id + ROWS_PER_APPEND * k, ROWS_PER_APPEND);
        int64_t v = -1;
        int rc = delta_append(&w->f->c, w->f->os, w->name, s, &b, 1, NULL, &v, &err);
        if (rc == 0) {
            w->base[k] = s->version;
            w->version[k] = v;
            w->acked++;
            k++;
        } else if (rc == TARN_ECONFLICT) {
            w->conflicts++;
        } else {
            w->rc = rc;
        }
        vec_batch_free(&b);
        delta_snapshot_free(s);
    }
    if (w->rc != 0)
        print_error("writer %d: %s\n", w->id, tarn_err_msg(&err));
    return NULL;
}

static void test_concurrent_appenders(void **state)
{
    fx *f = *state;
    create(f, "ca", &f->c);
    writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.f = f, .name = "ca", .id = i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    /* Exactly one winner per base version: the acknowledged versions are
     * 1..N, each once, each on the version before it. */
    int seen[WRITERS * APPENDS_PER + 1] = {0}, acked = 0, conflicts = 0;
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].acked, APPENDS_PER);
        conflicts += w[i].conflicts;
        for (int k = 0; k < w[i].acked; k++, acked++) {
            assert_true(w[i].version[k] >= 1 && w[i].version[k] <= WRITERS * APPENDS_PER);
            assert_int_equal(w[i].version[k], w[i].base[k] + 1);
            assert_int_equal(seen[w[i].version[k]]++, 0);
        }
    }
    print_message("%d appends acknowledged, %d conflicts answered\n", acked, conflicts);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "ca", &s, &err), 0);
    assert_int_equal(s->version, acked);
    assert_int_equal(count_rows(f, "ca", s, NULL), (int64_t)acked * ROWS_PER_APPEND);
    /* The log says the same, with no gap. */
    delta_table *t = NULL;
    delta_snapshot *ls = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/ca", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &ls, &err), 0);
    assert_int_equal(ls->version, acked);
    assert_int_equal(ls->nfiles, s->nfiles);
    delta_snapshot_free(ls);
    delta_table_close(t);
    delta_snapshot_free(s);
}

/* ---- compaction while appends continue ------------------------------------------ */

typedef struct appender_th {
    fx *f;
    int id, n;
    int64_t rows;
    int rc;
} appender_th;

static int appenders_done;

static void *appender_main(void *arg)
{
    appender_th *a = arg;
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    a->rc = delta_managed_snapshot_latest(&a->f->c, a->f->os, "co", &s, &err);
    for (int k = 0; a->rc == 0 && k < a->n; k++) {
        vec_batch b;
        make_batch(&b, 100000 * a->id + 10 * k, 2);
        int64_t v;
        /* Rebasing: an append reads nothing, so any later base will do. */
        delta_append_opts o = {.rebase_max = 1000};
        a->rc = delta_append(&a->f->c, a->f->os, "co", s, &b, 1, &o, &v, &err);
        a->rows += a->rc == 0 ? 2 : 0;
        vec_batch_free(&b);
    }
    if (a->rc != 0)
        print_error("appender %d: %s\n", a->id, tarn_err_msg(&err));
    delta_snapshot_free(s);
    __atomic_add_fetch(&appenders_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_compaction_during_appends(void **state)
{
    fx *f = *state;
    appenders_done = 0;
    create(f, "co", &f->c);
    appender_th a[2] = {{.f = f, .id = 1, .n = 12}, {.f = f, .id = 2, .n = 12}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, appender_main, &a[i]), 0);
    tarn_err err = TARN_ERR_INIT;
    int compactions = 0;
    /* Compacts until both appenders are done (at least twice). */
    for (int round = 0; round < 2 || __atomic_load_n(&appenders_done, __ATOMIC_ACQUIRE) < 2;
         round++) {
        delta_optimize_result r;
        int rc = delta_optimize(&f->c, f->os, "co", NULL, &r, &err);
        if (rc != 0)
            print_error("optimize: %s\n", tarn_err_msg(&err));
        assert_int_equal(rc, 0);
        compactions += r.files_removed > 0;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(a[0].rc, 0);
    assert_int_equal(a[1].rc, 0);
    delta_optimize_result r;
    assert_int_equal(delta_optimize(&f->c, f->os, "co", NULL, &r, &err), 0);
    print_message("%d compactions landed during the appends\n", compactions);
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "co", &s, &err), 0);
    assert_int_equal(s->nfiles, 2); /* one per partition after the last compaction */
    /* Every appended row, once. */
    dt_rows got = {0}, want = {0};
    count_rows(f, "co", s, &got);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < a[i].n; k++) {
            vec_batch b;
            make_batch(&b, 100000 * a[i].id + 10 * k, 2);
            dt_rows_add_batch(&want, &b, col_names);
            vec_batch_free(&b);
        }
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "rows after compaction during appends");
    dt_rows_free(&got);
    dt_rows_free(&want);
    delta_snapshot_free(s);
}

/* ---- DuckDB reads every version ------------------------------------------------- */

static bool have_duckdb(void)
{
    return system("command -v node >/dev/null 2>&1") == 0 &&
           access(DELTA_REPO_ROOT "/node_modules/@duckdb/node-api", F_OK) == 0;
}

/* Our rows of (id, s) at snapshot s, as "id|s" lines into `path`. */
static void write_expected(fx *f, const char *name, const delta_snapshot *s, const char *path)
{
    delta_table *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open_managed(f->os, name, &t, &err), 0);
    static const char *const want_cols[] = {"id", "s"};
    delta_scan *sc = NULL;
    assert_int_equal(
        delta_scan_open(t, s, &(delta_scan_opts){.columns = want_cols, .ncols = 2}, &sc, &err), 0);
    vec_batch b;
    assert_int_equal(delta_scan_batch_init(sc, &b), 0);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    int rc;
    while ((rc = delta_scan_next(sc, &b, &err)) == 0 && b.len > 0)
        for (uint32_t r = 0; r < b.len; r++) {
            const uint8_t *str;
            size_t len;
            fprintf(fp, "%lld|", (long long)((const int64_t *)b.cols[0].data)[r]);
            if (vec_col_is_valid(&b.cols[1], r)) {
                vec_col_str(&b.cols[1], r, &str, &len);
                fwrite(str, 1, len, fp);
            } else {
                fputs("\\N", fp);
            }
            fputc('\n', fp);
        }
    assert_int_equal(rc, 0);
    fclose(fp);
    vec_batch_free(&b);
    delta_scan_close(sc);
    delta_table_close(t);
}

static int del_mult3(void *ctx, const vec_batch *b, uint8_t *match, tarn_err *err)
{
    (void)ctx;
    (void)err;
    for (uint32_t r = 0; r < b->len; r++)
        match[r] = ((const int64_t *)b->cols[0].data)[r] % 3 == 0;
    return 0;
}

static void test_duckdb_every_version(void **state)
{
    fx *f = *state;
    if (!have_duckdb()) {
        print_message("node or @duckdb/node-api not found: DuckDB check skipped\n");
        return;
    }
    create(f, "dv", &f->c);
    tarn_err err = TARN_ERR_INIT;
    for (int i = 0; i < 3; i++) {
        delta_snapshot *s = NULL;
        assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "dv", &s, &err), 0);
        vec_batch b;
        make_batch(&b, 1 + 10 * i, 10);
        int64_t v;
        assert_int_equal(delta_append(&f->c, f->os, "dv", s, &b, 1, NULL, &v, &err), 0);
        vec_batch_free(&b);
        delta_snapshot_free(s);
    }
    delta_snapshot *s3 = NULL;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "dv", &s3, &err), 0);
    delta_write_result wr;
    delta_delete_opts d = {.rows = del_mult3};
    assert_int_equal(delta_delete(&f->c, f->os, "dv", s3, &d, &wr, &err), 0); /* v4 */
    delta_optimize_result orr;
    assert_int_equal(delta_optimize(&f->c, f->os, "dv", NULL, &orr, &err), 0); /* v5 */
    assert_int_equal(orr.version, 5);
    /* Every version: the file list from our log, the rows from DuckDB. */
    delta_table *t = NULL;
    assert_int_equal(delta_table_open(f->os, "tables/dv", &t, &err), 0);
    for (int64_t v = 0; v <= 5; v++) {
        delta_snapshot *s = NULL;
        assert_int_equal(delta_snapshot_at_version(t, v, &s, &err), 0);
        char exp[1024], cmd[16384];
        snprintf(exp, sizeof(exp), "%s/expected-%lld.txt", f->dir, (long long)v);
        write_expected(f, "dv", s, exp);
        int n =
            snprintf(cmd, sizeof(cmd), "cd '%s' && node tests/unit/delta/data/duckdb_rows.mjs '%s'",
                     DELTA_REPO_ROOT, exp);
        for (size_t i = 0; i < s->nfiles; i++)
            n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " '%s/tables/dv/%s'", f->dir,
                          s->files[i].path);
        assert_true((size_t)n < sizeof(cmd));
        int rc = system(cmd);
        if (rc != 0)
            print_error("version %lld: DuckDB disagrees\n", (long long)v);
        assert_int_equal(rc, 0);
        delta_snapshot_free(s);
    }
    delta_table_close(t);
    delta_snapshot_free(s3);
}

/* ---- hostile logs ---------------------------------------------------------------- */

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META                                                                                       \
    "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"            \
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\","    \
    "\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","                    \
    "\"partitionColumns\":[],\"configuration\":{}}}\n"
#define ADD(path)                                                                                  \
    "{\"add\":{\"path\":\"" path "\",\"partitionValues\":{},\"size\":10,\"modificationTime\":1,"   \
    "\"dataChange\":true}}\n"

/* The error of reading `root` (snapshot, then a scan of it). */
static int read_table(fx *f, const char *root, tarn_err *err)
{
    delta_table *t = NULL;
    delta_snapshot *s = NULL;
    int rc = delta_table_open(f->os, root, &t, err);
    if (rc == 0)
        rc = delta_snapshot_latest(t, &s, err);
    dt_rows rows = {0};
    if (rc == 0)
        rc = dt_snapshot_rows(t, s, &rows, err);
    dt_rows_free(&rows);
    delta_snapshot_free(s);
    delta_table_close(t);
    return rc;
}

static void expect(fx *f, const char *root, int code, const char *msg)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = read_table(f, root, &err);
    if (rc != code || strstr(tarn_err_msg(&err), msg) == NULL)
        print_error("%s: got %s \"%s\", want %s \"%s\"\n", root, tarn_strerror(rc),
                    tarn_err_msg(&err), tarn_strerror(code), msg);
    assert_int_equal(rc, code);
    assert_non_null(strstr(tarn_err_msg(&err), msg));
}

static void test_hostile_logs(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "h/badjson", 0, PROTO META "{\"add\": {\"path\": oops}\n");
    expect(f, "h/badjson", TARN_ECORRUPT, "00000000000000000000.json: line 3");
    dt_put_commit(f->os, "h/gap", 0, PROTO META);
    dt_put_commit(f->os, "h/gap", 1, ADD("a.parquet"));
    dt_put_commit(f->os, "h/gap", 3, ADD("b.parquet"));
    expect(f, "h/gap", TARN_ECORRUPT, "version 2 is missing");
    dt_put_commit(f->os, "h/missing", 0, PROTO META ADD("gone.parquet"));
    expect(f, "h/missing", TARN_ENOENT, "gone.parquet");
    dt_put_commit(f->os, "h/escape", 0, PROTO META ADD("../../../etc/passwd"));
    expect(f, "h/escape", TARN_EINVAL, "etc/passwd");
    dt_put_commit(f->os, "h/escape2", 0, PROTO META ADD("%2E%2E/secret.parquet"));
    expect(f, "h/escape2", TARN_EINVAL, "secret.parquet");
    dt_put_commit(f->os, "h/absolute", 0, PROTO META ADD("/etc/passwd"));
    expect(f, "h/absolute", TARN_ENOTSUP, "absolute paths");
    dt_put_commit(f->os, "h/noproto", 0, META);
    expect(f, "h/noproto", TARN_ECORRUPT, "no protocol");
    /* The same hostile add through the metadata service: the catalog keeps
     * bytes, it does not vouch for them; the reader refuses them. */
    create(f, "hm", &f->c);
    tarn_err err = TARN_ERR_INIT;
    const char *evil = "{\"add\":{\"path\":\"../../../../etc/passwd\",\"partitionValues\":"
                       "{\"p\":\"a\"},\"size\":10,\"modificationTime\":1,\"dataChange\":true}}\n";
    int64_t v;
    bool dup;
    int rc = f->c.commit(f->c.ctx, "hm", 0, "evil", evil, strlen(evil), &v, &dup, &err);
    if (rc != 0)
        print_error("commit: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "hm", &s, &err), 0);
    delta_table *t = NULL;
    assert_int_equal(delta_table_open_managed(f->os, "hm", &t, &err), 0);
    dt_rows rows = {0};
    assert_int_equal(dt_snapshot_rows(t, s, &rows, &err), TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "etc/passwd"));
    dt_rows_free(&rows);
    delta_table_close(t);
    delta_snapshot_free(s);
    const char *bad = "{\"add\": nope}\n";
    assert_int_equal(f->c.commit(f->c.ctx, "hm", 1, "bad", bad, strlen(bad), &v, &dup, &err), 0);
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "hm", &s, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "hm@v2"));
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_appenders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_during_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duckdb_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_logs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
