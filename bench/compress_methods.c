/* compress_methods.c: time each KV compression method on LLaVA-1.5-7B-sized prefix KV, for
 * bench/compress_methods.sh (the peer, kvpress on the same sizes, is bench/compress_methods.py).
 *   compress_methods SPEC [L Hkv S D REPS]
 * Prints "<best seconds for all L layers> <sum of kept sizes>". Inputs are random (timing does not depend on
 * the values); the per-layer work counted is what the method does given its inputs, including the query
 * statistics ExpectedAttention computes from the pre-RoPE queries (the peer computes them inside too). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/compress/compress.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rnd(size_t n, unsigned *s) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; x && i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        x[i] = (float)(*s >> 8) / 16777216.0f - 0.5f;
    }
    return x;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: compress_methods SPEC [L Hkv S D REPS]\n");
        return 2;
    }
    int L = argc > 2 ? atoi(argv[2]) : 32, Hkv = argc > 3 ? atoi(argv[3]) : 32, S = argc > 4 ? atoi(argv[4]) : 600;
    int D = argc > 5 ? atoi(argv[5]) : 128, reps = argc > 6 ? atoi(argv[6]) : 3, H = Hkv, W = 64;
    fc_compress_method *m;
    if (fc_compress_create(argv[1], &m)) {
        fprintf(stderr, "compress_methods: %s\n", fc_errmsg());
        return 1;
    }
    unsigned seed = 1;
    size_t nkv = (size_t)Hkv * S * D;
    float *k = rnd(nkv, &seed), *v = rnd(nkv, &seed), *q_pre = rnd((size_t)H * S * D, &seed);
    float *q_win = rnd((size_t)H * W * D, &seed), *attn = rnd((size_t)H * S, &seed);
    float *ko = malloc(nkv * sizeof(float)), *vo = malloc(nkv * sizeof(float));
    int32_t *kept = malloc(sizeof(int32_t) * (size_t)Hkv * S);
    float *inv_freq = malloc(sizeof(float) * (size_t)D / 2);
    for (int i = 0; i < D / 2; i++) inv_freq[i] = (float)(1.0 / pow(10000.0, 2.0 * i / D));
    fc_compress_span span = {35, 35 + 576 < S ? 35 + 576 : S - 1}; /* LLaVA: the image after a short text */
    double best = 1e30;
    long total = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        total = 0;
        for (int l = 0; l < L; l++) {
            fc_compress_qstats qs = {0};
            if (fc_compress_needs(m) & FC_NEED_QSTATS)
                if (fc_compress_qstats_compute(&qs, q_pre, H, S, D, fc_compress_qstats_skip(m))) goto fail;
            fc_compress_inputs in = {.Hkv = Hkv, .H = H, .S = S, .D = D, .k = k, .v = v, .layer = l, .n_layers = L,
                                     .q_window = q_win, .n_window = W, .qstats = &qs, .inv_freq = inv_freq,
                                     .rope_scaling = 1, .attn_sum = attn, .spans = &span, .n_spans = 1};
            fc_compress_output o = {ko, vo, kept, 0, false};
            fc_err e = fc_compress_layer(m, &in, &o);
            fc_compress_qstats_free(&qs);
            if (e) goto fail;
            total += o.n_out;
        }
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("%.6f %ld\n", best, total);
    fc_compress_free(m);
    return 0;
fail:
    fprintf(stderr, "compress_methods: %s\n", fc_errmsg());
    return 1;
}
