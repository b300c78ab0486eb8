/*
 * bench/parquet/bench_parquet_write.c: times our Parquet writer (one
 * thread) writing a table held in memory, for run.sh to set next to
 * DuckDB's COPY ... TO (FORMAT parquet) of the same table. Not a test; no
 * timing assertions.
 *
 *   bench_parquet_write IN.parquet OUT.parquet RUNS [snappy|zstd|none]
 *
 * Untimed: reads every batch of IN into memory with Tarn's reader (strings
 * from dictionary pages stay as codes into the chunk's dictionary, as the
 * executor hands them on). Timed, RUNS times: opens a writer with IN's
 * schema (the same column names, types and nullability, default page,
 * row group and dictionary sizes), writes every batch, finishes, and the
 * bytes go to OUT through write(2) in 1 MiB pieces (no fsync: DuckDB's
 * COPY does none either).
 *
 * Output lines (CSV): `time_ms,<median>,<min>,<each run...>` (wall),
 * `cpu_ms,<median>`, `rows,<n>`, `out_bytes,<size of OUT>`.
 */
#include "bench_util.h"
#include "parquet/parquet.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF_BYTES ((size_t)1 << 20)

typedef struct table {
    vec_batch *batches;
    uint32_t n, cap;
    pq_write_col *cols;
    uint32_t ncols;
    int64_t rows;
} table;

typedef struct out_file {
    int fd;
    uint8_t *buf;
    size_t len;
    uint64_t total;
} out_file;

static int flush_out(out_file *o, tarn_err *err)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n <= 0)
            return tarn_err_set(err, TARN_EIO, "write");
        done += (size_t)n;
    }
    o->len = 0;
    return 0;
}

static int sink_put(void *ctx, const void *p, size_t n, tarn_err *err)
{
    out_file *o = ctx;
    o->total += n;
    while (n > 0) {
        size_t k = OUT_BUF_BYTES - o->len < n ? OUT_BUF_BYTES - o->len : n;
        memcpy(o->buf + o->len, p, k);
        o->len += k;
        p = (const uint8_t *)p + k;
        n -= k;
        if (o->len == OUT_BUF_BYTES && flush_out(o, err) != 0)
            return TARN_EIO;
    }
    return 0;
}

static int read_fd(void *ctx, uint64_t off, size_t len, void *dst, tarn_err *err)
{
    int fd = *(int *)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)dst + done, len - done, (off_t)(off + done));
        if (n <= 0)
            return tarn_err_set(err, TARN_EIO, "pread");
        done += (size_t)n;
    }
    return 0;
}

/* Reads every batch of `path` into t (untimed). */
static int load(const char *path, table *t, tarn_err *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tarn_err_set(err, TARN_EIO, "open %s", path);
    off_t size = lseek(fd, 0, SEEK_END);
    pq_source src = {.read = read_fd, .ctx = &fd, .size = (uint64_t)size, .name = path};
    pq_file *f;
    pq_scan *s = NULL;
    int rc = pq_file_open(&src, &f, err);
    if (rc == 0)
        rc = pq_scan_open(f, &(pq_scan_opts){.keep_dict = true}, &s, err);
    if (rc == 0) {
        t->ncols = pq_file_ncols(f);
        t->cols = calloc(t->ncols, sizeof(pq_write_col));
        for (uint32_t i = 0; i < t->ncols; i++) {
            const pq_column_info *ci = pq_file_column(f, i);
            t->cols[i] = (pq_write_col){strdup(ci->name), ci->type, ci->max_def > 0};
        }
    }
    while (rc == 0) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 1024;
            t->batches = realloc(t->batches, t->cap * sizeof(vec_batch));
        }
        vec_batch *b = &t->batches[t->n];
        if ((rc = pq_scan_batch_init(s, b)) != 0)
            break;
        if ((rc = pq_scan_next(s, b, err)) != 0 || b->len == 0) {
            vec_batch_free(b);
            break;
        }
        t->rows += b->len;
        t->n++;
    }
    pq_scan_close(s);
    pq_file_close(f);
    close(fd);
    return rc;
}

/* One timed write of the whole table; *bytes gets the file's size. */
static int write_once(const table *t, const char *out, pq_write_codec codec, uint64_t *bytes,
                      tarn_err *err)
{
    out_file o = {.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
                  .buf = malloc(OUT_BUF_BYTES)};
    if (o.fd < 0)
        return tarn_err_set(err, TARN_EIO, "create %s", out);
    pq_writer *w;
    int rc = pq_writer_open(&(pq_writer_opts){.cols = t->cols,
                                              .ncols = t->ncols,
                                              .sink = sink_put,
                                              .sink_ctx = &o,
                                              .codec = codec,
                                              .name = out},
                            &w, err);
    for (uint32_t i = 0; rc == 0 && i < t->n; i++)
        rc = pq_writer_write(w, &t->batches[i], err);
    if (rc == 0)
        rc = pq_writer_finish(w, err);
    if (rc == 0)
        rc = flush_out(&o, err);
    pq_writer_close(w);
    close(o.fd);
    free(o.buf);
    *bytes = o.total;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s IN.parquet OUT.parquet RUNS [snappy|zstd|none]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[3]);
    const char *cname = argc > 4 ? argv[4] : "snappy";
    pq_write_codec codec = strcmp(cname, "zstd") == 0   ? PQ_WRITE_ZSTD
                           : strcmp(cname, "none") == 0 ? PQ_WRITE_UNCOMPRESSED
                                                        : PQ_WRITE_SNAPPY;
    tarn_err err = TARN_ERR_INIT;
    table t = {0};
    if (runs < 1 || load(argv[1], &t, &err) != 0) {
        fprintf(stderr, "load %s: %s\n", argv[1], tarn_err_msg(&err));
        return 1;
    }
    double *ms = calloc((size_t)runs, sizeof(double)), *cpu = calloc((size_t)runs, sizeof(double));
    uint64_t bytes = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_clock_ms(CLOCK_MONOTONIC), c0 = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (write_once(&t, argv[2], codec, &bytes, &err) != 0) {
            fprintf(stderr, "write %s: %s\n", argv[2], tarn_err_msg(&err));
            return 1;
        }
        ms[r] = bench_clock_ms(CLOCK_MONOTONIC) - t0;
        cpu[r] = bench_clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    printf("time_ms");
    double min, median, cpu_min, cpu_median;
    bench_min_median(ms, runs, &min, &median);
    bench_min_median(cpu, runs, &cpu_min, &cpu_median);
    printf(",%.1f,%.1f", median, min);
    for (int r = 0; r < runs; r++)
        printf(",%.1f", ms[r]);
    printf("\ncpu_ms,%.1f\nrows,%lld\nout_bytes,%llu\n", cpu_median, (long long)t.rows,
           (unsigned long long)bytes);
    for (uint32_t i = 0; i < t.n; i++)
        vec_batch_free(&t.batches[i]);
    for (uint32_t i = 0; i < t.ncols; i++)
        free((char *)t.cols[i].name);
    free(t.cols);
    free(t.batches);
    free(ms);
    free(cpu);
    return 0;
}
