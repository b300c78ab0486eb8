/*
 * gen/table.c: generated lineitem rows written straight into a Tarn table
 * through the Delta write path (delta_create_table, delta_append). Each
 * file of GEN_TABLE_FILE_ROWS rows is its own commit, so memory stays
 * bounded whatever the row count, and an interrupted run leaves a table
 * holding a prefix of the rows.
 */
#include "gen/gen.h"

#include "base/alloc.h"

#include <string.h>

/* Checks that an existing table has the lineitem columns of these options,
 * in order, so that appending cannot mix schemas. */
static int check_schema(const gen_lineitem_opts *o, const delta_snapshot *s, const char *name,
                        tarn_err *err)
{
    const delta_schema *sc = &s->metadata.schema;
    if (sc->ntop != GEN_LINEITEM_NCOLS || s->metadata.n_partition_columns != 0)
        return tarn_err_set(err, TARN_EINVAL,
                            "table %s exists with %u columns; lineitem has %d and no partitions",
                            name, sc->ntop, GEN_LINEITEM_NCOLS);
    for (uint32_t c = 0; c < GEN_LINEITEM_NCOLS; c++) {
        const delta_field *f = &sc->fields[sc->top[c]];
        vec_type_info want = gen_lineitem_col_type(o, c), got;
        if (strcmp(f->name, gen_lineitem_col_name(c)) != 0 || delta_kind_vec_type(f, &got) != 0 ||
            got.id != want.id || got.precision != want.precision || got.scale != want.scale)
            return tarn_err_set(err, TARN_EINVAL,
                                "table %s exists and its column %u (%s %s) is not lineitem's %s%s",
                                name, c + 1, f->name, delta_kind_name(f->kind),
                                gen_lineitem_col_name(c),
                                o->doubles ? " (with --doubles)" : " (without --doubles)");
    }
    return 0;
}

/* Creates the table when it is missing; TARN_EEXIST is not an error here. */
static int ensure_table(const gen_lineitem_opts *o, delta_committer *c, objstore *os,
                        const char *name, tarn_err *err)
{
    delta_column cols[GEN_LINEITEM_NCOLS];
    for (uint32_t i = 0; i < GEN_LINEITEM_NCOLS; i++)
        cols[i] = (delta_column){gen_lineitem_col_name(i), gen_lineitem_col_type(o, i), false};
    int rc = delta_create_table(c, os, name, cols, GEN_LINEITEM_NCOLS, NULL, 0, err);
    if (rc == TARN_EEXIST) {
        tarn_err_clear(err);
        return 0;
    }
    return rc;
}

/* Appends rows [first, first + n) as one file and one commit. */
static int append_chunk(const gen_lineitem_opts *o, delta_committer *c, objstore *os,
                        const char *name, int64_t first, int64_t n, int64_t *version_out,
                        tarn_err *err)
{
    size_t nb = (size_t)((n + GEN_BATCH_ROWS - 1) / GEN_BATCH_ROWS);
    vec_batch *b = tarn_calloc(nb, sizeof(vec_batch));
    delta_snapshot *base = NULL;
    if (b == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "%zu batches", nb);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nb; i++) {
        int64_t row = first + (int64_t)i * GEN_BATCH_ROWS;
        int64_t left = first + n - row;
        uint32_t k = left < GEN_BATCH_ROWS ? (uint32_t)left : GEN_BATCH_ROWS;
        if ((rc = gen_lineitem_batch_init(o, &b[i], k)) != 0)
            tarn_err_set(err, rc, "lineitem batch");
        else
            rc = gen_lineitem_fill(o, row, k, &b[i], err);
    }
    if (rc == 0)
        rc = delta_managed_snapshot_latest(c, os, name, &base, err);
    if (rc == 0)
        rc = check_schema(o, base, name, err);
    /* Another writer may commit meanwhile: an append can always rebase. */
    delta_append_opts ao = {.rebase_max = 16};
    if (rc == 0)
        rc = delta_append(c, os, name, base, b, nb, &ao, version_out, err);
    delta_snapshot_free(base);
    for (size_t i = 0; i < nb; i++)
        vec_batch_free(&b[i]);
    tarn_free(b);
    return rc;
}

int gen_lineitem_write_table(const gen_lineitem_opts *o, delta_committer *c, objstore *os,
                             const char *name, gen_progress_fn progress, void *progress_ctx,
                             int64_t *version_out, tarn_err *err)
{
    if (o->rows < 0 || o->rows > GEN_ROWS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "rows must be 0..%lld, not %lld",
                            (long long)GEN_ROWS_MAX, (long long)o->rows);
    if (o->table_file_rows < 0)
        return tarn_err_set(err, TARN_EINVAL, "table_file_rows must not be negative");
    int64_t file_rows = o->table_file_rows > 0 ? o->table_file_rows : GEN_TABLE_FILE_ROWS;
    int rc = ensure_table(o, c, os, name, err);
    delta_snapshot *s = NULL;
    /* The metadata service, not a listing of the log, says what exists. */
    if (rc == 0 && (rc = delta_managed_snapshot_latest(c, os, name, &s, err)) == 0) {
        rc = check_schema(o, s, name, err);
        if (version_out)
            *version_out = s->version;
        delta_snapshot_free(s);
    }
    for (int64_t row = 0; rc == 0 && row < o->rows;) {
        int64_t n = o->rows - row < file_rows ? o->rows - row : file_rows;
        int64_t v = -1;
        rc = append_chunk(o, c, os, name, row, n, &v, err);
        if (rc != 0) {
            tarn_err_wrap(err, rc, "append rows %lld..%lld to %s", (long long)row,
                          (long long)(row + n - 1), name);
            break;
        }
        if (version_out)
            *version_out = v;
        row += n;
        if (progress)
            progress(progress_ctx, row);
    }
    return rc;
}
