/*
 * node/members.c: membership changes of a running cluster. Design note:
 * src/node/README.md ("Membership").
 *
 * The Raft core decides who votes (single-server changes: add a learner,
 * promote, remove; raft.h). This file adds what the core leaves to the
 * host:
 *
 *  1. Addresses. A configuration entry names member ids only, so a new
 *     member's peer address travels in a command of node/'s own,
 *     NODE_CMD_MEMBER_ADDR, committed just before the ADD_LEARNER change
 *     that names it. Every member applies it into the store (table
 *     NODE_TABLE_MEMBERS), so every member, a restarted one, and one
 *     restored from a store snapshot all know how to reach it.
 *  2. The configuration with the state. A committed RAFT_ENTRY_CONF is
 *     applied to the store as NODE_CMD_CONF (its payload), which keeps the
 *     configuration at the applied index in the same LMDB transaction as
 *     the applied index. A store snapshot therefore carries it, and at open
 *     it is handed to the core as raft_log_view.snapshot_conf (the log
 *     after the WAL's snapshot marker holds every later change, and the
 *     latest one wins: raft.h).
 *  3. The transport follows the configuration: after every Ready that
 *     appended or applied a change (or an address), node_members_sync adds
 *     a peer for every member with a known address and removes the peers
 *     that left. The leader therefore starts sending to a learner as soon
 *     as the change is in its log (4.1: a configuration is in force once
 *     appended).
 *  4. Requests. node_member_add/promote/remove queue a waiter on `confs`;
 *     the loop hands it to raft_propose_conf_change (node_conf_step) and
 *     it completes like a proposal, when its entry is applied.
 *
 * Invariants:
 *  1. Every address record is committed before the change that names its
 *     member is proposed (node_member_add waits for it), so a leader that
 *     appends an ADD_LEARNER knows the address or learns it from an entry
 *     it will apply.
 *  2. node_store_entry_of writes a conf entry's command into the one
 *     conf_cmd buffer: a replayed store batch holds at most one conf entry,
 *     its last (node_batch_len), and the hand-over to the apply thread
 *     (apply.c) copies each entry at once.
 */
#include "node/node_int.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define NODE_CONF_KEY     "conf"
#define NODE_ADDR_KEY_TAG 'a'

/* ---- the store commands ---------------------------------------------- */

static void addr_key(uint64_t id, uint8_t key[9])
{
    key[0] = NODE_ADDR_KEY_TAG;
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(id >> (56 - 8 * i));
}

/* A peer address is host:port, printable, shorter than NODE_TP_ADDR_MAX. */
static int addr_ok(const uint8_t *a, size_t len)
{
    if (len < 3 || len >= NODE_TP_ADDR_MAX || !memchr(a, ':', len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (a[i] <= ' ' || a[i] > '~')
            return 0;
    return 1;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/*
 * NODE_CMD_MEMBER_ADDR: kind u8, id u64 LE, address (the rest).
 * NODE_CMD_CONF: kind u8, a RAFT_ENTRY_CONF payload (raft.h).
 * A malformed command is the command's failure (TARN_EINVAL), the same on
 * every member; only store errors abort the batch.
 */
static int node_apply_cmd(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    res->code = TARN_EINVAL;
    if (e->data[0] == NODE_CMD_CONF) {
        raft_conf_state conf;
        if (e->len < 2 || raft_conf_decode(e->data + 1, (uint32_t)(e->len - 1), NULL, &conf) != 0)
            return 0;
        int rc = store_txn_put(txn, NODE_TABLE_MEMBERS, NODE_CONF_KEY, strlen(NODE_CONF_KEY),
                               e->data + 1, e->len - 1);
        if (rc == 0)
            res->code = 0;
        return rc;
    }
    if (e->len < 9 || le64(e->data + 1) == 0 || !addr_ok(e->data + 9, e->len - 9))
        return 0;
    uint8_t key[9];
    addr_key(le64(e->data + 1), key);
    int rc = store_txn_put(txn, NODE_TABLE_MEMBERS, key, sizeof(key), e->data + 9, e->len - 9);
    if (rc == 0)
        res->code = 0;
    return rc;
}

int node_members_register(node *n, tarn_err *err)
{
    int rc = store_registry_set(&n->reg, NODE_CMD_MEMBER_ADDR, node_apply_cmd, n);
    if (rc == 0)
        rc = store_registry_set(&n->reg, NODE_CMD_CONF, node_apply_cmd, n);
    return rc ? tarn_err_set(err, rc, "node: command types 0x%02x/0x%02x are taken",
                             NODE_CMD_MEMBER_ADDR, NODE_CMD_CONF)
              : 0;
}

size_t node_batch_len(const raft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].type == RAFT_ENTRY_CONF)
            return i + 1;
    return n;
}

void node_store_entry_of(node *n, const raft_entry *e, store_entry *out)
{
    *out = (store_entry){.index = e->index, .term = e->term, .data = e->data, .len = e->len};
    if (e->type == RAFT_ENTRY_NOOP) {
        out->data = NULL;
        out->len = 0;
    } else if (e->type == RAFT_ENTRY_CONF) {
        /* The core checked the payload when it took the entry; one too
         * large for the buffer cannot be a valid configuration, and the
         * handler answers EINVAL for its empty remainder. */
        size_t len = e->len < sizeof(n->conf_cmd) ? e->len : 0;
        n->conf_cmd[0] = NODE_CMD_CONF;
        if (len)
            memcpy(n->conf_cmd + 1, e->data, len);
        out->data = n->conf_cmd;
        out->len = len + 1;
    }
}

/* ---- addresses and the transport ------------------------------------- */

static void addrs_set(node *n, uint64_t id, const char *addr)
{
    for (size_t i = 0; i < n->n_addrs; i++)
        if (n->addrs[i].id == id) {
            snprintf(n->addrs[i].addr, sizeof(n->addrs[i].addr), "%s", addr);
            return;
        }
    if (n->n_addrs == NODE_ADDRS_MAX) {
        TARN_LOGF(TARN_LOG_WARN, "node", "too many member addresses; ignoring one",
                  TARN_F_UINT("peer", id), TARN_F_STR("addr", addr));
        return;
    }
    n->addrs[n->n_addrs].id = id;
    snprintf(n->addrs[n->n_addrs].addr, sizeof(n->addrs[n->n_addrs].addr), "%s", addr);
    n->n_addrs++;
}

static const char *addrs_get(const node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_addrs; i++)
        if (n->addrs[i].id == id)
            return n->addrs[i].addr;
    return NULL;
}

/* Reads the address records and the configuration from the store. */
static int members_read(node *n, store_txn *txn, raft_conf_state *conf, int *has_conf)
{
    const void *v;
    size_t vl;
    *has_conf = 0;
    int rc = store_txn_get(txn, NODE_TABLE_MEMBERS, NODE_CONF_KEY, strlen(NODE_CONF_KEY), &v, &vl);
    if (rc == 0) {
        if (raft_conf_decode(v, (uint32_t)vl, NULL, conf) != 0)
            return TARN_ECORRUPT;
        *has_conf = 1;
    } else if (rc != TARN_ENOENT) {
        return rc;
    }
    store_cursor *c = NULL;
    if ((rc = store_cursor_open(txn, NODE_TABLE_MEMBERS, &c)) != 0)
        return rc;
    const void *k;
    size_t kl;
    uint8_t start = NODE_ADDR_KEY_TAG;
    for (rc = store_cursor_seek(c, &start, 1, &k, &kl, &v, &vl); rc == 0;
         rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
        const uint8_t *kb = k;
        if (kl != 9 || kb[0] != NODE_ADDR_KEY_TAG)
            break;
        uint64_t id = 0;
        for (int i = 0; i < 8; i++)
            id = id << 8 | kb[1 + i];
        char addr[NODE_TP_ADDR_MAX];
        if (!addr_ok(v, vl)) {
            rc = TARN_ECORRUPT;
            break;
        }
        memcpy(addr, v, vl);
        addr[vl] = '\0';
        addrs_set(n, id, addr);
    }
    store_cursor_close(c);
    return rc == TARN_ENOENT || rc == 0 ? 0 : rc;
}

int node_members_load(node *n, raft_conf_state *conf, int *has_conf, tarn_err *err)
{
    store_txn *txn = NULL;
    int rc = store_read_begin(n->st, &txn, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "read the membership records");
    rc = members_read(n, txn, conf, has_conf);
    store_read_end(txn);
    return rc ? tarn_err_set(err, rc, "membership records in the store: %s", tarn_error_name(rc))
              : 0;
}

/* Makes the transport's peers the members of `conf` with a known address
 * (this one excepted). */
static void members_sync_transport(node *n, const raft_conf_state *conf)
{
    for (size_t i = 0; i < n->n_tp_ids;) {
        uint64_t id = n->tp_ids[i];
        if (raft_conf_is_member(conf, id)) {
            i++;
            continue;
        }
        (void)node_tp_remove_peer(n->tp, id); /* ENOENT: gone already */
        n->tp_ids[i] = n->tp_ids[--n->n_tp_ids];
    }
    uint64_t ids[RAFT_MAX_PEERS];
    size_t count = 0;
    for (uint32_t i = 0; i < conf->n_voters; i++)
        ids[count++] = conf->voters[i];
    for (uint32_t i = 0; i < conf->n_learners; i++)
        ids[count++] = conf->learners[i];
    for (size_t i = 0; i < count; i++) {
        uint64_t id = ids[i];
        const char *addr = addrs_get(n, id);
        int known = 0;
        for (size_t j = 0; j < n->n_tp_ids; j++)
            known |= n->tp_ids[j] == id;
        if (id == n->opts.id || known || !addr || n->n_tp_ids == NODE_TP_PEERS_MAX)
            continue;
        node_peer p = {.id = id};
        snprintf(p.addr, sizeof(p.addr), "%s", addr);
        tarn_err err = TARN_ERR_INIT;
        if (node_tp_add_peer(n->tp, &p, &err) != 0) {
            TARN_LOGF(TARN_LOG_WARN, "node", "cannot add a peer", TARN_F_UINT("peer", id),
                      TARN_F_STR("detail", tarn_err_msg(&err)));
            continue;
        }
        n->tp_ids[n->n_tp_ids++] = id;
    }
}

void node_members_sync(node *n)
{
    raft_conf_state conf;
    raft_get_conf(n->r, &conf);
    if (n->tp)
        members_sync_transport(n, &conf);
    node_member list[RAFT_MAX_PEERS];
    size_t count = 0;
    for (uint32_t i = 0; i < conf.n_voters + conf.n_learners; i++) {
        int voter = i < conf.n_voters;
        node_member *m = &list[count++];
        *m = (node_member){.id = voter ? conf.voters[i] : conf.learners[i - conf.n_voters],
                           .is_voter = voter};
        const char *addr = addrs_get(n, m->id);
        snprintf(m->addr, sizeof(m->addr), "%s", addr ? addr : "");
    }
    pthread_mutex_lock(&n->mu);
    n->conf_pub = conf;
    memcpy(n->members_pub, list, count * sizeof(list[0]));
    n->n_members_pub = count;
    pthread_mutex_unlock(&n->mu);
    obs_gauge_set(n->m_voters, conf.n_voters);
    obs_gauge_set(n->m_learners, conf.n_learners);
}

int node_members_changed(node *n)
{
    raft_conf_state conf;
    raft_get_conf(n->r, &conf);
    /* conf_pub is written by this (the loop) thread only: no lock to read.
     * Field by field: the struct has padding that memcmp would compare. */
    const raft_conf_state *p = &n->conf_pub;
    if (conf.n_voters != p->n_voters || conf.n_learners != p->n_learners)
        return 1;
    for (uint32_t i = 0; i < conf.n_voters; i++)
        if (conf.voters[i] != p->voters[i])
            return 1;
    for (uint32_t i = 0; i < conf.n_learners; i++)
        if (conf.learners[i] != p->learners[i])
            return 1;
    return 0;
}

static const char *conf_change_name(uint32_t type)
{
    switch (type) {
    case RAFT_CONF_ADD_LEARNER:
        return "add_learner";
    case RAFT_CONF_PROMOTE:
        return "promote";
    case RAFT_CONF_REMOVE:
        return "remove";
    default:
        return "none";
    }
}

/* After a batch is applied: remembers the addresses it recorded, logs each
 * membership change, and brings the transport up to date. */
void node_members_applied(node *n, const raft_entry *e, size_t count)
{
    int changed = 0;
    for (size_t i = 0; i < count; i++) {
        if (e[i].type == RAFT_ENTRY_NORMAL && e[i].len > 9 &&
            e[i].data[0] == NODE_CMD_MEMBER_ADDR && le64(e[i].data + 1) != 0 &&
            addr_ok(e[i].data + 9, e[i].len - 9)) {
            char addr[NODE_TP_ADDR_MAX];
            memcpy(addr, e[i].data + 9, e[i].len - 9);
            addr[e[i].len - 9] = '\0';
            addrs_set(n, le64(e[i].data + 1), addr);
            changed = 1;
        }
        raft_conf_change cc;
        raft_conf_state conf;
        if (e[i].type != RAFT_ENTRY_CONF || raft_conf_decode(e[i].data, e[i].len, &cc, &conf) != 0)
            continue;
        changed = 1;
        obs_counter_add(n->m_conf_changes, 1);
        const char *addr = addrs_get(n, cc.node);
        TARN_LOGF(TARN_LOG_INFO, "raft", "membership change", TARN_F_UINT("member", n->opts.id),
                  TARN_F_UINT("index", e[i].index), TARN_F_UINT("term", e[i].term),
                  TARN_F_STR("change", conf_change_name(cc.type)), TARN_F_UINT("node", cc.node),
                  TARN_F_STR("addr", addr ? addr : ""), TARN_F_UINT("voters", conf.n_voters),
                  TARN_F_UINT("learners", conf.n_learners));
    }
    if (changed)
        node_members_sync(n);
}

/* ---- change requests --------------------------------------------------- */

/* Hands queued membership changes to the core (loop thread, between
 * Readies). An accepted one waits in `inflight` like a proposal. */
void node_conf_step(node *n)
{
    node_list todo = {0};
    node_waiter *w;
    pthread_mutex_lock(&n->mu);
    while ((w = node_list_pop(&n->confs)) != NULL)
        node_list_push(&todo, w);
    pthread_mutex_unlock(&n->mu);
    while ((w = node_list_pop(&todo)) != NULL) {
        raft_conf_change cc = {.type = w->conf_type, .node = w->conf_node};
        int rc = raft_propose_conf_change(n->r, &cc, &w->index, &w->term);
        if (rc == RAFT_ENOTLEADER)
            rc = TARN_EBUSY; /* ECONFLICT would read as a failed compare */
        TARN_LOGF(TARN_LOG_INFO, "raft", "membership change proposed",
                  TARN_F_UINT("member", n->opts.id),
                  TARN_F_STR("change", conf_change_name(cc.type)), TARN_F_UINT("node", cc.node),
                  TARN_F_UINT("index", rc ? 0 : w->index), TARN_F_ERR(rc));
        pthread_mutex_lock(&n->mu); /* inflight: the apply thread completes it */
        if (rc == 0)
            node_list_push(&n->inflight, w);
        else
            node_waiter_complete(n, w, rc);
        pthread_mutex_unlock(&n->mu);
    }
}
