/*
 * tests/sim/linz_hist.h: client histories recorded from real processes (a
 * JSON file), checked for linearizability with linz.h's versioned kv
 * register model. The cluster chaos tests write the file; the linz_check
 * tool and test_linz_hist read it.
 *
 * File: {"ops":[op, ...]} with, per op,
 *
 * | field | meaning |
 * |---|---|
 * | "key" | the key (string) |
 * | "op" | "read", "put", "cas" (a compare on "expect" that succeeded, or whose outcome is
 * unknown), "cas_failed" (409) | | "call", "ret" | invocation and response times, integers in one
 * clock (ns); "ret" null: never answered or failed ambiguously (a timeout, a network error, a 503
 * or 500 on a write): pending to the end | | "value" | put/cas: the value written; read: the value
 * returned; cas_failed: the current value the 409 carried; null: the key was absent | | "version" |
 * read and cas_failed: the version seen (0: absent); put/cas: the version the write made; null or
 * missing: not observed | | "expect" | cas and cas_failed: the version compared against (0: must be
 * absent) | | "consistency" | optional; "serializable" reads are not linearizable by design and are
 * left out | | "client" | optional; printed with the sub-history |
 *
 * Values are unique per key in a good history (the checker relies on it to
 * stay fast, as linz.h explains); a value written twice is refused as
 * input. Equal times are read so that operations overlap (a call and a
 * return at the same instant are concurrent), which can only hide an
 * ordering, never invent one.
 */
#ifndef TARN_TESTS_LINZ_HIST_H
#define TARN_TESTS_LINZ_HIST_H

#include "linz.h"

#include <stdio.h>

enum linz_hist_result {
    LINZ_HIST_OK = 0,
    LINZ_HIST_VIOLATION = 1, /* not linearizable: report and sub-history printed */
    LINZ_HIST_BAD_INPUT = 2, /* unreadable file or a malformed op */
    LINZ_HIST_GAVE_UP = 3,   /* undecided within the search budget */
};

typedef struct linz_hist_stats {
    size_t ops;          /* operations read */
    size_t checked;      /* of which went into the model */
    size_t pending;      /* of which were pending */
    size_t serializable; /* reads left out */
    size_t keys;
    uint64_t steps;
} linz_hist_stats;

/* Reads the history in `path` and checks it. Writes a one-line verdict to
 * out; on a violation, also the reason and the failing key's sub-history
 * in call order (times in ms from the first call). st may be NULL.
 * Returns an enum linz_hist_result. `budget` 0: 10 million steps per key. */
int linz_hist_check_file(const char *path, uint64_t budget, FILE *out, linz_hist_stats *st);

#endif
