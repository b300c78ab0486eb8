/*
 * tests/sim/linz.h: a linearizability checker for client histories of a
 * set of registers, in the style of Wing & Gong (1993) with Lowe's
 * memoization (2017) as Porcupine does it: depth-first search for a
 * linearization, remembering every (set of linearized operations, register
 * value) already explored, and checking each key on its own (a history of
 * independent registers is linearizable iff each key's sub-history is,
 * Herlihy & Wing's locality).
 *
 * Model: each key is a register holding 0 at first; a write stores its
 * value (values should be unique per key, which keeps the search nearly
 * linear); a read returns the value. An operation that never returned
 * (the client gave up: a proposal whose leader crashed) has ret =
 * LINZ_PENDING: it may take effect at any point after its call or never.
 */
#ifndef TARN_TESTS_LINZ_H
#define TARN_TESTS_LINZ_H

#include <stddef.h>
#include <stdint.h>

#define LINZ_PENDING UINT64_MAX

typedef struct linz_op {
    uint64_t call; /* invocation time >= 1 (0 is the initial value's); all distinct */
    uint64_t ret;  /* response time > call, or LINZ_PENDING */
    int is_write;
    uint64_t key;
    uint64_t value; /* written, or returned by the read */
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
} linz_stats;

/*
 * Checks ops[0..n) (any order). Reads that never returned are ignored. `o`
 * may be NULL (LINZ_AUTO, default budget). On LINZ_VIOLATION fills why
 * (why_len bytes). *st (may be NULL) gets what the check cost.
 */
int linz_check(const linz_op *ops, size_t n, const linz_opts *o, char *why, size_t why_len,
               linz_stats *st);

#endif
