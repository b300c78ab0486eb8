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
#include "pq_canon.h"

#include "common/test_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const char **names = tarn_calloc(b.ncols ? b.ncols : 1, sizeof(char *));
    for (uint32_t c = 0; names && c < b.ncols; c++)
        names[c] = pq_file_column(f, c)->name;
    while ((rc = pq_scan_next(s, &b, err)) == 0 && b.len > 0) {
        for (uint32_t r = 0; r < b.len; r++) {
            tarn_buf_reset(&line);
            pq_canon_row(&line, &b, r, names);
            fwrite(line.data, 1, line.len, stdout);
        }
    }
    tarn_buf_free(&line);
    tarn_free(names);
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
    char *data = tarn_test_read_file(argv[1], &len);
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
