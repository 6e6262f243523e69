/* internal.h: what the files of core/compress share and nothing outside uses: the parsed options, the
 * method table entry, and the scoring functions of the kvpress baselines (score_*.c). */
#ifndef FC_COMPRESS_INTERNAL_H
#define FC_COMPRESS_INTERNAL_H

#include <stdint.h>

#include "core/compress/ccm.h"
#include "core/compress/compress.h"

/* Tests: at most `rows` windows per batched CCM MLP call (ccm.c gathers the windows of every head and
 * segment of a layer into one GEMM, cut into chunks); 0 restores the default bound (~32 MiB of scratch). */
void fc_ccm_set_batch_rows(int rows);

typedef enum { FC_SCOPE_ALL = 0, FC_SCOPE_IMAGE } fc_compress_scope;

/* Every option any method has; a method reads the ones its table lists (others keep their zero). */
typedef struct {
    double ratio;      /* "x" form */
    int window;        /* SnapKV/PyramidKV observation window */
    int kernel;        /* SnapKV pooling kernel (odd) */
    int n_sink;        /* StreamingLLM / ExpectedAttention sinks */
    int n_future;      /* ExpectedAttention future positions */
    int cov, vnorm;    /* ExpectedAttention switches (0/1) */
    double epsilon;    /* ExpectedAttention value-norm epsilon */
    int beta;          /* PyramidKV pyramid steepness */
    int64_t seed;      /* Random */
    int scope;         /* fc_compress_scope */
    int min_windows;   /* ccm: segments with fewer windows stay raw; -1 = the checkpoint's */
    int segments;      /* ccm: 0 = the checkpoint's rule, else 1 + fc_ccm_seg_rule */
    int positions;     /* ccm: 0 = the checkpoint's position_rule, else 1 + fc_ccm_pos_rule */
    char weights[512]; /* ccm: checkpoint path */
} fc_compress_opts;

/* Writes scores [Hkv, S] (higher = keep) for one layer. Inputs are already checked against the needs. */
typedef fc_err (*fc_compress_score_fn)(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
/* Entries kept out of n candidate tokens (kvpress compute_n_kept, or PyramidKV's per-layer budget). */
typedef int (*fc_compress_budget_fn)(const fc_compress_opts *o, const fc_compress_inputs *in, int n);

typedef struct {
    const char *name;     /* option name in specs */
    const char *def;      /* default, parsed like user input */
} fc_compress_opt_default;

#define FC_COMPRESS_MAX_OPTS 10

typedef struct {
    const char *name;
    const char *summary;
    unsigned needs;                 /* FC_NEED_* (FC_NEED_SPANS is added when scope=image) */
    fc_compress_score_fn score;     /* NULL for ccm */
    fc_compress_budget_fn budget;   /* NULL: kvpress compute_n_kept */
    fc_compress_opt_default opts[FC_COMPRESS_MAX_OPTS]; /* ends at a NULL name */
} fc_compress_def;

struct fc_compress_method {
    const fc_compress_def *def;
    fc_compress_opts o;
    fc_ccm *ccm;     /* ccm only */
    char spec[768];
};

/* score_basic.c */
fc_err fc_score_knorm(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
fc_err fc_score_streaming(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
fc_err fc_score_random(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
fc_err fc_score_observed(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
/* score_window.c */
fc_err fc_score_snapkv(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
fc_err fc_score_tova(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);
int fc_budget_pyramid(const fc_compress_opts *o, const fc_compress_inputs *in, int n);
/* score_expected.c */
fc_err fc_score_expected(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores);

/* select.c: per kv head, keeps every token outside the candidate mask plus the n_sel best-scored
 * candidates (score descending, then index ascending), written sorted into kept [Hkv, n_out]; then
 * gathers K and V. cand may be NULL (every token is a candidate). NaN scores are FC_EINVAL. */
fc_err fc_compress_select(const fc_compress_inputs *in, const float *scores, const uint8_t *cand, int n_sel,
                          fc_compress_output *out);

/* Compression ratio in kvpress's form from the "x" form. */
static inline double fc_compress_cr(double ratio) { return 1.0 - 1.0 / ratio; }

#endif
