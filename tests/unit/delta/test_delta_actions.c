/*
 * tests/unit/delta/test_delta_actions.c: parsing commit files: every
 * action kind, URL-encoded paths, null partition values, the schema tree,
 * stats, and hostile JSON (truncated, wrong types, huge numbers, deep
 * nesting), plus out-of-memory injection over a whole commit.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "delta/delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const commit0 =
    "{\"commitInfo\":{\"timestamp\":1668830172528,\"operation\":\"WRITE\"}}\n"
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
    "\"readerFeatures\":[\"timestampNtz\"],\"writerFeatures\":[\"timestampNtz\",\"appendOnly\"]}}\n"
    "{\"metaData\":{\"id\":\"abc\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
    "{\\\"name\\\":\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,"
    "\\\"metadata\\\":{}},"
    "{\\\"name\\\":\\\"d\\\",\\\"type\\\":\\\"decimal(12,3)\\\",\\\"nullable\\\":false,"
    "\\\"metadata\\\":{}},"
    "{\\\"name\\\":\\\"s\\\",\\\"type\\\":{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
    "{\\\"name\\\":\\\"x\\\",\\\"type\\\":{\\\"type\\\":\\\"array\\\",\\\"elementType\\\":"
    "\\\"long\\\",\\\"containsNull\\\":false},\\\"nullable\\\":true,\\\"metadata\\\":{}},"
    "{\\\"name\\\":\\\"m\\\",\\\"type\\\":{\\\"type\\\":\\\"map\\\",\\\"keyType\\\":"
    "\\\"string\\\",\\\"valueType\\\":\\\"timestamp_ntz\\\",\\\"valueContainsNull\\\":true},"
    "\\\"nullable\\\":true,\\\"metadata\\\":{}}]},\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
    "\"partitionColumns\":[\"p\"],\"configuration\":{\"delta.appendOnly\":\"true\"},"
    "\"createdTime\":1668830170207}}\n"
    "{\"add\":{\"path\":\"p=%252F%2520x/part%20one.parquet\",\"partitionValues\":{\"p\":\"/%20x\"},"
    "\"size\":996,\"modificationTime\":1668830172404,\"dataChange\":true,"
    "\"stats\":\"{\\\"numRecords\\\":3,\\\"minValues\\\":{\\\"d\\\":1.5,\\\"s\\\":{\\\"x\\\":1}},"
    "\\\"maxValues\\\":{\\\"d\\\":9},\\\"nullCount\\\":{\\\"d\\\":0,\\\"s\\\":{\\\"x\\\":2}}}\"}}\n"
    "{\"add\":{\"path\":\"p=__HIVE_DEFAULT_PARTITION__/"
    "b.parquet\",\"partitionValues\":{\"p\":null},"
    "\"size\":10,\"modificationTime\":5,\"dataChange\":false,\"tags\":{\"k\":\"v\"}}}\n"
    "{\"remove\":{\"path\":\"old.parquet\",\"deletionTimestamp\":77,\"dataChange\":true}}\n"
    "{\"txn\":{\"appId\":\"stream-1\",\"version\":42,\"lastUpdated\":99}}\n"
    "{\"cdc\":{\"path\":\"_change_data/c.parquet\",\"partitionValues\":{},\"size\":1,"
    "\"dataChange\":false}}\n"
    "{\"domainMetadata\":{\"domain\":\"x\",\"configuration\":\"{}\",\"removed\":false}}\n"
    "{\"someFutureAction\":{\"anything\":[1,2,3]}}\n";

static void test_every_action_kind(void **state)
{
    (void)state;
    delta_commit *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_commit_parse(commit0, strlen(commit0), "00.json", 0, &c, &err);
    if (rc != 0)
        print_error("%s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    assert_int_equal(c->timestamp_ms, 1668830172528LL);
    assert_non_null(c->commit_info);
    assert_non_null(strstr(c->commit_info, "\"operation\":\"WRITE\""));
    assert_int_equal(c->protocol->min_reader_version, 3);
    assert_int_equal(c->protocol->min_writer_version, 7);
    assert_int_equal(c->protocol->n_reader_features, 1);
    assert_string_equal(c->protocol->reader_features[0], "timestampNtz");
    assert_int_equal(c->protocol->n_writer_features, 2);
    const delta_metadata *m = c->metadata;
    assert_string_equal(m->id, "abc");
    assert_int_equal(m->n_partition_columns, 1);
    assert_string_equal(m->partition_columns[0], "p");
    assert_int_equal(m->created_time_ms, 1668830170207LL);
    const char *v = NULL;
    assert_int_equal(delta_map_get(&m->configuration, "delta.appendOnly", &v), 1);
    assert_string_equal(v, "true");
    assert_int_equal(c->nadds, 2);
    /* %25 decodes to '%' once: the partition directory keeps its escapes. */
    assert_string_equal(c->adds[0].path, "p=%2F%20x/part one.parquet");
    assert_int_equal(c->adds[0].size_bytes, 996);
    assert_true(c->adds[0].data_change);
    assert_non_null(c->adds[0].stats);
    assert_int_equal(delta_map_get(&c->adds[1].partition_values, "p", &v), 1);
    assert_null(v);
    assert_false(c->adds[1].data_change);
    assert_null(c->adds[1].stats);
    assert_int_equal(c->nremoves, 1);
    assert_string_equal(c->removes[0].path, "old.parquet");
    assert_int_equal(c->removes[0].deletion_timestamp_ms, 77);
    assert_int_equal(c->removes[0].size_bytes, -1);
    assert_int_equal(c->ntxns, 1);
    assert_string_equal(c->txns[0].app_id, "stream-1");
    assert_int_equal(c->txns[0].version, 42);
    delta_commit_free(c);
}

static void test_schema_tree(void **state)
{
    (void)state;
    delta_commit *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_commit_parse(commit0, strlen(commit0), "00.json", 0, &c, &err), 0);
    const delta_schema *s = &c->metadata->schema;
    /* root, p, d, s, s.x, s.x.element, s.m, s.m.key, s.m.value */
    assert_int_equal(s->nfields, 9);
    assert_int_equal(s->ntop, 3);
    const delta_field *d = &s->fields[delta_schema_find(s, "D")];
    assert_int_equal(d->kind, DELTA_DECIMAL);
    assert_int_equal(d->precision, 12);
    assert_int_equal(d->scale, 3);
    assert_false(d->nullable);
    int32_t si = delta_schema_find(s, "s");
    assert_int_equal(s->fields[si].kind, DELTA_STRUCT);
    assert_int_equal(s->fields[si].end, 9);
    assert_int_equal(s->fields[si + 1].kind, DELTA_ARRAY);
    assert_int_equal(s->fields[si + 2].kind, DELTA_LONG);
    assert_false(s->fields[si + 2].nullable);
    assert_null(s->fields[si + 2].name);
    assert_int_equal(s->fields[si + 3].kind, DELTA_MAP);
    assert_int_equal(s->fields[si + 5].kind, DELTA_TIMESTAMP_NTZ);
    assert_int_equal(s->fields[si + 5].parent, si + 3);
    vec_type_info t;
    assert_int_equal(delta_kind_vec_type(&s->fields[si], &t), TARN_ENOTSUP);
    assert_int_equal(delta_kind_vec_type(d, &t), 0);
    assert_int_equal(t.id, VEC_DECIMAL64);
    delta_commit_free(c);
}

static void test_stats_parsed_on_demand(void **state)
{
    (void)state;
    delta_commit *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_commit_parse(commit0, strlen(commit0), "00.json", 0, &c, &err), 0);
    delta_stats st;
    assert_int_equal(delta_stats_parse(c->adds[0].stats, &st, &err), 0);
    assert_int_equal(st.num_records, 3);
    const delta_col_stats *d = delta_stats_find(&st, "d");
    assert_non_null(d);
    assert_string_equal(d->min, "\"1.5\""); /* a fraction: its exact text, as a string */
    assert_string_equal(d->max, "9");
    assert_int_equal(d->null_count, 0);
    const delta_col_stats *x = delta_stats_find(&st, "s.x");
    assert_non_null(x);
    assert_string_equal(x->min, "1");
    assert_null(x->max);
    assert_int_equal(x->null_count, 2);
    delta_stats_free(&st);
    assert_int_equal(delta_stats_parse("{\"numRecords\":-1}", &st, &err), TARN_ECORRUPT);
    assert_int_equal(delta_stats_parse("{\"nullCount\":{\"a\":\"x\"}}", &st, &err), TARN_ECORRUPT);
    assert_int_equal(delta_stats_parse("[1]", &st, &err), TARN_ECORRUPT);
    /* Numbers jansson cannot hold exactly keep their text: a decimal(38)
     * beyond int64, 17 significant digits, an exponent; int64 stays a
     * number, even at its limits. */
    assert_int_equal(delta_stats_parse(
                         "{\"numRecords\":1,\"minValues\":{\"big\":-123456789012345678901234567890,"
                         "\"f\":0.12345678901234567,\"e\":1.5E+2,\"s\":\"1.5 \\\" 2\","
                         "\"l\":-9223372036854775808},\"maxValues\":{\"l\":9223372036854775807,"
                         "\"m\":9223372036854775808}}",
                         &st, &err),
                     0);
    assert_string_equal(delta_stats_find(&st, "big")->min, "\"-123456789012345678901234567890\"");
    assert_string_equal(delta_stats_find(&st, "f")->min, "\"0.12345678901234567\"");
    assert_string_equal(delta_stats_find(&st, "e")->min, "\"1.5E+2\"");
    assert_string_equal(delta_stats_find(&st, "s")->min, "\"1.5 \\\" 2\"");
    assert_string_equal(delta_stats_find(&st, "l")->min, "-9223372036854775808");
    assert_string_equal(delta_stats_find(&st, "l")->max, "9223372036854775807");
    assert_string_equal(delta_stats_find(&st, "m")->max, "\"9223372036854775808\"");
    delta_stats_free(&st);
    /* Malformed numbers are still refused; a count beyond int64 is no count. */
    assert_int_equal(delta_stats_parse("{\"minValues\":{\"a\":1.2.3}}", &st, &err), TARN_ECORRUPT);
    assert_int_equal(delta_stats_parse("{\"minValues\":{\"a\":01}}", &st, &err), TARN_ECORRUPT);
    assert_int_equal(delta_stats_parse("{\"minValues\":{\"a\":-}}", &st, &err), TARN_ECORRUPT);
    assert_int_equal(delta_stats_parse("{\"nullCount\":{\"a\":99999999999999999999}}", &st, &err),
                     TARN_ECORRUPT);
    delta_commit_free(c);
}

static void test_path_decode(void **state)
{
    (void)state;
    char *p = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_path_decode("a%20b%2fc%F0%9F%98%88", &p, &err), 0);
    assert_string_equal(p, "a b/c\xF0\x9F\x98\x88");
    tarn_free(p);
    assert_int_equal(delta_path_decode("bad%2", &p, &err), TARN_ECORRUPT);
    assert_int_equal(delta_path_decode("bad%zz", &p, &err), TARN_ECORRUPT);
    assert_int_equal(delta_path_decode("nul%00byte", &p, &err), TARN_ECORRUPT);
    assert_int_equal(delta_path_decode("%", &p, &err), TARN_ECORRUPT);
}

/* Each hostile commit is TARN_ECORRUPT (or ENOTSUP / ETOOBIG where said)
 * with a message naming the file and line. */
static void expect_bad(const char *text, int code, const char *needle)
{
    delta_commit *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_commit_parse(text, strlen(text), "x.json", 3, &c, &err);
    if (rc != code || strstr(tarn_err_msg(&err), needle) == NULL)
        print_error("input %s\n  rc %d msg %s\n", text, rc, tarn_err_msg(&err));
    assert_int_equal(rc, code);
    assert_non_null(strstr(tarn_err_msg(&err), needle));
    assert_null(c);
}

#define ADD_OK "\"partitionValues\":{},\"modificationTime\":1,\"dataChange\":true"

static void test_hostile_json(void **state)
{
    (void)state;
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":1,", TARN_ECORRUPT, "x.json: line 1");
    expect_bad("{}\n{\"add\":{\"path\":\"a\"," ADD_OK "}}", TARN_ECORRUPT, "line 2: add: size");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":\"9\"," ADD_OK "}}", TARN_ECORRUPT,
               "add: size: expected an integer");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":-9," ADD_OK "}}", TARN_ECORRUPT,
               "add: size: out of range");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":99999999999999999999999," ADD_OK "}}",
               TARN_ECORRUPT, "line 1");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":1e300," ADD_OK "}}", TARN_ECORRUPT,
               "expected an integer");
    expect_bad("{\"add\":{\"path\":7,\"size\":1," ADD_OK "}}", TARN_ECORRUPT,
               "add: path: expected a string");
    expect_bad("{\"add\":{\"path\":\"a%zz\",\"size\":1," ADD_OK "}}", TARN_ECORRUPT,
               "bad %-escape");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":1,\"partitionValues\":{\"p\":1},"
               "\"modificationTime\":1,\"dataChange\":true}}",
               TARN_ECORRUPT, "partitionValues");
    expect_bad("{\"add\":[1]}", TARN_ECORRUPT, "add: add: expected an object");
    expect_bad("{\"remove\":{\"path\":\"a\"}}", TARN_ECORRUPT, "remove: dataChange: missing");
    expect_bad("{\"protocol\":{\"minReaderVersion\":0,\"minWriterVersion\":2}}", TARN_ECORRUPT,
               "protocol: minReaderVersion");
    expect_bad("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
               "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}",
               TARN_ECORRUPT, "appears twice");
    expect_bad("[1,2]", TARN_ECORRUPT, "must be an object");
    expect_bad("{\"txn\":{\"appId\":\"a\"}}", TARN_ECORRUPT, "txn: version: missing");
    expect_bad("{\"metaData\":{\"id\":\"a\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
               "\\\"fields\\\":[]}\",\"partitionColumns\":[\"nope\"]}}",
               TARN_ECORRUPT, "partitionColumns");
    expect_bad("{\"metaData\":{\"id\":\"a\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
               "\\\"fields\\\":[{\\\"name\\\":\\\"v\\\",\\\"type\\\":\\\"variant\\\"}]}\","
               "\"partitionColumns\":[]}}",
               TARN_ENOTSUP, "variant");
    expect_bad("{\"metaData\":{\"id\":\"a\",\"schemaString\":\"nope\",\"partitionColumns\":[]}}",
               TARN_ECORRUPT, "metaData: schemaString");
    expect_bad("{\"add\":{\"path\":\"a\",\"size\":1," ADD_OK ",\"size\":2}}", TARN_ECORRUPT,
               "line 1");
}

/* A schema nested deeper than DELTA_SCHEMA_DEPTH_MAX is refused, not
 * recursed into. */
static void test_schema_depth_bounded(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    tarn_buf_append_str(&b, "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":");
    for (int i = 0; i < 200; i++)
        tarn_buf_append_str(&b, "{\"type\":\"array\",\"elementType\":");
    tarn_buf_append_str(&b, "\"long\"");
    for (int i = 0; i < 200; i++)
        tarn_buf_append_str(&b, "}");
    tarn_buf_append_str(&b, "}]}");
    delta_schema s;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_schema_parse((const char *)b.data, b.len, &s, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "nested deeper"));
    tarn_buf_free(&b);
    const char *dup = "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
                      "{\"name\":\"A\",\"type\":\"long\"}]}";
    assert_int_equal(delta_schema_parse(dup, strlen(dup), &s, &err), TARN_ECORRUPT);
    const char *dec =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"decimal(40,2)\"}]}";
    assert_int_equal(delta_schema_parse(dec, strlen(dec), &s, &err), TARN_ECORRUPT);
}

/* jansson's own allocations are exempt from injection (base/alloc.h: it
 * asserts on some failures), so this fails every allocation of ours around
 * the parse, the schema string's parse included. */
static const char *const commit_plain =
    "{\"commitInfo\":{\"timestamp\":5,\"operation\":\"WRITE\"}}\n"
    "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
    "\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
    "\"partitionColumns\":[\"p\"],\"configuration\":{},\"createdTime\":1}}\n"
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
    "\"readerFeatures\":[\"timestampNtz\"],\"writerFeatures\":[\"timestampNtz\"]}}\n"
    "{\"add\":{\"path\":\"p=a%20b/x.parquet\",\"partitionValues\":{\"p\":\"a b\",\"q\":null},"
    "\"size\":996,\"modificationTime\":1,\"dataChange\":true}}\n"
    "{\"remove\":{\"path\":\"old.parquet\",\"deletionTimestamp\":77,\"dataChange\":true}}\n"
    "{\"txn\":{\"appId\":\"stream-1\",\"version\":42}}\n";

static int oom_op(void *ctx)
{
    delta_commit **c = ctx;
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_commit_parse(commit_plain, strlen(commit_plain), "00.json", 0, c, &err);
    if (rc == 0) {
        delta_stats st;
        rc = delta_stats_parse("{\"numRecords\":3,\"minValues\":{\"a\":{\"b\":1}},"
                               "\"nullCount\":{\"a\":{\"b\":0}}}",
                               &st, &err);
        if (rc == 0) {
            delta_stats_free(&st);
        } else {
            delta_commit_free(*c);
            *c = NULL;
        }
    }
    return rc;
}

static void oom_cleanup(void *ctx)
{
    delta_commit **c = ctx;
    delta_commit_free(*c);
    *c = NULL;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    delta_commit *c = NULL;
    assert_true(tarn_test_oom_loop(oom_op, oom_cleanup, &c, 5000) > 10);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_action_kind),      cmocka_unit_test(test_schema_tree),
        cmocka_unit_test(test_stats_parsed_on_demand), cmocka_unit_test(test_path_decode),
        cmocka_unit_test(test_hostile_json),           cmocka_unit_test(test_schema_depth_bounded),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
