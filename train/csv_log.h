/* csv_log.h: fc-train's CSV logs (one row per optimizer step, one per validation). Rows are flushed as
 * they are written so a killed run leaves every finished row. The first column is always the step; a
 * resumed run first drops the rows after the step it resumes from (they belong to the lost part of the
 * killed run and are about to be written again), so the log of a resumed run reads like an
 * uninterrupted one. Numbers are written with %.9g (floats round-trip). */
#ifndef FC_TRAIN_CSV_LOG_H
#define FC_TRAIN_CSV_LOG_H

#include <stdio.h>

#include "core/base/err.h"

typedef struct {
    FILE *f;
    char *path;
} fc_csv_log;

/* Opens `path` with `header` (a line without the newline, first column "step"). resume_step < 0: a new
 * file. resume_step >= 0: an existing file with the same header is kept up to the rows with step <=
 * resume_step (a missing file is created); a different header is an error. */
fc_err fc_csv_open(fc_csv_log *l, const char *path, const char *header, long resume_step);
/* Appends one row (printf-style, without the newline) and flushes it. */
fc_err fc_csv_row(fc_csv_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fc_csv_close(fc_csv_log *l); /* accepts a zeroed one */

#endif
