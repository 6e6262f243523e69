/* train_step.c: one fc-train optimizer step on a decoder folder, timed: the teacher (prefill of the prompt
 * with the full cache, teacher-forced logits of the answer), the student (CCM compression of every layer's
 * prefix K/V, the answer over [compressed KV; its own KV], KL loss, backward into the CCM weights) and
 * AdamW. The sample is random ids (seeded): a prompt of P tokens whose [img_start, img_start + img_len) is
 * an "image" span (LLaVA's prompt layout; 0 0: none) and an answer of T
 * tokens, all supervised (the span is an image segment of the compressor; its rows stay token embeddings). The
 * same step as bench/train_step.py, its peer.
 *
 *   train_step MODEL_DIR P T IMG_START IMG_LEN REPS
 * The precision comes from FC_PRECISION (f32, the default, or bf16), set before the model loads (bf16 packs
 * the weights then). Prints one line: step_s=<best of REPS after one warm-up> teacher_s= student_s= adam_s=
 * loss= peak_rss_mb= precision= gflop=<the step's GEMM work as written (what torch runs)> gflop_run=<what ours
 * runs: less the teacher's skipped rows> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/base/timer.h"
#include "core/model/generate.h"
#include "core/model/llm.h"
#include "kernels/wpack.h"
#include "train/optim.h"

static int die(const char *what) {
    fprintf(stderr, "train_step: %s: %s\n", what, fc_errmsg());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: train_step MODEL_DIR P T IMG_START IMG_LEN REPS\n");
        return 2;
    }
    const int P = atoi(argv[2]), T = atoi(argv[3]), img0 = atoi(argv[4]), imgn = atoi(argv[5]), reps = atoi(argv[6]);
    const char *prec = getenv("FC_PRECISION");
    fc_precision pr = FC_PREC_F32;
    if (prec && *prec && (fc_precision_from_name(prec, &pr) || fc_precision_set(pr))) return die("FC_PRECISION");
    fc_llm *m = NULL;
    if (fc_llm_load(&m, argv[1])) return die(argv[1]);
    const fc_llm_config *lc = &m->cfg;
    fc_ccm_config cc = {.n_layers = lc->num_layers, .head_dim = lc->head_dim, .cf = 5, .hidden = lc->head_dim,
                        .depth = 3, .min_windows = 2, .has_image = imgn > 0,
                        .segment_rule = imgn > 0 ? FC_CCM_SEG_PREFIX : FC_CCM_SEG_WHOLE,
                        .position_rule = FC_CCM_POS_ORIGINAL};
    snprintf(cc.family, sizeof cc.family, "%s", imgn > 0 ? "llava" : "minicpm");
    fc_ccm_train *c = NULL;
    fc_distill *d = NULL;
    if (fc_ccm_train_create(&cc, 0.0f, 48, &c)) return die("ccm");
    if (fc_distill_create(m, P + T, &d)) return die("distill");
    fc_adamw adam;
    if (fc_adamw_init(&adam, c->n_params, 0.9, 0.999, 1e-8, 0)) return die("adamw");
    /* the sample: random ids, all of the answer supervised */
    int32_t *prompt = malloc((size_t)P * sizeof *prompt), *cont = malloc((size_t)T * sizeof *cont);
    uint8_t *sup = malloc((size_t)T);
    fc_rng r;
    fc_rng_seed(&r, 7, 0);
    for (int i = 0; i < P; i++) prompt[i] = 3 + (int32_t)(fc_rng_next(&r) % (uint64_t)(lc->vocab_size - 3));
    for (int i = 0; i < T; i++) cont[i] = 3 + (int32_t)(fc_rng_next(&r) % (uint64_t)(lc->vocab_size - 3)), sup[i] = 1;
    fc_compress_span span = {img0, img0 + imgn};
    fc_distill_sample s = {.prompt_ids = prompt, .n_prompt = P, .spans = imgn > 0 ? &span : NULL,
                           .n_spans = imgn > 0, .cont_ids = cont, .supervised = sup, .n_cont = T};
    fc_distill_teacher teacher = {0};
    fc_distill_opts o = fc_distill_default_opts();
    o.position_rule = FC_CCM_POS_ORIGINAL;
    double best = 1e30, bt = 0, bs = 0, ba = 0, loss = 0;
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = fc_time_now();
        if (fc_distill_teacher_run(d, &s, false, &teacher)) return die("teacher");
        double t1 = fc_time_now();
        fc_ccm_train_zero_grad(c);
        fc_distill_stats st;
        if (fc_distill_step(d, c, &teacher, &o, &st)) return die("step");
        double t2 = fc_time_now();
        fc_adamw_step(&adam, c->params, c->grads, 5e-4);
        double t3 = fc_time_now();
        if (rep > 0 && t3 - t0 < best) best = t3 - t0, bt = t1 - t0, bs = t2 - t1, ba = t3 - t2;
        if (rep == 0) loss = st.loss;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* GEMM work (2 flops per multiply-add) of the step as written, which torch runs: per token and layer the
     * weights q, k, v, o, gate, up, down; the teacher over S + T tokens (lm_head on its last prompt row and
     * the T answer rows), the student's forward over T and its backward over T (dx only: the model is frozen;
     * layer 0's q/k/v backward only reaches the frozen embedding, torch skips it too), lm_head over T in
     * each. gflop_run: what ours runs, less the last layer's q, o and MLP on the S prompt rows (teacher.c). */
    double C = lc->hidden_size, HD = (double)lc->num_heads * lc->head_dim, KD = (double)lc->num_kv_heads * lc->head_dim;
    double wqkv = C * HD + 2 * C * KD, wl = wqkv + C * HD + 3 * C * lc->intermediate_size, L = lc->num_layers;
    double S = P - 1, lm = C * lc->vocab_size;
    double work = 2 * (wl * L * (S + 3.0 * T) - wqkv * T + lm * (1 + 3.0 * T));
    double run = work - 2 * ((wl - 2 * C * KD) * S + lm);
    double gflop = work * 1e-9, gflop_run = run * 1e-9;
    printf("step_s=%.4f teacher_s=%.4f student_s=%.4f adam_s=%.5f loss=%.6g peak_rss_mb=%.1f precision=%s gflop=%.1f gflop_run=%.1f\n",
           best, bt, bs, ba, loss, (double)ru.ru_maxrss / 1024.0, fc_precision_name(fc_precision_get()), gflop, gflop_run);
    fc_distill_teacher_free(&teacher);
    fc_distill_free(d);
    fc_ccm_train_free(c);
    fc_adamw_free(&adam);
    fc_llm_free(m);
    free(prompt), free(cont), free(sup);
    return 0;
}
