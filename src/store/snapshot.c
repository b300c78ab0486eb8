/*
 * store/snapshot.c: snapshot streams out of a live store and their
 * crash-safe installation into a closed one. Design note:
 * src/store/README.md ("Snapshots").
 *
 * Stream format (all integers little-endian):
 *
 *   | offset | size | meaning                                     |
 *   |--------|------|---------------------------------------------|
 *   | 0      | 8    | magic "TARNSNP1"                            |
 *   | 8      | 4    | format version, 1                           |
 *   | 12     | 4    | CRC32C of the data (bytes 48 .. 48+length)  |
 *   | 16     | 8    | applied index contained                     |
 *   | 24     | 8    | applied term                                |
 *   | 32     | 8    | data length in bytes                        |
 *   | 40     | 4    | CRC32C of bytes 0 .. 40                     |
 *   | 44     | 4    | zero                                        |
 *   | 48     | len  | a compacted LMDB data file (mdb_env_copyfd2)|
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC       "TARNSNP1"
#define SNAP_HEADER_SIZE 48
#define SNAP_VERSION     1u

struct store_snapshot {
    int fd; /* the unlinked copy */
    uint8_t header[SNAP_HEADER_SIZE];
    uint64_t pos;  /* stream position, header included */
    uint64_t size; /* stream length */
};

struct store_install {
    char *dir;  /* owned */
    char *path; /* the install file, owned */
    int fd;
    uint8_t header[SNAP_HEADER_SIZE];
    uint64_t pos; /* stream bytes received */
    uint64_t index, term, data_len;
    uint32_t data_crc_want, data_crc;
};

static void le32_put(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void header_encode(uint8_t *h, uint32_t data_crc, uint64_t index, uint64_t term,
                          uint64_t len)
{
    memset(h, 0, SNAP_HEADER_SIZE);
    memcpy(h, SNAP_MAGIC, 8);
    le32_put(h + 8, SNAP_VERSION);
    le32_put(h + 12, data_crc);
    store_le64_put(h + 16, index);
    store_le64_put(h + 24, term);
    store_le64_put(h + 32, len);
    le32_put(h + 40, crc32c(0, h, 40));
}

/* CRC32C of the whole file behind fd, read in bounded chunks. */
static int file_crc(int fd, uint64_t size, uint32_t *out)
{
    uint8_t *buf = tarn_malloc(65536);
    if (buf == NULL)
        return TARN_ENOMEM;
    uint32_t c = 0;
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t want = size - off < 65536 ? (size_t)(size - off) : 65536;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got <= 0) {
            rc = got < 0 ? tarn_err_from_errno(errno) : TARN_EIO;
            break;
        }
        c = crc32c(c, buf, (size_t)got);
        off += (uint64_t)got;
    }
    tarn_free(buf);
    *out = c;
    return rc;
}

/* Creates an unlinked temporary file in the store directory (on the same
 * disk as the data, never in a small /tmp). */
static int tmpfile_open(const char *dir, int *fd_out)
{
    char *tmpl = store_path(dir, STORE_FILE_SNAPTMP ".XXXXXX");
    if (tmpl == NULL)
        return TARN_ENOMEM;
    int fd = mkstemp(tmpl);
    int rc = fd < 0 ? tarn_err_from_errno(errno) : 0;
    if (fd >= 0)
        unlink(tmpl); /* store_open removes it anyway if we crash before this */
    tarn_free(tmpl);
    *fd_out = fd;
    return rc;
}

int store_snapshot_open(store *st, store_snapshot **out, store_snapshot_info *info, tarn_err *err)
{
    *out = NULL;
    if (st->failed)
        return tarn_err_set(err, TARN_ESTATE, "store unusable after an earlier I/O error");
    if (st->open_txn != NULL)
        return tarn_err_set(err, TARN_EINVAL,
                            "snapshot: a write transaction is open (commit first)");
    store_snapshot *s = tarn_calloc(1, sizeof(*s));
    if (s == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "snapshot");
    s->fd = -1;
    int rc = tmpfile_open(st->dir, &s->fd);
    if (rc != 0) {
        tarn_err_set(err, rc, "create temporary file");
        goto fail;
    }
    /* Same thread as store_apply (store.h), so no batch commits between
     * reading the applied index and the copy's read transaction. */
    uint64_t index = st->applied_index, term = st->applied_term;
    int mrc = mdb_env_copyfd2(st->env, s->fd, MDB_CP_COMPACT);
    if (mrc != 0) {
        rc = tarn_err_set(err, store_mdb_code(mrc), "copy: %s", mdb_strerror(mrc));
        goto fail;
    }
    struct stat sb;
    uint32_t dcrc = 0;
    if (fstat(s->fd, &sb) != 0) {
        rc = tarn_err_set(err, tarn_err_from_errno(errno), "stat copy");
        goto fail;
    }
    if ((rc = file_crc(s->fd, (uint64_t)sb.st_size, &dcrc)) != 0) {
        tarn_err_set(err, rc, "read copy");
        goto fail;
    }
    header_encode(s->header, dcrc, index, term, (uint64_t)sb.st_size);
    s->size = SNAP_HEADER_SIZE + (uint64_t)sb.st_size;
    *info = (store_snapshot_info){.index = index, .term = term, .size_bytes = s->size};
    *out = s;
    return 0;
fail:
    store_snapshot_close(s);
    return tarn_err_wrap(err, rc, "snapshot at %llu", (unsigned long long)st->applied_index);
}

int store_snapshot_read(store_snapshot *s, void *buf, size_t cap, size_t *len, tarn_err *err)
{
    TARN_ASSERT(cap <= STORE_SNAPSHOT_CHUNK_MAX);
    *len = 0;
    uint8_t *out = buf;
    while (*len < cap && s->pos < s->size) {
        if (s->pos < SNAP_HEADER_SIZE) {
            size_t n = SNAP_HEADER_SIZE - (size_t)s->pos;
            n = n < cap - *len ? n : cap - *len;
            memcpy(out + *len, s->header + s->pos, n);
            *len += n;
            s->pos += n;
            continue;
        }
        uint64_t left = s->size - s->pos;
        size_t n = left < cap - *len ? (size_t)left : cap - *len;
        ssize_t got = pread(s->fd, out + *len, n, (off_t)(s->pos - SNAP_HEADER_SIZE));
        if (got <= 0)
            return tarn_err_set(err, got < 0 ? tarn_err_from_errno(errno) : TARN_EIO,
                                "read snapshot at %llu", (unsigned long long)s->pos);
        *len += (size_t)got;
        s->pos += (uint64_t)got;
    }
    return 0;
}

void store_snapshot_close(store_snapshot *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    tarn_free(s);
}

/* Parses the header once all 48 bytes arrived. */
static int install_header(store_install *in, tarn_err *err)
{
    const uint8_t *h = in->header;
    if (memcmp(h, SNAP_MAGIC, 8) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "not a Tarn snapshot (bad magic)");
    if (le32_get(h + 40) != crc32c(0, h, 40))
        return tarn_err_set(err, TARN_ECORRUPT, "snapshot header checksum mismatch");
    if (le32_get(h + 8) != SNAP_VERSION || le32_get(h + 44) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "unsupported snapshot version %u", le32_get(h + 8));
    in->data_crc_want = le32_get(h + 12);
    in->index = store_le64_get(h + 16);
    in->term = store_le64_get(h + 24);
    in->data_len = store_le64_get(h + 32);
    if (in->data_len == 0 || in->data_len > ((uint64_t)1 << 44))
        return tarn_err_set(err, TARN_ECORRUPT, "snapshot length %llu out of range",
                            (unsigned long long)in->data_len);
    return 0;
}

int store_install_begin(const char *dir, store_install **out, tarn_err *err)
{
    *out = NULL;
    store_install *in = tarn_calloc(1, sizeof(*in));
    if (in == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "install");
    in->fd = -1;
    in->dir = tarn_strdup(dir);
    in->path = store_path(dir, STORE_FILE_INSTALL);
    if (in->dir == NULL || in->path == NULL) {
        store_install_abort(in);
        return tarn_err_set(err, TARN_ENOMEM, "install");
    }
    in->fd = open(in->path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (in->fd < 0) {
        int rc = tarn_err_set(err, tarn_err_from_errno(errno), "create %s: %s", in->path,
                              strerror(errno));
        store_install_abort(in);
        return rc;
    }
    *out = in;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? tarn_err_from_errno(errno) : TARN_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int store_install_write(store_install *in, const void *data, size_t len, tarn_err *err)
{
    const uint8_t *p = data;
    if (in->pos < SNAP_HEADER_SIZE) {
        size_t n = SNAP_HEADER_SIZE - (size_t)in->pos;
        n = n < len ? n : len;
        memcpy(in->header + in->pos, p, n);
        in->pos += n;
        p += n;
        len -= n;
        if (in->pos == SNAP_HEADER_SIZE) {
            int rc = install_header(in, err);
            if (rc != 0)
                return rc;
        }
    }
    if (len == 0)
        return 0;
    if (in->pos - SNAP_HEADER_SIZE + len > in->data_len)
        return tarn_err_set(err, TARN_ECORRUPT, "snapshot longer than its header says");
    int rc = write_all(in->fd, p, len);
    if (rc != 0)
        return tarn_err_set(err, rc, "write %s", in->path);
    in->data_crc = crc32c(in->data_crc, p, len);
    in->pos += len;
    return 0;
}

/* Opens the written file as LMDB, read-only, and checks its applied index
 * against the header: the rename happens only for a file that works. */
static int install_verify(store_install *in, tarn_err *err)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    uint64_t index = 0, term = 0;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_open(env, in->path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    int code = rc != 0 ? TARN_ECORRUPT : store_meta_read_applied(txn, dbi, &index, &term);
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    if (code != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "snapshot data does not open: %s",
                            rc ? mdb_strerror(rc) : tarn_strerror(code));
    if (index != in->index || term != in->term)
        return tarn_err_set(err, TARN_ECORRUPT, "snapshot holds %llu/%llu, header says %llu/%llu",
                            (unsigned long long)index, (unsigned long long)term,
                            (unsigned long long)in->index, (unsigned long long)in->term);
    return 0;
}

int store_install_finish(store_install *in, store_snapshot_info *info, tarn_err *err)
{
    int rc = 0;
    if (in->pos < SNAP_HEADER_SIZE || in->pos - SNAP_HEADER_SIZE != in->data_len) {
        rc = tarn_err_set(err, TARN_ECORRUPT, "snapshot truncated at %llu bytes",
                          (unsigned long long)in->pos);
        goto done;
    }
    if (in->data_crc != in->data_crc_want) {
        rc = tarn_err_set(err, TARN_ECORRUPT, "snapshot data checksum mismatch");
        goto done;
    }
    if (fsync(in->fd) != 0) {
        rc = tarn_err_set(err, tarn_err_from_errno(errno), "fsync %s", in->path);
        goto done;
    }
    close(in->fd);
    in->fd = -1;
    if ((rc = install_verify(in, err)) != 0)
        goto done;
    char *live = store_path(in->dir, STORE_FILE_DATA);
    if (live == NULL) {
        rc = tarn_err_set(err, TARN_ENOMEM, "path");
        goto done;
    }
    /* The swap: rename is atomic, and the directory fsync makes it
     * durable. Before it the old file is live; after it, the new one. */
    rc = rename(in->path, live) == 0 ? 0 : tarn_err_from_errno(errno);
    tarn_free(live);
    if (rc != 0) {
        tarn_err_set(err, rc, "rename %s", in->path);
        goto done;
    }
    if ((rc = store_fsync_dir(in->dir)) != 0) {
        tarn_err_set(err, rc, "fsync %s", in->dir);
        goto done;
    }
    if (info != NULL)
        *info = (store_snapshot_info){.index = in->index, .term = in->term, .size_bytes = in->pos};
done:
    tarn_err_wrap(err, rc, "install snapshot into %s", in->dir);
    store_install_abort(in); /* removes the file when it was not renamed */
    return rc;
}

void store_install_abort(store_install *in)
{
    if (in == NULL)
        return;
    if (in->fd >= 0)
        close(in->fd);
    if (in->path != NULL)
        unlink(in->path); /* ENOENT after a successful rename: nothing to do */
    tarn_free(in->path);
    tarn_free(in->dir);
    tarn_free(in);
}

/* Removes snapshot temporaries and a half-done install (store_open). */
int store_remove_leftovers(const char *dir, tarn_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tarn_err_set(err, tarn_err_from_errno(errno), "open dir %s", dir);
    int rc = 0, removed = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, STORE_FILE_INSTALL) != 0 &&
            strncmp(de->d_name, STORE_FILE_SNAPTMP ".", sizeof(STORE_FILE_SNAPTMP)) != 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
            rc = tarn_err_set(err, tarn_err_from_errno(errno), "remove leftover %s", de->d_name);
        removed = 1;
    }
    closedir(d);
    if (rc == 0 && removed && store_fsync_dir(dir) != 0)
        rc = tarn_err_set(err, TARN_EIO, "fsync %s", dir);
    return rc;
}
