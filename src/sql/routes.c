/*
 * sql/routes.c: POST /v1/sql (sql_routes.h): the script runs in a session
 * of its own; the rows are written as JSON arrays straight into the
 * response body while the query streams, up to the response limit.
 */
#include "sql/sql_routes.h"

#include "base/alloc.h"
#include "sql/session.h"

#include <string.h>

struct sql_routes {
    node *node;
    objstore *os;
    size_t budget_bytes;
};

int sql_routes_new(node *n, objstore *os, size_t mem_budget_bytes, sql_routes **out)
{
    sql_routes *r = tarn_calloc(1, sizeof(*r));
    if (r == NULL)
        return TARN_ENOMEM;
    *r = (sql_routes){n, os, mem_budget_bytes};
    *out = r;
    return 0;
}

void sql_routes_free(sql_routes *r)
{
    tarn_free(r);
}

/* The reply being built: the last result's columns and rows, and a
 * summary of every statement. */
typedef struct reply {
    tarn_buf cols, rows, stmts, v;
    uint64_t nrows;
} reply;

static int on_columns(void *ctx, uint32_t n, const char *const *names, const vec_type_info *types)
{
    reply *r = ctx;
    tarn_buf_reset(&r->cols);
    tarn_buf_reset(&r->rows);
    r->nrows = 0;
    int rc = tarn_buf_append_byte(&r->cols, '[');
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char tn[48];
        rc = tarn_buf_printf(&r->cols, "%s{\"name\":", i ? "," : "");
        if (rc == 0)
            rc = tarn_buf_append_json_str(&r->cols, names[i], strlen(names[i]));
        if (rc == 0)
            rc = tarn_buf_printf(&r->cols, ",\"type\":\"%s\"}",
                                 sql_vec_type_name(types[i], tn, sizeof(tn)));
    }
    return rc == 0 ? tarn_buf_append_byte(&r->cols, ']') : rc;
}

static int on_batch(void *ctx, const vec_batch *b)
{
    reply *r = ctx;
    uint32_t live = vec_batch_live_count(b);
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < live; k++) {
        uint32_t row = b->sel_active ? b->sel[k] : k;
        rc = tarn_buf_append_str(&r->rows, r->nrows++ ? ",[" : "[");
        for (uint32_t c = 0; rc == 0 && c < b->ncols; c++) {
            bool quote = false;
            if (c > 0)
                rc = tarn_buf_append_byte(&r->rows, ',');
            if (rc == 0 && !vec_col_is_valid(&b->cols[c], row)) {
                rc = tarn_buf_append_str(&r->rows, "null");
                continue;
            }
            tarn_buf_reset(&r->v);
            if (rc == 0)
                rc = sql_value_text(&r->v, &b->cols[c], row, &quote);
            if (rc == 0)
                rc = quote ? tarn_buf_append_json_str(&r->rows, tarn_buf_cstr(&r->v), r->v.len)
                           : tarn_buf_append(&r->rows, tarn_buf_cstr(&r->v), r->v.len);
        }
        if (rc == 0)
            rc = tarn_buf_append_byte(&r->rows, ']');
    }
    return rc; /* TARN_ETOOBIG past the response limit stops the script */
}

static int on_done(void *ctx, const sql_stmt_info *info)
{
    reply *r = ctx;
    return tarn_buf_printf(&r->stmts,
                           "%s{\"kind\":\"%s\",\"rows\":%lld,\"version\":%lld,\"elapsed_ms\":%.3f}",
                           r->stmts.len ? "," : "", info->kind, (long long)info->rows,
                           (long long)info->version, (double)info->elapsed_us / 1000.0);
}

/* Whether every statement of the script only reads. */
static bool read_only(const char *sql, size_t len)
{
    sql_script *s = NULL;
    sql_error e;
    if (sql_parse(sql, len, &s, &e) != 0)
        return true; /* the session reports the syntax error */
    bool ro = true;
    for (uint32_t i = 0; i < s->count; i++) {
        sql_node_kind k = s->stmts[i]->kind;
        ro &= k == SQL_QUERY || k == SQL_EXPLAIN || k == SQL_SHOW_TABLES || k == SQL_DESCRIBE;
    }
    sql_script_free(s);
    return ro;
}

static int reply_error(http_response *resp, const char *sql, size_t len, const sql_error *e)
{
    tarn_buf msg;
    tarn_buf_init(&msg, 4096);
    if (e->pos.line > 0)
        sql_error_format(e, &msg);
    else
        tarn_buf_append_str(&msg, e->msg);
    (void)sql;
    (void)len;
    unsigned status = e->code == TARN_ECONFLICT ? 409 : e->code == TARN_ETOOBIG ? 413 : 400;
    const char *code = e->code == TARN_ENOMEM_BUDGET ? "memory_budget"
                       : status == 409               ? "conflict"
                       : status == 413               ? "too_large"
                                                     : "bad_request";
    int rc = http_reply_error(resp, status, code, "%s", tarn_buf_cstr(&msg));
    tarn_buf_free(&msg);
    return rc;
}

static bool client_error(int code)
{
    return code == TARN_ESYNTAX || code == TARN_EINVAL || code == TARN_ENOENT ||
           code == TARN_ERANGE || code == TARN_ENOTSUP || code == TARN_EEXIST ||
           code == TARN_ECONFLICT || code == TARN_ETOOBIG || code == TARN_ENOMEM_BUDGET;
}

static int build_body(http_response *resp, reply *r)
{
    tarn_buf *b = &resp->body;
    tarn_buf_reset(b);
    int rc = tarn_buf_append_byte(b, '{');
    if (rc == 0 && r->cols.len > 0)
        rc = tarn_buf_printf(b, "\"columns\":%s,\"rows\":[%s],", tarn_buf_cstr(&r->cols),
                             tarn_buf_cstr(&r->rows));
    if (rc == 0)
        rc = tarn_buf_printf(b, "\"statements\":[%s]}", tarn_buf_cstr(&r->stmts));
    if (rc != 0)
        return rc;
    resp->status = 200;
    resp->content_type = "application/json";
    return 0;
}

static int h_sql(void *ctx, const http_call *call, http_response *resp, tarn_err *err)
{
    sql_routes *sr = ctx;
    json_t *body = NULL;
    int rc = http_call_json_body(call, &body, err);
    if (rc != 0)
        return rc;
    const char *sql = json_string_value(json_object_get(body, "sql"));
    if (sql == NULL) {
        json_decref(body);
        return tarn_err_set(err, TARN_EINVAL, "the body must be {\"sql\": \"...\"}");
    }
    size_t len = json_string_length(json_object_get(body, "sql"));
    if (!read_only(sql, len) && http_call_role(call) < HTTP_ROLE_WRITE) {
        json_decref(body);
        return tarn_err_set(err, TARN_EFORBIDDEN, "this script writes: a write key is needed");
    }
    sql_session *s = NULL;
    sql_session_opts so = {.node = sr->node, .store = sr->os, .mem_budget_bytes = sr->budget_bytes};
    rc = sql_session_open(&so, &s, err);
    reply r;
    size_t max = HTTP_RESP_BODY_MAX - 4096;
    tarn_buf_init(&r.cols, max);
    tarn_buf_init(&r.rows, max);
    tarn_buf_init(&r.stmts, 1 << 20);
    tarn_buf_init(&r.v, max);
    r.nrows = 0;
    sql_sink sink = {&r, on_columns, on_batch, on_done};
    sql_error e;
    if (rc == 0 && (rc = sql_session_exec(s, sql, len, &sink, &e)) != 0) {
        if (rc == TARN_ETOOBIG && e.pos.line > 0 && strcmp(e.msg, "stopped by the output") == 0)
            snprintf(e.msg, sizeof(e.msg),
                     "the result is larger than the response limit of "
                     "%u bytes: add a LIMIT",
                     HTTP_RESP_BODY_MAX);
        rc = client_error(rc) ? reply_error(resp, sql, len, &e)
                              : tarn_err_set(err, rc, "sql: %s", e.msg);
    } else if (rc == 0) {
        rc = build_body(resp, &r);
    }
    tarn_buf_free(&r.cols);
    tarn_buf_free(&r.rows);
    tarn_buf_free(&r.stmts);
    tarn_buf_free(&r.v);
    sql_session_close(s);
    json_decref(body);
    return rc;
}

int sql_routes_add(http_router *router, sql_routes *r)
{
    return http_router_add(router, "POST", "/v1/sql", HTTP_ROLE_READ, h_sql, r);
}
