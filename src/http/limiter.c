/*
 * http/limiter.c: token buckets per API key id.
 *
 * A bucket holds up to burst tokens and gains rate tokens per second; a
 * request takes one. When fewer than one token is left, the request is
 * refused with the whole seconds until one is back (rounded up, so a
 * client that waits Retry-After seconds is let in).
 *
 * Buckets live in a fixed open-addressed table of HTTP_LIMITER_KEYS_MAX
 * slots, allocated once, so taking a token allocates nothing. When the table
 * is full the least recently used bucket is reused (a scan, only then).
 *
 * Invariants:
 *  1. 0 <= tokens <= burst of the bucket's role.
 *  2. last_ns never decreases (tarn_mono_ns is monotonic).
 *  3. All fields are read and written under `lock`.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/hash.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

typedef struct bucket {
    char id[HTTP_KEY_ID_MAX]; /* "" = free slot */
    double tokens;
    int64_t last_ns; /* tarn_mono_ns of the last refill */
} bucket;

struct http_limiter {
    pthread_mutex_t lock;
    double rate_per_s[HTTP_ROLE_COUNT];
    double burst[HTTP_ROLE_COUNT];
    size_t used;
    bucket *slots; /* HTTP_LIMITER_KEYS_MAX of them */
};

int http_limiter_new(const double rate_per_s[HTTP_ROLE_COUNT], const double burst[HTTP_ROLE_COUNT],
                     http_limiter **out)
{
    for (int i = 0; i < HTTP_ROLE_COUNT; i++) {
        if (!isfinite(rate_per_s[i]) || rate_per_s[i] < 0)
            return TARN_EINVAL;
        if (!isfinite(burst[i]) || burst[i] < 0)
            return TARN_EINVAL;
    }
    http_limiter *lim = tarn_calloc(1, sizeof(*lim));
    if (lim == NULL)
        return TARN_ENOMEM;
    lim->slots = tarn_calloc(HTTP_LIMITER_KEYS_MAX, sizeof(bucket));
    if (lim->slots == NULL) {
        tarn_free(lim);
        return TARN_ENOMEM;
    }
    for (int i = 0; i < HTTP_ROLE_COUNT; i++) {
        lim->rate_per_s[i] = rate_per_s[i];
        lim->burst[i] = burst[i] < 1 ? 1 : burst[i];
    }
    pthread_mutex_init(&lim->lock, NULL);
    *out = lim;
    return 0;
}

void http_limiter_free(http_limiter *lim)
{
    if (lim == NULL)
        return;
    pthread_mutex_destroy(&lim->lock);
    tarn_free(lim->slots);
    tarn_free(lim);
}

/* The bucket of `id`, or a fresh one (full) in a free or the least recently
 * used slot. Never NULL: the table has a fixed size. */
static bucket *bucket_get(http_limiter *lim, const char *id, double burst, int64_t now_ns)
{
    size_t n = strlen(id);
    size_t start = (size_t)(tarn_hash64(id, n, 0x7461726e) % HTTP_LIMITER_KEYS_MAX);
    bucket *lru = NULL;
    for (size_t probe = 0; probe < HTTP_LIMITER_KEYS_MAX; probe++) {
        bucket *b = &lim->slots[(start + probe) % HTTP_LIMITER_KEYS_MAX];
        if (b->id[0] == '\0') {
            lru = b;
            lim->used++;
            break;
        }
        if (strcmp(b->id, id) == 0)
            return b;
        if (lru == NULL || b->last_ns < lru->last_ns)
            lru = b;
    }
    TARN_ASSERT(lru != NULL);
    memcpy(lru->id, id, n + 1);
    lru->tokens = burst;
    lru->last_ns = now_ns;
    return lru;
}

int http_limiter_take(http_limiter *lim, const char *id, http_role role, unsigned *retry_after_s)
{
    if (role < HTTP_ROLE_NONE || role > HTTP_ROLE_ADMIN)
        return TARN_EINVAL;
    double rate = lim->rate_per_s[role];
    if (rate == 0)
        return 0;
    if (strlen(id) >= HTTP_KEY_ID_MAX)
        return TARN_EINVAL;
    double burst = lim->burst[role];
    int64_t now = tarn_mono_ns();
    pthread_mutex_lock(&lim->lock);
    bucket *b = bucket_get(lim, id, burst, now);
    if (now > b->last_ns) {
        b->tokens += (double)(now - b->last_ns) * rate / 1e9;
        b->last_ns = now;
    }
    if (b->tokens > burst)
        b->tokens = burst; /* invariant 1; also after a role's burst shrank */
    int rc = 0;
    if (b->tokens >= 1) {
        b->tokens -= 1;
    } else {
        double wait_s = ceil((1 - b->tokens) / rate);
        *retry_after_s = wait_s < 1 ? 1 : (wait_s > 86400 ? 86400 : (unsigned)wait_s);
        rc = TARN_ERATE;
    }
    pthread_mutex_unlock(&lim->lock);
    return rc;
}
