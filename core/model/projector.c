/* projector.c: LLaVA's two-layer MLP projector (see projector.h). */
#include "core/model/projector.h"

#include "core/model/vit.h"
#include "kernels/wpack.h"

fc_err fc_projector_load(fc_projector *p, const fc_st_model *st, const char *prefix, const fc_model_config *cfg) {
    *p = (fc_projector){0};
    p->in_dim = cfg->vision.hidden_size;
    p->out_dim = cfg->text.hidden_size;
    p->act = cfg->projector_act;
    p->has_bias = cfg->projector_bias;
    const int64_t w1[2] = {p->out_dim, p->in_dim}, w2[2] = {p->out_dim, p->out_dim}, b[1] = {p->out_dim};
    FC_TRY(fc_vit_get_weight(&p->w1, st, prefix, "linear_1.weight", 2, w1));
    FC_TRY(fc_vit_get_weight(&p->w2, st, prefix, "linear_2.weight", 2, w2));
    if (p->has_bias) {
        FC_TRY(fc_vit_get_weight(&p->b1, st, prefix, "linear_1.bias", 1, b));
        FC_TRY(fc_vit_get_weight(&p->b2, st, prefix, "linear_2.bias", 1, b));
    }
    return FC_OK;
}

fc_err fc_projector_fwd(const fc_projector *p, const fc_tensor *x, fc_tensor *out) {
    const int64_t xs[2] = {-1, p->in_dim};
    FC_TRY(fc_vit_check_act(x, "projector input", 2, xs));
    const int64_t os[2] = {x->shape[0], p->out_dim};
    FC_TRY(fc_vit_check_act(out, "projector output", 2, os));
    fc_tensor mid = {0};
    FC_TRY(fc_tensor_create(&mid, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os));
    fc_err e = fc_op_linear(&mid, x, &p->w1, p->has_bias ? &p->b1 : NULL);
    if (!e) e = fc_op_act(&mid, &mid, p->act);
    if (!e) e = fc_op_linear(out, &mid, &p->w2, p->has_bias ? &p->b2 : NULL);
    fc_tensor_free(&mid);
    return e;
}

fc_err fc_projector_pack(fc_projector *p) {
    FC_TRY(fc_wpack_tensor(&p->w1));
    return fc_wpack_tensor(&p->w2);
}

void fc_projector_release(fc_projector *p) {
    fc_wpack_release(&p->w1);
    fc_wpack_release(&p->w2);
}
