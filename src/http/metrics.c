/*
 * http/metrics.c: the HTTP edge's metric families in obs_global():
 *
 *   tarn_http_requests_total{route,method,status}  counter
 *   tarn_http_request_duration_seconds{route}      histogram
 *   tarn_http_connections_open                     gauge
 *   tarn_http_rejected_total{reason}               counter (body_too_large,
 *                                                  rate_limited, connection_limit,
 *                                                  streams)
 *
 * Label values are bounded so that a client cannot grow the registry: the
 * route label is a registered pattern or "unmatched", the method one of a
 * fixed list or "other", the status a number.
 */
#include "http/http_int.h"

#include "obs/obs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static obs_family *fam_requests;
static obs_family *fam_duration;
static obs_family *fam_connections;
static obs_family *fam_rejected;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int init_done;

static int register_all(void)
{
    obs_registry *reg = obs_global();
    int rc = obs_family_register(
        reg,
        &(obs_family_opts){.type = OBS_COUNTER,
                           .name = "tarn_http_requests_total",
                           .help = "HTTP requests answered, by route pattern, method and status.",
                           .label_names = (const char *[]){"route", "method", "status"},
                           .label_count = 3},
        &fam_requests);
    if (rc == 0)
        rc = obs_family_register(
            reg,
            &(obs_family_opts){.type = OBS_HISTOGRAM,
                               .name = "tarn_http_request_duration_seconds",
                               .help = "Time from request to reply, by route pattern.",
                               .label_names = (const char *[]){"route"},
                               .label_count = 1},
            &fam_duration);
    if (rc == 0)
        rc = obs_family_register(reg,
                                 &(obs_family_opts){.type = OBS_GAUGE,
                                                    .name = "tarn_http_connections_open",
                                                    .help = "HTTP connections currently open."},
                                 &fam_connections);
    if (rc == 0)
        rc = obs_family_register(
            reg,
            &(obs_family_opts){.type = OBS_COUNTER,
                               .name = "tarn_http_rejected_total",
                               .help = "Requests or connections refused by a limit, by reason.",
                               .label_names = (const char *[]){"reason"},
                               .label_count = 1},
            &fam_rejected);
    return rc;
}

int http_metrics_init(void)
{
    pthread_mutex_lock(&init_lock);
    int rc = 0;
    if (!init_done) {
        rc = register_all();
        init_done = rc == 0;
    }
    pthread_mutex_unlock(&init_lock);
    return rc;
}

static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    for (size_t i = 0; m != NULL && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

void http_metrics_record(const char *route, const char *method, unsigned status, double seconds)
{
    if (!init_done && http_metrics_init() != 0)
        return; /* losing a sample is better than failing the request */
    char status_s[16];
    snprintf(status_s, sizeof(status_s), "%u", status);
    const char *r = route ? route : "unmatched";
    obs_counter_add(obs_series(fam_requests, (const char *[]){r, method_label(method), status_s}),
                    1);
    obs_histogram_observe(obs_series(fam_duration, (const char *[]){r}), seconds);
}

void http_metrics_connections_add(double delta)
{
    if (init_done)
        obs_gauge_add(obs_series(fam_connections, NULL), delta);
}

void http_metrics_rejected(const char *reason)
{
    if (init_done)
        obs_counter_add(obs_series(fam_rejected, (const char *[]){reason}), 1);
}
