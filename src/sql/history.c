/*
 * sql/history.c: DESCRIBE HISTORY t: one row per version of the table's
 * Delta log, newest first: version, timestamp, operation (commitInfo's,
 * "CREATE TABLE" for version 0), files added and removed, rows added
 * (from the add actions' numRecords).
 */
#include "sql/session_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

static int64_t rows_added(const delta_commit *c)
{
    int64_t rows = 0;
    for (size_t i = 0; i < c->nadds; i++) {
        delta_stats s = {0};
        tarn_err err = TARN_ERR_INIT;
        if (c->adds[i].stats && delta_stats_parse(c->adds[i].stats, &s, &err) == 0) {
            if (s.num_records > 0)
                rows += s.num_records;
            delta_stats_free(&s);
        }
    }
    return rows;
}

static void operation(const delta_commit *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s", c->version == 0 ? "CREATE TABLE" : "?");
    json_t *j = c->commit_info ? json_loads(c->commit_info, 0, NULL) : NULL;
    const char *op = json_string_value(json_object_get(j, "operation"));
    if (op)
        snprintf(out, cap, "%s", op);
    json_decref(j);
}

static int history_row(sql_stmt *st, delta_table *dt, int64_t v, vec_batch *b)
{
    char key[OBJSTORE_KEY_MAX];
    snprintf(key, sizeof(key), "%s_delta_log/%020lld.json", delta_table_root(dt), (long long)v);
    tarn_buf data;
    tarn_buf_init(&data, DELTA_COMMIT_BYTES_MAX);
    tarn_err err = TARN_ERR_INIT;
    objstore_info info = {0};
    delta_commit *c = NULL;
    int rc = objstore_get(delta_table_store(dt), key, DELTA_COMMIT_BYTES_MAX, &data, &err);
    if (rc == 0)
        rc = objstore_head(delta_table_store(dt), key, &info, &err);
    if (rc == 0)
        rc = delta_commit_parse((const char *)data.data, data.len, key, v, &c, &err);
    tarn_buf_free(&data);
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    uint32_t r = b->len;
    char op[64];
    operation(c, op, sizeof(op));
    int64_t ts = c->in_commit_timestamp_ms >= 0 ? c->in_commit_timestamp_ms : info.mtime_ms;
    ((int64_t *)b->cols[0].data)[r] = v;
    ((int64_t *)b->cols[1].data)[r] = ts * 1000;
    rc = vec_col_append_str(&b->cols[2], op, strlen(op));
    ((int64_t *)b->cols[3].data)[r] = (int64_t)c->nadds;
    ((int64_t *)b->cols[4].data)[r] = (int64_t)c->nremoves;
    ((int64_t *)b->cols[5].data)[r] = rows_added(c);
    delta_commit_free(c);
    b->len = r + 1;
    for (uint32_t i = 0; i < b->ncols; i++)
        b->cols[i].len = r + 1;
    return rc;
}

int sql_stmt_history(sql_stmt *st, const sql_node *n)
{
    tarn_err err = TARN_ERR_INIT;
    delta_table *dt = NULL;
    delta_snapshot *snap = NULL;
    const sql_name *name = &n->u.describe.table;
    int rc = sql_session_open_table(st->s, name->folded, &dt, &err);
    if (rc == TARN_ENOENT) {
        delta_table_close(dt);
        return sql_bind_fail(&st->b, rc, name->pos, "table \"%s\" does not exist", name->text);
    }
    if (rc == 0)
        rc = delta_snapshot_latest(dt, &snap, &err);
    if (rc != 0) {
        delta_table_close(dt);
        return sql_stmt_fail(st, rc, &err);
    }
    static const char *const cols[] = {"version",     "timestamp",     "operation",
                                       "files_added", "files_removed", "rows_added"};
    vec_type_info types[6] = {{.id = VEC_I64},    {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS},
                              {.id = VEC_STRING}, {.id = VEC_I64},
                              {.id = VEC_I64},    {.id = VEC_I64}};
    vec_batch b = {0};
    rc = sql_emit_columns(st, 6, cols, types);
    if (rc == 0 && vec_batch_init(&b, types, 6, VEC_BATCH_ROWS) != 0)
        rc = sql_bind_oom(&st->b);
    for (int64_t v = snap->version; rc == 0 && v >= 0; v--) {
        rc = history_row(st, dt, v, &b);
        if (rc == 0 && (b.len == b.cap || v == 0)) {
            rc = sql_emit_batch(st, &b);
            vec_batch_reset(&b);
        }
    }
    vec_batch_free(&b);
    delta_snapshot_free(snap);
    delta_table_close(dt);
    return rc;
}
