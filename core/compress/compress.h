/* compress.h: KV compression methods on one sequence's prefix KV, one layer at a time.
 *
 * A method is made from a spec string, "<name>[:opt=value,...]", e.g. "snapkv:ratio=5,window=64" or
 * "ccm:weights=ckpt/llava.safetensors". Each method has an option table (name, default, bounds, help) that
 * parsing, range checks, messages and `fc-eval methods` share. The method says which inputs it needs
 * (fc_compress_needs); the caller (the pool glue, a test) gathers those and calls fc_compress_layer once per
 * layer with K and V as contiguous [Hkv, S, D] f32 (K post-RoPE, as HF caches it).
 *
 * Two kinds of methods:
 *  - scorers (knorm, snapkv, expected_attention, streaming_llm, tova, random, observed_attention, pyramidkv)
 *    follow NVIDIA kvpress 0.5.5 (kvpress/presses/<name>_press.py): a score per (kv head, token), then per kv
 *    head the n_kept highest. They return the kept indices of every kv head (the same count per head, so
 *    the sequence stays one length and the pool frees whole blocks), sorted ascending so the cache stays in
 *    causal order (kvpress leaves them in topk order; the set is the same).
 *  - mergers (ccm, FastCache's learned window MLP, see ccm.h): return new K and V, no indices.
 *
 * Ratio: option `ratio` is the "x" form (5 keeps 1/5). kvpress's compression_ratio (fraction removed) is
 * cr = 1 - 1/ratio, and n_kept = max(1, (int)(S * (1 - cr))) in double arithmetic exactly as kvpress's
 * compute_n_kept, so 5x of 600 tokens keeps 119, not 120 (1 - 0.8 is 0.19999999999999996 in binary).
 *
 * Ties: our top-k orders by score descending, then by index ascending (a stable rule). torch.topk leaves
 * the order of equal scores unspecified, so on exact ties the kept set may differ from kvpress's; the
 * fixtures are made free of ties (distinct tokens, checked boundary gaps).
 *
 * Scope: option `scope=all` (default) lets a method touch the whole prefix; `scope=image` only the image
 * tokens (fc_compress_inputs.spans): everything else is kept, and a scorer keeps n_kept(image tokens) of
 * them by the same scores. With no image span, scope=image keeps everything.
 */
#ifndef FC_COMPRESS_H
#define FC_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

typedef struct fc_compress_method fc_compress_method;

/* What a method needs besides K and V, as bit flags (fc_compress_needs). */
enum {
    FC_NEED_QWINDOW = 1 << 0,  /* post-RoPE queries of the last fc_compress_window() prefix tokens */
    FC_NEED_QSTATS = 1 << 1,   /* pre-RoPE query mean/covariance (fc_compress_qstats) + RoPE inv_freq */
    FC_NEED_ATTN_SUM = 1 << 2, /* attention weights summed over the query axis, [H, S] (eager prefill) */
    FC_NEED_SPANS = 1 << 3,    /* the request's image spans (ccm, scope=image) */
    FC_NEED_LAYER = 1 << 4,    /* layer index and layer count (pyramidkv, ccm, random's stream) */
};

/* One run of image tokens in the prefix: positions [start, end). */
typedef struct {
    int start, end;
} fc_compress_span;

/* Query statistics of ExpectedAttention (kvpress get_query_statistics): over the pre-RoPE queries of the
 * prompt tokens [skip, S) (skip = n_sink drops the outlier sink tokens), per query head h:
 * mean[h] (D) and the population covariance cov[h] (D, D) = sum (q - mean)(q - mean)^T / (S - skip). */
typedef struct {
    int H, D;
    float *mean; /* [H, D] */
    float *cov;  /* [H, D, D] */
} fc_compress_qstats;

/* Everything a method may read for one layer. Pointers a method does not need may be NULL. */
typedef struct {
    int Hkv, H, S, D;         /* kv heads, query heads (multiple of Hkv), prefix length, head dim */
    const float *k, *v;       /* [Hkv, S, D]; K post-RoPE */
    int layer, n_layers;
    const float *q_window;    /* [H, n_window, D]: post-RoPE queries of prompt tokens S-n_window .. S-1 */
    int n_window;             /* >= fc_compress_window(method) */
    const fc_compress_qstats *qstats;
    const float *inv_freq;    /* [D/2] RoPE inverse frequencies of the model (HF rotary_emb.inv_freq) */
    float rope_scaling;       /* HF attention_scaling applied to cos/sin (1 for default RoPE); 0 means 1 */
    const float *attn_sum;    /* [H, S]: sum over queries i of softmax weights a[h, i, j] */
    const fc_compress_span *spans; /* image spans, sorted, disjoint, inside [0, S) */
    int n_spans;
} fc_compress_inputs;

/* Output of one layer. The caller provides k_out, v_out with room for [Hkv, S, D] floats and kept with room
 * for Hkv * S ints (kept may be NULL for a merger; a scorer requires it). They must not overlap the inputs:
 * the pool glue (compress_seq.h) gathers a layer, compresses into separate buffers and writes back. */
typedef struct {
    float *k_out, *v_out; /* [Hkv, n_out, D] */
    int32_t *kept;        /* [Hkv, n_out] sorted ascending per head; untouched by mergers */
    int n_out;            /* entries per head after compression */
    bool merged;          /* true for mergers (kept not written) */
} fc_compress_output;

/* Creates a method from a spec string. Errors (FC_EINVAL) name the unknown method, the unknown option with
 * the method's valid ones, or the bad value with its bounds; ccm also fails on an unreadable weight file.
 * On failure *out is NULL. Free with fc_compress_free. */
fc_err fc_compress_create(const char *spec, fc_compress_method **out);
void fc_compress_free(fc_compress_method *m);

const char *fc_compress_name(const fc_compress_method *m);
/* The spec with every option spelled out, e.g. "snapkv:ratio=5,window=64,kernel=5,scope=all". Static per
 * method object. */
const char *fc_compress_spec(const fc_compress_method *m);
unsigned fc_compress_needs(const fc_compress_method *m); /* FC_NEED_* bits */
int fc_compress_window(const fc_compress_method *m);     /* queries of FC_NEED_QWINDOW; 0 if none */
int fc_compress_qstats_skip(const fc_compress_method *m); /* `skip` for fc_compress_qstats_compute */
double fc_compress_ratio(const fc_compress_method *m);   /* "x" form; ccm: its window cf */
/* True when tokens after compression should take positions from the compressed length (a CCM checkpoint
 * trained that way, position_rule "compressed", unless the spec's positions= overrides it); false: they
 * continue from the original length. */
bool fc_compress_renumbers_positions(const fc_compress_method *m);
/* Whether the method fits a model of n_layers layers and head_dim: a CCM checkpoint must have been made for
 * exactly those (FC_EINVAL naming the checkpoint and both layouts); other methods fit any model. */
fc_err fc_compress_check_model(const fc_compress_method *m, int n_layers, int head_dim);
/* False for methods whose kept count varies by layer (pyramidkv): the pool then holds each layer at its
 * own length (kv_pool.h per-layer block tables). */
bool fc_compress_uniform_length(const fc_compress_method *m);
/* kvpress's compression_ratio = 1 - 1/ratio (fraction removed). */
double fc_compress_kvpress_ratio(const fc_compress_method *m);

/* Compresses one layer. Fails (changing nothing the caller can see but out's buffers) on a missing input
 * that the method declared, inconsistent sizes, spans out of order or range, or a prefix too short for
 * the method (SnapKV needs S > window, as kvpress asserts). */
fc_err fc_compress_layer(const fc_compress_method *m, const fc_compress_inputs *in, fc_compress_output *out);

/* A scorer's scores [Hkv, S] for one layer (higher = keep), before selection: for tests and diagnostics.
 * FC_EUNSUPPORTED for mergers. */
fc_err fc_compress_scores(const fc_compress_method *m, const fc_compress_inputs *in, float *scores);

/* Computes ExpectedAttention's query statistics from pre-RoPE queries q [H, S, D] over tokens [skip, S).
 * Allocates st->mean and st->cov (free with fc_compress_qstats_free). */
fc_err fc_compress_qstats_compute(fc_compress_qstats *st, const float *q, int H, int S, int D, int skip);
void fc_compress_qstats_free(fc_compress_qstats *st);

/* Entries per kv head a scorer keeps in `layer` (of n_layers) of a prefix of S candidate tokens (scope=all;
 * with scope=image, S is the image tokens' count): kvpress's compute_n_kept, or PyramidKV's per-layer budget.
 * -1 for mergers (ccm), whose output length depends on the segments. */
int fc_compress_layer_budget(const fc_compress_method *m, int S, int layer, int n_layers);

/* kvpress's compute_n_kept: max(1, (int)(S * (1 - cr))), 0 when cr >= 1. */
int fc_compress_n_kept(int S, double compression_ratio);

/* Listing for `fc-eval methods` and help texts. */
typedef struct {
    const char *name;  /* option name */
    const char *def;   /* default as text */
    const char *range; /* "[1, 1024]", "all|image", "path" */
    const char *help;
} fc_compress_option_info;

int fc_compress_n_methods(void);
/* Method i: name, one-line summary, its options (n_opts). NULL name when i is out of range. */
const char *fc_compress_method_info(int i, const char **summary, const fc_compress_option_info **opts,
                                    int *n_opts);

#endif
