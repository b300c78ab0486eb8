/* sql/parse_util.c: the parser's token window, error reporting with
 * keyword suggestions, nesting limit and name handling (parser_int.h). */
#include "base/assert.h"
#include "base/error.h"
#include "sql/parser_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const sql_token *sqlp_peek(sql_parser *p, unsigned ahead)
{
    TARN_ASSERT(ahead < SQL_LOOKAHEAD);
    while (p->ring_count <= ahead) {
        unsigned slot = (p->ring_head + p->ring_count) % SQL_LOOKAHEAD;
        p->ring[slot] = sql_lexer_next(&p->lx);
        p->ring_count++;
    }
    return &p->ring[(p->ring_head + ahead) % SQL_LOOKAHEAD];
}

sql_token sqlp_next(sql_parser *p)
{
    sql_token t = *sqlp_peek(p, 0);
    /* End of input and errors are never consumed: every later look sees
     * them again. */
    if (t.kind == SQL_TOK_EOF || t.kind == SQL_TOK_ERROR)
        return t;
    p->ring_head = (p->ring_head + 1) % SQL_LOOKAHEAD;
    p->ring_count--;
    p->prev = t;
    p->consumed++;
    return t;
}

int sqlp_is(sql_parser *p, unsigned ahead, sql_token_kind kind)
{
    return sqlp_peek(p, ahead)->kind == kind;
}

int sqlp_is_kw(sql_parser *p, unsigned ahead, sql_keyword kw)
{
    const sql_token *t = sqlp_peek(p, ahead);
    return t->kind == SQL_TOK_WORD && t->kw == kw;
}

int sqlp_accept(sql_parser *p, sql_token_kind kind)
{
    if (!sqlp_is(p, 0, kind))
        return 0;
    sqlp_next(p);
    return 1;
}

int sqlp_accept_kw(sql_parser *p, sql_keyword kw)
{
    if (!sqlp_is_kw(p, 0, kw))
        return 0;
    sqlp_next(p);
    return 1;
}

int sqlp_expect(sql_parser *p, sql_token_kind kind)
{
    if (sqlp_accept(p, kind))
        return 0;
    return sqlp_fail_expected(p, sql_token_kind_name(kind));
}

int sqlp_expect_kw(sql_parser *p, sql_keyword kw)
{
    if (sqlp_accept_kw(p, kw))
        return 0;
    const char *name = sql_keyword_name(kw);
    return sqlp_fail_suggest(p, name, &name, 1);
}

int sqlp_edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    enum { W = 33 };
    if (an >= W || bn >= W)
        return 1000;
    int d[W][W];
    for (size_t i = 0; i <= an; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= bn; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= an; i++) {
        for (size_t j = 1; j <= bn; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20; /* ASCII case-insensitive */
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            /* A swap of neighbours ("FORM" for "FROM") costs one edit. */
            if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && (a[i - 2] | 0x20) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[an][bn];
}

/* The closest candidate to a word, or NULL when none is close: one edit for
 * words up to 4 bytes, two for longer ones; an exact match is not a typo. */
static const char *suggest(const char *w, size_t wn, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int best_d = wn <= 4 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        int dist = sqlp_edit_distance(w, wn, cands[i], strlen(cands[i]));
        if (dist > 0 && dist < best_d) {
            best = cands[i];
            best_d = dist;
        }
    }
    return best;
}

static void describe(const sql_token *t, char *out, size_t cap)
{
    int n = t->len > 40 ? 40 : (int)t->len;
    const char *more = t->len > 40 ? "..." : "";
    if (t->kind == SQL_TOK_EOF)
        snprintf(out, cap, "end of input");
    else if (t->kind == SQL_TOK_STRING)
        snprintf(out, cap, "string %.*s%s", n, t->start, more);
    else
        snprintf(out, cap, "'%.*s'%s", n, t->start, more);
}

int sqlp_fail_at(sql_parser *p, int code, sql_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->err->code = code;
    p->err->pos = pos;
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    p->err->hint[0] = '\0';
    p->err->incomplete = 0;
    va_end(ap);
    return code;
}

/* Clause keywords that may follow a select item or a table: the ones a
 * misspelled word read as an implicit alias most likely meant. */
static const char *const clause_words[] = {"FROM",  "WHERE",  "GROUP", "HAVING", "ORDER",
                                           "LIMIT", "OFFSET", "UNION", "JOIN",   "INNER",
                                           "LEFT",  "CROSS",  "ON"};

static int fail_after_alias(sql_parser *p)
{
    const sql_token *a = &p->alias_tok;
    if (a->kind != SQL_TOK_WORD)
        return 0;
    const char *kw = suggest(a->start, a->len, clause_words, TARN_ARRAY_LEN(clause_words));
    if (kw == NULL)
        return 0;
    sqlp_fail_at(p, TARN_ESYNTAX, a->pos, "expected %s, found '%.*s'", kw, (int)a->len, a->start);
    snprintf(p->err->hint, sizeof(p->err->hint), "did you mean %s?", kw);
    return 1;
}

int sqlp_fail_suggest(sql_parser *p, const char *what, const char *const *cands, size_t n)
{
    const sql_token *t = sqlp_peek(p, 0);
    if (t->kind == SQL_TOK_ERROR) {
        *p->err = p->lx.err;
        return p->err->code;
    }
    if (p->alias_next != 0 && p->alias_next == p->consumed && fail_after_alias(p))
        return TARN_ESYNTAX;
    char found[64];
    describe(t, found, sizeof(found));
    sqlp_fail_at(p, TARN_ESYNTAX, t->pos, "expected %s, found %s", what, found);
    p->err->incomplete = t->kind == SQL_TOK_EOF;
    const char *s = NULL;
    if (t->kind == SQL_TOK_WORD && n > 0)
        s = suggest(t->start, t->len, cands, n);
    if (s != NULL)
        snprintf(p->err->hint, sizeof(p->err->hint), "did you mean %s?", s);
    return TARN_ESYNTAX;
}

int sqlp_fail_expected(sql_parser *p, const char *what)
{
    return sqlp_fail_suggest(p, what, NULL, 0);
}

int sqlp_fail_alloc(sql_parser *p)
{
    int code = sql_arena_last_error(p->arena);
    sql_pos pos = sqlp_peek(p, 0)->pos;
    if (code == TARN_ETOOBIG)
        return sqlp_fail_at(p, code, pos, "statement too large: the syntax tree exceeds %zu bytes",
                            p->arena->max_bytes ? p->arena->max_bytes : SQL_ARENA_MAX_BYTES);
    return sqlp_fail_at(p, TARN_ENOMEM, pos, "out of memory while parsing");
}

int sqlp_enter(sql_parser *p)
{
    if (p->depth >= SQL_NEST_MAX)
        return sqlp_fail_at(p, TARN_ETOOBIG, sqlp_peek(p, 0)->pos,
                            "statement nested too deeply (more than %d levels)", SQL_NEST_MAX);
    p->depth++;
    return 0;
}

void sqlp_leave(sql_parser *p)
{
    TARN_ASSERT(p->depth > 0);
    p->depth--;
}

sql_node *sqlp_node(sql_parser *p, sql_node_kind kind, sql_pos pos)
{
    sql_node *n = sql_node_new(p->arena, kind, pos);
    if (n == NULL)
        sqlp_fail_alloc(p);
    return n;
}

int sqlp_push(sql_parser *p, sql_list *l, sql_node *n)
{
    int rc = sql_list_push(p->arena, l, n);
    if (rc == TARN_ETOOBIG && l->count >= SQL_LIST_MAX)
        return sqlp_fail_at(p, rc, n->pos, "list longer than %d items", SQL_LIST_MAX);
    if (rc != 0)
        return sqlp_fail_alloc(p);
    return 0;
}

int sqlp_is_name(sql_parser *p, unsigned ahead)
{
    const sql_token *t = sqlp_peek(p, ahead);
    return t->kind == SQL_TOK_QIDENT || (t->kind == SQL_TOK_WORD && !sql_keyword_reserved(t->kw));
}

int sqlp_name(sql_parser *p, sql_name *out, const char *what)
{
    if (!sqlp_is_name(p, 0)) {
        int rc = sqlp_fail_expected(p, what);
        const sql_token *t = sqlp_peek(p, 0);
        if (t->kind == SQL_TOK_WORD && p->err->hint[0] == '\0')
            snprintf(p->err->hint, sizeof(p->err->hint),
                     "%s is a reserved word; write \"%.*s\" to use it as a name",
                     sql_keyword_name(t->kw), (int)t->len, t->start);
        return rc;
    }
    sql_token t = sqlp_next(p);
    char buf[SQL_IDENT_MAX_BYTES];
    long n;
    if (t.kind == SQL_TOK_QIDENT) {
        n = sql_token_unquote(&t, buf, sizeof(buf));
    } else {
        n = t.len <= sizeof(buf) ? (long)t.len : -1;
        if (n >= 0)
            memcpy(buf, t.start, (size_t)n);
    }
    if (n < 0)
        return sqlp_fail_at(p, TARN_ETOOBIG, t.pos, "identifier longer than %d bytes",
                            SQL_IDENT_MAX_BYTES);
    out->pos = t.pos;
    out->quoted = t.kind == SQL_TOK_QIDENT;
    out->text = sql_arena_strndup(p->arena, buf, (size_t)n);
    if (out->text == NULL)
        return sqlp_fail_alloc(p);
    out->folded = out->text;
    if (out->quoted)
        return 0;
    /* Plain identifiers fold to lower case (ASCII only: bytes >= 0x80 of
     * UTF-8 names are kept as they are). */
    for (long i = 0; i < n; i++)
        if (buf[i] >= 'A' && buf[i] <= 'Z')
            buf[i] = (char)(buf[i] - 'A' + 'a');
    out->folded = sql_arena_strndup(p->arena, buf, (size_t)n);
    return out->folded ? 0 : sqlp_fail_alloc(p);
}

int sqlp_opt_alias(sql_parser *p, sql_name *out)
{
    if (sqlp_accept_kw(p, SQL_KW_AS))
        return sqlp_name(p, out, "an alias");
    const sql_token *t = sqlp_peek(p, 0);
    /* Without AS only a word that is no keyword at all (or a quoted name)
     * is an alias, so "FROM t VERSION AS OF 3" and "t LEFT JOIN" parse. */
    if (t->kind == SQL_TOK_QIDENT || (t->kind == SQL_TOK_WORD && t->kw == SQL_KW_NONE)) {
        p->alias_tok = *t;
        int rc = sqlp_name(p, out, "an alias");
        p->alias_next = p->consumed;
        return rc;
    }
    return 0;
}
