/*
 * gen/lineitem.c: the TPC-H-like lineitem generator (gen/gen.h; design note
 * gen/README.md). Each row is computed from (seed, row index) alone by the
 * recipe of ../shared/tools/lineitem-gen.sql, with DuckDB's hash(i, k)
 * replaced by gen_hash(seed, k, i) below.
 */
#include "gen/gen.h"

#include "base/alloc.h"
#include "base/hash.h"

#include <string.h>

/* Days since 1970-01-01 of the dates the recipe uses. */
#define DAY_1992_01_01 8035
#define DAY_1995_06_17 9298
/* Order dates span 2406 days: 1992-01-01 .. 1998-08-02. */
#define ORDER_DATE_SPAN 2406

static const char *const col_names[GEN_LINEITEM_NCOLS] = {
    "l_orderkey", "l_quantity",   "l_extendedprice", "l_discount",
    "l_tax",      "l_returnflag", "l_linestatus",    "l_shipdate",
};

const char *gen_lineitem_col_name(uint32_t col)
{
    return col < GEN_LINEITEM_NCOLS ? col_names[col] : "?";
}

vec_type_info gen_lineitem_col_type(const gen_lineitem_opts *o, uint32_t col)
{
    switch (col) {
    case GEN_L_ORDERKEY:
        return (vec_type_info){.id = VEC_I64};
    case GEN_L_QUANTITY:
    case GEN_L_EXTENDEDPRICE:
    case GEN_L_DISCOUNT:
    case GEN_L_TAX:
        if (o->doubles)
            return (vec_type_info){.id = VEC_F64};
        return (vec_type_info){.id = VEC_DECIMAL64, .precision = 15, .scale = 2};
    case GEN_L_SHIPDATE:
        return (vec_type_info){.id = VEC_DATE};
    default:
        return (vec_type_info){.id = VEC_STRING};
    }
}

int gen_lineitem_batch_init(const gen_lineitem_opts *o, vec_batch *b, uint32_t cap)
{
    vec_type_info types[GEN_LINEITEM_NCOLS];
    for (uint32_t c = 0; c < GEN_LINEITEM_NCOLS; c++)
        types[c] = gen_lineitem_col_type(o, c);
    return vec_batch_init(b, types, GEN_LINEITEM_NCOLS, cap);
}

/* One independent stream of hash values per (seed, k): the salt is mixed
 * once, then each row index is mixed with it. Stands in for DuckDB's
 * hash(i, k); only the distribution (uniform 64-bit values) matters. */
static inline uint64_t gen_salt(uint64_t seed, uint64_t k)
{
    return tarn_mix64(seed ^ tarn_mix64(k * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull));
}

static inline uint64_t gen_hash(uint64_t salt, uint64_t x)
{
    return tarn_mix64(salt ^ (x * 0xD6E8FEB86659FD93ull));
}

/* One row of the recipe, as exact integers. */
typedef struct li_row {
    int64_t orderkey;
    int64_t qty;         /* 1..50 */
    int64_t price_cents; /* qty * retail price in cents */
    int64_t discount;    /* hundredths, 0..10 */
    int64_t tax;         /* hundredths, 0..8 */
    char returnflag, linestatus;
    int32_t shipdate; /* days since 1970-01-01 */
} li_row;

typedef struct li_salts {
    uint64_t order_date, qty, ship, receipt, discount, tax, flag, part;
} li_salts;

static void li_salts_init(li_salts *s, uint64_t seed)
{
    /* The k of each hash(i, k) in lineitem-gen.sql. */
    s->order_date = gen_salt(seed, 1);
    s->qty = gen_salt(seed, 2);
    s->ship = gen_salt(seed, 3);
    s->receipt = gen_salt(seed, 4);
    s->discount = gen_salt(seed, 5);
    s->tax = gen_salt(seed, 6);
    s->flag = gen_salt(seed, 7);
    s->part = gen_salt(seed, 11);
}

static void li_row_make(const li_salts *s, uint64_t i, li_row *r)
{
    uint64_t o = i / 4; /* four lines per order */
    int64_t partkey = 1 + (int64_t)(gen_hash(s->part, i) % 200000);
    r->orderkey = (int64_t)((o / 8) * 32 + (o % 8) + 1); /* dbgen's sparse keys */
    int32_t orderdate = DAY_1992_01_01 + (int32_t)(gen_hash(s->order_date, o) % ORDER_DATE_SPAN);
    r->qty = 1 + (int64_t)(gen_hash(s->qty, i) % 50);
    r->shipdate = orderdate + 1 + (int32_t)(gen_hash(s->ship, i) % 121);
    int64_t retail_cents = 90000 + (partkey / 10) % 20001 + 100 * (partkey % 1000);
    r->price_cents = r->qty * retail_cents;
    int32_t receiptdate = r->shipdate + 1 + (int32_t)(gen_hash(s->receipt, i) % 30);
    r->discount = (int64_t)(gen_hash(s->discount, i) % 11);
    r->tax = (int64_t)(gen_hash(s->tax, i) % 9);
    if (receiptdate <= DAY_1995_06_17)
        r->returnflag = gen_hash(s->flag, i) % 2 == 0 ? 'R' : 'A';
    else
        r->returnflag = 'N';
    r->linestatus = r->shipdate > DAY_1995_06_17 ? 'O' : 'F';
}

/* A column of n one-byte strings, written straight into offsets and bytes. */
static int fill_char_col(vec_col *c, const char *chars, uint32_t n)
{
    int rc = vec_col_reserve_bytes(c, n);
    if (rc != 0)
        return rc;
    memcpy(c->bytes, chars, n);
    for (uint32_t i = 0; i <= n; i++)
        c->offsets[i] = i;
    c->bytes_len = n;
    c->len = n;
    return 0;
}

/* A money or quantity value in hundredths, as the column's type. */
static inline void put_money(vec_col *c, uint32_t i, int64_t hundredths)
{
    if (c->type.id == VEC_F64)
        ((double *)c->data)[i] = (double)hundredths / 100;
    else
        ((int64_t *)c->data)[i] = hundredths;
}

int gen_lineitem_fill(const gen_lineitem_opts *o, int64_t first_row, uint32_t n, vec_batch *b,
                      tarn_err *err)
{
    if (first_row < 0 || first_row > o->rows || (int64_t)n > o->rows - first_row)
        return tarn_err_set(err, TARN_EINVAL, "rows %lld..%lld outside the table's %lld rows",
                            (long long)first_row, (long long)first_row + n, (long long)o->rows);
    if (n > b->cap || b->ncols != GEN_LINEITEM_NCOLS)
        return tarn_err_set(err, TARN_EINVAL, "batch of %u rows, %u columns cannot take %u rows",
                            b->cap, b->ncols, n);
    vec_batch_reset(b);
    li_salts s;
    li_salts_init(&s, o->seed);
    char *flags = tarn_malloc(2 * (size_t)n + 2);
    if (flags == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "lineitem batch of %u rows", n);
    char *status = flags + n + 1;
    vec_col *c = b->cols;
    for (uint32_t i = 0; i < n; i++) {
        li_row r;
        li_row_make(&s, (uint64_t)(first_row + i), &r);
        ((int64_t *)c[GEN_L_ORDERKEY].data)[i] = r.orderkey;
        put_money(&c[GEN_L_QUANTITY], i, r.qty * 100);
        put_money(&c[GEN_L_EXTENDEDPRICE], i, r.price_cents);
        put_money(&c[GEN_L_DISCOUNT], i, r.discount);
        put_money(&c[GEN_L_TAX], i, r.tax);
        ((int32_t *)c[GEN_L_SHIPDATE].data)[i] = r.shipdate;
        flags[i] = r.returnflag;
        status[i] = r.linestatus;
    }
    for (uint32_t k = 0; k < GEN_LINEITEM_NCOLS; k++)
        c[k].len = n;
    int rc = fill_char_col(&c[GEN_L_RETURNFLAG], flags, n);
    if (rc == 0)
        rc = fill_char_col(&c[GEN_L_LINESTATUS], status, n);
    tarn_free(flags);
    if (rc != 0)
        return tarn_err_set(err, rc, "lineitem batch of %u rows", n);
    b->len = n;
    return 0;
}

static int check_opts(const gen_lineitem_opts *o, tarn_err *err)
{
    if (o->rows < 0 || o->rows > GEN_ROWS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "rows must be 0..%lld, not %lld",
                            (long long)GEN_ROWS_MAX, (long long)o->rows);
    return 0;
}

int gen_lineitem_write_parquet(const gen_lineitem_opts *o, pq_sink_fn sink, void *sink_ctx,
                               gen_progress_fn progress, void *progress_ctx, tarn_err *err)
{
    int rc = check_opts(o, err);
    if (rc != 0)
        return rc;
    pq_write_col cols[GEN_LINEITEM_NCOLS];
    for (uint32_t c = 0; c < GEN_LINEITEM_NCOLS; c++)
        cols[c] = (pq_write_col){col_names[c], gen_lineitem_col_type(o, c), false};
    pq_writer_opts wo = {.cols = cols,
                         .ncols = GEN_LINEITEM_NCOLS,
                         .sink = sink,
                         .sink_ctx = sink_ctx,
                         .codec = PQ_WRITE_SNAPPY,
                         .row_group_bytes = GEN_ROW_GROUP_BYTES,
                         .name = "lineitem"};
    pq_writer *w = NULL;
    vec_batch b = {0};
    if ((rc = pq_writer_open(&wo, &w, err)) != 0)
        return rc;
    if ((rc = gen_lineitem_batch_init(o, &b, GEN_BATCH_ROWS)) != 0) {
        tarn_err_set(err, rc, "lineitem batch");
        goto done;
    }
    for (int64_t row = 0; row < o->rows;) {
        int64_t left = o->rows - row;
        uint32_t n = left < GEN_BATCH_ROWS ? (uint32_t)left : GEN_BATCH_ROWS;
        if ((rc = gen_lineitem_fill(o, row, n, &b, err)) != 0 ||
            (rc = pq_writer_write(w, &b, err)) != 0)
            goto done;
        row += n;
        if (progress)
            progress(progress_ctx, row);
    }
    rc = pq_writer_finish(w, err);
done:
    vec_batch_free(&b);
    pq_writer_close(w);
    return rc;
}
