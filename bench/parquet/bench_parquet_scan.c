/*
 * bench/parquet/bench_parquet_scan.c: times our Parquet scan (one thread)
 * over a file and prints per-column checksums, for run.sh to set next to
 * DuckDB on the same file. Not a test; no timing assertions.
 *
 *   bench_parquet_scan FILE RUNS SOURCE[:THREADS] [COL...]
 *
 * SOURCE is `pread` (pq_file_open over a pread callback, as a file on disk
 * is read) or `mmap` (pq_file_open_bytes over the mapped file). COLs are
 * column names; none means every column. THREADS (default 1) scans run
 * at once on one shared pq_file, each over its own contiguous range of
 * row groups (pq_scan_opts.rg_first / rg_count: the morsels of a parallel
 * scan), their folds added at the end.
 *
 * Each timed run opens the file, scans the columns in batches of
 * VEC_BATCH_ROWS (strings from dictionary pages kept as codes) and folds
 * each column into a cheap sum so the decoded values are used: integers
 * and dates summed as integers, doubles summed as doubles, strings' byte
 * lengths summed. One untimed run computes the exact checksums compared
 * with DuckDB's: integers and dates summed, doubles as the sum of
 * llround(x * 100), strings as the sum of 1000 * length + first byte.
 *
 * Output lines (CSV): `time_ms,<median>,<min>,<each run...>` (wall),
 * `cpu_ms,<median>` (process CPU time: the machine may be shared),
 * `rows,<n>`, `bytes,<uncompressed bytes of the scanned column chunks>`,
 * `sum,<column>,<exact checksum>`.
 */
#include "bench_util.h"
#include "parquet/parquet.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_COLS 64

#define MAX_THREADS 16

/* What one scan thread folds. */
typedef struct fold_state {
    int64_t acc[MAX_COLS]; /* integer folds (wrapping) */
    double facc[MAX_COLS]; /* double folds */
    int64_t rows;
} fold_state;

typedef struct bench {
    const char *path;
    int fd;
    uint64_t size;
    const uint8_t *map; /* NULL for the pread source */
    uint32_t cols[MAX_COLS];
    uint32_t ncols;
    uint32_t threads;
    int64_t acc[MAX_COLS]; /* integer folds (wrapping), all threads */
    double facc[MAX_COLS]; /* double folds, all threads */
    int64_t rows;
} bench;

static int open_file(bench *b, pq_file **f, tarn_err *err)
{
    if (b->map)
        return pq_file_open_bytes(b->map, b->size, b->path, f, err);
    pq_source src = {.read = pq_fd_read, .ctx = &b->fd, .size = b->size, .name = b->path};
    return pq_file_open(&src, f, err);
}

/* String column: byte length (and first byte, for the exact checksum).
 * Dictionary form is read inline: a call per row cost more than the scan. */
static int64_t fold_str(const vec_col *c, uint32_t r, bool exact)
{
    const uint8_t *s;
    size_t n;
    if (c->dict != NULL) {
        const uint32_t *o = c->dict->offsets + c->codes[r];
        s = c->dict->bytes + o[0];
        n = o[1] - o[0];
    } else {
        vec_col_str(c, r, &s, &n);
    }
    return exact ? (int64_t)(1000 * n + (n ? s[0] : 0)) : (int64_t)n;
}

/* Sum of a fixed-width column's valid values, as T widened to int64. */
#define SUM_INTS(T)                                                                                \
    do {                                                                                           \
        const T *v = c->data;                                                                      \
        for (uint32_t r = 0; r < c->len; r++)                                                      \
            a += all || vec_col_is_valid(c, r) ? (uint64_t)(int64_t)v[r] : 0;                      \
    } while (0)

/* Folds one column of a batch into acc/facc (valid rows only). Each type,
 * and the exact checksum, has a loop of its own so that the timed loops
 * stay tight, as an engine's sum would be. */
static void fold_col(fold_state *b, uint32_t i, const vec_col *c, bool exact)
{
    uint64_t a = (uint64_t)b->acc[i];
    double fa = b->facc[i];
    bool all = c->validity == NULL;
    const double *f64 = c->data;
    switch (c->type.id) {
    case VEC_I32:
    case VEC_DATE:
        SUM_INTS(int32_t);
        break;
    case VEC_I64:
        SUM_INTS(int64_t);
        break;
    case VEC_F64:
        if (exact) {
            for (uint32_t r = 0; r < c->len; r++)
                a += all || vec_col_is_valid(c, r) ? (uint64_t)llround(f64[r] * 100) : 0;
        } else {
            for (uint32_t r = 0; r < c->len; r++)
                fa += all || vec_col_is_valid(c, r) ? f64[r] : 0.0;
        }
        break;
    case VEC_STRING:
        if (c->dict != NULL && all && !exact) {
            /* Lengths by code, the dictionary's offsets loaded once. */
            const uint32_t *off = c->dict->offsets;
            for (uint32_t r = 0; r < c->len; r++)
                a += off[c->codes[r] + 1] - off[c->codes[r]];
            break;
        }
        for (uint32_t r = 0; r < c->len; r++)
            a += all || vec_col_is_valid(c, r) ? (uint64_t)fold_str(c, r, exact) : 0;
        break;
    default:
        break;
    }
    b->acc[i] = (int64_t)a;
    b->facc[i] = fa;
}

/* One scan thread: row groups [first, first + count) of the shared file. */
typedef struct scan_job {
    const bench *b;
    pq_file *f;
    uint32_t first, count;
    bool exact;
    fold_state st;
    int rc;
    tarn_err err;
} scan_job;

static void *scan_range(void *arg)
{
    scan_job *j = arg;
    const bench *b = j->b;
    pq_scan *s;
    pq_scan_opts o = {.columns = b->cols,
                      .ncols = b->ncols,
                      .keep_dict = true,
                      .rg_first = j->first,
                      .rg_count = j->count};
    memset(&j->st, 0, sizeof(j->st));
    j->rc = pq_scan_open(j->f, &o, &s, &j->err);
    if (j->rc != 0)
        return NULL;
    vec_batch batch;
    int rc = pq_scan_batch_init(s, &batch);
    while (rc == 0 && (rc = pq_scan_next(s, &batch, &j->err)) == 0 && batch.len > 0) {
        for (uint32_t i = 0; i < b->ncols; i++)
            fold_col(&j->st, i, &batch.cols[i], j->exact);
        j->st.rows += batch.len;
    }
    vec_batch_free(&batch);
    pq_scan_close(s);
    j->rc = rc;
    return NULL;
}

/* One scan of the chosen columns on b->threads threads; folds every batch. */
static int scan_once(bench *b, bool exact, tarn_err *err)
{
    pq_file *f;
    int rc = open_file(b, &f, err);
    if (rc != 0)
        return rc;
    uint32_t nrg = pq_file_nrow_groups(f), t = b->threads;
    scan_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    for (uint32_t k = 0; k < t; k++) {
        uint32_t first = (uint32_t)((uint64_t)nrg * k / t);
        uint32_t end = (uint32_t)((uint64_t)nrg * (k + 1) / t);
        jobs[k] = (scan_job){.b = b, .f = f, .first = first, .count = end - first, .exact = exact};
        if (end > first && pthread_create(&tids[k], NULL, scan_range, &jobs[k]) != 0)
            jobs[k].rc = tarn_err_set(&jobs[k].err, TARN_EIO, "pthread_create");
    }
    memset(b->acc, 0, sizeof(b->acc));
    memset(b->facc, 0, sizeof(b->facc));
    b->rows = 0;
    for (uint32_t k = 0; k < t; k++) {
        if (jobs[k].count == 0)
            continue;
        pthread_join(tids[k], NULL);
        if (jobs[k].rc != 0 && rc == 0) {
            rc = jobs[k].rc;
            *err = jobs[k].err;
        }
        for (uint32_t i = 0; i < b->ncols; i++) {
            b->acc[i] = (int64_t)((uint64_t)b->acc[i] + (uint64_t)jobs[k].st.acc[i]);
            b->facc[i] += jobs[k].st.facc[i];
        }
        b->rows += jobs[k].st.rows;
    }
    pq_file_close(f);
    return rc;
}

/* Resolves column names (none: all) and sums the chunks' uncompressed sizes. */
static int pick_columns(bench *b, char **names, int n, int64_t *bytes, tarn_err *err)
{
    pq_file *f;
    int rc = open_file(b, &f, err);
    if (rc != 0)
        return rc;
    b->ncols = n > 0 ? (uint32_t)n : pq_file_ncols(f);
    if (b->ncols > MAX_COLS)
        rc = tarn_err_set(err, TARN_EINVAL, "more than %d columns", MAX_COLS);
    for (uint32_t i = 0; rc == 0 && i < b->ncols; i++) {
        int k = n > 0 ? pq_file_find_column(f, names[i]) : (int)i;
        if (k < 0)
            rc = tarn_err_set(err, TARN_EINVAL, "no column %s", names[i]);
        else
            b->cols[i] = (uint32_t)k;
    }
    const pq_meta *m = pq_file_meta(f);
    *bytes = 0;
    for (uint32_t g = 0; rc == 0 && g < m->nrow_groups; g++)
        for (uint32_t i = 0; i < b->ncols; i++)
            *bytes += m->row_groups[g].columns[b->cols[i]].meta.total_uncompressed;
    if (rc == 0)
        for (uint32_t i = 0; i < b->ncols; i++)
            printf("col,%s\n", pq_file_column(f, b->cols[i])->name);
    pq_file_close(f);
    return rc;
}

static int run(bench *b, int runs, char **names, int n, tarn_err *err)
{
    int64_t bytes;
    int rc = pick_columns(b, names, n, &bytes, err);
    if (rc != 0)
        return rc;
    double ms[100], cpu[100];
    for (int i = 0; i < runs && rc == 0; i++) {
        double t0 = bench_clock_ms(CLOCK_MONOTONIC), c0 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        rc = scan_once(b, false, err);
        ms[i] = bench_clock_ms(CLOCK_MONOTONIC) - t0;
        cpu[i] = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    if (rc == 0)
        rc = scan_once(b, true, err);
    if (rc != 0)
        return rc;
    double min, median, cpu_min, cpu_median;
    bench_min_median(ms, runs, &min, &median);
    bench_min_median(cpu, runs, &cpu_min, &cpu_median);
    printf("time_ms,%.1f,%.1f", median, min);
    for (int i = 0; i < runs; i++)
        printf(",%.1f", ms[i]);
    printf("\ncpu_ms,%.1f", cpu_median);
    printf("\nrows,%lld\nbytes,%lld\n", (long long)b->rows, (long long)bytes);
    for (uint32_t i = 0; i < b->ncols; i++)
        printf("sum,%u,%lld\n", i, (long long)b->acc[i]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *colon = argc >= 4 ? strchr(argv[3], ':') : NULL;
    size_t src_len = argc < 4 ? 0 : colon ? (size_t)(colon - argv[3]) : strlen(argv[3]);
    bool is_mmap = src_len == 4 && strncmp(argv[3], "mmap", 4) == 0;
    bench b = {.path = argv[1], .threads = colon ? (uint32_t)atoi(colon + 1) : 1};
    if (argc < 4 || (!is_mmap && !(src_len == 5 && strncmp(argv[3], "pread", 5) == 0)) ||
        b.threads < 1 || b.threads > MAX_THREADS) {
        fprintf(stderr, "usage: bench_parquet_scan FILE RUNS pread|mmap[:THREADS] [COL...]\n");
        return 2;
    }
    int runs = atoi(argv[2]);
    if (runs < 1 || runs > 100)
        runs = 5;
    struct stat st;
    b.fd = open(argv[1], O_RDONLY);
    if (b.fd < 0 || fstat(b.fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    b.size = (uint64_t)st.st_size;
    if (is_mmap) {
        void *m = mmap(NULL, b.size, PROT_READ, MAP_PRIVATE, b.fd, 0);
        if (m == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        b.map = m;
    }
    tarn_err err = {0};
    int rc = run(&b, runs, argv + 4, argc - 4, &err);
    if (rc != 0) {
        fprintf(stderr, "bench_parquet_scan: %s\n", err.msg);
        return 1;
    }
    if (b.map)
        munmap((void *)(uintptr_t)b.map, b.size);
    close(b.fd);
    return 0;
}
