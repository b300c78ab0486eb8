/* Tests of nested Parquet: structs, maps, lists of structs, maps with
 * struct values (the shapes of a Delta checkpoint) and lists of lists,
 * written with pq_writer's node schema and read back by Tarn's reader;
 * the writer's checks of batch shapes. DuckDB and hyparquet read the same
 * files in tests/interop/writer_nested.js. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_sink {
    tarn_buf buf;
} mem_sink;

static int mem_put(void *ctx, const void *p, size_t n, tarn_err *err)
{
    (void)err;
    return tarn_buf_append(&((mem_sink *)ctx)->buf, p, n);
}

/* ---- building columns ---- */

static void room(vec_col *c)
{
    if (c->len == c->cap)
        assert_int_equal(vec_col_grow(c, c->cap * 2), 0);
}

static void put_null(vec_col *c)
{
    room(c);
    assert_int_equal(vec_col_set_null(c, c->len), 0);
    if (c->type.list)
        assert_int_equal(vec_col_list_end(c), 0);
    else if (vec_type_is_var(c->type.id))
        assert_int_equal(vec_col_append_str(c, "", 0), 0);
    else
        c->len++;
}

static void put_i64(vec_col *c, int64_t v)
{
    room(c);
    ((int64_t *)c->data)[c->len++] = v;
}

static void put_i32(vec_col *c, int32_t v)
{
    room(c);
    ((int32_t *)c->data)[c->len++] = v;
}

static void put_f64(vec_col *c, double v)
{
    room(c);
    ((double *)c->data)[c->len++] = v;
}

static void put_bool(vec_col *c, bool v)
{
    room(c);
    ((uint8_t *)c->data)[c->len++] = v;
}

static void put_str(vec_col *c, const char *s)
{
    room(c);
    assert_int_equal(vec_col_append_str(c, s, strlen(s)), 0);
}

/* Ends the current list of list column c (its elements appended since). */
static void end_list(vec_col *c)
{
    room(c);
    assert_int_equal(vec_col_list_end(c), 0);
}

/* ---- the checkpoint-like schema ---- */

static const pq_write_node NODES[] = {
    {"id", PQ_NODE_LEAF, {.id = VEC_I64}, false, 0},
    {"add", PQ_NODE_STRUCT, {0}, true, 6},
    {"path", PQ_NODE_LEAF, {.id = VEC_STRING}, false, 0},
    {"partitionValues", PQ_NODE_MAP, {0}, true, 2},
    {"key", PQ_NODE_LEAF, {.id = VEC_STRING}, false, 0},
    {"value", PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
    {"size", PQ_NODE_LEAF, {.id = VEC_I64}, false, 0},
    {"stats", PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
    {"tags", PQ_NODE_MAP, {0}, true, 2},
    {NULL, PQ_NODE_LEAF, {.id = VEC_STRING}, false, 0},
    {NULL, PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
    {"deletionVector", PQ_NODE_STRUCT, {0}, true, 2},
    {"storageType", PQ_NODE_LEAF, {.id = VEC_STRING}, false, 0},
    {"cardinality", PQ_NODE_LEAF, {.id = VEC_I64}, false, 0},
    {"pts", PQ_NODE_LIST, {0}, true, 1},
    {"element", PQ_NODE_STRUCT, {0}, true, 2},
    {"x", PQ_NODE_LEAF, {.id = VEC_I32}, true, 0},
    {"y", PQ_NODE_LEAF, {.id = VEC_F64}, false, 0},
    {"m2", PQ_NODE_MAP, {0}, true, 2},
    {"key", PQ_NODE_LEAF, {.id = VEC_STRING}, false, 0},
    {"value", PQ_NODE_STRUCT, {0}, true, 2},
    {"a", PQ_NODE_LEAF, {.id = VEC_I64}, true, 0},
    {"b", PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
    {"ll", PQ_NODE_LIST, {0}, true, 1},
    {"element", PQ_NODE_LIST, {0}, true, 1},
    {"element", PQ_NODE_LEAF, {.id = VEC_I64}, true, 0},
};
#define NNODES (sizeof(NODES) / sizeof(NODES[0]))

/* Batch columns as written (leaves and nullable structs, pre-order). */
enum {
    W_ID,
    W_ADD,
    W_PATH,
    W_PV_KEY,
    W_PV_VAL,
    W_SIZE,
    W_STATS,
    W_TAG_KEY,
    W_TAG_VAL,
    W_DV,
    W_DV_TYPE,
    W_DV_CARD,
    W_PTS,
    W_PTS_X,
    W_PTS_Y,
    W_M2_KEY,
    W_M2_VAL,
    W_M2_A,
    W_M2_B,
    W_LL,
    W_NCOLS
};

static const vec_type_info WTYPES[W_NCOLS] = {
    {.id = VEC_I64},
    {.id = VEC_BOOL},
    {.id = VEC_STRING},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_I64},
    {.id = VEC_STRING},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_BOOL},
    {.id = VEC_STRING},
    {.id = VEC_I64},
    {.id = VEC_BOOL, .list = true},
    {.id = VEC_I32, .list = true},
    {.id = VEC_F64, .list = true},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_BOOL, .list = true},
    {.id = VEC_I64, .list = true},
    {.id = VEC_STRING, .list = true},
    {.id = VEC_I64, .list = true, .list_inner = 1},
};

/* The reader's leaf names, in the order of the written columns that are
 * leaves. */
static const char *const LEAF_NAMES[] = {
    "id",
    "add.path",
    "add.partitionValues.key_value.key",
    "add.partitionValues.key_value.value",
    "add.size",
    "add.stats",
    "add.tags.key_value.key",
    "add.tags.key_value.value",
    "add.deletionVector.storageType",
    "add.deletionVector.cardinality",
    "pts.list.element.x",
    "pts.list.element.y",
    "m2.key_value.key",
    "m2.key_value.value.a",
    "m2.key_value.value.b",
    "ll.list.element.list.element",
};
#define NLEAVES (sizeof(LEAF_NAMES) / sizeof(LEAF_NAMES[0]))

static bool is_struct_col(int w)
{
    return w == W_ADD || w == W_DV || w == W_PTS || w == W_M2_VAL;
}

/* Column w of the batch: as written, or as read back (no struct columns;
 * NULL for those). */
static vec_col *col(vec_batch *b, int w, bool as_read)
{
    if (!as_read)
        return &b->cols[w];
    if (is_struct_col(w))
        return NULL;
    int k = 0;
    for (int i = 0; i < w; i++)
        k += !is_struct_col(i);
    return &b->cols[k];
}

/* A value or, when the reader sees it through a null struct, a null. */
#define PUT(c, hidden, call)                                                                       \
    do {                                                                                           \
        if (hidden)                                                                                \
            put_null(c);                                                                           \
        else                                                                                       \
            call;                                                                                  \
    } while (0)

/* Row r of the `add` struct (present when r % 3 != 0). */
static void gen_add(vec_batch *b, uint32_t r, bool as_read)
{
    bool add = r % 3 != 0, hide = as_read && !add;
    char s[64];
    if (!as_read) {
        room(col(b, W_ADD, false));
        if (add)
            put_bool(col(b, W_ADD, false), true);
        else
            put_null(col(b, W_ADD, false));
    }
    snprintf(s, sizeof(s), "part-%u.parquet", r);
    PUT(col(b, W_PATH, as_read), hide, put_str(col(b, W_PATH, as_read), s));
    vec_col *pk = col(b, W_PV_KEY, as_read), *pv = col(b, W_PV_VAL, as_read);
    if (hide || r % 7 == 0) {
        put_null(pk);
        put_null(pv);
    } else {
        for (uint32_t j = 0; j < r % 3; j++) {
            snprintf(s, sizeof(s), "k%u", j);
            put_str(pk->elems, s);
            snprintf(s, sizeof(s), "v%u", r + j);
            if (j == 1)
                put_null(pv->elems);
            else
                put_str(pv->elems, s);
        }
        end_list(pk);
        end_list(pv);
    }
    PUT(col(b, W_SIZE, as_read), hide, put_i64(col(b, W_SIZE, as_read), (int64_t)r * 10));
    snprintf(s, sizeof(s), "{\"numRecords\":%u}", r);
    PUT(col(b, W_STATS, as_read), hide || r % 2, put_str(col(b, W_STATS, as_read), s));
    vec_col *tk = col(b, W_TAG_KEY, as_read), *tv = col(b, W_TAG_VAL, as_read);
    if (hide || r % 2 == 0) {
        put_null(tk);
        put_null(tv);
    } else {
        end_list(tk);
        end_list(tv);
    }
    bool dv = r % 4 == 1, hide_dv = as_read && (!add || !dv);
    if (!as_read) {
        if (dv)
            put_bool(col(b, W_DV, false), true);
        else
            put_null(col(b, W_DV, false));
    }
    PUT(col(b, W_DV_TYPE, as_read), hide_dv, put_str(col(b, W_DV_TYPE, as_read), "u"));
    PUT(col(b, W_DV_CARD, as_read), hide_dv, put_i64(col(b, W_DV_CARD, as_read), r));
}

/* pts: null when r % 6 == 0, else r % 4 points; point 2 is null, x of
 * point 1 is null. */
static void gen_pts(vec_batch *b, uint32_t r, bool as_read)
{
    vec_col *e = col(b, W_PTS, as_read), *x = col(b, W_PTS_X, as_read),
            *y = col(b, W_PTS_Y, as_read);
    if (r % 6 == 0) {
        if (e)
            put_null(e);
        put_null(x);
        put_null(y);
        return;
    }
    for (uint32_t j = 0; j < r % 4; j++) {
        bool present = j != 2;
        if (e) {
            if (present)
                put_bool(e->elems, true);
            else
                put_null(e->elems);
        }
        PUT(x->elems, (as_read && !present) || j == 1, put_i32(x->elems, (int32_t)(r + j)));
        PUT(y->elems, as_read && !present, put_f64(y->elems, j * 0.5));
    }
    if (e)
        end_list(e);
    end_list(x);
    end_list(y);
}

/* m2: null when r % 5 == 4, else r % 3 entries "m<j>"; the value of entry
 * 0 is null on odd rows; a is null for j == 2. */
static void gen_m2(vec_batch *b, uint32_t r, bool as_read)
{
    vec_col *k = col(b, W_M2_KEY, as_read), *v = col(b, W_M2_VAL, as_read),
            *a = col(b, W_M2_A, as_read), *bb = col(b, W_M2_B, as_read);
    if (r % 5 == 4) {
        put_null(k);
        if (v)
            put_null(v);
        put_null(a);
        put_null(bb);
        return;
    }
    char s[16];
    for (uint32_t j = 0; j < r % 3; j++) {
        bool present = !(j == 0 && r % 2), hide = as_read && !present;
        snprintf(s, sizeof(s), "m%u", j);
        put_str(k->elems, s);
        if (v) {
            if (present)
                put_bool(v->elems, true);
            else
                put_null(v->elems);
        }
        PUT(a->elems, hide || j == 2, put_i64(a->elems, (int64_t)r * j));
        snprintf(s, sizeof(s), "b%u", j);
        PUT(bb->elems, hide, put_str(bb->elems, s));
    }
    end_list(k);
    if (v)
        end_list(v);
    end_list(a);
    end_list(bb);
}

/* ll: a list of lists of integers: null when r % 7 == 3, else r % 4 inner
 * lists; inner list j is null when j == 2 and r is odd, else holds
 * (j + r) % 4 values (none: an empty list), the second of them null. */
static void gen_ll(vec_batch *b, uint32_t r, bool as_read)
{
    vec_col *l = col(b, W_LL, as_read), *in = l->elems, *v = in->elems;
    if (r % 7 == 3) {
        put_null(l);
        return;
    }
    for (uint32_t j = 0; j < r % 4; j++) {
        if (j == 2 && r % 2) {
            put_null(in);
            continue;
        }
        for (uint32_t k = 0; k < (j + r) % 4; k++) {
            if (k == 1)
                put_null(v);
            else
                put_i64(v, (int64_t)(r * 100 + j * 10 + k));
        }
        end_list(in);
    }
    end_list(l);
}

static void gen(vec_batch *b, uint32_t base, uint32_t n, bool as_read)
{
    vec_batch_reset(b);
    for (uint32_t r = base; r < base + n; r++) {
        put_i64(col(b, W_ID, as_read), r);
        gen_add(b, r, as_read);
        gen_pts(b, r, as_read);
        gen_m2(b, r, as_read);
        gen_ll(b, r, as_read);
    }
    b->len = n;
}

static void batch_init(vec_batch *b, bool as_read, uint32_t cap)
{
    vec_type_info t[W_NCOLS];
    uint32_t n = 0;
    for (int w = 0; w < W_NCOLS; w++)
        if (!as_read || !is_struct_col(w))
            t[n++] = WTYPES[w];
    assert_int_equal(vec_batch_init(b, t, n, cap), 0);
}

/* Rows [0, n) of a and b are equal: validity, list shapes, values. */
static void cols_equal(const vec_col *a, const vec_col *b, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++) {
        bool va = vec_col_is_valid(a, i);
        if (va != vec_col_is_valid(b, i))
            fail_msg("%s: row %u: validity %d, expected %d", name, i, vec_col_is_valid(b, i), va);
        if (!va)
            continue;
        if (a->type.list) {
            uint32_t la = a->list_offsets[i + 1] - a->list_offsets[i];
            uint32_t lb = b->list_offsets[i + 1] - b->list_offsets[i];
            if (la != lb)
                fail_msg("%s: row %u: %u elements, expected %u", name, i, lb, la);
        } else if (vec_value_cmp(a, i, b, i) != 0) {
            fail_msg("%s: row %u: values differ", name, i);
        }
    }
    if (a->type.list)
        cols_equal(a->elems, b->elems, a->list_offsets[n], name);
}

static tarn_buf write_file(uint32_t rows, pq_writer_opts o)
{
    mem_sink m;
    tarn_buf_init(&m.buf, (size_t)1 << 30);
    o.nodes = NODES;
    o.nnodes = NNODES;
    o.sink = mem_put;
    o.sink_ctx = &m;
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w;
    int rc = pq_writer_open(&o, &w, &err);
    if (rc != 0)
        fail_msg("open: %s", err.msg);
    assert_int_equal(pq_writer_batch_ncols(w), W_NCOLS);
    assert_int_equal(pq_writer_nleaves(w), NLEAVES);
    for (uint32_t i = 0; i < NLEAVES; i++)
        assert_string_equal(pq_writer_leaf_name(w, i), LEAF_NAMES[i]);
    vec_batch b;
    batch_init(&b, false, 500);
    for (uint32_t base = 0; base < rows; base += 500) {
        gen(&b, base, rows - base < 500 ? rows - base : 500, false);
        rc = pq_writer_write(w, &b, &err);
        if (rc != 0)
            fail_msg("write: %s", err.msg);
    }
    assert_int_equal(pq_writer_finish(w, &err), 0);
    /* add.stats is null on odd rows and where add is null (r % 3 == 0). */
    int64_t nulls = 0;
    for (uint32_t r = 0; r < rows; r++)
        nulls += r % 3 == 0 || r % 2;
    assert_int_equal(pq_writer_stats(w, 5)->null_count, nulls);
    vec_batch_free(&b);
    pq_writer_close(w);
    return m.buf;
}

/* Reads the file and compares every leaf with gen(as_read). */
static void check_file(const tarn_buf *file, uint32_t rows)
{
    tarn_err err = TARN_ERR_INIT;
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(file->data, file->len, "nested", &f, &err), 0);
    assert_int_equal(pq_file_ncols(f), NLEAVES);
    for (uint32_t i = 0; i < NLEAVES; i++)
        assert_string_equal(pq_file_column(f, i)->name, LEAF_NAMES[i]);
    pq_scan *s;
    if (pq_scan_open(f, &(pq_scan_opts){.batch_rows = 300}, &s, &err) != 0)
        fail_msg("scan: %s", err.msg);
    vec_batch got, want;
    assert_int_equal(pq_scan_batch_init(s, &got), 0);
    batch_init(&want, true, 300);
    uint32_t r = 0;
    int rc;
    while ((rc = pq_scan_next(s, &got, &err)) == 0 && got.len > 0) {
        gen(&want, r, got.len, true);
        for (uint32_t i = 0; i < NLEAVES; i++)
            cols_equal(&want.cols[i], &got.cols[i], got.len, LEAF_NAMES[i]);
        r += got.len;
    }
    if (rc != 0)
        fail_msg("next: %s", err.msg);
    assert_int_equal(r, rows);
    vec_batch_free(&got);
    vec_batch_free(&want);
    pq_scan_close(s);
    pq_file_close(f);
}

static void test_nested_round_trip(void **state)
{
    (void)state;
    static const pq_writer_opts variants[] = {
        {0},
        {.page_v2 = true, .codec = PQ_WRITE_ZSTD},
        {.no_dict = true, .page_bytes = 512, .row_group_bytes = 8192},
    };
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        tarn_buf file = write_file(2000, variants[v]);
        check_file(&file, 2000);
        /* tests/interop/nested.js has DuckDB and hyparquet read these. */
        const char *dir = getenv("PQ_NESTED_OUT");
        if (dir) {
            static const char *const names[] = {"snappy", "v2_zstd", "plain_small_pages"};
            char path[4096];
            snprintf(path, sizeof(path), "%s/tarn_nested_%s.parquet", dir, names[v]);
            tarn_test_write_file(path, file.data, file.len);
        }
        tarn_buf_free(&file);
    }
    /* A small file too (fuzz corpus seed size). */
    const char *dir = getenv("PQ_NESTED_OUT");
    if (dir) {
        tarn_buf file = write_file(40, (pq_writer_opts){.page_bytes = 256});
        check_file(&file, 40);
        char path[4096];
        snprintf(path, sizeof(path), "%s/tarn_nested_small.parquet", dir);
        tarn_test_write_file(path, file.data, file.len);
        tarn_buf_free(&file);
    }
}

/* The writer refuses batches whose columns disagree on a list's shape, or
 * that hold a null where the schema says required; the first refusal
 * leaves it usable. */
static void test_nested_bad_batches(void **state)
{
    (void)state;
    mem_sink m;
    tarn_buf_init(&m.buf, (size_t)1 << 30);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w;
    assert_int_equal(
        pq_writer_open(
            &(pq_writer_opts){.nodes = NODES, .nnodes = NNODES, .sink = mem_put, .sink_ctx = &m},
            &w, &err),
        0);
    vec_batch b;
    batch_init(&b, false, 64);
    gen(&b, 1, 10, false);
    /* One more map value than keys in the last row. */
    vec_col *pv = &b.cols[W_PV_VAL];
    put_str(pv->elems, "extra");
    pv->list_offsets[pv->len] = pv->elems->len;
    assert_int_equal(pq_writer_write(w, &b, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "disagree"));
    /* A list whose offsets run past its elements. */
    gen(&b, 1, 10, false);
    b.cols[W_PTS_X].list_offsets[b.cols[W_PTS_X].len] += 5;
    assert_int_equal(pq_writer_write(w, &b, &err), TARN_EINVAL);
    /* Wrong list depth. */
    vec_batch flat;
    vec_type_info t[W_NCOLS];
    memcpy(t, WTYPES, sizeof(t));
    t[W_LL].list_inner = 0;
    assert_int_equal(vec_batch_init(&flat, t, W_NCOLS, 4), 0);
    flat.len = 0;
    assert_int_equal(pq_writer_write(w, &flat, &err), TARN_EINVAL);
    vec_batch_free(&flat);
    /* Still usable: a good batch goes through. */
    gen(&b, 1, 10, false);
    assert_int_equal(pq_writer_write(w, &b, &err), 0);
    /* A null path (required) inside a present add. */
    gen(&b, 1, 10, false);
    assert_int_equal(vec_col_set_null(&b.cols[W_PATH], 0), 0);
    assert_int_equal(pq_writer_write(w, &b, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "add.path"));
    vec_batch_free(&b);
    pq_writer_close(w);
    tarn_buf_free(&m.buf);
}

/* Malformed node trees are refused at open. */
static void test_nested_bad_schemas(void **state)
{
    (void)state;
    static const pq_write_node bad_key[] = {
        {"m", PQ_NODE_MAP, {0}, true, 2},
        {"key", PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
        {"value", PQ_NODE_LEAF, {.id = VEC_STRING}, true, 0},
    };
    static const pq_write_node short_struct[] = {
        {"s", PQ_NODE_STRUCT, {0}, true, 3},
        {"a", PQ_NODE_LEAF, {.id = VEC_I32}, true, 0},
    };
    static const pq_write_node list_two[] = {
        {"l", PQ_NODE_LIST, {0}, true, 2},
        {"a", PQ_NODE_LEAF, {.id = VEC_I32}, true, 0},
        {"b", PQ_NODE_LEAF, {.id = VEC_I32}, true, 0},
    };
    static const pq_write_node unnamed[] = {{NULL, PQ_NODE_LEAF, {.id = VEC_I32}, true, 0}};
    pq_write_node deep[2 * VEC_LIST_DEPTH_MAX + 2];
    uint32_t nd = 0;
    for (; nd < VEC_LIST_DEPTH_MAX + 1; nd++)
        deep[nd] = (pq_write_node){nd ? NULL : "l", PQ_NODE_LIST, {0}, true, 1};
    deep[nd++] = (pq_write_node){NULL, PQ_NODE_LEAF, {.id = VEC_I32}, true, 0};
    struct {
        const pq_write_node *n;
        uint32_t count;
    } cases[] = {{bad_key, 3}, {short_struct, 2}, {list_two, 3}, {unnamed, 1}, {deep, nd}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tarn_err err = TARN_ERR_INIT;
        pq_writer *w = NULL;
        int rc = pq_writer_open(
            &(pq_writer_opts){
                .nodes = cases[i].n, .nnodes = cases[i].count, .sink = mem_put, .sink_ctx = NULL},
            &w, &err);
        if (rc != TARN_EINVAL)
            fail_msg("case %zu: rc %d", i, rc);
        assert_null(w);
    }
    /* A flat column cannot be a list of lists (that takes nodes), and
     * options cannot give both schemas. */
    pq_write_col ll = {"ll", {.id = VEC_I64, .list = true, .list_inner = 1}, true};
    pq_writer *w = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(
        pq_writer_open(&(pq_writer_opts){.cols = &ll, .ncols = 1, .sink = mem_put}, &w, &err),
        TARN_EINVAL);
    assert_non_null(strstr(err.msg, "nodes"));
    assert_int_equal(
        pq_writer_open(
            &(pq_writer_opts){
                .cols = &ll, .ncols = 1, .nodes = NODES, .nnodes = NNODES, .sink = mem_put},
            &w, &err),
        TARN_EINVAL);
    assert_null(w);
}

/* Out of memory at every allocation of writing a small nested file. */
static int oom_write(void *ctx)
{
    const vec_batch *b = ctx;
    mem_sink m;
    tarn_buf_init(&m.buf, (size_t)1 << 30);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w = NULL;
    int rc = pq_writer_open(
        &(pq_writer_opts){.nodes = NODES, .nnodes = NNODES, .sink = mem_put, .sink_ctx = &m}, &w,
        &err);
    if (rc == 0)
        rc = pq_writer_write(w, b, &err);
    if (rc == 0)
        rc = pq_writer_finish(w, &err);
    pq_writer_close(w);
    tarn_buf_free(&m.buf);
    return rc;
}

static void test_nested_oom(void **state)
{
    (void)state;
    vec_batch b;
    batch_init(&b, false, 16);
    gen(&b, 0, 16, false);
    tarn_test_oom_loop(oom_write, NULL, &b, 2000);
    vec_batch_free(&b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_round_trip),
        cmocka_unit_test(test_nested_bad_batches),
        cmocka_unit_test(test_nested_bad_schemas),
        cmocka_unit_test(test_nested_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
