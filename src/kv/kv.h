/*
 * kv/kv.h: the key-value state machine: command encoding and decoding,
 * the apply handlers store/ dispatches to, reads (get, range scan with a
 * continuation token), and the timestamp oracle's pure allocation
 * function. Design note with the byte formats: src/kv/README.md (the
 * tables are also in codec.c).
 *
 * Rules applied by every replica (README "Versions"):
 *  1. A key's version is 1 when it is created and +1 on every change; a
 *     delete removes the key, so a re-created key starts at 1 again.
 *  2. mod_index is the Raft index of the entry that last changed the key;
 *     create_index the index of the entry that created it.
 *  3. A command's compares are all evaluated before any write; if one
 *     fails nothing is written (and store/ rolls the entry back anyway).
 *  4. Limits (below) are enforced when encoding and again when applying,
 *     because a command in the log may come from an older or hostile
 *     encoder.
 *
 * Threads: encoding, decoding and kv_tso_next are pure. The handlers run
 * on the apply thread. kv_get and kv_scan run on any thread with its own
 * read transaction.
 */
#ifndef TARN_KV_KV_H
#define TARN_KV_KV_H

#include "base/buf.h"
#include "base/error.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* Command types (store.h allocates 0x10-0x1f to kv). */
#define KV_CMD_PUT         0x10
#define KV_CMD_DELETE      0x11
#define KV_CMD_TXN         0x12
#define KV_CMD_TSO_RESERVE 0x13

/* Tables. */
#define KV_TABLE_DATA 0x10 /* user key -> record (README "Records") */
#define KV_TABLE_META 0x11 /* "tso" -> reserved window, u64 ms LE */

#define KV_FORMAT_VERSION 1

/* Limits. Keys stay under LMDB's 511-byte key limit (store.h). An encoded
 * command is one Raft entry, so it is bounded by the entry limit the node
 * proposes with (RAFT_DEFAULT_MAX_ENTRY_SIZE, 1 MiB; routes.c asserts they
 * agree). The value limit leaves room for the largest put around it: the
 * header, a version compare and the put operation on a key of
 * KV_KEY_MAX_BYTES (KV_PUT_OVERHEAD_MAX_BYTES), so every value the API
 * accepts fits in a proposal (README "Limits"). */
#define KV_KEY_MAX_BYTES 500
#define KV_TXN_OPS_MAX   128 /* compares, and separately puts + deletes */
#define KV_CMD_MAX_BYTES (1u << 20)
#define KV_PUT_OVERHEAD_MAX_BYTES                                                                  \
    (6u + (1u + 2u + KV_KEY_MAX_BYTES + 8u) + (1u + 2u + KV_KEY_MAX_BYTES + 4u))
#define KV_VALUE_MAX_BYTES (KV_CMD_MAX_BYTES - KV_PUT_OVERHEAD_MAX_BYTES) /* 1,047,552 */
#define KV_SCAN_LIMIT_MAX  1000
/* Hex token of a key of KV_KEY_MAX_BYTES plus the NUL. */
#define KV_TOKEN_MAX_BYTES (2 * KV_KEY_MAX_BYTES + 1)

typedef enum kv_cmp_kind {
    KV_CMP_VERSION = 1, /* the key's version equals `version` (0: absent) */
    KV_CMP_VALUE = 2,   /* the key exists and its value equals `value` */
} kv_cmp_kind;

typedef struct kv_compare {
    kv_cmp_kind kind;
    const uint8_t *key; /* borrowed */
    size_t key_len;
    uint64_t version;     /* KV_CMP_VERSION */
    const uint8_t *value; /* KV_CMP_VALUE; borrowed */
    size_t value_len;
} kv_compare;

typedef enum kv_op_kind {
    KV_OP_PUT = 1,
    KV_OP_DELETE = 2,
} kv_op_kind;

typedef struct kv_op {
    kv_op_kind kind;
    const uint8_t *key; /* borrowed */
    size_t key_len;
    const uint8_t *value; /* KV_OP_PUT; borrowed */
    size_t value_len;
} kv_op;

/* A decoded command. Pointers borrow from the bytes it was decoded from. */
typedef struct kv_cmd {
    uint8_t type; /* KV_CMD_* */
    size_t n_cmps, n_ops;
    kv_compare cmps[KV_TXN_OPS_MAX];
    kv_op ops[KV_TXN_OPS_MAX];
    uint64_t tso_upto_ms; /* KV_CMD_TSO_RESERVE */
} kv_cmd;

/*
 * Encoders append one command to out. `expect` (NULL: unconditional) is a
 * compare on the same key: CAS by version or by value. Errors:
 * TARN_EINVAL (empty key, NULL pointers, a compare on another key),
 * TARN_ETOOBIG (a limit above), TARN_ENOMEM; out is unchanged on error.
 */
int kv_encode_put(tarn_buf *out, const void *key, size_t klen, const void *val, size_t vlen,
                  const kv_compare *expect);
int kv_encode_delete(tarn_buf *out, const void *key, size_t klen, const kv_compare *expect);
int kv_encode_txn(tarn_buf *out, const kv_compare *cmps, size_t n_cmps, const kv_op *ops,
                  size_t n_ops);
int kv_encode_tso_reserve(tarn_buf *out, uint64_t upto_ms);

/* Decodes untrusted bytes. TARN_EINVAL for malformed input (truncated,
 * wrong lengths, unknown type/version/kind, trailing bytes), TARN_ETOOBIG
 * for a limit exceeded. Never reads outside data[0..len). */
int kv_decode(const uint8_t *data, size_t len, kv_cmd *cmd);

/* Registers the kv handlers (KV_CMD_*) in reg. TARN_EEXIST on a clash. */
int kv_register(store_registry *reg);

/*
 * What applying a kv command answered (decoded from a store_result).
 * code: TARN_OK; TARN_ECONFLICT (compare `failed_compare` failed; version,
 * mod_index and value are the key's current ones, 0/empty when absent);
 * TARN_ENOENT (delete of an absent key); TARN_ETOOBIG; TARN_EINVAL
 * (malformed command). On TARN_OK after a put: the key's new version and
 * mod_index; after a delete or txn: mod_index is the entry's index; after
 * a TSO reservation: version holds the window now reserved (ms).
 */
typedef struct kv_result {
    int code;
    uint64_t version;
    uint64_t mod_index;
    uint32_t failed_compare;
    const uint8_t *value; /* borrowed from the store_result */
    size_t value_len;
} kv_result;

/* TARN_EINVAL when r's payload is malformed. */
int kv_result_decode(const store_result *r, kv_result *out);

/* One stored key. Pointers borrow from the read transaction. */
typedef struct kv_item {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    uint64_t version;
    uint64_t mod_index;
    uint64_t create_index;
} kv_item;

/* Looks a key up. TARN_ENOENT, TARN_EINVAL (bad key), TARN_ECORRUPT (a bad
 * record), TARN_EIO. */
int kv_get(store_txn *txn, const void *key, size_t klen, kv_item *out);

typedef struct kv_scan_opts {
    const void *start; /* first key (inclusive); NULL/0: from the first */
    size_t start_len;
    const void *end; /* end (exclusive); NULL/0: to the last key */
    size_t end_len;
    size_t limit;      /* 1 .. KV_SCAN_LIMIT_MAX; 0: KV_SCAN_LIMIT_MAX */
    const char *token; /* a next_token from the previous page, or NULL */
} kv_scan_opts;

typedef struct kv_scan_page {
    kv_item *items; /* count items in key byte order; owned; borrow into the txn */
    size_t count;
    char next_token[KV_TOKEN_MAX_BYTES]; /* "" when the range is done */
} kv_scan_page;

/* One page of [start, end). The token is the lowercase hex of the next key
 * to return; one from another range is refused. TARN_EINVAL (bad range,
 * limit or token), TARN_ENOMEM, TARN_ECORRUPT, TARN_EIO. Free the page
 * with kv_scan_page_free (also after an error). */
int kv_scan(store_txn *txn, const kv_scan_opts *opts, kv_scan_page *page, tarn_err *err);
void kv_scan_page_free(kv_scan_page *page);

/* ---- timestamp oracle (README "TSO") ---- */

#define KV_TSO_LOGICAL_BITS 18
#define KV_TSO_LOGICAL_MAX  ((uint64_t)1 << KV_TSO_LOGICAL_BITS)
/* Most timestamps one kv_tso_next call hands out. */
#define KV_TSO_BATCH_MAX 65536
/* Largest physical part: 2^46 ms, the year 4199. */
#define KV_TSO_PHYSICAL_MAX (((uint64_t)1 << (64 - KV_TSO_LOGICAL_BITS)) - 1)

/* The leader's allocator state (not replicated; rebuilt by
 * kv_tso_leader_start on every leadership change). */
typedef struct kv_tso_state {
    uint64_t limit_ms; /* applied reservation: physical parts stay < limit_ms */
    uint64_t last_ts;  /* everything handed out is <= last_ts */
} kv_tso_state;

static inline uint64_t kv_tso_make(uint64_t physical_ms, uint64_t logical)
{
    return physical_ms << KV_TSO_LOGICAL_BITS | logical;
}

/*
 * State for a leader that has applied every committed entry of the log
 * (including its own term's first entry) and read reserved_ms from the
 * store (kv_tso_reserved): the predecessor handed out only timestamps with
 * physical part < reserved_ms, so this leader starts strictly above
 * kv_tso_make(reserved_ms, 0) - 1 and may hand out nothing until it has
 * reserved a new window above reserved_ms through Raft and applied it
 * (kv_tso_set_limit).
 */
kv_tso_state kv_tso_leader_start(uint64_t reserved_ms);
/* Raises the limit after a reservation was applied (never lowers it). */
void kv_tso_set_limit(kv_tso_state *s, uint64_t reserved_ms);

/*
 * Hands out count strictly increasing timestamps first, first+1, ...,
 * first+count-1, all greater than anything this state handed out before,
 * with physical part max(now_ms, last physical) (moving to the next ms
 * when the logical part would overflow). A clock that steps back cannot
 * make it go backwards. TARN_EINVAL for count 0 or > KV_TSO_BATCH_MAX,
 * TARN_ERANGE for a clock beyond KV_TSO_PHYSICAL_MAX, TARN_EBUSY when the
 * batch would reach limit_ms (reserve a new window, then retry); the state
 * is unchanged on error.
 */
int kv_tso_next(kv_tso_state *s, int64_t now_ms, uint32_t count, uint64_t *first);

/* The reserved window in the store (0 when never reserved). TARN_ECORRUPT
 * for a bad record, TARN_EIO. */
int kv_tso_reserved(store_txn *txn, uint64_t *reserved_ms);

#endif
