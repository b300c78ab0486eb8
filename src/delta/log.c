/*
 * delta/log.c: the `_delta_log/` directory of a table: listing it through
 * the object store (paginated), naming its files (PROTOCOL.md "Delta Log
 * Entries", "Checkpoints", "Last Checkpoint File"), and the table handle.
 * Design note: delta/README.md, "Log layout".
 */
#include "delta/log_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

struct delta_table {
    objstore *os; /* borrowed */
    char *root;   /* "" or "a/b/" */
};

objstore *delta_table_store(const delta_table *t)
{
    return t->os;
}

const char *delta_table_root(const delta_table *t)
{
    return t->root;
}

/* Parses exactly 20 decimal digits. */
static bool parse_version(const char *s, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Adds the checkpoint part `part` of `parts` at `version`. */
static int add_checkpoint(delta_listing *l, int64_t version, uint32_t part, uint32_t parts)
{
    (void)part; /* checked by the caller: 1..parts */
    for (size_t i = 0; i < l->ncheckpoints; i++) {
        delta_cp *c = &l->checkpoints[i];
        /* Keys are listed once each, so counting parts is enough. */
        if (c->version == version && c->parts == parts) {
            c->nseen++;
            return 0;
        }
    }
    if (delta_grow(&l->checkpoints, &l->cp_cap, l->ncheckpoints, sizeof(delta_cp)) != 0)
        return TARN_ENOMEM;
    l->checkpoints[l->ncheckpoints++] = (delta_cp){version, parts, 1};
    return 0;
}

/* Classifies one file name of the log directory. Names we do not read
 * (.crc, compacted logs, v2 checkpoints, _last_checkpoint) are skipped. */
static int classify(delta_listing *l, const char *name)
{
    int64_t v;
    if (strchr(name, '/') != NULL || strlen(name) < 21 || !parse_version(name, &v) ||
        name[20] != '.')
        return 0;
    const char *rest = name + 21;
    if (strcmp(rest, "json") == 0) {
        if (delta_grow(&l->versions, &l->v_cap, l->nversions, sizeof(int64_t)) != 0)
            return TARN_ENOMEM;
        l->versions[l->nversions++] = v;
        return 0;
    }
    if (strcmp(rest, "checkpoint.parquet") == 0)
        return add_checkpoint(l, v, 1, 1);
    unsigned part, parts;
    char tail[16];
    if (sscanf(rest, "checkpoint.%10u.%10u.%15s", &part, &parts, tail) == 3 &&
        strcmp(tail, "parquet") == 0 && strlen(rest) == 40 && part >= 1 && part <= parts &&
        parts <= DELTA_CHECKPOINT_PARTS_MAX)
        return add_checkpoint(l, v, part, parts);
    return 0;
}

int delta_log_list(delta_table *t, const char *start_after_name, delta_listing *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    char prefix[OBJSTORE_KEY_MAX + 1], after[OBJSTORE_KEY_MAX + 64];
    snprintf(prefix, sizeof(prefix), "%s_delta_log/", t->root);
    if (start_after_name != NULL)
        snprintf(after, sizeof(after), "%s%s", prefix, start_after_name);
    const char *sa = start_after_name ? after : NULL;
    char *next = NULL;
    int rc = 0;
    for (;;) {
        objstore_list_page page;
        rc = objstore_list(t->os, prefix, sa, 0, &page, err);
        for (size_t i = 0; rc == 0 && i < page.count; i++) {
            rc = classify(out, page.entries[i].key + strlen(prefix));
            if (rc == 0 && out->nversions > (size_t)DELTA_VERSIONS_MAX)
                rc = tarn_err_set(err, TARN_ETOOBIG, "log of more than %lld versions",
                                  (long long)DELTA_VERSIONS_MAX);
            else if (rc == TARN_ENOMEM)
                tarn_err_set(err, rc, "listing %s", prefix);
        }
        bool more = rc == 0 && page.truncated;
        tarn_free(next);
        next = more ? tarn_strdup(page.next_start_after) : NULL;
        objstore_list_page_free(&page);
        if (!more)
            break;
        if (next == NULL) {
            rc = tarn_err_set(err, TARN_ENOMEM, "listing %s", prefix);
            break;
        }
        sa = next;
    }
    tarn_free(next);
    if (rc != 0)
        delta_listing_free(out);
    return rc;
}

void delta_listing_free(delta_listing *l)
{
    tarn_free(l->versions);
    tarn_free(l->checkpoints);
    memset(l, 0, sizeof(*l));
}

/* Reads `_last_checkpoint` (PROTOCOL.md "Last Checkpoint File"): its
 * version and parts (1 when absent), or -1 when absent or unreadable. It
 * is only a hint for where to start listing, so a damaged one is logged
 * and ignored, never fatal. */
int64_t delta_last_checkpoint(delta_table *t, uint32_t *parts_out)
{
    int64_t parts = 1;
    char key[OBJSTORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "%s_delta_log/_last_checkpoint", t->root);
    tarn_buf b;
    tarn_buf_init(&b, DELTA_LAST_CHECKPOINT_BYTES_MAX);
    tarn_err err = TARN_ERR_INIT;
    int64_t v = -1;
    int rc = objstore_get(t->os, key, DELTA_LAST_CHECKPOINT_BYTES_MAX, &b, &err);
    if (rc == 0) {
        delta_where w = {"_last_checkpoint", 1, "_last_checkpoint", &err};
        json_t *j = NULL;
        rc = delta_json_load(&w, (const char *)b.data, b.len, &j);
        if (rc == 0 && json_is_object(j))
            rc = delta_json_i64(&w, j, "version", true, 0, &v);
        if (rc == 0 && json_is_object(j))
            rc = delta_json_i64(&w, j, "parts", false, 1, &parts);
        if (rc == 0 && parts > DELTA_CHECKPOINT_PARTS_MAX)
            rc = delta_bad(&w, "parts", "more than DELTA_CHECKPOINT_PARTS_MAX");
        json_decref(j);
    }
    if (rc != 0 && rc != TARN_ENOENT)
        TARN_LOGF(TARN_LOG_WARN, "delta", "ignoring _last_checkpoint", TARN_F_ERR(rc),
                  TARN_F_STR("reason", tarn_err_msg(&err)));
    tarn_buf_free(&b);
    if (parts_out != NULL)
        *parts_out = rc == 0 ? (uint32_t)parts : 1;
    return rc == 0 ? v : -1;
}

int delta_table_open_root(objstore *os, const char *root_key, delta_table **out, tarn_err *err)
{
    *out = NULL;
    size_t n = strlen(root_key);
    while (n > 0 && root_key[n - 1] == '/')
        n--;
    if (n + 32 > OBJSTORE_KEY_MAX)
        return tarn_err_set(err, TARN_EINVAL, "table root of %zu bytes is too long", n);
    delta_table *t = tarn_calloc(1, sizeof(*t));
    if (t == NULL || (t->root = tarn_malloc(n + 2)) == NULL) {
        tarn_free(t);
        return tarn_err_set(err, TARN_ENOMEM, "opening table");
    }
    memcpy(t->root, root_key, n);
    memcpy(t->root + n, "/", n > 0 ? 2 : 1);
    t->root[n > 0 ? n + 1 : 0] = '\0';
    t->os = os;
    *out = t;
    return 0;
}

int delta_table_open(objstore *os, const char *root_key, delta_table **out, tarn_err *err)
{
    delta_table *t;
    int rc = delta_table_open_root(os, root_key, &t, err);
    if (rc != 0)
        return rc;
    delta_listing l;
    rc = delta_log_list(t, NULL, &l, err);
    if (rc == 0 && l.nversions == 0 && l.ncheckpoints == 0)
        rc = tarn_err_set(err, TARN_ENOENT, "no Delta log under \"%s_delta_log/\"", t->root);
    delta_listing_free(&l);
    if (rc != 0) {
        delta_table_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void delta_table_close(delta_table *t)
{
    if (t == NULL)
        return;
    tarn_free(t->root);
    tarn_free(t);
}
