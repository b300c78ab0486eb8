/*
 * http/http.h: Tarn's HTTP edge runtime on libmicrohttpd: the routing
 * table, JSON error replies, API keys with roles, per-key rate limits, the
 * built-in routes (/health, /metrics, /v1/whoami, /v1/keys) and the server.
 * Design note and the error-code table: src/http/README.md.
 *
 * The request path is split in two so that it can be tested without
 * sockets:
 *
 *   socket --MHD glue (server.c)--> http_request --http_dispatch()--> http_response
 *
 * http_dispatch is pure (no sockets, time only through tarn_mono_ns): the
 * OOM-injection test and the fuzzer drive it directly. The MHD glue only
 * converts between MHD and these two structs and enforces the limits that
 * must act before the body is read (Content-Length over max_body_bytes).
 *
 * Errors: every function returns 0 or a negative TARN_E* code
 * (base/error.h). Every error answered to a client is
 *   {"error":{"code":"<stable id>","message":"<human text>"}}
 * with the status of the table in README.md.
 *
 * jansson: http_router_new points jansson's allocator at tarn_malloc through
 * a wrapper of its own (so that a failed allocation inside the parser is an
 * out-of-memory error, not a 400); it counts and injects like
 * tarn_alloc_hook_jansson.
 *
 * Threads: a router is built on one thread before the server starts and is
 * read-only afterwards. The keystore and the rate limiter are thread-safe.
 * http_dispatch may run on many threads at once for one router.
 */
#ifndef TARN_HTTP_HTTP_H
#define TARN_HTTP_HTTP_H

#include "base/buf.h"
#include "base/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ---------------------------------------------------------- */

#define HTTP_ROUTES_MAX       128         /* routes in one router */
#define HTTP_PATH_MAX         2048        /* bytes of a request path; longer is 404 */
#define HTTP_SEGMENTS_MAX     32          /* '/'-separated segments of a path or pattern */
#define HTTP_PARAMS_MAX       8           /* {param} segments in one pattern */
#define HTTP_KEY_ID_MAX       32          /* bytes of a key id, NUL included */
#define HTTP_KEY_MAX          128         /* bytes of an API key, NUL included */
#define HTTP_KEYS_MAX         10000       /* keys in one keystore */
#define HTTP_KEYS_FILE_MAX    4194304     /* bytes of keys.json */
#define HTTP_ERROR_ID_MAX     17          /* 16 hex digits and a NUL */
#define HTTP_RESP_HEADERS_MAX 4           /* extra headers of one response */
#define HTTP_RESP_BODY_MAX    (64u << 20) /* bytes of one response body */
#define HTTP_DEFAULT_BODY_MAX (1u << 20)  /* default max_body_bytes: 1 MiB */
#define HTTP_JSON_DEPTH_MAX   32          /* nesting depth accepted in request bodies */
#define HTTP_STREAM_BUF_BYTES                                                                      \
    (256u << 10) /* bytes a streamed body buffers before its producer waits */
#define HTTP_STREAM_CHUNK_BYTES (64u << 10) /* most bytes handed to libmicrohttpd per read */
#define HTTP_STREAMS_MAX        16          /* streamed bodies being produced at once; more: 503 */
#define HTTP_STREAM_WATCH_MS                                                                       \
    100 /* a waiting stream's socket is polled for a hang-up this often                            \
         */

/* ---- roles ------------------------------------------------------------ */

/* Hierarchical: a key with role R may do everything a role below R may. */
typedef enum http_role {
    HTTP_ROLE_NONE = 0, /* no key needed (a route's role) / not authenticated */
    HTTP_ROLE_READ = 1,
    HTTP_ROLE_WRITE = 2,
    HTTP_ROLE_ADMIN = 3,
} http_role;

#define HTTP_ROLE_COUNT 4

/* Parses "read", "write" or "admin" (exact, lower case). TARN_EINVAL
 * otherwise ("none" is not a role a key can have). */
int http_role_parse(const char *s, http_role *out);
/* "none", "read", "write", "admin"; "unknown" out of range. Static. */
const char *http_role_name(http_role r);

/* ---- keystore --------------------------------------------------------- */

/*
 * API keys: "tarn_<id>_<secret>", id 16 hex digits (8 random bytes), secret
 * 64 hex digits (32 bytes of tarn_entropy_bytes). Only the SHA-256 of the
 * whole key is stored, in <data_dir>/keys.json (mode 0600, replaced
 * atomically: temp file, fsync, rename, fsync of the directory). Writers
 * (this process or the CLI in another) serialise on flock(2) of
 * <data_dir>/keys.lock and re-read the file under the lock, so no update is
 * lost. Readers notice another process's change by one stat(2) per
 * authentication (inode, size, mtime) and re-read.
 *
 * Threads: every function may be called from any thread.
 */
typedef struct http_keystore http_keystore;

/* Opens the keystore of data_dir (which must exist), reading keys.json
 * when present. Errors: TARN_EIO (file system), TARN_ECORRUPT (a keys.json
 * that does not parse), TARN_ENOMEM. On error *out is untouched and
 * nothing needs freeing. data_dir is copied. */
int http_keystore_open(const char *data_dir, http_keystore **out, tarn_err *err);
/* Frees the handle (not the file). Accepts NULL. */
void http_keystore_close(http_keystore *ks);

/* Creates a key with `role` and saves it. The key (shown once, never
 * stored) goes to key_out (key_cap >= HTTP_KEY_MAX), its id to id_out
 * (id_cap >= HTTP_KEY_ID_MAX). Errors: TARN_EINVAL (role NONE, small
 * buffers), TARN_ERANGE (HTTP_KEYS_MAX keys), TARN_EIO, TARN_ECORRUPT,
 * TARN_ENOMEM. */
int http_keystore_create(http_keystore *ks, http_role role, char *key_out, size_t key_cap,
                         char *id_out, size_t id_cap, tarn_err *err);

/* Removes key `id` and saves. TARN_ENOENT for an unknown id; TARN_EIO,
 * TARN_ECORRUPT, TARN_ENOMEM. */
int http_keystore_revoke(http_keystore *ks, const char *id, tarn_err *err);

/* First start: when the keystore holds no key, creates an admin key and
 * writes it (plus a newline) to key_file_path with mode 0600 (replacing
 * the file atomically); *created_out = 1. Otherwise does nothing;
 * *created_out = 0. Safe against a concurrent ensure_admin in another
 * process (it runs under the keys lock). Errors as http_keystore_create. */
int http_keystore_ensure_admin(http_keystore *ks, const char *key_file_path, int *created_out,
                               tarn_err *err);

/* Checks `key` (untrusted text) against the stored hashes in constant time
 * per candidate, re-reading keys.json first if another process changed it.
 * On success copies the id to id_out (id_cap >= HTTP_KEY_ID_MAX) and the
 * role to *role_out. TARN_EUNAUTH for a malformed or unknown key;
 * TARN_EIO / TARN_ECORRUPT / TARN_ENOMEM when the file could not be
 * re-read (the caller answers 500: failing closed keeps revoked keys out). */
int http_keystore_authenticate(http_keystore *ks, const char *key, char *id_out, size_t id_cap,
                               http_role *role_out, tarn_err *err);

typedef struct http_key_info {
    char id[HTTP_KEY_ID_MAX];
    http_role role;
    int64_t created_ms; /* wall clock, ms since the epoch */
} http_key_info;

/* The current keys, without secrets, in creation order: *out (free with
 * tarn_free; NULL when there are none) holds *count_out entries.
 * TARN_EIO, TARN_ECORRUPT, TARN_ENOMEM. */
int http_keystore_list(http_keystore *ks, http_key_info **out, size_t *count_out, tarn_err *err);

/* ---- rate limiter ----------------------------------------------------- */

/*
 * A token bucket per key id: `rate_per_s[role]` tokens per second up to
 * `burst[role]`; a request takes one token. Rate 0 means unlimited. Time
 * comes from tarn_mono_ns(), so tests drive it with tarn_manual_clock. At
 * most HTTP_LIMITER_KEYS_MAX buckets; past it the least recently used
 * bucket is reused (its key starts again with a full bucket).
 *
 * Threads: thread-safe.
 */
#define HTTP_LIMITER_KEYS_MAX 4096

typedef struct http_limiter http_limiter;

/* rate_per_s and burst are indexed by http_role (copied). A burst below 1
 * for a limited role counts as 1. TARN_EINVAL for negative or non-finite
 * values; TARN_ENOMEM. */
int http_limiter_new(const double rate_per_s[HTTP_ROLE_COUNT], const double burst[HTTP_ROLE_COUNT],
                     http_limiter **out);
void http_limiter_free(http_limiter *lim);

/* Takes one token for key `id` (role decides rate and burst). 0 when
 * allowed; TARN_ERATE when over the rate, with *retry_after_s set to the
 * whole seconds (rounded up, at least 1) until a token is back.
 * TARN_EINVAL for an id longer than HTTP_KEY_ID_MAX - 1 or a bad role.
 * Allocates nothing (the bucket table is allocated by http_limiter_new). */
int http_limiter_take(http_limiter *lim, const char *id, http_role role, unsigned *retry_after_s);

/* ---- requests and responses ------------------------------------------ */

/* Case-insensitive header lookup: the value, or NULL when absent. */
typedef const char *(*http_header_fn)(void *ctx, const char *name);

/* A parsed request, as the MHD glue (or a test, or the fuzzer) hands it to
 * http_dispatch. Every pointer is borrowed for the call. */
typedef struct http_request {
    const char *method;    /* "GET", "POST", ...; NUL-terminated */
    const char *path;      /* "/v1/keys/abc", without the query; NUL-terminated */
    const char *query;     /* the text after '?', or NULL */
    http_header_fn header; /* NULL: the request has no headers */
    void *header_ctx;
    const uint8_t *body; /* body_len bytes (not NUL-terminated); NULL when empty */
    size_t body_len;
} http_request;

typedef struct http_header {
    const char *name; /* static string */
    char value[64];
} http_header;

/* A streamed response body being produced (see "streamed responses"). */
typedef struct http_stream http_stream;
/* Produces a streamed body into `s` on a thread of its own; returns 0 when
 * the body is complete, or a TARN_E* code (message in err). */
typedef int (*http_stream_fn)(void *ctx, http_stream *s, tarn_err *err);

/* What http_dispatch fills. Initialise with http_response_init, release
 * with http_response_free. */
typedef struct http_response {
    unsigned status;          /* HTTP status; 0 until a reply was made */
    const char *content_type; /* static string */
    tarn_buf body;            /* owned */
    http_header headers[HTTP_RESP_HEADERS_MAX];
    size_t header_count;
    char error_id[HTTP_ERROR_ID_MAX]; /* "" unless a 5xx was answered */
    const char *route;                /* matched pattern (the router's); NULL: none */
    /* A streamed body (http_reply_stream): the producer and its context,
     * owned until the server takes them; http_response_reset/free call
     * stream_ctx_free when nobody took them. */
    http_stream_fn stream_fn;
    void *stream_ctx;
    void (*stream_ctx_free)(void *ctx);
    /* A deferred reply (http_reply_defer): the connection's reference,
     * until the server takes it; http_response_reset/free drop it. */
    struct http_deferred *deferred;
} http_response;

/* Finds parameter `name` in an untrusted query string `q` (may be NULL)
 * and percent-decodes its value ('+' is a space) into out (cap bytes,
 * NUL-terminated; *len_out bytes, which may include NULs a caller must
 * refuse if its values cannot hold them). A bare `name` has the empty
 * value. 0 when found, TARN_ENOENT when absent, TARN_EINVAL for a bad
 * escape, TARN_ETOOBIG when longer than cap - 1. */
int http_query_get(const char *q, const char *name, char *out, size_t cap, size_t *len_out);

void http_response_init(http_response *r);
void http_response_free(http_response *r);
/* Forgets status, body and headers (keeps the allocation). */
void http_response_reset(http_response *r);
/* Adds a header (name static, value copied). TARN_ERANGE when the table is
 * full or the value longer than the slot. */
int http_response_add_header(http_response *r, const char *name, const char *value);

/* Replies `status` with `body` serialised (compact) as application/json.
 * `body` is borrowed. TARN_ENOMEM, TARN_ETOOBIG. On error the response is
 * reset. */
int http_reply_json(http_response *r, unsigned status, const json_t *body);

/* Replies `len` bytes of `content_type` (static string). */
int http_reply_text(http_response *r, unsigned status, const char *content_type, const char *text,
                    size_t len);

/* Replies {"error":{"code":code,"message":<fmt...>}} with `status`. code is
 * a stable identifier ("bad_request"); the message is escaped as JSON. For
 * status >= 500 a fresh error id is put in r->error_id and appended to the
 * message. TARN_ENOMEM; on error the response is reset. */
int http_reply_error(http_response *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- streamed responses ----------------------------------------------
 *
 * For bodies too large to build in memory (a query result): the handler
 * calls http_reply_stream and returns 0. The server then runs fn(ctx, s,
 * err) on a thread of its own (at most HTTP_STREAMS_MAX at once per
 * server; more answer 503) while the connection waits:
 *
 *  - The status is decided by the producer: its first http_stream_write
 *    commits 200 with content_type and the body goes out with chunked
 *    transfer encoding; a producer that fails before writing anything
 *    answers an ordinary error reply (http_stream_reply_error, or its
 *    code mapped as a handler's).
 *  - Memory is bounded: the producer and the socket share a buffer of
 *    HTTP_STREAM_BUF_BYTES; http_stream_write blocks while it is full, so
 *    a slow client slows the producer (backpressure) instead of growing a
 *    buffer. A client that stops reading for connection_timeout_s is
 *    disconnected.
 *  - A client that disconnects, or a server that stops, makes the next
 *    http_stream_write return TARN_ECLOSED: the producer stops and
 *    returns; then ctx_free(ctx) runs on its thread. A producer busy
 *    computing (nothing to write yet) learns of it without writing through
 *    http_stream_on_cancel / http_stream_cancelled: the server watches the
 *    socket of a waiting connection for a hang-up (HTTP_STREAM_WATCH_MS).
 *  - A producer that returns an error after writing has its body cut
 *    short: the chunked encoding is not terminated (no zero-length last
 *    chunk; the connection is closed), so any HTTP client sees an
 *    incomplete transfer. Write an in-band error before returning for
 *    clients that read the body.
 *
 * http_dispatch itself stays pure: it only records the producer in the
 * response. The request's metrics and log line are written when the
 * stream ends (status, whole duration).
 */

/* Makes r a streamed reply of `content_type` (static string) produced by
 * fn(ctx). ctx is owned by the response from here on (ctx_free, may be
 * NULL, releases it whatever happens). Resets r first. Cannot fail. */
void http_reply_stream(http_response *r, const char *content_type, http_stream_fn fn, void *ctx,
                       void (*ctx_free)(void *ctx));

/* Appends len bytes to the body, blocking while the buffer is full. The
 * first call commits the 200 status. TARN_ECLOSED when the client went
 * away or the server is stopping (stop producing and return). Only the
 * producer's thread may call it. */
int http_stream_write(http_stream *s, const void *data, size_t len);

/* Whether the status is committed (something was written). */
int http_stream_started(const http_stream *s);

/* Registers fn(arg), called once when the stream is cancelled: the client
 * went away (also while nothing was written: a hang-up of the waiting
 * connection is noticed within HTTP_STREAM_WATCH_MS) or the server stops.
 * It runs on a server thread with the stream's lock held, so it must only
 * flag (an atomic store, sql_session_cancel) and must not call
 * http_stream_*. Called at once, on this thread, when the stream is
 * already cancelled. fn NULL unregisters; once this returns, the old fn
 * is not running and will not run. Dropped when the producer returns.
 * Only the producer's thread may call it. */
void http_stream_on_cancel(http_stream *s, void (*fn)(void *arg), void *arg);

/* 1 once the stream is cancelled (the client went away, the server
 * stops): the producer should stop. */
int http_stream_cancelled(const http_stream *s);

/* Before the first write: makes the reply this error (as
 * http_reply_error) and returns 0; the producer then returns nonzero.
 * TARN_ESTATE once the body has started (write an in-band error then);
 * TARN_ENOMEM. */
int http_stream_reply_error(http_stream *s, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Before the first write: makes the reply `status` with `body` (borrowed)
 * as JSON (an error envelope with more fields than code and message).
 * TARN_ESTATE once the body has started; TARN_ENOMEM. */
int http_stream_reply_json(http_stream *s, unsigned status, const json_t *body);

/* ---- deferred replies ---------------------------------------------------
 *
 * For a reply that waits for work done elsewhere (a write committed
 * through Raft) without holding a server thread: the handler calls
 * http_reply_defer, hands the handle to its asynchronous work and returns
 * 0. The server suspends the connection (its thread serves other
 * connections meanwhile); whenever the work ends, on any thread, it fills
 * http_deferred_response(d) and calls http_deferred_finish(d, rc, err)
 * exactly once; the connection is resumed and the reply sent. README
 * "Deferred replies".
 *
 *  - The finish may come before the handler returned: the reply then goes
 *    out at once, without a suspension.
 *  - Once deferred, the reply comes only from the finish, failures to
 *    start the work included (finish with their code; the handler still
 *    returns 0). A handler that returns nonzero after deferring gets its
 *    error reply and the later finish is dropped.
 *  - The finish never blocks on the network and may come after the client
 *    went away or the server stopped (then it only frees): the work's
 *    owner needs no ordering with http_server_stop. http_server_stop does
 *    not wait for unfinished work: it answers those requests 503.
 *  - The request's metrics and log line (status, whole duration) are
 *    written when the reply is queued, on a server thread; 499 when the
 *    client was gone first.
 */
typedef struct http_deferred http_deferred;

/* Makes r a deferred reply (resets r first) and returns its handle.
 * TARN_ENOMEM (nothing deferred; return it from the handler). */
int http_reply_defer(http_response *r, http_deferred **out);

/* The reply that http_deferred_finish sends: status, content type, body,
 * headers (http_reply_json, http_reply_error ... work on it). Only the
 * side that will call finish may touch it, and only before it does. */
http_response *http_deferred_response(http_deferred *d);

/* Ends the deferred work, from any thread, exactly once: rc 0 sends the
 * response as filled (one without a status is a 500); rc != 0 replaces it
 * with the handler error reply for rc (the table above; err's message).
 * d is gone when this returns. */
void http_deferred_finish(http_deferred *d, int rc, const tarn_err *err);

/* Fills out (HTTP_ERROR_ID_MAX bytes) with 16 random hex digits: the id a
 * 5xx message quotes and its log line carries. */
void http_error_id_new(char *out);

/* The stable error code string answered with `status` ("not_found" for
 * 404, "internal" for 500 ...). Static; "error" for statuses not in the
 * table. */
const char *http_status_code_name(unsigned status);

/* ---- routing ---------------------------------------------------------- */

/* What a handler sees about its request (opaque; valid during the call). */
typedef struct http_call http_call;

const http_request *http_call_request(const http_call *c);
/* The percent-decoded value of {name} in the matched pattern, or NULL. */
const char *http_call_param(const http_call *c, const char *name);
/* A request header (case-insensitive), or NULL. */
const char *http_call_header(const http_call *c, const char *name);
/* The authenticated key id ("" for routes without a role) and its role. */
const char *http_call_key_id(const http_call *c);
http_role http_call_role(const http_call *c);
/* The matched pattern ("/v1/keys/{id}"). */
const char *http_call_route(const http_call *c);

/* Parses the body as one JSON object (at most HTTP_JSON_DEPTH_MAX deep).
 * *out is owned by the caller (json_decref). TARN_ESYNTAX with a message
 * saying where the JSON is malformed or that it is not an object;
 * TARN_ENOMEM. */
int http_call_json_body(const http_call *c, json_t **out, tarn_err *err);

/*
 * A handler fills `resp` and returns 0, or returns a TARN_E* code (with a
 * message in err) and leaves the reply to the dispatcher, which maps it:
 *   EINVAL, ESYNTAX, ERANGE -> 400 bad_request (message = err's message)
 *   ENOENT -> 404, EUNAUTH -> 401, EFORBIDDEN -> 403, ETOOBIG -> 413,
 *   EEXIST, ECONFLICT -> 409, EBUSY -> 503,
 *   anything else -> 500 internal with an error id (err's message goes to
 *   the log line only, never to the client).
 * A handler that fails after writing part of resp need not clean up.
 * Handlers run on server threads, concurrently; ctx is theirs.
 */
typedef int (*http_handler_fn)(void *ctx, const http_call *call, http_response *resp,
                               tarn_err *err);

typedef struct http_router http_router;

/* An empty router. TARN_ENOMEM. Also registers the HTTP metric families
 * in obs_global() (TARN_ENOMEM / TARN_EINVAL from obs). */
int http_router_new(http_router **out);
/* Accepts NULL. */
void http_router_free(http_router *r);

/*
 * Adds a route. method: "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"
 * (copied). pattern: "/v1/keys/{id}": literal segments and {name}
 * segments, each matching one non-empty path segment (copied). role: the
 * least role a key needs (HTTP_ROLE_NONE: no key). Errors: TARN_EINVAL (bad
 * method or pattern), TARN_EEXIST (same method and pattern), TARN_ERANGE
 * (HTTP_ROUTES_MAX), TARN_ENOMEM. Not thread-safe: build before serving.
 */
int http_router_add(http_router *r, const char *method, const char *pattern, http_role role,
                    http_handler_fn fn, void *ctx);

/* Changes the role of an existing route (the server uses it for
 * metrics_require_key). TARN_ENOENT when there is no such route. */
int http_router_set_role(http_router *r, const char *method, const char *pattern, http_role role);

/* Adds the built-in routes: GET /health, GET /metrics, GET /v1/whoami,
 * POST /v1/keys, GET /v1/keys, DELETE /v1/keys/{id}. `ks` is borrowed and
 * must outlive the router's use. Errors as http_router_add. */
int http_router_add_builtin(http_router *r, http_keystore *ks);

/* ---- dispatch --------------------------------------------------------- */

typedef struct http_dispatch_env {
    http_router *router;   /* required */
    http_keystore *keys;   /* NULL: routes that need a role answer 401 */
    http_limiter *limiter; /* NULL: no rate limits */
    size_t max_body_bytes; /* bodies longer are 413; 0: HTTP_DEFAULT_BODY_MAX */
} http_dispatch_env;

/*
 * Routes `req` (untrusted) through authentication, the rate limit and the
 * handler, and fills `resp` (initialised by the caller) with the reply,
 * error replies included. Records the request metrics and writes the log
 * line (debug; error level for 5xx, with the error id). Returns 0 when
 * resp holds a reply; TARN_ENOMEM when not even the error reply could be
 * built (the caller answers a static 500). Thread-safe.
 */
int http_dispatch(const http_dispatch_env *env, const http_request *req, http_response *resp);

/* Counts one answered request in the HTTP metrics (used by the dispatcher
 * and by the MHD glue for replies made before dispatch, such as a 413 on
 * Content-Length). route NULL means "unmatched". */
void http_metrics_record(const char *route, const char *method, unsigned status, double seconds);

/* ---- server ------------------------------------------------------------ */

typedef struct http_server_opts {
    const char *listen;                 /* "127.0.0.1:7070"; port 0 = ephemeral; IPv4 only */
    size_t max_body_bytes;              /* default 1 MiB */
    unsigned max_connections;           /* default 256 */
    unsigned connection_timeout_s;      /* idle connections are closed after it; default 30 */
    unsigned threads;                   /* thread pool size; default 2 */
    int metrics_require_key;            /* 1: GET /metrics needs a read key; default 0 */
    double rate_per_s[HTTP_ROLE_COUNT]; /* by http_role; 0 = unlimited */
    double burst[HTTP_ROLE_COUNT];      /* by http_role */
} http_server_opts;

/* Defaults: 127.0.0.1:7070, 1 MiB, 256 connections, 30 s, 2 threads,
 * /metrics open, rates read 100/s burst 200, write 100/s burst 200, admin
 * 50/s burst 100. */
void http_server_opts_default(http_server_opts *o);

typedef struct http_server http_server;

/*
 * Starts serving `router` (borrowed; it must outlive the server and not
 * change) with keys from `ks` (borrowed, may be NULL). Ignores SIGPIPE for
 * the process (a peer closing its socket must not kill us). Errors:
 * TARN_EINVAL (bad listen address or options), TARN_EIO (bind failed,
 * e.g. port in use), TARN_ENOMEM. On error nothing needs freeing.
 */
int http_server_start(const http_server_opts *opts, http_router *router, http_keystore *ks,
                      http_server **out, tarn_err *err);
/* The bound port (the ephemeral one when opts.listen asked for 0). */
uint16_t http_server_port(const http_server *srv);
/* Stops accepting, finishes or cancels in-flight requests, frees. Accepts
 * NULL. Not to be called from a handler. */
void http_server_stop(http_server *srv);

#endif
