/* err.h: error codes and the message that says what went wrong and where.
 *
 * A function that can fail returns fc_err (FC_OK == 0 on success) and, on failure, leaves a message in
 * a per-thread buffer read back with fc_errmsg(). The message names the file, tensor, line or byte offset
 * involved. Callers that add context (a file name around a parse error) use fc_err_prefix(), which keeps
 * the code and prepends "<context>: ". Nothing in core/ exits on bad input; FC_ASSERT is only for our own
 * invariants and aborts with file and line.
 */
#ifndef FC_ERR_H
#define FC_ERR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum {
    FC_OK = 0,
    FC_EINVAL,       /* bad argument or option value */
    FC_EIO,          /* open/read/write/mmap failed */
    FC_EFORMAT,      /* malformed file content (JSON, safetensors header, image, YAML) */
    FC_ESHAPE,       /* a shape or size does not match what is expected */
    FC_ENOTFOUND,    /* a named thing (tensor, key, file) is missing */
    FC_ENOMEM,       /* allocation failed */
    FC_EUNSUPPORTED, /* valid input this build cannot handle (dtype, device, feature) */
    FC_ECUDA,        /* CUDA, cuBLAS or cuDNN call failed */
    FC_ERR_COUNT
} fc_err;

/* Short name of an error code ("format", "io", ...). */
const char *fc_err_name(fc_err e);

/* Sets the thread's message from printf-style arguments and returns `code`, so that
 * `return fc_err_set(FC_EFORMAT, "%s: header length %llu > file size", path, n);` reads naturally. */
fc_err fc_err_set(fc_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "<context>: " to the current message and returns `code` unchanged. */
fc_err fc_err_prefix(fc_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current thread's last message; "" if none was set. Valid until the next fc_err_set on this thread. */
const char *fc_errmsg(void);

/* Clears the message (tests use it between cases). */
void fc_err_clear(void);

/* Propagate a failure from a call unchanged: FC_TRY(fc_st_open(...)); */
#define FC_TRY(expr)                  \
    do {                              \
        fc_err fc_try_e_ = (expr);    \
        if (fc_try_e_ != FC_OK)       \
            return fc_try_e_;         \
    } while (0)

/* Invariant check: failing means a bug in this project, not bad input. */
#define FC_ASSERT(cond)                                                                         \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fastcache: internal error: %s:%d: assertion '%s' failed\n",        \
                    __FILE__, __LINE__, #cond);                                                 \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#endif
