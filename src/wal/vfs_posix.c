/*
 * wal/vfs_posix.c: the WAL's disk seam on POSIX (Linux) calls. errno is
 * translated here and nowhere else in the WAL.
 */
#define _GNU_SOURCE
#include "wal/vfs.h"

#include "base/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int px_err(void)
{
    return tarn_err_from_errno(errno);
}

static int px_open(void *ctx, const char *path, int flags, int *fd_out)
{
    (void)ctx;
    int of = O_RDWR | O_CLOEXEC;
    if (flags & WAL_VFS_CREATE)
        of |= O_CREAT;
    if (flags & WAL_VFS_TRUNC)
        of |= O_TRUNC;
    int fd;
    do {
        fd = open(path, of, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return px_err();
    *fd_out = fd;
    return 0;
}

static int px_close(void *ctx, int fd)
{
    (void)ctx;
    /* close(2) on Linux releases the fd even when it reports an error. */
    return close(fd) == 0 ? 0 : px_err();
}

static int px_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    (void)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return px_err();
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

static int px_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    (void)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return px_err();
        if (n == 0)
            return TARN_EIO;
        done += (size_t)n;
    }
    return 0;
}

static int px_fsync(void *ctx, int fd)
{
    (void)ctx;
    /* No retry on EINTR/EIO: a failed fsync may have dropped the dirty
     * pages, so the caller must treat the file's state as unknown. */
    return fsync(fd) == 0 ? 0 : px_err();
}

static int px_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd) == 0 ? 0 : px_err();
}

static int px_ftruncate(void *ctx, int fd, uint64_t size_bytes)
{
    (void)ctx;
    return ftruncate(fd, (off_t)size_bytes) == 0 ? 0 : px_err();
}

static int px_fallocate(void *ctx, int fd, uint64_t off, uint64_t len)
{
    (void)ctx;
    if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return px_err();
    /* A filesystem without fallocate: at least extend the file (sparse),
     * so offsets and the zero tail behave the same. */
    struct stat stbuf;
    if (fstat(fd, &stbuf) != 0)
        return px_err();
    if ((uint64_t)stbuf.st_size >= off + len)
        return 0;
    return ftruncate(fd, (off_t)(off + len)) == 0 ? 0 : px_err();
}

static int px_size(void *ctx, int fd, uint64_t *out)
{
    (void)ctx;
    struct stat stbuf;
    if (fstat(fd, &stbuf) != 0)
        return px_err();
    *out = (uint64_t)stbuf.st_size;
    return 0;
}

static int px_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to) == 0 ? 0 : px_err();
}

static int px_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path) == 0 ? 0 : px_err();
}

static int px_list(void *ctx, const char *dir, wal_vfs_list_fn fn, void *arg)
{
    (void)ctx;
    DIR *d = opendir(dir);
    if (d == NULL)
        return px_err();
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            rc = errno ? px_err() : 0;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = fn(arg, de->d_name);
        if (rc != 0)
            break;
    }
    closedir(d);
    return rc;
}

static int px_fsync_dir(void *ctx, const char *dir)
{
    (void)ctx;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return px_err();
    int rc = fsync(fd) == 0 ? 0 : px_err();
    close(fd); /* read-only descriptor: nothing to lose on a failed close */
    return rc;
}

static int px_lock_dir(void *ctx, const char *dir, int *fd_out)
{
    (void)ctx;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/LOCK", dir) >= (int)sizeof(path))
        return TARN_EINVAL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return px_err();
    /* flock, not fcntl locks: fcntl locks are per process and released by
     * any close of the file, flock locks belong to this descriptor. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? TARN_EBUSY : px_err();
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int px_open_direct(void *ctx, int fd, int *dfd_out)
{
    (void)ctx;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (dfd < 0)
        return px_err();
    *dfd_out = dfd;
    return 0;
}

static const wal_vfs posix_vfs = {
    .ctx = NULL,
    .open = px_open,
    .close = px_close,
    .pread = px_pread,
    .pwrite = px_pwrite,
    .fsync = px_fsync,
    .fdatasync = px_fdatasync,
    .ftruncate = px_ftruncate,
    .fallocate = px_fallocate,
    .size = px_size,
    .rename = px_rename,
    .unlink = px_unlink,
    .list = px_list,
    .fsync_dir = px_fsync_dir,
    .lock_dir = px_lock_dir,
    .open_direct = px_open_direct,
    .thread_safe = 1,
};

const wal_vfs *wal_vfs_posix(void)
{
    return &posix_vfs;
}
