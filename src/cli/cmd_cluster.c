/*
 * cli/cmd_cluster.c: `tarn cluster`, a local cluster of `tarn meta`
 * members on loopback, for development and tests.
 *
 *   tarn cluster up --meta 3 --dir D [-- extra tarn meta flags]
 *       starts N members in the background (their own sessions, logs in
 *       D/meta-<id>.log, data in D/meta-<id>, API keys in D), waits until
 *       a leader is elected, prints the endpoints and writes D/cluster.json
 *   tarn cluster status --cluster D/cluster.json
 *       one JSON line per member: id, pid, url, role ("leader",
 *       "follower", or "down" with an error), term, commit_index, ...;
 *       exit 1 when a member is down
 *   tarn cluster down --cluster D/cluster.json
 *       SIGTERM to every member still running, SIGKILL after 10 s
 *   tarn cluster restart --cluster D/cluster.json --id N
 *       starts member N again (after a crash or a kill) with the same flags
 *       and returns once it answers /v1/status (exit 1 if it exits first)
 *   tarn cluster transfer --cluster D/cluster.json --to N  (= tarn meta transfer)
 *       asks the leader to hand leadership to member N; prints
 *       {"leader":N,"term":T} once N leads
 *   tarn meta add --cluster D/cluster.json --id N [--listen H:P]
 *                 [--peer-listen H:P] [--data DIR]      (= tarn cluster add)
 *       starts member N (`tarn meta --join`, the other members' extra
 *       flags), has the leader add it as a learner, waits until it has
 *       applied the leader's commit index of that moment, promotes it to a
 *       voter, records it in cluster.json; prints one JSON line
 *   tarn meta remove --cluster D/cluster.json --id N    (= tarn cluster remove)
 *       when N leads, hands leadership to another voter first; has the
 *       leader remove N, stops its process, renames its data directory to
 *       DATA.removed-<unix time> (a later `add --id N` starts afresh, not
 *       from a stale log), drops it from cluster.json; prints one JSON line
 *
 * D/cluster.json:
 *   {"dir": D, "admin_key_file": "D/admin.key", "cluster_name": "...",
 *    "members": [{"id":1, "url":"http://127.0.0.1:P", "peer":"127.0.0.1:Q",
 *                 "pid":123, "data":"D/meta-1", "log":"D/meta-1.log",
 *                 "argv":["/path/tarn","meta",...]}, ...]}
 *
 * A pid is only trusted while /proc/<pid>/cmdline still names `tarn meta`
 * (pids are reused) and the process is not a zombie.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLUSTER_MEMBERS_MAX  9
#define CLUSTER_UP_WAIT_MS   60000
#define CLUSTER_DOWN_WAIT_MS 10000
#define CLUSTER_HTTP_TIMEOUT 2000 /* ms for one status request */
#define CLUSTER_REPLY_MAX    65536
#define CLUSTER_ARGS_MAX     64
#define CLUSTER_FIXED_ARGS   14     /* argv[0..13] of member_argv; the rest are extra flags */
#define CLUSTER_CHANGE_MS    60000  /* a membership command keeps retrying this long */
#define CLUSTER_CATCHUP_MS   120000 /* a new member must catch up within this */

/* ---- a tiny HTTP client for /health and /v1/status --------------------- */

/* method url+path (url "http://host:port") with an optional API key and
 * an optional JSON request body; the reply body into out (NUL-ended).
 * Returns the HTTP status, or -1 when the member did not answer. */
static int http_call_body(const char *method, const char *url, const char *path, const char *key,
                          const char *req_body, char *out, size_t cap)
{
    unsigned a, b, c, d, port;
    if (sscanf(url, "http://%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5 || port > 65535)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(a << 24 | b << 16 | c << 8 | d);
    struct timeval tv = {.tv_sec = CLUSTER_HTTP_TIMEOUT / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[1024];
    size_t bl = req_body ? strlen(req_body) : 0;
    int n = snprintf(
        req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s",
        method, path, url + 7, key ? "X-API-Key: " : "", key ? key : "", key ? "\r\n" : "",
        req_body ? "Content-Type: application/json\r\n" : "", bl, req_body ? req_body : "");
    if (n < 0 || (size_t)n >= sizeof(req)) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    char *buf = tarn_malloc(CLUSTER_REPLY_MAX + 1);
    size_t len = 0;
    ssize_t r;
    while (buf && len < CLUSTER_REPLY_MAX &&
           (r = recv(fd, buf + len, CLUSTER_REPLY_MAX - len, 0)) > 0)
        len += (size_t)r;
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    int status = -1;
    char *body = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !body)
        status = -1;
    else
        snprintf(out, cap, "%s", body + 4);
    tarn_free(buf);
    return status;
}

static int http_call(const char *method, const char *url, const char *path, const char *key,
                     char *out, size_t cap)
{
    return http_call_body(method, url, path, key, NULL, out, cap);
}

static int http_get(const char *url, const char *path, char *out, size_t cap)
{
    return http_call("GET", url, path, NULL, out, cap);
}

/* ---- processes ----------------------------------------------------------- */

/* Whether pid is a live (not zombie) `tarn meta` process. */
static int member_alive(long pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* cmdline is NUL-separated: argv[1] must be "meta". */
    size_t first = strlen(buf);
    return first + 1 < n && strcmp(buf + first + 1, "meta") == 0;
}

/* Starts argv in the background in its own session, stdout and stderr
 * appended to log. Returns the pid, or -1. */
static long spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid < 0 ? -1 : (long)pid;
    setsid();
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (devnull >= 0)
        dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], argv);
    _exit(127);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- cluster.json ------------------------------------------------------------ */

static json_t *cluster_load(const char *path)
{
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c) {
        fprintf(stderr, "tarn cluster: %s: %s\n", path, je.text);
        return NULL;
    }
    json_t *m = json_object_get(c, "members");
    if (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > CLUSTER_MEMBERS_MAX) {
        fprintf(stderr, "tarn cluster: %s: no \"members\" array\n", path);
        json_decref(c);
        return NULL;
    }
    return c;
}

/* Writes the file atomically (temp file, fsync, rename). */
static int cluster_save(json_t *c, const char *path)
{
    char tmp[TARN_CONFIG_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(c, tmp, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "tarn cluster: cannot write %s\n", tmp);
        return -1;
    }
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "tarn cluster: rename %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static long member_pid(json_t *m)
{
    return (long)json_integer_value(json_object_get(m, "pid"));
}

static const char *member_str(json_t *m, const char *k)
{
    const char *s = json_string_value(json_object_get(m, k));
    return s ? s : "";
}

/* Starts member m from its stored argv; records the new pid. */
static int member_start(json_t *m)
{
    json_t *av = json_object_get(m, "argv");
    size_t n = json_array_size(av);
    if (n == 0 || n >= CLUSTER_ARGS_MAX) {
        fprintf(stderr, "tarn cluster: member has no argv\n");
        return -1;
    }
    char *argv[CLUSTER_ARGS_MAX];
    for (size_t i = 0; i < n; i++)
        argv[i] = (char *)json_string_value(json_array_get(av, i));
    argv[n] = NULL;
    long pid = spawn(argv, member_str(m, "log"));
    if (pid < 0) {
        fprintf(stderr, "tarn cluster: fork: %s\n", strerror(errno));
        return -1;
    }
    json_object_set_new(m, "pid", json_integer(pid));
    return 0;
}

/* ---- up -------------------------------------------------------------------------- */

/* Builds member i's argv (strings owned by the JSON array). */
static json_t *member_argv(const char *self, const char *dir, int id, const char *listen,
                           const char *peers, const char *name, char **extra, int n_extra)
{
    char data[TARN_CONFIG_PATH_MAX + 32], idbuf[16];
    snprintf(data, sizeof(data), "%s/meta-%d", dir, id);
    snprintf(idbuf, sizeof(idbuf), "%d", id);
    const char *fixed[] = {
        self,  "meta",   "--id", idbuf,    "--listen", listen,           "--peers",
        peers, "--data", data,   "--keys", dir,        "--cluster-name", name};
    json_t *a = json_array();
    for (size_t i = 0; a && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        json_array_append_new(a, json_string(fixed[i]));
    /* The tables' store, which GET /v1/catalog names: first among the
     * extra flags, so a later --store overrides it and `tarn meta add`
     * copies it to joining members. */
    char store[TARN_CONFIG_PATH_MAX + 16];
    snprintf(store, sizeof(store), "%s/objects", dir);
    if (a)
        json_array_append_new(a, json_string("--store"));
    if (a)
        json_array_append_new(a, json_string(store));
    for (int i = 0; a && i < n_extra; i++)
        json_array_append_new(a, json_string(extra[i]));
    return a;
}

/* Waits until every member answers /v1/status and one of them leads.
 * The members are our children until we exit, so waitpid tells an exit
 * apart from a child that has not reached execv yet (whose cmdline is
 * still ours). */
static int cluster_wait_ready(json_t *members)
{
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_UP_WAIT_MS * 1000000;
    char body[4096];
    while (tarn_mono_ns() < deadline) {
        size_t up = 0, leaders = 0, i;
        json_t *m;
        json_array_foreach(members, i, m)
        {
            int wst = 0;
            if (waitpid((pid_t)member_pid(m), &wst, WNOHANG) == (pid_t)member_pid(m)) {
                fprintf(stderr, "tarn cluster: member %lld exited during start-up; see %s\n",
                        (long long)json_integer_value(json_object_get(m, "id")),
                        member_str(m, "log"));
                return -1;
            }
            if (http_get(member_str(m, "url"), "/v1/status", body, sizeof(body)) == 200) {
                up++;
                leaders += strstr(body, "\"role\":\"leader\"") != NULL;
            }
        }
        if (up == json_array_size(members) && leaders == 1)
            return 0;
        sleep_ms(100);
    }
    fprintf(stderr, "tarn cluster: no leader within %d s\n", CLUSTER_UP_WAIT_MS / 1000);
    return -1;
}

static int cluster_up_spawn(json_t *c, int count, const char *dir, char **extra, int n_extra)
{
    char self[TARN_CONFIG_PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0) {
        fprintf(stderr, "tarn cluster: cannot find the tarn binary\n");
        return -1;
    }
    self[sl] = '\0';
    char peers[CLUSTER_MEMBERS_MAX * 32] = "", listen[CLUSTER_MEMBERS_MAX][32];
    for (int i = 0; i < count; i++) {
        int hp = free_port(), pp = free_port();
        if (hp < 0 || pp < 0)
            return -1;
        snprintf(listen[i], sizeof(listen[i]), "127.0.0.1:%d", hp);
        size_t pl = strlen(peers);
        snprintf(peers + pl, sizeof(peers) - pl, "%s%d=127.0.0.1:%d", i ? "," : "", i + 1, pp);
    }
    char name[64];
    snprintf(name, sizeof(name), "local-%ld-%lld", (long)getpid(), (long long)time(NULL));
    json_object_set_new(c, "cluster_name", json_string(name));
    json_t *members = json_object_get(c, "members");
    const char *pp = peers;
    for (int i = 0; i < count; i++) {
        const char *eq = strchr(pp, '=');
        const char *comma = strchr(pp, ',');
        char peer[32];
        snprintf(peer, sizeof(peer), "%.*s", (int)((comma ? comma : pp + strlen(pp)) - eq - 1),
                 eq + 1);
        pp = comma ? comma + 1 : pp;
        char url[64], data[TARN_CONFIG_PATH_MAX + 32], log[TARN_CONFIG_PATH_MAX + 32];
        snprintf(url, sizeof(url), "http://%s", listen[i]);
        snprintf(data, sizeof(data), "%s/meta-%d", dir, i + 1);
        snprintf(log, sizeof(log), "%s/meta-%d.log", dir, i + 1);
        json_t *m = json_pack("{si ss ss ss ss}", "id", i + 1, "url", url, "peer", peer, "data",
                              data, "log", log);
        json_object_set_new(m, "argv",
                            member_argv(self, dir, i + 1, listen[i], peers, name, extra, n_extra));
        json_array_append_new(members, m);
        if (member_start(m) != 0)
            return -1;
    }
    return 0;
}

static int cluster_up(int count, const char *dir_arg, char **extra, int n_extra)
{
    tarn_err err = TARN_ERR_INIT;
    if (cli_mkdir_p(dir_arg, &err) != 0) {
        fprintf(stderr, "tarn cluster up: %s\n", tarn_err_msg(&err));
        return 1;
    }
    char dir[TARN_CONFIG_PATH_MAX], file[TARN_CONFIG_PATH_MAX + 16];
    if (!realpath(dir_arg, dir)) {
        fprintf(stderr, "tarn cluster up: %s: %s\n", dir_arg, strerror(errno));
        return 1;
    }
    snprintf(file, sizeof(file), "%s/cluster.json", dir);
    json_t *old = access(file, F_OK) == 0 ? cluster_load(file) : NULL;
    size_t i;
    json_t *m;
    if (old)
        json_array_foreach(json_object_get(old, "members"), i, m) if (member_alive(member_pid(m)))
        {
            fprintf(stderr,
                    "tarn cluster up: %s already runs (member %zu, pid %ld); "
                    "tarn cluster down --cluster %s first\n",
                    dir, i + 1, member_pid(m), file);
            json_decref(old);
            return 1;
        }
    json_decref(old);
    char keyfile[TARN_CONFIG_PATH_MAX + 16];
    snprintf(keyfile, sizeof(keyfile), "%s/admin.key", dir);
    json_t *c = json_pack("{ss ss s[]}", "dir", dir, "admin_key_file", keyfile, "members");
    int rc = cluster_up_spawn(c, count, dir, extra, n_extra);
    if (rc == 0)
        rc = cluster_save(c, file);
    if (rc == 0)
        rc = cluster_wait_ready(json_object_get(c, "members"));
    if (rc != 0) { /* our children: stop them whatever state they are in */
        json_array_foreach(json_object_get(c, "members"), i, m) if (member_pid(m) > 0)
        {
            kill((pid_t)member_pid(m), SIGKILL);
            waitpid((pid_t)member_pid(m), NULL, 0);
        }
        json_decref(c);
        return 1;
    }
    printf("tarn: cluster of %d members up\n", count);
    json_array_foreach(json_object_get(c, "members"), i, m)
        printf("tarn: member %zu %s pid %ld\n", i + 1, member_str(m, "url"), member_pid(m));
    printf("tarn: admin API key in %s\n", keyfile);
    printf("tarn: cluster file %s\n", file);
    json_decref(c);
    return 0;
}

/* ---- status / down / restart ---------------------------------------------------- */

static int cluster_status(json_t *c)
{
    size_t i;
    json_t *m;
    int down = 0;
    char body[4096];
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        long pid = member_pid(m);
        json_int_t id = json_integer_value(json_object_get(m, "id"));
        const char *url = member_str(m, "url");
        json_t *st = NULL;
        if (member_alive(pid) && http_get(url, "/v1/status", body, sizeof(body)) == 200)
            st = json_loads(body, 0, NULL);
        json_t *line;
        if (st) {
            json_t *voter = json_object_get(st, "voter");
            line = json_pack(
                "{sI sI ss sO sO sO sO sO sO sO}", "id", id, "pid", (json_int_t)pid, "url", url,
                "role", json_object_get(st, "role"), "term", json_object_get(st, "term"),
                "commit_index", json_object_get(st, "commit_index"), "applied_index",
                json_object_get(st, "applied_index"), "leader", json_object_get(st, "leader"),
                "state", json_object_get(st, "state"), "voter", voter ? voter : json_false());
        } else {
            down = 1;
            line =
                json_pack("{sI sI ss ss ss}", "id", id, "pid", (json_int_t)pid, "url", url, "role",
                          "down", "error", member_alive(pid) ? "not answering" : "not running");
        }
        char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(line);
        json_decref(st);
    }
    fflush(stdout);
    return down ? 1 : 0;
}

static int cluster_down_members(json_t *c)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "members"), i, m) if (member_alive(member_pid(m)))
        kill((pid_t)member_pid(m), SIGTERM);
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_DOWN_WAIT_MS * 1000000;
    int left = 1;
    while (left && tarn_mono_ns() < deadline) {
        left = 0;
        json_array_foreach(json_object_get(c, "members"), i, m) left |= member_alive(member_pid(m));
        if (left)
            sleep_ms(50);
    }
    json_array_foreach(json_object_get(c, "members"), i, m) if (member_alive(member_pid(m)))
    {
        fprintf(stderr, "tarn cluster down: member %zu did not stop in %d s; SIGKILL\n", i + 1,
                CLUSTER_DOWN_WAIT_MS / 1000);
        kill((pid_t)member_pid(m), SIGKILL);
    }
    return 0;
}

static int member_wait_up(json_t *m, const char *who); /* with meta add, below */

static int cluster_restart(json_t *c, const char *file, long id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        if (json_integer_value(json_object_get(m, "id")) != id)
            continue;
        if (member_alive(member_pid(m))) {
            fprintf(stderr, "tarn cluster restart: member %ld runs already (pid %ld)\n", id,
                    member_pid(m));
            return 1;
        }
        if (member_start(m) != 0 || cluster_save(c, file) != 0)
            return 1;
        /* Like up: back once it serves, so the next command can reach it. */
        if (member_wait_up(m, "tarn cluster restart") != 0)
            return 1;
        printf("tarn: member %ld %s pid %ld\n", id, member_str(m, "url"), member_pid(m));
        return 0;
    }
    fprintf(stderr, "tarn cluster restart: no member %ld in %s\n", id, file);
    return 1;
}

/* Asks the current leader to hand leadership to member `to`. */
static int cluster_transfer(json_t *c, long to)
{
    char key[256] = "", body[4096], path[64];
    const char *kf = json_string_value(json_object_get(c, "admin_key_file"));
    FILE *f = kf ? fopen(kf, "r") : NULL;
    if (!f || !fgets(key, sizeof(key), f)) {
        fprintf(stderr, "tarn meta transfer: cannot read the admin key file\n");
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    key[strcspn(key, "\r\n")] = '\0';
    snprintf(path, sizeof(path), "/v1/cluster/transfer?to=%ld", to);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        const char *url = member_str(m, "url");
        if (http_get(url, "/v1/status", body, sizeof(body)) != 200 ||
            !strstr(body, "\"role\":\"leader\""))
            continue;
        int st = http_call("POST", url, path, key, body, sizeof(body));
        if (st == 200) {
            printf("%s\n", body);
            return 0;
        }
        fprintf(stderr, "tarn meta transfer: %s answered %d: %s\n", url, st, body);
        return 1;
    }
    fprintf(stderr, "tarn meta transfer: no member leads right now; retry\n");
    return 1;
}

/* ---- membership: add / remove ------------------------------------------------------ */

/* Reads the admin key cluster.json points at. */
static int cluster_admin_key(json_t *c, char *key, size_t cap, const char *what)
{
    const char *kf = json_string_value(json_object_get(c, "admin_key_file"));
    FILE *f = kf ? fopen(kf, "r") : NULL;
    int ok = f && fgets(key, (int)cap, f);
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "tarn meta %s: cannot read the admin key file\n", what);
        return -1;
    }
    key[strcspn(key, "\r\n")] = '\0';
    return 0;
}

/* One JSON integer field of a member's /v1/status; -1 when it does not
 * answer. */
static long long member_status_int(const char *url, const char *field)
{
    char body[4096];
    if (http_get(url, "/v1/status", body, sizeof(body)) != 200)
        return -1;
    json_t *st = json_loads(body, 0, NULL);
    json_t *v = json_object_get(st, field);
    long long x = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(st);
    return x;
}

/* The URL of the member of cluster.json that leads now (and its id), or
 * NULL. */
static const char *cluster_leader(json_t *c, long *leader_id)
{
    size_t i;
    json_t *m;
    char body[4096];
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        const char *url = member_str(m, "url");
        if (http_get(url, "/v1/status", body, sizeof(body)) == 200 &&
            strstr(body, "\"role\":\"leader\"")) {
            *leader_id = (long)json_integer_value(json_object_get(m, "id"));
            return url;
        }
    }
    return NULL;
}

/* POSTs body to path on the leader, retrying while there is none, it
 * answers 503 (busy, an election, a change under way) or 307 (it just lost
 * the leadership), or does not answer, for up to CLUSTER_CHANGE_MS. The
 * last status; the reply in out. */
static int cluster_post_leader(json_t *c, const char *key, const char *path, const char *body,
                               char *out, size_t cap)
{
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_CHANGE_MS * 1000000;
    int st = -1;
    snprintf(out, cap, "no member leads");
    while (tarn_mono_ns() < deadline) {
        long lid = 0;
        const char *url = cluster_leader(c, &lid);
        if (url) {
            st = http_call_body("POST", url, path, key, body, out, cap);
            if (st == 200 || (st >= 400 && st != 503))
                return st;
        }
        sleep_ms(200);
    }
    return st;
}

static json_t *member_find(json_t *c, long id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "members"), i,
                       m) if (json_integer_value(json_object_get(m, "id")) == id) return m;
    return NULL;
}

/* "id=peer,..." of the members in cluster.json. */
static void cluster_peer_list(json_t *c, char *out, size_t cap)
{
    size_t i, len = 0;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        int w = snprintf(out + len, cap - len, "%s%lld=%s", len ? "," : "",
                         (long long)json_integer_value(json_object_get(m, "id")),
                         member_str(m, "peer"));
        if (w > 0 && (size_t)w < cap - len)
            len += (size_t)w;
    }
}

typedef struct member_spec {
    long id;
    const char *listen, *peer, *data; /* NULL: defaults */
} member_spec;

/* The new member's cluster.json entry, argv included: `tarn meta --join`
 * with the current members as --peers and the first member's extra
 * flags. */
static json_t *member_new(json_t *c, const member_spec *sp)
{
    char self[TARN_CONFIG_PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0)
        return NULL;
    self[sl] = '\0';
    const char *dir = json_string_value(json_object_get(c, "dir"));
    const char *name = json_string_value(json_object_get(c, "cluster_name"));
    if (!dir || !name)
        return NULL;
    char listen[64], peer[64], data[TARN_CONFIG_PATH_MAX + 32], log[TARN_CONFIG_PATH_MAX + 32];
    char url[80], idbuf[24], peers[CLUSTER_MEMBERS_MAX * 300];
    snprintf(listen, sizeof(listen), "%s", sp->listen ? sp->listen : "");
    snprintf(peer, sizeof(peer), "%s", sp->peer ? sp->peer : "");
    if (!sp->listen)
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
    if (!sp->peer)
        snprintf(peer, sizeof(peer), "127.0.0.1:%d", free_port());
    snprintf(data, sizeof(data), "%s/meta-%ld", dir, sp->id);
    if (sp->data)
        snprintf(data, sizeof(data), "%s", sp->data);
    snprintf(log, sizeof(log), "%s/meta-%ld.log", dir, sp->id);
    snprintf(url, sizeof(url), "http://%s", listen);
    snprintf(idbuf, sizeof(idbuf), "%ld", sp->id);
    cluster_peer_list(c, peers, sizeof(peers));
    const char *fixed[] = {
        self,     "meta", "--id",   idbuf, "--listen",       listen, "--peers",       peers,
        "--data", data,   "--keys", dir,   "--cluster-name", name,   "--peer-listen", peer,
        "--join"};
    json_t *av = json_array();
    for (size_t i = 0; av && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        json_array_append_new(av, json_string(fixed[i]));
    /* The extra flags of `tarn cluster up` follow the fixed ones; a member
     * that joined itself has --peer-listen and --join there, not copied. */
    json_t *first = json_object_get(json_array_get(json_object_get(c, "members"), 0), "argv");
    for (size_t i = CLUSTER_FIXED_ARGS; av && i < json_array_size(first); i++) {
        const char *a = json_string_value(json_array_get(first, i));
        if (a && strcmp(a, "--join") == 0)
            continue;
        if (a && strcmp(a, "--peer-listen") == 0) {
            i++;
            continue;
        }
        json_array_append(av, json_array_get(first, i));
    }
    json_t *m = json_pack("{sI ss ss ss ss}", "id", (json_int_t)sp->id, "url", url, "peer", peer,
                          "data", data, "log", log);
    if (m && av)
        json_object_set_new(m, "argv", av);
    else
        json_decref(av);
    return m;
}

/* Waits until a member we started answers /v1/status (it is our child:
 * an exit is seen by waitpid). `who` names the command in messages. */
static int member_wait_up(json_t *m, const char *who)
{
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_UP_WAIT_MS * 1000000;
    while (tarn_mono_ns() < deadline) {
        int wst = 0;
        if (waitpid((pid_t)member_pid(m), &wst, WNOHANG) == (pid_t)member_pid(m)) {
            fprintf(stderr, "%s: member %lld exited; see %s\n", who,
                    (long long)json_integer_value(json_object_get(m, "id")), member_str(m, "log"));
            return -1;
        }
        if (member_status_int(member_str(m, "url"), "id") >= 0)
            return 0;
        sleep_ms(100);
    }
    fprintf(stderr, "%s: member %lld did not answer within %d s; see %s\n", who,
            (long long)json_integer_value(json_object_get(m, "id")), CLUSTER_UP_WAIT_MS / 1000,
            member_str(m, "log"));
    return -1;
}

/* Waits until the new member has applied what the leader had committed
 * when it became a learner. */
static int member_wait_caught_up(json_t *c, json_t *m)
{
    long lid = 0;
    const char *lurl = cluster_leader(c, &lid);
    long long target = lurl ? member_status_int(lurl, "commit_index") : -1;
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_CATCHUP_MS * 1000000;
    while (target >= 0 && tarn_mono_ns() < deadline) {
        if (member_status_int(member_str(m, "url"), "applied_index") >= target)
            return 0;
        sleep_ms(100);
    }
    fprintf(stderr, "tarn meta add: member %lld did not catch up with index %lld\n",
            (long long)json_integer_value(json_object_get(m, "id")), target);
    return -1;
}

/* Whether pid has exited (gone, or a zombie): an exiting process loses
 * its cmdline, so member_alive says no before it is really gone. */
static int process_gone(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

static void member_stop(json_t *m)
{
    long pid = member_pid(m);
    if (!member_alive(pid))
        return;
    kill((pid_t)pid, SIGTERM);
    int64_t deadline = tarn_mono_ns() + (int64_t)CLUSTER_DOWN_WAIT_MS * 1000000;
    while (member_alive(pid) && tarn_mono_ns() < deadline)
        sleep_ms(50);
    if (member_alive(pid)) {
        fprintf(stderr, "tarn meta remove: pid %ld did not stop in %d s; SIGKILL\n", pid,
                CLUSTER_DOWN_WAIT_MS / 1000);
        kill((pid_t)pid, SIGKILL);
    }
    for (int i = 0; i < 250 && !process_gone(pid); i++) /* exiting takes a moment */
        sleep_ms(20);
    waitpid((pid_t)pid, NULL, WNOHANG); /* our child when we started it */
}

/* Prints o as one compact JSON line on stdout and releases it. */
static void print_json_line(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

/* Asks the leader for one change; 0 when done, else prints why. */
static int cluster_change(json_t *c, const char *key, const char *op, long id, const char *addr,
                          char *out, size_t cap)
{
    char body[512];
    if (addr)
        snprintf(body, sizeof(body), "{\"op\":\"%s\",\"id\":%ld,\"addr\":\"%s\"}", op, id, addr);
    else
        snprintf(body, sizeof(body), "{\"op\":\"%s\",\"id\":%ld}", op, id);
    int st = cluster_post_leader(c, key, "/v1/cluster/members", body, out, cap);
    if (st == 200)
        return 0;
    fprintf(stderr, "tarn meta %s: member %ld: %s (HTTP %d)\n", op, id, out, st);
    return -1;
}

static int cluster_add(json_t *c, const char *file, const member_spec *sp)
{
    char key[256], out[8192];
    if (member_find(c, sp->id)) {
        fprintf(stderr, "tarn meta add: member %ld is in %s already\n", sp->id, file);
        return 1;
    }
    if (json_array_size(json_object_get(c, "members")) >= CLUSTER_MEMBERS_MAX) {
        fprintf(stderr, "tarn meta add: at most %d members\n", CLUSTER_MEMBERS_MAX);
        return 1;
    }
    if (cluster_admin_key(c, key, sizeof(key), "add") != 0)
        return 1;
    json_t *m = member_new(c, sp);
    if (!m || member_start(m) != 0) {
        fprintf(stderr, "tarn meta add: cannot start member %ld\n", sp->id);
        json_decref(m);
        return 1;
    }
    int rc = member_wait_up(m, "tarn meta add");
    if (rc == 0)
        rc = cluster_change(c, key, "add", sp->id, member_str(m, "peer"), out, sizeof(out));
    if (rc == 0)
        rc = member_wait_caught_up(c, m);
    if (rc == 0)
        rc = cluster_change(c, key, "promote", sp->id, NULL, out, sizeof(out));
    if (rc != 0) {
        fprintf(stderr,
                "tarn meta add: stopping member %ld (if it was added as a learner, "
                "`tarn meta remove --id %ld` takes it out)\n",
                sp->id, sp->id);
        member_stop(m);
        json_decref(m);
        return 1;
    }
    json_array_append(json_object_get(c, "members"), m);
    rc = cluster_save(c, file);
    print_json_line(json_pack("{sI ss ss sI so*}", "added", (json_int_t)sp->id, "url",
                              member_str(m, "url"), "peer", member_str(m, "peer"), "pid",
                              (json_int_t)member_pid(m), "configuration",
                              json_loads(out, 0, NULL)));
    json_decref(m);
    return rc ? 1 : 0;
}

/* A voter of cluster.json other than `not` that answers, for a transfer. */
static long cluster_other_voter(json_t *c, long not )
{
    size_t i;
    json_t *m;
    char body[4096];
    json_array_foreach(json_object_get(c, "members"), i, m)
    {
        long id = (long)json_integer_value(json_object_get(m, "id"));
        if (id != not &&http_get(member_str(m, "url"), "/v1/status", body, sizeof(body)) == 200 &&
            strstr(body, "\"voter\":true"))
            return id;
    }
    return 0;
}

static int cluster_remove(json_t *c, const char *file, long id)
{
    char key[256], out[8192], path[64];
    if (cluster_admin_key(c, key, sizeof(key), "remove") != 0)
        return 1;
    long lid = 0;
    /* A leader that removes itself steps down only once that commits, and
     * the others then need an election: hand the leadership over first. */
    if (cluster_leader(c, &lid) && lid == id) {
        long to = cluster_other_voter(c, id);
        snprintf(path, sizeof(path), "/v1/cluster/transfer?to=%ld", to);
        if (to && cluster_post_leader(c, key, path, NULL, out, sizeof(out)) != 200)
            fprintf(stderr, "tarn meta remove: transfer to %ld: %s (removing anyway)\n", to, out);
    }
    if (cluster_change(c, key, "remove", id, NULL, out, sizeof(out)) != 0)
        return 1;
    json_t *m = member_find(c, id);
    char moved[TARN_CONFIG_PATH_MAX + 64] = "";
    if (m) {
        member_stop(m);
        snprintf(moved, sizeof(moved), "%s.removed-%lld", member_str(m, "data"),
                 (long long)time(NULL));
        if (rename(member_str(m, "data"), moved) != 0) {
            fprintf(stderr, "tarn meta remove: keeping %s: rename: %s\n", member_str(m, "data"),
                    strerror(errno));
            moved[0] = '\0';
        }
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(c, "members"), i, x) if (x == m)
        {
            json_array_remove(json_object_get(c, "members"), i);
            break;
        }
    }
    int rc = cluster_save(c, file);
    print_json_line(json_pack("{sI ss so*}", "removed", (json_int_t)id, "data_moved_to", moved,
                              "configuration", json_loads(out, 0, NULL)));
    return rc ? 1 : 0;
}

/* ---- arguments ------------------------------------------------------------------- */

static void cluster_usage(FILE *out)
{
    fputs("usage: tarn cluster up --meta N --dir D [-- tarn meta flags...]\n"
          "       tarn cluster status --cluster D/cluster.json\n"
          "       tarn cluster down --cluster D/cluster.json\n"
          "       tarn cluster restart --cluster D/cluster.json --id N\n"
          "       tarn cluster transfer --cluster D/cluster.json --to N   (also: tarn meta "
          "transfer)\n"
          "       tarn cluster add --cluster D/cluster.json --id N [--listen H:P] [--peer-listen "
          "H:P] [--data DIR]\n"
          "                                                (also: tarn meta add)\n"
          "       tarn cluster remove --cluster D/cluster.json --id N   (also: tarn meta remove)\n",
          out);
}

int cli_cluster_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
        cluster_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *verb = argv[0], *dir = NULL, *file = NULL;
    const char *listen = NULL, *peer = NULL, *data = NULL;
    long meta = 3, id = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || strncmp(argv[i], "--", 2) != 0)
            goto usage;
        if (strcmp(argv[i], "--meta") == 0)
            meta = strtol(v, NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = v;
        else if (strcmp(argv[i], "--cluster") == 0)
            file = v;
        else if (strcmp(argv[i], "--id") == 0 || strcmp(argv[i], "--to") == 0)
            id = strtol(v, NULL, 10);
        else if (strcmp(argv[i], "--listen") == 0)
            listen = v;
        else if (strcmp(argv[i], "--peer-listen") == 0)
            peer = v;
        else if (strcmp(argv[i], "--data") == 0)
            data = v;
        else
            goto usage;
        i++;
    }
    if (strcmp(verb, "up") == 0) {
        if (!dir || meta < 1 || meta > CLUSTER_MEMBERS_MAX) {
            fprintf(stderr, "tarn cluster up: --dir D and --meta 1..%d are required\n",
                    CLUSTER_MEMBERS_MAX);
            return 2;
        }
        return cluster_up((int)meta, dir, argv + i, argc - i);
    }
    if (!file || i < argc)
        goto usage;
    json_t *c = cluster_load(file);
    if (!c)
        return 1;
    int rc = 2;
    if (strcmp(verb, "status") == 0)
        rc = cluster_status(c);
    else if (strcmp(verb, "down") == 0)
        rc = cluster_down_members(c);
    else if (strcmp(verb, "restart") == 0 && id > 0)
        rc = cluster_restart(c, file, id);
    else if (strcmp(verb, "transfer") == 0 && id > 0)
        rc = cluster_transfer(c, id);
    else if (strcmp(verb, "add") == 0 && id > 0)
        rc = cluster_add(c, file, &(member_spec){id, listen, peer, data});
    else if (strcmp(verb, "remove") == 0 && id > 0)
        rc = cluster_remove(c, file, id);
    json_decref(c);
    if (rc != 2)
        return rc;
usage:
    cluster_usage(stderr);
    return 2;
}
