/*
 * parquet/thrift.c: Thrift compact protocol decoder and encoder. The wire
 * format is summarised in thrift.h; the design note is parquet/README.md.
 */
#include "parquet/thrift.h"

#include "base/error.h"

#include <string.h>

static int fail(pq_tdec *d, const char *why)
{
    if (d->why == NULL)
        d->why = why;
    return TARN_ECORRUPT;
}

void pq_tdec_init(pq_tdec *d, const void *data, size_t len)
{
    d->start = data;
    d->p = data;
    d->end = d->start + len;
    d->depth = 0;
    d->why = NULL;
}

int pq_tdec_varint(pq_tdec *d, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (d->p >= d->end)
            return fail(d, "truncated varint");
        uint8_t b = *d->p++;
        if (shift == 63 && (b & 0x7e))
            return fail(d, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return fail(d, "varint longer than 10 bytes");
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pq_tdec_i64(pq_tdec *d, int64_t *out)
{
    uint64_t v;
    if (pq_tdec_varint(d, &v) != 0)
        return TARN_ECORRUPT;
    *out = unzigzag(v);
    return 0;
}

int pq_tdec_i32(pq_tdec *d, int32_t *out)
{
    int64_t v;
    if (pq_tdec_i64(d, &v) != 0)
        return TARN_ECORRUPT;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(d, "i32 out of range");
    *out = (int32_t)v;
    return 0;
}

int pq_tdec_i16(pq_tdec *d, int16_t *out)
{
    int64_t v;
    if (pq_tdec_i64(d, &v) != 0)
        return TARN_ECORRUPT;
    if (v < INT16_MIN || v > INT16_MAX)
        return fail(d, "i16 out of range");
    *out = (int16_t)v;
    return 0;
}

int pq_tdec_byte(pq_tdec *d, int8_t *out)
{
    if (d->p >= d->end)
        return fail(d, "truncated byte");
    *out = (int8_t)*d->p++;
    return 0;
}

int pq_tdec_double(pq_tdec *d, double *out)
{
    if (d->end - d->p < 8)
        return fail(d, "truncated double");
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | d->p[i];
    memcpy(out, &bits, sizeof(*out));
    d->p += 8;
    return 0;
}

int pq_tdec_binary(pq_tdec *d, const uint8_t **out, uint32_t *len)
{
    uint64_t n;
    if (pq_tdec_varint(d, &n) != 0)
        return TARN_ECORRUPT;
    if (n > (uint64_t)(d->end - d->p))
        return fail(d, "binary length exceeds the remaining bytes");
    *out = d->p;
    *len = (uint32_t)n;
    d->p += n;
    return 0;
}

int pq_tdec_struct_begin(pq_tdec *d)
{
    if (d->depth >= PQ_THRIFT_DEPTH_MAX)
        return fail(d, "nesting too deep");
    d->depth++;
    return 0;
}

void pq_tdec_struct_end(pq_tdec *d)
{
    if (d->depth > 0)
        d->depth--;
}

int pq_tdec_field(pq_tdec *d, int16_t *last_id, uint8_t *type, int16_t *id)
{
    if (d->p >= d->end)
        return fail(d, "truncated struct (no STOP)");
    uint8_t b = *d->p++;
    *type = b & 0x0f;
    if (*type == PQ_T_STOP) {
        *id = 0;
        return 0;
    }
    if (*type > PQ_T_STRUCT)
        return fail(d, "unknown field type");
    uint8_t delta = b >> 4;
    if (delta == 0) {
        if (pq_tdec_i16(d, id) != 0)
            return TARN_ECORRUPT;
    } else {
        if (*last_id > INT16_MAX - delta)
            return fail(d, "field id overflow");
        *id = (int16_t)(*last_id + delta);
    }
    *last_id = *id;
    return 0;
}

int pq_tdec_list(pq_tdec *d, uint8_t *elem_type, uint32_t *count)
{
    if (d->p >= d->end)
        return fail(d, "truncated list header");
    uint8_t b = *d->p++;
    *elem_type = b & 0x0f;
    uint64_t n = b >> 4;
    if (n == 15 && pq_tdec_varint(d, &n) != 0)
        return TARN_ECORRUPT;
    if (*elem_type == PQ_T_STOP || *elem_type > PQ_T_STRUCT)
        return fail(d, "unknown list element type");
    /* Every element takes at least one byte on the wire. */
    if (n > (uint64_t)(d->end - d->p))
        return fail(d, "list count exceeds the remaining bytes");
    *count = (uint32_t)n;
    return 0;
}

int pq_tdec_bool_elem(pq_tdec *d, bool *out)
{
    int8_t b;
    if (pq_tdec_byte(d, &b) != 0)
        return TARN_ECORRUPT;
    *out = b == 1;
    return 0;
}

/* Skips a value that holds no nested values. */
static int skip_scalar(pq_tdec *d, uint8_t type)
{
    uint64_t v;
    int8_t b;
    const uint8_t *p;
    uint32_t n;
    switch (type) {
    case PQ_T_TRUE:
    case PQ_T_FALSE:
    case PQ_T_BYTE:
        return pq_tdec_byte(d, &b);
    case PQ_T_I16:
    case PQ_T_I32:
    case PQ_T_I64:
        return pq_tdec_varint(d, &v);
    case PQ_T_DOUBLE:
        if (d->end - d->p < 8)
            return fail(d, "truncated double");
        d->p += 8;
        return 0;
    case PQ_T_BINARY:
        return pq_tdec_binary(d, &p, &n);
    default:
        return fail(d, "unknown type");
    }
}

/* One open container on the skip stack: a struct reads fields until STOP;
 * a list or map has `left` values (a map's keys and values alternate). */
typedef struct skip_frame {
    uint8_t kind;     /* PQ_T_STRUCT, PQ_T_LIST or PQ_T_MAP */
    uint8_t types[2]; /* element type; a map's key and value types */
    uint64_t left;    /* values still to skip (lists and maps) */
    int16_t last_id;  /* structs */
} skip_frame;

/* Opens a container of `type` on the stack, or skips a scalar. */
static int skip_open(pq_tdec *d, skip_frame *stack, int *top, uint8_t type)
{
    if (type != PQ_T_STRUCT && type != PQ_T_LIST && type != PQ_T_SET && type != PQ_T_MAP)
        return skip_scalar(d, type);
    if (*top + 1 >= PQ_THRIFT_DEPTH_MAX || d->depth + *top + 1 >= PQ_THRIFT_DEPTH_MAX)
        return fail(d, "nesting too deep");
    skip_frame *f = &stack[++*top];
    memset(f, 0, sizeof(*f));
    f->kind = type == PQ_T_SET ? PQ_T_LIST : type;
    if (f->kind == PQ_T_LIST) {
        uint32_t n;
        if (pq_tdec_list(d, &f->types[0], &n) != 0)
            return TARN_ECORRUPT;
        f->left = n;
        /* In lists a bool is a single byte, so skip it as a byte. */
        if (f->types[0] == PQ_T_TRUE || f->types[0] == PQ_T_FALSE)
            f->types[0] = PQ_T_BYTE;
    } else if (f->kind == PQ_T_MAP) {
        if (pq_tdec_varint(d, &f->left) != 0)
            return TARN_ECORRUPT;
        if (f->left > (uint64_t)(d->end - d->p))
            return fail(d, "map count exceeds the remaining bytes");
        if (f->left > 0) {
            int8_t kv;
            if (pq_tdec_byte(d, &kv) != 0)
                return TARN_ECORRUPT;
            f->types[0] = (uint8_t)kv >> 4;
            f->types[1] = (uint8_t)kv & 0x0f;
            for (int i = 0; i < 2; i++) {
                if (f->types[i] == PQ_T_STOP || f->types[i] > PQ_T_STRUCT)
                    return fail(d, "unknown map type");
                if (f->types[i] == PQ_T_TRUE || f->types[i] == PQ_T_FALSE)
                    f->types[i] = PQ_T_BYTE;
            }
            f->left *= 2;
        }
    }
    return 0;
}

int pq_tdec_skip(pq_tdec *d, uint8_t type)
{
    skip_frame stack[PQ_THRIFT_DEPTH_MAX];
    int top = -1;
    if (skip_open(d, stack, &top, type) != 0)
        return TARN_ECORRUPT;
    while (top >= 0) {
        skip_frame *f = &stack[top];
        uint8_t next;
        if (f->kind == PQ_T_STRUCT) {
            int16_t id;
            if (pq_tdec_field(d, &f->last_id, &next, &id) != 0)
                return TARN_ECORRUPT;
            if (next == PQ_T_STOP) {
                top--;
                continue;
            }
            if (next == PQ_T_TRUE || next == PQ_T_FALSE)
                continue; /* the value is in the field header */
        } else {
            if (f->left == 0) {
                top--;
                continue;
            }
            next = f->kind == PQ_T_MAP ? f->types[f->left % 2 == 0 ? 0 : 1] : f->types[0];
            f->left--;
        }
        if (skip_open(d, stack, &top, next) != 0)
            return TARN_ECORRUPT;
    }
    return 0;
}

/* ---- encoder ---- */

void pq_tenc_init(pq_tenc *e, tarn_buf *out)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
}

static void put(pq_tenc *e, const void *p, size_t len)
{
    if (e->err == 0)
        e->err = tarn_buf_append(e->out, p, len);
}

void pq_tenc_varint(pq_tenc *e, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put(e, b, n);
}

void pq_tenc_i64(pq_tenc *e, int64_t v)
{
    pq_tenc_varint(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void pq_tenc_i32(pq_tenc *e, int32_t v)
{
    pq_tenc_i64(e, v);
}

void pq_tenc_binary(pq_tenc *e, const void *p, size_t len)
{
    pq_tenc_varint(e, len);
    put(e, p, len);
}

void pq_tenc_struct_begin(pq_tenc *e)
{
    if (e->depth >= PQ_THRIFT_DEPTH_MAX) {
        e->err = e->err ? e->err : TARN_EINVAL;
        return;
    }
    e->last_id[e->depth++] = 0;
}

void pq_tenc_struct_end(pq_tenc *e)
{
    uint8_t stop = 0;
    put(e, &stop, 1);
    if (e->depth > 0)
        e->depth--;
}

void pq_tenc_field(pq_tenc *e, int16_t id, uint8_t type)
{
    if (e->depth == 0) {
        e->err = e->err ? e->err : TARN_EINVAL;
        return;
    }
    int16_t *last = &e->last_id[e->depth - 1];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        put(e, &b, 1);
    } else {
        put(e, &type, 1);
        pq_tenc_i64(e, id);
    }
    *last = id;
}

void pq_tenc_bool_field(pq_tenc *e, int16_t id, bool v)
{
    pq_tenc_field(e, id, v ? PQ_T_TRUE : PQ_T_FALSE);
}

void pq_tenc_i32_field(pq_tenc *e, int16_t id, int32_t v)
{
    pq_tenc_field(e, id, PQ_T_I32);
    pq_tenc_i32(e, v);
}

void pq_tenc_i64_field(pq_tenc *e, int16_t id, int64_t v)
{
    pq_tenc_field(e, id, PQ_T_I64);
    pq_tenc_i64(e, v);
}

void pq_tenc_binary_field(pq_tenc *e, int16_t id, const void *p, size_t len)
{
    pq_tenc_field(e, id, PQ_T_BINARY);
    pq_tenc_binary(e, p, len);
}

void pq_tenc_list(pq_tenc *e, uint8_t elem_type, uint32_t count)
{
    if (count < 15) {
        uint8_t b = (uint8_t)(count << 4 | elem_type);
        put(e, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xf0 | elem_type);
        put(e, &b, 1);
        pq_tenc_varint(e, count);
    }
}
