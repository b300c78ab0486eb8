/* cli/fs.c: small file-system helpers for commands. */
#include "cli/cli.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const char *cli_program = "tarn";

int cli_mkdir_p(const char *dir, tarn_err *err)
{
    char path[TARN_CONFIG_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return tarn_err_set(err, TARN_EINVAL, "data directory path is empty or too long");
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return tarn_err_set(err, tarn_err_from_errno(errno), "create %s: %s", path,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return tarn_err_set(err, tarn_err_from_errno(errno), "create %s: %s", path,
                            strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return tarn_err_set(err, TARN_EINVAL, "%s is not a directory", path);
    return 0;
}
