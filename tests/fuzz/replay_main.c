/*
 * tests/fuzz/replay_main.c: runs a libFuzzer target over files without
 * libFuzzer: every regular file in each directory argument (or each file
 * argument) is fed once to LLVMFuzzerTestOneInput. Fails when no input was
 * found, so a missing corpus cannot pass silently. A crash is the failure
 * the sanitizers report.
 */
#include "common/test_util.h"

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    size_t n = 0;
    uint8_t *buf = (uint8_t *)tarn_test_read_file(path, &n);
    if (buf == NULL)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int run_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (run_file(path) != 0) {
            closedir(d);
            return -1;
        }
        (*count)++;
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
        if (rc != 0) {
            fprintf(stderr, "replay: failed on %s\n", argv[i]);
            return 1;
        }
        count += !S_ISDIR(st.st_mode);
    }
    printf("replayed %d inputs\n", count);
    return count > 0 ? 0 : 1;
}
