/* progress.c: live bar on a terminal, periodic plain lines elsewhere. */
#include "core/base/progress.h"

#include <stdarg.h>
#include <unistd.h>

#include "core/base/timer.h"

void fc_progress_begin(fc_progress *p, const char *label, long total) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last = fc_time_now();
    p->out = stderr;
    p->tty = isatty(fileno(stderr));
    p->interval = p->tty ? 0.1 : 10.0;
    p->note[0] = '\0';
}

void fc_progress_note(fc_progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    va_end(ap);
}

static void progress_print(fc_progress *p, bool final) {
    double el = fc_time_now() - p->t_start;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    if (p->tty) {
        char bar[31] = {0};
        int fill = p->total > 0 ? (int)(30.0 * (double)p->done / (double)p->total) : 0;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        double eta = (p->total > 0 && rate > 0) ? (double)(p->total - p->done) / rate : 0.0;
        fprintf(p->out, "\r%s [%s] %ld/%ld %.1f/s eta %.0fs%s%s\x1b[K%s", p->label, bar, p->done, p->total,
                rate, eta, p->note[0] ? " " : "", p->note, final ? "\n" : "");
    } else {
        fprintf(p->out, "%s: %ld/%ld (%.1f/s, %.1fs)%s%s%s\n", p->label, p->done, p->total, rate, el,
                p->note[0] ? " " : "", p->note, final ? " done" : "");
    }
    fflush(p->out);
}

void fc_progress_add(fc_progress *p, long n) {
    p->done += n;
    double now = fc_time_now();
    if (now - p->t_last >= p->interval) {
        p->t_last = now;
        progress_print(p, false);
    }
}

void fc_progress_end(fc_progress *p) { progress_print(p, true); }
