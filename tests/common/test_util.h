/*
 * tests/common/test_util.h: what every Tarn test binary shares.
 *
 * - tarn_test_init(argc, argv): call first in main. `./test NAME-GLOB` runs
 *   only the matching test cases (cmocka's filter).
 * - tarn_test_seed(): the seed of a randomized test: $TARN_SEED when set,
 *   otherwise a fresh one. It is printed at once, so a failing run's output
 *   always shows the seed that replays it (TARN_SEED=N ./test).
 * - temp directories that are removed again.
 * - tarn_test_oom_loop(): out-of-memory injection over an operation.
 */
#ifndef TARN_TEST_UTIL_H
#define TARN_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void tarn_test_init(int argc, char **argv);

uint64_t tarn_test_seed(void);

/* Creates a fresh directory under $TMPDIR (or /tmp) and returns its path
 * (free with tarn_test_rmdir, which removes the whole tree and frees). */
char *tarn_test_mkdtemp(const char *tag);
void tarn_test_rmdir(char *path);

/* Writes len bytes to path, replacing it; asserts on failure. */
void tarn_test_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file into a NUL-terminated malloc'd buffer (free()), or
 * returns NULL when it cannot be read. */
char *tarn_test_read_file(const char *path, size_t *len_out);

/*
 * Out-of-memory injection. For n = 1, 2, ...: makes the nth allocation
 * fail and runs op(ctx). While an injected failure fires, op must return
 * nonzero (an error) and leave no allocation behind (checked against the
 * live count, and by ASan at exit). Stops at the first n where no failure
 * fires; op must then succeed. cleanup(ctx) (may be NULL) runs after each
 * attempt, with injection off, to release what a successful op returned.
 * Returns the number of injected failures exercised (asserts at least 1).
 */
typedef int (*tarn_test_op_fn)(void *ctx);
typedef void (*tarn_test_cleanup_fn)(void *ctx);
int tarn_test_oom_loop(tarn_test_op_fn op, tarn_test_cleanup_fn cleanup, void *ctx, int max_points);

/* A free TCP port on 127.0.0.1 (bound and released; racy but fine on a
 * test machine). */
int tarn_test_free_port(void);

#endif
