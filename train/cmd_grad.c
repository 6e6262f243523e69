/* cmd_grad.c: `fc-train grad`: one step's loss and the gradient of every CCM weight, dropout off, written
 * to safetensors (tensor names as the checkpoint's, plus "loss"). The probe the tests compare with torch,
 * and what a user runs to see what a recipe's step does. The samples' losses are weighted by their
 * supervised tokens, as a training step of those samples weights them. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/base/cli.h"
#include "core/io/safetensors.h"
#include "core/model/vlm.h"
#include "data/dataset.h"
#include "train/commands.h"
#include "train/sample.h"

typedef struct {
    const char *model, *tokenizer, *ccm, *data, *images, *ids, *out, *loss, *position_rule;
    double tau;
    long threads;
} grad_opts;

static const fc_cli_option grad_table[] = {
    {"--model", "DIR", 1, "LLaVA-1.5 or MiniCPM-V-2.6 Hugging Face folder"},
    {"--tokenizer", "DIR", 1, "tokenizer folder (default: the model folder)"},
    {"--ccm", "CKPT", 1, "the compressor (a CCM checkpoint: fc-train's, or converted from FastCache)"},
    {"--data", "FILE", 1, "LLaVA conversation JSON"},
    {"--images", "DIR", 1, "image paths of FILE are relative to DIR"},
    {"--ids", "ID[,ID...]", 1, "the samples of the step"},
    {"--out", "F.safetensors", 1, "where the gradients and the loss go"},
    {"--loss", "NAME", 1, "kl (default) or fastcache"},
    {"--tau", "T", 1, "KL temperature (default 1)"},
    {"--position-rule", "RULE", 1, "original or compressed (default: the checkpoint's)"},
    {"--threads", "N", 1, "CPU threads (0 = all cores)"},
    {0}};

static fc_err parse(const fc_cli_args *a, grad_opts *o) {
    *o = (grad_opts){.loss = "kl", .tau = 1.0};
    o->model = fc_cli_value(a, "--model"), o->tokenizer = fc_cli_value(a, "--tokenizer");
    o->ccm = fc_cli_value(a, "--ccm"), o->data = fc_cli_value(a, "--data"), o->images = fc_cli_value(a, "--images");
    o->ids = fc_cli_value(a, "--ids"), o->out = fc_cli_value(a, "--out");
    o->position_rule = fc_cli_value(a, "--position-rule");
    if (fc_cli_value(a, "--loss")) o->loss = fc_cli_value(a, "--loss");
    FC_TRY(fc_cli_double(a, "--tau", 0.01, 100, &o->tau));
    FC_TRY(fc_cli_long(a, "--threads", 0, 4096, &o->threads));
    const char *need[][2] = {{o->model, "--model"}, {o->ccm, "--ccm"}, {o->data, "--data"}, {o->ids, "--ids"},
                             {o->out, "--out"}};
    for (size_t k = 0; k < sizeof need / sizeof *need; k++)
        if (!need[k][0]) return fc_err_set(FC_EINVAL, "missing %s (see fc-train grad --help)", need[k][1]);
    /* a folder would fail only at the write, after the step, with the temporary file's name */
    size_t out_len = strlen(o->out);
    struct stat st;
    if (!out_len || o->out[out_len - 1] == '/' || (stat(o->out, &st) == 0 && S_ISDIR(st.st_mode)))
        return fc_err_set(FC_EINVAL, "--out %s: a folder, not a file name (give e.g. %s%sgrad.safetensors)", o->out,
                          o->out, out_len && o->out[out_len - 1] == '/' ? "" : "/");
    return FC_OK;
}

/* Finds each comma-separated id of `ids` in the data; idx gets record indices (n of them). */
static fc_err pick(const fc_dataset *d, const char *ids, const char *where, int **idx, int *n) {
    int cap = 1;
    for (const char *c = ids; *c; c++) cap += *c == ',';
    *idx = calloc((size_t)cap, sizeof **idx);
    if (!*idx) return FC_ENOMEM;
    *n = 0;
    for (const char *c = ids; *n < cap;) {
        const char *end = strchr(c, ',');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        int hit = -1;
        for (int r = 0; r < d->n && hit < 0; r++)
            if (strlen(d->recs[r].id) == len && !memcmp(d->recs[r].id, c, len)) hit = r;
        if (hit < 0) return fc_err_set(FC_ENOTFOUND, "%s: no sample with id '%.*s'", where, (int)len, c);
        for (int j = 0; j < *n; j++) /* a repeated id would weigh its sample twice in the step's loss */
            if ((*idx)[j] == hit) return fc_err_set(FC_EINVAL, "--ids: id '%.*s' is given twice", (int)len, c);
        (*idx)[(*n)++] = hit;
        if (!end) break;
        c = end + 1;
    }
    return FC_OK;
}

static fc_err write_grads(const fc_ccm_train *c, const grad_opts *o, double loss, double kl, double top1, long sup) {
    fc_st_writer *w = NULL;
    FC_TRY(fc_st_writer_create(&w));
    float lossf = (float)loss;
    int64_t one = 1;
    fc_err e = fc_st_writer_add(w, "loss", FC_DTYPE_F32, 1, &one, &lossf);
    for (int k = 0; !e && k < c->n_tensors; k++) {
        const fc_ccm_param *p = &c->tensors[k];
        e = fc_st_writer_add(w, p->name, FC_DTYPE_F32, p->ndim, p->shape, c->grads + p->offset);
    }
    char b[4][48];
    snprintf(b[0], sizeof b[0], "%.17g", loss);
    snprintf(b[1], sizeof b[1], "%.17g", kl);
    snprintf(b[2], sizeof b[2], "%.17g", top1);
    snprintf(b[3], sizeof b[3], "%ld", sup);
    if (!e) e = fc_st_writer_meta(w, "loss", b[0]);
    if (!e) e = fc_st_writer_meta(w, "kl", b[1]);
    if (!e) e = fc_st_writer_meta(w, "top1", b[2]);
    if (!e) e = fc_st_writer_meta(w, "supervised_tokens", b[3]);
    if (!e) e = fc_st_writer_meta(w, "loss_name", o->loss);
    if (!e) e = fc_st_writer_meta(w, "ids", o->ids);
    if (!e) e = fc_st_writer_meta(w, "ccm", o->ccm);
    if (!e) e = fc_st_writer_write(w, o->out);
    fc_st_writer_free(w);
    return e;
}

static int run(const fc_cli_args *a) {
    grad_opts o;
    fc_err e = parse(a, &o);
    if (e) return fc_cli_fail(e);
    fc_distill_opts dopt = fc_distill_default_opts();
    dopt.tau = (float)o.tau;
    dopt.dropout = false;
    dopt.backward = true;
    if ((e = fc_distill_loss_from_name(o.loss, &dopt.loss))) return fc_cli_fail(e);
    if (o.position_rule) {
        if (!strcmp(o.position_rule, "original")) dopt.position_rule = FC_CCM_POS_ORIGINAL;
        else if (!strcmp(o.position_rule, "compressed")) dopt.position_rule = FC_CCM_POS_COMPRESSED;
        else return fc_cli_error("--position-rule: expected original or compressed, got '%s'", o.position_rule);
    }
    if (o.threads > 0) {
        omp_set_num_threads((int)o.threads);
        openblas_set_num_threads((int)o.threads);
    }
    fc_dataset data = {0};
    fc_vlm *vlm = NULL;
    fc_ccm_train *c = NULL;
    fc_distill *d = NULL;
    fc_distill_teacher teacher = {0};
    int *idx = NULL, n = 0;
    fc_train_sample *s = NULL;
    double loss = 0, kl = 0, top1 = 0;
    long sup = 0;
    fc_data_opts dopts = {.format = FC_DATA_LLAVA, .images_dir = o.images};
    if (!e) e = fc_dataset_read(o.data, &dopts, &data);
    if (!e) e = pick(&data, o.ids, o.data, &idx, &n);
    if (!e) e = fc_vlm_load(&vlm, o.model, o.tokenizer);
    if (!e) e = fc_ccm_train_load(o.ccm, 0, 0, &c);
    if (!e && (c->cfg.n_layers != vlm->cfg.text.num_layers || c->cfg.head_dim != vlm->cfg.text.head_dim))
        e = fc_err_set(FC_ESHAPE, "%s: the compressor is for %d layers of head dim %d; the model %s has %d layers of head dim %d",
                       o.ccm, c->cfg.n_layers, c->cfg.head_dim, o.model, vlm->cfg.text.num_layers, vlm->cfg.text.head_dim);
    if (!e) e = fc_distill_create(vlm->llm, 0, &d);
    if (!e && !(s = calloc((size_t)n, sizeof *s))) e = FC_ENOMEM;
    for (int k = 0; !e && k < n; k++) {
        e = fc_train_sample_prompt(vlm, &data.recs[idx[k]], o.data, &s[k]);
        if (!e) e = fc_train_sample_answers(vlm, &data.recs[idx[k]], o.data, &s[k]);
        fc_distill_sample v = fc_train_sample_view(&s[k]);
        char shown[160];
        if (!e && (e = fc_distill_check_sample(d, &v)))
            fc_err_prefix(e, "%s: sample '%s'", o.data, fc_data_id_for_message(s[k].id, shown, sizeof shown));
        if (!e) sup += s[k].n_sup;
    }
    if (!e) fc_ccm_train_zero_grad(c);
    for (int k = 0; !e && k < n; k++) {
        fc_distill_sample v = fc_train_sample_view(&s[k]);
        fc_distill_stats st;
        dopt.grad_scale = (float)((double)s[k].n_sup / (double)sup);
        e = fc_distill_teacher_run(d, &v, dopt.loss == FC_DISTILL_LOSS_FASTCACHE, &teacher);
        if (!e) e = fc_distill_step(d, c, &teacher, &dopt, &st);
        if (!e) loss += st.loss * st.n_sup, kl += st.kl * st.n_sup, top1 += st.top1 * st.n_sup;
    }
    if (!e) {
        loss /= (double)sup, kl /= (double)sup, top1 /= (double)sup;
        e = write_grads(c, &o, loss, kl, top1, sup);
    }
    if (!e)
        printf("loss %.9g kl %.9g top1 %.6g over %ld supervised tokens of %d sample(s); gradients of %d tensors "
               "(%zu weights) written to %s\n", loss, kl, top1, sup, n, c->n_tensors, c->n_params, o.out);
    for (int k = 0; s && k < n; k++) fc_train_sample_free(&s[k]);
    free(s);
    free(idx);
    fc_distill_teacher_free(&teacher);
    fc_distill_free(d);
    fc_ccm_train_free(c);
    fc_vlm_free(vlm);
    fc_dataset_free(&data);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_train_cmd_grad = {
    "grad", run, "one step's loss and the gradient of every compressor weight, to safetensors",
    "--model DIR --ccm CKPT --data FILE.json --images DIR --ids ID[,ID...] --out F.safetensors [options]",
    "One distillation step of the compressor CKPT on the samples ID... of FILE (dropout off): writes the\n"
    "gradient of every compressor weight (same names as the checkpoint) and the loss to F.safetensors and\n"
    "prints the loss, KL and top-1 agreement.",
    grad_table, 0, NULL};
