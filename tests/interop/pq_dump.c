/*
 * tests/interop/pq_dump.c: prints every row of a Parquet file read by
 * Tarn's reader as one JSON object per line, in the canonical typed form
 * that duckdb_compare.js builds from DuckDB's values:
 *
 *   bool, i8..i32, u8..u32, date (days)   JSON number
 *   i64, u64                              decimal string
 *   f32, f64                              number (%.17g), or "nan" / "inf" / "-inf"
 *   time, timestamp                       string of nanoseconds
 *   decimal                               string of the unscaled integer
 *   string                                JSON string
 *   binary                                string of lowercase hex
 *
 * Usage: pq_dump FILE [batch_rows] [keep_dict 0|1]. Exit 1 with the error
 * on stderr when the file cannot be read.
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "parquet/parquet.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return p;
}

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

static void put_value(tarn_buf *b, const vec_col *c, uint32_t r)
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

static int dump(pq_file *f, uint32_t batch_rows, int keep_dict, tarn_err *err)
{
    pq_scan *s;
    int rc =
        pq_scan_open(f, &(pq_scan_opts){.batch_rows = batch_rows, .keep_dict = keep_dict}, &s, err);
    if (rc != 0)
        return rc;
    vec_batch b;
    if ((rc = pq_scan_batch_init(s, &b)) != 0) {
        pq_scan_close(s);
        return rc;
    }
    tarn_buf line;
    tarn_buf_init(&line, TARN_BUF_UNBOUNDED);
    while ((rc = pq_scan_next(s, &b, err)) == 0 && b.len > 0) {
        for (uint32_t r = 0; r < b.len; r++) {
            tarn_buf_reset(&line);
            tarn_buf_append_byte(&line, '{');
            for (uint32_t c = 0; c < b.ncols; c++) {
                const char *name = pq_file_column(f, c)->name;
                tarn_buf_append_json_str(&line, name, strlen(name));
                tarn_buf_append_byte(&line, ':');
                if (!vec_col_is_valid(&b.cols[c], r))
                    tarn_buf_append_str(&line, "null");
                else
                    put_value(&line, &b.cols[c], r);
                if (c + 1 < b.ncols)
                    tarn_buf_append_byte(&line, ',');
            }
            tarn_buf_append_str(&line, "}\n");
            fwrite(line.data, 1, line.len, stdout);
        }
    }
    tarn_buf_free(&line);
    vec_batch_free(&b);
    pq_scan_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pq_dump FILE [batch_rows] [keep_dict]\n");
        return 2;
    }
    size_t len;
    char *data = slurp(argv[1], &len);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    uint32_t batch_rows = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    int keep_dict = argc > 3 ? atoi(argv[3]) : 1;
    tarn_err err = TARN_ERR_INIT;
    pq_file *f;
    int rc = pq_file_open_bytes(data, len, argv[1], &f, &err);
    if (rc == 0) {
        rc = dump(f, batch_rows, keep_dict, &err);
        pq_file_close(f);
    }
    free(data);
    if (rc != 0) {
        fprintf(stderr, "error %s: %s\n", tarn_error_name(rc), tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
