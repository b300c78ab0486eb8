/*
 * bench/raft/raft_bench.c: the consensus core's CPU cost. Three cores in
 * one process, a zero-cost network (an in-memory FIFO, no loss, no delay)
 * and no disk: everything the Ready contract asks for is done at once. A
 * leader proposes batches of entries; the figure is entries committed on
 * the leader and applied on all three nodes per second of CPU time, so it
 * measures the core alone (no I/O, no fsync, no real network).
 *
 *   bench_raft [PROPOSALS [BATCH [PAYLOAD_BYTES]]]   defaults 200000 64 16
 *
 * Build RelWithDebInfo for a figure worth quoting.
 */
#include "raft/raft.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NODES 3

typedef struct bench_net {
    raft_msg *q; /* FIFO of deep copies */
    size_t head, n, cap;
    uint64_t msgs;
} bench_net;

/* The network keeps messages past raft_advance: deep copies. */
static void msg_copy(raft_msg *dst, const raft_msg *src)
{
    TARN_ASSERT(raft_msg_copy(dst, src) == 0);
}

static void net_push(bench_net *net, const raft_msg *m)
{
    if (net->n == net->cap) {
        net->cap = net->cap ? net->cap * 2 : 1024;
        net->q = tarn_realloc(net->q, net->cap * sizeof(raft_msg));
        TARN_ASSERT(net->q != NULL);
    }
    msg_copy(&net->q[net->n++], m);
    net->msgs++;
}

/* The host's Ready loop with nothing to wait for. */
static void bench_ready(raft *r, bench_net *net, uint64_t *applied)
{
    while (raft_has_ready(r)) {
        struct raft_ready rd;
        TARN_ASSERT(raft_ready(r, &rd) == 0);
        for (size_t i = 0; i < rd.n_msgs_now; i++)
            net_push(net, &rd.msgs_now[i]);
        for (size_t i = 0; i < rd.n_msgs_after_persist; i++)
            net_push(net, &rd.msgs_after_persist[i]);
        *applied += rd.n_committed;
        TARN_ASSERT(raft_advance(r, &rd) == 0);
    }
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != 0 || v < min || v > max) {
        fprintf(stderr, "bench_raft: bad number '%s' (%" PRIu64 "..%" PRIu64 ")\n", s, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 4) {
        fprintf(stderr, "usage: bench_raft [PROPOSALS [BATCH [PAYLOAD_BYTES]]]\n");
        return 2;
    }
    uint64_t proposals = argc > 1 ? parse_u64(argv[1], 1, 100000000) : 200000;
    uint64_t batch = argc > 2 ? parse_u64(argv[2], 1, 4096) : 64;
    uint64_t payload = argc > 3 ? parse_u64(argv[3], 0, 65536) : 16;
    uint8_t *data = tarn_calloc(payload + 1, 1);
    TARN_ASSERT(data != NULL);
    memset(data, 'x', payload);

    raft *r[BENCH_NODES];
    uint64_t voters[BENCH_NODES] = {1, 2, 3}, applied[BENCH_NODES] = {0};
    for (int i = 0; i < BENCH_NODES; i++) {
        raft_config cfg;
        raft_config_init(&cfg);
        cfg.id = (uint64_t)i + 1;
        cfg.voters = voters;
        cfg.n_voters = BENCH_NODES;
        cfg.rng_seed = (uint64_t)i;
        tarn_err err = TARN_ERR_INIT;
        if (raft_open(&cfg, NULL, NULL, &r[i], &err) != 0) {
            fprintf(stderr, "bench_raft: %s\n", tarn_err_msg(&err));
            return 1;
        }
    }
    bench_net net = {0};
    double t0 = cpu_seconds();
    uint64_t proposed = 0, rounds = 0;
    /* +1: the leader's no-op. */
    while (applied[0] < proposals + 1 || applied[1] < proposals + 1 || applied[2] < proposals + 1) {
        raft_status st;
        raft_get_status(r[0], &st);
        /* Ticks when the network is idle: the election at the start, and
         * the heartbeat that tells the followers the last commit index
         * (a new commit index rides on the next append or heartbeat). */
        if (net.n == 0)
            TARN_ASSERT(raft_tick(r[0]) == 0);
        for (uint64_t k = 0; st.state == RAFT_LEADER && k < batch && proposed < proposals; k++) {
            if (raft_propose(r[0], data, (uint32_t)payload, NULL, NULL) != 0)
                break; /* EBUSY: too many uncommitted, deliver first */
            proposed++;
        }
        for (int i = 0; i < BENCH_NODES; i++)
            bench_ready(r[i], &net, &applied[i]);
        size_t end = net.n; /* deliver what is queued now; replies queue behind */
        for (; net.head < end; net.head++) {
            raft_msg *m = &net.q[net.head];
            size_t to = (size_t)(m->to - 1);
            TARN_ASSERT(raft_step(r[to], m) == 0);
            raft_msg_copy_free(m);
            bench_ready(r[to], &net, &applied[to]);
        }
        if (net.head > 0)
            memmove(net.q, net.q + net.head, (net.n - net.head) * sizeof(raft_msg));
        net.n -= net.head;
        net.head = 0;
        rounds++;
    }
    double secs = cpu_seconds() - t0;
    printf("bench_raft: 3 nodes, zero-cost network, batches of %" PRIu64 " x %" PRIu64
           " bytes: %" PRIu64 " proposals committed and applied on every node in %.3f s CPU = "
           "%.0f proposals/s (%" PRIu64 " messages, %" PRIu64 " rounds)\n",
           batch, payload, proposals, secs, secs > 0 ? (double)proposals / secs : 0.0, net.msgs,
           rounds);
    for (size_t i = 0; i < net.n; i++)
        raft_msg_copy_free(&net.q[i]);
    tarn_free(net.q);
    tarn_free(data);
    for (int i = 0; i < BENCH_NODES; i++)
        raft_close(r[i]);
    return 0;
}
