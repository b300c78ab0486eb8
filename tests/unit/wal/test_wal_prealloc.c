/* Tests of wal/ segment preallocation (src/wal/segment.c): every byte of a
 * segment file is written (zeros) and synced before the file gets its
 * name, through the vfs seam, with the spare prepared on the background
 * thread and inline; the spare is what rollovers use; a record larger than
 * a segment, a failed spare and a close during preparation fall back or
 * stop cleanly; directories written in each preallocation mode read back
 * in the others; on a filesystem that reports extents (FIEMAP), a segment
 * has no unwritten extent while the old fallocate-only mode has some. */
#define _GNU_SOURCE
#include "fault_vfs.h"
#include "wal_test_util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_SIZE (64 * 1024)
#define FILES    32

/* ---- a vfs over the real disk that records which bytes of each file
 * were written, and whether they were synced since ---- */
typedef struct rec_file {
    char path[4096];
    int fd; /* -1: closed */
    uint8_t *covered;
    size_t covered_len;
    int written_since_sync;
} rec_file;

typedef struct rec_vfs {
    wal_vfs vfs;
    const wal_vfs *base;
    pthread_mutex_t mu;
    rec_file files[FILES];
    int renames_checked;
    int renames_bad; /* a file renamed to *.wal with a byte never written or unsynced */
    int zero_writes; /* pwrites of all zeros */
    pthread_t threads[2];
    int nthreads; /* distinct threads that wrote zeros */
} rec_vfs;

static rec_file *rv_file(rec_vfs *r, int fd)
{
    for (int i = 0; i < FILES; i++)
        if (r->files[i].fd == fd)
            return &r->files[i];
    return NULL;
}

static int rv_open(void *ctx, const char *path, int flags, int *fd_out)
{
    rec_vfs *r = ctx;
    int rc = r->base->open(r->base->ctx, path, flags, fd_out);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    rec_file *f = rv_file(r, -1);
    assert_non_null(f);
    snprintf(f->path, sizeof(f->path), "%s", path);
    f->fd = *fd_out;
    f->written_since_sync = 0;
    if (f->covered != NULL) /* a new file, or one whose bytes we did not see written */
        memset(f->covered, 0, f->covered_len);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static int rv_close(void *ctx, int fd)
{
    rec_vfs *r = ctx;
    pthread_mutex_lock(&r->mu);
    rec_file *f = rv_file(r, fd);
    if (f != NULL)
        f->fd = -1;
    pthread_mutex_unlock(&r->mu);
    return r->base->close(r->base->ctx, fd);
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static int rv_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    rec_vfs *r = ctx;
    int rc = r->base->pwrite(r->base->ctx, fd, buf, len, off);
    pthread_mutex_lock(&r->mu);
    rec_file *f = rv_file(r, fd);
    if (rc == 0 && f != NULL) {
        if (off + len > f->covered_len) {
            size_t n = (size_t)(off + len) * 2;
            f->covered = realloc(f->covered, n);
            memset(f->covered + f->covered_len, 0, n - f->covered_len);
            f->covered_len = n;
        }
        memset(f->covered + off, 1, len);
        f->written_since_sync = 1;
        if (is_zero(buf, len)) {
            r->zero_writes++;
            pthread_t me = pthread_self();
            int known = 0;
            for (int i = 0; i < r->nthreads; i++)
                known |= pthread_equal(r->threads[i], me);
            if (!known && r->nthreads < 2)
                r->threads[r->nthreads++] = me;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int rv_sync(void *ctx, int fd, int data_only)
{
    rec_vfs *r = ctx;
    int rc = data_only ? r->base->fdatasync(r->base->ctx, fd) : r->base->fsync(r->base->ctx, fd);
    pthread_mutex_lock(&r->mu);
    rec_file *f = rv_file(r, fd);
    if (rc == 0 && f != NULL)
        f->written_since_sync = 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int rv_fsync(void *ctx, int fd)
{
    return rv_sync(ctx, fd, 0);
}

static int rv_fdatasync(void *ctx, int fd)
{
    return rv_sync(ctx, fd, 1);
}

/* A segment gets its name: all its bytes must have been written through
 * pwrite and synced by then. */
static int rv_rename(void *ctx, const char *from, const char *to)
{
    rec_vfs *r = ctx;
    pthread_mutex_lock(&r->mu);
    rec_file *f = NULL;
    for (int i = 0; i < FILES && f == NULL; i++)
        if (r->files[i].fd >= 0 && strcmp(r->files[i].path, from) == 0)
            f = &r->files[i];
    struct stat st;
    int bad = f == NULL || stat(from, &st) != 0 || f->written_since_sync ||
              (size_t)st.st_size > f->covered_len ||
              memchr(f->covered, 0, (size_t)st.st_size) != NULL;
    r->renames_checked++;
    r->renames_bad += bad;
    if (f != NULL)
        snprintf(f->path, sizeof(f->path), "%s", to);
    pthread_mutex_unlock(&r->mu);
    return r->base->rename(r->base->ctx, from, to);
}

static void rec_vfs_init(rec_vfs *r, int thread_safe)
{
    memset(r, 0, sizeof(*r));
    r->base = wal_vfs_posix();
    r->vfs = *r->base;
    r->vfs.ctx = r;
    r->vfs.open = rv_open;
    r->vfs.close = rv_close;
    r->vfs.pwrite = rv_pwrite;
    r->vfs.fsync = rv_fsync;
    r->vfs.fdatasync = rv_fdatasync;
    r->vfs.rename = rv_rename;
    r->vfs.thread_safe = thread_safe;
    pthread_mutex_init(&r->mu, NULL);
    for (int i = 0; i < FILES; i++)
        r->files[i].fd = -1;
}

static void rec_vfs_destroy(rec_vfs *r)
{
    for (int i = 0; i < FILES; i++)
        free(r->files[i].covered);
    pthread_mutex_destroy(&r->mu);
}

typedef struct fx {
    char *dir;
    wal_opts opts;
    wt_model m;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("walp");
    f->opts.segment_size_bytes = SEG_SIZE;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static wal *open_check(fx *f)
{
    wal *w = NULL;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    if (wal_open(f->dir, &f->opts, &w, &r, &err) != 0)
        fail_msg("open: %s", tarn_err_msg(&err));
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
    return w;
}

/* Appends entries until `rolls` more segments exist, syncing each batch. */
static void append_rollovers(fx *f, wal *w, size_t rolls)
{
    size_t want = wal_segment_count(w) + rolls;
    tarn_err err = TARN_ERR_INIT;
    while (wal_segment_count(w) < want) {
        assert_int_equal(wt_append(w, &f->m, f->m.last_index + 1, 8, 1, 900, NULL), 0);
        assert_int_equal(wal_sync(w, &err), 0);
    }
}

static char *path_of(const char *dir, uint64_t seq, const char *suffix)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%016" PRIx64 "%s", dir, seq, suffix);
    return p;
}

/* Every segment made, through rollovers and at open, had all its bytes
 * written and synced before its rename; the zeros came from the preparer
 * thread (thread_safe vfs) or the caller's thread (not), and the rollovers
 * used the spare. */
static void fully_written_case(fx *f, int thread_safe)
{
    rec_vfs rv;
    rec_vfs_init(&rv, thread_safe);
    f->opts.vfs = &rv.vfs;
    wal *w = open_check(f);
    append_rollovers(f, w, 4);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.segments_created, 5); /* the first at open, then 4 */
    assert_int_equal(st.spares_used, 4);
    assert_true(st.bytes_zeroed >= 5 * (uint64_t)SEG_SIZE);
    wal_close(w);
    w = open_check(f); /* reads back as before; the old spare is replaced */
    append_rollovers(f, w, 1);
    wal_close(w);
    assert_int_equal(rv.renames_checked, 6);
    assert_int_equal(rv.renames_bad, 0);
    assert_true(rv.zero_writes >= 6);
    pthread_t me = pthread_self();
    int other = 0;
    for (int i = 0; i < rv.nthreads; i++)
        other |= !pthread_equal(rv.threads[i], me);
    assert_int_equal(other, thread_safe); /* spares on the preparer thread, or inline */
    f->opts.vfs = NULL;
    w = open_check(f);
    wal_close(w);
    /* Each segment file is as large as its header says and ends in zeros
     * (checked by recovery above); and no file is shorter than a segment. */
    for (uint64_t s = 1; s <= 6; s++) {
        struct stat sb;
        assert_int_equal(stat(path_of(f->dir, s, ".wal"), &sb), 0);
        assert_true(sb.st_size >= SEG_SIZE);
    }
    rec_vfs_destroy(&rv);
}

static void test_segments_fully_written_threaded(void **state)
{
    fully_written_case(*state, 1);
}

static void test_segments_fully_written_inline(void **state)
{
    fully_written_case(*state, 0);
}

/* The recording vfs catches a file renamed with bytes never written: the
 * old fallocate-only mode is one. */
static void test_fallocate_mode_is_caught(void **state)
{
    fx *f = *state;
    rec_vfs rv;
    rec_vfs_init(&rv, 1);
    f->opts.vfs = &rv.vfs;
    f->opts.prealloc = WAL_PREALLOC_FALLOCATE;
    wal *w = open_check(f);
    append_rollovers(f, w, 1);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.bytes_zeroed, 0);
    assert_int_equal(st.spares_used, 0);
    wal_close(w);
    assert_int_equal(rv.renames_checked, 2);
    assert_int_equal(rv.renames_bad, 2);
    rec_vfs_destroy(&rv);
}

/* Directories written in each mode read back in every other one (one
 * format), and appends go on. */
static void test_modes_read_each_other(void **state)
{
    fx *f = *state;
    static const wal_prealloc modes[] = {WAL_PREALLOC_FALLOCATE, WAL_PREALLOC_ZERO_AHEAD,
                                         WAL_PREALLOC_ZERO, WAL_PREALLOC_FALLOCATE,
                                         WAL_PREALLOC_ZERO_AHEAD};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        f->opts.prealloc = modes[i];
        wal *w = open_check(f);
        append_rollovers(f, w, 1);
        wal_hard_state hs = {.term = 1, .vote = 2, .commit = f->m.last_index};
        assert_int_equal(wt_append(w, &f->m, f->m.last_index + 1, 3, 1, 50, &hs), 0);
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(wal_sync(w, &err), 0);
        wal_close(w);
    }
    f->opts.prealloc = WAL_PREALLOC_ZERO_AHEAD;
    wal_close(open_check(f));
}

/* A record larger than a segment gets a larger file made on the spot (the
 * spare is the wrong size); the next rollover uses a spare again. */
static void test_large_record_falls_back(void **state)
{
    fx *f = *state;
    f->opts.segment_size_bytes = 8192; /* wt_check reads payloads below 64 KiB */
    wal *w = open_check(f);
    assert_int_equal(wt_append(w, &f->m, 1, 1, 1, 0, NULL), 0);
    size_t big = 3 * 8192;
    uint8_t *p = malloc(big);
    wt_fill(p, 2, 1, big);
    wal_entry e = {.index = 2, .term = 1, .data = p, .len = big, .type = wt_type(2, 1, big)};
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_append(w, &e, 1, NULL, &err), 0);
    free(p);
    f->m.terms[2] = 1;
    f->m.lens[2] = big;
    f->m.last_index = 2;
    assert_int_equal(wal_sync(w, &err), 0);
    assert_int_equal(wal_segment_count(w), 2);
    append_rollovers(f, w, 1);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_true(st.segments_created >= 3);
    assert_int_equal(st.segments_created - st.spares_used, 2); /* 1 at open, 2 the large one */
    wal_close(w);
    struct stat sb;
    assert_int_equal(stat(path_of(f->dir, 2, ".wal"), &sb), 0);
    assert_true(sb.st_size > (off_t)big);
    wal_close(open_check(f));
}

/* A spare that cannot be prepared is not a failure of the log: the
 * rollover makes the file itself (and fails only if that fails too). */
static void test_failed_spare_falls_back(void **state)
{
    fx *f = *state;
    fault_vfs fv;
    fault_vfs_init(&fv); /* not thread_safe: the spare is made inline, in order */
    f->opts.vfs = &fv.vfs;
    f->opts.segment_size_bytes = 4096;
    /* Opening an empty directory writes segment 1's zeros (1) and header
     * (2), then the spare's zeros (3): that one fails. */
    fv.fail_pwrite_at = 3;
    wal *w = open_check(f);
    assert_int_equal(fv.pwrites, 3);
    append_rollovers(f, w, 3);
    wal_stats st;
    wal_get_stats(w, &st);
    /* Segment 1 (at open) and segment 2 (the rollover, without a spare)
     * were made on the spot; every later one from a spare. */
    assert_true(st.segments_created >= 4);
    assert_int_equal(st.segments_created - st.spares_used, 2);
    wal_close(w);
    f->opts.vfs = NULL;
    wal_close(open_check(f));
    fault_vfs_destroy(&fv);
}

/* Closing while the preparer is zero-filling a large spare stops it (no
 * hang, no leak); the half-made .wal.tmp is replaced at the next open and
 * the log goes on. */
static void test_close_during_preparation(void **state)
{
    fx *f = *state;
    f->opts.segment_size_bytes = 16u << 20;
    for (int i = 0; i < 2; i++) {
        wal *w = open_check(f);
        wal_close(w); /* at once: the spare for segment 2 is being written */
    }
    wal *w = open_check(f);
    assert_int_equal(wt_append(w, &f->m, 1, 3, 1, 100, NULL), 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_sync(w, &err), 0);
    wal_close(w);
    wal_close(open_check(f));
}

static void test_bad_mode_refused(void **state)
{
    fx *f = *state;
    f->opts.prealloc = (wal_prealloc)7;
    wal *w = NULL;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), TARN_EINVAL);
    assert_null(w);
    assert_non_null(strstr(tarn_err_msg(&err), "preallocation mode"));
}

/* Extents of a file by FIEMAP: 1 when it worked (*unwritten counts extents
 * flagged unwritten), 0 when the filesystem does not report them. */
static int extents_unwritten(const char *path, int *unwritten)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    size_t n = 256;
    struct fiemap *fm = calloc(1, sizeof(*fm) + n * sizeof(struct fiemap_extent));
    fm->fm_start = 0;
    fm->fm_length = FIEMAP_MAX_OFFSET;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = (uint32_t)n;
    int ok = ioctl(fd, FS_IOC_FIEMAP, fm) == 0 && fm->fm_mapped_extents > 0;
    *unwritten = 0;
    for (uint32_t i = 0; ok && i < fm->fm_mapped_extents; i++)
        *unwritten += (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0;
    free(fm);
    close(fd);
    return ok;
}

/* What this is all for, where the filesystem can tell: a segment of the
 * default mode has no unwritten extent; one of the fallocate-only mode
 * has (when the filesystem has fallocate, as ext4 and XFS do). */
static void test_no_unwritten_extents(void **state)
{
    fx *f = *state;
    wal *w = open_check(f);
    wal_close(w);
    int unwritten = 0;
    if (!extents_unwritten(path_of(f->dir, 1, ".wal"), &unwritten)) {
        printf("# FIEMAP not supported here: extent check skipped\n");
        return;
    }
    assert_int_equal(unwritten, 0);
    char *old = tarn_test_mkdtemp("walp-old");
    wal_opts o = {.segment_size_bytes = SEG_SIZE, .prealloc = WAL_PREALLOC_FALLOCATE};
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(old, &o, &w, &r, &err), 0);
    wal_recovered_free(&r);
    wal_close(w);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%016x.wal", old, 1);
    assert_true(extents_unwritten(path, &unwritten));
    printf("# fallocate-only segment: %d unwritten extent(s)\n", unwritten);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    if ((uint64_t)sb.st_blocks * 512 >= (uint64_t)sb.st_size)
        assert_true(unwritten > 0); /* space was allocated by fallocate, not written */
    tarn_test_rmdir(old);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segments_fully_written_threaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_fully_written_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallocate_mode_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes_read_each_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_record_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_spare_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_during_preparation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_mode_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_unwritten_extents, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
