/* sql/arena.c: the bump allocator that holds one syntax tree (ast.h). One
 * free releases the tree; a failed allocation is an error the parser
 * reports, never a crash. */
#include "base/alloc.h"
#include "base/error.h"
#include "sql/ast.h"

#include <string.h>

#define SQL_ARENA_CHUNK_BYTES ((size_t)16 << 10)
#define SQL_ARENA_ALIGN       16

struct sql_arena_chunk {
    sql_arena_chunk *next;
    size_t cap;  /* usable bytes after the header */
    size_t used; /* bytes handed out */
    /* data follows, aligned */
    _Alignas(SQL_ARENA_ALIGN) unsigned char data[];
};

void sql_arena_init(sql_arena *a, size_t max_bytes)
{
    a->head = NULL;
    a->used_bytes = 0;
    a->max_bytes = max_bytes;
    a->last_error = 0;
}

static void *arena_fail(sql_arena *a, int code)
{
    a->last_error = code;
    return NULL;
}

/* A new chunk with room for `need` bytes, within the arena's maximum:
 * normally SQL_ARENA_CHUNK_BYTES, less when only less is left, exactly
 * `need` for big requests. */
static sql_arena_chunk *chunk_new(sql_arena *a, size_t need)
{
    size_t header = sizeof(sql_arena_chunk);
    size_t limit = a->max_bytes ? a->max_bytes : SQL_ARENA_MAX_BYTES;
    if (a->used_bytes > limit || header > limit - a->used_bytes ||
        need > limit - a->used_bytes - header) {
        arena_fail(a, TARN_ETOOBIG);
        return NULL;
    }
    size_t room = limit - a->used_bytes - header; /* >= need */
    size_t cap = need > SQL_ARENA_CHUNK_BYTES / 4 ? need : SQL_ARENA_CHUNK_BYTES;
    if (cap > room)
        cap = room;
    sql_arena_chunk *n = tarn_malloc(header + cap);
    if (n == NULL) {
        arena_fail(a, TARN_ENOMEM);
        return NULL;
    }
    n->cap = cap;
    n->used = 0;
    a->used_bytes += header + cap;
    return n;
}

void *sql_arena_alloc(sql_arena *a, size_t size)
{
    size_t need = (size + SQL_ARENA_ALIGN - 1) & ~(size_t)(SQL_ARENA_ALIGN - 1);
    if (need < size)
        return arena_fail(a, TARN_ETOOBIG);
    sql_arena_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < need) {
        sql_arena_chunk *n = chunk_new(a, need);
        if (n == NULL)
            return NULL;
        if (c != NULL && need > SQL_ARENA_CHUNK_BYTES / 4) {
            /* A big request gets a chunk of its own, linked behind the
             * current one, which keeps serving small requests. */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

int sql_arena_last_error(const sql_arena *a)
{
    return a->last_error ? a->last_error : TARN_ENOMEM;
}

char *sql_arena_strndup(sql_arena *a, const char *s, size_t n)
{
    char *p = sql_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void sql_arena_free(sql_arena *a)
{
    sql_arena_chunk *c = a->head;
    while (c != NULL) {
        sql_arena_chunk *next = c->next;
        tarn_free(c);
        c = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
}
