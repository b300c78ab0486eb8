/*
 * delta/log_int.h: the log listing and replay shared by log.c, replay.c
 * and checkpoint.c. Design note: delta/README.md.
 */
#ifndef TARN_DELTA_LOG_INT_H
#define TARN_DELTA_LOG_INT_H

#include "delta/delta_int.h"

/* A checkpoint seen in the listing: complete when nseen == parts. */
typedef struct delta_cp {
    int64_t version;
    uint32_t parts; /* 1 for a classic single-file checkpoint */
    uint32_t nseen;
} delta_cp;

/* What `_delta_log/` holds, in ascending version order. */
typedef struct delta_listing {
    int64_t *versions; /* JSON commits */
    size_t nversions, v_cap;
    delta_cp *checkpoints;
    size_t ncheckpoints, cp_cap;
} delta_listing;

/* The table handle for `root_key`, without looking at the store. */
int delta_table_open_root(objstore *os, const char *root_key, delta_table **out, tarn_err *err);

/* Lists the log, all of it or after the file name `start_after_name`
 * (e.g. a 20-digit version). */
int delta_log_list(delta_table *t, const char *start_after_name, delta_listing *out, tarn_err *err);
void delta_listing_free(delta_listing *l);
/* `_last_checkpoint`'s version (-1: none or unreadable) and parts (may be
 * NULL; 1 for a classic checkpoint). */
int64_t delta_last_checkpoint(delta_table *t, uint32_t *parts_out);

/* A commit's timestamp: inCommitTimestamp, else its file's mtime. */
int delta_commit_time(delta_table *t, const delta_commit *c, int64_t *out, tarn_err *err);

/* Reads and parses the JSON commit of `version`. */
int delta_commit_read(delta_table *t, int64_t version, delta_commit **out, tarn_err *err);

/* Replay state: the newest protocol and metaData, every file action with
 * its sequence number, and the newest txn per appId. */
typedef struct delta_replay {
    delta_protocol *protocol;
    delta_metadata *metadata;
    struct replay_entry *entries;
    size_t nentries, e_cap;
    delta_txn *txns;
    size_t ntxns, t_cap;
    uint64_t seq;
} delta_replay;

/* Applies one commit (its actions are moved out of `c`). */
int delta_replay_commit(delta_replay *r, delta_commit *c, tarn_err *err);
/* Checks the protocol and fills `s` (zeroed) with the result at `version`. */
int delta_replay_finish(delta_replay *r, int64_t version, delta_snapshot *s, tarn_err *err);
void delta_replay_free(delta_replay *r);

/* Loads a checkpoint (all its parts) into the replay as one commit.
 * TARN_ECORRUPT (not Parquet, wrong column shapes or types, bad actions),
 * TARN_ENOTSUP (a column the Parquet reader cannot read: the caller then
 * replays JSON commits from version 0 when they all exist), store errors,
 * TARN_ENOMEM. */
int delta_checkpoint_load(delta_table *t, const delta_cp *cp, delta_replay *r, tarn_err *err);

#endif
