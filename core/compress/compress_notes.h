/* compress_notes.h: what a scoring method will really keep on a given prompt, in words, for the places that
 * warn users who compare with kvpress (fc-eval methods --check, run, quality): SnapKV's and PyramidKV's
 * window kept whole only when the budget reaches it, and PyramidKV's per-layer budgets with its uniform
 * fallback. Nothing here prints: the caller decides where the text goes. */
#ifndef FC_COMPRESS_NOTES_H
#define FC_COMPRESS_NOTES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compress/compress.h"

typedef struct {
    int S;                 /* candidate tokens (the prefix; the image tokens under scope=image) */
    int budget_min, budget_max; /* entries kept per head, over the layers (-1: a merger) */
    bool below_window;     /* snapkv/pyramidkv: some layer keeps fewer than the window: ties among window
                              positions decide what is kept */
    bool uniform_fallback; /* pyramidkv: every layer the same budget (S*(1-cr)/beta < window) */
    int window;            /* 0 for methods without an observation window */
} fc_compress_note;

/* Budgets of m on S candidate tokens in a model of n_layers (budgets: NULL or (n_layers) entries per
 * layer) and the note's flags. */
void fc_compress_note_make(const fc_compress_method *m, int S, int n_layers, int *budgets, fc_compress_note *note);

/* One line for people about the note ("" when there is nothing to say), e.g.
 *   "snapkv: a budget of 19 entries on 100 tokens is below the window of 64: only 19 of the 64 window
 *    positions are kept, chosen among equal scores (kvpress: torch.topk's order; here the earliest)"
 *   "pyramidkv: 600 tokens: uniform fallback (S*(1-cr)/beta = 6 < window 64), every layer keeps 120"
 * budgets (n_layers entries) are listed for pyramidkv when given. */
void fc_compress_note_text(const fc_compress_method *m, const fc_compress_note *note, const int *budgets, int n_layers,
                           char *buf, size_t cap);

#endif
