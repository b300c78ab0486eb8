/*
 * tests/fuzz_parquet/fuzz_reader.c: libFuzzer target over the Parquet
 * reader. Any input must open and scan to success or an error code: no
 * crash, no leak, no sanitizer report, and no allocation past the scan's
 * memory budget. Built as a libFuzzer binary with TARN_FUZZ=ON (clang),
 * and linked into replay.c for the default test suite.
 */
#include "parquet/parquet.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Budget small enough that hostile sizes are refused quickly. */
#define FUZZ_BUDGET_BYTES ((size_t)64 << 20)

static void scan_all(pq_file *f, bool keep_dict, uint32_t batch_rows, const pq_predicate *pred)
{
    pq_scan *s;
    pq_scan_opts o = {.keep_dict = keep_dict,
                      .batch_rows = batch_rows,
                      .mem_budget_bytes = FUZZ_BUDGET_BYTES,
                      .preds = pred,
                      .npreds = pred != NULL};
    if (pq_scan_open(f, &o, &s, NULL) != 0)
        return;
    vec_batch b;
    if (pq_scan_batch_init(s, &b) == 0) {
        /* Touch every string (of lists: every element) so ASan sees any
         * bad offset. */
        volatile uint8_t sink = 0;
        while (pq_scan_next(s, &b, NULL) == 0 && b.len > 0)
            for (uint32_t c = 0; c < b.ncols; c++) {
                const vec_col *col = &b.cols[c];
                while (col->type.list) /* lists of lists: down to the values */
                    col = col->elems;
                for (uint32_t r = 0; vec_type_is_var(col->type.id) && r < col->len; r++) {
                    const uint8_t *p;
                    size_t n;
                    vec_col_str(col, r, &p, &n);
                    if (n)
                        sink ^= p[n - 1];
                }
            }
        (void)sink;
        vec_batch_free(&b);
    }
    pq_scan_close(s);
}

/* A scan that skips row groups and pages: `x <= min` of the first flat
 * column (its row group 0 minimum, from the footer), or `x IS NULL`, so
 * hostile page headers and statistics reach the skipping paths too. */
static void scan_with_predicate(pq_file *f)
{
    for (uint32_t leaf = 0; leaf < pq_file_ncols(f); leaf++) {
        const pq_column_info *ci = pq_file_column(f, leaf);
        if (ci->type.list || ci->unsupported)
            continue;
        vec_col mn, mx;
        if (vec_col_init(&mn, ci->type, 1) != 0)
            return;
        if (vec_col_init(&mx, ci->type, 1) != 0) {
            vec_col_free(&mn);
            return;
        }
        pq_rg_stats st;
        pq_predicate p = {leaf, PQ_OP_IS_NULL, NULL};
        if (pq_file_nrow_groups(f) > 0 && pq_file_column_stats(f, 0, leaf, &mn, &mx, &st) == 0 &&
            st.min_max)
            p = (pq_predicate){leaf, PQ_OP_LE, &mn};
        scan_all(f, true, 0, &p);
        vec_col_free(&mn);
        vec_col_free(&mx);
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tarn_err err = TARN_ERR_INIT;
    pq_file *f;
    if (pq_file_open_bytes(data, size, "fuzz", &f, &err) != 0)
        return 0;
    scan_all(f, true, 0, NULL);
    scan_all(f, false, 7, NULL);
    scan_with_predicate(f);
    pq_file_close(f);
    return 0;
}
