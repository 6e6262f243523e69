/* optim.c: AdamW and global-norm clipping, written to round like torch's single-tensor kernels. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

fc_err fc_adamw_init(fc_adamw *o, size_t n, double beta1, double beta2, double eps, double weight_decay) {
    memset(o, 0, sizeof *o);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        return fc_err_set(FC_EINVAL, "adamw: betas (%g, %g) must lie in [0, 1)", beta1, beta2);
    if (!(eps > 0)) return fc_err_set(FC_EINVAL, "adamw: eps %g must be > 0", eps);
    if (!(weight_decay >= 0)) return fc_err_set(FC_EINVAL, "adamw: weight decay %g must be >= 0", weight_decay);
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        fc_adamw_free(o);
        return fc_err_set(FC_ENOMEM, "adamw: out of memory for the moments of %zu parameters", n);
    }
    o->beta1 = beta1, o->beta2 = beta2, o->eps = eps, o->weight_decay = weight_decay, o->n = n;
    return FC_OK;
}

void fc_adamw_free(fc_adamw *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

void fc_adamw_step(fc_adamw *o, float *params, const float *grads, double lr) {
    o->step++;
    /* torch computes the bias corrections as Python floats (double), then uses them as f32 scalars in
     * the tensor ops; the element-wise work is f32 */
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - lr * o->weight_decay);
    const float w1 = (float)(1.0 - o->beta1), b2 = (float)o->beta2, w2 = (float)(1.0 - o->beta2);
    const float eps = (float)o->eps;
    const int use_decay = o->weight_decay != 0;
    float *m = o->m, *v = o->v;
#pragma omp parallel for schedule(static) if (o->n > 65536)
    for (size_t i = 0; i < o->n; i++) {
        float g = grads[i];
        if (use_decay) params[i] *= decay;
        /* torch's vectorised lerp: fma(weight, end - start, start) for weight < 0.5, else
         * end - (end - start) * (1 - weight), also fused */
        m[i] = w1 < 0.5f ? fmaf(w1, g - m[i], m[i]) : fmaf(-(g - m[i]), 1.0f - w1, g);
        v[i] = v[i] * b2 + w2 * g * g; /* addcmul: value * t1 * t2, left to right */
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        params[i] += -step_size * (m[i] / denom);
    }
}

double fc_grad_clip_norm(float *grads, size_t n, double max_norm) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) {
            float c = (float)coef;
            for (size_t i = 0; i < n; i++) grads[i] *= c;
        }
    }
    return norm;
}
