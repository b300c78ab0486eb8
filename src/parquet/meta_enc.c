/*
 * parquet/meta_enc.c: FileMetaData and PageHeader encoding (the writer's
 * half of meta.h). Fields are written in ascending id order, as the compact
 * protocol's delta field headers prefer; optional fields that are absent
 * (-1, NULL) are not written.
 */
#include "parquet/meta.h"

#include "parquet/thrift.h"

#include <string.h>

static void wr_stats(pq_tenc *e, int16_t id, const pq_stats *s)
{
    pq_tenc_field(e, id, PQ_T_STRUCT);
    pq_tenc_struct_begin(e);
    if (s->has_null_count)
        pq_tenc_i64_field(e, 3, s->null_count);
    if (s->has_distinct_count)
        pq_tenc_i64_field(e, 4, s->distinct_count);
    /* Only the new min_value/max_value fields: their order is the column's
     * sort order (the deprecated min/max were signed-bytewise). */
    if (s->has_max)
        pq_tenc_binary_field(e, 5, s->max, s->max_len);
    if (s->has_min)
        pq_tenc_binary_field(e, 6, s->min, s->min_len);
    pq_tenc_struct_end(e);
}

static void wr_logical(pq_tenc *e, const pq_logical *lt)
{
    pq_tenc_field(e, 10, PQ_T_STRUCT);
    pq_tenc_struct_begin(e);
    pq_tenc_field(e, lt->kind, PQ_T_STRUCT);
    pq_tenc_struct_begin(e);
    if (lt->kind == PQ_LT_DECIMAL) {
        pq_tenc_i32_field(e, 1, lt->scale);
        pq_tenc_i32_field(e, 2, lt->precision);
    } else if (lt->kind == PQ_LT_TIME || lt->kind == PQ_LT_TIMESTAMP) {
        pq_tenc_bool_field(e, 1, lt->utc);
        pq_tenc_field(e, 2, PQ_T_STRUCT);
        pq_tenc_struct_begin(e);
        pq_tenc_field(e, lt->unit, PQ_T_STRUCT);
        pq_tenc_struct_begin(e);
        pq_tenc_struct_end(e);
        pq_tenc_struct_end(e);
    } else if (lt->kind == PQ_LT_INTEGER) {
        pq_tenc_field(e, 1, PQ_T_BYTE);
        uint8_t w = lt->bit_width;
        if (e->err == 0)
            e->err = tarn_buf_append_byte(e->out, w);
        pq_tenc_bool_field(e, 2, lt->is_signed);
    }
    pq_tenc_struct_end(e);
    pq_tenc_struct_end(e);
}

static void wr_schema_elem(pq_tenc *e, const pq_schema_elem *s)
{
    pq_tenc_struct_begin(e);
    if (s->type >= 0)
        pq_tenc_i32_field(e, 1, s->type);
    if (s->type_length >= 0)
        pq_tenc_i32_field(e, 2, s->type_length);
    if (s->repetition >= 0)
        pq_tenc_i32_field(e, 3, s->repetition);
    pq_tenc_binary_field(e, 4, s->name, strlen(s->name));
    if (s->num_children > 0)
        pq_tenc_i32_field(e, 5, s->num_children);
    if (s->converted >= 0)
        pq_tenc_i32_field(e, 6, s->converted);
    if (s->scale >= 0)
        pq_tenc_i32_field(e, 7, s->scale);
    if (s->precision >= 0)
        pq_tenc_i32_field(e, 8, s->precision);
    if (s->field_id >= 0)
        pq_tenc_i32_field(e, 9, s->field_id);
    if (s->logical.kind != PQ_LT_NONE)
        wr_logical(e, &s->logical);
    pq_tenc_struct_end(e);
}

static void wr_column_meta(pq_tenc *e, const pq_column_meta *c)
{
    pq_tenc_field(e, 3, PQ_T_STRUCT);
    pq_tenc_struct_begin(e);
    pq_tenc_i32_field(e, 1, c->type);
    uint32_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (c->encodings_mask >> i) & 1;
    pq_tenc_field(e, 2, PQ_T_LIST);
    pq_tenc_list(e, PQ_T_I32, n);
    for (int i = 0; i < 32; i++)
        if ((c->encodings_mask >> i) & 1)
            pq_tenc_i32(e, i);
    pq_tenc_field(e, 3, PQ_T_LIST);
    pq_tenc_list(e, PQ_T_BINARY, c->path_len);
    for (uint32_t i = 0; i < c->path_len; i++)
        pq_tenc_binary(e, c->path[i], strlen(c->path[i]));
    pq_tenc_i32_field(e, 4, c->codec);
    pq_tenc_i64_field(e, 5, c->num_values);
    pq_tenc_i64_field(e, 6, c->total_uncompressed);
    pq_tenc_i64_field(e, 7, c->total_compressed);
    pq_tenc_i64_field(e, 9, c->data_page_offset);
    if (c->index_page_offset >= 0)
        pq_tenc_i64_field(e, 10, c->index_page_offset);
    if (c->dictionary_page_offset >= 0)
        pq_tenc_i64_field(e, 11, c->dictionary_page_offset);
    wr_stats(e, 12, &c->stats);
    pq_tenc_struct_end(e);
}

static void wr_row_group(pq_tenc *e, const pq_row_group *g)
{
    pq_tenc_struct_begin(e);
    pq_tenc_field(e, 1, PQ_T_LIST);
    pq_tenc_list(e, PQ_T_STRUCT, g->ncols);
    for (uint32_t i = 0; i < g->ncols; i++) {
        const pq_column_chunk *c = &g->columns[i];
        pq_tenc_struct_begin(e);
        if (c->file_path)
            pq_tenc_binary_field(e, 1, c->file_path, strlen(c->file_path));
        pq_tenc_i64_field(e, 2, c->file_offset);
        if (c->has_meta)
            wr_column_meta(e, &c->meta);
        pq_tenc_struct_end(e);
    }
    pq_tenc_i64_field(e, 2, g->total_byte_size);
    pq_tenc_i64_field(e, 3, g->num_rows);
    if (g->file_offset >= 0)
        pq_tenc_i64_field(e, 5, g->file_offset);
    if (g->total_compressed_size >= 0)
        pq_tenc_i64_field(e, 6, g->total_compressed_size);
    pq_tenc_struct_end(e);
}

int pq_meta_encode(const pq_meta *m, tarn_buf *out)
{
    pq_tenc e;
    pq_tenc_init(&e, out);
    pq_tenc_struct_begin(&e);
    pq_tenc_i32_field(&e, 1, m->version);
    pq_tenc_field(&e, 2, PQ_T_LIST);
    pq_tenc_list(&e, PQ_T_STRUCT, m->nschema);
    for (uint32_t i = 0; i < m->nschema; i++)
        wr_schema_elem(&e, &m->schema[i]);
    pq_tenc_i64_field(&e, 3, m->num_rows);
    pq_tenc_field(&e, 4, PQ_T_LIST);
    pq_tenc_list(&e, PQ_T_STRUCT, m->nrow_groups);
    for (uint32_t i = 0; i < m->nrow_groups; i++)
        wr_row_group(&e, &m->row_groups[i]);
    if (m->nkv > 0) {
        pq_tenc_field(&e, 5, PQ_T_LIST);
        pq_tenc_list(&e, PQ_T_STRUCT, m->nkv);
        for (uint32_t i = 0; i < m->nkv; i++) {
            pq_tenc_struct_begin(&e);
            pq_tenc_binary_field(&e, 1, m->kv[i].key, strlen(m->kv[i].key));
            if (m->kv[i].value)
                pq_tenc_binary_field(&e, 2, m->kv[i].value, strlen(m->kv[i].value));
            pq_tenc_struct_end(&e);
        }
    }
    if (m->created_by)
        pq_tenc_binary_field(&e, 6, m->created_by, strlen(m->created_by));
    pq_tenc_struct_end(&e);
    return e.err;
}

int pq_page_header_encode(const pq_page_header *h, tarn_buf *out)
{
    pq_tenc e;
    pq_tenc_init(&e, out);
    pq_tenc_struct_begin(&e);
    pq_tenc_i32_field(&e, 1, h->type);
    pq_tenc_i32_field(&e, 2, h->uncompressed_size);
    pq_tenc_i32_field(&e, 3, h->compressed_size);
    if (h->has_crc)
        pq_tenc_i32_field(&e, 4, (int32_t)h->crc);
    int16_t sub = h->type == PQ_PAGE_DATA ? 5 : h->type == PQ_PAGE_DICTIONARY ? 7 : 8;
    pq_tenc_field(&e, sub, PQ_T_STRUCT);
    pq_tenc_struct_begin(&e);
    pq_tenc_i32_field(&e, 1, h->num_values);
    if (sub == 5) {
        pq_tenc_i32_field(&e, 2, h->encoding);
        pq_tenc_i32_field(&e, 3, h->def_encoding);
        pq_tenc_i32_field(&e, 4, h->rep_encoding);
        if (h->has_stats)
            wr_stats(&e, 5, &h->stats);
    } else if (sub == 7) {
        pq_tenc_i32_field(&e, 2, h->encoding);
        if (h->is_sorted)
            pq_tenc_bool_field(&e, 3, true);
    } else {
        pq_tenc_i32_field(&e, 2, h->num_nulls);
        pq_tenc_i32_field(&e, 3, h->num_rows);
        pq_tenc_i32_field(&e, 4, h->encoding);
        pq_tenc_i32_field(&e, 5, h->def_len);
        pq_tenc_i32_field(&e, 6, h->rep_len);
        pq_tenc_bool_field(&e, 7, h->is_compressed);
        if (h->has_stats)
            wr_stats(&e, 8, &h->stats);
    }
    pq_tenc_struct_end(&e);
    pq_tenc_struct_end(&e);
    return e.err;
}
