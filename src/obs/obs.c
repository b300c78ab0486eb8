/*
 * obs/obs.c: the metrics registry and its Prometheus text exposition (see
 * obs.h and https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Invariants:
 *  1. A family's name, help, labels and buckets never change after
 *     registration; families are never removed from a live registry.
 *  2. Series are appended to their family's list under the family lock and
 *     never removed, so a series pointer stays valid for the registry's
 *     life and updates need no lock. Lists are walked under their lock.
 *  3. Values are atomics: counters and histogram buckets are uint64 counts;
 *     gauges and histogram sums are doubles stored as their bit patterns
 *     and updated with compare-and-swap.
 *
 * Memory comes from tarn_calloc_untracked: the registry lives as long as
 * the process, so its blocks are injectable but not counted as live.
 */
#include "obs/obs.h"

#include "base/alloc.h"
#include "base/error.h"
#include "base/hash.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double obs_latency_buckets_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t obs_latency_bucket_count = sizeof(obs_latency_buckets_s) / sizeof(double);

struct obs_series {
    obs_family *fam;
    char **label_values;       /* fam->label_count copies */
    uint64_t hash;             /* of the label values, for lookup */
    _Atomic uint64_t value;    /* counter count, or gauge double bits */
    _Atomic uint64_t sum_bits; /* histogram sum (double bits) */
    _Atomic uint64_t *buckets; /* histogram: bucket_count + 1 (the last is +Inf) */
    struct obs_series *next;
};

struct obs_family {
    obs_type type;
    char *name;
    char *help;
    char **label_names;
    size_t label_count;
    double *buckets;
    size_t bucket_count;
    pthread_mutex_t lock; /* guards the series list */
    obs_series_t *head;
    obs_series_t *tail;
    size_t series_count;
    obs_registry *reg;
    struct obs_family *next;
};

struct obs_registry {
    pthread_mutex_t lock; /* guards the family list */
    obs_family *head;
    obs_family *tail;
    _Atomic uint64_t series_dropped;
};

static obs_registry global_registry = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0};

obs_registry *obs_global(void)
{
    return &global_registry;
}

int obs_registry_new(obs_registry **out)
{
    obs_registry *reg = tarn_calloc(1, sizeof(*reg));
    if (reg == NULL)
        return TARN_ENOMEM;
    pthread_mutex_init(&reg->lock, NULL);
    *out = reg;
    return 0;
}

static void free_strings(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        tarn_free_untracked(v[i]);
    tarn_free_untracked(v);
}

static void series_free(obs_series_t *s, size_t label_count)
{
    free_strings(s->label_values, label_count);
    tarn_free_untracked(s->buckets);
    tarn_free_untracked(s);
}

static void family_free(obs_family *f)
{
    obs_series_t *s = f->head;
    while (s) {
        obs_series_t *next = s->next;
        series_free(s, f->label_count);
        s = next;
    }
    tarn_free_untracked(f->name);
    tarn_free_untracked(f->help);
    free_strings(f->label_names, f->label_count);
    tarn_free_untracked(f->buckets);
    pthread_mutex_destroy(&f->lock);
    tarn_free_untracked(f);
}

void obs_registry_free(obs_registry *reg)
{
    if (reg == NULL || reg == &global_registry)
        return;
    obs_family *f = reg->head;
    while (f) {
        obs_family *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->lock);
    tarn_free(reg);
}

static char *dup_untracked(const char *s)
{
    size_t n = strlen(s);
    char *p = tarn_calloc_untracked(n + 1, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int valid_name(const char *s, int allow_colon)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int opts_check(const obs_family_opts *o)
{
    if (!valid_name(o->name, 1) || o->help == NULL || strchr(o->help, '\n'))
        return TARN_EINVAL;
    if (o->type == OBS_COUNTER && !ends_with(o->name, "_total"))
        return TARN_EINVAL; /* promtool lints counters without _total */
    if (o->label_count > OBS_LABELS_MAX || (o->label_count && o->label_names == NULL))
        return TARN_EINVAL;
    for (size_t i = 0; i < o->label_count; i++) {
        const char *l = o->label_names[i];
        if (!valid_name(l, 0) || strncmp(l, "__", 2) == 0)
            return TARN_EINVAL;
        if (o->type == OBS_HISTOGRAM && strcmp(l, "le") == 0)
            return TARN_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(l, o->label_names[j]) == 0)
                return TARN_EINVAL;
    }
    if (o->type == OBS_HISTOGRAM && o->buckets) {
        if (o->bucket_count == 0 || o->bucket_count > OBS_BUCKETS_MAX)
            return TARN_EINVAL;
        for (size_t i = 0; i < o->bucket_count; i++)
            if (!isfinite(o->buckets[i]) || (i && o->buckets[i] <= o->buckets[i - 1]))
                return TARN_EINVAL;
    }
    return 0;
}

/* Nonzero when the registered family `f` has the shape `o` asks for. */
static int same_shape(const obs_family *f, const obs_family_opts *o, const double *buckets,
                      size_t bucket_count)
{
    if (f->type != o->type || f->label_count != o->label_count)
        return 0;
    for (size_t i = 0; i < f->label_count; i++)
        if (strcmp(f->label_names[i], o->label_names[i]) != 0)
            return 0;
    if (f->type == OBS_HISTOGRAM) {
        if (f->bucket_count != bucket_count)
            return 0;
        for (size_t i = 0; i < bucket_count; i++)
            if (f->buckets[i] != buckets[i])
                return 0;
    }
    return 1;
}

static obs_family *family_new(const obs_family_opts *o, const double *buckets, size_t nb)
{
    obs_family *f = tarn_calloc_untracked(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->type = o->type;
    f->name = dup_untracked(o->name);
    f->help = dup_untracked(o->help);
    f->label_count = o->label_count;
    f->label_names = tarn_calloc_untracked(o->label_count + 1, sizeof(char *));
    int ok = f->name && f->help && f->label_names;
    for (size_t i = 0; ok && i < o->label_count; i++)
        ok = (f->label_names[i] = dup_untracked(o->label_names[i])) != NULL;
    if (ok && o->type == OBS_HISTOGRAM) {
        f->bucket_count = nb;
        f->buckets = tarn_calloc_untracked(nb, sizeof(double));
        ok = f->buckets != NULL;
        if (ok)
            memcpy(f->buckets, buckets, nb * sizeof(double));
    }
    if (!ok) {
        family_free(f);
        return NULL;
    }
    return f;
}

int obs_family_register(obs_registry *reg, const obs_family_opts *opts, obs_family **out)
{
    int rc = opts_check(opts);
    if (rc != 0)
        return rc;
    const double *buckets = opts->buckets ? opts->buckets : obs_latency_buckets_s;
    size_t nb = opts->buckets ? opts->bucket_count : obs_latency_bucket_count;
    pthread_mutex_lock(&reg->lock);
    for (obs_family *f = reg->head; f; f = f->next) {
        if (strcmp(f->name, opts->name) == 0) {
            rc = same_shape(f, opts, buckets, nb) ? 0 : TARN_EINVAL;
            if (rc == 0)
                *out = f;
            pthread_mutex_unlock(&reg->lock);
            return rc;
        }
    }
    obs_family *f = family_new(opts, buckets, nb);
    if (f == NULL) {
        pthread_mutex_unlock(&reg->lock);
        return TARN_ENOMEM;
    }
    f->reg = reg;
    if (reg->tail)
        reg->tail->next = f;
    else
        reg->head = f;
    reg->tail = f;
    pthread_mutex_unlock(&reg->lock);
    *out = f;
    return 0;
}

static uint64_t labels_hash(const char *const *values, size_t n)
{
    uint64_t h = 0x6f6273;
    for (size_t i = 0; i < n; i++)
        h = tarn_hash64(values[i], strlen(values[i]) + 1, h); /* +1: NUL separates values */
    return h;
}

static int labels_equal(char **have, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(have[i], want[i]) != 0)
            return 0;
    return 1;
}

static obs_series_t *series_new(obs_family *f, const char *const *values, uint64_t hash)
{
    obs_series_t *s = tarn_calloc_untracked(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fam = f;
    s->hash = hash;
    s->label_values = tarn_calloc_untracked(f->label_count + 1, sizeof(char *));
    int ok = s->label_values != NULL;
    for (size_t i = 0; ok && i < f->label_count; i++)
        ok = (s->label_values[i] = dup_untracked(values[i])) != NULL;
    if (ok && f->type == OBS_HISTOGRAM) {
        s->buckets = tarn_calloc_untracked(f->bucket_count + 1, sizeof(*s->buckets));
        ok = s->buckets != NULL;
    }
    if (!ok) {
        series_free(s, f->label_count);
        return NULL;
    }
    return s;
}

obs_series_t *obs_series(obs_family *fam, const char *const *label_values)
{
    if (fam == NULL)
        return NULL;
    for (size_t i = 0; i < fam->label_count; i++)
        if (label_values == NULL || label_values[i] == NULL)
            return NULL;
    uint64_t h = labels_hash(label_values, fam->label_count);
    pthread_mutex_lock(&fam->lock);
    obs_series_t *s;
    for (s = fam->head; s; s = s->next)
        if (s->hash == h && labels_equal(s->label_values, label_values, fam->label_count))
            break;
    if (s == NULL && fam->series_count < OBS_SERIES_MAX) {
        s = series_new(fam, label_values, h);
        if (s) {
            if (fam->tail)
                fam->tail->next = s;
            else
                fam->head = s;
            fam->tail = s;
            fam->series_count++;
        }
    }
    pthread_mutex_unlock(&fam->lock);
    if (s == NULL)
        atomic_fetch_add(&fam->reg->series_dropped, 1);
    return s;
}

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double bits_dbl(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, dbl_bits(bits_dbl(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void obs_counter_add(obs_series_t *s, uint64_t n)
{
    if (s && s->fam->type == OBS_COUNTER)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void obs_gauge_set(obs_series_t *s, double v)
{
    if (s && s->fam->type == OBS_GAUGE)
        atomic_store_explicit(&s->value, dbl_bits(v), memory_order_relaxed);
}

void obs_gauge_add(obs_series_t *s, double delta)
{
    if (s && s->fam->type == OBS_GAUGE)
        atomic_add_double(&s->value, delta);
}

void obs_histogram_observe(obs_series_t *s, double v)
{
    if (s == NULL || s->fam->type != OBS_HISTOGRAM)
        return;
    const obs_family *f = s->fam;
    size_t i = 0;
    while (i < f->bucket_count && !(v <= f->buckets[i]))
        i++; /* NaN falls through to +Inf */
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum_bits, v);
}

uint64_t obs_counter_value(const obs_series_t *s)
{
    return s && s->fam->type == OBS_COUNTER ? atomic_load(&s->value) : 0;
}

double obs_gauge_value(const obs_series_t *s)
{
    return s && s->fam->type == OBS_GAUGE ? bits_dbl(atomic_load(&s->value)) : 0.0;
}

uint64_t obs_histogram_count(const obs_series_t *s)
{
    if (s == NULL || s->fam->type != OBS_HISTOGRAM)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i <= s->fam->bucket_count; i++)
        n += atomic_load(&s->buckets[i]);
    return n;
}

double obs_histogram_sum(const obs_series_t *s)
{
    return s && s->fam->type == OBS_HISTOGRAM ? bits_dbl(atomic_load(&s->sum_bits)) : 0.0;
}

/* Prometheus float: shortest form that reads back exactly. */
static void format_double(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(out, cap, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, cap, "%.17g", v);
}

/* Appends s escaped for a label value (\\, \", \n) or, with help=1, for a
 * HELP line (\\ and \n only). */
static int append_escaped(tarn_buf *b, const char *s, int help)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = tarn_buf_append_str(b, "\\\\");
        else if (*s == '\n')
            rc = tarn_buf_append_str(b, "\\n");
        else if (*s == '"' && !help)
            rc = tarn_buf_append_str(b, "\\\"");
        else
            rc = tarn_buf_append_byte(b, (uint8_t)*s);
    }
    return rc;
}

/* name{labels[,le="x"]} — the braces are omitted when there are no labels. */
static int append_sample_name(tarn_buf *b, const obs_family *f, const obs_series_t *s,
                              const char *suffix, const char *le)
{
    int rc = tarn_buf_printf(b, "%s%s", f->name, suffix);
    if (rc != 0 || (f->label_count == 0 && le == NULL))
        return rc;
    rc = tarn_buf_append_byte(b, '{');
    for (size_t i = 0; rc == 0 && i < f->label_count; i++) {
        rc = tarn_buf_printf(b, "%s%s=\"", i ? "," : "", f->label_names[i]);
        if (rc == 0)
            rc = append_escaped(b, s->label_values[i], 0);
        if (rc == 0)
            rc = tarn_buf_append_byte(b, '"');
    }
    if (rc == 0 && le)
        rc = tarn_buf_printf(b, "%sle=\"%s\"", f->label_count ? "," : "", le);
    if (rc == 0)
        rc = tarn_buf_append_byte(b, '}');
    return rc;
}

static int render_histogram(tarn_buf *b, const obs_family *f, const obs_series_t *s)
{
    uint64_t cumulative = 0;
    char num[40];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= f->bucket_count; i++) {
        cumulative += atomic_load(&s->buckets[i]);
        if (i < f->bucket_count)
            format_double(f->buckets[i], num, sizeof(num));
        else
            snprintf(num, sizeof(num), "+Inf");
        rc = append_sample_name(b, f, s, "_bucket", num);
        if (rc == 0)
            rc = tarn_buf_printf(b, " %llu\n", (unsigned long long)cumulative);
    }
    format_double(obs_histogram_sum(s), num, sizeof(num));
    if (rc == 0)
        rc = append_sample_name(b, f, s, "_sum", NULL);
    if (rc == 0)
        rc = tarn_buf_printf(b, " %s\n", num);
    if (rc == 0)
        rc = append_sample_name(b, f, s, "_count", NULL);
    if (rc == 0) /* the +Inf bucket's cumulative count, so the two agree */
        rc = tarn_buf_printf(b, " %llu\n", (unsigned long long)cumulative);
    return rc;
}

static int render_series(tarn_buf *b, const obs_family *f, const obs_series_t *s)
{
    if (f->type == OBS_HISTOGRAM)
        return render_histogram(b, f, s);
    char num[40];
    if (f->type == OBS_COUNTER)
        snprintf(num, sizeof(num), "%llu", (unsigned long long)obs_counter_value(s));
    else
        format_double(obs_gauge_value(s), num, sizeof(num));
    int rc = append_sample_name(b, f, s, "", NULL);
    if (rc == 0)
        rc = tarn_buf_printf(b, " %s\n", num);
    return rc;
}

static int render_family(tarn_buf *b, obs_family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    int rc = tarn_buf_printf(b, "# HELP %s ", f->name);
    if (rc == 0)
        rc = append_escaped(b, f->help, 1);
    if (rc == 0)
        rc = tarn_buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    /* Held while rendering: creating a series waits, updates do not. */
    pthread_mutex_lock(&f->lock);
    for (obs_series_t *s = f->head; rc == 0 && s; s = s->next)
        rc = render_series(b, f, s);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int obs_registry_render(obs_registry *reg, tarn_buf *out)
{
    pthread_mutex_lock(&reg->lock);
    int rc = 0;
    for (obs_family *f = reg->head; rc == 0 && f; f = f->next)
        rc = render_family(out, f);
    pthread_mutex_unlock(&reg->lock);
    if (rc == 0)
        rc = tarn_buf_printf(out,
                             "# HELP tarn_obs_series_dropped_total Metric series not created "
                             "(family at its series limit, or memory short).\n"
                             "# TYPE tarn_obs_series_dropped_total counter\n"
                             "tarn_obs_series_dropped_total %llu\n",
                             (unsigned long long)atomic_load(&reg->series_dropped));
    return rc;
}
