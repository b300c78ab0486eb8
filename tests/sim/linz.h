/*
 * tests/sim/linz.h: a linearizability checker for client histories of a
 * set of registers, in the style of Wing & Gong (1993) with Lowe's
 * memoization (2017) as Porcupine does it: depth-first search for a
 * linearization, remembering every (set of linearized operations, register
 * value) already explored, and checking each key on its own (a history of
 * independent registers is linearizable iff each key's sub-history is,
 * Herlihy & Wing's locality).
 *
 * Two models, chosen per operation by `kind`:
 *
 * - LINZ_RW (0, what the Raft simulator records): each key is a register
 *   holding 0 at first; a write stores its value (values should be unique
 *   per key, which keeps the search nearly linear); a read returns the
 *   value.
 * - The versioned kv register (LINZ_KV_*, what the cluster tests record
 *   from Tarn's /v1/kv): the state is (value, version), (0, 0) while the
 *   key is absent. A put stores its value and adds 1 to the version (a
 *   completed put knows the version it made); a compare-and-set on a
 *   version (`expect`, 0: must be absent) does the same only when the
 *   version matches; a failed compare answers the current (value,
 *   version), which the model checks like a read; a read returns (value,
 *   version). `version` LINZ_ANY means "not observed".
 *
 * An operation that never returned, or failed ambiguously (the client
 * gave up: a proposal whose leader crashed, a timeout, a 503 on a write),
 * has ret = LINZ_PENDING: it may take effect at any point after its call,
 * or never. Pending reads say nothing and are ignored.
 */
#ifndef TARN_TESTS_LINZ_H
#define TARN_TESTS_LINZ_H

#include <stddef.h>
#include <stdint.h>

#define LINZ_PENDING UINT64_MAX

#define LINZ_ANY UINT64_MAX

enum linz_kind {
    LINZ_RW = 0,            /* is_write decides: the plain register */
    LINZ_KV_READ = 1,       /* returned (value, version); (0, 0): absent */
    LINZ_KV_PUT = 2,        /* stored value; version: the one it made, or LINZ_ANY */
    LINZ_KV_CAS = 3,        /* stored value if the version was `expect` */
    LINZ_KV_CAS_FAILED = 4, /* compare on `expect` failed; saw (value, version) */
};

typedef struct linz_op {
    uint64_t call; /* invocation time >= 1 (0 is the initial value's); all distinct */
    uint64_t ret;  /* response time > call, or LINZ_PENDING */
    int is_write;  /* LINZ_RW only */
    uint64_t key;
    uint64_t value;   /* written, or returned by the read (0: absent); < UINT64_MAX - 1 */
    int kind;         /* enum linz_kind; one kind family per key */
    uint64_t version; /* LINZ_KV_*: observed version, LINZ_ANY when not known */
    uint64_t expect;  /* LINZ_KV_CAS and _FAILED: the compared version */
} linz_op;

enum linz_result {
    LINZ_OK = 0,        /* linearizable */
    LINZ_VIOLATION = 1, /* not linearizable; *why says which key and op */
    LINZ_GAVE_UP = 2,   /* the search budget ran out (undecided) */
};

enum linz_method {
    LINZ_AUTO = 0,   /* the search; the zone test for a key whose search runs out */
    LINZ_SEARCH = 1, /* the search only (may answer LINZ_GAVE_UP) */
    LINZ_ZONES = 2,  /* the zone test only */
};

typedef struct linz_opts {
    uint64_t key_budget_steps; /* search steps per key; 0: 100,000 */
    int method;                /* enum linz_method */
} linz_opts;

typedef struct linz_stats {
    uint64_t steps;         /* search steps taken */
    uint64_t keys;          /* registers checked */
    uint64_t keys_by_zones; /* of which the search ran out and zones decided */
    uint64_t bad_key;       /* LINZ_VIOLATION or LINZ_GAVE_UP: the key */
    uint64_t bad_call;      /* LINZ_VIOLATION found by the search: the call time of
                               the operation it got stuck before; 0: none */
} linz_stats;

/*
 * Checks ops[0..n) (any order). Reads that never returned are ignored. `o`
 * may be NULL (LINZ_AUTO, default budget). On LINZ_VIOLATION fills why
 * (why_len bytes). *st (may be NULL) gets what the check cost and the key
 * that failed. The zone test decides only LINZ_RW keys; a versioned key
 * whose search runs out is LINZ_GAVE_UP.
 */
int linz_check(const linz_op *ops, size_t n, const linz_opts *o, char *why, size_t why_len,
               linz_stats *st);

#endif
