/*
 * sql/ast.h: the syntax tree the SQL parser builds (design note:
 * src/sql/README.md).
 *
 * Invariants of every tree the parser returns:
 *  1. Every node and every string lives in the tree's arena; freeing the
 *     arena (sql_script_free) frees the whole tree at once.
 *  2. Every node carries the position of its first token (pos); operator
 *     nodes also that of the operator (op_pos).
 *  3. Names keep the text as written (quotes removed, "" unescaped) and a
 *     case-folded form: lower case for plain identifiers, the text itself
 *     for quoted ones. The binder compares folded forms.
 *  4. Literals keep their source text and their parsed value.
 *  5. The tree is at most SQL_TREE_DEPTH_MAX nodes deep, so code that walks
 *     it recursively (printers, the binder) has a bounded stack.
 *  6. Optional children are NULL; optional names have text == NULL.
 *
 * Threads: a tree belongs to one thread at a time; read-only use from
 * several threads is fine once parsing finished.
 */
#ifndef TARN_SQL_AST_H
#define TARN_SQL_AST_H

#include <stddef.h>
#include <stdint.h>

/* Where a token or node starts: byte offset from the start of the text,
 * 1-based line and 1-based column (in bytes). */
typedef struct sql_pos {
    uint32_t offset;
    uint32_t line;
    uint32_t col;
} sql_pos;

/* ---- arena ---------------------------------------------------------- */

typedef struct sql_arena_chunk sql_arena_chunk;

/* A bump allocator for one tree. Zero-initialise or sql_arena_init. */
typedef struct sql_arena {
    sql_arena_chunk *head; /* newest chunk first; owned */
    size_t used_bytes;     /* bytes handed out plus chunk headers */
    size_t max_bytes;      /* allocations beyond this fail with TARN_ETOOBIG */
    int last_error;        /* TARN_E* code of the last failed allocation */
} sql_arena;

#define SQL_ARENA_MAX_BYTES ((size_t)256 << 20)

void sql_arena_init(sql_arena *a, size_t max_bytes);
/* Zeroed, 16-byte aligned memory valid until sql_arena_free. NULL when the
 * allocation fails or the arena would exceed max_bytes (the caller cannot
 * tell which: sql_arena_last_error says). */
void *sql_arena_alloc(sql_arena *a, size_t size);
/* TARN_ENOMEM or TARN_ETOOBIG for the last failed sql_arena_alloc. */
int sql_arena_last_error(const sql_arena *a);
/* Copies n bytes and a NUL. */
char *sql_arena_strndup(sql_arena *a, const char *s, size_t n);
/* Frees every chunk; the arena is empty and reusable. */
void sql_arena_free(sql_arena *a);

/* ---- names, types, lists ------------------------------------------- */

typedef struct sql_name {
    const char *text;   /* as written, unquoted; NULL when absent */
    const char *folded; /* lower case unless quoted */
    uint8_t quoted;     /* 1 for "quoted" identifiers */
    sql_pos pos;
} sql_name;

typedef struct sql_name_list {
    sql_name *items;
    uint32_t count;
    uint32_t cap;
} sql_name_list;

typedef struct sql_node sql_node;

typedef struct sql_list {
    sql_node **items;
    uint32_t count;
    uint32_t cap;
} sql_list;

#define SQL_TYPE_TABLE(X)                                                                          \
    X(SQL_TYPE_BOOLEAN, "boolean")                                                                 \
    X(SQL_TYPE_TINYINT, "tinyint")                                                                 \
    X(SQL_TYPE_SMALLINT, "smallint")                                                               \
    X(SQL_TYPE_INT, "int")                                                                         \
    X(SQL_TYPE_BIGINT, "bigint")                                                                   \
    X(SQL_TYPE_REAL, "real")                                                                       \
    X(SQL_TYPE_DOUBLE, "double")                                                                   \
    X(SQL_TYPE_DECIMAL, "decimal")                                                                 \
    X(SQL_TYPE_VARCHAR, "varchar")                                                                 \
    X(SQL_TYPE_DATE, "date")                                                                       \
    X(SQL_TYPE_TIMESTAMP, "timestamp")

typedef enum sql_type_kind {
#define SQL_X_ENUM(e, s) e,
    SQL_TYPE_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
} sql_type_kind;

typedef struct sql_type {
    sql_type_kind kind;
    int32_t precision; /* DECIMAL: 1..38 (18 when not written) */
    int32_t scale;     /* DECIMAL: 0..precision (0 when not written) */
    int32_t length;    /* VARCHAR(n): n; -1 for VARCHAR, TEXT, STRING */
    sql_pos pos;
} sql_type;

#define SQL_DECIMAL_PRECISION_MAX 38

/* ---- node kinds ----------------------------------------------------- */

/* X(ENUM, "name"): the name is the S-expression head and the JSON "kind";
 * both are stable. Expression kinds come first, up to SQL_EXTRACT: code
 * tests `kind < SQL_QUERY` for "is an expression". */
#define SQL_NODE_TABLE(X)                                                                          \
    X(SQL_LITERAL, "literal")                                                                      \
    X(SQL_COLUMN, "column")                                                                        \
    X(SQL_STAR, "star")                                                                            \
    X(SQL_UNARY, "unary")                                                                          \
    X(SQL_BINARY, "binary")                                                                        \
    X(SQL_IS_NULL, "is-null")                                                                      \
    X(SQL_BETWEEN, "between")                                                                      \
    X(SQL_IN_LIST, "in")                                                                           \
    X(SQL_LIKE, "like")                                                                            \
    X(SQL_CASE, "case")                                                                            \
    X(SQL_WHEN, "when")                                                                            \
    X(SQL_CAST, "cast")                                                                            \
    X(SQL_CALL, "call")                                                                            \
    X(SQL_EXTRACT, "extract")                                                                      \
    X(SQL_QUERY, "query")                                                                          \
    X(SQL_CTE, "cte")                                                                              \
    X(SQL_UNION_ALL, "union-all")                                                                  \
    X(SQL_SELECT, "select")                                                                        \
    X(SQL_SELECT_ITEM, "item")                                                                     \
    X(SQL_ORDER_ITEM, "order")                                                                     \
    X(SQL_TABLE_REF, "table")                                                                      \
    X(SQL_TABLE_FUNC, "table-func")                                                                \
    X(SQL_DERIVED, "derived")                                                                      \
    X(SQL_JOIN, "join")                                                                            \
    X(SQL_CREATE_TABLE, "create-table")                                                            \
    X(SQL_COLUMN_DEF, "column-def")                                                                \
    X(SQL_INSERT, "insert")                                                                        \
    X(SQL_VALUES_ROW, "row")                                                                       \
    X(SQL_COPY, "copy")                                                                            \
    X(SQL_DELETE, "delete")                                                                        \
    X(SQL_DROP_TABLE, "drop-table")                                                                \
    X(SQL_SHOW_TABLES, "show-tables")                                                              \
    X(SQL_DESCRIBE, "describe")                                                                    \
    X(SQL_OPTIMIZE, "optimize")                                                                    \
    X(SQL_VACUUM, "vacuum")                                                                        \
    X(SQL_EXPLAIN, "explain")                                                                      \
    X(SQL_SET, "set")

typedef enum sql_node_kind {
#define SQL_X_ENUM(e, s) e,
    SQL_NODE_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
        SQL_NODE_KIND_COUNT
} sql_node_kind;

#define SQL_LIT_TABLE(X)                                                                           \
    X(SQL_LIT_NULL, "null")                                                                        \
    X(SQL_LIT_BOOL, "bool")                                                                        \
    X(SQL_LIT_INT, "int")             /* fits int64: ival */                                       \
    X(SQL_LIT_DECIMAL, "decimal")     /* digits with '.', or too big for int64: text, dval */      \
    X(SQL_LIT_DOUBLE, "double")       /* with an exponent: dval */                                 \
    X(SQL_LIT_STRING, "string")       /* str (unescaped) */                                        \
    X(SQL_LIT_DATE, "date")           /* str; ival = days since 1970-01-01 */                      \
    X(SQL_LIT_TIMESTAMP, "timestamp") /* str; ival = microseconds since 1970-01-01 00:00:00 */     \
    X(SQL_LIT_INTERVAL, "interval")   /* str; ival = count of `unit` */

typedef enum sql_lit_kind {
#define SQL_X_ENUM(e, s) e,
    SQL_LIT_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
} sql_lit_kind;

#define SQL_INTERVAL_UNIT_TABLE(X)                                                                 \
    X(SQL_UNIT_YEAR, "year")                                                                       \
    X(SQL_UNIT_MONTH, "month")                                                                     \
    X(SQL_UNIT_DAY, "day")                                                                         \
    X(SQL_UNIT_HOUR, "hour")                                                                       \
    X(SQL_UNIT_MINUTE, "minute")                                                                   \
    X(SQL_UNIT_SECOND, "second")

typedef enum sql_interval_unit {
#define SQL_X_ENUM(e, s) e,
    SQL_INTERVAL_UNIT_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
} sql_interval_unit;

/* Operators: X(ENUM, "sexpr name", "sql spelling", precedence). Higher
 * precedence binds tighter; binary operators are left-associative. The
 * precedence table in README.md is this table. */
#define SQL_OP_TABLE(X)                                                                            \
    X(SQL_OP_OR, "or", "OR", 1)                                                                    \
    X(SQL_OP_AND, "and", "AND", 2)                                                                 \
    X(SQL_OP_NOT, "not", "NOT", 3)                                                                 \
    X(SQL_OP_EQ, "=", "=", 5)                                                                      \
    X(SQL_OP_NE, "<>", "<>", 5)                                                                    \
    X(SQL_OP_LT, "<", "<", 5)                                                                      \
    X(SQL_OP_LE, "<=", "<=", 5)                                                                    \
    X(SQL_OP_GT, ">", ">", 5)                                                                      \
    X(SQL_OP_GE, ">=", ">=", 5)                                                                    \
    X(SQL_OP_CONCAT, "||", "||", 7)                                                                \
    X(SQL_OP_ADD, "+", "+", 8)                                                                     \
    X(SQL_OP_SUB, "-", "-", 8)                                                                     \
    X(SQL_OP_MUL, "*", "*", 9)                                                                     \
    X(SQL_OP_DIV, "/", "/", 9)                                                                     \
    X(SQL_OP_MOD, "%", "%", 9)                                                                     \
    X(SQL_OP_NEG, "neg", "-", 10)                                                                  \
    X(SQL_OP_PLUS, "pos", "+", 10)

typedef enum sql_op {
#define SQL_X_ENUM(e, s, q, p) e,
    SQL_OP_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
} sql_op;

/* Precedence of the postfix and special forms (see SQL_OP_TABLE). */
#define SQL_PREC_IS    4  /* IS [NOT] NULL */
#define SQL_PREC_CMP   5  /* = <> < <= > >= */
#define SQL_PREC_RANGE 6  /* [NOT] BETWEEN, [NOT] IN, [NOT] LIKE */
#define SQL_PREC_UNARY 10 /* unary - + */
#define SQL_PREC_CAST  11 /* x::type */
#define SQL_PREC_ATOM  12 /* literals, names, calls, CASE, CAST(...) */

typedef enum sql_nulls_order { SQL_NULLS_DEFAULT, SQL_NULLS_FIRST, SQL_NULLS_LAST } sql_nulls_order;
typedef enum sql_join_kind { SQL_JOIN_INNER, SQL_JOIN_LEFT, SQL_JOIN_CROSS } sql_join_kind;
typedef enum sql_travel_kind {
    SQL_TRAVEL_NONE,
    SQL_TRAVEL_VERSION,  /* VERSION AS OF <int literal> */
    SQL_TRAVEL_TIMESTAMP /* TIMESTAMP AS OF <string literal> */
} sql_travel_kind;
typedef enum sql_copy_format {
    SQL_FORMAT_DEFAULT, /* no (FORMAT ...): decided from the file name */
    SQL_FORMAT_CSV,
    SQL_FORMAT_PARQUET,
    SQL_FORMAT_JSON
} sql_copy_format;

/* ---- the node ------------------------------------------------------- */

struct sql_node {
    sql_node_kind kind;
    sql_pos pos;    /* the node's first token */
    sql_pos op_pos; /* operator forms (binary, IS NULL, BETWEEN, IN, LIKE, ::): the
                       operator's first token, for errors about the operation; else pos */
    union {
        struct {
            sql_lit_kind kind;
            const char *text; /* source text (numbers, keywords) */
            const char *str;  /* string value (STRING, DATE, TIMESTAMP, INTERVAL) */
            int64_t ival;
            double dval;
            int bval;
            sql_interval_unit unit;
        } lit;
        struct {
            sql_name table; /* qualifier; text NULL when unqualified */
            sql_name column;
        } column;
        struct {
            sql_name table; /* t.*; text NULL for a bare * */
        } star;
        struct {
            sql_op op; /* NOT, NEG or PLUS */
            sql_node *arg;
        } unary;
        struct {
            sql_op op;
            sql_node *left;
            sql_node *right;
        } binary;
        struct {
            sql_node *arg;
            int negated; /* IS NOT NULL */
        } is_null;
        struct {
            sql_node *arg, *lo, *hi;
            int negated;
        } between;
        struct {
            sql_node *arg;
            sql_list list;
            int negated;
        } in_list;
        struct {
            sql_node *arg, *pattern;
            int negated;
        } like;
        struct {
            sql_node *operand; /* simple CASE x WHEN ...; NULL for searched */
            sql_list whens;    /* SQL_WHEN nodes */
            sql_node *else_expr;
        } case_;
        struct {
            sql_node *cond, *result;
        } when;
        struct {
            sql_node *arg;
            sql_type type;
            int colon_syntax; /* written x::type rather than CAST(x AS type) */
        } cast;
        struct {
            sql_name name; /* function name; the binder resolves it */
            sql_list args;
            int distinct; /* f(DISTINCT x) */
            int star;     /* count(*) */
        } call;
        struct {
            sql_name field; /* year, month, ... as written */
            sql_node *arg;
        } extract;
        struct {
            sql_list ctes;     /* SQL_CTE */
            sql_node *body;    /* SQL_SELECT, SQL_UNION_ALL or SQL_QUERY */
            sql_list order_by; /* SQL_ORDER_ITEM */
            sql_node *limit, *offset;
        } query;
        struct {
            sql_name name;
            sql_node *query;
        } cte;
        struct {
            sql_node *left, *right;
        } union_all;
        struct {
            int distinct;
            sql_list items;  /* SQL_SELECT_ITEM */
            sql_node *from;  /* table ref, table func, derived or join; NULL */
            sql_node *where; /* NULL */
            sql_list group_by;
            sql_node *having; /* NULL */
        } select;
        struct {
            sql_node *expr; /* may be SQL_STAR */
            sql_name alias;
        } item;
        struct {
            sql_node *expr;
            int desc;
            sql_nulls_order nulls;
        } order;
        struct {
            sql_name name;
            sql_name alias;
            sql_travel_kind travel;
            sql_node *as_of; /* SQL_LITERAL (int or string) when travel != NONE */
        } table;
        struct {
            sql_name name; /* read_parquet, delta_scan, ... */
            sql_list args;
            sql_name alias;
        } table_func;
        struct {
            sql_node *query; /* SQL_QUERY */
            sql_name alias;
        } derived;
        struct {
            sql_join_kind kind;
            sql_node *left, *right;
            sql_node *on; /* NULL for CROSS (and the comma) */
        } join;
        struct {
            sql_name name;
            sql_list columns; /* SQL_COLUMN_DEF; empty for AS SELECT */
            sql_name_list partition_by;
            sql_node *as_query; /* SQL_QUERY or NULL */
            int if_not_exists;
        } create;
        struct {
            sql_name name;
            sql_type type;
            int not_null;
        } column_def;
        struct {
            sql_name table;
            sql_name_list columns; /* empty: all, in table order */
            sql_list rows;         /* SQL_VALUES_ROW; empty when query is set */
            sql_node *query;       /* SQL_QUERY or NULL */
        } insert;
        struct {
            sql_list values;
        } row;
        struct {
            sql_name table;
            sql_node *path; /* SQL_LITERAL string */
            sql_copy_format format;
        } copy;
        struct {
            sql_name table;
            sql_node *where; /* NULL: every row */
        } delete_;
        struct {
            sql_name table;
            int if_exists;
        } drop;
        struct {
            sql_name table;
            int history; /* DESCRIBE HISTORY t */
        } describe;
        struct {
            sql_name table;
        } optimize;
        struct {
            sql_name table;
            sql_node *retain_hours; /* SQL_LITERAL int, or NULL */
        } vacuum;
        struct {
            int analyze;
            sql_node *stmt; /* SQL_QUERY */
        } explain;
        struct {
            sql_name name;   /* the setting (threads) */
            sql_node *value; /* SQL_LITERAL int */
        } set;
    } u;
};

/* Stable names for the enums ("select", "int", "<=", "day", ...). */
const char *sql_node_kind_name(sql_node_kind k);
const char *sql_lit_kind_name(sql_lit_kind k);
const char *sql_op_name(sql_op op);
const char *sql_op_sql(sql_op op);
int sql_op_prec(sql_op op);
const char *sql_type_kind_name(sql_type_kind k);
const char *sql_interval_unit_name(sql_interval_unit u);

/* Allocates a zeroed node in the arena (NULL when it fails). */
sql_node *sql_node_new(sql_arena *a, sql_node_kind kind, sql_pos pos);
/* Appends to a list, growing it in the arena. TARN_ENOMEM, TARN_ETOOBIG
 * (arena limit or more than SQL_LIST_MAX items). */
int sql_list_push(sql_arena *a, sql_list *l, sql_node *n);
int sql_name_list_push(sql_arena *a, sql_name_list *l, const sql_name *n);

/* The i-th child node of n in a fixed order (NULL past the last one), so
 * that walkers need no per-kind code. */
const sql_node *sql_node_child(const sql_node *n, size_t i);

/* Checks that the tree under n is at most max_depth nodes deep, without
 * recursion (explicit bounded stack). 0, or TARN_ETOOBIG with *deep_out set
 * to the first node found below the limit. */
int sql_tree_check_depth(const sql_node *n, size_t max_depth, const sql_node **deep_out);

#endif
