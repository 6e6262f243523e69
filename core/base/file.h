/* file.h: reading whole files, for the config, tokenizer, index and image readers.
 *
 * One reader so that every caller distrusts files the same way: only regular files, a size limit checked
 * before anything is allocated, and the same messages ("<path>: cannot open: <reason>",
 * "<path>: not a regular file", "<path>: N bytes is more than the M-byte limit for <what>").
 */
#ifndef FC_FILE_H
#define FC_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/err.h"

/* Reads the whole regular file at `path` into a malloc'd buffer with a NUL after the last byte
 * (*data, *len; the caller frees *data). max_bytes bounds the size (0: no bound); `what` names the kind of
 * file in the size message ("a config", "an index", "images"). Fails with FC_ENOTFOUND when the path does
 * not exist, FC_EIO when it cannot be opened or read or is not a regular file, FC_EFORMAT when it is larger
 * than max_bytes, FC_ENOMEM; on failure *data is NULL. */
fc_err fc_file_read(const char *path, size_t max_bytes, const char *what, char **data, size_t *len);

/* True if `path` names an existing regular file. */
bool fc_file_exists(const char *path);

/* Writes len bytes to `path` through "<path>.tmp.<pid>" renamed over it, so a killed run leaves either the old
 * file or the whole new one. No fsync (the testbed writes thousands of small files; a crash may lose the
 * newest ones but never leaves a torn one under the final name). FC_EIO naming the path on failure. */
fc_err fc_file_write_atomic(const char *path, const void *data, size_t len);

/* Creates directory `path` if it does not exist (one level; FC_EIO naming it when that fails). */
fc_err fc_dir_ensure(const char *path);

/* "dir/name" into a malloc'd string (NULL with an error set when out of memory). */
char *fc_path_join(const char *dir, const char *name);

#endif
