/* Tests of vec/: column batches, validity, strings flat and dictionary,
 * selection vectors, limits and out-of-memory behaviour. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "vec/vec.h"

#include <pthread.h>
#include <string.h>

static const vec_type_info T_I64 = {.id = VEC_I64};
static const vec_type_info T_STR = {.id = VEC_STRING};

static void test_fixed_width_and_nulls(void **state)
{
    (void)state;
    vec_col c;
    assert_int_equal(vec_col_init(&c, T_I64, 100), 0);
    int64_t *v = c.data;
    for (uint32_t i = 0; i < 100; i++)
        v[i] = (int64_t)i * 3;
    c.len = 100;
    assert_null(c.validity);
    assert_int_equal(vec_col_null_count(&c), 0);
    assert_int_equal(vec_col_set_null(&c, 7), 0);
    assert_int_equal(vec_col_set_null(&c, 99), 0);
    assert_false(vec_col_is_valid(&c, 7));
    assert_false(vec_col_is_valid(&c, 99));
    assert_true(vec_col_is_valid(&c, 8));
    assert_true(vec_col_is_valid(&c, 0));
    assert_int_equal(vec_col_null_count(&c), 2);
    assert_true(vec_col_check(&c));
    vec_col_reset(&c);
    assert_int_equal(c.len, 0);
    c.len = 100;
    assert_int_equal(vec_col_null_count(&c), 0);
    vec_col_free(&c);
}

static void test_bad_init(void **state)
{
    (void)state;
    vec_col c;
    assert_int_equal(vec_col_init(&c, T_I64, 0), TARN_EINVAL);
    assert_int_equal(vec_col_init(&c, T_I64, VEC_ROWS_MAX + 1), TARN_EINVAL);
    vec_type_info bad = {.id = VEC_TYPE_COUNT};
    assert_int_equal(vec_col_init(&c, bad, 10), TARN_EINVAL);
    assert_int_equal(vec_type_width(VEC_DECIMAL128), 16);
    assert_int_equal(vec_type_width(VEC_STRING), 0);
    assert_string_equal(vec_type_name(VEC_TIMESTAMP), "timestamp");
}

static void test_flat_strings(void **state)
{
    (void)state;
    vec_col c;
    assert_int_equal(vec_col_init(&c, T_STR, 3), 0);
    assert_int_equal(vec_col_append_str(&c, "hello", 5), 0);
    assert_int_equal(vec_col_append_str(&c, "", 0), 0);
    assert_int_equal(vec_col_append_str(&c, "world!", 6), 0);
    assert_int_equal(vec_col_append_str(&c, "x", 1), TARN_ERANGE);
    const uint8_t *s;
    size_t n;
    vec_col_str(&c, 0, &s, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "hello", 5);
    vec_col_str(&c, 1, &s, &n);
    assert_int_equal(n, 0);
    vec_col_str(&c, 2, &s, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(s, "world!", 6);
    assert_true(vec_col_check(&c));
    c.offsets[2] = 1; /* break invariant 2: offsets must not decrease */
    assert_false(vec_col_check(&c));
    vec_col_free(&c);
}

static void test_dictionary_strings(void **state)
{
    (void)state;
    uint32_t offs[] = {0, 3, 3, 8};
    vec_dict *d;
    assert_int_equal(vec_dict_new(offs, (const uint8_t *)"redblack", 3, &d), 0);
    vec_col c;
    assert_int_equal(vec_col_init(&c, T_STR, 4), 0);
    assert_int_equal(vec_col_use_dict(&c, d), 0);
    vec_dict_release(d); /* the column keeps its own reference */
    uint32_t codes[] = {2, 0, 1, 2};
    memcpy(c.codes, codes, sizeof(codes));
    c.len = 4;
    assert_true(vec_col_check(&c));
    const uint8_t *s;
    size_t n;
    vec_col_str(&c, 0, &s, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "black", 5);
    vec_col_str(&c, 2, &s, &n);
    assert_int_equal(n, 0);
    c.codes[1] = 3; /* out of range code in a valid row breaks invariant 3 */
    assert_false(vec_col_check(&c));
    assert_int_equal(vec_col_set_null(&c, 1), 0);
    assert_true(vec_col_check(&c));
    c.codes[1] = 0;
    assert_int_equal(vec_col_flatten(&c), 0);
    assert_null(c.dict);
    assert_false(vec_col_is_valid(&c, 1));
    vec_col_str(&c, 3, &s, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "black", 5);
    vec_col_str(&c, 0, &s, &n);
    assert_memory_equal(s, "black", 5);
    assert_true(vec_col_check(&c));
    vec_col_free(&c);
}

static void test_dict_rejects_bad_offsets(void **state)
{
    (void)state;
    uint32_t offs[] = {0, 4, 2};
    vec_dict *d = (vec_dict *)1;
    assert_int_equal(vec_dict_new(offs, (const uint8_t *)"abcd", 2, &d), TARN_EINVAL);
    assert_null(d);
    uint32_t offs2[] = {1, 4};
    assert_int_equal(vec_dict_new(offs2, (const uint8_t *)"abcd", 1, &d), TARN_EINVAL);
}

static void test_batch_and_selection(void **state)
{
    (void)state;
    vec_type_info types[] = {T_I64, T_STR};
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, types, 2, VEC_BATCH_ROWS), 0);
    assert_int_equal(b.cap, VEC_BATCH_ROWS);
    for (uint32_t i = 0; i < 10; i++) {
        ((int64_t *)b.cols[0].data)[i] = i;
        assert_int_equal(vec_col_append_str(&b.cols[1], "ab", 2), 0);
    }
    b.cols[0].len = 10;
    b.len = 10;
    assert_int_equal(vec_batch_live_count(&b), 10);
    uint32_t rows[] = {1, 4, 9};
    assert_int_equal(vec_batch_select(&b, rows, 3), 0);
    assert_int_equal(vec_batch_live_count(&b), 3);
    uint32_t bad[] = {4, 1};
    assert_int_equal(vec_batch_select(&b, bad, 2), TARN_EINVAL);
    uint32_t out_of_range[] = {10};
    assert_int_equal(vec_batch_select(&b, out_of_range, 1), TARN_EINVAL);
    vec_batch_reset(&b);
    assert_int_equal(vec_batch_live_count(&b), 0);
    assert_int_equal(b.cols[1].bytes_len, 0);
    vec_batch_free(&b);
}

static void test_value_cmp(void **state)
{
    (void)state;
    vec_col a, b;
    assert_int_equal(vec_col_init(&a, (vec_type_info){.id = VEC_U64}, 2), 0);
    ((uint64_t *)a.data)[0] = UINT64_MAX;
    ((uint64_t *)a.data)[1] = 1;
    a.len = 2;
    assert_int_equal(vec_value_cmp(&a, 0, &a, 1), 1); /* unsigned, not signed */
    assert_int_equal(vec_value_cmp(&a, 1, &a, 1), 0);
    vec_col_free(&a);
    assert_int_equal(vec_col_init(&a, (vec_type_info){.id = VEC_F64}, 3), 0);
    double d[] = {1.0 / 0.0, 0.0 / 0.0, -2.0};
    memcpy(a.data, d, sizeof(d));
    a.len = 3;
    assert_int_equal(vec_value_cmp(&a, 1, &a, 0), 1); /* NaN after +inf */
    assert_int_equal(vec_value_cmp(&a, 1, &a, 1), 0);
    assert_int_equal(vec_value_cmp(&a, 2, &a, 0), -1);
    vec_col_free(&a);
    assert_int_equal(vec_col_init(&a, (vec_type_info){.id = VEC_DECIMAL128}, 2), 0);
    ((vec_i128 *)a.data)[0] = (vec_i128){5, -1}; /* negative */
    ((vec_i128 *)a.data)[1] = (vec_i128){0, 0};
    a.len = 2;
    assert_int_equal(vec_value_cmp(&a, 0, &a, 1), -1);
    vec_col_free(&a);
    assert_int_equal(vec_col_init(&a, T_STR, 2), 0);
    assert_int_equal(vec_col_init(&b, T_STR, 2), 0);
    assert_int_equal(vec_col_append_str(&a, "ab", 2), 0);
    assert_int_equal(vec_col_append_str(&a, "\xff", 1), 0);
    assert_int_equal(vec_col_append_str(&b, "abc", 3), 0);
    assert_int_equal(vec_col_append_str(&b, "", 0), 0);
    assert_int_equal(vec_value_cmp(&a, 0, &b, 0), -1); /* prefix first */
    assert_int_equal(vec_value_cmp(&a, 1, &b, 0), 1);  /* bytes unsigned */
    assert_int_equal(vec_value_cmp(&b, 1, &b, 1), 0);
    assert_int_equal(vec_value_cmp(&b, 1, &a, 0), -1);
    vec_col_free(&a);
    vec_col_free(&b);
}

/* [[1, 2], null, [], [null, 5, ... 300 elements]] with the child growing. */
static void test_lists(void **state)
{
    (void)state;
    vec_col c;
    assert_int_equal(vec_col_init(&c, (vec_type_info){.id = VEC_I32, .list = true}, 4), 0);
    vec_col *e = c.elems;
    assert_int_equal(e->cap, 4);
    ((int32_t *)e->data)[0] = 1;
    ((int32_t *)e->data)[1] = 2;
    e->len = 2;
    assert_int_equal(vec_col_list_end(&c), 0);
    assert_int_equal(vec_col_set_null(&c, 1), 0);
    assert_int_equal(vec_col_list_end(&c), 0);
    assert_int_equal(vec_col_list_end(&c), 0);
    assert_int_equal(vec_col_grow(e, 302), 0);
    assert_int_equal(vec_col_set_null(e, 2), 0);
    for (uint32_t i = 3; i < 302; i++)
        ((int32_t *)e->data)[i] = (int32_t)i;
    e->len = 302;
    assert_int_equal(vec_col_list_end(&c), 0);
    assert_int_equal(vec_col_list_end(&c), TARN_ERANGE);
    assert_true(vec_col_check(&c));
    assert_int_equal(c.list_offsets[1], 2);
    assert_int_equal(c.list_offsets[2], 2);
    assert_int_equal(c.list_offsets[3], 2);
    assert_int_equal(c.list_offsets[4], 302);
    assert_false(vec_col_is_valid(&c, 1));
    assert_false(vec_col_is_valid(e, 2));
    assert_true(vec_col_is_valid(e, 301)); /* grown validity bits start valid */
    assert_int_equal(((int32_t *)e->data)[301], 301);
    assert_int_equal(vec_col_grow(e, VEC_ROWS_MAX + 1), TARN_ETOOBIG);
    c.list_offsets[2] = 3; /* not monotone */
    assert_false(vec_col_check(&c));
    vec_col_reset(&c);
    assert_int_equal(e->len, 0);
    vec_col_free(&c);
}

static int oom_batch_op(void *ctx)
{
    vec_batch *b = ctx;
    vec_type_info types[] = {T_I64, T_STR, T_STR};
    int rc = vec_batch_init(b, types, 3, 64);
    if (rc != 0)
        return rc;
    rc = vec_col_append_str(&b->cols[1], "some text", 9);
    if (rc == 0)
        rc = vec_col_set_null(&b->cols[0], 3);
    if (rc != 0)
        vec_batch_free(b);
    return rc;
}

static void oom_batch_cleanup(void *ctx)
{
    vec_batch_free(ctx);
}

static void test_oom(void **state)
{
    (void)state;
    vec_batch b;
    assert_true(tarn_test_oom_loop(oom_batch_op, oom_batch_cleanup, &b, 100) >= 4);
}

/* The dictionary reference count is atomic: columns on several threads
 * take and drop references to one dictionary at once; it is freed exactly
 * when the last goes (ASan would report a leak or a double free, TSan a
 * race). */
#define DICT_THREADS 4
#define DICT_ROUNDS  20000

static void *dict_churn(void *arg)
{
    vec_dict *d = arg;
    vec_col c;
    for (int i = 0; i < DICT_ROUNDS; i++) {
        if (vec_col_init(&c, T_STR, 4) != 0 || vec_col_use_dict(&c, d) != 0)
            return arg;   /* out of memory: reported as a failure */
        vec_col_free(&c); /* drops the column's reference */
    }
    vec_dict_release(d); /* the reference main took for this thread */
    return NULL;
}

static void test_dict_refs_across_threads(void **state)
{
    (void)state;
    uint32_t offs[3] = {0, 1, 3};
    vec_dict *d;
    assert_int_equal(vec_dict_new(offs, (const uint8_t *)"abc", 2, &d), 0);
    pthread_t th[DICT_THREADS];
    for (int i = 0; i < DICT_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, dict_churn, vec_dict_retain(d)), 0);
    for (int i = 0; i < DICT_THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(__atomic_load_n(&d->refs, __ATOMIC_RELAXED), 1);
    vec_dict_release(d);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_width_and_nulls),
        cmocka_unit_test(test_bad_init),
        cmocka_unit_test(test_flat_strings),
        cmocka_unit_test(test_dictionary_strings),
        cmocka_unit_test(test_dict_rejects_bad_offsets),
        cmocka_unit_test(test_batch_and_selection),
        cmocka_unit_test(test_value_cmp),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_dict_refs_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
