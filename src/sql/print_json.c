/* sql/print_json.c: the tree as JSON (sql.h). Every node is an object with
 * "kind" (the names of SQL_NODE_TABLE) and "pos"; optional fields are left
 * out when absent. Field names are stable: the stage plan embeds them. */
#include "base/error.h"
#include "sql/print_int.h"

#include <inttypes.h>
#include <string.h>

static void node(sql_printer *pr, const sql_node *n, int depth);

static void jstr(sql_printer *pr, const char *key, const char *s)
{
    sqlpr_printf(pr, ",\"%s\":", key);
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_json_str(pr->buf, s, strlen(s));
}

static void jint(sql_printer *pr, const char *key, int64_t v)
{
    sqlpr_printf(pr, ",\"%s\":%" PRId64, key, v);
}

static void jflag(sql_printer *pr, const char *key, int v)
{
    if (v)
        sqlpr_printf(pr, ",\"%s\":true", key);
}

static void jname(sql_printer *pr, const char *key, const sql_name *n)
{
    if (n->text == NULL)
        return;
    sqlpr_printf(pr, ",\"%s\":{\"text\":", key);
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_json_str(pr->buf, n->text, strlen(n->text));
    sqlpr_str(pr, ",\"folded\":");
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_json_str(pr->buf, n->folded, strlen(n->folded));
    sqlpr_printf(pr, ",\"quoted\":%s,\"pos\":{\"offset\":%u,\"line\":%u,\"col\":%u}}",
                 n->quoted ? "true" : "false", n->pos.offset, n->pos.line, n->pos.col);
}

static void jnames(sql_printer *pr, const char *key, const sql_name_list *l)
{
    if (l->count == 0)
        return;
    sqlpr_printf(pr, ",\"%s\":[", key);
    for (uint32_t i = 0; i < l->count; i++) {
        sqlpr_str(pr, i > 0 ? "," : "");
        if (pr->rc == 0)
            pr->rc =
                tarn_buf_append_json_str(pr->buf, l->items[i].folded, strlen(l->items[i].folded));
    }
    sqlpr_str(pr, "]");
}

static void jnode(sql_printer *pr, const char *key, const sql_node *n, int depth)
{
    if (n == NULL)
        return;
    sqlpr_printf(pr, ",\"%s\":", key);
    node(pr, n, depth + 1);
}

static void jlist(sql_printer *pr, const char *key, const sql_list *l, int depth)
{
    sqlpr_printf(pr, ",\"%s\":[", key);
    for (uint32_t i = 0; i < l->count; i++) {
        sqlpr_str(pr, i > 0 ? "," : "");
        node(pr, l->items[i], depth + 1);
    }
    sqlpr_str(pr, "]");
}

static void jtype(sql_printer *pr, const char *key, const sql_type *t)
{
    sqlpr_printf(pr, ",\"%s\":{\"name\":\"%s\"", key, sql_type_kind_name(t->kind));
    if (t->kind == SQL_TYPE_DECIMAL)
        sqlpr_printf(pr, ",\"precision\":%d,\"scale\":%d", (int)t->precision, (int)t->scale);
    if (t->kind == SQL_TYPE_VARCHAR && t->length >= 0)
        sqlpr_printf(pr, ",\"length\":%d", (int)t->length);
    sqlpr_str(pr, "}");
}

static void literal(sql_printer *pr, const sql_node *n)
{
    sqlpr_printf(pr, ",\"type\":\"%s\"", sql_lit_kind_name(n->u.lit.kind));
    if (n->u.lit.text != NULL)
        jstr(pr, "text", n->u.lit.text);
    switch (n->u.lit.kind) {
    case SQL_LIT_BOOL:
        sqlpr_printf(pr, ",\"value\":%s", n->u.lit.bval ? "true" : "false");
        break;
    case SQL_LIT_INT:
        jint(pr, "value", n->u.lit.ival);
        break;
    case SQL_LIT_DECIMAL:
    case SQL_LIT_DOUBLE:
        sqlpr_printf(pr, ",\"approx\":%.17g", n->u.lit.dval);
        break;
    case SQL_LIT_STRING:
        jstr(pr, "value", n->u.lit.str);
        break;
    case SQL_LIT_DATE:
    case SQL_LIT_TIMESTAMP:
    case SQL_LIT_INTERVAL:
        jstr(pr, "value", n->u.lit.str);
        jint(pr,
             n->u.lit.kind == SQL_LIT_DATE        ? "days"
             : n->u.lit.kind == SQL_LIT_TIMESTAMP ? "micros"
                                                  : "count",
             n->u.lit.ival);
        if (n->u.lit.kind == SQL_LIT_INTERVAL)
            jstr(pr, "unit", sql_interval_unit_name(n->u.lit.unit));
        break;
    default:
        break;
    }
}

static void expr_fields(sql_printer *pr, const sql_node *n, int d)
{
    switch (n->kind) {
    case SQL_LITERAL:
        literal(pr, n);
        break;
    case SQL_COLUMN:
        jname(pr, "table", &n->u.column.table);
        jname(pr, "column", &n->u.column.column);
        break;
    case SQL_STAR:
        jname(pr, "table", &n->u.star.table);
        break;
    case SQL_UNARY:
        jstr(pr, "op", sql_op_name(n->u.unary.op));
        jnode(pr, "arg", n->u.unary.arg, d);
        break;
    case SQL_BINARY:
        jstr(pr, "op", sql_op_name(n->u.binary.op));
        jnode(pr, "left", n->u.binary.left, d);
        jnode(pr, "right", n->u.binary.right, d);
        break;
    case SQL_IS_NULL:
        jflag(pr, "negated", n->u.is_null.negated);
        jnode(pr, "arg", n->u.is_null.arg, d);
        break;
    case SQL_BETWEEN:
        jflag(pr, "negated", n->u.between.negated);
        jnode(pr, "arg", n->u.between.arg, d);
        jnode(pr, "low", n->u.between.lo, d);
        jnode(pr, "high", n->u.between.hi, d);
        break;
    case SQL_IN_LIST:
        jflag(pr, "negated", n->u.in_list.negated);
        jnode(pr, "arg", n->u.in_list.arg, d);
        jlist(pr, "list", &n->u.in_list.list, d);
        break;
    case SQL_LIKE:
        jflag(pr, "negated", n->u.like.negated);
        jnode(pr, "arg", n->u.like.arg, d);
        jnode(pr, "pattern", n->u.like.pattern, d);
        break;
    case SQL_CASE:
        jnode(pr, "operand", n->u.case_.operand, d);
        jlist(pr, "whens", &n->u.case_.whens, d);
        jnode(pr, "else", n->u.case_.else_expr, d);
        break;
    case SQL_WHEN:
        jnode(pr, "cond", n->u.when.cond, d);
        jnode(pr, "result", n->u.when.result, d);
        break;
    case SQL_CAST:
        jnode(pr, "arg", n->u.cast.arg, d);
        jtype(pr, "type", &n->u.cast.type);
        break;
    case SQL_CALL:
        jname(pr, "name", &n->u.call.name);
        jflag(pr, "distinct", n->u.call.distinct);
        jflag(pr, "star", n->u.call.star);
        jlist(pr, "args", &n->u.call.args, d);
        break;
    case SQL_EXTRACT:
        jname(pr, "field", &n->u.extract.field);
        jnode(pr, "arg", n->u.extract.arg, d);
        break;
    default:
        break;
    }
}

static void query_fields(sql_printer *pr, const sql_node *n, int d)
{
    static const char *const joins[] = {"inner", "left", "cross"};
    static const char *const travel[] = {"", "version", "timestamp"};
    static const char *const nulls[] = {"default", "first", "last"};
    switch (n->kind) {
    case SQL_QUERY:
        jlist(pr, "with", &n->u.query.ctes, d);
        jnode(pr, "body", n->u.query.body, d);
        jlist(pr, "order_by", &n->u.query.order_by, d);
        jnode(pr, "limit", n->u.query.limit, d);
        jnode(pr, "offset", n->u.query.offset, d);
        break;
    case SQL_CTE:
        jname(pr, "name", &n->u.cte.name);
        jnode(pr, "query", n->u.cte.query, d);
        break;
    case SQL_UNION_ALL:
        jnode(pr, "left", n->u.union_all.left, d);
        jnode(pr, "right", n->u.union_all.right, d);
        break;
    case SQL_SELECT:
        jflag(pr, "distinct", n->u.select.distinct);
        jlist(pr, "items", &n->u.select.items, d);
        jnode(pr, "from", n->u.select.from, d);
        jnode(pr, "where", n->u.select.where, d);
        jlist(pr, "group_by", &n->u.select.group_by, d);
        jnode(pr, "having", n->u.select.having, d);
        break;
    case SQL_SELECT_ITEM:
        jnode(pr, "expr", n->u.item.expr, d);
        jname(pr, "alias", &n->u.item.alias);
        break;
    case SQL_ORDER_ITEM:
        jnode(pr, "expr", n->u.order.expr, d);
        jstr(pr, "direction", n->u.order.desc ? "desc" : "asc");
        jstr(pr, "nulls", nulls[n->u.order.nulls]);
        break;
    case SQL_TABLE_REF:
        jname(pr, "name", &n->u.table.name);
        jname(pr, "alias", &n->u.table.alias);
        if (n->u.table.travel != SQL_TRAVEL_NONE)
            jstr(pr, "as_of_kind", travel[n->u.table.travel]);
        jnode(pr, "as_of", n->u.table.as_of, d);
        break;
    case SQL_TABLE_FUNC:
        jname(pr, "name", &n->u.table_func.name);
        jlist(pr, "args", &n->u.table_func.args, d);
        jname(pr, "alias", &n->u.table_func.alias);
        break;
    case SQL_DERIVED:
        jnode(pr, "query", n->u.derived.query, d);
        jname(pr, "alias", &n->u.derived.alias);
        break;
    case SQL_JOIN:
        jstr(pr, "join", joins[n->u.join.kind]);
        jnode(pr, "left", n->u.join.left, d);
        jnode(pr, "right", n->u.join.right, d);
        jnode(pr, "on", n->u.join.on, d);
        break;
    default:
        break;
    }
}

static void stmt_fields(sql_printer *pr, const sql_node *n, int d)
{
    static const char *const formats[] = {"default", "csv", "parquet", "json"};
    switch (n->kind) {
    case SQL_CREATE_TABLE:
        jname(pr, "name", &n->u.create.name);
        jflag(pr, "if_not_exists", n->u.create.if_not_exists);
        jlist(pr, "columns", &n->u.create.columns, d);
        jnames(pr, "partitioned_by", &n->u.create.partition_by);
        jnode(pr, "as", n->u.create.as_query, d);
        break;
    case SQL_COLUMN_DEF:
        jname(pr, "name", &n->u.column_def.name);
        jtype(pr, "type", &n->u.column_def.type);
        jflag(pr, "not_null", n->u.column_def.not_null);
        break;
    case SQL_INSERT:
        jname(pr, "table", &n->u.insert.table);
        jnames(pr, "columns", &n->u.insert.columns);
        if (n->u.insert.query == NULL)
            jlist(pr, "rows", &n->u.insert.rows, d);
        jnode(pr, "query", n->u.insert.query, d);
        break;
    case SQL_VALUES_ROW:
        jlist(pr, "values", &n->u.row.values, d);
        break;
    case SQL_COPY:
        jname(pr, "table", &n->u.copy.table);
        jnode(pr, "path", n->u.copy.path, d);
        jstr(pr, "format", formats[n->u.copy.format]);
        break;
    case SQL_DELETE:
        jname(pr, "table", &n->u.delete_.table);
        jnode(pr, "where", n->u.delete_.where, d);
        break;
    case SQL_DROP_TABLE:
        jname(pr, "table", &n->u.drop.table);
        jflag(pr, "if_exists", n->u.drop.if_exists);
        break;
    case SQL_DESCRIBE:
        jname(pr, "table", &n->u.describe.table);
        jflag(pr, "history", n->u.describe.history);
        break;
    case SQL_OPTIMIZE:
        jname(pr, "table", &n->u.optimize.table);
        break;
    case SQL_VACUUM:
        jname(pr, "table", &n->u.vacuum.table);
        jnode(pr, "retain_hours", n->u.vacuum.retain_hours, d);
        break;
    case SQL_SET:
        jname(pr, "name", &n->u.set.name);
        jnode(pr, "value", n->u.set.value, d);
        break;
    case SQL_EXPLAIN:
        jflag(pr, "analyze", n->u.explain.analyze);
        jnode(pr, "query", n->u.explain.stmt, d);
        break;
    default:
        break;
    }
}

static void node(sql_printer *pr, const sql_node *n, int depth)
{
    if (pr->rc != 0 || sqlpr_too_deep(pr, depth))
        return;
    sqlpr_printf(pr, "{\"kind\":\"%s\",\"pos\":{\"offset\":%u,\"line\":%u,\"col\":%u}",
                 sql_node_kind_name(n->kind), n->pos.offset, n->pos.line, n->pos.col);
    if ((n->kind >= SQL_UNARY && n->kind <= SQL_LIKE) || n->kind == SQL_CAST)
        sqlpr_printf(pr, ",\"op_pos\":{\"offset\":%u,\"line\":%u,\"col\":%u}", n->op_pos.offset,
                     n->op_pos.line, n->op_pos.col);
    expr_fields(pr, n, depth);
    query_fields(pr, n, depth);
    stmt_fields(pr, n, depth);
    sqlpr_str(pr, "}");
}

int sql_print_json(const sql_node *n, tarn_buf *buf)
{
    sql_printer pr = {buf, 0};
    node(&pr, n, 1);
    return pr.rc;
}
