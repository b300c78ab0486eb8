/* sql/ast.c: node construction, the stable names of the enums, generic
 * child enumeration and the iterative depth check (ast.h). */
#include "sql/ast.h"

#include "base/assert.h"
#include "base/error.h"
#include "sql/sql.h"

#include <string.h>

static const char *const node_names[] = {
#define SQL_X_NAME(e, s) s,
    SQL_NODE_TABLE(SQL_X_NAME)
#undef SQL_X_NAME
};
static const char *const lit_names[] = {
#define SQL_X_NAME(e, s) s,
    SQL_LIT_TABLE(SQL_X_NAME)
#undef SQL_X_NAME
};
static const char *const type_names[] = {
#define SQL_X_NAME(e, s) s,
    SQL_TYPE_TABLE(SQL_X_NAME)
#undef SQL_X_NAME
};
static const char *const unit_names[] = {
#define SQL_X_NAME(e, s) s,
    SQL_INTERVAL_UNIT_TABLE(SQL_X_NAME)
#undef SQL_X_NAME
};
static const struct {
    const char *name, *sql;
    int prec;
} op_info[] = {
#define SQL_X_OP(e, s, q, p) {s, q, p},
    SQL_OP_TABLE(SQL_X_OP)
#undef SQL_X_OP
};

TARN_STATIC_ASSERT(SQL_EXTRACT + 1 == SQL_QUERY, "expression kinds come first");

#define NAME_OF(table, i) ((size_t)(i) < TARN_ARRAY_LEN(table) ? table[i] : "?")

const char *sql_node_kind_name(sql_node_kind k)
{
    return NAME_OF(node_names, k);
}

const char *sql_lit_kind_name(sql_lit_kind k)
{
    return NAME_OF(lit_names, k);
}

const char *sql_type_kind_name(sql_type_kind k)
{
    return NAME_OF(type_names, k);
}

const char *sql_interval_unit_name(sql_interval_unit u)
{
    return NAME_OF(unit_names, u);
}

const char *sql_op_name(sql_op op)
{
    return (size_t)op < TARN_ARRAY_LEN(op_info) ? op_info[op].name : "?";
}

const char *sql_op_sql(sql_op op)
{
    return (size_t)op < TARN_ARRAY_LEN(op_info) ? op_info[op].sql : "?";
}

int sql_op_prec(sql_op op)
{
    return (size_t)op < TARN_ARRAY_LEN(op_info) ? op_info[op].prec : 0;
}

sql_node *sql_node_new(sql_arena *a, sql_node_kind kind, sql_pos pos)
{
    sql_node *n = sql_arena_alloc(a, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->pos = pos;
    n->op_pos = pos;
    return n;
}

/* Grows an arena array to hold one more element: doubles the capacity and
 * copies, leaving the old block to the arena (at most half the space is
 * wasted, and the whole arena is freed at once anyway). */
static int grow(sql_arena *a, void **items, uint32_t count, uint32_t *cap, size_t elem)
{
    if (count < *cap)
        return 0;
    if (count >= SQL_LIST_MAX)
        return TARN_ETOOBIG;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    if (ncap > SQL_LIST_MAX)
        ncap = SQL_LIST_MAX;
    void *n = sql_arena_alloc(a, (size_t)ncap * elem);
    if (n == NULL)
        return sql_arena_last_error(a);
    if (count > 0)
        memcpy(n, *items, (size_t)count * elem);
    *items = n;
    *cap = ncap;
    return 0;
}

int sql_list_push(sql_arena *a, sql_list *l, sql_node *n)
{
    void *items = l->items;
    int rc = grow(a, &items, l->count, &l->cap, sizeof(sql_node *));
    if (rc != 0)
        return rc;
    l->items = items;
    l->items[l->count++] = n;
    return 0;
}

int sql_name_list_push(sql_arena *a, sql_name_list *l, const sql_name *n)
{
    void *items = l->items;
    int rc = grow(a, &items, l->count, &l->cap, sizeof(sql_name));
    if (rc != 0)
        return rc;
    l->items = items;
    l->items[l->count++] = *n;
    return 0;
}

/* A node's children as a short sequence of slots, each one node or one
 * list, in source order. */
typedef struct slot {
    const sql_node *one;
    const sql_list *many;
} slot;

#define MAX_SLOTS 6
#define ONE(x)    (slots[k++] = (slot){(x), NULL})
#define MANY(x)   (slots[k++] = (slot){NULL, &(x)})

static size_t expr_slots(const sql_node *n, slot *slots)
{
    size_t k = 0;
    switch (n->kind) {
    case SQL_UNARY:
        ONE(n->u.unary.arg);
        break;
    case SQL_BINARY:
        ONE(n->u.binary.left);
        ONE(n->u.binary.right);
        break;
    case SQL_IS_NULL:
        ONE(n->u.is_null.arg);
        break;
    case SQL_BETWEEN:
        ONE(n->u.between.arg);
        ONE(n->u.between.lo);
        ONE(n->u.between.hi);
        break;
    case SQL_IN_LIST:
        ONE(n->u.in_list.arg);
        MANY(n->u.in_list.list);
        break;
    case SQL_LIKE:
        ONE(n->u.like.arg);
        ONE(n->u.like.pattern);
        break;
    case SQL_CASE:
        ONE(n->u.case_.operand);
        MANY(n->u.case_.whens);
        ONE(n->u.case_.else_expr);
        break;
    case SQL_WHEN:
        ONE(n->u.when.cond);
        ONE(n->u.when.result);
        break;
    case SQL_CAST:
        ONE(n->u.cast.arg);
        break;
    case SQL_CALL:
        MANY(n->u.call.args);
        break;
    case SQL_EXTRACT:
        ONE(n->u.extract.arg);
        break;
    default:
        break;
    }
    return k;
}

static size_t stmt_slots(const sql_node *n, slot *slots)
{
    size_t k = 0;
    switch (n->kind) {
    case SQL_CREATE_TABLE:
        MANY(n->u.create.columns);
        ONE(n->u.create.as_query);
        break;
    case SQL_INSERT:
        MANY(n->u.insert.rows);
        ONE(n->u.insert.query);
        break;
    case SQL_VALUES_ROW:
        MANY(n->u.row.values);
        break;
    case SQL_COPY:
        ONE(n->u.copy.path);
        break;
    case SQL_DELETE:
        ONE(n->u.delete_.where);
        break;
    case SQL_VACUUM:
        ONE(n->u.vacuum.retain_hours);
        break;
    case SQL_SET:
        ONE(n->u.set.value);
        break;
    case SQL_EXPLAIN:
        ONE(n->u.explain.stmt);
        break;
    default:
        break;
    }
    return k;
}

static size_t node_slots(const sql_node *n, slot *slots)
{
    size_t k = 0;
    switch (n->kind) {
    case SQL_QUERY:
        MANY(n->u.query.ctes);
        ONE(n->u.query.body);
        MANY(n->u.query.order_by);
        ONE(n->u.query.limit);
        ONE(n->u.query.offset);
        break;
    case SQL_CTE:
        ONE(n->u.cte.query);
        break;
    case SQL_UNION_ALL:
        ONE(n->u.union_all.left);
        ONE(n->u.union_all.right);
        break;
    case SQL_SELECT:
        MANY(n->u.select.items);
        ONE(n->u.select.from);
        ONE(n->u.select.where);
        MANY(n->u.select.group_by);
        ONE(n->u.select.having);
        break;
    case SQL_SELECT_ITEM:
        ONE(n->u.item.expr);
        break;
    case SQL_ORDER_ITEM:
        ONE(n->u.order.expr);
        break;
    case SQL_TABLE_REF:
        ONE(n->u.table.as_of);
        break;
    case SQL_TABLE_FUNC:
        MANY(n->u.table_func.args);
        break;
    case SQL_DERIVED:
        ONE(n->u.derived.query);
        break;
    case SQL_JOIN:
        ONE(n->u.join.left);
        ONE(n->u.join.right);
        ONE(n->u.join.on);
        break;
    default:
        k = n->kind < SQL_QUERY ? expr_slots(n, slots) : stmt_slots(n, slots);
        break;
    }
    TARN_ASSERT(k <= MAX_SLOTS);
    return k;
}

const sql_node *sql_node_child(const sql_node *n, size_t i)
{
    slot slots[MAX_SLOTS];
    size_t k = node_slots(n, slots);
    for (size_t s = 0; s < k; s++) {
        if (slots[s].many != NULL) {
            if (i < slots[s].many->count)
                return slots[s].many->items[i];
            i -= slots[s].many->count;
        } else if (slots[s].one != NULL) {
            if (i == 0)
                return slots[s].one;
            i--;
        }
    }
    return NULL;
}

int sql_tree_check_depth(const sql_node *n, size_t max_depth, const sql_node **deep_out)
{
    struct frame {
        const sql_node *node;
        size_t next; /* index of the next child to visit */
    } stack[SQL_TREE_DEPTH_MAX + 1];
    TARN_ASSERT(max_depth <= SQL_TREE_DEPTH_MAX);
    if (n == NULL)
        return 0;
    size_t top = 0;
    stack[0] = (struct frame){n, 0};
    for (;;) {
        const sql_node *c = sql_node_child(stack[top].node, stack[top].next++);
        if (c == NULL) {
            if (top == 0)
                return 0;
            top--;
            continue;
        }
        if (top + 1 >= max_depth) {
            if (deep_out)
                *deep_out = c;
            return TARN_ETOOBIG;
        }
        stack[++top] = (struct frame){c, 0};
    }
}
