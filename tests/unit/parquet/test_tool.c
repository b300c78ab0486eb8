/* Tests of parquet/tool.c (`tarn parquet schema|meta|cat`) on a fixture. */
#include "common/test_util.h"

#include "parquet/tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE PQ_TEST_DATA "/v1_snappy_dict.parquet"

/* Runs the tool and returns its stdout (free()); *code gets the exit code. */
static char *run(int *code, int argc, const char **argv)
{
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *out = open_memstream(&buf, &len);
    FILE *err = open_memstream(&ebuf, &elen);
    *code = pq_tool_main(argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    if (*code == 1)
        assert_true(strstr(ebuf, "tarn parquet") != NULL);
    free(ebuf);
    return buf;
}

static void test_cat_json(void **state)
{
    (void)state;
    int code;
    const char *argv[] = {"parquet", "cat", FIXTURE, "--limit", "2", "--format", "json"};
    char *out = run(&code, 7, argv);
    assert_int_equal(code, 0);
    assert_string_equal(out, "{\"i\":-100,\"s\":\"v0\",\"d\":0,\"ts\":\"2020-01-01 00:00:00\","
                             "\"u\":null}\n"
                             "{\"i\":null,\"s\":\"v1\",\"d\":0.25,\"ts\":\"2020-01-01 00:00:01\","
                             "\"u\":\"w1\"}\n");
    free(out);
}

/* Nested columns print as JSON values: structs as objects, lists as
 * arrays, maps as arrays of {"key", "value"}; lists of lists of lists. The
 * fixture is DuckDB's (tests/interop/nested.js writes the same shapes). */
static void test_cat_nested_json(void **state)
{
    (void)state;
    int code;
    const char *argv[] = {"parquet",  "cat", PQ_TEST_DATA "/nested_deep.parquet", "--limit", "3",
                          "--format", "json"};
    char *out = run(&code, 7, argv);
    assert_int_equal(code, 0);
    assert_string_equal(
        out,
        "{\"id\":0,\"s\":null,\"m\":null,\"ls\":[],\"ms\":[{\"key\":\"p\",\"value\":{\"u\":0,"
        "\"v\":[0,null]}}],\"ll\":null,\"lll\":[[[0]],[[null],[]],null]}\n"
        "{\"id\":1,\"s\":{\"a\":1,\"c\":[1]},\"m\":[{\"key\":\"k1\",\"value\":\"v1\"}],\"ls\":"
        "[{\"x\":1,\"y\":\"q\"}],\"ms\":[{\"key\":\"p\",\"value\":{\"u\":1,\"v\":[1,null]}}],"
        "\"ll\":[[1,null]],\"lll\":[[[1]],[[null],[]],null]}\n"
        "{\"id\":2,\"s\":{\"a\":2,\"c\":[2,3]},\"m\":[{\"key\":\"k1\",\"value\":\"v2\"},"
        "{\"key\":\"k2\",\"value\":null}],\"ls\":[{\"x\":2,\"y\":\"q\"},null],\"ms\":[{\"key\":"
        "\"p\",\"value\":{\"u\":2,\"v\":[2,null]}}],\"ll\":[[2,null],null],\"lll\":[[[2]],"
        "[[null],[]],null]}\n");
    free(out);
    /* The schema names each leaf's list depth. */
    const char *argv3[] = {"parquet", "schema", PQ_TEST_DATA "/nested_deep.parquet"};
    out = run(&code, 3, argv3);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "\nll.list.element.list.element: INT64 optional -> list of list of "
                                "i64\n"));
    assert_non_null(strstr(out, "\ns.a: INT64 optional -> i64\n"));
    free(out);
    /* A projection of leaves prints only those fields; csv quotes nested text. */
    const char *argv2[] = {"parquet",
                           "cat",
                           PQ_TEST_DATA "/nested_deep.parquet",
                           "--columns",
                           "id,s.c.list.element,m.key_value.key",
                           "--limit",
                           "2",
                           "--format",
                           "csv"};
    out = run(&code, 9, argv2);
    assert_int_equal(code, 0);
    assert_string_equal(out, "id,s,m\n0,,\n1,\"{\"\"c\"\":[1]}\",\"[{\"\"key\"\":\"\"k1\"\","
                             "\"\"value\"\":null}]\"\n");
    free(out);
}

static void test_cat_csv_and_table_columns(void **state)
{
    (void)state;
    int code;
    const char *csv[] = {"parquet", "cat", FIXTURE,    "--columns", "u,i",
                         "--limit", "2",   "--format", "csv"};
    char *out = run(&code, 9, csv);
    assert_int_equal(code, 0);
    assert_string_equal(out, "u,i\n,-100\nw1,\n");
    free(out);
    const char *table[] = {"parquet", "cat", FIXTURE, "--columns", "s", "--limit", "1"};
    out = run(&code, 7, table);
    assert_int_equal(code, 0);
    assert_string_equal(out, "s\nv0\n");
    free(out);
    const char *missing[] = {"parquet", "cat", FIXTURE, "--columns", "nope"};
    out = run(&code, 5, missing);
    assert_int_equal(code, 1);
    free(out);
}

static void test_schema_and_meta(void **state)
{
    (void)state;
    int code;
    const char *schema[] = {"parquet", "schema", FIXTURE};
    char *out = run(&code, 3, schema);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "i: INT32 optional -> i32\n"));
    assert_non_null(strstr(out, "ts: INT64 optional -> timestamp[us]\n"));
    free(out);
    const char *meta[] = {"parquet", "meta", FIXTURE};
    out = run(&code, 3, meta);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "rows: 300\n"));
    assert_non_null(strstr(out, "i: INT32 SNAPPY values=300"));
    assert_non_null(strstr(out, "nulls=60 min=-100 max=797"));
    assert_non_null(strstr(out, "min=2020-01-01 00:00:00 max=2020-01-01 00:04:59"));
    free(out);
}

static void test_usage_and_errors(void **state)
{
    (void)state;
    int code;
    const char *bad_cmd[] = {"parquet", "frobnicate", FIXTURE};
    free(run(&code, 3, bad_cmd));
    assert_int_equal(code, 2);
    const char *bad_fmt[] = {"parquet", "cat", FIXTURE, "--format", "xml"};
    free(run(&code, 5, bad_fmt));
    assert_int_equal(code, 2);
    const char *no_file[] = {"parquet", "meta", "/nonexistent/x.parquet"};
    free(run(&code, 3, no_file));
    assert_int_equal(code, 1);
    const char *not_parquet[] = {"parquet", "schema", PQ_TEST_DATA "/../test_tool.c"};
    free(run(&code, 3, not_parquet));
    assert_int_equal(code, 1);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat_json),
        cmocka_unit_test(test_cat_nested_json),
        cmocka_unit_test(test_cat_csv_and_table_columns),
        cmocka_unit_test(test_schema_and_meta),
        cmocka_unit_test(test_usage_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
