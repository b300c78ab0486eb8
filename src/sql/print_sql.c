/* sql/print_sql.c: a tree back to SQL text that parses to the same tree.
 * Expressions get parentheses only where the precedence table (ast.h)
 * needs them, so the randomized round-trip test exercises precedence and
 * associativity of the parser, not just its parentheses. */
#include "base/error.h"
#include "sql/print_int.h"

static void node(sql_printer *pr, const sql_node *n, int depth);
static void expr(sql_printer *pr, const sql_node *n, int min_prec, int depth);

/* How tightly a node binds (SQL_OP_TABLE and the SQL_PREC_* values). */
static int prec_of(const sql_node *n)
{
    switch (n->kind) {
    case SQL_UNARY:
        return sql_op_prec(n->u.unary.op);
    case SQL_BINARY:
        return sql_op_prec(n->u.binary.op);
    case SQL_IS_NULL:
        return SQL_PREC_IS;
    case SQL_BETWEEN:
    case SQL_IN_LIST:
    case SQL_LIKE:
        return SQL_PREC_RANGE;
    case SQL_CAST:
        return n->u.cast.colon_syntax ? SQL_PREC_CAST : SQL_PREC_ATOM;
    default:
        return SQL_PREC_ATOM;
    }
}

static void list(sql_printer *pr, const sql_list *l, const char *sep, int depth)
{
    for (uint32_t i = 0; i < l->count; i++) {
        if (i > 0)
            sqlpr_str(pr, sep);
        node(pr, l->items[i], depth + 1);
    }
}

static void literal(sql_printer *pr, const sql_node *n)
{
    switch (n->u.lit.kind) {
    case SQL_LIT_NULL:
        sqlpr_str(pr, "NULL");
        break;
    case SQL_LIT_BOOL:
        sqlpr_str(pr, n->u.lit.bval ? "TRUE" : "FALSE");
        break;
    case SQL_LIT_STRING:
        sqlpr_quoted(pr, n->u.lit.str, '\'');
        break;
    case SQL_LIT_DATE:
    case SQL_LIT_TIMESTAMP:
    case SQL_LIT_INTERVAL:
        sqlpr_str(pr, n->u.lit.kind == SQL_LIT_DATE        ? "DATE "
                      : n->u.lit.kind == SQL_LIT_TIMESTAMP ? "TIMESTAMP "
                                                           : "INTERVAL ");
        sqlpr_quoted(pr, n->u.lit.str, '\'');
        if (n->u.lit.kind == SQL_LIT_INTERVAL)
            sqlpr_printf(pr, " %s", sql_interval_unit_name(n->u.lit.unit));
        break;
    default:
        sqlpr_str(pr, n->u.lit.text);
        break;
    }
}

static void call(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_name(pr, &n->u.call.name);
    sqlpr_str(pr, n->u.call.star ? "(*" : n->u.call.distinct ? "(DISTINCT " : "(");
    list(pr, &n->u.call.args, ", ", depth);
    sqlpr_str(pr, ")");
}

static void case_expr(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "CASE");
    if (n->u.case_.operand != NULL) {
        sqlpr_str(pr, " ");
        expr(pr, n->u.case_.operand, 0, depth + 1);
    }
    for (uint32_t i = 0; i < n->u.case_.whens.count; i++) {
        const sql_node *w = n->u.case_.whens.items[i];
        sqlpr_str(pr, " WHEN ");
        expr(pr, w->u.when.cond, 0, depth + 2);
        sqlpr_str(pr, " THEN ");
        expr(pr, w->u.when.result, 0, depth + 2);
    }
    if (n->u.case_.else_expr != NULL) {
        sqlpr_str(pr, " ELSE ");
        expr(pr, n->u.case_.else_expr, 0, depth + 1);
    }
    sqlpr_str(pr, " END");
}

static void qualified(sql_printer *pr, const sql_name *table, const sql_name *col)
{
    if (table->text != NULL) {
        sqlpr_name(pr, table);
        sqlpr_str(pr, ".");
    }
    if (col != NULL)
        sqlpr_name(pr, col);
    else
        sqlpr_str(pr, "*");
}

/* The operator forms: operands at the precedence their position needs. */
static void operator_expr(sql_printer *pr, const sql_node *n, int depth)
{
    int p = prec_of(n);
    const char *no = "";
    switch (n->kind) {
    case SQL_UNARY:
        sqlpr_printf(pr, "%s ", sql_op_sql(n->u.unary.op));
        expr(pr, n->u.unary.arg, p, depth + 1);
        break;
    case SQL_BINARY:
        expr(pr, n->u.binary.left, p, depth + 1);
        sqlpr_printf(pr, " %s ", sql_op_sql(n->u.binary.op));
        expr(pr, n->u.binary.right, p + 1, depth + 1);
        break;
    case SQL_IS_NULL:
        expr(pr, n->u.is_null.arg, p, depth + 1);
        sqlpr_str(pr, n->u.is_null.negated ? " IS NOT NULL" : " IS NULL");
        break;
    case SQL_BETWEEN:
        expr(pr, n->u.between.arg, p, depth + 1);
        sqlpr_str(pr, n->u.between.negated ? " NOT BETWEEN " : " BETWEEN ");
        expr(pr, n->u.between.lo, p + 1, depth + 1);
        sqlpr_str(pr, " AND ");
        expr(pr, n->u.between.hi, p + 1, depth + 1);
        break;
    case SQL_IN_LIST:
        expr(pr, n->u.in_list.arg, p, depth + 1);
        sqlpr_str(pr, n->u.in_list.negated ? " NOT IN (" : " IN (");
        list(pr, &n->u.in_list.list, ", ", depth);
        sqlpr_str(pr, ")");
        break;
    case SQL_LIKE:
        no = n->u.like.negated ? " NOT" : "";
        expr(pr, n->u.like.arg, p, depth + 1);
        sqlpr_printf(pr, "%s LIKE ", no);
        expr(pr, n->u.like.pattern, p + 1, depth + 1);
        break;
    default: /* x::type */
        expr(pr, n->u.cast.arg, p, depth + 1);
        sqlpr_str(pr, "::");
        sqlpr_type(pr, &n->u.cast.type);
        break;
    }
}

static void expr(sql_printer *pr, const sql_node *n, int min_prec, int depth)
{
    if (pr->rc != 0 || sqlpr_too_deep(pr, depth))
        return;
    int paren = prec_of(n) < min_prec;
    if (paren)
        sqlpr_str(pr, "(");
    switch (n->kind) {
    case SQL_LITERAL:
        literal(pr, n);
        break;
    case SQL_COLUMN:
        qualified(pr, &n->u.column.table, &n->u.column.column);
        break;
    case SQL_STAR:
        qualified(pr, &n->u.star.table, NULL);
        break;
    case SQL_CALL:
        call(pr, n, depth);
        break;
    case SQL_CASE:
        case_expr(pr, n, depth);
        break;
    case SQL_EXTRACT:
        sqlpr_str(pr, "extract(");
        sqlpr_name(pr, &n->u.extract.field);
        sqlpr_str(pr, " FROM ");
        expr(pr, n->u.extract.arg, 0, depth + 1);
        sqlpr_str(pr, ")");
        break;
    case SQL_CAST:
        if (n->u.cast.colon_syntax) {
            operator_expr(pr, n, depth);
            break;
        }
        sqlpr_str(pr, "CAST(");
        expr(pr, n->u.cast.arg, 0, depth + 1);
        sqlpr_str(pr, " AS ");
        sqlpr_type(pr, &n->u.cast.type);
        sqlpr_str(pr, ")");
        break;
    default:
        operator_expr(pr, n, depth);
        break;
    }
    if (paren)
        sqlpr_str(pr, ")");
}

static void alias(sql_printer *pr, const sql_name *a)
{
    if (a->text == NULL)
        return;
    sqlpr_str(pr, " AS ");
    sqlpr_name(pr, a);
}

/* A query body inside UNION ALL or a nested query: parenthesised unless it
 * is a plain SELECT (or, on the left, a chain of UNION ALL). */
static void body(sql_printer *pr, const sql_node *n, int left, int depth)
{
    int paren = n->kind == SQL_QUERY || (n->kind == SQL_UNION_ALL && !left);
    if (paren)
        sqlpr_str(pr, "(");
    node(pr, n, depth);
    if (paren)
        sqlpr_str(pr, ")");
}

static void query(sql_printer *pr, const sql_node *n, int depth)
{
    if (n->u.query.ctes.count > 0) {
        sqlpr_str(pr, "WITH ");
        list(pr, &n->u.query.ctes, ", ", depth);
        sqlpr_str(pr, " ");
    }
    body(pr, n->u.query.body, 1, depth + 1);
    if (n->u.query.order_by.count > 0) {
        sqlpr_str(pr, " ORDER BY ");
        list(pr, &n->u.query.order_by, ", ", depth);
    }
    if (n->u.query.limit != NULL) {
        sqlpr_str(pr, " LIMIT ");
        node(pr, n->u.query.limit, depth + 1);
    }
    if (n->u.query.offset != NULL) {
        sqlpr_str(pr, " OFFSET ");
        node(pr, n->u.query.offset, depth + 1);
    }
}

static void select(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, n->u.select.distinct ? "SELECT DISTINCT " : "SELECT ");
    list(pr, &n->u.select.items, ", ", depth);
    if (n->u.select.from != NULL) {
        sqlpr_str(pr, " FROM ");
        node(pr, n->u.select.from, depth + 1);
    }
    if (n->u.select.where != NULL) {
        sqlpr_str(pr, " WHERE ");
        node(pr, n->u.select.where, depth + 1);
    }
    if (n->u.select.group_by.count > 0) {
        sqlpr_str(pr, " GROUP BY ");
        list(pr, &n->u.select.group_by, ", ", depth);
    }
    if (n->u.select.having != NULL) {
        sqlpr_str(pr, " HAVING ");
        node(pr, n->u.select.having, depth + 1);
    }
}

static void from_item(sql_printer *pr, const sql_node *n, int depth)
{
    static const char *const joins[] = {" JOIN ", " LEFT JOIN ", " CROSS JOIN "};
    switch (n->kind) {
    case SQL_TABLE_REF:
        sqlpr_name(pr, &n->u.table.name);
        if (n->u.table.travel != SQL_TRAVEL_NONE) {
            sqlpr_str(pr, n->u.table.travel == SQL_TRAVEL_VERSION ? " VERSION AS OF "
                                                                  : " TIMESTAMP AS OF ");
            node(pr, n->u.table.as_of, depth + 1);
        }
        alias(pr, &n->u.table.alias);
        break;
    case SQL_TABLE_FUNC:
        sqlpr_name(pr, &n->u.table_func.name);
        sqlpr_str(pr, "(");
        list(pr, &n->u.table_func.args, ", ", depth);
        sqlpr_str(pr, ")");
        alias(pr, &n->u.table_func.alias);
        break;
    case SQL_DERIVED:
        sqlpr_str(pr, "(");
        node(pr, n->u.derived.query, depth + 1);
        sqlpr_str(pr, ")");
        alias(pr, &n->u.derived.alias);
        break;
    default: /* SQL_JOIN, left-deep as the parser builds it */
        node(pr, n->u.join.left, depth + 1);
        sqlpr_str(pr, joins[n->u.join.kind]);
        node(pr, n->u.join.right, depth + 1);
        if (n->u.join.on != NULL) {
            sqlpr_str(pr, " ON ");
            node(pr, n->u.join.on, depth + 1);
        }
        break;
    }
}

/* Query parts; 0 when n is none. */
static int query_part(sql_printer *pr, const sql_node *n, int depth)
{
    switch (n->kind) {
    case SQL_QUERY:
        query(pr, n, depth);
        break;
    case SQL_SELECT:
        select(pr, n, depth);
        break;
    case SQL_UNION_ALL:
        body(pr, n->u.union_all.left, 1, depth + 1);
        sqlpr_str(pr, " UNION ALL ");
        body(pr, n->u.union_all.right, 0, depth + 1);
        break;
    case SQL_CTE:
        sqlpr_name(pr, &n->u.cte.name);
        sqlpr_str(pr, " AS (");
        node(pr, n->u.cte.query, depth + 1);
        sqlpr_str(pr, ")");
        break;
    case SQL_SELECT_ITEM:
        node(pr, n->u.item.expr, depth + 1);
        alias(pr, &n->u.item.alias);
        break;
    case SQL_ORDER_ITEM:
        node(pr, n->u.order.expr, depth + 1);
        sqlpr_str(pr, n->u.order.desc ? " DESC" : "");
        sqlpr_str(pr, n->u.order.nulls == SQL_NULLS_FIRST  ? " NULLS FIRST"
                      : n->u.order.nulls == SQL_NULLS_LAST ? " NULLS LAST"
                                                           : "");
        break;
    case SQL_TABLE_REF:
    case SQL_TABLE_FUNC:
    case SQL_DERIVED:
    case SQL_JOIN:
        from_item(pr, n, depth);
        break;
    default:
        return 0;
    }
    return 1;
}

static void name_list(sql_printer *pr, const char *before, const sql_name_list *l)
{
    if (l->count == 0)
        return;
    sqlpr_str(pr, before);
    for (uint32_t i = 0; i < l->count; i++) {
        sqlpr_str(pr, i > 0 ? ", " : "(");
        sqlpr_name(pr, &l->items[i]);
    }
    sqlpr_str(pr, ")");
}

static void create(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, n->u.create.if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
    sqlpr_name(pr, &n->u.create.name);
    if (n->u.create.as_query != NULL) {
        sqlpr_str(pr, " AS ");
        node(pr, n->u.create.as_query, depth + 1);
        return;
    }
    sqlpr_str(pr, " (");
    list(pr, &n->u.create.columns, ", ", depth);
    sqlpr_str(pr, ")");
    name_list(pr, " PARTITIONED BY ", &n->u.create.partition_by);
}

static void insert(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "INSERT INTO ");
    sqlpr_name(pr, &n->u.insert.table);
    name_list(pr, " ", &n->u.insert.columns);
    if (n->u.insert.query != NULL) {
        sqlpr_str(pr, " ");
        node(pr, n->u.insert.query, depth + 1);
        return;
    }
    sqlpr_str(pr, " VALUES ");
    list(pr, &n->u.insert.rows, ", ", depth);
}

static void statement(sql_printer *pr, const sql_node *n, int depth)
{
    static const char *const formats[] = {"", "csv", "parquet", "json"};
    switch (n->kind) {
    case SQL_CREATE_TABLE:
        create(pr, n, depth);
        break;
    case SQL_INSERT:
        insert(pr, n, depth);
        break;
    case SQL_COLUMN_DEF:
        sqlpr_name(pr, &n->u.column_def.name);
        sqlpr_str(pr, " ");
        sqlpr_type(pr, &n->u.column_def.type);
        sqlpr_str(pr, n->u.column_def.not_null ? " NOT NULL" : "");
        break;
    case SQL_VALUES_ROW:
        sqlpr_str(pr, "(");
        list(pr, &n->u.row.values, ", ", depth);
        sqlpr_str(pr, ")");
        break;
    case SQL_COPY:
        sqlpr_str(pr, "COPY ");
        sqlpr_name(pr, &n->u.copy.table);
        sqlpr_str(pr, " FROM ");
        node(pr, n->u.copy.path, depth + 1);
        if (n->u.copy.format != SQL_FORMAT_DEFAULT)
            sqlpr_printf(pr, " (FORMAT %s)", formats[n->u.copy.format]);
        break;
    case SQL_DELETE:
        sqlpr_str(pr, "DELETE FROM ");
        sqlpr_name(pr, &n->u.delete_.table);
        if (n->u.delete_.where != NULL) {
            sqlpr_str(pr, " WHERE ");
            node(pr, n->u.delete_.where, depth + 1);
        }
        break;
    case SQL_DROP_TABLE:
        sqlpr_str(pr, n->u.drop.if_exists ? "DROP TABLE IF EXISTS " : "DROP TABLE ");
        sqlpr_name(pr, &n->u.drop.table);
        break;
    case SQL_SHOW_TABLES:
        sqlpr_str(pr, "SHOW TABLES");
        break;
    case SQL_DESCRIBE:
        sqlpr_str(pr, n->u.describe.history ? "DESCRIBE HISTORY " : "DESCRIBE ");
        sqlpr_name(pr, &n->u.describe.table);
        break;
    case SQL_OPTIMIZE:
        sqlpr_str(pr, "OPTIMIZE ");
        sqlpr_name(pr, &n->u.optimize.table);
        break;
    case SQL_VACUUM:
        sqlpr_str(pr, "VACUUM ");
        sqlpr_name(pr, &n->u.vacuum.table);
        if (n->u.vacuum.retain_hours != NULL) {
            sqlpr_str(pr, " RETAIN ");
            node(pr, n->u.vacuum.retain_hours, depth + 1);
            sqlpr_str(pr, " HOURS");
        }
        break;
    case SQL_SET:
        sqlpr_str(pr, "SET ");
        sqlpr_name(pr, &n->u.set.name);
        sqlpr_str(pr, " = ");
        node(pr, n->u.set.value, depth + 1);
        break;
    case SQL_EXPLAIN:
        sqlpr_str(pr, n->u.explain.analyze ? "EXPLAIN ANALYZE " : "EXPLAIN ");
        node(pr, n->u.explain.stmt, depth + 1);
        break;
    default:
        pr->rc = pr->rc ? pr->rc : TARN_EINVAL;
        break;
    }
}

static void node(sql_printer *pr, const sql_node *n, int depth)
{
    if (pr->rc != 0 || sqlpr_too_deep(pr, depth))
        return;
    if (n->kind < SQL_QUERY) /* the expression kinds come first in ast.h */
        expr(pr, n, 0, depth);
    else if (!query_part(pr, n, depth))
        statement(pr, n, depth);
}

int sql_print_sql(const sql_node *n, tarn_buf *buf)
{
    sql_printer pr = {buf, 0};
    node(&pr, n, 1);
    return pr.rc;
}
