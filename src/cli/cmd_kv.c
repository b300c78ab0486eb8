/*
 * cli/cmd_kv.c: `tarn kv get|put|cas|del|scan` and `tarn tso`, the
 * key-value API and the timestamp oracle from the shell, through the
 * client library (include/tarn.h).
 *
 * Where to connect, first match wins:
 *   --cluster FILE      the members and admin key of a `tarn cluster up`
 *   --url URL[,URL...]  members by URL
 *   otherwise           the `tarn local` of --config FILE / the defaults:
 *                       http://<listen> (0.0.0.0 as 127.0.0.1), 127.0.0.1:7070
 * The API key: --key KEY, --key-file FILE, $TARN_API_KEY, the cluster
 * file's admin key, else DATA/admin.key (--data DIR, default ./tarn-data,
 * or the config file's data), as `tarn local` writes it on first start.
 *
 * Every command rides out a leader change: the library follows redirects,
 * moves past dead members and retries until --timeout-ms (default 10 s).
 *
 * Exit codes: 0 ok; 1 failure (a missing key, an unreachable cluster, an
 * error from the server; the message is on stderr); 2 usage; 3 a failed
 * compare (cas, or del with --version/--expect).
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "tarn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_CLI_EXIT_CONFLICT 3
/* One attempt's timeout: shorter than the library's default, so that a
 * member stuck on a dead leader (it holds a forwarded write until its own
 * 5 s timeout) costs a second, not three. An abandoned write may still
 * apply; a CAS then reports that it is uncertain. */
#define KV_CLI_ATTEMPT_MS 1000

typedef struct kv_args {
    const char *verb;
    const char *pos[3]; /* positional arguments after the verb */
    int n_pos;
    const char *cluster, *urls, *key, *key_file, *data_dir, *config, *file;
    const char *expect, *prefix, *start, *end;
    uint64_t version, limit, count;
    int has_version, absent, serializable, json, no_newline, keys_only;
    int timeout_ms, attempt_timeout_ms;
} kv_args;

static void kv_usage(FILE *out)
{
    fputs("usage: tarn kv get KEY [--json] [-n] [--serializable]\n"
          "       tarn kv put KEY VALUE|-|--file F\n"
          "       tarn kv cas KEY VALUE|-|--file F (--version N | --expect OLD | --absent)\n"
          "       tarn kv del KEY [--version N | --expect OLD]\n"
          "       tarn kv scan [--prefix P | --start S --end E] [--limit N] [--keys | --json]\n"
          "       tarn tso [--count N]\n\n"
          "get prints the bare value (then a newline; -n: none); put and cas print the\n"
          "new version when it is known (not after --expect, nor for a key with '/'\n"
          "written without --version or --absent); scan prints KEY<TAB>VALUE lines\n"
          "(control bytes as \\xNN);\n"
          "tso prints a timestamp (physical_ms << 18 | logical) per line.\n\n"
          "connection:\n"
          "  --cluster FILE          a cluster.json from tarn cluster up\n"
          "  --url URL[,URL...]      members (default: the tarn local of --config/defaults)\n"
          "  --key KEY | --key-file FILE   API key (also $TARN_API_KEY; default DATA/admin.key)\n"
          "  --data DIR              data directory of tarn local, for its admin.key\n"
          "  --config FILE           tarn config file: its listen and data\n"
          "  --timeout-ms N          give up after N ms of retries (default 10000)\n"
          "  --attempt-timeout-ms N  move to another member after N ms (default 1000)\n\n"
          "exit: 0 ok, 1 failure (missing key, error), 2 usage, 3 failed compare\n",
          out);
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* "--name value" or "--name=value": the value, advancing *i; NULL if the
 * argument is another option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* String options: flag name -> field. */
static int parse_str_opt(kv_args *a, int argc, char **argv, int *i)
{
    const struct {
        const char *name;
        const char **field;
    } opts[] = {{"--cluster", &a->cluster},   {"--url", &a->urls},      {"--key", &a->key},
                {"--key-file", &a->key_file}, {"--data", &a->data_dir}, {"--config", &a->config},
                {"--file", &a->file},         {"--expect", &a->expect}, {"--prefix", &a->prefix},
                {"--start", &a->start},       {"--end", &a->end}};
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        const char *v = opt_value(argc, argv, i, opts[k].name);
        if (v) {
            *opts[k].field = v;
            return 1;
        }
    }
    return 0;
}

static int parse_num_opt(kv_args *a, int argc, char **argv, int *i)
{
    const char *v;
    uint64_t t = 0;
    if ((v = opt_value(argc, argv, i, "--version")))
        return a->has_version = 1, parse_u64(v, &a->version) == 0 ? 1 : -1;
    if ((v = opt_value(argc, argv, i, "--limit")))
        return parse_u64(v, &a->limit) == 0 && a->limit > 0 ? 1 : -1;
    if ((v = opt_value(argc, argv, i, "--count")))
        return parse_u64(v, &a->count) == 0 && a->count > 0 ? 1 : -1;
    int *ms = NULL;
    if ((v = opt_value(argc, argv, i, "--timeout-ms")))
        ms = &a->timeout_ms;
    else if ((v = opt_value(argc, argv, i, "--attempt-timeout-ms")))
        ms = &a->attempt_timeout_ms;
    if (ms) {
        if (parse_u64(v, &t) != 0 || t == 0 || t > 3600000)
            return -1;
        *ms = (int)t;
        return 1;
    }
    return 0;
}

static int parse_flag(kv_args *a, const char *s)
{
    const struct {
        const char *name;
        int *field;
    } flags[] = {
        {"--absent", &a->absent}, {"--serializable", &a->serializable}, {"--json", &a->json},
        {"-n", &a->no_newline},   {"--no-newline", &a->no_newline},     {"--keys", &a->keys_only}};
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
        if (strcmp(s, flags[k].name) == 0)
            return *flags[k].field = 1;
    return 0;
}

/* Parses argv into a; returns 0, or -1 after printing why (usage). */
static int kv_parse(int argc, char **argv, kv_args *a, const char *who)
{
    for (int i = 0; i < argc; i++) {
        int r = parse_flag(a, argv[i]);
        if (r == 0)
            r = parse_str_opt(a, argc, argv, &i);
        if (r == 0)
            r = parse_num_opt(a, argc, argv, &i);
        if (r < 0) {
            fprintf(stderr, "%s: bad value '%s' (a number is expected)\n", who, argv[i]);
            return -1;
        }
        if (r > 0)
            continue;
        if ((argv[i][0] == '-' && argv[i][1] != '\0') || a->n_pos == 3) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", who, argv[i]);
            return -1;
        }
        a->pos[a->n_pos++] = argv[i];
    }
    return 0;
}

/* ---- connecting ---------------------------------------------------------- */

/* The local server's URL and admin key path from --config / the defaults. */
static int local_target(const kv_args *a, char *url, size_t url_cap, char *key_path, size_t key_cap,
                        tarn_err *err)
{
    tarn_config cfg;
    tarn_config_defaults(&cfg);
    int rc = a->config ? tarn_config_load_file(&cfg, a->config, err) : 0;
    if (rc != 0)
        return rc;
    char host[256];
    snprintf(host, sizeof(host), "%s", cfg.listen);
    char *colon = strrchr(host, ':');
    if (!colon)
        return tarn_err_set(err, TARN_EINVAL, "listen address '%s' has no port", cfg.listen);
    *colon = '\0';
    const char *h = strcmp(host, "0.0.0.0") == 0 || host[0] == '\0' ? "127.0.0.1" : host;
    snprintf(url, url_cap, "http://%s:%s", h, colon + 1);
    snprintf(key_path, key_cap, "%s/admin.key", a->data_dir ? a->data_dir : cfg.data_dir);
    return 0;
}

/* Splits "u1,u2" into endpoints (pointers into buf). */
static size_t split_urls(char *buf, const char **out, size_t cap)
{
    size_t n = 0;
    for (char *s = strtok(buf, ","); s && n < cap; s = strtok(NULL, ","))
        out[n++] = s;
    return n;
}

static int kv_connect(const kv_args *a, tarn_client **out, tarn_err *err)
{
    char local_url[300], key_path[TARN_CONFIG_PATH_MAX + 16], urlbuf[4096];
    const char *urls[TARN_CLIENT_ENDPOINTS_MAX];
    tarn_client_opts o = {.timeout_ms = a->timeout_ms,
                          .attempt_timeout_ms =
                              a->attempt_timeout_ms ? a->attempt_timeout_ms : KV_CLI_ATTEMPT_MS,
                          .cluster_file = a->cluster};
    if (a->urls) {
        snprintf(urlbuf, sizeof(urlbuf), "%s", a->urls);
        o.n_endpoints = split_urls(urlbuf, urls, TARN_CLIENT_ENDPOINTS_MAX);
        o.endpoints = urls;
    }
    o.api_key = a->key ? a->key : (a->key_file ? NULL : getenv("TARN_API_KEY"));
    o.api_key_file = a->key ? NULL : a->key_file;
    if (!a->cluster && !a->urls) {
        int rc = local_target(a, local_url, sizeof(local_url), key_path, sizeof(key_path), err);
        if (rc != 0)
            return rc;
        urls[0] = local_url;
        o.endpoints = urls;
        o.n_endpoints = 1;
    }
    /* Without --cluster the default key is tarn local's admin key, when
     * that file exists (a server may also run with other keys). */
    if (!a->cluster && !o.api_key && !o.api_key_file) {
        if (a->urls)
            local_target(a, local_url, sizeof(local_url), key_path, sizeof(key_path), NULL);
        FILE *f = fopen(key_path, "r");
        if (f) {
            fclose(f);
            o.api_key_file = key_path;
        }
    }
    return tarn_client_open(&o, out, err);
}

/* ---- values in and out ----------------------------------------------------- */

/* Reads a whole stream, refusing more than the value limit. */
static int read_stream(FILE *f, const char *name, uint8_t **out, size_t *len, tarn_err *err)
{
    size_t cap = TARN_KV_VALUE_MAX_BYTES + 1;
    uint8_t *buf = tarn_malloc(cap);
    if (!buf)
        return tarn_err_set(err, TARN_ENOMEM, "value buffer");
    size_t n = fread(buf, 1, cap, f);
    if (ferror(f) || n == cap) {
        tarn_free(buf);
        if (ferror(f))
            return tarn_err_set(err, TARN_EIO, "%s: read error", name);
        return tarn_err_set(err, TARN_ETOOBIG,
                            "%s: value larger than %u bytes (1 MiB - 1 KiB, the server's limit)",
                            name, TARN_KV_VALUE_MAX_BYTES);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* The value of put/cas: the argument after KEY, "-" for stdin, or --file. */
static int value_get(const kv_args *a, uint8_t **out, size_t *len, tarn_err *err)
{
    *out = NULL;
    const char *arg = a->n_pos >= 2 ? a->pos[1] : NULL;
    if ((arg != NULL) == (a->file != NULL))
        return tarn_err_set(err, TARN_EINVAL, "give the value as an argument, - or --file F");
    if (arg && strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        *out = (uint8_t *)tarn_strdup(arg);
        return *out ? 0 : tarn_err_set(err, TARN_ENOMEM, "value");
    }
    if (!a->file)
        return read_stream(stdin, "stdin", out, len, err);
    FILE *f = fopen(a->file, "rb");
    if (!f)
        return tarn_err_set(err, TARN_ENOENT, "%s: %s", a->file, strerror(errno));
    int rc = read_stream(f, a->file, out, len, err);
    fclose(f);
    return rc;
}

/* Writes bytes with control characters and '\' escaped, so that one
 * scan item stays on one line. */
static void print_escaped(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\\')
            fputs("\\\\", stdout);
        else if (p[i] < 0x20 || p[i] == 0x7f)
            printf("\\x%02x", p[i]);
        else
            putchar(p[i]);
    }
}

static void print_b64(const uint8_t *p, size_t len)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        printf("%c%c%c%c", al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < len ? al[v >> 6 & 63] : '=',
               i + 2 < len ? al[v & 63] : '=');
    }
}

/* One item as a JSON line; the key as the server sent it (JSON text). */
static void print_item_json(const tarn_kv_item *it)
{
    putchar('{');
    fputs("\"key\":\"", stdout);
    for (size_t i = 0; i < it->key_len; i++) {
        unsigned char ch = (unsigned char)it->key[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    fputs("\",\"value\":\"", stdout);
    print_b64(it->value, it->value_len);
    printf("\",\"version\":%" PRIu64 ",\"mod_index\":%" PRIu64 ",\"create_index\":%" PRIu64 "}\n",
           it->version, it->mod_index, it->create_index);
}

/* ---- the verbs ------------------------------------------------------------------ */

static int kv_get(tarn_client *c, const kv_args *a, tarn_err *err)
{
    tarn_call_opts co = {.serializable = a->serializable};
    tarn_kv_item it;
    int rc = tarn_kv_get(c, a->pos[0], strlen(a->pos[0]), &co, &it, err);
    if (rc != 0)
        return rc;
    if (a->json)
        print_item_json(&it);
    else
        fwrite(it.value, 1, it.value_len, stdout);
    if (!a->json && !a->no_newline)
        putchar('\n');
    tarn_kv_item_free(&it);
    return 0;
}

/* The condition of cas/del from --version, --expect, --absent. */
static int cond_from_args(const kv_args *a, tarn_kv_cond *cond, tarn_err *err)
{
    memset(cond, 0, sizeof(*cond));
    int n = a->has_version + (a->expect != NULL) + a->absent;
    if (n > 1)
        return tarn_err_set(err, TARN_EINVAL,
                            "--version, --expect and --absent exclude each other");
    if (a->has_version) {
        if (a->version == 0)
            return tarn_err_set(err, TARN_EINVAL, "--version must be >= 1 (--absent: create-only)");
        cond->kind = TARN_KV_IF_VERSION;
        cond->version = a->version;
    } else if (a->expect) {
        cond->kind = TARN_KV_IF_VALUE;
        cond->value = a->expect;
        cond->value_len = strlen(a->expect);
    } else if (a->absent) {
        cond->kind = TARN_KV_IF_ABSENT;
    }
    return 0;
}

/* The message of a failed compare, with the key's current state. */
static int conflict_report(const char *who, const char *key, const tarn_kv_result *r)
{
    if (r->version)
        fprintf(stderr, "tarn kv %s: compare failed: '%s' is at version %" PRIu64 "\n", who, key,
                r->version);
    else
        fprintf(stderr, "tarn kv %s: compare failed: '%s' does not exist\n", who, key);
    if (r->uncertain)
        fprintf(stderr,
                "tarn kv %s: an earlier attempt got no answer and may have applied this "
                "write; read the key to see\n",
                who);
    return KV_CLI_EXIT_CONFLICT;
}

static int kv_write(tarn_client *c, const kv_args *a, int is_cas, tarn_err *err, int *exit_code)
{
    tarn_kv_cond cond;
    int rc = cond_from_args(a, &cond, err);
    if (rc == 0 && is_cas && cond.kind == TARN_KV_ALWAYS)
        rc = tarn_err_set(err, TARN_EINVAL, "cas needs --version N, --expect OLD or --absent");
    uint8_t *val = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = value_get(a, &val, &len, err);
    tarn_kv_result r;
    if (rc == 0)
        rc = tarn_kv_put(c, a->pos[0], strlen(a->pos[0]), val, len, &cond, NULL, &r, err);
    tarn_free(val);
    if (rc == TARN_ECONFLICT)
        *exit_code = conflict_report(is_cas ? "cas" : "put", a->pos[0], &r);
    else if (rc == 0 && r.version)
        printf("%" PRIu64 "\n", r.version);
    return rc == TARN_ECONFLICT ? 0 : rc;
}

static int kv_del(tarn_client *c, const kv_args *a, tarn_err *err, int *exit_code)
{
    tarn_kv_cond cond;
    int rc = cond_from_args(a, &cond, err);
    if (rc == 0 && a->absent)
        rc = tarn_err_set(err, TARN_EINVAL, "del takes --version N or --expect OLD");
    tarn_kv_result r;
    if (rc == 0)
        rc = tarn_kv_delete(c, a->pos[0], strlen(a->pos[0]), &cond, NULL, &r, err);
    if (rc == TARN_ECONFLICT)
        *exit_code = conflict_report("del", a->pos[0], &r);
    return rc == TARN_ECONFLICT ? 0 : rc;
}

/* The first key after every key that starts with p (its end bound), or
 * length 0 when there is none (p is all 0xff). */
static size_t prefix_end(const char *p, char *out)
{
    size_t n = strlen(p);
    memcpy(out, p, n);
    while (n > 0 && (unsigned char)out[n - 1] == 0xff)
        n--;
    if (n > 0)
        out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    return n;
}

static void scan_print(const kv_args *a, const tarn_kv_page *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tarn_kv_item *it = &p->items[i];
        if (a->json) {
            print_item_json(it);
            continue;
        }
        print_escaped((const uint8_t *)it->key, it->key_len);
        if (!a->keys_only) {
            putchar('\t');
            print_escaped(it->value, it->value_len);
        }
        putchar('\n');
    }
}

static int kv_scan(tarn_client *c, const kv_args *a, tarn_err *err)
{
    if (a->prefix && (a->start || a->end))
        return tarn_err_set(err, TARN_EINVAL, "--prefix excludes --start and --end");
    char end[TARN_KV_KEY_MAX_BYTES + 1];
    tarn_kv_scan_opts so = {.start = a->start, .end = a->end};
    so.start_len = a->start ? strlen(a->start) : 0;
    so.end_len = a->end ? strlen(a->end) : 0;
    if (a->prefix) {
        if (strlen(a->prefix) > TARN_KV_KEY_MAX_BYTES)
            return tarn_err_set(err, TARN_ETOOBIG, "prefix longer than a key");
        so.start = a->prefix;
        so.start_len = strlen(a->prefix);
        so.end = end;
        so.end_len = prefix_end(a->prefix, end);
    }
    tarn_call_opts co = {.serializable = a->serializable};
    uint64_t left = a->limit ? a->limit : UINT64_MAX;
    char *token = NULL;
    int rc = 0;
    do {
        so.limit = left < TARN_KV_SCAN_LIMIT_MAX ? (size_t)left : TARN_KV_SCAN_LIMIT_MAX;
        so.token = token;
        tarn_kv_page p;
        rc = tarn_kv_scan(c, &so, &co, &p, err);
        tarn_free(token);
        token = NULL;
        if (rc != 0)
            break;
        size_t n = p.count < left ? p.count : (size_t)left;
        scan_print(a, &p, n);
        left -= n;
        token = p.next_token;
        p.next_token = NULL;
        tarn_kv_page_free(&p);
    } while (token && left > 0);
    tarn_free(token);
    return rc;
}

/* Runs one kv verb on an open client; returns the exit code. */
static int kv_run(tarn_client *c, const kv_args *a, tarn_err *err)
{
    int exit_code = 0, rc;
    if (strcmp(a->verb, "get") == 0)
        rc = kv_get(c, a, err);
    else if (strcmp(a->verb, "put") == 0)
        rc = kv_write(c, a, 0, err, &exit_code);
    else if (strcmp(a->verb, "cas") == 0)
        rc = kv_write(c, a, 1, err, &exit_code);
    else if (strcmp(a->verb, "del") == 0 || strcmp(a->verb, "delete") == 0)
        rc = kv_del(c, a, err, &exit_code);
    else
        rc = kv_scan(c, a, err);
    if (rc == TARN_ENOENT && strcmp(a->verb, "scan") != 0) {
        fprintf(stderr, "tarn kv %s: no such key '%s'\n", a->verb, a->pos[0]);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "tarn kv %s: %s\n", a->verb, tarn_err_msg(err));
        if (rc == TARN_EUNAUTH)
            fprintf(stderr, "tarn kv: give an API key with --key, --key-file, --cluster or "
                            "$TARN_API_KEY\n");
        return 1;
    }
    return exit_code;
}

/* How many positional arguments (KEY included) each verb takes. */
static int verb_check(const kv_args *a)
{
    const struct {
        const char *verb;
        int min_pos, max_pos;
    } verbs[] = {{"get", 1, 1}, {"put", 1, 2},    {"cas", 1, 2},
                 {"del", 1, 1}, {"delete", 1, 1}, {"scan", 0, 0}};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(a->verb, verbs[i].verb) != 0)
            continue;
        if (a->n_pos < verbs[i].min_pos || a->n_pos > verbs[i].max_pos) {
            fprintf(stderr, "tarn kv %s: %s\n", a->verb,
                    a->n_pos < verbs[i].min_pos ? "missing KEY" : "too many arguments");
            return -1;
        }
        return 0;
    }
    fprintf(stderr, "tarn kv: unknown command '%s'\n", a->verb);
    return -1;
}

int cli_kv_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        kv_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    kv_args a;
    memset(&a, 0, sizeof(a));
    a.verb = argv[0];
    if (kv_parse(argc - 1, argv + 1, &a, "tarn kv") != 0 || verb_check(&a) != 0) {
        fputs("(see tarn kv --help)\n", stderr);
        return 2;
    }
    tarn_err err = TARN_ERR_INIT;
    tarn_client *c = NULL;
    if (kv_connect(&a, &c, &err) != 0) {
        fprintf(stderr, "tarn kv %s: %s\n", a.verb, tarn_err_msg(&err));
        return 1;
    }
    int code = kv_run(c, &a, &err);
    tarn_client_close(c);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tarn kv %s: write to stdout failed\n", a.verb);
        return 1;
    }
    return code;
}

int cli_tso_main(int argc, char **argv)
{
    kv_args a;
    memset(&a, 0, sizeof(a));
    a.verb = "tso";
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        kv_usage(stdout);
        return 0;
    }
    if (kv_parse(argc, argv, &a, "tarn tso") != 0 || a.n_pos > 0 || a.count > TARN_TSO_COUNT_MAX) {
        fprintf(stderr, "tarn tso: [--count 1..%d] and connection options (tarn kv --help)\n",
                TARN_TSO_COUNT_MAX);
        return 2;
    }
    uint32_t count = a.count ? (uint32_t)a.count : 1;
    tarn_err err = TARN_ERR_INIT;
    tarn_client *c = NULL;
    uint64_t first = 0;
    int rc = kv_connect(&a, &c, &err);
    if (rc == 0)
        rc = tarn_tso(c, count, NULL, &first, &err);
    tarn_client_close(c);
    if (rc != 0) {
        fprintf(stderr, "tarn tso: %s\n", tarn_err_msg(&err));
        return 1;
    }
    for (uint32_t i = 0; i < count; i++)
        printf("%" PRIu64 "\n", first + i);
    return fflush(stdout) == 0 ? 0 : 1;
}
