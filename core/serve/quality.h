/* quality.h: what a compression method costs in answers, on dataset records, against the same model with
 * its full cache (`fc-eval quality`; fc-train's validation can call the same loop).
 *
 * For each record, its images are encoded once and its prompt (the question, plus a suffix such as GQA's
 * "Answer the question using a single word or phrase.") is taken through the one path from prompt to
 * cache (prefill_compress.h) once per method, method 0 being the full cache. On that cache:
 *   teacher forcing: the reference answer's tokens followed by the model's first stop token (</s>,
 *     <|im_end|>) are fed; at each of those L positions the next-token distribution is compared with the
 *     full cache's: KL(p_full || p_method) in nats, and whether both argmaxes agree (top-1 agreement);
 *   greedy: the cache is rewound to the prompt (fc_serve_mark) and the model answers greedily (argmax,
 *     lowest id on ties) until a stop token or max_new_tokens; the text is scored against the reference
 *     (answer_score.h) and the tokens compared with the full cache's answer: identical or not, and the
 *     first divergence = the first index where they differ, or where one ends (an identical answer counts
 *     its own length).
 * Multi-turn records: every question counts. A record's prompt (images + first question) is compressed
 * once, as a server would on a chat's first request; each later question is asked after the reference
 * answers and questions before it, appended to that cache uncompressed in fc-train's continuation layout
 * (LLaVA: "<answer></s>USER: <question> ASSISTANT:"; MiniCPM-V: "<answer><|im_end|>\n<|im_start|>user\n
 * <question><|im_end|>\n<|im_start|>assistant\n"), and is one item: its own KL, top-1, greedy answer and
 * score (later turns are scored as free text: MileBench's choices belong to its single question). The
 * full cache gets the same context, so KL compares like with like. first_turn_only keeps the old
 * behaviour (one item per record).
 * Averages: accuracy, greedy identity, first divergence, KL and top-1 are means over items (questions);
 * KL and top-1 also pooled over every teacher-forced token (kl_per_token, top1_per_token). Sizes are
 * means over records.
 * Sizes: KV bytes of the prompt's cache right after compression (blocks held, exact) and before it, and
 * the entries over all layers before and after (achieved ratio = sum before / sum after).
 *
 * Not thread-safe (one model); the caller owns the model, the records and the methods.
 */
#ifndef FC_SERVE_QUALITY_H
#define FC_SERVE_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/progress.h"
#include "core/compress/compress.h"
#include "core/compress/compress_notes.h"
#include "core/model/vlm.h"
#include "data/answer_score.h"
#include "data/dataset.h"

typedef struct {
    const char *spec;      /* as the user wrote it; "none" for the full cache */
    fc_compress_method *m; /* NULL: the full cache (method 0 must be this) */
} fc_quality_method;

typedef struct {
    int max_new_tokens;        /* greedy answer cap (>= 1) */
    int max_answer_tokens;     /* teacher-forced tokens cap, stop token included (>= 1); longer answers are cut */
    bool hold_last;            /* FastCache's serving convention (prefill_compress.h); true in fc-eval */
    const char *prompt_suffix; /* appended to every question (NULL or "": none) */
    size_t kv_budget_bytes;    /* pool capacity (0: sized for each record as needed); a record that does
                                  not fit is an error naming it */
    bool first_turn_only;      /* evaluate only each record's first question (the behaviour before multi-turn) */
} fc_quality_opts;

/* One record under one method. */
typedef struct {
    char *prediction;          /* greedy answer, decoded without special tokens */
    int32_t *greedy;           /* (n_greedy) its tokens, stop token excluded */
    int n_greedy;
    fc_answer_score score;
    double kl;                 /* mean over the n_tf teacher-forced positions, nats */
    double top1;               /* share of those positions whose argmax equals the full cache's */
    int n_tf;
    double kl_sum;             /* sum over those positions (kl = kl_sum / n_tf) */
    int top1_count;            /* positions that agree (top1 = top1_count / n_tf) */
    bool greedy_identical;     /* same tokens as the full cache's greedy answer */
    int first_divergence;
    size_t kv_bytes, kv_bytes_full;
    int64_t entries_before, entries_after;
    int prompt_tokens;
    double compress_seconds;
    fc_compress_note note;     /* what a scorer kept (budgets per layer, window ties, pyramid fallback) */
} fc_quality_cell;

/* One item per question: a record's first question/answer, then (unless first_turn_only) each later
 * human turn answered by a gpt turn, in the context of the turns before it. */
typedef struct {
    int n_records, n_methods, n_items;
    fc_quality_cell *cells;    /* (n_items, n_methods); method 0 is the full cache */
    int *item_record;          /* (n_items) index into the records */
    int *item_turn;            /* (n_items) 1 for a record's first question, 2 for its second, ... */
    int answers_cut;           /* items whose reference answer was cut to max_answer_tokens */
} fc_quality_result;

/* Questions (items) fc_quality_run evaluates in rec: 1, plus each later human turn followed by a gpt turn
 * unless first_turn_only. */
int fc_quality_record_items(const fc_data_record *rec, bool first_turn_only);

/* Runs every record under every method. prog (may be NULL) advances once per item and method.
 * Errors name the record ("record 3 (id 'x'): ...") and the method: an image that does not decode, a
 * prompt the model cannot take, a record that does not fit kv_budget_bytes, a method that fails on this
 * prompt (SnapKV with a prompt shorter than its window). On failure *out is empty. */
fc_err fc_quality_run(fc_vlm *vlm, const fc_data_record *recs, int n_recs, const fc_quality_method *methods,
                      int n_methods, const fc_quality_opts *o, fc_progress *prog, fc_quality_result *out);
void fc_quality_result_free(fc_quality_result *r); /* accepts NULL and an empty result */

/* One method's figures over all items (questions). */
typedef struct {
    int n;                                      /* items (questions) */
    int n_records;                              /* records (prompts compressed) */
    int64_t n_tokens;                           /* teacher-forced tokens over all items */
    double accuracy_exact, accuracy_contains;   /* shares of items in [0, 1] */
    double kl_mean, top1_agreement;             /* means over items of each item's per-token mean */
    double kl_per_token, top1_per_token;        /* pooled over every teacher-forced token (long answers
                                                   weigh more) */
    double greedy_identical, first_divergence_mean;
    double kv_bytes_mean, kv_bytes_full_mean;   /* means over records */
    double achieved_ratio;                      /* sum entries_before / sum entries_after */
    int below_window, uniform_fallback;         /* records where the window was cut by ties / pyramidkv fell back */
    int budget_min, budget_max;                 /* entries kept per head per layer over records (-1: a merger) */
} fc_quality_summary;

void fc_quality_summarize(const fc_quality_result *r, int method, fc_quality_summary *s);

/* KL(softmax(ref) || softmax(x)) in nats over V logits, in double: 0 exactly when x equals ref. */
double fc_quality_kl(const float *ref, const float *x, int V);
/* Index of the largest logit, the lowest on ties (the greedy rule of generate.h). */
int fc_quality_argmax(const float *x, int V);

#endif
