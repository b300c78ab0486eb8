/*
 * tests/crash/simdisk.h: a simulated disk behind the WAL's vfs seam, for
 * crash tests.
 *
 * Model: one directory of files. Every file has a volatile content (what
 * reads see: the page cache) and a durable one (what survives a power
 * cut). fsync/fdatasync of a file makes its volatile content durable.
 * Directory entries likewise: creations, renames and unlinks are volatile
 * until fsync_dir. Unsynced data operations (pwrite, ftruncate, fallocate)
 * and unsynced directory operations are kept, in order, in two pending
 * lists.
 *
 * A power cut keeps the durable state plus an in-order prefix of each
 * pending list chosen by the test (none, all, or some), optionally with a
 * torn prefix of the first data write not kept whole. fsync and
 * fdatasync are treated alike (both make size and data durable).
 *
 * Write points: every mutating call (pwrite, fsync, fdatasync, ftruncate,
 * fallocate, rename, unlink, fsync_dir, open that creates or truncates)
 * counts as one. simdisk_cut_at(k) makes the k-th one and all after it
 * fail with TARN_EIO, as a disk that lost power would; the k-th, when it
 * is a write, still lands in the pending list, so a cut can tear it.
 *
 * Threads: one thread at a time.
 */
#ifndef TARN_TEST_SIMDISK_H
#define TARN_TEST_SIMDISK_H

#include "wal/vfs.h"

#include <stddef.h>
#include <stdint.h>

typedef struct simdisk simdisk;

/* A disk holding one empty directory named `dir` (any string). */
simdisk *simdisk_new(const char *dir);
void simdisk_free(simdisk *d);
const wal_vfs *simdisk_vfs(simdisk *d);

/* Power fails at the k-th mutating call from the start (0: never). */
void simdisk_cut_at(simdisk *d, uint64_t k);
uint64_t simdisk_ops(const simdisk *d);
int simdisk_dead(const simdisk *d);

size_t simdisk_pending_data(const simdisk *d);
size_t simdisk_pending_dir(const simdisk *d);
/* Bytes of pending data op i when it is a write, else 0. */
size_t simdisk_pending_write_len(const simdisk *d, size_t i);

/* The power cut: durable state + the first keep_data pending data ops
 * (clamped) + torn_bytes of the next one when it is a write + the first
 * keep_dir pending directory ops. Afterwards the disk is alive again, all
 * descriptors are closed and the volatile state equals the durable one. */
void simdisk_power_cut(simdisk *d, size_t keep_data, size_t torn_bytes, size_t keep_dir);

/* A power cut with out-of-order writeback: every pending data write
 * keeps each of its 512-byte sectors (file-aligned) with probability 1/2,
 * drawn from `seed`; resizes are kept; the first keep_dir pending
 * directory ops are kept. As a device may persist the sectors of an
 * unsynced write in any order before a FLUSH. */
void simdisk_power_cut_scattered(simdisk *d, uint64_t seed, size_t keep_dir);

#endif
