/*
 * bench/commit/commit_bench.c: Delta commits as `tarn table insert` and
 * `tarn sql` make them: N appender threads share one committer and one
 * file object store, and each appends one small batch at a time to the
 * same table, in a closed loop, for a fixed time. Targets:
 *   embedded  an in-process node (single-voter Raft on a WAL with fsync,
 *             LMDB state machine), delta_committer_node
 *   NAME      a running `tarn local` or `tarn cluster` over HTTP (the
 *             client library's committer), given with --http
 * and two commit modes per target:
 *   rebase    the catalog accepts a commit only on the latest version; a
 *             conflict is answered by proposing again on the latest (the
 *             writer's loop: one proposal per version that landed meanwhile)
 *   blind     the commit is a blind append: the catalog lands it on the
 *             next version in the same proposal (catalog.h rule 6)
 *
 * One append = a Parquet file written and uploaded, the catalog commit
 * (the proposals), the log file written with put-if-absent, and the
 * version marked written (one more proposal); every 10th version also
 * writes a checkpoint. Reported per (threads, target, mode): commits/s,
 * p50/p99/max latency of whole appends and of the catalog's commit
 * decision alone, and commit proposals per acknowledged append.
 *
 *   commit_bench [--threads 1,8,64] [--seconds 5] [--rows 10] [--dir DIR]
 *                [--modes rebase,blind] [--no-embedded]
 *                [--http NAME URL[,URL...] KEY_FILE STORE_DIR]...
 *
 * Every acknowledged append is checked at the end: the table's row count
 * through a snapshot equals the rows appended, and its latest version the
 * appends. Run by bench/commit/run.sh.
 */
#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "client/committer.h"
#include "delta/delta.h"
#include "node/node.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAT_MAX (1u << 20)

typedef struct lat {
    int64_t *ns;
    size_t n;
    pthread_mutex_t mu;
} lat;

static void lat_add(lat *l, int64_t ns)
{
    pthread_mutex_lock(&l->mu);
    if (l->n < LAT_MAX)
        l->ns[l->n++] = ns;
    pthread_mutex_unlock(&l->mu);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(lat *l, double p)
{
    if (l->n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return (double)l->ns[i] / 1e6;
}

/* A committer that times the catalog's commit decision. */
typedef struct timed {
    delta_committer inner;
    lat *decide;
} timed;

static int timed_commit(void *ctx, const char *name, int64_t base, const char *txn,
                        const char *actions, size_t len, int64_t *v, bool *dup, tarn_err *err)
{
    timed *t = ctx;
    int64_t t0 = tarn_mono_ns();
    int rc = t->inner.commit(t->inner.ctx, name, base, txn, actions, len, v, dup, err);
    lat_add(t->decide, tarn_mono_ns() - t0);
    return rc;
}

static int timed_blind(void *ctx, const char *name, int64_t base, const char *txn,
                       const char *actions, size_t len, int64_t *v, bool *dup, tarn_err *err)
{
    timed *t = ctx;
    int64_t t0 = tarn_mono_ns();
    int rc = t->inner.commit_blind(t->inner.ctx, name, base, txn, actions, len, v, dup, err);
    lat_add(t->decide, tarn_mono_ns() - t0);
    return rc;
}

static int timed_create(void *ctx, const char *name, const char *schema, const char *const *parts,
                        size_t nparts, uint64_t *id, tarn_err *err)
{
    timed *t = ctx;
    return t->inner.create(t->inner.ctx, name, schema, parts, nparts, id, err);
}

static int timed_written(void *ctx, const char *name, int64_t v, tarn_err *err)
{
    timed *t = ctx;
    return t->inner.log_written(t->inner.ctx, name, v, err);
}

static int timed_pending(void *ctx, delta_pending **out, size_t *n, tarn_err *err)
{
    timed *t = ctx;
    return t->inner.pending(t->inner.ctx, out, n, err);
}

static int timed_read(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                      size_t *n, int64_t *latest, tarn_err *err)
{
    timed *t = ctx;
    return t->inner.read(t->inner.ctx, name, from, to, out, n, latest, err);
}

typedef struct run {
    delta_committer *c;
    objstore *os;
    const char *table;
    const delta_snapshot *base;
    uint32_t rows;
    int64_t deadline_ns;
    lat *append;
    int64_t appended; /* rows acknowledged, all threads */
    int failures;
    pthread_mutex_t mu;
} run;

static void *appender(void *arg)
{
    run *r = arg;
    vec_type_info types[2] = {{.id = VEC_I64}, {.id = VEC_STRING}};
    vec_batch b;
    if (vec_batch_init(&b, types, 2, r->rows) != 0)
        return NULL;
    for (uint32_t i = 0; i < r->rows; i++) {
        ((int64_t *)b.cols[0].data)[i] = i;
        vec_col_append_str(&b.cols[1], "payload-of-a-row", 16);
    }
    b.cols[0].len = r->rows;
    b.len = r->rows;
    tarn_err err = TARN_ERR_INIT;
    /* The base each append names: the version this writer saw last (a
     * shallow copy of the snapshot with its version moved on; an append
     * reads only the schema from it), as a long-lived writer would. */
    delta_snapshot base = *r->base;
    while (tarn_mono_ns() < r->deadline_ns) {
        int64_t t0 = tarn_mono_ns(), v = -1;
        delta_append_opts o = {.rebase_max = 100000};
        int rc = delta_append(r->c, r->os, r->table, &base, &b, 1, &o, &v, &err);
        if (rc == 0)
            base.version = v;
        lat_add(r->append, tarn_mono_ns() - t0);
        pthread_mutex_lock(&r->mu);
        if (rc == 0)
            r->appended += r->rows;
        else if (r->failures++ == 0)
            fprintf(stderr, "append: %s\n", tarn_err_msg(&err));
        pthread_mutex_unlock(&r->mu);
        tarn_err_clear(&err);
    }
    vec_batch_free(&b);
    return NULL;
}

static int64_t count_rows(delta_committer *c, objstore *os, const char *table, int64_t *version)
{
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int64_t n = 0;
    if (delta_managed_snapshot_latest(c, os, table, &s, &err) != 0) {
        fprintf(stderr, "snapshot: %s\n", tarn_err_msg(&err));
        return -1;
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        delta_stats st;
        if (delta_stats_parse(s->files[i].stats, &st, &err) == 0) {
            n += st.num_records;
            delta_stats_free(&st);
        }
    }
    *version = s->version;
    delta_snapshot_free(s);
    return n;
}

/* One place to commit to: its committer (wrapped to time decisions) and
 * the store its tables' files live in. */
typedef struct target {
    const char *name;
    delta_committer inner; /* the real committer */
    objstore *os;
    tarn_client *client; /* HTTP targets */
} target;

/* The timing wrapper over t->inner, with or without blind appends. */
static delta_committer timed_over(timed *tm, const target *t, lat *decide, bool blind)
{
    *tm = (timed){t->inner, decide};
    delta_committer c = {
        tm, timed_create, timed_commit, timed_written, timed_pending, NULL, timed_read, 0, NULL};
    if (blind)
        c.commit_blind = timed_blind;
    return c;
}

static int bench_one(target *t, bool blind, int threads, double seconds, uint32_t rows, lat *append,
                     lat *decide)
{
    timed tm;
    delta_committer cm = timed_over(&tm, t, decide, blind), *c = &cm;
    objstore *os = t->os;
    char table[96];
    snprintf(table, sizeof(table), "bench_%s_%s_%d_%lld", t->name, blind ? "blind" : "rebase",
             threads, (long long)(tarn_wall_ms() % 1000000));
    for (char *p = table; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9'))
            *p = '_';
    tarn_err err = TARN_ERR_INIT;
    delta_column cols[2] = {{"id", {.id = VEC_I64}, false}, {"payload", {.id = VEC_STRING}, true}};
    delta_snapshot *base = NULL;
    if (delta_create_table(c, os, table, cols, 2, NULL, 0, &err) != 0 ||
        delta_managed_snapshot_latest(c, os, table, &base, &err) != 0) {
        fprintf(stderr, "%s: %s\n", table, tarn_err_msg(&err));
        return 1;
    }
    append->n = decide->n = 0;
    run r = {.c = c,
             .os = os,
             .table = table,
             .base = base,
             .rows = rows,
             .append = append,
             .deadline_ns = tarn_mono_ns() + (int64_t)(seconds * 1e9)};
    pthread_mutex_init(&r.mu, NULL);
    pthread_t *th = calloc((size_t)threads, sizeof(pthread_t));
    int64_t t0 = tarn_mono_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, appender, &r);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(tarn_mono_ns() - t0) / 1e9;
    free(th);
    int64_t version = 0, counted = count_rows(c, os, table, &version);
    qsort(append->ns, append->n, sizeof(int64_t), cmp_i64);
    qsort(decide->ns, decide->n, sizeof(int64_t), cmp_i64);
    int64_t commits = r.appended / rows;
    bool ok = counted == r.appended && version == commits && r.failures == 0;
    printf(
        "%7d | %-9s | %-6s | %7lld | %9.1f | %8.2f | %8.2f | %8.2f | %8.2f | %8.2f | %8.2f | %s\n",
        threads, t->name, blind ? "blind" : "rebase", (long long)commits, (double)commits / secs,
        pct_ms(append, 0.5), pct_ms(append, 0.99), pct_ms(append, 1.0), pct_ms(decide, 0.5),
        pct_ms(decide, 0.99), commits ? (double)decide->n / (double)commits : 0.0,
        ok ? "ok" : "MISMATCH");
    fflush(stdout);
    delta_snapshot_free(base);
    pthread_mutex_destroy(&r.mu);
    return ok ? 0 : 1;
}

static int embedded_open(const char *dir, target *t, node **n, tarn_err *err)
{
    char data[4096], objects[4096];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(objects, sizeof(objects), "%s/objects", dir);
    mkdir(data, 0700);
    mkdir(objects, 0700);
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    node_opts no = {.data_dir = data, .durability = STORE_DURABLE_DATA};
    t->name = "embedded";
    if (catalog_register(&reg) != 0 || node_open(&no, &reg, n, err) != 0 ||
        node_wait_leader(*n, 10000, err) != 0 || objstore_open(objects, &t->os, err) != 0 ||
        delta_committer_node(*n, 30000, &t->inner) != 0)
        return -1;
    return 0;
}

/* --http NAME URLS KEY_FILE STORE */
static int http_open(char **arg, target *t, tarn_err *err)
{
    const char *urls[TARN_CLIENT_ENDPOINTS_MAX];
    size_t n = 0;
    char *list = strdup(arg[1]);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < TARN_CLIENT_ENDPOINTS_MAX;
         tok = strtok_r(NULL, ",", &save))
        urls[n++] = tok;
    tarn_client_opts o = {.endpoints = urls,
                          .n_endpoints = n,
                          .api_key_file = arg[2],
                          .timeout_ms = 30000,
                          .attempt_timeout_ms = 10000};
    t->name = arg[0];
    int rc = tarn_client_open(&o, &t->client, err);
    free(list);
    if (rc == 0)
        rc = objstore_open(arg[3], &t->os, err);
    if (rc == 0)
        rc = client_committer_open(t->client, NULL, &t->inner);
    return rc;
}

int main(int argc, char **argv)
{
    const char *thread_list = "1,8,64", *dir = NULL, *modes = "rebase,blind";
    double seconds = 5;
    uint32_t rows = 10;
    bool embedded = true;
    target targets[8];
    size_t ntargets = 1;
    tarn_err err = TARN_ERR_INIT;
    tarn_log_set_level(TARN_LOG_ERROR);
    tarn_alloc_hook_jansson();
    memset(targets, 0, sizeof(targets));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-embedded") == 0)
            embedded = false;
        else if (strcmp(argv[i], "--http") == 0 && i + 4 < argc && ntargets < 8) {
            if (http_open(&argv[i + 1], &targets[ntargets++], &err) != 0) {
                fprintf(stderr, "commit_bench: %s: %s\n", argv[i + 1], tarn_err_msg(&err));
                return 1;
            }
            i += 4;
        } else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            thread_list = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--rows") == 0)
            rows = (uint32_t)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--modes") == 0)
            modes = argv[++i];
        else {
            fprintf(stderr, "commit_bench: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    char tmpl[] = "/tmp/tarn-commit-bench-XXXXXX";
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
        return 1;
    node *n = NULL;
    if (embedded && embedded_open(dir, &targets[0], &n, &err) != 0) {
        fprintf(stderr, "commit_bench: %s\n", tarn_err_msg(&err));
        return 1;
    }
    lat append = {calloc(LAT_MAX, sizeof(int64_t)), 0, PTHREAD_MUTEX_INITIALIZER};
    lat decide = {calloc(LAT_MAX, sizeof(int64_t)), 0, PTHREAD_MUTEX_INITIALIZER};
    printf("Delta appends, %u rows each, %.0f s per row of the table; embedded data in %s\n", rows,
           seconds, dir);
    printf("threads | target    | mode   | commits | commits/s | p50 ms   | p99 ms   | max ms   "
           "| decide50 | decide99 | props/commit | check\n");
    int rc = 0;
    char *list = strdup(thread_list);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        for (size_t k = embedded ? 0 : 1; k < ntargets; k++)
            for (int blind = 0; blind < 2; blind++)
                if (strstr(modes, blind ? "blind" : "rebase") != NULL)
                    rc |= bench_one(&targets[k], blind, atoi(tok), seconds, rows, &append, &decide);
    free(list);
    free(append.ns);
    free(decide.ns);
    for (size_t k = 0; k < ntargets; k++) {
        delta_committer_close(&targets[k].inner);
        objstore_close(targets[k].os);
        tarn_client_close(targets[k].client);
    }
    node_close(n);
    return rc;
}
