/*
 * tests/fuzz/fuzz_http_dispatch.c: libFuzzer target for the request path
 * (routing, authentication, JSON bodies, headers, replies) through
 * http_dispatch, with the built-in routes and a keystore in a temp dir.
 *
 * Input format (so that the corpus stays readable):
 *
 *   METHOD '\n' PATH['?'QUERY] '\n' (NAME ':' VALUE '\n')* '\n' BODY
 *
 * Missing parts are empty. The keystore is made with a deterministic
 * entropy source, so the corpus can carry working keys:
 *   admin: tarn_0001020304050607_08090a0b...2627
 *   read:  tarn_28292a2b2c2d2e2f_303132...4f
 * After an input that may write keys (POST, DELETE), keys.json is put back
 * as it was, so every input starts from the same state.
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/log.h"
#include "base/rand.h"
#include "http/http.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADERS_MAX 8

typedef struct fuzz_req {
    char method[32];
    char path[HTTP_PATH_MAX + 64];
    char names[FUZZ_HEADERS_MAX][64];
    char values[FUZZ_HEADERS_MAX][256];
    size_t header_count;
} fuzz_req;

static http_router *router;
static http_keystore *keystore;
static char dir[256];
static char keys_path[300];
static char *keys_initial;
static size_t keys_initial_len;

static int counting_entropy(void *ctx, void *buf, size_t len)
{
    unsigned *next = ctx;
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(*next)++;
    return 0;
}

static void discard_log(void *ctx, const char *line, size_t len) {}

static void cleanup(void)
{
    char p[320];
    http_router_free(router);
    http_keystore_close(keystore);
    unlink(keys_path);
    snprintf(p, sizeof(p), "%s/keys.lock", dir);
    unlink(p);
    rmdir(dir);
    free(keys_initial);
}

static void read_initial_keys(void)
{
    FILE *f = fopen(keys_path, "rb");
    TARN_ASSERT(f != NULL);
    keys_initial = malloc(1 << 16);
    TARN_ASSERT(keys_initial != NULL);
    keys_initial_len = fread(keys_initial, 1, 1 << 16, f);
    fclose(f);
}

static void init_once(void)
{
    if (router != NULL)
        return;
    tarn_alloc_hook_jansson();
    tarn_log_set_sink(discard_log, NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/tarn-fuzz-http-XXXXXX", tmp ? tmp : "/tmp");
    TARN_ASSERT(mkdtemp(dir) != NULL);
    snprintf(keys_path, sizeof(keys_path), "%s/keys.json", dir);
    tarn_err err = TARN_ERR_INIT;
    TARN_ASSERT(http_keystore_open(dir, &keystore, &err) == 0);
    unsigned next = 0;
    tarn_entropy_set(counting_entropy, &next);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    TARN_ASSERT(http_keystore_create(keystore, HTTP_ROLE_ADMIN, key, sizeof(key), id, sizeof(id),
                                     &err) == 0);
    TARN_ASSERT(strcmp(id, "0001020304050607") == 0);
    TARN_ASSERT(http_keystore_create(keystore, HTTP_ROLE_READ, key, sizeof(key), id, sizeof(id),
                                     &err) == 0);
    tarn_entropy_set(NULL, NULL);
    read_initial_keys();
    TARN_ASSERT(http_router_new(&router) == 0);
    TARN_ASSERT(http_router_add_builtin(router, keystore) == 0);
    atexit(cleanup);
}

/* Puts keys.json back (a new inode, so the keystore re-reads it). */
static void restore_keys(void)
{
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.fuzz", keys_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TARN_ASSERT(fd >= 0);
    TARN_ASSERT(write(fd, keys_initial, keys_initial_len) == (ssize_t)keys_initial_len);
    close(fd);
    TARN_ASSERT(rename(tmp, keys_path) == 0);
}

static const char *lookup(void *ctx, const char *name)
{
    fuzz_req *r = ctx;
    for (size_t i = 0; i < r->header_count; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

/* Copies the line starting at *pos (up to '\n' or the end) into out,
 * cut at cap-1 bytes; moves *pos past the newline. */
static size_t take_line(const uint8_t *d, size_t n, size_t *pos, char *out, size_t cap)
{
    size_t start = *pos, end = start;
    while (end < n && d[end] != '\n')
        end++;
    size_t len = end - start < cap - 1 ? end - start : cap - 1;
    memcpy(out, d + start, len);
    out[len] = '\0';
    *pos = end < n ? end + 1 : end;
    return end - start;
}

static void parse_headers(const uint8_t *d, size_t n, size_t *pos, fuzz_req *r)
{
    char line[512];
    while (*pos < n) {
        size_t len = take_line(d, n, pos, line, sizeof(line));
        if (len == 0)
            return; /* blank line: the body follows */
        char *colon = strchr(line, ':');
        if (colon == NULL || r->header_count == FUZZ_HEADERS_MAX)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        size_t nl = strlen(line), vl = strlen(v);
        nl = nl < sizeof(r->names[0]) - 1 ? nl : sizeof(r->names[0]) - 1;
        vl = vl < sizeof(r->values[0]) - 1 ? vl : sizeof(r->values[0]) - 1;
        memcpy(r->names[r->header_count], line, nl);
        r->names[r->header_count][nl] = '\0';
        memcpy(r->values[r->header_count], v, vl);
        r->values[r->header_count][vl] = '\0';
        r->header_count++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    static fuzz_req r;
    memset(&r, 0, sizeof(r));
    size_t pos = 0;
    take_line(data, size, &pos, r.method, sizeof(r.method));
    take_line(data, size, &pos, r.path, sizeof(r.path));
    parse_headers(data, size, &pos, &r);
    char *q = strchr(r.path, '?');
    if (q != NULL)
        *q++ = '\0';
    http_request req = {.method = r.method,
                        .path = r.path,
                        .query = q,
                        .header = lookup,
                        .header_ctx = &r,
                        .body = data + pos,
                        .body_len = size - pos};
    http_dispatch_env env = {.router = router, .keys = keystore, .max_body_bytes = 1 << 16};
    http_response resp;
    http_response_init(&resp);
    int rc = http_dispatch(&env, &req, &resp);
    /* Postconditions every reply must meet. */
    if (rc == 0) {
        TARN_ASSERT(resp.status >= 200 && resp.status < 600);
        TARN_ASSERT(resp.content_type != NULL);
        if (resp.status >= 400) {
            TARN_ASSERT(resp.body.len > 0);
            TARN_ASSERT(memcmp(resp.body.data, "{\"error\":{\"code\":", 17) == 0);
        }
    }
    http_response_free(&resp);
    if (strcmp(r.method, "POST") == 0 || strcmp(r.method, "DELETE") == 0)
        restore_keys();
    return 0;
}
