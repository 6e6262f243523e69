/* llm_decode_split.c: where a batch-1 decode step's time goes, in one process (bench/llm_decode_split.sh).
 *
 *   llm_decode_split MODEL_DIR [reps] [read_mib]
 *
 * Loads the decoder (precision from FC_PRECISION, as the CLIs), prefills 64 random tokens, then runs reps
 * rounds of, back to back: one read of a read_mib MiB buffer (default 1024, far above any L3, on 2 MiB
 * pages; the read of bench/cpu_limits.c), one decode step (fc_llm_decode + greedy pick), the step's linears alone (every
 * weight in model order at M = 1 through fc_op_linear: x rounded, packed weight streamed once, bias).
 * Prints the medians of step_ms, linear_ms and other_ms = step - linears (norms, RoPE, attention,
 * residuals, embedding, sampling, those ops' parallel regions), and each step's weight GB/s as a share of
 * the read GB/s of the same round (the machine is shared and its load drifts, so a share against a
 * bandwidth measured minutes earlier says little), then per-weight medians for one layer and lm_head.
 * Threads: OMP_NUM_THREADS, the same for the read and the step. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/base/timer.h"
#include "core/model/generate.h"
#include "core/model/llm.h"
#include "eval/llm_prompt.h"
#include "bench/dram_read.h"
#include "kernels/cpu/gemv_bf16.h"
#include "kernels/ops.h"
#include "kernels/wpack.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

static size_t wbytes(const fc_tensor *w) { return w->pack ? fc_wpack_bytes(w) : fc_tensor_nbytes(w); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: llm_decode_split MODEL_DIR [steps] [dram_mib]\n");
        return 2;
    }
    int steps = argc > 2 ? atoi(argv[2]) : 20;
    long mib = argc > 3 ? atol(argv[3]) : 1024;
    if (steps < 1 || steps > 10000 || mib < 64) return 2;
    int one = 1;
    char *no_args[2] = {argv[0], NULL}; /* FC_PRECISION only */
    if (fc_precision_take_option(&one, no_args)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
    fc_llm *m = NULL;
    fc_kv_pool *kv = NULL;
    if (fc_llm_load(&m, argv[1]) || fc_eval_pool_for(m, 1, 64 + 2 * steps + 8, &kv))
        return fprintf(stderr, "llm_decode_split: %s\n", fc_errmsg()), 1;
    const fc_llm_config *c = &m->cfg;
    int V = c->vocab_size, T = 64;
    int32_t ids[64];
    fc_rng rng;
    fc_rng_seed(&rng, 1, 0);
    for (int i = 0; i < T; i++) ids[i] = (int32_t)(3 + fc_rng_next(&rng) % (uint64_t)(V - 3));
    float *logits = fc_malloc((size_t)V * sizeof(float), "bench");
    fc_kv_handle seq;
    if (!logits || fc_kv_seq_create(kv, &seq)) return 1;
    fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = T};
    if (fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_LAST, logits, NULL)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
    fc_gen_params greedy = {.temperature = 0, .top_p = 1};
    /* the weights alone, in model order */
    int L = c->num_layers, nw = 7 * L + 1;
    const fc_tensor **ws = calloc((size_t)nw, sizeof *ws), **bs = calloc((size_t)nw, sizeof *bs);
    for (int l = 0; l < L; l++) {
        const fc_llm_layer *Ly = &m->layers[l];
        const fc_tensor *w[] = {&Ly->wq, &Ly->wk, &Ly->wv, &Ly->wo, &Ly->w_gate, &Ly->w_up, &Ly->w_down};
        const fc_tensor *b[] = {&Ly->bq, &Ly->bk, &Ly->bv, &Ly->bo, &Ly->b_gate, &Ly->b_up, &Ly->b_down};
        for (int i = 0; i < 7; i++) ws[7 * l + i] = w[i], bs[7 * l + i] = b[i]->data ? b[i] : NULL;
    }
    ws[nw - 1] = &m->lm_head;
    int64_t maxd = 0;
    size_t total = 0;
    for (int i = 0; i < nw; i++) {
        maxd = ws[i]->shape[0] > maxd ? ws[i]->shape[0] : maxd;
        maxd = ws[i]->shape[1] > maxd ? ws[i]->shape[1] : maxd;
        total += wbytes(ws[i]);
    }
    fc_tensor x, y;
    if (fc_tensor_create(&x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){1, maxd}) ||
        fc_tensor_create(&y, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){1, maxd}))
        return 1;
    for (int64_t i = 0; i < maxd; i++) ((float *)x.data)[i] = 0.01f * (float)(i % 97) - 0.4f;
    size_t nbuf = (size_t)mib << 18;
    float *buf = fc_cpu_weight_alloc(nbuf * sizeof(float)); /* 2 MiB pages, as the packed weights */
    if (!buf) return 1;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nbuf; i++) buf[i] = (float)(i & 7);
    /* per rep, back to back: one read of the buffer, one decode step, the step's linears alone; so each
     * step is compared with the bandwidth of the same moment (the machine is shared: the load drifts) */
    double *t_step = calloc((size_t)steps, sizeof(double)), *t_lin = calloc((size_t)steps, sizeof(double));
    double *r_step = calloc((size_t)steps, sizeof(double)), *r_lin = calloc((size_t)steps, sizeof(double));
    double *g_read = calloc((size_t)steps, sizeof(double)), *t_w = calloc((size_t)steps * nw, sizeof(double));
    for (int s = -2; s < steps; s++) {
        double rd = bench_dram_read_gbs(buf, nbuf, 1);
        double t0 = fc_time_now();
        int32_t tok = fc_sample(logits, V, &greedy, &rng, NULL);
        if (fc_llm_decode(m, kv, &seq, &tok, 1, logits)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
        double t1 = fc_time_now();
        for (int i = 0; i < nw; i++) {
            double a = fc_time_now();
            fc_tensor xv = fc_tensor_view(x.data, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){1, ws[i]->shape[1]});
            fc_tensor yv = fc_tensor_view(y.data, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){1, ws[i]->shape[0]});
            if (fc_op_linear(&yv, &xv, ws[i], bs[i])) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
            if (s >= 0) t_w[(size_t)i * steps + s] = fc_time_now() - a;
        }
        double t2 = fc_time_now();
        if (s < 0) continue; /* two untimed reps first */
        t_step[s] = t1 - t0, t_lin[s] = t2 - t1, g_read[s] = rd;
        r_step[s] = total / t_step[s] / 1e9 / rd, r_lin[s] = total / t_lin[s] / 1e9 / rd;
    }
    double step = median(t_step, steps), lin = median(t_lin, steps), dram = median(g_read, steps);
    double best_read = 0;
    for (int s = 0; s < steps; s++) best_read = g_read[s] > best_read ? g_read[s] : best_read;
    printf("split: model=%s precision=%s threads=%d weight_bytes=%zu reps=%d read_buffer_mib=%ld "
           "dram_read_gbs_median=%.2f best=%.2f\n",
           argv[1], fc_precision_name(fc_precision_get()), omp_get_max_threads(), total, steps, mib, dram, best_read);
    printf("split: step_ms=%.2f linear_ms=%.2f other_ms=%.2f (medians) weight_gbs_step=%.2f weight_gbs_linear=%.2f\n",
           1e3 * step, 1e3 * lin, 1e3 * (step - lin), total / step / 1e9, total / lin / 1e9);
    printf("split: paired share of DRAM read (median over reps of step GB/s / read GB/s of the same rep): "
           "step=%.1f%% linear=%.1f%%\n",
           100 * median(r_step, steps), 100 * median(r_lin, steps));
    for (int i = 0; i < nw; i++) {
        if (i >= 7 && i < nw - 1) continue; /* later layers repeat layer 0's shapes */
        double t = median(t_w + (size_t)i * steps, steps);
        printf("split:   weight %d [%lld x %lld] %.3f ms %.2f GB/s\n", i, (long long)ws[i]->shape[0],
               (long long)ws[i]->shape[1], 1e3 * t, wbytes(ws[i]) / t / 1e9);
    }
    return 0;
}
