/*
 * tests/unit/wal/wal_test_util.h: helpers shared by the WAL unit tests: a
 * model of the log the tests expect, deterministic payloads, and checks
 * of a wal_recovered against the model.
 */
#ifndef TARN_TEST_WAL_UTIL_H
#define TARN_TEST_WAL_UTIL_H

#include "common/test_util.h"

#include "wal/wal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Payload of entry (index, term, len): bytes derived from all three, so a
 * record read back at the wrong place or with the wrong length differs. */
/* noinline: at -O3 GCC's -Wstringop-overflow misreads the inlined loop
 * against the malloc sizes in wt_append (a false positive). */
__attribute__((noinline, unused)) static void wt_fill(uint8_t *p, uint64_t index, uint64_t term,
                                                      size_t len)
{
    uint64_t x = index * 0x9E3779B97F4A7C15ull ^ term * 0xC2B2AE3D27D4EB4Full ^ len;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        p[i] = (uint8_t)(x >> 56);
    }
}

/* Entry type of entry (index, term, len): every value 0..255 occurs, and
 * a type read back from the wrong record or dropped differs. */
static inline uint8_t wt_type(uint64_t index, uint64_t term, size_t len)
{
    return (uint8_t)((index * 31 + term * 7 + len) % 256);
}

typedef struct wt_model {
    uint64_t snap_index, snap_term, last_index;
    uint64_t terms[4096]; /* terms[i]: term of entry i (indexes below 4096) */
    size_t lens[4096];
    int has_hs;
    wal_hard_state hs;
} wt_model;

/* Appends entries [index, index+n) of one term and payload length rule
 * len(i) = (i * 37) % mod, through wal_append, and records them. */
static inline int wt_append(wal *w, wt_model *m, uint64_t index, size_t n, uint64_t term,
                            size_t mod, const wal_hard_state *hs)
{
    wal_entry *e = calloc(n, sizeof(*e));
    uint8_t **bufs = calloc(n, sizeof(*bufs));
    for (size_t i = 0; i < n; i++) {
        size_t len = mod ? (size_t)((index + i) * 37 % mod) : 0;
        bufs[i] = malloc(len + 1);
        wt_fill(bufs[i], index + i, term, len);
        e[i] = (wal_entry){.index = index + i,
                           .term = term,
                           .data = bufs[i],
                           .len = len,
                           .type = wt_type(index + i, term, len)};
    }
    tarn_err err = TARN_ERR_INIT;
    int rc = wal_append(w, e, n, hs, &err);
    if (rc == 0 && m != NULL) {
        for (size_t i = 0; i < n; i++) {
            m->terms[index + i] = term;
            m->lens[index + i] = e[i].len;
        }
        if (n > 0)
            m->last_index = index + n - 1;
        if (hs) {
            m->has_hs = 1;
            m->hs = *hs;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(e);
    return rc;
}

/* Asserts that r holds exactly what m says, byte for byte. */
static inline void wt_check(const wal_recovered *r, const wt_model *m)
{
    assert_int_equal(r->snap_index, m->snap_index);
    if (m->snap_index > 0)
        assert_int_equal(r->snap_term, m->snap_term);
    assert_int_equal(r->last_index, m->last_index);
    assert_int_equal(r->entry_count, m->last_index - m->snap_index);
    assert_int_equal(!!r->has_hard_state, !!m->has_hs);
    if (m->has_hs) {
        assert_int_equal(r->hard_state.term, m->hs.term);
        assert_int_equal(r->hard_state.vote, m->hs.vote);
        assert_int_equal(r->hard_state.commit, m->hs.commit);
    }
    uint8_t *want = malloc(1 << 16);
    for (size_t i = 0; i < r->entry_count; i++) {
        const wal_entry *e = &r->entries[i];
        assert_int_equal(e->index, m->snap_index + 1 + i);
        assert_int_equal(e->term, m->terms[e->index]);
        assert_int_equal(e->len, m->lens[e->index]);
        assert_int_equal(e->type, wt_type(e->index, e->term, e->len));
        assert_true(e->len < (1 << 16));
        wt_fill(want, e->index, e->term, e->len);
        if (e->len > 0)
            assert_memory_equal(e->data, want, e->len);
    }
    free(want);
}

#endif
