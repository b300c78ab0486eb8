/* Randomized round trip: random trees from a seed (tarn_test_seed, printed
 * so that TARN_SEED=N replays a failure) are printed as SQL, parsed, and
 * must print the same canonical form as the tree they came from. The SQL
 * printer uses as few parentheses as precedence allows, so this checks the
 * parser's precedence and associativity, not just its parentheses. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/error.h"
#include "base/rand.h"
#include "sql/sql.h"

#include <stdio.h>
#include <string.h>

typedef struct gen {
    tarn_rng rng;
    sql_arena *a;
} gen;

static unsigned pick(gen *g, unsigned n)
{
    return (unsigned)tarn_rng_below(&g->rng, n);
}

static sql_node *mk(gen *g, sql_node_kind kind)
{
    sql_node *n = sql_node_new(g->a, kind, (sql_pos){0, 1, 1});
    assert_non_null(n);
    return n;
}

static void push(gen *g, sql_list *l, sql_node *n)
{
    assert_int_equal(sql_list_push(g->a, l, n), 0);
}

static sql_name name(gen *g, int quoted_ok)
{
    static const char *const plain[] = {"a", "b", "c", "l_tax", "x1", "Ab"};
    static const char *const quoted[] = {"Mixed", "with space", "q\"uote", "select"};
    sql_name n = {0};
    if (quoted_ok && pick(g, 5) == 0) {
        n.text = n.folded = quoted[pick(g, TARN_ARRAY_LEN(quoted))];
        n.quoted = 1;
        return n;
    }
    n.text = plain[pick(g, TARN_ARRAY_LEN(plain))];
    n.folded = strcmp(n.text, "Ab") == 0 ? "ab" : n.text;
    return n;
}

static sql_name opt_name(gen *g)
{
    sql_name none = {0};
    return pick(g, 2) ? name(g, 1) : none;
}

static sql_node *literal(gen *g)
{
    static const struct {
        sql_lit_kind kind;
        const char *text;
    } lits[] = {
        {SQL_LIT_INT, "0"},
        {SQL_LIT_INT, "42"},
        {SQL_LIT_DECIMAL, "12.50"},
        {SQL_LIT_DECIMAL, ".5"},
        {SQL_LIT_DOUBLE, "1.5e3"},
        {SQL_LIT_STRING, "it's"},
        {SQL_LIT_STRING, ""},
        {SQL_LIT_NULL, "NULL"},
        {SQL_LIT_BOOL, "TRUE"},
        {SQL_LIT_DATE, "2020-02-29"},
        {SQL_LIT_TIMESTAMP, "2026-11-01 10:00:00"},
        {SQL_LIT_INTERVAL, "90"},
    };
    unsigned i = pick(g, TARN_ARRAY_LEN(lits));
    sql_node *n = mk(g, SQL_LITERAL);
    n->u.lit.kind = lits[i].kind;
    n->u.lit.text = lits[i].text;
    n->u.lit.str = lits[i].text;
    n->u.lit.bval = 1;
    n->u.lit.unit = (sql_interval_unit)pick(g, 6);
    return n;
}

static sql_node *leaf(gen *g)
{
    if (pick(g, 2))
        return literal(g);
    sql_node *n = mk(g, SQL_COLUMN);
    n->u.column.column = name(g, 1);
    if (pick(g, 3) == 0)
        n->u.column.table = name(g, 1);
    return n;
}

static sql_type type(gen *g)
{
    sql_type t = {.kind = (sql_type_kind)pick(g, SQL_TYPE_TIMESTAMP + 1), .length = -1};
    if (t.kind == SQL_TYPE_DECIMAL) {
        t.precision = 1 + (int32_t)pick(g, 38);
        t.scale = (int32_t)pick(g, (unsigned)t.precision + 1);
    }
    if (t.kind == SQL_TYPE_VARCHAR && pick(g, 2))
        t.length = 1 + (int32_t)pick(g, 100);
    return t;
}

static sql_node *expr(gen *g, int depth);

static void args(gen *g, sql_list *l, unsigned max, int depth)
{
    unsigned n = 1 + pick(g, max);
    for (unsigned i = 0; i < n; i++)
        push(g, l, expr(g, depth - 1));
}

static sql_node *call(gen *g, int depth)
{
    static const char *const fns[] = {"sum",    "min",      "max",       "avg",
                                      "lower",  "upper",    "length",    "substr",
                                      "concat", "coalesce", "date_trunc"};
    sql_node *n = mk(g, SQL_CALL);
    const char *f = pick(g, 4) == 0 ? "count" : fns[pick(g, TARN_ARRAY_LEN(fns))];
    n->u.call.name = (sql_name){.text = f, .folded = f};
    if (strcmp(f, "count") == 0 && pick(g, 2)) {
        n->u.call.star = 1;
        return n;
    }
    n->u.call.distinct = pick(g, 4) == 0;
    if (n->u.call.distinct || pick(g, 5) != 0)
        args(g, &n->u.call.args, 3, depth);
    return n;
}

static sql_node *case_expr(gen *g, int depth)
{
    sql_node *n = mk(g, SQL_CASE);
    if (pick(g, 2))
        n->u.case_.operand = expr(g, depth - 1);
    unsigned whens = 1 + pick(g, 2);
    for (unsigned i = 0; i < whens; i++) {
        sql_node *w = mk(g, SQL_WHEN);
        w->u.when.cond = expr(g, depth - 1);
        w->u.when.result = expr(g, depth - 1);
        push(g, &n->u.case_.whens, w);
    }
    if (pick(g, 2))
        n->u.case_.else_expr = expr(g, depth - 1);
    return n;
}

/* The operator forms with their negated variants. */
static sql_node *operator_expr(gen *g, unsigned which, int depth)
{
    static const sql_op unary[] = {SQL_OP_NOT, SQL_OP_NEG, SQL_OP_PLUS};
    sql_node *n;
    switch (which) {
    case 0:
        n = mk(g, SQL_BINARY);
        n->u.binary.op = (sql_op)(SQL_OP_OR + pick(g, SQL_OP_MOD + 1));
        if (n->u.binary.op == SQL_OP_NOT)
            n->u.binary.op = SQL_OP_AND;
        n->u.binary.left = expr(g, depth - 1);
        n->u.binary.right = expr(g, depth - 1);
        return n;
    case 1:
        n = mk(g, SQL_UNARY);
        n->u.unary.op = unary[pick(g, 3)];
        n->u.unary.arg = expr(g, depth - 1);
        return n;
    case 2:
        n = mk(g, SQL_IS_NULL);
        n->u.is_null.negated = (int)pick(g, 2);
        n->u.is_null.arg = expr(g, depth - 1);
        return n;
    case 3:
        n = mk(g, SQL_BETWEEN);
        n->u.between.negated = (int)pick(g, 2);
        n->u.between.arg = expr(g, depth - 1);
        n->u.between.lo = expr(g, depth - 1);
        n->u.between.hi = expr(g, depth - 1);
        return n;
    case 4:
        n = mk(g, SQL_IN_LIST);
        n->u.in_list.negated = (int)pick(g, 2);
        n->u.in_list.arg = expr(g, depth - 1);
        args(g, &n->u.in_list.list, 3, depth);
        return n;
    default:
        n = mk(g, SQL_LIKE);
        n->u.like.negated = (int)pick(g, 2);
        n->u.like.arg = expr(g, depth - 1);
        n->u.like.pattern = expr(g, depth - 1);
        return n;
    }
}

static sql_node *expr(gen *g, int depth)
{
    if (depth <= 0 || pick(g, 4) == 0)
        return leaf(g);
    unsigned which = pick(g, 10);
    if (which < 6)
        return operator_expr(g, which, depth);
    if (which == 6)
        return call(g, depth);
    if (which == 7)
        return case_expr(g, depth);
    sql_node *n;
    if (which == 8) {
        n = mk(g, SQL_CAST);
        n->u.cast.arg = expr(g, depth - 1);
        n->u.cast.type = type(g);
        n->u.cast.colon_syntax = (int)pick(g, 2);
        return n;
    }
    static const char *const fields[] = {"year", "month", "day"};
    n = mk(g, SQL_EXTRACT);
    const char *f = fields[pick(g, 3)];
    n->u.extract.field = (sql_name){.text = f, .folded = f};
    n->u.extract.arg = expr(g, depth - 1);
    return n;
}

static sql_node *query(gen *g, int depth);

static sql_node *table_primary(gen *g, int depth)
{
    unsigned which = pick(g, depth > 0 ? 4 : 3);
    sql_node *n;
    if (which == 0 || which == 1) {
        n = mk(g, SQL_TABLE_REF);
        n->u.table.name = name(g, 1);
        n->u.table.alias = opt_name(g);
        n->u.table.travel = which == 1 ? (sql_travel_kind)(1 + pick(g, 2)) : SQL_TRAVEL_NONE;
        if (n->u.table.travel != SQL_TRAVEL_NONE) {
            sql_node *l = mk(g, SQL_LITERAL);
            int v = n->u.table.travel == SQL_TRAVEL_VERSION;
            l->u.lit.kind = v ? SQL_LIT_INT : SQL_LIT_STRING;
            l->u.lit.text = l->u.lit.str = v ? "3" : "2026-11-01 10:00:00";
            n->u.table.as_of = l;
        }
    } else if (which == 2) {
        n = mk(g, SQL_TABLE_FUNC);
        const char *f = pick(g, 2) ? "read_parquet" : "delta_scan";
        n->u.table_func.name = (sql_name){.text = f, .folded = f};
        sql_node *path = mk(g, SQL_LITERAL);
        path->u.lit.kind = SQL_LIT_STRING;
        path->u.lit.str = "/data/x's.parquet";
        push(g, &n->u.table_func.args, path);
        n->u.table_func.alias = opt_name(g);
    } else {
        n = mk(g, SQL_DERIVED);
        n->u.derived.query = query(g, depth - 1);
        n->u.derived.alias = opt_name(g);
    }
    return n;
}

static sql_node *from(gen *g, int depth)
{
    sql_node *left = table_primary(g, depth);
    unsigned joins = pick(g, 3);
    for (unsigned i = 0; i < joins; i++) {
        sql_node *j = mk(g, SQL_JOIN);
        j->u.join.kind = (sql_join_kind)pick(g, 3);
        j->u.join.left = left;
        j->u.join.right = table_primary(g, depth);
        if (j->u.join.kind != SQL_JOIN_CROSS)
            j->u.join.on = expr(g, 2);
        left = j;
    }
    return left;
}

static sql_node *select_core(gen *g, int depth)
{
    sql_node *s = mk(g, SQL_SELECT);
    s->u.select.distinct = pick(g, 4) == 0;
    unsigned items = 1 + pick(g, 3);
    for (unsigned i = 0; i < items; i++) {
        sql_node *it = mk(g, SQL_SELECT_ITEM);
        if (pick(g, 8) == 0) {
            it->u.item.expr = mk(g, SQL_STAR);
            if (pick(g, 2))
                it->u.item.expr->u.star.table = name(g, 1);
        } else {
            it->u.item.expr = expr(g, 3);
            it->u.item.alias = opt_name(g);
        }
        push(g, &s->u.select.items, it);
    }
    if (pick(g, 4) != 0)
        s->u.select.from = from(g, depth);
    if (pick(g, 2))
        s->u.select.where = expr(g, 4);
    if (pick(g, 3) == 0) {
        args(g, &s->u.select.group_by, 2, 2);
        if (pick(g, 2))
            s->u.select.having = expr(g, 3);
    }
    return s;
}

static sql_node *int_lit(gen *g, const char *text)
{
    sql_node *l = mk(g, SQL_LITERAL);
    l->u.lit.kind = SQL_LIT_INT;
    l->u.lit.text = text;
    return l;
}

static sql_node *query(gen *g, int depth)
{
    sql_node *q = mk(g, SQL_QUERY);
    if (depth > 0 && pick(g, 5) == 0) {
        sql_node *c = mk(g, SQL_CTE);
        c->u.cte.name = name(g, 1);
        c->u.cte.query = query(g, depth - 1);
        push(g, &q->u.query.ctes, c);
    }
    q->u.query.body = select_core(g, depth);
    unsigned unions = pick(g, 4) == 0 ? 1 + pick(g, 2) : 0;
    for (unsigned i = 0; i < unions; i++) {
        sql_node *u = mk(g, SQL_UNION_ALL);
        u->u.union_all.left = q->u.query.body;
        u->u.union_all.right =
            depth > 0 && pick(g, 3) == 0 ? query(g, depth - 1) : select_core(g, depth);
        q->u.query.body = u;
    }
    for (unsigned i = 0, n = pick(g, 3); i < n; i++) {
        sql_node *o = mk(g, SQL_ORDER_ITEM);
        o->u.order.expr = expr(g, 2);
        o->u.order.desc = (int)pick(g, 2);
        o->u.order.nulls = (sql_nulls_order)pick(g, 3);
        push(g, &q->u.query.order_by, o);
    }
    if (pick(g, 3) == 0)
        q->u.query.limit = int_lit(g, "10");
    if (pick(g, 4) == 0)
        q->u.query.offset = int_lit(g, "5");
    return q;
}

static sql_node *create_table(gen *g)
{
    sql_node *n = mk(g, SQL_CREATE_TABLE);
    n->u.create.name = name(g, 1);
    n->u.create.if_not_exists = (int)pick(g, 2);
    if (pick(g, 3) == 0) {
        n->u.create.as_query = query(g, 1);
        return n;
    }
    for (unsigned i = 0, k = 1 + pick(g, 4); i < k; i++) {
        sql_node *c = mk(g, SQL_COLUMN_DEF);
        c->u.column_def.name = name(g, 1);
        c->u.column_def.type = type(g);
        c->u.column_def.not_null = (int)pick(g, 2);
        push(g, &n->u.create.columns, c);
    }
    for (unsigned i = 0, k = pick(g, 3); i < k; i++) {
        sql_name nm = name(g, 1);
        assert_int_equal(sql_name_list_push(g->a, &n->u.create.partition_by, &nm), 0);
    }
    return n;
}

static sql_node *insert(gen *g)
{
    sql_node *n = mk(g, SQL_INSERT);
    n->u.insert.table = name(g, 1);
    for (unsigned i = 0, k = pick(g, 3); i < k; i++) {
        sql_name nm = name(g, 1);
        assert_int_equal(sql_name_list_push(g->a, &n->u.insert.columns, &nm), 0);
    }
    if (pick(g, 2)) {
        n->u.insert.query = query(g, 1);
        return n;
    }
    for (unsigned i = 0, k = 1 + pick(g, 3); i < k; i++) {
        sql_node *r = mk(g, SQL_VALUES_ROW);
        args(g, &r->u.row.values, 3, 2);
        push(g, &n->u.insert.rows, r);
    }
    return n;
}

/* Statements that name one table and little else. */
static sql_node *simple_statement(gen *g)
{
    static const sql_node_kind kinds[] = {SQL_COPY,        SQL_DELETE,   SQL_DROP_TABLE,
                                          SQL_SHOW_TABLES, SQL_DESCRIBE, SQL_OPTIMIZE,
                                          SQL_VACUUM};
    sql_node *n = mk(g, kinds[pick(g, TARN_ARRAY_LEN(kinds))]);
    sql_name t = name(g, 1);
    switch (n->kind) {
    case SQL_COPY:
        n->u.copy.table = t;
        n->u.copy.path = mk(g, SQL_LITERAL);
        n->u.copy.path->u.lit.kind = SQL_LIT_STRING;
        n->u.copy.path->u.lit.str = "in.csv";
        n->u.copy.format = (sql_copy_format)pick(g, 4);
        break;
    case SQL_DELETE:
        n->u.delete_.table = t;
        n->u.delete_.where = pick(g, 4) ? expr(g, 3) : NULL;
        break;
    case SQL_DROP_TABLE:
        n->u.drop.table = t;
        n->u.drop.if_exists = (int)pick(g, 2);
        break;
    case SQL_DESCRIBE:
        n->u.describe.table = t;
        n->u.describe.history = (int)pick(g, 2);
        break;
    case SQL_OPTIMIZE:
        n->u.optimize.table = t;
        break;
    case SQL_VACUUM:
        n->u.vacuum.table = t;
        n->u.vacuum.retain_hours = pick(g, 2) ? int_lit(g, "168") : NULL;
        break;
    default:
        break;
    }
    return n;
}

static sql_node *statement(gen *g)
{
    unsigned which = pick(g, 10);
    if (which < 5)
        return query(g, 2);
    if (which == 5)
        return create_table(g);
    if (which == 6)
        return insert(g);
    if (which == 7) {
        sql_node *n = mk(g, SQL_EXPLAIN);
        n->u.explain.analyze = (int)pick(g, 2);
        n->u.explain.stmt = query(g, 1);
        return n;
    }
    return simple_statement(g);
}

static char *print(int (*fn)(const sql_node *, tarn_buf *), const sql_node *n)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(fn(n, &b), 0);
    size_t len;
    return (char *)tarn_buf_detach(&b, &len);
}

/* One generated statement through SQL text and back. */
static void round_trip(gen *g, uint64_t seed, int iter)
{
    sql_node *n = statement(g);
    char *want = print(sql_print_sexpr, n);
    char *sql = print(sql_print_sql, n);
    sql_script *s = NULL;
    sql_error e;
    if (sql_parse(sql, strlen(sql), &s, &e) != 0)
        fail_msg("seed %llu iteration %d: <%s> does not parse: %s at %u:%u\ntree: %s",
                 (unsigned long long)seed, iter, sql, e.msg, e.pos.line, e.pos.col, want);
    assert_int_equal(s->count, 1);
    char *got = print(sql_print_sexpr, s->stmts[0]);
    char *again = print(sql_print_sql, s->stmts[0]);
    char *json = print(sql_print_json, s->stmts[0]);
    if (strcmp(want, got) != 0 || strcmp(sql, again) != 0)
        fail_msg("seed %llu iteration %d\nsql:  %s\nwant: %s\ngot:  %s\nsql2: %s",
                 (unsigned long long)seed, iter, sql, want, got, again);
    tarn_free(json);
    tarn_free(again);
    tarn_free(got);
    tarn_free(want);
    tarn_free(sql);
    sql_script_free(s);
}

static void test_random_round_trip(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    gen g;
    tarn_rng_seed(&g.rng, seed);
    for (int iter = 0; iter < 3000; iter++) {
        sql_arena a;
        sql_arena_init(&a, SQL_ARENA_MAX_BYTES);
        g.a = &a;
        round_trip(&g, seed, iter);
        sql_arena_free(&a);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
