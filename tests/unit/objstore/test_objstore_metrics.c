/* Tests of objstore/ metrics: operations move the counters and the latency
 * histogram of obs_global(). */
#include "objstore_fixture.h"

#include "obs/obs.h"

static obs_family *fam(obs_type type, const char *name, const char *const *labels, size_t n)
{
    obs_family *f = NULL;
    /* Registering the same shape again returns the objstore's family. */
    int rc = obs_family_register(
        obs_global(),
        &(obs_family_opts){
            .type = type, .name = name, .help = "x", .label_names = labels, .label_count = n},
        &f);
    assert_int_equal(rc, 0);
    return f;
}

static uint64_t ops(const char *op, const char *result)
{
    obs_family *f =
        fam(OBS_COUNTER, "tarn_objstore_ops_total", (const char *[]){"backend", "op", "result"}, 3);
    return obs_counter_value(obs_series(f, (const char *[]){"file", op, result}));
}

static uint64_t bytes(const char *name)
{
    obs_family *f = fam(OBS_COUNTER, name, (const char *[]){"backend"}, 1);
    return obs_counter_value(obs_series(f, (const char *[]){"file"}));
}

static uint64_t latency_count(const char *op)
{
    obs_family *f = fam(OBS_HISTOGRAM, "tarn_objstore_op_duration_seconds",
                        (const char *[]){"backend", "op"}, 2);
    return obs_histogram_count(obs_series(f, (const char *[]){"file", op}));
}

static void test_counters_move(void **state)
{
    fx *f = *state;
    uint64_t put_ok = ops("put", "ok"), get_ok = ops("get", "ok");
    uint64_t get_nf = ops("get", "not_found"), pia_ex = ops("put_if_absent", "exists");
    uint64_t put_err = ops("put", "error"), del_ok = ops("del", "ok");
    uint64_t wr = bytes("tarn_objstore_bytes_written_total");
    uint64_t rd = bytes("tarn_objstore_bytes_read_total");
    uint64_t lat = latency_count("get_range");

    put_str(f->os, "m/a", "12345");
    put_str(f->os, "m/b", "123");
    expect_get(f->os, "m/a", "12345");
    expect_get(f->os, "m/none", NULL);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_put_if_absent(f->os, "m/a", "z", 1, &err), TARN_EEXIST);
    assert_int_equal(objstore_put(f->os, "../bad", "z", 1, &err), TARN_EINVAL);
    assert_int_equal(objstore_del(f->os, "m/b", &err), 0);
    tarn_buf b;
    tarn_buf_init(&b, 100);
    assert_int_equal(objstore_get_range(f->os, "m/a", 1, 2, &b, &err), 0);
    tarn_buf_free(&b);

    assert_int_equal(ops("put", "ok") - put_ok, 2);
    assert_int_equal(ops("get", "ok") - get_ok, 1);
    assert_int_equal(ops("get", "not_found") - get_nf, 1);
    assert_int_equal(ops("put_if_absent", "exists") - pia_ex, 1);
    assert_int_equal(ops("put", "error") - put_err, 1);
    assert_int_equal(ops("del", "ok") - del_ok, 1);
    assert_int_equal(bytes("tarn_objstore_bytes_written_total") - wr, 8);
    assert_int_equal(bytes("tarn_objstore_bytes_read_total") - rd, 5 + 2);
    assert_int_equal(latency_count("get_range") - lat, 1);

    tarn_buf text;
    tarn_buf_init(&text, 1 << 22);
    assert_int_equal(obs_registry_render(obs_global(), &text), 0);
    assert_non_null(strstr(tarn_buf_cstr(&text), "tarn_objstore_op_duration_seconds_bucket"));
    tarn_buf_free(&text);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_move, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
