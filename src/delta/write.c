/*
 * delta/write.c: creating tables and appending rows (PROTOCOL.md "Actions",
 * "Per-file Statistics"): data files are written with our Parquet writer,
 * uploaded, then committed as add actions through a delta_committer; the
 * log file follows (commit.c). Design note: delta/README.md, "Writing",
 * "Commit protocol" and "Crash points".
 */
#include "delta/delta_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/rand.h"
#include "parquet/parquet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The Delta type of a vec type (the inverse of delta_kind_vec_type). */
static int delta_type_name(const vec_type_info *t, char *out, size_t cap)
{
    static const char *const names[VEC_TYPE_COUNT] = {
        [VEC_BOOL] = "boolean", [VEC_I8] = "byte",   [VEC_I16] = "short",
        [VEC_I32] = "integer",  [VEC_I64] = "long",  [VEC_F32] = "float",
        [VEC_F64] = "double",   [VEC_DATE] = "date", [VEC_STRING] = "string",
        [VEC_BINARY] = "binary"};
    if (t->list)
        return TARN_ENOTSUP;
    if (t->id == VEC_DECIMAL64 || t->id == VEC_DECIMAL128) {
        snprintf(out, cap, "decimal(%u,%u)", t->precision, t->scale);
        return t->precision >= 1 && t->scale <= t->precision ? 0 : TARN_EINVAL;
    }
    /* Timestamps without zone need the timestampNtz feature (reader
     * version 3): not written yet. */
    if (t->id == VEC_TIMESTAMP && t->unit == VEC_UNIT_MICROS && t->utc) {
        snprintf(out, cap, "timestamp");
        return 0;
    }
    if ((unsigned)t->id >= VEC_TYPE_COUNT || names[t->id] == NULL)
        return TARN_ENOTSUP;
    snprintf(out, cap, "%s", names[t->id]);
    return 0;
}

/* The schema string of the columns (PROTOCOL.md "Schema Serialization
 * Format"). */
static int schema_string(const delta_column *cols, size_t ncols, tarn_buf *out, tarn_err *err)
{
    int rc = tarn_buf_append_str(out, "{\"type\":\"struct\",\"fields\":[");
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        char type[64];
        rc = delta_type_name(&cols[i].type, type, sizeof(type));
        if (rc != 0)
            return tarn_err_set(err, rc, "column %s: type %s cannot be written", cols[i].name,
                                vec_type_name(cols[i].type.id));
        rc = tarn_buf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, cols[i].name, strlen(cols[i].name));
        if (rc == 0)
            rc = tarn_buf_printf(out, ",\"type\":\"%s\",\"nullable\":%s,\"metadata\":{}}", type,
                                 cols[i].nullable ? "true" : "false");
    }
    if (rc == 0)
        rc = tarn_buf_append_str(out, "]}");
    return rc == 0 ? 0 : tarn_err_set(err, rc, "schema string");
}

int delta_version0_actions_at(const char *name, const char *schema, const char *const *parts,
                              size_t nparts, uint64_t created_id, int64_t created_ms, tarn_buf *out)
{
    /* metaData.id must be unique per table: a UUID-shaped hash of the
     * name and the metadata service's creation id. */
    uint64_t h1 = tarn_hash64(name, strlen(name), created_id);
    uint64_t h2 = tarn_hash64(&created_id, sizeof(created_id), h1);
    int rc = 0;
    if (created_ms > 0)
        rc = tarn_buf_printf(out,
                             "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"CREATE TABLE\","
                             "\"operationParameters\":{},\"isBlindAppend\":true}}\n",
                             (long long)created_ms);
    if (rc == 0)
        rc = tarn_buf_printf(out,
                             "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
                             "{\"metaData\":{\"id\":\"%08x-%04x-4%03x-8%03x-%012llx\",\"name\":",
                             (unsigned)(h1 >> 32), (unsigned)(h1 >> 16) & 0xffff,
                             (unsigned)h1 & 0xfff, (unsigned)(h2 >> 48) & 0xfff,
                             (unsigned long long)(h2 & 0xffffffffffffull));
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, name, strlen(name));
    if (rc == 0)
        rc = tarn_buf_append_str(out, ",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                                      "\"schemaString\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, schema, strlen(schema));
    if (rc == 0)
        rc = tarn_buf_append_str(out, ",\"partitionColumns\":[");
    for (size_t i = 0; rc == 0 && i < nparts; i++) {
        if (i > 0)
            rc = tarn_buf_append_byte(out, ',');
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, parts[i], strlen(parts[i]));
    }
    if (rc == 0)
        rc = tarn_buf_append_str(out, "],\"configuration\":{}");
    if (rc == 0 && created_ms > 0)
        rc = tarn_buf_printf(out, ",\"createdTime\":%lld", (long long)created_ms);
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    return rc;
}

/* The creation time the committer recorded for version 0 of `name` (0:
 * none). The version 0 file must be built from the record as it is, so a
 * failed read fails the create's log write (the version stays pending). */
static int recorded_created_ms(delta_committer *c, const char *name, int64_t *out, tarn_err *err)
{
    *out = 0;
    if (c->read == NULL)
        return 0;
    delta_pending *p = NULL;
    size_t n = 0;
    int64_t latest = -1;
    int rc = c->read(c->ctx, name, 0, 0, &p, &n, &latest, err);
    if (rc == 0 && n == 1)
        *out = p[0].created_ms;
    delta_pending_free(p, n);
    return rc == 0 ? 0 : tarn_err_wrap(err, rc, "reading version 0 of %s", name);
}

bool delta_partition_type_ok(vec_type t)
{
    return t == VEC_STRING || t == VEC_I8 || t == VEC_I16 || t == VEC_I32 || t == VEC_I64 ||
           t == VEC_DATE || t == VEC_BOOL;
}

static int check_create(const char *name, const delta_column *cols, size_t ncols,
                        const char *const *parts, size_t nparts, tarn_err *err)
{
    int rc = delta_name_check(name, err);
    if (rc != 0)
        return rc;
    if (ncols == 0 || ncols > DELTA_SCHEMA_FIELDS_MAX || nparts > DELTA_MAP_ENTRIES_MAX ||
        nparts >= ncols)
        return tarn_err_set(err, TARN_EINVAL,
                            "%zu columns, %zu partition columns: need at least one data column",
                            ncols, nparts);
    for (size_t i = 0; i < ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(cols[i].name, cols[j].name) == 0)
                return tarn_err_set(err, TARN_EINVAL, "column %s appears twice", cols[i].name);
    for (size_t p = 0; p < nparts; p++) {
        size_t i = 0;
        while (i < ncols && strcmp(cols[i].name, parts[p]) != 0)
            i++;
        if (i == ncols)
            return tarn_err_set(err, TARN_EINVAL, "partition column %s is not a column", parts[p]);
        if (!delta_partition_type_ok(cols[i].type.id) || cols[i].type.list)
            return tarn_err_set(err, TARN_ENOTSUP, "partition column %s: type %s", parts[p],
                                vec_type_name(cols[i].type.id));
    }
    return 0;
}

int delta_create_table(delta_committer *c, objstore *os, const char *name, const delta_column *cols,
                       size_t ncols, const char *const *parts, size_t nparts, tarn_err *err)
{
    int rc = check_create(name, cols, ncols, parts, nparts, err);
    if (rc != 0)
        return rc;
    tarn_buf schema, v0;
    tarn_buf_init(&schema, (size_t)1 << 20);
    tarn_buf_init(&v0, DELTA_COMMIT_BYTES_MAX);
    uint64_t created_id = 0;
    int64_t created_ms = 0;
    rc = schema_string(cols, ncols, &schema, err);
    if (rc == 0)
        rc = c->create(c->ctx, name, (const char *)schema.data, parts, nparts, &created_id, err);
    /* Version 0 is recorded: from here a crash leaves it pending, and
     * delta_finish_pending_logs rebuilds the same file. */
    if (rc == 0)
        rc = recorded_created_ms(c, name, &created_ms, err);
    if (rc == 0 && (rc = delta_version0_actions_at(name, (const char *)schema.data, parts, nparts,
                                                   created_id, created_ms, &v0)) != 0)
        tarn_err_set(err, rc, "version 0 of %s", name);
    if (rc == 0)
        rc = delta_log_publish(c, os, name, 0, (const char *)v0.data, v0.len, err);
    tarn_buf_free(&schema);
    tarn_buf_free(&v0);
    return rc;
}
