/*
 * cli/cmd_table.c: `tarn table`, Tarn's own tables in a data directory
 * (the embedded metadata service in DATA/wal + DATA/state decides every
 * commit; the files live under DATA/objects/tables/<name>/; one process
 * at a time: the WAL's lock says so):
 *
 *   tarn table create NAME --columns id:long!,name:string,d:date [--partition-by d]
 *   tarn table insert NAME FILE... [--input csv|json|parquet]
 *   tarn table scan NAME [--version N | --timestamp MS] [--columns a,b] [--limit N]
 *                        [--format table|csv|json]
 *   tarn table history NAME [--format table|json]
 *   tarn table optimize NAME [--target-bytes N] [--min-file-bytes N]
 *   tarn table vacuum NAME [--retain-hours H] [--force] [--dry-run]
 *   every one: [--data DIR] [--checkpoint-interval N]
 *              [--server URL[,URL...] | --cluster FILE] [--store DIR]
 *              [--key KEY | --key-file FILE]
 *
 * With --server or --cluster the commands run against a running `tarn
 * local` or `tarn cluster` instead of opening the data directory: every
 * commit goes through the catalog's HTTP API (the client library's delta
 * committer, src/client/committer.h), so any number of processes write
 * one table at once; the data files go to the object store named by
 * --store DIR, else the one the server reports (GET /v1/catalog: `tarn
 * local` names DATA/objects), else, with --cluster, the directory
 * `objects` next to the cluster file. The API key: --key, --key-file,
 * $TARN_API_KEY, the cluster file's admin key, else DATA/admin.key.
 *
 * Column types: string, long (bigint), integer (int), short, byte, float,
 * double, boolean, binary, date, timestamp, decimal(p,s); a trailing '!'
 * means NOT NULL. insert reads CSV (a header row naming columns; an empty
 * unquoted field is NULL), JSON lines (one object per line) or Parquet
 * (columns by name); every FILE of one insert is one commit. Values are
 * parsed as the column's type (README of delta/, "Reading rows").
 * TARN_TEST_CRASH_POINT=1|2 in the environment makes insert exit like a
 * killed process at a crash point (tests/e2e/test_tarn_table.sh).
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "client/committer.h"
#include "delta/delta.h"
#include "kv/kv.h"
#include "node/node.h"
#include "objstore/objstore.h"
#include "parquet/parquet.h"
#include "sql/session.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TABLE_LEADER_WAIT_MS 10000
#define INSERT_BATCH_ROWS    4096
/* Largest input file one insert reads (it is held in memory). */
#define INSERT_FILE_BYTES_MAX ((size_t)1 << 30)
#define TABLE_COLS_MAX        1024

typedef struct table_args {
    const char *cmd, *name, *data, *columns, *parts, *input;
    const char *server, *cluster, *store, *key, *key_file; /* remote mode */
    const char *files[64];
    int nfiles;
    int64_t version, timestamp_ms, target_bytes, min_file_bytes, retain_hours, interval;
    uint64_t limit;
    int fmt;
    bool force, dry_run;
} table_args;

typedef struct table_env {
    node *node;          /* the data directory's own metadata service, or NULL */
    tarn_client *client; /* --server / --cluster, or NULL */
    objstore *os;
    delta_committer c;
} table_env;

static void table_usage(FILE *out)
{
    fputs("usage: tarn table create NAME --columns id:long!,name:string,d:date [--partition-by "
          "d]\n"
          "       tarn table insert NAME FILE... [--input csv|json|parquet]\n"
          "       tarn table scan NAME [--version N | --timestamp MS] [--columns a,b] [--limit N]\n"
          "                            [--format table|csv|json]\n"
          "       tarn table history NAME [--format table|json]\n"
          "       tarn table optimize NAME [--target-bytes N] [--min-file-bytes N]\n"
          "       tarn table vacuum NAME [--retain-hours H] [--force] [--dry-run]\n"
          "options of every command: --data DIR (default ./tarn-data), --checkpoint-interval N\n"
          "  against a running server: --server URL[,URL...] | --cluster FILE, --store DIR,\n"
          "  --key KEY | --key-file FILE (default $TARN_API_KEY, the cluster's or DATA/admin.key)\n"
          "types: string long integer short byte float double boolean binary date timestamp\n"
          "       decimal(p,s); a trailing ! means NOT NULL\n",
          out);
}

static int parse_num(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* One option; *used tells whether it took the next argument. */
static int table_opt(table_args *a, const char *o, const char *v, bool *used)
{
    int64_t n = 0;
    *used = true;
    if (strcmp(o, "--force") == 0 || strcmp(o, "--dry-run") == 0) {
        *used = false;
        *(o[2] == 'f' ? &a->force : &a->dry_run) = true;
        return 0;
    }
    if (v == NULL)
        return -1;
    if (strcmp(o, "--data") == 0)
        a->data = v;
    else if (strcmp(o, "--server") == 0)
        a->server = v;
    else if (strcmp(o, "--cluster") == 0)
        a->cluster = v;
    else if (strcmp(o, "--store") == 0)
        a->store = v;
    else if (strcmp(o, "--key") == 0)
        a->key = v;
    else if (strcmp(o, "--key-file") == 0)
        a->key_file = v;
    else if (strcmp(o, "--columns") == 0)
        a->columns = v;
    else if (strcmp(o, "--partition-by") == 0)
        a->parts = v;
    else if (strcmp(o, "--input") == 0)
        a->input = v;
    else if (strcmp(o, "--format") == 0)
        return (a->fmt = cli_rows_format(v)) < 0 ? -1 : 0;
    else if (parse_num(v, &n) != 0)
        return -1;
    else if (strcmp(o, "--version") == 0)
        a->version = n;
    else if (strcmp(o, "--timestamp") == 0)
        a->timestamp_ms = n;
    else if (strcmp(o, "--limit") == 0)
        a->limit = (uint64_t)n;
    else if (strcmp(o, "--target-bytes") == 0)
        a->target_bytes = n;
    else if (strcmp(o, "--min-file-bytes") == 0)
        a->min_file_bytes = n;
    else if (strcmp(o, "--retain-hours") == 0)
        a->retain_hours = n;
    else if (strcmp(o, "--checkpoint-interval") == 0)
        a->interval = n;
    else
        return -1;
    return 0;
}

static int table_parse(int argc, char **argv, table_args *a)
{
    *a = (table_args){.data = "./tarn-data",
                      .version = -1,
                      .timestamp_ms = -1,
                      .retain_hours = -1,
                      .limit = UINT64_MAX};
    if (argc < 2)
        return 2;
    a->cmd = argv[0];
    a->name = argv[1];
    for (int i = 2; i < argc; i++) {
        bool used;
        if (strncmp(argv[i], "--", 2) != 0) {
            if (a->nfiles >= 64)
                return fprintf(stderr, "tarn table: at most 64 files\n"), 2;
            a->files[a->nfiles++] = argv[i];
            continue;
        }
        if (table_opt(a, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used) != 0)
            return fprintf(stderr, "tarn table: bad or incomplete option %s\n", argv[i]), 2;
        i += used;
    }
    return 0;
}

/* The client of --server / --cluster, with its API key. */
static int remote_client(const table_args *a, tarn_client **out, tarn_err *err)
{
    char urlbuf[4096], key_path[TARN_CONFIG_PATH_MAX + 16];
    const char *urls[TARN_CLIENT_ENDPOINTS_MAX];
    tarn_client_opts o = {.cluster_file = a->cluster};
    if (a->server != NULL) {
        snprintf(urlbuf, sizeof(urlbuf), "%s", a->server);
        for (char *save = NULL, *tok = strtok_r(urlbuf, ",", &save);
             tok && o.n_endpoints < TARN_CLIENT_ENDPOINTS_MAX; tok = strtok_r(NULL, ",", &save))
            urls[o.n_endpoints++] = tok;
        o.endpoints = urls;
    }
    o.api_key = a->key ? a->key : (a->key_file ? NULL : getenv("TARN_API_KEY"));
    o.api_key_file = a->key ? NULL : a->key_file;
    /* --server without a key: tarn local's admin key, when it is there. */
    snprintf(key_path, sizeof(key_path), "%s/admin.key", a->data);
    if (a->cluster == NULL && o.api_key == NULL && o.api_key_file == NULL &&
        access(key_path, R_OK) == 0)
        o.api_key_file = key_path;
    return tarn_client_open(&o, out, err);
}

/* Where the data files go: --store, the server's store, or next to the
 * cluster file. */
static int remote_store(const table_args *a, tarn_client *c, objstore **os, tarn_err *err)
{
    char dir[TARN_CONFIG_PATH_MAX + 16];
    if (a->store != NULL)
        return objstore_open(a->store, os, err);
    tarn_err e2 = TARN_ERR_INIT;
    int rc = tarn_catalog_store(c, NULL, dir, sizeof(dir), &e2);
    if (rc == 0)
        return objstore_open(dir, os, err);
    if (rc != TARN_ENOENT || a->cluster == NULL)
        return tarn_err_set(err, rc, "no object store: give --store DIR (%s)", tarn_err_msg(&e2));
    const char *slash = strrchr(a->cluster, '/');
    snprintf(dir, sizeof(dir), "%.*s/objects", slash ? (int)(slash - a->cluster) : 1,
             slash ? a->cluster : ".");
    rc = cli_mkdir_p(dir, err);
    return rc != 0 ? rc : objstore_open(dir, os, err);
}

static int env_open_remote(const table_args *a, table_env *env, tarn_err *err)
{
    int rc = remote_client(a, &env->client, err);
    if (rc == 0)
        rc = remote_store(a, env->client, &env->os, err);
    if (rc == 0 && (rc = client_committer_open(env->client, NULL, &env->c)) != 0)
        tarn_err_set(err, rc, "committer");
    if (rc == 0)
        env->c.checkpoint_interval = (int32_t)a->interval;
    /* As below: finish log writes a writer that died left undone. */
    if (rc == 0)
        rc = delta_finish_pending_logs(&env->c, env->os, NULL, err);
    return rc;
}

static int env_open(const table_args *a, table_env *env, tarn_err *err)
{
    if (a->server != NULL || a->cluster != NULL)
        return env_open_remote(a, env, err);
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    int rc = cli_mkdir_p(a->data, err);
    if (rc == 0 && (rc = kv_register(&reg)) == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return rc;
    node_opts no = {.data_dir = a->data, .durability = STORE_DURABLE_DATA};
    rc = node_open(&no, &reg, &env->node, err);
    if (rc == 0)
        rc = node_wait_leader(env->node, TABLE_LEADER_WAIT_MS, err);
    char url[TARN_CONFIG_PATH_MAX + 16];
    snprintf(url, sizeof(url), "%s/objects", a->data);
    if (rc == 0)
        rc = objstore_open(url, &env->os, err);
    if (rc == 0)
        rc = delta_committer_node(env->node, 0, &env->c);
    if (rc == 0)
        env->c.checkpoint_interval = (int32_t)a->interval;
    /* A writer that died between commit and log write left work: finish
     * it, so the log matches the metadata service before anything else. */
    if (rc == 0)
        rc = delta_finish_pending_logs(&env->c, env->os, NULL, err);
    return rc;
}

static void env_close(table_env *env)
{
    delta_committer_close(&env->c);
    objstore_close(env->os);
    node_close(env->node);
    tarn_client_close(env->client);
}

/* ---- create ------------------------------------------------------------------ */

static const char *type_name(const char *t)
{
    static const char *const alias[][2] = {
        {"bigint", "long"},  {"int", "integer"},    {"smallint", "short"}, {"tinyint", "byte"},
        {"bool", "boolean"}, {"varchar", "string"}, {"text", "string"}};
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strcasecmp(t, alias[i][0]) == 0)
            return alias[i][1];
    return t;
}

/* --columns "a:long!,b:decimal(10,2)" as a Delta schema string. */
static int columns_schema(const char *spec, tarn_buf *out, tarn_err *err)
{
    char *copy = tarn_strdup(spec);
    int rc = copy ? tarn_buf_append_str(out, "{\"type\":\"struct\",\"fields\":[") : TARN_ENOMEM;
    int n = 0;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, ",", &save) : NULL; rc == 0 && tok;
         tok = strtok_r(NULL, ",", &save), n++) {
        /* decimal(p,s) holds a comma: glue the scale back on. */
        if (strchr(tok, '(') && !strchr(tok, ')')) {
            char *more = strtok_r(NULL, ",", &save);
            if (more != NULL)
                more[-1] = ',';
        }
        char *colon = strchr(tok, ':');
        if (colon == NULL || colon == tok || colon[1] == '\0') {
            rc = tarn_err_set(err, TARN_EINVAL, "column \"%s\": want name:type", tok);
            break;
        }
        *colon = '\0';
        char *type = colon + 1;
        size_t tl = strlen(type);
        bool not_null = type[tl - 1] == '!';
        if (not_null)
            type[tl - 1] = '\0';
        rc = tarn_buf_append_str(out, n ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, tok, strlen(tok));
        if (rc == 0)
            rc = tarn_buf_append_str(out, ",\"type\":");
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, type_name(type), strlen(type_name(type)));
        if (rc == 0)
            rc = tarn_buf_printf(out, ",\"nullable\":%s,\"metadata\":{}}",
                                 not_null ? "false" : "true");
    }
    if (rc == 0)
        rc = tarn_buf_append_str(out, "]}");
    tarn_free(copy);
    return rc;
}

static int cmd_create(const table_args *a, table_env *env, tarn_err *err)
{
    if (a->columns == NULL)
        return tarn_err_set(err, TARN_EINVAL, "create needs --columns name:type,...");
    tarn_buf js;
    tarn_buf_init(&js, 1 << 20);
    delta_schema sch = {0};
    delta_column cols[TABLE_COLS_MAX];
    const char *parts[32];
    size_t nparts = 0;
    char *pcopy = a->parts ? tarn_strdup(a->parts) : NULL;
    for (char *save = NULL, *tok = pcopy ? strtok_r(pcopy, ",", &save) : NULL; tok && nparts < 32;
         tok = strtok_r(NULL, ",", &save))
        parts[nparts++] = tok;
    int rc = columns_schema(a->columns, &js, err);
    if (rc == 0)
        rc = delta_schema_parse((const char *)js.data, js.len, &sch, err);
    if (rc == 0 && sch.ntop > TABLE_COLS_MAX)
        rc = tarn_err_set(err, TARN_ETOOBIG, "%u columns", sch.ntop);
    for (uint32_t i = 0; rc == 0 && i < sch.ntop; i++) {
        const delta_field *f = &sch.fields[sch.top[i]];
        cols[i] = (delta_column){f->name, {0}, f->nullable};
        if ((rc = delta_kind_vec_type(f, &cols[i].type)) != 0)
            tarn_err_set(err, rc, "column %s: type %s", f->name, delta_kind_name(f->kind));
    }
    if (rc == 0)
        rc = delta_create_table(&env->c, env->os, a->name, cols, sch.ntop, parts, nparts, err);
    if (rc == 0)
        printf("created table %s (version 0)\n", a->name);
    delta_schema_free(&sch);
    tarn_buf_free(&js);
    tarn_free(pcopy);
    return rc;
}

/* ---- insert: rows from CSV, JSON lines or Parquet -------------------------------- */

typedef struct loader {
    const delta_snapshot *s;
    const delta_field **fields; /* per table column */
    vec_type_info *types;
    uint32_t ncols;
    vec_batch *batches;
    size_t nbatches, cap;
    int64_t rows;
    tarn_err *err;
} loader;

/* The batch the next row goes to (a new one when the last is full). */
static int loader_batch(loader *l, vec_batch **out)
{
    vec_batch *b = l->nbatches ? &l->batches[l->nbatches - 1] : NULL;
    if (b == NULL || b->len >= b->cap) {
        if (l->nbatches == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            vec_batch *nb = tarn_realloc(l->batches, cap * sizeof(vec_batch));
            if (nb == NULL)
                return tarn_err_set(l->err, TARN_ENOMEM, "insert");
            l->batches = nb;
            l->cap = cap;
        }
        b = &l->batches[l->nbatches];
        if (vec_batch_init(b, l->types, l->ncols, INSERT_BATCH_ROWS) != 0)
            return tarn_err_set(l->err, TARN_ENOMEM, "insert");
        l->nbatches++;
    }
    *out = b;
    return 0;
}

/* One row: vals[c] is column c's text (NULL: null). */
static int loader_row(loader *l, char **vals, const char *where)
{
    vec_batch *b = NULL;
    int rc = loader_batch(l, &b);
    for (uint32_t c = 0; rc == 0 && c < l->ncols; c++) {
        if (vals[c] == NULL && !l->fields[c]->nullable)
            rc = tarn_err_set(l->err, TARN_EINVAL, "column %s is NOT NULL", l->fields[c]->name);
        else
            rc = delta_text_append(&b->cols[c], l->fields[c], vals[c], l->err);
    }
    if (rc != 0)
        return tarn_err_wrap(l->err, rc, "%s", where);
    b->len++;
    l->rows++;
    return 0;
}

static int column_of(const loader *l, const char *name, size_t len)
{
    for (uint32_t c = 0; c < l->ncols; c++)
        if (strlen(l->fields[c]->name) == len && strncasecmp(l->fields[c]->name, name, len) == 0)
            return (int)c;
    return -1;
}

/* One CSV field from *p (RFC 4180 quoting); *quoted says it was quoted. */
static int csv_field(const char **p, const char *end, tarn_buf *out, bool *quoted)
{
    const char *s = *p;
    tarn_buf_reset(out);
    *quoted = s < end && *s == '"';
    if (*quoted) {
        for (s++;; s++) {
            if (s >= end)
                return TARN_EINVAL; /* an unterminated quote */
            if (*s == '"' && s + 1 < end && s[1] == '"')
                s++;
            else if (*s == '"')
                break;
            if (tarn_buf_append_byte(out, (uint8_t)*s) != 0)
                return TARN_ENOMEM;
        }
        s++;
    } else {
        const char *e = s;
        while (e < end && *e != ',' && *e != '\n' && *e != '\r')
            e++;
        if (tarn_buf_append(out, s, (size_t)(e - s)) != 0)
            return TARN_ENOMEM;
        s = e;
    }
    *p = s;
    return tarn_buf_append_byte(out, '\0') == 0 ? 0 : TARN_ENOMEM;
}

/* One CSV record into fields (owned strings; NULL for empty unquoted). */
static int csv_record(const char **p, const char *end, char ***fields, size_t *n)
{
    tarn_buf f;
    tarn_buf_init(&f, INSERT_FILE_BYTES_MAX);
    size_t cap = 16;
    *n = 0;
    *fields = tarn_calloc(cap, sizeof(char *));
    int rc = *fields ? 0 : TARN_ENOMEM;
    for (bool more = true; rc == 0 && more;) {
        bool quoted;
        rc = csv_field(p, end, &f, &quoted);
        if (rc == 0 && *n + 1 >= cap) {
            char **g = tarn_realloc(*fields, cap * 2 * sizeof(char *));
            rc = g ? 0 : TARN_ENOMEM;
            if (g) {
                *fields = g;
                cap *= 2;
            }
        }
        if (rc == 0)
            (*fields)[(*n)++] = f.len > 1 || quoted ? tarn_strdup((const char *)f.data) : NULL;
        more = rc == 0 && *p < end && **p == ',';
        if (more)
            (*p)++;
        else if (rc == 0 && *p < end && **p != '\n' && **p != '\r')
            rc = TARN_EINVAL; /* text after a closing quote */
    }
    while (*p < end && (**p == '\r' || **p == '\n'))
        (*p)++;
    tarn_buf_free(&f);
    return rc;
}

static void strs_free(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        tarn_free(s[i]);
    tarn_free(s);
}

static int load_csv(loader *l, const char *data, size_t len, const char *file)
{
    const char *p = data, *end = data + len;
    char **hdr = NULL, **rec = NULL, *vals[TABLE_COLS_MAX];
    size_t nh = 0, nr = 0;
    int map[TABLE_COLS_MAX];
    int rc = csv_record(&p, end, &hdr, &nh);
    for (size_t i = 0; rc == 0 && i < nh; i++) {
        map[i] = hdr[i] ? column_of(l, hdr[i], strlen(hdr[i])) : -1;
        if (map[i] < 0)
            rc = tarn_err_set(l->err, TARN_EINVAL, "%s: header column \"%s\" is not in the table",
                              file, hdr[i] ? hdr[i] : "");
    }
    if (rc == 0 && nh > TABLE_COLS_MAX)
        rc = tarn_err_set(l->err, TARN_ETOOBIG, "%s: %zu columns", file, nh);
    for (size_t line = 2; rc == 0 && p < end; line++) {
        rc = csv_record(&p, end, &rec, &nr);
        if (rc == 0 && nr != nh)
            rc = tarn_err_set(l->err, TARN_EINVAL, "%s: line %zu has %zu fields, the header %zu",
                              file, line, nr, nh);
        else if (rc != 0)
            rc = tarn_err_set(l->err, rc, "%s: line %zu: malformed CSV", file, line);
        memset(vals, 0, sizeof(vals));
        for (size_t i = 0; rc == 0 && i < nr; i++)
            vals[map[i]] = rec[i];
        char where[64];
        snprintf(where, sizeof(where), "line %zu", line);
        if (rc == 0)
            rc = loader_row(l, vals, where);
        strs_free(rec, nr);
        rec = NULL;
    }
    strs_free(hdr, nh);
    return rc;
}

/* A JSON value as the text delta_text_append parses (NULL for null). */
static int json_text(json_t *v, char *buf, size_t cap, const char **out)
{
    *out = buf;
    if (json_is_null(v))
        *out = NULL;
    else if (json_is_string(v))
        *out = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return TARN_ENOTSUP;
    return 0;
}

static int load_json(loader *l, const char *data, size_t len, const char *file)
{
    int rc = 0;
    size_t line = 0;
    char bufs[TABLE_COLS_MAX][64];
    for (const char *p = data, *end = data + len; rc == 0 && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        const char *start = p;
        p += n + 1;
        if (n == 0 || (n == 1 && start[0] == '\r'))
            continue;
        json_error_t je;
        json_t *o = json_loadb(start, n, 0, &je);
        if (o == NULL || !json_is_object(o)) {
            json_decref(o);
            return tarn_err_set(l->err, TARN_EINVAL, "%s: line %zu: %s", file, line,
                                o ? "not an object" : je.text);
        }
        char *vals[TABLE_COLS_MAX];
        memset(vals, 0, sizeof(vals));
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            int c = column_of(l, key, strlen(key));
            const char *t = NULL;
            if (c < 0)
                rc = tarn_err_set(l->err, TARN_EINVAL, "%s: line %zu: no column \"%s\"", file, line,
                                  key);
            else if (json_text(v, bufs[c], sizeof(bufs[c]), &t) != 0)
                rc = tarn_err_set(l->err, TARN_EINVAL, "%s: line %zu: %s: nested values", file,
                                  line, key);
            if (rc != 0)
                break;
            vals[c] = (char *)t;
        }
        char where[64];
        snprintf(where, sizeof(where), "line %zu", line);
        if (rc == 0)
            rc = loader_row(l, vals, where);
        json_decref(o);
    }
    return rc;
}

/* Parquet: columns matched by name, each value through its text (so any
 * type that prints as the table's type reads: int32 into long, ...). */
static int load_parquet(loader *l, const char *data, size_t len, const char *file)
{
    pq_file *f = NULL;
    pq_scan *sc = NULL;
    vec_batch b;
    memset(&b, 0, sizeof(b));
    int map[TABLE_COLS_MAX];
    tarn_buf txt;
    tarn_buf_init(&txt, TARN_BUF_UNBOUNDED);
    int rc = pq_file_open_bytes(data, len, file, &f, l->err);
    uint32_t n = rc == 0 ? pq_file_ncols(f) : 0;
    for (uint32_t i = 0; rc == 0 && i < n && i < TABLE_COLS_MAX; i++) {
        const char *nm = pq_file_column(f, i)->name;
        if ((map[i] = column_of(l, nm, strlen(nm))) < 0)
            rc = tarn_err_set(l->err, TARN_EINVAL, "%s: column \"%s\" is not in the table", file,
                              nm);
    }
    if (rc == 0)
        rc = pq_scan_open(f, NULL, &sc, l->err);
    if (rc == 0)
        rc = pq_scan_batch_init(sc, &b);
    while (rc == 0 && (rc = pq_scan_next(sc, &b, l->err)) == 0 && b.len > 0) {
        for (uint32_t r = 0; rc == 0 && r < b.len; r++) {
            char *vals[TABLE_COLS_MAX];
            size_t offs[TABLE_COLS_MAX];
            memset(vals, 0, sizeof(vals));
            tarn_buf_reset(&txt);
            for (uint32_t c = 0; rc == 0 && c < n; c++) {
                bool quote;
                offs[c] = SIZE_MAX;
                if (!vec_col_is_valid(&b.cols[c], r))
                    continue;
                offs[c] = txt.len;
                rc = sql_value_text(&txt, &b.cols[c], r, &quote);
                if (rc == 0)
                    rc = tarn_buf_append_byte(&txt, '\0');
            }
            for (uint32_t c = 0; rc == 0 && c < n; c++)
                if (offs[c] != SIZE_MAX)
                    vals[map[c]] = (char *)txt.data + offs[c];
            if (rc == 0)
                rc = loader_row(l, vals, file);
        }
    }
    vec_batch_free(&b);
    pq_scan_close(sc);
    pq_file_close(f);
    tarn_buf_free(&txt);
    return rc;
}

static int read_file(const char *path, tarn_buf *out, tarn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tarn_err_set(err, TARN_ENOENT, "cannot open %s", path);
    char chunk[1 << 16];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = tarn_buf_append(out, chunk, n);
    if (rc == 0 && ferror(f))
        rc = TARN_EIO;
    fclose(f);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "reading %s", path);
}

static const char *input_kind(const table_args *a, const char *file)
{
    if (a->input != NULL)
        return a->input;
    const char *dot = strrchr(file, '.');
    if (dot && strcasecmp(dot, ".csv") == 0)
        return "csv";
    if (dot && strcasecmp(dot, ".parquet") == 0)
        return "parquet";
    return "json"; /* .json, .jsonl, .ndjson, anything else */
}

static int load_file(loader *l, const table_args *a, const char *file)
{
    tarn_buf data;
    tarn_buf_init(&data, INSERT_FILE_BYTES_MAX);
    int rc = read_file(file, &data, l->err);
    const char *kind = input_kind(a, file);
    if (rc == 0 && strcmp(kind, "csv") == 0)
        rc = load_csv(l, (const char *)data.data, data.len, file);
    else if (rc == 0 && strcmp(kind, "parquet") == 0)
        rc = load_parquet(l, (const char *)data.data, data.len, file);
    else if (rc == 0 && strcmp(kind, "json") == 0)
        rc = load_json(l, (const char *)data.data, data.len, file);
    else if (rc == 0)
        rc = tarn_err_set(l->err, TARN_EINVAL, "--input is csv, json or parquet");
    tarn_buf_free(&data);
    return rc;
}

static int cmd_insert(const table_args *a, table_env *env, tarn_err *err)
{
    if (a->nfiles == 0)
        return tarn_err_set(err, TARN_EINVAL, "insert needs a FILE (CSV, JSON lines or Parquet)");
    delta_snapshot *s = NULL;
    int rc = delta_managed_snapshot_latest(&env->c, env->os, a->name, &s, err);
    loader l = {.s = s, .err = err};
    if (rc == 0) {
        l.ncols = s->metadata.schema.ntop;
        l.fields = tarn_calloc(l.ncols + 1, sizeof(*l.fields));
        l.types = tarn_calloc(l.ncols + 1, sizeof(*l.types));
        if (l.fields == NULL || l.types == NULL || l.ncols > TABLE_COLS_MAX)
            rc = tarn_err_set(err, TARN_ENOMEM, "insert");
    }
    for (uint32_t c = 0; rc == 0 && c < l.ncols; c++) {
        l.fields[c] = &s->metadata.schema.fields[s->metadata.schema.top[c]];
        if ((rc = delta_kind_vec_type(l.fields[c], &l.types[c])) != 0)
            tarn_err_set(err, rc, "column %s cannot be written", l.fields[c]->name);
    }
    for (int i = 0; rc == 0 && i < a->nfiles; i++)
        rc = load_file(&l, a, a->files[i]);
    int64_t v = -1;
    /* Rebases over appends that landed meanwhile: an insert reads nothing.
     * TARN_TEST_CRASH_POINT (tests only) stops the process as kill -9
     * would: 1 after the upload, 2 after the commit, before the log write. */
    const char *crash = getenv("TARN_TEST_CRASH_POINT");
    delta_append_opts o = {.rebase_max = 16, .crash_point = crash ? atoi(crash) : 0};
    if (rc == 0)
        rc = delta_append(&env->c, env->os, a->name, s, l.batches, l.nbatches, &o, &v, err);
    if (rc == TARN_EIO && o.crash_point != 0)
        _exit(137);
    if (rc == 0)
        printf("inserted %lld row%s into %s (version %lld)\n", (long long)l.rows,
               l.rows == 1 ? "" : "s", a->name, (long long)v);
    for (size_t i = 0; i < l.nbatches; i++)
        vec_batch_free(&l.batches[i]);
    tarn_free(l.batches);
    tarn_free(l.fields);
    tarn_free(l.types);
    delta_snapshot_free(s);
    return rc;
}

/* ---- scan, history, optimize, vacuum ------------------------------------------ */

static int cmd_scan(const table_args *a, table_env *env, tarn_err *err)
{
    delta_snapshot *s = NULL;
    delta_table *t = NULL;
    int rc = a->version >= 0
                 ? delta_managed_snapshot_at_version(&env->c, env->os, a->name, a->version, &s, err)
             : a->timestamp_ms >= 0
                 ? delta_managed_snapshot_at_timestamp(&env->c, env->os, a->name, a->timestamp_ms,
                                                       &s, err)
                 : delta_managed_snapshot_latest(&env->c, env->os, a->name, &s, err);
    if (rc == 0)
        rc = delta_table_open_managed(env->os, a->name, &t, err);
    if (rc == 0)
        rc = cli_rows_scan(t, s, a->columns, a->limit, a->fmt, stdout, err);
    delta_table_close(t);
    delta_snapshot_free(s);
    return rc;
}

static int cmd_history(const table_args *a, table_env *env, tarn_err *err)
{
    delta_history h;
    int rc = delta_history_managed(&env->c, env->os, a->name, &h, err);
    if (rc == 0)
        cli_history_print(&h, a->fmt == CLI_FMT_JSON, stdout);
    delta_history_free(&h);
    return rc;
}

static int cmd_optimize(const table_args *a, table_env *env, tarn_err *err)
{
    delta_optimize_opts o = {.target_bytes = a->target_bytes, .min_file_bytes = a->min_file_bytes};
    delta_optimize_result r;
    int rc = delta_optimize(&env->c, env->os, a->name, &o, &r, err);
    if (rc == 0 && r.files_removed == 0)
        printf("nothing to compact in %s (version %lld)\n", a->name, (long long)r.version);
    else if (rc == 0)
        printf("compacted %zu files (%lld bytes) into %zu (%lld bytes), %lld rows: version %lld\n",
               r.files_removed, (long long)r.bytes_removed, r.files_added, (long long)r.bytes_added,
               (long long)r.rows, (long long)r.version);
    return rc;
}

static void print_vacuumed(void *ctx, const char *path, uint64_t size)
{
    printf("%s%s (%llu bytes)\n", *(bool *)ctx ? "would remove " : "removed ", path,
           (unsigned long long)size);
}

static int cmd_vacuum(const table_args *a, table_env *env, tarn_err *err)
{
    bool dry = a->dry_run;
    delta_vacuum_opts o = {.retention_ms = a->retain_hours >= 0 ? a->retain_hours * 3600000 : -1,
                           .min_retention_ms = -1,
                           .force = a->force,
                           .dry_run = a->dry_run,
                           .on_file = print_vacuumed,
                           .ctx = &dry};
    delta_vacuum_result r;
    int rc = delta_vacuum(&env->c, env->os, a->name, &o, &r, err);
    if (rc == 0)
        printf("%s %zu files (%lld bytes); kept %zu\n", dry ? "would remove" : "removed",
               r.files_deleted, (long long)r.bytes_deleted, r.files_kept);
    return rc;
}

int cli_table_main(int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        table_usage(stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(const table_args *, table_env *, tarn_err *);
    } cmds[] = {{"create", cmd_create},   {"insert", cmd_insert},     {"scan", cmd_scan},
                {"history", cmd_history}, {"optimize", cmd_optimize}, {"vacuum", cmd_vacuum}};
    table_args a;
    int rc = table_parse(argc, argv, &a);
    size_t k = 0;
    while (rc == 0 && k < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[k].name, a.cmd) != 0)
        k++;
    if (rc != 0 || k == sizeof(cmds) / sizeof(cmds[0])) {
        table_usage(stderr);
        return 2;
    }
    tarn_log_set_level(TARN_LOG_WARN);
    tarn_err err = TARN_ERR_INIT;
    table_env env = {0};
    rc = env_open(&a, &env, &err);
    if (rc == 0)
        rc = cmds[k].run(&a, &env, &err);
    if (rc != 0)
        fprintf(stderr, "tarn table %s %s: %s\n", a.cmd, a.name, tarn_err_msg(&err));
    env_close(&env);
    return rc == 0 ? 0 : 1;
}
