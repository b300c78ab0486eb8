/*
 * tests/sim/linz_check.c: `linz_check HISTORY.json [--budget STEPS]`
 * checks a client history recorded from real processes (format:
 * linz_hist.h) for linearizability. Exit status: 0 linearizable, 1 not
 * (the reason and the failing key's sub-history on stdout), 2 bad input or
 * usage, 3 undecided within the budget.
 */
#include "linz_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    uint64_t budget = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc) {
            char *end = NULL;
            budget = strtoull(argv[++i], &end, 10);
            if (*end != '\0' || budget == 0) {
                fprintf(stderr, "linz_check: --budget needs a positive number of steps\n");
                return 2;
            }
        } else if (argv[i][0] != '-' && path == NULL) {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: linz_check HISTORY.json [--budget STEPS]\n");
        return 2;
    }
    return linz_hist_check_file(path, budget, stdout, NULL);
}
