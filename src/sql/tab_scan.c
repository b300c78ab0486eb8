/*
 * sql/tab_scan.c: the scan of a sql_tab as an exec source: Delta files
 * pruned by partition values and min/max stats (delta_file_may_match,
 * which knows which stats are truncated), Parquet row groups by
 * statistics, only the used columns read, narrow types widened. The
 * batches handed to exec have every table column (unused ones are NULL
 * columns no operator reads), so column indexes are the table's.
 */
#include "sql/bind_int.h"

#include "base/alloc.h"
#include "exec/exec_pq.h"
#include "sql/literal.h"

#include <stdlib.h>
#include <string.h>

/* ---- file pruning (delta's pruner: delta/README.md "File pruning") ---- */

/* The pruning predicates as delta_preds: integers, dates, timestamps
 * (microseconds), decimals (unscaled, with their scale), doubles and
 * strings (copied, NUL-terminated, into *strs). Booleans and other types
 * are left out (they prune nothing). */
static uint32_t delta_preds_of(const sql_tab *t, delta_pred *out, char **strs)
{
    static const delta_cmp cmp_of[] = {[PQ_OP_EQ] = DELTA_CMP_EQ,
                                       [PQ_OP_LT] = DELTA_CMP_LT,
                                       [PQ_OP_LE] = DELTA_CMP_LE,
                                       [PQ_OP_GT] = DELTA_CMP_GT,
                                       [PQ_OP_GE] = DELTA_CMP_GE};
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->nprune; i++) {
        const sql_prune *p = &t->prune[i];
        const vec_col *v = &p->value;
        if (p->op > PQ_OP_GE || v->len < 1 || !vec_col_is_valid(v, 0))
            continue;
        delta_pred d = {.column = t->names[p->col], .op = cmp_of[p->op]};
        switch (v->type.id) {
        case VEC_I32:
        case VEC_DATE:
            d.kind = DELTA_VALUE_INT;
            d.i64 = ((const int32_t *)v->data)[0];
            break;
        case VEC_I64:
            d.kind = DELTA_VALUE_INT;
            d.i64 = ((const int64_t *)v->data)[0];
            break;
        case VEC_TIMESTAMP:
            if (v->type.unit != VEC_UNIT_MICROS)
                continue;
            d.kind = DELTA_VALUE_INT;
            d.i64 = ((const int64_t *)v->data)[0];
            break;
        case VEC_DECIMAL64:
            d.kind = DELTA_VALUE_DECIMAL;
            d.i64 = ((const int64_t *)v->data)[0];
            d.scale = v->type.scale;
            break;
        case VEC_F64:
            d.kind = DELTA_VALUE_FLOAT;
            d.f64 = ((const double *)v->data)[0];
            break;
        case VEC_STRING: {
            const uint8_t *sp;
            size_t sn;
            vec_col_str(v, 0, &sp, &sn);
            if (memchr(sp, '\0', sn) != NULL ||
                (strs[n] = tarn_strndup((const char *)sp, sn)) == NULL)
                continue; /* a NUL cannot be a C string; out of memory: no pruning by it */
            d.kind = DELTA_VALUE_STRING;
            d.str = strs[n];
            break;
        }
        default:
            continue;
        }
        out[n++] = d;
    }
    return n;
}

/* Whether a file may hold rows the pruning predicates accept. A predicate
 * delta's pruner refuses (a constant it cannot compare with the column's
 * stored kind) keeps the file. */
static bool file_may_match(const sql_tab *t, const delta_pred *preds, uint32_t n,
                           const delta_file *f)
{
    bool may = true;
    for (uint32_t i = 0; i < n && may; i++) {
        tarn_err ignored = TARN_ERR_INIT;
        if (delta_file_may_match(t->snap, f, &preds[i], 1, &may, &ignored) != 0)
            may = true;
    }
    return may;
}

/* ---- the source ---- */

struct sql_morsels {
    sql_tab *t;
    delta_morsels *dm; /* SQL_TAB_DELTA */
    exec_morsels pm;   /* SQL_TAB_PARQUET: row groups */
};

typedef struct scan_src {
    sql_tab *t;
    sql_morsels *m; /* borrowed, or NULL: the whole table */
    delta_scan *ds;
    pq_scan *ps;
    pq_predicate preds[SQL_PRUNE_MAX];
    uint32_t npreds;
    const uint32_t *leaves; /* borrowed from the tab (used columns) */
    uint32_t nleaves;
    uint32_t *own_leaves;
    delta_scan_pred dpreds[SQL_PRUNE_MAX];
    vec_batch in;     /* what the reader fills: the used columns */
    vec_batch out;    /* every table column; shallow views of `in` */
    int32_t *map;     /* table column -> column of `in`, or -1 */
    vec_col *spare;   /* per table column: a NULL column, or a widened copy */
    size_t acct;      /* bytes accounted against the budget */
    exec_budget *bud; /* borrowed */
} scan_src;

static void scan_src_free(void *p)
{
    scan_src *s = p;
    if (s == NULL)
        return;
    delta_scan_close(s->ds);
    pq_scan_close(s->ps);
    vec_batch_free(&s->in);
    for (uint32_t i = 0; s->spare && i < s->t->ncols; i++)
        vec_col_free(&s->spare[i]);
    tarn_free(s->spare);
    tarn_free(s->out.cols);
    tarn_free(s->map);
    tarn_free(s->own_leaves);
    if (s->bud)
        exec_budget_release(s->bud, s->acct);
    tarn_free(s);
}

static int widen(const vec_col *src, vec_col *dst, uint32_t len)
{
    vec_col_reset(dst);
    int rc = 0;
    for (uint32_t r = 0; r < len && rc == 0; r++) {
        if (!vec_col_is_valid(src, r)) {
            rc = vec_col_set_null(dst, r);
            continue;
        }
        if (src->type.id == VEC_I8)
            ((int32_t *)dst->data)[r] = ((const int8_t *)src->data)[r];
        else if (src->type.id == VEC_I16)
            ((int32_t *)dst->data)[r] = ((const int16_t *)src->data)[r];
        else
            ((double *)dst->data)[r] = ((const float *)src->data)[r];
    }
    dst->len = len;
    return rc;
}

/* Makes s->out a view of s->in with every table column. */
static int scan_compose(scan_src *s)
{
    sql_tab *t = s->t;
    uint32_t len = s->in.len;
    for (uint32_t i = 0; i < t->ncols; i++) {
        int32_t m = s->map[i];
        if (m < 0) {
            s->spare[i].len = len; /* all NULL: validity zeroed at init */
            s->out.cols[i] = s->spare[i];
        } else if (s->in.cols[m].type.id != t->types[i].id) {
            int rc = widen(&s->in.cols[m], &s->spare[i], len);
            if (rc != 0)
                return rc;
            s->out.cols[i] = s->spare[i];
        } else {
            s->out.cols[i] = s->in.cols[m];
        }
    }
    s->out.len = len;
    s->out.cap = s->in.cap;
    s->out.sel = s->in.sel;
    s->out.sel_count = s->in.sel_count;
    s->out.sel_active = s->in.sel_active;
    return 0;
}

static int pq_open_range(scan_src *s, uint32_t rg_first, uint32_t rg_count, tarn_err *err)
{
    pq_scan_opts o = {.columns = s->leaves,
                      .ncols = s->nleaves,
                      .keep_dict = true,
                      .preds = s->preds,
                      .npreds = s->npreds,
                      .rg_first = rg_first,
                      .rg_count = rg_count};
    return pq_scan_open(s->t->pf, &o, &s->ps, err);
}

/* The Parquet scan's next batch; in a parallel scan, the next row group's
 * when this one ends. */
static int pq_next(scan_src *s, tarn_err *err)
{
    for (;;) {
        int rc = pq_scan_next(s->ps, &s->in, err);
        if (rc != 0 || s->in.len > 0)
            return rc;
        __atomic_fetch_add(&s->t->row_groups_skipped, pq_scan_skipped_row_groups(s->ps),
                           __ATOMIC_RELAXED);
        pq_scan_close(s->ps);
        s->ps = NULL;
        uint32_t rg;
        if (s->m == NULL || !exec_morsels_take(&s->m->pm, &rg))
            return 0;
        if ((rc = pq_open_range(s, rg, 1, err)) != 0)
            return rc;
    }
}

static int scan_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    scan_src *s = ctx;
    int rc = s->ds   ? delta_scan_next(s->ds, &s->in, err)
             : s->ps ? pq_next(s, err)
                     : (vec_batch_reset(&s->in), 0);
    if (rc != 0)
        return rc;
    if (s->in.len == 0) {
        *out = NULL;
        return 0;
    }
    if ((rc = scan_compose(s)) != 0)
        return tarn_err_set(err, rc, "scan %s: widen columns", s->t->name);
    *out = &s->out;
    return 0;
}

/* NULL columns for the unread ones, room for widened copies. */
static int scan_spares(scan_src *s, uint32_t cap)
{
    sql_tab *t = s->t;
    for (uint32_t i = 0; i < t->ncols; i++) {
        bool unread = s->map[i] < 0;
        bool widened = !unread && t->file_types[i].id != t->types[i].id;
        if (!unread && !widened)
            continue;
        int rc = vec_col_init(&s->spare[i], t->types[i], cap);
        if (rc == 0 && unread)
            rc = vec_col_set_null(&s->spare[i], 0);
        if (rc == 0 && unread)
            memset(s->spare[i].validity, 0, (cap + 7) / 8);
        if (rc != 0)
            return rc;
        s->acct += vec_col_mem_bytes(&s->spare[i]);
    }
    return 0;
}

/* The snapshot with only the files the pruning predicates may match
 * (made once per tab; every scan of it reads the same view). */
static int tab_prune(sql_tab *t, tarn_err *err)
{
    if (t->pruned)
        return 0;
    t->view = *t->snap;
    t->kept = tarn_calloc(t->snap->nfiles ? t->snap->nfiles : 1, sizeof(*t->kept));
    if (t->kept == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan %s", t->name);
    delta_pred preds[SQL_PRUNE_MAX];
    char *strs[SQL_PRUNE_MAX] = {0};
    uint32_t np = delta_preds_of(t, preds, strs);
    size_t k = 0;
    for (size_t i = 0; i < t->snap->nfiles; i++)
        if (np == 0 || file_may_match(t, preds, np, &t->snap->files[i]))
            t->kept[k++] = t->snap->files[i];
    for (uint32_t i = 0; i < SQL_PRUNE_MAX; i++)
        tarn_free(strs[i]);
    t->view.files = t->kept;
    t->view.nfiles = k;
    t->files_total = t->snap->nfiles;
    t->files_kept = k;
    t->pruned = true;
    return 0;
}

/* Pruning predicates the readers can use: statistics compare in the
 * file's own type, so only columns read unwidened. */
static bool pred_usable(const sql_tab *t, const sql_prune *p)
{
    return t->file_types[p->col].id == t->types[p->col].id;
}

static int open_delta(scan_src *s, const char **names, uint32_t n, tarn_err *err)
{
    sql_tab *t = s->t;
    int rc = tab_prune(t, err);
    if (rc != 0)
        return rc;
    uint32_t np = 0;
    for (uint32_t i = 0; i < t->nprune; i++) {
        const sql_prune *p = &t->prune[i];
        if (pred_usable(t, p) && s->map[p->col] >= 0)
            s->dpreds[np++] = (delta_scan_pred){(uint32_t)s->map[p->col], p->op,
                                                p->op >= PQ_OP_IS_NULL ? NULL : &p->value};
    }
    delta_scan_opts o = {.columns = names,
                         .ncols = n,
                         .keep_dict = true,
                         .preds = s->dpreds,
                         .npreds = np,
                         .morsels = s->m ? s->m->dm : NULL};
    rc = delta_scan_open(t->dt, &t->view, &o, &s->ds, err);
    return rc != 0 ? rc : delta_scan_batch_init(s->ds, &s->in);
}

static int open_pq(scan_src *s, uint32_t *leaves, uint32_t n, tarn_err *err)
{
    sql_tab *t = s->t;
    for (uint32_t i = 0; i < t->nprune; i++) {
        const sql_prune *p = &t->prune[i];
        if (pred_usable(t, p))
            s->preds[s->npreds++] = (pq_predicate){p->col, p->op, &p->value};
    }
    s->leaves = s->own_leaves = leaves;
    s->nleaves = n;
    uint32_t rg_first = 0, rg_count = 0;
    if (s->m != NULL && !exec_morsels_take(&s->m->pm, &rg_first)) {
        /* nothing left for this worker: an empty scan, but a batch of
         * the right shape all the same */
        pq_scan *probe = NULL;
        int rc = pq_open_range(s, 0, 0, err);
        probe = s->ps;
        s->ps = NULL;
        if (rc == 0)
            rc = pq_scan_batch_init(probe, &s->in);
        pq_scan_close(probe);
        return rc;
    }
    if (s->m != NULL)
        rg_count = 1;
    int rc = pq_open_range(s, rg_first, rg_count, err);
    return rc != 0 ? rc : pq_scan_batch_init(s->ps, &s->in);
}

/* The used columns (at least one: the row count needs a column). */
static uint32_t used_columns(sql_tab *t, const char **names, uint32_t *leaves, int32_t *map)
{
    uint32_t n = 0;
    bool any = false;
    for (uint32_t i = 0; i < t->ncols; i++)
        any |= t->used[i];
    if (!any && t->ncols > 0)
        t->used[0] = true;
    for (uint32_t i = 0; i < t->ncols; i++) {
        map[i] = t->used[i] ? (int32_t)n : -1;
        if (t->used[i]) {
            names[n] = t->names[i];
            leaves[n++] = i;
        }
    }
    return n;
}

static int scan_source_fn(void *ctx, const vec_batch **out, tarn_err *err)
{
    return scan_next(ctx, out, err);
}

int sql_tab_scan_open(sql_tab *t, sql_morsels *m, exec_budget *bud, exec_op **out, void **state,
                      tarn_err *err)
{
    scan_src *s = tarn_calloc(1, sizeof(*s));
    const char **names = tarn_calloc(t->ncols + 1, sizeof(*names));
    uint32_t *leaves = tarn_calloc(t->ncols + 1, sizeof(*leaves));
    int rc = s && names && leaves ? 0 : tarn_err_set(err, TARN_ENOMEM, "scan %s", t->name);
    if (rc == 0) {
        s->t = t;
        s->m = m;
        s->map = tarn_calloc(t->ncols + 1, sizeof(*s->map));
        s->spare = tarn_calloc(t->ncols + 1, sizeof(*s->spare));
        s->out.cols = tarn_calloc(t->ncols + 1, sizeof(vec_col));
        s->out.ncols = t->ncols;
        if (!s->map || !s->spare || !s->out.cols)
            rc = tarn_err_set(err, TARN_ENOMEM, "scan %s", t->name);
    }
    uint32_t n = rc == 0 ? used_columns(t, names, leaves, s->map) : 0;
    if (rc == 0 && t->kind == SQL_TAB_DELTA) {
        rc = open_delta(s, names, n, err);
    } else if (rc == 0) {
        rc = open_pq(s, leaves, n, err);
        leaves = NULL; /* the scan keeps them */
    }
    if (rc == 0 && (rc = scan_spares(s, s->in.cap)) != 0)
        tarn_err_set(err, rc, "scan %s", t->name);
    for (uint32_t i = 0; rc == 0 && i < s->in.ncols; i++)
        s->acct += vec_col_mem_bytes(&s->in.cols[i]);
    if (rc == 0 && (rc = exec_budget_reserve(bud, s->acct, "scan batch", err)) != 0)
        s->acct = 0;
    if (rc == 0)
        s->bud = bud;
    tarn_free(names);
    tarn_free(leaves);
    if (rc == 0)
        rc = exec_source_new(t->types, t->ncols, scan_source_fn, s, bud, out, err);
    if (rc != 0) {
        scan_src_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

void sql_tab_scan_free(void *state)
{
    scan_src_free(state);
}

/* ---- parallel scans ---- */

int sql_morsels_open(sql_tab *t, uint32_t workers, sql_morsels **out, tarn_err *err)
{
    *out = NULL;
    sql_morsels *m = tarn_calloc(1, sizeof(*m));
    if (m == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan %s", t->name);
    m->t = t;
    int rc = 0;
    if (t->kind == SQL_TAB_DELTA) {
        rc = tab_prune(t, err);
        if (rc == 0)
            rc = delta_morsels_open(t->dt, &t->view, workers, &m->dm, err);
    } else {
        exec_morsels_init(&m->pm, pq_file_nrow_groups(t->pf));
    }
    if (rc != 0) {
        sql_morsels_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void sql_morsels_close(sql_morsels *m)
{
    if (m == NULL)
        return;
    delta_morsels_close(m->dm);
    tarn_free(m);
}

int sql_tab_morsel_count(sql_tab *t, uint32_t workers, uint32_t *count, tarn_err *err)
{
    if (t->kind == SQL_TAB_PARQUET) {
        *count = pq_file_nrow_groups(t->pf);
        return 0;
    }
    sql_morsels *m;
    int rc = sql_morsels_open(t, workers, &m, err);
    if (rc == 0)
        *count = delta_morsels_count(m->dm);
    sql_morsels_close(m);
    return rc;
}
