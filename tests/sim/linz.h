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
    uint64_t call; /* invocation time; all times distinct */
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

/*
 * Checks ops[0..n) (any order). Reads that never returned are ignored.
 * budget_steps bounds the search (0: 1e8). On LINZ_VIOLATION fills why
 * (why_len bytes). *steps_out (may be NULL) gets the search steps taken.
 */
int linz_check(const linz_op *ops, size_t n, uint64_t budget_steps, char *why, size_t why_len,
               uint64_t *steps_out);

#endif
