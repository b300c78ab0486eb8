/*
 * bench/kv/kv_bench.c: a closed-loop load generator for key-value stores
 * over keep-alive HTTP: N client threads, each with its own connection,
 * each sending its next request as soon as the last one is answered.
 *
 *   kv_bench --target tarn|etcd --url URL[,URL...] [--key KEY]
 *            --workload put|cas|tso [--clients N] [--seconds S]
 *            [--value-bytes B] [--batch B] [--label NAME]
 *
 * Workloads (the same payloads for both stores):
 *   put  each client writes its own keys ("b<client>-<i mod 1024>"), B-byte
 *        values; latency per put
 *   cas  every client increments one counter: read, then a compare-and-
 *        swap on the version read; retried on a failed compare; latency per
 *        successful increment; at the end the counter must equal the
 *        number of increments acknowledged (checked)
 *   tso  Tarn only: POST /v1/tso?count=B; timestamps/s = requests/s * B
 *
 * Tarn goes through the client library (include/tarn.h); etcd 3.4 through
 * its JSON gateway (/v3/kv/put, /v3/kv/range, /v3/kv/txn; keys and values
 * base64) with one libcurl handle per thread. Both parse every reply.
 *
 * Prints one line of key=value pairs: target, workload, clients, ops,
 * seconds, ops_per_s, items_per_s, p50_ms, p99_ms, conflicts, errors.
 */
#include "tarn.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_CLIENTS_MAX     256
#define BENCH_KEYS_PER_CLIENT 1024
#define BENCH_WARMUP_MS       1000

typedef enum bench_target { TARGET_TARN, TARGET_ETCD } bench_target;
typedef enum bench_workload { WL_PUT, WL_CAS, WL_TSO } bench_workload;

typedef struct bench_opts {
    bench_target target;
    bench_workload workload;
    const char *urls, *key, *label;
    int clients;
    double seconds;
    size_t value_bytes;
    uint32_t batch;
} bench_opts;

typedef struct bench_shared {
    const bench_opts *o;
    tarn_client *tarn;
    const char *etcd_url; /* the first URL */
    char *value;          /* value_bytes of payload */
    atomic_int phase;     /* 0 warm-up, 1 measuring, 2 stop */
} bench_shared;

typedef struct bench_worker {
    int id;
    bench_shared *sh;
    CURL *curl; /* etcd */
    uint32_t *lat_us;
    size_t n_lat, cap_lat;
    uint64_t ops, items, conflicts, errors; /* while measuring */
    uint64_t acked;                         /* successes, warm-up included */
    char last_error[300];
} bench_worker;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void record(bench_worker *w, int64_t t0, uint64_t items)
{
    w->acked++;
    if (atomic_load_explicit(&w->sh->phase, memory_order_relaxed) != 1)
        return;
    if (w->n_lat == w->cap_lat) {
        size_t cap = w->cap_lat ? w->cap_lat * 2 : 65536;
        uint32_t *p = realloc(w->lat_us, cap * sizeof(*p));
        if (!p)
            return;
        w->lat_us = p;
        w->cap_lat = cap;
    }
    w->lat_us[w->n_lat++] = (uint32_t)(now_us() - t0);
    w->ops++;
    w->items += items;
}

static void note_error(bench_worker *w, const char *msg)
{
    w->errors++;
    snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
}

/* ---- etcd through its JSON gateway ----------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    size_t len = size * n;
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0;
    char *b = realloc(*buf, old + len + 1);
    if (!b)
        return 0;
    memcpy(b + old, p, len);
    b[old + len] = '\0';
    *buf = b;
    return len;
}

static void b64(const void *data, size_t len, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = i + 1 < len ? al[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? al[v & 63] : '=';
    }
    out[o] = '\0';
}

/* The number in an etcd value (base64 of decimal digits); -1 when absent. */
static long b64_number(const char *val)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char plain[64] = "";
    size_t vl = val ? strlen(val) : 0, o = 0;
    if (!val)
        return -1;
    for (size_t i = 0; i + 3 < vl && o + 4 < sizeof(plain); i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            const char *p = val[i + k] == '=' ? NULL : strchr(al, val[i + k]);
            v = v << 6 | (p ? (uint32_t)(p - al) : 0);
        }
        plain[o++] = (char)(v >> 16);
        plain[o++] = (char)(v >> 8);
        plain[o++] = (char)v;
    }
    return strtol(plain, NULL, 10);
}

/* POSTs body to url+path; parses the JSON reply into *out. 0 on 200. */
static int etcd_post(bench_worker *w, const char *path, const char *body, json_t **out)
{
    char url[512], *reply = NULL;
    snprintf(url, sizeof(url), "%s%s", w->sh->etcd_url, path);
    curl_easy_setopt(w->curl, CURLOPT_URL, url);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &reply);
    CURLcode cc = curl_easy_perform(w->curl);
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    *out = reply ? json_loads(reply, 0, NULL) : NULL;
    if (cc != CURLE_OK || status != 200 || !*out) {
        char msg[300];
        snprintf(msg, sizeof(msg), "etcd %s: %s status %ld %.120s", path, curl_easy_strerror(cc),
                 status, reply ? reply : "");
        note_error(w, msg);
        json_decref(*out);
        *out = NULL;
        free(reply);
        return -1;
    }
    free(reply);
    return 0;
}

static void etcd_put(bench_worker *w, const char *key, const char *value, size_t vlen)
{
    char kb[128], *vb = malloc(vlen * 4 / 3 + 8), *body = malloc(vlen * 4 / 3 + 256);
    b64(key, strlen(key), kb);
    b64(value, vlen, vb);
    sprintf(body, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
    int64_t t0 = now_us();
    json_t *r = NULL;
    if (etcd_post(w, "/v3/kv/put", body, &r) == 0) {
        if (json_object_get(r, "header"))
            record(w, t0, 1);
        else
            note_error(w, "etcd put: no header in the reply");
    }
    json_decref(r);
    free(vb);
    free(body);
}

/* One etcd increment attempt: 1 done, 0 lost the race, -1 error. */
static int etcd_incr_once(bench_worker *w, const char *kb)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"key\":\"%s\"}", kb);
    json_t *r = NULL;
    if (etcd_post(w, "/v3/kv/range", body, &r) != 0)
        return -1;
    json_t *kv = json_array_get(json_object_get(r, "kvs"), 0);
    const char *ver = json_string_value(json_object_get(kv, "version"));
    const char *val = json_string_value(json_object_get(kv, "value"));
    if (!ver || !val) {
        json_decref(r);
        note_error(w, "etcd range: no counter");
        return -1;
    }
    long n = b64_number(val);
    char nv[32], nvb[64];
    snprintf(nv, sizeof(nv), "%ld", n + 1);
    b64(nv, strlen(nv), nvb);
    snprintf(
        body, sizeof(body),
        "{\"compare\":[{\"key\":\"%s\",\"target\":\"VERSION\",\"result\":\"EQUAL\","
        "\"version\":\"%s\"}],\"success\":[{\"requestPut\":{\"key\":\"%s\",\"value\":\"%s\"}}]}",
        kb, ver, kb, nvb);
    json_decref(r);
    if (etcd_post(w, "/v3/kv/txn", body, &r) != 0)
        return -1;
    int ok = json_is_true(json_object_get(r, "succeeded"));
    json_decref(r);
    return ok;
}

static void etcd_incr(bench_worker *w)
{
    char kb[64];
    b64("counter", 7, kb);
    int64_t t0 = now_us();
    for (;;) {
        int rc = etcd_incr_once(w, kb);
        if (rc == 1) {
            record(w, t0, 1);
            return;
        }
        if (rc < 0)
            return;
        w->conflicts++;
    }
}

/* ---- Tarn through the client library --------------------------------------- */

static void tarn_put(bench_worker *w, const char *key, const char *value, size_t vlen)
{
    tarn_err err = TARN_ERR_INIT;
    int64_t t0 = now_us();
    if (tarn_kv_put(w->sh->tarn, key, strlen(key), value, vlen, NULL, NULL, NULL, &err) == 0)
        record(w, t0, 1);
    else
        note_error(w, tarn_err_msg(&err));
}

static void tarn_incr(bench_worker *w)
{
    int64_t t0 = now_us();
    for (;;) {
        tarn_err err = TARN_ERR_INIT;
        tarn_kv_item it;
        if (tarn_kv_get(w->sh->tarn, "counter", 7, NULL, &it, &err) != 0) {
            note_error(w, tarn_err_msg(&err));
            return;
        }
        char nv[32];
        snprintf(nv, sizeof(nv), "%ld", strtol((char *)it.value, NULL, 10) + 1);
        tarn_kv_cond cond = {.kind = TARN_KV_IF_VERSION, .version = it.version};
        tarn_kv_item_free(&it);
        tarn_kv_result r;
        int rc = tarn_kv_put(w->sh->tarn, "counter", 7, nv, strlen(nv), &cond, NULL, &r, &err);
        if (rc == 0) {
            record(w, t0, 1);
            return;
        }
        if (rc != TARN_ECONFLICT) {
            note_error(w, tarn_err_msg(&err));
            return;
        }
        w->conflicts++;
    }
}

static void tarn_tso_batch(bench_worker *w)
{
    tarn_err err = TARN_ERR_INIT;
    uint64_t first = 0;
    int64_t t0 = now_us();
    if (tarn_tso(w->sh->tarn, w->sh->o->batch, NULL, &first, &err) == 0)
        record(w, t0, w->sh->o->batch);
    else
        note_error(w, tarn_err_msg(&err));
}

/* ---- the run ------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    bench_worker *w = arg;
    const bench_opts *o = w->sh->o;
    char key[64];
    for (uint64_t i = 0; atomic_load(&w->sh->phase) != 2; i++) {
        snprintf(key, sizeof(key), "b%d-%llu", w->id,
                 (unsigned long long)(i % BENCH_KEYS_PER_CLIENT));
        if (o->workload == WL_PUT && o->target == TARGET_TARN)
            tarn_put(w, key, w->sh->value, o->value_bytes);
        else if (o->workload == WL_PUT)
            etcd_put(w, key, w->sh->value, o->value_bytes);
        else if (o->workload == WL_CAS && o->target == TARGET_TARN)
            tarn_incr(w);
        else if (o->workload == WL_CAS)
            etcd_incr(w);
        else
            tarn_tso_batch(w);
        if (w->errors > 1000)
            break; /* a broken target: stop hammering it */
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(uint32_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

/* Reads the counter at the end (the cas workload's check). */
static long counter_value(bench_shared *sh, bench_worker *w0)
{
    if (sh->o->target == TARGET_TARN) {
        tarn_kv_item it;
        if (tarn_kv_get(sh->tarn, "counter", 7, NULL, &it, NULL) != 0)
            return -1;
        long v = strtol((char *)it.value, NULL, 10);
        tarn_kv_item_free(&it);
        return v;
    }
    json_t *r = NULL;
    char kb[64], body[128];
    b64("counter", 7, kb);
    snprintf(body, sizeof(body), "{\"key\":\"%s\"}", kb);
    if (etcd_post(w0, "/v3/kv/range", body, &r) != 0)
        return -1;
    const char *val =
        json_string_value(json_object_get(json_array_get(json_object_get(r, "kvs"), 0), "value"));
    long v = b64_number(val);
    json_decref(r);
    return v;
}

static int counter_reset(bench_shared *sh, bench_worker *w0)
{
    if (sh->o->target == TARGET_TARN) {
        tarn_err err = TARN_ERR_INIT;
        int rc = tarn_kv_put(sh->tarn, "counter", 7, "0", 1, NULL, NULL, NULL, &err);
        if (rc != 0)
            fprintf(stderr, "kv_bench: reset counter: %s\n", tarn_err_msg(&err));
        return rc;
    }
    etcd_put(w0, "counter", "0", 1);
    w0->acked = 0; /* the reset is not an increment */
    return w0->errors ? -1 : 0;
}

static int setup(const bench_opts *o, bench_shared *sh, bench_worker *w)
{
    sh->value = malloc(o->value_bytes + 1);
    for (size_t i = 0; i < o->value_bytes; i++)
        sh->value[i] = (char)('a' + i % 26);
    sh->value[o->value_bytes] = '\0';
    static char first_url[512];
    snprintf(first_url, sizeof(first_url), "%s", o->urls);
    first_url[strcspn(first_url, ",")] = '\0';
    sh->etcd_url = first_url;
    if (o->target == TARGET_TARN) {
        char buf[2048];
        const char *urls[TARN_CLIENT_ENDPOINTS_MAX];
        size_t n = 0;
        snprintf(buf, sizeof(buf), "%s", o->urls);
        for (char *s = strtok(buf, ","); s && n < TARN_CLIENT_ENDPOINTS_MAX; s = strtok(NULL, ","))
            urls[n++] = s;
        tarn_client_opts co = {.endpoints = urls, .n_endpoints = n, .api_key = o->key};
        tarn_err err = TARN_ERR_INIT;
        if (tarn_client_open(&co, &sh->tarn, &err) != 0) {
            fprintf(stderr, "kv_bench: %s\n", tarn_err_msg(&err));
            return -1;
        }
    }
    for (int i = 0; i < o->clients; i++) {
        w[i] = (bench_worker){.id = i, .sh = sh};
        if (o->target == TARGET_ETCD) {
            w[i].curl = curl_easy_init();
            curl_easy_setopt(w[i].curl, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(w[i].curl, CURLOPT_TIMEOUT_MS, 10000L);
            curl_easy_setopt(w[i].curl, CURLOPT_TCP_NODELAY, 1L);
        }
    }
    return o->workload == WL_CAS ? counter_reset(sh, &w[0]) : 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int report(const bench_opts *o, bench_shared *sh, bench_worker *w, double secs)
{
    uint64_t ops = 0, items = 0, conflicts = 0, errors = 0;
    size_t n = 0;
    for (int i = 0; i < o->clients; i++)
        n += w[i].n_lat;
    uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
    size_t k = 0;
    const char *err = "";
    for (int i = 0; i < o->clients; i++) {
        memcpy(all + k, w[i].lat_us, w[i].n_lat * sizeof(*all));
        k += w[i].n_lat;
        ops += w[i].ops, items += w[i].items, conflicts += w[i].conflicts;
        errors += w[i].errors;
        if (w[i].errors)
            err = w[i].last_error;
    }
    qsort(all, n, sizeof(*all), cmp_u32);
    const char *wl[] = {"put", "cas", "tso"};
    printf("target=%s workload=%s clients=%d value_bytes=%zu batch=%u ops=%llu seconds=%.2f "
           "ops_per_s=%.0f items_per_s=%.0f p50_ms=%.3f p99_ms=%.3f conflicts=%llu errors=%llu",
           o->label, wl[o->workload], o->clients, o->value_bytes, o->batch, (unsigned long long)ops,
           secs, ops / secs, items / secs, percentile_ms(all, n, 0.5), percentile_ms(all, n, 0.99),
           (unsigned long long)conflicts, (unsigned long long)errors);
    int bad = 0;
    if (o->workload == WL_CAS) {
        /* Every acknowledged increment, warm-up ones too, is in the
         * counter, and nothing else is. */
        uint64_t acked = 0;
        for (int i = 0; i < o->clients; i++)
            acked += w[i].acked;
        long v = counter_value(sh, &w[0]);
        bad = v < 0 || (uint64_t)v != acked;
        printf(" counter=%ld acked=%llu check=%s", v, (unsigned long long)acked,
               bad ? "FAILED" : "ok");
    }
    printf("\n");
    fflush(stdout);
    if (errors)
        fprintf(stderr, "kv_bench %s: %llu errors; last: %s\n", o->label,
                (unsigned long long)errors, err);
    free(all);
    return bad;
}

static void usage(void)
{
    fputs("usage: kv_bench --target tarn|etcd --url URL[,URL...] [--key KEY]\n"
          "                --workload put|cas|tso [--clients N] [--seconds S]\n"
          "                [--value-bytes B] [--batch B] [--label NAME]\n",
          stderr);
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.clients = 1, .seconds = 5, .value_bytes = 100, .batch = 1};
    const char *target = NULL, *wl = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--target") == 0)
            target = v;
        else if (strcmp(k, "--url") == 0)
            o->urls = v;
        else if (strcmp(k, "--key") == 0)
            o->key = v;
        else if (strcmp(k, "--workload") == 0)
            wl = v;
        else if (strcmp(k, "--clients") == 0)
            o->clients = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(k, "--value-bytes") == 0)
            o->value_bytes = (size_t)atol(v);
        else if (strcmp(k, "--batch") == 0)
            o->batch = (uint32_t)atol(v);
        else if (strcmp(k, "--label") == 0)
            o->label = v;
        else
            return -1;
    }
    if ((argc - 1) % 2 != 0 || !target || !wl || !o->urls || o->clients < 1 ||
        o->clients > BENCH_CLIENTS_MAX || o->seconds <= 0 || o->batch < 1 ||
        o->value_bytes > TARN_KV_VALUE_MAX_BYTES)
        return -1;
    o->target = strcmp(target, "etcd") == 0 ? TARGET_ETCD : TARGET_TARN;
    if (strcmp(target, "etcd") != 0 && strcmp(target, "tarn") != 0)
        return -1;
    o->workload = strcmp(wl, "put") == 0 ? WL_PUT : strcmp(wl, "cas") == 0 ? WL_CAS : WL_TSO;
    if (strcmp(wl, "put") != 0 && strcmp(wl, "cas") != 0 && strcmp(wl, "tso") != 0)
        return -1;
    if (o->workload == WL_TSO && o->target == TARGET_ETCD)
        return -1;
    if (!o->label)
        o->label = target;
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bench_shared sh = {.o = &o};
    atomic_init(&sh.phase, 0);
    bench_worker *w = calloc((size_t)o.clients, sizeof(*w));
    pthread_t th[BENCH_CLIENTS_MAX];
    if (setup(&o, &sh, w) != 0)
        return 1;
    for (int i = 0; i < o.clients; i++)
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    sleep_ms(BENCH_WARMUP_MS);
    int64_t t0 = now_us();
    atomic_store(&sh.phase, 1);
    sleep_ms((int)(o.seconds * 1000));
    atomic_store(&sh.phase, 2);
    double secs = (double)(now_us() - t0) / 1e6;
    for (int i = 0; i < o.clients; i++)
        pthread_join(th[i], NULL);
    int bad = report(&o, &sh, w, secs);
    for (int i = 0; i < o.clients; i++) {
        free(w[i].lat_us);
        if (w[i].curl)
            curl_easy_cleanup(w[i].curl);
    }
    tarn_client_close(sh.tarn);
    free(sh.value);
    free(w);
    curl_global_cleanup();
    return bad ? 1 : 0;
}
