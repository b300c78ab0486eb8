/*
 * delta/delta.h: reading Delta Lake tables: the transaction log (JSON
 * commits, `_last_checkpoint`, classic checkpoints), snapshots at a version
 * or a timestamp, and a scan that turns a snapshot's files into vec batches.
 * Design note (log layout, replay and time-travel rules, supported and
 * refused protocol features): delta/README.md.
 *
 *   delta_table *t;        delta_table_open(os, "tables/t", &t, &err);
 *   delta_snapshot *s;     delta_snapshot_at_version(t, 3, &s, &err);
 *   delta_scan *sc;        delta_scan_open(t, s, NULL, &sc, &err);
 *   vec_batch b;           delta_scan_batch_init(sc, &b);
 *   while ((rc = delta_scan_next(sc, &b, &err)) == 0 && b.len > 0) { ... }
 *   vec_batch_free(&b); delta_scan_close(sc); delta_snapshot_free(s);
 *   delta_table_close(t);
 *
 * Everything read from the store is untrusted: malformed JSON or actions
 * give TARN_ECORRUPT with a message naming the file, the line and the
 * action; a table that needs a protocol feature we do not implement gives
 * TARN_ENOTSUP naming the feature. Every size has a named maximum below.
 *
 * Threads: a delta_table may be used by several threads at once (it is
 * immutable after open; the object store is thread-safe). A snapshot is
 * immutable and may be shared once built. A scan belongs to one thread.
 */
#ifndef TARN_DELTA_DELTA_H
#define TARN_DELTA_DELTA_H

#include "base/error.h"
#include "objstore/objstore.h"
#include "parquet/parquet.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest JSON commit file we read. */
#define DELTA_COMMIT_BYTES_MAX ((size_t)64 << 20)
/* Longest line (one action) in a commit file. */
#define DELTA_LINE_BYTES_MAX ((size_t)16 << 20)
/* Most actions in one commit file. */
#define DELTA_ACTIONS_MAX ((size_t)1 << 22)
/* Deepest nesting of a schema string (struct in array in map ...). */
#define DELTA_SCHEMA_DEPTH_MAX 32
/* Most nodes (fields, elements, keys, values) of a schema. */
#define DELTA_SCHEMA_FIELDS_MAX 65536
/* Most partition columns, partition values of one file, configuration
 * entries, reader or writer features. */
#define DELTA_MAP_ENTRIES_MAX 4096
/* Longest data-file path, decoded. */
#define DELTA_PATH_BYTES_MAX 4096
/* Most versions a log may hold, and most live files of a snapshot. */
#define DELTA_VERSIONS_MAX ((int64_t)1 << 30)
#define DELTA_FILES_MAX    ((size_t)1 << 24)
/* Largest `_last_checkpoint` file. */
#define DELTA_LAST_CHECKPOINT_BYTES_MAX ((size_t)1 << 20)
/* Most parts of a multi-part checkpoint. */
#define DELTA_CHECKPOINT_PARTS_MAX 100000

/* ---- schema ------------------------------------------------------------- */

typedef enum delta_kind {
    DELTA_STRING,
    DELTA_LONG,
    DELTA_INTEGER,
    DELTA_SHORT,
    DELTA_BYTE,
    DELTA_FLOAT,
    DELTA_DOUBLE,
    DELTA_DECIMAL,
    DELTA_BOOLEAN,
    DELTA_BINARY,
    DELTA_DATE,
    DELTA_TIMESTAMP,     /* microseconds, UTC */
    DELTA_TIMESTAMP_NTZ, /* microseconds, no time zone */
    DELTA_STRUCT,
    DELTA_ARRAY,
    DELTA_MAP,
    DELTA_KIND_COUNT
} delta_kind;

/*
 * A schema is a tree stored depth-first in one array. Node 0 is the root
 * struct (name ""). The children of node i are i+1, then end(i+1), ...,
 * while below nodes[i].end. An array has one child (its element), a map two
 * (key, value); their children have name NULL.
 */
typedef struct delta_field {
    char *name; /* owned; NULL for array elements, map keys and values */
    delta_kind kind;
    bool nullable;     /* array elements: containsNull; values: valueContainsNull */
    uint8_t precision; /* DELTA_DECIMAL: 1..38 */
    uint8_t scale;     /* DELTA_DECIMAL: 0..precision */
    int32_t parent;    /* node index, -1 for the root */
    uint32_t end;      /* one past this node's last descendant */
} delta_field;

typedef struct delta_schema {
    delta_field *fields; /* nfields, depth-first; owned */
    uint32_t nfields;
    uint32_t *top; /* ntop indexes of the root's children (the columns); owned */
    uint32_t ntop;
} delta_schema;

/* Parses a Delta schema string (PROTOCOL.md "Schema Serialization Format")
 * into *out. TARN_ECORRUPT (malformed, nesting deeper than
 * DELTA_SCHEMA_DEPTH_MAX, duplicate top-level names, a bad decimal),
 * TARN_ENOTSUP (a type we do not know, e.g. variant), TARN_ETOOBIG,
 * TARN_ENOMEM. On error *out is empty. */
int delta_schema_parse(const char *json, size_t len, delta_schema *out, tarn_err *err);
void delta_schema_free(delta_schema *s);
/* The top-level column with this name (Delta names are case-insensitive),
 * as a node index, or -1. */
int32_t delta_schema_find(const delta_schema *s, const char *name);
/* "long", "decimal", ... (static). */
const char *delta_kind_name(delta_kind k);
/* The vec type a primitive column is read as. TARN_ENOTSUP for struct,
 * array and map (not scannable yet). */
int delta_kind_vec_type(const delta_field *f, vec_type_info *out);

/* Appends `text` (NULL: null), parsed as a value of primitive column `f`
 * (the partition-value formats of README "Reading rows": integers,
 * true/false, YYYY-MM-DD, timestamps, decimals of p <= 18, strings as
 * they are), as the next row of `col` (of f's vec type, with room).
 * TARN_EINVAL naming the column for text that does not parse,
 * TARN_ENOTSUP (nested or wide decimal), TARN_ERANGE (full), TARN_ENOMEM. */
int delta_text_append(vec_col *col, const delta_field *f, const char *text, tarn_err *err);

/* ---- actions (PROTOCOL.md "Actions") --------------------------------------- */

/* A string-to-string map as two parallel arrays; a NULL value is JSON null. */
typedef struct delta_map {
    char **keys; /* owned */
    char **vals; /* owned; entries may be NULL */
    size_t count;
} delta_map;

/* Value of `key`: 1 found (*val may be NULL for null), 0 absent. */
int delta_map_get(const delta_map *m, const char *key, const char **val);

typedef struct delta_protocol {
    int32_t min_reader_version;
    int32_t min_writer_version;
    char **reader_features; /* owned; NULL when the field is absent */
    size_t n_reader_features;
    char **writer_features;
    size_t n_writer_features;
} delta_protocol;

typedef struct delta_metadata {
    char *id;
    char *name;          /* may be NULL */
    char *schema_string; /* as stored */
    delta_schema schema;
    char **partition_columns;
    size_t n_partition_columns;
    delta_map configuration;
    int64_t created_time_ms; /* -1 when absent */
} delta_metadata;

/* An add or a remove. */
typedef struct delta_file_action {
    char *path;                    /* URI-decoded */
    char *dv_id;                   /* deletion vector unique id, or NULL */
    delta_map partition_values;    /* add: required; remove: may be empty */
    int64_t size_bytes;            /* -1 when absent (remove) */
    int64_t modification_time_ms;  /* add; -1 for remove */
    int64_t deletion_timestamp_ms; /* remove; -1 when absent */
    bool data_change;
    char *stats; /* the stats JSON string, unparsed; may be NULL */
} delta_file_action;

typedef struct delta_txn {
    char *app_id;
    int64_t version;
    int64_t last_updated_ms; /* -1 when absent */
} delta_txn;

/* What one JSON commit file holds. */
typedef struct delta_commit {
    int64_t version;
    delta_protocol *protocol; /* NULL when the commit has none */
    delta_metadata *metadata; /* NULL when the commit has none */
    delta_file_action *adds;
    size_t nadds;
    delta_file_action *removes;
    size_t nremoves;
    delta_txn *txns;
    size_t ntxns;
    char *commit_info;              /* the commitInfo object as compact JSON, or NULL */
    int64_t timestamp_ms;           /* commitInfo.timestamp, -1 when absent */
    int64_t in_commit_timestamp_ms; /* commitInfo.inCommitTimestamp, -1 when absent */
} delta_commit;

/*
 * Parses the newline-delimited actions of one commit file (`data`, `len`
 * bytes, borrowed). `name` (borrowed) is used in error messages. `cdc`,
 * `domainMetadata`, `checkpointMetadata`, `sidecar` and unknown actions are
 * skipped, as are unknown fields. Errors: TARN_ECORRUPT ("<name>: line 3:
 * add: size: expected a non-negative integer"), TARN_ETOOBIG, TARN_ENOMEM.
 * On success *out owns the result (free with delta_commit_free); on error
 * *out is NULL.
 */
int delta_commit_parse(const char *data, size_t len, const char *name, int64_t version,
                       delta_commit **out, tarn_err *err);
void delta_commit_free(delta_commit *c);

/* Decodes the %XX escapes of an add/remove path (RFC 2396). TARN_ECORRUPT
 * for a bad escape, a decoded NUL, or more than DELTA_PATH_BYTES_MAX bytes.
 * *out is owned by the caller. */
int delta_path_decode(const char *s, char **out, tarn_err *err);

/* Parsed per-file statistics (PROTOCOL.md "Per-file Statistics"). Nested
 * columns are flattened to dotted names ("a.b"). Values are kept as their
 * compact JSON text ("3", "\"abc\"", "1.5"). */
typedef struct delta_col_stats {
    char *column;       /* dotted name; owned */
    char *min;          /* JSON text or NULL */
    char *max;          /* JSON text or NULL */
    int64_t null_count; /* -1 when absent */
} delta_col_stats;

typedef struct delta_stats {
    int64_t num_records; /* -1 when absent */
    delta_col_stats *cols;
    size_t ncols;
} delta_stats;

/* Parses a stats string. TARN_ECORRUPT (malformed, wrong types, nesting
 * deeper than DELTA_SCHEMA_DEPTH_MAX), TARN_ENOMEM. */
int delta_stats_parse(const char *json, delta_stats *out, tarn_err *err);
void delta_stats_free(delta_stats *s);
/* Statistics of a column by dotted name, or NULL. */
const delta_col_stats *delta_stats_find(const delta_stats *s, const char *column);

/* ---- tables and snapshots ------------------------------------------------- */

typedef struct delta_table delta_table;

/*
 * Opens the Delta table whose root is `root_key` (e.g. "tables/t"; "" for
 * a table at the store root) in `os` (borrowed; must outlive the table).
 * Checks that `<root>/_delta_log/` holds at least one commit or checkpoint.
 * Errors: TARN_ENOENT (no log), TARN_EINVAL (bad key), store errors,
 * TARN_ENOMEM. On error *out is NULL.
 */
int delta_table_open(objstore *os, const char *root_key, delta_table **out, tarn_err *err);
void delta_table_close(delta_table *t);
objstore *delta_table_store(const delta_table *t);
/* The root key with a trailing '/' ("" for the store root). Borrowed. */
const char *delta_table_root(const delta_table *t);

/* A live logical file of a snapshot. */
typedef struct delta_file {
    char *path;         /* decoded, relative to the table root */
    char *dv_id;        /* always NULL in a snapshot we return (DVs are refused) */
    char **part_values; /* one per partition column, in metadata order; NULL: null */
    int64_t size_bytes;
    int64_t modification_time_ms;
    bool data_change;
    char *stats; /* the stats JSON string, or NULL; parse with delta_stats_parse */
} delta_file;

/* A table at one version. Read-only for the caller. */
typedef struct delta_snapshot {
    int64_t version;
    int64_t timestamp_ms; /* the commit timestamp of `version` (see README) */
    delta_protocol protocol;
    delta_metadata metadata;
    delta_file *files; /* nfiles, ordered by path */
    size_t nfiles;
    delta_txn *txns; /* ntxns, one per appId (latest version), ordered by appId */
    size_t ntxns;
    int64_t checkpoint_version; /* the checkpoint replay started from, -1: none */
    /* Remove tombstones: each (path, deletion vector) whose newest action
     * is a remove, ordered by path; from the checkpoint (which keeps only
     * unexpired ones) and the commits after it. VACUUM and checkpoint
     * writers read them; deletion_timestamp_ms is -1 when absent. */
    delta_file_action *tombstones;
    size_t ntombstones;
} delta_snapshot;

/*
 * The snapshot at the latest version, at `version`, or at the latest
 * version whose commit timestamp is at or before `timestamp_ms`.
 * Errors: TARN_ENOENT (no such version: beyond the latest, before the
 * earliest reconstructable one, or a timestamp before the first commit),
 * TARN_ECORRUPT (a gap in the versions, malformed actions, no protocol or
 * metaData), TARN_ENOTSUP (a protocol feature we do not read; the message
 * names it), store errors, TARN_ENOMEM. On success *out is owned by the
 * caller (delta_snapshot_free); on error it is NULL.
 */
int delta_snapshot_latest(delta_table *t, delta_snapshot **out, tarn_err *err);
int delta_snapshot_at_version(delta_table *t, int64_t version, delta_snapshot **out, tarn_err *err);
int delta_snapshot_at_timestamp(delta_table *t, int64_t timestamp_ms, delta_snapshot **out,
                                tarn_err *err);
void delta_snapshot_free(delta_snapshot *s);

/* Checks a protocol and configuration against what this reader implements:
 * 0, or TARN_ENOTSUP naming the first unsupported feature. */
int delta_protocol_check(const delta_protocol *p, const delta_map *configuration, tarn_err *err);

/* ---- scanning rows -------------------------------------------------------- */

/* A simple predicate `output column op value` handed to each file's
 * Parquet scan to skip row groups (and pages) by their statistics. Rows
 * are NOT filtered: the caller still filters. Used only where the file
 * stores the column exactly as the table type (else ignored); ignored on
 * partition columns (prune files by partition values instead). */
typedef struct delta_scan_pred {
    uint32_t column; /* index among the scan's output columns */
    pq_op op;
    const vec_col
        *value; /* row 0 of the column's table vec type; borrowed; NULL for IS [NOT] NULL */
} delta_scan_pred;

/*
 * The units of a parallel scan of one snapshot: whole files when there are
 * many (at least DELTA_MORSEL_FILES_PER_WORKER per worker), else row groups
 * (each file's footer is read once, here, for its row group count). Scans
 * opened with the same delta_morsels (delta_scan_opts.morsels), one per
 * thread, take units from an atomic counter until none are left, so
 * together they read every row of the snapshot exactly once. Thread-safe
 * once open; `t` and `s` are borrowed until close.
 */
#define DELTA_MORSEL_FILES_PER_WORKER 4
typedef struct delta_morsels delta_morsels;
int delta_morsels_open(delta_table *t, const delta_snapshot *s, uint32_t workers,
                       delta_morsels **out, tarn_err *err);
uint32_t delta_morsels_count(const delta_morsels *m);
/* Starts handing out units again from the first (no scan may be running). */
void delta_morsels_rewind(delta_morsels *m);
void delta_morsels_close(delta_morsels *m);

typedef struct delta_scan_opts {
    const char *const *columns; /* top-level column names, or NULL: all, in schema order */
    uint32_t ncols;
    uint32_t batch_rows;     /* 0: VEC_BATCH_ROWS */
    size_t mem_budget_bytes; /* per file scan; 0: the Parquet default */
    bool keep_dict;          /* strings from dictionary pages stay codes (pq_scan_opts.keep_dict) */
    const delta_scan_pred *preds; /* row-group skipping; borrowed until close */
    uint32_t npreds;
    /* Take units from these (shared with other scans of the same
     * snapshot) instead of reading every file; borrowed until close. */
    delta_morsels *morsels;
} delta_scan_opts;

typedef struct delta_scan delta_scan;

/*
 * Reads the rows of a snapshot's live files, in file order, as batches of
 * the requested columns typed by the table schema. Partition columns come
 * from the log (typed constants; null and __HIVE_DEFAULT_PARTITION__ read
 * as null); columns a file lacks (written before a schema change) read as
 * null. `t` and `s` are borrowed until delta_scan_close.
 * Errors: TARN_EINVAL (unknown column), TARN_ENOTSUP (a nested column, a
 * file column whose type cannot be read as the table type), TARN_ENOMEM.
 */
int delta_scan_open(delta_table *t, const delta_snapshot *s, const delta_scan_opts *opts,
                    delta_scan **out, tarn_err *err);
/* Prepares `b` with the scan's column types and batch size. */
int delta_scan_batch_init(const delta_scan *sc, vec_batch *b);
uint32_t delta_scan_ncols(const delta_scan *sc);
/* Name of output column i (borrowed from the snapshot). */
const char *delta_scan_col_name(const delta_scan *sc, uint32_t i);
/* Fills `b` with the next rows; b->len == 0 at the end. Errors of the
 * store and the Parquet reader (with the file named), TARN_ECORRUPT (a
 * file whose size differs from its add action, a bad partition value).
 * After an error the scan is unusable (TARN_ESTATE). */
int delta_scan_next(delta_scan *sc, vec_batch *b, tarn_err *err);
void delta_scan_close(delta_scan *sc);

/* ---- writing (write.c, commit.c; README "Writing" and "Commit protocol") -- */

/* Longest table name (the catalog's rule: [A-Za-z_][A-Za-z0-9_]*). */
#define DELTA_TABLE_NAME_MAX 128
/* Most distinct partitions one append may write (one file each). */
#define DELTA_APPEND_PARTITIONS_MAX 1024
/* Largest data file one append writes (held in memory, then uploaded). */
#define DELTA_DATA_FILE_BYTES_MAX ((size_t)1 << 30)
/* Longest txn id (the catalog's limit). */
#define DELTA_TXN_ID_MAX 64
/* Most commits a pending-log pass finishes. */
#define DELTA_PENDING_MAX 4096
/* Most versions one committer read returns (readers page through). */
#define DELTA_READ_VERSIONS_MAX 256

/* A version recorded by the metadata service whose log file may be
 * missing. For version 0, `actions` is empty: the log file is built from
 * the table's schema and partition columns (delta_create_table). */
typedef struct delta_pending {
    char *table; /* owned */
    int64_t version;
    char *actions; /* owned; the newline-delimited JSON of the commit */
    size_t actions_len;
    char *schema; /* version 0: the schema string; owned */
    char **parts; /* version 0: partition columns; owned */
    size_t nparts;
    uint64_t created_id; /* version 0: what makes metaData.id unique */
    /* Version 0: when the metadata service recorded the create (ms since
     * the epoch), or 0 when it records no time: version 0's log then
     * carries a commitInfo with it (delta_version0_actions_at). */
    int64_t created_ms;
} delta_pending;

/*
 * The metadata service as the write path sees it (ARCHITECTURE.md "Commit
 * protocol"). Two implementations: delta_committer_node (a catalog behind
 * node_propose) and delta_committer_mem (in memory, the same rules, for
 * tests and tools without a node). Every function returns 0 or a TARN_E*
 * code with err set.
 *
 * create: records version 0 of `name` (schema string, partition columns);
 *   *created_id receives a number unique to this creation. TARN_EEXIST
 *   when the name exists.
 * commit: records `actions` as version base_version + 1. 0: *version_out
 *   is the new version (or, for a txn_id committed before, the version it
 *   got then, with *duplicate_out true). TARN_ECONFLICT: base_version is
 *   stale and *version_out is the latest version. TARN_ENOENT: no table.
 *   TARN_ETIMEDOUT / TARN_ECLOSED: unknown whether it committed (retry
 *   with the same txn_id to find out).
 * log_written: records that `_delta_log/<version>.json` exists.
 * pending: the versions whose log is not recorded as written, in table
 *   then version order (at most DELTA_PENDING_MAX); *out owned by the
 *   caller (delta_pending_free).
 * read: versions from..to of `name` (to < 0: up to the latest), at most
 *   DELTA_READ_VERSIONS_MAX of them, in version order, as the metadata
 *   service recorded them (the same fields as `pending`: actions, and for
 *   version 0 the schema, partition columns and created_id); *latest_out
 *   is the latest version. A linearizable read (the node committer passes
 *   a read barrier first). TARN_ENOENT: no table, or `from` beyond the
 *   latest. *out owned by the caller (delta_pending_free).
 *
 * Threads: the node committer may be used by several threads at once
 * (node_propose is); the in-memory one by one thread at a time.
 */
typedef struct delta_committer {
    void *ctx;
    int (*create)(void *ctx, const char *name, const char *schema, const char *const *parts,
                  size_t nparts, uint64_t *created_id, tarn_err *err);
    int (*commit)(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                  const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                  tarn_err *err);
    int (*log_written)(void *ctx, const char *name, int64_t version, tarn_err *err);
    int (*pending)(void *ctx, delta_pending **out, size_t *count, tarn_err *err);
    void (*close)(void *ctx);
    int (*read)(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                size_t *count, int64_t *latest_out, tarn_err *err);
    /* Writers through this committer write a checkpoint (and
     * _last_checkpoint) after publishing each version that is a multiple
     * of this; 0: DELTA_CHECKPOINT_INTERVAL_DEFAULT; negative: never. */
    int32_t checkpoint_interval;
    /* A blind append (Delta's isBlindAppend: actions that only add files,
     * written without reading the table): as commit, but a stale
     * base_version is accepted too, as the next version, unless a version
     * after the base changed the metadata or protocol (then TARN_ECONFLICT
     * with the latest). NULL: not offered (delta_append then rebases
     * through commit). README "Commit protocol". */
    int (*commit_blind)(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                        const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                        tarn_err *err);
} delta_committer;

#define DELTA_CHECKPOINT_INTERVAL_DEFAULT 10

void delta_pending_free(delta_pending *p, size_t count);

/* The in-memory committer (catalog rules, no replication). TARN_ENOMEM. */
int delta_committer_mem(delta_committer *out);
typedef struct node node;
/* The committer over a node whose registry has the catalog commands
 * (catalog_register). `n` is borrowed; it must outlive the committer.
 * timeout_ms bounds each proposal (0: 10 s). */
int delta_committer_node(node *n, int timeout_ms, delta_committer *out);
/* Frees the committer's own state (not the node). Accepts a zeroed one. */
void delta_committer_close(delta_committer *c);

/* A column of a new table: its name and the vec type its values have. */
typedef struct delta_column {
    const char *name;
    vec_type_info type;
    bool nullable;
} delta_column;

/*
 * Creates table `name` at `tables/<name>/` in `os`: records version 0 with
 * the committer, then writes `_delta_log/00000000000000000000.json`
 * (protocol 1/2 and metaData) with put-if-absent and marks it written.
 * Column types: every vec type delta_kind_vec_type produces except
 * timestamps without zone. Partition columns must be columns of type
 * string, an integer, date or boolean. TARN_EINVAL (bad name or columns),
 * TARN_ENOTSUP (a type), TARN_EEXIST, committer and store errors.
 */
int delta_create_table(delta_committer *c, objstore *os, const char *name, const delta_column *cols,
                       size_t ncols, const char *const *parts, size_t nparts, tarn_err *err);

typedef struct delta_append_opts {
    const char *txn_id; /* NULL: a random one; reuse it to retry safely */
    /* Times a conflict is answered by committing the same files on the
     * latest version (an append reads nothing, so it can always rebase);
     * 0: report the conflict. When > 0 and the committer offers
     * commit_blind, the append is committed as a blind append instead: one
     * proposal whatever the contention (README "Commit protocol"). */
    uint32_t rebase_max;
    /* Test seam for crash tests: stop as a killed process would (no
     * cleanup) right after the upload (1) or right after the commit was
     * accepted, before the log file is written (2); returns TARN_EIO. */
    int crash_point;
} delta_append_opts;

/*
 * Appends the rows of `batches` (typed as the table's columns, in schema
 * order) to the table whose latest state is `base` (borrowed): writes one
 * Parquet file (snappy) per partition under tables/<name>/<partition
 * path>/<uuid>.parquet, uploads them, then commits add actions with stats
 * and writes the log file. 0: *version_out is the committed version.
 * TARN_ECONFLICT (a newer version exists and rebase_max is spent;
 * *version_out is the latest): the uploaded files are removed.
 * TARN_EINVAL (batches do not match the schema), TARN_ETOOBIG, committer,
 * Parquet and store errors (files removed when possible).
 */
int delta_append(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                 const vec_batch *batches, size_t nbatches, const delta_append_opts *opts,
                 int64_t *version_out, tarn_err *err);

/* ---- Tarn's tables: snapshots from the metadata service (managed.c) ---- */

/*
 * Opens the handle of Tarn's table `name` (tables/<name>/ in `os`) for
 * scans, without listing its log: the metadata service, not the store,
 * says which versions exist. TARN_EINVAL (bad name), TARN_ENOMEM.
 */
int delta_table_open_managed(objstore *os, const char *name, delta_table **out, tarn_err *err);

/*
 * Snapshots of Tarn's table `name` from the metadata service: the versions
 * and their actions as the committer recorded them (c->read), replayed as
 * a log would be, so a version accepted but not yet published in
 * `_delta_log/` is visible at once and a directory listing is never
 * consulted. Time travel by version, or by timestamp: the newest version
 * whose commit time (commitInfo.timestamp, made increasing over versions;
 * version 0: the creation time the catalog recorded, or for a table
 * created before that was recorded, its log file's time) is at or before
 * timestamp_ms.
 * timestamp_ms of the result is that commit time.
 * Errors as delta_snapshot_latest, plus the committer's; TARN_ENOENT for a
 * missing table, a version beyond the latest, a time before the first
 * commit. *out owned by the caller (delta_snapshot_free).
 */
int delta_managed_snapshot_latest(delta_committer *c, objstore *os, const char *name,
                                  delta_snapshot **out, tarn_err *err);
int delta_managed_snapshot_at_version(delta_committer *c, objstore *os, const char *name,
                                      int64_t version, delta_snapshot **out, tarn_err *err);
int delta_managed_snapshot_at_timestamp(delta_committer *c, objstore *os, const char *name,
                                        int64_t timestamp_ms, delta_snapshot **out, tarn_err *err);

/* ---- delete and overwrite (rewrite.c; README "Delete and overwrite") ---- */

/* What a delete's file callback says about a whole file. */
typedef enum delta_file_match {
    DELTA_FILE_MAYBE = 0, /* read its rows through the row predicate */
    DELTA_FILE_NONE,      /* no row can match: the file stays */
    DELTA_FILE_ALL        /* every row matches: the file is removed whole */
} delta_file_match;

typedef struct delta_delete_opts {
    /* Required. `b` holds a batch of one file's rows, every table column
     * in schema order (partition columns included); set match[r] = 1 for
     * each row r (0 <= r < b->len) to delete. Return 0 or an error (which
     * aborts the delete). */
    int (*rows)(void *ctx, const vec_batch *b, uint8_t *match, tarn_err *err);
    /* Optional, for pruning: decides a file from its partition values and
     * stats (delta_file_prune helps) before any row is read. */
    int (*files)(void *ctx, const delta_snapshot *s, const delta_file *f, delta_file_match *out,
                 tarn_err *err);
    void *ctx;
    const char *predicate; /* text for the history (commitInfo), or NULL */
    const char *txn_id;    /* NULL: a random one; reuse it to retry safely */
    /* Times a conflict is answered by committing on the latest version
     * when the commits since the base only added files (they hold rows
     * this delete never read: the result is "delete, then their append",
     * Delta's WriteSerializable); a commit that removed a file this one
     * removes, or changed the metadata, is always a conflict. */
    uint32_t rebase_max;
    int crash_point; /* test seam, as delta_append_opts */
} delta_delete_opts;

typedef struct delta_write_result {
    int64_t version;      /* the committed version (the base's when nothing changed) */
    int64_t rows_deleted; /* delete: rows removed */
    int64_t rows_written; /* rows in the added files */
    size_t files_removed;
    size_t files_added;
} delta_write_result;

/*
 * Deletes the rows of the table (at `base`) that opts->rows matches,
 * copy-on-write: each file with a matching row is removed and, when rows
 * remain, one new file with them (same partition) is added, all in one
 * commit against base->version (rebased as rebase_max says). A delete
 * that matches nothing commits nothing. New files of a commit that surely
 * failed are removed at once. Errors: the callbacks', TARN_ECONFLICT,
 * committer, Parquet and store errors, TARN_EINVAL (no row callback).
 */
int delta_delete(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                 const delta_delete_opts *opts, delta_write_result *res, tarn_err *err);

/*
 * Replaces every row of the table (at `base`) with the rows of `batches`
 * (typed as delta_append's): one commit removes every live file of the
 * base and adds the new ones. Any commit since the base is a conflict
 * (the overwrite replaced what it read; opts->rebase_max is ignored).
 */
int delta_overwrite(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                    const vec_batch *batches, size_t nbatches, const delta_append_opts *opts,
                    delta_write_result *res, tarn_err *err);

/* ---- file pruning (prune.c; README "File pruning") ---- */

typedef enum delta_cmp {
    DELTA_CMP_EQ,
    DELTA_CMP_NE,
    DELTA_CMP_LT,
    DELTA_CMP_LE,
    DELTA_CMP_GT,
    DELTA_CMP_GE,
    DELTA_CMP_IS_NULL, /* the constant is ignored */
    DELTA_CMP_IS_NOT_NULL
} delta_cmp;

typedef enum delta_value_kind {
    DELTA_VALUE_INT,    /* integers, booleans (0/1), dates (days since 1970-01-01),
                           timestamps (microseconds since the epoch, UTC) */
    DELTA_VALUE_FLOAT,  /* float and double columns (an INT is accepted too) */
    DELTA_VALUE_STRING, /* string and binary columns (bytes compared unsigned) */
    DELTA_VALUE_DECIMAL /* decimal columns: i64 unscaled, `scale` digits after the
                           point (an INT is accepted too: a whole number) */
} delta_value_kind;

/* `column op constant`, column a top-level column (case-insensitive). */
typedef struct delta_pred {
    const char *column;
    delta_cmp op;
    delta_value_kind kind;
    int64_t i64;
    double f64;
    const char *str; /* NUL-terminated; borrowed */
    uint8_t scale;   /* DELTA_VALUE_DECIMAL */
} delta_pred;

/*
 * Whether file `f` of `s` may hold a row satisfying every predicate (AND),
 * from its partition values (exact) and stats (min/max/nullCount); false
 * only when certain. Timestamp maxima are widened by what their
 * truncation to milliseconds may have cut. Columns or stats we cannot use
 * (decimals wider than 18 digits, decimal stats of more than 15
 * significant digits, missing or bad stats, truncated string maxima) keep
 * the file.
 * TARN_EINVAL: an unknown column, or a constant whose kind does not fit
 * the column (*may is then true).
 */
int delta_file_may_match(const delta_snapshot *s, const delta_file *f, const delta_pred *preds,
                         size_t npreds, bool *may, tarn_err *err);
/* delta_file_may_match over every file: keep[i] for file i (keep has
 * s->nfiles entries), *nkept the count kept. */
int delta_prune(const delta_snapshot *s, const delta_pred *preds, size_t npreds, bool *keep,
                size_t *nkept, tarn_err *err);

/* ---- maintenance (optimize.c, vacuum.c; README "OPTIMIZE", "VACUUM") ---- */

typedef struct delta_optimize_opts {
    int64_t target_bytes;   /* size of the files to make; 0: 128 MiB */
    int64_t min_file_bytes; /* files under this are compacted; 0: 3/4 of the target */
    uint32_t retries;       /* plans tried when other commits removed our files; 0: 3 */
    int crash_point;        /* test seam, as delta_append_opts */
    /* Test seam: called after the new files are uploaded, right before
     * each commit attempt (tests land other commits there). */
    void (*before_commit)(void *ctx);
    void *ctx;
} delta_optimize_opts;

typedef struct delta_optimize_result {
    int64_t version; /* committed, or the version read when there was nothing to do */
    size_t files_removed, files_added;
    int64_t rows; /* rows rewritten (read = written) */
    int64_t bytes_removed, bytes_added;
    uint32_t attempts;
} delta_optimize_result;

/*
 * Compacts Tarn's table `name` at its latest version (from the metadata
 * service): per partition, files smaller than min_file_bytes are packed
 * into bins of at most target_bytes (by their sizes) and each bin of two
 * or more files becomes one file. One commit (operation OPTIMIZE,
 * dataChange false) removes the old files and adds the new ones against
 * the version read; a later commit that only added files is rebased over,
 * one that removed a file being compacted makes it plan again from the
 * new latest version (up to `retries` plans, then TARN_ECONFLICT). The
 * rows written must equal the rows read (else TARN_ECORRUPT, nothing
 * committed). Nothing to compact: 0 with files_removed 0.
 */
int delta_optimize(delta_committer *c, objstore *os, const char *name,
                   const delta_optimize_opts *opts, delta_optimize_result *res, tarn_err *err);

typedef struct delta_vacuum_opts {
    int64_t retention_ms;     /* < 0: 7 days */
    int64_t min_retention_ms; /* the configured minimum; < 0: 7 days */
    bool force;               /* allow a retention below the minimum */
    bool dry_run;             /* decide and report, delete nothing */
    /* Called for each file removed (or, dry_run, that would be): its path
     * relative to the table root and size. May be NULL. */
    void (*on_file)(void *ctx, const char *path, uint64_t size_bytes);
    void *ctx;
} delta_vacuum_opts;

typedef struct delta_vacuum_result {
    size_t files_deleted; /* or, dry_run, that would be */
    int64_t bytes_deleted;
    size_t files_kept;
    int64_t cutoff_ms; /* files removed (or orphaned) before this went */
    /* Removals read from the latest snapshot's tombstones (the retention
     * is within the table's tombstone retention), not every version. */
    bool from_tombstones;
} delta_vacuum_result;

/*
 * Removes the files under tables/<name>/ that no version inside the
 * retention period references: removed from the table (by a commit the
 * metadata service recorded) before now - retention, or never referenced
 * (a failed commit's upload) and last modified before then. Live files,
 * the log and hidden paths stay. TARN_EINVAL: a retention below the
 * minimum without force. Store and committer errors.
 */
int delta_vacuum(delta_committer *c, objstore *os, const char *name, const delta_vacuum_opts *opts,
                 delta_vacuum_result *res, tarn_err *err);

typedef struct delta_history_entry {
    int64_t version;
    int64_t timestamp_ms; /* the commit time used for time travel */
    char *operation;      /* commitInfo.operation; "CREATE TABLE" for Tarn's version 0 */
    char *commit_info;    /* the commitInfo object as compact JSON, or NULL */
} delta_history_entry;

typedef struct delta_history {
    delta_history_entry *entries; /* oldest first */
    size_t count, cap;
} delta_history;

/* Every version of Tarn's table `name` from the metadata service, or of
 * any Delta table from its log (versions still in the log), oldest first.
 * The operation metrics are in commit_info ("operationMetrics"). */
int delta_history_managed(delta_committer *c, objstore *os, const char *name, delta_history *out,
                          tarn_err *err);
int delta_history_log(delta_table *t, delta_history *out, tarn_err *err);
void delta_history_free(delta_history *h);

/* Default of the table property delta.deletedFileRetentionDuration. */
#define DELTA_TOMBSTONE_RETENTION_MS_DEFAULT ((int64_t)7 * 24 * 3600 * 1000)

/* Actions per part of the checkpoints writers write after a commit: a
 * bigger checkpoint is split into parts (each built in memory alone). */
#define DELTA_CHECKPOINT_PART_ACTIONS_DEFAULT ((int64_t)1 << 20)

typedef struct delta_checkpoint_opts {
    /* Parts of a multi-part checkpoint; 0: from part_actions. */
    uint32_t parts;
    /* Most actions per part (the parts are as many as needed, at most
     * DELTA_CHECKPOINT_PARTS_MAX); 0 with parts 0: one classic file. */
    int64_t part_actions;
    /* Time the tombstone retention counts back from; 0: now. */
    int64_t now_ms;
} delta_checkpoint_opts;

/*
 * Writes the checkpoint of snapshot `s`: one classic file
 * `<root>/_delta_log/<version>.checkpoint.parquet`, or the parts
 * `<version>.checkpoint.<o>.<p>.parquet` (actions spread by a hash of
 * their path), holding protocol, metaData, txns, live adds and the
 * tombstones not older than the table's delta.deletedFileRetentionDuration
 * (README "Writing checkpoints"), then `_last_checkpoint` (with "parts"
 * for a multi-part one). opts may be NULL. TARN_EINVAL (a retention
 * property that does not parse), TARN_ENOTSUP (writer features
 * domainMetadata, v2Checkpoint: state our snapshots do not hold), store,
 * Parquet and memory errors.
 */
int delta_checkpoint_write(objstore *os, const char *root_key, const delta_snapshot *s,
                           const delta_checkpoint_opts *opts, tarn_err *err);
/* The tombstone retention of a table: delta.deletedFileRetentionDuration
 * ("interval 1 week", "interval 36 hours", ...; weeks, days, hours,
 * minutes, seconds, milliseconds) or the default. TARN_EINVAL naming the
 * value when it does not parse. */
int delta_tombstone_retention(const delta_metadata *m, int64_t *out_ms, tarn_err *err);

/* Writes the log file of every version the committer has and the log
 * lacks (a new leader's duty; README "Crash points"), then marks each
 * written. *done_out (may be NULL) counts them. */
int delta_finish_pending_logs(delta_committer *c, objstore *os, size_t *done_out, tarn_err *err);

#endif
