/*
 * bench/q1/q1_bench.c: runs TPC-H Q1 (q1_plan.c) over a lineitem Parquet
 * file through our Parquet scan and exec operators, `runs` times, and
 * prints the result rows (CSV, prefixed "row,") and the timings ("time_ms,"
 * min, median, then each run). Not a test: run.sh compares the rows with
 * DuckDB's and prints both timings.
 *
 *   q1_bench FILE [RUNS] [THREADS|scan]
 * THREADS 0 (the default) runs the serial plan; N >= 1 the parallel plan
 * on N threads (morsels of row groups, partial aggregates, a final merge).
 * With "scan", each run only drains the Parquet scan of Q1's 7 columns (how
 * much of the time is the reader's).
 */
#include "bench_util.h"
#include "q1_plan.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One run: open the file, build the plan, drain it. */
static bool scan_only;
static uint32_t threads;

static int run_once(const char *path, int fd, uint64_t size, FILE *out, tarn_err *err)
{
    pq_source src = {.read = pq_fd_read, .ctx = &fd, .size = size, .name = path};
    pq_file *f;
    int rc = pq_file_open(&src, &f, err);
    if (rc != 0)
        return rc;
    exec_budget bud;
    exec_budget_init(&bud, (size_t)1 << 30);
    pq_scan *scan = NULL;
    exec_op *root;
    q1_par par;
    if (threads > 0 && !scan_only) {
        rc = q1_plan_build_parallel(f, &bud, threads, &par, &root, err);
        if (rc == 0) {
            rc = q1_plan_run(root, out, err);
            exec_op_close(root);
        }
        pq_file_close(f);
        return rc < 0 ? rc : 0;
    }
    rc = q1_plan_build(f, &bud, &scan, &root, err);
    if (rc == 0 && scan_only) {
        exec_op_close(root);
        exec_op *leaf;
        rc = exec_pq_source_new(scan, &bud, &leaf, err);
        const vec_batch *b = NULL;
        if (rc == 0)
            rc = exec_op_open(leaf, err);
        while (rc == 0 && (rc = exec_op_next(leaf, &b, err)) == 0 && b != NULL)
            ;
        exec_op_close(leaf);
        pq_scan_close(scan);
    } else if (rc == 0) {
        rc = q1_plan_run(root, out, err);
        exec_op_close(root);
        pq_scan_close(scan);
    }
    pq_file_close(f);
    return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: q1_bench FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    scan_only = argc > 3 && strcmp(argv[3], "scan") == 0;
    threads = argc > 3 && !scan_only ? (uint32_t)atoi(argv[3]) : 0;
    if (threads > EXEC_WORKERS_MAX)
        threads = EXEC_WORKERS_MAX;
    if (runs < 1 || runs > 100)
        runs = 5;
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
        int rc = run_once(argv[1], fd, (uint64_t)st.st_size, NULL, &err);
        ms[i] = bench_clock_ms(CLOCK_MONOTONIC) - t0;
        if (rc != 0) {
            fprintf(stderr, "q1: %s\n", tarn_err_msg(&err));
            return 1;
        }
    }
    scan_only = false;
    printf("row,");
    fflush(stdout);
    /* the rows once more, printed (outside the timed runs) */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (run_once(argv[1], fd, (uint64_t)st.st_size, mem, &err) != 0) {
        fprintf(stderr, "q1: %s\n", tarn_err_msg(&err));
        return 1;
    }
    fclose(mem);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        printf("%s%s\n", line == text ? "" : "row,", line);
    free(text);
    bench_print_times(ms, runs);
    close(fd);
    return 0;
}
