/*
 * tests/fuzz_parquet/replay.c: runs the fuzz target over every file of the
 * committed corpus, and over seeded mutations of each (byte flips, overwrites
 * with boundary values, truncations), so the default suite exercises the
 * target without libFuzzer. Usage: fuzz_parquet_replay DIR [mutations]; the
 * seed is $TARN_SEED or fixed at 1 for a reproducible suite.
 */
#include "base/rand.h"
#include "common/test_util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mutate(tarn_rng *rng, uint8_t *p, size_t len)
{
    static const uint8_t boundary[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x15, 0x19, 0x1c};
    int edits = 1 + (int)tarn_rng_below(rng, 4);
    for (int i = 0; i < edits && len > 0; i++) {
        size_t at = (size_t)tarn_rng_below(rng, len);
        if (tarn_rng_below(rng, 2))
            p[at] ^= (uint8_t)(1u << tarn_rng_below(rng, 8));
        else
            p[at] = boundary[tarn_rng_below(rng, sizeof(boundary))];
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_parquet_replay DIR [mutations]\n");
        return 2;
    }
    int mutations = argc > 2 ? atoi(argv[2]) : 300;
    const char *env = getenv("TARN_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 1;
    printf("# seed %llu\n", (unsigned long long)seed);
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    DIR *d = opendir(argv[1]);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 1;
    }
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        size_t len;
        uint8_t *data = (uint8_t *)tarn_test_read_file(path, &len);
        if (data == NULL)
            continue;
        LLVMFuzzerTestOneInput(data, len);
        uint8_t *copy = malloc(len ? len : 1);
        for (int m = 0; m < mutations; m++) {
            memcpy(copy, data, len);
            mutate(&rng, copy, len);
            /* Every 16th mutation also truncates. */
            size_t n = m % 16 == 15 && len ? (size_t)tarn_rng_below(&rng, len) : len;
            LLVMFuzzerTestOneInput(copy, n);
        }
        free(copy);
        free(data);
        files++;
    }
    closedir(d);
    printf("%d corpus files, %d mutations each\n", files, mutations);
    return files > 0 ? 0 : 1;
}
