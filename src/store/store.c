/*
 * store/store.c: opening the LMDB environment, applying batches of
 * committed entries, read transactions. Design note: src/store/README.md.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int store_mdb_code(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return TARN_OK;
    case MDB_NOTFOUND:
        return TARN_ENOENT;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_BAD_VALSIZE:
        return TARN_ETOOBIG;
    case MDB_READERS_FULL:
        return TARN_EBUSY;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return TARN_ECORRUPT;
    case ENOMEM:
        return TARN_ENOMEM;
    default:
        return rc > 0 ? tarn_err_from_errno(rc) : TARN_EIO;
    }
}

int store_code_is_fatal(int code)
{
    return code != TARN_OK && code != TARN_ENOMEM && code != TARN_ETOOBIG && code != TARN_EINVAL &&
           code != TARN_ENOENT && code != TARN_EBUSY;
}

char *store_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = tarn_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tarn_err_from_errno(errno);
    int rc = fsync(fd) == 0 ? 0 : tarn_err_from_errno(errno);
    close(fd);
    return rc;
}

int store_registry_set(store_registry *reg, uint8_t type, store_apply_fn fn, void *ctx)
{
    if (type == 0 || fn == NULL)
        return TARN_EINVAL;
    if (reg->fn[type] != NULL)
        return TARN_EEXIST;
    reg->fn[type] = fn;
    reg->ctx[type] = ctx;
    return 0;
}

int store_meta_read_applied(MDB_txn *txn, MDB_dbi dbi, uint64_t *index, uint64_t *term)
{
    uint8_t kb[1 + sizeof(STORE_META_APPLIED) - 1];
    kb[0] = STORE_TABLE_META;
    memcpy(kb + 1, STORE_META_APPLIED, sizeof(kb) - 1);
    MDB_val k = {sizeof(kb), kb}, v;
    *index = 0;
    *term = 0;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_mdb_code(rc);
    if (v.mv_size != 16)
        return TARN_ECORRUPT;
    *index = store_le64_get(v.mv_data);
    *term = store_le64_get((const uint8_t *)v.mv_data + 8);
    return 0;
}

int store_meta_write_applied(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint64_t term)
{
    uint8_t kb[1 + sizeof(STORE_META_APPLIED) - 1], vb[16];
    kb[0] = STORE_TABLE_META;
    memcpy(kb + 1, STORE_META_APPLIED, sizeof(kb) - 1);
    store_le64_put(vb, index);
    store_le64_put(vb + 8, term);
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};
    return store_mdb_code(mdb_put(txn, dbi, &k, &v, 0));
}

/* Checks (or, in a fresh environment, writes) the format record. */
static int meta_check_format(MDB_txn *txn, MDB_dbi dbi, tarn_err *err)
{
    uint8_t kb[1 + sizeof(STORE_META_FORMAT) - 1];
    kb[0] = STORE_TABLE_META;
    memcpy(kb + 1, STORE_META_FORMAT, sizeof(kb) - 1);
    MDB_val k = {sizeof(kb), kb}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat ms;
        rc = mdb_stat(txn, dbi, &ms);
        if (rc != 0)
            return tarn_err_set(err, store_mdb_code(rc), "stat: %s", mdb_strerror(rc));
        if (ms.ms_entries != 0)
            return tarn_err_set(err, TARN_ECORRUPT, "no format record: not a Tarn store");
        uint8_t vb[4] = {STORE_FORMAT_VERSION, 0, 0, 0};
        v.mv_size = sizeof(vb);
        v.mv_data = vb;
        rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc != 0)
            return tarn_err_set(err, store_mdb_code(rc), "write format: %s", mdb_strerror(rc));
        return 0;
    }
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "read format: %s", mdb_strerror(rc));
    const uint8_t *p = v.mv_data;
    if (v.mv_size != 4 || p[0] != STORE_FORMAT_VERSION || p[1] || p[2] || p[3])
        return tarn_err_set(err, TARN_ECORRUPT, "unsupported store format");
    return 0;
}

static void metrics_init(store *st)
{
    obs_family *fam = NULL;
    static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
    /* Metrics are best effort: a registry failure leaves the series NULL,
     * which every update accepts, so it never fails an open. */
    if (obs_family_register(obs_global(),
                            &(obs_family_opts){.type = OBS_GAUGE,
                                               .name = "tarn_store_applied_index",
                                               .help = "Raft index of the last applied entry."},
                            &fam) == 0)
        st->m_applied = obs_series(fam, NULL);
    if (obs_family_register(obs_global(),
                            &(obs_family_opts){.type = OBS_HISTOGRAM,
                                               .name = "tarn_store_apply_batch_entries",
                                               .help = "Entries applied per store_apply call.",
                                               .buckets = batch_buckets,
                                               .bucket_count = TARN_ARRAY_LEN(batch_buckets)},
                            &fam) == 0)
        st->m_batch = obs_series(fam, NULL);
    if (obs_family_register(obs_global(),
                            &(obs_family_opts){.type = OBS_HISTOGRAM,
                                               .name = "tarn_store_apply_duration_seconds",
                                               .help = "Time to apply one batch (its commit "
                                                       "is timed separately)."},
                            &fam) == 0)
        st->m_latency = obs_series(fam, NULL);
    if (obs_family_register(obs_global(),
                            &(obs_family_opts){.type = OBS_HISTOGRAM,
                                               .name = "tarn_store_commit_entries",
                                               .help = "Entries made durable per LMDB commit.",
                                               .buckets = batch_buckets,
                                               .bucket_count = TARN_ARRAY_LEN(batch_buckets)},
                            &fam) == 0)
        st->m_commit_entries = obs_series(fam, NULL);
    if (obs_family_register(
            obs_global(),
            &(obs_family_opts){.type = OBS_HISTOGRAM,
                               .name = "tarn_store_commit_seconds",
                               .help = "Time of one LMDB commit, its fsync included."},
            &fam) == 0)
        st->m_commit_latency = obs_series(fam, NULL);
}

static int env_open(store *st, const store_opts *o, tarn_err *err)
{
    int rc = mdb_env_create(&st->env);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "mdb_env_create: %s", mdb_strerror(rc));
    size_t map = o->map_size_bytes ? o->map_size_bytes : STORE_MAP_SIZE_DEFAULT;
    rc = mdb_env_set_mapsize(st->env, map);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(st->env, o->max_readers > 0 ? (unsigned)o->max_readers : 126);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "configure: %s", mdb_strerror(rc));
    TARN_ASSERT(mdb_env_get_maxkeysize(st->env) >= STORE_KEY_MAX_BYTES + 1);
    char *path = store_path(st->dir, STORE_FILE_DATA);
    if (path == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "path");
    /* NOTLS: read transactions are not tied to threads, so an HTTP thread
     * pool can hold several. NOSUBDIR: the data file is one name we can
     * rename a snapshot over. */
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS;
    if (o->durability == STORE_DURABLE_DATA)
        flags |= MDB_NOMETASYNC;
    else if (o->durability == STORE_DURABLE_NONE)
        flags |= MDB_NOSYNC;
    rc = mdb_env_open(st->env, path, flags, 0600);
    tarn_free(path);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "mdb_env_open: %s", mdb_strerror(rc));
    return 0;
}

static int env_init_meta(store *st, tarn_err *err)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "begin: %s", mdb_strerror(rc));
    rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
    if (rc != 0) {
        rc = tarn_err_set(err, store_mdb_code(rc), "dbi: %s", mdb_strerror(rc));
        goto fail;
    }
    if ((rc = meta_check_format(txn, st->dbi, err)) != 0)
        goto fail;
    rc = store_meta_read_applied(txn, st->dbi, &st->applied_index, &st->applied_term);
    if (rc != 0) {
        rc = tarn_err_set(err, rc, "read applied index");
        goto fail;
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "commit: %s", mdb_strerror(rc));
    return 0;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int store_open(const char *dir, const store_opts *opts, store **out, tarn_err *err)
{
    static const store_opts defaults = {0};
    const store_opts *o = opts ? opts : &defaults;
    *out = NULL;
    store *st = tarn_calloc(1, sizeof(*st));
    if (st == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "open store %s", dir);
    int rc = TARN_ENOMEM;
    st->dir = tarn_strdup(dir);
    if (st->dir == NULL) {
        tarn_err_set(err, rc, "copy dir");
        goto fail;
    }
    if ((rc = store_remove_leftovers(dir, err)) != 0 || (rc = env_open(st, o, err)) != 0 ||
        (rc = env_init_meta(st, err)) != 0)
        goto fail;
    metrics_init(st);
    st->open_index = st->applied_index;
    st->open_term = st->applied_term;
    obs_gauge_set(st->m_applied, (double)st->applied_index);
    *out = st;
    return 0;
fail:
    tarn_err_wrap(err, rc, "open store %s", dir);
    if (st->env != NULL)
        mdb_env_close(st->env);
    tarn_free(st->dir);
    tarn_free(st);
    return rc;
}

void store_close(store *st)
{
    if (st == NULL)
        return;
    store_rollback(st); /* uncommitted work is the host's to replay */
    mdb_env_close(st->env);
    tarn_free(st->dir);
    tarn_free(st);
}

int store_sync(store *st, tarn_err *err)
{
    if (st->failed)
        return tarn_err_set(err, TARN_ESTATE, "store unusable after an earlier I/O error");
    if (st->open_txn != NULL)
        return tarn_err_set(err, TARN_EINVAL, "sync: a write transaction is open (commit first)");
    int rc = mdb_env_sync(st->env, 1);
    if (rc != 0) {
        /* A failed fsync leaves the page cache in an unknown state. */
        st->failed = TARN_EIO;
        return tarn_err_set(err, TARN_EIO, "sync: %s", mdb_strerror(rc));
    }
    return 0;
}

uint64_t store_applied_index(const store *st)
{
    return st->applied_index;
}

uint64_t store_applied_term(const store *st)
{
    return st->applied_term;
}

uint64_t store_open_index(const store *st)
{
    return st->open_index;
}

size_t store_open_entries(const store *st)
{
    return st->open_entries;
}

void store_result_free(store_result *res)
{
    if (res == NULL)
        return;
    tarn_free(res->data);
    res->data = NULL;
    res->len = 0;
}
