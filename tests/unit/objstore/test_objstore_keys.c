/* Tests of objstore/ key rules: every kind of escaping or malformed key is
 * refused with TARN_EINVAL and a reason, and symbolic links inside the root
 * are never followed. */
#include "objstore_fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every operation refuses `key` with TARN_EINVAL and a message with `why`. */
static void expect_refused(objstore *os, const char *key, const char *why)
{
    tarn_err err = TARN_ERR_INIT;
    tarn_buf b;
    tarn_buf_init(&b, 100);
    objstore_info info;
    assert_int_equal(objstore_put(os, key, "x", 1, &err), TARN_EINVAL);
    if (strstr(tarn_err_msg(&err), why) == NULL)
        fail_msg("put \"%s\": message \"%s\" lacks \"%s\"", key, tarn_err_msg(&err), why);
    assert_int_equal(objstore_put_if_absent(os, key, "x", 1, &err), TARN_EINVAL);
    assert_int_equal(objstore_get(os, key, 100, &b, &err), TARN_EINVAL);
    assert_int_equal(objstore_get_range(os, key, 0, 1, &b, &err), TARN_EINVAL);
    assert_int_equal(objstore_head(os, key, &info, &err), TARN_EINVAL);
    assert_int_equal(objstore_del(os, key, &err), TARN_EINVAL);
    assert_int_equal(b.len, 0);
    tarn_buf_free(&b);
}

static void test_escaping_keys_refused(void **state)
{
    fx *f = *state;
    expect_refused(f->os, "", "empty");
    expect_refused(f->os, "../x", "\"..\"");
    expect_refused(f->os, "a/../../x", "\"..\"");
    expect_refused(f->os, "a/..", "\"..\"");
    expect_refused(f->os, "..", "\"..\"");
    expect_refused(f->os, ".", "\".\"");
    expect_refused(f->os, "a/./b", "\".\"");
    expect_refused(f->os, "/etc/passwd", "absolute");
    expect_refused(f->os, "a//b", "empty segment");
    expect_refused(f->os, "a/", "empty segment");
    expect_refused(f->os, "a\\b", "backslash");
    expect_refused(f->os, "..\\..\\x", "backslash");
    expect_refused(f->os, OBJSTORE_TEMP_PREFIX "0123", "temp prefix");
    expect_refused(f->os, "d/" OBJSTORE_TEMP_PREFIX "x/y", "temp prefix");

    char longkey[OBJSTORE_KEY_MAX + 2];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[OBJSTORE_KEY_MAX + 1] = '\0';
    expect_refused(f->os, longkey, "longer than");
    longkey[OBJSTORE_KEY_MAX] = '\0'; /* exactly the maximum is a valid key... */
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_key_check(longkey, OBJSTORE_KEY_MAX, &err), 0);
    /* ...but one segment over NAME_MAX cannot be a file here. */
    assert_int_equal(objstore_put(f->os, longkey, "x", 1, &err), TARN_EINVAL);

    /* A NUL inside, visible through the explicit length of key_check. */
    assert_int_equal(objstore_key_check("a\0b", 3, &err), TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "NUL"));
    assert_int_equal(objstore_key_check("a/b.c/..d/.e", 12, &err), 0);
    assert_int_equal(objstore_key_check(NULL, 0, &err), TARN_EINVAL);

    /* Names that merely contain dots are fine. */
    put_str(f->os, "..d/.e/f..", "dots");
    expect_get(f->os, "..d/.e/f..", "dots");

    /* Nothing was written outside the root or left behind. */
    assert_int_equal(count_temp_files(f->dir), 0);
}

static void test_bad_list_arguments(void **state)
{
    fx *f = *state;
    objstore_list_page p;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_list(f->os, "/etc/", NULL, 10, &p, &err), TARN_EINVAL);
    assert_int_equal(p.count, 0);
    assert_int_equal(objstore_list(f->os, "../", NULL, 10, &p, &err), TARN_EINVAL);
    assert_int_equal(objstore_list(f->os, "a/../b", NULL, 10, &p, &err), TARN_EINVAL);
    assert_int_equal(objstore_list(f->os, "a//", NULL, 10, &p, &err), TARN_EINVAL);
    assert_int_equal(objstore_list(f->os, "a\\b", NULL, 10, &p, &err), TARN_EINVAL);
    char longs[OBJSTORE_KEY_MAX + 2];
    memset(longs, 'k', sizeof(longs) - 1);
    longs[OBJSTORE_KEY_MAX + 1] = '\0';
    assert_int_equal(objstore_list(f->os, "", longs, 10, &p, &err), TARN_EINVAL);
    assert_int_equal(objstore_list(f->os, longs, NULL, 10, &p, &err), TARN_EINVAL);
}

typedef struct outside {
    char *dir;              /* a directory outside the root */
    char secret_path[4200]; /* <dir>/secret */
} outside;

static void outside_make(outside *o)
{
    o->dir = tarn_test_mkdtemp("outside");
    snprintf(o->secret_path, sizeof(o->secret_path), "%s/secret", o->dir);
    tarn_test_write_file(o->secret_path, "SECRET", 6);
}

static void expect_secret_intact(outside *o)
{
    size_t len = 0;
    char *s = tarn_test_read_file(o->secret_path, &len);
    assert_non_null(s);
    assert_string_equal(s, "SECRET");
    free(s);
    char p[4300];
    snprintf(p, sizeof(p), "%s/x", o->dir);
    assert_int_equal(access(p, F_OK), -1); /* nothing new written there */
}

static void test_symlinked_dir_not_followed(void **state)
{
    fx *f = *state;
    outside o;
    outside_make(&o);
    char link[4200];
    snprintf(link, sizeof(link), "%s/evil", f->dir);
    assert_int_equal(symlink(o.dir, link), 0);

    tarn_err err = TARN_ERR_INIT;
    tarn_buf b;
    tarn_buf_init(&b, 100);
    objstore_info info;
    assert_int_equal(objstore_put(f->os, "evil/x", "pwn", 3, &err), TARN_EFORBIDDEN);
    assert_non_null(strstr(tarn_err_msg(&err), "symbolic link"));
    assert_int_equal(objstore_put_if_absent(f->os, "evil/x", "pwn", 3, &err), TARN_EFORBIDDEN);
    assert_int_equal(objstore_get(f->os, "evil/secret", 100, &b, &err), TARN_EFORBIDDEN);
    assert_int_equal(objstore_get_range(f->os, "evil/secret", 0, 3, &b, &err), TARN_EFORBIDDEN);
    assert_int_equal(b.len, 0);
    assert_int_equal(objstore_head(f->os, "evil/secret", &info, &err), TARN_EFORBIDDEN);
    assert_int_equal(objstore_del(f->os, "evil/secret", &err), TARN_EFORBIDDEN);
    objstore_list_page p;
    assert_int_equal(objstore_list(f->os, "evil/", NULL, 10, &p, &err), TARN_EFORBIDDEN);
    assert_int_equal(objstore_list(f->os, "", NULL, 10, &p, &err), 0);
    assert_int_equal(p.count, 0); /* the link is not walked */
    objstore_list_page_free(&p);
    tarn_buf_free(&b);
    expect_secret_intact(&o);
    tarn_test_rmdir(o.dir);
}

static void test_symlinked_file_not_followed(void **state)
{
    fx *f = *state;
    outside o;
    outside_make(&o);
    char link[4200];
    snprintf(link, sizeof(link), "%s/leak", f->dir);
    assert_int_equal(symlink(o.secret_path, link), 0);

    tarn_err err = TARN_ERR_INIT;
    tarn_buf b;
    tarn_buf_init(&b, 100);
    objstore_info info;
    assert_int_equal(objstore_get(f->os, "leak", 100, &b, &err), TARN_EFORBIDDEN);
    assert_int_equal(objstore_get_range(f->os, "leak", 0, 3, &b, &err), TARN_EFORBIDDEN);
    assert_int_equal(b.len, 0);
    assert_int_equal(objstore_head(f->os, "leak", &info, &err), TARN_EFORBIDDEN);
    objstore_list_page p;
    assert_int_equal(objstore_list(f->os, "", NULL, 10, &p, &err), 0);
    assert_int_equal(p.count, 0);
    objstore_list_page_free(&p);
    /* put_if_absent: the name is taken (by the link), nothing written. */
    assert_int_equal(objstore_put_if_absent(f->os, "leak", "pwn", 3, &err), TARN_EEXIST);
    expect_secret_intact(&o);
    /* put replaces the link itself (rename does not follow links). */
    put_str(f->os, "leak", "mine");
    expect_get(f->os, "leak", "mine");
    expect_secret_intact(&o);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    tarn_buf_free(&b);
    tarn_test_rmdir(o.dir);
}

static void test_fifo_is_not_an_object(void **state)
{
    fx *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/fifo", f->dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    tarn_buf b;
    tarn_buf_init(&b, 100);
    tarn_err err = TARN_ERR_INIT;
    /* Must answer at once (no writer would ever come), not hang. */
    assert_int_equal(objstore_get(f->os, "fifo", 100, &b, &err), TARN_ENOENT);
    tarn_buf_free(&b);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escaping_keys_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_list_arguments, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_dir_not_followed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_file_not_followed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_is_not_an_object, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
