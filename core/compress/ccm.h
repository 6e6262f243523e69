/* ccm.h: FastCache's learned KV compressor (CCM), inference forward.
 *
 * The unit is a window MLP (reference/fastcache-compressor-spec.md §1): a segment of S_seg tokens of one
 * kv head is cut into n = S_seg / cf windows of cf consecutive tokens; window w's features are the
 * concatenation, token-major, of tokens w*cf .. w*cf+cf-1 (feature j*D + d = dim d of token j), so in a
 * contiguous [S, D] head the window is simply cf*D consecutive floats. The MLP maps it to one D-vector:
 *   Linear(cf*D -> hidden) - ReLU - Dropout - [Linear(hidden -> hidden) - ReLU - Dropout] x (depth-2)
 *   - Linear(hidden -> D)
 * (FastCache: hidden = D, depth 3, dropout 0.4 in training only; inference here never drops). The last
 * S_seg mod cf tokens stay raw after the windows; a segment with fewer than min_windows windows stays raw
 * whole. The same MLP serves every kv head of a layer; there is one per layer x {K, V} x {image, text}.
 *
 * Segments come from the request's real image spans, by the checkpoint's segment_rule:
 *   "spans"  each image span is an image segment; the text runs before, between and after are text segments;
 *   "prefix" one image segment from 0 to the end of the last image span, the rest one text segment (what
 *            FastCache's LLaVA training meant: "everything through the last image token | the rest");
 *   "whole"  one text segment over the whole prefix (FastCache's MiniCPM; no image MLPs needed).
 * With no image span every rule gives one text segment. Output per layer: the segments in order, each
 * [windows | raw remainder].
 *
 * Checkpoint (safetensors, written by tools/convert_fastcache_pth.py or the trainer):
 *   tensors  ccm.layers.{l}.{ik,iv,tk,tv}.{j}.weight  [out, in] (PyTorch Linear layout), j = 0..depth-1
 *            ccm.layers.{l}.{ik,iv,tk,tv}.{j}.bias    [out]
 *            (F32, F16 or BF16; converted to f32 at load). ik/iv are absent when has_image is 0.
 *   metadata format "fastcache-ccm", format_version "1", family ("llava"|"minicpm"|...), n_layers, head_dim,
 *            cf, hidden, depth, min_windows, has_image ("0"|"1"), segment_rule ("spans"|"prefix"|"whole"),
 *            position_rule ("compressed": new tokens continue from the compressed length; "original": from
 *            the uncompressed length), dropout (training), source; the trainer adds ratio, loss, data, step,
 *            validation figures. Unknown keys are kept and ignored.
 */
#ifndef FC_CCM_H
#define FC_CCM_H

#include <stdbool.h>

#include "core/base/err.h"
#include "core/compress/compress.h"

typedef enum { FC_CCM_IK = 0, FC_CCM_IV, FC_CCM_TK, FC_CCM_TV, FC_CCM_KIND_COUNT } fc_ccm_kind;
typedef enum { FC_CCM_SEG_SPANS = 0, FC_CCM_SEG_PREFIX, FC_CCM_SEG_WHOLE, FC_CCM_SEG_COUNT } fc_ccm_seg_rule;
typedef enum { FC_CCM_POS_COMPRESSED = 0, FC_CCM_POS_ORIGINAL, FC_CCM_POS_COUNT } fc_ccm_pos_rule;

const char *fc_ccm_kind_name(fc_ccm_kind k);          /* "ik", "iv", "tk", "tv" */
const char *fc_ccm_seg_rule_name(fc_ccm_seg_rule r);  /* "spans", "prefix", "whole" */
const char *fc_ccm_pos_rule_name(fc_ccm_pos_rule r);  /* "compressed", "original" */

typedef struct {
    char family[32];
    int n_layers, head_dim, cf, hidden, depth, min_windows;
    bool has_image;
    fc_ccm_seg_rule segment_rule;
    fc_ccm_pos_rule position_rule;
} fc_ccm_config;

typedef struct fc_ccm fc_ccm;

/* Loads a checkpoint. Errors name the file and the tensor or metadata key (missing, wrong shape, dtype,
 * values out of range). Free with fc_ccm_free. */
fc_err fc_ccm_load(const char *path, fc_ccm **out);
void fc_ccm_free(fc_ccm *c);
const fc_ccm_config *fc_ccm_get_config(const fc_ccm *c);

/* One segment of the layout. */
typedef struct {
    int start, len;
    bool image;
} fc_ccm_segment;

/* Cuts a prefix of S tokens into segments by `rule`; segs needs room for 2 * n_spans + 1. Returns the
 * count, or -1 with an error when spans are out of order, overlap, are empty or leave [0, S). */
int fc_ccm_segments(fc_ccm_seg_rule rule, int S, const fc_compress_span *spans, int n_spans, fc_ccm_segment *segs);

/* Entries a segment of len tokens becomes: len / cf + len % cf, or len if it has fewer than min_windows
 * windows. */
int fc_ccm_segment_out_len(const fc_ccm *c, int len);

/* Compresses one segment of every kv head with the MLP of (layer, kind):
 * x: [Hkv, S_in, D] with the segment at rows [start, start+len); y: [Hkv, S_out, D], written at rows
 * [out_pos, out_pos + fc_ccm_segment_out_len(len)). x and y must not overlap. */
fc_err fc_ccm_apply_segment(const fc_ccm *c, int layer, fc_ccm_kind kind, const float *x, int Hkv, int S_in,
                            int start, int len, float *y, int S_out, int out_pos);

/* How one layer is cut and which segments are compressed. */
typedef struct {
    int segment_rule; /* fc_ccm_seg_rule, or -1 for the checkpoint's */
    int min_windows;  /* -1 for the checkpoint's */
    bool image_only;  /* scope=image: text segments stay raw */
} fc_ccm_run_opts;

/* Compresses one layer's K and V ([Hkv, S, D]) over the request's image spans. Writes k_out, v_out
 * ([Hkv, *n_out, D]; the caller gives room for [Hkv, S, D]) and *n_out. Errors name the layer and the span. */
fc_err fc_ccm_apply_layer(const fc_ccm *c, int layer, const float *k, const float *v, int Hkv, int S,
                          const fc_compress_span *spans, int n_spans, const fc_ccm_run_opts *opts, float *k_out,
                          float *v_out, int *n_out);

#endif
