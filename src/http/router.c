/*
 * http/router.c: the routing table.
 *
 * A pattern is '/'-separated segments; a segment is a literal or {name},
 * which matches exactly one non-empty path segment. "/" is the pattern of
 * zero segments. Matching is a linear scan in registration order: the
 * table holds at most HTTP_ROUTES_MAX routes and a scan over a few dozen
 * short strings costs less than the request parsing around it.
 *
 * Invariants:
 *  1. No two routes share method and pattern (http_router_add refuses).
 *  2. Every route's segments are non-empty; a {name} segment has a name of
 *     [A-Za-z0-9_] characters; at most HTTP_PARAMS_MAX per route.
 *  3. The table is not changed while requests are matched (built before
 *     the server starts), so matching takes no lock.
 *
 * 404 versus 405: when the path matches some pattern but no route with the
 * request's method, the answer is 405 with Allow listing the methods that
 * do exist for that path.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

static const char *const known_methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};

static int method_known(const char *m)
{
    for (size_t i = 0; i < TARN_ARRAY_LEN(known_methods); i++)
        if (strcmp(m, known_methods[i]) == 0)
            return 1;
    return 0;
}

static int seg_is_param(const char *s)
{
    return s[0] == '{';
}

/* Checks one pattern segment (invariant 2). */
static int seg_valid(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (s[0] != '{')
        return memchr(s, '{', len) == NULL && memchr(s, '}', len) == NULL;
    if (len < 3 || s[len - 1] != '}')
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

int http_router_new(http_router **out)
{
    int rc = http_metrics_init();
    if (rc != 0)
        return rc;
    tarn_alloc_hook_jansson();
    http_router *r = tarn_calloc(1, sizeof(*r));
    if (r == NULL)
        return TARN_ENOMEM;
    *out = r;
    return 0;
}

static void route_clear(http_route *rt)
{
    tarn_free(rt->method);
    tarn_free(rt->pattern);
    for (size_t i = 0; i < rt->seg_count; i++)
        tarn_free(rt->segs[i]);
    memset(rt, 0, sizeof(*rt));
}

void http_router_free(http_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->route_count; i++)
        route_clear(&r->routes[i]);
    tarn_free(r);
}

/* Splits pattern into rt->segs (owned copies). */
static int route_split(http_route *rt, const char *pattern)
{
    if (pattern[0] != '/')
        return TARN_EINVAL;
    if (strcmp(pattern, "/") == 0)
        return 0;
    size_t params = 0;
    const char *p = pattern + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!seg_valid(p, len) || rt->seg_count >= HTTP_SEGMENTS_MAX)
            return TARN_EINVAL;
        if (p[0] == '{' && ++params > HTTP_PARAMS_MAX)
            return TARN_EINVAL;
        rt->segs[rt->seg_count] = tarn_strndup(p, len);
        if (rt->segs[rt->seg_count] == NULL)
            return TARN_ENOMEM;
        rt->seg_count++;
        if (slash == NULL)
            return 0;
        p = slash + 1;
    }
}

static http_route *route_find(http_router *r, const char *method, const char *pattern)
{
    for (size_t i = 0; i < r->route_count; i++)
        if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].pattern, pattern) == 0)
            return &r->routes[i];
    return NULL;
}

int http_router_add(http_router *r, const char *method, const char *pattern, http_role role,
                    http_handler_fn fn, void *ctx)
{
    TARN_ASSERT(r != NULL);
    if (method == NULL || pattern == NULL || fn == NULL || !method_known(method) ||
        role < HTTP_ROLE_NONE || role > HTTP_ROLE_ADMIN)
        return TARN_EINVAL;
    if (route_find(r, method, pattern) != NULL)
        return TARN_EEXIST;
    if (r->route_count >= HTTP_ROUTES_MAX)
        return TARN_ERANGE;
    http_route *rt = &r->routes[r->route_count];
    memset(rt, 0, sizeof(*rt));
    int rc = route_split(rt, pattern);
    if (rc == 0) {
        rt->method = tarn_strdup(method);
        rt->pattern = tarn_strdup(pattern);
        if (rt->method == NULL || rt->pattern == NULL)
            rc = TARN_ENOMEM;
    }
    if (rc != 0) {
        route_clear(rt);
        return rc;
    }
    rt->role = role;
    rt->fn = fn;
    rt->ctx = ctx;
    r->route_count++;
    return 0;
}

int http_router_set_role(http_router *r, const char *method, const char *pattern, http_role role)
{
    if (role < HTTP_ROLE_NONE || role > HTTP_ROLE_ADMIN)
        return TARN_EINVAL;
    http_route *rt = route_find(r, method, pattern);
    if (rt == NULL)
        return TARN_ENOENT;
    rt->role = role;
    return 0;
}

/* Splits an untrusted path into m->param_buf, one NUL-terminated segment
 * after another; segs[i] point into it. */
static int path_split(const char *path, http_match *m, char **segs, size_t *count)
{
    size_t len = strlen(path);
    *count = 0;
    if (len == 0 || path[0] != '/' || len >= HTTP_PATH_MAX)
        return TARN_EINVAL;
    if (len == 1)
        return 0;
    memcpy(m->param_buf, path + 1, len); /* NUL included */
    char *p = m->param_buf;
    for (;;) {
        if (*count >= HTTP_SEGMENTS_MAX)
            return TARN_EINVAL;
        segs[(*count)++] = p;
        char *slash = strchr(p, '/');
        if (slash == NULL)
            return 0;
        *slash = '\0';
        p = slash + 1;
    }
}

static int route_matches(const http_route *rt, char *const *segs, size_t count)
{
    if (rt->seg_count != count)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (seg_is_param(rt->segs[i])) {
            if (segs[i][0] == '\0')
                return 0;
        } else if (strcmp(rt->segs[i], segs[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static void allow_append(http_match *m, const char *method)
{
    size_t n = strlen(m->allow);
    size_t need = strlen(method) + (n ? 2 : 0);
    if (n + need + 1 > sizeof(m->allow))
        return; /* six methods fit; more cannot be registered */
    if (n)
        strcat(m->allow, ", ");
    strcat(m->allow, method);
}

int http_router_match(const http_router *r, const char *method, const char *path, http_match *m)
{
    char *segs[HTTP_SEGMENTS_MAX];
    size_t count = 0;
    m->route = NULL;
    m->path_known = 0;
    m->allow[0] = '\0';
    m->param_count = 0;
    int rc = path_split(path, m, segs, &count);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < r->route_count; i++) {
        const http_route *rt = &r->routes[i];
        if (!route_matches(rt, segs, count))
            continue;
        m->path_known = 1;
        allow_append(m, rt->method);
        if (m->route == NULL && strcmp(rt->method, method) == 0)
            m->route = rt;
    }
    if (m->route == NULL)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (!seg_is_param(m->route->segs[i]))
            continue;
        m->param_names[m->param_count] = m->route->segs[i];
        m->param_values[m->param_count] = segs[i];
        m->param_count++;
    }
    return 0;
}
