/*
 * base/rand.h: the randomness seam.
 *
 * tarn_rng: a small deterministic generator (xoshiro256**) seeded
 * explicitly: the simulator, randomized tests and election timeouts use it
 * so that a seed replays exactly. Not for secrets.
 *
 * tarn_entropy_bytes: unpredictable bytes for secrets and ids (API keys,
 * error ids, transaction ids), from getrandom(2) unless a test replaced the
 * source.
 *
 * Threads: a tarn_rng belongs to one thread. tarn_entropy_bytes is
 * thread-safe; tarn_entropy_set is for test set-up.
 */
#ifndef TARN_BASE_RAND_H
#define TARN_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct tarn_rng {
    uint64_t s[4];
} tarn_rng;

/* Seeds deterministically from one 64-bit seed (any value, 0 included). */
void tarn_rng_seed(tarn_rng *rng, uint64_t seed);
uint64_t tarn_rng_next(tarn_rng *rng);
/* Uniform in [0, bound); bound must be > 0. Unbiased (rejection). */
uint64_t tarn_rng_below(tarn_rng *rng, uint64_t bound);
/* Uniform in [0, 1). */
double tarn_rng_double(tarn_rng *rng);

/* Fills buf with len unpredictable bytes. TARN_EIO if the source fails. */
int tarn_entropy_bytes(void *buf, size_t len);

/* Replaces the entropy source (NULL restores getrandom). */
typedef int (*tarn_entropy_fn)(void *ctx, void *buf, size_t len);
void tarn_entropy_set(tarn_entropy_fn fn, void *ctx);

/* A 64-bit seed from the entropy source, for tests that pick a seed when
 * none was given. */
uint64_t tarn_entropy_seed(void);

#endif
