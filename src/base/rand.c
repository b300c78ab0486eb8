/*
 * base/rand.c: xoshiro256** seeded through splitmix64 (so any 64-bit seed,
 * zero included, gives a well-mixed state), and the entropy seam (see
 * rand.h). Both generators are public-domain algorithms by Blackman and
 * Vigna, written here from their published description.
 */
#include "base/rand.h"

#include "base/error.h"

#include <errno.h>
#include <sys/random.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tarn_rng_seed(tarn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tarn_rng_next(tarn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t tarn_rng_below(tarn_rng *rng, uint64_t bound)
{
    /* Reject the top partial range so every value is equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t x;
    do {
        x = tarn_rng_next(rng);
    } while (x >= limit);
    return x % bound;
}

double tarn_rng_double(tarn_rng *rng)
{
    return (double)(tarn_rng_next(rng) >> 11) * 0x1.0p-53;
}

static int system_entropy(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TARN_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static tarn_entropy_fn entropy_fn = system_entropy;
static void *entropy_ctx;

void tarn_entropy_set(tarn_entropy_fn fn, void *ctx)
{
    entropy_fn = fn ? fn : system_entropy;
    entropy_ctx = fn ? ctx : NULL;
}

int tarn_entropy_bytes(void *buf, size_t len)
{
    return entropy_fn(entropy_ctx, buf, len);
}

uint64_t tarn_entropy_seed(void)
{
    uint64_t seed = 0;
    /* A failed source still yields a usable (if predictable) seed: seeds
     * are for tests, not secrets. */
    if (tarn_entropy_bytes(&seed, sizeof(seed)) != 0)
        seed = 0x7461726e;
    return seed;
}
