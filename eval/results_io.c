/* results_io.c: result files through a temporary name, and folders. See results_io.h. */
#include "eval/results_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/mem.h"

fc_err fc_out_open(fc_out_file *o, const char *path) {
    memset(o, 0, sizeof *o);
    size_t n = strlen(path) + 32;
    o->path = fc_strdup(path);
    o->tmp = fc_malloc(n, "result file name");
    if (!o->path || !o->tmp) {
        fc_out_abort(o);
        return FC_ENOMEM;
    }
    snprintf(o->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    if (!(o->f = fopen(o->tmp, "w"))) {
        fc_err e = fc_err_set(FC_EIO, "%s: cannot write: %s", path, strerror(errno));
        fc_out_abort(o);
        return e;
    }
    return FC_OK;
}

fc_err fc_out_commit(fc_out_file *o) {
    int bad = ferror(o->f) | fflush(o->f);
    bad |= fclose(o->f);
    o->f = NULL;
    if (bad || rename(o->tmp, o->path)) {
        fc_err e = fc_err_set(FC_EIO, "%s: cannot write: %s", o->path, strerror(errno ? errno : EIO));
        fc_out_abort(o);
        return e;
    }
    free(o->path), free(o->tmp);
    o->path = o->tmp = NULL;
    return FC_OK;
}

void fc_out_abort(fc_out_file *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) remove(o->tmp);
    free(o->path), free(o->tmp);
    memset(o, 0, sizeof *o);
}

void fc_csv_str(FILE *f, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

fc_err fc_out_write_text(const char *path, const char *text) {
    fc_out_file o;
    FC_TRY(fc_out_open(&o, path));
    fputs(text, o.f);
    return fc_out_commit(&o);
}

fc_err fc_out_mkdirs(const char *dir) {
    char *p = fc_strdup(dir);
    if (!p) return FC_ENOMEM;
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c == '/' || c == 0) {
            *s = 0;
            if (mkdir(p, 0777) && errno != EEXIST) {
                fc_err e = fc_err_set(FC_EIO, "%s: cannot make the folder: %s", p, strerror(errno));
                free(p);
                return e;
            }
            struct stat st;
            if (stat(p, &st) || !S_ISDIR(st.st_mode)) {
                fc_err e = fc_err_set(FC_EIO, "%s: exists and is not a folder", p);
                free(p);
                return e;
            }
            *s = c;
        }
        if (!c) break;
    }
    free(p);
    return FC_OK;
}

fc_err fc_out_check(const char *dir, char **first_missing) {
    *first_missing = NULL;
    char *p = fc_strdup(dir);
    if (!p) return FC_ENOMEM;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = 0;
    char *deepest = fc_strdup(p[0] == '/' ? "/" : ".");
    fc_err e = deepest ? FC_OK : FC_ENOMEM;
    for (char *s = p + 1; !e; s++) {
        char c = *s;
        if (c != '/' && c != 0) continue;
        *s = 0;
        struct stat st;
        if (stat(p, &st) != 0) {
            if (errno != ENOENT) e = fc_err_set(FC_EIO, "%s: %s", p, strerror(errno));
            else if (!(*first_missing = fc_strdup(p))) e = FC_ENOMEM;
            *s = c;
            break;
        }
        if (!S_ISDIR(st.st_mode)) e = fc_err_set(FC_EIO, "%s: exists and is not a folder", p);
        free(deepest);
        deepest = e ? NULL : fc_strdup(p);
        if (!e && !deepest) e = FC_ENOMEM;
        *s = c;
        if (!c) break;
    }
    if (!e && deepest && access(deepest, W_OK | X_OK) != 0)
        e = fc_err_set(FC_EIO, "%s: cannot write into it: %s", deepest, strerror(errno));
    free(deepest), free(p);
    if (e) free(*first_missing), *first_missing = NULL;
    return e;
}

void fc_out_unmake(const char *dir, const char *first_missing) {
    if (!first_missing) return;
    char *p = fc_strdup(dir);
    if (!p) return;
    size_t stop = strlen(first_missing), n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = 0;
    while (n >= stop && rmdir(p) == 0) { /* fails (and stops) on the first folder that is not empty */
        char *slash = strrchr(p, '/');
        if (!slash || slash == p) break;
        *slash = 0;
        n = strlen(p);
    }
    free(p);
}
