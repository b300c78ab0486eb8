/*
 * catalog/catalog_int.h: what the catalog sources share. Not for other
 * modules.
 */
#ifndef TARN_CATALOG_INT_H
#define TARN_CATALOG_INT_H

#include "catalog/catalog.h"

#define CATALOG_RESULT_BYTES 9 /* version u64, flags u8 */

/* Nonzero when name is a valid table name (catalog.h). */
int catalog_name_ok(const uint8_t *name, size_t len);

/* Builds [name_len u8][name] (+ suffix) keys into kb; returns the length. */
size_t catalog_key(uint8_t *kb, const uint8_t *name, size_t nlen, const void *suffix, size_t slen);

static inline void catalog_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t catalog_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void catalog_le_put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t catalog_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A bounds-checked reader over untrusted bytes. */
typedef struct catalog_reader {
    const uint8_t *p;
    size_t left;
} catalog_reader;

int catalog_rd_le(catalog_reader *r, int bytes, uint64_t *v);
/* A length (of `bytes` width) followed by that many bytes. */
int catalog_rd_blob(catalog_reader *r, int len_bytes, catalog_bytes *out);

/* Parses location, schema and partition columns (a create command after
 * the name; also the tail of a stored table record). Name must be set. */
int catalog_decode_create_body(catalog_reader *r, catalog_create *c);

/* Version record and table record parsers (apply.c). */
int catalog_version_parse(const void *v, size_t len, catalog_version *out);
int catalog_table_parse(const void *v, size_t len, catalog_table *out);

#endif
