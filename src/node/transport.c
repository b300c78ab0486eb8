/*
 * node/transport.c: the peer transport (transport.h): a listener with an
 * accept thread, a handshake thread per new inbound connection, the
 * inbound connections' pump (below), and a sender thread per peer with a
 * bounded queue. Frame format and handshake:
 * transport.h; design note: src/node/README.md ("Transport").
 *
 * Inbound connections: the accept thread starts a short-lived handshake
 * thread per connection (a slow or silent dialler blocks only its own);
 * after the HELLO the connection joins an epoll set (t->epfd) and its
 * frames are read by node_tp_pump, without blocking, on whichever thread
 * calls it: the node's loop itself (opts.external_poll), so that a frame
 * reaches Raft without a hand-off between threads, or the transport's own
 * poller thread.
 *
 * Invariants:
 *  1. A frame reaches the receive callback only after the connection's
 *     HELLO named this cluster, this member, and a known peer, and only
 *     when its length and CRC32C check out.
 *  2. Every queue is bounded (frames and bytes); a full queue drops.
 *  3. No thread blocks forever: reads before the handshake time out, writes
 *     time out (SO_SNDTIMEO) so a stalled peer costs a reconnect, and
 *     close shuts every socket down before joining.
 *  4. One writer per connection at a time, frames whole and in order:
 *     node_tp_send writes a frame itself (non-blocking) only when nothing
 *     is queued and nobody writes (p->writing, under mu); what the socket
 *     did not take goes to the head of the queue for the sender thread.
 *     The sender thread writes only while no one else does, and closes
 *     the socket only after the last direct writer finished.
 *  5. A polled inbound connection's fd, buffer and epoll entry belong to
 *     node_tp_pump (one caller at a time), which alone closes it; others
 *     only shut it down (under mu) to make the pump find its end.
 */
#include "node/transport.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TP_HEADER_BYTES   8
#define TP_HELLO_FIXED    (1 + 8 + 2 + 2 + 8 + 8 + 8 + 2)
#define TP_SEND_TIMEOUT_S 5
#define TP_CONNECT_MS     1000
#define TP_IDLE_CHECK_MS  100
#define TP_RX_MIN         (64u << 10)  /* a polled connection's receive buffer */
#define TP_RX_KEEP        (256u << 10) /* a bigger one (a large frame's) shrinks back */
#define TP_PUMP_BYTES     (256u << 10) /* read per connection per pump: fairness */

typedef struct tp_frame tp_frame;
struct tp_frame {
    tp_frame *next;
    int partial; /* the rest of a frame begun on the current connection */
    size_t len;  /* header + body (or what is left of them) */
    uint8_t data[];
};

typedef struct tp_peer {
    node_transport *t;
    node_peer p;
    pthread_t thread;
    int started;         /* thread created and not joined yet */
    int active;          /* a peer (guarded by t->mu); 0: a free slot or a removed peer whose
                            sender thread is finishing (joined when the slot is reused or at close) */
    pthread_cond_t cond; /* frames queued or stop; CLOCK_MONOTONIC */
    /* Guarded by t->mu. */
    tp_frame *head, *tail;
    size_t count, bytes;
    int fd;         /* the outbound connection, -1 when none */
    int writing;    /* a thread is writing on fd (invariant 4) */
    int pump_waits; /* the sender thread waits for that writer: signal p->cond at its end */
    uint64_t gen;   /* connections lost or dials failed so far (node_tp_peer_gen) */
    char url[NODE_TP_URL_MAX];
} tp_peer;

typedef struct tp_inbound {
    node_transport *t;
    pthread_t thread;
    int thread_live; /* the handshake thread was started and is not joined yet */
    int done;        /* the handshake thread finished: join it */
    int polled;      /* in t->epfd: the pump owns the connection (invariant 5) */
    int fd;          /* guarded by t->mu; -1 once closed */
    uint64_t from;   /* the peer, once its HELLO checked out */
    /* The pump's: received bytes not yet delivered (a partial frame). */
    uint8_t *rx;
    size_t rx_cap, rx_len;
} tp_inbound;

struct node_transport {
    node_tp_opts opts;
    char self_url[NODE_TP_URL_MAX];
    int lfd;
    uint16_t port;
    int wake[2]; /* pipe: wakes the accept and poller threads at close */
    pthread_t accept_thread;
    int accept_started;
    int epfd; /* the polled inbound connections (invariant 5) */
    pthread_t poller_thread;
    int poller_started; /* without opts.external_poll */
    pthread_mutex_t mu;
    int stop; /* guarded by mu */
    tp_peer peers[NODE_TP_PEERS_MAX];
    size_t n_peers; /* slots ever used (active or not) */
    tp_inbound in[NODE_TP_INBOUND_MAX];
    node_tp_stats stats; /* guarded by mu */
    obs_series_t *m_sent, *m_recv, *m_dropped, *m_bad, *m_connects;
};

/* ---- little-endian helpers ---------------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t node_tp_cluster_id(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *s = (const unsigned char *)name; s && *s; s++) {
        h ^= *s;
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- sockets ------------------------------------------------------------ */

/* Splits "host:port" and resolves it (IPv4). TARN_EINVAL when malformed or
 * unresolvable. */
static int tp_resolve(const char *addr, struct sockaddr_in *out, tarn_err *err)
{
    char host[NODE_TP_ADDR_MAX];
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host) || !colon[1])
        return tarn_err_set(err, TARN_EINVAL, "peer address '%s' is not host:port",
                            addr ? addr : "");
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return tarn_err_set(err, TARN_EINVAL, "peer address '%s': bad port", addr);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0 || !res)
        return tarn_err_set(err, TARN_EINVAL, "peer address '%s': %s", addr, gai_strerror(g));
    *out = *(struct sockaddr_in *)(void *)res->ai_addr;
    out->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

static void tp_sock_opts(int fd)
{
    int one = 1;
    /* Best effort: a socket without them still works, only slower. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {.tv_sec = TP_SEND_TIMEOUT_S};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void tp_recv_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* best effort */
}

/* Connects with a timeout. The fd is blocking on return; -1 on failure. */
static int tp_dial(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (poll(&pfd, 1, TP_CONNECT_MS) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
            rc = 0;
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    tp_sock_opts(fd);
    return fd;
}

static int tp_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes what the socket takes without waiting; returns the bytes
 * written (len: all; fewer: the buffer is full or the connection
 * failed, which the sender thread finds out when it writes the rest). */
static size_t tp_write_nowait(int fd, const uint8_t *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = send(fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    return done;
}

static int tp_read_all(int fd, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t r = recv(fd, p, len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Reads one frame into *buf (grown as needed, at most NODE_TP_FRAME_MAX).
 * 0 ok; TARN_ECLOSED (end of stream or socket error); TARN_ECORRUPT (a
 * bad length or CRC, *why says which). */
static int tp_read_frame(int fd, uint8_t **buf, size_t *cap, size_t *len, const char **why)
{
    uint8_t h[TP_HEADER_BYTES];
    if (tp_read_all(fd, h, sizeof(h)) != 0)
        return TARN_ECLOSED;
    uint32_t n = get_u32(h);
    if (n == 0 || n > NODE_TP_FRAME_MAX) {
        *why = "frame length out of range";
        return TARN_ECORRUPT;
    }
    if (n > *cap) {
        uint8_t *p = tarn_realloc(*buf, n);
        if (!p) {
            *why = "out of memory for a frame";
            return TARN_ECORRUPT;
        }
        *buf = p;
        *cap = n;
    }
    if (tp_read_all(fd, *buf, n) != 0)
        return TARN_ECLOSED;
    if (crc32c(0, *buf, n) != get_u32(h + 4)) {
        *why = "frame CRC32C mismatch";
        return TARN_ECORRUPT;
    }
    *len = n;
    return 0;
}

/* A frame (header + body) ready to write. NULL on out of memory. */
static tp_frame *tp_frame_new(const uint8_t *body, size_t len)
{
    tp_frame *f = tarn_malloc(sizeof(*f) + TP_HEADER_BYTES + len);
    if (!f)
        return NULL;
    f->next = NULL;
    f->partial = 0;
    f->len = TP_HEADER_BYTES + len;
    put_u32(f->data, (uint32_t)len);
    put_u32(f->data + 4, crc32c(0, body, len));
    memcpy(f->data + TP_HEADER_BYTES, body, len);
    return f;
}

/* ---- handshake ----------------------------------------------------------- */

static size_t tp_hello_encode(const node_transport *t, uint64_t to, uint8_t *out)
{
    size_t ul = strlen(t->self_url);
    uint8_t *p = out;
    *p++ = NODE_TP_KIND_HELLO;
    memcpy(p, "TARNPEER", 8);
    p += 8;
    put_u16(p, 1);
    put_u16(p + 2, 0);
    put_u64(p + 4, t->opts.cluster_id);
    put_u64(p + 12, t->opts.self_id);
    put_u64(p + 20, to);
    put_u16(p + 28, (uint16_t)ul);
    memcpy(p + 30, t->self_url, ul);
    return TP_HELLO_FIXED + ul;
}

static int tp_hello_send(node_transport *t, int fd, uint64_t to)
{
    uint8_t body[TP_HELLO_FIXED + NODE_TP_URL_MAX];
    size_t n = tp_hello_encode(t, to, body);
    tp_frame *f = tp_frame_new(body, n);
    if (!f)
        return -1;
    int rc = tp_write_all(fd, f->data, f->len);
    tarn_free(f);
    return rc;
}

static tp_peer *tp_peer_find(node_transport *t, uint64_t id)
{
    for (size_t i = 0; i < t->n_peers; i++)
        if (t->peers[i].active && t->peers[i].p.id == id)
            return &t->peers[i];
    return NULL;
}

/* The reason tp_hello_check gives for a member id we have no peer for. */
static const char tp_unknown_member[] = "handshake from an unknown member id";

/* Checks a HELLO body (untrusted). Returns NULL when fine, else why not;
 * *from and url receive the sender's id and URL. */
static const char *tp_hello_check(node_transport *t, const uint8_t *b, size_t len, uint64_t *from,
                                  char *url)
{
    if (len < TP_HELLO_FIXED || b[0] != NODE_TP_KIND_HELLO || memcmp(b + 1, "TARNPEER", 8) != 0)
        return "not a Tarn peer handshake";
    if (get_u16(b + 9) != 1)
        return "unsupported peer protocol version";
    if (get_u64(b + 13) != t->opts.cluster_id)
        return "handshake from another cluster";
    *from = get_u64(b + 21);
    if (get_u64(b + 29) != t->opts.self_id)
        return "handshake addressed to another member id";
    size_t ul = get_u16(b + 37);
    if (ul >= NODE_TP_URL_MAX || TP_HELLO_FIXED + ul != len)
        return "handshake URL length does not match the frame";
    pthread_mutex_lock(&t->mu); /* peers come and go (node_tp_add/remove_peer) */
    int known = tp_peer_find(t, *from) != NULL;
    pthread_mutex_unlock(&t->mu);
    if (!known)
        return tp_unknown_member;
    memcpy(url, b + TP_HELLO_FIXED, ul);
    url[ul] = '\0';
    return NULL;
}

static void tp_set_url(node_transport *t, uint64_t id, const char *url)
{
    pthread_mutex_lock(&t->mu);
    tp_peer *p = tp_peer_find(t, id);
    if (p)
        snprintf(p->url, sizeof(p->url), "%s", url);
    pthread_mutex_unlock(&t->mu);
}

/* ---- sender threads -------------------------------------------------------- */

static void tp_queue_clear(tp_peer *p, size_t *dropped)
{
    tp_frame *f = p->head;
    while (f) {
        tp_frame *next = f->next;
        tarn_free(f);
        (*dropped)++;
        f = next;
    }
    p->head = p->tail = NULL;
    p->count = p->bytes = 0;
}

/* Whether p's sender thread should end: the transport stops or p was
 * removed. Under t->mu. */
static int tp_peer_done(const tp_peer *p)
{
    return p->t->stop || !p->active;
}

/* Sleeps up to ms unless the transport stops or p is removed; under
 * t->mu. Returns tp_peer_done. */
static int tp_wait(tp_peer *p, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)ms * 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    if (!tp_peer_done(p))
        pthread_cond_timedwait(&p->cond, &p->t->mu, &ts);
    return tp_peer_done(p);
}

/* Dials the peer and completes the handshake; the fd or -1. */
static int tp_connect_peer(tp_peer *p)
{
    node_transport *t = p->t;
    struct sockaddr_in sa;
    if (tp_resolve(p->p.addr, &sa, NULL) != 0)
        return -1;
    int fd = tp_dial(&sa);
    if (fd < 0)
        return -1;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    const char *why = NULL;
    uint64_t from = 0;
    char url[NODE_TP_URL_MAX];
    tp_recv_timeout(fd, NODE_TP_HELLO_TIMEOUT_MS);
    int ok = tp_hello_send(t, fd, p->p.id) == 0 && tp_read_frame(fd, &buf, &cap, &len, &why) == 0;
    if (ok && (why = tp_hello_check(t, buf, len, &from, url)) == NULL && from != p->p.id)
        why = "the member at this address has another id";
    tarn_free(buf);
    if (!ok || why) {
        if (why)
            TARN_LOGF(TARN_LOG_WARN, "transport", "peer handshake refused",
                      TARN_F_UINT("peer", p->p.id), TARN_F_STR("addr", p->p.addr),
                      TARN_F_STR("reason", why));
        close(fd);
        return -1;
    }
    tp_recv_timeout(fd, 0);
    tp_set_url(t, p->p.id, url);
    return fd;
}

/* Whether the peer closed our idle outbound connection. */
static int tp_peer_gone(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Writes queued frames until an error or stop. */
/* The rest of a frame begun on a connection that is gone must not start
 * the next one (under mu). */
static void tp_drop_partial(tp_peer *p)
{
    tp_frame *f = p->head;
    if (!f || !f->partial)
        return;
    p->head = f->next;
    if (!p->head)
        p->tail = NULL;
    p->count--;
    p->bytes -= f->len;
    p->t->stats.frames_dropped++;
    obs_counter_add(p->t->m_dropped, 1);
    tarn_free(f);
}

static void tp_pump(tp_peer *p, int fd)
{
    node_transport *t = p->t;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        /* Frames, and nobody else writing (invariant 4). */
        while (!tp_peer_done(p) && (!p->head || p->writing)) {
            /* Only a writer that keeps queued frames waiting wakes us:
             * an idle pump is not woken after every direct send. */
            p->pump_waits = p->head != NULL;
            int stop = tp_wait(p, TP_IDLE_CHECK_MS);
            p->pump_waits = 0;
            if (stop)
                break;
            if (!p->head && !p->writing && tp_peer_gone(fd))
                goto out;
        }
        if (tp_peer_done(p))
            break;
        tp_frame *batch = p->head;
        size_t n = p->count;
        p->head = p->tail = NULL;
        p->count = p->bytes = 0;
        p->writing = 1;
        pthread_mutex_unlock(&t->mu);
        int failed = 0;
        size_t sent = 0;
        while (batch) {
            tp_frame *next = batch->next;
            if (!failed && tp_write_all(fd, batch->data, batch->len) != 0)
                failed = 1;
            else if (!failed)
                sent++;
            tarn_free(batch);
            batch = next;
        }
        obs_counter_add(t->m_sent, sent);
        obs_counter_add(t->m_dropped, n - sent);
        pthread_mutex_lock(&t->mu);
        p->writing = 0;
        t->stats.frames_sent += sent;
        t->stats.frames_dropped += n - sent;
        if (failed)
            break;
    }
out:
    /* The caller closes fd: wait for a direct writer still on it. */
    while (p->writing) {
        p->pump_waits = 1;
        pthread_cond_wait(&p->cond, &t->mu);
    }
    p->pump_waits = 0;
    pthread_mutex_unlock(&t->mu);
}

static void *tp_sender_main(void *arg)
{
    tp_peer *p = arg;
    node_transport *t = p->t;
    int backoff = NODE_TP_BACKOFF_MIN_MS;
    int was_connected = 0;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        int stop = tp_peer_done(p);
        pthread_mutex_unlock(&t->mu);
        if (stop)
            break;
        int fd = tp_connect_peer(p);
        pthread_mutex_lock(&t->mu);
        if (fd >= 0 && tp_peer_done(p)) { /* removed while we dialled */
            pthread_mutex_unlock(&t->mu);
            close(fd);
            break;
        }
        if (fd < 0) {
            size_t dropped = 0;
            p->gen++;                    /* what was queued is dropped: it will never arrive */
            tp_queue_clear(p, &dropped); /* stale by the time the peer is back */
            t->stats.frames_dropped += dropped;
            obs_counter_add(t->m_dropped, dropped);
            int jitter = (int)(tarn_mono_ns() % (backoff / 2 + 1));
            stop = tp_wait(p, backoff + jitter);
            backoff = backoff * 2 > NODE_TP_BACKOFF_MAX_MS ? NODE_TP_BACKOFF_MAX_MS : backoff * 2;
            pthread_mutex_unlock(&t->mu);
            if (was_connected) {
                TARN_LOGF(TARN_LOG_INFO, "transport", "peer unreachable, retrying",
                          TARN_F_UINT("peer", p->p.id), TARN_F_STR("addr", p->p.addr));
                was_connected = 0;
            }
            if (stop)
                break;
            continue;
        }
        p->fd = fd;
        t->stats.connects++;
        pthread_mutex_unlock(&t->mu);
        obs_counter_add(t->m_connects, 1);
        TARN_LOGF(TARN_LOG_INFO, "transport", "peer connected", TARN_F_UINT("peer", p->p.id),
                  TARN_F_STR("addr", p->p.addr));
        was_connected = 1;
        backoff = NODE_TP_BACKOFF_MIN_MS;
        tp_pump(p, fd);
        pthread_mutex_lock(&t->mu);
        p->fd = -1;
        p->gen++; /* frames written on it may not have arrived */
        tp_drop_partial(p);
        pthread_mutex_unlock(&t->mu);
        close(fd);
    }
    return NULL;
}

/* ---- inbound connections ----------------------------------------------------- */

/* Closes (the caller does) and counts a connection for `why`; `peer` is
 * the member id it claims (in->from once the handshake is done). */
static void tp_bad_frame_from(tp_inbound *in, uint64_t peer, const char *why)
{
    node_transport *t = in->t;
    /* A member being added dials before the others have applied its
     * address, and a removed one until it is stopped: expected, so not a
     * warning (still counted: it is refused). */
    TARN_LOGF(why == tp_unknown_member ? TARN_LOG_INFO : TARN_LOG_WARN, "transport",
              why == tp_unknown_member ? "refusing a peer that is not (or no longer) a member"
                                       : "closing peer connection: malformed frame",
              TARN_F_UINT("peer", peer), TARN_F_STR("reason", why));
    pthread_mutex_lock(&t->mu);
    t->stats.bad_frames++;
    pthread_mutex_unlock(&t->mu);
    obs_counter_add(t->m_bad, 1);
}

static void tp_bad_frame(tp_inbound *in, const char *why)
{
    tp_bad_frame_from(in, in->from, why);
}

/* After a HELLO from `from`: older inbound connections of the same peer
 * are stale (it reconnected), so shut them down. Under mu. */
static void tp_inbound_replace(node_transport *t, tp_inbound *self)
{
    for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++) {
        tp_inbound *o = &t->in[i];
        if (o != self && o->fd >= 0 && o->from == self->from)
            shutdown(o->fd, SHUT_RDWR); /* the pump finds its end (invariant 5) */
    }
}

static int tp_inbound_hello(tp_inbound *in, uint8_t **buf, size_t *cap)
{
    node_transport *t = in->t;
    size_t len = 0;
    const char *why = NULL;
    tp_recv_timeout(in->fd, NODE_TP_HELLO_TIMEOUT_MS);
    int rc = tp_read_frame(in->fd, buf, cap, &len, &why);
    if (rc == TARN_ECLOSED)
        return rc;
    char url[NODE_TP_URL_MAX];
    uint64_t from = 0;
    if (rc == 0)
        why = tp_hello_check(t, *buf, len, &from, url);
    if (why) {
        tp_bad_frame_from(in, from, why);
        return TARN_ECORRUPT;
    }
    if (tp_hello_send(t, in->fd, from) != 0)
        return TARN_ECLOSED;
    tp_recv_timeout(in->fd, 0);
    tp_set_url(t, from, url);
    pthread_mutex_lock(&t->mu);
    in->from = from;
    tp_inbound_replace(t, in);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

/* Adds a connection whose HELLO checked out to the epoll set (under mu).
 * From here on only the pump reads and closes it (invariant 5). */
static int tp_poll_add(node_transport *t, tp_inbound *in)
{
    int fl = fcntl(in->fd, F_GETFL);
    if (fl < 0 || fcntl(in->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = in};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, in->fd, &ev) != 0)
        return -1;
    in->polled = 1;
    return 0;
}

/* A new inbound connection's thread: the handshake, then the connection
 * goes to the pump (or is closed). */
static void *tp_handshake_main(void *arg)
{
    tp_inbound *in = arg;
    node_transport *t = in->t;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = tp_inbound_hello(in, &buf, &cap);
    tarn_free(buf);
    pthread_mutex_lock(&t->mu);
    if (rc != 0 || t->stop || tp_poll_add(t, in) != 0) {
        close(in->fd);
        in->fd = -1;
    }
    in->done = 1;
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* Ends a polled connection (the pump's; invariant 5). Everything under
 * mu: once fd is -1 and polled 0 the accept thread may reuse the slot. */
static void tp_inbound_end(node_transport *t, tp_inbound *in)
{
    pthread_mutex_lock(&t->mu);
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, in->fd, NULL);
    close(in->fd);
    tarn_free(in->rx);
    in->rx = NULL;
    in->rx_cap = in->rx_len = 0;
    in->fd = -1;
    in->polled = 0;
    pthread_mutex_unlock(&t->mu);
}

/* Room in in->rx for the frame being received (the whole of it once its
 * header is in; tp_deliver checked that header's length). NULL, or why
 * the connection must close. */
static const char *tp_rx_room(tp_inbound *in)
{
    size_t want = TP_RX_MIN;
    if (in->rx_len >= TP_HEADER_BYTES) {
        size_t frame = TP_HEADER_BYTES + (size_t)get_u32(in->rx);
        want = frame > want ? frame : want;
    }
    if (in->rx_cap >= want && !(in->rx_cap > TP_RX_KEEP && want <= TP_RX_MIN))
        return NULL;
    uint8_t *p = tarn_realloc(in->rx, want);
    if (!p)
        return in->rx_cap >= want ? NULL : "out of memory for a frame";
    in->rx = p;
    in->rx_cap = want;
    return NULL;
}

/* Hands every whole frame in in->rx to the receive callback and keeps the
 * rest. NULL, or why the connection must close. */
static const char *tp_deliver(node_transport *t, tp_inbound *in)
{
    size_t off = 0;
    const char *why = NULL;
    while (!why && in->rx_len - off >= TP_HEADER_BYTES) {
        const uint8_t *h = in->rx + off;
        uint32_t n = get_u32(h);
        if (n == 0 || n > NODE_TP_FRAME_MAX) {
            why = "frame length out of range";
            break;
        }
        if (in->rx_len - off < TP_HEADER_BYTES + (size_t)n)
            break;
        const uint8_t *body = h + TP_HEADER_BYTES;
        if (crc32c(0, body, n) != get_u32(h + 4))
            why = "frame CRC32C mismatch";
        else if (body[0] == NODE_TP_KIND_HELLO)
            why = "a second handshake on one connection";
        if (why)
            break;
        pthread_mutex_lock(&t->mu);
        t->stats.frames_received++;
        pthread_mutex_unlock(&t->mu);
        obs_counter_add(t->m_recv, 1);
        if (t->opts.recv(t->opts.recv_ctx, in->from, body, n) != 0)
            why = "message body refused by the node";
        off += TP_HEADER_BYTES + (size_t)n;
    }
    if (off > 0) {
        memmove(in->rx, in->rx + off, in->rx_len - off);
        in->rx_len -= off;
    }
    return why;
}

/* Reads what one connection holds (up to TP_PUMP_BYTES: level-triggered
 * epoll brings the rest next time) and delivers its whole frames; ends
 * the connection at end of stream, an error or a malformed frame. */
static void tp_pump_one(node_transport *t, tp_inbound *in)
{
    size_t got = 0;
    const char *why = NULL;
    int end = 0;
    while (!end && !why && got < TP_PUMP_BYTES) {
        why = tp_rx_room(in);
        if (why)
            break;
        ssize_t r = recv(in->fd, in->rx + in->rx_len, in->rx_cap - in->rx_len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            end = 1;
            break;
        }
        in->rx_len += (size_t)r;
        got += (size_t)r;
        why = tp_deliver(t, in);
    }
    if (why)
        tp_bad_frame(in, why);
    if (why || end)
        tp_inbound_end(t, in);
}

int node_tp_inbound_fd(const node_transport *t)
{
    return t->epfd;
}

void node_tp_pump(node_transport *t)
{
    struct epoll_event ev[NODE_TP_INBOUND_MAX];
    int n = epoll_wait(t->epfd, ev, NODE_TP_INBOUND_MAX, 0);
    for (int i = 0; i < n; i++)
        tp_pump_one(t, ev[i].data.ptr);
}

/* Calls on_ready whenever fd is readable, until close wakes t->wake:
 * the accept thread (the listener) and the poller thread (the epoll set). */
static void tp_serve(node_transport *t, int fd, void (*on_ready)(node_transport *))
{
    for (;;) {
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = t->wake[0], .events = POLLIN}};
        int r = poll(pfd, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || pfd[1].revents)
            break;
        if (pfd[0].revents & POLLIN)
            on_ready(t);
    }
}

/* Without opts.external_poll: pumps whenever a polled connection is
 * readable, until close. */
static void *tp_poller_main(void *arg)
{
    node_transport *t = arg;
    tp_serve(t, t->epfd, node_tp_pump);
    return NULL;
}

/* Joins finished handshake threads and returns a free slot (no thread,
 * no connection), or NULL. Under mu. */
static tp_inbound *tp_inbound_slot(node_transport *t)
{
    tp_inbound *free_slot = NULL;
    for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++) {
        tp_inbound *in = &t->in[i];
        if (in->thread_live && in->done) {
            pthread_join(in->thread, NULL); /* it takes mu no more once done */
            in->thread_live = 0;
        }
        if (!in->thread_live && !in->polled && in->fd < 0 && !free_slot)
            free_slot = in;
    }
    return free_slot;
}

static void tp_accept_one(node_transport *t)
{
    int fd = accept(t->lfd, NULL, NULL);
    if (fd < 0)
        return; /* ECONNABORTED, EMFILE ...: the peer retries */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    tp_sock_opts(fd);
    pthread_mutex_lock(&t->mu);
    tp_inbound *in = t->stop ? NULL : tp_inbound_slot(t);
    if (in) {
        *in = (tp_inbound){.t = t, .thread_live = 1, .fd = fd};
        if (pthread_create(&in->thread, NULL, tp_handshake_main, in) != 0) {
            *in = (tp_inbound){.fd = -1};
            in = NULL;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (!in) {
        TARN_LOG(TARN_LOG_WARN, "transport", "refusing a peer connection: too many open");
        close(fd);
    }
}

static void *tp_accept_main(void *arg)
{
    node_transport *t = arg;
    tp_serve(t, t->lfd, tp_accept_one);
    return NULL;
}

/* ---- open / close / send ------------------------------------------------------ */

static int tp_listen(node_transport *t, tarn_err *err)
{
    struct sockaddr_in sa;
    int rc = tp_resolve(t->opts.listen, &sa, err);
    if (rc != 0)
        return rc;
    t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->lfd < 0)
        return tarn_err_set(err, TARN_EIO, "peer socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* quick restarts */
    if (bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(t->lfd, 64) != 0)
        return tarn_err_set(err, TARN_EIO, "peer listener %s: %s", t->opts.listen, strerror(errno));
    socklen_t sl = sizeof(sa);
    getsockname(t->lfd, (struct sockaddr *)&sa, &sl);
    t->port = ntohs(sa.sin_port);
    return 0;
}

static int tp_opts_check(const node_tp_opts *o, tarn_err *err)
{
    if (!o || !o->self_id || !o->listen || !o->recv)
        return tarn_err_set(err, TARN_EINVAL, "transport: self_id, listen and recv are required");
    if (o->n_peers > NODE_TP_PEERS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "transport: at most %d peers", NODE_TP_PEERS_MAX);
    if (o->self_url && strlen(o->self_url) >= NODE_TP_URL_MAX)
        return tarn_err_set(err, TARN_EINVAL, "transport: advertised URL too long");
    for (size_t i = 0; i < o->n_peers; i++) {
        struct sockaddr_in sa;
        if (o->peers[i].id == 0 || o->peers[i].id == o->self_id)
            return tarn_err_set(err, TARN_EINVAL, "transport: peer id %llu is invalid",
                                (unsigned long long)o->peers[i].id);
        int rc = tp_resolve(o->peers[i].addr, &sa, err);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (o->peers[j].id == o->peers[i].id)
                return tarn_err_set(err, TARN_EINVAL, "transport: peer id %llu twice",
                                    (unsigned long long)o->peers[i].id);
    }
    return 0;
}

static void tp_metrics(node_transport *t)
{
    obs_registry *reg = t->opts.metrics ? t->opts.metrics : obs_global();
    struct {
        obs_series_t **s;
        const char *name, *help;
    } m[] = {
        {&t->m_sent, "tarn_peer_frames_sent_total", "Frames written to peers."},
        {&t->m_recv, "tarn_peer_frames_received_total", "Frames received from peers."},
        {&t->m_dropped, "tarn_peer_frames_dropped_total",
         "Frames dropped (queue full, peer unreachable, write failed)."},
        {&t->m_bad, "tarn_peer_bad_frames_total", "Peer connections closed for a malformed frame."},
        {&t->m_connects, "tarn_peer_connects_total", "Outbound peer handshakes completed."},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        obs_family *f = NULL;
        obs_family_opts o = {.type = OBS_COUNTER, .name = m[i].name, .help = m[i].help};
        *m[i].s = obs_family_register(reg, &o, &f) == 0 ? obs_series(f, NULL) : NULL;
    }
}

static void tp_start_threads(node_transport *t)
{
    for (size_t i = 0; i < t->n_peers; i++)
        t->peers[i].started =
            pthread_create(&t->peers[i].thread, NULL, tp_sender_main, &t->peers[i]) == 0;
    t->accept_started = pthread_create(&t->accept_thread, NULL, tp_accept_main, t) == 0;
    if (!t->opts.external_poll)
        t->poller_started = pthread_create(&t->poller_thread, NULL, tp_poller_main, t) == 0;
}

int node_tp_open(const node_tp_opts *opts, node_transport **out, tarn_err *err)
{
    int rc = tp_opts_check(opts, err);
    if (rc != 0)
        return rc;
    signal(SIGPIPE, SIG_IGN); /* belt and braces: writes use MSG_NOSIGNAL */
    node_transport *t = tarn_calloc(1, sizeof(*t));
    if (!t)
        return tarn_err_set(err, TARN_ENOMEM, "transport: allocate");
    t->opts = *opts;
    t->opts.peers = NULL;
    if (!t->opts.queue_max)
        t->opts.queue_max = NODE_TP_QUEUE_MAX_DEFAULT;
    snprintf(t->self_url, sizeof(t->self_url), "%s", opts->self_url ? opts->self_url : "");
    t->lfd = -1;
    t->wake[0] = t->wake[1] = -1;
    t->epfd = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->mu, NULL);
    t->n_peers = opts->n_peers;
    for (size_t i = 0; i < t->n_peers; i++) {
        t->peers[i] = (tp_peer){.t = t, .p = opts->peers[i], .fd = -1, .active = 1};
        pthread_cond_init(&t->peers[i].cond, &ca);
    }
    for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++)
        t->in[i].fd = -1;
    pthread_condattr_destroy(&ca);
    rc = tp_listen(t, err);
    if (rc == 0 && pipe(t->wake) != 0)
        rc = tarn_err_set(err, TARN_EIO, "transport: pipe: %s", strerror(errno));
    if (rc == 0 && (t->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        rc = tarn_err_set(err, TARN_EIO, "transport: epoll: %s", strerror(errno));
    if (rc != 0) {
        node_tp_close(t);
        return rc;
    }
    tp_metrics(t);
    tp_start_threads(t);
    *out = t;
    return 0;
}

void node_tp_close(node_transport *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    for (size_t i = 0; i < t->n_peers; i++) {
        pthread_cond_broadcast(&t->peers[i].cond);
        if (t->peers[i].fd >= 0)
            shutdown(t->peers[i].fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&t->mu);
    if (t->wake[1] >= 0 && write(t->wake[1], "x", 1) < 0) {
        /* The accept thread also ends when the listener closes below. */
    }
    if (t->accept_started)
        pthread_join(t->accept_thread, NULL);
    if (t->poller_started)
        pthread_join(t->poller_thread, NULL);
    for (size_t i = 0; i < t->n_peers; i++)
        if (t->peers[i].started)
            pthread_join(t->peers[i].thread, NULL);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++)
        if (t->in[i].fd >= 0 && !t->in[i].polled)
            shutdown(t->in[i].fd, SHUT_RDWR); /* a handshake in progress */
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++) {
        tp_inbound *in = &t->in[i];
        if (in->thread_live)
            pthread_join(in->thread, NULL);
        if (in->polled) /* nobody pumps any more (transport.h) */
            tp_inbound_end(t, in);
    }
    for (size_t i = 0; i < t->n_peers; i++) {
        size_t dropped = 0;
        tp_queue_clear(&t->peers[i], &dropped);
        pthread_cond_destroy(&t->peers[i].cond);
    }
    if (t->lfd >= 0)
        close(t->lfd);
    if (t->wake[0] >= 0)
        close(t->wake[0]);
    if (t->wake[1] >= 0)
        close(t->wake[1]);
    if (t->epfd >= 0)
        close(t->epfd);
    pthread_mutex_destroy(&t->mu);
    tarn_free(t);
}

uint16_t node_tp_port(const node_transport *t)
{
    return t->port;
}

/*
 * Writes frame f on p's connection from the calling thread (under mu,
 * which it drops while writing; invariant 4). Saves the wake-up of the
 * sender thread and a context switch per frame on the path of every
 * append and its acknowledgement. Returns NULL when the socket took the
 * whole frame (f freed), else f reduced to the bytes still to write,
 * which the caller queues at the head: frames queued meanwhile by other
 * threads came after it.
 */
static tp_frame *tp_send_direct(node_transport *t, tp_peer *p, tp_frame *f)
{
    int fd = p->fd;
    p->writing = 1;
    pthread_mutex_unlock(&t->mu);
    size_t done = tp_write_nowait(fd, f->data, f->len);
    pthread_mutex_lock(&t->mu);
    p->writing = 0;
    if (p->pump_waits)
        pthread_cond_broadcast(&p->cond); /* the sender thread waits for this writer */
    if (done == f->len) {
        t->stats.frames_sent++;
        obs_counter_add(t->m_sent, 1);
        tarn_free(f);
        return NULL;
    }
    memmove(f->data, f->data + done, f->len - done);
    f->len -= done;
    f->partial = done > 0;
    return f;
}

int node_tp_send(node_transport *t, uint64_t to, const uint8_t *body, size_t len)
{
    if (len == 0 || len > NODE_TP_FRAME_MAX)
        return TARN_ETOOBIG;
    tp_frame *f = tp_frame_new(body, len);
    if (!f)
        return TARN_ENOMEM;
    pthread_mutex_lock(&t->mu);
    tp_peer *p = tp_peer_find(t, to);
    int rc = 0;
    if (!p)
        rc = TARN_ENOENT;
    else if (p->count >= t->opts.queue_max || p->bytes + f->len > NODE_TP_QUEUE_BYTES_MAX)
        rc = TARN_EBUSY;
    int partial = 0;
    if (rc == 0 && p->fd >= 0 && !p->writing && !p->head) {
        f = tp_send_direct(t, p, f); /* NULL: written whole */
        if (!f) {
            pthread_mutex_unlock(&t->mu);
            return 0;
        }
        partial = 1;
    }
    if (rc == 0 && partial) {
        f->next = p->head; /* the rest of a frame begun on the wire goes first */
        p->head = f;
        if (!p->tail)
            p->tail = f;
        p->count++;
        p->bytes += f->len;
        pthread_cond_signal(&p->cond);
    } else if (rc == 0) {
        if (p->tail)
            p->tail->next = f;
        else
            p->head = f;
        p->tail = f;
        p->count++;
        p->bytes += f->len;
        pthread_cond_signal(&p->cond);
    } else if (rc == TARN_EBUSY) {
        t->stats.frames_dropped++;
    }
    pthread_mutex_unlock(&t->mu);
    if (rc != 0) {
        if (rc == TARN_EBUSY)
            obs_counter_add(t->m_dropped, 1);
        tarn_free(f);
    }
    return rc;
}

/* A slot for a new peer: a never-used one while there are any, else one
 * whose removed peer's sender thread is then joined (it may still be
 * finishing a dial, up to the handshake timeout, so fresh slots come
 * first). Joining happens outside mu (the thread takes mu); add/remove
 * run on one thread at a time (transport.h). */
static tp_peer *tp_free_slot(node_transport *t)
{
    pthread_mutex_lock(&t->mu);
    size_t i = t->n_peers;
    int fresh = i < NODE_TP_PEERS_MAX;
    if (fresh)
        t->n_peers++;
    else
        for (i = 0; i < NODE_TP_PEERS_MAX && t->peers[i].active; i++) {
        }
    pthread_mutex_unlock(&t->mu);
    if (i >= NODE_TP_PEERS_MAX)
        return NULL;
    tp_peer *p = &t->peers[i];
    if (!fresh) {
        if (p->started)
            pthread_join(p->thread, NULL);
        p->started = 0;
        pthread_cond_destroy(&p->cond);
    }
    return p;
}

int node_tp_add_peer(node_transport *t, const node_peer *peer, tarn_err *err)
{
    struct sockaddr_in sa;
    if (peer->id == 0 || peer->id == t->opts.self_id)
        return tarn_err_set(err, TARN_EINVAL, "transport: peer id %llu is invalid",
                            (unsigned long long)peer->id);
    int rc = tp_resolve(peer->addr, &sa, err);
    if (rc != 0)
        return rc;
    char old_addr[NODE_TP_ADDR_MAX] = "";
    pthread_mutex_lock(&t->mu);
    tp_peer *old = tp_peer_find(t, peer->id);
    if (old)
        snprintf(old_addr, sizeof(old_addr), "%s", old->p.addr);
    pthread_mutex_unlock(&t->mu);
    if (old && strcmp(old_addr, peer->addr) == 0)
        return 0; /* already a peer at that address */
    if (old)
        return tarn_err_set(err, TARN_EEXIST, "transport: peer %llu already at %s",
                            (unsigned long long)peer->id, old_addr);
    tp_peer *p = tp_free_slot(t);
    if (!p)
        return tarn_err_set(err, TARN_ERANGE, "transport: at most %d peers", NODE_TP_PEERS_MAX);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_lock(&t->mu);
    *p = (tp_peer){.t = t, .p = *peer, .fd = -1, .active = 1};
    pthread_cond_init(&p->cond, &ca);
    int stop = t->stop;
    pthread_mutex_unlock(&t->mu);
    pthread_condattr_destroy(&ca);
    if (!stop)
        p->started = pthread_create(&p->thread, NULL, tp_sender_main, p) == 0;
    TARN_LOGF(TARN_LOG_INFO, "transport", "peer added", TARN_F_UINT("peer", peer->id),
              TARN_F_STR("addr", peer->addr));
    return p->started || stop ? 0 : tarn_err_set(err, TARN_ENOMEM, "transport: sender thread");
}

int node_tp_remove_peer(node_transport *t, uint64_t id)
{
    size_t dropped = 0;
    pthread_mutex_lock(&t->mu);
    tp_peer *p = tp_peer_find(t, id);
    if (p) {
        p->active = 0;
        tp_queue_clear(p, &dropped);
        pthread_cond_broadcast(&p->cond);
        if (p->fd >= 0)
            shutdown(p->fd, SHUT_RDWR);
        for (size_t i = 0; i < NODE_TP_INBOUND_MAX; i++)
            if (t->in[i].fd >= 0 && t->in[i].from == id)
                shutdown(t->in[i].fd, SHUT_RDWR); /* invariant 5 */
        t->stats.frames_dropped += dropped;
    }
    pthread_mutex_unlock(&t->mu);
    if (!p)
        return TARN_ENOENT;
    TARN_LOGF(TARN_LOG_INFO, "transport", "peer removed", TARN_F_UINT("peer", id));
    return 0;
}

int node_tp_peer_gen(node_transport *t, uint64_t id, uint64_t *gen)
{
    pthread_mutex_lock(&t->mu);
    tp_peer *p = tp_peer_find(t, id);
    if (p)
        *gen = p->gen;
    pthread_mutex_unlock(&t->mu);
    return p ? 0 : TARN_ENOENT;
}

int node_tp_peer_url(node_transport *t, uint64_t id, char *buf, size_t cap)
{
    pthread_mutex_lock(&t->mu);
    tp_peer *p = tp_peer_find(t, id);
    int rc = !p || !p->url[0] ? TARN_ENOENT : strlen(p->url) >= cap ? TARN_ERANGE : 0;
    if (rc == 0)
        memcpy(buf, p->url, strlen(p->url) + 1);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void node_tp_get_stats(node_transport *t, node_tp_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->stats;
    pthread_mutex_unlock(&t->mu);
}
