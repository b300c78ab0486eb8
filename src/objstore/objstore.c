/*
 * objstore/objstore.c: what every object-store backend shares: URL
 * dispatch, the key rules, metrics and error context. The bytes move in a
 * backend (file.c now); see objstore_int.h and README.md.
 *
 * Invariants:
 *  1. A handle is immutable after objstore_open returns, which is what makes
 *     it safe to share between threads without a lock.
 *  2. No key reaches a backend without passing objstore_key_check, so a
 *     backend may rely on keys being relative, normalised and free of NUL,
 *     backslash and temp-file names.
 */
#include "objstore/objstore_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "obs/obs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Longest key or path quoted in an error message; the rest is cut. */
#define KEY_QUOTE_MAX 256

enum os_op { OP_PUT, OP_PUT_IF_ABSENT, OP_GET, OP_GET_RANGE, OP_HEAD, OP_DEL, OP_LIST, OP_COUNT };
enum os_result { RES_OK, RES_ERROR, RES_NOT_FOUND, RES_EXISTS, RES_COUNT };

static const char *const op_names[OP_COUNT] = {"put",  "put_if_absent", "get", "get_range",
                                               "head", "del",           "list"};
static const char *const result_names[RES_COUNT] = {"ok", "error", "not_found", "exists"};

struct objstore {
    const objstore_backend_ops *ops;
    objstore_backend *be;
    char *url; /* normalised root URL, owned */
    /* Series resolved once at open (NULL when the registry was short of
     * memory: those samples are dropped, as obs.h prefers). */
    obs_series_t *ops_total[OP_COUNT][RES_COUNT];
    obs_series_t *duration[OP_COUNT];
    obs_series_t *bytes_read;
    obs_series_t *bytes_written;
};

/* ---- keys ---------------------------------------------------------------- */

int objstore_segment_ok(const char *name, size_t len)
{
    if (len == 0)
        return 0;
    if (len == 1 && name[0] == '.')
        return 0;
    if (len == 2 && name[0] == '.' && name[1] == '.')
        return 0;
    if (memchr(name, '\\', len) != NULL || memchr(name, '\0', len) != NULL)
        return 0;
    size_t tl = strlen(OBJSTORE_TEMP_PREFIX);
    return !(len >= tl && memcmp(name, OBJSTORE_TEMP_PREFIX, tl) == 0);
}

/* Says what is wrong with one segment, for the error message. */
static const char *segment_problem(const char *seg, size_t len)
{
    if (len == 0)
        return "has an empty segment (\"a//b\" or a trailing '/')";
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return "has a \".\" or \"..\" segment";
    return "has a segment starting with the reserved temp prefix " OBJSTORE_TEMP_PREFIX;
}

int objstore_key_check(const char *key, size_t len, tarn_err *err)
{
    if (key == NULL || len == 0)
        return tarn_err_set(err, TARN_EINVAL, "empty key");
    if (len > OBJSTORE_KEY_MAX)
        return tarn_err_set(err, TARN_EINVAL, "key of %zu bytes is longer than %d bytes", len,
                            OBJSTORE_KEY_MAX);
    if (memchr(key, '\0', len) != NULL)
        return tarn_err_set(err, TARN_EINVAL, "key contains a NUL byte");
    if (memchr(key, '\\', len) != NULL)
        return tarn_err_set(err, TARN_EINVAL, "key \"%.*s\" contains a backslash", KEY_QUOTE_MAX,
                            key);
    if (key[0] == '/')
        return tarn_err_set(err, TARN_EINVAL, "key \"%.*s\" is absolute (starts with '/')",
                            KEY_QUOTE_MAX, key);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && key[i] != '/')
            continue;
        if (!objstore_segment_ok(key + start, i - start))
            return tarn_err_set(err, TARN_EINVAL, "key \"%.*s\" %s", KEY_QUOTE_MAX, key,
                                segment_problem(key + start, i - start));
        start = i + 1;
    }
    return 0;
}

/* A prefix is a key's directory part (checked as a key) followed by any
 * start of a segment. */
static int prefix_check(const char *prefix, tarn_err *err)
{
    size_t len = strnlen(prefix, OBJSTORE_KEY_MAX + 1);
    if (len > OBJSTORE_KEY_MAX)
        return tarn_err_set(err, TARN_EINVAL, "prefix longer than %d bytes", OBJSTORE_KEY_MAX);
    if (memchr(prefix, '\\', len) != NULL)
        return tarn_err_set(err, TARN_EINVAL, "prefix contains a backslash");
    size_t dir_len = len;
    while (dir_len > 0 && prefix[dir_len - 1] != '/')
        dir_len--;
    if (dir_len == 0)
        return 0;
    int rc = objstore_key_check(prefix, dir_len - 1, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "directory part of prefix");
    return 0;
}

/* ---- metrics ------------------------------------------------------------- */

static obs_family *family(const obs_family_opts *o)
{
    obs_family *f = NULL;
    int rc = obs_family_register(obs_global(), o, &f);
    if (rc != 0) {
        /* Metrics are optional: the store works without them. */
        TARN_LOGF(TARN_LOG_WARN, "objstore", "metric family not registered",
                  TARN_F_STR("name", o->name), TARN_F_ERR(rc));
        return NULL;
    }
    return f;
}

static void metrics_resolve(objstore *os)
{
    const char *b = os->ops->name;
    obs_family *ops = family(
        &(obs_family_opts){.type = OBS_COUNTER,
                           .name = "tarn_objstore_ops_total",
                           .help = "Object-store operations by backend, operation and result.",
                           .label_names = (const char *[]){"backend", "op", "result"},
                           .label_count = 3});
    obs_family *dur =
        family(&(obs_family_opts){.type = OBS_HISTOGRAM,
                                  .name = "tarn_objstore_op_duration_seconds",
                                  .help = "Object-store operation latency in seconds.",
                                  .label_names = (const char *[]){"backend", "op"},
                                  .label_count = 2});
    obs_family *rd = family(&(obs_family_opts){.type = OBS_COUNTER,
                                               .name = "tarn_objstore_bytes_read_total",
                                               .help = "Bytes read from the object store.",
                                               .label_names = (const char *[]){"backend"},
                                               .label_count = 1});
    obs_family *wr = family(&(obs_family_opts){.type = OBS_COUNTER,
                                               .name = "tarn_objstore_bytes_written_total",
                                               .help = "Bytes written to the object store.",
                                               .label_names = (const char *[]){"backend"},
                                               .label_count = 1});
    for (int op = 0; op < OP_COUNT; op++) {
        for (int r = 0; r < RES_COUNT && ops != NULL; r++)
            os->ops_total[op][r] =
                obs_series(ops, (const char *[]){b, op_names[op], result_names[r]});
        if (dur != NULL)
            os->duration[op] = obs_series(dur, (const char *[]){b, op_names[op]});
    }
    os->bytes_read = rd ? obs_series(rd, (const char *[]){b}) : NULL;
    os->bytes_written = wr ? obs_series(wr, (const char *[]){b}) : NULL;
}

static int64_t op_start(void)
{
    return tarn_mono_ns();
}

/* Records the outcome of one operation, adds "<op> <key>" to the error
 * context, and returns rc. */
static int op_end(objstore *os, enum os_op op, int64_t t0_ns, int rc, const char *key,
                  tarn_err *err)
{
    enum os_result r = RES_ERROR;
    if (rc == 0)
        r = RES_OK;
    else if (rc == TARN_ENOENT)
        r = RES_NOT_FOUND;
    else if (rc == TARN_EEXIST)
        r = RES_EXISTS;
    obs_counter_add(os->ops_total[op][r], 1);
    obs_histogram_observe(os->duration[op], (double)(tarn_mono_ns() - t0_ns) / 1e9);
    if (rc != 0)
        tarn_err_wrap(err, rc, "objstore %s \"%.*s\"", op_names[op], KEY_QUOTE_MAX, key ? key : "");
    return rc;
}

/* ---- open / close -------------------------------------------------------- */

/* Turns `url` into an absolute path (owned by the caller). */
static int url_to_path(const char *url, char **path_out, tarn_err *err)
{
    *path_out = NULL;
    if (url == NULL || url[0] == '\0')
        return tarn_err_set(err, TARN_EINVAL, "empty store URL");
    if (strncmp(url, "s3://", 5) == 0)
        return tarn_err_set(err, TARN_ENOTSUP,
                            "s3:// is not supported yet: S3 comes with distributed execution");
    const char *path = url;
    if (strncmp(url, "file://", 7) == 0) {
        path = url + 7;
        if (strncmp(path, "localhost/", 10) == 0)
            path += 9;
        if (path[0] != '/')
            return tarn_err_set(err, TARN_EINVAL, "file URL \"%.*s\" must be file:///absolute/path",
                                KEY_QUOTE_MAX, url);
    } else if (strstr(url, "://") != NULL) {
        return tarn_err_set(err, TARN_EINVAL, "unknown URL scheme in \"%.*s\"", KEY_QUOTE_MAX, url);
    }
    if (path[0] == '/') {
        *path_out = tarn_strdup(path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return tarn_err_set(err, TARN_EIO, "resolve relative path: getcwd failed");
        size_t n = strlen(cwd) + 1 + strlen(path) + 1;
        *path_out = tarn_malloc(n);
        if (*path_out != NULL)
            snprintf(*path_out, n, "%s/%s", cwd, path);
    }
    if (*path_out == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "copy store path");
    if (strlen(*path_out) >= PATH_MAX) {
        tarn_free(*path_out);
        *path_out = NULL;
        return tarn_err_set(err, TARN_EINVAL, "store path longer than %d bytes", PATH_MAX - 1);
    }
    return 0;
}

int objstore_open(const char *url, objstore **out, tarn_err *err)
{
    TARN_ASSERT(out != NULL);
    *out = NULL;
    char *path = NULL;
    objstore *os = tarn_calloc(1, sizeof(*os));
    int rc = os ? 0 : tarn_err_set(err, TARN_ENOMEM, "allocate store handle");
    if (rc == 0)
        rc = url_to_path(url, &path, err);
    if (rc == 0)
        rc = objstore_file_open(path, &os->ops, &os->be, &os->url, err);
    if (rc != 0)
        goto fail;
    metrics_resolve(os);
    tarn_free(path);
    *out = os;
    return 0;
fail:
    tarn_free(path);
    tarn_free(os);
    return tarn_err_wrap(err, rc, "open object store \"%.*s\"", KEY_QUOTE_MAX, url ? url : "");
}

void objstore_close(objstore *os)
{
    if (os == NULL)
        return;
    os->ops->close(os->be);
    tarn_free(os->url);
    tarn_free(os);
}

const char *objstore_url(const objstore *os)
{
    TARN_ASSERT(os != NULL);
    return os->url;
}

/* ---- operations ---------------------------------------------------------- */

static int key_ok(const char *key, tarn_err *err)
{
    if (key == NULL)
        return tarn_err_set(err, TARN_EINVAL, "NULL key");
    return objstore_key_check(key, strnlen(key, OBJSTORE_KEY_MAX + 1), err);
}

static int put_common(objstore *os, enum os_op op, const char *key, const void *data, size_t len,
                      tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    int64_t t0 = op_start();
    int rc = key_ok(key, err);
    if (rc == 0 && data == NULL && len > 0)
        rc = tarn_err_set(err, TARN_EINVAL, "NULL data with length %zu", len);
    if (rc == 0)
        rc = os->ops->put(os->be, key, data, len,
                          op == OP_PUT ? OBJSTORE_PUT_REPLACE : OBJSTORE_PUT_IF_ABSENT, err);
    if (rc == 0)
        obs_counter_add(os->bytes_written, len);
    return op_end(os, op, t0, rc, key, err);
}

int objstore_put(objstore *os, const char *key, const void *data, size_t len, tarn_err *err)
{
    return put_common(os, OP_PUT, key, data, len, err);
}

int objstore_put_if_absent(objstore *os, const char *key, const void *data, size_t len,
                           tarn_err *err)
{
    return put_common(os, OP_PUT_IF_ABSENT, key, data, len, err);
}

static int read_common(objstore *os, enum os_op op, const char *key, uint64_t offset, size_t len,
                       tarn_buf *out, tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    TARN_ASSERT(out != NULL);
    int64_t t0 = op_start();
    size_t before = out->len;
    int rc = key_ok(key, err);
    if (rc == 0)
        rc = os->ops->read(os->be, key, offset, len, op == OP_GET, out, err);
    if (rc == 0) {
        TARN_ASSERT(out->len >= before);
        obs_counter_add(os->bytes_read, out->len - before);
    }
    return op_end(os, op, t0, rc, key, err);
}

int objstore_get(objstore *os, const char *key, size_t max_bytes, tarn_buf *out, tarn_err *err)
{
    return read_common(os, OP_GET, key, 0, max_bytes, out, err);
}

int objstore_get_range(objstore *os, const char *key, uint64_t offset, size_t len, tarn_buf *out,
                       tarn_err *err)
{
    return read_common(os, OP_GET_RANGE, key, offset, len, out, err);
}

int objstore_head(objstore *os, const char *key, objstore_info *out, tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    TARN_ASSERT(out != NULL);
    int64_t t0 = op_start();
    int rc = key_ok(key, err);
    if (rc == 0)
        rc = os->ops->head(os->be, key, out, err);
    return op_end(os, OP_HEAD, t0, rc, key, err);
}

int objstore_del(objstore *os, const char *key, tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    int64_t t0 = op_start();
    int rc = key_ok(key, err);
    if (rc == 0)
        rc = os->ops->del(os->be, key, err);
    return op_end(os, OP_DEL, t0, rc, key, err);
}

int objstore_list(objstore *os, const char *prefix, const char *start_after, size_t max_keys,
                  objstore_list_page *out, tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    TARN_ASSERT(out != NULL);
    memset(out, 0, sizeof(*out));
    int64_t t0 = op_start();
    prefix = prefix ? prefix : "";
    start_after = start_after ? start_after : "";
    if (max_keys == 0 || max_keys > OBJSTORE_LIST_MAX)
        max_keys = OBJSTORE_LIST_MAX;
    int rc = prefix_check(prefix, err);
    if (rc == 0 && strnlen(start_after, OBJSTORE_KEY_MAX + 1) > OBJSTORE_KEY_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "start_after longer than %d bytes", OBJSTORE_KEY_MAX);
    if (rc == 0)
        rc = os->ops->list(os->be, prefix, start_after, max_keys, out, err);
    if (rc != 0)
        objstore_list_page_free(out);
    /* A list that found nothing is still "ok": an empty prefix is not an
     * error in S3 either. */
    return op_end(os, OP_LIST, t0, rc, prefix, err);
}

void objstore_list_page_free(objstore_list_page *page)
{
    if (page == NULL)
        return;
    for (size_t i = 0; i < page->count; i++)
        tarn_free(page->entries[i].key);
    tarn_free(page->entries);
    tarn_free(page->next_start_after);
    memset(page, 0, sizeof(*page));
}

int objstore_temp_sweep(objstore *os, int64_t older_than_s, size_t *removed_out, tarn_err *err)
{
    TARN_ASSERT(os != NULL);
    size_t removed = 0;
    int rc = 0;
    if (older_than_s < 0)
        rc = tarn_err_set(err, TARN_EINVAL, "negative age %lld s", (long long)older_than_s);
    if (rc == 0)
        rc = os->ops->temp_sweep(os->be, older_than_s, &removed, err);
    if (removed_out != NULL)
        *removed_out = removed;
    if (rc != 0)
        return tarn_err_wrap(err, rc, "sweep temp files in %s", os->url);
    return 0;
}
