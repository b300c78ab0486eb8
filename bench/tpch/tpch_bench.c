/*
 * bench/tpch/tpch_bench.c: TPC-H Q1, Q6 and a filtered count(*) over a
 * lineitem Parquet file through our Parquet scan and exec operators (the
 * plans a planner emits for them, in exec's JSON form), serially or on N
 * threads (morsels of row groups, partial aggregates, a final merge).
 * Prints the result rows ("row,...") and the timings ("time_ms," min,
 * median, then each run). run.sh puts DuckDB's figures beside them.
 *
 *   tpch_bench FILE QUERY RUNS THREADS     QUERY: q1 | q6 | count; THREADS 0: serial
 */
#include "bench_util.h"
#include "q1_plan.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Q6: SELECT sum(l_extendedprice * l_discount) FROM lineitem WHERE
 * l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND
 * l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24.
 * Scan columns: 0 quantity, 1 extendedprice, 2 discount, 3 shipdate. */
static const char *const q6_cols[] = {"l_quantity", "l_extendedprice", "l_discount", "l_shipdate"};
#define Q6_PIPE(PHASE)                                                                             \
    "{\"op\":\"aggregate\",\"phase\":\"" PHASE "\",\"aggs\":[{\"fn\":\"sum\",\"col\":0}],"         \
    "\"input\":{\"op\":\"project\",\"exprs\":[{\"op\":\"*\",\"args\":[{\"col\":1},{\"col\":2}]}]," \
    "\"input\":{\"op\":\"filter\",\"pred\":{\"op\":\"and\",\"args\":["                             \
    "{\"op\":\">=\",\"args\":[{\"col\":3},{\"const\":\"1994-01-01\",\"type\":\"date\"}]},"         \
    "{\"op\":\"<\",\"args\":[{\"col\":3},{\"const\":\"1995-01-01\",\"type\":\"date\"}]},"          \
    "{\"op\":\"between\",\"args\":[{\"col\":2},{\"const\":0.05,\"type\":\"f64\"},"                 \
    "{\"const\":0.07,\"type\":\"f64\"}]},"                                                         \
    "{\"op\":\"<\",\"args\":[{\"col\":0},{\"const\":24.0,\"type\":\"f64\"}]}]},"                   \
    "\"input\":{\"op\":\"source\",\"name\":\"lineitem\"}}}}"
#define Q6_FINAL "{\"op\":\"aggregate\",\"phase\":\"final\",\"aggs\":[{\"fn\":\"sum\"}],\"input\":"

/* count: SELECT count(*) FROM lineitem WHERE l_quantity < 24 AND
 * l_returnflag = 'R'. Scan columns: 0 quantity, 1 returnflag. */
static const char *const count_cols[] = {"l_quantity", "l_returnflag"};
#define COUNT_PIPE(PHASE)                                                                          \
    "{\"op\":\"aggregate\",\"phase\":\"" PHASE "\",\"aggs\":[{\"fn\":\"count_star\"}],"            \
    "\"input\":{\"op\":\"filter\",\"pred\":{\"op\":\"and\",\"args\":["                             \
    "{\"op\":\"<\",\"args\":[{\"col\":0},{\"const\":24.0,\"type\":\"f64\"}]},"                     \
    "{\"op\":\"=\",\"args\":[{\"col\":1},{\"const\":\"R\",\"type\":\"string\"}]}]},"               \
    "\"input\":{\"op\":\"source\",\"name\":\"lineitem\"}}}"
#define COUNT_FINAL                                                                                \
    "{\"op\":\"aggregate\",\"phase\":\"final\",\"aggs\":[{\"fn\":\"count_star\"}],\"input\":"

typedef struct bench_ctx {
    pq_file *f;
    uint32_t idx[8];
    pq_scan_opts so;
    exec_morsels m;
} bench_ctx;

static int resolve(void *ctx, const char *name, exec_budget *bud, exec_op **out, tarn_err *err)
{
    bench_ctx *c = ctx;
    if (strcmp(name, "lineitem") != 0)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    return exec_pq_morsel_source_new(c->f, &c->so, &c->m, bud, out, err);
}

/* Builds the plan of `query` on `threads` threads (0: serial). */
static int build(const char *query, uint32_t threads, bench_ctx *c, exec_budget *bud,
                 exec_op **root, tarn_err *err)
{
    const char *const *cols = strcmp(query, "q6") == 0 ? q6_cols : count_cols;
    uint32_t ncols = strcmp(query, "q6") == 0 ? 4 : 2;
    for (uint32_t i = 0; i < ncols; i++) {
        int k = pq_file_find_column(c->f, cols[i]);
        if (k < 0)
            return tarn_err_set(err, TARN_EINVAL, "lineitem has no column %s", cols[i]);
        c->idx[i] = (uint32_t)k;
    }
    c->so = (pq_scan_opts){.columns = c->idx, .ncols = ncols, .keep_dict = true};
    exec_morsels_init(&c->m, pq_file_nrow_groups(c->f));
    char json[4096];
    bool q6 = strcmp(query, "q6") == 0;
    if (threads == 0)
        snprintf(json, sizeof(json), "%s", q6 ? Q6_PIPE("single") : COUNT_PIPE("single"));
    else
        snprintf(json, sizeof(json), "%s{\"op\":\"parallel\",\"workers\":%u,\"input\":%s}}",
                 q6 ? Q6_FINAL : COUNT_FINAL, threads,
                 q6 ? Q6_PIPE("partial") : COUNT_PIPE("partial"));
    return exec_plan_from_json(json, resolve, c, bud, root, err);
}

static int run_plan(exec_op *root, FILE *out, tarn_err *err)
{
    int rc = exec_op_open(root, err);
    const vec_batch *b;
    while (rc == 0 && (rc = exec_op_next(root, &b, err)) == 0 && b != NULL) {
        for (uint32_t i = 0; i < b->len && out; i++) {
            const vec_col *c = &b->cols[0];
            if (!vec_col_is_valid(c, i))
                fprintf(out, "NULL\n");
            else if (c->type.id == VEC_F64)
                fprintf(out, "%.17g\n", ((const double *)c->data)[i]);
            else
                fprintf(out, "%lld\n", (long long)((const int64_t *)c->data)[i]);
        }
    }
    return rc;
}

static int run_once(const char *path, int fd, uint64_t size, const char *query, uint32_t threads,
                    FILE *out, tarn_err *err)
{
    pq_source src = {.read = pq_fd_read, .ctx = &fd, .size = size, .name = path};
    pq_file *f;
    int rc = pq_file_open(&src, &f, err);
    if (rc != 0)
        return rc;
    exec_budget bud;
    exec_budget_init(&bud, (size_t)1 << 30);
    exec_op *root = NULL;
    pq_scan *scan = NULL;
    q1_par par;
    bench_ctx c = {.f = f};
    if (strcmp(query, "q1") == 0)
        rc = threads ? q1_plan_build_parallel(f, &bud, threads, &par, &root, err)
                     : q1_plan_build(f, &bud, &scan, &root, err);
    else
        rc = build(query, threads, &c, &bud, &root, err);
    if (rc == 0)
        rc = strcmp(query, "q1") == 0 ? q1_plan_run(root, out, err) : run_plan(root, out, err);
    exec_op_close(root);
    pq_scan_close(scan);
    pq_file_close(f);
    return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: tpch_bench FILE q1|q6|count RUNS THREADS\n");
        return 2;
    }
    const char *query = argv[2];
    int runs = atoi(argv[3]);
    uint32_t threads = (uint32_t)atoi(argv[4]);
    if (runs < 1 || runs > 100 || threads > EXEC_WORKERS_MAX ||
        (strcmp(query, "q1") && strcmp(query, "q6") && strcmp(query, "count"))) {
        fprintf(stderr, "tpch_bench: bad arguments\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    double ms[100];
    tarn_err err = TARN_ERR_INIT;
    for (int i = 0; i < runs; i++) {
        double t0 = bench_clock_ms(CLOCK_MONOTONIC);
        int rc = run_once(argv[1], fd, (uint64_t)st.st_size, query, threads, NULL, &err);
        ms[i] = bench_clock_ms(CLOCK_MONOTONIC) - t0;
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", query, tarn_err_msg(&err));
            return 1;
        }
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (run_once(argv[1], fd, (uint64_t)st.st_size, query, threads, mem, &err) != 0) {
        fprintf(stderr, "%s: %s\n", query, tarn_err_msg(&err));
        return 1;
    }
    fclose(mem);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        printf("row,%s\n", line);
    free(text);
    bench_print_times(ms, runs);
    close(fd);
    return 0;
}
