/* base/assert.c: the failure path of TARN_ASSERT (see assert.h). */
#include "base/assert.h"

#include "base/log.h"

#include <stdlib.h>

_Noreturn void tarn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    TARN_LOGF(TARN_LOG_ERROR, "assert", "assertion failed", TARN_F_STR("expr", expr),
              TARN_F_STR("file", file), TARN_F_INT("line", line), TARN_F_STR("func", func));
    abort();
}
