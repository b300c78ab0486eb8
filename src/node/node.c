/*
 * node/node.c: opening and closing a node (recovery, replay of committed
 * but unapplied entries, the Raft core from the WAL) and the caller-facing
 * calls that hand work to the loop thread and wait for it. The loop itself
 * is in loop.c. Design note: src/node/README.md.
 */
#include "node/node_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void node_list_push(node_list *l, node_waiter *w)
{
    w->next = NULL;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    l->count++;
}

node_waiter *node_list_pop(node_list *l)
{
    node_waiter *w = l->head;
    if (!w)
        return NULL;
    l->head = w->next;
    if (!l->head)
        l->tail = NULL;
    l->count--;
    w->next = NULL;
    return w;
}

void node_waiter_free(node_waiter *w)
{
    if (!w)
        return;
    store_result_free(&w->res);
    if (w->has_cv)
        pthread_cond_destroy(&w->done_cv);
    tarn_free(w);
}

/* Answers a waiter a peer forwarded to us (FWD_REPLY). A lost answer
 * only means the peer's caller times out. */
static void node_reply_origin(node *n, node_waiter *w, int rc)
{
    tarn_buf b;
    tarn_buf_init(&b, NODE_TP_FRAME_MAX);
    const store_result *r = &w->res;
    int erc =
        node_wire_encode_reply(&b, w->req_id, rc, r->code, w->index, r->data, rc == 0 ? r->len : 0);
    if (erc == 0 && n->tp)
        (void)node_tp_send(n->tp, w->origin, b.data, b.len); /* dropped: the peer times out */
    tarn_buf_free(&b);
}

void node_waiter_complete(node *n, node_waiter *w, int rc)
{
    if (w->origin) {
        node_reply_origin(n, w, rc);
        node_waiter_free(w);
        return;
    }
    w->rc = rc;
    w->done = 1;
    if (w->cb) { /* async: its callback runs once mu is released (node_unlock) */
        node_list_push(&n->to_call, w);
        return;
    }
    if (w->abandoned) {
        node_waiter_free(w);
        return;
    }
    if (w->has_cv)
        pthread_cond_signal(&w->done_cv); /* only its own caller wakes */
}

void node_fail_all(node *n, int rc)
{
    node_list *lists[] = {&n->queue,     &n->reads,     &n->inflight,
                          &n->read_wait, &n->forwarded, &n->confs};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        node_waiter *w;
        while ((w = node_list_pop(lists[i])) != NULL)
            node_waiter_complete(n, w, rc);
    }
    pthread_cond_broadcast(&n->wake_done);
}

/* ---- asynchronous proposals: callbacks outside mu ------------------------ */

/* The proposal metrics for one outcome. Waiting callers call it before
 * they leave the node, since node_close may free it once they have. */
static void node_count_proposal(node *n, int rc, int64_t start_ns)
{
    obs_counter_add(rc == 0 ? n->m_proposals_ok : n->m_proposals_err, 1);
    if (rc == 0)
        obs_histogram_observe(n->m_latency, (double)(tarn_mono_ns() - start_ns) / 1e9);
}

static void node_run_callback(node *n, node_waiter *w)
{
    node_count_proposal(n, w->rc, w->start_ns);
    w->cb(w->cb_ctx, w->rc, w->rc == 0 ? &w->res : NULL);
    node_waiter_free(w); /* nobody else sees it once it was on to_call */
}

void node_unlock(node *n)
{
    node_waiter *w = n->to_call.head;
    n->to_call = (node_list){0};
    pthread_mutex_unlock(&n->mu);
    while (w) {
        node_waiter *next = w->next;
        node_run_callback(n, w);
        w = next;
    }
}

size_t node_take_expired(node *n, int64_t now, node_expired *out, size_t cap)
{
    if (now < n->expire_scan_ns)
        return 0;
    /* Once per tick: the deadlines are honoured to a tick (README). */
    n->expire_scan_ns = now + (int64_t)n->opts.tick_ms * 1000000;
    node_list *lists[] = {&n->queue, &n->inflight, &n->forwarded};
    size_t k = 0;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        for (node_waiter *w = lists[i]->head; w && k < cap; w = w->next)
            if (w->cb && w->deadline_ns <= now) {
                out[k++] = (node_expired){w->cb, w->cb_ctx};
                w->cb = NULL;     /* its completion will not call it again */
                w->abandoned = 1; /* and frees it */
            }
    if (k == cap)
        n->expire_scan_ns = now; /* more may be due: look again next turn */
    return k;
}

void node_call_expired(node *n, const node_expired *e, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        obs_counter_add(n->m_proposals_err, 1);
        e[i].cb(e[i].ctx, TARN_ETIMEDOUT, NULL);
    }
}

/* ---- metrics ---------------------------------------------------------- */

static obs_series_t *node_metric(obs_registry *reg, obs_type type, const char *name,
                                 const char *help, const char *label)
{
    obs_family *f = NULL;
    const char *names[] = {"result"};
    obs_family_opts o = {.type = type, .name = name, .help = help};
    if (label) {
        o.label_names = names;
        o.label_count = 1;
    }
    if (obs_family_register(reg, &o, &f) != 0)
        return NULL; /* metrics are best effort (obs.h): NULL series are no-ops */
    const char *values[] = {label};
    return obs_series(f, label ? values : NULL);
}

static void node_metrics_init(node *n)
{
    obs_registry *reg = n->opts.metrics ? n->opts.metrics : obs_global();
    n->m_proposals_ok = node_metric(reg, OBS_COUNTER, "tarn_node_proposals_total",
                                    "Proposals handed to the node, by outcome.", "ok");
    n->m_proposals_err = node_metric(reg, OBS_COUNTER, "tarn_node_proposals_total",
                                     "Proposals handed to the node, by outcome.", "error");
    n->m_latency = node_metric(reg, OBS_HISTOGRAM, "tarn_node_proposal_seconds",
                               "Time from node_propose to the entry applied.", NULL);
    n->m_queue = node_metric(reg, OBS_GAUGE, "tarn_node_queue_depth",
                             "Proposals waiting for the Ready loop.", NULL);
    n->m_applied = node_metric(reg, OBS_GAUGE, "tarn_node_applied_index",
                               "Last Raft index applied to the state machine.", NULL);
    n->m_commit = node_metric(reg, OBS_GAUGE, "tarn_node_commit_index", "Raft commit index.", NULL);
    n->m_term = node_metric(reg, OBS_GAUGE, "tarn_raft_term", "Current Raft term.", NULL);
    n->m_leader = node_metric(reg, OBS_GAUGE, "tarn_raft_is_leader",
                              "1 when this node is the Raft leader.", NULL);
    n->m_fsync = node_metric(reg, OBS_HISTOGRAM, "tarn_node_persist_seconds",
                             "WAL append and fsync of one Ready.", NULL);
    n->m_msgs_dropped = node_metric(reg, OBS_COUNTER, "tarn_node_msgs_dropped_total",
                                    "Raft messages the transport could not queue.", NULL);
    n->m_inbox_dropped =
        node_metric(reg, OBS_COUNTER, "tarn_node_inbox_dropped_total",
                    "Peer frames dropped because the loop's inbox was full.", NULL);
    n->m_forwarded =
        node_metric(reg, OBS_COUNTER, "tarn_node_forwarded_total",
                    "Proposals and reads this follower forwarded to the leader.", NULL);
    n->m_apply_latency = node_metric(reg, OBS_HISTOGRAM, "tarn_node_apply_seconds",
                                     "One LMDB transaction applying a batch of entries.", NULL);
    n->m_snapshots_sent = node_metric(reg, OBS_COUNTER, "tarn_node_snapshots_sent_total",
                                      "Store snapshots streamed to followers.", NULL);
    n->m_snapshots_installed =
        node_metric(reg, OBS_COUNTER, "tarn_node_snapshots_installed_total",
                    "Store snapshots received from the leader and installed.", NULL);
    n->m_compactions = node_metric(reg, OBS_COUNTER, "tarn_node_log_compactions_total",
                                   "Times the log was compacted below a synced store.", NULL);
    n->m_elections =
        node_metric(reg, OBS_COUNTER, "tarn_raft_leader_changes_total",
                    "Times this member saw a new leader (or none) in a new term.", NULL);
    n->m_voters = node_metric(reg, OBS_GAUGE, "tarn_raft_voters",
                              "Voters in the configuration in force on this member.", NULL);
    n->m_learners = node_metric(reg, OBS_GAUGE, "tarn_raft_learners",
                                "Learners in the configuration in force on this member.", NULL);
    n->m_conf_changes = node_metric(reg, OBS_COUNTER, "tarn_raft_membership_changes_total",
                                    "Membership changes this member applied.", NULL);
}

/* ---- open ------------------------------------------------------------- */

static int node_mkdir(const char *path, tarn_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return tarn_err_set(err, tarn_err_from_errno(errno), "mkdir %s: %s", path, strerror(errno));
    return 0;
}

/* The Raft entry a WAL entry holds. The WAL stores Raft's entry type
 * (README "Entry types"); a WAL segment of format version 1 stored none,
 * and then an empty payload was a leader's no-op (node_propose refuses
 * empty proposals) and everything else a command. */
static int node_raft_entry_of(const wal_entry *e, raft_entry *out)
{
    uint32_t type = e->type;
    if (type == RAFT_ENTRY_NORMAL && e->len == 0)
        type = RAFT_ENTRY_NOOP;
    if (type > RAFT_ENTRY_CONF)
        return TARN_ECORRUPT;
    *out = (raft_entry){.term = e->term,
                        .index = e->index,
                        .len = (uint32_t)e->len,
                        .type = type,
                        .data = (uint8_t *)e->data};
    return 0;
}

static int node_log_entry(void *ctx, uint64_t index, raft_entry *out)
{
    const wal_recovered *rec = ctx;
    if (index <= rec->snap_index || index > rec->last_index)
        return TARN_ERANGE;
    const wal_entry *e = &rec->entries[index - rec->snap_index - 1];
    TARN_ASSERT(e->index == index);
    return node_raft_entry_of(e, out);
}

/* Applies recovered entries (applied, commit] to the store: they were
 * committed (the durable hard state says so) but the crash came before the
 * LMDB commit. Results go nowhere: nobody waits for them any more. */
static int node_replay(node *n, const wal_recovered *rec, tarn_err *err)
{
    uint64_t commit = rec->has_hard_state ? rec->hard_state.commit : 0;
    uint64_t applied = store_applied_index(n->st);
    if (commit > rec->last_index)
        return tarn_err_set(err, TARN_ECORRUPT, "WAL commit index %llu beyond its log %llu",
                            (unsigned long long)commit, (unsigned long long)rec->last_index);
    if (applied < commit && applied < rec->snap_index)
        return tarn_err_set(err, TARN_ECORRUPT, "store applied %llu but the WAL starts after %llu",
                            (unsigned long long)applied, (unsigned long long)rec->snap_index);
    while (applied < commit) {
        size_t count = (size_t)(commit - applied);
        raft_entry ents[64];
        store_entry batch[64];
        store_result res[64];
        if (count > 64)
            count = 64;
        for (size_t i = 0; i < count; i++)
            if (node_raft_entry_of(&rec->entries[applied + i - rec->snap_index], &ents[i]) != 0)
                return tarn_err_set(err, TARN_ECORRUPT, "WAL entry %llu: unknown entry type %u",
                                    (unsigned long long)(applied + i + 1),
                                    rec->entries[applied + i - rec->snap_index].type);
        count = node_batch_len(ents, count); /* one conf entry per batch */
        for (size_t i = 0; i < count; i++)
            node_store_entry_of(n, &ents[i], &batch[i]);
        memset(res, 0, sizeof(res));
        int rc = store_apply(n->st, batch, count, &n->reg, res, err);
        for (size_t i = 0; i < count; i++)
            store_result_free(&res[i]);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "replay from index %llu",
                                 (unsigned long long)(applied + 1));
        applied += count;
    }
    if (applied > 0)
        TARN_LOGF(TARN_LOG_INFO, "node", "recovered", TARN_F_UINT("applied", applied),
                  TARN_F_UINT("last_index", rec->last_index), TARN_F_UINT("commit", commit));
    return 0;
}

/*
 * A single voter is its own quorum: no other node can lead, so waiting out
 * an election timeout of wall-clock ticks (0.6-1 s of `tarn local` and
 * every embedded command's start-up) protects nothing. The core has no
 * campaign call; its ticks are logical, so we tick it here until its
 * randomized timeout (< 2 * election_ticks) expires and it elects itself.
 * The new term and vote come out of the loop's first Ready and are synced
 * before anything is acknowledged, as for any election.
 */
static int node_elect_single_voter(node *n, tarn_err *err)
{
    uint32_t max_ticks = 2 * n->opts.election_ticks + 1;
    raft_status st;
    raft_get_status(n->r, &st);
    for (uint32_t i = 0; i < max_ticks && st.state != RAFT_LEADER; i++) {
        int rc = raft_tick(n->r);
        if (rc != 0)
            return tarn_err_set(err, rc, "open raft: single-voter election");
        raft_get_status(n->r, &st);
    }
    if (st.state != RAFT_LEADER)
        return tarn_err_set(err, TARN_ESTATE, "open raft: single voter did not elect itself");
    return 0;
}

/* The bootstrap configuration is the member list (README "Membership");
 * the configuration the store kept (the latest applied change) is handed
 * to the core as the snapshot's, and the log after the snapshot marker
 * holds every later change. */
static int node_raft_open(node *n, const wal_recovered *rec, tarn_err *err)
{
    raft_config cfg;
    raft_config_init(&cfg);
    uint64_t voters[NODE_TP_PEERS_MAX] = {n->opts.id};
    size_t n_voters = 1;
    if (n->clustered)
        for (n_voters = 0; n_voters < n->n_members; n_voters++)
            voters[n_voters] = n->members[n_voters].id;
    raft_conf_state kept;
    int has_kept = 0;
    int rc = node_members_load(n, &kept, &has_kept, err);
    if (rc != 0)
        return rc;
    cfg.id = n->opts.id;
    cfg.voters = voters;
    cfg.n_voters = n_voters;
    cfg.election_ticks = n->opts.election_ticks;
    cfg.heartbeat_ticks = n->opts.heartbeat_ticks;
    /* A store installed from a snapshot may be ahead of the log (it holds
     * the leader's applied state); the core counts as applied only what its
     * log covers, and the store skips the entries it already has. */
    cfg.applied = store_applied_index(n->st);
    if (cfg.applied > rec->last_index)
        cfg.applied = rec->last_index;
    cfg.rng_seed = n->opts.rng_seed ? n->opts.rng_seed : (uint64_t)tarn_mono_ns() | 1;
    raft_hard_state hs = {0};
    if (rec->has_hard_state)
        hs = (raft_hard_state){.term = rec->hard_state.term,
                               .vote = rec->hard_state.vote,
                               .commit = rec->hard_state.commit};
    raft_log_view view = {.ctx = (void *)rec,
                          .snapshot_index = rec->snap_index,
                          .snapshot_term = rec->snap_term,
                          .first_index = rec->snap_index + 1,
                          .last_index = rec->last_index,
                          .entry = node_log_entry,
                          .snapshot_conf = has_kept ? &kept : NULL};
    rc = raft_open(&cfg, rec->has_hard_state ? &hs : NULL, &view, &n->r, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "open raft");
    n->applied = store_applied_index(n->st);
    n->applied_term = store_applied_term(n->st);
    n->synced_last = rec->last_index; /* what recovery read back is what the core calls stable */
    n->synced_term = hs.term;
    n->synced_vote = hs.vote;
    raft_get_conf(n->r, &n->conf_pub);
    return n->clustered ? 0 : node_elect_single_voter(n, err);
}

static int node_open_disk(node *n, tarn_err *err)
{
    char path[NODE_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/wal", n->data_dir);
    int rc = node_mkdir(path, err);
    wal_recovered rec;
    memset(&rec, 0, sizeof(rec));
    wal_opts wo = {.metrics = n->opts.metrics};
    /* The WAL's own messages name the directory ("wal open DIR: ..."). */
    if (rc == 0 && (rc = wal_open(path, &wo, &n->w, &rec, err)) != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/state", n->data_dir);
    if (rc == 0)
        rc = node_mkdir(path, err);
    store_opts so = {.durability = n->opts.durability, .map_size_bytes = n->opts.map_size_bytes};
    if (rc == 0 && (rc = store_open(path, &so, &n->st, err)) != 0)
        tarn_err_wrap(err, rc, "open store %s", path);
    if (rc == 0)
        rc = node_replay(n, &rec, err);
    if (rc == 0)
        rc = node_raft_open(n, &rec, err);
    wal_recovered_free(&rec);
    return rc;
}

/* Copies and checks the member list: ids unique and non-zero, this node's
 * id among them. */
static int node_members_check(const node_opts *o, node *n, tarn_err *err)
{
    if (o->n_members <= 1 && !o->join)
        return 0;
    if (o->n_members > NODE_TP_PEERS_MAX || !o->members || o->n_members == 0)
        return tarn_err_set(err, TARN_EINVAL, "node: %d..%d members", o->join ? 1 : 2,
                            NODE_TP_PEERS_MAX);
    if (o->join && !o->peer_listen)
        return tarn_err_set(err, TARN_EINVAL, "node: a joining member needs peer_listen");
    int self = 0;
    for (size_t i = 0; i < o->n_members; i++) {
        if (o->members[i].id == 0)
            return tarn_err_set(err, TARN_EINVAL, "node: member id 0 is reserved");
        for (size_t j = 0; j < i; j++)
            if (o->members[j].id == o->members[i].id)
                return tarn_err_set(err, TARN_EINVAL, "node: member id %llu listed twice",
                                    (unsigned long long)o->members[i].id);
        self |= o->members[i].id == n->opts.id;
        n->members[i] = o->members[i];
        n->addrs[n->n_addrs++] = o->members[i];
    }
    if (!self && !o->join)
        return tarn_err_set(err, TARN_EINVAL,
                            "node: this member's id %llu is not in the member list",
                            (unsigned long long)n->opts.id);
    if (self && o->join)
        return tarn_err_set(err, TARN_EINVAL,
                            "node: a joining member (id %llu) must not be in the member list",
                            (unsigned long long)n->opts.id);
    n->n_members = o->n_members;
    n->clustered = 1;
    snprintf(n->http_url, sizeof(n->http_url), "%s", o->http_url ? o->http_url : "");
    n->opts.members = NULL;
    n->opts.peer_listen = NULL;
    n->opts.cluster_name = NULL;
    n->opts.http_url = NULL;
    return 0;
}

static int node_opts_check(const node_opts *o, node *n, tarn_err *err)
{
    if (!o || !o->data_dir || strlen(o->data_dir) >= NODE_PATH_MAX)
        return tarn_err_set(err, TARN_EINVAL, "node: data_dir missing or too long");
    n->opts = *o;
    snprintf(n->data_dir, sizeof(n->data_dir), "%s", o->data_dir);
    n->opts.data_dir = n->data_dir;
    if (!n->opts.id)
        n->opts.id = 1;
    if (!n->opts.election_ticks)
        n->opts.election_ticks = NODE_ELECTION_TICKS_DEFAULT;
    if (!n->opts.heartbeat_ticks)
        n->opts.heartbeat_ticks = NODE_HEARTBEAT_TICKS_DEFAULT;
    if (!n->opts.tick_ms)
        n->opts.tick_ms = NODE_TICK_MS_DEFAULT;
    if (!n->opts.queue_max)
        n->opts.queue_max = NODE_QUEUE_MAX_DEFAULT;
    if (!n->opts.reads_max)
        n->opts.reads_max = NODE_READS_MAX_DEFAULT;
    if (!n->opts.log_keep_entries)
        n->opts.log_keep_entries = NODE_LOG_KEEP_DEFAULT;
    if (n->opts.heartbeat_ticks >= n->opts.election_ticks)
        return tarn_err_set(err, TARN_EINVAL, "node: heartbeat_ticks must be < election_ticks");
    return node_members_check(o, n, err);
}

static int node_sync_init(node *n, tarn_err *err)
{
    /* wait_ca (CLOCK_MONOTONIC) serves wake_done and every
     * caller's done_cv; it lives until node_close. */
    if (pthread_condattr_init(&n->wait_ca) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "node: condattr");
    pthread_condattr_setclock(&n->wait_ca, CLOCK_MONOTONIC);
    int ok = pthread_mutex_init(&n->mu, NULL) == 0;
    if (ok && pthread_cond_init(&n->wake_done, &n->wait_ca) != 0) {
        pthread_mutex_destroy(&n->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&n->wake_apply, &n->wait_ca) != 0) {
        pthread_cond_destroy(&n->wake_done);
        pthread_mutex_destroy(&n->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&n->apply_done, &n->wait_ca) != 0) {
        pthread_cond_destroy(&n->wake_apply);
        pthread_cond_destroy(&n->wake_done);
        pthread_mutex_destroy(&n->mu);
        ok = 0;
    }
    if (ok && (n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        pthread_cond_destroy(&n->apply_done);
        pthread_cond_destroy(&n->wake_apply);
        pthread_cond_destroy(&n->wake_done);
        pthread_mutex_destroy(&n->mu);
        ok = 0;
    }
    if (ok && pthread_rwlock_init(&n->swap_lock, NULL) != 0) {
        close(n->wake_fd);
        pthread_cond_destroy(&n->apply_done);
        pthread_cond_destroy(&n->wake_apply);
        pthread_cond_destroy(&n->wake_done);
        pthread_mutex_destroy(&n->mu);
        ok = 0;
    }
    if (!ok)
        pthread_condattr_destroy(&n->wait_ca);
    return ok ? 0 : tarn_err_set(err, TARN_ENOMEM, "node: mutex/cond init");
}

static void node_free_disk(node *n)
{
    raft_close(n->r);
    store_close(n->st);
    wal_close(n->w);
    tarn_free(n->scratch_wal);
}

void node_wake_loop(node *n)
{
    if (!n->loop_sleeping)
        return; /* it looks at its work before it sleeps again */
    n->loop_sleeping = 0;
    uint64_t one = 1;
    if (write(n->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is full, so the loop wakes anyway. */
    }
}

/* The transport's receive callback, on the loop's own thread (inside
 * node_tp_pump, loop.c): decodes the frame and queues it for the turn. A
 * malformed body closes the connection. */
static int node_on_frame(void *ctx, uint64_t from, const uint8_t *body, size_t len)
{
    node *n = ctx;
    node_inmsg *m = NULL;
    int rc = node_wire_decode(from, body, len, &m);
    if (rc == TARN_ENOMEM)
        return 0; /* not the peer's fault: drop the frame, keep the connection */
    if (rc != 0)
        return rc;
    if (m->kind == NODE_WIRE_RAFT && (m->msg.from != from || m->msg.to != n->opts.id)) {
        tarn_free(m);
        return TARN_EINVAL; /* a peer speaking for someone else */
    }
    pthread_mutex_lock(&n->mu);
    if (n->inbox_count >= NODE_INBOX_MAX || n->stop) {
        pthread_mutex_unlock(&n->mu);
        obs_counter_add(n->m_inbox_dropped, 1);
        tarn_free(m);
        return 0;
    }
    if (n->inbox_tail)
        n->inbox_tail->next = m;
    else
        n->inbox_head = m;
    n->inbox_tail = m;
    n->inbox_count++; /* the loop itself is the caller: nobody to wake */
    pthread_mutex_unlock(&n->mu);
    return 0;
}

/* Starts the peer transport for a cluster member (nothing for a single
 * voter). */
/* Starts the peer transport for a cluster member (nothing for a single
 * voter). Its peers are the members of the configuration in force with a
 * known address (node_members_sync), not the bootstrap list: members may
 * have joined or left since. */
static int node_transport_open(node *n, const node_opts *o, tarn_err *err)
{
    if (!n->clustered)
        return 0;
    const char *listen = o->peer_listen;
    for (size_t i = 0; i < n->n_members && !listen; i++)
        if (n->members[i].id == n->opts.id)
            listen = n->members[i].addr;
    if (!listen)
        return tarn_err_set(err, TARN_EINVAL, "node %llu: no peer address to listen on",
                            (unsigned long long)n->opts.id);
    node_tp_opts to = {.cluster_id = node_tp_cluster_id(o->cluster_name ? o->cluster_name : "tarn"),
                       .self_id = n->opts.id,
                       .listen = listen,
                       .self_url = n->http_url,
                       .recv = node_on_frame,
                       .recv_ctx = n,
                       .external_poll = 1, /* the loop reads its peers (loop.c) */
                       .metrics = n->opts.metrics};
    int rc = node_tp_open(&to, &n->tp, err);
    return rc ? tarn_err_wrap(err, rc, "node %llu: peer transport", (unsigned long long)n->opts.id)
              : 0;
}

int node_open(const node_opts *opts, const store_registry *reg, node **out, tarn_err *err)
{
    node *n = tarn_calloc(1, sizeof(*n));
    if (!n)
        return tarn_err_set(err, TARN_ENOMEM, "node: allocate");
    int rc = node_opts_check(opts, n, err);
    if (rc == 0 && reg)
        n->reg = *reg;
    if (rc == 0)
        rc = node_members_register(n, err);
    if (rc == 0)
        rc = node_open_disk(n, err);
    if (rc == 0 && (rc = node_sync_init(n, err)) != 0)
        node_free_disk(n);
    else if (rc != 0)
        node_free_disk(n);
    if (rc != 0) {
        tarn_free(n);
        return rc;
    }
    node_metrics_init(n);
    tarn_buf_init(&n->sendbuf, NODE_TP_FRAME_MAX);
    if (node_transport_open(n, opts, err) != 0) {
        int code = err ? err->code : TARN_EIO;
        node_close(n);
        return code ? code : TARN_EIO;
    }
    node_members_sync(n); /* the transport's peers, the published configuration */
    n->status.id = n->opts.id;
    n->status.applied_index = n->applied;
    n->next_tick_ns = tarn_mono_ns() + (int64_t)n->opts.tick_ms * 1000000;
    if (node_apply_start(n, err) != 0) {
        node_close(n);
        return TARN_ENOMEM;
    }
    if (pthread_create(&n->thread, NULL, node_loop_main, n) != 0) {
        n->thread_started = 0;
        node_close(n);
        return tarn_err_set(err, TARN_ENOMEM, "node: start loop thread");
    }
    n->thread_started = 1;
    *out = n;
    return 0;
}

void node_close(node *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    node_wake_loop(n);
    pthread_mutex_unlock(&n->mu);
    if (n->thread_started)
        pthread_join(n->thread, NULL);
    node_apply_stop(n); /* after the loop, which may wait for it */
    pthread_mutex_lock(&n->mu);
    node_fail_all(n, TARN_ECLOSED);
    while (n->callers > 0) /* they return once they see done/closed */
        pthread_cond_wait(&n->wake_done, &n->mu);
    node_unlock(n);       /* the async proposals' callbacks, on this thread */
    node_snap_free(n);    /* its sender threads use the transport */
    node_tp_close(n->tp); /* after node_fail_all, which answers forwarded requests */
    while (n->inbox_head) {
        node_inmsg *m = n->inbox_head;
        n->inbox_head = m->next;
        tarn_free(m);
    }
    tarn_buf_free(&n->sendbuf);
    node_free_disk(n);
    pthread_rwlock_destroy(&n->swap_lock);
    close(n->wake_fd);
    pthread_cond_destroy(&n->apply_done);
    pthread_cond_destroy(&n->wake_apply);
    pthread_cond_destroy(&n->wake_done);
    pthread_condattr_destroy(&n->wait_ca);
    pthread_mutex_destroy(&n->mu);
    tarn_free(n);
}

/* ---- calls from other threads ----------------------------------------- */

static struct timespec node_deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* Waits (under mu) until w is done or the deadline passes. On timeout the
 * waiter is abandoned to the loop (node_int.h). Returns the waiter's rc, or
 * TARN_ETIMEDOUT. On return with 0 the caller owns w. */
static int node_wait(node *n, node_waiter *w, int timeout_ms, int *owned)
{
    struct timespec dl = node_deadline(timeout_ms);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->done_cv, &n->mu, &dl) == ETIMEDOUT && !w->done) {
            w->abandoned = 1;
            *owned = 0;
            return TARN_ETIMEDOUT;
        }
    }
    *owned = 1;
    return w->rc;
}

static void node_caller_leave(node *n)
{
    if (--n->callers == 0 && n->stop)
        pthread_cond_broadcast(&n->wake_done);
    pthread_mutex_unlock(&n->mu);
}

/* Queues w on list (bounded by max) for the loop, under mu; or refuses
 * it (the caller frees it): TARN_ECLOSED, TARN_ESTATE, TARN_EBUSY. */
static int node_enqueue(node *n, node_list *list, size_t max, node_waiter *w, const char *what,
                        tarn_err *err)
{
    if (n->stop)
        return tarn_err_set(err, TARN_ECLOSED, "%s: node closed", what);
    if (n->failed)
        return tarn_err_set(err, TARN_ESTATE, "%s: node failed (%s); reopen it", what,
                            tarn_error_name(n->failed));
    if (list->count >= max)
        return tarn_err_set(err, TARN_EBUSY, "%s: %zu requests queued", what, list->count);
    node_list_push(list, w);
    n->status.queue_depth = n->queue.count;
    node_wake_loop(n);
    return 0;
}

/* Queues w on list (bounded by max) and waits for it. */
static int node_submit(node *n, node_list *list, size_t max, node_waiter *w, int timeout_ms,
                       const char *what, tarn_err *err)
{
    if (pthread_cond_init(&w->done_cv, &n->wait_ca) != 0) {
        tarn_free(w);
        return tarn_err_set(err, TARN_ENOMEM, "%s: condition init", what);
    }
    w->has_cv = 1;
    pthread_mutex_lock(&n->mu);
    int rc = node_enqueue(n, list, max, w, what, err);
    if (rc != 0) {
        if (!w->is_read)
            node_count_proposal(n, rc, w->start_ns);
        pthread_mutex_unlock(&n->mu);
        node_waiter_free(w);
        return rc;
    }
    n->callers++;
    int owned = 0;
    rc = node_wait(n, w, timeout_ms, &owned);
    if (!w->is_read)
        node_count_proposal(n, rc, w->start_ns);
    node_caller_leave(n);               /* n may be freed from here on (node_close) */
    if (rc == TARN_ETIMEDOUT && !owned) /* abandoned: the loop frees it */
        return tarn_err_set(err, rc, "%s: not done within %d ms (it may still take effect)", what,
                            timeout_ms);
    if (rc != 0 && w->fwd_lost) {
        node_waiter_free(w);
        return tarn_err_set(err, rc,
                            "%s: the leader it was forwarded to went away before answering "
                            "(it may still take effect)",
                            what);
    }
    if (rc != 0) {
        node_waiter_free(w);
        return tarn_err_set(err, rc, "%s: %s", what, tarn_error_name(rc));
    }
    return 0;
}

/* *out: a proposal waiter holding a copy of data (len checked against
 * the Raft entry limit). TARN_ETOOBIG, TARN_ENOMEM. */
static int node_proposal_new(const void *data, size_t len, node_waiter **out, tarn_err *err)
{
    if (len > RAFT_DEFAULT_MAX_ENTRY_SIZE)
        return tarn_err_set(err, TARN_ETOOBIG, "propose: %zu bytes, at most %u", len,
                            RAFT_DEFAULT_MAX_ENTRY_SIZE);
    node_waiter *w = tarn_calloc(1, sizeof(*w) + len);
    if (!w)
        return tarn_err_set(err, TARN_ENOMEM, "propose: allocate %zu bytes", len);
    memcpy(w->data, data, len);
    w->len = len;
    w->start_ns = tarn_mono_ns();
    *out = w;
    return 0;
}

/* Callers may not propose node/'s own command types. */
static int node_check_command(const void *data, size_t len, tarn_err *err)
{
    if (len == 0 || !data)
        return tarn_err_set(err, TARN_EINVAL, "propose: empty command");
    uint8_t type = ((const uint8_t *)data)[0];
    if (type == NODE_CMD_MEMBER_ADDR || type == NODE_CMD_CONF)
        return tarn_err_set(err, TARN_EINVAL, "propose: command type 0x%02x is node/'s own", type);
    return 0;
}

/* node_propose without the check for node/'s own command types. */
static int node_propose_raw(node *n, const void *data, size_t len, int timeout_ms,
                            store_result *res, tarn_err *err)
{
    node_waiter *w = NULL;
    int rc = node_proposal_new(data, len, &w, err);
    if (rc != 0)
        return rc;
    rc = node_submit(n, &n->queue, n->opts.queue_max, w, timeout_ms, "propose", err);
    if (rc != 0)
        return rc;
    *res = w->res;
    memset(&w->res, 0, sizeof(w->res));
    node_waiter_free(w);
    return 0;
}

int node_propose(node *n, const void *data, size_t len, int timeout_ms, store_result *res,
                 tarn_err *err)
{
    int rc = node_check_command(data, len, err);
    return rc != 0 ? rc : node_propose_raw(n, data, len, timeout_ms, res, err);
}

int node_propose_async(node *n, const void *data, size_t len, int timeout_ms, node_done_fn cb,
                       void *ctx, tarn_err *err)
{
    if (!cb)
        return tarn_err_set(err, TARN_EINVAL, "propose: no callback");
    node_waiter *w = NULL;
    int rc = node_check_command(data, len, err);
    if (rc == 0)
        rc = node_proposal_new(data, len, &w, err);
    if (rc != 0)
        return rc;
    w->deadline_ns = w->start_ns + (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
    w->cb = cb;
    w->cb_ctx = ctx;
    pthread_mutex_lock(&n->mu);
    rc = node_enqueue(n, &n->queue, n->opts.queue_max, w, "propose", err);
    if (rc != 0)
        node_count_proposal(n, rc, w->start_ns);
    pthread_mutex_unlock(&n->mu);
    if (rc != 0)
        node_waiter_free(w);
    return rc;
}

int node_read_barrier(node *n, int timeout_ms, uint64_t *index_out, tarn_err *err)
{
    node_waiter *w = tarn_calloc(1, sizeof(*w));
    if (!w)
        return tarn_err_set(err, TARN_ENOMEM, "read barrier: allocate");
    w->is_read = 1;
    int rc = node_submit(n, &n->reads, n->opts.reads_max, w, timeout_ms, "read barrier", err);
    if (rc != 0)
        return rc;
    if (index_out)
        *index_out = w->index;
    node_waiter_free(w);
    return 0;
}

int node_answered_barrier(node *n, int timeout_ms, tarn_err *err)
{
    struct timespec dl = node_deadline(timeout_ms);
    pthread_mutex_lock(&n->mu);
    n->callers++; /* node_close waits for us */
    uint64_t target = n->answered;
    int rc = 0;
    if (n->applied < target && !n->stop && !n->failed) {
        n->answered_waiters++; /* the apply thread commits at once (apply.c) */
        pthread_cond_signal(&n->wake_apply);
        while (rc == 0 && n->applied < target && !n->stop && !n->failed)
            if (pthread_cond_timedwait(&n->apply_done, &n->mu, &dl) == ETIMEDOUT)
                rc = TARN_ETIMEDOUT;
        n->answered_waiters--;
    }
    if (n->applied >= target)
        rc = 0;
    else if (rc == 0)
        rc = n->stop ? TARN_ECLOSED : TARN_ESTATE;
    node_caller_leave(n); /* unlocks */
    if (rc != 0)
        return tarn_err_set(err, rc, "wait for the store to commit index %llu: %s",
                            (unsigned long long)target, tarn_error_name(rc));
    return 0;
}

int node_wait_leader(node *n, int timeout_ms, tarn_err *err)
{
    struct timespec dl = node_deadline(timeout_ms);
    pthread_mutex_lock(&n->mu);
    n->callers++;
    int rc = 0;
    for (;;) {
        if (n->stop || n->failed) {
            rc = n->stop ? TARN_ECLOSED : TARN_ESTATE;
            break;
        }
        if (n->status.is_leader && n->status.leader_ready_term == n->status.term)
            break;
        if (pthread_cond_timedwait(&n->wake_done, &n->mu, &dl) == ETIMEDOUT) {
            rc = TARN_ETIMEDOUT;
            break;
        }
    }
    node_caller_leave(n);
    return rc ? tarn_err_set(err, rc, "wait for leadership: %s", tarn_error_name(rc)) : 0;
}

store *node_store(node *n)
{
    return n->st;
}

int node_read_begin(node *n, store_txn **out, tarn_err *err)
{
    pthread_rwlock_rdlock(&n->swap_lock);
    int rc = n->st ? store_read_begin(n->st, out, err)
                   : tarn_err_set(err, TARN_ESTATE, "store unavailable (failed snapshot install)");
    if (rc != 0)
        pthread_rwlock_unlock(&n->swap_lock);
    return rc;
}

void node_read_end(node *n, store_txn *txn)
{
    store_read_end(txn);
    pthread_rwlock_unlock(&n->swap_lock);
}

void node_get_status(node *n, node_status *st)
{
    pthread_mutex_lock(&n->mu);
    *st = n->status;
    st->queue_depth = n->queue.count;
    st->failed = n->failed;
    st->voters = n->conf_pub.n_voters;
    st->learners = n->conf_pub.n_learners;
    st->is_voter = raft_conf_is_voter(&n->conf_pub, n->opts.id);
    pthread_mutex_unlock(&n->mu);
}

int node_leader_url(node *n, char *buf, size_t cap)
{
    node_status st;
    node_get_status(n, &st);
    if (st.leader == RAFT_NONE)
        return TARN_ENOENT;
    if (st.leader == n->opts.id) {
        if (!n->http_url[0])
            return TARN_ENOENT;
        if (strlen(n->http_url) >= cap)
            return TARN_ERANGE;
        memcpy(buf, n->http_url, strlen(n->http_url) + 1);
        return 0;
    }
    return n->tp ? node_tp_peer_url(n->tp, st.leader, buf, cap) : TARN_ENOENT;
}

int node_transfer_leader(node *n, uint64_t to, int timeout_ms, tarn_err *err)
{
    pthread_mutex_lock(&n->mu);
    int member = raft_conf_is_voter(&n->conf_pub, to);
    pthread_mutex_unlock(&n->mu);
    if (!member || to == n->opts.id)
        return tarn_err_set(err, TARN_EINVAL, "transfer: %llu is not another voter",
                            (unsigned long long)to);
    struct timespec dl = node_deadline(timeout_ms);
    pthread_mutex_lock(&n->mu);
    n->callers++;
    uint64_t seq = ++n->transfer_seq;
    n->transfer_to = to;
    node_wake_loop(n);
    int rc = 0;
    for (;;) {
        if (n->stop || n->failed) {
            rc = n->stop ? TARN_ECLOSED : TARN_ESTATE;
            break;
        }
        if (n->transfer_done >= seq && n->transfer_rc != 0) {
            rc = n->transfer_rc;
            break;
        }
        if (n->transfer_done >= seq && n->status.leader == to)
            break;
        if (pthread_cond_timedwait(&n->wake_done, &n->mu, &dl) == ETIMEDOUT) {
            rc = TARN_ETIMEDOUT;
            break;
        }
    }
    node_caller_leave(n);
    return rc ? tarn_err_set(err, rc, "transfer leadership to %llu: %s", (unsigned long long)to,
                             tarn_error_name(rc))
              : 0;
}

uint16_t node_peer_port(node *n)
{
    return n->tp ? node_tp_port(n->tp) : 0;
}

size_t node_member_count(node *n)
{
    pthread_mutex_lock(&n->mu);
    size_t count = n->conf_pub.n_voters;
    pthread_mutex_unlock(&n->mu);
    return count ? count : 1;
}

/* ---- membership (members.c has the loop's side) --------------------------- */

size_t node_members_list(node *n, node_member *out, size_t cap)
{
    pthread_mutex_lock(&n->mu);
    size_t total = n->n_members_pub;
    for (size_t i = 0; i < total && i < cap; i++)
        out[i] = n->members_pub[i];
    pthread_mutex_unlock(&n->mu);
    return total;
}

/* Proposes a membership change through the loop and waits until it is
 * applied here. */
static int node_member_change(node *n, uint32_t type, uint64_t id, int timeout_ms, tarn_err *err)
{
    if (!n->clustered)
        return tarn_err_set(err, TARN_EINVAL,
                            "membership: a single voter has no members to change");
    node_waiter *w = tarn_calloc(1, sizeof(*w));
    if (!w)
        return tarn_err_set(err, TARN_ENOMEM, "membership change: allocate");
    w->conf_type = type;
    w->conf_node = id;
    w->start_ns = tarn_mono_ns();
    int rc = node_submit(n, &n->confs, NODE_CONFS_MAX, w, timeout_ms, "membership change", err);
    if (rc != 0)
        return rc;
    int code = w->res.code;
    node_waiter_free(w);
    if (code != 0)
        return tarn_err_set(err, code, "membership change: the state machine refused it (%s)",
                            tarn_error_name(code));
    return 0;
}

/* What the configuration in force says about id: 2 voter, 1 learner, 0 none. */
static int node_member_role(node *n, uint64_t id)
{
    pthread_mutex_lock(&n->mu);
    int role = raft_conf_is_voter(&n->conf_pub, id) ? 2 : raft_conf_is_member(&n->conf_pub, id);
    pthread_mutex_unlock(&n->mu);
    return role;
}

/* The NODE_CMD_MEMBER_ADDR command for (id, addr). */
static int node_addr_cmd(uint64_t id, const char *addr, uint8_t *out, size_t *len, tarn_err *err)
{
    size_t al = addr ? strlen(addr) : 0;
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (al < 3 || al >= NODE_TP_ADDR_MAX || !colon || colon == addr || !colon[1])
        return tarn_err_set(err, TARN_EINVAL, "member %llu: peer address '%s' is not host:port",
                            (unsigned long long)id, addr ? addr : "");
    for (size_t i = 0; i < al; i++)
        if (addr[i] <= ' ' || addr[i] > '~')
            return tarn_err_set(err, TARN_EINVAL, "member %llu: bad character in the address",
                                (unsigned long long)id);
    out[0] = NODE_CMD_MEMBER_ADDR;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(id >> (8 * i));
    memcpy(out + 9, addr, al);
    *len = 9 + al;
    return 0;
}

int node_member_add(node *n, uint64_t id, const char *addr, int timeout_ms, tarn_err *err)
{
    uint8_t cmd[9 + NODE_TP_ADDR_MAX];
    size_t len = 0;
    if (id == 0)
        return tarn_err_set(err, TARN_EINVAL, "add member: id 0 is reserved");
    int rc = node_addr_cmd(id, addr, cmd, &len, err);
    if (rc != 0)
        return rc;
    int role = node_member_role(n, id);
    if (role == 2)
        return tarn_err_set(err, TARN_EEXIST, "add member %llu: it is a voter already",
                            (unsigned long long)id);
    int64_t t0 = tarn_mono_ns();
    store_result res = {0};
    rc = node_propose_raw(n, cmd, len, timeout_ms, &res, err); /* invariant 1 of members.c */
    int code = res.code;
    store_result_free(&res);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "add member %llu: record its address",
                             (unsigned long long)id);
    if (code != 0)
        return tarn_err_set(err, code, "add member %llu: address refused", (unsigned long long)id);
    if (role == 1)
        return 0; /* a learner already (a retried add): its address is updated */
    int left = timeout_ms - (int)((tarn_mono_ns() - t0) / 1000000);
    rc = node_member_change(n, RAFT_CONF_ADD_LEARNER, id, left > 0 ? left : 1, err);
    return rc ? tarn_err_wrap(err, rc, "add member %llu as a learner", (unsigned long long)id) : 0;
}

int node_member_promote(node *n, uint64_t id, int timeout_ms, tarn_err *err)
{
    int role = node_member_role(n, id);
    if (role == 2)
        return 0;
    if (role == 0)
        return tarn_err_set(err, TARN_ENOENT, "promote member %llu: not a member",
                            (unsigned long long)id);
    int rc = node_member_change(n, RAFT_CONF_PROMOTE, id, timeout_ms, err);
    return rc ? tarn_err_wrap(err, rc, "promote member %llu", (unsigned long long)id) : 0;
}

int node_member_remove(node *n, uint64_t id, int timeout_ms, tarn_err *err)
{
    if (node_member_role(n, id) == 0)
        return 0;
    int rc = node_member_change(n, RAFT_CONF_REMOVE, id, timeout_ms, err);
    return rc ? tarn_err_wrap(err, rc, "remove member %llu", (unsigned long long)id) : 0;
}
