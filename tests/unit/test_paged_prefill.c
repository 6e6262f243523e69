/* test_paged_prefill.c: the sgemm prefill path of the CPU paged attention (kernels/cpu/paged_prefill.c)
 * against attention computed from its definition in f64 (softmax(q k^T * scale) v, query i of n_q new
 * tokens sees cache entries [0, n_keys - n_q + i], head h reads kv head h / (H / Hkv)), through
 * fc_op_paged_attention: several query tiles with a ragged last one, after a cached past, MHA and GQA,
 * scattered block tables, a prefill sequence next to a decode one in the same call. */
#include <string.h>

#include "kernels/cpu/paged_prefill.h"
#include "kernels/ops.h"
#include "tests/test.h"

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* out rows of one sequence whose keys/values are given contiguous (S, Hkv, D), by the definition. */
static void reference(float *out, const float *q, const float *k, const float *v, int nq, int S, int H, int Hkv,
                      int D, float scale) {
    double *p = malloc((size_t)S * sizeof(double));
    for (int i = 0; i < nq; i++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / Hkv), send = S - nq + i + 1;
            double mx = -1e300, sum = 0;
            for (int s = 0; s < send; s++) {
                double d = 0;
                for (int c = 0; c < D; c++) d += (double)q[(i * H + h) * D + c] * k[(s * Hkv + kh) * D + c];
                p[s] = d * scale;
                if (p[s] > mx) mx = p[s];
            }
            for (int s = 0; s < send; s++) sum += (p[s] = exp(p[s] - mx));
            for (int c = 0; c < D; c++) {
                double o = 0;
                for (int s = 0; s < send; s++) o += p[s] / sum * v[(s * Hkv + kh) * D + c];
                out[(i * H + h) * D + c] = (float)o;
            }
        }
    free(p);
}

/* Two sequences: seq 0 with nq new tokens of nk entries, seq 1 a single decode token over 20 entries. */
static void check(fc_test *t, int H, int Hkv, int D, int bs, int nq, int nk) {
    int nq_s[2] = {nq, 1}, nk_s[2] = {nk, 20}, T = nq + 1;
    int nb0 = (nk + bs - 1) / bs, NB = nb0 + (20 + bs - 1) / bs + 2;
    size_t row = (size_t)Hkv * D;
    unsigned seed = (unsigned)(H * 7 + nq);
    float *kc = malloc((size_t)NB * bs * row * sizeof(float)), *vc = malloc((size_t)NB * bs * row * sizeof(float));
    float *q = malloc((size_t)T * H * D * sizeof(float)), *out = malloc((size_t)T * H * D * sizeof(float));
    float *want = malloc((size_t)T * H * D * sizeof(float));
    float *k = malloc((size_t)nk * row * sizeof(float)), *v = malloc((size_t)nk * row * sizeof(float));
    int32_t *blocks = malloc((size_t)NB * sizeof(int32_t));
    for (int i = 0; i < NB; i++) blocks[i] = (int32_t)((i * 5 + 3) % NB); /* NB is never a multiple of 5 here */
    for (size_t i = 0; i < (size_t)NB * bs * row; i++) kc[i] = frand(&seed), vc[i] = frand(&seed);
    for (size_t i = 0; i < (size_t)T * H * D; i++) q[i] = frand(&seed);
    fc_paged_seq seqs[2] = {{.q_start = 0, .n_q = nq, .n_keys = nk, .blocks = blocks},
                            {.q_start = nq, .n_q = 1, .n_keys = 20, .blocks = blocks + nb0}};
    float scale = 1.0f / sqrtf((float)D);
    fc_tensor tq = fc_tensor_view(q, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){T, H, D});
    fc_tensor to = fc_tensor_view(out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, H * D});
    int64_t cs[4] = {NB, bs, Hkv, D};
    fc_tensor tk = fc_tensor_view(kc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, cs), tv = fc_tensor_view(vc, FC_DTYPE_F32, FC_DEVICE_CPU, 4, cs);
    fc_err e = fc_op_paged_attention(&to, &tq, &tk, &tv, seqs, 2, scale);
    FC_CHECK(t, !e, "H %d Hkv %d: %s", H, Hkv, e ? fc_errmsg() : "");
    for (int s = 0; !e && s < 2; s++) {
        for (int i = 0; i < nk_s[s]; i++) { /* gather through the block table, by definition of the layout */
            size_t src = ((size_t)seqs[s].blocks[i / bs] * bs + i % bs) * row;
            memcpy(k + i * row, kc + src, row * sizeof(float));
            memcpy(v + i * row, vc + src, row * sizeof(float));
        }
        size_t off = (size_t)seqs[s].q_start * H * D, n = (size_t)nq_s[s] * H * D;
        reference(want + off, q + off, k, v, nq_s[s], nk_s[s], H, Hkv, D, scale);
        char what[96];
        snprintf(what, sizeof what, "H %d Hkv %d D %d bs %d seq %d (%d new of %d)", H, Hkv, D, bs, s, nq_s[s], nk_s[s]);
        /* as test_paged_attention: f32 dots of D values in [-1, 1] and a softmax over <= 200 keys: ~1e-6 */
        fc_test_close(t, what, out + off, want + off, n, 2e-6, 2e-6);
    }
    free(kc), free(vc), free(q), free(out), free(want), free(k), free(v), free(blocks);
}

static void test_paged_prefill_matches_definition(fc_test *t) {
    FC_CHECK(t, 150 >= FC_PAGED_PREFILL_MIN_Q && FC_PAGED_PREFILL_MIN_Q > 1, "threshold %d", FC_PAGED_PREFILL_MIN_Q);
    check(t, 4, 4, 32, 16, 150, 150);     /* MHA prefill: tiles of 64, 64, 22 */
    check(t, 4, 4, 32, 16, 130, 197);     /* MHA chunk after a 67-entry past */
    check(t, 14, 2, 24, 8, 129, 160);     /* GQA group 7, one-row last tile */
    check(t, 6, 3, 16, 5, FC_PAGED_PREFILL_MIN_Q, FC_PAGED_PREFILL_MIN_Q + 9); /* at the threshold, odd bs */
}

static const fc_test_case cases[] = {FC_CASE(test_paged_prefill_matches_definition)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
