/*
 * delta/delta_int.h: helpers shared by the files of delta/ (not an
 * interface for other modules). Design note: delta/README.md.
 */
#ifndef TARN_DELTA_DELTA_INT_H
#define TARN_DELTA_DELTA_INT_H

#include "delta/delta.h"

#include <jansson.h>

/* Where an action came from, for error messages: "<file>: line <n>: <action>". */
typedef struct delta_where {
    const char *file;
    size_t line;        /* 1-based; 0: not from a line (a checkpoint row) */
    const char *action; /* "add", "metaData", ... */
    tarn_err *err;
} delta_where;

/* Sets TARN_ECORRUPT "<file>: line <n>: <action>: <field>: <what>". */
int delta_bad(const delta_where *w, const char *field, const char *what);

/* Field readers: `required` absent (or null) is an error, optional absent
 * leaves the default. Wrong types are TARN_ECORRUPT naming the field. */
int delta_json_str(const delta_where *w, json_t *obj, const char *key, bool required, char **out);
int delta_json_i64(const delta_where *w, json_t *obj, const char *key, bool required, int64_t min,
                   int64_t *out);
int delta_json_bool(const delta_where *w, json_t *obj, const char *key, bool required, bool *out);
/* A string-to-string (or null) map. */
int delta_json_map(const delta_where *w, json_t *obj, const char *key, bool required,
                   delta_map *out);
/* An array of strings; *out stays NULL when absent. */
int delta_json_strs(const delta_where *w, json_t *obj, const char *key, char ***out, size_t *count);

/* Loads one JSON text; TARN_ENOMEM when jansson ran out of memory,
 * TARN_ECORRUPT "<file>: line <n>: <jansson message>" otherwise. */
int delta_json_load(const delta_where *w, const char *data, size_t len, json_t **out);

/* Grows *arr (of elements of `size` bytes) so that index `count` fits. */
int delta_grow(void *arr_ptr, size_t *cap, size_t count, size_t size);

void delta_strs_free(char **s, size_t n);
void delta_map_free(delta_map *m);
int delta_map_copy(const delta_map *src, delta_map *dst);
void delta_protocol_free(delta_protocol *p);
int delta_protocol_copy(const delta_protocol *src, delta_protocol *dst);
void delta_metadata_free(delta_metadata *m);
int delta_metadata_copy(const delta_metadata *src, delta_metadata *dst, tarn_err *err);
void delta_file_action_free(delta_file_action *a);
void delta_file_free(delta_file *f);

/* Parse one action object (used by the JSON reader and by checkpoints,
 * whose rows are turned back into action objects: checkpoint.c). */
int delta_action_protocol(const delta_where *w, json_t *v, delta_protocol *out);
int delta_action_metadata(const delta_where *w, json_t *v, delta_metadata *out);
int delta_action_file(const delta_where *w, json_t *v, bool is_add, delta_file_action *out);
int delta_action_txn(const delta_where *w, json_t *v, delta_txn *out);

#endif
