/*
 * catalog/catalog.h: the lakehouse table rules as state-machine commands:
 * create and drop tables, commit versions with optimistic concurrency and
 * idempotent transaction ids, and the per-version "Delta log written"
 * flag. Formats are tables in codec.c and apply.c; the protocol is in
 * ../shared/ARCHITECTURE.md ("Commit protocol").
 *
 * Rules applied by every replica:
 *  1. Creating a table records version 0 (empty actions; the Delta writer
 *     builds 00000000000000000000.json from the table's schema, partition
 *     columns, Raft index and the proposer's time, created_ms, which the
 *     table record keeps). Creating a name that exists answers TARN_EEXIST
 *     with the latest version.
 *  2. A commit is accepted only when base_version equals the latest
 *     version; the new version is latest + 1, recorded with its actions
 *     and txn_id. A stale base answers TARN_ECONFLICT carrying the latest
 *     version.
 *  3. A txn_id already committed to the table answers the FIRST result
 *     again (TARN_OK, same version, duplicate = 1), whatever the base, as
 *     long as the id is inside the retention window:
 *     CATALOG_TXN_WINDOW_ENTRIES Raft entries after its commit. Expired
 *     ids are pruned deterministically, at most CATALOG_TXN_PRUNE_MAX per
 *     applied commit.
 *  4. Every version starts with log_written = 0 and sits in the pending
 *     list until a log-written command for it is applied, so a new leader
 *     finds the `_delta_log/<v>.json` writes its predecessor left undone
 *     (catalog_pending_logs).
 *  5. Dropping a table removes its record, versions, txn ids and pending
 *     log writes in the same entry.
 *  6. A blind append (COMMIT2 with CATALOG_COMMIT_BLIND_APPEND: actions
 *     that only add files, written without reading the table, Delta's
 *     isBlindAppend) is accepted on a stale base too, as version latest +
 *     1, unless a version after its base changed the table's metadata or
 *     protocol (then TARN_ECONFLICT with the latest version, as rule 2). A
 *     base beyond the latest is always a conflict. The table remembers the
 *     newest version whose commit carried CATALOG_COMMIT_METADATA
 *     (CATALOG_TABLE_META_VERSION; absent: 0, the create), so the check
 *     costs one read whatever the distance to the base.
 *
 * Threads: encoding and decoding are pure; the handlers run on the apply
 * thread; reads run on any thread with its own read transaction.
 */
#ifndef TARN_CATALOG_CATALOG_H
#define TARN_CATALOG_CATALOG_H

#include "base/buf.h"
#include "base/error.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* Command types (store.h allocates 0x20-0x2f to catalog). */
#define CATALOG_CMD_CREATE      0x20
#define CATALOG_CMD_DROP        0x21
#define CATALOG_CMD_COMMIT      0x22
#define CATALOG_CMD_LOG_WRITTEN 0x23
#define CATALOG_CMD_COMMIT2     0x24 /* a commit with flags (rule 6) */

/* Flags of a COMMIT2. The proposer classifies the actions
 * (catalog_actions_classify); the two are exclusive. */
#define CATALOG_COMMIT_BLIND_APPEND 0x01 /* only adds (and commitInfo); rule 6 */
#define CATALOG_COMMIT_METADATA     0x02 /* holds a metaData or protocol action */
#define CATALOG_COMMIT_FLAGS_ALL    0x03

/* Tables (README-style layouts in apply.c). */
#define CATALOG_TABLE_TABLES   0x20 /* name -> table record */
#define CATALOG_TABLE_VERSIONS 0x21 /* name_len, name, version BE -> version record */
#define CATALOG_TABLE_TXNS     0x22 /* name_len, name, txn_id -> version, commit index */
#define CATALOG_TABLE_EXPIRY   0x23 /* commit index BE, name_len, name, txn_id -> "" */
#define CATALOG_TABLE_PENDING  0x24 /* name_len, name, version BE -> "" */
#define CATALOG_TABLE_META_VERSION                                                                 \
    0x25 /* name_len, name -> newest version with CATALOG_COMMIT_METADATA, u64 */

#define CATALOG_FORMAT_VERSION 1

/* Limits, enforced on encode and on apply. */
#define CATALOG_NAME_MAX_BYTES     128 /* [A-Za-z_][A-Za-z0-9_]* */
#define CATALOG_LOCATION_MAX_BYTES 1024
#define CATALOG_SCHEMA_MAX_BYTES   (256u << 10)
#define CATALOG_PARTS_MAX          32
#define CATALOG_PART_MAX_BYTES     128
#define CATALOG_TXN_ID_MAX_BYTES   64
#define CATALOG_ACTIONS_MAX_BYTES  (4u << 20)
/* How long a txn_id answers retries: this many Raft entries after its
 * commit (about a day at 10 commits/s). */
#define CATALOG_TXN_WINDOW_ENTRIES 1000000u
#define CATALOG_TXN_PRUNE_MAX      64

typedef struct catalog_bytes {
    const uint8_t *p; /* borrowed */
    size_t len;
} catalog_bytes;

typedef struct catalog_create {
    catalog_bytes name;
    catalog_bytes location; /* object-store URL or path of the table */
    catalog_bytes schema;   /* JSON text; the catalog stores it as given */
    size_t n_parts;
    catalog_bytes parts[CATALOG_PARTS_MAX]; /* partition column names */
    /* The proposer's wall clock when it proposed the create (ms since the
     * epoch; version 0's commit time), or 0: unknown (the field is left
     * out of the command, as creates before it was added are). */
    int64_t created_ms;
} catalog_create;

/* A decoded command; pointers borrow from the decoded bytes. */
typedef struct catalog_cmd {
    uint8_t type;
    catalog_create create; /* CREATE (name is set for every type) */
    uint64_t version;      /* COMMIT: base version; LOG_WRITTEN: the version */
    uint8_t flags;         /* COMMIT2: CATALOG_COMMIT_*; 0 for COMMIT */
    catalog_bytes txn_id;  /* COMMIT, COMMIT2 */
    catalog_bytes actions; /* COMMIT, COMMIT2 */
} catalog_cmd;

/* Encoders append one command. TARN_EINVAL (bad name, empty txn id, NULL
 * pointers), TARN_ETOOBIG (a limit), TARN_ENOMEM; out unchanged on error. */
int catalog_encode_create(tarn_buf *out, const catalog_create *c);
int catalog_encode_drop(tarn_buf *out, const char *name, size_t name_len);
int catalog_encode_commit(tarn_buf *out, const char *name, size_t name_len, uint64_t base_version,
                          const void *txn_id, size_t txn_id_len, const void *actions,
                          size_t actions_len);
/* A commit with CATALOG_COMMIT_* flags (rule 6). TARN_EINVAL also for
 * unknown flags or both flags at once. */
int catalog_encode_commit2(tarn_buf *out, const char *name, size_t name_len, uint64_t base_version,
                           uint8_t flags, const void *txn_id, size_t txn_id_len,
                           const void *actions, size_t actions_len);
int catalog_encode_log_written(tarn_buf *out, const char *name, size_t name_len, uint64_t version);

/*
 * Classifies a commit's actions (newline-delimited JSON objects, one
 * Delta action each; empty lines skipped) for the flags of a COMMIT2:
 * *metadata_out = 1 when a line is a metaData or protocol action;
 * *add_only_out = 1 when every line is an add or a commitInfo (and there
 * is at least one add). Untrusted input: TARN_EINVAL with the line number
 * in msg (msg_cap bytes, may be NULL) for a line that is not a JSON object
 * naming its action, TARN_ENOMEM. Pure and thread-safe.
 */
int catalog_actions_classify(const void *actions, size_t len, int *add_only_out, int *metadata_out,
                             char *msg, size_t msg_cap);

/* Decodes untrusted bytes: TARN_EINVAL when malformed, TARN_ETOOBIG past a
 * limit. Never reads outside data[0..len). */
int catalog_decode(const uint8_t *data, size_t len, catalog_cmd *cmd);

/* Registers the catalog handlers. TARN_EEXIST on a clash. */
int catalog_register(store_registry *reg);

/*
 * A catalog command's result. code: TARN_OK (version: created 0, committed
 * version, or the version marked written; duplicate = 1 for a retried
 * txn_id), TARN_EEXIST (create: version = latest), TARN_ECONFLICT (commit:
 * version = latest), TARN_ENOENT (no such table or version), TARN_EINVAL /
 * TARN_ETOOBIG (malformed command).
 */
typedef struct catalog_result {
    int code;
    uint64_t version;
    int duplicate;
} catalog_result;

int catalog_result_decode(const store_result *r, catalog_result *out);

/* ---- reads (in a store read transaction) ---- */

typedef struct catalog_table {
    uint64_t latest_version;
    uint64_t created_index; /* Raft index of the create */
    int64_t created_ms;     /* the create's catalog_create.created_ms; 0: unknown */
    catalog_bytes location, schema;
    size_t n_parts;
    catalog_bytes parts[CATALOG_PARTS_MAX];
} catalog_table;

typedef struct catalog_version {
    int log_written;       /* 1 once _delta_log/<v>.json is known written */
    uint8_t flags;         /* CATALOG_COMMIT_* the commit carried */
    uint64_t commit_index; /* Raft index of the commit */
    catalog_bytes txn_id;  /* empty for version 0 */
    catalog_bytes actions; /* the committed actions blob */
} catalog_version;

/* TARN_ENOENT, TARN_EINVAL (bad name), TARN_ECORRUPT, TARN_EIO. Pointers
 * borrow from the transaction. */
int catalog_table_get(store_txn *txn, const char *name, size_t name_len, catalog_table *out);
int catalog_version_get(store_txn *txn, const char *name, size_t name_len, uint64_t version,
                        catalog_version *out);
/* The newest version of the table whose commit changed its metadata or
 * protocol (0: none since the create). TARN_EINVAL, TARN_ECORRUPT. */
int catalog_meta_version_get(store_txn *txn, const char *name, size_t name_len, uint64_t *out);

/* Calls fn for each table name after `after` (NULL: from the first), in
 * byte order, at most limit times; fn returns nonzero to stop. */
typedef int (*catalog_name_fn)(void *ctx, const char *name, size_t name_len);
int catalog_table_list(store_txn *txn, const char *after, size_t after_len, size_t limit,
                       catalog_name_fn fn, void *ctx);

/* Calls fn for each version whose log is not yet written, ordered by
 * table name, then version (what a new leader must finish). */
typedef int (*catalog_pending_fn)(void *ctx, const char *name, size_t name_len, uint64_t version);
int catalog_pending_logs(store_txn *txn, catalog_pending_fn fn, void *ctx);

#endif
