/*
 * delta/replay.c: building a snapshot by replaying the log (PROTOCOL.md
 * "Action Reconciliation"): a checkpoint when one can be used, then the
 * JSON commits after it in version order. The newest protocol and metaData
 * win; file actions are reconciled by their (path, deletion vector id)
 * key, the newest reference of each key winning; the live adds are
 * returned ordered by path, and so are the tombstones (keys whose newest
 * action is a remove). Design note: delta/README.md, "Replay".
 */
#include "delta/log_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_entry {
    delta_file_action a;
    uint64_t seq; /* order of application: later wins */
    bool is_add;
    bool tombstone; /* the newest action of its key, a remove */
};

int delta_commit_read(delta_table *t, int64_t version, delta_commit **out, tarn_err *err)
{
    char key[OBJSTORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "%s_delta_log/%020lld.json", delta_table_root(t),
             (long long)version);
    tarn_buf b;
    tarn_buf_init(&b, DELTA_COMMIT_BYTES_MAX);
    int rc = objstore_get(delta_table_store(t), key, DELTA_COMMIT_BYTES_MAX, &b, err);
    if (rc == 0)
        rc = delta_commit_parse((const char *)b.data, b.len, key, version, out, err);
    else
        tarn_err_wrap(err, rc, "reading version %lld", (long long)version);
    tarn_buf_free(&b);
    return rc;
}

/* Moves the file actions of `arr` into the replay (they are zeroed). */
static int take_files(delta_replay *r, delta_file_action *arr, size_t n, bool is_add)
{
    for (size_t i = 0; i < n; i++) {
        if (r->nentries >= DELTA_FILES_MAX * 4)
            return TARN_ETOOBIG;
        if (delta_grow(&r->entries, &r->e_cap, r->nentries, sizeof(struct replay_entry)) != 0)
            return TARN_ENOMEM;
        r->entries[r->nentries++] = (struct replay_entry){arr[i], r->seq++, is_add, false};
        memset(&arr[i], 0, sizeof(arr[i]));
    }
    return 0;
}

static int take_txns(delta_replay *r, delta_commit *c)
{
    for (size_t i = 0; i < c->ntxns; i++) {
        delta_txn *x = &c->txns[i];
        size_t j = 0;
        while (j < r->ntxns && strcmp(r->txns[j].app_id, x->app_id) != 0)
            j++;
        if (j == r->ntxns) {
            if (r->ntxns >= DELTA_FILES_MAX ||
                delta_grow(&r->txns, &r->t_cap, r->ntxns, sizeof(delta_txn)) != 0)
                return TARN_ENOMEM;
            r->ntxns++;
        } else {
            tarn_free(r->txns[j].app_id);
        }
        r->txns[j] = *x;
        x->app_id = NULL;
    }
    return 0;
}

/* Applies one commit: its protocol and metaData replace the current ones;
 * removes get earlier sequence numbers than adds of the same commit, so a
 * file removed and re-added in one commit stays live. */
int delta_replay_commit(delta_replay *r, delta_commit *c, tarn_err *err)
{
    if (c->protocol != NULL) {
        delta_protocol_free(r->protocol);
        tarn_free(r->protocol);
        r->protocol = c->protocol;
        c->protocol = NULL;
    }
    if (c->metadata != NULL) {
        delta_metadata_free(r->metadata);
        tarn_free(r->metadata);
        r->metadata = c->metadata;
        c->metadata = NULL;
    }
    int rc = take_files(r, c->removes, c->nremoves, false);
    if (rc == 0)
        rc = take_files(r, c->adds, c->nadds, true);
    if (rc == 0)
        rc = take_txns(r, c);
    if (rc != 0)
        return tarn_err_set(err, rc, "replaying version %lld", (long long)c->version);
    return 0;
}

void delta_replay_free(delta_replay *r)
{
    delta_protocol_free(r->protocol);
    tarn_free(r->protocol);
    delta_metadata_free(r->metadata);
    tarn_free(r->metadata);
    for (size_t i = 0; i < r->nentries; i++)
        delta_file_action_free(&r->entries[i].a);
    tarn_free(r->entries);
    for (size_t i = 0; i < r->ntxns; i++)
        tarn_free(r->txns[i].app_id);
    tarn_free(r->txns);
    memset(r, 0, sizeof(*r));
}

static int cmp_opt_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_entry(const void *pa, const void *pb)
{
    const struct replay_entry *a = pa, *b = pb;
    int c = strcmp(a->a.path, b->a.path);
    if (c == 0)
        c = cmp_opt_str(a->a.dv_id, b->a.dv_id);
    if (c == 0)
        c = (a->seq > b->seq) - (a->seq < b->seq);
    return c;
}

static int cmp_txn(const void *pa, const void *pb)
{
    return strcmp(((const delta_txn *)pa)->app_id, ((const delta_txn *)pb)->app_id);
}

/* The partition values of a live add, aligned with the partition columns.
 * An empty string means null (PROTOCOL.md "Partition Value
 * Serialization"). */
static int align_partitions(const delta_metadata *m, delta_file_action *a, char ***out,
                            tarn_err *err)
{
    size_t n = m->n_partition_columns;
    char **pv = tarn_calloc(n + 1, sizeof(char *));
    if (pv == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "partition values");
    for (size_t i = 0; i < n; i++) {
        const char *v = NULL;
        if (!delta_map_get(&a->partition_values, m->partition_columns[i], &v)) {
            delta_strs_free(pv, n);
            return tarn_err_set(err, TARN_ECORRUPT,
                                "add \"%.200s\": no partition value for "
                                "column \"%.100s\"",
                                a->path, m->partition_columns[i]);
        }
        if (v != NULL && v[0] != '\0' && (pv[i] = tarn_strdup(v)) == NULL) {
            delta_strs_free(pv, n);
            return tarn_err_set(err, TARN_ENOMEM, "partition values");
        }
    }
    *out = pv;
    return 0;
}

/* Turns a live add into a snapshot file (moving its strings). */
static int make_file(const delta_metadata *m, delta_file_action *a, delta_file *f, tarn_err *err)
{
    if (a->dv_id != NULL)
        return tarn_err_set(err, TARN_ENOTSUP,
                            "reader feature deletionVectors: file "
                            "\"%.200s\" has a deletion vector, which we do not apply yet",
                            a->path);
    if (strstr(a->path, "://") != NULL || a->path[0] == '/')
        return tarn_err_set(err, TARN_ENOTSUP,
                            "add \"%.200s\": absolute paths (files outside "
                            "the table root) are not read",
                            a->path);
    int rc = align_partitions(m, a, &f->part_values, err);
    if (rc != 0)
        return rc;
    f->path = a->path;
    f->stats = a->stats;
    a->path = a->stats = NULL;
    f->size_bytes = a->size_bytes;
    f->modification_time_ms = a->modification_time_ms;
    f->data_change = a->data_change;
    return 0;
}

/* Sorts the file actions and keeps, for each key, the newest one when it
 * is an add: those are the live files, in path order. */
static int collect_live(delta_replay *r, delta_snapshot *s, tarn_err *err)
{
    if (r->nentries > 0)
        qsort(r->entries, r->nentries, sizeof(*r->entries), cmp_entry);
    size_t live = 0, dead = 0;
    for (size_t i = 0; i < r->nentries; i++) {
        struct replay_entry *e = &r->entries[i];
        bool last = i + 1 == r->nentries || strcmp(e->a.path, e[1].a.path) != 0 ||
                    cmp_opt_str(e->a.dv_id, e[1].a.dv_id) != 0;
        e->tombstone = !e->is_add && last;
        e->is_add = e->is_add && last;
        live += e->is_add;
        dead += e->tombstone;
    }
    if (live > DELTA_FILES_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "%zu live files (most %zu)", live, DELTA_FILES_MAX);
    s->files = tarn_calloc(live + 1, sizeof(delta_file));
    s->tombstones = tarn_calloc(dead + 1, sizeof(delta_file_action));
    if (s->files == NULL || s->tombstones == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "snapshot files");
    for (size_t i = 0; i < r->nentries; i++) {
        if (r->entries[i].tombstone) {
            /* Moved whole: a checkpoint writes it back as it was. */
            s->tombstones[s->ntombstones++] = r->entries[i].a;
            memset(&r->entries[i].a, 0, sizeof(r->entries[i].a));
        }
        if (!r->entries[i].is_add)
            continue;
        int rc = make_file(r->metadata, &r->entries[i].a, &s->files[s->nfiles], err);
        if (rc != 0)
            return rc;
        s->nfiles++;
    }
    return 0;
}

/* Moves the replay's result into a new snapshot at `version`. */
int delta_replay_finish(delta_replay *r, int64_t version, delta_snapshot *s, tarn_err *err)
{
    if (r->protocol == NULL || r->metadata == NULL)
        return tarn_err_set(err, TARN_ECORRUPT, "version %lld: the log has no %s action",
                            (long long)version, r->protocol == NULL ? "protocol" : "metaData");
    int rc = delta_protocol_check(r->protocol, &r->metadata->configuration, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "version %lld", (long long)version);
    s->version = version;
    s->protocol = *r->protocol;
    memset(r->protocol, 0, sizeof(*r->protocol));
    rc = collect_live(r, s, err);
    s->metadata = *r->metadata;
    memset(r->metadata, 0, sizeof(*r->metadata));
    if (rc != 0)
        return rc;
    if (r->ntxns > 0)
        qsort(r->txns, r->ntxns, sizeof(delta_txn), cmp_txn);
    s->txns = r->txns;
    s->ntxns = r->ntxns;
    r->txns = NULL;
    r->ntxns = r->t_cap = 0;
    return 0;
}

void delta_snapshot_free(delta_snapshot *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nfiles; i++) {
        tarn_free(s->files[i].path);
        tarn_free(s->files[i].dv_id);
        tarn_free(s->files[i].stats);
        delta_strs_free(s->files[i].part_values, s->metadata.n_partition_columns);
    }
    tarn_free(s->files);
    for (size_t i = 0; i < s->ntombstones; i++)
        delta_file_action_free(&s->tombstones[i]);
    tarn_free(s->tombstones);
    delta_protocol_free(&s->protocol);
    delta_metadata_free(&s->metadata);
    for (size_t i = 0; i < s->ntxns; i++)
        tarn_free(s->txns[i].app_id);
    tarn_free(s->txns);
    tarn_free(s);
}
