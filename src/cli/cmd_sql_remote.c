/*
 * cli/cmd_sql_remote.c: the client half of `tarn sql --server` (see
 * sql_remote.h). Each script is one POST /v1/sql with
 * `Accept: application/x-ndjson`; the reply's lines (sql_routes.h
 * "Streamed reply") become sink calls as they arrive:
 *
 *   {"columns":[...],"statement":i}  -> sink.columns
 *   [v, ...]                         -> rows gathered into a vec batch -> sink.batch
 *   {"statement":{...},"index":i}    -> sink.done
 *   {"end":{...}}                    -> success
 *   {"error":{...}}                  -> the failure, with the SQL position
 *
 * A reply that stops without "end" or "error" (a lost connection, a
 * server that stopped) is an error: the result printed so far is not all
 * of it. Rows are rebuilt as typed columns where the printed text depends
 * on the type (integers, doubles, booleans); every other value arrives as
 * the text the server's sql_value_text made, so each format prints what a
 * local session prints.
 */
#include "cli/sql_remote.h"

#include "base/alloc.h"
#include "tarn.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest reply line (one row) and error body accepted. */
#define REMOTE_LINE_MAX_BYTES     ((size_t)64 << 20)
#define REMOTE_ERROR_MAX_BYTES    ((size_t)1 << 20)
#define REMOTE_CONNECT_TIMEOUT_MS 3000L

struct sql_remote {
    char urls[TARN_CLIENT_ENDPOINTS_MAX][TARN_CLIENT_URL_MAX];
    size_t n_urls;
    size_t current; /* the member that answered last */
    char key_header[TARN_CLIENT_KEY_MAX + 16];
    CURL *curl;
};

/* ---- opening: URLs and key ---- */

static int url_add(sql_remote *r, const char *url, tarn_err *err)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (strncmp(url, "http://", 7) != 0 || n <= 7 || n >= TARN_CLIENT_URL_MAX)
        return tarn_err_set(err, TARN_EINVAL, "server URL '%s': want http://HOST:PORT", url);
    if (r->n_urls == TARN_CLIENT_ENDPOINTS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "more than %d servers", TARN_CLIENT_ENDPOINTS_MAX);
    snprintf(r->urls[r->n_urls++], TARN_CLIENT_URL_MAX, "%.*s", (int)n, url);
    return 0;
}

static int key_set(sql_remote *r, const char *key, const char *from, tarn_err *err)
{
    size_t n = strcspn(key, "\r\n");
    if (n == 0 || n > TARN_CLIENT_KEY_MAX)
        return tarn_err_set(err, TARN_EINVAL, "API key from %s: empty or too long", from);
    snprintf(r->key_header, sizeof(r->key_header), "X-API-Key: %.*s", (int)n, key);
    return 0;
}

static int key_from_file(sql_remote *r, const char *path, tarn_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tarn_err_set(err, TARN_ENOENT, "cannot read API key file %s", path);
    char line[TARN_CLIENT_KEY_MAX + 4] = "";
    char *got = fgets(line, sizeof(line), f);
    fclose(f);
    return key_set(r, got ? line : "", path, err);
}

/* {"members":[{"url":...}], "admin_key_file": "admin.key"} (tarn cluster up). */
static int cluster_load(sql_remote *r, const char *path, int want_key, tarn_err *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return tarn_err_set(err, root ? TARN_EINVAL : TARN_ENOENT, "cluster file %s: %s", path,
                            root ? "not a JSON object" : je.text);
    }
    json_t *members = json_object_get(root, "members"), *m;
    size_t i;
    int rc = json_array_size(members) > 0
                 ? 0
                 : tarn_err_set(err, TARN_EINVAL, "cluster file %s: no \"members\"", path);
    json_array_foreach(members, i, m)
    {
        const char *u = json_string_value(json_object_get(m, "url"));
        if (rc == 0)
            rc = u ? url_add(r, u, err)
                   : tarn_err_set(err, TARN_EINVAL, "cluster file %s: member %zu has no url", path,
                                  i);
    }
    const char *kf = json_string_value(json_object_get(root, "admin_key_file"));
    if (rc == 0 && want_key && kf != NULL) {
        char kp[4096];
        const char *slash = strrchr(path, '/');
        if (kf[0] == '/' || slash == NULL)
            snprintf(kp, sizeof(kp), "%s", kf);
        else
            snprintf(kp, sizeof(kp), "%.*s/%s", (int)(slash - path), path, kf);
        rc = key_from_file(r, kp, err);
    }
    json_decref(root);
    return rc;
}

static int key_resolve(sql_remote *r, const sql_remote_opts *o, tarn_err *err)
{
    if (o->key)
        return key_set(r, o->key, "--key", err);
    if (o->key_file)
        return key_from_file(r, o->key_file, err);
    const char *env = getenv("TARN_API_KEY");
    if (env && *env)
        return key_set(r, env, "$TARN_API_KEY", err);
    if (r->key_header[0] != '\0' || o->data_dir == NULL)
        return 0; /* the cluster file's key, or none */
    char path[4096];
    snprintf(path, sizeof(path), "%s/admin.key", o->data_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0; /* no key: the server says 401 if it wants one */
    fclose(f);
    return key_from_file(r, path, err);
}

int sql_remote_open(const sql_remote_opts *o, sql_remote **out, tarn_err *err)
{
    sql_remote *r = tarn_calloc(1, sizeof(*r));
    if (r == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "sql remote");
    int rc = o->server ? url_add(r, o->server, err) : 0;
    int want_key = !o->key && !o->key_file && !getenv("TARN_API_KEY");
    if (rc == 0 && o->cluster)
        rc = cluster_load(r, o->cluster, want_key, err);
    if (rc == 0 && r->n_urls == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "no server: give --server URL or --cluster FILE");
    if (rc == 0)
        rc = key_resolve(r, o, err);
    if (rc == 0 && (r->curl = curl_easy_init()) == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "curl");
    if (rc != 0) {
        sql_remote_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void sql_remote_close(sql_remote *r)
{
    if (r == NULL)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    tarn_free(r);
}

const char *sql_remote_url(const sql_remote *r)
{
    return r->urls[r->current];
}

/* ---- one reply ---- */

typedef struct reply {
    CURL *curl;
    const sql_sink *sink;
    sql_error *e;
    long status;   /* 0 until the first byte */
    int streaming; /* a 200 of JSON lines */
    tarn_buf line; /* a line not yet complete */
    tarn_buf body; /* an error reply's body */
    vec_batch batch;
    vec_type_info *types;
    uint32_t ncols;
    int has_batch;
    int ended;  /* {"end"} seen */
    int failed; /* {"error"} seen, e filled */
    int rc;     /* a local failure that stopped the transfer */
    uint64_t rows;
} reply;

static vec_type_info type_from_name(const char *t)
{
    vec_type_info ti = {.id = VEC_STRING};
    if (strcmp(t, "BOOLEAN") == 0)
        ti.id = VEC_BOOL;
    else if (!strcmp(t, "TINYINT") || !strcmp(t, "SMALLINT") || !strcmp(t, "INTEGER") ||
             !strcmp(t, "BIGINT"))
        ti.id = VEC_I64;
    else if (strcmp(t, "DOUBLE") == 0 || strcmp(t, "REAL") == 0)
        ti.id = VEC_F64;
    return ti;
}

static int flush_rows(reply *rp)
{
    if (!rp->has_batch || rp->batch.len == 0)
        return 0;
    int rc = rp->sink->batch ? rp->sink->batch(rp->sink->ctx, &rp->batch) : 0;
    vec_batch_reset(&rp->batch);
    return rc;
}

static void batch_drop(reply *rp)
{
    if (rp->has_batch)
        vec_batch_free(&rp->batch);
    rp->has_batch = 0;
    tarn_free(rp->types);
    rp->types = NULL;
    rp->ncols = 0;
}

static int on_columns_line(reply *rp, json_t *cols)
{
    batch_drop(rp);
    size_t n = json_array_size(cols);
    const char **names = tarn_calloc(n + 1, sizeof(*names));
    rp->types = tarn_calloc(n + 1, sizeof(*rp->types));
    if (names == NULL || rp->types == NULL) {
        tarn_free(names);
        return TARN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cols, i);
        const char *nm = json_string_value(json_object_get(c, "name"));
        const char *ty = json_string_value(json_object_get(c, "type"));
        names[i] = nm ? nm : "?column?";
        rp->types[i] = type_from_name(ty ? ty : "VARCHAR");
    }
    rp->ncols = (uint32_t)n;
    int rc = vec_batch_init(&rp->batch, rp->types, rp->ncols, VEC_BATCH_ROWS);
    rp->has_batch = rc == 0;
    if (rc == 0 && rp->sink->columns)
        rc = rp->sink->columns(rp->sink->ctx, rp->ncols, names, rp->types);
    tarn_free(names);
    return rc;
}

/* One value into column c at row `row`. */
static int put_value(vec_col *col, uint32_t row, json_t *v)
{
    if (json_is_null(v)) {
        int rc = col->type.id == VEC_STRING ? vec_col_append_str(col, "", 0) : 0;
        return rc != 0 ? rc : vec_col_set_null(col, row);
    }
    switch (col->type.id) {
    case VEC_BOOL:
        ((uint8_t *)col->data)[row] = json_is_true(v);
        return 0;
    case VEC_I64:
        ((int64_t *)col->data)[row] = json_integer_value(v);
        return 0;
    case VEC_F64: /* NaN and the infinities arrive as strings */
        ((double *)col->data)[row] =
            json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v);
        return 0;
    default: {
        if (json_is_string(v))
            return vec_col_append_str(col, json_string_value(v), json_string_length(v));
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        int rc = t ? vec_col_append_str(col, t, strlen(t)) : TARN_ENOMEM;
        free(t);
        return rc;
    }
    }
}

/* ---- rows without jansson: the common case, fast ----
 *
 * A row line is an array of scalars. This parser takes the lines it fully
 * understands (numbers, true/false/null, strings with the short escapes)
 * and says 0 for anything else, which then goes through jansson: a \u
 * escape, a value whose JSON kind does not fit the column, bad syntax. */

/* A JSON string starting at p (at the opening quote) without \u escapes,
 * unescaped into out. The position after the closing quote, or NULL. */
static const char *fast_string(const char *p, const char *end, tarn_buf *out)
{
    tarn_buf_reset(out);
    for (p++; p < end; p++) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (q > p && tarn_buf_append(out, p, (size_t)(q - p)) != 0)
            return NULL;
        p = q;
        if (p >= end || (unsigned char)*p < 0x20)
            return NULL;
        if (*p == '"')
            return p + 1;
        if (++p >= end)
            return NULL;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = memchr(from, *p, sizeof(from) - 1);
        if (k == NULL || tarn_buf_append_byte(out, (uint8_t)to[k - from]) != 0)
            return NULL; /* \u...: jansson's job */
    }
    return NULL;
}

/* One value for column c at p; the position after it, or NULL. */
static const char *fast_value(vec_col *col, uint32_t row, const char *p, const char *end,
                              tarn_buf *s)
{
    if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
        int rc = col->type.id == VEC_STRING ? vec_col_append_str(col, "", 0) : 0;
        return rc == 0 && vec_col_set_null(col, row) == 0 ? p + 4 : NULL;
    }
    char *after = NULL;
    switch (col->type.id) {
    case VEC_BOOL:
        if (end - p >= 4 && memcmp(p, "true", 4) == 0)
            return ((uint8_t *)col->data)[row] = 1, p + 4;
        if (end - p >= 5 && memcmp(p, "false", 5) == 0)
            return ((uint8_t *)col->data)[row] = 0, p + 5;
        return NULL;
    case VEC_I64:
        if (*p != '-' && (*p < '0' || *p > '9'))
            return NULL;
        errno = 0;
        ((int64_t *)col->data)[row] = strtoll(p, &after, 10);
        return errno == 0 && after <= end ? after : NULL;
    case VEC_F64:
        if (*p == '"') { /* NaN, Infinity, -Infinity */
            const char *q = fast_string(p, end, s);
            ((double *)col->data)[row] = q ? strtod(tarn_buf_cstr(s), NULL) : 0;
            return q;
        }
        if (*p != '-' && (*p < '0' || *p > '9'))
            return NULL;
        ((double *)col->data)[row] = strtod(p, &after);
        return after <= end ? after : NULL;
    case VEC_STRING: {
        const char *q = *p == '"' ? fast_string(p, end, s) : NULL;
        return q && vec_col_append_str(col, s->data ? (const char *)s->data : "", s->len) == 0
                   ? q
                   : NULL;
    }
    default:
        return NULL;
    }
}

/* 1 when the line was taken (the row appended), 0 to use jansson. On 0 the
 * batch is left as it was. */
static int fast_row(reply *rp, const char *p, size_t n)
{
    if (!rp->has_batch || n < 2 || p[0] != '[' || p[n - 1] != ']')
        return 0;
    const char *end = p + n;
    uint32_t r = rp->batch.len;
    tarn_buf s;
    tarn_buf_init(&s, REMOTE_LINE_MAX_BYTES);
    int ok = 1;
    p++;
    uint32_t c = 0;
    for (; ok && c < rp->ncols; c++) {
        if (c > 0)
            ok = *p == ',' ? (p++, 1) : 0;
        p = ok ? fast_value(&rp->batch.cols[c], r, p, end - 1, &s) : NULL;
        ok = p != NULL;
    }
    ok = ok && p == end - 1;
    tarn_buf_free(&s);
    if (!ok) { /* undo what the string columns took */
        for (uint32_t k = 0; k < rp->ncols; k++) {
            vec_col *col = &rp->batch.cols[k];
            if (col->type.id == VEC_STRING && col->len > r) {
                col->len = r;
                col->bytes_len = col->offsets[r];
            }
            if (col->validity)
                col->validity[r >> 3] |= (uint8_t)(1u << (r & 7));
        }
        return 0;
    }
    for (uint32_t k = 0; k < rp->ncols; k++)
        if (!vec_type_is_var(rp->batch.cols[k].type.id))
            rp->batch.cols[k].len = r + 1;
    rp->batch.len = r + 1;
    rp->rows++;
    return 1;
}

static int on_row_line(reply *rp, json_t *row)
{
    if (!rp->has_batch || json_array_size(row) != rp->ncols)
        return TARN_ECORRUPT;
    uint32_t r = rp->batch.len;
    for (uint32_t c = 0; c < rp->ncols; c++) {
        int rc = put_value(&rp->batch.cols[c], r, json_array_get(row, c));
        if (rc != 0)
            return rc;
        if (!vec_type_is_var(rp->batch.cols[c].type.id))
            rp->batch.cols[c].len = r + 1;
    }
    rp->batch.len = r + 1;
    rp->rows++;
    return rp->batch.len == rp->batch.cap ? flush_rows(rp) : 0;
}

static int on_stmt_line(reply *rp, json_t *st)
{
    int rc = flush_rows(rp);
    batch_drop(rp);
    sql_stmt_info info = {
        .kind = json_string_value(json_object_get(st, "kind")),
        .rows = json_integer_value(json_object_get(st, "rows")),
        .version = json_integer_value(json_object_get(st, "version")),
        .elapsed_us = (int64_t)(json_number_value(json_object_get(st, "elapsed_ms")) * 1000.0),
    };
    if (info.kind == NULL)
        info.kind = "?";
    if (rc == 0 && rp->sink->done)
        rc = rp->sink->done(rp->sink->ctx, &info);
    return rc;
}

/* e from the error envelope: the SQL position when the server gave one. */
static void error_from_json(sql_error *e, json_t *error)
{
    memset(e, 0, sizeof(*e));
    json_t *se = json_object_get(error, "sql_error");
    const char *msg = json_string_value(json_object_get(error, "message"));
    e->code = TARN_EINVAL;
    snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "the server answered an error");
    if (json_is_object(se) && json_integer_value(json_object_get(se, "line")) > 0) {
        e->code = (int)json_integer_value(json_object_get(se, "code"));
        e->pos.line = (uint32_t)json_integer_value(json_object_get(se, "line"));
        e->pos.col = (uint32_t)json_integer_value(json_object_get(se, "column"));
        e->pos.offset = (uint32_t)json_integer_value(json_object_get(se, "offset"));
        const char *m = json_string_value(json_object_get(se, "message"));
        const char *h = json_string_value(json_object_get(se, "hint"));
        snprintf(e->msg, sizeof(e->msg), "%s", m ? m : "");
        snprintf(e->hint, sizeof(e->hint), "%s", h ? h : "");
    }
}

static int on_line(reply *rp, const char *p, size_t n)
{
    if (n > 0 && p[0] == '[' && fast_row(rp, p, n))
        return rp->batch.len == rp->batch.cap ? flush_rows(rp) : 0;
    json_error_t je;
    json_t *j = json_loadb(p, n, 0, &je);
    if (j == NULL)
        return TARN_ECORRUPT;
    int rc = 0;
    json_t *v;
    if (json_is_array(j))
        rc = on_row_line(rp, j);
    else if ((v = json_object_get(j, "columns")) != NULL)
        rc = on_columns_line(rp, v);
    else if ((v = json_object_get(j, "statement")) != NULL && json_is_object(v))
        rc = on_stmt_line(rp, v);
    else if (json_object_get(j, "end") != NULL)
        rp->ended = 1;
    else if ((v = json_object_get(j, "error")) != NULL) {
        rc = flush_rows(rp);
        error_from_json(rp->e, v);
        rp->failed = 1;
    }
    json_decref(j);
    return rc;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
    reply *rp = ctx;
    size_t n = size * nmemb;
    if (rp->status == 0) {
        curl_easy_getinfo(rp->curl, CURLINFO_RESPONSE_CODE, &rp->status);
        char *ct = NULL;
        curl_easy_getinfo(rp->curl, CURLINFO_CONTENT_TYPE, &ct);
        rp->streaming = rp->status == 200 && ct && strstr(ct, "application/x-ndjson");
    }
    if (!rp->streaming)
        return tarn_buf_append(&rp->body, data, n) == 0 ? n : 0;
    for (size_t i = 0; i < n && rp->rc == 0;) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (data + i)) : n - i;
        if ((rp->rc = tarn_buf_append(&rp->line, data + i, k)) != 0)
            break;
        i += k + (nl != NULL);
        if (nl != NULL) {
            rp->rc = on_line(rp, (const char *)rp->line.data, rp->line.len);
            tarn_buf_reset(&rp->line);
        }
    }
    return rp->rc == 0 ? n : 0; /* 0 stops the transfer */
}

/* ---- the request ---- */

static void fail(sql_error *e, int code, const char *fmt, const char *a, const char *b)
{
    memset(e, 0, sizeof(*e));
    e->code = code;
    snprintf(e->msg, sizeof(e->msg), fmt, a, b);
}

/* An answer that is not a stream: the error envelope (or anything else). */
static int non_stream(sql_remote *r, reply *rp)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)rp->body.data, rp->body.len, 0, &je);
    json_t *error = json_object_get(j, "error");
    char status[16];
    snprintf(status, sizeof(status), "%ld", rp->status);
    if (rp->status == 404)
        fail(rp->e, TARN_ENOENT,
             "%s does not serve SQL (no /v1/sql%s): point --server at a tarn local",
             r->urls[r->current], r->n_urls > 1 ? " on any member" : "");
    else if (json_is_object(error))
        error_from_json(rp->e, error);
    else
        fail(rp->e, TARN_EIO, "%s answered HTTP %s without a SQL reply", r->urls[r->current],
             status);
    json_decref(j);
    return rp->status == 401   ? TARN_EUNAUTH
           : rp->status == 403 ? TARN_EFORBIDDEN
           : rp->e->code != 0  ? rp->e->code
                               : TARN_EIO;
}

static int post(sql_remote *r, reply *rp, const tarn_buf *body, CURLcode *cc)
{
    char url[TARN_CLIENT_URL_MAX + 16];
    snprintf(url, sizeof(url), "%s/v1/sql", r->urls[r->current]);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = h ? curl_slist_append(h, "Accept: application/x-ndjson") : NULL;
    if (h && r->key_header[0])
        h = curl_slist_append(h, r->key_header);
    if (h == NULL)
        return TARN_ENOMEM;
    CURL *c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rp);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, REMOTE_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* a follower's 307 to the leader */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *cc = curl_easy_perform(c);
    if (rp->status == 0) /* an answer without a body never reached on_data */
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
    curl_slist_free_all(h);
    return 0;
}

/* Whether to try the next member: nothing came back from this one, or it
 * does not serve SQL (a `tarn meta` member answers 404). */
static int try_next(const reply *rp, CURLcode cc)
{
    if (rp->status == 404 && !rp->streaming)
        return 1;
    return rp->status == 0 && (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                               cc == CURLE_OPERATION_TIMEDOUT);
}

static int outcome(sql_remote *r, reply *rp, CURLcode cc)
{
    char rows[32];
    snprintf(rows, sizeof(rows), "%llu", (unsigned long long)rp->rows);
    if (rp->rc != 0 && !rp->failed) {
        fail(rp->e, rp->rc, "reading the reply of %s: %s", r->urls[r->current],
             rp->rc == TARN_ECORRUPT ? "a line that is not the SQL reply format"
                                     : tarn_strerror(rp->rc));
        return rp->rc;
    }
    if (rp->status == 0) {
        fail(rp->e, TARN_EIO, "cannot reach %s: %s", r->urls[r->current], curl_easy_strerror(cc));
        return TARN_EIO;
    }
    if (!rp->streaming)
        return non_stream(r, rp);
    if (rp->failed)
        return rp->e->code != 0 ? rp->e->code : TARN_EIO;
    if (!rp->ended) {
        fail(rp->e, TARN_EIO,
             "the reply ended early after %s rows (%s): the result above is incomplete", rows,
             cc != CURLE_OK ? curl_easy_strerror(cc) : "no end line");
        return TARN_EIO;
    }
    return flush_rows(rp);
}

int sql_remote_exec(sql_remote *r, const char *text, size_t len, const sql_sink *sink, sql_error *e)
{
    static const sql_sink none = {0};
    memset(e, 0, sizeof(*e));
    tarn_buf body;
    tarn_buf_init(&body, TARN_BUF_UNBOUNDED);
    int rc = tarn_buf_append_str(&body, "{\"sql\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&body, text, len);
    if (rc == 0)
        rc = tarn_buf_append_byte(&body, '}');
    for (size_t tries = 0; rc == 0 && tries < r->n_urls; tries++) {
        reply rp = {.curl = r->curl, .sink = sink ? sink : &none, .e = e};
        tarn_buf_init(&rp.line, REMOTE_LINE_MAX_BYTES);
        tarn_buf_init(&rp.body, REMOTE_ERROR_MAX_BYTES);
        CURLcode cc = CURLE_OK;
        rc = post(r, &rp, &body, &cc);
        int next = rc == 0 && try_next(&rp, cc) && tries + 1 < r->n_urls;
        if (rc == 0 && !next)
            rc = outcome(r, &rp, cc);
        batch_drop(&rp);
        tarn_buf_free(&rp.line);
        tarn_buf_free(&rp.body);
        if (!next)
            break;
        r->current = (r->current + 1) % r->n_urls;
    }
    if (rc == TARN_ENOMEM && e->msg[0] == '\0')
        fail(e, rc, "%s%s", "out of memory", "");
    tarn_buf_free(&body);
    return rc;
}
