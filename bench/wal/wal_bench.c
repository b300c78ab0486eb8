/*
 * bench/wal/wal_bench.c: what segment preallocation costs the WAL's sync
 * path, each mode of wal_opts.prealloc side by side in one run (see
 * src/wal/README.md "Preallocation").
 *
 *   bench_wal [--dir DIR] [--seconds S] [--rounds R] [--segment-mib M]
 *             [--big-kib K] [--batch B]
 *
 * Three workloads, each run in every mode, the modes interleaved in R
 * rounds so that a noisy machine hits them alike:
 *   sync:     one 100-byte entry appended, then wal_sync, in a loop: the
 *             Raft loop of a single client. Prints fdatasync latency
 *             (p50, p99, p99.9, max) and appends per second. The segment
 *             (M MiB) does not fill up, so this is the steady state.
 *   batch:    the same with B (64) entries of 100 bytes per append: a
 *             group commit under many clients, where every sync writes
 *             into blocks not written before.
 *   rollover: one K KiB entry + wal_sync in a loop, so segments fill and
 *             roll over every M*1024/K appends. Prints the append+sync
 *             latency of ordinary iterations and of the ones that rolled
 *             over, and how often a rollover had to wait for the spare.
 * Each mode gets a fresh directory under DIR (default $TMPDIR or /tmp),
 * which must be on the disk under test. Figures only, no assertions;
 * build RelWithDebInfo for figures worth quoting.
 */
#define _GNU_SOURCE
#include "wal/wal.h"

#include "base/clock.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODES 3

static const struct {
    wal_prealloc mode;
    const char *name;
} modes[MODES] = {
    {WAL_PREALLOC_FALLOCATE, "fallocate (old)"},
    {WAL_PREALLOC_ZERO, "zeros at rollover"},
    {WAL_PREALLOC_ZERO_AHEAD, "zeros + spare (default)"},
};

typedef struct samples {
    double *v; /* microseconds */
    size_t n, cap;
} samples;

static void push(samples *s, double us)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (s->v == NULL) {
            fprintf(stderr, "bench_wal: out of memory\n");
            exit(1);
        }
    }
    s->v[s->n++] = us;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sort_samples(samples *s)
{
    if (s->n > 0) /* v is NULL when empty */
        qsort(s->v, s->n, sizeof(*s->v), cmp_dbl);
}

/* The q-quantile of sorted samples (nearest rank); 0 when empty. */
static double quantile(const samples *s, double q)
{
    if (s->n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
    return s->v[i];
}

enum { W_SYNC, W_BATCH, W_ROLL };

typedef struct result {
    samples sync_us[2];     /* sync and batch workloads: wal_sync */
    double sync_seconds[2]; /* time spent in their loops */
    samples plain_us;       /* rollover workload: append+sync, no rollover */
    samples roll_us;        /* rollover workload: append+sync that rolled over */
    uint64_t spare_waits;   /* rollover workload */
    uint64_t bytes_zeroed;  /* all workloads */
} result;

typedef struct cfg {
    const char *base_dir;
    double seconds;
    int rounds;
    uint64_t segment_bytes;
    size_t big_bytes;
    size_t batch;
} cfg;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void die(const char *what, const tarn_err *err)
{
    fprintf(stderr, "bench_wal: %s: %s\n", what, tarn_err_msg(err));
    exit(1);
}

static double now_us(void)
{
    return (double)tarn_mono_ns() / 1e3;
}

/* One timed loop of workload `wl` in a fresh directory: appends of
 * entries, each followed by a sync. */
static void run_once(const cfg *c, int m, int wl, result *res)
{
    int big = wl == W_ROLL;
    size_t per = wl == W_BATCH ? c->batch : 1;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tarn-walbench-XXXXXX", c->base_dir);
    if (mkdtemp(dir) == NULL) {
        perror("bench_wal: mkdtemp");
        exit(1);
    }
    wal_opts o = {.segment_size_bytes = c->segment_bytes, .prealloc = modes[m].mode};
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    if (wal_open(dir, &o, &w, &r, &err) != 0)
        die("open", &err);
    wal_recovered_free(&r);
    size_t len = big ? c->big_bytes : 100;
    uint8_t *payload = calloc(1, len);
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 131 + 7);
    /* Let the spare of the default mode be prepared, as it would be long
     * before the first rollover of a real log. */
    usleep(200 * 1000);
    double t_end = now_us() + c->seconds * 1e6, t0 = now_us();
    wal_entry *e = calloc(per, sizeof(*e));
    for (uint64_t idx = 1; now_us() < t_end; idx += per) {
        for (size_t i = 0; i < per; i++)
            e[i] = (wal_entry){.index = idx + i, .term = 1, .data = payload, .len = len};
        size_t segs = wal_segment_count(w);
        double a = now_us();
        if (wal_append(w, e, per, NULL, &err) != 0)
            die("append", &err);
        double b = now_us();
        if (wal_sync(w, &err) != 0)
            die("sync", &err);
        double z = now_us();
        if (!big)
            push(&res->sync_us[wl], z - b);
        else if (wal_segment_count(w) != segs)
            push(&res->roll_us, z - a);
        else
            push(&res->plain_us, z - a);
    }
    if (!big)
        res->sync_seconds[wl] += (now_us() - t0) / 1e6;
    free(e);
    wal_stats st;
    wal_get_stats(w, &st);
    res->spare_waits += big ? st.spare_waits : 0;
    res->bytes_zeroed += st.bytes_zeroed;
    wal_close(w);
    free(payload);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void print_results(const cfg *c, result *res)
{
    for (int wl = W_SYNC; wl <= W_BATCH; wl++) {
        size_t per = wl == W_BATCH ? c->batch : 1;
        printf("\n# %s: %zu 100-byte entries per append + wal_sync, %.1f s x %d rounds per mode, "
               "%" PRIu64 " MiB segments; fdatasync latency\n",
               wl == W_SYNC ? "sync" : "batch", per, c->seconds, c->rounds, c->segment_bytes >> 20);
        printf("%-26s %10s %10s %10s %10s %10s %12s %12s\n", "mode", "syncs", "p50_us", "p99_us",
               "p99.9_us", "max_us", "appends/s", "entries/s");
        for (int m = 0; m < MODES; m++) {
            samples *s = &res[m].sync_us[wl];
            sort_samples(s);
            double rate = (double)s->n / res[m].sync_seconds[wl];
            printf("%-26s %10zu %10.1f %10.1f %10.1f %10.1f %12.0f %12.0f\n", modes[m].name, s->n,
                   quantile(s, 0.5), quantile(s, 0.99), quantile(s, 0.999), quantile(s, 1.0), rate,
                   rate * (double)per);
        }
    }
    printf("\n# rollover: one %zu KiB entry + wal_sync per iteration (a rollover every %" PRIu64
           " entries); append+sync latency\n",
           c->big_bytes >> 10, c->segment_bytes / c->big_bytes);
    printf("%-26s %10s %10s %10s %10s %10s %10s %12s\n", "mode", "plain_n", "plain_p50",
           "plain_p99", "rolls", "roll_p50", "roll_max", "spare_waits");
    for (int m = 0; m < MODES; m++) {
        samples *p = &res[m].plain_us, *r = &res[m].roll_us;
        sort_samples(p);
        sort_samples(r);
        printf("%-26s %10zu %10.1f %10.1f %10zu %10.1f %10.1f %12" PRIu64 "\n", modes[m].name, p->n,
               quantile(p, 0.5), quantile(p, 0.99), r->n, quantile(r, 0.5), quantile(r, 1.0),
               res[m].spare_waits);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_wal [--dir DIR] [--seconds S] [--rounds R] [--segment-mib M] "
                    "[--big-kib K]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    cfg c = {.base_dir = tmp ? tmp : "/tmp",
             .seconds = 1.0,
             .rounds = 3,
             .segment_bytes = 16u << 20,
             .big_bytes = 64u << 10,
             .batch = 64};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (strcmp(k, "--dir") == 0)
            c.base_dir = v;
        else if (strcmp(k, "--seconds") == 0)
            c.seconds = atof(v);
        else if (strcmp(k, "--rounds") == 0)
            c.rounds = atoi(v);
        else if (strcmp(k, "--segment-mib") == 0)
            c.segment_bytes = (uint64_t)atoi(v) << 20;
        else if (strcmp(k, "--big-kib") == 0)
            c.big_bytes = (size_t)atoi(v) << 10;
        else if (strcmp(k, "--batch") == 0)
            c.batch = (size_t)atoi(v);
        else
            usage();
    }
    if (c.seconds <= 0 || c.rounds < 1 || c.segment_bytes < (1u << 20) ||
        c.segment_bytes > WAL_SEGMENT_SIZE_MAX || c.big_bytes < 1024 ||
        c.big_bytes > c.segment_bytes / 4 || c.batch < 1 || c.batch > 4096) {
        fprintf(stderr, "bench_wal: --seconds > 0, --rounds >= 1, --segment-mib 1..256, "
                        "--big-kib from 1 to a quarter of a segment, --batch 1..4096\n");
        return 2;
    }
    result res[MODES];
    memset(res, 0, sizeof(res));
    for (int round = 0; round < c.rounds; round++)
        for (int wl = W_SYNC; wl <= W_ROLL; wl++)
            for (int k = 0; k < MODES; k++) { /* each round starts with another mode */
                int m = (round + k) % MODES;
                run_once(&c, m, wl, &res[m]);
            }
    print_results(&c, res);
    for (int m = 0; m < MODES; m++) {
        free(res[m].sync_us[0].v);
        free(res[m].sync_us[1].v);
        free(res[m].plain_us.v);
        free(res[m].roll_us.v);
    }
    return 0;
}
