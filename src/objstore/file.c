/*
 * objstore/file.c: the file:// backend. An object is a regular file at
 * <root>/<key>; the key's '/' separators are directories. Design note:
 * src/objstore/README.md.
 *
 * Publication (contract 1-3 of objstore.h):
 *   put:           write <dir>/.tarn-tmp-<16 hex>, fsync it, renameat over
 *                  the key, fsync <dir>.
 *   put_if_absent: the same, but linkat(tmp, key) instead of renameat:
 *                  link(2) fails with EEXIST when the key exists, which is
 *                  the atomic test-and-set; then unlink the temp file.
 *   new directories: mkdirat, then fsync of the directory holding them, so
 *                  that a durable object is never in a lost directory.
 *
 * What we guarantee about symbolic links: every path below the root is
 * resolved one segment at a time with openat(..., O_NOFOLLOW) relative to
 * the directory before it, starting from a descriptor of the root opened
 * at objstore_open. No operation follows a symbolic link found inside the
 * root (it answers TARN_EFORBIDDEN), so no key reaches a file outside the
 * root through one, even if links are swapped in concurrently. A link
 * that replaces the root directory itself after open is not noticed (we
 * keep using the descriptor). Hard links to outside files cannot be told
 * apart from objects and are not defended against: whoever can create
 * them inside the root can write there anyway.
 *
 * Invariants:
 *  1. Temp files live in the directory of their key and are never listed
 *     or accepted as keys, so a partial object is never visible.
 *  2. Every descriptor opened by an operation is closed on every path out.
 *  3. Once a directory fsync after publication fails, the backend is
 *     broken (state unknown): every later operation is TARN_ESTATE.
 */
#include "objstore/objstore_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/rand.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* Temp name: prefix, 16 hex digits, NUL. */
#define TEMP_NAME_MAX (sizeof(OBJSTORE_TEMP_PREFIX) + 16)
/* Deepest directory nesting a valid key can have ("a/a/a/..."). */
#define DEPTH_MAX (OBJSTORE_KEY_MAX / 2 + 1)

struct objstore_backend {
    int root_fd;       /* O_DIRECTORY descriptor of the root, owned */
    atomic_int broken; /* nonzero after a failed fsync of a published change */
};

static int errno_err(tarn_err *err, int e, const char *what, const char *name)
{
    return tarn_err_set(err, tarn_err_from_errno(e), "%s \"%s\": %s", what, name, strerror(e));
}

static int check_usable(objstore_backend *be, tarn_err *err)
{
    if (atomic_load(&be->broken))
        return tarn_err_set(err, TARN_ESTATE,
                            "an earlier directory fsync failed; reopen the store");
    return 0;
}

/* ---- path walking -------------------------------------------------------- */

/* Why `name` in dirfd could not be opened as a directory. */
static int classify_bad_dir(int dirfd, const char *name, int e, int creating, tarn_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return tarn_err_set(err, TARN_EFORBIDDEN,
                                "\"%s\" is a symbolic link; links are not followed", name);
        if (!S_ISDIR(st.st_mode))
            return creating ? tarn_err_set(err, TARN_ECONFLICT,
                                           "\"%s\" is an object, not a directory", name)
                            : tarn_err_set(err, TARN_ENOENT, "\"%s\" is not a directory", name);
    }
    return errno_err(err, e, "open directory", name);
}

/* Opens (creating when asked) one directory segment below dirfd. */
static int open_segment(int dirfd, const char *seg, int create, int *fd_out, tarn_err *err)
{
    int fd = openat(dirfd, seg, DIR_FLAGS);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dirfd, seg, 0755) != 0 && errno != EEXIST)
            return errno_err(err, errno, "create directory", seg);
        /* The new entry must be durable before anything below it is. */
        if (fsync(dirfd) != 0)
            return errno_err(err, errno, "fsync directory holding", seg);
        fd = openat(dirfd, seg, DIR_FLAGS);
    }
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return tarn_err_set(err, TARN_ENOENT, "directory \"%s\" does not exist", seg);
        return classify_bad_dir(dirfd, seg, e, create, err);
    }
    *fd_out = fd;
    return 0;
}

/*
 * Opens the directory that holds `key` (checked), creating missing ones
 * when `create`. On success *dirfd_out is an owned descriptor and *leaf
 * points into `scratch` (OBJSTORE_KEY_MAX + 1 bytes) at the last segment.
 */
static int walk_parent(objstore_backend *be, const char *key, int create, char *scratch,
                       int *dirfd_out, const char **leaf, tarn_err *err)
{
    size_t len = strlen(key);
    TARN_ASSERT(len <= OBJSTORE_KEY_MAX);
    memcpy(scratch, key, len + 1);
    int cur = openat(be->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return errno_err(err, errno, "open root", ".");
    char *seg = scratch;
    char *slash;
    while ((slash = strchr(seg, '/')) != NULL) {
        *slash = '\0';
        int next = -1;
        int rc = open_segment(cur, seg, create, &next, err);
        close(cur);
        if (rc != 0)
            return rc;
        cur = next;
        seg = slash + 1;
    }
    *dirfd_out = cur;
    *leaf = seg;
    return 0;
}

/* ---- put ----------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates, fills and fsyncs a temp file in dirfd; its name goes to tmp. */
static int temp_write(int dirfd, const void *data, size_t len, char *tmp, tarn_err *err)
{
    uint8_t rnd[8];
    int rc = tarn_entropy_bytes(rnd, sizeof(rnd));
    if (rc != 0)
        return tarn_err_set(err, rc, "temp file name: no entropy");
    int n = snprintf(tmp, TEMP_NAME_MAX, "%s", OBJSTORE_TEMP_PREFIX);
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(tmp + n, TEMP_NAME_MAX - (size_t)n, "%02x", rnd[i]);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno_err(err, errno, "create temp file", tmp);
    int e = write_all(fd, data, len);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0) {
        unlinkat(dirfd, tmp, 0); /* best effort: a failed unlink leaves a stale temp for sweep */
        return errno_err(err, e, "write temp file", tmp);
    }
    return 0;
}

/* Publishes tmp as leaf; the temp name is gone afterwards in every case. */
static int publish(int dirfd, const char *tmp, const char *leaf, objstore_put_mode mode,
                   tarn_err *err)
{
    int rc = 0;
    if (mode == OBJSTORE_PUT_REPLACE) {
        if (renameat(dirfd, tmp, dirfd, leaf) == 0)
            return 0;
        int e = errno;
        if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
            rc = tarn_err_set(err, TARN_ECONFLICT, "\"%s\" is a directory of other keys", leaf);
        else
            rc = errno_err(err, e, "rename temp file onto", leaf);
    } else {
        if (linkat(dirfd, tmp, dirfd, leaf, 0) != 0) {
            int e = errno;
            struct stat st;
            if (e == EEXIST && fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(st.st_mode))
                rc = tarn_err_set(err, TARN_ECONFLICT, "\"%s\" is a directory of other keys", leaf);
            else if (e == EEXIST)
                rc = tarn_err_set(err, TARN_EEXIST, "\"%s\" already exists", leaf);
            else
                rc = errno_err(err, e, "link temp file to", leaf);
        }
    }
    /* After a rename the temp name is gone; after link or a failure it is
     * still there. Failing to remove it only leaves work for the sweep. */
    unlinkat(dirfd, tmp, 0);
    return rc;
}

static int file_put(objstore_backend *be, const char *key, const void *data, size_t len,
                    objstore_put_mode mode, tarn_err *err)
{
    char scratch[OBJSTORE_KEY_MAX + 1];
    char tmp[TEMP_NAME_MAX];
    const char *leaf = NULL;
    int dirfd = -1;
    int rc = check_usable(be, err);
    if (rc == 0)
        rc = walk_parent(be, key, 1, scratch, &dirfd, &leaf, err);
    if (rc == 0 && strlen(leaf) > NAME_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "segment longer than %d bytes", NAME_MAX);
    if (rc == 0)
        rc = temp_write(dirfd, data, len, tmp, err);
    if (rc == 0)
        rc = publish(dirfd, tmp, leaf, mode, err);
    if (rc == 0 && fsync(dirfd) != 0) {
        /* The object is visible but may not survive a crash, and the page
         * cache's state is unknown: refuse further work (STYLE: sticky
         * failure). */
        atomic_store(&be->broken, 1);
        rc = errno_err(err, errno, "fsync directory of", leaf);
    }
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* ---- read, head, del ----------------------------------------------------- */

/* Opens `key` for reading; *fd_out owned, *st_out its stat. */
static int open_object(objstore_backend *be, const char *key, int *fd_out, struct stat *st_out,
                       tarn_err *err)
{
    char scratch[OBJSTORE_KEY_MAX + 1];
    const char *leaf = NULL;
    int dirfd = -1;
    int fd = -1;
    int rc = check_usable(be, err);
    if (rc == 0)
        rc = walk_parent(be, key, 0, scratch, &dirfd, &leaf, err);
    if (rc != 0)
        return rc;
    /* O_NONBLOCK: a FIFO planted in the root must not hang the reader. */
    fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            rc = tarn_err_set(err, TARN_EFORBIDDEN,
                              "\"%s\" is a symbolic link; links are not followed", leaf);
        else if (e == ENOENT)
            rc = tarn_err_set(err, TARN_ENOENT, "no such object");
        else
            rc = errno_err(err, e, "open", leaf);
    } else if (fstat(fd, st_out) != 0) {
        rc = errno_err(err, errno, "stat", leaf);
    } else if (!S_ISREG(st_out->st_mode)) {
        rc = tarn_err_set(err, TARN_ENOENT, "no such object (\"%s\" is not a file)", leaf);
    }
    close(dirfd);
    if (rc != 0 && fd >= 0)
        close(fd);
    if (rc == 0)
        *fd_out = fd;
    return rc;
}

/* Reads n bytes at offset into out (room reserved), stopping early at EOF. */
static int pread_into(int fd, uint64_t offset, size_t n, tarn_buf *out, tarn_err *err)
{
    int rc = tarn_buf_reserve(out, n);
    if (rc != 0)
        return tarn_err_set(err, rc, "buffer for %zu bytes", n);
    while (n > 0) {
        ssize_t got = pread(fd, out->data + out->len, n, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno_err(err, errno, "read", "object");
        if (got == 0)
            break; /* shrunk under us (written in place by someone else) */
        out->len += (size_t)got;
        offset += (uint64_t)got;
        n -= (size_t)got;
    }
    out->data[out->len] = '\0';
    return 0;
}

static int file_read(objstore_backend *be, const char *key, uint64_t offset, size_t len, int whole,
                     tarn_buf *out, tarn_err *err)
{
    struct stat st;
    int fd = -1;
    size_t before = out->len;
    int was_empty = out->data == NULL;
    int rc = open_object(be, key, &fd, &st, err);
    if (rc != 0)
        return rc;
    uint64_t size = (uint64_t)st.st_size;
    size_t n = 0;
    if (whole && size > len)
        rc = tarn_err_set(err, TARN_ETOOBIG, "object of %llu bytes is over the %zu-byte limit",
                          (unsigned long long)size, len);
    else if (whole)
        n = (size_t)size;
    else if (offset > size)
        rc = tarn_err_set(err, TARN_ERANGE, "offset %llu is past the end (%llu bytes)",
                          (unsigned long long)offset, (unsigned long long)size);
    else
        n = (size - offset < len) ? (size_t)(size - offset) : len;
    if (rc == 0)
        rc = pread_into(fd, whole ? 0 : offset, n, out, err);
    close(fd);
    if (rc != 0) {
        /* Leave the caller's buffer as it was, allocation included. */
        if (was_empty)
            tarn_buf_free(out);
        else if (out->data != NULL) {
            out->len = before;
            out->data[before] = '\0';
        }
    }
    return rc;
}

static int file_head(objstore_backend *be, const char *key, objstore_info *out, tarn_err *err)
{
    struct stat st;
    int fd = -1;
    int rc = open_object(be, key, &fd, &st, err);
    if (rc != 0)
        return rc;
    close(fd);
    out->size_bytes = (uint64_t)st.st_size;
    out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return 0;
}

static int file_del(objstore_backend *be, const char *key, tarn_err *err)
{
    char scratch[OBJSTORE_KEY_MAX + 1];
    const char *leaf = NULL;
    int dirfd = -1;
    struct stat st;
    int rc = check_usable(be, err);
    if (rc == 0)
        rc = walk_parent(be, key, 0, scratch, &dirfd, &leaf, err);
    if (rc == TARN_ENOENT) {
        tarn_err_clear(err);
        return 0; /* missing: success, as in S3 */
    }
    if (rc != 0)
        return rc;
    /* A directory is not an object: there is nothing to delete. A symbolic
     * link is unlinked itself, never followed. */
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd, leaf, 0) != 0 && errno != ENOENT)
            rc = errno_err(err, errno, "unlink", leaf);
        else if (fsync(dirfd) != 0) {
            atomic_store(&be->broken, 1);
            rc = errno_err(err, errno, "fsync directory of", leaf);
        }
    }
    close(dirfd);
    return rc;
}

/* ---- open / close -------------------------------------------------------- */

/* mkdir -p, fsyncing the parent of every directory it creates. `path` is
 * absolute and writable scratch (restored before returning). */
static int mkdir_parents(char *path, tarn_err *err)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        if (p[-1] == '/') { /* empty component: "/", "a//b", "a/" */
            if (*p == '\0')
                return 0;
            continue;
        }
        char c = *p;
        *p = '\0';
        int rc = 0;
        if (mkdir(path, 0755) == 0) {
            char *slash = strrchr(path, '/');
            *slash = '\0';
            int pfd = open(slash == path ? "/" : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            *slash = '/';
            if (pfd < 0 || fsync(pfd) != 0)
                rc = errno_err(err, errno, "fsync parent of", path);
            if (pfd >= 0)
                close(pfd);
        } else if (errno != EEXIST) {
            rc = errno_err(err, errno, "create directory", path);
        }
        *p = c;
        if (rc != 0 || c == '\0')
            return rc;
    }
}

static void file_close(objstore_backend *be)
{
    close(be->root_fd);
    tarn_free(be);
}

static int file_list(objstore_backend *be, const char *prefix, const char *start_after,
                     size_t max_keys, objstore_list_page *out, tarn_err *err);
static int file_temp_sweep(objstore_backend *be, int64_t older_than_s, size_t *removed,
                           tarn_err *err);

static const objstore_backend_ops file_ops = {
    .name = "file",
    .close = file_close,
    .put = file_put,
    .read = file_read,
    .head = file_head,
    .del = file_del,
    .list = file_list,
    .temp_sweep = file_temp_sweep,
};

int objstore_file_open(const char *path, const objstore_backend_ops **ops_out,
                       objstore_backend **be_out, char **url_out, tarn_err *err)
{
    char scratch[PATH_MAX];
    char *real = NULL;
    char *url = NULL;
    objstore_backend *be = NULL;
    size_t plen = strlen(path);
    TARN_ASSERT(path[0] == '/');
    TARN_ASSERT(plen < sizeof(scratch));
    memcpy(scratch, path, plen + 1);
    int rc = mkdir_parents(scratch, err);
    if (rc == 0 && (real = realpath(path, NULL)) == NULL)
        rc = errno_err(err, errno, "resolve", path);
    if (rc == 0 && (be = tarn_calloc(1, sizeof(*be))) == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "allocate file backend");
    if (rc == 0 && (url = tarn_malloc(strlen(real) + 8)) == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "allocate URL");
    if (rc != 0)
        goto fail;
    snprintf(url, strlen(real) + 8, "file://%s", real);
    be->root_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (be->root_fd < 0) {
        rc = errno_err(err, errno, "open root", real);
        goto fail;
    }
    free(real); /* from realpath: libc's allocator */
    *ops_out = &file_ops;
    *be_out = be;
    *url_out = url;
    return 0;
fail:
    tarn_free(url);
    tarn_free(be);
    free(real);
    return rc;
}

/* ---- list and sweep: a depth-first walk in key byte order ----------------
 *
 * Keys sort byte-wise, and '/' (0x2F) sorts between other bytes: "a.c" <
 * "a/b" < "a0". So each directory's entries are sorted with a '/' appended
 * to directory names, and the walk descends into a directory at that
 * position; the keys then come out in byte order. Recursion depth follows
 * the input, so the walk keeps an explicit stack bounded by DEPTH_MAX.
 */

typedef struct dir_level {
    DIR *dir;
    tarn_buf arena; /* the names, NUL-separated */
    char **names;   /* `count` pointers into arena, sorted; dirs end in '/' */
    size_t count;
    size_t next;     /* index of the next entry to visit */
    size_t path_len; /* bytes of the key path before this directory's names */
} dir_level;

/* Called for each file in key order; sets *stop to end the walk early. */
typedef int (*walk_visit_fn)(void *ctx, int dirfd, const char *name, const char *key, int *stop,
                             tarn_err *err);

typedef struct walk_opts {
    const char *name_prefix; /* filter on the first level's names */
    const char *start_after; /* "" or a bound: skip keys <= it */
    int temps;               /* 1: visit temp files only; 0: objects only */
    walk_visit_fn visit;
    void *ctx;
} walk_opts;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether a directory entry is kept, and as which type. */
static int entry_keep(DIR *d, const struct dirent *de, const walk_opts *o, int top, int *is_dir)
{
    const char *name = de->d_name;
    size_t len = strlen(name);
    unsigned char type = de->d_type;
    struct stat st;
    if (type == DT_UNKNOWN && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    if (type != DT_DIR && type != DT_REG)
        return 0; /* links, FIFOs, sockets are never objects */
    *is_dir = type == DT_DIR;
    size_t tl = strlen(OBJSTORE_TEMP_PREFIX);
    int temp = len >= tl && memcmp(name, OBJSTORE_TEMP_PREFIX, tl) == 0;
    if (o->temps && !*is_dir && temp)
        return 1;
    if (!objstore_segment_ok(name, len) || (o->temps && !*is_dir))
        return 0;
    return !top || strncmp(name, o->name_prefix, strlen(o->name_prefix)) == 0;
}

/* Reads every kept entry of lv->dir, then sorts them. */
static int level_read(dir_level *lv, const walk_opts *o, int top, tarn_err *err)
{
    size_t *offs = NULL;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    tarn_buf_init(&lv->arena, TARN_BUF_UNBOUNDED);
    for (errno = 0; rc == 0 && (de = readdir(lv->dir)) != NULL; errno = 0) {
        int is_dir = 0;
        if (!entry_keep(lv->dir, de, o, top, &is_dir))
            continue;
        if (lv->count == OBJSTORE_DIR_ENTRIES_MAX) {
            rc = tarn_err_set(err, TARN_ETOOBIG, "directory has more than %u entries",
                              OBJSTORE_DIR_ENTRIES_MAX);
            break;
        }
        if (lv->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            size_t *n = tarn_realloc(offs, ncap * sizeof(*offs));
            if (n == NULL) {
                rc = tarn_err_set(err, TARN_ENOMEM, "directory listing");
                break;
            }
            offs = n;
            cap = ncap;
        }
        offs[lv->count] = lv->arena.len;
        rc = tarn_buf_append_str(&lv->arena, de->d_name);
        if (rc == 0 && is_dir)
            rc = tarn_buf_append_byte(&lv->arena, '/');
        if (rc == 0)
            rc = tarn_buf_append_byte(&lv->arena, '\0');
        if (rc != 0)
            rc = tarn_err_set(err, rc, "directory listing");
        else
            lv->count++;
    }
    if (rc == 0 && errno != 0)
        rc = errno_err(err, errno, "read directory", "");
    if (rc == 0 && lv->count > 0 &&
        (lv->names = tarn_malloc_array(lv->count, sizeof(char *))) == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "directory listing");
    for (size_t i = 0; rc == 0 && i < lv->count; i++)
        lv->names[i] = (char *)lv->arena.data + offs[i];
    if (rc == 0 && lv->count > 0)
        qsort(lv->names, lv->count, sizeof(char *), cmp_names);
    tarn_free(offs);
    return rc;
}

static void level_free(dir_level *lv)
{
    if (lv->dir != NULL)
        closedir(lv->dir);
    tarn_free(lv->names);
    tarn_buf_free(&lv->arena);
    memset(lv, 0, sizeof(*lv));
}

/* Opens directory fd (ownership taken) as a new level. */
static int level_push(dir_level *lv, int fd, size_t path_len, const walk_opts *o, int top,
                      tarn_err *err)
{
    memset(lv, 0, sizeof(*lv));
    lv->path_len = path_len;
    lv->dir = fdopendir(fd);
    if (lv->dir == NULL) {
        int e = errno;
        close(fd);
        return errno_err(err, e, "open directory", "");
    }
    int rc = level_read(lv, o, top, err);
    if (rc != 0)
        level_free(lv);
    return rc;
}

/* Whether keys below directory path `dir` (ending in '/') can sort after
 * start_after: yes when it lies inside the directory or before it. */
static int dir_may_follow(const char *dir, size_t len, const char *start_after)
{
    if (strncmp(start_after, dir, len) == 0)
        return 1;
    return strcmp(dir, start_after) > 0;
}

/* Descends into directory entry `name` (ends in '/') of lv. A directory
 * that vanished or became a link meanwhile is skipped (*pushed = 0). */
static int walk_descend(dir_level *lv, dir_level *child, const char *name, size_t path_len,
                        const walk_opts *o, int *pushed, tarn_err *err)
{
    char seg[NAME_MAX + 2];
    size_t len = strlen(name);
    *pushed = 0;
    TARN_ASSERT(len >= 2 && len - 1 <= NAME_MAX);
    memcpy(seg, name, len - 1);
    seg[len - 1] = '\0';
    int fd = openat(dirfd(lv->dir), seg, DIR_FLAGS);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        return 0;
    if (fd < 0)
        return errno_err(err, errno, "open directory", seg);
    int rc = level_push(child, fd, path_len, o, 0, err);
    *pushed = rc == 0;
    return rc;
}

/* The walk below dirfd (ownership taken), whose key path is key[0..len). */
static int walk_tree(int fd, char *key, size_t len, const walk_opts *o, tarn_err *err)
{
    dir_level *lv = tarn_calloc(DEPTH_MAX, sizeof(*lv));
    size_t depth = 0;
    int stop = 0;
    int rc = lv ? 0 : tarn_err_set(err, TARN_ENOMEM, "walk stack");
    if (rc != 0)
        close(fd);
    if (rc == 0 && (rc = level_push(&lv[0], fd, len, o, 1, err)) == 0)
        depth = 1;
    while (rc == 0 && depth > 0 && !stop) {
        dir_level *top = &lv[depth - 1];
        if (top->next == top->count) {
            level_free(top);
            depth--;
            continue;
        }
        const char *name = top->names[top->next++];
        size_t nlen = strlen(name);
        if (top->path_len + nlen > OBJSTORE_KEY_MAX)
            continue; /* no valid key lies there */
        memcpy(key + top->path_len, name, nlen + 1);
        size_t klen = top->path_len + nlen;
        if (name[nlen - 1] != '/') {
            if (strcmp(key, o->start_after) > 0)
                rc = o->visit(o->ctx, dirfd(top->dir), name, key, &stop, err);
            continue;
        }
        if (!dir_may_follow(key, klen, o->start_after) || depth == DEPTH_MAX)
            continue;
        int pushed = 0;
        rc = walk_descend(top, &lv[depth], name, klen, o, &pushed, err);
        depth += (size_t)pushed;
    }
    while (depth > 0)
        level_free(&lv[--depth]);
    tarn_free(lv);
    return rc;
}

/* Opens the directory part of `prefix` and walks below it. */
static int walk_prefix(objstore_backend *be, const char *prefix, walk_opts *o, tarn_err *err)
{
    char scratch[OBJSTORE_KEY_MAX + 1];
    char key[OBJSTORE_KEY_MAX + 2];
    const char *leaf = NULL;
    int dirfd = -1;
    int rc = check_usable(be, err);
    if (rc == 0)
        rc = walk_parent(be, prefix, 0, scratch, &dirfd, &leaf, err);
    if (rc == TARN_ENOENT) {
        tarn_err_clear(err);
        return 0; /* nothing under a missing directory */
    }
    if (rc != 0)
        return rc;
    size_t dir_len = (size_t)(leaf - scratch);
    memcpy(key, prefix, dir_len);
    key[dir_len] = '\0';
    o->name_prefix = prefix + dir_len;
    return walk_tree(dirfd, key, dir_len, o, err);
}

typedef struct list_ctx {
    objstore_list_page *page;
    size_t max_keys;
} list_ctx;

static int list_visit(void *ctx, int dirfd, const char *name, const char *key, int *stop,
                      tarn_err *err)
{
    list_ctx *c = ctx;
    objstore_list_page *p = c->page;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return 0; /* deleted or replaced while we listed: not there */
    if (p->count == c->max_keys) {
        *stop = 1;
        p->truncated = 1;
        p->next_start_after = tarn_strdup(p->entries[p->count - 1].key);
        return p->next_start_after ? 0 : tarn_err_set(err, TARN_ENOMEM, "list token");
    }
    if (p->entries == NULL && (p->entries = tarn_calloc(c->max_keys, sizeof(*p->entries))) == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "list page");
    char *k = tarn_strdup(key);
    if (k == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "list key");
    p->entries[p->count].key = k;
    p->entries[p->count].size_bytes = (uint64_t)st.st_size;
    p->count++;
    return 0;
}

static int file_list(objstore_backend *be, const char *prefix, const char *start_after,
                     size_t max_keys, objstore_list_page *out, tarn_err *err)
{
    TARN_ASSERT(max_keys >= 1);
    TARN_ASSERT(max_keys <= OBJSTORE_LIST_MAX);
    list_ctx c = {.page = out, .max_keys = max_keys};
    walk_opts o = {.start_after = start_after, .visit = list_visit, .ctx = &c};
    return walk_prefix(be, prefix, &o, err);
}

typedef struct sweep_ctx {
    int64_t cutoff_ms; /* temp files last modified before this go */
    size_t removed;
} sweep_ctx;

static int sweep_visit(void *ctx, int dirfd, const char *name, const char *key, int *stop,
                       tarn_err *err)
{
    sweep_ctx *c = ctx;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return 0;
    int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (mtime_ms >= c->cutoff_ms)
        return 0; /* a writer may still be filling it */
    if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
        return errno_err(err, errno, "remove temp file", key);
    c->removed++;
    return 0;
}

static int file_temp_sweep(objstore_backend *be, int64_t older_than_s, size_t *removed,
                           tarn_err *err)
{
    sweep_ctx c = {.cutoff_ms = tarn_wall_ms() - older_than_s * 1000};
    walk_opts o = {.start_after = "", .temps = 1, .visit = sweep_visit, .ctx = &c};
    int rc = walk_prefix(be, "", &o, err);
    *removed = c.removed;
    return rc;
}
