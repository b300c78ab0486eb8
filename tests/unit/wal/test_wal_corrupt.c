/* Tests of wal/ recovery against damaged files: a torn or flipped last
 * record of the last segment is cut off; damage anywhere else, or followed
 * by a valid record, is refused with TARN_ECORRUPT naming file and offset;
 * a zero tail is a clean end; missing segments are noticed. Also sticky
 * failure after a failed write or sync, and out-of-memory injection over
 * open/append/sync. */
#include "fault_vfs.h"
#include "wal_test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/rand.h"
#include "obs/obs.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#define SEG_HDR 48

static char *seg_path(const char *dir, uint64_t seq)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%016" PRIx64 ".wal", dir, seq);
    return p;
}

/* Offsets of the records in a segment, walked with the documented frame
 * layout (length at +4, frame = align8(16 + length)). Returns the count. */
static size_t record_offsets(const char *path, size_t *offs, size_t max)
{
    size_t len;
    uint8_t *b = (uint8_t *)tarn_test_read_file(path, &len);
    assert_non_null(b);
    size_t n = 0, off = SEG_HDR;
    while (off + 16 <= len && n < max) {
        uint32_t body = (uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
                        (uint32_t)b[off + 6] << 16 | (uint32_t)b[off + 7] << 24;
        if (b[off + 8] == 0)
            break;
        offs[n++] = off;
        off += (16 + body + 7) & ~(size_t)7;
    }
    free(b);
    return n;
}

static void poke(const char *path, size_t off, uint8_t xor_mask)
{
    size_t len;
    uint8_t *b = (uint8_t *)tarn_test_read_file(path, &len);
    assert_non_null(b);
    assert_true(off < len);
    b[off] ^= xor_mask;
    tarn_test_write_file(path, b, len);
    free(b);
}

typedef struct fx {
    char *dir;
    wal_opts opts;
    wt_model m;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("walc");
    f->opts.segment_size_bytes = 4096;
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

/* Writes entries 1..n (payload rule mod) with a sync, and closes. */
static void fill(fx *f, size_t n, size_t mod)
{
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), 0);
    wal_recovered_free(&r);
    assert_int_equal(wt_append(w, &f->m, 1, n, 1, mod, NULL), 0);
    assert_int_equal(wal_sync(w, &err), 0);
    wal_close(w);
}

/* Opens and returns the code; on success checks against the model. */
static int try_open(fx *f, wal_recovered *r, tarn_err *err)
{
    wal *w = NULL;
    int rc = wal_open(f->dir, &f->opts, &w, r, err);
    wal_close(w);
    return rc;
}

static void test_flipped_last_record_is_cut(void **state)
{
    fx *f = *state;
    obs_registry *reg;
    assert_int_equal(obs_registry_new(&reg), 0);
    f->opts.metrics = reg;
    fill(f, 10, 60);
    size_t offs[64];
    size_t n = record_offsets(seg_path(f->dir, 1), offs, 64);
    assert_int_equal(n, 10);
    poke(seg_path(f->dir, 1), offs[9] + 20, 0x01);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), 0);
    f->m.last_index = 9;
    wt_check(&r, &f->m);
    assert_true(r.truncated_tail_bytes > 0);
    wal_recovered_free(&r);
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    assert_int_equal(obs_registry_render(reg, &b), 0);
    assert_non_null(strstr(tarn_buf_cstr(&b), "tarn_wal_truncated_tails_total 1"));
    tarn_buf_free(&b);
    /* The cut is durable: the next open is clean, and appending goes on. */
    assert_int_equal(try_open(f, &r, &err), 0);
    assert_int_equal(r.truncated_tail_bytes, 0);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
    fill(f, 0, 0);
    obs_registry_free(reg);
}

static void test_torn_tail_is_cut(void **state)
{
    fx *f = *state;
    fill(f, 5, 100);
    size_t offs[64];
    size_t n = record_offsets(seg_path(f->dir, 1), offs, 64);
    assert_int_equal(n, 5);
    /* A torn write of a sixth record: a plausible header, half a body. */
    size_t len;
    uint8_t *b = (uint8_t *)tarn_test_read_file(seg_path(f->dir, 1), &len);
    size_t end = offs[4] + ((16 + 16 + (5 * 37 % 100) + 7) & ~(size_t)7);
    memcpy(b + end, b + offs[4], 40);
    tarn_test_write_file(seg_path(f->dir, 1), b, len);
    free(b);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    assert_int_equal(r.truncated_tail_bytes, 40);
    wal_recovered_free(&r);
}

/* A torn last record whose payload holds a copy of a valid frame: the
 * copy must not count as "a valid record after a bad one" (frame CRCs
 * cover their segment and offset), so this is a torn tail, not damage. */
static void test_frame_inside_payload_is_not_a_record(void **state)
{
    fx *f = *state;
    fill(f, 3, 60);
    size_t offs[16], len;
    assert_int_equal(record_offsets(seg_path(f->dir, 1), offs, 16), 3);
    uint8_t *b = (uint8_t *)tarn_test_read_file(seg_path(f->dir, 1), &len);
    size_t frame_len = offs[2] - offs[1];
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), 0);
    wal_recovered_free(&r);
    wal_entry e = {.index = 4, .term = 1, .data = b + offs[1], .len = frame_len};
    assert_int_equal(wal_append(w, &e, 1, NULL, &err), 0);
    assert_int_equal(wal_sync(w, &err), 0);
    wal_close(w);
    free(b);
    assert_int_equal(record_offsets(seg_path(f->dir, 1), offs, 16), 4);
    poke(seg_path(f->dir, 1), offs[3], 0x20); /* the CRC of entry 4 */
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m); /* entries 1..3 */
    assert_true(r.truncated_tail_bytes > frame_len);
    wal_recovered_free(&r);
}

/* Entries 1..5 in a synced batch, 6..10 in a second one. Damage in the
 * second batch followed by its valid records may be a batch torn by
 * out-of-order writeback: refused by default, cut with repair_torn_batch.
 * Damage in the first batch is proven synced by the records of the
 * second (their synced_off lies beyond it): refused either way. */
static void test_torn_batch_vs_synced_damage(void **state)
{
    fx *f = *state;
    fill(f, 5, 60);
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), 0);
    wal_recovered_free(&r);
    assert_int_equal(wt_append(w, &f->m, 6, 5, 1, 60, NULL), 0);
    assert_int_equal(wal_sync(w, &err), 0);
    wal_close(w);
    size_t offs[16];
    assert_int_equal(record_offsets(seg_path(f->dir, 1), offs, 16), 10);
    poke(seg_path(f->dir, 1), offs[2] + 30, 0x08); /* entry 3: first batch */
    f->opts.repair_torn_batch = 1;
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "had been synced"));
    poke(seg_path(f->dir, 1), offs[2] + 30, 0x08);
    poke(seg_path(f->dir, 1), offs[6] + 30, 0x08); /* entry 7: second batch */
    f->opts.repair_torn_batch = 0;
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "repair_torn_batch"));
    f->opts.repair_torn_batch = 1;
    assert_int_equal(try_open(f, &r, &err), 0);
    f->m.last_index = 6;
    wt_check(&r, &f->m);
    assert_true(r.truncated_tail_bytes >= offs[9] - offs[6]);
    wal_recovered_free(&r);
    f->opts.repair_torn_batch = 0; /* the cut is durable: a plain open now works */
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
}

static void test_zero_tail_is_clean_end(void **state)
{
    fx *f = *state;
    fill(f, 7, 50);
    size_t len;
    char *b = tarn_test_read_file(seg_path(f->dir, 1), &len);
    assert_int_equal(len, 4096); /* preallocated */
    free(b);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    assert_int_equal(r.truncated_tail_bytes, 0);
    wal_recovered_free(&r);
    /* A last record whose header was lost (zeros) but whose body made it:
     * still only a torn tail. */
    size_t offs[16];
    assert_int_equal(record_offsets(seg_path(f->dir, 1), offs, 16), 7);
    b = tarn_test_read_file(seg_path(f->dir, 1), &len);
    memset(b + offs[6], 0, 16);
    tarn_test_write_file(seg_path(f->dir, 1), b, len);
    free(b);
    assert_int_equal(try_open(f, &r, &err), 0);
    f->m.last_index = 6;
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
}

static void test_damage_before_valid_records_is_refused(void **state)
{
    fx *f = *state;
    fill(f, 10, 60);
    size_t offs[64];
    assert_int_equal(record_offsets(seg_path(f->dir, 1), offs, 64), 10);
    poke(seg_path(f->dir, 1), offs[4] + 17, 0x80);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    char want[64];
    snprintf(want, sizeof(want), "offset %zu", offs[4]);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "0000000000000001.wal"));
    /* Refusing changed nothing: undo the flip and all is there. */
    poke(seg_path(f->dir, 1), offs[4] + 17, 0x80);
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
    /* A zeroed record in the middle hides nothing either. */
    size_t len;
    uint8_t *b = (uint8_t *)tarn_test_read_file(seg_path(f->dir, 1), &len);
    memset(b + offs[3], 0, offs[4] - offs[3]);
    tarn_test_write_file(seg_path(f->dir, 1), b, len);
    free(b);
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
}

static void test_damage_in_earlier_segment_is_refused(void **state)
{
    fx *f = *state;
    fill(f, 150, 200);
    size_t offs[64];
    size_t n = record_offsets(seg_path(f->dir, 1), offs, 64);
    assert_true(n > 2);
    assert_int_equal(access(seg_path(f->dir, 3), F_OK), 0);
    /* Even the last record of an earlier segment is not a torn tail. */
    poke(seg_path(f->dir, 1), offs[n - 1] + 24, 0x04);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "0000000000000001.wal"));
    assert_non_null(strstr(err.msg, "not the last"));
    poke(seg_path(f->dir, 1), offs[n - 1] + 24, 0x04);
    /* A damaged segment header. */
    poke(seg_path(f->dir, 2), 20, 0x10);
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "0000000000000002.wal offset 0"));
    poke(seg_path(f->dir, 2), 20, 0x10);
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
}

static void test_missing_segments_are_refused(void **state)
{
    fx *f = *state;
    fill(f, 150, 200);
    char keep[4096];
    snprintf(keep, sizeof(keep), "%s", seg_path(f->dir, 2));
    size_t len;
    char *saved = tarn_test_read_file(keep, &len);
    assert_int_equal(unlink(keep), 0);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "missing"));
    tarn_test_write_file(keep, saved, len);
    free(saved);
    /* Without a snapshot marker, the first segment cannot go either. */
    assert_int_equal(unlink(seg_path(f->dir, 1)), 0);
    assert_int_equal(try_open(f, &r, &err), TARN_ECORRUPT);
}

static void test_stale_tmp_is_removed(void **state)
{
    fx *f = *state;
    fill(f, 3, 10);
    /* A creation that never finished (seq far ahead: the open's own spare,
     * for the segment after the last, must not take its place). */
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/%016x.wal.tmp", f->dir, 0x99);
    tarn_test_write_file(tmp, "partial", 7);
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), 0);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
    assert_int_equal(access(tmp, F_OK), -1);
}

/* After a failed write or sync every call is TARN_ESTATE; a reopen finds
 * every record whose sync succeeded. */
static void sticky_case(fx *f, int fail_write, int fail_sync)
{
    fault_vfs fv;
    fault_vfs_init(&fv);
    f->opts.vfs = &fv.vfs;
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), 0);
    wal_recovered_free(&r);
    assert_int_equal(wt_append(w, &f->m, 1, 5, 1, 30, NULL), 0);
    assert_int_equal(wal_sync(w, &err), 0);
    fv.fail_pwrite_at = fail_write ? fv.pwrites + 1 : 0;
    fv.fail_sync_at = fail_sync ? fv.syncs + 1 : 0;
    /* The model records 6..8 only if the append (page cache) succeeded:
     * the fault vfs fails a sync without touching the real page cache, so
     * a reopen on the real disk then still finds them. */
    int rc = wt_append(w, &f->m, 6, 3, 1, 30, NULL);
    if (rc == 0)
        rc = wal_sync(w, &err);
    assert_int_equal(rc, TARN_EIO);
    /* A retried sync must not report success: the state is unknown. */
    assert_int_equal(wal_sync(w, &err), TARN_ESTATE);
    assert_int_equal(wt_append(w, NULL, 6, 1, 1, 30, NULL), TARN_ESTATE);
    assert_int_equal(wal_truncate_suffix(w, 3, &err), TARN_ESTATE);
    assert_int_equal(wal_snapshot_marker(w, 2, 1, &err), TARN_ESTATE);
    assert_int_equal(wal_compact(w, 1, &err), TARN_ESTATE);
    wal_entry e = {.index = 0, .term = 1};
    assert_int_equal(wal_submit(w, &e, 1, NULL, &err), TARN_ESTATE);
    wal_close(w);
    f->opts.vfs = NULL;
    assert_int_equal(wal_open(f->dir, &f->opts, &w, &r, &err), 0);
    assert_int_equal(r.last_index, fail_write ? 5 : 8);
    wt_check(&r, &f->m);
    wal_recovered_free(&r);
    wal_close(w);
    fault_vfs_destroy(&fv);
}

static void test_sticky_failure_after_write_error(void **state)
{
    sticky_case(*state, 1, 0);
}

static void test_sticky_failure_after_sync_error(void **state)
{
    sticky_case(*state, 0, 1);
}

typedef struct oom_ctx {
    char *dir;
    uint64_t next;
} oom_ctx;

/* open (recovering what earlier rounds wrote), append one entry, sync. */
static int oom_op(void *arg)
{
    oom_ctx *c = arg;
    wal_opts o = {.segment_size_bytes = 4096};
    wal *w = NULL;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    int rc = wal_open(c->dir, &o, &w, &r, &err);
    if (rc != 0)
        return rc;
    uint64_t idx = r.last_index + 1;
    wal_recovered_free(&r);
    uint8_t p[300];
    wt_fill(p, idx, 1, sizeof(p));
    wal_entry e = {.index = idx, .term = 1, .data = p, .len = sizeof(p)};
    wal_hard_state hs = {.term = 1, .vote = 0, .commit = idx};
    rc = wal_append(w, &e, 1, &hs, &err);
    if (rc == 0)
        rc = wal_sync(w, &err);
    wal_close(w);
    return rc;
}

static void test_oom_open_append_sync(void **state)
{
    fx *f = *state;
    fill(f, 40, 200); /* several segments to recover */
    oom_ctx c = {.dir = f->dir};
    int points = tarn_test_oom_loop(oom_op, NULL, &c, 500);
    assert_true(points > 5);
    /* Whatever failed on the way, the log is still a valid one. */
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(try_open(f, &r, &err), 0);
    assert_true(r.last_index > 40);
    for (size_t i = 0; i < r.entry_count; i++)
        assert_int_equal(r.entries[i].index, i + 1);
    wal_recovered_free(&r);
}

/* Random damage (flipped bytes, zeroed or garbage runs, cut-short files)
 * anywhere in a WAL of several segments: open answers 0 or TARN_ECORRUPT,
 * never crashes, and whatever it returns is byte-exact: a damaged record
 * is never handed back. */
static void test_random_damage(void **state)
{
    fx *f = *state;
    fill(f, 120, 300);
    size_t lens[3];
    char *orig[3];
    for (int s = 0; s < 3; s++)
        orig[s] = tarn_test_read_file(seg_path(f->dir, (uint64_t)s + 1), &lens[s]);
    tarn_rng rng;
    tarn_rng_seed(&rng, tarn_test_seed());
    int refused = 0, opened = 0;
    for (int it = 0; it < 300; it++) {
        for (int s = 0; s < 3; s++)
            tarn_test_write_file(seg_path(f->dir, (uint64_t)s + 1), orig[s], lens[s]);
        int s = (int)tarn_rng_below(&rng, 3);
        char *b = malloc(lens[s]);
        memcpy(b, orig[s], lens[s]);
        size_t len = lens[s];
        size_t at = (size_t)tarn_rng_below(&rng, len);
        size_t run = 1 + (size_t)tarn_rng_below(&rng, 64);
        switch (tarn_rng_below(&rng, 4)) {
        case 0:
            b[at] ^= (char)(1u << tarn_rng_below(&rng, 8));
            break;
        case 1:
            memset(b + at, 0, run < len - at ? run : len - at);
            break;
        case 2:
            for (size_t i = at; i < at + run && i < len; i++)
                b[i] = (char)tarn_rng_next(&rng);
            break;
        default:
            len = at; /* cut short */
        }
        tarn_test_write_file(seg_path(f->dir, (uint64_t)s + 1), b, len);
        free(b);
        wal_recovered r;
        tarn_err err = TARN_ERR_INIT;
        int rc = try_open(f, &r, &err);
        if (rc != 0) {
            assert_int_equal(rc, TARN_ECORRUPT);
            refused++;
            continue;
        }
        opened++;
        /* What comes back is a prefix of what was written, exactly. */
        wt_model m = f->m;
        m.last_index = r.last_index;
        assert_true(r.last_index <= f->m.last_index);
        wt_check(&r, &m);
        wal_recovered_free(&r);
    }
    printf("# %d damaged directories refused, %d opened\n", refused, opened);
    assert_true(refused > 0);
    for (int s = 0; s < 3; s++)
        free(orig[s]);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flipped_last_record_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_inside_payload_is_not_a_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_batch_vs_synced_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_tail_is_clean_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_before_valid_records_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damage_in_earlier_segment_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_segments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_tmp_is_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_failure_after_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_failure_after_sync_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_open_append_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
