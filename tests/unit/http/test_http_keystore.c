/* Tests of http/keystore: creation, hashing on disk, file mode, revocation
 * seen by another handle, ensure_admin, corrupt files, and two processes
 * writing at once. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/hash.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *keys_path(const char *dir)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/keys.json", dir);
    return p;
}

static void test_create_stores_only_hash_mode_0600(void **state)
{
    (void)state;
    tarn_alloc_hook_jansson();
    char *dir = tarn_test_mkdtemp("http-ks");
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    assert_int_equal(
        http_keystore_create(ks, HTTP_ROLE_WRITE, key, sizeof(key), id, sizeof(id), &err), 0);
    assert_true(strncmp(key, "tarn_", 5) == 0);
    assert_true(strlen(key) >= 5 + 64);
    assert_non_null(strstr(key, id));

    struct stat st;
    assert_int_equal(stat(keys_path(dir), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = tarn_test_read_file(keys_path(dir), NULL);
    assert_non_null(text);
    const char *secret = key + strlen(key) - 64;
    assert_null(strstr(text, secret)); /* the secret is not on disk */
    uint8_t h[TARN_SHA256_BYTES];
    char hex[2 * TARN_SHA256_BYTES + 1];
    tarn_sha256(key, strlen(key), h);
    tarn_hex_encode(h, sizeof(h), hex);
    assert_non_null(strstr(text, hex)); /* its hash is */
    free(text);

    char got_id[HTTP_KEY_ID_MAX];
    http_role role;
    assert_int_equal(http_keystore_authenticate(ks, key, got_id, sizeof(got_id), &role, &err), 0);
    assert_string_equal(got_id, id);
    assert_int_equal(role, HTTP_ROLE_WRITE);
    key[30] = key[30] == '0' ? '1' : '0';
    assert_int_equal(http_keystore_authenticate(ks, key, got_id, sizeof(got_id), &role, &err),
                     TARN_EUNAUTH);
    assert_int_equal(
        http_keystore_create(ks, HTTP_ROLE_NONE, key, sizeof(key), id, sizeof(id), &err),
        TARN_EINVAL);
    http_keystore_close(ks);
    tarn_test_rmdir(dir);
}

static void test_revoke_seen_by_other_handle(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("http-ks");
    tarn_err err = TARN_ERR_INIT;
    http_keystore *a, *b;
    assert_int_equal(http_keystore_open(dir, &a, &err), 0);
    assert_int_equal(http_keystore_open(dir, &b, &err), 0);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX], got[HTTP_KEY_ID_MAX];
    http_role role;
    /* b learns of a key a created after b was opened */
    assert_int_equal(
        http_keystore_create(a, HTTP_ROLE_READ, key, sizeof(key), id, sizeof(id), &err), 0);
    assert_int_equal(http_keystore_authenticate(b, key, got, sizeof(got), &role, &err), 0);
    /* b revokes; a stops accepting at once */
    assert_int_equal(http_keystore_revoke(b, id, &err), 0);
    assert_int_equal(http_keystore_authenticate(a, key, got, sizeof(got), &role, &err),
                     TARN_EUNAUTH);
    assert_int_equal(http_keystore_revoke(a, id, &err), TARN_ENOENT);
    assert_int_equal(http_keystore_revoke(a, "nonsense", &err), TARN_ENOENT);
    http_key_info *list;
    size_t n;
    assert_int_equal(http_keystore_list(a, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    http_keystore_close(a);
    http_keystore_close(b);
    tarn_test_rmdir(dir);
}

static void test_ensure_admin_idempotent(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("http-ks");
    char keyfile[4096];
    snprintf(keyfile, sizeof(keyfile), "%s/admin.key", dir);
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    int created = -1;
    assert_int_equal(http_keystore_ensure_admin(ks, keyfile, &created, &err), 0);
    assert_int_equal(created, 1);
    struct stat st;
    assert_int_equal(stat(keyfile, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *key = tarn_test_read_file(keyfile, NULL);
    assert_non_null(key);
    key[strcspn(key, "\n")] = '\0';
    char got[HTTP_KEY_ID_MAX];
    http_role role;
    assert_int_equal(http_keystore_authenticate(ks, key, got, sizeof(got), &role, &err), 0);
    assert_int_equal(role, HTTP_ROLE_ADMIN);
    assert_int_equal(http_keystore_ensure_admin(ks, keyfile, &created, &err), 0);
    assert_int_equal(created, 0);
    http_keystore_close(ks);
    /* a fresh handle (a restart) does not make another */
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    assert_int_equal(http_keystore_ensure_admin(ks, keyfile, &created, &err), 0);
    assert_int_equal(created, 0);
    char *again = tarn_test_read_file(keyfile, NULL);
    again[strcspn(again, "\n")] = '\0';
    assert_string_equal(again, key);
    http_key_info *list;
    size_t n;
    assert_int_equal(http_keystore_list(ks, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].role, HTTP_ROLE_ADMIN);
    tarn_free(list);
    free(key);
    free(again);
    http_keystore_close(ks);
    tarn_test_rmdir(dir);
}

static void test_corrupt_file_fails_closed(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("http-ks");
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX], got[HTTP_KEY_ID_MAX];
    http_role role;
    assert_int_equal(
        http_keystore_create(ks, HTTP_ROLE_READ, key, sizeof(key), id, sizeof(id), &err), 0);
    const char *bad[] = {
        "{not json", "{\"version\":2,\"keys\":[]}",
        "{\"version\":1,\"keys\":[{\"id\":\"zz\",\"role\":\"read\",\"sha256\":\"00\"}]}",
        "{\"version\":1,\"keys\":[{\"id\":\"0011223344556677\",\"role\":\"god\","
        "\"sha256\":\""
        "0000000000000000000000000000000000000000000000000000000000000000\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tarn_test_write_file(keys_path(dir), bad[i], strlen(bad[i]));
        int rc = http_keystore_authenticate(ks, key, got, sizeof(got), &role, &err);
        assert_int_equal(rc, TARN_ECORRUPT);
        http_keystore *other;
        assert_int_equal(http_keystore_open(dir, &other, &err), TARN_ECORRUPT);
    }
    http_keystore_close(ks);
    tarn_test_rmdir(dir);
}

/* Two processes create keys at the same time through their own handles:
 * the lock and the re-read under it must keep every key. */
static void test_two_processes_lose_no_update(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("http-ks");
    enum { PER_PROC = 15 };
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            tarn_err err = TARN_ERR_INIT;
            http_keystore *ks;
            if (http_keystore_open(dir, &ks, &err) != 0)
                _exit(2);
            for (int i = 0; i < PER_PROC; i++) {
                char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
                if (http_keystore_create(ks, HTTP_ROLE_READ, key, sizeof(key), id, sizeof(id),
                                         &err) != 0)
                    _exit(3);
            }
            http_keystore_close(ks);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status = 0;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    http_key_info *list;
    size_t n;
    assert_int_equal(http_keystore_list(ks, &list, &n, &err), 0);
    assert_int_equal(n, 2 * PER_PROC);
    tarn_free(list);
    http_keystore_close(ks);
    tarn_test_rmdir(dir);
}

static void test_role_names(void **state)
{
    (void)state;
    http_role r;
    assert_int_equal(http_role_parse("write", &r), 0);
    assert_int_equal(r, HTTP_ROLE_WRITE);
    assert_int_equal(http_role_parse("none", &r), TARN_EINVAL);
    assert_int_equal(http_role_parse("Admin", &r), TARN_EINVAL);
    assert_string_equal(http_role_name(HTTP_ROLE_ADMIN), "admin");
    assert_string_equal(http_role_name((http_role)9), "unknown");
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_stores_only_hash_mode_0600),
        cmocka_unit_test(test_revoke_seen_by_other_handle),
        cmocka_unit_test(test_ensure_admin_idempotent),
        cmocka_unit_test(test_corrupt_file_fails_closed),
        cmocka_unit_test(test_two_processes_lose_no_update),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
