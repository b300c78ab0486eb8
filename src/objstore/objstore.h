/*
 * objstore/objstore.h: the object-store interface every table, shuffle and
 * log file goes through. Backends: `file://` (a local directory) now; S3
 * comes with distributed execution and plugs in behind the same calls.
 * Design note and on-disk layout: src/objstore/README.md.
 *
 * Contract, for every backend:
 *   1. A reader sees either the whole previous object or the whole new one,
 *      never a partial object (put publishes atomically).
 *   2. put_if_absent: of several concurrent writers of one key, exactly one
 *      succeeds; the others get TARN_EEXIST. The Delta log relies on this.
 *   3. A put that returned 0 is durable (survives a crash of the machine).
 *   4. list returns keys in byte order; an object whose put returned before
 *      the list started is listed, one whose delete returned is not.
 *   5. Keys are untrusted input: a bad key is TARN_EINVAL, never an escape
 *      from the root (see objstore_key_check).
 *
 * Errors: every call returns 0 or a negative TARN_E* code and, when `err`
 * is not NULL, fills it with a message naming the key.
 *
 * Threads: one handle may be used by any number of threads at once; it is
 * immutable after open. objstore_close must not race with other calls on
 * the same handle.
 */
#ifndef TARN_OBJSTORE_OBJSTORE_H
#define TARN_OBJSTORE_OBJSTORE_H

#include "base/buf.h"
#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

/* Longest key, in bytes (S3's own limit). */
#define OBJSTORE_KEY_MAX 1024
/* Most keys one list call returns. */
#define OBJSTORE_LIST_MAX 1000
/* Segments of a key starting with this are the store's own temp files:
 * refused as keys, never listed. */
#define OBJSTORE_TEMP_PREFIX ".tarn-tmp-"

typedef struct objstore objstore;

/*
 * Opens a store. `url` (borrowed) is `file:///abs/dir`, `file://localhost/
 * abs/dir` or a plain path (a relative path is resolved against the working
 * directory now). The root directory is created, with its parents, when
 * missing. The URL is taken literally (no percent-decoding).
 * Errors: TARN_EINVAL (malformed URL, unknown scheme), TARN_ENOTSUP (s3://:
 * S3 comes with distributed execution), TARN_ENOMEM, and the code of a
 * failed mkdir/open (TARN_EFORBIDDEN, TARN_ENOENT, TARN_EIO ...).
 * On success *out owns the handle (free with objstore_close); on error
 * *out is NULL and nothing needs freeing.
 */
int objstore_open(const char *url, objstore **out, tarn_err *err);

/* Closes a store; accepts NULL; cannot fail. No call may be in flight. */
void objstore_close(objstore *os);

/* The normalised root URL ("file:///abs/dir", no trailing slash, symlinks
 * in the root path resolved). Borrowed; valid until objstore_close. */
const char *objstore_url(const objstore *os);

/*
 * Checks a key without touching the store: TARN_EINVAL, with a message
 * saying why, when it is empty, longer than OBJSTORE_KEY_MAX, contains NUL
 * (within `len`) or a backslash, starts with '/', has an empty segment
 * ("a//b", "a/"), a "." or ".." segment, or a segment starting with
 * OBJSTORE_TEMP_PREFIX. Every operation below applies it.
 */
int objstore_key_check(const char *key, size_t len, tarn_err *err);

/*
 * Stores `len` bytes (borrowed) under `key`, replacing any object there.
 * Atomic and durable (contract 1 and 3). Errors: TARN_EINVAL (bad key),
 * TARN_ECONFLICT (the file backend cannot hold both "a" and "a/b": a key
 * that is a prefix directory of other keys, or has an object as a parent),
 * TARN_EFORBIDDEN (a symbolic link in the path), TARN_ETOOBIG (disk full),
 * TARN_EIO, TARN_ENOMEM.
 */
int objstore_put(objstore *os, const char *key, const void *data, size_t len, tarn_err *err);

/*
 * Like objstore_put, but only when no object is stored under `key`:
 * TARN_EEXIST when one is (the stored object is left as it was). Exactly
 * one of several concurrent writers wins (contract 2).
 */
int objstore_put_if_absent(objstore *os, const char *key, const void *data, size_t len,
                           tarn_err *err);

/*
 * Appends the whole object to `out` (initialised by the caller; its own
 * max_bytes applies too). TARN_ENOENT when missing, TARN_ETOOBIG when the
 * object is larger than `max_bytes`, TARN_EFORBIDDEN for a symbolic link,
 * TARN_EINVAL, TARN_EIO, TARN_ENOMEM. On error `out` holds what it held
 * before.
 */
int objstore_get(objstore *os, const char *key, size_t max_bytes, tarn_buf *out, tarn_err *err);

/*
 * Appends bytes [offset, offset+len) of the object to `out`, clipped at the
 * end of the object: offset == size gives zero bytes, offset > size is
 * TARN_ERANGE. Other errors as objstore_get.
 */
int objstore_get_range(objstore *os, const char *key, uint64_t offset, size_t len, tarn_buf *out,
                       tarn_err *err);

typedef struct objstore_info {
    uint64_t size_bytes;
    int64_t mtime_ms; /* last modification, ms since the Unix epoch */
} objstore_info;

/* Size and modification time. TARN_ENOENT when missing; errors as get. */
int objstore_head(objstore *os, const char *key, objstore_info *out, tarn_err *err);

/*
 * Deletes the object. Deleting a missing key succeeds, as in S3, so that a
 * retried delete is harmless. The deletion is durable when this returns 0.
 * Errors: TARN_EINVAL, TARN_EFORBIDDEN, TARN_EIO.
 */
int objstore_del(objstore *os, const char *key, tarn_err *err);

typedef struct objstore_list_entry {
    char *key;           /* owned by the page */
    uint64_t size_bytes; /* size when listed */
} objstore_list_entry;

typedef struct objstore_list_page {
    objstore_list_entry *entries; /* `count` entries in byte order, owned */
    size_t count;
    int truncated;          /* nonzero: more keys follow; ask again */
    char *next_start_after; /* when truncated: pass as start_after; else NULL */
} objstore_list_page;

/*
 * Lists the keys that start with `prefix` ("" or NULL: all; it may end in
 * '/' or stop inside a segment, "tables/t/_delta_log/0000") and sort after
 * `start_after` (NULL or "": from the first), at most `max_keys` of them
 * (0 or more than OBJSTORE_LIST_MAX means OBJSTORE_LIST_MAX). Only objects
 * are listed: never directories, temp files or symbolic links.
 * Consistency: contract 4; keys written or deleted during the call may or
 * may not appear. `*out` is overwritten; free it with
 * objstore_list_page_free, also after an error (it is then empty).
 * Errors: TARN_EINVAL (bad prefix or start_after), TARN_EFORBIDDEN (a
 * symbolic link in the prefix's directory part), TARN_ETOOBIG (a
 * directory with more than OBJSTORE_DIR_ENTRIES_MAX entries), TARN_EIO,
 * TARN_ENOMEM.
 */
int objstore_list(objstore *os, const char *prefix, const char *start_after, size_t max_keys,
                  objstore_list_page *out, tarn_err *err);

/* Frees what a page owns and leaves it empty; accepts NULL. */
void objstore_list_page_free(objstore_list_page *page);

/* Most entries read from one directory while listing. */
#define OBJSTORE_DIR_ENTRIES_MAX (1u << 20)

/*
 * Removes temp files older than `older_than_s` seconds that crashed or
 * killed writers left behind (a live writer's temp file is younger). Walks
 * the whole store. *removed_out (may be NULL) gets the count.
 * Errors: TARN_EINVAL (negative age), TARN_EIO, TARN_ENOMEM, TARN_ETOOBIG
 * as objstore_list. Safe to run while other threads use the handle.
 */
int objstore_temp_sweep(objstore *os, int64_t older_than_s, size_t *removed_out, tarn_err *err);

#endif
