/* progress.h: a progress bar for long loops.
 *
 * On a terminal it redraws one line in place (label, bar, count, rate, ETA). When stderr is not a
 * terminal (CI logs, files) it prints a plain line at most every `interval` seconds and at the end,
 * so logs stay readable. */
#ifndef FC_PROGRESS_H
#define FC_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    const char *label;
    long total;        /* 0 if unknown */
    long done;
    double t_start;
    double t_last;     /* last time something was printed */
    double interval;   /* seconds between plain lines (non-terminal) */
    bool tty;
    FILE *out;
    char note[160];    /* shown after the counts (fc_progress_note); "" when none */
} fc_progress;

void fc_progress_begin(fc_progress *p, const char *label, long total);
/* Advance by n; prints when due. */
void fc_progress_add(fc_progress *p, long n);
/* Final line (always printed). */
void fc_progress_end(fc_progress *p);
/* Sets the text shown after the counts from the next print on (e.g. "loss 0.31 kl 0.30 top1 0.91"). */
void fc_progress_note(fc_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
