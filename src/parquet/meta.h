/*
 * parquet/meta.h: Parquet's file metadata (the footer) and page headers as
 * C structs, decoded from and encoded to Thrift compact bytes. Field ids
 * follow parquet-format's parquet.thrift; fields we do not use are skipped
 * on read and not written. Design note: parquet/README.md.
 *
 * Decoded metadata lives in one arena owned by pq_meta: strings and arrays
 * are freed together by pq_meta_free. The arena is capped (PQ_META_MEM_MAX)
 * so a hostile footer cannot make us allocate without bound: every list
 * count is already limited by the bytes that remain, and the cap limits the
 * total.
 *
 * Threads: a pq_meta may be read by many threads once decoded.
 */
#ifndef TARN_PARQUET_META_H
#define TARN_PARQUET_META_H

#include "base/buf.h"
#include "base/error.h"

#include <stdbool.h>
#include <stdint.h>

#define PQ_META_MEM_MAX ((size_t)256 << 20)

/* parquet.thrift enums (values are the wire values). */
enum pq_type {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_INT96 = 3,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FIXED_LEN_BYTE_ARRAY = 7,
};
enum pq_repetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum pq_converted {
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_16 = 16,
    PQ_CT_INT_32 = 17,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21,
};
enum pq_encoding {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};
enum pq_codec {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5,
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7,
};
enum pq_page_type {
    PQ_PAGE_DATA = 0,
    PQ_PAGE_INDEX = 1,
    PQ_PAGE_DICTIONARY = 2,
    PQ_PAGE_DATA_V2 = 3,
};
/* LogicalType union member ids. */
enum pq_logical_kind {
    PQ_LT_NONE = 0,
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_DATE = 6,
    PQ_LT_TIME = 7,
    PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11,
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_UUID = 14,
    PQ_LT_FLOAT16 = 15,
};
enum pq_time_unit { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

typedef struct pq_logical {
    uint8_t kind;      /* enum pq_logical_kind */
    uint8_t unit;      /* TIME, TIMESTAMP: enum pq_time_unit */
    bool utc;          /* TIME, TIMESTAMP: isAdjustedToUTC */
    uint8_t bit_width; /* INTEGER: 8, 16, 32 or 64 */
    bool is_signed;    /* INTEGER */
    int32_t scale;     /* DECIMAL */
    int32_t precision; /* DECIMAL */
} pq_logical;

/* SchemaElement. Optional ints are -1 when absent. */
typedef struct pq_schema_elem {
    const char *name;     /* arena; never NULL ("" when absent) */
    int32_t type;         /* enum pq_type, or -1 for a group */
    int32_t type_length;  /* FIXED_LEN_BYTE_ARRAY bytes, or -1 */
    int32_t repetition;   /* enum pq_repetition, or -1 (root) */
    int32_t num_children; /* 0 for a leaf */
    int32_t converted;    /* enum pq_converted, or -1 */
    int32_t scale;        /* -1 when absent */
    int32_t precision;    /* -1 when absent */
    int32_t field_id;     /* -1 when absent */
    pq_logical logical;
} pq_schema_elem;

/* Statistics: min/max are PLAIN-encoded values (lengths 0 when absent).
 * min_value/max_value are preferred; the deprecated min/max fields are
 * used only when the new ones are absent. */
typedef struct pq_stats {
    bool has_min, has_max, has_null_count, has_distinct_count;
    const uint8_t *min; /* arena */
    const uint8_t *max; /* arena */
    uint32_t min_len, max_len;
    int64_t null_count;
    int64_t distinct_count;
    bool legacy; /* min/max from the deprecated fields (signed byte order) */
} pq_stats;

typedef struct pq_column_meta {
    int32_t type;            /* enum pq_type */
    uint32_t encodings_mask; /* bit (1 << encoding) per encoding used */
    const char **path;       /* arena; path_len names */
    uint32_t path_len;
    int32_t codec;              /* enum pq_codec */
    int64_t num_values;         /* including nulls */
    int64_t total_uncompressed; /* bytes, page headers included */
    int64_t total_compressed;   /* bytes, page headers included */
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 when absent */
    int64_t index_page_offset;      /* -1 when absent */
    pq_stats stats;
} pq_column_meta;

typedef struct pq_column_chunk {
    const char *file_path; /* arena, or NULL: this file */
    int64_t file_offset;
    bool has_meta;
    pq_column_meta meta;
} pq_column_chunk;

typedef struct pq_row_group {
    pq_column_chunk *columns; /* arena; ncols */
    uint32_t ncols;
    int64_t total_byte_size;
    int64_t num_rows;
    int64_t file_offset;           /* -1 when absent */
    int64_t total_compressed_size; /* -1 when absent */
} pq_row_group;

typedef struct pq_kv {
    const char *key;   /* arena */
    const char *value; /* arena, or NULL */
} pq_kv;

typedef struct pq_arena_block pq_arena_block;

typedef struct pq_meta {
    int32_t version;
    pq_schema_elem *schema; /* arena; nschema, depth-first, [0] is the root */
    uint32_t nschema;
    int64_t num_rows;
    pq_row_group *row_groups; /* arena; nrow_groups */
    uint32_t nrow_groups;
    pq_kv *kv; /* arena; nkv */
    uint32_t nkv;
    const char *created_by; /* arena, or NULL */
    /* private: the arena */
    pq_arena_block *blocks;
    size_t arena_bytes;
} pq_meta;

/* Decodes FileMetaData from `len` bytes. On error (TARN_ECORRUPT,
 * TARN_ENOMEM, TARN_ETOOBIG past PQ_META_MEM_MAX) `err` says what and at
 * which byte offset and nothing is left to free. */
int pq_meta_decode(const void *data, size_t len, pq_meta *out, tarn_err *err);
void pq_meta_free(pq_meta *m);
/* Allocation from the metadata arena (the writer builds metadata in it). */
void *pq_meta_alloc(pq_meta *m, size_t size);
char *pq_meta_strndup(pq_meta *m, const void *s, size_t len);
/* Appends the Thrift encoding of `m` to `out`. TARN_ENOMEM, TARN_ETOOBIG. */
int pq_meta_encode(const pq_meta *m, tarn_buf *out);

typedef struct pq_page_header {
    int32_t type;              /* enum pq_page_type */
    int32_t uncompressed_size; /* bytes after the header, uncompressed */
    int32_t compressed_size;   /* bytes after the header, as stored */
    bool has_crc;
    uint32_t crc;
    int32_t num_values;   /* data v1/v2, dictionary */
    int32_t encoding;     /* data v1/v2, dictionary */
    int32_t def_encoding; /* data v1 */
    int32_t rep_encoding; /* data v1 */
    int32_t num_nulls;    /* data v2 */
    int32_t num_rows;     /* data v2 */
    int32_t def_len;      /* data v2: definition levels bytes */
    int32_t rep_len;      /* data v2: repetition levels bytes */
    bool is_compressed;   /* data v2 (default true) */
    bool is_sorted;       /* dictionary */
    bool has_stats;
    pq_stats stats; /* data v1/v2 page statistics; borrowed from the input */
} pq_page_header;

/* Decodes a PageHeader at the start of `data`; *header_len gets its size.
 * Sizes are checked for sanity (non-negative) but not against the file;
 * that is the reader's job. TARN_ECORRUPT with a reason in `err`. */
int pq_page_header_decode(const void *data, size_t len, pq_page_header *out, size_t *header_len,
                          tarn_err *err);
/* Appends the Thrift encoding of `h` (statistics when has_stats). */
int pq_page_header_encode(const pq_page_header *h, tarn_buf *out);

#endif
