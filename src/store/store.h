/*
 * store/store.h: the replicated state machine on LMDB. Design note:
 * src/store/README.md (the apply contract, snapshot format, crash
 * behaviour).
 *
 * The host (node/) hands committed Raft entries to store_apply. One LMDB
 * write transaction applies the whole batch and records the applied index
 * and term in the same transaction, so after any crash the applied index
 * names exactly the last entry whose effects are in the database.
 *
 * Commands are dispatched on their first byte (the command type) to
 * handlers that the faces (kv/, catalog/) put into a store_registry; store/
 * knows nothing about them. Handlers see a store_txn and read and write
 * through store_txn_get/put/del and cursors.
 *
 * Key space: one LMDB database; every key starts with a table byte so faces
 * cannot collide. Table and command-type bytes are allocated here:
 *
 *   | range     | owner    |
 *   |-----------|----------|
 *   | 0x00      | store/ itself (applied index, format version) |
 *   | 0x10-0x1f | kv/      |
 *   | 0x20-0x2f | catalog/ |
 *   | 0x30-0x3f | doc/ (planned) |
 *
 * Invariants:
 *  1. The applied (index, term) and the effects of every entry up to it are
 *     committed in the same LMDB transaction; nothing above it is visible.
 *  2. store_apply applies entries in index order with no gaps: the first
 *     entry not yet applied must be applied_index + 1.
 *  3. A handler's deterministic outcome (a failed compare, a malformed
 *     command) is a result, and its partial writes are rolled back (each
 *     entry runs in a nested transaction). Only an error that is not a
 *     property of the command (I/O, out of memory, map full) aborts the
 *     batch.
 *  4. After an I/O error the handle refuses further work (TARN_ESTATE)
 *     until reopened, because LMDB's state is then unknown.
 *
 * Threads: store_apply, store_sync, store_snapshot_open and store_close
 * are called by one thread at a time (node/: its apply thread, or its loop
 * thread once the apply thread is drained and idle). Read transactions (store_read_begin/end) may
 * be used from any thread, concurrently with apply; each store_txn belongs
 * to one thread at a time.
 */
#ifndef TARN_STORE_STORE_H
#define TARN_STORE_STORE_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_txn store_txn;
typedef struct store_cursor store_cursor;
typedef struct store_snapshot store_snapshot;
typedef struct store_install store_install;

/* Longest key a face may pass (table byte not included). LMDB's limit in
 * Debian's build is 511 bytes; the table byte takes one. */
#define STORE_KEY_MAX_BYTES 510
/* Largest value (LMDB stores big values on overflow pages). */
#define STORE_VALUE_MAX_BYTES (16u << 20)
/* Most entries one store_apply call takes. */
#define STORE_BATCH_MAX 4096
/* Default LMDB map size when opts.map_size_bytes is 0. */
#define STORE_MAP_SIZE_DEFAULT ((size_t)1 << 30)
/* Largest chunk store_snapshot_read hands out. */
#define STORE_SNAPSHOT_CHUNK_MAX (1u << 20)

/* Table bytes of store/ itself. */
#define STORE_TABLE_META 0x00

/* How hard a commit pushes to disk. Losing the last batches in a machine
 * crash is safe for a Raft state machine (the applied index goes back with
 * them and the host replays from the WAL, which it compacts only below a
 * store_sync), but a corrupt file is not. */
typedef enum store_durability {
    STORE_DURABLE_FULL = 0, /* fsync data and meta page on every commit (2 fsyncs) */
    STORE_DURABLE_DATA = 1, /* MDB_NOMETASYNC: one fsync per commit; a machine crash
                               may undo the last commit, never corrupts */
    STORE_DURABLE_NONE = 2, /* MDB_NOSYNC: no fsync; safe against process kills
                               only (tests, benchmarks) */
} store_durability;

typedef struct store_opts {
    size_t map_size_bytes;       /* LMDB map size; 0: STORE_MAP_SIZE_DEFAULT */
    store_durability durability; /* default STORE_DURABLE_FULL */
    int max_readers;             /* concurrent read transactions; 0: 126 */
} store_opts;

/* One committed Raft entry. data is borrowed for the call. */
typedef struct store_entry {
    uint64_t index; /* Raft log index, > 0 */
    uint64_t term;  /* Raft term */
    const uint8_t *data;
    size_t len; /* 0: an empty entry (leader no-op, or a membership change
                   the host does not route here): only advances the index */
} store_entry;

/* What applying one entry produced, for the client that proposed it. */
typedef struct store_result {
    int code;      /* TARN_OK, or the deterministic failure (TARN_ECONFLICT
                      for a failed compare, TARN_EINVAL for a malformed
                      command, TARN_ETOOBIG, TARN_ENOENT, TARN_EEXIST,
                      TARN_ENOTSUP for an unknown command type) */
    int skipped;   /* 1: at or below the applied index; nothing was done */
    uint8_t *data; /* face-defined reply bytes (kv_result_decode ...), owned
                      by the result; NULL when none */
    size_t len;
} store_result;

/*
 * A handler applies one command. It reads and writes through txn, fills
 * res->code (and optionally res->data, allocated with tarn_malloc) and
 * returns 0. It returns a negative code only when the outcome is not a
 * property of the command (TARN_ENOMEM, TARN_EIO, TARN_ETOOBIG for a full
 * map): the whole batch is then rolled back. A handler must be
 * deterministic: the same state and command give the same writes and
 * result on every replica.
 */
typedef int (*store_apply_fn)(void *ctx, store_txn *txn, const store_entry *e, store_result *res);

/* Command type -> handler. Zero-initialise, then store_registry_set. */
typedef struct store_registry {
    store_apply_fn fn[256];
    void *ctx[256];
} store_registry;

/* Registers fn for command type `type` (the first byte of an entry).
 * TARN_EEXIST when the type is taken; TARN_EINVAL for type 0 (reserved). */
int store_registry_set(store_registry *reg, uint8_t type, store_apply_fn fn, void *ctx);

/*
 * Opens (creating when absent) the state machine in directory dir, which
 * must exist. Removes a snapshot install that a crash left behind.
 * Errors: TARN_EIO, TARN_ENOMEM, TARN_ECORRUPT (not a Tarn store, or a
 * newer format). On error nothing is left to free. dir is copied. LMDB
 * allows several processes on one environment; only one may apply, which
 * the host guarantees by locking its data directory. Within one process
 * open a directory once (LMDB's rule).
 */
int store_open(const char *dir, const store_opts *opts, store **out, tarn_err *err);
/* Closes; no read transaction may be open. An open write transaction
 * (store_apply_open) is rolled back. Accepts NULL. */
void store_close(store *st);

/* Forces everything committed so far to disk (whatever the durability),
 * so the host may then compact its WAL up to store_applied_index.
 * TARN_EIO makes the handle unusable. TARN_EINVAL while a write
 * transaction is open (store_commit first). */
int store_sync(store *st, tarn_err *err);

/* The index and term of the last committed applied entry (0, 0 when
 * none): what readers see and what survives a crash. */
uint64_t store_applied_index(const store *st);
uint64_t store_applied_term(const store *st);

/*
 * Applies entries[0..n) (ascending, contiguous indexes) in one write
 * transaction; results[i] receives entry i's result (free each with
 * store_result_free, also after an error). Entries at or below the applied
 * index are skipped (results[i].skipped = 1). Errors: TARN_EINVAL (n >
 * STORE_BATCH_MAX, indexes not contiguous, or the first new entry is not
 * applied_index + 1); TARN_ENOMEM / TARN_ETOOBIG (map full): nothing was
 * applied, the handle stays usable; TARN_EIO: nothing was applied and the
 * handle is unusable (TARN_ESTATE from then on).
 */
int store_apply(store *st, const store_entry *entries, size_t n, const store_registry *reg,
                store_result *results, tarn_err *err);
void store_result_free(store_result *res);

/*
 * Deferred commit (README "Deferred commit"). store_apply_open applies
 * like store_apply, into a write transaction it keeps open across calls
 * (begun by the first call after a commit), and records the applied index
 * in it; results are final (the host may answer its clients with them:
 * the entries are durable in its log, and applying them again after a
 * crash gives the same results). Nothing of it is visible to readers or
 * durable until store_commit, which commits the transaction (one fsync
 * under STORE_DURABLE_DATA) however many calls it spans. The index the
 * next entry must follow is store_open_index. The same thread makes every
 * call from store_apply_open to the store_commit or store_rollback that
 * ends the transaction (an LMDB write transaction belongs to its thread),
 * and store_sync and store_snapshot_open refuse while it is open.
 *
 * Errors of store_apply_open as store_apply, except that any error also
 * rolls back everything applied since the last commit (the host replays
 * it from its log). store_commit: 0 with nothing open; TARN_EIO makes the
 * handle unusable; on any error nothing since the last commit was made
 * durable.
 */
int store_apply_open(store *st, const store_entry *entries, size_t n, const store_registry *reg,
                     store_result *results, tarn_err *err);
int store_commit(store *st, tarn_err *err);
/* Aborts the open write transaction, if any. */
void store_rollback(store *st);
/* The applied index inside the open transaction (the committed one when
 * none is open), and how many entries it holds. */
uint64_t store_open_index(const store *st);
size_t store_open_entries(const store *st);

/* Read-only view of the last committed state. TARN_EBUSY when all reader
 * slots are taken; TARN_ENOMEM; TARN_ESTATE. End every view with
 * store_read_end before store_close. */
int store_read_begin(store *st, store_txn **out, tarn_err *err);
void store_read_end(store_txn *txn);

/* ---- inside a transaction (handlers and readers) ---- */

/* Raft index/term of the entry being applied; 0 in a read transaction. */
uint64_t store_txn_index(const store_txn *txn);
uint64_t store_txn_term(const store_txn *txn);

/* The applied index and term the transaction's view contains (in a read
 * transaction: the last batch committed when it began; node/ compares it
 * with a ReadIndex, and serializable reads can report it). TARN_ECORRUPT,
 * TARN_EIO. */
int store_txn_applied(store_txn *txn, uint64_t *index, uint64_t *term);

/* Looks up table/key. *val is borrowed until the transaction ends or the
 * next write in it. TARN_ENOENT when absent; TARN_EINVAL for a key that is
 * empty or longer than STORE_KEY_MAX_BYTES; TARN_EIO. */
int store_txn_get(store_txn *txn, uint8_t table, const void *key, size_t klen, const void **val,
                  size_t *vlen);
/* Writes table/key = val (copied). TARN_EINVAL in a read transaction or for
 * a bad key; TARN_ETOOBIG when the map is full; TARN_EIO. */
int store_txn_put(store_txn *txn, uint8_t table, const void *key, size_t klen, const void *val,
                  size_t vlen);
/* Deletes table/key. TARN_ENOENT when absent. */
int store_txn_del(store_txn *txn, uint8_t table, const void *key, size_t klen);

/* A cursor over one table in key byte order. Close before the transaction
 * ends. TARN_ENOMEM, TARN_EIO. */
int store_cursor_open(store_txn *txn, uint8_t table, store_cursor **out);
void store_cursor_close(store_cursor *c);
/* Positions at the first key >= key (klen 0: the table's first key) and
 * returns it; store_cursor_next moves on. TARN_ENOENT past the table's last
 * key. Key and value are borrowed until the next cursor call or write. */
int store_cursor_seek(store_cursor *c, const void *key, size_t klen, const void **k, size_t *kl,
                      const void **v, size_t *vl);
int store_cursor_next(store_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);

/* ---- snapshots (README: "Snapshots") ---- */

/* Metadata of a snapshot stream. */
typedef struct store_snapshot_info {
    uint64_t index;      /* applied index the snapshot contains */
    uint64_t term;       /* its term */
    uint64_t size_bytes; /* whole stream length, header included */
} store_snapshot_info;

/*
 * Takes a consistent, compacted copy of the state (into an unlinked
 * temporary file in the store directory) and opens it as a stream:
 * store_snapshot_read hands out the bytes in chunks of at most cap bytes
 * (cap <= STORE_SNAPSHOT_CHUNK_MAX). Safe concurrently with readers; the
 * apply thread may apply while a snapshot is read. Errors: TARN_EIO,
 * TARN_ENOMEM, TARN_ESTATE.
 */
int store_snapshot_open(store *st, store_snapshot **out, store_snapshot_info *info, tarn_err *err);
/* Copies up to cap bytes at the current position into buf; *len is 0 at
 * the end. TARN_EIO. */
int store_snapshot_read(store_snapshot *snap, void *buf, size_t cap, size_t *len, tarn_err *err);
void store_snapshot_close(store_snapshot *snap);

/*
 * Installs a snapshot stream into store directory dir, whose store must be
 * CLOSED (the host closes it, installs, reopens). The stream is written to
 * a file beside the live one; finish verifies it (header, length, CRC32C,
 * that LMDB opens it and its applied index matches the header), fsyncs it,
 * renames it over the live file and fsyncs the directory. A crash before
 * the rename leaves the old state; store_open removes the leftover.
 * begin: TARN_EIO, TARN_ENOMEM. write: TARN_ECORRUPT for a bad header or
 * too many bytes, TARN_EIO. finish: TARN_ECORRUPT, TARN_EIO; the install is
 * freed either way, and on error the old state is untouched. abort frees
 * and removes the partial file; accepts NULL.
 */
int store_install_begin(const char *dir, store_install **out, tarn_err *err);
int store_install_write(store_install *in, const void *data, size_t len, tarn_err *err);
int store_install_finish(store_install *in, store_snapshot_info *info, tarn_err *err);
void store_install_abort(store_install *in);

#endif
