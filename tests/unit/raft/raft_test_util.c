/* tests/unit/raft/raft_test_util.c: see raft_test_util.h. */
#include "raft_test_util.h"

#include "common/test_util.h"

#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

static void entry_copy(raft_entry *dst, const raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len) {
        dst->data = tarn_malloc(src->len);
        assert_non_null(dst->data);
        memcpy(dst->data, src->data, src->len);
    }
}

static void msg_copy(raft_msg *dst, const raft_msg *src)
{
    assert_int_equal(raft_msg_copy(dst, src), 0);
}

void tn_config(tnode *t, uint64_t id, size_t n_voters)
{
    memset(t, 0, sizeof(*t));
    raft_config_init(&t->cfg);
    for (size_t i = 0; i < n_voters; i++)
        t->voters[i] = i + 1;
    t->cfg.id = id;
    t->cfg.voters = t->voters;
    t->cfg.n_voters = n_voters;
    t->cfg.pre_vote = 0;
    t->cfg.check_quorum = 0;
    t->cfg.rng_seed = id;
}

static int tn_entry(void *ctx, uint64_t index, raft_entry *out)
{
    tnode *t = ctx;
    *out = t->log[index - 1];
    return 0;
}

void tn_open(tnode *t)
{
    raft_log_view view = {.ctx = t, .first_index = 1, .last_index = t->n_log, .entry = tn_entry};
    t->cfg.voters = t->voters;
    t->cfg.applied = t->applied;
    tarn_err err = TARN_ERR_INIT;
    int rc = raft_open(&t->cfg, t->has_hs ? &t->hs : NULL, &view, &t->r, &err);
    if (rc != 0)
        fail_msg("raft_open: %s", tarn_err_msg(&err));
}

void tn_clear_msgs(tnode *t)
{
    for (size_t i = 0; i < t->n_now; i++)
        raft_msg_copy_free(&t->now[i]);
    for (size_t i = 0; i < t->n_after; i++)
        raft_msg_copy_free(&t->after[i]);
    t->n_now = t->n_after = 0;
}

void tn_close(tnode *t)
{
    raft_close(t->r);
    t->r = NULL;
    tn_clear_msgs(t);
    for (size_t i = 0; i < t->n_log; i++)
        tarn_free(t->log[i].data);
    for (size_t i = 0; i < t->n_committed; i++)
        tarn_free(t->committed[i].data);
    t->n_log = t->n_committed = 0;
}

void tn_restart(tnode *t)
{
    raft_close(t->r);
    t->r = NULL;
    tn_clear_msgs(t);
    tn_open(t);
}

void tn_durable_terms(tnode *t, const uint64_t *terms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(i + 1);
        raft_entry e = {.term = terms[i], .index = i + 1, .len = 1, .data = &b};
        entry_copy(&t->log[t->n_log++], &e);
    }
}

static void tn_persist(tnode *t, const struct raft_ready *rd)
{
    if (rd->n_entries > 0) {
        size_t from = (size_t)rd->entries[0].index - 1;
        assert_true(from <= t->n_log);
        while (t->n_log > from)
            tarn_free(t->log[--t->n_log].data);
        for (size_t k = 0; k < rd->n_entries; k++) {
            assert_true(t->n_log < TN_MAX_LOG);
            entry_copy(&t->log[t->n_log++], &rd->entries[k]);
        }
    }
    if (rd->hard_state_changed) {
        t->hs = rd->hard_state;
        t->has_hs = 1;
    }
}

void tn_ready(tnode *t, int persist)
{
    while (raft_has_ready(t->r)) {
        struct raft_ready rd;
        assert_int_equal(raft_ready(t->r, &rd), 0);
        for (size_t i = 0; i < rd.n_msgs_now; i++) {
            assert_true(t->n_now < TN_MAX_MSGS);
            msg_copy(&t->now[t->n_now++], &rd.msgs_now[i]);
        }
        if (!persist)
            return; /* crashed before the fsync: the test restarts us */
        tn_persist(t, &rd);
        for (size_t i = 0; i < rd.n_msgs_after_persist; i++) {
            assert_true(t->n_after < TN_MAX_MSGS);
            msg_copy(&t->after[t->n_after++], &rd.msgs_after_persist[i]);
        }
        for (size_t i = 0; i < rd.n_committed; i++) {
            assert_true(t->n_committed < TN_MAX_LOG);
            entry_copy(&t->committed[t->n_committed++], &rd.committed[i]);
            t->applied = rd.committed[i].index;
        }
        assert_int_equal(raft_advance(t->r, &rd), 0);
    }
}

const raft_msg *tn_find(const tnode *t, uint32_t type, uint64_t to, int after)
{
    const raft_msg *ms = after ? t->after : t->now;
    size_t n = after ? t->n_after : t->n_now;
    for (size_t i = 0; i < n; i++)
        if (ms[i].type == type && (to == 0 || ms[i].to == to))
            return &ms[i];
    return NULL;
}

size_t tn_count(const tnode *t, uint32_t type, uint64_t to, int after)
{
    const raft_msg *ms = after ? t->after : t->now;
    size_t n = after ? t->n_after : t->n_now, c = 0;
    for (size_t i = 0; i < n; i++)
        c += ms[i].type == type && (to == 0 || ms[i].to == to);
    return c;
}

void tn_step(tnode *t, const raft_msg *m)
{
    int rc = raft_step(t->r, m);
    if (rc != 0)
        fail_msg("raft_step(%s): %s", raft_msg_type_name(m->type), tarn_strerror(rc));
    tn_ready(t, 1);
}

raft_status tn_status(const tnode *t)
{
    raft_status st;
    raft_get_status(t->r, &st);
    return st;
}

void tn_elect(tnode *t)
{
    uint32_t want = t->cfg.pre_vote ? RAFT_PRECANDIDATE : RAFT_CANDIDATE;
    for (int i = 0; i < 100 && tn_status(t).state != want; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, want);
    for (int round = 0; round < 2 && tn_status(t).state != RAFT_LEADER; round++) {
        raft_status st = tn_status(t);
        uint32_t type = st.state == RAFT_PRECANDIDATE ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
        uint64_t term = st.state == RAFT_PRECANDIDATE ? st.term + 1 : st.term;
        for (size_t p = 0; p < t->cfg.n_voters && tn_status(t).state == st.state; p++) {
            if (t->voters[p] == t->cfg.id)
                continue;
            raft_msg m = {.type = type, .from = t->voters[p], .to = t->cfg.id, .term = term};
            tn_step(t, &m);
        }
    }
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
}

raft_msg tn_snapshot_msg(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                         uint64_t log_term, size_t n_voters, raft_entry *conf_entry, uint8_t *buf)
{
    raft_conf_state c;
    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < n_voters; i++)
        c.voters[c.n_voters++] = i + 1;
    *conf_entry = (raft_entry){.term = log_term, .index = index, .type = RAFT_ENTRY_CONF};
    conf_entry->len = (uint32_t)raft_conf_encode(&c, NULL, buf);
    conf_entry->data = buf;
    raft_msg m = {.type = RAFT_MSG_SNAPSHOT, .from = from, .to = to, .term = term, .index = index};
    m.log_term = log_term;
    m.entries = conf_entry;
    m.n_entries = 1;
    return m;
}

tnode *tn_new(uint64_t id, size_t n_voters)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, id, n_voters);
    tn_open(t);
    return t;
}

void tn_delete(tnode *t)
{
    tn_close(t);
    free(t);
}

void tn_ack(tnode *t, uint64_t from, uint64_t index)
{
    raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = from, .to = t->cfg.id, .index = index};
    m.term = tn_status(t).term;
    tn_step(t, &m);
}
