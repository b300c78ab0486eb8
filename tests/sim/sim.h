/*
 * tests/sim/sim.h: the deterministic simulator of the consensus core.
 * Everything (network, disks, clocks, clients, faults) is driven by one
 * tarn_rng seeded from --seed, so a failing seed replays exactly.
 *
 *   sim_disk.c   simulated disk: CRC-framed log records, torn writes
 *   sim_check.c  the safety checker (election safety, log matching,
 *                leader completeness, state machine safety)
 *   raft_sim.c   the cluster, network, faults, clients and main()
 */
#ifndef TARN_TESTS_SIM_H
#define TARN_TESTS_SIM_H

#include "base/rand.h"
#include "raft/raft.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_NODES 6 /* 5 bootstrap voters and a spare that joins later */

typedef struct sim_disk {
    uint8_t *bytes; /* the log file */
    size_t len;
    size_t cap;
    size_t *offs; /* offs[i]: offset of the record of index i + 1 */
    size_t n_offs;
    size_t cap_offs;
    raft_hard_state hs; /* the hard-state slot (atomic writes) */
    int has_hs;
    uint64_t base; /* the log starts after the snapshot at base */
    uint64_t base_term;
} sim_disk;

void sim_disk_truncate(sim_disk *d, uint64_t index);
void sim_disk_append(sim_disk *d, const raft_entry *e, size_t torn_bytes);
size_t sim_disk_record_size(const raft_entry *e);
void sim_disk_recover(sim_disk *d);
uint64_t sim_disk_last_index(const sim_disk *d);
int sim_disk_entry(void *ctx, uint64_t index, raft_entry *out);
void sim_disk_free(sim_disk *d);
void sim_disk_compact(sim_disk *d, uint64_t index, uint64_t term);
void sim_disk_reset(sim_disk *d, uint64_t index, uint64_t term);

/* A growable array of uint64_t. */
typedef struct sim_u64s {
    uint64_t *v;
    size_t n;
    size_t cap;
} sim_u64s;

void sim_u64s_set(sim_u64s *a, size_t i, uint64_t x); /* grows, zero-fills */
uint64_t sim_u64s_get(const sim_u64s *a, size_t i);   /* 0 beyond the end */
void sim_u64s_free(sim_u64s *a);

/* The checker's global knowledge. chain hashes identify a log prefix. */
typedef struct sim_check {
    sim_u64s leader_of_term;  /* term -> leader id */
    sim_u64s committed_chain; /* index -> chain hash of the committed prefix */
    sim_u64s commit_term;     /* index -> term of the first node seen committing it */
    uint64_t committed_max;
    uint64_t *tab_key_index; /* (index, term) -> chain: open addressing */
    uint64_t *tab_key_term;
    uint64_t *tab_chain;
    size_t tab_cap;
    size_t tab_n;
    char violation[512]; /* first violation, "" when none */
} sim_check;

/* The checker's view of one node's in-memory log, rebuilt from Readies. */
typedef struct sim_mirror {
    sim_u64s term;  /* index -> term */
    sim_u64s chain; /* index -> chain hash */
    uint64_t last;
    uint64_t offset; /* entries <= offset are in a snapshot */
    uint64_t seen_commit;
} sim_mirror;

uint64_t sim_chain_next(uint64_t prev, const raft_entry *e);
void sim_check_free(sim_check *c);
int sim_check_failed(const sim_check *c);
void sim_check_fail(sim_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mirrors a Ready's entries into m and checks log matching. */
void sim_check_entries(sim_check *c, sim_mirror *m, uint64_t node, const raft_entry *e, size_t n);
/* Records/validates commit progress of a node and a leader's term. */
void sim_check_commit(sim_check *c, sim_mirror *m, uint64_t node, uint64_t commit, uint64_t term);
void sim_check_leader(sim_check *c, const sim_mirror *m, uint64_t node, uint64_t term);
void sim_check_apply(sim_check *c, const sim_mirror *m, uint64_t node, uint64_t index);
/* A snapshot at index must be the committed prefix. */
void sim_check_snapshot(sim_check *c, uint64_t node, uint64_t index, uint64_t chain);
/* Resets m to a log that starts after a snapshot (index, term, chain). */
void sim_mirror_reset(sim_mirror *m, uint64_t index, uint64_t term, uint64_t chain);

#endif
