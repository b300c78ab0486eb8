/*
 * tests/unit/delta/delta_test_util.c: see delta_test_util.h.
 */
#include "delta_test_util.h"

#include "common/test_util.h"

#include "base/buf.h"
#include "parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dt_rows_free(dt_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->rows[i]);
    free(r->rows);
    memset(r, 0, sizeof(*r));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void dt_rows_sort(dt_rows *r)
{
    if (r->n > 0)
        qsort(r->rows, r->n, sizeof(char *), cmp_str);
}

static int64_t unit_micros(vec_time_unit u, int64_t v)
{
    return u == VEC_UNIT_MILLIS ? v * 1000 : u == VEC_UNIT_NANOS ? v / 1000 : v;
}

static void value_text(tarn_buf *b, const vec_col *c, uint32_t r)
{
    if (!vec_col_is_valid(c, r)) {
        tarn_buf_append_str(b, "null");
        return;
    }
    const void *d = c->data;
    switch (c->type.id) {
    case VEC_BOOL:
        tarn_buf_printf(b, "bool:%d", ((const uint8_t *)d)[r]);
        break;
    case VEC_I8:
        tarn_buf_printf(b, "i8:%d", ((const int8_t *)d)[r]);
        break;
    case VEC_I16:
        tarn_buf_printf(b, "i16:%d", ((const int16_t *)d)[r]);
        break;
    case VEC_I32:
        tarn_buf_printf(b, "i32:%d", ((const int32_t *)d)[r]);
        break;
    case VEC_I64:
        tarn_buf_printf(b, "i64:%lld", (long long)((const int64_t *)d)[r]);
        break;
    case VEC_F32:
        tarn_buf_printf(b, "f32:%.9g", ((const float *)d)[r]);
        break;
    case VEC_F64:
        tarn_buf_printf(b, "f64:%.17g", ((const double *)d)[r]);
        break;
    case VEC_DATE:
        tarn_buf_printf(b, "date:%d", ((const int32_t *)d)[r]);
        break;
    case VEC_TIMESTAMP:
        tarn_buf_printf(b, "timestamp:%lld",
                        (long long)unit_micros(c->type.unit, ((const int64_t *)d)[r]));
        break;
    case VEC_DECIMAL64:
        tarn_buf_printf(b, "decimal(%u,%u):%lld", c->type.precision, c->type.scale,
                        (long long)((const int64_t *)d)[r]);
        break;
    case VEC_STRING:
    case VEC_BINARY: {
        const uint8_t *s;
        size_t len;
        vec_col_str(c, r, &s, &len);
        tarn_buf_append_str(b, c->type.id == VEC_STRING ? "string:" : "binary:");
        for (size_t i = 0; i < len; i++)
            tarn_buf_printf(b, "%02x", s[i]);
        break;
    }
    default:
        tarn_buf_printf(b, "%s:?", vec_type_name(c->type.id));
        break;
    }
}

void dt_rows_add_batch(dt_rows *r, const vec_batch *b, const char *const *names)
{
    uint32_t order[256];
    assert_true(b->ncols <= 256);
    for (uint32_t i = 0; i < b->ncols; i++)
        order[i] = i;
    for (uint32_t i = 1; i < b->ncols; i++)
        for (uint32_t j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (uint32_t row = 0; row < b->len; row++) {
        tarn_buf t;
        tarn_buf_init(&t, TARN_BUF_UNBOUNDED);
        for (uint32_t i = 0; i < b->ncols; i++) {
            tarn_buf_printf(&t, "%s%s=", i ? "|" : "", names[order[i]]);
            value_text(&t, &b->cols[order[i]], row);
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->rows = realloc(r->rows, r->cap * sizeof(char *));
            assert_non_null(r->rows);
        }
        r->rows[r->n++] = strdup(tarn_buf_cstr(&t));
        tarn_buf_free(&t);
    }
}

void dt_rows_assert_equal(const dt_rows *got, const dt_rows *want, const char *what)
{
    size_t n = got->n < want->n ? got->n : want->n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(got->rows[i], want->rows[i]) != 0) {
            print_error("%s: row %zu differs:\n  got  %s\n  want %s\n", what, i, got->rows[i],
                        want->rows[i]);
            fail();
        }
    }
    if (got->n != want->n) {
        print_error("%s: %zu rows, want %zu\n", what, got->n, want->n);
        fail();
    }
}

void dt_parquet_rows(const char *path, dt_rows *out)
{
    size_t len = 0;
    char *data = tarn_test_read_file(path, &len);
    assert_non_null(data);
    tarn_err err = TARN_ERR_INIT;
    pq_file *f = NULL;
    int rc = pq_file_open_bytes(data, len, path, &f, &err);
    if (rc != 0)
        print_error("%s: %s\n", path, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    const char *names[256];
    assert_true(pq_file_ncols(f) <= 256);
    for (uint32_t i = 0; i < pq_file_ncols(f); i++)
        names[i] = pq_file_column(f, i)->name;
    pq_scan *s = NULL;
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){0}, &s, &err), 0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    while ((rc = pq_scan_next(s, &b, &err)) == 0 && b.len > 0)
        dt_rows_add_batch(out, &b, names);
    assert_int_equal(rc, 0);
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
    free(data);
}

int dt_snapshot_rows(delta_table *t, const delta_snapshot *s, dt_rows *out, tarn_err *err)
{
    delta_scan *sc = NULL;
    int rc = delta_scan_open(t, s, NULL, &sc, err);
    if (rc != 0)
        return rc;
    const char *names[256];
    assert_true(delta_scan_ncols(sc) <= 256);
    for (uint32_t i = 0; i < delta_scan_ncols(sc); i++)
        names[i] = delta_scan_col_name(sc, i);
    vec_batch b;
    assert_int_equal(delta_scan_batch_init(sc, &b), 0);
    while ((rc = delta_scan_next(sc, &b, err)) == 0 && b.len > 0)
        dt_rows_add_batch(out, &b, names);
    vec_batch_free(&b);
    delta_scan_close(sc);
    return rc;
}

void dt_put_commit(objstore *os, const char *root, long long version, const char *text)
{
    char key[512];
    snprintf(key, sizeof(key), "%s%s_delta_log/%020lld.json", root, root[0] ? "/" : "", version);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_put(os, key, text, strlen(text), &err);
    if (rc != 0)
        print_error("put %s: %s\n", key, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
}
