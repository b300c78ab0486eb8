/*
 * http/keystore.c: API keys with roles, stored hashed in
 * <data_dir>/keys.json.
 *
 * Key format (shown once at creation, never stored):
 *
 *   | offset | size | meaning                                      |
 *   |--------|------|----------------------------------------------|
 *   | 0      | 5    | "tarn_"                                      |
 *   | 5      | 16   | id: 8 random bytes, lowercase hex            |
 *   | 21     | 1    | "_"                                          |
 *   | 22     | 64   | secret: 32 bytes of tarn_entropy_bytes, hex  |
 *
 * keys.json (mode 0600):
 *   {"version":1,"keys":[{"id":"<16 hex>","role":"read",
 *                         "sha256":"<64 hex of SHA-256(whole key)>",
 *                         "created_ms":<wall ms>}, ...]}
 *
 * Invariants:
 *  1. ks->keys mirrors the file as of (dev, ino, size, mtime) in ks->seen;
 *     every authentication stats the file and re-reads on a difference,
 *     so a key revoked by another process stops working at the next
 *     request.
 *  2. Writers hold flock(LOCK_EX) on <data_dir>/keys.lock, re-read the
 *     file under it, and replace it atomically (temp, fsync, rename, fsync
 *     of the directory): two writers in different processes cannot lose
 *     each other's update, and a reader never sees half a file.
 *  3. A failed re-read makes authentication fail (closed), never fall back
 *     to the previous keys: a revoked key must not survive a bad read.
 *  4. All fields are used under ks->lock.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/rand.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_PREFIX     "tarn_"
#define KEY_ID_HEX     16
#define KEY_SECRET_HEX 64
#define KEY_LEN        (5 + KEY_ID_HEX + 1 + KEY_SECRET_HEX)

typedef struct key_entry {
    char id[HTTP_KEY_ID_MAX];
    http_role role;
    uint8_t hash[TARN_SHA256_BYTES];
    int64_t created_ms;
} key_entry;

typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct http_keystore {
    pthread_mutex_t lock;
    char *path;      /* <dir>/keys.json, owned */
    char *lock_path; /* <dir>/keys.lock, owned */
    char *dir;       /* owned */
    key_entry *keys; /* owned, count entries */
    size_t count;
    file_id seen; /* the file keys mirrors (invariant 1) */
    int loaded;   /* 0 until the first successful read */
};

static const char *const role_names[] = {"none", "read", "write", "admin"};

int http_role_parse(const char *s, http_role *out)
{
    for (int r = HTTP_ROLE_READ; s != NULL && r <= HTTP_ROLE_ADMIN; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (http_role)r;
            return 0;
        }
    }
    return TARN_EINVAL;
}

const char *http_role_name(http_role r)
{
    if (r < HTTP_ROLE_NONE || r > HTTP_ROLE_ADMIN)
        return "unknown";
    return role_names[r];
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = tarn_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int file_id_equal(const file_id *a, const file_id *b)
{
    if (a->exists != b->exists)
        return 0;
    if (!a->exists)
        return 1;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void file_id_from_stat(file_id *f, const struct stat *st)
{
    f->exists = 1;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->size = st->st_size;
    f->mtime = st->st_mtim;
}

/* ---- parsing keys.json (untrusted: a user may edit it) ---------------- */

static int parse_entry(json_t *item, size_t index, key_entry *e, tarn_err *err)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    const char *role = json_string_value(json_object_get(item, "role"));
    const char *hash = json_string_value(json_object_get(item, "sha256"));
    json_t *created = json_object_get(item, "created_ms");
    if (id == NULL || role == NULL || hash == NULL)
        return tarn_err_set(err, TARN_ECORRUPT, "key %zu: id, role and sha256 must be strings",
                            index);
    uint8_t raw_id[KEY_ID_HEX / 2];
    if (strlen(id) != KEY_ID_HEX || tarn_hex_decode(id, KEY_ID_HEX, raw_id, sizeof(raw_id)) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "key %zu: id is not %d hex digits", index,
                            KEY_ID_HEX);
    if (http_role_parse(role, &e->role) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "key %zu: unknown role", index);
    if (strlen(hash) != 2 * TARN_SHA256_BYTES ||
        tarn_hex_decode(hash, strlen(hash), e->hash, sizeof(e->hash)) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "key %zu: sha256 is not 64 hex digits", index);
    memcpy(e->id, id, KEY_ID_HEX + 1);
    e->created_ms = json_is_integer(created) ? (int64_t)json_integer_value(created) : 0;
    return 0;
}

static int parse_keys(const tarn_buf *text, key_entry **out, size_t *count_out, tarn_err *err)
{
    json_error_t jerr;
    tarn_alloc_jansson_oom_reset();
    json_t *root = json_loadb((const char *)text->data, text->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL && tarn_alloc_jansson_oom())
        return tarn_err_set(err, TARN_ENOMEM, "parse keys file");
    if (root == NULL)
        return tarn_err_set(err, TARN_ECORRUPT, "line %d column %d: %s", jerr.line, jerr.column,
                            jerr.text);
    int rc = 0;
    key_entry *keys = NULL;
    json_t *arr = json_object_get(root, "keys");
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1 || !json_is_array(arr)) {
        rc = tarn_err_set(err, TARN_ECORRUPT, "want {\"version\":1,\"keys\":[...]}");
        goto done;
    }
    size_t n = json_array_size(arr);
    if (n > HTTP_KEYS_MAX) {
        rc = tarn_err_set(err, TARN_ECORRUPT, "%zu keys, at most %d", n, HTTP_KEYS_MAX);
        goto done;
    }
    keys = tarn_calloc(n ? n : 1, sizeof(*keys));
    if (keys == NULL) {
        rc = tarn_err_set(err, TARN_ENOMEM, "keys array");
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = parse_entry(json_array_get(arr, i), i, &keys[i], err);
    if (rc == 0) {
        *out = keys;
        *count_out = n;
        keys = NULL;
    }
done:
    tarn_free(keys);
    json_decref(root);
    return rc;
}

/* ---- reading and writing the file ------------------------------------ */

static int read_fd(int fd, tarn_buf *b, tarn_err *err)
{
    uint8_t chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tarn_err_set(err, tarn_err_from_errno(errno), "read: %s", strerror(errno));
        if (n == 0)
            return 0;
        int rc = tarn_buf_append(b, chunk, (size_t)n);
        if (rc != 0)
            return tarn_err_set(err, rc == TARN_ETOOBIG ? TARN_ECORRUPT : rc,
                                "keys file over %d bytes or out of memory", HTTP_KEYS_FILE_MAX);
    }
}

/* Re-reads the file into ks (invariant 1). An absent file is an empty set. */
static int ks_reload(http_keystore *ks, tarn_err *err)
{
    int fd = open(ks->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        tarn_free(ks->keys);
        ks->keys = NULL;
        ks->count = 0;
        memset(&ks->seen, 0, sizeof(ks->seen));
        ks->loaded = 1;
        return 0;
    }
    if (fd < 0)
        return tarn_err_set(err, tarn_err_from_errno(errno), "open %s: %s", ks->path,
                            strerror(errno));
    struct stat st;
    tarn_buf text;
    tarn_buf_init(&text, HTTP_KEYS_FILE_MAX);
    key_entry *keys = NULL;
    size_t count = 0;
    int rc = fstat(fd, &st) == 0 ? 0 : tarn_err_set(err, TARN_EIO, "fstat: %s", strerror(errno));
    if (rc == 0)
        rc = read_fd(fd, &text, err);
    if (rc == 0)
        rc = parse_keys(&text, &keys, &count, err);
    close(fd);
    tarn_buf_free(&text);
    if (rc != 0) {
        ks->loaded = 0; /* invariant 3: the next use re-reads */
        return tarn_err_wrap(err, rc, "read %s", ks->path);
    }
    tarn_free(ks->keys);
    ks->keys = keys;
    ks->count = count;
    file_id_from_stat(&ks->seen, &st);
    ks->loaded = 1;
    return 0;
}

/* Re-reads when the file changed since the last read (one stat). */
static int ks_refresh(http_keystore *ks, tarn_err *err)
{
    struct stat st;
    file_id now = {0};
    if (stat(ks->path, &st) == 0)
        file_id_from_stat(&now, &st);
    else if (errno != ENOENT)
        return tarn_err_set(err, tarn_err_from_errno(errno), "stat %s: %s", ks->path,
                            strerror(errno));
    if (ks->loaded && file_id_equal(&now, &ks->seen))
        return 0;
    return ks_reload(ks, err);
}

static int fsync_dir(const char *dir, tarn_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tarn_err_set(err, TARN_EIO, "open dir %s: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : tarn_err_set(err, TARN_EIO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Replaces `path` with `len` bytes, mode 0600, atomically: temp file in
 * the same directory, fsync, rename, fsync of `dir`. */
static int write_file_atomic(const char *dir, const char *path, const void *data, size_t len,
                             tarn_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return tarn_err_set(err, TARN_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return tarn_err_set(err, tarn_err_from_errno(errno), "create %s: %s", tmp, strerror(errno));
    int rc = 0;
    /* O_CREAT's mode is masked by the umask; a secret's file must be 0600
     * whatever the umask, and an old temp file may have had other bits. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
        rc = tarn_err_set(err, TARN_EIO, "write %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = tarn_err_set(err, TARN_EIO, "close %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = tarn_err_set(err, TARN_EIO, "rename to %s: %s", path, strerror(errno));
    if (rc != 0) {
        unlink(tmp); /* best effort: a leftover temp file is only clutter */
        return rc;
    }
    return fsync_dir(dir, err);
}

static int render_keys(const key_entry *keys, size_t count, tarn_buf *out)
{
    int rc = tarn_buf_append_str(out, "{\"version\":1,\"keys\":[");
    for (size_t i = 0; i < count && rc == 0; i++) {
        char hex[2 * TARN_SHA256_BYTES + 1];
        tarn_hex_encode(keys[i].hash, sizeof(keys[i].hash), hex);
        rc = tarn_buf_printf(out,
                             "%s\n {\"id\":\"%s\",\"role\":\"%s\",\"sha256\":\"%s\","
                             "\"created_ms\":%lld}",
                             i ? "," : "", keys[i].id, http_role_name(keys[i].role), hex,
                             (long long)keys[i].created_ms);
    }
    if (rc == 0)
        rc = tarn_buf_append_str(out, "\n]}\n");
    return rc;
}

/* Saves keys (not yet ks's) and makes them ks's on success. */
static int ks_save(http_keystore *ks, key_entry *keys, size_t count, tarn_err *err)
{
    tarn_buf text;
    tarn_buf_init(&text, HTTP_KEYS_FILE_MAX);
    int rc = render_keys(keys, count, &text);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "render keys");
    if (rc == 0)
        rc = write_file_atomic(ks->dir, ks->path, text.data, text.len, err);
    tarn_buf_free(&text);
    if (rc != 0) {
        ks->loaded = 0; /* state of the file unknown: re-read next time */
        return rc;
    }
    struct stat st;
    if (stat(ks->path, &st) != 0) {
        ks->loaded = 0;
        return tarn_err_set(err, TARN_EIO, "stat %s: %s", ks->path, strerror(errno));
    }
    tarn_free(ks->keys);
    ks->keys = keys;
    ks->count = count;
    file_id_from_stat(&ks->seen, &st);
    ks->loaded = 1;
    return 0;
}

/* ---- the writers' lock (invariant 2) ---------------------------------- */

static int flock_take(http_keystore *ks, int *fd_out, tarn_err *err)
{
    int fd = open(ks->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return tarn_err_set(err, tarn_err_from_errno(errno), "open %s: %s", ks->lock_path,
                            strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return tarn_err_set(err, TARN_EIO, "flock %s: %s", ks->lock_path, strerror(e));
        }
    }
    *fd_out = fd;
    return 0;
}

static void flock_release(int fd)
{
    /* Closing the descriptor releases the lock; nothing to check. */
    close(fd);
}

/* ---- public ----------------------------------------------------------- */

int http_keystore_open(const char *data_dir, http_keystore **out, tarn_err *err)
{
    http_keystore *ks = tarn_calloc(1, sizeof(*ks));
    if (ks == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "keystore");
    pthread_mutex_init(&ks->lock, NULL);
    ks->dir = tarn_strdup(data_dir);
    ks->path = path_join(data_dir, "keys.json");
    ks->lock_path = path_join(data_dir, "keys.lock");
    int rc = 0;
    if (ks->dir == NULL || ks->path == NULL || ks->lock_path == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "keystore paths");
    if (rc == 0)
        rc = ks_reload(ks, err);
    if (rc != 0) {
        http_keystore_close(ks);
        return tarn_err_wrap(err, rc, "open keystore in %s", data_dir);
    }
    *out = ks;
    return 0;
}

void http_keystore_close(http_keystore *ks)
{
    if (ks == NULL)
        return;
    pthread_mutex_destroy(&ks->lock);
    tarn_free(ks->keys);
    tarn_free(ks->dir);
    tarn_free(ks->path);
    tarn_free(ks->lock_path);
    tarn_free(ks);
}

/* Makes a new key: the text into key_out, the entry (with its hash). */
static int key_generate(http_role role, char key_out[KEY_LEN + 1], key_entry *e, tarn_err *err)
{
    uint8_t raw[KEY_ID_HEX / 2 + KEY_SECRET_HEX / 2];
    if (tarn_entropy_bytes(raw, sizeof(raw)) != 0)
        return tarn_err_set(err, TARN_EIO, "no entropy for a new key");
    memset(e, 0, sizeof(*e));
    tarn_hex_encode(raw, KEY_ID_HEX / 2, e->id);
    char secret[KEY_SECRET_HEX + 1];
    tarn_hex_encode(raw + KEY_ID_HEX / 2, KEY_SECRET_HEX / 2, secret);
    memcpy(key_out, KEY_PREFIX, 5);
    memcpy(key_out + 5, e->id, KEY_ID_HEX);
    key_out[5 + KEY_ID_HEX] = '_';
    memcpy(key_out + 6 + KEY_ID_HEX, secret, KEY_SECRET_HEX + 1);
    tarn_sha256(key_out, KEY_LEN, e->hash);
    e->role = role;
    e->created_ms = tarn_wall_ms();
    return 0;
}

/* Under both locks: refresh, then save the keys plus `add`. */
static int ks_append_locked(http_keystore *ks, const key_entry *add, tarn_err *err)
{
    int rc = ks_refresh(ks, err);
    if (rc != 0)
        return rc;
    if (ks->count >= HTTP_KEYS_MAX)
        return tarn_err_set(err, TARN_ERANGE, "keystore holds %d keys already", HTTP_KEYS_MAX);
    key_entry *next = tarn_malloc_array(ks->count + 1, sizeof(*next));
    if (next == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "keys array");
    if (ks->count)
        memcpy(next, ks->keys, ks->count * sizeof(*next));
    next[ks->count] = *add;
    rc = ks_save(ks, next, ks->count + 1, err);
    if (rc != 0)
        tarn_free(next);
    return rc;
}

int http_keystore_create(http_keystore *ks, http_role role, char *key_out, size_t key_cap,
                         char *id_out, size_t id_cap, tarn_err *err)
{
    if (role < HTTP_ROLE_READ || role > HTTP_ROLE_ADMIN || key_cap < HTTP_KEY_MAX ||
        id_cap < HTTP_KEY_ID_MAX)
        return tarn_err_set(err, TARN_EINVAL, "create key: bad role or buffer size");
    char key[KEY_LEN + 1];
    key_entry e;
    int rc = key_generate(role, key, &e, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&ks->lock);
    int lock_fd = -1;
    rc = flock_take(ks, &lock_fd, err);
    if (rc == 0) {
        rc = ks_append_locked(ks, &e, err);
        flock_release(lock_fd);
    }
    pthread_mutex_unlock(&ks->lock);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "create %s key", http_role_name(role));
    memcpy(key_out, key, sizeof(key));
    memcpy(id_out, e.id, strlen(e.id) + 1);
    return 0;
}

static int ks_remove_locked(http_keystore *ks, const char *id, tarn_err *err)
{
    int rc = ks_refresh(ks, err);
    if (rc != 0)
        return rc;
    size_t at = ks->count;
    for (size_t i = 0; i < ks->count; i++)
        if (strcmp(ks->keys[i].id, id) == 0)
            at = i;
    if (at == ks->count)
        return tarn_err_set(err, TARN_ENOENT, "no key with id %s", id);
    key_entry *next = tarn_malloc_array(ks->count, sizeof(*next));
    if (next == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "keys array");
    memcpy(next, ks->keys, at * sizeof(*next));
    memcpy(next + at, ks->keys + at + 1, (ks->count - at - 1) * sizeof(*next));
    rc = ks_save(ks, next, ks->count - 1, err);
    if (rc != 0)
        tarn_free(next);
    return rc;
}

int http_keystore_revoke(http_keystore *ks, const char *id, tarn_err *err)
{
    pthread_mutex_lock(&ks->lock);
    int lock_fd = -1;
    int rc = flock_take(ks, &lock_fd, err);
    if (rc == 0) {
        rc = ks_remove_locked(ks, id, err);
        flock_release(lock_fd);
    }
    pthread_mutex_unlock(&ks->lock);
    return rc;
}

/* The directory part of path ("." when there is none). */
static int dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, cap, ".");
        return 0;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return TARN_EINVAL;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static int ks_ensure_admin_locked(http_keystore *ks, const char *key_file_path, int *created_out,
                                  tarn_err *err)
{
    *created_out = 0;
    int rc = ks_refresh(ks, err);
    if (rc != 0 || ks->count > 0)
        return rc;
    char key[KEY_LEN + 2];
    key_entry e;
    rc = key_generate(HTTP_ROLE_ADMIN, key, &e, err);
    if (rc != 0)
        return rc;
    /* The key file first: if saving keys.json then fails, the next start
     * still finds no key and writes a fresh pair. */
    key[KEY_LEN] = '\n';
    char dir[4096];
    if (dir_of(key_file_path, dir, sizeof(dir)) != 0)
        return tarn_err_set(err, TARN_EINVAL, "key file path too long");
    rc = write_file_atomic(dir, key_file_path, key, KEY_LEN + 1, err);
    if (rc == 0)
        rc = ks_append_locked(ks, &e, err);
    if (rc == 0)
        *created_out = 1;
    return rc;
}

int http_keystore_ensure_admin(http_keystore *ks, const char *key_file_path, int *created_out,
                               tarn_err *err)
{
    pthread_mutex_lock(&ks->lock);
    int lock_fd = -1;
    int rc = flock_take(ks, &lock_fd, err);
    if (rc == 0) {
        rc = ks_ensure_admin_locked(ks, key_file_path, created_out, err);
        flock_release(lock_fd);
    }
    pthread_mutex_unlock(&ks->lock);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "ensure admin key");
    return 0;
}

/* Checks the shape of an untrusted key; copies its id. */
static int key_parse(const char *key, char id[KEY_ID_HEX + 1])
{
    if (strnlen(key, KEY_LEN + 1) != KEY_LEN || memcmp(key, KEY_PREFIX, 5) != 0 ||
        key[5 + KEY_ID_HEX] != '_')
        return TARN_EUNAUTH;
    memcpy(id, key + 5, KEY_ID_HEX);
    id[KEY_ID_HEX] = '\0';
    return 0;
}

int http_keystore_authenticate(http_keystore *ks, const char *key, char *id_out, size_t id_cap,
                               http_role *role_out, tarn_err *err)
{
    char id[KEY_ID_HEX + 1];
    if (id_cap < HTTP_KEY_ID_MAX)
        return tarn_err_set(err, TARN_EINVAL, "id buffer too small");
    if (key == NULL || key_parse(key, id) != 0)
        return tarn_err_set(err, TARN_EUNAUTH, "malformed API key");
    uint8_t hash[TARN_SHA256_BYTES];
    tarn_sha256(key, KEY_LEN, hash);
    pthread_mutex_lock(&ks->lock);
    int rc = ks_refresh(ks, err);
    int found = 0;
    for (size_t i = 0; rc == 0 && i < ks->count; i++) {
        /* Every candidate with this id is compared in constant time; the
         * id itself is not secret. */
        if (strcmp(ks->keys[i].id, id) == 0 &&
            tarn_ct_equal(ks->keys[i].hash, hash, sizeof(hash))) {
            found = 1;
            *role_out = ks->keys[i].role;
        }
    }
    pthread_mutex_unlock(&ks->lock);
    if (rc != 0)
        return rc;
    if (!found)
        return tarn_err_set(err, TARN_EUNAUTH, "unknown API key");
    memcpy(id_out, id, sizeof(id));
    return 0;
}

int http_keystore_list(http_keystore *ks, http_key_info **out, size_t *count_out, tarn_err *err)
{
    pthread_mutex_lock(&ks->lock);
    int rc = ks_refresh(ks, err);
    http_key_info *list = NULL;
    size_t n = rc == 0 ? ks->count : 0;
    if (rc == 0 && n > 0) {
        list = tarn_calloc(n, sizeof(*list));
        if (list == NULL)
            rc = tarn_err_set(err, TARN_ENOMEM, "key list");
    }
    for (size_t i = 0; list != NULL && i < n; i++) {
        memcpy(list[i].id, ks->keys[i].id, sizeof(list[i].id));
        list[i].role = ks->keys[i].role;
        list[i].created_ms = ks->keys[i].created_ms;
    }
    pthread_mutex_unlock(&ks->lock);
    if (rc != 0)
        return rc;
    *out = list;
    *count_out = n;
    return 0;
}
