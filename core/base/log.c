/* log.c: stderr logger; the level is read once from FC_LOG unless set explicitly. */
#include "core/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_level = -1; /* -1: not yet read from the environment */

static fc_log_level level_from_env(void) {
    const char *s = getenv("FC_LOG");
    if (!s) return FC_LOG_INFO;
    if (!strcmp(s, "error")) return FC_LOG_ERROR;
    if (!strcmp(s, "warn")) return FC_LOG_WARN;
    if (!strcmp(s, "debug")) return FC_LOG_DEBUG;
    return FC_LOG_INFO;
}

void fc_log_set_level(fc_log_level level) { log_level = (int)level; }

fc_log_level fc_log_get_level(void) {
    if (log_level < 0) log_level = (int)level_from_env();
    return (fc_log_level)log_level;
}

void fc_log(fc_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if ((int)level > (int)fc_log_get_level()) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%s] %s\n", names[level], line);
}
