/*
 * delta/checkpoint.c: classic checkpoints (PROTOCOL.md "Checkpoints",
 * "Classic checkpoint", "Multi-part checkpoint"): one Parquet file, or p
 * part files, holding the reconciled actions of a version.
 *
 * A checkpoint's actions are struct columns whose fields include lists
 * (metaData.partitionColumns, protocol.readerFeatures) and maps
 * (add.partitionValues, metaData.configuration). The Parquet reader does
 * not read repeated columns yet (pq_column_info.unsupported), so today a
 * checkpoint is opened, its columns are checked, and loading answers
 * TARN_ENOTSUP naming the first column it cannot read; the caller then
 * replays the JSON commits from version 0 when they all exist
 * (snapshot.c). Decoding checkpoint rows comes with list/map support in
 * parquet/ (delta/README.md, "Not built yet").
 */
#include "delta/log_int.h"
#include "delta/source_int.h"

#include <stdio.h>
#include <string.h>

static const char *const action_cols[] = {"add.", "remove.", "metaData.", "protocol.", "txn."};

/* Checks one part: every action column must be readable. */
static int check_part(delta_table *t, const char *key, tarn_err *err)
{
    delta_obj_src src;
    pq_file *f = NULL;
    int rc = delta_obj_src_open(delta_table_store(t), key, -1, &src, &f, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "checkpoint %s", key);
    bool has_path = false;
    for (uint32_t i = 0; rc == 0 && i < pq_file_ncols(f); i++) {
        const pq_column_info *c = pq_file_column(f, i);
        has_path = has_path || strcmp(c->name, "add.path") == 0;
        for (size_t k = 0; rc == 0 && k < sizeof(action_cols) / sizeof(action_cols[0]); k++)
            if (strncmp(c->name, action_cols[k], strlen(action_cols[k])) == 0 && c->unsupported)
                rc = tarn_err_set(err, TARN_ENOTSUP,
                                  "checkpoint %s: column %s (a list or map) is not readable by "
                                  "the Parquet reader yet",
                                  key, c->name);
    }
    if (rc == 0 && !has_path)
        rc = tarn_err_set(err, TARN_ECORRUPT, "checkpoint %s: no add.path column", key);
    if (rc == 0)
        rc = tarn_err_set(err, TARN_ENOTSUP,
                          "checkpoint %s: decoding checkpoint rows is not "
                          "built yet",
                          key);
    pq_file_close(f);
    return rc;
}

int delta_checkpoint_load(delta_table *t, const delta_cp *cp, delta_replay *r, tarn_err *err)
{
    (void)r; /* filled once rows are decoded; see the file comment */
    char key[OBJSTORE_KEY_MAX + 1];
    for (uint32_t part = 1; part <= cp->parts; part++) {
        if (cp->parts == 1)
            snprintf(key, sizeof(key), "%s_delta_log/%020lld.checkpoint.parquet",
                     delta_table_root(t), (long long)cp->version);
        else
            snprintf(key, sizeof(key), "%s_delta_log/%020lld.checkpoint.%010u.%010u.parquet",
                     delta_table_root(t), (long long)cp->version, part, cp->parts);
        int rc = check_part(t, key, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
