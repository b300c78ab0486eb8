/* sql/print_sexpr.c: the canonical S-expression form of a tree (sql.h).
 * Every operator is explicit and parenthesised, so two trees print the same
 * text exactly when they have the same shape; README.md shows the forms. */
#include "base/error.h"
#include "sql/print_int.h"

static void node(sql_printer *pr, const sql_node *n, int depth);

/* " child" for each element of a list. */
static void list(sql_printer *pr, const sql_list *l, int depth)
{
    for (uint32_t i = 0; i < l->count; i++) {
        sqlpr_str(pr, " ");
        node(pr, l->items[i], depth + 1);
    }
}

/* " (head child)" when the child exists. */
static void opt(sql_printer *pr, const char *head, const sql_node *n, int depth)
{
    if (n == NULL)
        return;
    sqlpr_printf(pr, " (%s ", head);
    node(pr, n, depth + 1);
    sqlpr_str(pr, ")");
}

static void opt_alias(sql_printer *pr, const sql_name *alias)
{
    if (alias->text == NULL)
        return;
    sqlpr_str(pr, " (alias ");
    sqlpr_name(pr, alias);
    sqlpr_str(pr, ")");
}

static void literal(sql_printer *pr, const sql_node *n)
{
    switch (n->u.lit.kind) {
    case SQL_LIT_NULL:
        sqlpr_str(pr, "null");
        break;
    case SQL_LIT_BOOL:
        sqlpr_str(pr, n->u.lit.bval ? "true" : "false");
        break;
    case SQL_LIT_STRING:
        sqlpr_quoted(pr, n->u.lit.str, '\'');
        break;
    case SQL_LIT_DATE:
    case SQL_LIT_TIMESTAMP:
    case SQL_LIT_INTERVAL:
        sqlpr_printf(pr, "(%s ", sql_lit_kind_name(n->u.lit.kind));
        sqlpr_quoted(pr, n->u.lit.str, '\'');
        if (n->u.lit.kind == SQL_LIT_INTERVAL)
            sqlpr_printf(pr, " %s", sql_interval_unit_name(n->u.lit.unit));
        sqlpr_str(pr, ")");
        break;
    default:
        sqlpr_str(pr, n->u.lit.text);
        break;
    }
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

static void negatable(sql_printer *pr, int negated, const char *head, const sql_node *arg,
                      int depth)
{
    sqlpr_printf(pr, "(%s%s ", negated ? "not-" : "", head);
    node(pr, arg, depth + 1);
}

static void call(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(call ");
    sqlpr_name(pr, &n->u.call.name);
    if (n->u.call.star)
        sqlpr_str(pr, " *");
    if (n->u.call.distinct)
        sqlpr_str(pr, " distinct");
    list(pr, &n->u.call.args, depth);
    sqlpr_str(pr, ")");
}

static void case_expr(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(case");
    if (n->u.case_.operand != NULL) {
        sqlpr_str(pr, " ");
        node(pr, n->u.case_.operand, depth + 1);
    }
    list(pr, &n->u.case_.whens, depth);
    opt(pr, "else", n->u.case_.else_expr, depth);
    sqlpr_str(pr, ")");
}

/* Expressions; returns 0 when n is not an expression. */
static int expr(sql_printer *pr, const sql_node *n, int depth)
{
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
    case SQL_UNARY:
        negatable(pr, 0, sql_op_name(n->u.unary.op), n->u.unary.arg, depth);
        break;
    case SQL_BINARY:
        negatable(pr, 0, sql_op_name(n->u.binary.op), n->u.binary.left, depth);
        sqlpr_str(pr, " ");
        node(pr, n->u.binary.right, depth + 1);
        break;
    case SQL_IS_NULL:
        sqlpr_str(pr, n->u.is_null.negated ? "(is-not-null " : "(is-null ");
        node(pr, n->u.is_null.arg, depth + 1);
        break;
    case SQL_BETWEEN:
        negatable(pr, n->u.between.negated, "between", n->u.between.arg, depth);
        sqlpr_str(pr, " ");
        node(pr, n->u.between.lo, depth + 1);
        sqlpr_str(pr, " ");
        node(pr, n->u.between.hi, depth + 1);
        break;
    case SQL_IN_LIST:
        negatable(pr, n->u.in_list.negated, "in", n->u.in_list.arg, depth);
        sqlpr_str(pr, " (list");
        list(pr, &n->u.in_list.list, depth);
        sqlpr_str(pr, ")");
        break;
    case SQL_LIKE:
        negatable(pr, n->u.like.negated, "like", n->u.like.arg, depth);
        sqlpr_str(pr, " ");
        node(pr, n->u.like.pattern, depth + 1);
        break;
    case SQL_WHEN:
        negatable(pr, 0, "when", n->u.when.cond, depth);
        sqlpr_str(pr, " ");
        node(pr, n->u.when.result, depth + 1);
        break;
    case SQL_CAST:
        negatable(pr, 0, "cast", n->u.cast.arg, depth);
        sqlpr_str(pr, " ");
        sqlpr_type(pr, &n->u.cast.type);
        break;
    case SQL_EXTRACT:
        sqlpr_str(pr, "(extract ");
        sqlpr_name(pr, &n->u.extract.field);
        sqlpr_str(pr, " ");
        node(pr, n->u.extract.arg, depth + 1);
        break;
    case SQL_CALL:
        call(pr, n, depth);
        return 1;
    case SQL_CASE:
        case_expr(pr, n, depth);
        return 1;
    default:
        return 0;
    }
    if (n->kind != SQL_LITERAL && n->kind != SQL_COLUMN && n->kind != SQL_STAR)
        sqlpr_str(pr, ")");
    return 1;
}

static void select(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, n->u.select.distinct ? "(select distinct (items" : "(select (items");
    list(pr, &n->u.select.items, depth);
    sqlpr_str(pr, ")");
    opt(pr, "from", n->u.select.from, depth);
    opt(pr, "where", n->u.select.where, depth);
    if (n->u.select.group_by.count > 0) {
        sqlpr_str(pr, " (group-by");
        list(pr, &n->u.select.group_by, depth);
        sqlpr_str(pr, ")");
    }
    opt(pr, "having", n->u.select.having, depth);
    sqlpr_str(pr, ")");
}

static void query(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(query");
    if (n->u.query.ctes.count > 0) {
        sqlpr_str(pr, " (with");
        list(pr, &n->u.query.ctes, depth);
        sqlpr_str(pr, ")");
    }
    sqlpr_str(pr, " ");
    node(pr, n->u.query.body, depth + 1);
    if (n->u.query.order_by.count > 0) {
        sqlpr_str(pr, " (order-by");
        list(pr, &n->u.query.order_by, depth);
        sqlpr_str(pr, ")");
    }
    opt(pr, "limit", n->u.query.limit, depth);
    opt(pr, "offset", n->u.query.offset, depth);
    sqlpr_str(pr, ")");
}

static void order_item(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, n->u.order.desc ? "(desc " : "(asc ");
    node(pr, n->u.order.expr, depth + 1);
    if (n->u.order.nulls != SQL_NULLS_DEFAULT)
        sqlpr_str(pr, n->u.order.nulls == SQL_NULLS_FIRST ? " nulls-first" : " nulls-last");
    sqlpr_str(pr, ")");
}

static void table_ref(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(table ");
    sqlpr_name(pr, &n->u.table.name);
    if (n->u.table.travel != SQL_TRAVEL_NONE)
        opt(pr, n->u.table.travel == SQL_TRAVEL_VERSION ? "version-as-of" : "timestamp-as-of",
            n->u.table.as_of, depth);
    opt_alias(pr, &n->u.table.alias);
    sqlpr_str(pr, ")");
}

static void join(sql_printer *pr, const sql_node *n, int depth)
{
    static const char *const kinds[] = {"inner", "left", "cross"};
    sqlpr_printf(pr, "(join %s ", kinds[n->u.join.kind]);
    node(pr, n->u.join.left, depth + 1);
    sqlpr_str(pr, " ");
    node(pr, n->u.join.right, depth + 1);
    if (n->u.join.on != NULL) {
        sqlpr_str(pr, " ");
        node(pr, n->u.join.on, depth + 1);
    }
    sqlpr_str(pr, ")");
}

/* Query parts; returns 0 when n is none. */
static int query_part(sql_printer *pr, const sql_node *n, int depth)
{
    switch (n->kind) {
    case SQL_QUERY:
        query(pr, n, depth);
        break;
    case SQL_SELECT:
        select(pr, n, depth);
        break;
    case SQL_ORDER_ITEM:
        order_item(pr, n, depth);
        break;
    case SQL_TABLE_REF:
        table_ref(pr, n, depth);
        break;
    case SQL_JOIN:
        join(pr, n, depth);
        break;
    case SQL_CTE:
        sqlpr_str(pr, "(cte ");
        sqlpr_name(pr, &n->u.cte.name);
        sqlpr_str(pr, " ");
        node(pr, n->u.cte.query, depth + 1);
        sqlpr_str(pr, ")");
        break;
    case SQL_UNION_ALL:
        sqlpr_str(pr, "(union-all ");
        node(pr, n->u.union_all.left, depth + 1);
        sqlpr_str(pr, " ");
        node(pr, n->u.union_all.right, depth + 1);
        sqlpr_str(pr, ")");
        break;
    case SQL_SELECT_ITEM:
        if (n->u.item.alias.text == NULL) {
            node(pr, n->u.item.expr, depth + 1);
            break;
        }
        sqlpr_str(pr, "(as ");
        node(pr, n->u.item.expr, depth + 1);
        sqlpr_str(pr, " ");
        sqlpr_name(pr, &n->u.item.alias);
        sqlpr_str(pr, ")");
        break;
    case SQL_TABLE_FUNC:
        sqlpr_str(pr, "(table-func ");
        sqlpr_name(pr, &n->u.table_func.name);
        list(pr, &n->u.table_func.args, depth);
        opt_alias(pr, &n->u.table_func.alias);
        sqlpr_str(pr, ")");
        break;
    case SQL_DERIVED:
        sqlpr_str(pr, "(derived ");
        node(pr, n->u.derived.query, depth + 1);
        opt_alias(pr, &n->u.derived.alias);
        sqlpr_str(pr, ")");
        break;
    default:
        return 0;
    }
    return 1;
}

static void names(sql_printer *pr, const char *head, const sql_name_list *l)
{
    if (l->count == 0)
        return;
    sqlpr_printf(pr, " (%s", head);
    for (uint32_t i = 0; i < l->count; i++) {
        sqlpr_str(pr, " ");
        sqlpr_name(pr, &l->items[i]);
    }
    sqlpr_str(pr, ")");
}

static void create(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(create-table ");
    sqlpr_name(pr, &n->u.create.name);
    if (n->u.create.if_not_exists)
        sqlpr_str(pr, " if-not-exists");
    if (n->u.create.columns.count > 0) {
        sqlpr_str(pr, " (columns");
        list(pr, &n->u.create.columns, depth);
        sqlpr_str(pr, ")");
    }
    names(pr, "partitioned-by", &n->u.create.partition_by);
    opt(pr, "as", n->u.create.as_query, depth);
    sqlpr_str(pr, ")");
}

static void insert(sql_printer *pr, const sql_node *n, int depth)
{
    sqlpr_str(pr, "(insert ");
    sqlpr_name(pr, &n->u.insert.table);
    names(pr, "columns", &n->u.insert.columns);
    if (n->u.insert.rows.count > 0) {
        sqlpr_str(pr, " (values");
        list(pr, &n->u.insert.rows, depth);
        sqlpr_str(pr, ")");
    }
    if (n->u.insert.query != NULL) {
        sqlpr_str(pr, " ");
        node(pr, n->u.insert.query, depth + 1);
    }
    sqlpr_str(pr, ")");
}

/* (head table) for the one-table statements. */
static void on_table(sql_printer *pr, const char *head, const sql_name *t)
{
    sqlpr_printf(pr, "(%s ", head);
    sqlpr_name(pr, t);
}

static int statement(sql_printer *pr, const sql_node *n, int depth)
{
    static const char *const formats[] = {"", "csv", "parquet", "json"};
    switch (n->kind) {
    case SQL_CREATE_TABLE:
        create(pr, n, depth);
        return 1;
    case SQL_INSERT:
        insert(pr, n, depth);
        return 1;
    case SQL_SHOW_TABLES:
        sqlpr_str(pr, "(show-tables");
        break;
    case SQL_COLUMN_DEF:
        sqlpr_str(pr, "(");
        sqlpr_name(pr, &n->u.column_def.name);
        sqlpr_str(pr, " ");
        sqlpr_type(pr, &n->u.column_def.type);
        if (n->u.column_def.not_null)
            sqlpr_str(pr, " not-null");
        break;
    case SQL_VALUES_ROW:
        sqlpr_str(pr, "(row");
        list(pr, &n->u.row.values, depth);
        break;
    case SQL_COPY:
        on_table(pr, "copy", &n->u.copy.table);
        sqlpr_str(pr, " ");
        node(pr, n->u.copy.path, depth + 1);
        if (n->u.copy.format != SQL_FORMAT_DEFAULT)
            sqlpr_printf(pr, " (format %s)", formats[n->u.copy.format]);
        break;
    case SQL_DELETE:
        on_table(pr, "delete", &n->u.delete_.table);
        opt(pr, "where", n->u.delete_.where, depth);
        break;
    case SQL_DROP_TABLE:
        on_table(pr, "drop-table", &n->u.drop.table);
        if (n->u.drop.if_exists)
            sqlpr_str(pr, " if-exists");
        break;
    case SQL_DESCRIBE:
        on_table(pr, n->u.describe.history ? "describe-history" : "describe", &n->u.describe.table);
        break;
    case SQL_OPTIMIZE:
        on_table(pr, "optimize", &n->u.optimize.table);
        break;
    case SQL_VACUUM:
        on_table(pr, "vacuum", &n->u.vacuum.table);
        opt(pr, "retain-hours", n->u.vacuum.retain_hours, depth);
        break;
    case SQL_SET:
        on_table(pr, "set", &n->u.set.name);
        sqlpr_str(pr, " ");
        node(pr, n->u.set.value, depth + 1);
        break;
    case SQL_EXPLAIN:
        sqlpr_str(pr, n->u.explain.analyze ? "(explain analyze " : "(explain ");
        node(pr, n->u.explain.stmt, depth + 1);
        break;
    default:
        return 0;
    }
    sqlpr_str(pr, ")");
    return 1;
}

static void node(sql_printer *pr, const sql_node *n, int depth)
{
    if (pr->rc != 0 || sqlpr_too_deep(pr, depth))
        return;
    if (n == NULL) {
        sqlpr_str(pr, "<null>"); /* only a hand-built tree can get here */
        return;
    }
    if (!expr(pr, n, depth) && !query_part(pr, n, depth) && !statement(pr, n, depth))
        sqlpr_printf(pr, "(%s)", sql_node_kind_name(n->kind));
}

int sql_print_sexpr(const sql_node *n, tarn_buf *buf)
{
    sql_printer pr = {buf, 0};
    node(&pr, n, 1);
    return pr.rc;
}
