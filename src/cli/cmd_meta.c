/*
 * cli/cmd_meta.c: `tarn meta`, one member of the replicated metadata
 * service. The same node/ as `tarn local`, with peers: the Raft group
 * spans the members named by --peers, talking over the peer transport on
 * --peer-listen, and every member serves the HTTP API on --listen.
 *
 *   tarn meta --id 1 --listen 127.0.0.1:7001 --peer-listen 127.0.0.1:7101 \
 *             --peers 1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103 \
 *             --data ./m1 [--keys DIR] [--cluster-name NAME] [options of tarn local]
 *
 * On any member: writes (PUT/DELETE/txn, catalog commands) are forwarded
 * by node/ to the leader and answered with the leader's result;
 * linearizable reads take a ReadIndex from the leader and read locally;
 * ?consistency=serializable reads the local state at once; POST /v1/tso on
 * a follower answers 307 to the leader. GET /v1/status (no key needed)
 * says who this member is and what it knows about the group; POST
 * /v1/cluster/transfer?to=N (admin) hands leadership to member N.
 * GET /v1/cluster/members lists the configuration in force (id, voter,
 * peer address); POST /v1/cluster/members (admin) with a JSON body
 * {"op":"add","id":N,"addr":"HOST:PORT"} | {"op":"promote","id":N} |
 * {"op":"remove","id":N} changes it on the leader (a follower answers 307
 * to the leader's /v1/cluster/members; the body goes along).
 *
 *   tarn meta --join --id 4 --peer-listen H:P --peers <current members> ...
 * starts a member that is not in the configuration yet: it waits, silent,
 * until the leader adds it (node_opts.join).
 *
 *   tarn meta transfer --cluster D/cluster.json --to N
 * asks the current leader of a `tarn cluster up` cluster to do that;
 *   tarn meta add --cluster D/cluster.json --id N [--listen H:P]
 *                 [--peer-listen H:P] [--data DIR]
 * starts member N with --join, has the leader add it as a learner, waits
 * until it has caught up with the leader's commit index, promotes it to a
 * voter and records it in cluster.json;
 *   tarn meta remove --cluster D/cluster.json --id N
 * takes member N out of the configuration (leadership moves first when N
 * leads), stops its process and drops it from cluster.json
 * (cmd_cluster.c).
 *
 * API keys live in --keys (default: the data directory). `tarn cluster
 * up` points every member at one directory, so one admin key works
 * everywhere. Start-up prints, for people and scripts:
 *   tarn: member 1 listening on http://127.0.0.1:7001 (peers on 127.0.0.1:7101)
 *   tarn: admin API key in DIR/admin.key
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "http/http.h"
#include "kv/kv.h"
#include "kv/kv_routes.h"
#include "node/node.h"
#include "raft/raft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Raft timing of a member: a 20 ms tick, elections after 0.5-1 s of
 * silence, heartbeats every 60 ms. Slower than the embedded node's, since
 * a cluster on a loaded machine must not re-elect on every fsync stall. */
#define CLI_META_TICK_MS         20
#define CLI_META_ELECTION_TICKS  25
#define CLI_META_HEARTBEAT_TICKS 3

/* Options of `tarn meta` on top of tarn local's configuration. */
typedef struct meta_opts {
    uint64_t id;
    char peer_listen[NODE_TP_ADDR_MAX];
    node_peer members[NODE_TP_PEERS_MAX];
    size_t n_members;
    char keys_dir[TARN_CONFIG_PATH_MAX];
    char store_dir[TARN_CONFIG_PATH_MAX]; /* --store: reported by GET /v1/catalog; "" none */
    char cluster_name[64];
    unsigned tick_ms, election_ticks, heartbeat_ticks, log_keep_entries;
    int join; /* --join: not in the configuration yet (node_opts.join) */
} meta_opts;

/* Parses "1=host:port,2=host:port". */
static int meta_parse_peers(const char *s, meta_opts *m, tarn_err *err)
{
    m->n_members = 0;
    while (*s) {
        if (m->n_members >= NODE_TP_PEERS_MAX)
            return tarn_err_set(err, TARN_EINVAL, "--peers: at most %d members", NODE_TP_PEERS_MAX);
        char *end = NULL;
        unsigned long long id = strtoull(s, &end, 10);
        if (end == s || *end != '=' || id == 0)
            return tarn_err_set(err, TARN_EINVAL, "--peers: expected ID=HOST:PORT at '%s'", s);
        const char *addr = end + 1;
        const char *comma = strchr(addr, ',');
        size_t len = comma ? (size_t)(comma - addr) : strlen(addr);
        if (len == 0 || len >= NODE_TP_ADDR_MAX || !memchr(addr, ':', len))
            return tarn_err_set(err, TARN_EINVAL, "--peers: member %llu needs HOST:PORT", id);
        node_peer *p = &m->members[m->n_members++];
        p->id = id;
        memcpy(p->addr, addr, len);
        p->addr[len] = '\0';
        s = comma ? comma + 1 : addr + len;
    }
    if (m->n_members == 0)
        return tarn_err_set(err, TARN_EINVAL, "--peers is empty");
    return 0;
}

static int meta_uint(const char *name, const char *v, unsigned long long max,
                     unsigned long long *out, tarn_err *err)
{
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || x == 0 || x > max)
        return tarn_err_set(err, TARN_EINVAL, "--%s: '%s' is not a number in 1..%llu", name, v,
                            max);
    *out = x;
    return 0;
}

/* Applies one meta-only flag; TARN_ENOENT when `name` is not one. */
static int meta_flag(meta_opts *m, const char *name, const char *v, tarn_err *err)
{
    unsigned long long x = 0;
    int rc = 0;
    if (strcmp(name, "id") == 0) {
        rc = meta_uint(name, v, UINT64_MAX - 1, &x, err);
        m->id = x;
    } else if (strcmp(name, "peers") == 0) {
        rc = meta_parse_peers(v, m, err);
    } else if (strcmp(name, "peer-listen") == 0) {
        if (strlen(v) >= sizeof(m->peer_listen) || !strchr(v, ':'))
            return tarn_err_set(err, TARN_EINVAL, "--peer-listen: expected HOST:PORT");
        snprintf(m->peer_listen, sizeof(m->peer_listen), "%s", v);
    } else if (strcmp(name, "keys") == 0) {
        if (strlen(v) >= sizeof(m->keys_dir) || !*v)
            return tarn_err_set(err, TARN_EINVAL, "--keys: bad directory");
        snprintf(m->keys_dir, sizeof(m->keys_dir), "%s", v);
    } else if (strcmp(name, "store") == 0) {
        if (strlen(v) >= sizeof(m->store_dir) || !*v)
            return tarn_err_set(err, TARN_EINVAL, "--store: bad directory");
        snprintf(m->store_dir, sizeof(m->store_dir), "%s", v);
    } else if (strcmp(name, "cluster-name") == 0) {
        if (strlen(v) >= sizeof(m->cluster_name) || !*v)
            return tarn_err_set(err, TARN_EINVAL, "--cluster-name: 1..63 characters");
        snprintf(m->cluster_name, sizeof(m->cluster_name), "%s", v);
    } else if (strcmp(name, "tick-ms") == 0) {
        rc = meta_uint(name, v, 10000, &x, err);
        m->tick_ms = (unsigned)x;
    } else if (strcmp(name, "election-ticks") == 0) {
        rc = meta_uint(name, v, 10000, &x, err);
        m->election_ticks = (unsigned)x;
    } else if (strcmp(name, "heartbeat-ticks") == 0) {
        rc = meta_uint(name, v, 10000, &x, err);
        m->heartbeat_ticks = (unsigned)x;
    } else if (strcmp(name, "log-keep-entries") == 0) {
        rc = meta_uint(name, v, 1u << 30, &x, err);
        m->log_keep_entries = (unsigned)x;
    } else {
        return TARN_ENOENT;
    }
    return rc;
}

/* Splits argv into meta flags (applied to m) and the rest (left in
 * rest[], for tarn_config_parse_args). */
static int meta_parse_args(int argc, char **argv, meta_opts *m, char **rest, int *n_rest,
                           tarn_err *err)
{
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        char name[64];
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (strncmp(a, "--", 2) != 0 || nl - 2 >= sizeof(name)) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        memcpy(name, a + 2, nl - 2);
        name[nl - 2] = '\0';
        if (strcmp(name, "join") == 0 && !eq) {
            m->join = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        int rc = v ? meta_flag(m, name, v, err) : TARN_ENOENT;
        if (rc == TARN_ENOENT) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (rc != 0)
            return rc;
        if (!eq)
            i++;
    }
    if (m->id == 0)
        return tarn_err_set(err, TARN_EINVAL, "--id N is required");
    if (m->n_members == 0)
        return tarn_err_set(err, TARN_EINVAL, "--peers ID=HOST:PORT,... is required");
    for (size_t i = 0; i < m->n_members; i++) {
        if (m->members[i].id == m->id && m->join)
            return tarn_err_set(err, TARN_EINVAL,
                                "--join: member %" PRIu64 " is in --peers already; a joining "
                                "member gives the current members only",
                                m->id);
        if (m->members[i].id == m->id && !m->peer_listen[0])
            snprintf(m->peer_listen, sizeof(m->peer_listen), "%s", m->members[i].addr);
    }
    if (m->join && !m->peer_listen[0])
        return tarn_err_set(err, TARN_EINVAL, "--join needs --peer-listen HOST:PORT");
    if (!m->peer_listen[0])
        return tarn_err_set(err, TARN_EINVAL,
                            "--peers does not name this member (--id %" PRIu64 ")", m->id);
    return 0;
}

typedef struct meta_state {
    http_keystore *keys;
    http_router *router;
    http_server *server;
    node *node;
    kv_routes *kv;
    catalog_routes *catalog; /* /v1/tables; writers bring their own store */
    char url[300];
} meta_state;

/* GET /v1/status: this member's view of the group (no key needed, like
 * /health: it names no data). */
static int h_status(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    meta_state *ms = ctx;
    (void)c;
    node_status st;
    node_get_status(ms->node, &st);
    char leader_url[NODE_TP_URL_MAX] = "";
    if (node_leader_url(ms->node, leader_url, sizeof(leader_url)) != 0)
        leader_url[0] = '\0';
    json_t *o = json_pack(
        "{sI sI ss ss sI sI ss sI sI sI ss sb sI sI sb}", "id", (json_int_t)st.id, "pid",
        (json_int_t)getpid(), "url", ms->url, "role", st.is_leader ? "leader" : "follower", "term",
        (json_int_t)st.term, "leader", (json_int_t)st.leader, "leader_url", leader_url,
        "commit_index", (json_int_t)st.commit_index, "applied_index", (json_int_t)st.applied_index,
        "members", (json_int_t)node_member_count(ms->node), "state", raft_state_name(st.state),
        "failed", st.failed != 0, "voters", (json_int_t)st.voters, "learners",
        (json_int_t)st.learners, "voter", st.is_voter != 0);
    if (!o)
        return tarn_err_set(err, TARN_ENOMEM, "status");
    int rc = http_reply_json(resp, 200, o);
    json_decref(o);
    return rc;
}

/* POST /v1/cluster/transfer?to=N (admin): hands leadership to member N
 * and answers once it leads (or 503 after the wait). On a follower: 307 to
 * the leader. */
static int h_transfer(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    meta_state *ms = ctx;
    const char *q = http_call_request(c)->query;
    unsigned long long to = 0;
    char *end = NULL;
    if (q && strncmp(q, "to=", 3) == 0)
        to = strtoull(q + 3, &end, 10);
    if (!to || !end || *end)
        return tarn_err_set(err, TARN_EINVAL, "give the member to lead as ?to=N");
    node_status st;
    node_get_status(ms->node, &st);
    if (!st.is_leader) {
        char url[NODE_TP_URL_MAX], loc[sizeof(((http_header *)0)->value)];
        if (node_leader_url(ms->node, url, sizeof(url)) != 0)
            return tarn_err_set(err, TARN_EBUSY, "no leader known yet; retry");
        int n = snprintf(loc, sizeof(loc), "%s/v1/cluster/transfer?to=%llu", url, to);
        if (n < 0 || (size_t)n >= sizeof(loc) || http_response_add_header(resp, "Location", loc))
            return tarn_err_set(err, TARN_EBUSY, "not the leader; the leader is %s", url);
        return http_reply_error(resp, 307, "not_leader", "leadership is transferred by the leader");
    }
    int rc = to == st.id ? 0 : node_transfer_leader(ms->node, to, 5000, err); /* self: done */
    if (rc == TARN_ETIMEDOUT)
        rc = TARN_EBUSY;
    if (rc != 0)
        return rc;
    node_get_status(ms->node, &st);
    json_t *o = json_pack("{sI sI}", "leader", (json_int_t)st.leader, "term", (json_int_t)st.term);
    if (!o)
        return tarn_err_set(err, TARN_ENOMEM, "transfer reply");
    rc = http_reply_json(resp, 200, o);
    json_decref(o);
    return rc;
}

/* GET /v1/cluster/members: the configuration in force on this member. */
static int h_members_get(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    meta_state *ms = ctx;
    (void)c;
    node_member list[NODE_TP_PEERS_MAX];
    size_t count = node_members_list(ms->node, list, NODE_TP_PEERS_MAX);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count && i < NODE_TP_PEERS_MAX; i++)
        json_array_append_new(arr, json_pack("{sI sb ss}", "id", (json_int_t)list[i].id, "voter",
                                             list[i].is_voter, "peer", list[i].addr));
    json_t *o = arr ? json_pack("{so}", "members", arr) : NULL;
    if (!o)
        return tarn_err_set(err, TARN_ENOMEM, "members");
    int rc = http_reply_json(resp, 200, o);
    json_decref(o);
    return rc;
}

/* On a follower: 307 to the leader's `path` (the client repeats the
 * request there, body included: RFC 9110 15.4.8). */
static int meta_redirect_leader(meta_state *ms, const char *path, http_response *resp,
                                tarn_err *err)
{
    char url[NODE_TP_URL_MAX], loc[sizeof(((http_header *)0)->value)];
    if (node_leader_url(ms->node, url, sizeof(url)) != 0)
        return tarn_err_set(err, TARN_EBUSY, "no leader known yet; retry");
    int n = snprintf(loc, sizeof(loc), "%s%s", url, path);
    if (n < 0 || (size_t)n >= sizeof(loc) || http_response_add_header(resp, "Location", loc))
        return tarn_err_set(err, TARN_EBUSY, "not the leader; the leader is %s", url);
    return http_reply_error(resp, 307, "not_leader", "membership is changed by the leader");
}

/* The time a membership change may take here (the add replicates an
 * address record first). */
#define META_MEMBER_TIMEOUT_MS 10000

/* POST /v1/cluster/members (admin): {"op":"add"|"promote"|"remove",
 * "id":N[,"addr":"HOST:PORT"]} on the leader. Answers the configuration
 * after the change. */
static int h_members_post(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    meta_state *ms = ctx;
    json_t *body = NULL;
    int rc = http_call_json_body(c, &body, err);
    if (rc != 0)
        return rc;
    const char *op = json_string_value(json_object_get(body, "op"));
    json_t *jid = json_object_get(body, "id");
    const char *addr = json_string_value(json_object_get(body, "addr"));
    json_int_t id = json_is_integer(jid) ? json_integer_value(jid) : 0;
    node_status st;
    node_get_status(ms->node, &st);
    if (!op || id <= 0)
        rc = tarn_err_set(err, TARN_EINVAL,
                          "give {\"op\": \"add\"|\"promote\"|\"remove\", \"id\": N} (add also "
                          "\"addr\": \"HOST:PORT\", the member's peer address)");
    else if (!st.is_leader)
        rc = meta_redirect_leader(ms, "/v1/cluster/members", resp, err);
    else if (strcmp(op, "add") == 0)
        rc = node_member_add(ms->node, (uint64_t)id, addr, META_MEMBER_TIMEOUT_MS, err);
    else if (strcmp(op, "promote") == 0)
        rc = node_member_promote(ms->node, (uint64_t)id, META_MEMBER_TIMEOUT_MS, err);
    else if (strcmp(op, "remove") == 0)
        rc = node_member_remove(ms->node, (uint64_t)id, META_MEMBER_TIMEOUT_MS, err);
    else
        rc = tarn_err_set(err, TARN_EINVAL, "unknown op '%s': add, promote or remove", op);
    int redirected = op && id > 0 && !st.is_leader;
    if (rc == 0 && !redirected)
        TARN_LOGF(TARN_LOG_INFO, "cli", "membership changed", TARN_F_STR("op", op),
                  TARN_F_UINT("node", (uint64_t)id), TARN_F_STR("key", http_call_key_id(c)));
    json_decref(body); /* op and addr point into it */
    if (rc != 0 || redirected)
        return rc;
    return h_members_get(ctx, c, resp, err);
}

/* Picks a free port for an HTTP listen address ending in ":0", so the
 * member can tell its peers its URL before the server starts. */
static int meta_fix_port(char *listen, size_t cap, tarn_err *err)
{
    size_t n = strlen(listen);
    if (n < 2 || strcmp(listen + n - 2, ":0") != 0)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return tarn_err_set(err, TARN_EIO, "pick a free port for --listen");
    }
    close(fd);
    listen[n - 1] = '\0';
    if (n - 1 + 6 >= cap)
        return tarn_err_set(err, TARN_EINVAL, "--listen too long");
    snprintf(listen + n - 1, cap - (n - 1), "%u", (unsigned)ntohs(sa.sin_port));
    return 0;
}

static int meta_start_node(const tarn_config *cfg, const meta_opts *m, meta_state *st,
                           tarn_err *err)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    int rc = kv_register(&reg);
    if (rc == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return tarn_err_set(err, rc, "register state machine commands");
    node_opts no = {.data_dir = cfg->data_dir,
                    .id = m->id,
                    .durability = STORE_DURABLE_DATA,
                    .tick_ms = m->tick_ms,
                    .election_ticks = m->election_ticks,
                    .heartbeat_ticks = m->heartbeat_ticks,
                    .log_keep_entries = m->log_keep_entries,
                    .members = m->members,
                    .n_members = m->n_members,
                    .peer_listen = m->peer_listen,
                    .cluster_name = m->cluster_name[0] ? m->cluster_name : "tarn",
                    .http_url = st->url,
                    .join = m->join};
    rc = node_open(&no, &reg, &st->node, err);
    if (rc == 0 && (rc = kv_routes_new(st->node, 0, &st->kv)) != 0)
        tarn_err_set(err, rc, "create kv routes");
    if (rc == 0 && (rc = kv_routes_add(st->router, st->kv)) != 0)
        tarn_err_set(err, rc, "register kv routes");
    /* --store: the object-store root writers should open (created if
     * missing, reported absolute); without it the cluster names none. */
    char store_abs[PATH_MAX];
    catalog_routes_opts co = {.store_url = NULL};
    if (rc == 0 && m->store_dir[0] && (rc = cli_mkdir_p(m->store_dir, err)) == 0) {
        if (realpath(m->store_dir, store_abs) != NULL)
            co.store_url = store_abs;
        else
            rc = tarn_err_set(err, TARN_EIO, "--store %s: %s", m->store_dir, strerror(errno));
    }
    if (rc == 0 && (rc = catalog_routes_new(st->node, &co, &st->catalog)) != 0)
        tarn_err_set(err, rc, "create catalog routes");
    if (rc == 0 && (rc = catalog_routes_add(st->router, st->catalog)) != 0)
        tarn_err_set(err, rc, "register catalog routes");
    if (rc == 0 &&
        (rc = http_router_add(st->router, "GET", "/v1/status", HTTP_ROLE_NONE, h_status, st)) != 0)
        tarn_err_set(err, rc, "register status route");
    if (rc == 0 && (rc = http_router_add(st->router, "POST", "/v1/cluster/transfer",
                                         HTTP_ROLE_ADMIN, h_transfer, st)) != 0)
        tarn_err_set(err, rc, "register transfer route");
    if (rc == 0 && (rc = http_router_add(st->router, "GET", "/v1/cluster/members", HTTP_ROLE_NONE,
                                         h_members_get, st)) != 0)
        tarn_err_set(err, rc, "register members route");
    if (rc == 0 && (rc = http_router_add(st->router, "POST", "/v1/cluster/members", HTTP_ROLE_ADMIN,
                                         h_members_post, st)) != 0)
        tarn_err_set(err, rc, "register members route");
    return rc;
}

static int meta_start(tarn_config *cfg, meta_opts *m, meta_state *st, tarn_err *err)
{
    if (!m->keys_dir[0])
        snprintf(m->keys_dir, sizeof(m->keys_dir), "%s", cfg->data_dir);
    int rc = cli_mkdir_p(cfg->data_dir, err);
    if (rc == 0)
        rc = cli_mkdir_p(m->keys_dir, err);
    if (rc == 0)
        rc = http_keystore_open(m->keys_dir, &st->keys, err);
    char key_path[TARN_CONFIG_PATH_MAX + 16];
    snprintf(key_path, sizeof(key_path), "%s/admin.key", m->keys_dir);
    int created = 0;
    if (rc == 0)
        rc = http_keystore_ensure_admin(st->keys, key_path, &created, err);
    if (rc == 0)
        rc = meta_fix_port(cfg->listen, sizeof(cfg->listen), err);
    snprintf(st->url, sizeof(st->url), "http://%s", cfg->listen);
    if (rc == 0 && (rc = http_router_new(&st->router)) != 0)
        tarn_err_set(err, rc, "create HTTP router");
    if (rc == 0 && (rc = http_router_add_builtin(st->router, st->keys)) != 0)
        tarn_err_set(err, rc, "register built-in routes");
    if (rc == 0)
        rc = meta_start_node(cfg, m, st, err);
    http_server_opts opts;
    cli_server_opts(cfg, &opts);
    if (rc == 0)
        rc = http_server_start(&opts, st->router, st->keys, &st->server, err);
    if (rc != 0)
        return rc;
    printf("tarn: member %" PRIu64 " listening on %s (peers on %s)\n", m->id, st->url,
           m->peer_listen);
    printf("tarn: admin API key in %s%s\n", key_path, created ? " (created now)" : "");
    fflush(stdout);
    TARN_LOGF(TARN_LOG_INFO, "cli", "tarn meta started", TARN_F_UINT("member", m->id),
              TARN_F_STR("url", st->url), TARN_F_STR("peer_listen", m->peer_listen),
              TARN_F_UINT("members", m->n_members), TARN_F_STR("data", cfg->data_dir),
              TARN_F_STR("version", TARN_VERSION));
    return 0;
}

static void meta_stop(meta_state *st)
{
    /* Who waits for whom (http/README "Deferred replies"): the server's
     * stop answers writes still waiting for their entry 503 and does not
     * wait for the node; node_close then runs those proposals' callbacks
     * (TARN_ECLOSED) into replies nobody sends. The route contexts are
     * freed after both. */
    http_server_stop(st->server);
    node_close(st->node);
    kv_routes_free(st->kv);
    catalog_routes_free(st->catalog);
    http_router_free(st->router);
    http_keystore_close(st->keys);
}

static void meta_usage(FILE *out)
{
    fprintf(out,
            "usage: tarn meta --id N --peers ID=HOST:PORT,... [--peer-listen HOST:PORT]\n"
            "                 [--listen HOST:PORT] [--data DIR] [--keys DIR] [--join] [options]\n"
            "       tarn meta add --cluster D/cluster.json --id N [--listen H:P] [--peer-listen "
            "H:P] [--data DIR]\n"
            "       tarn meta remove --cluster D/cluster.json --id N\n"
            "       tarn meta transfer --cluster D/cluster.json --to N\n\n"
            "Runs one member of the replicated metadata service.\n\n"
            "  --id N                  this member's id (>= 1), one of --peers\n"
            "  --peers LIST            every member's peer address: 1=127.0.0.1:7101,2=...\n"
            "  --peer-listen HOST:PORT where this member accepts peers (default: its --peers "
            "entry)\n"
            "  --join                  not a member yet: --peers lists the current members\n"
            "                          (not this one); the leader adds it (tarn meta add)\n"
            "  --keys DIR              directory of keys.json and admin.key (default: --data)\n"
            "  --store DIR             the tables' object-store root, named by GET /v1/catalog\n"
            "  --cluster-name NAME     members of one cluster must agree (default: tarn)\n"
            "  --tick-ms N             Raft tick (default %d)\n"
            "  --election-ticks N      election timeout in ticks, randomised up to 2x "
            "(default %d)\n"
            "  --heartbeat-ticks N     leader heartbeat interval in ticks (default %d)\n"
            "  --log-keep-entries N    compact the log to N entries behind the applied index\n"
            "                          once 2N accumulate (default %d); members further behind\n"
            "                          get a store snapshot\n\n",
            CLI_META_TICK_MS, CLI_META_ELECTION_TICKS, CLI_META_HEARTBEAT_TICKS,
            NODE_LOG_KEEP_DEFAULT);
    tarn_config_print_help(out);
}

int cli_meta_main(int argc, char **argv)
{
    /* tarn meta transfer|add|remove --cluster F ...: cluster.json's tools */
    if (argc >= 1 && (strcmp(argv[0], "transfer") == 0 || strcmp(argv[0], "add") == 0 ||
                      strcmp(argv[0], "remove") == 0))
        return cli_cluster_main(argc, argv);
    tarn_config cfg;
    tarn_config_defaults(&cfg);
    tarn_err err = TARN_ERR_INIT;
    meta_opts m = {.tick_ms = CLI_META_TICK_MS,
                   .election_ticks = CLI_META_ELECTION_TICKS,
                   .heartbeat_ticks = CLI_META_HEARTBEAT_TICKS};
    char **rest = tarn_calloc((size_t)argc + 1, sizeof(char *));
    int n_rest = 0, help = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++)
        help |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    int rc = help ? 0 : meta_parse_args(argc, argv, &m, rest, &n_rest, &err);
    if (rc == 0 && !help)
        rc = tarn_config_parse_args(&cfg, n_rest, rest, &help, &err);
    tarn_free(rest);
    if (help) {
        meta_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "tarn meta: %s\n(see tarn meta --help)\n", tarn_err_msg(&err));
        return 2;
    }
    tarn_log_level level = TARN_LOG_INFO;
    tarn_log_level_parse(cfg.log_level, &level);
    tarn_log_set_level(level);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    meta_state st = {0};
    if (meta_start(&cfg, &m, &st, &err) != 0) {
        fprintf(stderr, "tarn meta: %s\n", tarn_err_msg(&err));
        meta_stop(&st);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    TARN_LOGF(TARN_LOG_INFO, "cli", "stopping",
              TARN_F_STR("signal", sig == SIGINT ? "INT" : "TERM"));
    meta_stop(&st);
    return 0;
}
