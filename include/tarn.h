/*
 * include/tarn.h: Tarn's C client library: the key-value API, the
 * timestamp oracle and the catalog (tables and Delta commits) of a Tarn
 * metadata service (one `tarn local`, or the members of a `tarn
 * cluster`), over HTTP/1.1 keep-alive with libcurl.
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

/* Limits (the server's; checked here before a request is sent). Values:
 * 1 MiB - 1 KiB (1,047,552 bytes), so that the largest put with its key
 * and condition fits in one Raft entry of 1 MiB (src/kv/README.md). */
#define TARN_KV_KEY_MAX_BYTES       500
#define TARN_KV_VALUE_MAX_BYTES     ((1u << 20) - 1024u)
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

/* ---- the catalog: tables and Delta commits (src/catalog/README.md) ------ */

/*
 * Tables and their versions as the metadata service decides them. A
 * commit names the version it read (base_version), a txn_id unique to the
 * commit, and its actions (the newline-delimited JSON of Delta actions,
 * exactly the bytes `_delta_log/<version>.json` will hold). The catalog
 * accepts it only on the latest version (else TARN_ECONFLICT with the
 * latest), or, for a blind append (actions that only add files, written
 * without reading the table), on any base unless a later version changed
 * the table's metadata or protocol; it answers the version assigned.
 *
 * Retries: a commit attempt that got no answer (a lost reply, an attempt
 * timeout, a 503 while leadership moves) is sent again with the same
 * txn_id, so it is applied at most once: the catalog answers a txn_id it
 * has already committed with that first result (duplicate = 1), whatever
 * happened to the earlier attempt. `uncertain` = 1 says such an attempt
 * preceded the answer. A call that ends in TARN_ETIMEDOUT left the
 * outcome unknown: committing again with the same txn_id (and the same
 * base) finds it out.
 */
#define TARN_TABLE_NAME_MAX_BYTES     128 /* [A-Za-z_][A-Za-z0-9_]* */
#define TARN_TXN_ID_MAX_BYTES         64
#define TARN_COMMIT_ACTIONS_MAX_BYTES (4u << 20) /* also bounded by the server's body limit */
#define TARN_VERSIONS_PAGE_MAX        1000
#define TARN_PENDING_PAGE_MAX         4096

/* A table as the catalog records it. Free with tarn_table_info_free. */
typedef struct tarn_table_info {
    char *name;
    uint64_t version;          /* the latest version */
    uint64_t created_id;       /* Raft index of the create: makes metaData.id unique */
    uint64_t metadata_version; /* newest version that changed metadata/protocol (0: none) */
    char *location;            /* "tables/<name>" under the object-store root */
    char *schema;              /* the Delta schema string */
    char **partition_columns;
    size_t n_partition_columns;
    /* When the member that proposed the create read its clock (ms since
     * the epoch): version 0's commit time. 0: unknown (a table created
     * before the catalog kept it, or a server that does not report it). */
    int64_t created_ms;
} tarn_table_info;

void tarn_table_info_free(tarn_table_info *t);

/*
 * Creates table `name` with a Delta schema string (`schema`, the text of
 * a JSON object) and partition columns (borrowed). Version 0 is recorded;
 * *created_id_out (may be NULL) gets the number that makes the table's
 * metaData.id unique. TARN_EEXIST when the name exists, TARN_EINVAL (bad
 * name or schema), TARN_ETOOBIG. A create retried after a lost reply may
 * answer TARN_EEXIST for its own first attempt.
 */
int tarn_table_create(tarn_client *c, const char *name, const char *schema,
                      const char *const *partition_columns, size_t n_partition_columns,
                      const tarn_call_opts *co, uint64_t *created_id_out, tarn_err *err);

/* Drops table `name` (its versions and txn ids; not its files). Needs an
 * admin key. TARN_ENOENT when there is no such table. */
int tarn_table_drop(tarn_client *c, const char *name, const tarn_call_opts *co, tarn_err *err);

/* The table's record and its latest version, linearizable unless
 * co->serializable. *out zeroed on error. TARN_ENOENT: no such table. */
int tarn_table_get(tarn_client *c, const char *name, const tarn_call_opts *co, tarn_table_info *out,
                   tarn_err *err);

/* The latest version of table `name` (tarn_table_get without the rest). */
int tarn_table_latest(tarn_client *c, const char *name, const tarn_call_opts *co,
                      uint64_t *version_out, tarn_err *err);

/* One commit. Every pointer is borrowed for the call. */
typedef struct tarn_commit_req {
    const char *table;
    uint64_t base_version; /* the version the writer read */
    const char *txn_id;    /* 1..TARN_TXN_ID_MAX_BYTES bytes, unique to this commit */
    const char *actions;   /* the commit file's bytes: valid UTF-8, one JSON action a line */
    size_t actions_len;    /* at most TARN_COMMIT_ACTIONS_MAX_BYTES */
    int blind_append;      /* 1: only adds (and commitInfo); may land on a stale base */
} tarn_commit_req;

typedef struct tarn_commit_result {
    uint64_t version; /* the version committed; on TARN_ECONFLICT the latest */
    int duplicate;    /* the txn_id was committed before: its first version */
    int uncertain;    /* an earlier attempt of this call may have applied */
} tarn_commit_result;

/*
 * Commits rq->actions as the next version of rq->table. 0: out->version
 * is the version the catalog assigned (base_version + 1, or later for a
 * blind append). TARN_ECONFLICT: the base is stale (or, for a blind
 * append, a later version changed metadata or protocol); out->version is
 * the latest version. TARN_ENOENT (no table), TARN_EINVAL (malformed
 * actions, a blind append with other than add actions), TARN_ETOOBIG,
 * TARN_ETIMEDOUT (outcome unknown: retry with the same txn_id).
 */
int tarn_commit(tarn_client *c, const tarn_commit_req *rq, const tarn_call_opts *co,
                tarn_commit_result *out, tarn_err *err);

/* A recorded version. */
typedef struct tarn_version {
    uint64_t version;
    char *txn_id; /* NULL for version 0 */
    uint64_t commit_index;
    int log_written;  /* _delta_log/<version>.json is known written */
    int blind_append; /* committed as a blind append */
    int metadata;     /* changed metadata or protocol */
    char *actions;    /* actions_len bytes, NUL-terminated; "" for version 0 */
    size_t actions_len;
} tarn_version;

/* A page of versions. Free with tarn_versions_free. */
typedef struct tarn_versions {
    tarn_version *items;
    size_t count;
    uint64_t latest; /* the table's latest version when read */
    int64_t next;    /* the first version not in this page, -1 when none */
} tarn_versions;

void tarn_versions_free(tarn_versions *v);

/*
 * Versions from..to of table `name` (to < 0: up to the latest), at most
 * `limit` (1..TARN_VERSIONS_PAGE_MAX; 0: 100) and at most about 8 MiB of
 * them, in version order; continue from out->next. A `from` past the
 * latest gives an empty page (a writer polling for new commits).
 * TARN_ENOENT: no such table. *out zeroed on error.
 */
int tarn_versions_read(tarn_client *c, const char *name, uint64_t from, int64_t to, size_t limit,
                       const tarn_call_opts *co, tarn_versions *out, tarn_err *err);

/* Records that `_delta_log/<version>.json` of table `name` is written.
 * TARN_ENOENT: no such table or version. */
int tarn_commit_log_written(tarn_client *c, const char *name, uint64_t version,
                            const tarn_call_opts *co, tarn_err *err);

/* A version whose log file is not recorded as written. */
typedef struct tarn_pending {
    char *table;
    uint64_t version;
} tarn_pending;

/* Up to `limit` (1..TARN_PENDING_PAGE_MAX; 0: the maximum) pending
 * versions, in table then version order; *more = 1 when there are more.
 * *out (free with tarn_pending_free) is NULL when there are none. */
int tarn_catalog_pending(tarn_client *c, size_t limit, const tarn_call_opts *co, tarn_pending **out,
                         size_t *count, int *more, tarn_err *err);
void tarn_pending_free(tarn_pending *p, size_t count);

/* The object-store root the server's tables live in (GET /v1/catalog),
 * copied into buf (cap bytes). TARN_ENOENT when the server does not know
 * one (a `tarn meta` member), TARN_ERANGE when cap is too small. */
int tarn_catalog_store(tarn_client *c, const tarn_call_opts *co, char *buf, size_t cap,
                       tarn_err *err);

#ifdef __cplusplus
}
#endif

#endif
