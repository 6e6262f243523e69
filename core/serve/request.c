/* request.c: the synthetic workload and request cleanup. See request.h. */
#include "core/serve/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/generate.h"

static fc_err synth_length(void *ctx, int r, int *n) {
    (void)r;
    *n = ((const fc_serve_synthetic *)ctx)->prompt;
    return FC_OK;
}

/* Record r's ids depend only on (seed, r): the same record gives the same prompt in every run. */
static fc_err synth_build(void *ctx, int r, fc_vlm_request *out) {
    const fc_serve_synthetic *s = ctx;
    memset(out, 0, sizeof *out);
    out->ids = fc_malloc((size_t)s->prompt * sizeof(int32_t), "synthetic prompt");
    if (!out->ids) return FC_ENOMEM;
    out->n_ids = s->prompt;
    fc_rng rng;
    fc_rng_seed(&rng, s->seed, (uint64_t)r);
    for (int i = 0; i < s->prompt; i++) out->ids[i] = 3 + (int32_t)(fc_rng_next(&rng) % (uint64_t)(s->vocab - 3));
    if (s->image_len > 0) {
        out->spans = fc_malloc(sizeof *out->spans, "synthetic spans");
        if (!out->spans) {
            fc_vlm_request_free(out);
            return FC_ENOMEM;
        }
        out->spans[0] = (fc_vlm_span){.start = s->image_start, .len = s->image_len, .image = 0, .piece = 0};
        out->n_spans = 1;
        out->n_images = 1;
    }
    return FC_OK;
}

fc_err fc_serve_synthetic_workload(fc_serve_synthetic *s, fc_serve_workload *w) {
    if (s->prompt < 2 || s->prompt > (1 << 22))
        return fc_err_set(FC_EINVAL, "synthetic: prompt=%d (want 2..%d tokens)", s->prompt, 1 << 22);
    if (s->vocab < 4) return fc_err_set(FC_EINVAL, "synthetic: the model's vocabulary has %d tokens", s->vocab);
    if (s->image_len < 0 || s->image_start < 0 || (s->image_len > 0 && s->image_start + s->image_len > s->prompt - 1))
        return fc_err_set(FC_EINVAL, "synthetic: image span [%d, %d) must end before the last prompt token (prompt=%d)",
                          s->image_start, s->image_start + s->image_len, s->prompt);
    if (s->n_records < 1) return fc_err_set(FC_EINVAL, "synthetic: records=%d (want >= 1)", s->n_records);
    snprintf(s->description, sizeof s->description,
             "synthetic: %d-token prompts of seeded random ids (seed %llu), image span [%d, %d), %d records", s->prompt,
             (unsigned long long)s->seed, s->image_start, s->image_start + s->image_len, s->n_records);
    *w = (fc_serve_workload){.n_records = s->n_records, .ctx = s, .length = synth_length, .build = synth_build,
                             .description = s->description};
    return FC_OK;
}

fc_err fc_serve_synthetic_parse(const char *spec, int vocab, fc_serve_synthetic *s) {
    static const char head[] = "synthetic:";
    *s = (fc_serve_synthetic){.vocab = vocab, .n_records = 64, .image_start = -1, .seed = 0};
    if (strncmp(spec, head, sizeof head - 1))
        return fc_err_set(FC_EINVAL, "--data '%s': expected synthetic:prompt=N[,image=K,...]", spec);
    const char *p = spec + sizeof head - 1;
    bool have_prompt = false;
    while (*p) {
        char key[32];
        size_t k = strcspn(p, "=,");
        if (k == 0 || k >= sizeof key || p[k] != '=')
            return fc_err_set(FC_EINVAL, "--data '%s': expected key=value at '%s'", spec, p);
        memcpy(key, p, k);
        key[k] = 0;
        p += k + 1;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 0 || v > (1LL << 40))
            return fc_err_set(FC_EINVAL, "--data '%s': %s: expected a whole number >= 0", spec, key);
        p = *end ? end + 1 : end;
        /* a value past its bound is refused as written, not clamped (a clamped records= ran silently) */
        if (strcmp(key, "prompt") && strcmp(key, "image") && strcmp(key, "image_start") && strcmp(key, "records") &&
            strcmp(key, "seed"))
            return fc_err_set(FC_EINVAL, "--data '%s': unknown key '%s' (prompt, image, image_start, records, seed)", spec,
                              key);
        long long most = !strcmp(key, "records") ? (1LL << 24) : !strcmp(key, "seed") ? (1LL << 40) : (1LL << 22);
        if (v > most) return fc_err_set(FC_EINVAL, "--data '%s': %s=%lld is more than %lld", spec, key, v, most);
        if (!strcmp(key, "prompt")) s->prompt = (int)v, have_prompt = true;
        else if (!strcmp(key, "image")) s->image_len = (int)v;
        else if (!strcmp(key, "image_start")) s->image_start = (int)v;
        else if (!strcmp(key, "records")) s->n_records = (int)v;
        else s->seed = (uint64_t)v;
    }
    if (!have_prompt) return fc_err_set(FC_EINVAL, "--data '%s': prompt=N is required", spec);
    if (s->image_start < 0) s->image_start = s->image_len > 0 ? 5 : 0;
    return FC_OK;
}

void fc_serve_reqs_free(fc_serve_req *reqs, int n) {
    if (!reqs) return;
    for (int i = 0; i < n; i++) free(reqs[i].out);
    free(reqs);
}
