/* Tests of wal/ on the real disk: round trips byte for byte, hard state and
 * snapshot markers, suffix truncation, segment rollover, compaction,
 * reopening at every step, misuse answered with errors, sticky failure
 * after a failed write or sync, and out-of-memory over open/append/sync;
 * writes bypass the page cache where the file system allows it. */
#define _GNU_SOURCE /* O_DIRECT */
#include "wal_test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/crc32c.h"
#include "base/rand.h"
#include "wal/wal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    wal *w;
    wal_recovered rec;
    wt_model m;
    wal_opts opts;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("wal");
    f->opts.segment_size_bytes = 64 * 1024;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wal_close(f->w);
    wal_recovered_free(&f->rec);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Closes (without sync when `sync` is 0) and reopens, checking the model. */
static void reopen(fixture *f, int sync)
{
    tarn_err err = TARN_ERR_INIT;
    if (f->w != NULL && sync)
        assert_int_equal(wal_sync(f->w, &err), 0);
    wal_close(f->w);
    f->w = NULL;
    wal_recovered_free(&f->rec);
    int rc = wal_open(f->dir, &f->opts, &f->w, &f->rec, &err);
    if (rc != 0)
        fail_msg("wal_open: %s", tarn_err_msg(&err));
    wt_check(&f->rec, &f->m);
    assert_int_equal(f->rec.truncated_tail_bytes, 0);
    assert_int_equal(wal_last_index(f->w), f->m.last_index);
    assert_int_equal(wal_snap_index(f->w), f->m.snap_index);
}

static void test_empty_open_and_reopen(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    assert_int_equal(f->rec.entry_count, 0);
    assert_int_equal(wal_segment_count(f->w), 1);
    reopen(f, 1);
    assert_int_equal(wal_segment_count(f->w), 1);
}

/* A second writer of the same directory is refused while the first has it
 * open (two writers would interleave records), and admitted after close. */
static void test_second_open_refused(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    wal *other = NULL;
    wal_recovered rec;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &other, &rec, &err), TARN_EBUSY);
    assert_null(other);
    assert_non_null(strstr(tarn_err_msg(&err), "in use by another process"));
    wal_close(f->w);
    f->w = NULL;
    assert_int_equal(wal_open(f->dir, &f->opts, &other, &rec, &err), 0);
    wal_close(other);
    wal_recovered_free(&rec);
}

static void test_roundtrip_sizes(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    /* 0 bytes, lengths that are not multiples of 8 (the Debian libraft bug
     * class), around the alignment, and large ones. */
    static const size_t lens[] = {0,  1,  2,  3,   5,   7,    8,    9,     15, 16,
                                  17, 31, 33, 100, 255, 4095, 4097, 20000, 0,  1};
    uint64_t idx = 1;
    for (size_t i = 0; i < TARN_ARRAY_LEN(lens); i++, idx++) {
        uint8_t *p = malloc(lens[i] + 1);
        wt_fill(p, idx, 1, lens[i]);
        wal_entry e = {
            .index = idx, .term = 1, .data = p, .len = lens[i], .type = wt_type(idx, 1, lens[i])};
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(wal_append(f->w, &e, 1, NULL, &err), 0);
        free(p);
        f->m.terms[idx] = 1;
        f->m.lens[idx] = lens[i];
        f->m.last_index = idx;
        if (i % 4 == 3)
            reopen(f, 1);
    }
    reopen(f, 1);
    uint64_t t;
    assert_int_equal(wal_term(f->w, 3, &t), 0);
    assert_int_equal(t, 1);
    assert_int_equal(wal_term(f->w, idx, &t), TARN_ERANGE);
}

static void test_hard_state_and_marker(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    wal_hard_state hs = {.term = 3, .vote = 2, .commit = 0};
    assert_int_equal(wt_append(f->w, &f->m, 1, 0, 3, 0, &hs), 0);
    reopen(f, 1);
    assert_int_equal(wt_append(f->w, &f->m, 1, 10, 3, 50, NULL), 0);
    hs.commit = 7;
    assert_int_equal(wt_append(f->w, &f->m, 11, 0, 3, 0, &hs), 0);
    reopen(f, 1);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_snapshot_marker(f->w, 5, 3, &err), 0);
    f->m.snap_index = 5;
    f->m.snap_term = 3;
    reopen(f, 1);
    uint64_t t;
    assert_int_equal(wal_term(f->w, 5, &t), 0);
    assert_int_equal(t, 3);
    assert_int_equal(wal_term(f->w, 4, &t), TARN_ERANGE);
    /* A marker beyond the log: the log becomes empty at that point. */
    assert_int_equal(wal_snapshot_marker(f->w, 20, 4, &err), 0);
    f->m.snap_index = f->m.last_index = 20;
    f->m.snap_term = 4;
    reopen(f, 1);
    assert_int_equal(wt_append(f->w, &f->m, 21, 3, 4, 10, NULL), 0);
    reopen(f, 1);
}

static void test_suffix_truncation(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    assert_int_equal(wt_append(f->w, &f->m, 1, 10, 1, 30, NULL), 0);
    reopen(f, 1);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_truncate_suffix(f->w, 6, &err), 0);
    f->m.last_index = 5;
    reopen(f, 1);
    assert_int_equal(wt_append(f->w, &f->m, 6, 3, 2, 30, NULL), 0);
    reopen(f, 1);
    /* An append at an existing index overwrites the suffix (Raft conflict). */
    assert_int_equal(wt_append(f->w, &f->m, 4, 2, 3, 30, NULL), 0);
    reopen(f, 1);
    assert_int_equal(f->rec.last_index, 5);
    /* Truncating everything after the snapshot. */
    assert_int_equal(wal_truncate_suffix(f->w, 1, &err), 0);
    f->m.last_index = 0;
    reopen(f, 1);
    assert_int_equal(wt_append(f->w, &f->m, 1, 2, 5, 30, NULL), 0);
    reopen(f, 1);
}

static void test_misuse_is_refused(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    assert_int_equal(wt_append(f->w, &f->m, 1, 5, 1, 10, NULL), 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wt_append(f->w, NULL, 7, 1, 1, 10, NULL), TARN_EINVAL); /* gap */
    wal_entry two[2] = {{.index = 6, .term = 1}, {.index = 8, .term = 1}};
    assert_int_equal(wal_append(f->w, two, 2, NULL, &err), TARN_EINVAL);
    wal_entry big = {
        .index = 6, .term = 1, .data = (const uint8_t *)"", .len = WAL_PAYLOAD_MAX + 1};
    assert_int_equal(wal_append(f->w, &big, 1, NULL, &err), TARN_ETOOBIG);
    assert_int_equal(wal_truncate_suffix(f->w, 7, &err), TARN_EINVAL);
    assert_int_equal(wal_snapshot_marker(f->w, 3, 2, &err), TARN_EINVAL); /* term differs */
    assert_int_equal(wal_snapshot_marker(f->w, 0, 1, &err), TARN_EINVAL);
    assert_int_equal(wal_compact(f->w, 1, &err), TARN_EINVAL); /* no marker covers it */
    assert_int_equal(wal_snapshot_marker(f->w, 3, 1, &err), 0);
    f->m.snap_index = 3;
    f->m.snap_term = 1;
    assert_int_equal(wal_snapshot_marker(f->w, 2, 1, &err), TARN_EINVAL); /* backwards */
    assert_int_equal(wal_truncate_suffix(f->w, 3, &err), TARN_EINVAL);    /* under snapshot */
    assert_int_equal(wt_append(f->w, NULL, 3, 1, 1, 10, NULL), TARN_EINVAL);
    reopen(f, 1);
}

static void test_rollover_and_oversized(void **state)
{
    fixture *f = *state;
    f->opts.segment_size_bytes = 4096;
    reopen(f, 0);
    wal_hard_state hs = {.term = 1, .vote = 1, .commit = 0};
    for (uint64_t i = 1; i <= 300; i += 10) {
        hs.commit = i;
        assert_int_equal(wt_append(f->w, &f->m, i, 10, 1, 200, &hs), 0);
    }
    assert_true(wal_segment_count(f->w) > 5);
    reopen(f, 1);
    /* A record larger than a whole segment gets a segment of its own. */
    assert_int_equal(wt_append(f->w, &f->m, 301, 1, 1, 0, NULL), 0);
    uint8_t *p = malloc(10000);
    wt_fill(p, 302, 1, 10000);
    wal_entry e = {
        .index = 302, .term = 1, .data = p, .len = 10000, .type = wt_type(302, 1, 10000)};
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_append(f->w, &e, 1, NULL, &err), 0);
    free(p);
    f->m.terms[302] = 1;
    f->m.lens[302] = 10000;
    f->m.last_index = 302;
    reopen(f, 0);
    assert_int_equal(wt_append(f->w, &f->m, 303, 5, 1, 100, NULL), 0);
    reopen(f, 1);
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_int_equal(st.segments_created, 0); /* this handle only reopened */
}

/* Rewrites the format version in segment seq's header (and its CRC), as
 * an older or a newer tarn would have written it. */
static void set_segment_version(const char *dir, uint64_t seq, uint32_t version)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%016llx.wal", dir, (unsigned long long)seq);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    uint8_t h[48];
    assert_int_equal(fread(h, 1, sizeof(h), fp), sizeof(h));
    for (int i = 0; i < 4; i++)
        h[8 + i] = (uint8_t)(version >> (8 * i));
    uint32_t crc = crc32c(0, h, 44);
    for (int i = 0; i < 4; i++)
        h[44 + i] = (uint8_t)(crc >> (8 * i));
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(h, 1, sizeof(h), fp), sizeof(h));
    assert_int_equal(fclose(fp), 0);
}

/* Entry types survive a reopen; a directory written by format version 1
 * (no entry types) is read with type 0 and its last segment is closed,
 * not appended to; a newer format version is refused with a message. */
static void test_entry_types_and_versions(void **state)
{
    fixture *f = *state;
    reopen(f, 0);
    /* Version 1 wrote no types: its entries are type 0. */
    wal_entry plain[3];
    for (int i = 0; i < 3; i++)
        plain[i] = (wal_entry){.index = (uint64_t)i + 1, .term = 1};
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_append(f->w, plain, 3, NULL, &err), 0);
    assert_int_equal(wal_sync(f->w, &err), 0);
    wal_close(f->w);
    f->w = NULL;
    set_segment_version(f->dir, 1, 1);
    wal_recovered_free(&f->rec);
    assert_int_equal(wal_open(f->dir, &f->opts, &f->w, &f->rec, &err), 0);
    assert_int_equal(f->rec.entry_count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f->rec.entries[i].type, 0);
    assert_int_equal(wal_segment_count(f->w), 1);
    /* The first write goes to a new version 2 segment. */
    wal_entry conf = {.index = 4, .term = 1, .data = (const uint8_t *)"cc", .len = 2, .type = 1};
    assert_int_equal(wal_append(f->w, &conf, 1, NULL, &err), 0);
    assert_int_equal(wal_segment_count(f->w), 2);
    assert_int_equal(wal_sync(f->w, &err), 0);
    wal_close(f->w);
    f->w = NULL;
    wal_recovered_free(&f->rec);
    assert_int_equal(wal_open(f->dir, &f->opts, &f->w, &f->rec, &err), 0);
    assert_int_equal(f->rec.entry_count, 4);
    assert_int_equal(f->rec.entries[2].type, 0);
    assert_int_equal(f->rec.entries[3].type, 1);
    assert_memory_equal(f->rec.entries[3].data, "cc", 2);
    wal_close(f->w);
    f->w = NULL;
    /* A version this build does not know is refused, not misread. */
    set_segment_version(f->dir, 2, 3);
    wal_recovered_free(&f->rec);
    assert_int_equal(wal_open(f->dir, &f->opts, &f->w, &f->rec, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "format version"));
}

static void test_compaction(void **state)
{
    fixture *f = *state;
    f->opts.segment_size_bytes = 4096;
    reopen(f, 0);
    wal_hard_state hs = {.term = 2, .vote = 1, .commit = 5};
    assert_int_equal(wt_append(f->w, &f->m, 1, 1, 2, 100, &hs), 0); /* hs only in segment 1 */
    assert_int_equal(wt_append(f->w, &f->m, 2, 299, 2, 200, NULL), 0);
    size_t segs = wal_segment_count(f->w);
    assert_true(segs > 8);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_snapshot_marker(f->w, 200, 2, &err), 0);
    f->m.snap_index = 200;
    f->m.snap_term = 2;
    assert_int_equal(wal_compact(f->w, 200, &err), 0);
    size_t after = wal_segment_count(f->w);
    assert_true(after < segs);
    assert_true(after >= 2);
    reopen(f, 1); /* the hard state survived through the restated copies */
    assert_int_equal(wal_segment_count(f->w), after);
    /* Compacting again with the same marker removes nothing more. */
    assert_int_equal(wal_compact(f->w, 200, &err), 0);
    assert_int_equal(wal_segment_count(f->w), after);
    assert_int_equal(wt_append(f->w, &f->m, 301, 50, 3, 120, NULL), 0);
    assert_int_equal(wal_snapshot_marker(f->w, 350, 3, &err), 0);
    f->m.snap_index = 350;
    f->m.snap_term = 3;
    assert_int_equal(wal_compact(f->w, 350, &err), 0);
    assert_int_equal(wal_segment_count(f->w), 1);
    reopen(f, 1);
    assert_int_equal(wt_append(f->w, &f->m, 351, 5, 3, 120, NULL), 0);
    reopen(f, 1);
}

/* Random operations against the model, reopening (with and without sync)
 * after every one. */
static void test_reopen_every_step(void **state)
{
    fixture *f = *state;
    f->opts.segment_size_bytes = 4096;
    tarn_rng rng;
    tarn_rng_seed(&rng, tarn_test_seed());
    reopen(f, 0);
    uint64_t term = 1;
    for (int step = 0; step < 120; step++) {
        uint64_t r = tarn_rng_below(&rng, 10);
        tarn_err err = TARN_ERR_INIT;
        if (r < 6 && f->m.last_index < 3500) {
            size_t n = 1 + (size_t)tarn_rng_below(&rng, 8);
            assert_int_equal(wt_append(f->w, &f->m, f->m.last_index + 1, n, term, 700, NULL), 0);
        } else if (r < 7 && f->m.last_index > f->m.snap_index) {
            uint64_t from =
                f->m.snap_index + 1 + tarn_rng_below(&rng, f->m.last_index - f->m.snap_index);
            assert_int_equal(wal_truncate_suffix(f->w, from, &err), 0);
            f->m.last_index = from - 1;
            term++;
        } else if (r < 8 && f->m.last_index > f->m.snap_index) {
            uint64_t at =
                f->m.snap_index + 1 + tarn_rng_below(&rng, f->m.last_index - f->m.snap_index);
            assert_int_equal(wal_snapshot_marker(f->w, at, f->m.terms[at], &err), 0);
            f->m.snap_index = at;
            f->m.snap_term = f->m.terms[at];
            assert_int_equal(wal_compact(f->w, at, &err), 0);
        } else {
            wal_hard_state hs = {.term = term, .vote = r, .commit = f->m.snap_index};
            assert_int_equal(wt_append(f->w, &f->m, 0, 0, term, 0, &hs), 0);
        }
        reopen(f, (int)(r & 1));
    }
}

/* Whether files in dir can be opened O_DIRECT (tmpfs cannot). */
static int dir_allows_direct(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/probe", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_DIRECT, 0600);
    if (fd >= 0)
        close(fd);
    unlink(path);
    return fd >= 0;
}

/* Small batches written direct (whole blocks, the block's earlier bytes
 * kept) across blocks and segments read back byte for byte, after a
 * close with and without a sync. */
static void test_direct_writes(void **state)
{
    fixture *f = *state;
    f->opts.segment_size_bytes = 16 * 1024;
    reopen(f, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 40; i++)
            assert_int_equal(wt_append(f->w, &f->m, f->m.last_index + 1, 1 + (size_t)(i % 3), 1,
                                       (size_t)(37 + 101 * (i % 7)), NULL),
                             0);
        wal_stats st;
        wal_get_stats(f->w, &st);
        if (dir_allows_direct(f->dir))
            assert_true(st.direct_writes >= 40);
        else
            assert_int_equal(st.direct_writes, 0);
        reopen(f, round & 1);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_open_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_state_and_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suffix_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misuse_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollover_and_oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_types_and_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_every_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
