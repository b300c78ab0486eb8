/*
 * delta/snapshot.c: choosing what to replay for a version (checkpoint,
 * then contiguous JSON commits), time travel by version and by timestamp,
 * and the reader-feature check. Design note: delta/README.md, "Replay",
 * "Time travel" and "Protocol features".
 */
#include "delta/log_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

/* Reader features we implement (PROTOCOL.md "Valid Feature Names in Table
 * Features"). deletionVectors is accepted here and refused per file: a
 * table may list the feature without any file carrying a vector, and such
 * a table reads correctly. columnMapping is accepted only in mode none. */
static const char *const reader_features_ok[] = {"deletionVectors", "timestampNtz",
                                                 "vacuumProtocolCheck", "columnMapping"};

int delta_protocol_check(const delta_protocol *p, const delta_map *configuration, tarn_err *err)
{
    if (p->min_reader_version > 3)
        return tarn_err_set(err, TARN_ENOTSUP, "reader version %d (we read versions 1 to 3)",
                            p->min_reader_version);
    if (p->min_reader_version == 3 && p->reader_features == NULL)
        return tarn_err_set(err, TARN_ECORRUPT, "reader version 3 without readerFeatures");
    for (size_t i = 0; p->min_reader_version == 3 && i < p->n_reader_features; i++) {
        size_t k = 0, n = sizeof(reader_features_ok) / sizeof(reader_features_ok[0]);
        while (k < n && strcmp(p->reader_features[i], reader_features_ok[k]) != 0)
            k++;
        if (k == n)
            return tarn_err_set(err, TARN_ENOTSUP, "reader feature %.100s is not supported",
                                p->reader_features[i]);
    }
    /* Column mapping applies from reader version 2 (or the feature at 3):
     * physical names differ from the schema's, and reading by logical name
     * would return nulls instead of the data. */
    const char *mode = NULL;
    if (p->min_reader_version >= 2 &&
        delta_map_get(configuration, "delta.columnMapping.mode", &mode) && mode != NULL &&
        strcmp(mode, "none") != 0)
        return tarn_err_set(err, TARN_ENOTSUP,
                            "reader feature columnMapping (mode %.40s) is "
                            "not supported",
                            mode);
    return 0;
}

/* Index of `v` in the sorted versions, or -1. */
static ptrdiff_t find_version(const delta_listing *l, int64_t v)
{
    size_t lo = 0, hi = l->nversions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->versions[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nversions && l->versions[lo] == v ? (ptrdiff_t)lo : -1;
}

/* The newest complete checkpoint at or before `version`, or NULL. */
static const delta_cp *pick_checkpoint(const delta_listing *l, int64_t version)
{
    const delta_cp *best = NULL;
    for (size_t i = 0; i < l->ncheckpoints; i++) {
        const delta_cp *c = &l->checkpoints[i];
        if (c->version <= version && c->nseen == c->parts && (!best || c->version > best->version))
            best = c;
    }
    return best;
}

/* The newest checkpoint at or before `version` with parts missing, or
 * NULL (for the error that explains why a version cannot be built). */
static const delta_cp *incomplete_checkpoint(const delta_listing *l, int64_t version)
{
    const delta_cp *worst = NULL;
    for (size_t i = 0; i < l->ncheckpoints; i++) {
        const delta_cp *c = &l->checkpoints[i];
        if (c->version <= version && c->nseen < c->parts && (!worst || c->version > worst->version))
            worst = c;
    }
    return worst;
}

static int64_t latest_version(const delta_listing *l)
{
    int64_t v = l->nversions ? l->versions[l->nversions - 1] : -1;
    for (size_t i = 0; i < l->ncheckpoints; i++)
        if (l->checkpoints[i].nseen == l->checkpoints[i].parts && l->checkpoints[i].version > v)
            v = l->checkpoints[i].version;
    return v;
}

/* Checks that commits from..to all exist: a gap is corruption. */
static int check_contiguous(const delta_listing *l, int64_t from, int64_t to, tarn_err *err)
{
    ptrdiff_t i = from <= to ? find_version(l, from) : 0;
    if (from <= to && i < 0)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "the log has no version %lld (needed to reach "
                            "version %lld)",
                            (long long)from, (long long)to);
    for (int64_t v = from; v <= to; v++, i++)
        if ((size_t)i >= l->nversions || l->versions[i] != v)
            return tarn_err_set(err, TARN_ECORRUPT, "the log has a gap: version %lld is missing",
                                (long long)v);
    return 0;
}

/* The commit timestamp of a JSON commit: inCommitTimestamp when the commit
 * has one, else the file's modification time (PROTOCOL.md "In-Commit
 * Timestamps"). */
int delta_commit_time(delta_table *t, const delta_commit *c, int64_t *out, tarn_err *err)
{
    if (c->in_commit_timestamp_ms >= 0) {
        *out = c->in_commit_timestamp_ms;
        return 0;
    }
    char key[OBJSTORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "%s_delta_log/%020lld.json", delta_table_root(t),
             (long long)c->version);
    objstore_info info;
    int rc = objstore_head(delta_table_store(t), key, &info, err);
    *out = info.mtime_ms;
    return rc;
}

/* Replays commits from..to into r; the commit at `to` gives the snapshot
 * its timestamp. */
static int replay_range(delta_table *t, int64_t from, int64_t to, delta_replay *r, int64_t *ts_out,
                        tarn_err *err)
{
    for (int64_t v = from; v <= to; v++) {
        delta_commit *c = NULL;
        int rc = delta_commit_read(t, v, &c, err);
        if (rc == 0 && v == to)
            rc = delta_commit_time(t, c, ts_out, err);
        if (rc == 0)
            rc = delta_replay_commit(r, c, err);
        delta_commit_free(c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int checkpoint_time(delta_table *t, int64_t version, int64_t *out, tarn_err *err)
{
    delta_commit *c = NULL;
    int rc = delta_commit_read(t, version, &c, err);
    if (rc == 0)
        rc = delta_commit_time(t, c, out, err);
    delta_commit_free(c);
    return rc;
}

/* Starts the replay from the checkpoint `cp` when it can be read; else,
 * when every commit from 0 still exists, from version 0 (*from_out). */
static int start_replay(delta_table *t, const delta_listing *l, const delta_cp *cp, delta_replay *r,
                        int64_t *from_out, int64_t *cp_out, tarn_err *err)
{
    *from_out = 0;
    *cp_out = -1;
    if (cp == NULL)
        return 0;
    int rc = delta_checkpoint_load(t, cp, r, err);
    if (rc == 0) {
        *from_out = cp->version + 1;
        *cp_out = cp->version;
        return 0;
    }
    if (rc != TARN_ENOTSUP || check_contiguous(l, 0, cp->version, NULL) != 0)
        return rc;
    TARN_LOGF(TARN_LOG_WARN, "delta", "checkpoint not readable, replaying JSON from version 0",
              TARN_F_INT("checkpoint", cp->version), TARN_F_STR("reason", tarn_err_msg(err)));
    delta_replay_free(r);
    tarn_err_clear(err);
    return 0;
}

static int build(delta_table *t, const delta_listing *l, int64_t version, delta_snapshot **out,
                 tarn_err *err)
{
    int64_t latest = latest_version(l);
    if (version > latest || version < 0)
        return tarn_err_set(err, TARN_ENOENT, "version %lld does not exist (latest is %lld)",
                            (long long)version, (long long)latest);
    const delta_cp *cp = pick_checkpoint(l, version);
    int64_t first = cp ? cp->version + 1 : 0;
    if (cp == NULL && (l->nversions == 0 || l->versions[0] > version)) {
        const delta_cp *part = incomplete_checkpoint(l, version);
        if (part != NULL)
            return tarn_err_set(err, TARN_ECORRUPT,
                                "version %lld cannot be reconstructed: the checkpoint of version "
                                "%lld has %u of its %u parts (a part is missing) and no commit "
                                "from version 0 is left",
                                (long long)version, (long long)part->version, part->nseen,
                                part->parts);
        return tarn_err_set(err, TARN_ENOENT,
                            "version %lld cannot be reconstructed: no "
                            "checkpoint at or before it and no commit from version 0",
                            (long long)version);
    }
    int rc = check_contiguous(l, first, version, err);
    if (rc != 0)
        return rc;
    delta_replay r;
    memset(&r, 0, sizeof(r));
    delta_snapshot *s = tarn_calloc(1, sizeof(*s));
    int64_t from = 0;
    rc = s ? start_replay(t, l, cp, &r, &from, &s->checkpoint_version, err)
           : tarn_err_set(err, TARN_ENOMEM, "snapshot");
    if (s != NULL)
        s->timestamp_ms = -1;
    if (rc == 0)
        rc = replay_range(t, from, version, &r, &s->timestamp_ms, err);
    /* At the checkpoint's own version no commit was replayed; its JSON
     * file, while it exists, still gives the commit timestamp. */
    if (rc == 0 && from > version && find_version(l, version) >= 0)
        rc = checkpoint_time(t, version, &s->timestamp_ms, err);
    if (rc == 0)
        rc = delta_replay_finish(&r, version, s, err);
    delta_replay_free(&r);
    if (rc != 0) {
        delta_snapshot_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Lists the log, from the last checkpoint when `_last_checkpoint` names a
 * checkpoint that is really there (listing all of a long log is what the
 * file exists to avoid), else all of it. */
static int list_for_latest(delta_table *t, delta_listing *l, tarn_err *err)
{
    int64_t last = delta_last_checkpoint(t, NULL);
    if (last >= 0) {
        char name[32];
        snprintf(name, sizeof(name), "%020lld", (long long)last);
        int rc = delta_log_list(t, name, l, err);
        if (rc != 0)
            return rc;
        if (pick_checkpoint(l, INT64_MAX) != NULL && pick_checkpoint(l, INT64_MAX)->version == last)
            return 0;
        delta_listing_free(l);
    }
    return delta_log_list(t, NULL, l, err);
}

int delta_snapshot_latest(delta_table *t, delta_snapshot **out, tarn_err *err)
{
    *out = NULL;
    delta_listing l;
    int rc = list_for_latest(t, &l, err);
    if (rc != 0)
        return rc;
    rc = build(t, &l, latest_version(&l), out, err);
    if (rc == TARN_ENOTSUP || rc == TARN_ECORRUPT) {
        /* The short listing may have hidden commits a fallback needs. */
        delta_listing_free(&l);
        tarn_err_clear(err);
        rc = delta_log_list(t, NULL, &l, err);
        if (rc == 0)
            rc = build(t, &l, latest_version(&l), out, err);
    }
    delta_listing_free(&l);
    return rc;
}

int delta_snapshot_at_version(delta_table *t, int64_t version, delta_snapshot **out, tarn_err *err)
{
    *out = NULL;
    delta_listing l;
    int rc = delta_log_list(t, NULL, &l, err);
    if (rc == 0)
        rc = build(t, &l, version, out, err);
    delta_listing_free(&l);
    return rc;
}

/* The newest version whose commit timestamp is at or before `ts`. Commit
 * timestamps are made increasing first (a clock that went back gives
 * version v the timestamp of v-1 plus 1 ms), as Delta's own readers do, so
 * that "as of T" names one well-defined version. */
static int version_at(delta_table *t, const delta_listing *l, int64_t ts, int64_t *out,
                      tarn_err *err)
{
    int64_t prev = INT64_MIN, found = -1;
    for (size_t i = 0; i < l->nversions; i++) {
        delta_commit *c = NULL;
        int64_t ct = 0;
        int rc = delta_commit_read(t, l->versions[i], &c, err);
        if (rc == 0)
            rc = delta_commit_time(t, c, &ct, err);
        delta_commit_free(c);
        if (rc != 0)
            return rc;
        if (i > 0 && l->versions[i] == l->versions[i - 1] + 1 && ct <= prev)
            ct = prev + 1;
        prev = ct;
        if (ct <= ts)
            found = l->versions[i];
    }
    if (found < 0)
        return tarn_err_set(err, TARN_ENOENT, "timestamp %lld is before the first commit",
                            (long long)ts);
    *out = found;
    return 0;
}

int delta_snapshot_at_timestamp(delta_table *t, int64_t timestamp_ms, delta_snapshot **out,
                                tarn_err *err)
{
    *out = NULL;
    delta_listing l;
    int64_t v = -1;
    int rc = delta_log_list(t, NULL, &l, err);
    if (rc == 0)
        rc = version_at(t, &l, timestamp_ms, &v, err);
    if (rc == 0)
        rc = build(t, &l, v, out, err);
    delta_listing_free(&l);
    return rc;
}
