/* tests/crash/simdisk.c: the simulated disk (see simdisk.h for the model). */
#include "simdisk.h"

#include "base/assert.h"
#include "base/error.h"
#include "base/rand.h"

#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64
#define FDS_MAX      64

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

typedef struct inode {
    bytes vol, dur;
} inode;

typedef struct dent {
    char name[NAME_MAX_LEN];
    int ino;
} dent;

typedef struct dents {
    dent *v;
    size_t n, cap;
} dents;

enum { OP_WRITE, OP_TRUNC, OP_GROW, OP_CREATE, OP_RENAME, OP_UNLINK };

typedef struct op {
    int kind, ino;
    uint64_t off, len; /* write: range; trunc/grow: new size in len */
    uint8_t *data;
    char a[NAME_MAX_LEN], b[NAME_MAX_LEN];
} op;

typedef struct ops {
    op *v;
    size_t n, cap;
} ops;

struct simdisk {
    wal_vfs vfs;
    char dir[4096];
    inode *inodes;
    size_t ninodes, capinodes;
    dents vol_names, dur_names;
    ops data_ops, dir_ops;
    int fds[FDS_MAX]; /* inode or -1 */
    uint64_t nops, cut_at;
    int dead;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    TARN_ASSERT(q != NULL);
    return q;
}

static void bytes_resize(bytes *b, size_t len)
{
    if (len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < len)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (len > b->len)
        memset(b->p + b->len, 0, len - b->len);
    b->len = len;
}

static void bytes_write(bytes *b, uint64_t off, const uint8_t *src, size_t len)
{
    if (off + len > b->len)
        bytes_resize(b, (size_t)(off + len));
    memcpy(b->p + off, src, len);
}

static void bytes_copy(bytes *dst, const bytes *src)
{
    dst->len = 0;
    bytes_resize(dst, src->len);
    if (src->len)
        memcpy(dst->p, src->p, src->len);
}

static void push_op(ops *o, const op *x)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
    }
    o->v[o->n++] = *x;
}

static void clear_ops(ops *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].data);
    o->n = 0;
}

static dent *find_name(dents *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].name, name) == 0)
            return &d->v[i];
    return NULL;
}

static void set_name(dents *d, const char *name, int ino)
{
    dent *e = find_name(d, name);
    if (e == NULL) {
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 16;
            d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
        }
        e = &d->v[d->n++];
        TARN_ASSERT(strlen(name) < NAME_MAX_LEN);
        strcpy(e->name, name);
    }
    e->ino = ino;
}

static void del_name(dents *d, const char *name)
{
    dent *e = find_name(d, name);
    if (e != NULL)
        *e = d->v[--d->n];
}

static void copy_names(dents *dst, const dents *src)
{
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        set_name(dst, src->v[i].name, src->v[i].ino);
}

/* The basename of path within the disk's directory, or NULL. */
static const char *base_of(const simdisk *d, const char *path)
{
    size_t n = strlen(d->dir);
    if (strncmp(path, d->dir, n) != 0 || path[n] != '/')
        return NULL;
    return path + n + 1;
}

/* 0: go on; 1: the disk is dead (was, or dies at this call). */
static int gate(simdisk *d, int *dies_now)
{
    *dies_now = 0;
    if (d->dead)
        return 1;
    d->nops++;
    if (d->cut_at != 0 && d->nops >= d->cut_at) {
        d->dead = 1;
        *dies_now = 1;
        return 1;
    }
    return 0;
}

static simdisk *sd(void *ctx)
{
    return (simdisk *)ctx;
}

static int fd_ino(simdisk *d, int fd)
{
    TARN_ASSERT(fd >= 0 && fd < FDS_MAX);
    TARN_ASSERT(d->fds[fd] >= 0);
    return d->fds[fd];
}

static int new_inode(simdisk *d)
{
    if (d->ninodes == d->capinodes) {
        d->capinodes = d->capinodes ? d->capinodes * 2 : 16;
        d->inodes = xrealloc(d->inodes, d->capinodes * sizeof(*d->inodes));
    }
    memset(&d->inodes[d->ninodes], 0, sizeof(inode));
    return (int)d->ninodes++;
}

static int s_open(void *ctx, const char *path, int flags, int *fd_out)
{
    simdisk *d = sd(ctx);
    const char *name = base_of(d, path);
    if (name == NULL)
        return TARN_ENOENT;
    dent *e = find_name(&d->vol_names, name);
    if (e == NULL && !(flags & WAL_VFS_CREATE))
        return TARN_ENOENT;
    int dies;
    if ((e == NULL || (flags & WAL_VFS_TRUNC)) && gate(d, &dies))
        return TARN_EIO;
    int ino;
    if (e == NULL) {
        ino = new_inode(d);
        set_name(&d->vol_names, name, ino);
        op o = {.kind = OP_CREATE, .ino = ino};
        strcpy(o.a, name);
        push_op(&d->dir_ops, &o);
    } else {
        ino = e->ino;
    }
    if (flags & WAL_VFS_TRUNC) {
        d->inodes[ino].vol.len = 0;
        push_op(&d->data_ops, &(op){.kind = OP_TRUNC, .ino = ino, .len = 0});
    }
    for (int fd = 0; fd < FDS_MAX; fd++)
        if (d->fds[fd] < 0) {
            d->fds[fd] = ino;
            *fd_out = fd;
            return 0;
        }
    return TARN_EBUSY;
}

static int s_close(void *ctx, int fd)
{
    simdisk *d = sd(ctx);
    if (fd >= 0 && fd < FDS_MAX)
        d->fds[fd] = -1;
    return 0;
}

static int s_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    simdisk *d = sd(ctx);
    const bytes *b = &d->inodes[fd_ino(d, fd)].vol;
    size_t n = off >= b->len ? 0 : (b->len - (size_t)off < len ? b->len - (size_t)off : len);
    if (n)
        memcpy(buf, b->p + off, n);
    *got = n;
    return 0;
}

static int s_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    simdisk *d = sd(ctx);
    int ino = fd_ino(d, fd), dies;
    int dead = gate(d, &dies);
    if (dead && !dies)
        return TARN_EIO;
    op o = {.kind = OP_WRITE, .ino = ino, .off = off, .len = len, .data = malloc(len ? len : 1)};
    memcpy(o.data, buf, len);
    push_op(&d->data_ops, &o);
    if (dies)
        return TARN_EIO; /* in the pending list: a cut may keep or tear it */
    bytes_write(&d->inodes[ino].vol, off, buf, len);
    return 0;
}

/* Makes one file durable: its pending ops leave the list. */
static int s_sync(void *ctx, int fd)
{
    simdisk *d = sd(ctx);
    int ino = fd_ino(d, fd), dies;
    if (gate(d, &dies))
        return TARN_EIO;
    bytes_copy(&d->inodes[ino].dur, &d->inodes[ino].vol);
    size_t j = 0;
    for (size_t i = 0; i < d->data_ops.n; i++) {
        if (d->data_ops.v[i].ino == ino)
            free(d->data_ops.v[i].data);
        else
            d->data_ops.v[j++] = d->data_ops.v[i];
    }
    d->data_ops.n = j;
    return 0;
}

static int s_resize(simdisk *d, int fd, int kind, uint64_t size)
{
    int ino = fd_ino(d, fd), dies;
    if (gate(d, &dies))
        return TARN_EIO;
    bytes *b = &d->inodes[ino].vol;
    if (kind == OP_TRUNC)
        b->len = b->len < size ? b->len : (size_t)size;
    if (size > b->len)
        bytes_resize(b, (size_t)size);
    push_op(&d->data_ops, &(op){.kind = kind, .ino = ino, .len = size});
    return 0;
}

static int s_ftruncate(void *ctx, int fd, uint64_t size)
{
    return s_resize(sd(ctx), fd, OP_TRUNC, size);
}

static int s_fallocate(void *ctx, int fd, uint64_t off, uint64_t len)
{
    return s_resize(sd(ctx), fd, OP_GROW, off + len);
}

static int s_size(void *ctx, int fd, uint64_t *out)
{
    simdisk *d = sd(ctx);
    *out = d->inodes[fd_ino(d, fd)].vol.len;
    return 0;
}

static int s_rename(void *ctx, const char *from, const char *to)
{
    simdisk *d = sd(ctx);
    const char *a = base_of(d, from), *b = base_of(d, to);
    dent *e = a ? find_name(&d->vol_names, a) : NULL;
    if (e == NULL || b == NULL)
        return TARN_ENOENT;
    int dies;
    if (gate(d, &dies))
        return TARN_EIO;
    int ino = e->ino;
    del_name(&d->vol_names, a);
    set_name(&d->vol_names, b, ino);
    op o = {.kind = OP_RENAME, .ino = ino};
    strcpy(o.a, a);
    strcpy(o.b, b);
    push_op(&d->dir_ops, &o);
    return 0;
}

static int s_unlink(void *ctx, const char *path)
{
    simdisk *d = sd(ctx);
    const char *a = base_of(d, path);
    if (a == NULL || find_name(&d->vol_names, a) == NULL)
        return TARN_ENOENT;
    int dies;
    if (gate(d, &dies))
        return TARN_EIO;
    del_name(&d->vol_names, a);
    op o = {.kind = OP_UNLINK};
    strcpy(o.a, a);
    push_op(&d->dir_ops, &o);
    return 0;
}

static int s_list(void *ctx, const char *dir, wal_vfs_list_fn fn, void *arg)
{
    simdisk *d = sd(ctx);
    if (strcmp(dir, d->dir) != 0)
        return TARN_ENOENT;
    /* Names are copied first: the callback may unlink. */
    size_t n = d->vol_names.n;
    char(*names)[NAME_MAX_LEN] = malloc((n ? n : 1) * NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++)
        strcpy(names[i], d->vol_names.v[i].name);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(arg, names[i]);
    free(names);
    return rc;
}

static int s_fsync_dir(void *ctx, const char *dir)
{
    simdisk *d = sd(ctx);
    int dies;
    if (strcmp(dir, d->dir) != 0)
        return TARN_ENOENT;
    if (gate(d, &dies))
        return TARN_EIO;
    copy_names(&d->dur_names, &d->vol_names);
    clear_ops(&d->dir_ops);
    return 0;
}

simdisk *simdisk_new(const char *dir)
{
    simdisk *d = calloc(1, sizeof(*d));
    TARN_ASSERT(d != NULL);
    TARN_ASSERT(strlen(dir) < sizeof(d->dir));
    strcpy(d->dir, dir);
    for (int i = 0; i < FDS_MAX; i++)
        d->fds[i] = -1;
    d->vfs = (wal_vfs){.ctx = d,
                       .open = s_open,
                       .close = s_close,
                       .pread = s_pread,
                       .pwrite = s_pwrite,
                       .fsync = s_sync,
                       .fdatasync = s_sync,
                       .ftruncate = s_ftruncate,
                       .fallocate = s_fallocate,
                       .size = s_size,
                       .rename = s_rename,
                       .unlink = s_unlink,
                       .list = s_list,
                       .fsync_dir = s_fsync_dir};
    return d;
}

void simdisk_free(simdisk *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->ninodes; i++) {
        free(d->inodes[i].vol.p);
        free(d->inodes[i].dur.p);
    }
    free(d->inodes);
    free(d->vol_names.v);
    free(d->dur_names.v);
    clear_ops(&d->data_ops);
    clear_ops(&d->dir_ops);
    free(d->data_ops.v);
    free(d->dir_ops.v);
    free(d);
}

const wal_vfs *simdisk_vfs(simdisk *d)
{
    return &d->vfs;
}

void simdisk_cut_at(simdisk *d, uint64_t k)
{
    d->cut_at = k;
}

uint64_t simdisk_ops(const simdisk *d)
{
    return d->nops;
}

int simdisk_dead(const simdisk *d)
{
    return d->dead;
}

size_t simdisk_pending_data(const simdisk *d)
{
    return d->data_ops.n;
}

size_t simdisk_pending_dir(const simdisk *d)
{
    return d->dir_ops.n;
}

size_t simdisk_pending_write_len(const simdisk *d, size_t i)
{
    TARN_ASSERT(i < d->data_ops.n);
    return d->data_ops.v[i].kind == OP_WRITE ? (size_t)d->data_ops.v[i].len : 0;
}

static void apply_data_op(simdisk *d, const op *o, size_t torn)
{
    bytes *b = &d->inodes[o->ino].dur;
    switch (o->kind) {
    case OP_WRITE:
        bytes_write(b, o->off, o->data, torn ? torn : (size_t)o->len);
        break;
    case OP_TRUNC:
        b->len = b->len < o->len ? b->len : (size_t)o->len;
        if (o->len > b->len)
            bytes_resize(b, (size_t)o->len);
        break;
    case OP_GROW:
        if (o->len > b->len)
            bytes_resize(b, (size_t)o->len);
        break;
    default:
        TARN_ASSERT(0);
    }
}

static void apply_dir_op(simdisk *d, const op *o)
{
    if (o->kind == OP_CREATE) {
        set_name(&d->dur_names, o->a, o->ino);
    } else if (o->kind == OP_RENAME) {
        del_name(&d->dur_names, o->a);
        set_name(&d->dur_names, o->b, o->ino);
    } else {
        del_name(&d->dur_names, o->a);
    }
}

#define SECTOR 512

/* Keeps a random subset of a write's sectors. */
static void apply_scattered(simdisk *d, const op *o, tarn_rng *rng)
{
    bytes *b = &d->inodes[o->ino].dur;
    uint64_t pos = o->off;
    while (pos < o->off + o->len) {
        uint64_t next = (pos / SECTOR + 1) * SECTOR;
        if (next > o->off + o->len)
            next = o->off + o->len;
        if (tarn_rng_below(rng, 2))
            bytes_write(b, pos, o->data + (pos - o->off), (size_t)(next - pos));
        else if (pos + (next - pos) > b->len)
            bytes_resize(b, (size_t)next); /* the file is as long; the sector reads zeros */
        pos = next;
    }
}

static void power_cut_finish(simdisk *d, size_t keep_dir)
{
    for (size_t i = 0; i < d->dir_ops.n && i < keep_dir; i++)
        apply_dir_op(d, &d->dir_ops.v[i]);
    for (size_t i = 0; i < d->ninodes; i++)
        bytes_copy(&d->inodes[i].vol, &d->inodes[i].dur);
    copy_names(&d->vol_names, &d->dur_names);
    clear_ops(&d->data_ops);
    clear_ops(&d->dir_ops);
    for (int i = 0; i < FDS_MAX; i++)
        d->fds[i] = -1;
    d->dead = 0;
    d->cut_at = 0;
}

void simdisk_power_cut_scattered(simdisk *d, uint64_t seed, size_t keep_dir)
{
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    for (size_t i = 0; i < d->data_ops.n; i++) {
        if (d->data_ops.v[i].kind == OP_WRITE)
            apply_scattered(d, &d->data_ops.v[i], &rng);
        else
            apply_data_op(d, &d->data_ops.v[i], 0);
    }
    power_cut_finish(d, keep_dir);
}

void simdisk_power_cut(simdisk *d, size_t keep_data, size_t torn_bytes, size_t keep_dir)
{
    for (size_t i = 0; i < d->data_ops.n && i < keep_data; i++)
        apply_data_op(d, &d->data_ops.v[i], 0);
    if (keep_data < d->data_ops.n && torn_bytes > 0 && d->data_ops.v[keep_data].kind == OP_WRITE &&
        torn_bytes < d->data_ops.v[keep_data].len)
        apply_data_op(d, &d->data_ops.v[keep_data], torn_bytes);
    power_cut_finish(d, keep_dir);
}
