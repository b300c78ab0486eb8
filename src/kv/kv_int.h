/*
 * kv/kv_int.h: what the kv sources share. Not for other modules.
 */
#ifndef TARN_KV_INT_H
#define TARN_KV_INT_H

#include "kv/kv.h"

#define KV_RECORD_HEADER 24 /* version, mod_index, create_index */
#define KV_RESULT_HEADER 24 /* version, mod_index, failed, value_len */
#define KV_META_TSO      "tso"

/* Parses a stored record; TARN_ECORRUPT when it is too short or has
 * version 0. out->key is left alone. */
int kv_record_parse(const void *rec, size_t len, kv_item *out);

static inline uint64_t kv_le64(const void *v)
{
    const uint8_t *p = v;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static inline void kv_le64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void kv_le32_put(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t kv_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
