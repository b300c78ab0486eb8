/* Tests of objstore/: every operation's round trip on the file backend,
 * listing order and pagination, and a randomized run against a model. */
#include "objstore_fixture.h"

#include "base/assert.h"
#include "base/rand.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void test_open_urls(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    objstore *os = NULL;
    char url[4200];

    /* file:// URL to a root that does not exist yet: created, with parents. */
    snprintf(url, sizeof(url), "file://%s/new/root", f->dir);
    assert_int_equal(objstore_open(url, &os, &err), 0);
    assert_string_equal(objstore_url(os), url);
    put_str(os, "k", "v");
    objstore_close(os);
    char path[4200];
    snprintf(path, sizeof(path), "%s/new/root/k", f->dir);
    size_t len = 0;
    char *got = tarn_test_read_file(path, &len);
    assert_non_null(got);
    assert_string_equal(got, "v");
    free(got);

    /* A relative path is resolved at open against the working directory. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    int rc = objstore_open("rel/dir", &os, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    snprintf(url, sizeof(url), "file://%s/rel/dir", f->dir);
    assert_string_equal(objstore_url(os), url);
    objstore_close(os);

    /* The URL is normalised: "..", doubled and trailing slashes go. */
    snprintf(url, sizeof(url), "file://%s/new/../new//root/", f->dir);
    assert_int_equal(objstore_open(url, &os, &err), 0);
    snprintf(url, sizeof(url), "file://%s/new/root", f->dir);
    assert_string_equal(objstore_url(os), url);
    expect_get(os, "k", "v");
    objstore_close(os);

    /* A root that is a file cannot be a store. */
    snprintf(url, sizeof(url), "file://%s/new/root/k", f->dir);
    assert_int_not_equal(objstore_open(url, &os, &err), 0);
    assert_null(os);

    assert_int_equal(objstore_open("s3://bucket/prefix", &os, &err), TARN_ENOTSUP);
    assert_null(os);
    assert_non_null(strstr(tarn_err_msg(&err), "distributed execution"));
    assert_int_equal(objstore_open("http://x/y", &os, &err), TARN_EINVAL);
    assert_int_equal(objstore_open("file://host/x", &os, &err), TARN_EINVAL);
    assert_int_equal(objstore_open("", &os, &err), TARN_EINVAL);
    objstore_close(NULL);
}

static void test_put_get_nested_overwrite(void **state)
{
    fx *f = *state;
    put_str(f->os, "k", "hello");
    expect_get(f->os, "k", "hello");
    put_str(f->os, "tables/t/_delta_log/00000000000000000000.json", "{}");
    expect_get(f->os, "tables/t/_delta_log/00000000000000000000.json", "{}");
    put_str(f->os, "k", "replaced, longer than before");
    expect_get(f->os, "k", "replaced, longer than before");
    put_str(f->os, "k", "");
    expect_get(f->os, "k", "");
    expect_get(f->os, "missing", NULL);
    expect_get(f->os, "no/such/dir", NULL);
    expect_get(f->os, "tables", NULL); /* a directory is not an object */

    /* The file backend cannot hold "a" and "a/b" at once. */
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_put(f->os, "tables", "x", 1, &err), TARN_ECONFLICT);
    assert_int_equal(objstore_put(f->os, "k/sub", "x", 1, &err), TARN_ECONFLICT);
    assert_non_null(strstr(tarn_err_msg(&err), "k/sub"));
    assert_int_equal(count_temp_files(f->dir), 0);
}

static void test_get_limit_and_buffer_kept(void **state)
{
    fx *f = *state;
    put_str(f->os, "big", "0123456789");
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    assert_int_equal(tarn_buf_append_str(&b, "prev:"), 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_get(f->os, "big", 9, &b, &err), TARN_ETOOBIG);
    assert_string_equal(tarn_buf_cstr(&b), "prev:");
    assert_int_equal(objstore_get(f->os, "missing", 100, &b, &err), TARN_ENOENT);
    assert_string_equal(tarn_buf_cstr(&b), "prev:");
    assert_non_null(strstr(tarn_err_msg(&err), "missing"));
    assert_int_equal(objstore_get(f->os, "big", 10, &b, &err), 0);
    assert_string_equal(tarn_buf_cstr(&b), "prev:0123456789");
    tarn_buf_free(&b);

    /* The caller's buffer limit applies too. */
    tarn_buf small;
    tarn_buf_init(&small, 4);
    assert_int_equal(objstore_get(f->os, "big", 100, &small, &err), TARN_ETOOBIG);
    assert_int_equal(small.len, 0);
    tarn_buf_free(&small);
}

/* get_range of [off, off+len) must give `want` (NULL: TARN_ERANGE). */
static void expect_range(objstore *os, uint64_t off, size_t len, const char *want)
{
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_get_range(os, "r", off, len, &b, &err);
    if (want == NULL) {
        assert_int_equal(rc, TARN_ERANGE);
        assert_int_equal(b.len, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(tarn_buf_cstr(&b), want, b.len);
    }
    tarn_buf_free(&b);
}

static void test_get_range_edges(void **state)
{
    fx *f = *state;
    put_str(f->os, "r", "abcdefghij");
    expect_range(f->os, 0, 3, "abc");               /* start */
    expect_range(f->os, 4, 3, "efg");               /* middle */
    expect_range(f->os, 7, 3, "hij");               /* exactly the end */
    expect_range(f->os, 8, 100, "ij");              /* clipped */
    expect_range(f->os, 0, SIZE_MAX, "abcdefghij"); /* no overflow */
    expect_range(f->os, 10, 5, "");                 /* at the end: empty */
    expect_range(f->os, 11, 1, NULL);               /* past the end */
    expect_range(f->os, UINT64_MAX, 1, NULL);
    tarn_buf b;
    tarn_buf_init(&b, 100);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_get_range(f->os, "nope", 0, 1, &b, &err), TARN_ENOENT);
    tarn_buf_free(&b);
}

static void test_head_and_delete(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    objstore_info info = {0};
    int64_t before_ms = (int64_t)time(NULL) * 1000 - 2000;
    put_str(f->os, "d/x", "12345");
    assert_int_equal(objstore_head(f->os, "d/x", &info, &err), 0);
    assert_int_equal(info.size_bytes, 5);
    assert_true(info.mtime_ms >= before_ms);
    assert_true(info.mtime_ms <= (int64_t)time(NULL) * 1000 + 2000);
    assert_int_equal(objstore_head(f->os, "d/missing", &info, &err), TARN_ENOENT);
    assert_int_equal(objstore_head(f->os, "d", &info, &err), TARN_ENOENT);

    assert_int_equal(objstore_del(f->os, "d/x", &err), 0);
    expect_get(f->os, "d/x", NULL);
    assert_int_equal(objstore_head(f->os, "d/x", &info, &err), TARN_ENOENT);
    /* Deleting what is not there succeeds, as in S3. */
    assert_int_equal(objstore_del(f->os, "d/x", &err), 0);
    assert_int_equal(objstore_del(f->os, "never/existed/at/all", &err), 0);
    assert_int_equal(objstore_del(f->os, "d", &err), 0); /* a directory: no object */
    put_str(f->os, "d/y", "still here");
    expect_get(f->os, "d/y", "still here");
}

/* Lists everything under prefix with pages of `page` keys, joined by ','. */
static char *list_all(objstore *os, const char *prefix, size_t page, int *pages_out)
{
    tarn_buf all;
    tarn_buf_init(&all, 1 << 24);
    char *after = NULL;
    int pages = 0;
    for (;;) {
        objstore_list_page p;
        tarn_err err = TARN_ERR_INIT;
        int rc = objstore_list(os, prefix, after, page, &p, &err);
        if (rc != 0)
            fail_msg("list %s: %s", prefix, tarn_err_msg(&err));
        pages++;
        assert_true(p.count <= page);
        for (size_t i = 0; i < p.count; i++) {
            assert_int_equal(tarn_buf_printf(&all, "%s%s", all.len ? "," : "", p.entries[i].key),
                             0);
        }
        free(after);
        after = NULL;
        if (!p.truncated) {
            assert_null(p.next_start_after);
            objstore_list_page_free(&p);
            break;
        }
        assert_int_equal(p.count, page);
        assert_string_equal(p.next_start_after, p.entries[p.count - 1].key);
        after = strdup(p.next_start_after);
        objstore_list_page_free(&p);
    }
    if (pages_out)
        *pages_out = pages;
    size_t len = 0;
    char *s = (char *)tarn_buf_detach(&all, &len);
    char *copy = strdup(s ? s : "");
    tarn_free(s);
    return copy;
}

static void test_list_prefixes_and_order(void **state)
{
    fx *f = *state;
    const char *keys[] = {"tables/t/_delta_log/00000000000000000000.json",
                          "tables/t/_delta_log/00000000000000000001.json",
                          "tables/t/_delta_log/00000000000000000010.json",
                          "tables/t/_delta_log/_last_checkpoint",
                          "tables/t/part/x.parquet",
                          "tables/t2/a",
                          "a.c",
                          "a/b",
                          "a0",
                          "z"};
    for (size_t i = 0; i < TARN_ARRAY_LEN(keys); i++)
        put_str(f->os, keys[i], keys[i]);
    /* A temp file and a subdirectory with nothing in it are never listed. */
    char path[4200];
    snprintf(path, sizeof(path), "%s/tables/t/" OBJSTORE_TEMP_PREFIX "0123456789abcdef", f->dir);
    tarn_test_write_file(path, "partial", 7);
    snprintf(path, sizeof(path), "%s/tables/t/emptydir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);

    char *s = list_all(f->os, "", 1000, NULL);
    /* Byte order: '.' (0x2E) < '/' (0x2F) < '0' (0x30). */
    assert_string_equal(s, "a.c,a/b,a0,"
                           "tables/t/_delta_log/00000000000000000000.json,"
                           "tables/t/_delta_log/00000000000000000001.json,"
                           "tables/t/_delta_log/00000000000000000010.json,"
                           "tables/t/_delta_log/_last_checkpoint,"
                           "tables/t/part/x.parquet,tables/t2/a,z");
    free(s);
    s = list_all(f->os, "tables/t/_delta_log/0000", 2, NULL);
    assert_string_equal(s, "tables/t/_delta_log/00000000000000000000.json,"
                           "tables/t/_delta_log/00000000000000000001.json,"
                           "tables/t/_delta_log/00000000000000000010.json");
    free(s);
    s = list_all(f->os, "tables/t/", 1000, NULL);
    assert_string_equal(s, "tables/t/_delta_log/00000000000000000000.json,"
                           "tables/t/_delta_log/00000000000000000001.json,"
                           "tables/t/_delta_log/00000000000000000010.json,"
                           "tables/t/_delta_log/_last_checkpoint,tables/t/part/x.parquet");
    free(s);
    s = list_all(f->os, "tables/t", 1000, NULL); /* partial name matches t2 too */
    assert_non_null(strstr(s, "tables/t2/a"));
    free(s);
    s = list_all(f->os, "nothing/here/", 1000, NULL);
    assert_string_equal(s, "");
    free(s);
    s = list_all(f->os, "a", 1, NULL);
    assert_string_equal(s, "a.c,a/b,a0");
    free(s);

    /* start_after inside a directory that sorts before others. */
    objstore_list_page p;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_list(f->os, "", "a/b", 2, &p, &err), 0);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.entries[0].key, "a0");
    assert_int_equal(p.entries[0].size_bytes, 2);
    assert_true(p.truncated);
    objstore_list_page_free(&p);
    objstore_list_page_free(NULL);
}

static void test_list_pagination_2500(void **state)
{
    fx *f = *state;
    char key[64];
    for (int i = 0; i < 2500; i++) {
        /* Spread over directories so pages cross directory boundaries. */
        snprintf(key, sizeof(key), "_shuffle/j/%d/part-%05d", i % 7, i);
        put_str(f->os, key, "x");
    }
    int pages = 0;
    char *s = list_all(f->os, "_shuffle/", 1000, &pages);
    assert_int_equal(pages, 3);
    /* No duplicates or gaps, in order: compare with the sorted expectation. */
    int count = 0;
    char *prev = NULL;
    for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (prev != NULL)
            assert_true(strcmp(prev, tok) < 0);
        prev = tok;
        count++;
    }
    assert_int_equal(count, 2500);
    free(s);

    /* max_keys 0 or over the cap means OBJSTORE_LIST_MAX. */
    objstore_list_page p;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_list(f->os, "", NULL, 5000, &p, &err), 0);
    assert_int_equal(p.count, OBJSTORE_LIST_MAX);
    assert_true(p.truncated);
    objstore_list_page_free(&p);
    assert_int_equal(objstore_list(f->os, "", NULL, 0, &p, &err), 0);
    assert_int_equal(p.count, OBJSTORE_LIST_MAX);
    objstore_list_page_free(&p);
}

static void test_put_if_absent_keeps_first(void **state)
{
    fx *f = *state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_put_if_absent(f->os, "log/0.json", "first", 5, &err), 0);
    assert_int_equal(objstore_put_if_absent(f->os, "log/0.json", "second", 6, &err), TARN_EEXIST);
    assert_non_null(strstr(tarn_err_msg(&err), "log/0.json"));
    expect_get(f->os, "log/0.json", "first");
    assert_int_equal(objstore_put_if_absent(f->os, "log", "x", 1, &err), TARN_ECONFLICT);
    assert_int_equal(count_temp_files(f->dir), 0);
}

static void test_temp_sweep(void **state)
{
    fx *f = *state;
    put_str(f->os, "d/k", "v");
    char old_tmp[4200], new_tmp[4200];
    snprintf(old_tmp, sizeof(old_tmp), "%s/d/" OBJSTORE_TEMP_PREFIX "00000000000000aa", f->dir);
    snprintf(new_tmp, sizeof(new_tmp), "%s/d/" OBJSTORE_TEMP_PREFIX "00000000000000bb", f->dir);
    tarn_test_write_file(old_tmp, "x", 1);
    tarn_test_write_file(new_tmp, "y", 1);
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    assert_int_equal(utimensat(AT_FDCWD, old_tmp, ts, 0), 0);
    size_t removed = 0;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_temp_sweep(f->os, 3600, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(access(old_tmp, F_OK), -1);
    assert_int_equal(access(new_tmp, F_OK), 0);
    expect_get(f->os, "d/k", "v");
    assert_int_equal(objstore_temp_sweep(f->os, -1, &removed, &err), TARN_EINVAL);
}

/* A randomized run against an in-memory model: keys drawn from a small
 * set (no key is a directory of another), random puts, put_if_absents and
 * deletes, and after each step a list with a random prefix and page size
 * that must equal the model's sorted keys. */
#define MODEL_KEYS 12
static const char *const model_keys[MODEL_KEYS] = {
    "a", "a.b", "a0", "b/x", "b/x.y", "b/y/z", "b/y0", "c/d/e/f", "c/d/e.g", "c/d0", "c.", "z"};
static const char *const model_prefixes[] = {"", "a", "b/", "b/x", "b/y", "c/d", "c/d/e/", "q"};

static void model_check_list(objstore *os, const char *const *model, tarn_rng *rng)
{
    const char *prefix = model_prefixes[tarn_rng_below(rng, TARN_ARRAY_LEN(model_prefixes))];
    size_t page = 1 + (size_t)tarn_rng_below(rng, 4);
    char want[1024] = "";
    const char *sorted[MODEL_KEYS];
    size_t n = 0;
    for (size_t i = 0; i < MODEL_KEYS; i++)
        if (model[i] != NULL && strncmp(model_keys[i], prefix, strlen(prefix)) == 0)
            sorted[n++] = model_keys[i];
    for (size_t i = 1; i < n; i++) /* insertion sort by byte order */
        for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? "," : "", sorted[i]);
    char *got = list_all(os, prefix, page, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("list \"%s\" page %zu: got [%s] want [%s]", prefix, page, got, want);
    free(got);
}

static void test_randomized_against_model(void **state)
{
    fx *f = *state;
    tarn_rng rng;
    tarn_rng_seed(&rng, tarn_test_seed());
    const char *model[MODEL_KEYS] = {0};
    char values[MODEL_KEYS][32];
    for (int step = 0; step < 400; step++) {
        size_t k = (size_t)tarn_rng_below(&rng, MODEL_KEYS);
        const char *key = model_keys[k];
        char val[32];
        snprintf(val, sizeof(val), "v%d", step);
        tarn_err err = TARN_ERR_INIT;
        uint64_t what = tarn_rng_below(&rng, 3);
        if (what == 0) {
            assert_int_equal(objstore_put(f->os, key, val, strlen(val), &err), 0);
            memcpy(values[k], val, sizeof(val));
            model[k] = values[k];
        } else if (what == 1) {
            int rc = objstore_put_if_absent(f->os, key, val, strlen(val), &err);
            assert_int_equal(rc, model[k] ? TARN_EEXIST : 0);
            if (rc == 0) {
                memcpy(values[k], val, sizeof(val));
                model[k] = values[k];
            }
        } else {
            assert_int_equal(objstore_del(f->os, key, &err), 0);
            model[k] = NULL;
        }
        expect_get(f->os, key, model[k]);
        model_check_list(f->os, model, &rng);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_urls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_get_nested_overwrite, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_limit_and_buffer_kept, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_range_edges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_head_and_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_prefixes_and_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination_2500, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_if_absent_keeps_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_temp_sweep, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_randomized_against_model, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
