/* Tests of base/assert: a failed TARN_ASSERT logs the expression as JSON
 * and aborts (checked in a child process). */
#include "common/test_util.h"

#include "base/assert.h"
#include "base/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_passing_assert_is_silent(void **state)
{
    (void)state;
    int x = 1;
    TARN_ASSERT(x == 1);
    TARN_DASSERT(x == 1);
}

static void test_failing_assert_aborts_with_log(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        tarn_log_set_fd(fds[1]);
        int apples = 3;
        TARN_ASSERT(apples == 4);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[4096] = {0};
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "\"msg\":\"assertion failed\""));
    assert_non_null(strstr(out, "\"expr\":\"apples == 4\""));
    assert_non_null(strstr(out, "test_assert.c"));
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passing_assert_is_silent),
        cmocka_unit_test(test_failing_assert_aborts_with_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
