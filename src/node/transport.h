/*
 * node/transport.h: the peer transport of a cluster node. Persistent TCP
 * connections between members carrying length-prefixed, CRC32C-checked
 * frames. Design note: src/node/README.md ("Transport").
 *
 * Connections are one-way: member A's outbound connection to B carries
 * A's frames to B; B answers over its own outbound connection to A. Each
 * connection starts with a handshake (HELLO frames both ways) naming the
 * cluster and both member ids, so a process of another cluster, a member
 * dialled at the wrong address, or a stray client is refused.
 *
 * Wire format of a frame (all integers little-endian):
 *
 * | offset | size | meaning |
 * |---|---|---|
 * | 0 | 4 | body length in bytes, 1 .. NODE_TP_FRAME_MAX |
 * | 4 | 4 | CRC32C of the body |
 * | 8 | len | body; body[0] is the kind (NODE_TP_KIND_HELLO here, the rest node/wire.c) |
 *
 * HELLO body: kind u8 = 1, magic "TARNPEER" (8), version u16 = 1,
 * reserved u16 = 0, cluster_id u64, from u64, to u64, url_len u16, url
 * (the sender's advertised HTTP URL, at most NODE_TP_URL_MAX - 1 bytes).
 *
 * A frame that breaks the format (length 0 or beyond the maximum, a CRC
 * mismatch, a bad or unexpected HELLO, a body the receiver callback
 * refuses) closes that connection with a log line; nothing else happens.
 *
 * Sending never blocks the caller: node_tp_send writes the frame itself
 * without waiting when the connection is idle (nothing queued, nobody
 * writing), and otherwise, or for what the socket did not take, copies it
 * into the peer's bounded queue, which a thread per peer writes. A full
 * queue drops the frame (Raft retransmits). While a peer is unreachable its sender
 * reconnects with exponential backoff and discards what was queued
 * (stale messages help no one). SIGPIPE is ignored (writes use
 * MSG_NOSIGNAL, and the process-wide disposition is set at open).
 *
 * Threads: node_tp_open/close run on one thread; node_tp_add_peer and
 * node_tp_remove_peer on one thread at a time (the node's loop); node_tp_send
 * and the accessors are thread-safe. The receive callback runs inside
 * node_tp_pump, on the thread that calls it: the transport's own poller
 * thread, or with opts.external_poll the owner's (the node's loop), which
 * waits for node_tp_inbound_fd to be readable and then calls node_tp_pump.
 */
#ifndef TARN_NODE_TRANSPORT_H
#define TARN_NODE_TRANSPORT_H

#include "base/error.h"
#include "obs/obs.h"

#include <stddef.h>
#include <stdint.h>

typedef struct node_transport node_transport;

#define NODE_TP_FRAME_MAX         (8u << 20)  /* bytes of one frame body */
#define NODE_TP_QUEUE_MAX_DEFAULT 4096        /* frames queued per peer */
#define NODE_TP_QUEUE_BYTES_MAX   (64u << 20) /* bytes queued per peer */
#define NODE_TP_INBOUND_MAX       32          /* concurrent inbound connections */
#define NODE_TP_PEERS_MAX         16
#define NODE_TP_ADDR_MAX          256
#define NODE_TP_URL_MAX           256
#define NODE_TP_HELLO_TIMEOUT_MS  5000 /* a new connection must say hello within this */
#define NODE_TP_BACKOFF_MIN_MS    20
#define NODE_TP_BACKOFF_MAX_MS    1000

#define NODE_TP_KIND_HELLO 1

typedef struct node_peer {
    uint64_t id;
    char addr[NODE_TP_ADDR_MAX]; /* host:port of its peer listener (IPv4 or a name) */
} node_peer;

/* Called inside node_tp_pump for every frame after the handshake. `body`
 * is borrowed for the call; `from` is the authenticated peer id. Return 0
 * to keep the connection, a TARN_E* code to close it (malformed body). */
typedef int (*node_tp_recv_fn)(void *ctx, uint64_t from, const uint8_t *body, size_t len);

typedef struct node_tp_opts {
    uint64_t cluster_id;    /* both sides must agree */
    uint64_t self_id;       /* != 0 */
    const char *listen;     /* host:port of the peer listener; port 0: ephemeral */
    const char *self_url;   /* advertised HTTP URL (may be ""); copied */
    const node_peer *peers; /* the other members; copied */
    size_t n_peers;         /* <= NODE_TP_PEERS_MAX */
    size_t queue_max;       /* frames per peer; 0: NODE_TP_QUEUE_MAX_DEFAULT */
    node_tp_recv_fn recv;   /* required */
    void *recv_ctx;
    obs_registry *metrics; /* NULL: obs_global(); borrowed */
    int external_poll;     /* 1: the owner calls node_tp_pump; 0: a thread of ours does */
} node_tp_opts;

/* Binds the listener, starts the accept thread, a sender thread per peer
 * and (without opts.external_poll) the poller thread. Errors: TARN_EINVAL
 * (bad options or addresses), TARN_EIO (bind or listen failed, e.g. the
 * port is taken), TARN_ENOMEM. On error nothing is left to free. */
int node_tp_open(const node_tp_opts *opts, node_transport **out, tarn_err *err);

/* Closes every connection and joins every thread; the receive callback is
 * not called once this returns. Accepts NULL. */
void node_tp_close(node_transport *t);

/* With opts.external_poll: a descriptor that polls readable (POLLIN)
 * when an inbound connection has bytes or ended; then call node_tp_pump,
 * which reads without blocking, calls the receive callback for every
 * whole frame and closes ended or malformed connections. One caller at a
 * time, and none once node_tp_close begins. */
int node_tp_inbound_fd(const node_transport *t);
void node_tp_pump(node_transport *t);

/* The bound peer port (the ephemeral one when asked for port 0). */
uint16_t node_tp_port(const node_transport *t);

/* Queues one frame body (copied; body[0] is the kind) for peer `to`.
 * TARN_ENOENT (not a peer), TARN_ETOOBIG (len 0 or beyond
 * NODE_TP_FRAME_MAX), TARN_EBUSY (queue full: dropped), TARN_ENOMEM. */
int node_tp_send(node_transport *t, uint64_t to, const uint8_t *body, size_t len);

/* Adds a peer to a running transport (a member joined): starts its
 * sender thread, and accepts its inbound handshake from now on. 0 when it
 * is a peer already at the same address. Errors: TARN_EINVAL (id 0, self,
 * bad address), TARN_EEXIST (a peer with that id at another address),
 * TARN_ERANGE (NODE_TP_PEERS_MAX peers), TARN_ENOMEM. */
int node_tp_add_peer(node_transport *t, const node_peer *peer, tarn_err *err);

/* Removes a peer (it left the configuration): drops its queue, closes its
 * connections both ways and refuses its handshakes from now on; its
 * sender thread ends on its own (joined when the slot is reused or at
 * close). TARN_ENOENT when it is no peer. */
int node_tp_remove_peer(node_transport *t, uint64_t id);

/* How many times the link to peer `id` broke: an outbound connection that
 * ended or a dial that failed (frames queued or written then may never
 * have arrived). A caller that sent a request and sees the number change
 * knows the answer may never come. TARN_ENOENT when it is no peer. */
int node_tp_peer_gen(node_transport *t, uint64_t id, uint64_t *gen);

/* Copies the HTTP URL peer `id` announced in its last handshake into buf.
 * TARN_ENOENT when unknown (never connected), TARN_ERANGE when cap is too
 * small. */
int node_tp_peer_url(node_transport *t, uint64_t id, char *buf, size_t cap);

/* Counters, for tests and status. */
typedef struct node_tp_stats {
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t frames_dropped; /* queue full or discarded while unreachable */
    uint64_t connects;       /* outbound handshakes completed */
    uint64_t bad_frames;     /* connections closed for a malformed frame */
} node_tp_stats;
void node_tp_get_stats(node_transport *t, node_tp_stats *out);

/* The cluster id of a cluster name (FNV-1a 64 of the bytes). */
uint64_t node_tp_cluster_id(const char *name);

#endif
