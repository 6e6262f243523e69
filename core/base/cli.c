/* cli.c: shared helpers of the fc-eval / fc-train command lines. */
#include "core/base/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

const char *fc_cli_prog = "fc-eval";

int fc_cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", fc_cli_prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

int fc_cli_fail(fc_err e) {
    const char *m = fc_errmsg();
    return fc_cli_error("%s", m[0] ? m : fc_err_name(e));
}

bool fc_cli_opt(int argc, char **argv, int *i, const char *name, const char **value, bool *missing) {
    if (strcmp(argv[*i], name) != 0) return false;
    if (*i + 1 >= argc) {
        fc_cli_error("option %s needs a value", name);
        *missing = true;
        return false;
    }
    *value = argv[*i + 1];
    *i += 1;
    return true;
}

fc_err fc_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return fc_err_set(FC_EINVAL, "%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi) return fc_err_set(FC_EINVAL, "%s: %ld is outside [%ld, %ld]", opt, v, lo, hi);
    *out = v;
    return FC_OK;
}

fc_err fc_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v != v) return fc_err_set(FC_EINVAL, "%s: '%s' is not a number", opt, s);
    if (v < lo || v > hi) return fc_err_set(FC_EINVAL, "%s: %g is outside [%g, %g]", opt, v, lo, hi);
    *out = v;
    return FC_OK;
}

fc_err fc_cli_parse_ids(const char *opt, const char *s, size_t len, int32_t **ids, int *n) {
    static const char sep[] = " \t\r\n,";
    *ids = NULL, *n = 0;
    int32_t *v = fc_malloc((len / 2 + 1) * sizeof(int32_t), opt);
    if (!v) return FC_ENOMEM;
    int k = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] && strchr(sep, s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s[j] >= '0' && s[j] <= '9' && j - i < 10) j++;
        if (j == i || (j < len && (!s[j] || !strchr(sep, s[j])))) {
            free(v);
            int shown = (int)(j + 1 - i > 20 ? 20 : j + 1 - i);
            return fc_err_set(FC_EINVAL, "%s: '%.*s' at offset %zu is not a token id", opt, shown, s + i, i);
        }
        long x = strtol(s + i, NULL, 10);
        if (x > INT32_MAX) {
            free(v);
            return fc_err_set(FC_EINVAL, "%s: id at offset %zu is too large", opt, i);
        }
        v[k++] = (int32_t)x;
        i = j;
    }
    *ids = v, *n = k;
    return FC_OK;
}
