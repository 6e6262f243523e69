/* file_write.c: whole-file writes under a temporary name, and directories for outputs (file.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/file.h"
#include "core/base/mem.h"

fc_err fc_file_write_atomic(const char *path, const void *data, size_t len) {
    size_t tl = strlen(path) + 32;
    char *tmp = fc_malloc(tl, "path");
    if (!tmp) return FC_ENOMEM;
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    fc_err e = FC_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        e = fc_err_set(FC_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return e;
    }
    if (len && fwrite(data, 1, len, f) != len) e = fc_err_set(FC_EIO, "%s: write failed: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && !e) e = fc_err_set(FC_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (!e && rename(tmp, path) != 0) e = fc_err_set(FC_EIO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (e) unlink(tmp);
    free(tmp);
    return e;
}

fc_err fc_dir_ensure(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return FC_OK;
        return fc_err_set(FC_EIO, "%s: exists and is not a directory", path);
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return fc_err_set(FC_EIO, "%s: cannot create the directory: %s", path, strerror(errno));
    return FC_OK;
}
