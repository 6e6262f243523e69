/* test_paged_attention.c: fc_op_paged_attention against attention computed from its definition in f64
 * (softmax(q k^T * scale) v with the causal-by-index mask, GQA head h -> kv head h / (H / Hkv)), on
 * scattered block tables, several sequences at once, group sizes 1..7 (every chunk width of the kernel),
 * prefill chunks after a cached past, and the argument checks. */
#include <string.h>

#include "kernels/ops.h"
#include "tests/test.h"

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Reference for one sequence: keys/values given contiguous (S, Hkv, D). */
static void reference(double *out, const float *q, const float *k, const float *v, int nq, int S, int H, int Hkv,
                      int D, float scale) {
    int group = H / Hkv;
    double *p = malloc((size_t)S * sizeof(double));
    for (int i = 0; i < nq; i++)
        for (int h = 0; h < H; h++) {
            int kh = h / group, send = S - nq + i + 1;
            double mx = -1e300, sum = 0;
            for (int s = 0; s < send; s++) {
                double d = 0;
                for (int c = 0; c < D; c++) d += (double)q[(i * H + h) * D + c] * k[(s * Hkv + kh) * D + c];
                p[s] = d * scale;
                if (p[s] > mx) mx = p[s];
            }
            for (int s = 0; s < send; s++) sum += (p[s] = exp(p[s] - mx));
            for (int c = 0; c < D; c++) {
                double acc = 0;
                for (int s = 0; s < send; s++) acc += p[s] / sum * v[(s * Hkv + kh) * D + c];
                out[(i * H + h) * D + c] = acc;
            }
        }
    free(p);
}

/* n_seqs sequences with (n_q, n_keys) each, blocks handed out in a shuffled order. */
static void check_case(fc_test *t, int H, int Hkv, int D, int bs, int n_seqs, const int *nq, const int *nk) {
    unsigned seed = (unsigned)(H * 131 + Hkv * 17 + D + bs);
    int NB = 0, T = 0;
    for (int s = 0; s < n_seqs; s++) NB += (nk[s] + bs - 1) / bs, T += nq[s];
    NB += 3; /* unused blocks in between */
    size_t row = (size_t)Hkv * D;
    float *kc = calloc((size_t)NB * bs * row, sizeof(float)), *vc = calloc((size_t)NB * bs * row, sizeof(float));
    float *q = malloc((size_t)T * H * D * sizeof(float)), *out = malloc((size_t)T * H * D * sizeof(float));
    int32_t *perm = malloc((size_t)NB * sizeof(int32_t));
    for (int i = 0; i < NB; i++) perm[i] = i;
    for (int i = NB - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (unsigned)(i + 1));
        int32_t x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    for (size_t i = 0; i < (size_t)NB * bs * row; i++) kc[i] = frand(&seed), vc[i] = frand(&seed);
    for (size_t i = 0; i < (size_t)T * H * D; i++) q[i] = frand(&seed);
    fc_paged_seq seqs[8];
    int used = 0, r = 0;
    for (int s = 0; s < n_seqs; s++) {
        seqs[s] = (fc_paged_seq){.q_start = r, .n_q = nq[s], .n_keys = nk[s], .blocks = perm + used};
        used += (nk[s] + bs - 1) / bs;
        r += nq[s];
    }
    float scale = 1.0f / sqrtf((float)D);
    fc_tensor tq = fc_tensor_view(q, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){T, H, D});
    fc_tensor to = fc_tensor_view(out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, H * D});
    int64_t cs[4] = {NB, bs, Hkv, D};
    fc_tensor tk = fc_tensor_view(kc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, cs), tv = fc_tensor_view(vc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, cs);
    fc_err e = fc_op_paged_attention(&to, &tq, &tk, &tv, seqs, n_seqs, scale);
    if (e) fc_test_fail(t, "H %d Hkv %d D %d: %s", H, Hkv, D, fc_errmsg());
    for (int s = 0; !e && s < n_seqs; s++) {
        /* gather the sequence's keys contiguously through its block table, by definition of the layout */
        float *k = malloc((size_t)nk[s] * row * sizeof(float)), *v = malloc((size_t)nk[s] * row * sizeof(float));
        for (int i = 0; i < nk[s]; i++) {
            size_t src = ((size_t)seqs[s].blocks[i / bs] * bs + i % bs) * row;
            memcpy(k + i * row, kc + src, row * sizeof(float));
            memcpy(v + i * row, vc + src, row * sizeof(float));
        }
        double *want = malloc((size_t)nq[s] * H * D * sizeof(double));
        reference(want, q + (size_t)seqs[s].q_start * H * D, k, v, nq[s], nk[s], H, Hkv, D, scale);
        float *wf = malloc((size_t)nq[s] * H * D * sizeof(float));
        for (size_t i = 0; i < (size_t)nq[s] * H * D; i++) wf[i] = (float)want[i];
        char what[96];
        snprintf(what, sizeof what, "H %d Hkv %d D %d bs %d seq %d (%d new of %d)", H, Hkv, D, bs, s, nq[s], nk[s]);
        /* f32 dot products and softmax over <= 40 keys of values in [-1, 1]: error ~1e-6 */
        fc_test_close(t, what, out + (size_t)seqs[s].q_start * H * D, wf, (size_t)nq[s] * H * D, 2e-6, 2e-6);
        free(k), free(v), free(want), free(wf);
    }
    free(kc), free(vc), free(q), free(out), free(perm);
}

static void test_paged_attention_matches_definition(fc_test *t) {
    /* prefill (n_q = n_keys), chunk after a past, single decode tokens, an empty-query sequence */
    int nq[4] = {9, 5, 1, 0}, nk[4] = {9, 23, 40, 7};
    check_case(t, 4, 4, 16, 4, 4, nq, nk);  /* MHA: chunk width 1 */
    check_case(t, 4, 2, 24, 4, 4, nq, nk);  /* group 2 */
    check_case(t, 14, 2, 24, 16, 4, nq, nk); /* group 7: chunks of 4 and 3 */
    check_case(t, 5, 1, 8, 3, 4, nq, nk);   /* group 5: chunks of 4 and 1; odd block size */
    int nq1[1] = {33}, nk1[1] = {33};
    check_case(t, 28, 4, 128, 16, 1, nq1, nk1); /* Qwen2-7B head layout */
}

static void test_paged_attention_rejects_bad_arguments(fc_test *t) {
    float q[2 * 2 * 4] = {0}, out[2 * 8] = {0}, kc[3 * 2 * 1 * 4] = {0};
    int32_t blocks[2] = {0, 1};
    fc_tensor tq = fc_tensor_view(q, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){2, 2, 4});
    fc_tensor to = fc_tensor_view(out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){2, 8});
    fc_tensor tk = fc_tensor_view(kc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, (int64_t[]){3, 2, 1, 4});
    fc_paged_seq s = {.q_start = 0, .n_q = 2, .n_keys = 3, .blocks = blocks};
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &tk, &tk, &s, 1, 0.5f) == FC_OK, "%s", fc_errmsg());
    blocks[1] = 3;
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &tk, &tk, &s, 1, 0.5f) == FC_EINVAL &&
                    strstr(fc_errmsg(), "block table entry 1 is 3"),
             "%s", fc_errmsg());
    blocks[1] = 1;
    s.n_keys = 1;
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &tk, &tk, &s, 1, 0.5f) == FC_EINVAL, "fewer keys than queries");
    s.n_keys = 3, s.q_start = 1;
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &tk, &tk, &s, 1, 0.5f) == FC_EINVAL, "rows past T");
    s.q_start = 0;
    fc_tensor bad = fc_tensor_view(out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){2, 6});
    FC_CHECK(t, fc_op_paged_attention(&bad, &tq, &tk, &tk, &s, 1, 0.5f) == FC_ESHAPE, "out width");
    fc_tensor k3 = fc_tensor_view(kc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, (int64_t[]){3, 2, 3, 4}); /* H 2 % Hkv 3 */
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &k3, &k3, &s, 1, 0.5f) == FC_ESHAPE, "H %% Hkv");
    fc_tensor kh = fc_tensor_view(kc, FC_DTYPE_BF16, FC_DEVICE_CPU, 4, (int64_t[]){3, 2, 1, 4});
    FC_CHECK(t, fc_op_paged_attention(&to, &tq, &kh, &kh, &s, 1, 0.5f) == FC_EUNSUPPORTED, "bf16 cache on CPU");
}

static const fc_test_case cases[] = {
    FC_CASE(test_paged_attention_matches_definition),
    FC_CASE(test_paged_attention_rejects_bad_arguments),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
