/* Tests of the peer transport (node/transport.h) over loopback: frames
 * arrive intact and in order both ways with the peers' URLs learned from
 * the handshake; garbage, a bad CRC, an oversized length, a handshake of
 * another cluster or member id, and a body the receiver refuses each close
 * that one connection (counted) while the transport goes on working; a
 * peer that restarts is reconnected; a full queue drops (TARN_EBUSY) at
 * once instead of blocking; peers added to and removed from a running
 * transport (a removed one's handshakes are refused). */
#include "common/test_util.h"

#include "base/crc32c.h"
#include "node/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 4096

typedef struct sink {
    pthread_mutex_t mu;
    uint32_t seq[MAX_FRAMES]; /* first 4 bytes after the kind of each frame */
    size_t count;
    int refuse_kind; /* frames of this kind are refused (closes the connection) */
    int slow_big_us; /* sleep this long per frame over 4 KiB (fills the sender's socket) */
    uint64_t last_from;
} sink;

static int sink_recv(void *ctx, uint64_t from, const uint8_t *body, size_t len)
{
    sink *s = ctx;
    if (s->refuse_kind && body[0] == s->refuse_kind)
        return -1;
    if (s->slow_big_us && len > 4096)
        usleep((useconds_t)s->slow_big_us);
    pthread_mutex_lock(&s->mu);
    if (s->count < MAX_FRAMES && len >= 5) {
        uint32_t v;
        memcpy(&v, body + 1, 4);
        s->seq[s->count++] = v;
    }
    s->last_from = from;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static size_t sink_count(sink *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

typedef struct pair {
    int port[2];
    sink sinks[2];
    node_transport *t[2];
    char addr[2][64];
} pair;

static void open_one(pair *p, int i, const char *cluster)
{
    node_peer peer = {.id = (uint64_t)(2 - i)};
    snprintf(peer.addr, sizeof(peer.addr), "%s", p->addr[1 - i]);
    char url[64];
    snprintf(url, sizeof(url), "http://member-%d", i + 1);
    node_tp_opts o = {.cluster_id = node_tp_cluster_id(cluster),
                      .self_id = (uint64_t)(i + 1),
                      .listen = p->addr[i],
                      .self_url = url,
                      .peers = &peer,
                      .n_peers = 1,
                      .queue_max = 8,
                      .recv = sink_recv,
                      .recv_ctx = &p->sinks[i]};
    tarn_err err = TARN_ERR_INIT;
    int rc = node_tp_open(&o, &p->t[i], &err);
    if (rc != 0)
        fail_msg("node_tp_open: %s", tarn_err_msg(&err));
}

static void pair_open(pair *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&p->sinks[i].mu, NULL);
        p->port[i] = tarn_test_free_port();
        snprintf(p->addr[i], sizeof(p->addr[i]), "127.0.0.1:%d", p->port[i]);
    }
    open_one(p, 0, "test");
    open_one(p, 1, "test");
}

static void pair_close(pair *p)
{
    node_tp_close(p->t[0]);
    node_tp_close(p->t[1]);
    pthread_mutex_destroy(&p->sinks[0].mu);
    pthread_mutex_destroy(&p->sinks[1].mu);
}

/* Sends frame `seq` (kind 7) from side i, retrying while the queue is full. */
static void send_seq(pair *p, int i, uint32_t seq)
{
    uint8_t body[64] = {7};
    memcpy(body + 1, &seq, 4);
    for (int tries = 0; tries < 2000; tries++) {
        int rc = node_tp_send(p->t[i], (uint64_t)(2 - i), body, sizeof(body));
        if (rc == 0)
            return;
        assert_int_equal(rc, TARN_EBUSY);
        usleep(1000);
    }
    fail_msg("queue stayed full");
}

/* Sends warm-up frames from side i until one arrives (frames queued
 * before the first handshake may be dropped, as Raft allows). */
static void warm_up(pair *p, int i)
{
    for (uint32_t k = 0; k < 1000 && sink_count(&p->sinks[1 - i]) == 0; k++) {
        send_seq(p, i, k % 500);
        usleep(5000);
    }
    assert_true(sink_count(&p->sinks[1 - i]) > 0);
}

/* Counts frames with seq >= base and checks they are base, base+1, ... */
static size_t count_run(sink *s, uint32_t base)
{
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (size_t k = 0; k < s->count; k++)
        if (s->seq[k] >= base) {
            assert_int_equal(s->seq[k], base + n);
            n++;
        }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void test_frames_both_ways_in_order(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    warm_up(&p, 0);
    warm_up(&p, 1);
    for (uint32_t k = 0; k < 200; k++) {
        send_seq(&p, 0, 1000 + k);
        send_seq(&p, 1, 1000 + k);
    }
    /* Once connected nothing is lost: every frame, in order. */
    for (int i = 0;
         i < 1000 && (count_run(&p.sinks[0], 1000) < 200 || count_run(&p.sinks[1], 1000) < 200);
         i++)
        usleep(10000);
    assert_int_equal(count_run(&p.sinks[0], 1000), 200);
    assert_int_equal(count_run(&p.sinks[1], 1000), 200);
    assert_int_equal(p.sinks[1].last_from, 1);
    assert_int_equal(p.sinks[0].last_from, 2);
    char url[64];
    assert_int_equal(node_tp_peer_url(p.t[0], 2, url, sizeof(url)), 0);
    assert_string_equal(url, "http://member-2");
    assert_int_equal(node_tp_peer_url(p.t[1], 1, url, sizeof(url)), 0);
    assert_string_equal(url, "http://member-1");
    assert_int_equal(node_tp_peer_url(p.t[0], 9, url, sizeof(url)), TARN_ENOENT);
    uint8_t one = 7;
    assert_int_equal(node_tp_send(p.t[0], 9, &one, 1), TARN_ENOENT);
    assert_int_equal(node_tp_send(p.t[0], 2, &one, 0), TARN_ETOOBIG);
    pair_close(&p);
}

/* Frames larger than the socket buffer: a direct send from the caller's
 * thread writes part of one and the sender thread the rest, while more
 * are queued behind it (transport.c invariant 4). Every frame must arrive
 * whole (a spliced frame fails its CRC and closes the connection, losing
 * the frames after it) and in order. */
static void test_big_frames_split_between_writers(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    warm_up(&p, 0);
    p.sinks[1].slow_big_us = 10000; /* a slow reader: the socket buffer fills */
    enum { BIG = 1u << 20, COUNT = 48 };
    uint8_t *body = malloc(BIG);
    for (size_t k = 0; k < BIG; k++)
        body[k] = (uint8_t)(k * 31 + 7);
    body[0] = 7;
    for (uint32_t k = 0; k < COUNT; k++) {
        uint32_t seq = 2000 + k;
        memcpy(body + 1, &seq, 4);
        int rc = TARN_EBUSY;
        for (int tries = 0; tries < 5000 && rc == TARN_EBUSY; tries++)
            if ((rc = node_tp_send(p.t[0], 2, body, BIG)) == TARN_EBUSY)
                usleep(1000);
        assert_int_equal(rc, 0);
    }
    for (int i = 0; i < 2000 && count_run(&p.sinks[1], 2000) < COUNT; i++)
        usleep(10000);
    assert_int_equal(count_run(&p.sinks[1], 2000), COUNT);
    free(body);
    pair_close(&p);
}

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends bytes on a raw connection and expects the transport to close it
 * (read returns 0 or an error, never data beyond a HELLO). */
static void expect_closed(int port, const uint8_t *bytes, size_t len)
{
    int fd = raw_connect(port);
    assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
    char buf[256];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
    }
    assert_true(r == 0 || r < 0);
    close(fd);
}

static size_t frame(uint8_t *out, const uint8_t *body, uint32_t len)
{
    memcpy(out, &len, 4);
    uint32_t c = crc32c(0, body, len);
    memcpy(out + 4, &c, 4);
    memcpy(out + 8, body, len);
    return 8 + len;
}

static size_t hello(uint8_t *out, const char *cluster, uint64_t from, uint64_t to)
{
    uint8_t b[64] = {1, 'T', 'A', 'R', 'N', 'P', 'E', 'E', 'R', 1, 0, 0, 0};
    uint64_t cid = node_tp_cluster_id(cluster);
    memcpy(b + 13, &cid, 8);
    memcpy(b + 21, &from, 8);
    memcpy(b + 29, &to, 8);
    b[37] = 0;
    b[38] = 0;
    return frame(out, b, 39);
}

static void test_garbage_closes_connection_only(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint64_t seed = tarn_test_seed();
    srand((unsigned)seed);
    uint8_t junk[512];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rand();
    expect_closed(p.port[1], junk, sizeof(junk));
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_closed(p.port[1], (const uint8_t *)http, strlen(http));
    uint8_t buf[256];
    uint32_t huge = NODE_TP_FRAME_MAX + 1;
    memcpy(buf, &huge, 4);
    memset(buf + 4, 0, 8);
    expect_closed(p.port[1], buf, 12);
    size_t n = hello(buf, "test", 1, 2);
    buf[10] ^= 0x40; /* bad CRC */
    expect_closed(p.port[1], buf, n);
    expect_closed(p.port[1], buf, hello(buf, "other-cluster", 1, 2));
    expect_closed(p.port[1], buf, hello(buf, "test", 1, 5)); /* to another id */
    expect_closed(p.port[1], buf, hello(buf, "test", 9, 2)); /* unknown member */
    node_tp_stats st;
    node_tp_get_stats(p.t[1], &st);
    assert_true(st.bad_frames >= 6);
    /* A valid handshake followed by a second one is refused too. */
    size_t m = hello(buf, "test", 1, 2);
    m += hello(buf + m, "test", 1, 2);
    expect_closed(p.port[1], buf, m);
    /* The real peer still gets through. */
    warm_up(&p, 0);
    pair_close(&p);
}

static void test_refused_body_then_reconnect(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    p.sinks[1].refuse_kind = 9;
    warm_up(&p, 0);
    uint8_t bad[8] = {9};
    assert_int_equal(node_tp_send(p.t[0], 2, bad, sizeof(bad)), 0);
    /* The connection closes; the sender notices and reconnects. Several
     * warm-up frames may still be arriving, so wait for the refusal itself
     * and then for frames after it, not for a count reached before it. */
    node_tp_stats st;
    size_t after = 0;
    for (int i = 0; i < 1000; i++) {
        node_tp_get_stats(p.t[1], &st);
        if (st.bad_frames >= 1 && after == 0)
            after = sink_count(&p.sinks[1]);
        if (after && sink_count(&p.sinks[1]) >= after + 3)
            break;
        send_seq(&p, 0, (uint32_t)(10 + i));
        usleep(10000);
    }
    node_tp_get_stats(p.t[1], &st);
    assert_true(st.bad_frames >= 1);
    assert_true(after && sink_count(&p.sinks[1]) >= after + 3);
    node_tp_get_stats(p.t[0], &st);
    assert_true(st.connects >= 2);
    pair_close(&p);
}

static void test_peer_restart_reconnects(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    warm_up(&p, 0);
    node_tp_close(p.t[1]);
    p.t[1] = NULL;
    for (uint32_t k = 0; k < 50; k++) { /* dropped: nobody listens */
        uint8_t body[8] = {7};
        (void)node_tp_send(p.t[0], 2, body, sizeof(body));
    }
    size_t before = sink_count(&p.sinks[1]);
    open_one(&p, 1, "test");
    for (int i = 0; i < 1000 && sink_count(&p.sinks[1]) <= before; i++) {
        send_seq(&p, 0, (uint32_t)(100 + i));
        usleep(10000);
    }
    assert_true(sink_count(&p.sinks[1]) > before);
    pair_close(&p);
}

static void test_full_queue_drops_at_once(void **state)
{
    (void)state;
    int port = tarn_test_free_port(); /* nobody listens there */
    int self = tarn_test_free_port();
    char laddr[64];
    sink s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.mu, NULL);
    snprintf(laddr, sizeof(laddr), "127.0.0.1:%d", self);
    node_peer peer = {.id = 2};
    snprintf(peer.addr, sizeof(peer.addr), "127.0.0.1:%d", port);
    node_tp_opts o = {.cluster_id = 1,
                      .self_id = 1,
                      .listen = laddr,
                      .peers = &peer,
                      .n_peers = 1,
                      .queue_max = 4,
                      .recv = sink_recv,
                      .recv_ctx = &s};
    node_transport *t = NULL;
    assert_int_equal(node_tp_open(&o, &t, NULL), 0);
    int busy = 0;
    uint8_t body[8] = {7};
    for (int i = 0; i < 100; i++)
        busy += node_tp_send(t, 2, body, sizeof(body)) == TARN_EBUSY;
    assert_true(busy > 0);
    node_tp_close(t);
    pthread_mutex_destroy(&s.mu);
    /* Bad options are refused. */
    o.n_peers = 1;
    snprintf(peer.addr, sizeof(peer.addr), "no-port");
    assert_int_equal(node_tp_open(&o, &t, NULL), TARN_EINVAL);
    peer.id = 1; /* itself */
    snprintf(peer.addr, sizeof(peer.addr), "127.0.0.1:%d", port);
    assert_int_equal(node_tp_open(&o, &t, NULL), TARN_EINVAL);
}

/* Sends frames kind 7 from t to `to` until `s` has more than `before`
 * frames (up to 10 s). */
static void send_until_received(node_transport *t, uint64_t to, sink *s, size_t before)
{
    uint8_t body[8] = {7};
    for (int k = 0; k < 2000 && sink_count(s) <= before; k++) {
        (void)node_tp_send(t, to, body, sizeof(body)); /* dropped while connecting */
        usleep(5000);
    }
    assert_true(sink_count(s) > before);
}

static void test_peers_added_and_removed(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    warm_up(&p, 0);
    /* A third transport, id 3, that knows member 1 only. */
    sink s3;
    memset(&s3, 0, sizeof(s3));
    pthread_mutex_init(&s3.mu, NULL);
    char addr3[64];
    snprintf(addr3, sizeof(addr3), "127.0.0.1:%d", tarn_test_free_port());
    node_peer one = {.id = 1};
    snprintf(one.addr, sizeof(one.addr), "%s", p.addr[0]);
    node_tp_opts o = {.cluster_id = node_tp_cluster_id("test"),
                      .self_id = 3,
                      .listen = addr3,
                      .peers = &one,
                      .n_peers = 1,
                      .recv = sink_recv,
                      .recv_ctx = &s3};
    tarn_err err = TARN_ERR_INIT;
    node_transport *t3 = NULL;
    assert_int_equal(node_tp_open(&o, &t3, &err), 0);
    uint8_t body[8] = {7};
    assert_int_equal(node_tp_send(p.t[0], 3, body, sizeof(body)), TARN_ENOENT);
    node_peer three = {.id = 3};
    snprintf(three.addr, sizeof(three.addr), "%s", addr3);
    assert_int_equal(node_tp_add_peer(p.t[0], &three, &err), 0);
    assert_int_equal(node_tp_add_peer(p.t[0], &three, &err), 0); /* same address: nothing */
    node_peer moved = three;
    snprintf(moved.addr, sizeof(moved.addr), "127.0.0.1:1");
    assert_int_equal(node_tp_add_peer(p.t[0], &moved, &err), TARN_EEXIST);
    node_peer self = {.id = 1};
    snprintf(self.addr, sizeof(self.addr), "127.0.0.1:1");
    assert_int_equal(node_tp_add_peer(p.t[0], &self, &err), TARN_EINVAL);
    node_peer bad = {.id = 9};
    snprintf(bad.addr, sizeof(bad.addr), "no-port");
    assert_int_equal(node_tp_add_peer(p.t[0], &bad, &err), TARN_EINVAL);
    /* Frames flow both ways with the new peer. */
    send_until_received(p.t[0], 3, &s3, 0);
    send_until_received(t3, 1, &p.sinks[0], sink_count(&p.sinks[0]));
    uint64_t gen = 99;
    assert_int_equal(node_tp_peer_gen(p.t[0], 3, &gen), 0);
    /* Removed: nothing more is sent to it, its handshakes are refused. */
    node_tp_stats before;
    node_tp_get_stats(p.t[0], &before);
    assert_int_equal(node_tp_remove_peer(p.t[0], 3), 0);
    assert_int_equal(node_tp_remove_peer(p.t[0], 3), TARN_ENOENT);
    assert_int_equal(node_tp_send(p.t[0], 3, body, sizeof(body)), TARN_ENOENT);
    assert_int_equal(node_tp_peer_gen(p.t[0], 3, &gen), TARN_ENOENT);
    node_tp_stats after = before;
    for (int k = 0; k < 2000 && after.bad_frames == before.bad_frames; k++) {
        (void)node_tp_send(t3, 1, body, sizeof(body));
        usleep(5000);
        node_tp_get_stats(p.t[0], &after);
    }
    assert_true(after.bad_frames > before.bad_frames);
    /* The other peer is untouched; member 3 can be added again. */
    size_t had = sink_count(&p.sinks[1]);
    send_until_received(p.t[0], 2, &p.sinks[1], had);
    size_t got3 = sink_count(&s3);
    assert_int_equal(node_tp_add_peer(p.t[0], &three, &err), 0);
    send_until_received(p.t[0], 3, &s3, got3);
    node_tp_close(t3);
    pthread_mutex_destroy(&s3.mu);
    pair_close(&p);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_both_ways_in_order),
        cmocka_unit_test(test_big_frames_split_between_writers),
        cmocka_unit_test(test_garbage_closes_connection_only),
        cmocka_unit_test(test_refused_body_then_reconnect),
        cmocka_unit_test(test_peer_restart_reconnects),
        cmocka_unit_test(test_full_queue_drops_at_once),
        cmocka_unit_test(test_peers_added_and_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
