/*
 * kv/read.c: reads in a store read transaction: get, and range scans in
 * key byte order with a continuation token (hex of the next key to
 * return). Design note: src/kv/README.md ("Reads").
 */
#include "kv/kv_int.h"

#include "base/alloc.h"
#include "base/hash.h"

#include <string.h>

int kv_get(store_txn *txn, const void *key, size_t klen, kv_item *out)
{
    if (key == NULL || klen == 0 || klen > KV_KEY_MAX_BYTES)
        return TARN_EINVAL;
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, KV_TABLE_DATA, key, klen, &v, &vl);
    if (rc != 0)
        return rc;
    out->key = key;
    out->key_len = klen;
    return kv_record_parse(v, vl, out);
}

/* Decodes an untrusted token (hex of a key) into key (KV_KEY_MAX_BYTES). */
static int token_decode(const char *tok, uint8_t *key, size_t *klen)
{
    size_t n = strnlen(tok, KV_TOKEN_MAX_BYTES);
    if (n == 0 || n % 2 != 0 || n >= KV_TOKEN_MAX_BYTES)
        return TARN_EINVAL;
    if (tarn_hex_decode(tok, n, key, n / 2) != 0)
        return TARN_EINVAL;
    *klen = n / 2;
    return 0;
}

/* memcmp order with the shorter key first on a tie (LMDB's order). */
static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

/* Works out where the page starts: start, or the token's key. */
static int scan_from(const kv_scan_opts *o, uint8_t *tok_key, const void **from, size_t *from_len,
                     tarn_err *err)
{
    *from = o->start;
    *from_len = o->start ? o->start_len : 0;
    if (*from_len > KV_KEY_MAX_BYTES || (o->end && o->end_len > KV_KEY_MAX_BYTES))
        return tarn_err_set(err, TARN_EINVAL, "scan bound longer than %d bytes", KV_KEY_MAX_BYTES);
    if (o->limit > KV_SCAN_LIMIT_MAX)
        return tarn_err_set(err, TARN_EINVAL, "limit %zu above %d", o->limit, KV_SCAN_LIMIT_MAX);
    if (o->token == NULL || o->token[0] == 0)
        return 0;
    size_t tl;
    if (token_decode(o->token, tok_key, &tl) != 0)
        return tarn_err_set(err, TARN_EINVAL, "malformed continuation token");
    /* A token from another range would skip or repeat keys: refuse it. */
    if (key_cmp(tok_key, tl, *from, *from_len) < 0 ||
        (o->end && o->end_len > 0 && key_cmp(tok_key, tl, o->end, o->end_len) >= 0))
        return tarn_err_set(err, TARN_EINVAL, "continuation token outside the range");
    *from = tok_key;
    *from_len = tl;
    return 0;
}

static int scan_collect(store_cursor *c, const kv_scan_opts *o, const void *from, size_t from_len,
                        size_t limit, kv_scan_page *page)
{
    const void *k, *v;
    size_t kl, vl;
    int rc = store_cursor_seek(c, from, from_len, &k, &kl, &v, &vl);
    while (rc == 0) {
        if (o->end && o->end_len > 0 && key_cmp(k, kl, o->end, o->end_len) >= 0)
            return 0;
        if (page->count == limit) {
            tarn_hex_encode(k, kl, page->next_token);
            return 0;
        }
        kv_item *it = &page->items[page->count];
        if ((rc = kv_record_parse(v, vl, it)) != 0)
            return rc;
        it->key = k;
        it->key_len = kl;
        page->count++;
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
    }
    return rc == TARN_ENOENT ? 0 : rc;
}

int kv_scan(store_txn *txn, const kv_scan_opts *o, kv_scan_page *page, tarn_err *err)
{
    memset(page, 0, sizeof(*page));
    uint8_t tok_key[KV_KEY_MAX_BYTES];
    const void *from;
    size_t from_len, limit = o->limit ? o->limit : KV_SCAN_LIMIT_MAX;
    int rc = scan_from(o, tok_key, &from, &from_len, err);
    if (rc != 0)
        return rc;
    page->items = tarn_malloc_array(limit, sizeof(kv_item));
    if (page->items == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "scan page of %zu", limit);
    store_cursor *c;
    if ((rc = store_cursor_open(txn, KV_TABLE_DATA, &c)) != 0)
        return tarn_err_set(err, rc, "scan: open cursor");
    rc = scan_collect(c, o, from, from_len, limit, page);
    store_cursor_close(c);
    if (rc != 0)
        return tarn_err_set(err, rc, "scan");
    return 0;
}

void kv_scan_page_free(kv_scan_page *page)
{
    if (page == NULL)
        return;
    tarn_free(page->items);
    page->items = NULL;
    page->count = 0;
}
