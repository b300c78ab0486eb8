/*
 * sql/history.c: DESCRIBE HISTORY t: one row per version of Tarn's table
 * from the metadata service (delta_history_managed), newest first:
 * version, timestamp (the commit time time travel uses), operation, and
 * the commit's operation parameters and metrics as JSON text.
 */
#include "sql/session_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

static int put_json_field(vec_col *c, uint32_t r, const char *commit_info, const char *field)
{
    json_t *j = commit_info ? json_loads(commit_info, 0, NULL) : NULL;
    json_t *v = json_object_get(j, field);
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = s ? vec_col_append_str(c, s, strlen(s)) : vec_col_set_null(c, r);
    if (s == NULL && rc == 0)
        rc = vec_col_append_str(c, "", 0);
    tarn_free(s);
    json_decref(j);
    return rc;
}

static int history_row(vec_batch *b, const delta_history_entry *h)
{
    uint32_t r = b->len;
    ((int64_t *)b->cols[0].data)[r] = h->version;
    ((int64_t *)b->cols[1].data)[r] = h->timestamp_ms * 1000;
    const char *op = h->operation ? h->operation : "";
    int rc = vec_col_append_str(&b->cols[2], op, strlen(op));
    if (rc == 0)
        rc = put_json_field(&b->cols[3], r, h->commit_info, "operationParameters");
    if (rc == 0)
        rc = put_json_field(&b->cols[4], r, h->commit_info, "operationMetrics");
    b->len = r + 1;
    for (uint32_t i = 0; i < b->ncols; i++)
        b->cols[i].len = r + 1;
    return rc;
}

int sql_stmt_history(sql_stmt *st, const sql_node *n)
{
    tarn_err err = TARN_ERR_INIT;
    const sql_name *name = &n->u.describe.table;
    int rc = sql_session_catalog_has(st->s, name->folded, &err);
    if (rc == TARN_ENOENT)
        return sql_bind_fail(&st->b, rc, name->pos, "table \"%s\" does not exist", name->text);
    delta_history h = {0};
    if (rc == 0)
        rc = delta_history_managed(&st->s->com, st->s->os, name->folded, &h, &err);
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    static const char *const cols[] = {"version", "timestamp", "operation", "operation_parameters",
                                       "operation_metrics"};
    vec_type_info types[5] = {{.id = VEC_I64},
                              {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true},
                              {.id = VEC_STRING},
                              {.id = VEC_STRING},
                              {.id = VEC_STRING}};
    vec_batch b = {0};
    rc = sql_emit_columns(st, 5, cols, types);
    if (rc == 0 && vec_batch_init(&b, types, 5, VEC_BATCH_ROWS) != 0)
        rc = sql_bind_oom(&st->b);
    for (size_t i = h.count; rc == 0 && i-- > 0;) {
        if ((rc = history_row(&b, &h.entries[i])) != 0)
            rc = sql_bind_oom(&st->b);
        if (rc == 0 && (b.len == b.cap || i == 0)) {
            rc = sql_emit_batch(st, &b);
            vec_batch_reset(&b);
        }
    }
    vec_batch_free(&b);
    delta_history_free(&h);
    return rc;
}
