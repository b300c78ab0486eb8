/* /metrics against the real Prometheus tools: `promtool check metrics`
 * accepts the exposition, and a real prometheus process scrapes the
 * server (target health "up"). */
#include "common/test_util.h"

#include "http_itest.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static itest_server S;

static int group_setup(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_server_start(&S, NULL, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    itest_server_stop(&S);
    curl_global_cleanup();
    return 0;
}

static void test_promtool_accepts_metrics(void **state)
{
    char url[128];
    itest_reply r;
    /* traffic first, so every family has samples (requests, histogram) */
    snprintf(url, sizeof(url), "%s/health", S.base_url);
    itest_request(url, "GET", NULL, NULL, 0, 0, &r);
    itest_reply_free(&r);
    snprintf(url, sizeof(url), "%s/nope", S.base_url);
    itest_request(url, "GET", NULL, NULL, 0, 0, &r);
    itest_reply_free(&r);
    snprintf(url, sizeof(url), "%s/metrics", S.base_url);
    itest_request(url, "GET", NULL, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(
        r.body, "tarn_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"));
    assert_non_null(strstr(r.body, "# TYPE tarn_http_request_duration_seconds histogram"));
    assert_non_null(strstr(r.body, "tarn_http_connections_open"));

    char path[4096];
    snprintf(path, sizeof(path), "%s/metrics.txt", S.dir);
    tarn_test_write_file(path, r.body, r.body_len);
    itest_reply_free(&r);
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("promtool check metrics: exit %d: %s", WEXITSTATUS(status), out);
}

static void test_prometheus_scrapes_server(void **state)
{
    int prom_port = tarn_test_free_port();
    char cfg[4096], tsdb[4096], log[4096], listen[64], cfgarg[4200], tsdbarg[4200];
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", S.dir);
    snprintf(tsdb, sizeof(tsdb), "%s/tsdb", S.dir);
    snprintf(log, sizeof(log), "%s/prometheus.log", S.dir);
    char yml[512];
    int len = snprintf(yml, sizeof(yml),
                       "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                       "scrape_configs:\n  - job_name: tarn\n    static_configs:\n"
                       "      - targets: ['127.0.0.1:%u']\n",
                       (unsigned)http_server_port(S.srv));
    tarn_test_write_file(cfg, yml, (size_t)len);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", prom_port);
    snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
    snprintf(tsdbarg, sizeof(tsdbarg), "--storage.tsdb.path=%s", tsdb);
    char *argv[] = {"/usr/bin/prometheus", cfgarg, tsdbarg, listen, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);

    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/targets", prom_port);
    int up = 0;
    struct timespec d = {0, 250 * 1000000};
    for (int i = 0; i < 160 && !up; i++) { /* up to ~40 s */
        itest_reply r;
        itest_request(url, "GET", NULL, NULL, 0, 0, &r);
        up = r.status == 200 && r.body && strstr(r.body, "\"health\":\"up\"") != NULL;
        itest_reply_free(&r);
        if (!up)
            nanosleep(&d, NULL); /* polling prometheus' state with a deadline */
    }
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    if (!up) {
        char *text = tarn_test_read_file(log, NULL);
        fail_msg("prometheus never saw the target up; its log:\n%s", text ? text : "(none)");
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtool_accepts_metrics),
        cmocka_unit_test(test_prometheus_scrapes_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
