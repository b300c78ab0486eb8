/*
 * delta/write_int.h: what write.c and commit.c share. Design note:
 * delta/README.md, "Writing" and "Commit protocol".
 */
#ifndef TARN_DELTA_WRITE_INT_H
#define TARN_DELTA_WRITE_INT_H

#include "base/buf.h"
#include "delta/delta.h"
#include "parquet/parquet.h"

/* Appends version 0's actions (protocol, metaData) to `out`. A pure
 * function of its inputs, so that a new leader rebuilds the very file a
 * dead creator would have written. With the creation time the metadata
 * service recorded (delta_pending.created_ms; 0: none, for tables created
 * before it was recorded), a commitInfo {timestamp, operation CREATE
 * TABLE} comes first and metaData.createdTime is that time, so version 0
 * has a commit time of its own that survives copying the files (a log
 * file's mtime does not). Whoever rebuilds version 0 from a record must
 * pass its created_ms. */
int delta_version0_actions_at(const char *name, const char *schema, const char *const *parts,
                              size_t nparts, uint64_t created_id, int64_t created_ms,
                              tarn_buf *out);

/* Writes `_delta_log/<version>.json` of table `name` with put-if-absent
 * (an existing file with the same bytes is a retry: fine; other bytes are
 * TARN_ECORRUPT) and marks the version written with the committer. */
int delta_log_publish(delta_committer *c, objstore *os, const char *name, int64_t version,
                      const char *actions, size_t len, tarn_err *err);

/* Parses a version the committer recorded (version 0 rebuilt from its
 * schema and partition columns). */
int delta_pending_parse(const delta_pending *p, delta_commit **out, tarn_err *err);

/* The time of a version the metadata service recorded (managed.c). */
int64_t delta_recorded_time(const delta_commit *c, objstore *os, const char *name);

/* Writes the checkpoint of `version` when the committer's interval says
 * so; a failure is logged, never returned (the commit stands). */
void delta_checkpoint_maybe(delta_committer *c, objstore *os, const char *name, int64_t version);

/* Checks a table name against the catalog's rule. TARN_EINVAL. */
int delta_name_check(const char *name, tarn_err *err);

/* Types a partition column may have: string, integers, date, boolean. */
bool delta_partition_type_ok(vec_type t);

/* Longest string whose min/max goes into the stats we write (Delta
 * truncates longer ones to a prefix; we leave them out, which a pruner
 * reads as "unknown" and is always correct). */
#define DELTA_STATS_STRING_MAX 32

/* Appends the stats JSON of a finished data file (numRecords; min/max of
 * integers, floats, decimals, dates, timestamps and short strings in
 * Spark's formats; nullCount of every column) from the writer's column
 * statistics, `cols` being the writer's columns (stats_write.c). */
int delta_stats_json(const pq_writer *w, const pq_write_col *cols, uint32_t ncols, tarn_buf *out);

/* "YYYY-MM-DD" of days since 1970-01-01 (proleptic Gregorian), as stats
 * and partition values write dates; false outside years 0..9999, which
 * that form cannot carry (nor our partition-value reader read back). */
bool delta_date_text(int64_t days, char *out, size_t cap);

/* ---- writing data files (append.c) ---- */

/* One partition being written. */
typedef struct part_file {
    char *dir;         /* "p=x/q=1/" escaped for the store, "" unpartitioned */
    char **values;     /* one per partition column; NULL: null */
    tarn_buf bytes;    /* the file while it is written; freed once uploaded */
    size_t size_bytes; /* its size, set when uploaded */
    pq_writer *w;
    char key[OBJSTORE_KEY_MAX + 1]; /* set once uploaded */
    char *rel;                      /* the key relative to the table root */
    bool uploaded;
} part_file;

typedef struct appender {
    const char *name;
    const delta_snapshot *base;
    objstore *os;
    tarn_err *err;
    uint32_t ncols;
    int32_t *part_of;     /* per column: index among partition columns, or -1 */
    uint32_t *data_of;    /* nwcols: the batch column of each data column */
    vec_type_info *types; /* per column: the type the schema gives it */
    pq_write_col *wcols;
    uint32_t nwcols;
    part_file *files;
    size_t nfiles, cap;
} appender;

/* Prepares `a` (zeroed, with name, base, os and err set): column types,
 * partition positions and writer columns from a->base. */
int delta_appender_init(appender *a);
/* Checks that batch `bi` has the table's column types and writes its
 * live rows, each to its partition's file (opened on first use). */
int delta_appender_write(appender *a, const vec_batch *b, size_t bi);
/* Finishes and uploads every file under a fresh part-<uuid> name. */
int delta_appender_upload(appender *a);
/* One add action line per uploaded file (with stats). */
int delta_appender_add_lines(const appender *a, int64_t now_ms, bool data_change, tarn_buf *out);
/* Frees everything; with remove_files, deletes the uploaded files (best
 * effort: an unreferenced file is invisible, and VACUUM removes it). */
void delta_appender_free(appender *a, bool remove_files);

/* ---- commits that remove files (rewrite.c) ---- */

/* What delta_commit_publish commits. */
typedef struct delta_commit_req {
    delta_committer *c;
    objstore *os;
    const char *name;
    int64_t base_version;
    const char *txn_id;
    const tarn_buf *actions;
    const char *const *removed; /* sorted decoded paths this commit removes */
    size_t nremoved;
    uint32_t rebase_max; /* 0: a later commit is always a conflict */
    int crash_point;     /* 2: stop after the commit, before the log write */
} delta_commit_req;

/* Commits q->actions on q->base_version; on a conflict, up to rebase_max
 * times, rebases onto the latest version when delta_check_rebase allows;
 * then publishes the log file. *committed: accepted by the catalog (the
 * files are referenced from then on); *dup: a retried txn id. */
int delta_commit_publish(const delta_commit_req *q, int64_t *version, bool *committed, bool *dup,
                         tarn_err *err);
/* 0 when versions from..to neither change the protocol or metadata nor
 * remove any of `removed` (sorted); else TARN_ECONFLICT naming why. */
int delta_check_rebase(delta_committer *c, const char *name, int64_t from, int64_t to,
                       const char *const *removed, size_t nremoved, tarn_err *err);
/* Failures after which a commit surely did not happen. */
bool delta_failure_is_definite(int rc);
void delta_paths_sort(const char **paths, size_t n);
/* One remove action line for a live file of `s`. */
int delta_remove_line(const delta_snapshot *s, const delta_file *f, int64_t now_ms,
                      bool data_change, tarn_buf *out);

/* Bytes outside [A-Za-z0-9._-] and `keep` as %XX. */
int delta_uri_escape(tarn_buf *out, const char *s, size_t len, const char *keep);
/* 24 hex digits of OS entropy into out (cap > 24). */
int delta_txn_id_random(char *out, size_t cap, tarn_err *err);

#endif
