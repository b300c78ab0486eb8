/*
 * client/client_int.h: the client library's insides (include/tarn.h is the
 * interface; src/client/README.md the design note).
 *
 * Invariants:
 *  1. urls[0 .. n_urls) never change once published: n_urls only grows
 *     (under mu, release-stored), so readers index them without a lock.
 *  2. leader < n_urls always; it is only a guess, any value is safe. It is
 *     stored with release and loaded with acquire, so that a thread that
 *     reads an index another thread just added also sees its URL.
 *  3. A pooled connection (client_conn) is used by one call at a time: a
 *     call takes it from the pool and gives it back when done.
 */
#ifndef TARN_CLIENT_CLIENT_INT_H
#define TARN_CLIENT_CLIENT_INT_H

#include "tarn.h"

#include "base/buf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Retries back off from BACKOFF_MIN to BACKOFF_MAX after a full round of
 * endpoints failed; a redirect to the member that just redirected (two
 * members each naming the other during an election) counts as a failure. */
#define CLIENT_BACKOFF_MIN_MS 5
#define CLIENT_BACKOFF_MAX_MS 200
/* Longest wait for a GET /v1/status leader probe (also capped by the
 * attempt timeout and the call's deadline). */
#define CLIENT_PROBE_TIMEOUT_MS 1000
/* Cap of a cluster or key file. */
#define CLIENT_FILE_MAX_BYTES (1u << 20)
/* Longest request path with its query (a scan: three percent-encoded keys). */
#define CLIENT_PATH_MAX (16 * TARN_KV_KEY_MAX_BYTES)

typedef struct client_conn {
    void *curl; /* CURL *, with its keep-alive connections */
    struct client_conn *next;
    char errbuf[256]; /* CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE) */
} client_conn;

struct tarn_client {
    char urls[TARN_CLIENT_ENDPOINTS_MAX][TARN_CLIENT_URL_MAX]; /* invariant 1 */
    atomic_size_t n_urls;
    atomic_size_t leader; /* index into urls: the first one tried */
    atomic_int probe;     /* 1: ask GET /v1/status who leads before the next call */
    pthread_mutex_t mu;   /* guards adding urls and the pool */
    client_conn *pool;    /* idle connections, most recent first */
    char key_header[TARN_CLIENT_KEY_MAX + 16]; /* "X-API-Key: ..." or "" */
    int timeout_ms, attempt_timeout_ms, connect_timeout_ms;
};

/* One HTTP request as the call loop sends it to whichever member. */
typedef struct client_req {
    const char *method; /* GET, PUT, POST, DELETE */
    const char *path;   /* "/v1/kv/abc?x=y", already encoded */
    const void *body;   /* NULL: no body */
    size_t body_len;
    const char *content_type; /* with a body */
    const char *if_match;     /* header value or NULL */
    int if_none_match_any;    /* sends If-None-Match: * */
    int is_write;             /* a lost reply leaves the outcome unknown */
    const char *what;         /* for messages: "put 'abc'" */
} client_req;

/* The final answer of a call. */
typedef struct client_reply {
    long status;
    tarn_buf body; /* at most TARN_CLIENT_REPLY_MAX_BYTES */
    int uncertain; /* an earlier write attempt may have been applied */
    char location[TARN_CLIENT_URL_MAX + CLIENT_PATH_MAX]; /* of a 307/308 */
    long retry_after_s;                                   /* of a 429; -1 when absent */
} client_reply;

void client_reply_init(client_reply *rp);
void client_reply_free(client_reply *rp);

/*
 * Sends rq until a member answers with a final status or the deadline
 * passes (include/tarn.h: leader finding, retries). Returns 0 for 2xx,
 * else the code of the status (404 TARN_ENOENT, 409 TARN_ECONFLICT ...)
 * with a message from the error envelope; rp->status and rp->body hold
 * the answer either way. TARN_ETIMEDOUT when no member answered.
 */
int client_call(tarn_client *c, const client_req *rq, const tarn_call_opts *co, client_reply *rp,
                tarn_err *err);

/* ---- transport.c: one exchange with one member ------------------------ */

typedef enum client_xfer {
    CLIENT_XFER_DONE,      /* a status arrived */
    CLIENT_XFER_NOT_SENT,  /* nothing reached the member (connect failed) */
    CLIENT_XFER_AMBIGUOUS, /* the request may have arrived; no answer */
    CLIENT_XFER_FATAL,     /* our own failure (memory, reply too big) */
} client_xfer;

client_conn *client_conn_take(tarn_client *c);
void client_conn_give(tarn_client *c, client_conn *conn);
void client_conn_free(client_conn *conn);

/* One attempt against base_url within timeout_ms. Fills rp (status, body,
 * location, retry_after_s) when CLIENT_XFER_DONE; a message in err
 * otherwise. */
client_xfer client_exchange(tarn_client *c, client_conn *conn, const char *base_url,
                            const client_req *rq, int timeout_ms, client_reply *rp, tarn_err *err);

/* ---- codec.c: base64, percent-encoding, JSON helpers ------------------ */

/* Appends standard padded base64 of p[0..len). */
int client_b64_append(tarn_buf *b, const void *p, size_t len);
/* Decodes padded base64 into a tarn_malloc'd, NUL-terminated buffer.
 * TARN_EINVAL for malformed text, TARN_ENOMEM. */
int client_b64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);
/* Appends p[0..len) percent-encoded: everything but ALPHA DIGIT - _ ~. */
int client_pct_append(tarn_buf *b, const void *p, size_t len);
/* Writes a short printable form of a key for messages ('...' when cut). */
void client_key_show(const void *key, size_t len, char *out, size_t cap);
/* Checks a key: 1..TARN_KV_KEY_MAX_BYTES bytes, no NUL. */
int client_key_check(const void *key, size_t len, tarn_err *err);
/* Whether p[0..len) is valid UTF-8 (the JSON body of a txn needs it). */
int client_utf8_valid(const void *p, size_t len);
/* Parses a JSON object from the reply body; TARN_EIO with a message when
 * it is not one. The caller json_decref()s *out. */
int client_json_object(const client_reply *rp, const char *what, void **out, tarn_err *err);
/* obj.name as a non-negative integer; TARN_EIO when missing or wrong. */
int client_json_u64(void *obj, const char *name, const char *what, uint64_t *out, tarn_err *err);

/* ---- client.c -------------------------------------------------------- */

/* Index of base_url in urls, adding it when new and there is room;
 * (size_t)-1 when there is none. */
size_t client_url_find_or_add(tarn_client *c, const char *base_url);

#endif
