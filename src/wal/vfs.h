/*
 * wal/vfs.h: the disk seam of the WAL. Every byte the WAL reads or writes
 * and every directory operation goes through one of these function
 * pointers, so that tests can replace the disk with a simulated one that
 * loses unsynced data at a "power cut" (tests/crash/). Design note:
 * src/wal/README.md.
 *
 * Contract for every function: 0 on success or a negative TARN_E* code
 * (errno translated with tarn_err_from_errno). pwrite writes all `len`
 * bytes or fails; pread reads up to `len` bytes and reports how many
 * (fewer only at end of file). A file is named by a small integer handle
 * (`fd`) that the implementation chose at open.
 *
 * Threads: the WAL calls a vfs from one thread at a time per handle (it
 * serialises its I/O with its own lock), except that a vfs that sets
 * thread_safe may also be called by the handle's segment preparer thread
 * (on the file it prepares and the directory). wal_vfs_posix() is
 * thread-safe.
 */
#ifndef TARN_WAL_VFS_H
#define TARN_WAL_VFS_H

#include <stddef.h>
#include <stdint.h>

/* Alignment of open_direct's buffers, offsets and lengths: the largest
 * logical block size of the disks we run on. */
#define WAL_VFS_DIRECT_ALIGN 4096

/* open flags */
#define WAL_VFS_CREATE 1 /* create the file when missing */
#define WAL_VFS_TRUNC  2 /* truncate to 0 bytes */

/* Called once per directory entry name (not "." or ".."); a nonzero
 * return stops the listing and is returned by list(). `name` is borrowed
 * for the call. */
typedef int (*wal_vfs_list_fn)(void *arg, const char *name);

typedef struct wal_vfs {
    void *ctx; /* passed to every function; owned by whoever built the vfs */
    int (*open)(void *ctx, const char *path, int flags, int *fd_out);
    int (*close)(void *ctx, int fd);
    int (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t off, size_t *got);
    int (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t off);
    int (*fsync)(void *ctx, int fd);
    int (*fdatasync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, uint64_t size_bytes);
    /* Reserves [off, off+len) so that later writes there cannot fail for
     * lack of space; the file grows to at least off+len; new bytes read as
     * zero. */
    int (*fallocate)(void *ctx, int fd, uint64_t off, uint64_t len);
    int (*size)(void *ctx, int fd, uint64_t *size_bytes_out);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*list)(void *ctx, const char *dir, wal_vfs_list_fn fn, void *arg);
    /* Makes creations, renames and unlinks in `dir` durable. */
    int (*fsync_dir)(void *ctx, const char *dir);
    /* Takes an exclusive lock on `dir` for this process (released by
     * close(*fd_out)): TARN_EBUSY when another process holds it. Two
     * writers of one log would interleave records and destroy it. NULL
     * (simulated disks): no locking. */
    int (*lock_dir)(void *ctx, const char *dir, int *fd_out);
    /* Opens a second handle on fd's file for writes that bypass the page
     * cache (O_DIRECT): each buffer, offset and length a multiple of
     * WAL_VFS_DIRECT_ALIGN. Writes through it are made durable by
     * fdatasync on fd, as any other. NULL, or an error (a file system
     * without O_DIRECT, such as tmpfs): the WAL writes through fd. */
    int (*open_direct)(void *ctx, int fd, int *dfd_out);
    /* Nonzero: the functions may be called from two threads at once (on
     * different files), and the WAL prepares its next segment file in a
     * background thread. Zero (simulated and fault-injecting disks, whose
     * write points must come in a fixed order): one thread at a time, and
     * the next segment is prepared on the calling thread. */
    int thread_safe;
} wal_vfs;

/* The real disk (POSIX calls). The returned struct is static; never NULL. */
const wal_vfs *wal_vfs_posix(void);

#endif
