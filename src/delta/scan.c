/*
 * delta/scan.c: the rows of a snapshot. Each live file is opened through
 * the object store (byte ranges) and read with the Parquet reader; each
 * output column is then one of
 *
 *   from the file   the file's column, converted to the table type when
 *                   the file stores it differently (INT96 timestamps,
 *                   narrower integers, string/binary);
 *   a partition     the file's partition value from the log, a typed
 *                   constant (PROTOCOL.md "Partition Value Serialization");
 *   missing         all null: the file predates the column (a schema
 *                   change), as PROTOCOL.md "Schema Evolution" allows.
 *
 * Partition columns come from the log even when the file also stores them
 * (Spark sometimes does), because the log is the truth. Design note:
 * delta/README.md, "Reading rows".
 *
 * A scan reads its units one after another: every file in order, or, with
 * delta_morsels, whatever unit (a file, or one row group of a file) the
 * shared counter hands it next. The file object stays open while the
 * units it takes are of the same file.
 */
#include "delta/scan_int.h"
#include "delta/source_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct out_col {
    const delta_field *field;
    vec_type_info type; /* the table type */
    int32_t part;       /* index among the partition columns, or -1 */
} out_col;

/* A unit of work: row groups [rg_first, rg_first + rg_count) of a file
 * (rg_count 0: all of it). */
typedef struct morsel {
    uint32_t file;
    uint32_t rg_first, rg_count;
} morsel;

struct delta_morsels {
    morsel *units;
    uint32_t count;
    uint32_t next; /* atomic */
};

struct delta_scan {
    delta_table *t;
    const delta_snapshot *s;
    out_col *cols;
    uint32_t ncols;
    uint32_t batch_rows;
    size_t budget;
    size_t next_file;
    bool failed;
    bool keep_dict;
    const delta_scan_pred *preds; /* borrowed */
    uint32_t npreds;
    pq_predicate *fpreds;   /* preds mapped onto the open file's leaves */
    delta_morsels *morsels; /* borrowed, or NULL */
    /* The file being read. */
    bool open;
    bool started; /* a unit is being read */
    size_t cur_file;
    delta_obj_src src;
    pq_file *f;
    pq_scan *ps; /* NULL when no column comes from the file */
    vec_batch pb;
    int32_t *file_col;   /* per output column: column of pb, or -1 */
    delta_const *consts; /* per output column: its partition value */
    int64_t rows_left;   /* rows still to emit when ps is NULL */
};

static int find_part(const delta_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->metadata.n_partition_columns; i++)
        if (strcasecmp(s->metadata.partition_columns[i], name) == 0)
            return (int)i;
    return -1;
}

static int add_out_col(delta_scan *sc, const char *name, tarn_err *err)
{
    const delta_schema *sch = &sc->s->metadata.schema;
    int32_t idx = delta_schema_find(sch, name);
    if (idx < 0)
        return tarn_err_set(err, TARN_EINVAL, "no column \"%.100s\" in the table", name);
    out_col *c = &sc->cols[sc->ncols];
    c->field = &sch->fields[idx];
    if (delta_kind_vec_type(c->field, &c->type) != 0)
        return tarn_err_set(err, TARN_ENOTSUP,
                            "column \"%.100s\": %s columns cannot be scanned "
                            "yet",
                            name, delta_kind_name(c->field->kind));
    c->part = find_part(sc->s, c->field->name);
    sc->ncols++;
    return 0;
}

int delta_scan_open(delta_table *t, const delta_snapshot *s, const delta_scan_opts *opts,
                    delta_scan **out, tarn_err *err)
{
    *out = NULL;
    delta_scan_opts o = opts ? *opts : (delta_scan_opts){0};
    const delta_schema *sch = &s->metadata.schema;
    uint32_t n = o.columns ? o.ncols : sch->ntop;
    if (n == 0 || n > DELTA_SCHEMA_FIELDS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "a scan needs 1 to %d columns",
                            DELTA_SCHEMA_FIELDS_MAX);
    delta_scan *sc = tarn_calloc(1, sizeof(*sc));
    if (sc == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan");
    sc->t = t;
    sc->s = s;
    sc->batch_rows = o.batch_rows ? o.batch_rows : VEC_BATCH_ROWS;
    sc->budget = o.mem_budget_bytes;
    sc->keep_dict = o.keep_dict;
    sc->preds = o.preds;
    sc->npreds = o.npreds;
    sc->morsels = o.morsels;
    sc->cols = tarn_calloc(n, sizeof(out_col));
    sc->file_col = tarn_calloc(n, sizeof(int32_t));
    sc->consts = tarn_calloc(n, sizeof(delta_const));
    sc->fpreds = tarn_calloc(o.npreds + 1, sizeof(pq_predicate));
    int rc = sc->cols && sc->file_col && sc->consts && sc->fpreds
                 ? 0
                 : tarn_err_set(err, TARN_ENOMEM, "scan");
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_out_col(sc, o.columns ? o.columns[i] : sch->fields[sch->top[i]].name, err);
    for (uint32_t i = 0; rc == 0 && i < o.npreds; i++)
        if (o.preds[i].column >= sc->ncols ||
            (o.preds[i].value == NULL && o.preds[i].op != PQ_OP_IS_NULL &&
             o.preds[i].op != PQ_OP_IS_NOT_NULL))
            rc = tarn_err_set(err, TARN_EINVAL, "scan predicate %u: bad column or value", i);
    if (rc == 0 && sc->batch_rows > VEC_ROWS_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "batch of %u rows", sc->batch_rows);
    if (rc != 0) {
        delta_scan_close(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

int delta_scan_batch_init(const delta_scan *sc, vec_batch *b)
{
    vec_type_info *types = tarn_calloc(sc->ncols, sizeof(vec_type_info));
    if (types == NULL)
        return TARN_ENOMEM;
    for (uint32_t i = 0; i < sc->ncols; i++)
        types[i] = sc->cols[i].type;
    int rc = vec_batch_init(b, types, sc->ncols, sc->batch_rows);
    tarn_free(types);
    return rc;
}

uint32_t delta_scan_ncols(const delta_scan *sc)
{
    return sc->ncols;
}

const char *delta_scan_col_name(const delta_scan *sc, uint32_t i)
{
    return i < sc->ncols ? sc->cols[i].field->name : NULL;
}

static void close_range(delta_scan *sc)
{
    if (sc->ps != NULL) {
        vec_batch_free(&sc->pb);
        pq_scan_close(sc->ps);
    }
    sc->ps = NULL;
    sc->rows_left = 0;
}

static void close_file(delta_scan *sc)
{
    close_range(sc);
    pq_file_close(sc->f);
    sc->f = NULL;
    sc->open = false;
}

void delta_scan_close(delta_scan *sc)
{
    if (sc == NULL)
        return;
    close_file(sc);
    tarn_free(sc->cols);
    tarn_free(sc->file_col);
    tarn_free(sc->consts);
    tarn_free(sc->fpreds);
    tarn_free(sc);
}

static bool is_int(vec_type t)
{
    return t == VEC_I8 || t == VEC_I16 || t == VEC_I32 || t == VEC_I64;
}

/* How a file column of type `from` becomes the table type `to`. */
enum conv { CONV_NONE, CONV_SWAP, CONV_SWAP_RETYPE, CONV_COPY };

static enum conv conversion(vec_type_info from, vec_type_info to)
{
    if (from.id == to.id) {
        if (to.id == VEC_TIMESTAMP)
            return from.unit == to.unit ? CONV_SWAP_RETYPE : CONV_COPY;
        if (to.id == VEC_DECIMAL64 || to.id == VEC_DECIMAL128)
            return from.scale == to.scale ? CONV_SWAP_RETYPE : CONV_NONE;
        return CONV_SWAP;
    }
    if (vec_type_is_var(from.id) && vec_type_is_var(to.id))
        return CONV_SWAP_RETYPE; /* same layout: offsets and bytes */
    if (is_int(from.id) && (is_int(to.id) || to.id == VEC_F64) &&
        vec_type_width(from.id) <= vec_type_width(to.id))
        return CONV_COPY;
    if (from.id == VEC_F32 && to.id == VEC_F64)
        return CONV_COPY;
    return CONV_NONE;
}

static int64_t get_int(const vec_col *c, uint32_t r)
{
    switch (c->type.id) {
    case VEC_I8:
        return ((const int8_t *)c->data)[r];
    case VEC_I16:
        return ((const int16_t *)c->data)[r];
    case VEC_I32:
        return ((const int32_t *)c->data)[r];
    default:
        return ((const int64_t *)c->data)[r];
    }
}

static int64_t unit_per_sec(vec_time_unit u)
{
    return u == VEC_UNIT_MILLIS ? 1000 : u == VEC_UNIT_MICROS ? 1000000 : 1000000000;
}

/* Writes row r of `src` into `dst` converted (CONV_COPY cases). */
static void copy_value(const vec_col *src, vec_col *dst, uint32_t r)
{
    void *d = dst->data;
    if (src->type.id == VEC_TIMESTAMP) {
        int64_t v = ((const int64_t *)src->data)[r];
        int64_t fu = unit_per_sec(src->type.unit), tu = unit_per_sec(dst->type.unit);
        ((int64_t *)d)[r] = fu > tu ? v / (fu / tu) - (v % (fu / tu) < 0) : v * (tu / fu);
    } else if (src->type.id == VEC_F32) {
        ((double *)d)[r] = ((const float *)src->data)[r];
    } else if (dst->type.id == VEC_F64) {
        ((double *)d)[r] = (double)get_int(src, r);
    } else if (dst->type.id == VEC_I16) {
        ((int16_t *)d)[r] = (int16_t)get_int(src, r);
    } else if (dst->type.id == VEC_I32) {
        ((int32_t *)d)[r] = (int32_t)get_int(src, r);
    } else {
        ((int64_t *)d)[r] = get_int(src, r);
    }
}

static int move_col(vec_col *src, vec_col *dst, uint32_t n)
{
    vec_type_info to = dst->type, from = src->type;
    enum conv cv = conversion(from, to);
    if (cv == CONV_SWAP || cv == CONV_SWAP_RETYPE) {
        vec_col tmp = *src;
        *src = *dst;
        *dst = tmp;
        dst->type = to;
        src->type = from;
        return 0;
    }
    for (uint32_t r = 0; r < n; r++) {
        if (vec_col_is_valid(src, r)) {
            copy_value(src, dst, r);
            continue;
        }
        memset((char *)dst->data + (size_t)r * vec_type_width(to.id), 0, vec_type_width(to.id));
        int rc = vec_col_set_null(dst, r);
        if (rc != 0)
            return rc;
    }
    dst->len = n;
    return 0;
}

/* Fills n rows with one value (a partition value, or null). */
static int fill_const(vec_col *c, const delta_const *k, uint32_t n)
{
    if (vec_type_is_var(c->type.id)) {
        int rc = vec_col_reserve_bytes(c, k->is_null ? 0 : k->str_len * n);
        for (uint32_t r = 0; rc == 0 && r < n; r++) {
            rc = vec_col_append_str(c, k->is_null ? "" : k->str, k->is_null ? 0 : k->str_len);
            if (rc == 0 && k->is_null)
                rc = vec_col_set_null(c, r);
        }
        return rc;
    }
    size_t w = vec_type_width(c->type.id);
    for (uint32_t r = 0; r < n; r++) {
        if (k->is_null) {
            memset((char *)c->data + (size_t)r * w, 0, w);
            int rc = vec_col_set_null(c, r);
            if (rc != 0)
                return rc;
        } else {
            memcpy((char *)c->data + (size_t)r * w, &k->v, w);
        }
    }
    c->len = n;
    return 0;
}

/* The file's leaf column for table column `name`: exact name first, then
 * ignoring case (Delta names are case-insensitive). -1 when absent. */
static int file_column(const pq_file *f, const char *name)
{
    int i = pq_file_find_column(f, name);
    for (uint32_t k = 0; i < 0 && k < pq_file_ncols(f); k++)
        if (strcasecmp(pq_file_column(f, k)->name, name) == 0)
            i = (int)k;
    return i;
}

/* Maps the output columns onto the open file: leaves to read, constants. */
static int plan_file(delta_scan *sc, const delta_file *df, uint32_t *leaves, uint32_t *nleaves,
                     tarn_err *err)
{
    *nleaves = 0;
    for (uint32_t j = 0; j < sc->ncols; j++) {
        const out_col *c = &sc->cols[j];
        sc->file_col[j] = -1;
        if (c->part >= 0) {
            int rc = delta_const_parse(c->field, df->part_values[c->part], &sc->consts[j], err);
            if (rc != 0)
                return tarn_err_wrap(err, rc, "data file %s", df->path);
            continue;
        }
        int k = file_column(sc->f, c->field->name);
        if (k < 0)
            continue; /* written before the column existed: nulls */
        const pq_column_info *ci = pq_file_column(sc->f, (uint32_t)k);
        if (ci->unsupported)
            return tarn_err_set(err, TARN_ENOTSUP, "data file %s: column %s cannot be read yet",
                                df->path, ci->name);
        if (conversion(ci->type, c->type) == CONV_NONE)
            return tarn_err_set(err, TARN_ENOTSUP,
                                "data file %s: column %s is stored as %s, "
                                "which we cannot read as the table's %s",
                                df->path, ci->name, vec_type_name(ci->type.id),
                                delta_kind_name(c->field->kind));
        sc->file_col[j] = (int32_t)*nleaves;
        leaves[(*nleaves)++] = (uint32_t)k;
    }
    return 0;
}

static int open_object(delta_scan *sc, const delta_file *df, tarn_err *err)
{
    char key[OBJSTORE_KEY_MAX + 1];
    int n = snprintf(key, sizeof(key), "%s%s", delta_table_root(sc->t), df->path);
    if (n < 0 || (size_t)n >= sizeof(key))
        return tarn_err_set(err, TARN_ECORRUPT, "data file %.200s: path too long", df->path);
    int rc =
        delta_obj_src_open(delta_table_store(sc->t), key, df->size_bytes, &sc->src, &sc->f, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "data file %s", df->path);
    sc->open = true;
    return 0;
}

/* The predicates on columns this file stores as the table type, on its
 * leaves. */
static uint32_t map_preds(delta_scan *sc, const uint32_t *leaves)
{
    uint32_t np = 0;
    for (uint32_t i = 0; i < sc->npreds; i++) {
        const delta_scan_pred *p = &sc->preds[i];
        int32_t fc = sc->file_col[p->column];
        if (fc < 0)
            continue;
        const pq_column_info *ci = pq_file_column(sc->f, leaves[fc]);
        if (conversion(ci->type, sc->cols[p->column].type) != CONV_SWAP)
            continue; /* the value is of the table type, the statistics of the file's */
        sc->fpreds[np++] = (pq_predicate){leaves[fc], p->op, p->value};
    }
    return np;
}

/* Rows of row groups [first, first + count) (count 0: to the end). */
static int64_t range_rows(const pq_file *f, uint32_t first, uint32_t count)
{
    uint32_t end = count ? first + count : pq_file_nrow_groups(f);
    int64_t rows = 0;
    for (uint32_t g = first; g < end; g++)
        rows += pq_file_row_group_rows(f, g);
    return rows;
}

/* Opens unit `u` of file `df` (the file object too unless already open). */
static int open_unit(delta_scan *sc, const delta_file *df, const morsel *u, tarn_err *err)
{
    int rc = sc->open ? 0 : open_object(sc, df, err);
    if (rc != 0)
        return rc;
    uint32_t *leaves = tarn_calloc(sc->ncols, sizeof(uint32_t)), nleaves = 0;
    rc = leaves ? plan_file(sc, df, leaves, &nleaves, err) : tarn_err_set(err, TARN_ENOMEM, "scan");
    if (rc == 0 && nleaves == 0) {
        /* Only partition or missing columns: the row count is all we need. */
        if (u->rg_first + (uint64_t)u->rg_count > pq_file_nrow_groups(sc->f))
            rc = tarn_err_set(err, TARN_ECORRUPT, "data file %s: fewer row groups than before",
                              df->path);
        else
            sc->rows_left = range_rows(sc->f, u->rg_first, u->rg_count);
        if (rc == 0 && sc->rows_left < 0)
            rc = tarn_err_set(err, TARN_ECORRUPT, "data file %s: negative row count", df->path);
    } else if (rc == 0) {
        pq_scan_opts po = {.columns = leaves,
                           .ncols = nleaves,
                           .batch_rows = sc->batch_rows,
                           .mem_budget_bytes = sc->budget,
                           .keep_dict = sc->keep_dict,
                           .preds = sc->fpreds,
                           .npreds = map_preds(sc, leaves),
                           .rg_first = u->rg_first,
                           .rg_count = u->rg_count};
        rc = pq_scan_open(sc->f, &po, &sc->ps, err);
        if (rc == 0 && (rc = pq_scan_batch_init(sc->ps, &sc->pb)) != 0) {
            pq_scan_close(sc->ps);
            sc->ps = NULL;
            tarn_err_set(err, rc, "scan batch");
        }
        if (rc != 0)
            tarn_err_wrap(err, rc, "data file %s", df->path);
    }
    tarn_free(leaves);
    return rc;
}

/* Takes the next unit: the next file, or the next morsel. false at the end. */
static bool take_unit(delta_scan *sc, morsel *u)
{
    if (sc->morsels != NULL) {
        uint32_t i = __atomic_fetch_add(&sc->morsels->next, 1, __ATOMIC_RELAXED);
        if (i >= sc->morsels->count)
            return false;
        *u = sc->morsels->units[i];
        return true;
    }
    if (sc->next_file == sc->s->nfiles)
        return false;
    *u = (morsel){(uint32_t)sc->next_file++, 0, 0};
    return true;
}

/* Starts the next unit (keeping the file object when it is the same
 * file). *done at the end of the scan. */
static int next_unit(delta_scan *sc, bool *done, tarn_err *err)
{
    morsel u;
    close_range(sc);
    if (!take_unit(sc, &u)) {
        close_file(sc);
        *done = true;
        return 0;
    }
    *done = false;
    if (sc->open && sc->cur_file != u.file)
        close_file(sc);
    sc->cur_file = u.file;
    return open_unit(sc, &sc->s->files[u.file], &u, err);
}

/* Rows of the next batch of the open file (0 at its end). */
static int next_rows(delta_scan *sc, uint32_t *n, tarn_err *err)
{
    if (sc->ps == NULL) {
        int64_t k = sc->rows_left < sc->batch_rows ? sc->rows_left : sc->batch_rows;
        sc->rows_left -= k;
        *n = (uint32_t)k;
        return 0;
    }
    int rc = pq_scan_next(sc->ps, &sc->pb, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "data file %s", sc->s->files[sc->cur_file].path);
    *n = sc->pb.len;
    return 0;
}

static int fill_batch(delta_scan *sc, vec_batch *b, uint32_t n, tarn_err *err)
{
    vec_batch_reset(b);
    for (uint32_t j = 0; j < sc->ncols; j++) {
        int rc;
        if (sc->cols[j].part >= 0)
            rc = fill_const(&b->cols[j], &sc->consts[j], n);
        else if (sc->file_col[j] < 0)
            rc = fill_const(&b->cols[j], &(delta_const){.is_null = true}, n);
        else
            rc = move_col(&sc->pb.cols[sc->file_col[j]], &b->cols[j], n);
        if (rc != 0)
            return tarn_err_set(err, rc, "filling column %s", sc->cols[j].field->name);
    }
    b->len = n;
    return 0;
}

int delta_scan_next(delta_scan *sc, vec_batch *b, tarn_err *err)
{
    if (sc->failed)
        return tarn_err_set(err, TARN_ESTATE, "scan failed earlier");
    if (b->ncols != sc->ncols || b->cap < sc->batch_rows)
        return tarn_err_set(err, TARN_EINVAL, "batch not made by delta_scan_batch_init");
    for (;;) {
        int rc = 0;
        if (!sc->started) {
            bool done = false;
            rc = next_unit(sc, &done, err);
            if (rc == 0 && done) {
                vec_batch_reset(b);
                return 0;
            }
            sc->started = rc == 0;
        }
        uint32_t n = 0;
        if (rc == 0)
            rc = next_rows(sc, &n, err);
        if (rc == 0 && n == 0) {
            sc->started = false; /* this unit is done */
            continue;
        }
        if (rc == 0)
            rc = fill_batch(sc, b, n, err);
        if (rc != 0) {
            sc->failed = true;
            close_file(sc);
            return rc;
        }
        return 0;
    }
}

/* ---- morsels ---- */

static int add_file_row_groups(delta_table *t, const delta_snapshot *s, uint32_t file,
                               morsel **units, uint32_t *count, uint32_t *cap, tarn_err *err)
{
    delta_scan probe = {.t = t, .s = s};
    int rc = open_object(&probe, &s->files[file], err);
    if (rc != 0)
        return rc;
    uint32_t nrg = pq_file_nrow_groups(probe.f);
    for (uint32_t g = 0; g < nrg && rc == 0; g++) {
        if (*count == *cap) {
            uint32_t ncap = *cap ? *cap * 2 : 64;
            morsel *nu = tarn_realloc(*units, (size_t)ncap * sizeof(morsel));
            if (nu == NULL) {
                rc = tarn_err_set(err, TARN_ENOMEM, "scan morsels");
                break;
            }
            *units = nu;
            *cap = ncap;
        }
        (*units)[(*count)++] = (morsel){file, g, 1};
    }
    pq_file_close(probe.f);
    return rc;
}

int delta_morsels_open(delta_table *t, const delta_snapshot *s, uint32_t workers,
                       delta_morsels **out, tarn_err *err)
{
    *out = NULL;
    if (s->nfiles > UINT32_MAX / 2)
        return tarn_err_set(err, TARN_ETOOBIG, "scan of %zu files", s->nfiles);
    delta_morsels *m = tarn_calloc(1, sizeof(*m));
    if (m == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan morsels");
    int rc = 0;
    uint32_t cap = 0;
    if (s->nfiles >= (size_t)DELTA_MORSEL_FILES_PER_WORKER * (workers ? workers : 1)) {
        cap = (uint32_t)s->nfiles;
        m->units = tarn_calloc(cap, sizeof(morsel));
        if (m->units == NULL)
            rc = tarn_err_set(err, TARN_ENOMEM, "scan morsels");
        for (uint32_t i = 0; rc == 0 && i < cap; i++)
            m->units[m->count++] = (morsel){i, 0, 0};
    } else {
        for (uint32_t i = 0; rc == 0 && i < s->nfiles; i++)
            rc = add_file_row_groups(t, s, i, &m->units, &m->count, &cap, err);
    }
    if (rc != 0) {
        delta_morsels_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

uint32_t delta_morsels_count(const delta_morsels *m)
{
    return m->count;
}

void delta_morsels_rewind(delta_morsels *m)
{
    __atomic_store_n(&m->next, 0, __ATOMIC_RELAXED);
}

void delta_morsels_close(delta_morsels *m)
{
    if (m == NULL)
        return;
    tarn_free(m->units);
    tarn_free(m);
}
