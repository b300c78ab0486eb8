/*
 * sql/copy_text.c: COPY t FROM 'file' for CSV and JSON lines. The file
 * is read into batches of text columns (one per table column), which a
 * plan casts to the column types with exec's CASTs (so a bad value is
 * "could not convert string 'x' to i32" with the statement's position),
 * then appended as one commit like an INSERT.
 *
 * CSV (RFC 4180): fields separated by ',', optionally in double quotes
 * (a doubled quote is one; quoted fields may hold commas and newlines);
 * an empty unquoted field is NULL; columns by position; a first line
 * whose fields all name the table's columns is a header and skipped.
 * JSON lines: one object per line, values by column name (missing or
 * null: NULL; numbers and booleans as their JSON text; nested values are
 * an error).
 */
#include "sql/session_int.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Largest file COPY reads (it is held in memory while loading). */
#define SQL_COPY_FILE_BYTES_MAX ((size_t)1 << 30)

static int read_file(const char *path, tarn_buf *out, tarn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tarn_err_set(err, tarn_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (tarn_buf_append(out, chunk, n) != 0)
            rc = tarn_err_set(err, TARN_ETOOBIG, "%s is larger than %zu bytes", path,
                              SQL_COPY_FILE_BYTES_MAX);
    if (rc == 0 && ferror(f))
        rc = tarn_err_set(err, TARN_EIO, "read %s", path);
    fclose(f);
    return rc;
}

/* The batch rows are appended to (a new one when the last is full). */
static vec_batch *text_batch(sql_binder *b, uint32_t ncols, tarn_err *err)
{
    if (b->nmem > 0 && b->mem[b->nmem - 1].len < b->mem[b->nmem - 1].cap)
        return &b->mem[b->nmem - 1];
    vec_batch *m = tarn_realloc(b->mem, (b->nmem + 1) * sizeof(*m));
    if (m == NULL) {
        tarn_err_set(err, TARN_ENOMEM, "copy");
        return NULL;
    }
    b->mem = m;
    vec_type_info *types = tarn_calloc(ncols + 1, sizeof(*types));
    for (uint32_t i = 0; types && i < ncols; i++)
        types[i].id = VEC_STRING;
    int rc = types ? vec_batch_init(&m[b->nmem], types, ncols, VEC_BATCH_ROWS) : TARN_ENOMEM;
    tarn_free(types);
    if (rc != 0) {
        tarn_err_set(err, rc, "copy");
        return NULL;
    }
    b->mem_ncols = ncols;
    return &m[b->nmem++];
}

/* One field of the current row: text, or NULL when s is NULL. */
static int put_field(vec_batch *bt, uint32_t c, const char *s, size_t n)
{
    vec_col *col = &bt->cols[c];
    int rc = 0;
    if (s == NULL)
        rc = vec_col_set_null(col, bt->len);
    if (rc == 0)
        rc = vec_col_append_str(col, s ? s : "", s ? n : 0);
    return rc;
}

/* ---- CSV ---- */

typedef struct csv_row {
    tarn_buf text; /* the fields' unquoted bytes, one after another */
    size_t *off;   /* start of field i in text; SIZE_MAX: NULL */
    size_t *len;
    uint32_t n, cap;
} csv_row;

static int csv_push(csv_row *r, size_t start, bool null)
{
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 16;
        size_t *o = tarn_realloc(r->off, cap * sizeof(size_t));
        if (o)
            r->off = o;
        size_t *l = o ? tarn_realloc(r->len, cap * sizeof(size_t)) : NULL;
        if (l == NULL)
            return TARN_ENOMEM;
        r->len = l;
        r->cap = cap;
    }
    r->off[r->n] = null ? SIZE_MAX : start;
    r->len[r->n++] = r->text.len - start;
    return 0;
}

/* Parses one record starting at *pos; *pos moves past its line end. */
static int csv_record(const char *p, size_t len, size_t *pos, csv_row *r, size_t line,
                      tarn_err *err)
{
    tarn_buf_reset(&r->text);
    r->n = 0;
    size_t i = *pos;
    for (;;) {
        size_t start = r->text.len;
        bool quoted = i < len && p[i] == '"';
        if (quoted) {
            for (i++;; i++) {
                if (i >= len)
                    return tarn_err_set(err, TARN_EINVAL, "line %zu: unterminated quoted field",
                                        line);
                if (p[i] == '"' && i + 1 < len && p[i + 1] == '"')
                    i++;
                else if (p[i] == '"')
                    break;
                if (tarn_buf_append_byte(&r->text, (uint8_t)p[i]) != 0)
                    return tarn_err_set(err, TARN_ENOMEM, "copy");
            }
            i++;
        } else {
            while (i < len && p[i] != ',' && p[i] != '\n' && p[i] != '\r')
                if (tarn_buf_append_byte(&r->text, (uint8_t)p[i++]) != 0)
                    return tarn_err_set(err, TARN_ENOMEM, "copy");
        }
        if (csv_push(r, start, !quoted && r->text.len == start) != 0)
            return tarn_err_set(err, TARN_ENOMEM, "copy");
        if (i < len && p[i] == ',') {
            i++;
            continue;
        }
        if (i < len && p[i] == '\r')
            i++;
        if (i < len && p[i] == '\n')
            i++;
        else if (i < len)
            return tarn_err_set(err, TARN_EINVAL, "line %zu: unexpected text after a quoted field",
                                line);
        *pos = i;
        return 0;
    }
}

static bool csv_is_header(const csv_row *r, const sql_target *t)
{
    if (r->n != t->ncols)
        return false;
    for (uint32_t c = 0; c < r->n; c++)
        if (r->off[c] == SIZE_MAX || r->len[c] != strlen(t->names[c]) ||
            strncasecmp(tarn_buf_cstr(&r->text) + r->off[c], t->names[c], r->len[c]) != 0)
            return false;
    return true;
}

static int load_csv(sql_binder *b, const tarn_buf *data, const sql_target *t, tarn_err *err)
{
    const char *p = (const char *)data->data;
    size_t len = data->len, pos = 0, line = 0;
    csv_row r = {0};
    tarn_buf_init(&r.text, TARN_BUF_UNBOUNDED);
    int rc = 0;
    while (rc == 0 && pos < len) {
        line++;
        if ((rc = csv_record(p, len, &pos, &r, line, err)) != 0)
            break;
        if (r.n == 1 && r.off[0] == SIZE_MAX)
            continue; /* a blank line */
        if (line == 1 && csv_is_header(&r, t))
            continue;
        if (r.n != t->ncols) {
            rc = tarn_err_set(err, TARN_EINVAL, "line %zu: %u fields, the table has %u columns",
                              line, r.n, t->ncols);
            break;
        }
        vec_batch *bt = text_batch(b, t->ncols, err);
        if (bt == NULL) {
            rc = err->code;
            break;
        }
        const char *txt = tarn_buf_cstr(&r.text);
        for (uint32_t c = 0; rc == 0 && c < r.n; c++)
            rc = put_field(bt, c, r.off[c] == SIZE_MAX ? NULL : txt + r.off[c], r.len[c]);
        if (rc != 0)
            rc = tarn_err_set(err, rc, "line %zu", line);
        bt->len++;
    }
    tarn_buf_free(&r.text);
    tarn_free(r.off);
    tarn_free(r.len);
    return rc;
}

/* ---- JSON lines ---- */

static int json_field(vec_batch *bt, uint32_t c, const json_t *v, size_t line, tarn_err *err)
{
    if (v == NULL || json_is_null(v))
        return put_field(bt, c, NULL, 0);
    if (json_is_string(v))
        return put_field(bt, c, json_string_value(v), json_string_length(v));
    if (json_is_object(v) || json_is_array(v))
        return tarn_err_set(err, TARN_EINVAL, "line %zu: nested values are not supported", line);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    int rc = s ? put_field(bt, c, s, strlen(s)) : TARN_ENOMEM;
    tarn_free(s);
    return rc;
}

static int load_json(sql_binder *b, const tarn_buf *data, const sql_target *t, tarn_err *err)
{
    const char *p = (const char *)data->data;
    size_t len = data->len, pos = 0, line = 0;
    int rc = 0;
    while (rc == 0 && pos < len) {
        line++;
        const char *nl = memchr(p + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (p + pos)) : len - pos;
        size_t start = pos;
        pos += n + (nl != NULL);
        if (strspn(p + start, " \t\r") >= n)
            continue;
        json_error_t je;
        json_t *o = json_loadb(p + start, n, 0, &je);
        if (o == NULL || !json_is_object(o)) {
            json_decref(o);
            return tarn_err_set(err, TARN_EINVAL, "line %zu: %s", line,
                                o ? "not a JSON object" : je.text);
        }
        vec_batch *bt = text_batch(b, t->ncols, err);
        rc = bt ? 0 : err->code;
        for (uint32_t c = 0; rc == 0 && c < t->ncols; c++)
            rc = json_field(bt, c, json_object_get(o, t->names[c]), line, err);
        if (bt && rc == 0)
            bt->len++;
        json_decref(o);
    }
    return rc;
}

int sql_copy_text(sql_stmt *st, const sql_node *n, bool csv)
{
    sql_target t = {0};
    int rc = sql_target_open(st, &n->u.copy.table, &t);
    if (rc != 0)
        return rc;
    tarn_err err = TARN_ERR_INIT;
    tarn_buf data;
    tarn_buf_init(&data, SQL_COPY_FILE_BYTES_MAX);
    rc = read_file(n->u.copy.path->u.lit.str, &data, &err);
    if (rc == 0)
        rc = csv ? load_csv(&st->b, &data, &t, &err) : load_json(&st->b, &data, &t, &err);
    tarn_buf_free(&data);
    if (rc != 0) {
        sql_target_free(&t);
        return sql_bind_fail(&st->b, rc, n->u.copy.path->pos, "%s: %s", n->u.copy.path->u.lit.str,
                             tarn_err_msg(&err));
    }
    json_t *exprs = json_array();
    vec_type_info str = {.id = VEC_STRING};
    for (uint32_t i = 0; i < t.ncols; i++)
        json_array_append_new(
            exprs, sql_cast_json(json_pack("{s:i}", "col", (json_int_t)i), str, t.compute[i]));
    json_t *plan =
        json_pack("{s:s,s:o,s:{s:s}}", "op", "project", "exprs", exprs, "input", "op", "text_rows");
    rc = plan ? sql_write_plan(st, n->u.copy.table.folded, &t, plan) : sql_bind_oom(&st->b);
    json_decref(plan);
    sql_target_free(&t);
    return rc;
}
