/* tests/interop/pq_canon.c: see pq_canon.h. */
#include "pq_canon.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Unsigned 128-bit magnitude to decimal, with a sign. */
static void put_i128(tarn_buf *b, vec_i128 v)
{
    uint64_t hi = (uint64_t)v.hi, lo = v.lo;
    int neg = v.hi < 0;
    if (neg) { /* two's complement negate */
        lo = ~lo + 1;
        hi = ~hi + (lo == 0);
    }
    char digits[48];
    int n = 0;
    do { /* divide (hi:lo) by 10 using 32-bit limbs */
        uint64_t limbs[4] = {hi >> 32, hi & 0xffffffff, lo >> 32, lo & 0xffffffff}, rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = cur / 10;
            rem = cur % 10;
        }
        hi = limbs[0] << 32 | limbs[1];
        lo = limbs[2] << 32 | limbs[3];
        digits[n++] = (char)('0' + rem);
    } while (hi || lo);
    tarn_buf_append_str(b, neg ? "\"-" : "\"");
    while (n > 0)
        tarn_buf_append_byte(b, (uint8_t)digits[--n]);
    tarn_buf_append_byte(b, '"');
}

static void put_double(tarn_buf *b, double d)
{
    if (isnan(d))
        tarn_buf_append_str(b, "\"nan\"");
    else if (isinf(d))
        tarn_buf_append_str(b, d > 0 ? "\"inf\"" : "\"-inf\"");
    else
        tarn_buf_printf(b, "%.17g", d);
}

/* A count in `unit` as a string of nanoseconds: append zeros, no overflow. */
static void put_nanos(tarn_buf *b, int64_t v, vec_time_unit unit)
{
    const char *zeros = unit == VEC_UNIT_MILLIS ? "000000" : unit == VEC_UNIT_MICROS ? "000" : "";
    tarn_buf_printf(b, "\"%" PRId64 "%s\"", v, v == 0 ? "" : zeros);
}

static void canon_scalar(tarn_buf *b, const vec_col *c, uint32_t r);

/* Lists print as JSON arrays of their elements (null elements as null;
 * lists of lists as arrays of arrays). */
void pq_canon_value(tarn_buf *b, const vec_col *c, uint32_t r)
{
    if (!c->type.list) {
        canon_scalar(b, c, r);
        return;
    }
    tarn_buf_append_byte(b, '[');
    for (uint32_t i = c->list_offsets[r]; i < c->list_offsets[r + 1]; i++) {
        if (i > c->list_offsets[r])
            tarn_buf_append_byte(b, ',');
        if (vec_col_is_valid(c->elems, i))
            pq_canon_value(b, c->elems, i); /* lists of lists: depth <= VEC_LIST_DEPTH_MAX */
        else
            tarn_buf_append_str(b, "null");
    }
    tarn_buf_append_byte(b, ']');
}

static void canon_scalar(tarn_buf *b, const vec_col *c, uint32_t r)
{
    const void *d = c->data;
    switch (c->type.id) {
    case VEC_BOOL:
        tarn_buf_append_str(b, ((const uint8_t *)d)[r] ? "true" : "false");
        break;
    case VEC_I8:
        tarn_buf_printf(b, "%d", ((const int8_t *)d)[r]);
        break;
    case VEC_I16:
        tarn_buf_printf(b, "%d", ((const int16_t *)d)[r]);
        break;
    case VEC_I32:
    case VEC_DATE:
        tarn_buf_printf(b, "%" PRId32, ((const int32_t *)d)[r]);
        break;
    case VEC_U8:
        tarn_buf_printf(b, "%u", ((const uint8_t *)d)[r]);
        break;
    case VEC_U16:
        tarn_buf_printf(b, "%u", ((const uint16_t *)d)[r]);
        break;
    case VEC_U32:
        tarn_buf_printf(b, "%" PRIu32, ((const uint32_t *)d)[r]);
        break;
    case VEC_I64:
        tarn_buf_printf(b, "\"%" PRId64 "\"", ((const int64_t *)d)[r]);
        break;
    case VEC_U64:
        tarn_buf_printf(b, "\"%" PRIu64 "\"", ((const uint64_t *)d)[r]);
        break;
    case VEC_F32:
        put_double(b, ((const float *)d)[r]);
        break;
    case VEC_F64:
        put_double(b, ((const double *)d)[r]);
        break;
    case VEC_TIME:
    case VEC_TIMESTAMP:
        put_nanos(b, ((const int64_t *)d)[r], c->type.unit);
        break;
    case VEC_DECIMAL64: {
        int64_t v = ((const int64_t *)d)[r];
        put_i128(b, (vec_i128){(uint64_t)v, v < 0 ? -1 : 0});
        break;
    }
    case VEC_DECIMAL128:
        put_i128(b, ((const vec_i128 *)d)[r]);
        break;
    case VEC_STRING:
    case VEC_BINARY: {
        const uint8_t *s;
        size_t n;
        vec_col_str(c, r, &s, &n);
        if (c->type.id == VEC_STRING) {
            tarn_buf_append_json_str(b, (const char *)s, n);
            break;
        }
        tarn_buf_append_byte(b, '"');
        for (size_t i = 0; i < n; i++)
            tarn_buf_printf(b, "%02x", s[i]);
        tarn_buf_append_byte(b, '"');
        break;
    }
    default:
        tarn_buf_append_str(b, "\"?\"");
        break;
    }
}

void pq_canon_row(tarn_buf *b, const vec_batch *batch, uint32_t r, const char *const *names)
{
    tarn_buf_append_byte(b, '{');
    for (uint32_t c = 0; c < batch->ncols; c++) {
        tarn_buf_append_json_str(b, names[c], strlen(names[c]));
        tarn_buf_append_byte(b, ':');
        if (!vec_col_is_valid(&batch->cols[c], r))
            tarn_buf_append_str(b, "null");
        else
            pq_canon_value(b, &batch->cols[c], r);
        if (c + 1 < batch->ncols)
            tarn_buf_append_byte(b, ',');
    }
    tarn_buf_append_str(b, "}\n");
}
