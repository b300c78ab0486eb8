/*
 * cli/cmd_sql.c: `tarn sql`, SQL on the embedded lakehouse of a data
 * directory (the same one `tarn local` serves; one process at a time:
 * the WAL's lock says so), or on a running server over its POST /v1/sql
 * (--server / --cluster; cmd_sql_remote.c), with the same output.
 *
 *   tarn sql [--data DIR] [-c "SQL"] [-f FILE] [--format table|csv|json]
 *            [--timing] [--memory BYTES] [--threads N]
 *   tarn sql --server URL | --cluster FILE [--key K | --key-file F] [-c|-f ...]
 *
 * On a server each script (one -c, one file, one statement typed in the
 * shell) runs in a session of its own there: a SET lasts to the end of
 * its script.
 *
 * With -c or -f the statements run in order and the first error stops
 * them (exit 1, the error on stderr with a caret under its position).
 * Without either, stdin is read: a terminal gets the interactive shell
 * (libedit line editing, history in DATA/sql_history, continuation lines
 * while a statement is incomplete), anything else is read as a script.
 *
 * Output formats: table (aligned, for people), csv (a header line, then
 * rows), json (one object per row, the `tarn parquet cat --format json`
 * shape: numbers as numbers, doubles with up to 17 significant digits,
 * decimals, dates and timestamps as strings, NULL as null).
 */
#include "cli/cli.h"
#include "cli/sql_remote.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "kv/kv.h"
#include "node/node.h"
#include "objstore/objstore.h"
#include "sql/session.h"

#include <editline/readline.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQL_LEADER_WAIT_MS 10000
/* Largest script file or stdin script. */
#define SCRIPT_BYTES_MAX ((size_t)64 << 20)

typedef struct out_state {
    int fmt; /* CLI_FMT_* */
    bool timing;
    cli_rows rows;
    bool has_columns; /* rows is begun: the statement returns rows */
    /* progress line (stderr is a terminal): */
    pthread_mutex_t mu;
    int64_t started_ns; /* 0: no statement running */
    int64_t progress_rows;
    bool progress_shown;
} out_state;

static void out_reset(out_state *o)
{
    cli_rows_free(&o->rows);
    o->has_columns = false;
}

static void progress_clear(out_state *o)
{
    pthread_mutex_lock(&o->mu);
    if (o->progress_shown)
        fputs("\r\033[K", stderr);
    o->progress_shown = false;
    pthread_mutex_unlock(&o->mu);
}

static int on_columns(void *ctx, uint32_t n, const char *const *names, const vec_type_info *types)
{
    (void)types;
    out_state *o = ctx;
    out_reset(o);
    o->has_columns = true;
    return cli_rows_begin(&o->rows, o->fmt, stdout, n, names);
}

static int on_batch(void *ctx, const vec_batch *b)
{
    out_state *o = ctx;
    int rc = cli_rows_batch(&o->rows, b, UINT64_MAX);
    pthread_mutex_lock(&o->mu);
    o->progress_rows += vec_batch_live_count(b);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static int on_done(void *ctx, const sql_stmt_info *info)
{
    out_state *o = ctx;
    progress_clear(o);
    if (o->has_columns) {
        cli_rows_end(&o->rows);
        o->has_columns = false;
    } else if (o->fmt == CLI_FMT_TABLE) {
        if (info->version >= 0)
            printf("%s: %lld row%s (version %lld)\n", info->kind, (long long)info->rows,
                   info->rows == 1 ? "" : "s", (long long)info->version);
        else
            printf("%s: ok\n", info->kind);
    }
    if (o->timing)
        fprintf(stderr, "Time: %.3f ms\n", (double)info->elapsed_us / 1000.0);
    out_reset(o);
    fflush(stdout);
    pthread_mutex_lock(&o->mu);
    o->started_ns = tarn_mono_ns();
    o->progress_rows = 0;
    pthread_mutex_unlock(&o->mu);
    return 0;
}

/* ---- progress: a line on stderr while a statement runs over a second ---- */

typedef struct progress {
    out_state *o;
    pthread_t thread;
    volatile int stop;
} progress;

static void *progress_main(void *arg)
{
    progress *p = arg;
    while (!p->stop) {
        usleep(200 * 1000);
        out_state *o = p->o;
        pthread_mutex_lock(&o->mu);
        int64_t t0 = o->started_ns;
        if (t0 != 0 && tarn_mono_ns() - t0 > 1000000000LL && !p->stop) {
            fprintf(stderr, "\r\033[Krunning: %.1f s, %lld rows",
                    (double)(tarn_mono_ns() - t0) / 1e9, (long long)o->progress_rows);
            o->progress_shown = true;
        }
        pthread_mutex_unlock(&o->mu);
    }
    return NULL;
}

/* ---- running text ---- */

static void print_error(const char *text, size_t len, const sql_error *e)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    if (e->pos.line > 0 && sql_error_render(text, len, e, &b) == 0)
        fprintf(stderr, "%s\n", tarn_buf_cstr(&b));
    else
        fprintf(stderr, "error: %s\n", e->msg);
    tarn_buf_free(&b);
}

/* Where statements run: a session on a data directory, or a server. */
typedef struct sql_target {
    sql_session *session;
    sql_remote *remote;
} sql_target;

/* Ctrl-C while a local statement runs cancels that statement (its
 * operators stop at their next batch), not the shell; a second Ctrl-C
 * before it stops kills the process as usual (SA_RESETHAND). */
static sql_session *volatile running_session;

static void on_sigint(int sig)
{
    (void)sig;
    sql_session *s = running_session;
    if (s != NULL)
        sql_session_cancel(s); /* one atomic store: async-signal-safe */
}

static int run_text(const sql_target *t, out_state *o, const char *text, size_t len)
{
    sql_sink sink = {o, on_columns, on_batch, on_done};
    sql_error e;
    struct sigaction old, sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    bool trap = t->remote == NULL && sigaction(SIGINT, &sa, &old) == 0;
    if (trap) {
        sql_session_cancel_clear(t->session);
        running_session = t->session;
    }
    pthread_mutex_lock(&o->mu);
    o->started_ns = tarn_mono_ns();
    o->progress_rows = 0;
    pthread_mutex_unlock(&o->mu);
    int rc = t->remote ? sql_remote_exec(t->remote, text, len, &sink, &e)
                       : sql_session_exec(t->session, text, len, &sink, &e);
    bool cancelled = trap && sql_session_cancelled(t->session);
    if (trap) {
        running_session = NULL;
        sigaction(SIGINT, &old, NULL);
        sql_session_cancel_clear(t->session);
    }
    pthread_mutex_lock(&o->mu);
    o->started_ns = 0;
    pthread_mutex_unlock(&o->mu);
    progress_clear(o);
    out_reset(o);
    fflush(stdout);
    if (rc != 0 && cancelled && rc == TARN_ECLOSED)
        fprintf(stderr,
                "cancelled (Ctrl-C): the statement at line %u was stopped; nothing after it ran\n",
                e.pos.line > 0 ? e.pos.line : 1);
    else if (rc != 0)
        print_error(text, len, &e);
    return rc;
}

/* The statement in `buf` is complete when it parses or fails for a
 * reason other than running out of text. */
static bool statement_complete(const char *text, size_t len)
{
    sql_script *s = NULL;
    sql_error e;
    int rc = sql_parse(text, len, &s, &e);
    sql_script_free(s);
    return rc == 0 || !e.incomplete;
}

static int shell(const sql_target *s, out_state *o, const char *data_dir)
{
    /* History beside the data, or in $HOME for a server's shell. */
    char hist[TARN_CONFIG_PATH_MAX + 32] = "";
    const char *home = getenv("HOME");
    if (s->remote == NULL)
        snprintf(hist, sizeof(hist), "%s/sql_history", data_dir);
    else if (home != NULL)
        snprintf(hist, sizeof(hist), "%s/.tarn_sql_history", home);
    using_history();
    if (hist[0])
        read_history(hist);
    printf("tarn sql %s on %s (end statements with ;, Ctrl-D to quit)\n", TARN_VERSION,
           s->remote ? sql_remote_url(s->remote) : data_dir);
    tarn_buf stmt;
    tarn_buf_init(&stmt, SQL_TEXT_MAX_BYTES);
    char *line;
    while ((line = readline(stmt.len ? "   ...> " : "tarn> ")) != NULL) {
        if (stmt.len > 0)
            tarn_buf_append_byte(&stmt, '\n');
        tarn_buf_append_str(&stmt, line);
        free(line);
        const char *t = tarn_buf_cstr(&stmt);
        size_t n = stmt.len;
        bool blank = strspn(t, " \t\r\n") == n;
        /* Wait for the terminating ';' (or text that cannot be completed). */
        if (blank || (!statement_complete(t, n)) || strchr(t, ';') == NULL) {
            if (blank)
                tarn_buf_reset(&stmt);
            continue;
        }
        add_history(t);
        run_text(s, o, t, n);
        tarn_buf_reset(&stmt);
    }
    putchar('\n');
    if (hist[0])
        write_history(hist);
    tarn_buf_free(&stmt);
    return 0;
}

static int read_all(FILE *f, tarn_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (tarn_buf_append(b, chunk, n) != 0)
            return TARN_ETOOBIG;
    return ferror(f) ? TARN_EIO : 0;
}

/* ---- start-up ---- */

typedef struct sql_args {
    tarn_config cfg;
    bool data_given;                               /* --data on the command line */
    const char *server, *cluster, *key, *key_file; /* a running server */
    const char *command, *file;
    int fmt;
    bool timing;
    size_t memory_bytes;
    uint32_t threads; /* 0: the online CPUs */
} sql_args;

static int parse_size(const char *s, size_t *out)
{
    char *end;
    double v = strtod(s, &end);
    double mul = strcasecmp(end, "kib") == 0 || strcasecmp(end, "k") == 0   ? 1024.0
                 : strcasecmp(end, "mib") == 0 || strcasecmp(end, "m") == 0 ? 1048576.0
                 : strcasecmp(end, "gib") == 0 || strcasecmp(end, "g") == 0 ? 1073741824.0
                 : *end == '\0'                                             ? 1.0
                                                                            : -1.0;
    if (mul < 0 || v <= 0)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tarn sql [--data DIR] [-c SQL] [-f FILE] [--format table|csv|json]\n"
            "                [--timing] [--memory BYTES] [--threads N]\n"
            "       tarn sql --server URL | --cluster FILE [--key KEY | --key-file FILE]\n"
            "                [-c SQL] [-f FILE] [--format table|csv|json] [--timing]\n\n"
            "Runs SQL on the tables of a data directory (default %s), or on a running\n"
            "tarn local through its POST /v1/sql (--server http://127.0.0.1:7070), which\n"
            "is how to query a data directory while its server holds it. The key for a\n"
            "server: --key, --key-file, $TARN_API_KEY, the cluster file's, else\n"
            "DATA/admin.key. On a server each script is a session of its own (a SET lasts\n"
            "to the end of its script). Without -c or -f, reads statements from stdin (a\n"
            "shell on a terminal).\n",
            "./tarn-data");
}

static int parse_args(int argc, char **argv, sql_args *a)
{
    tarn_config_defaults(&a->cfg);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(arg, "--data") == 0 && val) {
            snprintf(a->cfg.data_dir, sizeof(a->cfg.data_dir), "%s", val);
            a->data_given = true;
        } else if (strcmp(arg, "--server") == 0 && val)
            a->server = val;
        else if (strcmp(arg, "--cluster") == 0 && val)
            a->cluster = val;
        else if (strcmp(arg, "--key") == 0 && val)
            a->key = val;
        else if (strcmp(arg, "--key-file") == 0 && val)
            a->key_file = val;
        else if (strcmp(arg, "-c") == 0 && val)
            a->command = val;
        else if (strcmp(arg, "-f") == 0 && val)
            a->file = val;
        else if (strcmp(arg, "--format") == 0 && val) {
            a->fmt = cli_rows_format(val);
            if (a->fmt < 0)
                return fprintf(stderr, "tarn sql: --format is table, csv or json\n"), 2;
        } else if (strcmp(arg, "--memory") == 0 && val) {
            if (parse_size(val, &a->memory_bytes) != 0)
                return fprintf(stderr, "tarn sql: --memory wants a size (64MiB)\n"), 2;
        } else if (strcmp(arg, "--threads") == 0 && val) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end != '\0' || n < 1 || n > SQL_THREADS_MAX)
                return fprintf(stderr, "tarn sql: --threads wants 1 to %d\n", SQL_THREADS_MAX), 2;
            a->threads = (uint32_t)n;
        } else if (strcmp(arg, "--timing") == 0) {
            a->timing = true;
            takes = false;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return -1;
        } else {
            fprintf(stderr, "tarn sql: unknown or incomplete option '%s'\n", arg);
            usage(stderr);
            return 2;
        }
        i += takes;
    }
    if ((a->server || a->cluster) && (a->memory_bytes || a->threads))
        return fprintf(stderr, "tarn sql: --memory and --threads are for a data directory; a "
                               "server runs with its own (a script may SET threads = N)\n"),
               2;
    if (!(a->server || a->cluster) && (a->key || a->key_file))
        return fprintf(stderr, "tarn sql: --key is for --server or --cluster\n"), 2;
    return 0;
}

typedef struct sql_env {
    node *node;
    objstore *os;
    sql_session *session;
    sql_remote *remote;
} sql_env;

/* The URL `tarn local` serves on with this configuration's --listen. */
static void local_url(const tarn_config *cfg, char *url, size_t cap)
{
    const char *colon = strrchr(cfg->listen, ':');
    int host_len = colon ? (int)(colon - cfg->listen) : 0;
    bool any = host_len == 0 || strncmp(cfg->listen, "0.0.0.0", (size_t)host_len) == 0;
    snprintf(url, cap, "http://%.*s%s", any ? 9 : host_len, any ? "127.0.0.1" : cfg->listen,
             colon ? colon : ":7070");
}

/* The data directory is held (the WAL's LOCK): say how to reach it. */
static int busy_hint(const sql_args *a, tarn_err *err)
{
    char url[300];
    local_url(&a->cfg, url, sizeof(url));
    return tarn_err_set(err, TARN_EBUSY,
                        "data directory %s is in use by another process (a running tarn local?). "
                        "Query it through that server instead: tarn sql --server %s%s%s "
                        "(the URL tarn local printed)",
                        a->cfg.data_dir, url, a->data_given ? " --data " : "",
                        a->data_given ? a->cfg.data_dir : "");
}

static int remote_open(const sql_args *a, sql_env *env, tarn_err *err)
{
    sql_remote_opts ro = {.server = a->server,
                          .cluster = a->cluster,
                          .key = a->key,
                          .key_file = a->key_file,
                          .data_dir = a->cfg.data_dir};
    return sql_remote_open(&ro, &env->remote, err);
}

static int env_open(const sql_args *a, sql_env *env, tarn_err *err)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    int rc = cli_mkdir_p(a->cfg.data_dir, err);
    if (rc == 0 && (rc = kv_register(&reg)) == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return rc;
    node_opts no = {.data_dir = a->cfg.data_dir, .durability = STORE_DURABLE_DATA};
    rc = node_open(&no, &reg, &env->node, err);
    if (rc == TARN_EBUSY)
        return busy_hint(a, err);
    if (rc == 0)
        rc = node_wait_leader(env->node, SQL_LEADER_WAIT_MS, err);
    char url[TARN_CONFIG_PATH_MAX + 16];
    snprintf(url, sizeof(url), "%s/objects", a->cfg.data_dir);
    if (rc == 0)
        rc = objstore_open(url, &env->os, err);
    sql_session_opts so = {.node = env->node,
                           .store = env->os,
                           .mem_budget_bytes = a->memory_bytes,
                           .threads = a->threads};
    if (rc == 0)
        rc = sql_session_open(&so, &env->session, err);
    return rc;
}

static void env_close(sql_env *env)
{
    sql_remote_close(env->remote);
    sql_session_close(env->session);
    objstore_close(env->os);
    node_close(env->node);
}

static int run_input(const sql_args *a, sql_env *env, out_state *o)
{
    sql_target t = {env->session, env->remote};
    if (a->command)
        return run_text(&t, o, a->command, strlen(a->command)) == 0 ? 0 : 1;
    if (a->file == NULL && isatty(0))
        return shell(&t, o, a->cfg.data_dir);
    FILE *f = a->file ? fopen(a->file, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "tarn sql: cannot open %s\n", a->file);
        return 1;
    }
    tarn_buf text;
    tarn_buf_init(&text, SCRIPT_BYTES_MAX);
    int rc = read_all(f, &text);
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        fprintf(stderr, "tarn sql: reading %s: %s\n", a->file ? a->file : "stdin",
                tarn_strerror(rc));
        tarn_buf_free(&text);
        return 1;
    }
    rc = run_text(&t, o, tarn_buf_cstr(&text), text.len);
    tarn_buf_free(&text);
    return rc == 0 ? 0 : 1;
}

int cli_sql_main(int argc, char **argv)
{
    sql_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    tarn_log_set_level(TARN_LOG_WARN);
    tarn_err err = TARN_ERR_INIT;
    sql_env env = {0};
    if ((a.server || a.cluster ? remote_open(&a, &env, &err) : env_open(&a, &env, &err)) != 0) {
        fprintf(stderr, "tarn sql: %s\n", tarn_err_msg(&err));
        env_close(&env);
        return 1;
    }
    out_state o = {.fmt = a.fmt, .timing = a.timing};
    pthread_mutex_init(&o.mu, NULL);
    progress p = {.o = &o};
    bool prog = isatty(2) && pthread_create(&p.thread, NULL, progress_main, &p) == 0;
    rc = run_input(&a, &env, &o);
    if (prog) {
        p.stop = 1;
        pthread_join(p.thread, NULL);
    }
    out_reset(&o);
    pthread_mutex_destroy(&o.mu);
    env_close(&env);
    return rc;
}

/* ---- a session for other commands (tarn demo) ---- */

struct cli_sql {
    sql_env env;
    out_state out;
};

int cli_sql_open(const char *data_dir, cli_sql **out, tarn_err *err)
{
    cli_sql *c = tarn_calloc(1, sizeof(*c));
    if (c == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "sql session");
    sql_args a = {0};
    tarn_config_defaults(&a.cfg);
    snprintf(a.cfg.data_dir, sizeof(a.cfg.data_dir), "%s", data_dir);
    c->out.fmt = CLI_FMT_TABLE;
    pthread_mutex_init(&c->out.mu, NULL);
    int rc = env_open(&a, &c->env, err);
    if (rc != 0) {
        cli_sql_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cli_sql_run(cli_sql *c, const char *text)
{
    sql_target t = {c->env.session, NULL};
    return run_text(&t, &c->out, text, strlen(text));
}

void cli_sql_close(cli_sql *c)
{
    if (c == NULL)
        return;
    out_reset(&c->out);
    pthread_mutex_destroy(&c->out.mu);
    env_close(&c->env);
    tarn_free(c);
}
