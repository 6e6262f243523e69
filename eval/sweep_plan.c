/* sweep_plan.c: expanding a sweep config into runs. See sweep_plan.h and eval_config.h. */
#include "eval/sweep_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/compress/compress.h"
#include "kernels/wpack.h"

typedef struct {
    char **v;
    int n, cap;
    bool oom;
} argv_b;

static void arg(argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(argv_b *a, const char *fmt, ...) {
    if (a->oom) return;
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? 2 * a->cap : 48;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v) {
            a->oom = true;
            return;
        }
        a->v = v, a->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) {
        a->oom = true;
        return;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void argv_free(char **v) {
    for (int i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* The effective settings of one experiment: flags > experiment > global. */
typedef struct {
    const char *model, *tokenizer, *data, *images, *format, *checkpoint, *kv_budget;
    const fc_yaml_strings *methods, *ratios, *rates;
    const fc_yaml_sections *batching;
    long requests, max_new_tokens, kv_blocks, block_size, samples, seed;
    int arrival, ignore_eos, first_turn_only;
} eff;

#define PICK(o, e, g) ((o) ? (o) : (e) ? (e) : (g))

static eff resolve(const fc_sweep_config *c, const fc_sweep_experiment *x, const fc_sweep_overrides *o) {
    const fc_sweep_settings *s = &x->s, *g = &c->global;
    eff r = {
        .model = PICK(o->model, s->model, g->model), .tokenizer = PICK(o->tokenizer, s->tokenizer, g->tokenizer),
        .data = PICK(o->data, s->data, g->data), .images = PICK(o->images, s->images, g->images),
        .format = PICK(NULL, s->format, g->format), .checkpoint = PICK(o->checkpoint, s->checkpoint, g->checkpoint),
        .kv_budget = PICK(o->kv_budget, s->kv_budget, g->kv_budget),
        .methods = s->methods.n ? &s->methods : &g->methods, .ratios = s->ratios.n ? &s->ratios : &g->ratios,
        .rates = s->rates.n ? &s->rates : &g->rates, .batching = s->batching.n ? &s->batching : &g->batching,
        .requests = PICK(o->requests, s->requests, g->requests),
        .max_new_tokens = PICK(o->max_new_tokens, s->max_new_tokens, g->max_new_tokens),
        .kv_blocks = PICK(o->kv_blocks, s->kv_blocks, g->kv_blocks), .block_size = PICK(0, s->block_size, g->block_size),
        .samples = PICK(0, s->samples, g->samples), .seed = o->has_seed ? o->seed : c->seed,
        .arrival = s->arrival ? s->arrival : g->arrival, .ignore_eos = s->ignore_eos ? s->ignore_eos : g->ignore_eos,
        .first_turn_only = s->first_turn_only ? s->first_turn_only : g->first_turn_only};
    /* the pool size is one choice (bytes or blocks), taken whole from the highest level that makes it */
    if (o->kv_budget || o->kv_blocks) r.kv_budget = o->kv_budget, r.kv_blocks = o->kv_blocks;
    else if (s->kv_budget || s->kv_blocks) r.kv_budget = s->kv_budget, r.kv_blocks = s->kv_blocks;
    else r.kv_budget = g->kv_budget, r.kv_blocks = g->kv_blocks;
    return r;
}

/* A spec with its ratio applied (see eval_config.h); *once: the result does not depend on the ratio. */
static char *apply_ratio(const char *spec, const char *ratio, const char *checkpoint, bool *once) {
    char r[32];
    snprintf(r, sizeof r, "%.*s", ratio ? (int)strcspn(ratio, "xX") : 0, ratio ? ratio : "");
    const char *at = ratio ? strstr(spec, "{ratio}") : NULL;
    char *out = NULL;
    *once = false;
    if (at) {
        if (asprintf(&out, "%.*s%s%s", (int)(at - spec), spec, r, at + 7) < 0) out = NULL;
    } else if (!strcmp(spec, "none")) {
        *once = true;
        out = strdup(spec);
    } else {
        size_t name_len = strcspn(spec, ":");
        bool ccm = name_len == 3 && !strncmp(spec, "ccm", 3);
        bool has_opts = spec[name_len] == ':';
        if (ccm || strstr(spec, "ratio=") || !ratio) { /* no ratios listed: the method's own default */
            *once = true;
            if (ccm && checkpoint && !strstr(spec, "weights=")) {
                if (asprintf(&out, "%s%sweights=%s", spec, has_opts ? "," : ":", checkpoint) < 0) out = NULL;
            } else {
                out = strdup(spec);
            }
        } else if (asprintf(&out, "%s%sratio=%s", spec, has_opts ? "," : ":", r) < 0) {
            out = NULL;
        }
    }
    if (out && at && checkpoint && !strncmp(out, "ccm", 3) && !strstr(out, "weights=")) {
        char *w = NULL;
        if (asprintf(&w, "%s%sweights=%s", out, strchr(out, ':') ? "," : ":", checkpoint) < 0) w = NULL;
        free(out);
        out = w;
    }
    return out;
}

static void sanitize(char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
            *s = '_';
}

static fc_err push_run(fc_sweep_plan *p, fc_sweep_run *r) {
    fc_sweep_run *v = realloc(p->runs, (size_t)(p->n + 1) * sizeof *v);
    if (!v) return fc_err_set(FC_ENOMEM, "sweep plan: out of memory");
    p->runs = v;
    r->index = p->n;
    p->runs[p->n++] = *r;
    return FC_OK;
}

/* Every run's precision: fc-eval's --precision / FC_PRECISION, else the config's key (default f32). */
static const char *precision_of(const fc_sweep_config *c, const fc_sweep_overrides *o) {
    return o->precision ? o->precision : fc_precision_name((fc_precision)c->precision);
}

static void common_model_args(argv_b *a, const eff *e) {
    arg(a, "--model"), arg(a, "%s", e->model);
    if (e->tokenizer) arg(a, "--tokenizer"), arg(a, "%s", e->tokenizer);
    arg(a, "--data"), arg(a, "%s", e->data);
    if (e->images) arg(a, "--images"), arg(a, "%s", e->images);
    if (e->format) arg(a, "--format"), arg(a, "%s", e->format);
}

/* Checks one expanded spec and returns its label ("snapkv 5x"); NULL with an error set. */
static char *check_spec(const char *spec, const char *exp) {
    if (!strcmp(spec, "none")) return strdup("none");
    fc_compress_method *m = NULL;
    fc_err e = fc_compress_create(spec, &m);
    if (e) {
        fc_err_prefix(e, "experiment '%s': method '%s'", exp, spec);
        return NULL;
    }
    char *label = NULL;
    if (asprintf(&label, "%s %gx", fc_compress_name(m), fc_compress_ratio(m)) < 0) label = NULL;
    fc_compress_free(m);
    return label;
}

static fc_err plan_experiment(fc_sweep_plan *p, const fc_sweep_config *c, const fc_sweep_experiment *x,
                              const fc_sweep_overrides *o) {
    eff e = resolve(c, x, o);
    static char *none_listed[] = {NULL};
    const fc_yaml_strings no_ratio = {.items = none_listed, .n = 1};
    const fc_yaml_strings *ratios = e.ratios->n ? e.ratios : &no_ratio;
    fc_eval_batching_config def_batch = {15, 45, 90};
    const fc_eval_batching_config *batches = e.batching->n ? e.batching->items : &def_batch;
    size_t n_batches = e.batching->n ? e.batching->n : 1;
    /* expanded specs, each with its label */
    char **specs = NULL, **labels = NULL;
    size_t n_specs = 0;
    fc_err err = FC_OK;
    for (size_t m = 0; m < e.methods->n && !err; m++)
        for (size_t r = 0; r < ratios->n && !err; r++) {
            bool once;
            char *s = apply_ratio(e.methods->items[m], ratios->items[r], e.checkpoint, &once);
            char *l = s ? check_spec(s, x->name) : NULL;
            char **ns = realloc(specs, (n_specs + 1) * sizeof *ns);
            if (ns) specs = ns;
            char **nl = realloc(labels, (n_specs + 1) * sizeof *nl);
            if (nl) labels = nl;
            if (!s || !l || !ns || !nl) {
                free(s), free(l);
                err = s && !l ? FC_EINVAL : fc_err_set(FC_ENOMEM, "sweep plan: out of memory");
                break;
            }
            bool dup = false;
            for (size_t k = 0; k < n_specs; k++) dup |= !strcmp(specs[k], s);
            if (dup) {
                free(s), free(l);
            } else {
                specs[n_specs] = s, labels[n_specs++] = l;
            }
            if (once) break;
        }
    if (!err && x->kind == FC_SWEEP_QUALITY) {
        argv_b a = {0};
        arg(&a, "fc-eval"), arg(&a, "--precision"), arg(&a, "%s", precision_of(c, o)), arg(&a, "quality");
        common_model_args(&a, &e);
        for (size_t k = 0; k < n_specs; k++) arg(&a, "--method"), arg(&a, "%s", specs[k]);
        if (e.samples) arg(&a, "--limit"), arg(&a, "%ld", e.samples); /* the first N records */
        arg(&a, "--max-new-tokens"), arg(&a, "%ld", e.max_new_tokens);
        if (e.first_turn_only == 2) arg(&a, "--first-turn-only");
        fc_sweep_run run = {.kind = FC_SWEEP_QUALITY, .experiment = x->name, .argv = a.v, .argc = a.n};
        snprintf(run.id, sizeof run.id, "%03d-%s-quality", p->n, x->name);
        sanitize(run.id);
        run.label = strdup("quality");
        if (a.oom || !run.label || (err = push_run(p, &run))) {
            argv_free(a.v), free(run.label);
            if (!err) err = fc_err_set(FC_ENOMEM, "sweep plan: out of memory");
        }
    }
    for (size_t k = 0; k < n_specs && !err && x->kind == FC_SWEEP_LOAD; k++)
        for (size_t q = 0; q < e.rates->n && !err; q++)
            for (size_t b = 0; b < n_batches && !err; b++) {
                const fc_eval_batching_config *B = &batches[b];
                argv_b a = {0};
                arg(&a, "fc-eval"), arg(&a, "--precision"), arg(&a, "%s", precision_of(c, o)), arg(&a, "load");
                common_model_args(&a, &e);
                arg(&a, "--method"), arg(&a, "%s", specs[k]);
                arg(&a, "--req-per-sec"), arg(&a, "%s", e.rates->items[q]);
                arg(&a, "--arrival"), arg(&a, "%s", fc_sweep_arrival_names[e.arrival]);
                arg(&a, "--requests"), arg(&a, "%ld", e.requests);
                arg(&a, "--prefill-batch"), arg(&a, "%ld", B->prefill);
                arg(&a, "--compress-batch"), arg(&a, "%ld", B->compress);
                arg(&a, "--decode-batch"), arg(&a, "%ld", B->decode);
                if (e.kv_budget) arg(&a, "--kv-budget"), arg(&a, "%s", e.kv_budget);
                else if (e.kv_blocks) arg(&a, "--kv-blocks"), arg(&a, "%ld", e.kv_blocks);
                arg(&a, "--block-size"), arg(&a, "%ld", e.block_size);
                arg(&a, "--max-new-tokens"), arg(&a, "%ld", e.max_new_tokens);
                arg(&a, "--temperature"), arg(&a, "%g", c->temperature);
                arg(&a, "--top-k"), arg(&a, "%ld", c->top_k);
                arg(&a, "--top-p"), arg(&a, "%g", c->top_p);
                arg(&a, "--seed"), arg(&a, "%ld", e.seed);
                if (e.ignore_eos == 2) arg(&a, "--ignore-eos");
                arg(&a, "--no-progress");
                fc_sweep_run run = {.kind = FC_SWEEP_LOAD, .experiment = x->name, .argv = a.v, .argc = a.n};
                char name[64];
                snprintf(name, sizeof name, "%s", labels[k]);
                snprintf(run.id, sizeof run.id, "%03d-%s-%s-r%s-p%ldc%ldd%ld", p->n, x->name, name, e.rates->items[q],
                         B->prefill, B->compress, B->decode);
                sanitize(run.id);
                if (n_batches > 1) {
                    if (asprintf(&run.label, "%s P%ld/C%ld/D%ld", labels[k], B->prefill, B->compress, B->decode) < 0)
                        run.label = NULL;
                } else {
                    run.label = strdup(labels[k]);
                }
                if (a.oom || !run.label || (err = push_run(p, &run))) {
                    argv_free(a.v), free(run.label);
                    if (!err) err = fc_err_set(FC_ENOMEM, "sweep plan: out of memory");
                }
            }
    for (size_t k = 0; k < n_specs; k++) free(specs[k]), free(labels[k]);
    free(specs), free(labels);
    return err;
}

fc_err fc_sweep_plan_make(const fc_sweep_config *cfg, const fc_sweep_overrides *o, fc_sweep_plan *plan) {
    memset(plan, 0, sizeof *plan);
    fc_err e = FC_OK;
    if (o->out) plan->dir = strdup(o->out);
    else if (asprintf(&plan->dir, "%s/%s", cfg->output_dir ? cfg->output_dir : "results", cfg->name) < 0) plan->dir = NULL;
    if (!plan->dir) return fc_err_set(FC_ENOMEM, "sweep plan: out of memory");
    const fc_sweep_experiment *x = cfg->experiments.items;
    for (size_t i = 0; i < cfg->experiments.n && !e; i++) e = plan_experiment(plan, cfg, &x[i], o);
    if (e) fc_sweep_plan_free(plan);
    return e;
}

void fc_sweep_plan_free(fc_sweep_plan *plan) {
    if (!plan) return;
    for (int i = 0; i < plan->n; i++) argv_free(plan->runs[i].argv), free(plan->runs[i].label);
    free(plan->runs);
    free(plan->dir);
    memset(plan, 0, sizeof *plan);
}
