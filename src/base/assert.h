/*
 * base/assert.h: two kinds of assertion.
 *
 * TARN_ASSERT(cond): always compiled in. For cheap invariants whose failure
 * means Tarn's own state is wrong (never for bad input: bytes from disk, the
 * network or a user are checked and answered with an error code). On
 * failure it logs the expression, file and line as a JSON log line and
 * aborts.
 *
 * TARN_DASSERT(cond): compiled only with TARN_DEBUG_ASSERTS (the asan and
 * tsan presets); for expensive checks.
 *
 * Split compound conditions into separate assertions so that a failure says
 * which part broke.
 */
#ifndef TARN_BASE_ASSERT_H
#define TARN_BASE_ASSERT_H

_Noreturn void tarn_assert_fail(const char *expr, const char *file, int line, const char *func);

#define TARN_ASSERT(cond) ((cond) ? (void)0 : tarn_assert_fail(#cond, __FILE__, __LINE__, __func__))

#ifdef TARN_DEBUG_ASSERTS
#define TARN_DASSERT(cond) TARN_ASSERT(cond)
#else
#define TARN_DASSERT(cond) ((void)sizeof(!(cond)))
#endif

#define TARN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#define TARN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
