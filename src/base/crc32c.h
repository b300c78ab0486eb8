/*
 * base/crc32c.h: CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the
 * checksum of WAL records, wire frames and Parquet page CRCs.
 *
 * crc32c() uses the SSE4.2 crc32 instruction when the CPU has it (checked
 * once) and a slicing-by-8 table otherwise. Both are exposed so tests check
 * each against the known vectors (RFC 3720 appendix B.4).
 *
 * Threads: all functions are thread-safe.
 */
#ifndef TARN_BASE_CRC32C_H
#define TARN_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over len bytes; returns the new CRC. Chaining
 * crc32c(crc32c(0, a), b) equals crc32c(0, a||b). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The table implementation, on every CPU. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

/* Nonzero when the SSE4.2 implementation is usable on this CPU. */
int crc32c_hw_available(void);

/* The SSE4.2 implementation; call only when crc32c_hw_available(). */
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len);

#endif
