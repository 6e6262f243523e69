/* csv_log.c: append-only CSV logs that a resumed run trims back to its step. */
#include "train/csv_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/file.h"
#include "core/base/mem.h"

/* Keeps the header and the rows whose step is <= keep_step; rewrites the file through a temporary. */
static fc_err trim(const char *path, const char *header, long keep_step) {
    char *buf = NULL;
    size_t len = 0;
    FC_TRY(fc_file_read(path, 0, "a log", &buf, &len));
    size_t hl = strlen(header);
    if (len < hl || memcmp(buf, header, hl) || (buf[hl] != '\n' && buf[hl] != 0)) {
        free(buf);
        return fc_err_set(FC_EFORMAT, "%s: its header is not '%s' (a log of another kind or version)", path, header);
    }
    size_t tl = strlen(path) + 16;
    char *tmp = fc_malloc(tl, "log path");
    if (!tmp) {
        free(buf);
        return FC_ENOMEM;
    }
    snprintf(tmp, tl, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    fc_err e = FC_OK;
    if (!o) {
        e = fc_err_set(FC_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    fprintf(o, "%s\n", header);
    for (char *line = buf + hl + (buf[hl] == '\n'); *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break; /* a row cut by the kill: dropped */
        char *end;
        long step = strtol(line, &end, 10);
        if (end != line && *end == ',' && step <= keep_step) fwrite(line, 1, (size_t)(nl - line + 1), o);
        line = nl + 1;
    }
    if (fclose(o) != 0) e = fc_err_set(FC_EIO, "%s: write failed: %s", tmp, strerror(errno));
    else if (rename(tmp, path) != 0) e = fc_err_set(FC_EIO, "%s: cannot replace: %s", path, strerror(errno));
    if (e) remove(tmp);
out:
    free(tmp);
    free(buf);
    return e;
}

fc_err fc_csv_open(fc_csv_log *l, const char *path, const char *header, long resume_step) {
    memset(l, 0, sizeof *l);
    bool append = resume_step >= 0 && fc_file_exists(path);
    if (append) FC_TRY(trim(path, header, resume_step));
    l->f = fopen(path, append ? "a" : "w");
    if (!l->f) return fc_err_set(FC_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    l->path = strdup(path);
    if (!append) {
        fprintf(l->f, "%s\n", header);
        fflush(l->f);
    }
    return FC_OK;
}

fc_err fc_csv_row(fc_csv_log *l, const char *fmt, ...) {
    if (!l->f) return FC_OK;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(l->f, fmt, ap);
    va_end(ap);
    fputc('\n', l->f);
    if (fflush(l->f) != 0 || ferror(l->f)) return fc_err_set(FC_EIO, "%s: write failed: %s", l->path, strerror(errno));
    return FC_OK;
}

void fc_csv_close(fc_csv_log *l) {
    if (l->f) fclose(l->f);
    free(l->path);
    memset(l, 0, sizeof *l);
}
