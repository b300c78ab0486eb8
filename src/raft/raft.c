/*
 * raft/raft.c: the Raft protocol: roles and transitions, elections with
 * pre-vote, log replication with flow control, and the commit rule. The
 * in-memory log is in log.c, the Ready batch in ready.c. Design note with
 * the state diagram and the numbered invariants: src/raft/README.md.
 */
#include "raft/raft_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

void raft_config_init(raft_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->pre_vote = 1;
    cfg->check_quorum = 1;
    cfg->max_inflight = 64;
    cfg->max_msg_bytes = 1u << 20;
    cfg->max_entry_bytes = RAFT_DEFAULT_MAX_ENTRY_SIZE;
    cfg->max_uncommitted = 4096;
}

/* ---------------------------------------------------------------- helpers */

/* A majority of the voters in force; learners never count (4.2.1). */
static size_t raft_quorum(const raft *r)
{
    return r->conf.n_voters / 2 + 1;
}

size_t raft_quorum_size(const raft *r)
{
    return raft_quorum(r);
}

static raft_progress *raft_peer(raft *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i].id == id)
            return &r->peers[i];
    return NULL;
}

static uint64_t raft_last_term(const raft *r)
{
    return raft_log_term_at(&r->log, raft_log_last_index(&r->log));
}

/* Election timeouts are random in [e, 2e) so that split votes resolve
 * (Dissertation 3.4); the randomness is the injected tarn_rng. */
static void raft_reset_randomized_timeout(raft *r)
{
    uint32_t e = r->cfg.election_ticks;
    r->randomized_timeout = e + (uint32_t)tarn_rng_below(&r->rng, e);
}

static void raft_inflight_reset(raft_progress *pr)
{
    pr->inflight_start = 0;
    pr->inflight_count = 0;
}

static void raft_inflight_add(raft *r, raft_progress *pr, uint64_t last)
{
    TARN_ASSERT(pr->inflight_count < r->cfg.max_inflight);
    uint32_t slot = (pr->inflight_start + pr->inflight_count) % r->cfg.max_inflight;
    pr->inflight[slot] = last;
    pr->inflight_count++;
}

static void raft_inflight_free_to(raft *r, raft_progress *pr, uint64_t index)
{
    while (pr->inflight_count > 0 && pr->inflight[pr->inflight_start] <= index) {
        pr->inflight_start = (pr->inflight_start + 1) % r->cfg.max_inflight;
        pr->inflight_count--;
    }
}

static void raft_commit_to(raft *r, uint64_t commit)
{
    if (commit <= r->commit)
        return;
    TARN_ASSERT(commit <= raft_log_last_index(&r->log));
    r->commit = commit;
}

/* Fails the handle after a failed allocation midway: the state is then
 * unknown. Protocol errors (TARN_ECORRUPT) are detected before any change
 * and leave the handle usable. */
static int raft_fail(raft *r, int rc)
{
    if (rc == TARN_ENOMEM && r->failed == 0)
        r->failed = rc;
    return rc;
}

static int raft_reply(raft *r, const raft_msg *to, uint32_t type, uint64_t term, int reject)
{
    raft_msg m = {.type = type, .from = r->id, .to = to->from, .term = term};
    m.reject = reject ? 1 : 0;
    return raft_send(r, &m);
}

/* ------------------------------------------------------------ transitions */

static void raft_reset(raft *r, uint64_t term)
{
    if (term != r->term) {
        TARN_ASSERT(term > r->term); /* invariant 1: terms only grow */
        r->term = term;
        r->vote = RAFT_NONE;
    }
    r->lead = RAFT_NONE;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    raft_reset_randomized_timeout(r);
    memset(r->votes, 0, sizeof(r->votes));
    raft_read_reset(r); /* pending reads die with the leadership */
    r->transferee = RAFT_NONE;
    r->transfer_elapsed = 0;
    uint64_t last = raft_log_last_index(&r->log);
    for (size_t i = 0; i < r->n_peers; i++) {
        raft_progress *pr = &r->peers[i];
        pr->match = pr->id == r->id ? r->log.stable : 0;
        pr->next = last + 1;
        pr->state = RAFT_PROGRESS_PROBE;
        pr->probe_sent = 0;
        pr->recent_active = pr->id == r->id;
        pr->pending_snapshot = 0;
        pr->lease_ack = 0;
        raft_inflight_reset(pr);
    }
}

static void raft_become_follower(raft *r, uint64_t term, uint64_t lead)
{
    raft_reset(r, term);
    r->state = RAFT_FOLLOWER;
    r->lead = lead;
}

static int raft_bcast_append(raft *r, int send_if_empty);

/* Dissertation 3.6.2 and 6.4: a new leader cannot know which of its
 * entries are committed until it commits one of its own term, so it
 * appends a no-op at once. */
static int raft_become_leader(raft *r)
{
    TARN_ASSERT(r->state == RAFT_CANDIDATE);
    raft_reset(r, r->term);
    r->state = RAFT_LEADER;
    r->lead = r->id;
    r->lease_broken = 0;
    raft_entry noop = {.term = r->term, .index = raft_log_last_index(&r->log) + 1};
    noop.type = RAFT_ENTRY_NOOP;
    int rc = raft_log_append_copy(&r->log, &noop);
    if (rc != 0)
        return rc;
    return raft_bcast_append(r, 1);
}

static int raft_poll(raft *r, uint64_t from, int granted, size_t *granted_n, size_t *denied_n)
{
    *granted_n = 0;
    *denied_n = 0;
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i].learner)
            continue; /* a learner's vote never counts, 4.2.1 */
        if (r->peers[i].id == from && r->votes[i] == 0)
            r->votes[i] = granted ? 1 : -1;
        *granted_n += r->votes[i] == 1;
        *denied_n += r->votes[i] == -1;
    }
    return 0;
}

enum raft_campaign_kind { RAFT_CAMPAIGN_PRE, RAFT_CAMPAIGN_ELECTION, RAFT_CAMPAIGN_TRANSFER };
static int raft_campaign(raft *r, int kind);

/* Counts a (pre-)vote and moves on when the result is known. */
static int raft_tally(raft *r, uint64_t from, int granted)
{
    size_t yes, no;
    raft_poll(r, from, granted, &yes, &no);
    if (yes >= raft_quorum(r)) {
        if (r->state == RAFT_PRECANDIDATE)
            return raft_campaign(r, RAFT_CAMPAIGN_ELECTION);
        return raft_become_leader(r);
    }
    if (no >= raft_quorum(r))
        raft_become_follower(r, r->term, RAFT_NONE);
    return 0;
}

/*
 * Starts an election (Dissertation 3.4) or a pre-vote round that changes no
 * durable state (9.6): a node that cannot win does not raise its term and so
 * cannot disrupt a healthy leader when it rejoins. A transfer campaign
 * (3.10) skips pre-vote and marks its votes so that leases do not stop it.
 */
static int raft_campaign(raft *r, int kind)
{
    int pre = kind == RAFT_CAMPAIGN_PRE;
    uint64_t term;
    if (pre) {
        r->state = RAFT_PRECANDIDATE;
        r->lead = RAFT_NONE;
        memset(r->votes, 0, sizeof(r->votes));
        raft_reset_randomized_timeout(r);
        term = r->term + 1;
    } else {
        raft_reset(r, r->term + 1);
        r->state = RAFT_CANDIDATE;
        r->vote = r->id;
        term = r->term;
    }
    int rc = raft_tally(r, r->id, 1);
    if (rc != 0 || r->state == RAFT_LEADER || (pre && r->state == RAFT_CANDIDATE))
        return rc; /* a single voter wins at once */
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i].id == r->id || r->peers[i].learner)
            continue;
        raft_msg m = {.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE, .from = r->id};
        m.to = r->peers[i].id;
        m.term = term;
        m.index = raft_log_last_index(&r->log);
        m.log_term = raft_last_term(r);
        m.context = kind == RAFT_CAMPAIGN_TRANSFER ? RAFT_VOTE_TRANSFER : 0;
        rc = raft_send(r, &m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ replication */

static int raft_progress_paused(const raft *r, const raft_progress *pr)
{
    if (pr->state == RAFT_PROGRESS_SNAPSHOT)
        return 1; /* until the host reports the send or the follower acks */
    if (pr->state == RAFT_PROGRESS_PROBE)
        return pr->probe_sent;
    return pr->inflight_count >= r->cfg.max_inflight;
}

/* Copies entries [next, last] into m, at most max_msg_bytes counting each
 * entry's header (but at least one entry), and RAFT_MAX_ENTRIES_PER_MSG. */
static int raft_fill_entries(raft *r, raft_msg *m, uint64_t next)
{
    uint64_t last = raft_log_last_index(&r->log);
    if (next > last)
        return 0;
    size_t n = 0;
    uint64_t bytes = 0;
    for (uint64_t i = next; i <= last && n < RAFT_MAX_ENTRIES_PER_MSG; i++, n++) {
        uint64_t len = raft_log_at(&r->log, i)->len + RAFT_ENTRY_OVERHEAD_BYTES;
        if (n > 0 && bytes + len > r->cfg.max_msg_bytes)
            break;
        bytes += len;
    }
    m->entries = tarn_calloc(n, sizeof(raft_entry));
    if (m->entries == NULL)
        return TARN_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        int rc = raft_entry_copy(&m->entries[k], raft_log_at(&r->log, next + k));
        if (rc != 0)
            return rc; /* the caller frees what was copied */
        m->n_entries++;
        r->msg_bytes += m->entries[k].len;
    }
    return 0;
}

/*
 * The follower needs entries we compacted: send our snapshot's metadata
 * and the configuration at its index (the host streams the data), then
 * send that peer nothing until the host reports the send
 * (raft_report_snapshot) or the follower acknowledges (state SNAPSHOT).
 */
static int raft_send_snapshot(raft *r, raft_progress *pr, int *sent)
{
    raft_msg m = {.type = RAFT_MSG_SNAPSHOT, .from = r->id, .to = pr->id, .term = r->term};
    m.index = r->log.offset;
    m.log_term = r->log.offset_term;
    m.commit = r->commit;
    uint8_t conf[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_entry e = {.term = m.log_term, .index = m.index, .type = RAFT_ENTRY_CONF, .data = conf};
    e.len = (uint32_t)raft_conf_encode(&r->snap_conf, NULL, conf);
    *sent = 0;
    m.entries = tarn_calloc(1, sizeof(raft_entry));
    if (m.entries == NULL)
        return TARN_ENOMEM;
    int rc = raft_entry_copy(&m.entries[0], &e);
    if (rc != 0) {
        tarn_free(m.entries);
        return rc;
    }
    m.n_entries = 1;
    r->msg_bytes += e.len;
    rc = raft_send(r, &m); /* owns m.entries from here, even on error */
    if (rc != 0)
        return rc;
    pr->state = RAFT_PROGRESS_SNAPSHOT;
    pr->pending_snapshot = m.index;
    pr->snapshot_elapsed = 0;
    pr->probe_sent = 0;
    raft_inflight_reset(pr);
    *sent = 1;
    return 0;
}

/* Sends the entries pr lacks, if flow control allows (Dissertation 10.2.2
 * pipelining, bounded by max_inflight batches). */
static int raft_send_append(raft *r, raft_progress *pr, int send_if_empty, int *sent)
{
    *sent = 0;
    if (raft_progress_paused(r, pr))
        return 0;
    if (pr->next - 1 < r->log.offset)
        return raft_send_snapshot(r, pr, sent);
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = r->id, .to = pr->id, .term = r->term};
    m.index = pr->next - 1;
    m.log_term = raft_log_term_at(&r->log, m.index);
    m.commit = r->commit;
    int rc = raft_fill_entries(r, &m, pr->next);
    if (rc == 0 && m.n_entries == 0 && !send_if_empty)
        return 0;
    if (rc == 0) {
        uint64_t sent_last = m.index + m.n_entries;
        rc = raft_send(r, &m); /* owns m.entries from here, even on error */
        m.n_entries = 0;
        m.entries = NULL;
        if (rc == 0 && pr->state == RAFT_PROGRESS_REPLICATE && sent_last >= pr->next) {
            pr->next = sent_last + 1;
            raft_inflight_add(r, pr, sent_last);
        } else if (rc == 0 && pr->state == RAFT_PROGRESS_PROBE) {
            pr->probe_sent = 1;
        }
        *sent = rc == 0;
    }
    for (size_t k = 0; k < m.n_entries; k++) {
        r->msg_bytes -= m.entries[k].len;
        raft_entry_free(&m.entries[k]);
    }
    tarn_free(m.entries);
    return rc;
}

/* Sends to pr while there is something to send and room in flight. */
static int raft_send_append_all(raft *r, raft_progress *pr)
{
    int sent = 1;
    for (uint32_t i = 0; sent && i <= r->cfg.max_inflight; i++) {
        int rc = raft_send_append(r, pr, 0, &sent);
        if (rc != 0)
            return rc;
        if (pr->state == RAFT_PROGRESS_PROBE)
            break;
    }
    return 0;
}

static int raft_bcast_append(raft *r, int send_if_empty)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i].id == r->id)
            continue;
        int sent;
        int rc = raft_send_append(r, &r->peers[i], send_if_empty, &sent);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int raft_bcast_heartbeat(raft *r)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        raft_progress *pr = &r->peers[i];
        if (pr->id == r->id)
            continue;
        /* Never tell a follower to commit past what it is known to hold. */
        raft_msg m = {.type = RAFT_MSG_HEARTBEAT, .from = r->id, .to = pr->id, .term = r->term};
        m.commit = pr->match < r->commit ? pr->match : r->commit;
        m.context = r->n_reads > 0 ? r->read_seq : 0;
        m.index = r->ticks; /* echoed back: the lease runs from here */
        int rc = raft_send(r, &m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * The commit rule (Dissertation 3.6.2): the highest index held by a quorum
 * is committed only if its entry is of the current term. Counting replicas
 * of an earlier term's entry is the Figure 3.7 (paper Figure 8) bug: such
 * an entry can still be overwritten by a leader that never saw it.
 */
static int raft_maybe_commit(raft *r)
{
    uint64_t m[RAFT_MAX_VOTERS];
    size_t n = 0;
    for (size_t i = 0; i < r->n_peers; i++)
        if (!r->peers[i].learner)
            m[n++] = r->peers[i].id == r->id ? r->log.stable : r->peers[i].match;
    TARN_ASSERT(n == r->conf.n_voters);
    for (size_t i = 1; i < n; i++) /* insertion sort, descending; n <= 9 */
        for (size_t j = i; j > 0 && m[j - 1] < m[j]; j--) {
            uint64_t t = m[j];
            m[j] = m[j - 1];
            m[j - 1] = t;
        }
    uint64_t index = m[raft_quorum(r) - 1];
    if (index <= r->commit || raft_log_term_at(&r->log, index) != r->term)
        return 0;
    raft_commit_to(r, index);
    raft_read_on_commit(r);
    return 1;
}

/*
 * After the commit index moved: entries still unsent go out (they carry
 * it), but no empty append just for the index. Followers learn it from
 * the next append or heartbeat (every heartbeat_ticks), as the
 * dissertation has it (3.5: the leader "includes that index in future
 * AppendEntries RPCs (including heartbeats)"). The empty appends, two
 * per write in a 3-member cluster plus their acknowledgements, woke both
 * followers to apply just while the leader answered its client; applying
 * on the next append instead overlaps their fsync (node README
 * "Performance").
 */
static int raft_after_commit(raft *r)
{
    return raft_bcast_append(r, 0);
}

int raft_leader_maybe_commit_and_send(raft *r)
{
    TARN_ASSERT(r->state == RAFT_LEADER);
    raft_progress *self = raft_peer(r, r->id);
    if (self != NULL) /* a leader removing itself is no longer a member (4.2.2) */
        self->match = r->log.stable;
    if (raft_maybe_commit(r))
        return raft_after_commit(r);
    return 0;
}

/* ------------------------------------------------------ follower handlers */

/* Dissertation 3.5: accept entries only when the entry before them matches
 * (log matching); drop our suffix only from the first real conflict, so a
 * stale or duplicated append never truncates newer entries. */
static int raft_handle_append(raft *r, const raft_msg *m)
{
    raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .from = r->id, .to = m->from};
    resp.term = r->term;
    uint64_t last = raft_log_last_index(&r->log);
    if (m->index < r->commit) {
        resp.index = r->commit; /* a stale append; tell the leader what we have */
        return raft_send(r, &resp);
    }
    if (m->index > last || raft_log_term_at(&r->log, m->index) != m->log_term) {
        uint64_t hint = m->index < last ? m->index : last;
        hint = raft_log_find_conflict_by_term(&r->log, hint, m->log_term);
        resp.reject = 1;
        resp.index = m->index;
        resp.reject_hint = hint;
        resp.log_term = raft_log_term_at(&r->log, hint);
        return raft_send(r, &resp);
    }
    size_t k = 0;
    while (k < m->n_entries && m->entries[k].index <= last &&
           raft_log_term_at(&r->log, m->entries[k].index) == m->entries[k].term)
        k++;
    int conf_changed = 0;
    if (k < m->n_entries && m->entries[k].index <= last) {
        /* m->index >= commit (checked above), so a conflict is never at a
         * committed index (invariant 5). */
        TARN_ASSERT(m->entries[k].index > r->commit);
        raft_log_truncate_from(&r->log, m->entries[k].index);
        conf_changed = r->conf_index >= m->entries[k].index; /* 4.1: revert */
    }
    for (; k < m->n_entries; k++) {
        int rc = raft_log_append_copy(&r->log, &m->entries[k]);
        if (rc != 0)
            return rc;
        conf_changed |= m->entries[k].type == RAFT_ENTRY_CONF; /* 4.1: in force at once */
    }
    if (conf_changed)
        raft_conf_recompute(r);
    uint64_t last_new = m->index + m->n_entries;
    raft_commit_to(r, m->commit < last_new ? m->commit : last_new);
    resp.index = last_new;
    return raft_send(r, &resp);
}

static int raft_handle_heartbeat(raft *r, const raft_msg *m)
{
    uint64_t last = raft_log_last_index(&r->log);
    raft_commit_to(r, m->commit < last ? m->commit : last);
    raft_msg resp = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = r->id, .to = m->from};
    resp.term = r->term;
    resp.context = m->context; /* confirms this leader for ReadIndex */
    resp.index = m->index;     /* its tick stamp, for the leader's lease */
    return raft_send(r, &resp);
}

/* InstallSnapshot (Dissertation 5.1): a snapshot we already cover only
 * moves the commit index; otherwise it replaces our whole log, and the next
 * Ready tells the host to install it. The ack waits for that (after persist). */
static int raft_handle_snapshot(raft *r, const raft_msg *m)
{
    raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .from = r->id, .to = m->from};
    resp.term = r->term;
    if (m->index <= r->commit) {
        resp.index = r->commit;
        return raft_send(r, &resp);
    }
    if (raft_log_term_at(&r->log, m->index) == m->log_term) {
        raft_commit_to(r, m->index);
    } else {
        raft_conf_state conf;
        if (raft_conf_of_entry(&m->entries[0], &conf) != 0)
            return TARN_EINVAL; /* raft_msg_validate decoded it already */
        raft_log_restore(&r->log, m->index, m->log_term);
        r->commit = m->index;
        r->has_pending_snapshot = 1;
        r->pending_snapshot.index = m->index;
        r->pending_snapshot.term = m->log_term;
        r->pending_snapshot.conf = conf;
        r->snap_conf = conf;
        raft_conf_recompute(r);
    }
    resp.index = m->index;
    return raft_send(r, &resp);
}

/* RequestVote and pre-vote (Dissertation 3.4, 3.6.1, 9.6). */
static int raft_handle_vote(raft *r, const raft_msg *m)
{
    int pre = m->type == RAFT_MSG_PREVOTE;
    int can_vote = r->vote == m->from || (r->vote == RAFT_NONE && r->lead == RAFT_NONE) ||
                   (pre && m->term > r->term);
    uint32_t type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
    if (can_vote && raft_log_is_up_to_date(&r->log, m->index, m->log_term)) {
        /* A granted pre-vote answers in the term asked about, so that the
         * pre-candidate counts it without our term changing. */
        int rc = raft_reply(r, m, type, m->term, 0);
        if (rc == 0 && !pre) {
            r->election_elapsed = 0;
            r->vote = m->from;
        }
        return rc;
    }
    return raft_reply(r, m, type, r->term, 1);
}

/* ------------------------------------------------------- leader handlers */

/* The target campaigns past every lease (its votes carry
 * RAFT_VOTE_TRANSFER), so from here this leader's lease means nothing for
 * the rest of its term. */
static int raft_send_timeout_now(raft *r, uint64_t to)
{
    raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW, .from = r->id, .to = to, .term = r->term};
    r->lease_broken = 1;
    return raft_send(r, &m);
}

static int raft_progress_maybe_decr(raft_progress *pr, uint64_t rejected, uint64_t hint)
{
    if (pr->state == RAFT_PROGRESS_REPLICATE) {
        if (rejected <= pr->match)
            return 0; /* stale */
        pr->next = pr->match + 1;
        return 1;
    }
    if (pr->next - 1 != rejected)
        return 0; /* stale: not the probe we are waiting for */
    uint64_t next = rejected < hint + 1 ? rejected : hint + 1;
    pr->next = next > pr->match + 1 ? next : pr->match + 1;
    pr->probe_sent = 0;
    return 1;
}

static int raft_handle_append_resp(raft *r, raft_progress *pr, const raft_msg *m)
{
    pr->recent_active = 1;
    int sent;
    if (m->reject && pr->state == RAFT_PROGRESS_SNAPSHOT)
        return 0; /* an answer to an append sent before the snapshot */
    if (m->reject) {
        /* Fast backtracking (Dissertation 5.3): skip every entry of a term
         * the follower's hint shows cannot match. */
        uint64_t hint = m->reject_hint;
        if (m->log_term > 0)
            hint = raft_log_find_conflict_by_term(&r->log, hint, m->log_term);
        if (!raft_progress_maybe_decr(pr, m->index, hint))
            return 0;
        pr->state = RAFT_PROGRESS_PROBE;
        pr->probe_sent = 0;
        raft_inflight_reset(pr);
        return raft_send_append(r, pr, 1, &sent);
    }
    if (m->index > raft_log_last_index(&r->log))
        return TARN_ECORRUPT; /* acknowledges entries we never had */
    if (m->index <= pr->match)
        return 0; /* duplicate or stale */
    pr->match = m->index;
    pr->probe_sent = 0;
    if (pr->next <= m->index)
        pr->next = m->index + 1;
    if (pr->state == RAFT_PROGRESS_SNAPSHOT && pr->match < pr->pending_snapshot) {
        /* Acks an older append: the snapshot is still on its way. */
        if (raft_maybe_commit(r))
            return raft_after_commit(r);
        return 0;
    }
    if (pr->state != RAFT_PROGRESS_REPLICATE) {
        pr->state = RAFT_PROGRESS_REPLICATE;
        pr->next = pr->match + 1;
        raft_inflight_reset(pr);
    } else {
        raft_inflight_free_to(r, pr, m->index);
    }
    if (raft_maybe_commit(r)) {
        int rc = raft_after_commit(r);
        if (rc != 0)
            return rc;
    }
    if (pr->id == r->transferee && pr->match == raft_log_last_index(&r->log))
        return raft_send_timeout_now(r, pr->id);
    return raft_send_append_all(r, pr);
}

static int raft_handle_heartbeat_resp(raft *r, raft_progress *pr, const raft_msg *m)
{
    pr->recent_active = 1;
    if (m->index > pr->lease_ack && m->index <= r->ticks)
        pr->lease_ack = m->index;
    if (m->context > 0)
        raft_read_on_heartbeat_resp(r, (size_t)(pr - r->peers), m->context);
    if (pr->state == RAFT_PROGRESS_SNAPSHOT)
        return 0; /* the host reports the snapshot's fate */
    pr->probe_sent = 0;
    /* A lost append would otherwise stall a full pipeline forever: free one
     * slot so that one more append goes out (and is rejected if needed). */
    if (pr->state == RAFT_PROGRESS_REPLICATE && pr->inflight_count >= r->cfg.max_inflight)
        raft_inflight_free_to(r, pr, pr->inflight[pr->inflight_start]);
    if (pr->match >= raft_log_last_index(&r->log))
        return 0;
    int sent;
    return raft_send_append(r, pr, 1, &sent);
}

/* ------------------------------------------------------------------- step */

/* Messages come from the network: check everything the handlers rely on. */
static int raft_msg_validate(const raft *r, const raft_msg *m)
{
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TYPE_MAX)
        return TARN_EINVAL;
    /* Any sender: a node that is joining does not know its leader's
     * configuration yet, and a removed one may still talk (4.2.3). */
    if (m->to != r->id || m->from == r->id || m->from == RAFT_NONE || m->term == 0)
        return TARN_EINVAL;
    if (m->type == RAFT_MSG_SNAPSHOT) {
        /* The configuration at the snapshot's index rides along. */
        if (m->n_entries != 1 || m->entries == NULL || m->entries[0].type != RAFT_ENTRY_CONF ||
            raft_conf_decode(m->entries[0].data, m->entries[0].len, NULL, NULL) != 0)
            return TARN_EINVAL;
    } else if (m->type != RAFT_MSG_APPEND && m->n_entries != 0) {
        return TARN_EINVAL;
    }
    if (m->n_entries > RAFT_MAX_ENTRIES_PER_MSG || (m->n_entries > 0 && m->entries == NULL))
        return TARN_EINVAL;
    if (m->type == RAFT_MSG_APPEND && m->log_term > m->term)
        return TARN_EINVAL;
    if (m->type == RAFT_MSG_SNAPSHOT &&
        (m->index == 0 || m->log_term == 0 || m->log_term > m->term))
        return TARN_EINVAL;
    if (m->type != RAFT_MSG_APPEND)
        return 0;
    uint64_t prev_term = m->log_term;
    for (size_t k = 0; k < m->n_entries; k++) {
        const raft_entry *e = &m->entries[k];
        if (e->index != m->index + 1 + k || e->term < prev_term || e->term > m->term)
            return TARN_EINVAL;
        if (e->type > RAFT_ENTRY_CONF || e->len > r->cfg.max_entry_bytes)
            return TARN_EINVAL;
        if (e->len > 0 && e->data == NULL)
            return TARN_EINVAL;
        if (e->type == RAFT_ENTRY_CONF && raft_conf_decode(e->data, e->len, NULL, NULL) != 0)
            return TARN_EINVAL;
        prev_term = e->term;
    }
    return 0;
}

/* Dissertation 4.2.3 / 6.2: a node that heard from a leader within the
 * minimum election timeout ignores vote requests from higher terms, so a
 * partitioned node cannot depose a healthy leader. */
static int raft_in_lease(const raft *r)
{
    if (r->vote_hold > 0)
        return 1; /* leases: a restarted node may have heard a leader (6.4.1) */
    return r->cfg.check_quorum && r->lead != RAFT_NONE &&
           r->election_elapsed < r->cfg.election_ticks;
}

/*
 * May this node campaign? A voter may. So may a node whose log holds a
 * change removing it that it does not know to be committed, when it was a
 * voter before that change: its log may be the only one a majority of the
 * old configuration can elect, and as leader it finishes the change
 * without counting itself (4.2.2), then steps down. Without this a leader
 * that appended its own removal and lost leadership before committing it
 * can leave the cluster without any electable node while a majority of
 * both configurations is up (the simulator found this: raft_sim
 * --lease-unsafe --seed 30). Votes are counted in the configuration in
 * force, so election safety is the usual single-server argument (4.1).
 */
static int raft_promotable(const raft *r)
{
    if (r->self_voter)
        return 1;
    if (r->conf_index <= r->commit || r->conf_index <= r->log.offset + 1)
        return 0;
    raft_conf_state before;
    raft_conf_at(r, r->conf_index - 1, &before);
    return raft_conf_is_voter(&before, r->id);
}

/* Dissertation 4.2.2: a leader that is not part of the configuration in
 * force steps down once that configuration is committed. It is not a
 * voter, so it never campaigns again. */
void raft_maybe_step_down_removed(raft *r)
{
    if (r->state == RAFT_LEADER && !r->self_voter && r->commit >= r->conf_index)
        raft_become_follower(r, r->term, RAFT_NONE);
}

/* Term rules for every message (Dissertation 3.3 "Figure 3.1 rules for all
 * servers"). Returns 1 when the message is handled (dropped) here. */
static int raft_step_term(raft *r, const raft_msg *m, int *rc)
{
    *rc = 0;
    int vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;
    if (m->term > r->term) {
        int transfer = m->type == RAFT_MSG_VOTE && m->context == RAFT_VOTE_TRANSFER;
        if (vote_req && !transfer && raft_in_lease(r))
            return 1;
        if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject))
            return 0; /* pre-votes never change our term */
        int from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
                          m->type == RAFT_MSG_SNAPSHOT;
        raft_become_follower(r, m->term, from_leader ? m->from : RAFT_NONE);
        return 0;
    }
    if (m->term == r->term)
        return 0;
    /* A lower term. A stale leader (or one cut off by pre-vote, which never
     * raises its term) must learn the current term to step down. */
    if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT || m->type == RAFT_MSG_SNAPSHOT)
        *rc = raft_reply(r, m, RAFT_MSG_APPEND_RESP, r->term, 0);
    else if (m->type == RAFT_MSG_PREVOTE)
        *rc = raft_reply(r, m, RAFT_MSG_PREVOTE_RESP, r->term, 1);
    return 1;
}

static int raft_step_follower(raft *r, const raft_msg *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        if (r->state != RAFT_FOLLOWER)
            raft_become_follower(r, r->term, m->from); /* lost this election */
        r->election_elapsed = 0;
        r->lead = m->from;
        if (m->type == RAFT_MSG_APPEND)
            return raft_handle_append(r, m);
        if (m->type == RAFT_MSG_SNAPSHOT)
            return raft_handle_snapshot(r, m);
        return raft_handle_heartbeat(r, m);
    case RAFT_MSG_TIMEOUT_NOW:
        /* Our leader hands over (3.10): campaign now, no pre-vote. */
        if (r->state != RAFT_FOLLOWER || !raft_promotable(r))
            return 0;
        return raft_campaign(r, RAFT_CAMPAIGN_TRANSFER);
    case RAFT_MSG_VOTE_RESP:
        if (r->state == RAFT_CANDIDATE)
            return raft_tally(r, m->from, !m->reject);
        return 0;
    case RAFT_MSG_PREVOTE_RESP:
        if (r->state == RAFT_PRECANDIDATE)
            return raft_tally(r, m->from, !m->reject);
        return 0;
    default:
        return 0; /* responses to a leadership we no longer hold */
    }
}

static int raft_step_leader(raft *r, const raft_msg *m)
{
    raft_progress *pr = raft_peer(r, m->from);
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        return TARN_ECORRUPT; /* two leaders in one term */
    case RAFT_MSG_APPEND_RESP:
        return pr ? raft_handle_append_resp(r, pr, m) : 0; /* from a removed member */
    case RAFT_MSG_HEARTBEAT_RESP:
        return pr ? raft_handle_heartbeat_resp(r, pr, m) : 0;
    default:
        return 0; /* late votes */
    }
}

int raft_step(raft *r, const raft_msg *m)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    int rc = raft_msg_validate(r, m);
    if (rc != 0)
        return rc;
    if (raft_step_term(r, m, &rc))
        return raft_fail(r, rc);
    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE)
        rc = raft_handle_vote(r, m);
    else if (r->state == RAFT_LEADER)
        rc = raft_step_leader(r, m);
    else
        rc = raft_step_follower(r, m);
    raft_maybe_step_down_removed(r);
    return raft_fail(r, rc);
}

/* ------------------------------------------------------------ tick, propose */

/* A snapshot send the host never reported counts as failed after
 * snapshot_timeout_ticks (raft.h). */
static void raft_tick_snapshots(raft *r)
{
    uint32_t limit =
        r->cfg.snapshot_timeout_ticks ? r->cfg.snapshot_timeout_ticks : 4 * r->cfg.election_ticks;
    for (size_t i = 0; i < r->n_peers; i++) {
        raft_progress *pr = &r->peers[i];
        if (pr->state == RAFT_PROGRESS_SNAPSHOT && ++pr->snapshot_elapsed >= limit) {
            pr->state = RAFT_PROGRESS_PROBE;
            pr->pending_snapshot = 0;
            pr->probe_sent = 0;
        }
    }
}

static int raft_tick_leader(raft *r)
{
    raft_tick_snapshots(r);
    r->heartbeat_elapsed++;
    r->election_elapsed++;
    if (r->transferee != RAFT_NONE && ++r->transfer_elapsed >= r->cfg.election_ticks) {
        r->transferee = RAFT_NONE; /* the target did not take over: give up */
        r->transfer_elapsed = 0;
    }
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (r->cfg.check_quorum) {
            /* Dissertation 6.2: a leader that has not heard from a quorum
             * within an election timeout steps down. */
            size_t active = 0;
            for (size_t i = 0; i < r->n_peers; i++) {
                active += r->peers[i].recent_active != 0 && !r->peers[i].learner;
                r->peers[i].recent_active = r->peers[i].id == r->id;
            }
            if (active < raft_quorum(r)) {
                raft_become_follower(r, r->term, RAFT_NONE);
                return 0;
            }
        }
    }
    if (r->heartbeat_elapsed < r->cfg.heartbeat_ticks)
        return 0;
    r->heartbeat_elapsed = 0;
    return raft_bcast_heartbeat(r);
}

int raft_tick(raft *r)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    r->ticks++;
    if (r->vote_hold > 0)
        r->vote_hold--;
    if (r->state == RAFT_LEADER)
        return raft_fail(r, raft_tick_leader(r));
    if (r->election_elapsed < UINT32_MAX)
        r->election_elapsed++;
    if (r->election_elapsed < r->randomized_timeout)
        return 0;
    if (!raft_promotable(r))
        return 0; /* learners and removed nodes never campaign (4.2.1) */
    r->election_elapsed = 0;
    return raft_fail(
        r, raft_campaign(r, r->cfg.pre_vote ? RAFT_CAMPAIGN_PRE : RAFT_CAMPAIGN_ELECTION));
}

/* Appends one proposed entry to the leader's log without sending it. */
static int raft_append_proposal(raft *r, const void *data, uint32_t len, uint64_t *index_out,
                                uint64_t *term_out)
{
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (len > r->cfg.max_entry_bytes)
        return TARN_ETOOBIG;
    if (r->transferee != RAFT_NONE)
        return TARN_EBUSY; /* 3.10: no new entries while handing over */
    uint64_t last = raft_log_last_index(&r->log);
    if (last - r->commit >= r->cfg.max_uncommitted)
        return TARN_EBUSY;
    raft_entry e = {.term = r->term, .index = last + 1, .type = RAFT_ENTRY_NORMAL, .len = len};
    e.data = (uint8_t *)(uintptr_t)data;
    int rc = raft_log_append_copy(&r->log, &e);
    if (rc != 0)
        return rc;
    if (index_out)
        *index_out = e.index;
    if (term_out)
        *term_out = e.term;
    return 0;
}

/* Sends every follower what it lacks (after new entries were appended). */
static int raft_send_new_entries(raft *r)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i].id != r->id) {
            int rc = raft_send_append_all(r, &r->peers[i]);
            if (rc != 0)
                return raft_fail(r, rc);
        }
    }
    return 0;
}

int raft_propose(raft *r, const void *data, uint32_t len, uint64_t *index_out, uint64_t *term_out)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    int rc = raft_append_proposal(r, data, len, index_out, term_out);
    return rc != 0 ? rc : raft_send_new_entries(r);
}

int raft_propose_batch(raft *r, raft_proposal *p, size_t n)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        p[i].rc = raft_append_proposal(r, p[i].data, p[i].len, &p[i].index, &p[i].term);
        accepted += p[i].rc == 0;
    }
    return accepted ? raft_send_new_entries(r) : 0;
}

int raft_compact(raft *r, uint64_t index)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    if (index <= r->log.offset)
        return 0;
    if (index > r->applied || index > r->log.stable)
        return TARN_EINVAL;
    raft_conf_state conf;
    raft_conf_at(r, index, &conf); /* the snapshot's configuration, sent with it */
    r->snap_conf = conf;
    raft_log_compact(&r->log, index);
    if (r->conf_index <= index)
        r->conf_index = 0; /* compacted away; conf (== snap_conf) stays in force */
    return 0;
}

/* Checks a change against the configuration in force and builds the next. */
static int raft_conf_change_next(const raft *r, const raft_conf_change *cc, raft_conf_state *next)
{
    const raft_conf_state *c = &r->conf;
    int member = raft_conf_is_member(c, cc->node), voter = raft_conf_is_voter(c, cc->node);
    *next = *c;
    if (cc->node == RAFT_NONE)
        return TARN_EINVAL;
    switch (cc->type) {
    case RAFT_CONF_ADD_LEARNER:
        if (member)
            return TARN_EINVAL;
        if (c->n_learners == RAFT_MAX_LEARNERS)
            return TARN_ERANGE;
        next->learners[next->n_learners++] = cc->node;
        return 0;
    case RAFT_CONF_PROMOTE:
        if (!member || voter)
            return TARN_EINVAL;
        if (c->n_voters == RAFT_MAX_VOTERS)
            return TARN_ERANGE;
        next->voters[next->n_voters++] = cc->node;
        break;
    case RAFT_CONF_REMOVE:
        if (!member || (voter && c->n_voters == 1))
            return TARN_EINVAL;
        if (voter) {
            next->n_voters = 0;
            for (uint32_t i = 0; i < c->n_voters; i++)
                if (c->voters[i] != cc->node)
                    next->voters[next->n_voters++] = c->voters[i];
            return 0;
        }
        break;
    default:
        return TARN_EINVAL;
    }
    /* Promote and remove-a-learner: drop the node from the learners. */
    next->n_learners = 0;
    for (uint32_t i = 0; i < c->n_learners; i++)
        if (c->learners[i] != cc->node)
            next->learners[next->n_learners++] = c->learners[i];
    return 0;
}

int raft_propose_conf_change(raft *r, const raft_conf_change *cc, uint64_t *index_out,
                             uint64_t *term_out)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    raft_conf_state next;
    int rc = raft_conf_change_next(r, cc, &next);
    if (rc != 0)
        return rc;
    /* One change at a time (4.1), and only once this leader committed an
     * entry of its term: otherwise a change an earlier leader appended but
     * never committed could combine with ours into two disjoint majorities
     * (Ongaro, raft-dev, "bug in single-server membership changes", 2015). */
    if (r->conf_index > r->commit || raft_log_term_at(&r->log, r->commit) != r->term)
        return TARN_EBUSY;
    if (r->transferee != RAFT_NONE)
        return TARN_EBUSY;
    uint8_t buf[RAFT_CONF_ENCODED_BYTES_MAX];
    uint64_t last = raft_log_last_index(&r->log);
    raft_entry e = {.term = r->term, .index = last + 1, .type = RAFT_ENTRY_CONF, .data = buf};
    e.len = (uint32_t)raft_conf_encode(&next, cc, buf);
    rc = raft_log_append_copy(&r->log, &e);
    if (rc != 0)
        return rc;
    r->conf_index = e.index;
    raft_conf_apply(r, &next); /* in force from the moment it is in our log (4.1) */
    if (index_out)
        *index_out = e.index;
    if (term_out)
        *term_out = e.term;
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i].id != r->id) {
            rc = raft_send_append_all(r, &r->peers[i]);
            if (rc != 0)
                return raft_fail(r, rc);
        }
    }
    return 0;
}

int raft_report_snapshot(raft *r, uint64_t peer, int ok)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    if (r->state != RAFT_LEADER)
        return 0;
    raft_progress *pr = raft_peer(r, peer);
    if (pr == NULL)
        return raft_conf_is_member(&r->conf, peer) ? 0 : TARN_EINVAL;
    if (pr->state != RAFT_PROGRESS_SNAPSHOT)
        return 0;
    /* Success: wait for the follower's ack, probing from just after the
     * snapshot (a heartbeat answer resends if that ack was lost). Failure:
     * probe again from where we were; the next probe sends the snapshot
     * again if the follower still needs it. */
    pr->state = RAFT_PROGRESS_PROBE;
    if (ok)
        pr->next = pr->pending_snapshot + 1;
    pr->pending_snapshot = 0;
    pr->probe_sent = ok;
    raft_inflight_reset(pr);
    return 0;
}

int raft_transfer_leader(raft *r, uint64_t to)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    raft_progress *pr = raft_peer(r, to);
    if (pr == NULL || to == r->id || pr->learner)
        return TARN_EINVAL;
    if (r->transferee == to)
        return 0;
    r->transferee = to;
    r->transfer_elapsed = 0;
    int rc;
    if (pr->match == raft_log_last_index(&r->log)) {
        rc = raft_send_timeout_now(r, to);
    } else {
        int sent;
        rc = raft_send_append(r, pr, 0, &sent);
    }
    return raft_fail(r, rc);
}

/* ------------------------------------------------------------ open, close */

static int raft_config_check(const raft_config *cfg, tarn_err *err)
{
    if (cfg->id == RAFT_NONE)
        return tarn_err_set(err, TARN_EINVAL, "raft config: id 0 is reserved");
    if (cfg->n_voters == 0 || cfg->n_voters > RAFT_MAX_VOTERS || cfg->voters == NULL)
        return tarn_err_set(err, TARN_EINVAL, "raft config: %zu voters (1..%d)", cfg->n_voters,
                            RAFT_MAX_VOTERS);
    if (cfg->election_ticks < 2 || cfg->heartbeat_ticks == 0 ||
        cfg->heartbeat_ticks >= cfg->election_ticks)
        return tarn_err_set(err, TARN_EINVAL, "raft config: need 0 < heartbeat < election ticks");
    if (cfg->max_inflight == 0 || cfg->max_msg_bytes == 0 || cfg->max_uncommitted == 0)
        return tarn_err_set(err, TARN_EINVAL, "raft config: zero limit");
    if (cfg->lease_reads && !cfg->check_quorum)
        return tarn_err_set(err, TARN_EINVAL, "raft config: lease reads need check_quorum");
    if (cfg->lease_reads && cfg->lease_margin_ticks + 1 >= cfg->election_ticks)
        return tarn_err_set(err, TARN_EINVAL, "raft config: lease margin %u >= election ticks - 1",
                            cfg->lease_margin_ticks);
    /* The id need not be among the bootstrap voters: a joining node. */
    for (size_t i = 0; i < cfg->n_voters; i++) {
        if (cfg->voters[i] == RAFT_NONE)
            return tarn_err_set(err, TARN_EINVAL, "raft config: voter id 0");
        for (size_t j = 0; j < i; j++)
            if (cfg->voters[j] == cfg->voters[i])
                return tarn_err_set(err, TARN_EINVAL, "raft config: duplicate voter");
    }
    return 0;
}

/* Copies the durable log into memory, checking what Raft relies on. */
static int raft_load_log(raft *r, const raft_log_view *view, tarn_err *err)
{
    if (view == NULL)
        return 0;
    if ((view->snapshot_index == 0) != (view->snapshot_term == 0))
        return tarn_err_set(err, TARN_ECORRUPT, "raft open: snapshot index/term mismatch");
    r->log.offset = view->snapshot_index;
    r->log.offset_term = view->snapshot_term;
    r->log.stable = view->snapshot_index;
    if (view->snapshot_conf != NULL) {
        uint8_t buf[RAFT_CONF_ENCODED_BYTES_MAX];
        const raft_conf_state *c = view->snapshot_conf;
        if (c->n_voters == 0 || c->n_voters > RAFT_MAX_VOTERS || c->n_learners > RAFT_MAX_LEARNERS)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: snapshot configuration");
        size_t len = raft_conf_encode(c, NULL, buf); /* the decoder checks the ids */
        if (raft_conf_decode(buf, (uint32_t)len, NULL, &r->snap_conf) != 0)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: snapshot configuration");
    }
    if (view->last_index < view->first_index)
        return 0;
    if (view->first_index != view->snapshot_index + 1)
        return tarn_err_set(err, TARN_ECORRUPT, "raft open: log starts at %llu, snapshot at %llu",
                            (unsigned long long)view->first_index,
                            (unsigned long long)view->snapshot_index);
    for (uint64_t i = view->first_index; i <= view->last_index; i++) {
        raft_entry e;
        int rc = view->entry(view->ctx, i, &e);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "raft open: read entry %llu", (unsigned long long)i);
        if (e.index != i || e.term == 0 || e.term < raft_last_term(r) || e.type > RAFT_ENTRY_CONF)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: entry %llu out of order",
                                (unsigned long long)i);
        if (e.type == RAFT_ENTRY_CONF && raft_conf_decode(e.data, e.len, NULL, NULL) != 0)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: entry %llu: bad configuration",
                                (unsigned long long)i);
        if (e.len > 0 && e.data == NULL)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: entry %llu has no data",
                                (unsigned long long)i);
        rc = raft_log_append_copy(&r->log, &e);
        if (rc != 0)
            return tarn_err_set(err, rc, "raft open: copy entry %llu", (unsigned long long)i);
    }
    r->log.stable = raft_log_last_index(&r->log);
    return 0;
}

static int raft_load_state(raft *r, const raft_hard_state *hs, tarn_err *err)
{
    uint64_t last = raft_log_last_index(&r->log);
    if (hs != NULL) {
        if (hs->commit > last)
            return tarn_err_set(err, TARN_ECORRUPT, "raft open: commit %llu beyond log end %llu",
                                (unsigned long long)hs->commit, (unsigned long long)last);
        r->term = hs->term;
        r->vote = hs->vote;
        r->commit = hs->commit;
        r->prev_hs = *hs;
    }
    /* A crash after a Ready's entries but before its hard state leaves log
     * entries of a term the hard state never reached. We were in that term,
     * so take it, with no vote: any vote of ours in it was in that lost
     * hard state, and so was never sent (Ready contract). Found by the
     * simulator (seed 51, 3 nodes, before the fix). */
    if (raft_last_term(r) > r->term) {
        r->term = raft_last_term(r);
        r->vote = RAFT_NONE;
    }
    if (r->cfg.applied > last)
        return tarn_err_set(err, TARN_ECORRUPT, "raft open: applied %llu beyond log end %llu",
                            (unsigned long long)r->cfg.applied, (unsigned long long)last);
    r->applied = r->cfg.applied;
    if (r->applied < r->log.offset)
        r->applied = r->log.offset; /* the snapshot is the applied state */
    if (r->commit < r->applied)
        r->commit = r->applied; /* applied entries were committed */
    return 0;
}

int raft_open(const raft_config *cfg, const raft_hard_state *hs, const raft_log_view *log,
              raft **out, tarn_err *err)
{
    *out = NULL;
    int rc = raft_config_check(cfg, err);
    if (rc != 0)
        return rc;
    raft *r = tarn_calloc(1, sizeof(*r));
    if (r == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "raft open: handle");
    r->cfg = *cfg;
    r->cfg.voters = NULL;
    r->id = cfg->id;
    r->ticks = 1; /* lease stamps are nonzero */
    tarn_rng_seed(&r->rng, cfg->rng_seed);
    r->rings = tarn_calloc((size_t)RAFT_MAX_PEERS * cfg->max_inflight, sizeof(uint64_t));
    if (r->rings == NULL) {
        rc = tarn_err_set(err, TARN_ENOMEM, "raft open: progress");
        goto fail;
    }
    r->snap_conf.n_voters = (uint32_t)cfg->n_voters;
    memcpy(r->snap_conf.voters, cfg->voters, cfg->n_voters * sizeof(uint64_t));
    rc = raft_load_log(r, log, err);
    if (rc == 0)
        rc = raft_load_state(r, hs, err);
    if (rc != 0)
        goto fail;
    raft_conf_recompute(r);
    /* Leases: we may have heard from a leader just before a restart, and a
     * lease counts on us refusing votes for an election timeout. */
    r->vote_hold = cfg->lease_reads ? cfg->election_ticks : 0;
    raft_become_follower(r, r->term, RAFT_NONE);
    *out = r;
    return 0;
fail:
    raft_close(r);
    return rc;
}

void raft_close(raft *r)
{
    if (r == NULL)
        return;
    raft_msg_queue_free(r, &r->out_now);
    raft_msg_queue_free(r, &r->out_after);
    raft_log_free(&r->log);
    tarn_free(r->rings);
    tarn_free(r);
}

/* ------------------------------------------------------------- accessors */

void raft_get_status(const raft *r, raft_status *st)
{
    memset(st, 0, sizeof(*st));
    st->id = r->id;
    st->state = r->state;
    st->term = r->term;
    st->vote = r->vote;
    st->lead = r->lead;
    st->commit = r->commit;
    st->applied = r->applied;
    st->last_index = raft_log_last_index(&r->log);
    st->stable_index = r->log.stable;
    st->mem_bytes = r->log.bytes + r->msg_bytes;
    st->failed = r->failed;
    st->snapshot_index = r->log.offset;
    st->transferee = r->transferee;
    st->is_voter = r->self_voter;
    st->has_lease = r->state == RAFT_LEADER && raft_lease_valid(r);
}

void raft_get_conf(const raft *r, raft_conf_state *out)
{
    *out = r->conf;
}

int raft_log_entry(const raft *r, uint64_t index, const raft_entry **out)
{
    *out = raft_log_at(&r->log, index);
    return *out ? 0 : TARN_ENOENT;
}

const char *raft_state_name(uint32_t state)
{
    static const char *const names[] = {"follower", "precandidate", "candidate", "leader"};
    return state < TARN_ARRAY_LEN(names) ? names[state] : "unknown";
}

const char *raft_msg_type_name(uint32_t type)
{
    static const char *const names[] = {
        "?",       "append",       "append_resp", "vote",           "vote_resp",
        "prevote", "prevote_resp", "heartbeat",   "heartbeat_resp", "timeout_now",
        "snapshot"};
    return type < TARN_ARRAY_LEN(names) ? names[type] : "unknown";
}
