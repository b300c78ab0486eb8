/*
 * tests/fuzz_wal/make_corpus.c: writes the seed inputs of fuzz_wal_reader
 * (its input format is at the top of fuzz_wal_reader.c) with the real WAL
 * on a simulated disk: one segment with typed entries, a hard state and a
 * snapshot marker; three segments after rollovers; the first one again as
 * format version 1 (no entry types); and one with a torn last record.
 * Usage: fuzz_wal_make_corpus DIR (the committed corpus came from it).
 */
#include "../crash/simdisk.h"
#include "base/crc32c.h"
#include "wal/wal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *read_seg(const wal_vfs *v, uint64_t seq, size_t *len)
{
    char path[64];
    snprintf(path, sizeof(path), "wal/%016llx.wal", (unsigned long long)seq);
    int fd = -1;
    uint64_t size = 0;
    if (v->open(v->ctx, path, 0, &fd) != 0 || v->size(v->ctx, fd, &size) != 0)
        return NULL;
    uint8_t *p = malloc(size ? size : 1);
    size_t got = 0;
    v->pread(v->ctx, fd, p, size, 0, &got);
    v->close(v->ctx, fd);
    *len = got;
    return p;
}

/* Writes a workload of `entries` entries (every 10th with a hard state, a
 * marker after 20; entry types 0..2 when typed, else 0) and returns the
 * disk. */
static simdisk *workload(int entries, int typed)
{
    simdisk *d = simdisk_new("wal");
    wal_opts o = {.vfs = simdisk_vfs(d), .segment_size_bytes = 4096};
    wal *w = NULL;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    if (wal_open("wal", &o, &w, &r, &err) != 0)
        abort();
    wal_recovered_free(&r);
    for (int i = 1; i <= entries; i++) {
        uint8_t p[100];
        memset(p, i, sizeof(p));
        wal_entry e = {.index = (uint64_t)i,
                       .term = 1 + (uint64_t)i / 30,
                       .data = p,
                       .len = (size_t)(i * 7 % 100),
                       .type = (uint8_t)(typed ? i % 3 : 0)};
        wal_hard_state hs = {.term = e.term, .vote = 1, .commit = (uint64_t)i - 1};
        if (wal_append(w, &e, 1, i % 10 == 0 ? &hs : NULL, &err) != 0)
            abort();
        if (i == 20 && wal_snapshot_marker(w, 15, 1, &err) != 0)
            abort();
    }
    if (wal_sync(w, &err) != 0)
        abort();
    wal_close(w);
    return d;
}

/* Writes one input: flags, then the segments (lengths before all but the
 * last). */
static void emit(const char *dir, const char *name, uint8_t flags, uint8_t **segs, size_t *lens,
                 int n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    uint8_t head = (uint8_t)(flags | (n - 1));
    fwrite(&head, 1, 1, f);
    for (int i = 0; i < n; i++) {
        if (i + 1 < n) {
            uint8_t l[4] = {(uint8_t)lens[i], (uint8_t)(lens[i] >> 8), (uint8_t)(lens[i] >> 16),
                            (uint8_t)(lens[i] >> 24)};
            fwrite(l, 1, 4, f);
        }
        fwrite(segs[i], 1, lens[i], f);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_wal_make_corpus DIR\n");
        return 2;
    }
    simdisk *d = workload(25, 0);
    uint8_t *seg[3];
    size_t len[3];
    seg[0] = read_seg(simdisk_vfs(d), 1, &len[0]);
    /* As format version 1 wrote it: version 1 in the header, its CRC
     * again, entries without types (byte 9 of each frame zero). */
    uint8_t *v1 = malloc(len[0]);
    memcpy(v1, seg[0], len[0]);
    v1[8] = 1;
    uint32_t crc = crc32c(0, v1, 44);
    for (int i = 0; i < 4; i++)
        v1[44 + i] = (uint8_t)(crc >> (8 * i));
    emit(argv[1], "version-1-header", 0, &v1, len, 1);
    free(seg[0]);
    simdisk_free(d);
    d = workload(25, 1);
    seg[0] = read_seg(simdisk_vfs(d), 1, &len[0]);
    emit(argv[1], "one-segment", 0, seg, len, 1);
    /* A torn last record: its last 8 bytes zeroed. */
    size_t end = len[0];
    while (end > 48 && seg[0][end - 1] == 0)
        end--;
    memset(seg[0] + (end > 56 ? end - 8 : end), 0, 8);
    emit(argv[1], "torn-tail-repair", 0x80, seg, len, 1);
    free(v1);
    free(seg[0]);
    simdisk_free(d);
    d = workload(120, 1);
    for (int i = 0; i < 3; i++)
        seg[i] = read_seg(simdisk_vfs(d), (uint64_t)i + 1, &len[i]);
    emit(argv[1], "three-segments", 0, seg, len, 3);
    for (int i = 0; i < 3; i++)
        free(seg[i]);
    simdisk_free(d);
    return 0;
}
