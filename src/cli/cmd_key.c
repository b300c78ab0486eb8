/*
 * cli/cmd_key.c: `tarn key create --role R`, `tarn key revoke ID`,
 * `tarn key list`, each with `--data DIR` (default ./tarn-data). They edit
 * DIR/keys.json under the keystore's lock, so they are safe while a server
 * runs on the same directory; the server notices the change on its next
 * request.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>

typedef struct key_args {
    const char *verb;
    const char *data_dir;
    const char *role;
    const char *id;
} key_args;

static int parse_key_args(int argc, char **argv, key_args *a)
{
    memset(a, 0, sizeof(*a));
    a->data_dir = "./tarn-data";
    if (argc < 1)
        return -1;
    a->verb = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            a->data_dir = argv[++i];
        else if (strncmp(argv[i], "--data=", 7) == 0)
            a->data_dir = argv[i] + 7;
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            a->role = argv[++i];
        else if (strncmp(argv[i], "--role=", 7) == 0)
            a->role = argv[i] + 7;
        else if (argv[i][0] != '-' && a->id == NULL)
            a->id = argv[i];
        else
            return -1;
    }
    return 0;
}

static int key_create(http_keystore *ks, const key_args *a, tarn_err *err)
{
    http_role role;
    if (a->role == NULL || http_role_parse(a->role, &role) != 0)
        return tarn_err_set(err, TARN_EINVAL, "--role must be read, write or admin");
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    int rc = http_keystore_create(ks, role, key, sizeof(key), id, sizeof(id), err);
    if (rc != 0)
        return rc;
    /* The key alone on stdout, so scripts can capture it; it is shown once. */
    printf("%s\n", key);
    fprintf(stderr, "created %s key %s (shown once; keep it safe)\n", http_role_name(role), id);
    return 0;
}

static int key_list(http_keystore *ks, tarn_err *err)
{
    http_key_info *keys = NULL;
    size_t n = 0;
    int rc = http_keystore_list(ks, &keys, &n, err);
    if (rc != 0)
        return rc;
    printf("%-18s %-6s %s\n", "ID", "ROLE", "CREATED_MS");
    for (size_t i = 0; i < n; i++)
        printf("%-18s %-6s %lld\n", keys[i].id, http_role_name(keys[i].role),
               (long long)keys[i].created_ms);
    tarn_free(keys);
    return 0;
}

int cli_key_main(int argc, char **argv)
{
    key_args a;
    if (parse_key_args(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: tarn key create --role read|write|admin [--data DIR]\n"
                        "       tarn key revoke ID [--data DIR]\n"
                        "       tarn key list [--data DIR]\n");
        return 2;
    }
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks = NULL;
    int rc = cli_mkdir_p(a.data_dir, &err);
    if (rc == 0)
        rc = http_keystore_open(a.data_dir, &ks, &err);
    if (rc == 0 && strcmp(a.verb, "create") == 0)
        rc = key_create(ks, &a, &err);
    else if (rc == 0 && strcmp(a.verb, "revoke") == 0 && a.id)
        rc = http_keystore_revoke(ks, a.id, &err);
    else if (rc == 0 && strcmp(a.verb, "list") == 0)
        rc = key_list(ks, &err);
    else if (rc == 0)
        rc = tarn_err_set(&err, TARN_EINVAL, "unknown key command '%s' (create, revoke ID, list)",
                          a.verb);
    if (rc == 0 && strcmp(a.verb, "revoke") == 0)
        fprintf(stderr, "revoked key %s\n", a.id);
    http_keystore_close(ks);
    if (rc != 0) {
        fprintf(stderr, "tarn key %s: %s\n", a.verb, tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
