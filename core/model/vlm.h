/* vlm.h: the two vision-language models behind one API: load a Hugging Face folder (LLaVA-1.5 or
 * MiniCPM-V-2.6), turn (images, question) into a request (the chat template's prompt with every image
 * placeholder expanded, the image rows to splice in, and where each image sits in the sequence), prefill
 * it into the paged KV pool, and generate.
 *
 *   LLaVA-1.5 (reference/model-architectures.md §2.3-2.8): CLIPImageProcessor pixels -> CLIP tower ->
 *     projector; "USER: <image>\n{q} ASSISTANT:" with each <image> expanded to (image_size/patch)^2 copies
 *     (576) of image_token_index; BOS first; stops on </s>.
 *   MiniCPM-V-2.6 (§3.3-3.7): overview + slices -> SigLIP (NaViT) -> resampler, per piece, overview first
 *     then slices row-major; ChatML with "<image_id>k</image_id><image>" + query_num <unk> + "</image>" and
 *     the slice rows; image_bound = the runs strictly between <image>/<slice> and </image>/</slice>; no BOS;
 *     stops on <|im_end|> and <|endoftext|>.
 * In both, the image rows replace the token embeddings of their runs (HF masked_scatter / MiniCPM-V's
 * image_bound scatter); positions are 0..T-1 over the whole sequence.
 *
 * Every request records the exact span of each image piece in its sequence (fc_vlm_span): compressors take
 * their image/text segments from there, never from a fixed offset (DESIGN §3).
 *
 * Ownership: fc_vlm owns one checkpoint mapping shared by the vision tower and the decoder, the tokenizer
 * and the preprocessing settings. A request owns its ids, spans and embedding rows. Not thread-safe: one
 * encode or forward at a time per model (the decoder keeps one activation buffer).
 */
#ifndef FC_MODEL_VLM_H
#define FC_MODEL_VLM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/image/image.h"
#include "core/image/preprocess.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/kv/kv_pool.h"
#include "core/model/clip.h"
#include "core/model/generate.h"
#include "core/model/llm.h"
#include "core/model/resampler.h"
#include "core/model/siglip.h"
#include "core/text/tokenizer.h"

#define FC_VLM_MAX_IMAGES 64 /* images per request; far above what either model was trained with */

typedef struct {
    fc_model_config cfg;      /* arch FC_ARCH_LLAVA or FC_ARCH_MINICPMV */
    fc_st_model st;           /* one mapping for every tensor; outlives the parts below */
    fc_llm *llm;
    fc_tokenizer *tok;
    fc_clip *clip;            /* LLaVA */
    fc_clip_preproc_cfg clip_pp;
    fc_navit *navit;          /* MiniCPM-V */
    fc_resampler *resampler;
    fc_minicpmv_slice_cfg slice_pp;
    int image_tokens;         /* rows per image (LLaVA) or per piece (MiniCPM-V: query_num) */
    int32_t image_id;         /* LLaVA's <image> token */
    int32_t start_ids[2], end_ids[2]; /* MiniCPM-V: <image>, <slice> / </image>, </slice> */
    int32_t eos[2];           /* stop tokens, n_eos of them */
    int n_eos;
} fc_vlm;

/* One image piece's run of rows in a prompt: positions [start, start + len). */
typedef struct {
    int start, len;
    int image;                /* which image of the request, 0-based */
    int piece;                /* 0: the whole image (LLaVA) or the overview (MiniCPM-V); k >= 1: slice k-1 */
} fc_vlm_span;

/* A prompt ready to prefill. The embedding rows cover the positions [embeds_start, embeds_start +
 * n_embeds) from the first image row to the last: image features inside the spans, the tokens' own
 * embeddings between them (fc_llm takes one replaced range per sequence). */
typedef struct {
    int32_t *ids;             /* (n_ids) the expanded prompt */
    int n_ids;
    fc_vlm_span *spans;       /* (n_spans) in sequence order, disjoint */
    int n_spans;
    int n_images;
    int *grid;                /* (n_images, 2) MiniCPM-V slice grid (cols, rows), 0 0 when unsliced; LLaVA 0 0 */
    float *embeds;            /* (n_embeds, C) f32; NULL when there is no image */
    int embeds_start, n_embeds;
} fc_vlm_request;

/* Loads the VLM in `dir` (config.json model_type "llava" or "minicpmv"; every tensor from the folder's
 * safetensors, single or sharded: LLaVA's vision_tower.* / multi_modal_projector.* / language_model.* or
 * the model.* names of transformers >= 4.52, MiniCPM-V's vpm.* / resampler.* / llm.*). The tokenizer comes
 * from tokenizer_dir (NULL: dir), preprocessing from dir/preprocessor_config.json (MiniCPM-V without
 * one: config.json's slice_config). Errors name the folder and the file, tensor or key: another
 * model_type, missing vision weights, a tokenizer without the image tokens. On failure *out is NULL. */
fc_err fc_vlm_load(fc_vlm **out, const char *dir, const char *tokenizer_dir);
void fc_vlm_free(fc_vlm *m); /* accepts NULL */

/* The prompt of one user turn asking `question` about n_images images (placed before the text, as both
 * models' chat() do), tokenised, with its spans. grids: (n_images) MiniCPM-V slice grids {cols, rows}
 * ({0, 0}: unsliced); ignored (may be NULL) for LLaVA. Fills ids, n_ids, spans, n_spans, n_images, grid
 * of *req (embeds left empty). FC_EINVAL when the tokenised prompt does not hold exactly the image runs
 * the images need (e.g. a question that writes "<image>" itself). On failure *req is empty. */
fc_err fc_vlm_build_prompt(const fc_vlm *m, int n_images, const int *grids, const char *question,
                           fc_vlm_request *req);

/* The full request: preprocesses and encodes each image (LLaVA: CLIP + projector; MiniCPM-V: slicing,
 * then SigLIP + resampler per piece) and builds the prompt. n_images may be 0 (a text-only turn).
 * On failure *req is empty; free a built request with fc_vlm_request_free. */
fc_err fc_vlm_request_build(fc_vlm *m, const fc_image *images, int n_images, const char *question,
                            fc_vlm_request *req);
void fc_vlm_request_free(fc_vlm_request *req); /* accepts NULL and an empty request */

/* The decoder input of a request on sequence `seq` (borrows req's arrays). */
fc_llm_seq_input fc_vlm_seq_input(const fc_vlm_request *req, fc_kv_handle seq);

/* Prefills req into sequence seq (which must be live and empty) and writes the logits of its last
 * position (rows = FC_LLM_ROWS_LAST, logits (1, V)) or of every position (FC_LLM_ROWS_ALL, (n_ids, V)).
 * Errors as fc_llm_forward (a full pool leaves it unchanged). */
fc_err fc_vlm_prefill(fc_vlm *m, fc_kv_pool *kv, const fc_vlm_request *req, fc_kv_handle seq, fc_llm_rows rows,
                      float *logits);

/* Generation parameters with the model's stop tokens; the other fields as given. */
fc_gen_params fc_vlm_gen_params(const fc_vlm *m, int max_new_tokens, float temperature, int top_k, float top_p,
                                uint64_t seed);

/* fc_generate over B requests: out[b] receives at most p->max_new_tokens ids (caller buffers), n_out[b]
 * their count. Sequences are created in kv and freed when done. */
fc_err fc_vlm_generate(fc_vlm *m, fc_kv_pool *kv, const fc_vlm_request *reqs, int B, const fc_gen_params *p,
                       int32_t **out, int *n_out);

#endif
