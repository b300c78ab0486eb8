/*
 * wal/wal_int.h: private parts of the WAL shared by its files: the on-disk
 * format constants (the tables are in format.c and README.md), the log
 * state machine that both recovery and the running handle use, and the
 * handle itself.
 */
#ifndef TARN_WAL_WAL_INT_H
#define TARN_WAL_WAL_INT_H

#include "base/assert.h"
#include "base/buf.h"
#include "wal/wal.h"

#include <pthread.h>

/* ---- format (see format.c for the tables) ---- */
#define WAL_VERSION         2 /* written; 2 added the entry type (frame byte 9) */
#define WAL_VERSION_MIN     1 /* oldest read: version 1 entries have type 0 */
#define WAL_SEG_HDR_SIZE    48
#define WAL_SEG_HDR_CRC_OFF 44
#define WAL_REC_HDR_SIZE    16
#define WAL_ALIGN           8
#define WAL_SEG_SUFFIX      ".wal"
#define WAL_TMP_SUFFIX      ".wal.tmp"
#define WAL_NAME_LEN        20 /* 16 hex digits + ".wal" */

TARN_STATIC_ASSERT(WAL_SEG_HDR_CRC_OFF + 4 == WAL_SEG_HDR_SIZE, "segment header ends with crc");
TARN_STATIC_ASSERT(WAL_SEG_HDR_SIZE % WAL_ALIGN == 0, "records start aligned");
TARN_STATIC_ASSERT(WAL_REC_HDR_SIZE % WAL_ALIGN == 0, "bodies start aligned");
TARN_STATIC_ASSERT(WAL_SEGMENT_SIZE_MAX <= UINT32_MAX, "synced_off is a u32");

enum wal_rec_type {
    WAL_REC_ENTRY = 1,
    WAL_REC_HARD_STATE = 2,
    WAL_REC_SNAPSHOT = 3,
    WAL_REC_TRUNCATE = 4,
};

#define WAL_ENTRY_BODY_FIXED 16 /* index, term */
#define WAL_HS_BODY_SIZE     24
#define WAL_SNAP_BODY_SIZE   16
#define WAL_TRUNC_BODY_SIZE  8
#define WAL_BODY_MAX         (WAL_ENTRY_BODY_FIXED + WAL_PAYLOAD_MAX)

typedef struct wal_seg_hdr {
    uint64_t seq;         /* segment number, from 1, contiguous */
    uint64_t first_index; /* last_index + 1 when the segment was created */
    uint64_t size_bytes;  /* preallocated size at creation */
    uint32_t version;     /* format version, WAL_VERSION_MIN .. WAL_VERSION */
} wal_seg_hdr;

/* A decoded record; pointers borrow the buffer it was decoded from. */
typedef struct wal_rec {
    int type;
    uint8_t entry_type;     /* entry: wal_entry.type (frame byte 9; 0 in version 1) */
    uint64_t a, b, c;       /* entry: index, term; hs: term, vote, commit; snap: index, term;
                               truncate: from */
    const uint8_t *payload; /* entry payload */
    size_t payload_len;
    size_t frame_bytes;  /* header + body + padding */
    uint32_t synced_off; /* bytes of the segment durable before this record was written */
} wal_rec;

static inline size_t wal_align8(size_t n)
{
    return (n + (WAL_ALIGN - 1)) & ~(size_t)(WAL_ALIGN - 1);
}
static inline size_t wal_frame_size(size_t body_len)
{
    return wal_align8(WAL_REC_HDR_SIZE + body_len);
}

void wal_seg_hdr_encode(uint8_t out[WAL_SEG_HDR_SIZE], const wal_seg_hdr *h);
/* 0, or TARN_ECORRUPT with a reason in *why (static string). */
int wal_seg_hdr_decode(const uint8_t in[WAL_SEG_HDR_SIZE], wal_seg_hdr *h, const char **why);

/* Where a buffer of records will land: segment seq, and the file offset
 * of the buffer's first byte. The CRC of a record covers its segment and
 * offset, so a frame is valid only where it was written: a copy inside a
 * payload, or stale bytes at another place, never passes. */
typedef struct wal_rec_pos {
    uint64_t seq;
    uint64_t base_off;
    uint32_t synced_off; /* the segment was durable up to here when written */
} wal_rec_pos;

/* Appends one framed record to b, for the file offset pos->base_off +
 * b->len. TARN_ENOMEM / TARN_ETOOBIG from b. */
int wal_rec_encode_entry(tarn_buf *b, wal_rec_pos pos, const wal_entry *e);
int wal_rec_encode_hs(tarn_buf *b, wal_rec_pos pos, const wal_hard_state *hs);
int wal_rec_encode_snap(tarn_buf *b, wal_rec_pos pos, uint64_t index, uint64_t term);
int wal_rec_encode_trunc(tarn_buf *b, wal_rec_pos pos, uint64_t from_index);

/* Result of decoding at one offset. */
enum wal_dec {
    WAL_DEC_OK = 0,
    WAL_DEC_END = 1, /* an all-zero header: the preallocated tail */
    WAL_DEC_BAD = 2, /* torn or corrupt; *why says how */
};
/* Decodes the record at in[0..avail), found at file offset `off` of
 * segment `seq` of format `version` (its header's). Never trusts a byte. */
int wal_rec_decode(const uint8_t *in, size_t avail, uint64_t seq, uint32_t version, uint64_t off,
                   wal_rec *r, const char **why);

/* ---- the log state machine (state.c) ---- */
/*
 * The Raft log as a list of entries plus the snapshot marker. Recovery
 * replays records into one (keeping payloads); the running handle applies
 * the same operations (without payloads) so that both agree on what the
 * disk means. Invariants after wal_state_check_final:
 *   1. snap_index <= last_index
 *   2. ents holds exactly the indexes (snap_index, last_index], in order.
 */
typedef struct wal_state {
    uint64_t snap_index, snap_term;
    uint64_t last_index;
    int has_hs;
    wal_hard_state hs;
    wal_entry *ents; /* ents[0..count) contiguous indexes; payloads owned if keep_payload */
    size_t count, cap;
    int keep_payload;
} wal_state;

void wal_state_init(wal_state *s, uint64_t last_index, int keep_payload);
void wal_state_free(wal_state *s);
/* Each returns 0, TARN_EINVAL with *why when the operation does not fit
 * the log (on disk that means corruption), or TARN_ENOMEM. On error the
 * state is unchanged. */
int wal_state_entry(wal_state *s, const wal_entry *e, const char **why);
int wal_state_truncate(wal_state *s, uint64_t from_index, const char **why);
int wal_state_snapshot(wal_state *s, uint64_t index, uint64_t term, const char **why);
void wal_state_hard_state(wal_state *s, const wal_hard_state *hs);
int wal_state_check_final(const wal_state *s, const char **why);
/* Checks an append of n contiguous entries without changing anything. */
int wal_state_check_append(const wal_state *s, const wal_entry *e, size_t n, const char **why);

/* ---- the handle ---- */
typedef struct wal_segment {
    uint64_t seq;
    uint64_t size_bytes;
    uint64_t max_index; /* highest entry index ever written into it; 0: none */
    uint32_t version;   /* format version of its header; only WAL_VERSION is appended to */
} wal_segment;

typedef struct wal_submit_req wal_submit_req;

/* Most bytes of zeros written per call when a segment file is zero-filled. */
#define WAL_ZERO_CHUNK_BYTES (1u << 20)

/* The spare: the next segment file, <seq>.wal.tmp, zero-filled and synced
 * ahead of the rollover that turns it into segment seq (segment.c). */
enum wal_spare_state {
    WAL_SPARE_NONE = 0,  /* none asked for (or taken) */
    WAL_SPARE_BUSY = 1,  /* being prepared */
    WAL_SPARE_READY = 2, /* fd open, file zero-filled and synced */
    WAL_SPARE_FAILED = 3 /* preparing failed (rc); the rollover makes the file itself */
};

typedef struct wal_spare {
    int inited;   /* wal_spare_init ran: the lock exists */
    int started;  /* wal_spare_start ran: rollovers ask for the next spare */
    int threaded; /* a preparer thread runs */
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    int stop;  /* wal_close: the thread ends (read without mu between chunks) */
    int state; /* enum wal_spare_state */
    uint64_t seq, size_bytes;
    int fd; /* READY: the open file */
    int rc; /* FAILED: why */
    uint64_t bytes_zeroed;
    uint8_t *zeros;   /* zeros_len zero bytes; read-only once allocated */
    size_t zeros_len; /* min(WAL_ZERO_CHUNK_BYTES, segment size) */
} wal_spare;

typedef struct wal_metrics {
    obs_series_t *bytes, *fsyncs, *fsync_s, *batch, *tails;
} wal_metrics;

struct wal {
    wal_vfs vfs;
    char *dir;
    uint64_t segment_size_bytes;
    int failed;            /* sticky: TARN_ESTATE from now on */
    int repair_torn_batch; /* wal_opts.repair_torn_batch */
    int lock_fd;           /* the directory lock (vfs lock_dir); -1 when none */
    int cur_fd;            /* -1 when none */
    int direct_fd;         /* cur_fd's file opened for direct writes (direct.c); -1: none */
    uint8_t *direct_buf;   /* aligned: the block being written, then what follows */
    size_t direct_cap;     /* bytes of direct_buf */
    uint64_t cur_off;      /* next write offset in the last segment */
    uint64_t synced_off;   /* the last segment is durable up to here */
    int dirty;             /* written since the last fdatasync */
    wal_segment *segs;     /* oldest first; the last one is written */
    size_t seg_count, seg_cap;
    wal_state st; /* without payloads */
    tarn_buf wbuf;
    wal_stats stats;
    wal_metrics m;
    wal_prealloc prealloc; /* wal_opts.prealloc */
    wal_spare spare;
    pthread_mutex_t io_mu; /* serialises writers (submit leader vs direct) */
    /* group commit */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    wal_submit_req **q; /* ring of pending requests */
    size_t q_cap, q_head, q_len;
    int q_leader;    /* a thread is writing a batch */
    uint64_t q_last; /* last index including queued requests */
};

/* wal.c internals used by recovery and group commit */
int wal_fail(wal *w, tarn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int wal_seg_path(const wal *w, uint64_t seq, int tmp, char *out, size_t cap);

/* segment.c: making segment files */
/* Creates segment `seq` with room for a record of min_bytes after its
 * prologue and makes it the one being written; then (once
 * wal_spare_start ran) asks for the next spare. The caller has synced and
 * closed the previous segment. */
int wal_seg_create(wal *w, uint64_t seq, uint64_t min_bytes, tarn_err *err);
/* Allocates what preparing segments needs (zero buffer, lock);
 * TARN_ENOMEM. Called by wal_open before recovery. */
int wal_spare_init(wal *w);
/* Starts preparing spares (the thread, when the vfs is thread_safe and the
 * mode is WAL_PREALLOC_ZERO_AHEAD) and asks for the one after the last
 * segment. Never fails: without a spare, a rollover makes the file. */
void wal_spare_start(wal *w);
/* Stops the thread and closes a ready spare (its file stays: recovery
 * removes *.wal.tmp). Safe on a handle where init or start did not run. */
void wal_spare_stop(wal *w);
/* Validates an append against w->st and reserves memory for it. */
int wal_prepare_append(wal *w, const wal_entry *e, size_t n, tarn_err *err);
/* Encodes the records of a prepared batch (entries then hs) into the write
 * buffer, writing and rolling over segments as they fill; applies them to
 * w->st. The tail stays buffered: wal_flush writes it. No sync. */
int wal_encode_batch(wal *w, const wal_entry *e, size_t n, const wal_hard_state *hs, tarn_err *err);
int wal_flush(wal *w, tarn_err *err);

/* direct.c: writes that bypass the page cache (README "Direct writes") */
/* Where cur_fd and cur_off are set (recovery, a new segment): opens
 * cur_fd's file for direct writes when the vfs can and the segment size
 * allows; else the WAL writes through cur_fd. Never fails. */
void wal_direct_attach(wal *w);
/* Closes the direct handle (before cur_fd is closed). */
void wal_direct_detach(wal *w);
/* Writes w->wbuf at cur_off through the direct handle, as whole aligned
 * blocks: the bytes before cur_off in the first block come from
 * direct_buf (the file's), those after the data are zeros (what a
 * segment holds past its end). 0 or the vfs's code. */
int wal_direct_write(wal *w);
int wal_sync_locked(wal *w, tarn_err *err);
void wal_metrics_init(wal *w, obs_registry *reg);

/* recover.c */
int wal_recover(wal *w, wal_recovered *out, tarn_err *err);

#endif
