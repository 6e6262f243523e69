/* attention_prefix.c: causal GQA attention of T new tokens over [a head-major prefix cache; their own
 * K/V], forward and backward (see cpu_backward.h), for the student of the distillation step: the prefix
 * is the CCM-compressed cache (Hkv, P, D), the new tokens' K/V are rows (T, Hkv, D) as the projections
 * write them.
 *
 * Per query head, scores (T, P + T) are two single-threaded sgemms (prefix part, new part) with
 * alpha = scale, the softmax runs row by row (query t sees P + t + 1 keys; masked entries are exact
 * zeros), and out = probs . v is two more sgemms. The backward recomputes the probabilities from the
 * saved log-sum-exp (flash-attention style: nothing of size (H, T, P + T) is kept between passes):
 *   dP = dO v^T,  dS = P * (dP - rowsum(dO * O)),  dq = scale dS k,  dk += scale dS^T q,  dv += P^T dO.
 * The forward spreads query heads over threads (disjoint output columns); the backward spreads kv heads
 * (each owns its dK, dV slices, so the heads of one GQA group add up without atomics).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

static void scores(float *s, const float *qh, int64_t ldq, const float *kp, int64_t P, const float *kn, int64_t ldkn,
                   int64_t T, int64_t D, float scale) {
    int64_t S = P + T;
    if (P > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)P, (int)D, scale, qh, (int)ldq, kp, (int)D,
                    0.0f, s, (int)S);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, scale, qh, (int)ldq, kn, (int)ldkn,
                0.0f, s + P, (int)S);
}

fc_err fc_cpu_attention_prefix_fwd(float *out, float *lse, const float *q, const float *kp, const float *vp,
                                   int64_t P, const float *kn, const float *vn, int64_t T, int64_t H, int64_t Hkv,
                                   int64_t D, float scale) {
    fc_cpu_blas_init();
    int64_t S = P + T, grp = H / Hkv;
    fc_err err = FC_OK;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t h = 0; h < H; h++) {
        float *s = fc_cpu_scratch(1, (size_t)(T * S));
        if (!s) {
#pragma omp critical
            err = FC_ENOMEM;
            continue;
        }
        int64_t g = h / grp;
        scores(s, q + h * D, H * D, kp + g * P * D, P, kn + g * D, Hkv * D, T, D, scale);
        for (int64_t t = 0; t < T; t++) {
            float *row = s + t * S;
            int64_t vis = P + t + 1;
            float mx = -INFINITY;
            for (int64_t j = 0; j < vis; j++) mx = row[j] > mx ? row[j] : mx;
            float sum = fc_cpu_exp_sub_sum(row, mx, vis);
            float inv = 1.0f / sum;
            for (int64_t j = 0; j < vis; j++) row[j] *= inv;
            for (int64_t j = vis; j < S; j++) row[j] = 0.0f;
            lse[t * H + h] = mx + logf(sum);
        }
        float *oh = out + h * D;
        if (P > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)P, 1.0f, s, (int)S,
                        vp + g * P * D, (int)D, 0.0f, oh, (int)(H * D));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f, s + P, (int)S,
                    vn + g * D, (int)(Hkv * D), P > 0 ? 1.0f : 0.0f, oh, (int)(H * D));
    }
    return err;
}

fc_err fc_cpu_attention_prefix_bwd(float *dq, float *dkp, float *dvp, float *dkn, float *dvn, const float *dout,
                                   const float *q, const float *kp, const float *vp, int64_t P, const float *kn,
                                   const float *vn, const float *out, const float *lse, int64_t T, int64_t H,
                                   int64_t Hkv, int64_t D, float scale) {
    fc_cpu_blas_init();
    int64_t S = P + T, grp = H / Hkv;
    fc_err err = FC_OK;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t g = 0; g < Hkv; g++) {
        float *pm = fc_cpu_scratch(1, (size_t)(2 * T * S + T));
        if (!pm) {
#pragma omp critical
            err = FC_ENOMEM;
            continue;
        }
        float *dp = pm + T * S, *dsum = dp + T * S;
        float *dkp_g = dkp ? dkp + g * P * D : NULL, *dvp_g = dvp ? dvp + g * P * D : NULL;
        if (P > 0) {
            memset(dkp_g, 0, sizeof(float) * (size_t)(P * D));
            memset(dvp_g, 0, sizeof(float) * (size_t)(P * D));
        }
        for (int64_t t = 0; t < T; t++) {
            memset(dkn + (t * Hkv + g) * D, 0, sizeof(float) * (size_t)D);
            memset(dvn + (t * Hkv + g) * D, 0, sizeof(float) * (size_t)D);
        }
        const float *kp_g = kp + g * P * D, *vp_g = vp + g * P * D, *kn_g = kn + g * D, *vn_g = vn + g * D;
        for (int64_t h = g * grp; h < (g + 1) * grp; h++) {
            const float *qh = q + h * D, *doh = dout + h * D, *oh = out + h * D;
            scores(pm, qh, H * D, kp_g, P, kn_g, Hkv * D, T, D, scale);
            for (int64_t t = 0; t < T; t++) {
                float *row = pm + t * S, l = lse[t * H + h];
                int64_t vis = P + t + 1;
                for (int64_t j = 0; j < vis; j++) row[j] = expf(row[j] - l);
                for (int64_t j = vis; j < S; j++) row[j] = 0.0f;
                double acc = 0;
                for (int64_t d = 0; d < D; d++) acc += (double)doh[t * H * D + d] * oh[t * H * D + d];
                dsum[t] = (float)acc;
            }
            /* dP = dO v^T */
            if (P > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)P, (int)D, 1.0f, doh, (int)(H * D),
                            vp_g, (int)D, 0.0f, dp, (int)S);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, 1.0f, doh, (int)(H * D), vn_g,
                        (int)(Hkv * D), 0.0f, dp + P, (int)S);
            /* dv += P^T dO (before dP is overwritten by dS) */
            if (P > 0)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)P, (int)D, (int)T, 1.0f, pm, (int)S, doh,
                            (int)(H * D), 1.0f, dvp_g, (int)D);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f, pm + P, (int)S, doh,
                        (int)(H * D), 1.0f, dvn + g * D, (int)(Hkv * D));
            /* dS = P * (dP - dsum) */
            for (int64_t t = 0; t < T; t++)
                for (int64_t j = 0; j < S; j++) dp[t * S + j] = pm[t * S + j] * (dp[t * S + j] - dsum[t]);
            /* dq = scale dS k (overwrites dq's head h), dk += scale dS^T q */
            float *dqh = dq + h * D;
            if (P > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)P, scale, dp, (int)S, kp_g,
                            (int)D, 0.0f, dqh, (int)(H * D));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, scale, dp + P, (int)S, kn_g,
                        (int)(Hkv * D), P > 0 ? 1.0f : 0.0f, dqh, (int)(H * D));
            if (P > 0)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)P, (int)D, (int)T, scale, dp, (int)S, qh,
                            (int)(H * D), 1.0f, dkp_g, (int)D);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)D, (int)T, scale, dp + P, (int)S, qh,
                        (int)(H * D), 1.0f, dkn + g * D, (int)(Hkv * D));
        }
    }
    return err;
}
