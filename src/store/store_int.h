/*
 * store/store_int.h: what store.c, txn.c and snapshot.c share. Not for
 * other modules.
 */
#ifndef TARN_STORE_INT_H
#define TARN_STORE_INT_H

#include "obs/obs.h"
#include "store/store.h"

#include <lmdb.h>
#include <stdatomic.h>

/* File names inside the store directory (README: "Files"). */
#define STORE_FILE_DATA    "state.mdb"
#define STORE_FILE_INSTALL "state.mdb.install"
#define STORE_FILE_SNAPTMP "snapshot.tmp"

/* Meta keys in table STORE_TABLE_META. */
#define STORE_META_APPLIED   "applied" /* u64 index LE, u64 term LE */
#define STORE_META_FORMAT    "format"  /* u32 LE */
#define STORE_FORMAT_VERSION 1u

struct store {
    MDB_env *env;
    MDB_dbi dbi;
    char *dir;              /* owned */
    uint64_t applied_index; /* mirror of the committed meta record */
    uint64_t applied_term;
    /* Sticky: nonzero after an I/O error. Atomic because the apply thread
     * sets it while readers check it in store_read_begin. */
    _Atomic int failed;
    /* The write transaction store_apply_open keeps open between commits
     * (README "Deferred commit"); NULL when none. open_index/open_term:
     * the applied record inside it (== applied_* when none is open). */
    MDB_txn *open_txn;
    uint64_t open_index, open_term;
    size_t open_entries;            /* entries applied in it */
    obs_series_t *m_applied;        /* gauge; NULL when metrics are unavailable */
    obs_series_t *m_batch;          /* histogram of entries per store_apply_open call */
    obs_series_t *m_latency;        /* histogram of seconds per call (no commit) */
    obs_series_t *m_commit_entries; /* histogram of entries per LMDB commit */
    obs_series_t *m_commit_latency; /* histogram of seconds per commit (with its fsync) */
};

struct store_txn {
    MDB_txn *txn;
    MDB_dbi dbi;
    int rdonly;
    uint64_t index; /* entry being applied; 0 for readers */
    uint64_t term;
};

/* Maps an LMDB (or errno) return code to TARN_E*. */
int store_mdb_code(int rc);
/* Nonzero when code leaves LMDB's state unknown (the handle turns sticky). */
int store_code_is_fatal(int code);

/* Builds "dir/name" with tarn_malloc; NULL on ENOMEM. */
char *store_path(const char *dir, const char *name);
/* fsyncs a directory so a rename or unlink in it is durable. */
int store_fsync_dir(const char *dir);

/* Removes what a crash left of a snapshot or install (snapshot.c). */
int store_remove_leftovers(const char *dir, tarn_err *err);

/* Writes the applied (index, term) record. */
int store_meta_write_applied(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint64_t term);

/* Reads the applied (index, term) from a transaction; 0, 0 when absent. */
int store_meta_read_applied(MDB_txn *txn, MDB_dbi dbi, uint64_t *index, uint64_t *term);

static inline void store_le64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t store_le64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
