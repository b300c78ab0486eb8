/* sql/print_int.h: what the three printers (print_sexpr.c, print_sql.c,
 * print_json.c) share: a sticky-error output, names, strings and types. */
#ifndef TARN_SQL_PRINT_INT_H
#define TARN_SQL_PRINT_INT_H

#include "sql/sql.h"

/* Printers recurse over the tree; trees from the parser are at most
 * SQL_TREE_DEPTH_MAX deep, and hand-built ones are refused past this. */
#define SQL_PRINT_DEPTH_MAX (SQL_TREE_DEPTH_MAX + 16)

typedef struct sql_printer {
    tarn_buf *buf;
    int rc; /* first error; once set, output stops */
} sql_printer;

void sqlpr_printf(sql_printer *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sqlpr_str(sql_printer *pr, const char *s);
/* 'text' with quotes doubled. */
void sqlpr_quoted(sql_printer *pr, const char *s, char quote);
/* Folded form for plain names; "text" for quoted names and for names that
 * would not read back as the same plain identifier (keywords, case). */
void sqlpr_name(sql_printer *pr, const sql_name *n);
/* decimal(15,2), varchar(10), double, ... */
void sqlpr_type(sql_printer *pr, const sql_type *t);
/* Returns nonzero (and records TARN_ETOOBIG) when depth is past the limit. */
int sqlpr_too_deep(sql_printer *pr, int depth);

#endif
