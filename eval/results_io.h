/* results_io.h: writing result files so that a killed run never leaves half of one (DESIGN §3): each file
 * is written to "<path>.tmp.<pid>" and renamed over <path> once complete; and making result folders. */
#ifndef FC_EVAL_RESULTS_IO_H
#define FC_EVAL_RESULTS_IO_H

#include <stdio.h>

#include "core/base/err.h"

typedef struct {
    FILE *f;
    char *path, *tmp;
} fc_out_file;

/* Opens the temporary file. FC_EIO names the path. */
fc_err fc_out_open(fc_out_file *o, const char *path);
/* Flushes, closes and renames it into place; on a write error removes the temporary and fails (FC_EIO). */
fc_err fc_out_commit(fc_out_file *o);
/* Closes and removes the temporary (after an error); accepts a file never opened. */
void fc_out_abort(fc_out_file *o);

/* Writes `text` to path through a temporary. */
fc_err fc_out_write_text(const char *path, const char *text);

/* A CSV field (RFC 4180): as it is, or quoted with its quotes doubled when it holds a comma, a quote or a
 * line break. NULL writes an empty field. */
void fc_csv_str(FILE *f, const char *s);

/* mkdir -p; FC_EIO names the folder that could not be made. */
fc_err fc_out_mkdirs(const char *dir);
/* Before a run: can dir be made (mkdir -p) and written into? Each existing part must be a folder, the
 * deepest existing one writable. Makes nothing. *first_missing: a copy of the first part of the path that
 * does not exist yet (NULL when dir exists), for fc_out_unmake. */
fc_err fc_out_check(const char *dir, char **first_missing);
/* After a rejected run: removes dir and its parents up to first_missing (made by fc_out_mkdirs for this
 * run) while they are empty; a folder holding anything stays. */
void fc_out_unmake(const char *dir, const char *first_missing);

#endif
