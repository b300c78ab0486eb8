/*
 * obs/obs.h: the metrics registry every module registers into, and its
 * Prometheus text exposition (format 0.0.4).
 *
 * A family is one metric name with its type, help text and label names
 * (tarn_http_requests_total{route,status}). A series is one combination of
 * label values within a family. Families are registered once at start-up;
 * series are created on first use and live as long as the registry.
 *
 *   static obs_family *requests;
 *   obs_family_register(obs_global(), &(obs_family_opts){
 *       .type = OBS_COUNTER, .name = "tarn_http_requests_total",
 *       .help = "HTTP requests answered.",
 *       .label_names = (const char *[]){"route", "status"}, .label_count = 2},
 *       &requests);
 *   obs_counter_add(obs_series(requests, (const char *[]){"/v1/kv", "200"}), 1);
 *
 * Limits: at most OBS_SERIES_MAX series per family. Past it, or when memory
 * is short, obs_series returns NULL, and every update function accepts NULL
 * and does nothing: losing a sample is better than failing the request
 * being measured. Dropped series are counted in
 * tarn_obs_series_dropped_total.
 *
 * Threads: everything here is thread-safe. Updates are lock-free atomics;
 * obs_series takes the family's lock; rendering takes each family's lock
 * briefly.
 */
#ifndef TARN_OBS_OBS_H
#define TARN_OBS_OBS_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define OBS_SERIES_MAX  2000
#define OBS_LABELS_MAX  8
#define OBS_BUCKETS_MAX 32

typedef struct obs_registry obs_registry;
typedef struct obs_family obs_family;
typedef struct obs_series obs_series_t;

typedef enum obs_type {
    OBS_COUNTER,   /* monotonically increasing count; name must end in _total */
    OBS_GAUGE,     /* a value that goes up and down */
    OBS_HISTOGRAM, /* observations counted into cumulative `le` buckets */
} obs_type;

typedef struct obs_family_opts {
    obs_type type;
    const char *name;               /* [a-zA-Z_:][a-zA-Z0-9_:]*, copied */
    const char *help;               /* one line, copied */
    const char *const *label_names; /* label_count names, copied */
    size_t label_count;             /* at most OBS_LABELS_MAX */
    const double *buckets;          /* histogram upper bounds, ascending; NULL: defaults */
    size_t bucket_count;            /* at most OBS_BUCKETS_MAX; +Inf is implicit */
} obs_family_opts;

/* Latency buckets in seconds (0.5 ms .. 10 s), the default for histograms. */
extern const double obs_latency_buckets_s[];
extern const size_t obs_latency_bucket_count;

/* The process-wide registry served at /metrics. Never NULL; never freed. */
obs_registry *obs_global(void);

/* A private registry (tests). TARN_ENOMEM. Free with obs_registry_free. */
int obs_registry_new(obs_registry **out);
void obs_registry_free(obs_registry *reg);

/*
 * Registers a family, or returns the existing one when a family of that
 * name, type and labels is already registered (so modules may register in
 * their init paths without coordination). Errors: TARN_EINVAL for a bad
 * name, a counter without _total, too many labels or buckets, unsorted
 * buckets, or the name taken by a family of another shape; TARN_ENOMEM.
 * *out is borrowed from the registry.
 */
int obs_family_register(obs_registry *reg, const obs_family_opts *opts, obs_family **out);

/* The series for these label values (label_count strings, copied; NULL
 * when the family has no labels), created on first use. NULL when the
 * family is at OBS_SERIES_MAX or memory is short. Borrowed from the
 * registry. */
obs_series_t *obs_series(obs_family *fam, const char *const *label_values);

void obs_counter_add(obs_series_t *s, uint64_t n);
void obs_gauge_set(obs_series_t *s, double v);
void obs_gauge_add(obs_series_t *s, double delta);
void obs_histogram_observe(obs_series_t *s, double v);

/* Current values, for tests and for code that reads its own metrics. A
 * NULL series reads as 0. */
uint64_t obs_counter_value(const obs_series_t *s);
double obs_gauge_value(const obs_series_t *s);
uint64_t obs_histogram_count(const obs_series_t *s);
double obs_histogram_sum(const obs_series_t *s);

/* Appends the whole registry in the Prometheus text format (HELP, TYPE,
 * samples; histogram _bucket/_sum/_count), ending with a newline.
 * TARN_ETOOBIG / TARN_ENOMEM from the buffer. */
int obs_registry_render(obs_registry *reg, tarn_buf *out);

/* The Content-Type /metrics is served with. */
#define OBS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
