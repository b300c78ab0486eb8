/*
 * cli/cmd_local.c: `tarn local`, the embedded default. One process serves
 * the HTTP API on --listen with data under --data. On first start it
 * creates an admin API key and writes it to DATA/admin.key (mode 0600).
 * It runs until SIGINT or SIGTERM, then stops the server cleanly.
 *
 * The metadata service runs embedded: one Raft voter (node/) with its WAL
 * in DATA/wal and the LMDB state machine in DATA/state, serving the kv
 * routes (/v1/kv, /v1/tso) and applying the catalog's commands. Shutdown
 * stops the HTTP server first (no handler is inside the node any more),
 * then closes the node.
 *
 * Start-up prints two lines on stdout, for people and for scripts:
 *   tarn: listening on http://127.0.0.1:7070
 *   tarn: admin API key in ./tarn-data/admin.key (created now)
 */
#include "cli/cli.h"

#include "base/log.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "http/http.h"
#include "kv/kv.h"
#include "kv/kv_routes.h"
#include "node/node.h"
#include "objstore/objstore.h"
#include "sql/sql_routes.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The HTTP edge's options from the configuration. */
void cli_server_opts(const tarn_config *cfg, http_server_opts *o)
{
    http_server_opts_default(o);
    o->listen = cfg->listen;
    o->max_body_bytes = cfg->max_body_bytes;
    o->max_connections = cfg->max_connections;
    o->connection_timeout_s = cfg->connection_timeout_s;
    o->threads = cfg->http_threads;
    o->metrics_require_key = cfg->metrics_require_key;
    o->rate_per_s[HTTP_ROLE_READ] = cfg->rate_read_per_s;
    o->burst[HTTP_ROLE_READ] = cfg->burst_read;
    o->rate_per_s[HTTP_ROLE_WRITE] = cfg->rate_write_per_s;
    o->burst[HTTP_ROLE_WRITE] = cfg->burst_write;
    o->rate_per_s[HTTP_ROLE_ADMIN] = cfg->rate_admin_per_s;
    o->burst[HTTP_ROLE_ADMIN] = cfg->burst_admin;
}

/* Blocks the stop signals in every thread (server threads inherit the
 * mask), so that the main thread alone receives them in sigwait. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

typedef struct local_state {
    http_keystore *keys;
    http_router *router;
    http_server *server;
    node *node;
    kv_routes *kv;
    objstore *os;            /* DATA/objects: the tables */
    sql_routes *sql;         /* POST /v1/sql */
    catalog_routes *catalog; /* /v1/tables, /v1/catalog */
} local_state;

/* How long start-up waits for the single voter to elect itself and apply
 * its term's first entry (about one election timeout). */
#define LOCAL_LEADER_WAIT_MS 10000

/* Opens the embedded metadata service under the data directory and adds
 * the kv routes to the router. */
static int local_start_node(const tarn_config *cfg, local_state *st, tarn_err *err)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    int rc = kv_register(&reg);
    if (rc == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return tarn_err_set(err, rc, "register state machine commands");
    /* One fsync per LMDB commit: a machine crash may undo the last batch,
     * which node/ replays from the WAL (store.h). */
    node_opts no = {.data_dir = cfg->data_dir, .durability = STORE_DURABLE_DATA};
    rc = node_open(&no, &reg, &st->node, err);
    if (rc == 0)
        rc = node_wait_leader(st->node, LOCAL_LEADER_WAIT_MS, err);
    if (rc == 0 && (rc = kv_routes_new(st->node, 0, &st->kv)) != 0)
        tarn_err_set(err, rc, "create kv routes");
    if (rc == 0 && (rc = kv_routes_add(st->router, st->kv)) != 0)
        tarn_err_set(err, rc, "register kv routes");
    char objects[TARN_CONFIG_PATH_MAX + 16];
    snprintf(objects, sizeof(objects), "%s/objects", cfg->data_dir);
    if (rc == 0)
        rc = objstore_open(objects, &st->os, err);
    if (rc == 0 && (rc = sql_routes_new(st->node, st->os, 0, &st->sql)) != 0)
        tarn_err_set(err, rc, "create sql routes");
    if (rc == 0 && (rc = sql_routes_add(st->router, st->sql)) != 0)
        tarn_err_set(err, rc, "register sql routes");
    /* Writers in other processes commit through the catalog routes and
     * write their files into the same store, which GET /v1/catalog names. */
    char store_abs[PATH_MAX];
    catalog_routes_opts co = {.store_url = realpath(objects, store_abs) ? store_abs : NULL};
    if (rc == 0 && (rc = catalog_routes_new(st->node, &co, &st->catalog)) != 0)
        tarn_err_set(err, rc, "create catalog routes");
    if (rc == 0 && (rc = catalog_routes_add(st->router, st->catalog)) != 0)
        tarn_err_set(err, rc, "register catalog routes");
    return rc;
}

static int local_start(const tarn_config *cfg, local_state *st, tarn_err *err)
{
    int rc = cli_mkdir_p(cfg->data_dir, err);
    if (rc == 0)
        rc = http_keystore_open(cfg->data_dir, &st->keys, err);
    char key_path[TARN_CONFIG_PATH_MAX + 16];
    snprintf(key_path, sizeof(key_path), "%s/admin.key", cfg->data_dir);
    int created = 0;
    if (rc == 0)
        rc = http_keystore_ensure_admin(st->keys, key_path, &created, err);
    if (rc == 0 && (rc = http_router_new(&st->router)) != 0)
        tarn_err_set(err, rc, "create HTTP router");
    if (rc == 0 && (rc = http_router_add_builtin(st->router, st->keys)) != 0)
        tarn_err_set(err, rc, "register built-in routes");
    if (rc == 0)
        rc = local_start_node(cfg, st, err);
    http_server_opts opts;
    cli_server_opts(cfg, &opts);
    if (rc == 0)
        rc = http_server_start(&opts, st->router, st->keys, &st->server, err);
    if (rc != 0)
        return rc;
    char host[256];
    snprintf(host, sizeof(host), "%s", cfg->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    char url[300];
    snprintf(url, sizeof(url), "http://%s:%u", host, (unsigned)http_server_port(st->server));
    printf("tarn: listening on %s\n", url);
    printf("tarn: admin API key in %s%s\n", key_path, created ? " (created now)" : "");
    fflush(stdout);
    TARN_LOGF(TARN_LOG_INFO, "cli", "tarn local started", TARN_F_STR("url", url),
              TARN_F_STR("data", cfg->data_dir), TARN_F_STR("version", TARN_VERSION));
    return 0;
}

static void local_stop(local_state *st)
{
    /* Who waits for whom (http/README "Deferred replies"): the server's
     * stop answers writes still waiting for their entry 503 and does not
     * wait for the node; node_close then runs those proposals' callbacks
     * (TARN_ECLOSED) into replies nobody sends. The route contexts are
     * freed after both. */
    http_server_stop(st->server);
    node_close(st->node);
    kv_routes_free(st->kv);
    sql_routes_free(st->sql);
    catalog_routes_free(st->catalog);
    objstore_close(st->os);
    http_router_free(st->router);
    http_keystore_close(st->keys);
}

int cli_local_main(int argc, char **argv)
{
    tarn_config cfg;
    tarn_config_defaults(&cfg);
    tarn_err err = TARN_ERR_INIT;
    int help = 0;
    if (tarn_config_parse_args(&cfg, argc, argv, &help, &err) != 0) {
        fprintf(stderr, "tarn local: %s\n(see tarn local --help)\n", tarn_err_msg(&err));
        return 2;
    }
    if (help) {
        printf("usage: tarn local [options]\n\n"
               "Runs the embedded server: the HTTP API on --listen, data under --data.\n\n");
        tarn_config_print_help(stdout);
        return 0;
    }
    tarn_log_level level = TARN_LOG_INFO;
    tarn_log_level_parse(cfg.log_level, &level); /* validated by the config parser */
    tarn_log_set_level(level);

    sigset_t stop;
    block_stop_signals(&stop);
    local_state st = {0};
    if (local_start(&cfg, &st, &err) != 0) {
        fprintf(stderr, "tarn local: %s\n", tarn_err_msg(&err));
        local_stop(&st);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    TARN_LOGF(TARN_LOG_INFO, "cli", "stopping",
              TARN_F_STR("signal", sig == SIGINT ? "INT" : "TERM"));
    local_stop(&st);
    return 0;
}
