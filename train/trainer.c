/* trainer.c: setup, resume and the optimisation loop of fc-train (see trainer.h). */
#include "train/trainer.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "core/base/progress.h"
#include "core/base/timer.h"
#include "core/model/generate.h"
#include "kernels/wpack.h"
#include "train/trainer_internal.h"

#define STEPS_HEADER "step,epoch,samples,tokens,lr,loss,kl,top1,grad_norm,tok_per_s,elapsed_s"
#define VAL_HEADER "step,epoch,val_loss,val_kl,val_top1,val_tokens,lr,best"

/* "<out minus .safetensors><suffix>" */
static char *beside(const char *out, const char *suffix) {
    size_t n = strlen(out), el = strlen(".safetensors");
    if (n >= el && !strcmp(out + n - el, ".safetensors")) n -= el;
    size_t cap = n + strlen(suffix) + 1;
    char *p = fc_malloc(cap, "output path");
    if (p) snprintf(p, cap, "%.*s%s", (int)n, out, suffix);
    return p;
}

static fc_ccm_seg_rule seg_rule(const fc_trainer *t) {
    switch (t->cfg->compressor.segment_rule) {
    case FC_TRAIN_SEG_SPANS: return FC_CCM_SEG_SPANS;
    case FC_TRAIN_SEG_PREFIX: return FC_CCM_SEG_PREFIX;
    case FC_TRAIN_SEG_WHOLE: return FC_CCM_SEG_WHOLE;
    default: return !strcmp(t->family, "llava") ? FC_CCM_SEG_PREFIX : FC_CCM_SEG_WHOLE;
    }
}

/* The compressor: a fresh init, --init CKPT, or (resume) the last checkpoint; then checked against the model. */
static fc_err make_compressor(fc_trainer *t, const char *resume_ckpt) {
    const fc_train_config *cfg = t->cfg;
    const fc_llm_config *lc = &t->vlm->cfg.text;
    const uint64_t seed = (uint64_t)cfg->training.seed;
    const char *from = resume_ckpt ? resume_ckpt : (cfg->init && strcmp(cfg->init, "torch") ? cfg->init : NULL);
    fc_ccm_seg_rule rule = seg_rule(t);
    if (from) {
        FC_TRY(fc_ccm_train_load(from, (float)cfg->compressor.dropout, seed, &t->ccm));
        fc_ccm_config *c = &t->ccm->cfg;
        if (c->n_layers != lc->num_layers || c->head_dim != lc->head_dim)
            return fc_err_set(FC_ESHAPE, "%s: the compressor is for %d layers of head dim %d; the model %s has %d layers "
                              "of head dim %d", from, c->n_layers, c->head_dim, cfg->model, lc->num_layers, lc->head_dim);
        /* the run's settings name the compressor it trains (and its metadata records them): a loaded one of
         * another layout would be trained under the wrong ratio, so it is refused, not silently kept */
        if (c->cf != cfg->compressor.window || c->depth != cfg->compressor.depth ||
            (cfg->compressor.hidden && c->hidden != cfg->compressor.hidden))
            return fc_err_set(FC_EINVAL, "%s: the compressor has window %d, depth %d, hidden %d; this run asks for window "
                              "%ld, depth %ld, hidden %ld (give --window %d --ratio %dx --depth %d, or another checkpoint)",
                              from, c->cf, c->depth, c->hidden, cfg->compressor.window, cfg->compressor.depth,
                              cfg->compressor.hidden ? cfg->compressor.hidden : (long)lc->head_dim, c->cf, c->cf, c->depth);
        if (rule != FC_CCM_SEG_WHOLE && !c->has_image)
            return fc_err_set(FC_EINVAL, "%s: the compressor has no image MLPs (ik/iv), so it cannot train with segment rule "
                              "'%s' (use --segment-rule whole)", from, fc_ccm_seg_rule_name(rule));
        /* the run's dropout applies to a loaded compressor too */
        t->ccm->dropout = (float)cfg->compressor.dropout;
    } else {
        fc_ccm_config c = {0};
        snprintf(c.family, sizeof c.family, "%s", t->family);
        c.n_layers = lc->num_layers;
        c.head_dim = lc->head_dim;
        c.cf = (int)cfg->compressor.window;
        c.hidden = cfg->compressor.hidden ? (int)cfg->compressor.hidden : lc->head_dim;
        c.depth = (int)cfg->compressor.depth;
        /* segments shorter than min_segment tokens stay raw: in whole windows, rounded up */
        c.min_windows = (int)((cfg->compressor.min_segment + c.cf - 1) / c.cf);
        c.has_image = rule != FC_CCM_SEG_WHOLE;
        c.segment_rule = rule;
        FC_TRY(fc_ccm_train_create(&c, (float)cfg->compressor.dropout, seed, &t->ccm));
    }
    t->ccm->cfg.segment_rule = rule;
    t->ccm->cfg.position_rule =
        cfg->compressor.position_rule == FC_TRAIN_POS_COMPRESSED ? FC_CCM_POS_COMPRESSED : FC_CCM_POS_ORIGINAL;
    const fc_ccm_config *c = &t->ccm->cfg;
    snprintf(t->model_sig, sizeof t->model_sig,
             "%s L=%d C=%d H=%d Hkv=%d D=%d V=%d; ccm cf=%d hidden=%d depth=%d image=%d segments=%s positions=%s",
             t->family, lc->num_layers, lc->hidden_size, lc->num_heads, lc->num_kv_heads, lc->head_dim, lc->vocab_size,
             c->cf, c->hidden, c->depth, (int)c->has_image, fc_ccm_seg_rule_name(c->segment_rule),
             fc_ccm_pos_rule_name(c->position_rule));
    return FC_OK;
}

static long steps_per_epoch(const fc_trainer *t) {
    long per = t->cfg->training.batch * t->cfg->training.accum;
    return (t->n_train + per - 1) / per;
}

/* The order of this epoch: a seeded shuffle of the training positions. */
static void epoch_order(fc_trainer *t) {
    if (t->order_epoch == t->epoch) return;
    fc_rng r;
    fc_rng_seed(&r, (uint64_t)t->cfg->training.seed, 0x5348554646ULL + (uint64_t)t->epoch);
    for (int i = 0; i < t->n_train; i++) t->order[i] = i;
    for (int i = t->n_train - 1; i > 0; i--) {
        int j = (int)(fc_rng_next(&r) % (uint64_t)(i + 1));
        int x = t->order[i];
        t->order[i] = t->order[j], t->order[j] = x;
    }
    t->order_epoch = t->epoch;
}

/* One optimizer step over the next batch x accum samples of the epoch. */
static fc_err train_step(fc_trainer *t, fc_train_acc *acc, double *grad_norm, double *lr) {
    const fc_train_config *cfg = t->cfg;
    memset(acc, 0, sizeof *acc);
    long per = cfg->training.batch * cfg->training.accum;
    int k = (int)(per < t->n_train - t->pos ? per : t->n_train - t->pos);
    long sup_total = 0;
    for (int j = 0; j < k; j++) {
        int i = t->train_idx[t->order[t->pos + j]];
        if (cfg->training.targets == FC_TRAIN_TARGETS_TEACHER)
            FC_TRY(fc_trainer_teacher_targets(t, i, fc_trainer_seed_mix((uint64_t)cfg->training.seed,
                                                                        (uint64_t)t->epoch + 1, (uint64_t)i)));
        sup_total += t->samples[i].n_sup;
    }
    fc_distill_opts o = fc_distill_default_opts();
    o.loss = cfg->training.loss == FC_TRAIN_LOSS_FASTCACHE ? FC_DISTILL_LOSS_FASTCACHE : FC_DISTILL_LOSS_KL;
    o.tau = (float)cfg->training.tau;
    o.dropout = cfg->compressor.dropout > 0;
    o.backward = true;
    o.position_rule = -1;
    fc_ccm_train_zero_grad(t->ccm);
    for (int j = 0; j < k; j++) {
        int i = t->train_idx[t->order[t->pos + j]];
        FC_TRY(fc_trainer_embeds(t, i));
        fc_distill_sample v = fc_train_sample_view(&t->samples[i]);
        fc_distill_stats st;
        /* every sample's mean loss weighted by its share of the step's supervised tokens: the step minimises
         * the mean over all of them, whatever the batch and accumulation split */
        o.grad_scale = (float)((double)t->samples[i].n_sup / (double)sup_total);
        FC_TRY(fc_distill_teacher_run(t->d, &v, o.loss == FC_DISTILL_LOSS_FASTCACHE, &t->teacher));
        FC_TRY(fc_distill_step(t->d, t->ccm, &t->teacher, &o, &st));
        acc->loss += st.loss * st.n_sup, acc->kl += st.kl * st.n_sup, acc->top1 += st.top1 * st.n_sup;
        acc->sup += st.n_sup, acc->tokens += st.n_tokens, acc->samples++;
        fc_trainer_release_embeds(t, i);
    }
    if (acc->sup) acc->loss /= (double)acc->sup, acc->kl /= (double)acc->sup, acc->top1 /= (double)acc->sup;
    if (!isfinite(acc->loss))
        return fc_err_set(FC_EINVAL, "step %ld: the loss is %g (lower --lr or set --clip)", t->step + 1, acc->loss);
    *grad_norm = fc_grad_clip_norm(t->ccm->grads, t->ccm->n_params, cfg->training.clip);
    *lr = fc_sched_lr(&t->sched, t->step);
    fc_adamw_step(&t->adam, t->ccm->params, t->ccm->grads, *lr);
    t->step++;
    t->pos += k;
    return FC_OK;
}

static fc_err run_validation(fc_trainer *t, bool *improved) {
    *improved = false;
    if (!t->n_val) return FC_OK;
    FC_TRY(fc_trainer_validate(t, &t->last_val));
    t->have_val = true;
    if (t->step > 0) fc_sched_on_val(&t->sched, t->last_val.loss);
    if (isnan(t->first_val)) t->first_val = t->last_val.kl;
    if (t->last_val.kl < t->best_val) {
        t->best_val = t->last_val.kl;
        t->best_step = t->step;
        *improved = true;
        FC_TRY(fc_trainer_save_ckpt(t, t->best_path));
    }
    return fc_csv_row(&t->val_log, "%ld,%ld,%.9g,%.9g,%.9g,%ld,%.9g,%d", t->step, t->epoch, t->last_val.loss,
                      t->last_val.kl, t->last_val.top1, t->last_val.sup, fc_sched_lr(&t->sched, t->step), *improved);
}

static fc_err resume(fc_trainer *t, const char *state_path) {
    fc_train_state s;
    fc_adamw hyper = t->adam;
    FC_TRY(fc_train_state_load(&s, state_path, t->model_sig, t->data_sig, t->ccm->n_params, &t->sched, &hyper));
    memcpy(t->ccm->params, s.params, s.n * sizeof(float));
    fc_ccm_train_set_rng(t->ccm, s.rng_dropout);
    fc_adamw_free(&t->adam);
    t->adam = s.adam;
    s.adam = (fc_adamw){0};
    t->sched = s.sched;
    t->step = s.step, t->epoch = s.epoch, t->pos = s.pos;
    t->best_val = s.best_val, t->best_step = s.best_step, t->first_val = s.first_val, t->elapsed0 = s.elapsed;
    fc_train_state_free(&s);
    return FC_OK;
}

static void trainer_free(fc_trainer *t) {
    for (int i = 0; t->samples && i < t->n; i++) fc_train_sample_free(&t->samples[i]);
    free(t->samples), free(t->recs), free(t->where), free(t->has_embeds), free(t->is_val), free(t->val_generated);
    free(t->train_idx), free(t->val_idx), free(t->order);
    fc_dataset_free(&t->data);
    fc_dataset_free(&t->val_data);
    fc_distill_teacher_free(&t->teacher);
    fc_distill_free(t->d);
    fc_ccm_train_free(t->ccm);
    fc_kv_pool_free(t->gen_pool);
    fc_vlm_free(t->vlm);
    fc_adamw_free(&t->adam);
    fc_csv_close(&t->steps_log);
    fc_csv_close(&t->val_log);
    free(t->best_path), free(t->last_path), free(t->state_path), free(t->steps_path), free(t->val_path);
    free(t->train_ids_json), free(t->val_ids_json);
}

/* The resume argument is a last checkpoint or its state file: returns both paths (malloc'd). */
static fc_err resume_paths(const char *arg, char **ckpt, char **state) {
    const char *suf = ".state.safetensors";
    size_t n = strlen(arg), sl = strlen(suf);
    if (n > sl && !strcmp(arg + n - sl, suf)) {
        *state = fc_strdup(arg);
        *ckpt = fc_malloc(n + 1, "resume path");
        if (*ckpt) snprintf(*ckpt, n + 1, "%.*s.safetensors", (int)(n - sl), arg);
    } else {
        *ckpt = fc_strdup(arg);
        *state = fc_train_state_path(arg);
    }
    if (!*ckpt || !*state) return FC_ENOMEM;
    if (!fc_file_exists(*ckpt)) return fc_err_set(FC_ENOTFOUND, "--resume: %s: no such checkpoint", *ckpt);
    if (!fc_file_exists(*state))
        return fc_err_set(FC_ENOTFOUND, "--resume: %s: no resume state beside the checkpoint (fc-train writes it with "
                          "the last checkpoint)", *state);
    return FC_OK;
}

/* Creates the folders above `path` (mkdir -p of its dirname). */
static fc_err make_parent_dirs(const char *path) {
    char *p = fc_strdup(path);
    if (!p) return FC_ENOMEM;
    fc_err e = FC_OK;
    char *slash = strrchr(p, '/');
    if (slash && slash != p) {
        *slash = '\0';
        for (char *c = p + 1; !e; c++) {
            bool end = *c == '\0';
            if (*c == '/' || end) {
                *c = '\0';
                if (mkdir(p, 0755) != 0 && errno != EEXIST)
                    e = fc_err_set(FC_EIO, "%s: cannot create the output folder %s: %s", path, p, strerror(errno));
                if (end) break;
                *c = '/';
            }
        }
    }
    free(p);
    return e;
}

static fc_err setup(fc_trainer *t, char **resume_state) {
    const fc_train_config *cfg = t->cfg;
    if (cfg->device == FC_RUN_DEVICE_CUDA)
        return fc_err_set(FC_EUNSUPPORTED, "--device cuda: training runs on the CPU in this version");
    if (cfg->threads > 0) {
        omp_set_num_threads((int)cfg->threads);
        openblas_set_num_threads((int)cfg->threads);
    }
    /* --out names the best checkpoint's file; the others go beside it. A folder would only fail at the
     * first save, after the training it was to hold. */
    size_t out_len = strlen(cfg->output);
    struct stat out_st;
    if (!out_len || cfg->output[out_len - 1] == '/' || (stat(cfg->output, &out_st) == 0 && S_ISDIR(out_st.st_mode)))
        return fc_err_set(FC_EINVAL, "--out %s: a folder, not a file name (give e.g. %s%sccm.safetensors)", cfg->output,
                          cfg->output, out_len && cfg->output[out_len - 1] == '/' ? "" : "/");
    char *resume_ckpt = NULL;
    fc_err e = cfg->resume ? resume_paths(cfg->resume, &resume_ckpt, resume_state) : FC_OK;
    /* the data first: a malformed file or a missing image fails before the model is mapped */
    if (!e) e = fc_trainer_load_samples(t);
    if (!e) e = fc_vlm_load(&t->vlm, cfg->model, cfg->tokenizer);
    fc_arch want = !strcmp(t->family, "llava") ? FC_ARCH_LLAVA : FC_ARCH_MINICPMV;
    if (!e && t->vlm->cfg.arch != want)
        e = fc_err_set(FC_EINVAL, "%s: a %s model, not %s (run fc-train %s)", cfg->model, fc_arch_name(t->vlm->cfg.arch),
                       t->family, t->vlm->cfg.arch == FC_ARCH_LLAVA ? "llava" : "minicpm");
    if (!e) e = fc_distill_create(t->vlm->llm, 0, &t->d);
    if (!e) e = make_compressor(t, resume_ckpt);
    free(resume_ckpt);
    if (!e) e = fc_trainer_build_samples(t);
    if (e) return e;
    const fc_train_training_config *tc = &cfg->training;
    FC_TRY(fc_adamw_init(&t->adam, t->ccm->n_params, tc->beta1, tc->beta2, tc->eps, tc->weight_decay));
    t->total_steps = tc->max_steps ? tc->max_steps : tc->epochs * steps_per_epoch(t);
    fc_sched_init(&t->sched, (fc_sched_kind)tc->schedule, tc->lr, tc->min_lr, tc->plateau_factor, tc->plateau_patience,
                  tc->warmup, t->total_steps);
    t->best_path = fc_strdup(cfg->output);
    t->last_path = beside(cfg->output, ".last.safetensors");
    t->state_path = beside(cfg->output, ".last.state.safetensors");
    t->steps_path = beside(cfg->output, ".steps.csv");
    t->val_path = beside(cfg->output, ".val.csv");
    if (!t->best_path || !t->last_path || !t->state_path || !t->steps_path || !t->val_path) return FC_ENOMEM;
    return make_parent_dirs(cfg->output);
}

fc_err fc_trainer_run(const fc_train_config *cfg, const char *family) {
    fc_trainer t = {.cfg = cfg, .family = family, .order_epoch = -1, .best_val = INFINITY, .first_val = NAN,
                    .best_step = -1};
    char *resume_state = NULL;
    fc_err e = setup(&t, &resume_state);
    if (!e && resume_state) e = resume(&t, resume_state);
    free(resume_state);
    long resume_step = cfg->resume ? t.step : -1;
    if (!e) e = fc_csv_open(&t.steps_log, t.steps_path, STEPS_HEADER, resume_step);
    if (!e) e = fc_csv_open(&t.val_log, t.val_path, VAL_HEADER, resume_step);
    if (e) {
        trainer_free(&t);
        return e;
    }
    const fc_ccm_config *c = &t.ccm->cfg;
    fprintf(stderr, "fc-train %s: %d training and %d validation samples; compressor %zu parameters (%d layers, window %d, "
            "hidden %d, segments %s, positions %s); %ld steps of %ld samples, %d threads, precision %s%s\n",
            family, t.n_train, t.n_val, t.ccm->n_params, c->n_layers, c->cf, c->hidden, fc_ccm_seg_rule_name(c->segment_rule),
            fc_ccm_pos_rule_name(c->position_rule), t.total_steps, cfg->training.batch * cfg->training.accum,
            omp_get_max_threads(), fc_precision_name(fc_precision_get()), cfg->resume ? "; resumed" : "");
    double t0 = fc_time_now();
    bool improved;
    if (t.step == 0 && !cfg->resume) e = run_validation(&t, &improved);
    fc_progress bar;
    fc_progress_begin(&bar, "train", t.total_steps);
    bar.done = t.step;
    long tokens_since = 0;
    double t_since = fc_time_now();
    while (!e && t.step < t.total_steps) {
        if (t.pos >= t.n_train) t.epoch++, t.pos = 0;
        epoch_order(&t);
        fc_train_acc acc;
        double norm = 0, lr = 0;
        if ((e = train_step(&t, &acc, &norm, &lr))) break;
        double now = fc_time_now();
        tokens_since += acc.tokens;
        double tps = now > t_since ? (double)tokens_since / (now - t_since) : 0;
        e = fc_csv_row(&t.steps_log, "%ld,%ld,%d,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.1f,%.3f", t.step, t.epoch, acc.samples,
                       acc.sup, lr, acc.loss, acc.kl, acc.top1, norm, tps, t.elapsed0 + now - t0);
        double rate = (now - t0) > 0 ? (double)(t.step - (resume_step > 0 ? resume_step : 0)) / (now - t0) : 0;
        /* the terminal bar shows its own eta; plain log lines get it here */
        fc_progress_note(&bar, "epoch %ld loss %.4f kl %.4f top1 %.3f %.0f tok/s", t.epoch + 1, acc.loss, acc.kl,
                         acc.top1, tps);
        if (!bar.tty && rate > 0) {
            size_t l = strlen(bar.note);
            snprintf(bar.note + l, sizeof bar.note - l, " eta %.0fs", (double)(t.total_steps - t.step) / rate);
        }
        fc_progress_add(&bar, 1);
        bool end_epoch = t.pos >= t.n_train, last = t.step == t.total_steps;
        long ve = cfg->training.val_every, se = cfg->training.save_every;
        bool do_val = !e && t.n_val && ((ve ? t.step % ve == 0 : end_epoch) || last);
        if (do_val) e = run_validation(&t, &improved);
        bool do_save = se ? t.step % se == 0 : do_val;
        if (!e && (do_save || last)) {
            e = fc_trainer_save_ckpt(&t, t.last_path);
            if (!e) e = fc_trainer_save_state(&t, t.elapsed0 + fc_time_now() - t0);
        }
        if (now - t_since > 5) tokens_since = 0, t_since = now;
    }
    fc_progress_end(&bar);
    /* without validation samples the last weights are also the best ones */
    if (!e && !t.n_val) e = fc_trainer_save_ckpt(&t, t.best_path);
    if (!e) {
        double el = t.elapsed0 + fc_time_now() - t0;
        printf("trained %ld steps (%.2f epochs over %d samples) in %.1fs\n", t.step,
               ((double)t.epoch * t.n_train + (double)t.pos) / t.n_train, t.n_train, el);
        if (t.n_val)
            printf("best validation KL %.6g at step %ld (untrained %.6g), saved to %s\n", t.best_val, t.best_step,
                   t.first_val, t.best_path);
        else printf("no validation samples: the final compressor is saved to %s\n", t.best_path);
        printf("last checkpoint %s (resume with --resume %s)\nlogs %s, %s\n", t.last_path, t.last_path, t.steps_path,
               t.val_path);
    }
    trainer_free(&t);
    return e;
}
