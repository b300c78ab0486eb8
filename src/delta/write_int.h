/*
 * delta/write_int.h: what write.c and commit.c share. Design note:
 * delta/README.md, "Writing" and "Commit protocol".
 */
#ifndef TARN_DELTA_WRITE_INT_H
#define TARN_DELTA_WRITE_INT_H

#include "base/buf.h"
#include "delta/delta.h"

/* Appends version 0's actions (protocol, metaData) to `out`. A pure
 * function of its inputs, so that a new leader rebuilds the very file a
 * dead creator would have written. */
int delta_version0_actions(const char *name, const char *schema, const char *const *parts,
                           size_t nparts, uint64_t created_id, tarn_buf *out);

/* Writes `_delta_log/<version>.json` of table `name` with put-if-absent
 * (an existing file with the same bytes is a retry: fine; other bytes are
 * TARN_ECORRUPT) and marks the version written with the committer. */
int delta_log_publish(delta_committer *c, objstore *os, const char *name, int64_t version,
                      const char *actions, size_t len, tarn_err *err);

/* Parses a version the committer recorded (version 0 rebuilt from its
 * schema and partition columns). */
int delta_pending_parse(const delta_pending *p, delta_commit **out, tarn_err *err);

/* Checks a table name against the catalog's rule. TARN_EINVAL. */
int delta_name_check(const char *name, tarn_err *err);

/* Types a partition column may have: string, integers, date, boolean. */
bool delta_partition_type_ok(vec_type t);

#endif
