/* tests/common/test_util.c: shared test helpers (see test_util.h). */
#define _XOPEN_SOURCE 700
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/rand.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void tarn_test_init(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    setvbuf(stdout, NULL, _IONBF, 0);
}

uint64_t tarn_test_seed(void)
{
    const char *env = getenv("TARN_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : tarn_entropy_seed();
    printf("# seed %" PRIu64 " (replay: TARN_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

char *tarn_test_mkdtemp(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tarn-%s-XXXXXX", base ? base : "/tmp", tag);
    if (mkdtemp(path) == NULL)
        fail_msg("mkdtemp %s failed", path);
    char *out = malloc(strlen(path) + 1);
    assert_non_null(out);
    strcpy(out, path);
    return out;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tarn_test_rmdir(char *path)
{
    if (path == NULL)
        return;
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

void tarn_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *tarn_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    size_t n;
    while (p && (n = fread(p + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *q = realloc(p, cap * 2);
            if (q == NULL) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p == NULL)
        return NULL;
    p[len] = '\0';
    if (len_out)
        *len_out = len;
    return p;
}

int tarn_test_oom_loop(tarn_test_op_fn op, tarn_test_cleanup_fn cleanup, void *ctx, int max_points)
{
    int injected = 0;
    for (int n = 1; n <= max_points; n++) {
        int64_t live_before = tarn_alloc_live_count();
        tarn_alloc_fail_at((uint64_t)n, 0);
        int rc = op(ctx);
        int fired = tarn_alloc_fail_fired();
        tarn_alloc_fail_at(0, 0);
        if (!fired) {
            if (rc != 0)
                fail_msg("op failed (rc %d) with no injected failure at point %d", rc, n);
            if (cleanup)
                cleanup(ctx);
            assert_true(injected >= 1);
            return injected;
        }
        injected++;
        if (rc == 0) {
            /* An op may legitimately absorb a failed optional allocation
             * (a cache, a metric label): it must still clean up. */
            if (cleanup)
                cleanup(ctx);
        }
        if (tarn_alloc_live_count() != live_before)
            fail_msg("leak after injected failure at allocation %d: live %lld -> %lld (rc %d)", n,
                     (long long)live_before, (long long)tarn_alloc_live_count(), rc);
    }
    fail_msg("op still allocating after %d injection points", max_points);
    return injected;
}

int tarn_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}
