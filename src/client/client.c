/*
 * client/client.c: opening and closing a client handle: endpoints from the
 * options and from a cluster file, the API key, the connection pool's
 * lifetime. Design note: src/client/README.md.
 */
#include "client/client_int.h"

#include "base/alloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Normalises "http://host:port[/]" (or "host:port", taken as http://) into
 * out. TARN_EINVAL for anything else. */
static int url_normalise(const char *in, char *out, size_t cap, tarn_err *err)
{
    const char *rest = in;
    const char *scheme = "http://";
    if (strncmp(in, "http://", 7) == 0) {
        rest = in + 7;
    } else if (strncmp(in, "https://", 8) == 0) {
        rest = in + 8;
        scheme = "https://";
    } else if (strstr(in, "://")) {
        return tarn_err_set(err, TARN_EINVAL, "endpoint '%.64s': only http:// and https://", in);
    }
    size_t len = strlen(rest);
    while (len > 0 && rest[len - 1] == '/')
        len--;
    const char *colon = memchr(rest, ':', len);
    if (len == 0 || memchr(rest, '/', len) || memchr(rest, '?', len) || !colon || colon == rest ||
        colon + 1 == rest + len)
        return tarn_err_set(err, TARN_EINVAL, "endpoint '%.64s' is not http://host:port", in);
    for (const char *p = colon + 1; p < rest + len; p++)
        if (*p < '0' || *p > '9')
            return tarn_err_set(err, TARN_EINVAL, "endpoint '%.64s': bad port", in);
    if (strlen(scheme) + len + 1 > cap)
        return tarn_err_set(err, TARN_EINVAL, "endpoint '%.64s...' is too long", in);
    snprintf(out, cap, "%s%.*s", scheme, (int)len, rest);
    return 0;
}

size_t client_url_find_or_add(tarn_client *c, const char *base_url)
{
    char norm[TARN_CLIENT_URL_MAX];
    if (url_normalise(base_url, norm, sizeof(norm), NULL) != 0)
        return (size_t)-1;
    size_t n = atomic_load_explicit(&c->n_urls, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->urls[i], norm) == 0)
            return i;
    pthread_mutex_lock(&c->mu);
    size_t found = (size_t)-1;
    n = atomic_load_explicit(&c->n_urls, memory_order_relaxed);
    for (size_t i = 0; i < n && found == (size_t)-1; i++)
        if (strcmp(c->urls[i], norm) == 0)
            found = i;
    if (found == (size_t)-1 && n < TARN_CLIENT_ENDPOINTS_MAX) {
        memcpy(c->urls[n], norm, sizeof(norm));
        atomic_store_explicit(&c->n_urls, n + 1, memory_order_release);
        found = n;
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static int url_add(tarn_client *c, const char *url, tarn_err *err)
{
    char norm[TARN_CLIENT_URL_MAX];
    int rc = url_normalise(url, norm, sizeof(norm), err);
    if (rc != 0)
        return rc;
    size_t n = atomic_load(&c->n_urls);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->urls[i], norm) == 0)
            return 0;
    if (n == TARN_CLIENT_ENDPOINTS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "more than %d endpoints", TARN_CLIENT_ENDPOINTS_MAX);
    memcpy(c->urls[n], norm, sizeof(norm));
    atomic_store(&c->n_urls, n + 1);
    return 0;
}

/* Reads a small file whole into a tarn_malloc'd NUL-terminated string. */
static int file_read(const char *path, const char *what, char **out, tarn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tarn_err_set(err, TARN_ENOENT, "%s %s: cannot open", what, path);
    char *s = tarn_malloc(CLIENT_FILE_MAX_BYTES + 1);
    if (!s) {
        fclose(f);
        return tarn_err_set(err, TARN_ENOMEM, "read %s", what);
    }
    size_t n = fread(s, 1, CLIENT_FILE_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > CLIENT_FILE_MAX_BYTES) {
        tarn_free(s);
        if (bad)
            return tarn_err_set(err, TARN_EIO, "%s %s: read error", what, path);
        return tarn_err_set(err, TARN_ETOOBIG, "%s %s: larger than %u bytes", what, path,
                            CLIENT_FILE_MAX_BYTES);
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

/* The key: the first line of the file, without surrounding blanks. */
static int key_from_file(tarn_client *c, const char *path, tarn_err *err)
{
    char *s = NULL;
    int rc = file_read(path, "API key file", &s, err);
    if (rc != 0)
        return rc;
    char *k = s + strspn(s, " \t\r\n");
    k[strcspn(k, " \t\r\n")] = '\0';
    if (*k == '\0' || strlen(k) > TARN_CLIENT_KEY_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "API key file %s: no key on its first line", path);
    else
        snprintf(c->key_header, sizeof(c->key_header), "X-API-Key: %s", k);
    tarn_free(s);
    return rc;
}

/* A relative path in a cluster file is relative to the file's directory. */
static void path_beside(const char *file, const char *rel, char *out, size_t cap)
{
    const char *slash = strrchr(file, '/');
    if (rel[0] == '/' || !slash)
        snprintf(out, cap, "%s", rel);
    else
        snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, rel);
}

/* Endpoints from the cluster file's members (each {"url": ...}) or its
 * "endpoints" list. */
static int cluster_endpoints(tarn_client *c, json_t *root, const char *path, tarn_err *err)
{
    json_t *members = json_object_get(root, "members");
    json_t *list = json_is_array(members) ? members : json_object_get(root, "endpoints");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return tarn_err_set(err, TARN_EINVAL, "cluster file %s: no \"members\" with urls", path);
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        json_t *u = json_is_object(m) ? json_object_get(m, "url") : m;
        if (!json_is_string(u))
            return tarn_err_set(err, TARN_EINVAL, "cluster file %s: member %zu has no \"url\"",
                                path, i);
        int rc = url_add(c, json_string_value(u), err);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "cluster file %s", path);
    }
    return 0;
}

static int cluster_load(tarn_client *c, const char *path, int want_key, tarn_err *err)
{
    char *text = NULL;
    int rc = file_read(path, "cluster file", &text, err);
    if (rc != 0)
        return rc;
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    tarn_free(text);
    if (!json_is_object(root)) {
        json_decref(root);
        return tarn_err_set(err, TARN_EINVAL, "cluster file %s: not a JSON object (line %d: %s)",
                            path, je.line, root ? "not an object" : je.text);
    }
    rc = cluster_endpoints(c, root, path, err);
    json_t *kf = json_object_get(root, "admin_key_file");
    if (rc == 0 && want_key && json_is_string(kf)) {
        char kp[4096];
        path_beside(path, json_string_value(kf), kp, sizeof(kp));
        rc = key_from_file(c, kp, err);
        if (rc != 0)
            tarn_err_wrap(err, rc, "cluster file %s", path);
    }
    json_decref(root);
    return rc;
}

static int client_configure(tarn_client *c, const tarn_client_opts *o, tarn_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < o->n_endpoints; i++)
        rc = o->endpoints && o->endpoints[i]
                 ? url_add(c, o->endpoints[i], err)
                 : tarn_err_set(err, TARN_EINVAL, "endpoint %zu is NULL", i);
    int want_key = !o->api_key && !o->api_key_file;
    if (rc == 0 && o->cluster_file)
        rc = cluster_load(c, o->cluster_file, want_key, err);
    if (rc == 0 && o->api_key) {
        size_t n = strlen(o->api_key);
        if (n == 0 || n > TARN_CLIENT_KEY_MAX || strpbrk(o->api_key, "\r\n"))
            return tarn_err_set(err, TARN_EINVAL, "bad API key (empty, too long or multi-line)");
        snprintf(c->key_header, sizeof(c->key_header), "X-API-Key: %s", o->api_key);
    } else if (rc == 0 && o->api_key_file) {
        rc = key_from_file(c, o->api_key_file, err);
    }
    if (rc == 0 && atomic_load(&c->n_urls) == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "no endpoint (give endpoints or a cluster file)");
    if (rc == 0 && (o->timeout_ms < 0 || o->attempt_timeout_ms < 0 || o->connect_timeout_ms < 0))
        rc = tarn_err_set(err, TARN_EINVAL, "negative timeout");
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : TARN_CLIENT_TIMEOUT_MS_DEFAULT;
    c->attempt_timeout_ms =
        o->attempt_timeout_ms ? o->attempt_timeout_ms : TARN_CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT;
    c->connect_timeout_ms =
        o->connect_timeout_ms ? o->connect_timeout_ms : TARN_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT;
    return rc;
}

int tarn_client_open(const tarn_client_opts *opts, tarn_client **out, tarn_err *err)
{
    if (!opts || !out)
        return tarn_err_set(err, TARN_EINVAL, "tarn_client_open: NULL argument");
    /* Thread-safe and reference-counted in libcurl >= 7.84. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tarn_err_set(err, TARN_ENOMEM, "libcurl initialisation failed");
    tarn_client *c = tarn_calloc(1, sizeof(*c));
    if (!c) {
        curl_global_cleanup();
        return tarn_err_set(err, TARN_ENOMEM, "client handle");
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        tarn_free(c);
        curl_global_cleanup();
        return tarn_err_set(err, TARN_ENOMEM, "client mutex");
    }
    atomic_init(&c->n_urls, 0);
    atomic_init(&c->leader, 0);
    int rc = client_configure(c, opts, err);
    /* With several members, learn the leader before the first call. */
    atomic_init(&c->probe, atomic_load(&c->n_urls) > 1);
    if (rc != 0) {
        pthread_mutex_destroy(&c->mu);
        tarn_free(c);
        curl_global_cleanup();
        return rc;
    }
    *out = c;
    return 0;
}

void tarn_client_close(tarn_client *c)
{
    if (!c)
        return;
    while (c->pool) {
        client_conn *next = c->pool->next;
        client_conn_free(c->pool);
        c->pool = next;
    }
    pthread_mutex_destroy(&c->mu);
    tarn_free(c);
    curl_global_cleanup();
}

const char *tarn_client_endpoint(const tarn_client *c)
{
    size_t i = atomic_load_explicit(&((tarn_client *)c)->leader, memory_order_acquire);
    return c->urls[i];
}
