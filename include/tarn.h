/*
 * include/tarn.h: Tarn's C client library: the key-value API and the
 * timestamp oracle of a Tarn metadata service (one `tarn local`, or the
 * members of a `tarn cluster`), over HTTP/1.1 keep-alive with libcurl.
 * Design note and wire mapping: src/client/README.md.
 *
 * A handle knows a list of endpoints (base URLs such as
 * "http://127.0.0.1:7070") and an API key. Every call:
 *   - goes to the member the handle believes leads (with several members,
 *     the first call asks GET /v1/status who leads), follows a 307/308 to
 *     the leader a follower names (and remembers it), and on a connection
 *     error, an attempt timeout or a 503 moves on to the next endpoint,
 *     backing off after a full round, until the call's deadline;
 *   - has a deadline (tarn_client_opts.timeout_ms, or per call
 *     tarn_call_opts.timeout_ms) covering all of its attempts, and each
 *     attempt has its own shorter timeout (attempt_timeout_ms), so a hung
 *     member costs one attempt, not the call;
 *   - answers 0 or a negative TARN_E* code (base/error.h), with a message
 *     naming the request, the endpoint and the server's answer in `err`.
 *
 * Error codes of every call: TARN_EINVAL (bad argument, or the server's
 * 400), TARN_ETOOBIG (a key, value or count over the limits below; 413),
 * TARN_ENOENT (no such key; 404), TARN_ECONFLICT (a compare failed; 409),
 * TARN_EUNAUTH (401: no or bad API key), TARN_EFORBIDDEN (403: the key's
 * role is too low), TARN_ERATE (429; the message gives Retry-After),
 * TARN_ETIMEDOUT (no member answered within the deadline), TARN_EIO
 * (a malformed or unexpected answer), TARN_EINTERNAL (500), TARN_ENOMEM.
 *
 * Writes and uncertainty. A write attempt that fails after its request may
 * have reached a leader (a reply lost, an attempt timeout, a 503 "outcome
 * unknown") is retried; it may therefore apply twice (an unconditional put
 * then bumps the version once more), and a retried compare-and-swap whose
 * first attempt did apply answers TARN_ECONFLICT. Every write result
 * carries `uncertain` = 1 when such an attempt preceded the answer, so a
 * CAS loop can re-read before concluding it lost.
 *
 * Keys are 1..TARN_KV_KEY_MAX_BYTES bytes without NUL. A key containing
 * '/' cannot be named in a URL path on the server (it decodes %2F before
 * routing), so the library reads it with a one-key scan and writes it with
 * a transaction; such keys (like every key in a transaction) must be valid
 * UTF-8. Keys in scan results are shown as the server sends them (invalid
 * UTF-8 as U+FFFD).
 *
 * Threads: a tarn_client is thread-safe: any number of threads may call
 * any function on one handle at once, except tarn_client_close, which must
 * run alone after every other call returned. Each concurrent caller uses
 * its own libcurl handle (kept in a pool, with its keep-alive connections),
 * so calls never wait for each other. Results (items, pages) belong to
 * the caller.
 */
#ifndef TARN_H
#define TARN_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tarn_client tarn_client;

/* Limits (the server's; checked here before a request is sent). */
#define TARN_KV_KEY_MAX_BYTES       500
#define TARN_KV_VALUE_MAX_BYTES     (1u << 20)
#define TARN_KV_TXN_OPS_MAX         128   /* compares, and puts + deletes, per txn */
#define TARN_KV_SCAN_LIMIT_MAX      1000  /* items per page */
#define TARN_TSO_COUNT_MAX          65536 /* timestamps per request */
#define TARN_CLIENT_ENDPOINTS_MAX   16
#define TARN_CLIENT_URL_MAX         256
#define TARN_CLIENT_KEY_MAX         256
#define TARN_CLIENT_REPLY_MAX_BYTES (64u << 20) /* larger replies are TARN_EIO */

/* Defaults (milliseconds). */
#define TARN_CLIENT_TIMEOUT_MS_DEFAULT         10000
#define TARN_CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT 3000
#define TARN_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT 1000

typedef struct tarn_client_opts {
    /* Base URLs ("http://host:port"), or NULL with n_endpoints 0 when
     * cluster_file names them. Copied by tarn_client_open. */
    const char *const *endpoints;
    size_t n_endpoints;
    /* A `tarn cluster up` file (D/cluster.json): its member URLs are added
     * to `endpoints`, and its admin key is used unless api_key or
     * api_key_file is given. NULL: none. */
    const char *cluster_file;
    const char *api_key;      /* sent as X-API-Key; copied; NULL: none */
    const char *api_key_file; /* read at open (first line); NULL: none */
    int timeout_ms;           /* deadline of a call, retries included; 0: default */
    int attempt_timeout_ms;   /* one HTTP exchange; 0: default; capped by the deadline */
    int connect_timeout_ms;   /* one TCP connect; 0: default */
} tarn_client_opts;

/*
 * Opens a handle. Sends nothing yet (the first call connects). Errors:
 * TARN_EINVAL (no endpoint, a URL that is not http://host:port, more than
 * TARN_CLIENT_ENDPOINTS_MAX, a malformed cluster file), TARN_ENOENT (the
 * cluster or key file cannot be read), TARN_ENOMEM. On error nothing is
 * left to free and *out is untouched.
 */
int tarn_client_open(const tarn_client_opts *opts, tarn_client **out, tarn_err *err);

/* Closes idle connections and frees the handle. Accepts NULL. */
void tarn_client_close(tarn_client *c);

/* The endpoint the handle currently sends to first (its leader guess).
 * Valid until tarn_client_close. */
const char *tarn_client_endpoint(const tarn_client *c);

/* Per-call options; pass NULL for the handle's defaults. */
typedef struct tarn_call_opts {
    int timeout_ms;   /* deadline of this call; 0: the handle's timeout_ms */
    int serializable; /* reads: answered by any member from its own state,
                         without the linearizable ReadIndex barrier */
} tarn_call_opts;

/* A key and its value as stored. Free with tarn_kv_item_free. */
typedef struct tarn_kv_item {
    char *key; /* key_len bytes, NUL-terminated */
    size_t key_len;
    uint8_t *value; /* value_len bytes, NUL-terminated (for printing) */
    size_t value_len;
    uint64_t version;      /* 1 at creation, +1 per put */
    uint64_t mod_index;    /* Raft index of the last change */
    uint64_t create_index; /* Raft index of the creation */
} tarn_kv_item;

void tarn_kv_item_free(tarn_kv_item *it);

/* The condition of a conditional write (compare-and-swap). */
typedef enum tarn_kv_cond_kind {
    TARN_KV_ALWAYS = 0, /* unconditional */
    TARN_KV_IF_VERSION, /* the key is at exactly `version` (>= 1) */
    TARN_KV_IF_ABSENT,  /* the key does not exist (create-only) */
    TARN_KV_IF_VALUE,   /* the key exists with exactly this value */
} tarn_kv_cond_kind;

typedef struct tarn_kv_cond {
    tarn_kv_cond_kind kind;
    uint64_t version;  /* TARN_KV_IF_VERSION */
    const void *value; /* TARN_KV_IF_VALUE; borrowed for the call */
    size_t value_len;
} tarn_kv_cond;

/* What a write did. On TARN_ECONFLICT: `version` and `mod_index` are the
 * key's current ones (version 0: the key is absent) and `failed_compare`
 * the position of the compare that failed. */
typedef struct tarn_kv_result {
    uint64_t version;        /* the key's version after the write; 0 when
                                the server does not say (a transaction
                                without a version compare) */
    uint64_t mod_index;      /* Raft index of the write */
    uint32_t failed_compare; /* TARN_ECONFLICT only */
    int uncertain;           /* an earlier attempt of this call may have
                                been applied (see the header comment) */
} tarn_kv_result;

/*
 * Reads one key. *out is filled on success (free with tarn_kv_item_free)
 * and zeroed otherwise. TARN_ENOENT when the key does not exist.
 */
int tarn_kv_get(tarn_client *c, const void *key, size_t key_len, const tarn_call_opts *co,
                tarn_kv_item *out, tarn_err *err);

/*
 * Writes `value` (value_len bytes, 0..TARN_KV_VALUE_MAX_BYTES; borrowed)
 * under `key`, when `cond` (NULL: unconditional) holds: compare-and-swap
 * by version, by value, or create-only. `out` may be NULL. A failed
 * compare is TARN_ECONFLICT and writes nothing.
 */
int tarn_kv_put(tarn_client *c, const void *key, size_t key_len, const void *value,
                size_t value_len, const tarn_kv_cond *cond, const tarn_call_opts *co,
                tarn_kv_result *out, tarn_err *err);

/*
 * Deletes `key` when `cond` (NULL: unconditional; TARN_KV_IF_VERSION or
 * TARN_KV_IF_VALUE) holds. TARN_ENOENT when the key does not exist,
 * TARN_ECONFLICT when the compare fails. `out` may be NULL.
 */
int tarn_kv_delete(tarn_client *c, const void *key, size_t key_len, const tarn_kv_cond *cond,
                   const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err);

/* A range scan's arguments: keys in [start, end), in byte order. */
typedef struct tarn_kv_scan_opts {
    const void *start; /* NULL or start_len 0: from the first key */
    size_t start_len;
    const void *end; /* NULL or end_len 0: to the last key */
    size_t end_len;
    size_t limit;      /* items per page, 1..TARN_KV_SCAN_LIMIT_MAX; 0: 100 */
    const char *token; /* NULL: the first page; else the previous next_token */
} tarn_kv_scan_opts;

/* One page of a scan. Free with tarn_kv_page_free. */
typedef struct tarn_kv_page {
    tarn_kv_item *items;
    size_t count;
    char *next_token; /* pass as token (same start/end) for the next page;
                         NULL when the range is done */
} tarn_kv_page;

void tarn_kv_page_free(tarn_kv_page *p);

/*
 * One page of [start, end). Pages name the next key, so pages read at
 * different moments neither repeat nor skip keys that exist throughout.
 * A page may hold fewer than `limit` items and still have a next_token
 * (the server caps a reply at 8 MiB). *out is zeroed on error.
 */
int tarn_kv_scan(tarn_client *c, const tarn_kv_scan_opts *so, const tarn_call_opts *co,
                 tarn_kv_page *out, tarn_err *err);

/* A compare of a transaction: `cond` (TARN_KV_IF_VERSION, _IF_ABSENT or
 * _IF_VALUE) on `key`. */
typedef struct tarn_kv_compare {
    const void *key;
    size_t key_len;
    tarn_kv_cond cond;
} tarn_kv_compare;

typedef enum tarn_kv_op_kind { TARN_KV_OP_PUT = 1, TARN_KV_OP_DELETE = 2 } tarn_kv_op_kind;

typedef struct tarn_kv_op {
    tarn_kv_op_kind kind;
    const void *key;
    size_t key_len;
    const void *value; /* TARN_KV_OP_PUT */
    size_t value_len;
} tarn_kv_op;

/*
 * An atomic transaction in one Raft entry: when every compare holds, the
 * puts and deletes apply in order; otherwise nothing does
 * (TARN_ECONFLICT, failed_compare names the first compare that failed).
 * A delete of an absent key is a no-op here. At least one operation, at
 * most TARN_KV_TXN_OPS_MAX compares and as many operations; keys valid
 * UTF-8. All pointers are borrowed for the call. `out` may be NULL;
 * out->version is 0 (a transaction changes several keys).
 */
int tarn_kv_txn(tarn_client *c, const tarn_kv_compare *cmps, size_t n_cmps, const tarn_kv_op *ops,
                size_t n_ops, const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err);

/*
 * Asks the timestamp oracle for `count` (1..TARN_TSO_COUNT_MAX)
 * timestamps: *first_out .. *first_out + count - 1, each physical_ms << 18
 * | logical, strictly greater than any timestamp handed out before the
 * call began (across leader changes and restarts). A request retried
 * after a lost reply only skips numbers. Batching (count > 1) is how a
 * client gets many timestamps cheaply.
 */
int tarn_tso(tarn_client *c, uint32_t count, const tarn_call_opts *co, uint64_t *first_out,
             tarn_err *err);

/* The physical part (Unix milliseconds) of a timestamp. */
static inline uint64_t tarn_tso_physical_ms(uint64_t ts)
{
    return ts >> 18;
}

#ifdef __cplusplus
}
#endif

#endif
