/* vlm.c: loading a VLM folder, building a request's prompt and spans, prefill and generation (vlm.h).
 * The image encoders' side of a request (preprocess + tower per image piece) is in vlm_encode.c. */
#include "core/model/vlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/text/chat.h"
#include "core/model/vlm_internal.h"

static fc_err token_id(const fc_tokenizer *tok, const char *dir, const char *s, int32_t *id) {
    *id = fc_tokenizer_token_id(tok, s);
    if (*id < 0) return fc_err_set(FC_ENOTFOUND, "%s: the tokenizer has no '%s' token", dir, s);
    return FC_OK;
}

static bool file_exists(const char *dir, const char *name) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The vision side's weights, before the tokenizer so that a checkpoint without them fails on that first. */
static fc_err load_vision(fc_vlm *m) {
    if (m->cfg.arch == FC_ARCH_LLAVA) return fc_clip_load(&m->clip, &m->st, &m->cfg);
    FC_TRY(fc_navit_load(&m->navit, &m->st, &m->cfg));
    return fc_resampler_load(&m->resampler, &m->st, &m->cfg);
}

/* Image token ids, stop tokens and preprocessing of LLaVA. */
static fc_err setup_llava(fc_vlm *m, const char *dir, const char *tok_dir) {
    m->image_tokens = fc_clip_n_tokens(m->clip);
    if (fc_clip_out_dim(m->clip) != m->cfg.text.hidden_size)
        return fc_err_set(FC_ESHAPE, "%s: projector gives %d-wide rows, the decoder's hidden_size is %d", dir,
                          fc_clip_out_dim(m->clip), m->cfg.text.hidden_size);
    FC_TRY(token_id(m->tok, tok_dir, "<image>", &m->image_id));
    if (m->cfg.image_token_id >= 0 && m->cfg.image_token_id != m->image_id)
        return fc_err_set(FC_EINVAL, "%s: config.json: image_token_index %d, but the tokenizer's <image> is %d", dir,
                          m->cfg.image_token_id, (int)m->image_id);
    fc_err e = token_id(m->tok, tok_dir, "</s>", &m->eos[0]);
    if (e) {
        if (m->cfg.text.eos_token_id < 0) return e;
        m->eos[0] = m->cfg.text.eos_token_id;
    }
    m->n_eos = 1;
    FC_TRY(fc_preproc_config_load(dir, FC_PREPROC_LLAVA, &m->clip_pp, NULL));
    return FC_OK;
}

static fc_err setup_minicpmv(fc_vlm *m, const char *dir, const char *tok_dir) {
    m->image_tokens = m->cfg.query_num;
    FC_TRY(token_id(m->tok, tok_dir, "<image>", &m->start_ids[0]));
    FC_TRY(token_id(m->tok, tok_dir, "<slice>", &m->start_ids[1]));
    FC_TRY(token_id(m->tok, tok_dir, "</image>", &m->end_ids[0]));
    FC_TRY(token_id(m->tok, tok_dir, "</slice>", &m->end_ids[1]));
    FC_TRY(token_id(m->tok, tok_dir, "<|im_end|>", &m->eos[0]));
    FC_TRY(token_id(m->tok, tok_dir, "<|endoftext|>", &m->eos[1]));
    m->n_eos = 2;
    if (file_exists(dir, "preprocessor_config.json")) {
        FC_TRY(fc_preproc_config_load(dir, FC_PREPROC_MINICPMV, NULL, &m->slice_pp));
    } else { /* the processor's defaults, with what config.json's slice_config says */
        fc_minicpmv_slice_cfg_default(&m->slice_pp);
        m->slice_pp.scale_resolution = m->cfg.scale_resolution;
        m->slice_pp.max_slice_nums = m->cfg.max_slice_nums;
        m->slice_pp.patch_size = m->cfg.slice_patch_size;
    }
    if (m->slice_pp.patch_size != m->cfg.vision.patch_size)
        return fc_err_set(FC_EINVAL, "%s: slices are cut in %d-pixel patches, the vision tower's patch_size is %d", dir,
                          m->slice_pp.patch_size, m->cfg.vision.patch_size);
    return FC_OK;
}

fc_err fc_vlm_load(fc_vlm **out, const char *dir, const char *tokenizer_dir) {
    *out = NULL;
    const char *tok_dir = tokenizer_dir ? tokenizer_dir : dir;
    fc_vlm *m = fc_calloc(1, sizeof *m, "vlm");
    if (!m) return FC_ENOMEM;
    fc_err e = fc_hfconfig_load(&m->cfg, dir);
    if (e) goto fail;
    if (m->cfg.arch != FC_ARCH_LLAVA && m->cfg.arch != FC_ARCH_MINICPMV) {
        e = fc_err_set(FC_EUNSUPPORTED, "%s: model_type '%s' is not a vision-language model (llava or minicpmv)", dir,
                       fc_arch_name(m->cfg.arch));
        goto fail;
    }
    if (!m->cfg.vision.present) {
        e = fc_err_set(FC_ENOTFOUND, "%s: config.json has no vision_config", dir);
        goto fail;
    }
    if ((e = fc_st_model_open(&m->st, dir))) goto fail;
    if ((e = fc_llm_create(&m->llm, &m->cfg.text, &m->st))) goto fail;
    if ((e = load_vision(m))) goto fail;
    if ((e = fc_tokenizer_load(&m->tok, tok_dir))) goto fail;
    if (fc_tokenizer_vocab_size(m->tok) > m->cfg.text.vocab_size) {
        e = fc_err_set(FC_ESHAPE, "%s: the tokenizer has %d tokens, the decoder's vocab_size is %d", tok_dir,
                       fc_tokenizer_vocab_size(m->tok), m->cfg.text.vocab_size);
        goto fail;
    }
    e = m->cfg.arch == FC_ARCH_LLAVA ? setup_llava(m, dir, tok_dir) : setup_minicpmv(m, dir, tok_dir);
    if (e) goto fail;
    *out = m;
    return FC_OK;
fail:
    fc_vlm_free(m);
    return e;
}

void fc_vlm_free(fc_vlm *m) {
    if (!m) return;
    fc_clip_free(m->clip);
    fc_navit_free(m->navit);
    fc_resampler_free(m->resampler);
    fc_llm_free(m->llm);
    fc_tokenizer_free(m->tok);
    fc_st_model_close(&m->st);
    free(m);
}

void fc_vlm_request_free(fc_vlm_request *req) {
    if (!req) return;
    free(req->ids);
    free(req->spans);
    free(req->grid);
    free(req->embeds);
    memset(req, 0, sizeof *req);
}

static bool in_list(int32_t t, const int32_t *list, int n) {
    for (int i = 0; i < n; i++)
        if (list[i] == t) return true;
    return false;
}

/* LLaVA: each maximal run of <image> ids is one image. */
static fc_err llava_spans(const fc_vlm *m, fc_vlm_request *r) {
    int n = 0;
    for (int i = 0; i < r->n_ids; i++) {
        if (r->ids[i] != m->image_id) continue;
        int j = i;
        while (j < r->n_ids && r->ids[j] == m->image_id) j++;
        if (n == r->n_images)
            return fc_err_set(FC_EINVAL,
                              "the prompt holds more <image> runs than the %d image(s) given (one at position %d; "
                              "does the text write <image> itself?)",
                              r->n_images, i);
        if (j - i != m->image_tokens)
            return fc_err_set(FC_EINVAL, "the prompt's <image> run at position %d has %d tokens, an image takes %d", i,
                              j - i, m->image_tokens);
        r->spans[n] = (fc_vlm_span){.start = i, .len = j - i, .image = n, .piece = 0};
        n++;
        i = j - 1;
    }
    if (n != r->n_images)
        return fc_err_set(FC_EINVAL, "the prompt holds %d image runs for %d image(s)", n, r->n_images);
    r->n_spans = n;
    return FC_OK;
}

/* MiniCPM-V: image_bound, the runs strictly between a start token and the next end token. */
static fc_err minicpmv_spans(const fc_vlm *m, fc_vlm_request *r, int n_pieces) {
    int n = 0, open = -1, image = 0, piece = 0;
    for (int i = 0; i < r->n_ids; i++) {
        int32_t t = r->ids[i];
        if (in_list(t, m->start_ids, 2)) {
            if (open >= 0) return fc_err_set(FC_EINVAL, "prompt position %d: image start token inside an open image", i);
            open = i + 1;
        } else if (in_list(t, m->end_ids, 2)) {
            if (open < 0) return fc_err_set(FC_EINVAL, "prompt position %d: image end token without a start", i);
            if (n == n_pieces || i - open != m->image_tokens)
                return fc_err_set(FC_EINVAL,
                                  "the prompt's image run at position %d has %d tokens; expected %d piece(s) of %d "
                                  "tokens (does the text write image tags itself?)",
                                  open, i - open, n_pieces, m->image_tokens);
            int pieces_here = 1 + r->grid[2 * image] * r->grid[2 * image + 1];
            r->spans[n++] = (fc_vlm_span){.start = open, .len = i - open, .image = image, .piece = piece};
            if (++piece == pieces_here) piece = 0, image++;
            open = -1;
        }
    }
    if (open >= 0) return fc_err_set(FC_EINVAL, "the prompt ends inside an image run");
    if (n != n_pieces) return fc_err_set(FC_EINVAL, "the prompt holds %d image runs for %d image piece(s)", n, n_pieces);
    r->n_spans = n;
    return FC_OK;
}

fc_err fc_vlm_build_prompt(const fc_vlm *m, int n_images, const int *grids, const char *question,
                           fc_vlm_request *req) {
    memset(req, 0, sizeof *req);
    if (n_images < 0 || n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%d images in one request (at most %d)", n_images, FC_VLM_MAX_IMAGES);
    if (!question) return fc_err_set(FC_EINVAL, "no question");
    bool llava = m->cfg.arch == FC_ARCH_LLAVA;
    if (!llava && n_images > 0 && !grids) return fc_err_set(FC_EINVAL, "MiniCPM-V prompt without slice grids");
    int n_pieces = 0;
    fc_chat_grid cg[FC_VLM_MAX_IMAGES];
    for (int k = 0; k < n_images; k++) {
        cg[k] = llava ? (fc_chat_grid){0, 0} : (fc_chat_grid){grids[2 * k], grids[2 * k + 1]};
        if (cg[k].cols < 0 || cg[k].rows < 0 || cg[k].cols > 64 || cg[k].rows > 64 || (!cg[k].cols != !cg[k].rows))
            return fc_err_set(FC_EINVAL, "image %d: slice grid %dx%d", k, cg[k].cols, cg[k].rows);
        n_pieces += 1 + cg[k].cols * cg[k].rows;
    }
    fc_chat_msg msg = {.role = FC_CHAT_USER, .n_images = n_images, .text = question};
    char *text = NULL, *rendered = NULL;
    fc_err e;
    if (llava) {
        e = fc_chat_llava_prompt(&msg, 1, m->image_tokens, &text);
    } else if (!(e = fc_chat_minicpmv_render(&msg, 1, true, &rendered))) {
        e = fc_chat_minicpmv_expand(rendered, cg, n_images, m->image_tokens, m->cfg.use_image_id, &text);
    }
    free(rendered);
    if (e) return e;
    e = fc_tokenizer_encode(m->tok, text, strlen(text), true, &req->ids, &req->n_ids);
    free(text);
    if (e) goto fail;
    req->n_images = n_images;
    req->grid = fc_calloc((size_t)n_images + 1, 2 * sizeof(int), "request grids");
    req->spans = fc_calloc((size_t)n_pieces + 1, sizeof(fc_vlm_span), "request spans");
    if (!req->grid || !req->spans) {
        e = FC_ENOMEM;
        goto fail;
    }
    for (int k = 0; k < n_images; k++) req->grid[2 * k] = cg[k].cols, req->grid[2 * k + 1] = cg[k].rows;
    if ((e = llava ? llava_spans(m, req) : minicpmv_spans(m, req, n_pieces))) goto fail;
    return FC_OK;
fail:
    fc_vlm_request_free(req);
    return e;
}

fc_err fc_vlm_request_build(fc_vlm *m, const fc_image *images, int n_images, const char *question,
                            fc_vlm_request *req) {
    memset(req, 0, sizeof *req);
    if (n_images < 0 || n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%d images in one request (at most %d)", n_images, FC_VLM_MAX_IMAGES);
    fc_vlm_pixels px[FC_VLM_MAX_IMAGES];
    memset(px, 0, sizeof px);
    int grids[2 * FC_VLM_MAX_IMAGES] = {0};
    fc_err e = FC_OK;
    for (int k = 0; k < n_images && !e; k++) {
        if ((e = fc_vlm_preprocess(m, &images[k], &px[k]))) fc_err_prefix(e, "image %d", k);
        grids[2 * k] = px[k].slices.grid_cols, grids[2 * k + 1] = px[k].slices.grid_rows;
    }
    if (!e) e = fc_vlm_build_prompt(m, n_images, grids, question, req);
    if (!e) e = fc_vlm_encode(m, px, req);
    for (int k = 0; k < n_images; k++) fc_vlm_pixels_free(&px[k]);
    if (e) fc_vlm_request_free(req);
    return e;
}

fc_llm_seq_input fc_vlm_seq_input(const fc_vlm_request *req, fc_kv_handle seq) {
    return (fc_llm_seq_input){.seq = seq, .ids = req->ids, .n = req->n_ids, .embeds = req->embeds,
                              .embeds_start = req->embeds_start, .n_embeds = req->n_embeds};
}

fc_err fc_vlm_prefill(fc_vlm *m, fc_kv_pool *kv, const fc_vlm_request *req, fc_kv_handle seq, fc_llm_rows rows,
                      float *logits) {
    if (fc_kv_seq_live(kv, seq) && fc_kv_seq_len(kv, seq) != 0)
        return fc_err_set(FC_EINVAL, "sequence %u#%u is not empty (%d entries): a prompt is prefilled once", seq.slot, seq.gen,
                          fc_kv_seq_len(kv, seq));
    fc_llm_seq_input in = fc_vlm_seq_input(req, seq);
    return fc_llm_forward(m->llm, kv, &in, 1, rows, logits, NULL);
}

fc_gen_params fc_vlm_gen_params(const fc_vlm *m, int max_new_tokens, float temperature, int top_k, float top_p,
                                uint64_t seed) {
    return (fc_gen_params){.max_new_tokens = max_new_tokens, .temperature = temperature, .top_k = top_k,
                           .top_p = top_p, .seed = seed, .eos_ids = m->eos, .n_eos = m->n_eos};
}

fc_err fc_vlm_generate(fc_vlm *m, fc_kv_pool *kv, const fc_vlm_request *reqs, int B, const fc_gen_params *p,
                       int32_t **out, int *n_out) {
    if (B < 1) return fc_err_set(FC_EINVAL, "generate: %d requests", B);
    fc_gen_request *g = fc_calloc((size_t)B, sizeof *g, "generate requests");
    if (!g) return FC_ENOMEM;
    for (int b = 0; b < B; b++)
        g[b] = (fc_gen_request){.prompt = reqs[b].ids, .n_prompt = reqs[b].n_ids, .embeds = reqs[b].embeds,
                                .embeds_start = reqs[b].embeds_start, .n_embeds = reqs[b].n_embeds, .out = out[b]};
    fc_err e = fc_generate(m->llm, kv, g, B, p);
    for (int b = 0; b < B; b++) n_out[b] = e ? 0 : g[b].n_out;
    free(g);
    return e;
}
