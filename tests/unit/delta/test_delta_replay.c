/*
 * tests/unit/delta/test_delta_replay.c: replaying small logs written into
 * a temp directory through the object store: add/remove reconciliation,
 * txn, gaps, missing versions, time travel by version and timestamp
 * (inCommitTimestamp and file modification times), refused reader
 * features, classic and multi-part checkpoints (equal to the JSON replay
 * they replace), unreadable checkpoints (fallback to JSON) and corrupt ones.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "delta/delta.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META                                                                                       \
    "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\"},\"schemaString\":"         \
    "\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"x\\\",\\\"type\\\":"         \
    "\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[],"         \
    "\"configuration\":{}}}\n"
#define ADD(p)                                                                                     \
    "{\"add\":{\"path\":\"" p "\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"       \
    "\"dataChange\":true}}\n"
#define REMOVE(p) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":9,\"dataChange\":true}}\n"
#define ICT(ms)   "{\"commitInfo\":{\"inCommitTimestamp\":" #ms ",\"timestamp\":1}}\n"

typedef struct fx {
    char *dir;
    objstore *os;
    delta_table *t;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-replay");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    delta_table_close(f->t);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void open_table(fx *f)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_table_open(f->os, "tables/t", &f->t, &err);
    if (rc != 0)
        print_error("open: %s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
}

/* Asserts the live paths of the snapshot at `version` (-1: latest). */
static void expect_files(fx *f, long long version, const char *const *paths, size_t n)
{
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int rc = version < 0 ? delta_snapshot_latest(f->t, &s, &err)
                         : delta_snapshot_at_version(f->t, version, &s, &err);
    if (rc != 0)
        print_error("snapshot %lld: %s\n", version, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    if (version >= 0)
        assert_int_equal(s->version, version);
    assert_int_equal(s->nfiles, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->files[i].path, paths[i]);
    delta_snapshot_free(s);
}

static int snapshot_rc(fx *f, long long version, tarn_err *err)
{
    delta_snapshot *s = NULL;
    int rc = version < 0 ? delta_snapshot_latest(f->t, &s, err)
                         : delta_snapshot_at_version(f->t, version, &s, err);
    assert_true((rc == 0) == (s != NULL));
    delta_snapshot_free(s);
    return rc;
}

static void test_add_remove_reconciliation(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "tables/t", 0, PROTO META ADD("b.parquet") ADD("a.parquet"));
    dt_put_commit(f->os, "tables/t", 1,
                  REMOVE("a.parquet")
                      ADD("c.parquet") "{\"txn\":{\"appId\":\"s\",\"version\":1}}\n");
    dt_put_commit(f->os, "tables/t", 2,
                  ADD("a.parquet")
                      REMOVE("c.parquet") "{\"txn\":{\"appId\":\"s\",\"version\":7}}\n"
                                          "{\"txn\":{\"appId\":\"r\",\"version\":3}}\n");
    /* Removed then re-added in one commit: the add wins. */
    dt_put_commit(f->os, "tables/t", 3, REMOVE("b.parquet") ADD("b.parquet"));
    open_table(f);
    expect_files(f, 0, (const char *[]){"a.parquet", "b.parquet"}, 2);
    expect_files(f, 1, (const char *[]){"b.parquet", "c.parquet"}, 2);
    expect_files(f, 2, (const char *[]){"a.parquet", "b.parquet"}, 2);
    expect_files(f, -1, (const char *[]){"a.parquet", "b.parquet"}, 2);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_snapshot_latest(f->t, &s, &err), 0);
    assert_int_equal(s->version, 3);
    assert_int_equal(s->ntxns, 2);
    assert_string_equal(s->txns[0].app_id, "r");
    assert_int_equal(s->txns[1].version, 7);
    assert_int_equal(s->metadata.schema.ntop, 1);
    assert_int_equal(s->checkpoint_version, -1);
    delta_snapshot_free(s);
    /* A version past the end is not there. */
    assert_int_equal(snapshot_rc(f, 4, &err), TARN_ENOENT);
}

static void test_gap_refused(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "tables/t", 0, PROTO META ADD("a.parquet"));
    dt_put_commit(f->os, "tables/t", 1, ADD("b.parquet"));
    dt_put_commit(f->os, "tables/t", 3, ADD("c.parquet"));
    open_table(f);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "version 2 is missing"));
    expect_files(f, 1, (const char *[]){"a.parquet", "b.parquet"}, 2);
}

static void test_no_log_and_no_protocol(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "tables/none", &f->t, &err), TARN_ENOENT);
    assert_null(f->t);
    dt_put_commit(f->os, "tables/t", 0, META ADD("a.parquet"));
    open_table(f);
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "no protocol"));
    /* A commit that is not JSON names its file and line. */
    dt_put_commit(f->os, "tables/t", 1, ADD("b.parquet") "{\"add\":{\"path\":");
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "00000000000000000001.json: line 2"));
}

static void test_time_travel_in_commit_timestamps(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "tables/t", 0, ICT(1000) PROTO META ADD("a.parquet"));
    dt_put_commit(f->os, "tables/t", 1, ICT(2000) ADD("b.parquet"));
    dt_put_commit(f->os, "tables/t", 2, ICT(3000) REMOVE("a.parquet"));
    open_table(f);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_snapshot_at_timestamp(f->t, 999, &s, &err), TARN_ENOENT);
    assert_null(s);
    const long long ts[] = {1000, 1999, 2000, 2500, 3000, 99999};
    const long long want[] = {0, 0, 1, 1, 2, 2};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(delta_snapshot_at_timestamp(f->t, ts[i], &s, &err), 0);
        assert_int_equal(s->version, want[i]);
        delta_snapshot_free(s);
    }
    assert_int_equal(delta_snapshot_at_version(f->t, 1, &s, &err), 0);
    assert_int_equal(s->timestamp_ms, 2000);
    delta_snapshot_free(s);
}

static void set_mtime(fx *f, long long version, long long ms)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tables/t/_delta_log/%020lld.json", f->dir, version);
    struct timespec times[2] = {{ms / 1000, (ms % 1000) * 1000000},
                                {ms / 1000, (ms % 1000) * 1000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Without in-commit timestamps the file's modification time is the commit
 * time; a clock that went back is made increasing (v1 gets v0 + 1 ms). */
static void test_time_travel_modification_times(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "tables/t", 0, PROTO META ADD("a.parquet"));
    dt_put_commit(f->os, "tables/t", 1, ADD("b.parquet"));
    dt_put_commit(f->os, "tables/t", 2, ADD("c.parquet"));
    set_mtime(f, 0, 1700000005000LL);
    set_mtime(f, 1, 1700000004000LL);
    set_mtime(f, 2, 1700000009000LL);
    open_table(f);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    const long long ts[] = {1700000005000LL, 1700000005001LL, 1700000008999LL, 1700000009000LL};
    const long long want[] = {0, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(delta_snapshot_at_timestamp(f->t, ts[i], &s, &err), 0);
        assert_int_equal(s->version, want[i]);
        delta_snapshot_free(s);
    }
    assert_int_equal(delta_snapshot_at_timestamp(f->t, 1700000004999LL, &s, &err), TARN_ENOENT);
}

static void expect_refused(fx *f, const char *proto_and_meta, const char *feature)
{
    dt_put_commit(f->os, "tables/t", 0, proto_and_meta);
    if (f->t == NULL)
        open_table(f);
    tarn_err err = TARN_ERR_INIT;
    int rc = snapshot_rc(f, -1, &err);
    if (rc != TARN_ENOTSUP || strstr(tarn_err_msg(&err), feature) == NULL)
        print_error("want ENOTSUP naming %s, got %d: %s\n", feature, rc, tarn_err_msg(&err));
    assert_int_equal(rc, TARN_ENOTSUP);
    assert_non_null(strstr(tarn_err_msg(&err), feature));
}

#define P3(feats)                                                                                  \
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[" feats      \
    "],\"writerFeatures\":[" feats "]}}\n"
#define META_CM(mode)                                                                              \
    "{\"metaData\":{\"id\":\"t1\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":" \
    "[]}\",\"partitionColumns\":[],\"configuration\":{\"delta.columnMapping.mode\":\"" mode        \
    "\"}}}\n"
#define DV_ADD                                                                                     \
    "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"   \
    "\"dataChange\":true,\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"ab\","     \
    "\"offset\":1,\"sizeInBytes\":10,\"cardinality\":2}}}\n"

static void test_refused_reader_features(void **state)
{
    fx *f = *state;
    expect_refused(f, P3("\"v2Checkpoint\"") META, "v2Checkpoint");
    expect_refused(f, P3("\"timestampNtz\",\"catalogManaged\"") META, "catalogManaged");
    expect_refused(f, P3("\"variantType\"") META, "variantType");
    expect_refused(f, "{\"protocol\":{\"minReaderVersion\":4,\"minWriterVersion\":7}}\n" META,
                   "reader version 4");
    expect_refused(
        f, "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n" META_CM("name"),
        "columnMapping");
    expect_refused(f, P3("\"columnMapping\"") META_CM("id"), "columnMapping");
    expect_refused(f, P3("\"deletionVectors\"") META DV_ADD, "deletionVectors");
    /* Features we read: the table opens. */
    dt_put_commit(f->os, "tables/t", 0,
                  P3("\"deletionVectors\",\"timestampNtz\",\"vacuumProtocolCheck\"")
                      META ADD("a.parquet"));
    expect_files(f, -1, (const char *[]){"a.parquet"}, 1);
    dt_put_commit(
        f->os, "tables/t", 0,
        "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n" META_CM("none"));
    expect_files(f, -1, NULL, 0);
}

/* A file removed with its deletion vector and re-added without one: the
 * keys differ, so both references are tracked and the plain add is live. */
static void test_deletion_vector_keys(void **state)
{
    fx *f = *state;
    dt_put_commit(f->os, "tables/t", 0, P3("\"deletionVectors\"") META DV_ADD);
    dt_put_commit(f->os, "tables/t", 1,
                  "{\"remove\":{\"path\":\"a.parquet\",\"dataChange\":true,\"deletionVector\":"
                  "{\"storageType\":\"u\",\"pathOrInlineDv\":\"ab\",\"offset\":1,"
                  "\"sizeInBytes\":10,\"cardinality\":2}}}\n" ADD("a.parquet"));
    open_table(f);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(snapshot_rc(f, 0, &err), TARN_ENOTSUP);
    expect_files(f, 1, (const char *[]){"a.parquet"}, 1);
}

static void put_file(fx *f, const char *key, const void *data, size_t len)
{
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_put(f->os, key, data, len, &err), 0);
}

#define CP2 "tables/t/_delta_log/00000000000000000002.checkpoint.parquet"
#define CP2_PART(i)                                                                                \
    "tables/t/_delta_log/00000000000000000002.checkpoint.000000000" #i ".0000000002.parquet"

/* The log whose state at version 2 the checkpoint fixtures hold
 * (data/make_checkpoints.mjs): partitioned by p, a null partition value,
 * an escaped path, stats, a txn, a configuration entry, a tombstone. */
#define CP_SCHEMA                                                                                  \
    "\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"x\\\",\\\"type\\\":"         \
    "\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"p\\\","             \
    "\\\"type\\\":"                                                                                \
    "\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\""
#define CP_ADD(path, pv, size, stats)                                                              \
    "{\"add\":{\"path\":\"" path "\",\"partitionValues\":" pv ",\"size\":" #size                   \
    ",\"modificationTime\":1,\"dataChange\":true" stats "}}\n"
static const char *const cp_log[] = {
    PROTO "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
          "\"schemaString\":" CP_SCHEMA ",\"partitionColumns\":[\"p\"],"
          "\"configuration\":{\"delta.appendOnly\":\"false\"},\"createdTime\":1000}}\n" CP_ADD(
              "a.parquet", "{\"p\":\"x\"}", 10, ",\"stats\":\"{\\\"numRecords\\\":1}\"")
              CP_ADD("b.parquet", "{\"p\":null}", 20, ""),
    CP_ADD("c%20d.parquet", "{\"p\":\"y\"}", 30,
           "") "{\"txn\":{\"appId\":\"app\",\"version\":4,\"lastUpdated\":5}}\n",
    "{\"remove\":{\"path\":\"a.parquet\",\"deletionTimestamp\":9,\"dataChange\":true}}\n" CP_ADD(
        "e.parquet", "{\"p\":\"x\"}", 40, ",\"stats\":\"{\\\"numRecords\\\":2}\""),
    CP_ADD(
        "f.parquet", "{\"p\":\"z\"}", 50,
        "") "{\"remove\":{\"path\":\"b.parquet\",\"deletionTimestamp\":9,\"dataChange\":true}}\n",
};

/* What a snapshot says about the table, as text, leaving out how it was
 * built (checkpoint_version, timestamp) and dataChange (Spark writes false
 * in checkpoints). */
static char *snapshot_text(fx *f, long long version)
{
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int rc = delta_snapshot_at_version(f->t, version, &s, &err);
    if (rc != 0)
        print_error("snapshot %lld: %s\n", version, tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fprintf(m, "v%lld r%d w%d id=%s schema=%s\n", (long long)s->version,
            s->protocol.min_reader_version, s->protocol.min_writer_version, s->metadata.id,
            s->metadata.schema_string);
    for (size_t i = 0; i < s->metadata.n_partition_columns; i++)
        fprintf(m, "part %s\n", s->metadata.partition_columns[i]);
    for (size_t i = 0; i < s->metadata.configuration.count; i++)
        fprintf(m, "conf %s=%s\n", s->metadata.configuration.keys[i],
                s->metadata.configuration.vals[i]);
    for (size_t i = 0; i < s->nfiles; i++)
        fprintf(m, "file %s p=%s size=%lld mtime=%lld stats=%s\n", s->files[i].path,
                s->files[i].part_values[0] ? s->files[i].part_values[0] : "(null)",
                (long long)s->files[i].size_bytes, (long long)s->files[i].modification_time_ms,
                s->files[i].stats ? s->files[i].stats : "(none)");
    for (size_t i = 0; i < s->ntxns; i++)
        fprintf(m, "txn %s %lld %lld\n", s->txns[i].app_id, (long long)s->txns[i].version,
                (long long)s->txns[i].last_updated_ms);
    fclose(m);
    delta_snapshot_free(s);
    return text;
}

/* Writes cp_log and returns the JSON-replayed texts of versions 2 and 3. */
static void cp_reference(fx *f, char **v2, char **v3)
{
    for (long long v = 0; v < 4; v++)
        dt_put_commit(f->os, "tables/t", v, cp_log[v]);
    open_table(f);
    *v2 = snapshot_text(f, 2);
    *v3 = snapshot_text(f, 3);
    assert_non_null(strstr(*v3, "file c d.parquet p=y size=30"));
    assert_non_null(strstr(*v2, "file b.parquet p=(null)"));
}

static void delete_json_upto(fx *f, long long last)
{
    tarn_err err = TARN_ERR_INIT;
    char key[128];
    for (long long v = 0; v <= last; v++) {
        snprintf(key, sizeof(key), "tables/t/_delta_log/%020lld.json", v);
        assert_int_equal(objstore_del(f->os, key, &err), 0);
    }
}

/* The checkpoint's state equals the JSON replay's, at the checkpoint
 * version and after it, once the JSON it replaces is gone. */
static void expect_cp_equal(fx *f, const char *v2, const char *v3)
{
    delete_json_upto(f, 2);
    char *c2 = snapshot_text(f, 2), *c3 = snapshot_text(f, 3);
    assert_string_equal(c2, v2);
    assert_string_equal(c3, v3);
    free(c2);
    free(c3);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_snapshot_latest(f->t, &s, &err), 0);
    assert_int_equal(s->version, 3);
    assert_int_equal(s->checkpoint_version, 2);
    delta_snapshot_free(s);
    assert_int_equal(snapshot_rc(f, 1, &err), TARN_ENOENT);
}

static void put_data_file(fx *f, const char *key, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DELTA_TEST_DATA, name);
    size_t len = 0;
    char *data = tarn_test_read_file(path, &len);
    assert_non_null(data);
    put_file(f, key, data, len);
    free(data);
}

static void test_checkpoint_equals_json_replay(void **state)
{
    fx *f = *state;
    char *v2, *v3;
    cp_reference(f, &v2, &v3);
    put_data_file(f, CP2, "checkpoint_v2.parquet");
    const char *lc = "{\"version\":2,\"size\":7}";
    put_file(f, "tables/t/_delta_log/_last_checkpoint", lc, strlen(lc));
    /* While version 2's JSON exists, the snapshot at the checkpoint has
     * its commit timestamp (the file's mtime here). */
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_snapshot_at_version(f->t, 2, &s, &err), 0);
    assert_int_equal(s->checkpoint_version, 2);
    assert_true(s->timestamp_ms > 0);
    delta_snapshot_free(s);
    expect_cp_equal(f, v2, v3);
    free(v2);
    free(v3);
}

/* Part 1 of 2 alone is an incomplete checkpoint: ignored. Both parts: the
 * state is the union of their rows. A _last_checkpoint that is not JSON
 * is only a hint: ignored. */
static void test_multipart_checkpoint(void **state)
{
    fx *f = *state;
    char *v2, *v3;
    cp_reference(f, &v2, &v3);
    put_file(f, "tables/t/_delta_log/_last_checkpoint", "{oops", 5);
    put_data_file(f, CP2_PART(1), "checkpoint_v2_part1.parquet");
    char *t3 = snapshot_text(f, 3);
    assert_string_equal(t3, v3);
    free(t3);
    put_data_file(f, CP2_PART(2), "checkpoint_v2_part2.parquet");
    expect_cp_equal(f, v2, v3);
    free(v2);
    free(v3);
}

/* A checkpoint with a column the Parquet reader cannot read (a list of
 * lists) falls back to the JSON commits from version 0 while they exist,
 * then is refused naming the file. Wrong column types, a checkpoint
 * without a protocol, and a file that is not Parquet are corrupt. */
static void test_checkpoint_unreadable_and_corrupt(void **state)
{
    fx *f = *state;
    char *v2, *v3;
    cp_reference(f, &v2, &v3);
    put_data_file(f, CP2, "checkpoint_unreadable.parquet");
    char *t3 = snapshot_text(f, 3);
    assert_string_equal(t3, v3);
    free(t3);
    tarn_err err = TARN_ERR_INIT;
    put_data_file(f, CP2, "checkpoint_bad_size.parquet");
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "add.size"));
    put_data_file(f, CP2, "checkpoint_nested.parquet");
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    put_file(f, CP2, "garbage!", 8);
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ECORRUPT);
    put_data_file(f, CP2, "checkpoint_unreadable.parquet");
    delete_json_upto(f, 0);
    assert_int_equal(snapshot_rc(f, -1, &err), TARN_ENOTSUP);
    assert_non_null(strstr(tarn_err_msg(&err), "00000000000000000002.checkpoint.parquet"));
    free(v2);
    free(v3);
}

static int cp_oom_op(void *ctx)
{
    fx *f = ctx;
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int rc = delta_snapshot_at_version(f->t, 3, &s, &err);
    if (rc == 0 && s->checkpoint_version != 2)
        rc = TARN_EINVAL;
    delta_snapshot_free(s);
    return rc;
}

/* Out of memory anywhere in loading a checkpoint (Parquet scan, rows to
 * actions, replay) is an error and leaks nothing. */
static void test_checkpoint_out_of_memory(void **state)
{
    fx *f = *state;
    char *v2, *v3;
    cp_reference(f, &v2, &v3);
    put_data_file(f, CP2, "checkpoint_v2.parquet");
    delete_json_upto(f, 2);
    assert_true(tarn_test_oom_loop(cp_oom_op, NULL, f, 20000) > 10);
    free(v2);
    free(v3);
}

/* More commits than one list page holds (OBJSTORE_LIST_MAX): the listing
 * is paginated. */
static void test_paginated_listing(void **state)
{
    fx *f = *state;
    const long long n = OBJSTORE_LIST_MAX + 5;
    dt_put_commit(f->os, "tables/t", 0, PROTO META);
    for (long long v = 1; v < n; v++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"add\":{\"path\":\"f%04lld.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":1,\"dataChange\":true}}\n",
                 v);
        dt_put_commit(f->os, "tables/t", v, text);
    }
    open_table(f);
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_snapshot_latest(f->t, &s, &err), 0);
    assert_int_equal(s->version, n - 1);
    assert_int_equal(s->nfiles, n - 1);
    assert_string_equal(s->files[n - 2].path, "f1004.parquet");
    delta_snapshot_free(s);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_remove_reconciliation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_log_and_no_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_travel_in_commit_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_travel_modification_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_reader_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_vector_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_equals_json_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_unreadable_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paginated_listing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
