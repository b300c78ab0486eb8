/*
 * parquet/thrift.h: the Thrift compact protocol, as Parquet uses it for the
 * footer (FileMetaData) and page headers. Design note: parquet/README.md.
 *
 * The decoder reads untrusted bytes: every length and count is checked
 * against the bytes that remain, nesting is bounded by PQ_THRIFT_DEPTH_MAX,
 * and skipping unknown fields uses an explicit stack, never recursion. Any
 * problem is TARN_ECORRUPT with a reason in `why` and the byte offset.
 * Binary values are returned as borrowed pointers into the input.
 *
 * Compact protocol in brief (Thrift's compact protocol spec):
 *   field header  1 byte: (id delta 1..15) << 4 | type; delta 0 means a
 *                 zigzag varint i16 id follows the byte
 *   bool field    its value is the type: 1 true, 2 false
 *   i16/i32/i64   zigzag ULEB128 varint
 *   double        8 bytes little endian
 *   binary        varint length, then the bytes
 *   list/set      1 byte: (size 0..14) << 4 | elem type; size 15 means a
 *                 varint size follows
 *   map           varint size; when size > 0, 1 byte key type << 4 | value type
 *   struct        fields, then a 0 byte (STOP)
 *
 * Threads: a decoder or encoder belongs to one thread.
 */
#ifndef TARN_PARQUET_THRIFT_H
#define TARN_PARQUET_THRIFT_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of structs, lists and maps that the decoder accepts. Parquet's
 * deepest path (FileMetaData > RowGroup > ColumnChunk > ColumnMetaData >
 * Statistics, or LogicalType > TimestampType > TimeUnit) is far below it. */
#define PQ_THRIFT_DEPTH_MAX 32

enum pq_ttype {
    PQ_T_STOP = 0,
    PQ_T_TRUE = 1,
    PQ_T_FALSE = 2,
    PQ_T_BYTE = 3,
    PQ_T_I16 = 4,
    PQ_T_I32 = 5,
    PQ_T_I64 = 6,
    PQ_T_DOUBLE = 7,
    PQ_T_BINARY = 8,
    PQ_T_LIST = 9,
    PQ_T_SET = 10,
    PQ_T_MAP = 11,
    PQ_T_STRUCT = 12,
};

typedef struct pq_tdec {
    const uint8_t *start; /* first byte of the input */
    const uint8_t *p;     /* next byte to read */
    const uint8_t *end;   /* one past the last byte */
    int depth;            /* structs entered and not yet left */
    const char *why;      /* static reason of the first error, or NULL */
} pq_tdec;

void pq_tdec_init(pq_tdec *d, const void *data, size_t len);
/* Offset of the next byte to read. */
static inline size_t pq_tdec_pos(const pq_tdec *d)
{
    return (size_t)(d->p - d->start);
}

/* Every function below returns 0 or TARN_ECORRUPT (reason in d->why). */
int pq_tdec_varint(pq_tdec *d, uint64_t *out);
int pq_tdec_i16(pq_tdec *d, int16_t *out);
int pq_tdec_i32(pq_tdec *d, int32_t *out);
int pq_tdec_i64(pq_tdec *d, int64_t *out);
int pq_tdec_byte(pq_tdec *d, int8_t *out);
int pq_tdec_double(pq_tdec *d, double *out);
/* A binary/string: *out borrows the input; *len fits the remaining bytes. */
int pq_tdec_binary(pq_tdec *d, const uint8_t **out, uint32_t *len);

/* Enters a struct (depth check). Pair with pq_tdec_struct_end, which the
 * field loop reaches on STOP. */
int pq_tdec_struct_begin(pq_tdec *d);
void pq_tdec_struct_end(pq_tdec *d);
/* Reads the next field header of the current struct. *type is PQ_T_STOP at
 * the end of the struct; for bool fields *type is PQ_T_TRUE or PQ_T_FALSE
 * and there is no value to read. `last_id` is the previous field's id
 * (start at 0), updated here. */
int pq_tdec_field(pq_tdec *d, int16_t *last_id, uint8_t *type, int16_t *id);
/* Reads a list or set header. The count is checked against the remaining
 * bytes (every element takes at least one byte). */
int pq_tdec_list(pq_tdec *d, uint8_t *elem_type, uint32_t *count);
/* Reads a bool list element (one byte: 1 true, else false). */
int pq_tdec_bool_elem(pq_tdec *d, bool *out);
/* Skips one value of the given type, however deeply nested, with an
 * explicit stack bounded by PQ_THRIFT_DEPTH_MAX. */
int pq_tdec_skip(pq_tdec *d, uint8_t type);

/*
 * The encoder appends to a tarn_buf. Errors (TARN_ENOMEM, TARN_ETOOBIG
 * from the buffer, TARN_EINVAL for misuse) are sticky in `err`; check it
 * once at the end.
 */
typedef struct pq_tenc {
    tarn_buf *out;
    int err;
    int depth;
    int16_t last_id[PQ_THRIFT_DEPTH_MAX]; /* last field id per open struct */
} pq_tenc;

void pq_tenc_init(pq_tenc *e, tarn_buf *out);
void pq_tenc_struct_begin(pq_tenc *e);
void pq_tenc_struct_end(pq_tenc *e); /* writes STOP */
/* Field header. For bool fields use pq_tenc_bool_field instead. */
void pq_tenc_field(pq_tenc *e, int16_t id, uint8_t type);
void pq_tenc_bool_field(pq_tenc *e, int16_t id, bool v);
void pq_tenc_i32_field(pq_tenc *e, int16_t id, int32_t v);
void pq_tenc_i64_field(pq_tenc *e, int16_t id, int64_t v);
void pq_tenc_binary_field(pq_tenc *e, int16_t id, const void *p, size_t len);
void pq_tenc_list(pq_tenc *e, uint8_t elem_type, uint32_t count);
void pq_tenc_varint(pq_tenc *e, uint64_t v);
void pq_tenc_i32(pq_tenc *e, int32_t v);
void pq_tenc_i64(pq_tenc *e, int64_t v);
void pq_tenc_binary(pq_tenc *e, const void *p, size_t len);

#endif
