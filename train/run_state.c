/* run_state.c: the resume file of fc-train (see run_state.h). */
#include "train/run_state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/io/safetensors.h"

#define STATE_FORMAT "fastcache-train-state"

static fc_err meta_double(fc_st_writer *w, const char *k, double v) {
    char b[64];
    snprintf(b, sizeof b, "%a", v);
    return fc_st_writer_meta(w, k, b);
}

static fc_err meta_long(fc_st_writer *w, const char *k, long v) {
    char b[32];
    snprintf(b, sizeof b, "%ld", v);
    return fc_st_writer_meta(w, k, b);
}

fc_err fc_train_state_save(const fc_train_state *s, const char *path) {
    fc_st_writer *w = NULL;
    FC_TRY(fc_st_writer_create(&w));
    int64_t shape[1] = {(int64_t)s->n}, rshape[1] = {2};
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, s->seed);
    fc_err e = fc_st_writer_add(w, "params", FC_DTYPE_F32, 1, shape, s->params);
    if (!e) e = fc_st_writer_add(w, "adam.m", FC_DTYPE_F32, 1, shape, s->adam.m);
    if (!e) e = fc_st_writer_add(w, "adam.v", FC_DTYPE_F32, 1, shape, s->adam.v);
    /* RNG words as little-endian I32 pairs (the writer's integer dtype) */
    if (!e) e = fc_st_writer_add(w, "rng.dropout", FC_DTYPE_I32, 1, rshape, &s->rng_dropout);
    if (!e) e = fc_st_writer_meta(w, "format", STATE_FORMAT);
    if (!e) e = fc_st_writer_meta(w, "version", "1");
    if (!e) e = fc_st_writer_meta(w, "model_sig", s->model_sig);
    if (!e) e = fc_st_writer_meta(w, "data_sig", s->data_sig);
    if (!e) e = fc_st_writer_meta(w, "seed", seed);
    if (!e) e = meta_long(w, "step", s->step);
    if (!e) e = meta_long(w, "epoch", s->epoch);
    if (!e) e = meta_long(w, "pos", s->pos);
    if (!e) e = meta_long(w, "adam_step", s->adam.step);
    if (!e) e = meta_double(w, "sched_lr", s->sched.cur_lr);
    if (!e) e = meta_double(w, "sched_best", s->sched.best);
    if (!e) e = meta_long(w, "sched_bad", s->sched.num_bad);
    if (!e) e = meta_double(w, "best_val", s->best_val);
    if (!e) e = meta_long(w, "best_step", s->best_step);
    if (!e) e = meta_double(w, "first_val", s->first_val);
    if (!e) e = meta_double(w, "elapsed", s->elapsed);
    if (!e) e = fc_st_writer_write(w, path);
    fc_st_writer_free(w);
    return e;
}

static fc_err get_meta(const fc_st_file *f, const char *k, const char **out) {
    *out = fc_st_meta(f, k);
    if (!*out) return fc_err_set(FC_EFORMAT, "%s: not an fc-train state file (no '%s' in its metadata)", f->path, k);
    return FC_OK;
}

static fc_err get_long(const fc_st_file *f, const char *k, long lo, long *out) {
    const char *v;
    FC_TRY(get_meta(f, k, &v));
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo) return fc_err_set(FC_EFORMAT, "%s: metadata %s '%s' is not a valid count", f->path, k, v);
    *out = x;
    return FC_OK;
}

static fc_err get_double(const fc_st_file *f, const char *k, double *out) {
    const char *v;
    FC_TRY(get_meta(f, k, &v));
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || isnan(x)) return fc_err_set(FC_EFORMAT, "%s: metadata %s '%s' is not a number", f->path, k, v);
    *out = x;
    return FC_OK;
}

static fc_err get_vec(const fc_st_file *f, const char *name, fc_st_dtype dt, size_t n, const void **out) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return fc_err_set(FC_EFORMAT, "%s: no tensor '%s'", f->path, name);
    if (e->st_dtype != dt || e->ndim != 1 || (size_t)e->shape[0] != n)
        return fc_err_set(FC_ESHAPE, "%s: tensor '%s' is %s %s[%lld], expected %s[%zu]", f->path, name,
                          fc_st_dtype_name(e->st_dtype), e->ndim == 1 ? "" : "not 1-D ",
                          e->ndim ? (long long)e->shape[0] : 0LL, fc_st_dtype_name(dt), n);
    *out = e->data;
    return FC_OK;
}

fc_err fc_train_state_load(fc_train_state *s, const char *path, const char *want_model_sig,
                           const char *want_data_sig, size_t want_n, const fc_sched *sched,
                           const fc_adamw *adam_hyper) {
    memset(s, 0, sizeof *s);
    fc_st_file f;
    FC_TRY(fc_st_open(&f, path));
    fc_err e = FC_OK;
    const char *fmt = fc_st_meta(&f, "format"), *sig = NULL, *dsig = NULL, *seed = NULL;
    const void *p = NULL, *m = NULL, *v = NULL, *r1 = NULL;
    long adam_step = 0;
    if (!fmt || strcmp(fmt, STATE_FORMAT)) {
        e = fc_err_set(FC_EFORMAT, "%s: not an fc-train state file (metadata format is '%s', expected '%s')", path,
                       fmt ? fmt : "(none)", STATE_FORMAT);
        goto out;
    }
    if ((e = get_meta(&f, "model_sig", &sig)) || (e = get_meta(&f, "data_sig", &dsig)) || (e = get_meta(&f, "seed", &seed)))
        goto out;
    if (strcmp(sig, want_model_sig)) {
        e = fc_err_set(FC_EINVAL, "%s: the run was trained on another model or compressor layout (%s); this run is %s",
                       path, sig, want_model_sig);
        goto out;
    }
    if (strcmp(dsig, want_data_sig)) {
        e = fc_err_set(FC_EINVAL, "%s: the run was trained on other samples (ids hash %s, now %s): resume with the same "
                       "data, split and max_samples", path, dsig, want_data_sig);
        goto out;
    }
    if ((e = get_vec(&f, "params", FC_ST_F32, want_n, &p)) || (e = get_vec(&f, "adam.m", FC_ST_F32, want_n, &m)) ||
        (e = get_vec(&f, "adam.v", FC_ST_F32, want_n, &v)) || (e = get_vec(&f, "rng.dropout", FC_ST_I32, 2, &r1)))
        goto out;
    snprintf(s->model_sig, sizeof s->model_sig, "%s", sig);
    snprintf(s->data_sig, sizeof s->data_sig, "%s", dsig);
    s->seed = strtoull(seed, NULL, 10);
    s->sched = *sched;
    if ((e = get_long(&f, "step", 0, &s->step)) || (e = get_long(&f, "epoch", 0, &s->epoch)) ||
        (e = get_long(&f, "pos", 0, &s->pos)) || (e = get_long(&f, "adam_step", 0, &adam_step)) ||
        (e = get_double(&f, "sched_lr", &s->sched.cur_lr)) || (e = get_double(&f, "sched_best", &s->sched.best)) ||
        (e = get_long(&f, "sched_bad", 0, &s->sched.num_bad)) || (e = get_double(&f, "best_val", &s->best_val)) ||
        (e = get_long(&f, "best_step", -1, &s->best_step)) || (e = get_double(&f, "elapsed", &s->elapsed)))
        goto out;
    /* first_val may be NaN (never measured): read it without get_double's NaN check */
    const char *fv = fc_st_meta(&f, "first_val");
    s->first_val = fv ? strtod(fv, NULL) : NAN;
    memcpy(&s->rng_dropout, r1, sizeof s->rng_dropout);
    if ((e = fc_adamw_init(&s->adam, want_n, adam_hyper->beta1, adam_hyper->beta2, adam_hyper->eps,
                           adam_hyper->weight_decay)))
        goto out;
    s->adam.step = adam_step;
    s->n = want_n;
    s->params = fc_malloc((want_n ? want_n : 1) * sizeof(float), "resumed parameters");
    if (!s->params) {
        e = FC_ENOMEM;
        goto out;
    }
    memcpy(s->params, p, want_n * sizeof(float));
    memcpy(s->adam.m, m, want_n * sizeof(float));
    memcpy(s->adam.v, v, want_n * sizeof(float));
out:
    fc_st_close(&f);
    if (e) fc_train_state_free(s);
    return e;
}

void fc_train_state_free(fc_train_state *s) {
    if (!s) return;
    free(s->params);
    fc_adamw_free(&s->adam);
    memset(s, 0, sizeof *s);
}

char *fc_train_state_path(const char *ckpt) {
    size_t n = strlen(ckpt);
    const char *ext = ".safetensors";
    size_t el = strlen(ext);
    if (n >= el && !strcmp(ckpt + n - el, ext)) n -= el;
    char *p = fc_malloc(n + 32, "state path");
    if (p) snprintf(p, n + 32, "%.*s.state.safetensors", (int)n, ckpt);
    return p;
}

void fc_train_hash_strings(char out[17], const char *const *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *c = (const unsigned char *)s[i]; *c; c++) h = (h ^ *c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ["ab","c"] != ["a","bc"] */
    }
    snprintf(out, 17, "%016" PRIx64, h);
}
