/* file.c: whole-file reads with the size and type checks every reader shares. */
#include "core/base/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"

fc_err fc_file_read(const char *path, size_t max_bytes, const char *what, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return fc_err_set(errno == ENOENT ? FC_ENOTFOUND : FC_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fc_err_set(FC_EIO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (max_bytes && n > max_bytes) {
        fclose(f);
        return fc_err_set(FC_EFORMAT, "%s: %zu bytes is more than the %zu-byte limit for %s", path, n, max_bytes,
                          what ? what : "this file");
    }
    char *buf = fc_malloc(n + 1, path);
    if (!buf) {
        fclose(f);
        return FC_ENOMEM;
    }
    size_t got = fread(buf, 1, n, f);
    bool failed = ferror(f) || got != n;
    fclose(f);
    if (failed) {
        free(buf);
        return fc_err_set(FC_EIO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = '\0';
    *data = buf;
    if (len) *len = n;
    return FC_OK;
}

bool fc_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *fc_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *s = fc_malloc(a + slash + b + 1, "path");
    if (!s) return NULL;
    memcpy(s, dir, a);
    if (slash) s[a] = '/';
    memcpy(s + a + slash, name, b + 1);
    return s;
}
