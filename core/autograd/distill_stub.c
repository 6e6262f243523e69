/* distill_stub.c: placeholder bodies while the step is being written (API commit only). */
#include "core/autograd/distill.h"

fc_err fc_distill_create(fc_llm *m, int max_tokens, fc_distill **out) {
    (void)m, (void)max_tokens;
    *out = NULL;
    return fc_err_set(FC_EUNSUPPORTED, "distill: not implemented yet");
}
void fc_distill_free(fc_distill *d) { (void)d; }
fc_err fc_distill_check_sample(const fc_distill *d, const fc_distill_sample *s) {
    (void)d, (void)s;
    return fc_err_set(FC_EUNSUPPORTED, "distill: not implemented yet");
}
fc_err fc_distill_teacher_run(fc_distill *d, const fc_distill_sample *s, bool with_hidden, fc_distill_teacher *t) {
    (void)d, (void)s, (void)with_hidden, (void)t;
    return fc_err_set(FC_EUNSUPPORTED, "distill: not implemented yet");
}
void fc_distill_teacher_free(fc_distill_teacher *t) { (void)t; }
fc_err fc_distill_step(fc_distill *d, fc_ccm_train *c, const fc_distill_teacher *t, const fc_distill_opts *opts,
                       fc_distill_stats *st) {
    (void)d, (void)c, (void)t, (void)opts, (void)st;
    return fc_err_set(FC_EUNSUPPORTED, "distill: not implemented yet");
}
