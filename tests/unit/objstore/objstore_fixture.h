/* tests/unit/objstore/objstore_fixture.h: a fresh store in a temp
 * directory per test, and small helpers shared by the objstore tests. */
#ifndef TARN_TEST_OBJSTORE_FIXTURE_H
#define TARN_TEST_OBJSTORE_FIXTURE_H

#include "common/test_util.h"

#include "base/alloc.h"
#include "objstore/objstore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char *dir; /* the store's root (test temp dir) */
    objstore *os;
} fx;

static inline int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tarn_test_mkdtemp("objstore");
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_open(f->dir, &f->os, &err);
    if (rc != 0)
        fail_msg("open %s: %s", f->dir, tarn_err_msg(&err));
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx *f = *state;
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Puts a C string, failing the test on error. */
static inline void put_str(objstore *os, const char *key, const char *s)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_put(os, key, s, strlen(s), &err);
    if (rc != 0)
        fail_msg("put %s: %s", key, tarn_err_msg(&err));
}

/* Gets a key and compares it with `want` (NULL: expect TARN_ENOENT). */
static inline void expect_get(objstore *os, const char *key, const char *want)
{
    tarn_buf b;
    tarn_buf_init(&b, 1 << 24);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_get(os, key, 1 << 24, &b, &err);
    if (want == NULL) {
        assert_int_equal(rc, TARN_ENOENT);
    } else {
        if (rc != 0)
            fail_msg("get %s: %s", key, tarn_err_msg(&err));
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(tarn_buf_cstr(&b), want, b.len);
    }
    tarn_buf_free(&b);
}

/* Counts files whose name starts with the temp prefix anywhere below dir. */
static inline int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strncmp(de->d_name, OBJSTORE_TEMP_PREFIX, strlen(OBJSTORE_TEMP_PREFIX)) == 0)
            n++;
        char sub[4096 + 256 + 2];
        snprintf(sub, sizeof(sub), "%.4096s/%.256s", dir, de->d_name);
        if (de->d_type == DT_DIR)
            n += count_temp_files(sub);
    }
    closedir(d);
    return n;
}

#endif
