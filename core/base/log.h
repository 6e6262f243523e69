/* log.h: leveled logging to stderr. The level comes from FC_LOG (error, warn, info, debug; default info)
 * or fc_log_set_level(). Messages are single lines prefixed with the level. */
#ifndef FC_LOG_H
#define FC_LOG_H

typedef enum { FC_LOG_ERROR = 0, FC_LOG_WARN, FC_LOG_INFO, FC_LOG_DEBUG } fc_log_level;

void fc_log_set_level(fc_log_level level);
fc_log_level fc_log_get_level(void);
void fc_log(fc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fc_log_error(...) fc_log(FC_LOG_ERROR, __VA_ARGS__)
#define fc_log_warn(...) fc_log(FC_LOG_WARN, __VA_ARGS__)
#define fc_log_info(...) fc_log(FC_LOG_INFO, __VA_ARGS__)
#define fc_log_debug(...) fc_log(FC_LOG_DEBUG, __VA_ARGS__)

#endif
