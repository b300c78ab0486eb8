/* cli/config.c: the option table, the config file parser and flags (see
 * config.h). */
#include "cli/config.h"

#include "base/log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum opt_type { OPT_STR, OPT_UINT, OPT_SIZE, OPT_RATE, OPT_BOOL, OPT_LEVEL } opt_type;

typedef struct opt_def {
    const char *name; /* file key; the flag is the same with '-' for '_' */
    opt_type type;
    size_t offset; /* into tarn_config */
    size_t size;   /* field size for strings */
    const char *default_text;
    const char *help;
} opt_def;

#define OPT(field, type, def, help)                                                                \
    {                                                                                              \
#field, type, offsetof(tarn_config, field), sizeof(((tarn_config *)0)->field), def, help   \
    }

static const opt_def options[] = {
    OPT(listen, OPT_STR, "127.0.0.1:7070", "address the HTTP API listens on (host:port)"),
    {"data", OPT_STR, offsetof(tarn_config, data_dir), sizeof(((tarn_config *)0)->data_dir),
     "./tarn-data", "data directory (keys, and later the WAL, tables)"},
    OPT(max_body_bytes, OPT_SIZE, "1MiB", "largest request body accepted (larger: 413)"),
    OPT(max_connections, OPT_UINT, "512", "concurrent HTTP connections (more are refused)"),
    OPT(connection_timeout_s, OPT_UINT, "30", "seconds before an idle connection is closed"),
    OPT(http_threads, OPT_UINT, "4", "HTTP worker threads"),
    OPT(metrics_require_key, OPT_BOOL, "false", "require a read key for GET /metrics"),
    OPT(rate_read_per_s, OPT_RATE, "100", "requests/s per read key (0: unlimited)"),
    OPT(burst_read, OPT_RATE, "200", "burst size per read key"),
    OPT(rate_write_per_s, OPT_RATE, "100", "requests/s per write key (0: unlimited)"),
    OPT(burst_write, OPT_RATE, "200", "burst size per write key"),
    OPT(rate_admin_per_s, OPT_RATE, "50", "requests/s per admin key (0: unlimited)"),
    OPT(burst_admin, OPT_RATE, "100", "burst size per admin key"),
    OPT(log_level, OPT_LEVEL, "info", "least severe log level written: debug|info|warn|error"),
};

int tarn_config_parse_size(const char *s, size_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}};
    if (!isdigit((unsigned char)*s))
        return TARN_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return TARN_ERANGE;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > SIZE_MAX / units[i].mult)
                return TARN_ERANGE;
            *out = (size_t)(v * units[i].mult);
            return 0;
        }
    }
    return TARN_EINVAL;
}

static int parse_uint(const char *s, unsigned *out)
{
    if (!isdigit((unsigned char)*s))
        return TARN_EINVAL;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0')
        return TARN_EINVAL;
    if (errno != 0 || v > 1000000000ul)
        return TARN_ERANGE;
    *out = (unsigned)v;
    return 0;
}

static int parse_rate(const char *s, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
        return TARN_EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0)
        *out = 0;
    else
        return TARN_EINVAL;
    return 0;
}

static const char *type_hint(opt_type t)
{
    switch (t) {
    case OPT_UINT:
        return "a whole number";
    case OPT_SIZE:
        return "a size such as 1048576, 64KiB or 1MiB";
    case OPT_RATE:
        return "a number >= 0";
    case OPT_BOOL:
        return "true or false";
    case OPT_LEVEL:
        return "debug, info, warn or error";
    default:
        return "text";
    }
}

static int apply(tarn_config *cfg, const opt_def *o, const char *value)
{
    char *field = (char *)cfg + o->offset;
    tarn_log_level lvl;
    switch (o->type) {
    case OPT_STR:
    case OPT_LEVEL:
        if (*value == '\0' || strlen(value) >= o->size)
            return TARN_EINVAL;
        if (o->type == OPT_LEVEL && tarn_log_level_parse(value, &lvl) != 0)
            return TARN_EINVAL;
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_UINT:
        return parse_uint(value, (unsigned *)(void *)field);
    case OPT_SIZE:
        return tarn_config_parse_size(value, (size_t *)(void *)field);
    case OPT_RATE:
        return parse_rate(value, (double *)(void *)field);
    case OPT_BOOL:
        return parse_bool(value, (int *)(void *)field);
    }
    return TARN_EINVAL;
}

static const opt_def *find_option(const char *name)
{
    char norm[64];
    size_t n = strlen(name);
    if (n >= sizeof(norm))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        norm[i] = name[i] == '-' ? '_' : name[i];
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strcmp(options[i].name, norm) == 0)
            return &options[i];
    return NULL;
}

int tarn_config_set(tarn_config *cfg, const char *name, const char *value, tarn_err *err)
{
    const opt_def *o = find_option(name);
    if (o == NULL)
        return tarn_err_set(err, TARN_ENOENT, "unknown option '%s'", name);
    if (apply(cfg, o, value) != 0)
        return tarn_err_set(err, TARN_EINVAL, "%s: '%s' is not %s", o->name, value,
                            type_hint(o->type));
    return 0;
}

void tarn_config_defaults(tarn_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        int rc = apply(cfg, &options[i], options[i].default_text);
        (void)rc; /* defaults are constants; tests check each one parses */
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Cuts a trailing `# comment` (outside quotes) and unquotes a "value".
 * Returns NULL for an unterminated quote. */
static char *clean_value(char *v)
{
    if (*v != '"') {
        char *hash = strchr(v, '#');
        if (hash)
            *hash = '\0';
        return trim(v);
    }
    char *end = strchr(v + 1, '"');
    if (end == NULL)
        return NULL;
    char *rest = trim(end + 1);
    if (*rest != '\0' && *rest != '#')
        return NULL; /* text after the closing quote */
    *end = '\0';
    return v + 1;
}

static int load_line(tarn_config *cfg, char *line, const char *path, int lineno, tarn_err *err)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return tarn_err_set(err, TARN_EINVAL, "%s:%d: expected 'key = value'", path, lineno);
    *eq = '\0';
    char *key = trim(s);
    char *value = clean_value(trim(eq + 1));
    if (value == NULL)
        return tarn_err_set(err, TARN_EINVAL, "%s:%d: %s: unterminated or malformed quote", path,
                            lineno, key);
    if (tarn_config_set(cfg, key, value, err) != 0) {
        tarn_err_wrap(err, TARN_EINVAL, "%s:%d", path, lineno);
        if (err)
            err->code = TARN_EINVAL; /* an unknown key in a file is bad input too */
        return TARN_EINVAL;
    }
    return 0;
}

int tarn_config_load_file(tarn_config *cfg, const char *path, tarn_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tarn_err_set(err, tarn_err_from_errno(errno), "config file %s: %s", path,
                            strerror(errno));
    char line[TARN_CONFIG_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n' && !feof(f)) {
            rc = tarn_err_set(err, TARN_EINVAL, "%s:%d: line longer than %d bytes", path, lineno,
                              TARN_CONFIG_LINE_MAX - 2);
            break;
        }
        rc = load_line(cfg, line, path, lineno, err);
    }
    if (rc == 0 && ferror(f))
        rc = tarn_err_set(err, TARN_EIO, "config file %s: read error", path);
    fclose(f);
    return rc;
}

/* Splits argv[*i] into name and value ("--a=b" or "--a b"), advancing *i
 * past a separate value. */
static int flag_split(int argc, char **argv, int *i, char *name, size_t cap, const char **value,
                      tarn_err *err)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return tarn_err_set(err, TARN_EINVAL, "unexpected argument '%s' (options are --name value)",
                            arg);
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (n >= cap)
        return tarn_err_set(err, TARN_EINVAL, "unknown option '%s'", arg);
    memcpy(name, arg + 2, n);
    name[n] = '\0';
    if (eq) {
        *value = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return tarn_err_set(err, TARN_EINVAL, "option --%s needs a value", name);
    *value = argv[++*i];
    return 0;
}

int tarn_config_parse_args(tarn_config *cfg, int argc, char **argv, int *help_out, tarn_err *err)
{
    *help_out = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help_out = 1;
            return 0;
        }
    }
    char name[64];
    const char *value;
    /* The config file first, so that every flag overrides it. */
    for (int i = 0; i < argc; i++) {
        int rc = flag_split(argc, argv, &i, name, sizeof(name), &value, err);
        if (rc != 0)
            return rc;
        if (strcmp(name, "config") == 0 && (rc = tarn_config_load_file(cfg, value, err)) != 0)
            return rc;
    }
    for (int i = 0; i < argc; i++) {
        int rc = flag_split(argc, argv, &i, name, sizeof(name), &value, err);
        if (rc == 0 && strcmp(name, "config") != 0)
            rc = tarn_config_set(cfg, name, value, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void tarn_config_print_help(FILE *out)
{
    fprintf(out, "Options (flags override the --config file; file keys use '_'):\n");
    fprintf(out, "  %-28s %-16s %s\n", "--config FILE", "(none)",
            "read options from FILE (key = value lines)");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", options[i].name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(out, "  %-28s %-16s %s\n", flag, options[i].default_text, options[i].help);
    }
}
