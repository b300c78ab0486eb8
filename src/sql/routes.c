/*
 * sql/routes.c: POST /v1/sql (sql_routes.h). The script runs in a session
 * of its own. Two reply shapes:
 *
 *  - streamed (Accept: application/x-ndjson): JSON lines written to an
 *    http stream while the query runs (the edge's bounded buffer makes a
 *    slow client slow the query down); memory does not grow with the
 *    result. Errors before the first line are ordinary error replies;
 *    after it, an in-band {"error":...} line ends the body, which the
 *    edge then cuts short.
 *  - buffered (the default, the shape clients had first): one JSON object
 *    built in memory up to the response limit (413 past it).
 *
 * A streamed statement is cancelled (sql_session_cancel: its operators
 * stop at their next batch) when its client goes away or the server
 * stops, also before its first row: the edge's cancel hook
 * (http_stream_on_cancel) flags the session from the server's side. Each
 * such statement is logged ("statement cancelled") and counted in
 * tarn_sql_cancelled_total.
 */
#include "sql/sql_routes.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "obs/obs.h"
#include "sql/session.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Pending streamed text is handed to the edge at this size (and at the
 * end of every batch and statement). */
#define SQL_STREAM_FLUSH_BYTES (64u << 10)
/* The streamed reply's media type, asked for with Accept. */
#define SQL_STREAM_TYPE "application/x-ndjson"

struct sql_routes {
    node *node;
    objstore *os;
    size_t budget_bytes;
};

/* tarn_sql_cancelled_total in obs_global(), registered once per process. */
static obs_family *fam_cancelled;
static pthread_once_t cancelled_once = PTHREAD_ONCE_INIT;

static void register_cancelled(void)
{
    /* A failure leaves fam_cancelled NULL: the count is lost, not the
     * queries. */
    obs_family_register(obs_global(),
                        &(obs_family_opts){.type = OBS_COUNTER,
                                           .name = "tarn_sql_cancelled_total",
                                           .help = "Streamed SQL statements cancelled because "
                                                   "the client went away or the server stopped."},
                        &fam_cancelled);
}

int sql_routes_new(node *n, objstore *os, size_t mem_budget_bytes, sql_routes **out)
{
    pthread_once(&cancelled_once, register_cancelled);
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

/* [{"name":"a","type":"INTEGER"},...] */
static int columns_text(tarn_buf *b, uint32_t n, const char *const *names,
                        const vec_type_info *types)
{
    int rc = tarn_buf_append_byte(b, '[');
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char tn[48];
        rc = tarn_buf_printf(b, "%s{\"name\":", i ? "," : "");
        if (rc == 0)
            rc = tarn_buf_append_json_str(b, names[i], strlen(names[i]));
        if (rc == 0)
            rc = tarn_buf_printf(b, ",\"type\":\"%s\"}",
                                 sql_vec_type_name(types[i], tn, sizeof(tn)));
    }
    return rc == 0 ? tarn_buf_append_byte(b, ']') : rc;
}

/* [v1,v2,...] of one row: values as `tarn sql --format json` prints them. */
/* The value at `row` of an integer column as sign and magnitude: 1, or 0
 * for any other column (lists included). */
static int int_value(const vec_col *col, uint32_t row, uint64_t *mag, bool *neg)
{
    const void *d = col->data;
    int64_t sv;
    *neg = false;
    if (col->type.list || col->dict != NULL)
        return 0;
    switch (col->type.id) {
    case VEC_I8:
        sv = ((const int8_t *)d)[row];
        break;
    case VEC_I16:
        sv = ((const int16_t *)d)[row];
        break;
    case VEC_I32:
        sv = ((const int32_t *)d)[row];
        break;
    case VEC_I64:
        sv = ((const int64_t *)d)[row];
        break;
    case VEC_U8:
        *mag = ((const uint8_t *)d)[row];
        return 1;
    case VEC_U16:
        *mag = ((const uint16_t *)d)[row];
        return 1;
    case VEC_U32:
        *mag = ((const uint32_t *)d)[row];
        return 1;
    case VEC_U64:
        *mag = ((const uint64_t *)d)[row];
        return 1;
    default:
        return 0;
    }
    *neg = sv < 0;
    *mag = *neg ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv; /* INT64_MIN too */
    return 1;
}

/* Integers as sql_value_text writes them (decimal), without vsnprintf: a
 * streamed result is mostly this. 1 when col is an integer column and the
 * text was appended (*rc: the append's result); 0 otherwise. */
static int int_text(tarn_buf *b, const vec_col *col, uint32_t row, int *rc)
{
    uint64_t mag;
    bool neg;
    if (!int_value(col, row, &mag, &neg))
        return 0;
    char digits[24];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    if (neg)
        digits[--i] = '-';
    *rc = tarn_buf_append(b, digits + i, sizeof(digits) - i);
    return 1;
}

static int row_text(tarn_buf *b, const vec_batch *batch, uint32_t row, tarn_buf *v)
{
    int rc = tarn_buf_append_byte(b, '[');
    for (uint32_t c = 0; rc == 0 && c < batch->ncols; c++) {
        bool quote = false;
        if (c > 0)
            rc = tarn_buf_append_byte(b, ',');
        if (rc == 0 && !vec_col_is_valid(&batch->cols[c], row)) {
            rc = tarn_buf_append_str(b, "null");
            continue;
        }
        if (rc == 0 && int_text(b, &batch->cols[c], row, &rc))
            continue;
        tarn_buf_reset(v);
        if (rc == 0)
            rc = sql_value_text(v, &batch->cols[c], row, &quote);
        if (rc == 0)
            rc = quote ? tarn_buf_append_json_str(b, tarn_buf_cstr(v), v->len)
                       : tarn_buf_append(b, tarn_buf_cstr(v), v->len);
    }
    return rc == 0 ? tarn_buf_append_byte(b, ']') : rc;
}

/* {"kind":"select","rows":3,"version":-1,"elapsed_ms":1.2} */
static int stmt_text(tarn_buf *b, const sql_stmt_info *info)
{
    return tarn_buf_printf(
        b, "{\"kind\":\"%s\",\"rows\":%lld,\"version\":%lld,\"elapsed_ms\":%.3f}", info->kind,
        (long long)info->rows, (long long)info->version, (double)info->elapsed_us / 1000.0);
}

/* ---- the buffered reply ---- */

static int on_columns(void *ctx, uint32_t n, const char *const *names, const vec_type_info *types)
{
    reply *r = ctx;
    tarn_buf_reset(&r->cols);
    tarn_buf_reset(&r->rows);
    r->nrows = 0;
    return columns_text(&r->cols, n, names, types);
}

static int on_batch(void *ctx, const vec_batch *b)
{
    reply *r = ctx;
    uint32_t live = vec_batch_live_count(b);
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < live; k++) {
        if (r->nrows++ > 0)
            rc = tarn_buf_append_byte(&r->rows, ',');
        if (rc == 0)
            rc = row_text(&r->rows, b, b->sel_active ? b->sel[k] : k, &r->v);
    }
    return rc; /* TARN_ETOOBIG past the response limit stops the script */
}

static int on_done(void *ctx, const sql_stmt_info *info)
{
    reply *r = ctx;
    int rc = r->stmts.len ? tarn_buf_append_byte(&r->stmts, ',') : 0;
    return rc == 0 ? stmt_text(&r->stmts, info) : rc;
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

/* The status, error code and message of an error in the SQL (the client's
 * doing: client_error). */
static unsigned error_shape(const sql_error *e, const char **code, tarn_buf *msg)
{
    if (e->pos.line > 0)
        sql_error_format(e, msg);
    else
        tarn_buf_append_str(msg, e->msg);
    unsigned status = e->code == TARN_ECONFLICT ? 409 : e->code == TARN_ETOOBIG ? 413 : 400;
    *code = e->code == TARN_ENOMEM_BUDGET ? "memory_budget"
            : status == 409               ? "conflict"
            : status == 413               ? "too_large"
                                          : "bad_request";
    return status;
}

/*
 * The error envelope of an error in the SQL, with the parts a client needs
 * to point at the statement text itself (tarn sql --server does):
 *   {"error":{"code":"bad_request","message":"error at line 1, column 8: ...",
 *             "sql_error":{"code":-1,"line":1,"column":8,"offset":7,
 *                          "message":"column \"aa\" not found","hint":"..."},
 *             "statement":0}}
 * "statement" (the index in the script) only when statement >= 0. NULL:
 * out of memory.
 */
static json_t *error_json(const sql_error *e, long statement, unsigned *status)
{
    tarn_buf msg;
    tarn_buf_init(&msg, 4096);
    const char *code;
    *status = error_shape(e, &code, &msg);
    json_t *se = json_pack("{s:i,s:i,s:i,s:I,s:s,s:s}", "code", e->code, "line", (int)e->pos.line,
                           "column", (int)e->pos.col, "offset", (json_int_t)e->pos.offset,
                           "message", e->msg, "hint", e->hint);
    json_t *inner = se ? json_pack("{s:s,s:s%,s:o}", "code", code, "message", tarn_buf_cstr(&msg),
                                   msg.len, "sql_error", se)
                       : NULL;
    tarn_buf_free(&msg);
    if (inner != NULL && statement >= 0 &&
        json_object_set_new(inner, "statement", json_integer(statement)) != 0) {
        json_decref(inner);
        inner = NULL;
    }
    return inner ? json_pack("{s:o}", "error", inner) : NULL;
}

static int reply_error(http_response *resp, const sql_error *e)
{
    unsigned status;
    json_t *j = error_json(e, -1, &status);
    if (j == NULL)
        return TARN_ENOMEM;
    int rc = http_reply_json(resp, status, j);
    json_decref(j);
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

/* The buffered reply: the whole result in resp's body, up to its limit. */
static int run_buffered(sql_routes *sr, const char *sql, size_t len, http_response *resp,
                        tarn_err *err)
{
    sql_session *s = NULL;
    sql_session_opts so = {.node = sr->node, .store = sr->os, .mem_budget_bytes = sr->budget_bytes};
    int rc = sql_session_open(&so, &s, err);
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
                     "the result is larger than the response limit of %u bytes: add a LIMIT, "
                     "or ask for the streamed reply (Accept: " SQL_STREAM_TYPE ")",
                     HTTP_RESP_BODY_MAX);
        rc = client_error(rc) ? reply_error(resp, &e) : tarn_err_set(err, rc, "sql: %s", e.msg);
    } else if (rc == 0) {
        rc = build_body(resp, &r);
    }
    tarn_buf_free(&r.cols);
    tarn_buf_free(&r.rows);
    tarn_buf_free(&r.stmts);
    tarn_buf_free(&r.v);
    sql_session_close(s);
    return rc;
}

/* ---- the streamed reply (sql_routes.h "Streamed reply") ---- */

typedef struct sql_job {
    sql_routes *sr;
    char *sql; /* owned */
    size_t len;
    http_stream *s;
    tarn_buf out;     /* text not yet handed to the stream */
    tarn_buf v;       /* one value's text */
    uint32_t stmt;    /* statements finished */
    int stream_rc;    /* the stream's error (the client went away) */
    sql_session *ses; /* running the statements (job_run's thread) */
    int64_t t0_ns;    /* when the script started */
} sql_job;

static void job_free(void *ctx)
{
    sql_job *j = ctx;
    tarn_buf_free(&j->out);
    tarn_buf_free(&j->v);
    tarn_free(j->sql);
    tarn_free(j);
}

/* Hands the pending text to the stream (blocking while the client is
 * behind). */
static int job_flush(sql_job *j)
{
    if (j->stream_rc == 0 && j->out.len > 0)
        j->stream_rc = http_stream_write(j->s, j->out.data, j->out.len);
    if (j->stream_rc != 0 && j->ses != NULL)
        sql_session_cancel(j->ses); /* the client or the server is gone: stop every worker */
    tarn_buf_reset(&j->out);
    return j->stream_rc;
}

static int st_columns(void *ctx, uint32_t n, const char *const *names, const vec_type_info *types)
{
    sql_job *j = ctx;
    int rc = tarn_buf_append_str(&j->out, "{\"columns\":");
    if (rc == 0)
        rc = columns_text(&j->out, n, names, types);
    if (rc == 0)
        rc = tarn_buf_printf(&j->out, ",\"statement\":%u}\n", j->stmt);
    /* Held back until the first rows (or the statement's end): an error
     * before them (overflow, memory budget) still gets its own status. */
    return rc;
}

static int st_batch(void *ctx, const vec_batch *b)
{
    sql_job *j = ctx;
    uint32_t live = vec_batch_live_count(b);
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < live; k++) {
        rc = row_text(&j->out, b, b->sel_active ? b->sel[k] : k, &j->v);
        if (rc == 0)
            rc = tarn_buf_append_byte(&j->out, '\n');
        if (rc == 0 && j->out.len >= SQL_STREAM_FLUSH_BYTES)
            rc = job_flush(j);
    }
    return rc != 0 ? rc : job_flush(j);
}

static int st_done(void *ctx, const sql_stmt_info *info)
{
    sql_job *j = ctx;
    int rc = tarn_buf_append_str(&j->out, "{\"statement\":");
    if (rc == 0)
        rc = stmt_text(&j->out, info);
    if (rc == 0)
        rc = tarn_buf_printf(&j->out, ",\"index\":%u}\n", j->stmt++);
    return rc != 0 ? rc : job_flush(j);
}

static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    return tarn_buf_append(ctx, data, size) == 0 ? 0 : -1;
}

/* The last line of a failed stream: the error envelope as one line, with
 * the statement's index. */
static int job_fail_inband(sql_job *j, int rc, const sql_error *e, tarn_err *err)
{
    json_t *line = NULL;
    unsigned status;
    if (client_error(rc)) {
        line = error_json(e, j->stmt, &status);
    } else {
        /* Not the client's doing: the detail goes to the log, the client
         * gets an id to quote (as the edge does for a 500). */
        char id[HTTP_ERROR_ID_MAX], msg[64];
        http_error_id_new(id);
        snprintf(msg, sizeof(msg), "internal error (error id %s)", id);
        TARN_LOGF(TARN_LOG_ERROR, "sql", "streamed statement failed", TARN_F_STR("error_id", id),
                  TARN_F_STR("detail", e->msg));
        line = json_pack("{s:{s:s,s:s,s:i}}", "error", "code", "internal", "message", msg,
                         "statement", (int)j->stmt);
    }
    tarn_buf_reset(&j->out);
    if (line != NULL && json_dump_callback(line, dump_to_buf, &j->out, JSON_COMPACT) == 0 &&
        tarn_buf_append_byte(&j->out, '\n') == 0)
        job_flush(j); /* the client may be gone too: nothing more to do */
    json_decref(line);
    return tarn_err_set(err, rc, "sql, statement %u: %s", j->stmt, e->msg);
}

/* http_stream_on_cancel's hook: on a server thread, under the stream's
 * lock; one atomic store. */
static void cancel_session(void *ses)
{
    sql_session_cancel(ses);
}

/* The statement stopped because the stream was cancelled: say so once. */
static int job_cancelled(sql_job *j, tarn_err *err)
{
    double ms = (double)(tarn_mono_ns() - j->t0_ns) / 1e6;
    TARN_LOGF(TARN_LOG_INFO, "sql", "statement cancelled", TARN_F_UINT("statement", j->stmt),
              TARN_F_DBL("duration_ms", ms),
              TARN_F_STR("reason", "the client went away or the server is stopping"));
    if (fam_cancelled != NULL)
        obs_counter_add(obs_series(fam_cancelled, NULL), 1);
    return tarn_err_set(err, TARN_ECLOSED, "sql: the client went away; statement %u cancelled",
                        j->stmt);
}

/* Runs on the stream's thread (http_stream_fn). */
static int job_run(void *ctx, http_stream *s, tarn_err *err)
{
    sql_job *j = ctx;
    j->s = s;
    sql_session *ses = NULL;
    sql_session_opts so = {
        .node = j->sr->node, .store = j->sr->os, .mem_budget_bytes = j->sr->budget_bytes};
    int rc = sql_session_open(&so, &ses, err);
    if (rc != 0)
        return rc; /* nothing written: the edge answers 500 */
    sql_sink sink = {j, st_columns, st_batch, st_done};
    sql_error e;
    j->ses = ses;
    j->t0_ns = tarn_mono_ns();
    TARN_LOGF(TARN_LOG_DEBUG, "sql", "streamed script started", TARN_F_UINT("bytes", j->len));
    http_stream_on_cancel(s, cancel_session, ses); /* runs at once if already cancelled */
    rc = sql_session_exec(ses, j->sql, j->len, &sink, &e);
    http_stream_on_cancel(s, NULL, NULL); /* before the session goes */
    j->ses = NULL;
    sql_session_close(ses);
    if (rc == TARN_ECLOSED && http_stream_cancelled(s))
        return job_cancelled(j, err);
    if (rc == 0) {
        rc = tarn_buf_printf(&j->out, "{\"end\":{\"statements\":%u}}\n", j->stmt);
        if (rc == 0)
            rc = job_flush(j);
        return rc == 0 ? 0 : tarn_err_set(err, rc, "sql: the client went away at the end");
    }
    if (j->stream_rc != 0)
        return tarn_err_set(err, j->stream_rc, "sql: the client went away; statement %u stopped",
                            j->stmt);
    if (!http_stream_started(s)) {
        /* Nothing sent yet: an ordinary error reply with its status. */
        if (!client_error(rc))
            return tarn_err_set(err, rc, "sql: %s", e.msg);
        unsigned status;
        json_t *body = error_json(&e, -1, &status);
        int erc = body ? http_stream_reply_json(s, status, body) : TARN_ENOMEM;
        json_decref(body);
        if (erc != 0)
            return tarn_err_set(err, erc, "sql: error reply");
        return tarn_err_set(err, rc, "sql: %s", e.msg);
    }
    return job_fail_inband(j, rc, &e, err);
}

static int start_stream(sql_routes *sr, const char *sql, size_t len, http_response *resp)
{
    sql_job *j = tarn_calloc(1, sizeof(*j));
    char *text = j ? tarn_malloc(len + 1) : NULL;
    if (text == NULL) {
        tarn_free(j);
        return TARN_ENOMEM;
    }
    memcpy(text, sql, len);
    text[len] = '\0';
    j->sr = sr;
    j->sql = text;
    j->len = len;
    tarn_buf_init(&j->out, TARN_BUF_UNBOUNDED); /* flushed at SQL_STREAM_FLUSH_BYTES */
    tarn_buf_init(&j->v, TARN_BUF_UNBOUNDED);
    http_reply_stream(resp, SQL_STREAM_TYPE, job_run, j, job_free);
    return 0;
}

/* Whether the client asked for the streamed reply. */
static bool wants_stream(const http_call *call)
{
    const char *accept = http_call_header(call, "Accept");
    return accept != NULL && strstr(accept, SQL_STREAM_TYPE) != NULL;
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
    if (wants_stream(call))
        rc = start_stream(sr, sql, len, resp);
    else
        rc = run_buffered(sr, sql, len, resp, err);
    json_decref(body);
    return rc;
}

int sql_routes_add(http_router *router, sql_routes *r)
{
    return http_router_add(router, "POST", "/v1/sql", HTTP_ROLE_READ, h_sql, r);
}
