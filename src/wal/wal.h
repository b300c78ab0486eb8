/*
 * wal/wal.h: the write-ahead log, the durable Raft log of a node. Segment
 * files of CRC32C-framed records: log entries, hard state (term, vote,
 * commit) and snapshot markers. Design note and on-disk format:
 * src/wal/README.md.
 *
 * The log it keeps is a Raft log: after recovery and after every call it
 * holds the entries (snap_index, last_index], contiguous, where snap_index
 * is the last snapshot marker (0 when none).
 *
 * Durability: wal_append writes to the page cache; only after wal_sync
 * (or wal_submit) returns 0 are the records durable. A record whose sync
 * returned 0 is never lost, and recovery never returns a record that was
 * not written.
 *
 * Sticky failure: after any failed write, fsync or directory operation the
 * handle answers TARN_ESTATE to everything except wal_close. A failed
 * fsync leaves the page cache in an unknown state (Linux may have dropped
 * the dirty pages and marked them clean: the "fsyncgate" lesson), so a
 * retried fsync could "succeed" without the data on disk; the only safe
 * way on is to close, reopen, and let recovery read what is really there.
 *
 * Threads: wal_submit may be called from many threads at once (group
 * commit). Every other function must be called by one thread at a time
 * and not while wal_submit calls are in flight (the Raft Ready loop owns
 * the handle). wal_close must not race with anything. A handle may run one
 * thread of its own, which prepares the next segment file (see
 * wal_prealloc); it touches only that file and ends in wal_close.
 */
#ifndef TARN_WAL_WAL_H
#define TARN_WAL_WAL_H

#include "base/error.h"
#include "obs/obs.h"
#include "wal/vfs.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wal wal;

/* Limits. */
#define WAL_PAYLOAD_MAX          (16u << 20) /* bytes in one entry's payload */
#define WAL_APPEND_MAX           65536       /* entries in one wal_append call */
#define WAL_SEGMENT_SIZE_MIN     4096
#define WAL_SEGMENT_SIZE_MAX     (256u << 20)
#define WAL_SEGMENT_SIZE_DEFAULT (16u << 20)
#define WAL_SEGMENTS_MAX         100000 /* segment files in one directory */
#define WAL_SUBMIT_QUEUE_MAX     65536

/* One log entry. In wal_append/wal_submit the payload is borrowed for the
 * call. In a wal_recovered it is owned by the wal_recovered. */
typedef struct wal_entry {
    uint64_t index;
    uint64_t term;
    const uint8_t *data; /* len bytes; may be NULL when len is 0 */
    size_t len;          /* bytes, at most WAL_PAYLOAD_MAX */
    uint8_t type;        /* the host's entry type (node/: Raft's normal or config change);
                            stored and returned as is; 0 in segments of format version 1 */
} wal_entry;

typedef struct wal_hard_state {
    uint64_t term;
    uint64_t vote; /* node id voted for in term, 0 for none */
    uint64_t commit;
} wal_hard_state;

/*
 * Preallocation of segment files. On ext4 and XFS, fallocate leaves
 * unwritten extents: every later write into them converts extents when
 * its I/O completes, so each fdatasync also writes inode and extent
 * metadata (a second, serial I/O per sync). Zeros written once at
 * creation make the blocks plain written ones, and an fdatasync after an
 * append is then one data write.
 */
typedef enum wal_prealloc {
    /* Default: zero-filled files, the next one (a spare) prepared ahead
     * of the rollover that needs it: by a background thread when the vfs
     * is thread_safe, otherwise right after the rollover and at open. */
    WAL_PREALLOC_ZERO_AHEAD = 0,
    /* Zero-filled at the rollover, on the append that needs it. */
    WAL_PREALLOC_ZERO = 1,
    /* fallocate only, as before (unwritten extents), at the rollover. */
    WAL_PREALLOC_FALLOCATE = 2,
} wal_prealloc;

typedef struct wal_opts {
    const wal_vfs *vfs;          /* NULL: wal_vfs_posix(); copied */
    uint64_t segment_size_bytes; /* target preallocated size; 0: default */
    size_t submit_queue_max;     /* pending wal_submit calls; 0: 1024 */
    obs_registry *metrics;       /* NULL: obs_global(); borrowed */
    /* Damage in the last segment followed by valid records is refused
     * (TARN_ECORRUPT) by default. When no later record proves the damaged
     * bytes were synced, it may instead be an unsynced batch that the page
     * cache or the device wrote back out of order before a power cut; set
     * this to cut such a batch off (its records were never acknowledged,
     * unless the damage struck the last synced batch after its sync, which
     * nothing on disk can tell apart). Off: refuse and let an operator
     * decide. */
    int repair_torn_batch;
    /* How segment files get their blocks (README "Preallocation"); 0, the
     * default, is the one to use: the others exist to measure it. */
    wal_prealloc prealloc;
} wal_opts;

/* What recovery found. Free with wal_recovered_free. */
typedef struct wal_recovered {
    int has_hard_state;
    wal_hard_state hard_state;
    uint64_t snap_index; /* last snapshot marker, 0 when none */
    uint64_t snap_term;
    uint64_t last_index; /* snap_index + entry_count */
    wal_entry *entries;  /* (snap_index, last_index], owned */
    size_t entry_count;
    uint64_t truncated_tail_bytes; /* torn/corrupt tail removed from the last segment */
} wal_recovered;

/* Per-handle counters (also exported as metrics). */
typedef struct wal_stats {
    uint64_t bytes_written;
    uint64_t fsyncs; /* file data syncs of segment files */
    uint64_t batches;
    uint64_t records;
    uint64_t segments_created;
    uint64_t segments_removed;
    uint64_t spares_used;   /* segments made from a spare prepared ahead */
    uint64_t spare_waits;   /* rollovers that waited for the spare to be ready */
    uint64_t bytes_zeroed;  /* zeros written to preallocate segment files */
    uint64_t direct_writes; /* writes that bypassed the page cache (README "Direct writes") */
} wal_stats;

/*
 * Opens (creating when empty) the WAL in directory `dir`, which must exist,
 * and recovers it: *recovered receives the last hard state, the last
 * snapshot marker and the entries after it. A torn or corrupt tail of the
 * last segment is cut off (logged, counted). Errors: TARN_ECORRUPT (with
 * file and offset in err) for damage anywhere else, or a valid record after
 * a damaged one; TARN_EIO and others from the disk; TARN_ENOMEM;
 * TARN_EINVAL for bad options. On error nothing is left to free.
 * With WAL_PREALLOC_ZERO_AHEAD and a thread_safe vfs, a background thread
 * prepares the next segment file while the handle is open (it stops in
 * wal_close). `dir`,
 * `opts` are copied; `opts` may be NULL.
 */
int wal_open(const char *dir, const wal_opts *opts, wal **out, wal_recovered *recovered,
             tarn_err *err);

/* Closes the handle. Does not sync: unsynced records may be lost. NULL ok. */
void wal_close(wal *w);

void wal_recovered_free(wal_recovered *r);

/*
 * Writes n entries and then, when hs is not NULL, the hard state (page
 * cache only; durable after wal_sync). entries[0].index must be in
 * (snap_index, last_index + 1]; an index at or below last_index first
 * drops the suffix from there (Raft overwrote a conflicting tail); the
 * entries must be contiguous. Errors: TARN_EINVAL (indexes, n too large),
 * TARN_ETOOBIG (payload), TARN_ESTATE (handle failed earlier), TARN_EIO
 * and others from the disk (the handle is then failed), TARN_ENOMEM.
 * Payloads are borrowed for the call.
 */
int wal_append(wal *w, const wal_entry *entries, size_t n, const wal_hard_state *hs, tarn_err *err);

/* Makes everything written so far durable (one fdatasync when anything is
 * unsynced, none otherwise). Errors: TARN_ESTATE, TARN_EIO (the handle is
 * then failed). */
int wal_sync(wal *w, tarn_err *err);

/*
 * Group commit: appends like wal_append and returns once the records are
 * durable. Concurrent callers are queued (in call order); one of them
 * writes the whole queue with one write and one fsync and wakes the rest.
 * An entry with index 0 gets the next index assigned, written back into
 * entries[i].index (so entries is not const). Errors: TARN_EBUSY when
 * submit_queue_max calls are pending (nothing written), the wal_append
 * errors. Thread-safe.
 */
int wal_submit(wal *w, wal_entry *entries, size_t n, const wal_hard_state *hs, tarn_err *err);

/* Drops entries from from_index on (Raft conflict). from_index must be in
 * (snap_index, last_index + 1]. Durable after wal_sync. Errors as
 * wal_append. */
int wal_truncate_suffix(wal *w, uint64_t from_index, tarn_err *err);

/*
 * Records that a snapshot covers the log up to `index` (term `term`):
 * entries at or below index are dropped, later ones kept. index must be
 * >= snap_index; when the log holds an entry at index its term must equal
 * `term` (otherwise TARN_EINVAL: truncate the conflicting suffix first).
 * Durable after wal_sync. Errors as wal_append.
 */
int wal_snapshot_marker(wal *w, uint64_t index, uint64_t term, tarn_err *err);

/*
 * Prefix truncation: syncs, then removes whole segment files whose entries
 * are all at or below upto_index (never the segment being written).
 * upto_index must be <= snap_index. Crash-safe at every step: files go
 * oldest first with a directory fsync after each. Errors: TARN_EINVAL,
 * the wal_sync errors.
 */
int wal_compact(wal *w, uint64_t upto_index, tarn_err *err);

/* State, for the Raft host and tests. */
uint64_t wal_last_index(const wal *w);
uint64_t wal_snap_index(const wal *w);
/* Term of the entry at index, or of the snapshot marker when index ==
 * snap_index. TARN_ERANGE outside [snap_index, last_index]. */
int wal_term(const wal *w, uint64_t index, uint64_t *term_out);
size_t wal_segment_count(const wal *w);
void wal_get_stats(const wal *w, wal_stats *out);

#endif
