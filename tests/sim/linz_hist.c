/*
 * tests/sim/linz_hist.c: a recorded JSON history (linz_hist.h) turned into
 * linz_ops and checked. Keys and values are interned to numbers (value 0
 * is "absent"); times are replaced by their ranks, calls before returns at
 * equal times, which keeps the order and makes ties overlap.
 */
#include "linz_hist.h"

#include "base/alloc.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LINZ_HIST_BUDGET_DEFAULT 10000000ULL

/* One op as read, with the strings it borrows from the JSON document. */
typedef struct hist_op {
    const char *key, *value; /* value NULL: absent */
    const char *op;
    int64_t call_ns, ret_ns; /* ret_ns -1: pending */
    int64_t client;          /* -1: not given */
    linz_op l;
} hist_op;

typedef struct hist {
    json_t *doc;
    hist_op *ops;
    size_t n;
    size_t serializable;
    char err[256];
} hist;

static int hist_kind(const char *op)
{
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {{"read", LINZ_KV_READ},
                 {"put", LINZ_KV_PUT},
                 {"cas", LINZ_KV_CAS},
                 {"cas_failed", LINZ_KV_CAS_FAILED}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(op, kinds[i].name) == 0)
            return kinds[i].kind;
    return -1;
}

/* Optional non-negative integer field: LINZ_ANY when null or missing. */
static int opt_u64(json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    *out = LINZ_ANY;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Reads ops[i] from JSON element o; 0, or -1 with h->err set. */
static int hist_read_op(hist *h, size_t i, json_t *o)
{
    hist_op *x = &h->ops[h->n];
    memset(x, 0, sizeof(*x));
    json_t *k = json_object_get(o, "key"), *op = json_object_get(o, "op");
    json_t *call = json_object_get(o, "call"), *ret = json_object_get(o, "ret");
    json_t *val = json_object_get(o, "value"), *cons = json_object_get(o, "consistency");
    json_t *client = json_object_get(o, "client");
    int kind = json_is_string(op) ? hist_kind(json_string_value(op)) : -1;
    if (!json_is_object(o) || !json_is_string(k) || kind < 0 || !json_is_integer(call) ||
        json_integer_value(call) < 0 ||
        !(ret == NULL || json_is_null(ret) || json_is_integer(ret)) ||
        !(val == NULL || json_is_null(val) || json_is_string(val))) {
        snprintf(h->err, sizeof(h->err),
                 "op %zu: needs \"key\" (string), \"op\" (read, put, cas, cas_failed), "
                 "\"call\" (integer), \"ret\" (integer or null), \"value\" (string or null)",
                 i);
        return -1;
    }
    if (json_is_string(cons) && strcmp(json_string_value(cons), "serializable") == 0) {
        h->serializable++;
        return 0; /* stale by design: not part of the linearizable model */
    }
    x->key = json_string_value(k);
    x->op = json_string_value(op);
    x->value = json_is_string(val) ? json_string_value(val) : NULL;
    x->call_ns = json_integer_value(call);
    x->ret_ns = json_is_integer(ret) ? json_integer_value(ret) : -1;
    x->client = json_is_integer(client) ? json_integer_value(client) : -1;
    x->l.kind = kind;
    if (opt_u64(o, "version", &x->l.version) != 0 || opt_u64(o, "expect", &x->l.expect) != 0 ||
        ((kind == LINZ_KV_CAS || kind == LINZ_KV_CAS_FAILED) && x->l.expect == LINZ_ANY)) {
        snprintf(h->err, sizeof(h->err),
                 "op %zu: \"version\"/\"expect\" must be integers >= 0 (cas needs expect)", i);
        return -1;
    }
    if ((kind == LINZ_KV_PUT || kind == LINZ_KV_CAS) && x->value == NULL) {
        snprintf(h->err, sizeof(h->err), "op %zu: a %s needs a value", i, x->op);
        return -1;
    }
    if (x->ret_ns >= 0 && x->ret_ns < x->call_ns) {
        snprintf(h->err, sizeof(h->err), "op %zu: returned before it was called", i);
        return -1;
    }
    h->n++;
    return 0;
}

static int hist_writes(const linz_op *l)
{
    return l->kind == LINZ_KV_PUT || l->kind == LINZ_KV_CAS;
}

static int by_key_value(const void *a, const void *b)
{
    const hist_op *x = *(const hist_op *const *)a, *y = *(const hist_op *const *)b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    if (!x->value || !y->value)
        return (x->value != NULL) - (y->value != NULL);
    return strcmp(x->value, y->value);
}

/* Interns keys (1, 2, ...) and values per key (0: absent, then 1, 2, ...);
 * refuses a value written twice to one key. */
static int hist_intern(hist *h)
{
    hist_op **p = tarn_malloc_array(h->n + 1, sizeof(hist_op *));
    if (!p)
        return -1;
    for (size_t i = 0; i < h->n; i++)
        p[i] = &h->ops[i];
    qsort(p, h->n, sizeof(hist_op *), by_key_value);
    uint64_t key_id = 0, value_id = 0;
    int rc = 0;
    for (size_t i = 0; i < h->n && rc == 0; i++) {
        int new_key = i == 0 || strcmp(p[i]->key, p[i - 1]->key) != 0;
        if (new_key) {
            key_id++;
            value_id = 0;
        }
        int same_value = !new_key && by_key_value(&p[i], &p[i - 1]) == 0;
        if (p[i]->value && !same_value)
            value_id++;
        p[i]->l.key = key_id;
        p[i]->l.value = p[i]->value ? value_id : 0;
        if (!new_key && same_value && p[i]->value && hist_writes(&p[i]->l) &&
            hist_writes(&p[i - 1]->l)) {
            snprintf(h->err, sizeof(h->err), "key '%s': value '%s' written twice", p[i]->key,
                     p[i]->value);
            rc = -1;
        }
    }
    tarn_free(p);
    return rc;
}

typedef struct hist_event {
    int64_t t;
    int is_ret;
    hist_op *op;
} hist_event;

static int event_cmp(const void *a, const void *b)
{
    const hist_event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->is_ret - y->is_ret; /* calls first: ties overlap */
}

/* Replaces times by ranks (1, 2, ...); pending returns stay LINZ_PENDING. */
static int hist_rank_times(hist *h)
{
    hist_event *ev = tarn_malloc_array(2 * h->n + 1, sizeof(hist_event));
    if (!ev)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < h->n; i++) {
        ev[m++] = (hist_event){h->ops[i].call_ns, 0, &h->ops[i]};
        if (h->ops[i].ret_ns >= 0)
            ev[m++] = (hist_event){h->ops[i].ret_ns, 1, &h->ops[i]};
        else
            h->ops[i].l.ret = LINZ_PENDING;
    }
    qsort(ev, m, sizeof(hist_event), event_cmp);
    for (size_t i = 0; i < m; i++) {
        if (ev[i].is_ret)
            ev[i].op->l.ret = i + 1;
        else
            ev[i].op->l.call = i + 1;
    }
    tarn_free(ev);
    return 0;
}

static int by_call(const void *a, const void *b)
{
    const hist_op *x = *(const hist_op *const *)a, *y = *(const hist_op *const *)b;
    return x->call_ns < y->call_ns ? -1 : (x->call_ns > y->call_ns);
}

static void print_version(FILE *out, const char *label, uint64_t v)
{
    if (v != LINZ_ANY)
        fprintf(out, " %s %" PRIu64, label, v);
}

/* The failing key's operations in call order, times in ms from t0. */
static void hist_print_key(const hist *h, uint64_t key, uint64_t stuck_call, int64_t t0, FILE *out)
{
    hist_op **p = tarn_malloc_array(h->n + 1, sizeof(hist_op *));
    if (!p)
        return;
    size_t m = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->ops[i].l.key == key)
            p[m++] = &h->ops[i];
    qsort(p, m, sizeof(hist_op *), by_call);
    fprintf(out, "sub-history of key '%s' (%zu operations, ms from the first call):\n",
            m ? p[0]->key : "?", m);
    for (size_t i = 0; i < m; i++) {
        const hist_op *x = p[i];
        char ret[32] = "pending";
        if (x->ret_ns >= 0)
            snprintf(ret, sizeof(ret), "%.3f", (double)(x->ret_ns - t0) / 1e6);
        fprintf(out, "  [%10.3f .. %10s]", (double)(x->call_ns - t0) / 1e6, ret);
        if (x->client >= 0)
            fprintf(out, " client %" PRId64, x->client);
        fprintf(out, " %s", x->op);
        if (x->l.kind == LINZ_KV_CAS || x->l.kind == LINZ_KV_CAS_FAILED)
            fprintf(out, " expect %" PRIu64, x->l.expect);
        fprintf(out, " %s %s%s%s",
                x->l.kind == LINZ_KV_READ || x->l.kind == LINZ_KV_CAS_FAILED ? "saw" : "wrote",
                x->value ? "'" : "", x->value ? x->value : "(absent)", x->value ? "'" : "");
        print_version(out, "version", x->l.version);
        fputs(x->l.call == stuck_call ? "   <-- no linearization gets past this\n" : "\n", out);
    }
    tarn_free(p);
}

static int hist_load(hist *h, const char *path)
{
    json_error_t je;
    h->doc = json_load_file(path, 0, &je);
    if (!h->doc) {
        snprintf(h->err, sizeof(h->err), "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    json_t *ops = json_object_get(h->doc, "ops");
    if (!json_is_array(ops)) {
        snprintf(h->err, sizeof(h->err), "%s: no \"ops\" array", path);
        return -1;
    }
    h->ops = tarn_calloc(json_array_size(ops) + 1, sizeof(hist_op));
    if (!h->ops) {
        snprintf(h->err, sizeof(h->err), "out of memory");
        return -1;
    }
    size_t i;
    json_t *o;
    json_array_foreach(ops, i, o)
    {
        if (hist_read_op(h, i, o) != 0)
            return -1;
    }
    if (hist_intern(h) != 0 || hist_rank_times(h) != 0) {
        if (!h->err[0])
            snprintf(h->err, sizeof(h->err), "out of memory");
        return -1;
    }
    return 0;
}

int linz_hist_check_file(const char *path, uint64_t budget, FILE *out, linz_hist_stats *st)
{
    linz_hist_stats local;
    linz_hist_stats *s = st ? st : &local;
    memset(s, 0, sizeof(*s));
    hist h;
    memset(&h, 0, sizeof(h));
    int rc = LINZ_HIST_BAD_INPUT;
    if (hist_load(&h, path) != 0) {
        fprintf(out, "linz_check: %s\n", h.err);
        goto done;
    }
    linz_op *ops = tarn_malloc_array(h.n + 1, sizeof(linz_op));
    if (!ops) {
        fprintf(out, "linz_check: out of memory\n");
        goto done;
    }
    int64_t t0 = INT64_MAX;
    for (size_t i = 0; i < h.n; i++) {
        ops[i] = h.ops[i].l;
        s->pending += h.ops[i].ret_ns < 0;
        t0 = h.ops[i].call_ns < t0 ? h.ops[i].call_ns : t0;
    }
    s->ops = h.n + h.serializable;
    s->checked = h.n;
    s->serializable = h.serializable;
    char why[512];
    linz_stats ls;
    linz_opts lo = {.key_budget_steps = budget ? budget : LINZ_HIST_BUDGET_DEFAULT};
    int v = linz_check(ops, h.n, &lo, why, sizeof(why), &ls);
    tarn_free(ops);
    s->keys = ls.keys;
    s->steps = ls.steps;
    if (v == LINZ_OK) {
        fprintf(out,
                "linearizable: %zu operations (%zu pending, %zu serializable reads left out) "
                "on %zu keys, %" PRIu64 " search steps\n",
                s->ops, s->pending, s->serializable, s->keys, s->steps);
        rc = LINZ_HIST_OK;
    } else if (v == LINZ_VIOLATION) {
        fprintf(out, "NOT LINEARIZABLE: %s\n(keys and values numbered in their string order)\n",
                why);
        hist_print_key(&h, ls.bad_key, ls.bad_call, t0, out);
        rc = LINZ_HIST_VIOLATION;
    } else {
        fprintf(out, "undecided: the search for one key ran out of its budget\n");
        hist_print_key(&h, ls.bad_key, 0, t0, out);
        rc = LINZ_HIST_GAVE_UP;
    }
done:
    tarn_free(h.ops);
    json_decref(h.doc);
    return rc;
}
