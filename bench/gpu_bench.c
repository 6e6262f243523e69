/* gpu_bench.c: decoder throughput on the GPU through our CUDA ops, with real-size configs and random bf16
 * weights made here (nothing shipped): a Llama-style decoder (Vicuna-7B = LLaVA-1.5's, Qwen2-7B =
 * MiniCPM-V-2.6's, with Qwen2's q/k/v biases and GQA) built from fc_op_* calls on device tensors, the KV
 * cache in device memory as a paged pool (block size 16), one forward per step:
 *   embedding -> L x [rmsnorm, q/k/v linear, rope, K/V into the pool (kv_scatter), paged attention,
 *   o linear, residual add, rmsnorm, gate/up linear, silu_mul, down linear, residual add] -> rmsnorm ->
 *   lm_head on each sequence's last token.
 * Figures: prefill tokens/s (batch 1, --prompt tokens), decode tokens/s at each batch of --batches with
 * --ctx entries already in every sequence's cache (their contents are zeros: the work is the same), and
 * the rates they imply (weight bytes read per second at decode, GEMM FLOP/s at prefill).
 * Output: key=value lines, and one CSV row per figure appended to --csv.
 *
 * This is the op path of a model-resident forward; fc-eval's model code (core/model) does not yet run on
 * the GPU, so this driver holds the layer loop itself.
 *
 * Usage: gpu_bench vicuna7b|qwen2-7b|tiny [--check|--check-cpu] [--layers N] [--prompt T] [--ctx C] [--steps S] [--batches 1,16,64]
 *                  [--reps R] [--csv FILE] [--device NAME]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/timer.h"
#include "core/tensor/tensor.h"
#include "kernels/backend.h"
#include "kernels/ops.h"
#include "kernels/train_ops.h"

typedef struct {
    const char *name;
    int C, F, H, Hkv, L, V;
    float theta, eps;
    bool qkv_bias;
} cfg;

static const cfg cfgs[] = {
    {"vicuna7b", 4096, 11008, 32, 32, 32, 32000, 1e4f, 1e-5f, false},
    {"qwen2-7b", 3584, 18944, 28, 4, 28, 152064, 1e6f, 1e-6f, true},
    {"tiny", 256, 688, 4, 2, 2, 1000, 1e4f, 1e-6f, true}, /* --check's model: GQA and biases */
};

enum { BS = 16 };

/* Where the model lives: the GPU with bf16 activations and caches, or (--check's reference, and a dry run
 * of the layer loop on a machine without a GPU) the CPU with f32 ones. Weights are bf16 on both. */
static fc_device g_dev = FC_DEVICE_CUDA;
static fc_dtype g_adt = FC_DTYPE_BF16;

typedef struct {
    fc_tensor ln1, wq, wk, wv, bq, bk, bv, wo, ln2, wg, wu, wd, kc, vc;
} layer;

typedef struct {
    cfg c;
    int D;
    int64_t n_blocks;
    fc_tensor emb, lm, lnf;
    layer *ly;
    /* activations, sized for max_T rows */
    int64_t max_T;
    fc_tensor x, h, q, k, v, att, o, g, u, logits;
    double weight_bytes;
} model;

#define TRY(call)                                                                                            \
    do {                                                                                                     \
        if ((call) != FC_OK) {                                                                               \
            fprintf(stderr, "gpu_bench: error: %s: %s\n", #call, fc_errmsg());                              \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f * 2.0f - 1.0f;
}

/* A host bf16 tensor (rows, cols) of uniform values in [-scale, scale), or all `fill` when scale is 0. */
static void host_rand(fc_tensor *out, int64_t rows, int64_t cols, float scale, float fill) {
    fc_tensor f;
    int nd = rows > 0 ? 2 : 1;
    int64_t shape[2] = {rows > 0 ? rows : cols, cols};
    TRY(fc_tensor_create(&f, FC_DTYPE_F32, FC_DEVICE_CPU, nd, shape));
    float *p = f.data;
    for (int64_t i = 0; i < fc_tensor_numel(&f); i++) p[i] = scale > 0 ? urand() * scale : fill;
    TRY(fc_tensor_to(out, &f, FC_DEVICE_CPU, FC_DTYPE_BF16));
    fc_tensor_free(&f);
}

static void upload(fc_tensor *dst, const fc_tensor *host, double *bytes) {
    TRY(fc_tensor_to(dst, host, g_dev, FC_DTYPE_BF16));
    if (bytes) *bytes += (double)fc_tensor_numel(host) * 2;
}

static void act(fc_tensor *t, int64_t rows, int64_t cols) {
    TRY(fc_tensor_create(t, g_adt, g_dev, 2, (int64_t[]){rows, cols}));
}

/* Random weights (one random matrix per shape, copied into every layer: distinct device buffers, so each
 * layer's weights are read from HBM as in a real model). */
static void model_create(model *m, const cfg *c, int64_t n_blocks, int64_t max_T) {
    memset(m, 0, sizeof *m);
    m->c = *c;
    m->D = c->C / c->H;
    m->n_blocks = n_blocks;
    m->max_T = max_T;
    int64_t C = c->C, F = c->F, KV = (int64_t)c->Hkv * m->D;
    float ws = 0.03f; /* ~ N(0, 0.02) as HF's initializer_range: keeps the residual stream O(1) */
    fc_tensor hq, hk, hf, hd, hv, hones, hb, hbk;
    host_rand(&hq, C, C, ws, 0), host_rand(&hk, KV, C, ws, 0), host_rand(&hf, F, C, ws, 0);
    host_rand(&hd, C, F, ws, 0), host_rand(&hv, c->V, C, ws, 0), host_rand(&hones, 0, C, 0, 1.0f);
    host_rand(&hb, 0, C, ws, 0), host_rand(&hbk, 0, KV, ws, 0);
    upload(&m->emb, &hv, NULL); /* the embedding is a gather, not read whole per token */
    upload(&m->lm, &hv, &m->weight_bytes);
    upload(&m->lnf, &hones, &m->weight_bytes);
    m->ly = calloc((size_t)c->L, sizeof *m->ly);
    if (!m->ly) exit(1);
    for (int l = 0; l < c->L; l++) {
        layer *y = &m->ly[l];
        upload(&y->ln1, &hones, &m->weight_bytes), upload(&y->ln2, &hones, &m->weight_bytes);
        upload(&y->wq, &hq, &m->weight_bytes), upload(&y->wo, &hq, &m->weight_bytes);
        upload(&y->wk, &hk, &m->weight_bytes), upload(&y->wv, &hk, &m->weight_bytes);
        upload(&y->wg, &hf, &m->weight_bytes), upload(&y->wu, &hf, &m->weight_bytes);
        upload(&y->wd, &hd, &m->weight_bytes);
        if (c->qkv_bias) {
            upload(&y->bq, &hb, &m->weight_bytes);
            upload(&y->bk, &hbk, &m->weight_bytes), upload(&y->bv, &hbk, &m->weight_bytes);
        }
        TRY(fc_tensor_create(&y->kc, g_adt, g_dev, 4, (int64_t[]){n_blocks, BS, c->Hkv, m->D}));
        TRY(fc_tensor_create(&y->vc, g_adt, g_dev, 4, (int64_t[]){n_blocks, BS, c->Hkv, m->D}));
    }
    fc_tensor *hs[] = {&hq, &hk, &hf, &hd, &hv, &hones, &hb, &hbk};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) fc_tensor_free(hs[i]);
    act(&m->x, max_T, C), act(&m->h, max_T, C), act(&m->q, max_T, C), act(&m->att, max_T, C), act(&m->o, max_T, C);
    act(&m->k, max_T, KV), act(&m->v, max_T, KV), act(&m->g, max_T, F), act(&m->u, max_T, F);
    act(&m->logits, max_T, c->V);
}

static void model_free(model *m) {
    for (int l = 0; l < m->c.L; l++) {
        fc_tensor *ts = &m->ly[l].ln1;
        for (size_t i = 0; i < sizeof(layer) / sizeof(fc_tensor); i++) fc_tensor_free(&ts[i]);
    }
    free(m->ly);
    fc_tensor *ts[] = {&m->emb, &m->lm, &m->lnf, &m->x, &m->h, &m->q, &m->k, &m->v, &m->att, &m->o, &m->g, &m->u,
                       &m->logits};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) fc_tensor_free(ts[i]);
}

/* A view of the first `rows` rows of t, reshaped to (rows, a, b) when b > 0, else (rows, a). */
static fc_tensor rows_view(const fc_tensor *t, int64_t row0, int64_t rows, int64_t a, int64_t b) {
    int64_t w = t->shape[1];
    void *p = (char *)t->data + (size_t)(row0 * w) * fc_dtype_size(t->dtype);
    if (b > 0) return fc_tensor_view(p, t->dtype, t->device, 3, (int64_t[]){rows, a, b});
    return fc_tensor_view(p, t->dtype, t->device, 2, (int64_t[]){rows, a});
}

/* One step: B sequences, each with Tq new tokens after ctx0 cached entries; sequence b owns blocks
 * [b * nbs, (b + 1) * nbs). Logits of each sequence's last token into m->logits rows 0..B-1. */
static void forward(model *m, int B, int Tq, int ctx0, int64_t nbs) {
    const cfg *c = &m->c;
    int64_t T = (int64_t)B * Tq, C = c->C, D = m->D, KV = (int64_t)c->Hkv * D;
    static int32_t *ids, *pos, *rows, *tables;
    static fc_paged_seq *seqs;
    static int64_t cap, seq_cap;
    if (cap < T + B * nbs || seq_cap < B) {
        cap = T + B * nbs, seq_cap = B;
        ids = realloc(ids, cap * sizeof *ids), pos = realloc(pos, cap * sizeof *pos);
        rows = realloc(rows, cap * sizeof *rows), tables = realloc(tables, cap * sizeof *tables);
        seqs = realloc(seqs, (size_t)B * sizeof *seqs);
        if (!ids || !pos || !rows || !tables || !seqs) exit(1);
    }
    for (int b = 0; b < B; b++) {
        int32_t *tb = tables + (int64_t)b * nbs;
        for (int64_t i = 0; i < nbs; i++) tb[i] = (int32_t)(b * nbs + i);
        seqs[b] = (fc_paged_seq){.q_start = b * Tq, .n_q = Tq, .n_keys = ctx0 + Tq, .blocks = tb};
        for (int i = 0; i < Tq; i++) {
            int64_t t = (int64_t)b * Tq + i, e = ctx0 + i;
            ids[t] = (int32_t)(((int64_t)b * 100003 + e) * 7919 % c->V); /* by sequence and position */
            pos[t] = (int32_t)e;
            rows[t] = tb[e / BS] * BS + (int32_t)(e % BS);
        }
    }
    float scale = 1.0f / sqrtf((float)D);
    fc_tensor x = rows_view(&m->x, 0, T, C, 0), h = rows_view(&m->h, 0, T, C, 0), att = rows_view(&m->att, 0, T, C, 0);
    fc_tensor o = rows_view(&m->o, 0, T, C, 0), q2 = rows_view(&m->q, 0, T, C, 0), q3 = rows_view(&m->q, 0, T, c->H, D);
    fc_tensor k2 = rows_view(&m->k, 0, T, KV, 0), k3 = rows_view(&m->k, 0, T, c->Hkv, D);
    fc_tensor v2 = rows_view(&m->v, 0, T, KV, 0), v3 = rows_view(&m->v, 0, T, c->Hkv, D);
    fc_tensor g = rows_view(&m->g, 0, T, c->F, 0), u = rows_view(&m->u, 0, T, c->F, 0);
    TRY(fc_op_embedding(&x, &m->emb, ids, (int)T));
    for (int l = 0; l < c->L; l++) {
        layer *y = &m->ly[l];
        fc_tensor kc = fc_tensor_view(y->kc.data, g_adt, g_dev, 3, (int64_t[]){m->n_blocks * BS, c->Hkv, D});
        fc_tensor vc = fc_tensor_view(y->vc.data, g_adt, g_dev, 3, (int64_t[]){m->n_blocks * BS, c->Hkv, D});
        TRY(fc_op_rmsnorm(&h, &x, &y->ln1, c->eps));
        TRY(fc_op_linear(&q2, &h, &y->wq, c->qkv_bias ? &y->bq : NULL));
        TRY(fc_op_linear(&k2, &h, &y->wk, c->qkv_bias ? &y->bk : NULL));
        TRY(fc_op_linear(&v2, &h, &y->wv, c->qkv_bias ? &y->bv : NULL));
        TRY(fc_op_rope(&q3, pos, c->theta));
        TRY(fc_op_rope(&k3, pos, c->theta));
        TRY(fc_op_kv_scatter(&kc, &k3, rows));
        TRY(fc_op_kv_scatter(&vc, &v3, rows));
        TRY(fc_op_paged_attention(&att, &q3, &y->kc, &y->vc, seqs, B, scale));
        TRY(fc_op_linear(&o, &att, &y->wo, NULL));
        TRY(fc_op_add(&x, &x, &o));
        TRY(fc_op_rmsnorm(&h, &x, &y->ln2, c->eps));
        TRY(fc_op_linear(&g, &h, &y->wg, NULL));
        TRY(fc_op_linear(&u, &h, &y->wu, NULL));
        TRY(fc_op_silu_mul(&g, &g, &u));
        TRY(fc_op_linear(&o, &g, &y->wd, NULL));
        TRY(fc_op_add(&x, &x, &o));
    }
    /* the last token of each sequence: rows Tq-1, 2Tq-1, ... (all rows when Tq is 1) */
    if (Tq == 1) {
        fc_tensor lg = rows_view(&m->logits, 0, B, c->V, 0);
        TRY(fc_op_rmsnorm(&h, &x, &m->lnf, c->eps));
        TRY(fc_op_linear(&lg, &h, &m->lm, NULL));
    } else {
        for (int b = 0; b < B; b++) {
            fc_tensor xl = rows_view(&m->x, (int64_t)b * Tq + Tq - 1, 1, C, 0), hl = rows_view(&m->h, 0, 1, C, 0);
            fc_tensor lg = rows_view(&m->logits, b, 1, c->V, 0);
            TRY(fc_op_rmsnorm(&hl, &xl, &m->lnf, c->eps));
            TRY(fc_op_linear(&lg, &hl, &m->lm, NULL));
        }
    }
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void emit(FILE *csv, const char *device, const char *model, int layers, const char *what, int batch, int tokens,
                 int ctx, double best_s, double med_s, double tok_s, const char *rate_name, double rate) {
    printf("%s batch=%d tokens=%d ctx=%d best_s=%.6f median_s=%.6f tok_s=%.1f %s=%.1f\n", what, batch, tokens, ctx,
           best_s, med_s, tok_s, rate_name, rate);
    if (csv)
        fprintf(csv, "%s,%s,%d,ours,%s,%d,%d,%d,%.6f,%.6f,%.1f,%s,%.1f\n", device, model, layers, what, batch, tokens,
                ctx, best_s, med_s, tok_s, rate_name, rate);
}

/* --check: the same random model (same seed) on the CPU (f32 activations, the reference ops) and on the
 * GPU (bf16 activations and caches): a prefill of 70 tokens at batch 2, then 3 decode steps; the logits of
 * every step compared. bf16 activations round each layer's input and output (relative 2^-9 each), so the
 * bound is loose: max |diff| <= 0.05 * max |logit| + 0.02, and the argmax agreeing on at least 3 of every 4
 * rows; a wrong index or layout moves logits by their own size. On each side the last step's logits are
 * also compared with one prefill of the prompt and the decoded tokens together. --check-cpu runs the CPU
 * side alone (a dry run of the layer loop where no GPU is). */
static int run_check(const cfg *c, bool cpu_only) {
    enum { B = 2, TP = 70, STEPS = 3 }; /* 70 >= 64: the prefills take the cuBLAS path on the GPU */
    int64_t nbs = (TP + STEPS + BS - 1) / BS + 1;
    float *ref[1 + STEPS] = {0};
    int worst = 0;
    for (int side = 0; side < (cpu_only ? 1 : 2); side++) {
        g_dev = side == 0 ? FC_DEVICE_CPU : FC_DEVICE_CUDA;
        g_adt = side == 0 ? FC_DTYPE_F32 : FC_DTYPE_BF16;
        if (side == 1 && fc_cuda_device_count() == 0) {
            fprintf(stderr, "gpu_bench: error: no GPU: %s\n", fc_cuda_describe());
            return 1;
        }
        rng = 0x9e3779b97f4a7c15ull;
        model m;
        model_create(&m, c, B * nbs, B * (TP + STEPS));
        for (int s = 0; s <= STEPS; s++) {
            if (s == 0) forward(&m, B, TP, 0, nbs);
            else forward(&m, B, 1, TP + s - 1, nbs);
            fc_tensor lg = rows_view(&m.logits, 0, B, c->V, 0), host;
            TRY(fc_tensor_to(&host, &lg, FC_DEVICE_CPU, FC_DTYPE_F32));
            const float *p = host.data;
            if (side == 0) {
                ref[s] = malloc(sizeof(float) * B * c->V);
                if (!ref[s]) exit(1);
                memcpy(ref[s], p, sizeof(float) * B * c->V);
                int finite = 1;
                for (int64_t i = 0; i < (int64_t)B * c->V; i++) finite &= isfinite(p[i]) != 0;
                printf("check cpu step=%d finite=%d logit0=%.6f\n", s, finite, p[0]);
                if (!finite) worst = 1;
            } else {
                double maxd = 0, maxr = 0;
                int agree = 0;
                for (int b = 0; b < B; b++) {
                    int ag = 0, ar = 0;
                    for (int64_t v = 0; v < c->V; v++) {
                        const float *r = ref[s] + (int64_t)b * c->V, *g = p + (int64_t)b * c->V;
                        double d = fabs((double)g[v] - r[v]);
                        if (!(d <= maxd)) maxd = d;
                        if (fabs(r[v]) > maxr) maxr = fabs(r[v]);
                        if (g[v] > g[ag]) ag = (int)v;
                        if (r[v] > r[ar]) ar = (int)v;
                    }
                    agree += ag == ar;
                }
                bool ok = maxd <= 0.05 * maxr + 0.02 && agree * 4 >= B * 3;
                printf("check gpu-vs-cpu step=%d max_abs_diff=%.5f max_abs_logit=%.5f argmax_agree=%d/%d %s\n", s,
                       maxd, maxr, agree, B, ok ? "ok" : "FAIL");
                if (!ok) worst = 1;
            }
            fc_tensor_free(&host);
        }
        /* the whole prompt and the decoded tokens as one prefill: the same last-token logits (the cache
         * writes, positions and block tables of the decode steps checked against the prefill path) */
        float *last = malloc(sizeof(float) * B * c->V);
        if (!last) exit(1);
        fc_tensor lg = rows_view(&m.logits, 0, B, c->V, 0), host;
        TRY(fc_tensor_to(&host, &lg, FC_DEVICE_CPU, FC_DTYPE_F32));
        memcpy(last, host.data, sizeof(float) * B * c->V);
        fc_tensor_free(&host);
        forward(&m, B, TP + STEPS, 0, nbs);
        TRY(fc_tensor_to(&host, &lg, FC_DEVICE_CPU, FC_DTYPE_F32));
        double maxd = 0, maxr = 0;
        for (int64_t i = 0; i < (int64_t)B * c->V; i++) {
            double d = fabs((double)((float *)host.data)[i] - last[i]);
            if (!(d <= maxd)) maxd = d;
            if (fabs(last[i]) > maxr) maxr = fabs(last[i]);
        }
        fc_tensor_free(&host);
        free(last);
        /* f32 on the CPU: summation order only; bf16 on the GPU: the bound above */
        bool ok = side == 0 ? maxd <= 1e-4 * maxr + 1e-5 : maxd <= 0.05 * maxr + 0.02;
        printf("check %s decode-vs-prefill max_abs_diff=%.6g max_abs_logit=%.5f %s\n", side == 0 ? "cpu" : "gpu",
               maxd, maxr, ok ? "ok" : "FAIL");
        if (!ok) worst = 1;
        model_free(&m);
    }
    for (int s = 0; s <= STEPS; s++) free(ref[s]);
    printf("check: %s\n", worst ? "FAIL" : "ok");
    return worst;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: gpu_bench vicuna7b|qwen2-7b [--layers N] [--prompt T] [--ctx C] [--steps S] "
                        "[--batches 1,16,64] [--reps R] [--csv FILE] [--device NAME]\n");
        return 2;
    }
    const cfg *c = NULL;
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++)
        if (!strcmp(argv[1], cfgs[i].name)) c = &cfgs[i];
    if (!c) {
        fprintf(stderr, "gpu_bench: error: unknown model '%s' (vicuna7b, qwen2-7b)\n", argv[1]);
        return 2;
    }
    cfg cf = *c;
    int prompt = 1024, ctx = 512, steps = 32, reps = 3, batches[8] = {1, 16, 64}, nb = 3;
    const char *csv_path = NULL, *device = "unknown";
    bool check = false, cpu_only = false;
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(k, "--check") || !strcmp(k, "--check-cpu")) {
            check = true, cpu_only = !strcmp(k, "--check-cpu");
            i--;
            continue;
        }
        if (!strcmp(k, "--layers")) cf.L = atoi(v);
        else if (!strcmp(k, "--prompt")) prompt = atoi(v);
        else if (!strcmp(k, "--ctx")) ctx = atoi(v);
        else if (!strcmp(k, "--steps")) steps = atoi(v);
        else if (!strcmp(k, "--reps")) reps = atoi(v);
        else if (!strcmp(k, "--csv")) csv_path = v;
        else if (!strcmp(k, "--device")) device = v;
        else if (!strcmp(k, "--batches")) {
            nb = 0;
            for (const char *p = v; *p && nb < 8; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
                batches[nb++] = atoi(p);
        } else {
            fprintf(stderr, "gpu_bench: error: unknown option %s\n", k);
            return 2;
        }
    }
    if (cf.L < 1 || prompt < 1 || ctx < 0 || steps < 1 || reps < 1 || nb < 1) {
        fprintf(stderr, "gpu_bench: error: layers, prompt, steps, reps must be >= 1\n");
        return 2;
    }
    if (check) return run_check(&cf, cpu_only);
    if (fc_cuda_device_count() == 0) {
        fprintf(stderr, "gpu_bench: error: no GPU: %s\n", fc_cuda_describe());
        return 1;
    }
    int maxB = 1;
    for (int i = 0; i < nb; i++) maxB = batches[i] > maxB ? batches[i] : maxB;
    int64_t nbs_dec = (ctx + steps + 2 + BS - 1) / BS + 1, nbs_pre = (prompt + BS - 1) / BS;
    int64_t n_blocks = maxB * nbs_dec > nbs_pre ? maxB * nbs_dec : nbs_pre;
    int64_t max_T = prompt > maxB ? prompt : maxB;
    double t0 = fc_time_now();
    model m;
    model_create(&m, &cf, n_blocks, max_T);
    TRY(fc_cuda_sync());
    printf("model=%s layers=%d hidden=%d heads=%d/%d vocab=%d weights_gb=%.2f kv_pool_rows=%lld setup_s=%.1f\n",
           cf.name, cf.L, cf.C, cf.H, cf.Hkv, cf.V, m.weight_bytes / 1e9, (long long)(n_blocks * BS),
           fc_time_now() - t0);
    printf("device: %s\n", fc_cuda_describe());
    FILE *csv = csv_path ? fopen(csv_path, "a") : NULL;
    double params = m.weight_bytes / 2;
    double *times = malloc(sizeof(double) * (size_t)(reps > steps ? reps : steps));
    if (!times) return 1;

    /* prefill: batch 1, `prompt` tokens from an empty cache; one untimed run first */
    forward(&m, 1, prompt, 0, nbs_pre);
    TRY(fc_cuda_sync());
    for (int r = 0; r < reps; r++) {
        double s = fc_time_now();
        forward(&m, 1, prompt, 0, nbs_pre);
        TRY(fc_cuda_sync());
        times[r] = fc_time_now() - s;
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_d);
    /* GEMM FLOPs only (2 per weight per token; attention's are extra) */
    emit(csv, device, cf.name, cf.L, "prefill", 1, prompt, 0, times[0], times[reps / 2], prompt / times[0],
         "gemm_tflops", 2.0 * params * prompt / times[0] / 1e12);

    /* decode: each batch, `steps` timed single-token steps after one untimed, each at ctx entries */
    for (int bi = 0; bi < nb; bi++) {
        int B = batches[bi];
        forward(&m, B, 1, ctx, nbs_dec);
        TRY(fc_cuda_sync());
        for (int s = 0; s < steps; s++) {
            double st = fc_time_now();
            forward(&m, B, 1, ctx + 1 + s, nbs_dec);
            TRY(fc_cuda_sync());
            times[s] = fc_time_now() - st;
        }
        double total = 0;
        for (int s = 0; s < steps; s++) total += times[s];
        qsort(times, (size_t)steps, sizeof *times, cmp_d);
        char what[32];
        snprintf(what, sizeof what, "decode");
        /* weight bytes read per second at the mean step time (the batch-1 target is 1.3x one HBM read) */
        emit(csv, device, cf.name, cf.L, what, B, steps, ctx, times[0], times[steps / 2], B * steps / total,
             "weight_gb_s", m.weight_bytes / (total / steps) / 1e9);
    }
    if (csv) fclose(csv);
    free(times);
    model_free(&m);
    return 0;
}
