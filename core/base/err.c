/* err.c: per-thread error message buffer behind fc_err_set / fc_errmsg. */
#include "core/base/err.h"

#include <assert.h>
#include <string.h>

#define FC_ERRMSG_CAP 2048

static _Thread_local char errmsg[FC_ERRMSG_CAP];

static const char *const err_names[] = {
    [FC_OK] = "ok",
    [FC_EINVAL] = "invalid argument",
    [FC_EIO] = "io",
    [FC_EFORMAT] = "format",
    [FC_ESHAPE] = "shape",
    [FC_ENOTFOUND] = "not found",
    [FC_ENOMEM] = "out of memory",
    [FC_EUNSUPPORTED] = "unsupported",
    [FC_ECUDA] = "cuda",
};
static_assert(sizeof(err_names) / sizeof(err_names[0]) == FC_ERR_COUNT, "err_names out of sync with fc_err");

const char *fc_err_name(fc_err e) {
    if ((unsigned)e >= FC_ERR_COUNT)
        return "unknown";
    return err_names[e];
}

fc_err fc_err_set(fc_err code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return code;
}

fc_err fc_err_prefix(fc_err code, const char *fmt, ...) {
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t np = strlen(prefix), nm = strlen(errmsg);
    if (np + 2 >= FC_ERRMSG_CAP) np = FC_ERRMSG_CAP - 3;
    if (np + 2 + nm >= FC_ERRMSG_CAP) nm = FC_ERRMSG_CAP - 3 - np;
    memmove(errmsg + np + 2, errmsg, nm);
    memcpy(errmsg, prefix, np);
    errmsg[np] = ':';
    errmsg[np + 1] = ' ';
    errmsg[np + 2 + nm] = '\0';
    return code;
}

const char *fc_errmsg(void) { return errmsg; }

void fc_err_clear(void) { errmsg[0] = '\0'; }
