/*
 * tests/fuzz_wal/fuzz_wal_reader.c: libFuzzer target for the WAL's
 * recovery (the segment reader, src/wal/recover.c and format.c). The input
 * is a directory of 1..3 segment files on a simulated disk
 * (tests/crash/simdisk.c):
 *
 *   offset size  field
 *   0      1     bits 0-1: segments - 1 (3 means 3); bit 7: repair_torn_batch
 *   1      4     length of segment 1 (u32 LE, clamped), then its bytes;
 *                the same for segment 2; the last segment takes the rest
 *
 * Recovery must never crash, and when it accepts the directory the log it
 * returns must be well formed (indexes snap+1..last, contiguous), the
 * handle must agree with it, and the handle must take one more entry (a
 * typed one) that a reopen returns byte for byte: whatever recovery
 * accepted, our own writes on top of it must stay readable (this covers a
 * recovered format version 1 segment, which the first write rolls over).
 */
#include "../crash/simdisk.h"
#include "wal/wal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_DIR "wal"

static void put_file(const wal_vfs *v, uint64_t seq, const uint8_t *p, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), FUZZ_DIR "/%016llx.wal", (unsigned long long)seq);
    int fd = -1;
    if (v->open(v->ctx, path, WAL_VFS_CREATE | WAL_VFS_TRUNC, &fd) != 0)
        abort();
    if (len > 0 && v->pwrite(v->ctx, fd, p, len, 0) != 0)
        abort();
    v->fsync(v->ctx, fd);
    v->close(v->ctx, fd);
}

static void check_log(const wal_recovered *r, const wal *w)
{
    if (r->last_index < r->snap_index || r->entry_count != r->last_index - r->snap_index)
        abort();
    for (size_t i = 0; i < r->entry_count; i++)
        if (r->entries[i].index != r->snap_index + 1 + i || r->entries[i].len > WAL_PAYLOAD_MAX ||
            (r->entries[i].len > 0 && r->entries[i].data == NULL))
            abort();
    if (wal_last_index(w) != r->last_index || wal_snap_index(w) != r->snap_index)
        abort();
}

/* One more entry on top of what recovery accepted, then a reopen. */
static void check_writable(const wal_opts *o, wal *w, uint64_t next)
{
    static const uint8_t payload[] = "fuzz entry";
    wal_entry e = {
        .index = next, .term = 1u << 30, .data = payload, .len = sizeof(payload), .type = 7};
    tarn_err err = TARN_ERR_INIT;
    int rc = wal_append(w, &e, 1, NULL, &err);
    if (rc == 0)
        rc = wal_sync(w, &err);
    wal_close(w);
    if (rc != 0)
        return; /* refused (a term below the log's is not checked here): nothing written */
    wal *w2 = NULL;
    wal_recovered r2;
    memset(&r2, 0, sizeof(r2));
    if (wal_open(FUZZ_DIR, o, &w2, &r2, &err) != 0) {
        fprintf(stderr, "reopen after our own append failed: %s\n", tarn_err_msg(&err));
        abort();
    }
    const wal_entry *last = r2.entry_count ? &r2.entries[r2.entry_count - 1] : NULL;
    if (!last || last->index != next || last->type != 7 || last->len != sizeof(payload) ||
        memcmp(last->data, payload, sizeof(payload)) != 0)
        abort();
    wal_recovered_free(&r2);
    wal_close(w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many inputs recovery accepted (and our append then checked), told
 * at exit: a corpus that recovery refuses whole tests little. */
static unsigned long inputs, accepted;

static void report(void)
{
    fprintf(stderr, "# fuzz_wal_reader: recovery accepted %lu of %lu inputs\n", accepted, inputs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (inputs++ == 0)
        atexit(report);
    int segments = 1 + (data[0] & 3);
    if (segments > 3)
        segments = 3;
    simdisk *d = simdisk_new(FUZZ_DIR);
    const wal_vfs *v = simdisk_vfs(d);
    size_t off = 1;
    for (int s = 1; s <= segments; s++) {
        size_t len = size - off;
        if (s < segments) {
            if (size - off < 4)
                break;
            uint32_t l = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
                         (uint32_t)data[off + 2] << 16 | (uint32_t)data[off + 3] << 24;
            off += 4;
            len = l < size - off ? l : size - off;
        }
        put_file(v, (uint64_t)s, data + off, len);
        off += len;
    }
    v->fsync_dir(v->ctx, FUZZ_DIR);
    wal_opts o = {.vfs = v, .segment_size_bytes = 4096, .repair_torn_batch = data[0] >> 7};
    wal *w = NULL;
    wal_recovered r;
    memset(&r, 0, sizeof(r));
    tarn_err err = TARN_ERR_INIT;
    if (wal_open(FUZZ_DIR, &o, &w, &r, &err) == 0) {
        accepted++;
        check_log(&r, w);
        uint64_t next = r.last_index + 1;
        wal_recovered_free(&r);
        check_writable(&o, w, next);
    }
    simdisk_free(d);
    return 0;
}
