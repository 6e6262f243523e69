/* trainer_io.c: the trainer's samples (reading, split, prompt building, teacher targets), validation and
 * checkpoints (see trainer.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "kernels/wpack.h"
#include "train/split.h"
#include "train/trainer_internal.h"

uint64_t fc_trainer_seed_mix(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = seed ^ (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xD1B54A32D192ED03ULL);
    x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ULL, x ^= x >> 27, x *= 0x94D049BB133111EBULL, x ^= x >> 31;
    return x;
}

static fc_err read_data(const fc_train_config *cfg, const char *path, int limit, fc_dataset *out) {
    fc_data_opts o = {.format = FC_DATA_LLAVA, .images_dir = cfg->image_root, .limit = limit};
    return fc_dataset_read(path, &o, out);
}

static size_t embed_bytes(const fc_trainer *t, int i) {
    return (size_t)t->samples[i].req.n_embeds * (size_t)t->vlm->cfg.text.hidden_size * sizeof(float);
}

fc_err fc_trainer_embeds(fc_trainer *t, int i) {
    if (t->has_embeds[i]) return FC_OK;
    fc_train_sample tmp;
    FC_TRY(fc_train_sample_prompt(t->vlm, t->recs[i], t->where[i], &tmp));
    fc_train_sample *s = &t->samples[i];
    /* the same record gives the same prompt: take only the rows */
    s->req.embeds = tmp.req.embeds;
    tmp.req.embeds = NULL;
    fc_train_sample_free(&tmp);
    t->has_embeds[i] = true;
    t->cached_bytes += embed_bytes(t, i);
    return FC_OK;
}

void fc_trainer_release_embeds(fc_trainer *t, int i) {
    if (!t->has_embeds[i] || t->cached_bytes <= FC_TRAIN_EMBED_CACHE_BYTES) return;
    t->cached_bytes -= embed_bytes(t, i);
    free(t->samples[i].req.embeds);
    t->samples[i].req.embeds = NULL;
    t->has_embeds[i] = t->samples[i].req.n_embeds == 0;
}

/* The largest prompt, for the generation pool. */
static int max_prompt(const fc_trainer *t) {
    int m = 0;
    for (int i = 0; i < t->n; i++)
        if (t->samples[i].req.n_ids > m) m = t->samples[i].req.n_ids;
    return m;
}

fc_err fc_trainer_teacher_targets(fc_trainer *t, int i, uint64_t seed) {
    const fc_train_training_config *tc = &t->cfg->training;
    if (!t->gen_pool) {
        int tokens = max_prompt(t) + (int)tc->max_new_tokens + 1, bs = 16;
        fc_kv_pool_params p = fc_llm_kv_params(t->vlm->llm, bs, (tokens + bs - 1) / bs, 1);
        FC_TRY(fc_kv_pool_create(&t->gen_pool, &p));
        t->gen_pool_tokens = tokens;
    }
    FC_TRY(fc_trainer_embeds(t, i));
    fc_gen_params gp = fc_vlm_gen_params(t->vlm, (int)tc->max_new_tokens, (float)tc->temperature, (int)tc->top_k,
                                         (float)tc->top_p, seed);
    return fc_train_sample_teacher(t->vlm, t->gen_pool, &gp, t->where[i], &t->samples[i]);
}

/* Builds sample i's prompt and (targets = answers) continuation, and checks it against the model. */
static fc_err build_one(fc_trainer *t, int i, fc_distill *d) {
    fc_train_sample *s = &t->samples[i];
    FC_TRY(fc_train_sample_prompt(t->vlm, t->recs[i], t->where[i], s));
    t->has_embeds[i] = true;
    t->cached_bytes += embed_bytes(t, i);
    if (t->cfg->training.targets == FC_TRAIN_TARGETS_ANSWERS) {
        FC_TRY(fc_train_sample_answers(t->vlm, t->recs[i], t->where[i], s));
    } else {
        /* the longest continuation the teacher may write: the check below bounds prompt + it */
        int n = (int)t->cfg->training.max_new_tokens + 1;
        s->cont = fc_calloc((size_t)n, sizeof *s->cont, "continuation");
        s->sup = fc_malloc((size_t)n, "continuation mask");
        if (!s->cont || !s->sup) return FC_ENOMEM;
        memset(s->sup, 1, (size_t)n);
        s->n_cont = s->n_sup = n;
    }
    fc_distill_sample v = fc_train_sample_view(s);
    fc_err e = fc_distill_check_sample(d, &v);
    char shown[160];
    if (e) return fc_err_prefix(e, "%s: sample '%s'", t->where[i], fc_data_id_for_message(s->id, shown, sizeof shown));
    fc_trainer_release_embeds(t, i);
    return FC_OK;
}

fc_err fc_trainer_load_samples(fc_trainer *t) {
    const fc_train_config *cfg = t->cfg;
    int limit = cfg->training.max_samples > 0 ? (int)cfg->training.max_samples : 0;
    FC_TRY(read_data(cfg, cfg->data, limit, &t->data));
    if (cfg->val_data) FC_TRY(read_data(cfg, cfg->val_data, 0, &t->val_data));
    int n = t->data.n + t->val_data.n;
    if (t->data.n == 0) return fc_err_set(FC_EINVAL, "%s: no samples to train on", cfg->data);
    t->n = n;
    t->recs = fc_calloc((size_t)n, sizeof *t->recs, "records");
    t->where = fc_calloc((size_t)n, sizeof *t->where, "record files");
    t->samples = fc_calloc((size_t)n, sizeof *t->samples, "samples");
    t->has_embeds = fc_calloc((size_t)n, sizeof *t->has_embeds, "samples");
    t->is_val = fc_calloc((size_t)n, sizeof *t->is_val, "split");
    t->val_generated = fc_calloc((size_t)n, sizeof *t->val_generated, "split");
    t->train_idx = fc_calloc((size_t)n, sizeof *t->train_idx, "split");
    t->val_idx = fc_calloc((size_t)n, sizeof *t->val_idx, "split");
    t->order = fc_calloc((size_t)n, sizeof *t->order, "epoch order");
    const char **ids = fc_calloc((size_t)n, sizeof *ids, "ids");
    if (!t->recs || !t->where || !t->samples || !t->has_embeds || !t->is_val || !t->val_generated || !t->train_idx || !t->val_idx ||
        !t->order || !ids) {
        free(ids);
        return FC_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        bool v = i >= t->data.n;
        t->recs[i] = v ? &t->val_data.recs[i - t->data.n] : &t->data.recs[i];
        t->where[i] = v ? cfg->val_data : cfg->data;
        ids[i] = t->recs[i]->id;
    }
    fc_err e;
    if (cfg->val_data) {
        /* a separate file is the validation set; ids must still be unique across both */
        char both[1024];
        snprintf(both, sizeof both, "%s and %s", cfg->data, cfg->val_data);
        e = fc_train_split(ids, (size_t)n, 0, NULL, 0, (uint64_t)cfg->training.seed, both, t->is_val);
        for (int i = t->data.n; i < n; i++) t->is_val[i] = true;
    } else {
        e = fc_train_split(ids, (size_t)n, cfg->val_frac, (const char *const *)cfg->val_ids.items, cfg->val_ids.n,
                           (uint64_t)cfg->training.seed, cfg->data, t->is_val);
    }
    if (!e) {
        const char **tr = fc_calloc((size_t)n, sizeof *tr, "ids"), **va = fc_calloc((size_t)n, sizeof *va, "ids");
        if (!tr || !va) e = FC_ENOMEM;
        for (int i = 0; !e && i < n; i++) {
            if (t->is_val[i]) va[t->n_val] = ids[i], t->val_idx[t->n_val++] = i;
            else tr[t->n_train] = ids[i], t->train_idx[t->n_train++] = i;
        }
        if (!e) {
            t->train_ids_json = fc_train_json_strings(tr, (size_t)t->n_train);
            t->val_ids_json = fc_train_json_strings(va, (size_t)t->n_val);
            if (!t->train_ids_json || !t->val_ids_json) e = FC_ENOMEM;
        }
        if (!e) {
            char a[17], b[17];
            fc_train_hash_strings(a, tr, (size_t)t->n_train);
            fc_train_hash_strings(b, va, (size_t)t->n_val);
            snprintf(t->data_sig, sizeof t->data_sig, "%s-%s", a, b);
        }
        free(tr);
        free(va);
    }
    free(ids);
    if (!e && t->n_train == 0) e = fc_err_set(FC_EINVAL, "%s: every sample is held out for validation", cfg->data);
    return e;
}

fc_err fc_trainer_build_samples(fc_trainer *t) {
    for (int i = 0; i < t->n; i++) FC_TRY(build_one(t, i, t->d));
    return FC_OK;
}

fc_err fc_trainer_validate(fc_trainer *t, fc_train_acc *acc) {
    memset(acc, 0, sizeof *acc);
    const fc_train_config *cfg = t->cfg;
    fc_distill_opts o = fc_distill_default_opts();
    o.loss = cfg->training.loss == FC_TRAIN_LOSS_FASTCACHE ? FC_DISTILL_LOSS_FASTCACHE : FC_DISTILL_LOSS_KL;
    o.tau = (float)cfg->training.tau;
    o.dropout = false;
    o.backward = false;
    o.position_rule = -1;
    for (int k = 0; k < t->n_val; k++) {
        int i = t->val_idx[k];
        /* the teacher's answer to a validation sample is drawn once, with a seed of its own, so every
         * validation scores the same targets */
        if (cfg->training.targets == FC_TRAIN_TARGETS_TEACHER && !t->val_generated[i]) {
            FC_TRY(fc_trainer_teacher_targets(t, i, fc_trainer_seed_mix((uint64_t)cfg->training.seed, 0, (uint64_t)i)));
            t->val_generated[i] = true;
        }
        FC_TRY(fc_trainer_embeds(t, i));
        fc_distill_sample v = fc_train_sample_view(&t->samples[i]);
        fc_distill_stats st;
        FC_TRY(fc_distill_teacher_run(t->d, &v, o.loss == FC_DISTILL_LOSS_FASTCACHE, &t->teacher));
        FC_TRY(fc_distill_step(t->d, t->ccm, &t->teacher, &o, &st));
        acc->loss += st.loss * st.n_sup, acc->kl += st.kl * st.n_sup, acc->top1 += st.top1 * st.n_sup;
        acc->sup += st.n_sup, acc->tokens += st.n_tokens, acc->samples++;
        fc_trainer_release_embeds(t, i);
    }
    if (acc->sup) acc->loss /= (double)acc->sup, acc->kl /= (double)acc->sup, acc->top1 /= (double)acc->sup;
    return FC_OK;
}

fc_err fc_trainer_save_ckpt(fc_trainer *t, const char *path) {
    const fc_train_config *cfg = t->cfg;
    char ratio[32], tau[32], seed[32], step[32], epoch[32], vl[40], vk[40], vt[40], lr[40];
    snprintf(ratio, sizeof ratio, "%gx", cfg->compressor.ratio);
    snprintf(tau, sizeof tau, "%g", cfg->training.tau);
    snprintf(seed, sizeof seed, "%ld", cfg->training.seed);
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(epoch, sizeof epoch, "%ld", t->epoch);
    snprintf(lr, sizeof lr, "%.9g", fc_sched_lr(&t->sched, t->step));
    if (t->have_val) {
        snprintf(vl, sizeof vl, "%.9g", t->last_val.loss);
        snprintf(vk, sizeof vk, "%.9g", t->last_val.kl);
        snprintf(vt, sizeof vt, "%.9g", t->last_val.top1);
    } else {
        snprintf(vl, sizeof vl, "nan"), snprintf(vk, sizeof vk, "nan"), snprintf(vt, sizeof vt, "nan");
    }
    const char *meta[] = {
        "source", "fc-train",
        "ratio", ratio,
        "loss", fc_train_loss_names[cfg->training.loss],
        "tau", tau,
        "targets", fc_train_targets_names[cfg->training.targets],
        "data", cfg->data,
        "model", cfg->model,
        "seed", seed,
        "step", step,
        "epoch", epoch,
        "lr", lr,
        "val_loss", vl,
        "val_kl", vk,
        "val_top1", vt,
        "train_ids", t->train_ids_json,
        "val_ids", t->val_ids_json,
        "precision", fc_precision_name(fc_precision_get()),
    };
    return fc_ccm_train_save(t->ccm, path, meta, (int)(sizeof meta / sizeof *meta / 2));
}

fc_err fc_trainer_save_state(fc_trainer *t, double elapsed) {
    fc_train_state s = {0};
    snprintf(s.model_sig, sizeof s.model_sig, "%s", t->model_sig);
    snprintf(s.data_sig, sizeof s.data_sig, "%s", t->data_sig);
    s.seed = (uint64_t)t->cfg->training.seed;
    s.step = t->step, s.epoch = t->epoch, s.pos = t->pos;
    s.best_val = t->best_val, s.best_step = t->best_step, s.first_val = t->first_val;
    s.elapsed = elapsed;
    s.rng_dropout = fc_ccm_train_get_rng(t->ccm);
    s.n = t->ccm->n_params;
    s.params = t->ccm->params;
    s.adam = t->adam;
    s.sched = t->sched;
    return fc_train_state_save(&s, t->state_path);
}
