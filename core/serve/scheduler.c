/* scheduler.c: the staged serving loop. See scheduler.h for the policy; this file keeps the queues.
 *
 * The pool is used through five questions and commands only (free blocks, blocks an append or a prompt
 * needs, a sequence's bytes, create/free): pool_* below. */
#include "core/serve/scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/mem.h"
#include "core/base/progress.h"
#include "core/base/timer.h"
#include "core/compress/compress_seq.h"
#include "core/model/llm_capture.h"

typedef enum { ST_PENDING = 0, ST_WAITING, ST_PREFILLED, ST_READY, ST_DECODING, ST_SWAPPED, ST_DONE } req_state;

typedef struct {
    req_state st;
    fc_kv_handle seq;       /* pool sequence while admitted, else FC_KV_NONE */
    req_state resume;       /* the state to go back to after a swap-in */
    fc_vlm_request prompt;  /* built at prefill; kept until compressed (its spans) */
    fc_llm_capture *cap;    /* what the method reads, recorded by the prefill */
    int32_t next_in;        /* the next decode input */
    fc_rng rng;
} req_run;

typedef struct {
    fc_llm *llm;
    fc_kv_pool *kv;
    const fc_serve_workload *w;
    const fc_serve_config *cfg;
    fc_serve_req *reqs;
    req_run *rr;
    int n, L, V;
    int *waitq, n_wait;     /* FCFS queue of request indices (head at 0) */
    int *active, n_active;  /* admitted and not finished, in admission order */
    int *cq, n_cq;          /* prefilled, waiting for compression, oldest first */
    int *swq, n_swq;        /* swapped out to host memory, oldest admission first */
    int next_arrival, done;
    double t0;
    fc_serve_trace *tr;
    int last_decoding;
    /* per-step buffers, sized for D */
    fc_llm_seq_input *in;
    fc_err *status;         /* per input of a forward (fc_llm_forward_each) */
    int *batch;
    float *logits;          /* (D, V) */
    fc_sampler smp;
    fc_progress prog;
} run_state;

/* ---- the pool, through its scheduler API (kv_pool.h, A SCHEDULER'S VIEW); counts in layer blocks ---- */

static long pool_free_blocks(const fc_kv_pool *kv) { return fc_kv_free_layer_blocks(kv); }

static long pool_prompt_blocks(const fc_kv_pool *kv, int n) { return (long)fc_kv_blocks_for_new(kv, n); }

static fc_err pool_append_blocks(const fc_kv_pool *kv, fc_kv_handle h, long *need) {
    int64_t lb = 0;
    FC_TRY(fc_kv_seq_blocks_needed(kv, h, 1, &lb));
    *need += (long)lb;
    return FC_OK;
}

static size_t pool_bytes_used(const fc_kv_pool *kv) {
    fc_kv_stats st;
    fc_kv_pool_stats(kv, &st);
    return st.bytes_used;
}

/* ---- bookkeeping ---- */

static double now(const run_state *s) { return fc_time_now() - s->t0; }

static fc_err sample(run_state *s) {
    fc_serve_trace *tr = s->tr;
    if (tr->n_samples == tr->cap_samples) {
        int cap = tr->cap_samples ? 2 * tr->cap_samples : 1024;
        fc_serve_sample *p = fc_realloc(tr->samples, (size_t)cap * sizeof *p, "kv timeline");
        if (!p) return FC_ENOMEM;
        tr->samples = p, tr->cap_samples = cap;
    }
    tr->samples[tr->n_samples++] = (fc_serve_sample){.t = now(s), .kv_bytes = pool_bytes_used(s->kv),
                                                     .decoding = s->last_decoding, .in_flight = s->n_active,
                                                     .waiting = s->n_wait};
    return FC_OK;
}

static void list_remove(int *list, int *n, int v) {
    for (int i = 0; i < *n; i++)
        if (list[i] == v) {
            memmove(list + i, list + i + 1, (size_t)(*n - i - 1) * sizeof *list);
            (*n)--;
            return;
        }
}

static void reset_times(fc_serve_req *q) {
    q->t_admit = q->t_prefill_end = q->t_compress_start = q->t_compress_end = q->t_first_token = q->t_finish = -1;
}

/* Releases what an admitted request holds in the pool and in memory. */
static void release(run_state *s, int i) {
    req_run *r = &s->rr[i];
    fc_kv_seq_free(s->kv, r->seq); /* FC_KV_NONE: nothing; ours are never stale */
    r->seq = FC_KV_NONE;
    fc_llm_capture_free(r->cap);
    r->cap = NULL;
    fc_vlm_request_free(&r->prompt);
    list_remove(s->active, &s->n_active, i);
    list_remove(s->cq, &s->n_cq, i);
    list_remove(s->swq, &s->n_swq, i);
}

/* Preemption by swapping: the sequence's entries go to host memory (kv_pool.h) and its blocks to the
 * sequences still decoding; it keeps its tokens, its times and its place, and comes back (swap_in) before
 * anything new is admitted. */
static fc_err preempt(run_state *s, int i) {
    req_run *r = &s->rr[i];
    FC_TRY(fc_kv_seq_swap_out(s->kv, r->seq));
    r->resume = r->st;
    r->st = ST_SWAPPED;
    s->swq[s->n_swq++] = i;
    s->reqs[i].preemptions++;
    s->tr->preemptions++;
    return FC_OK;
}

/* Swapped sequences come back in admission order, as soon as the pool holds them again; true if any did. */
static fc_err swap_in(run_state *s, bool *ran) {
    while (s->n_swq > 0) {
        int i = s->swq[0];
        fc_err e = fc_kv_seq_swap_in(s->kv, s->rr[i].seq);
        if (e == FC_ENOMEM) return FC_OK; /* not yet: nothing changed */
        if (e) return e;
        s->rr[i].st = s->rr[i].resume;
        list_remove(s->swq, &s->n_swq, i);
        *ran = true;
    }
    return FC_OK;
}

static void finish(run_state *s, int i, double t) {
    fc_serve_req *q = &s->reqs[i];
    q->t_finish = t;
    q->kv_bytes_final = fc_kv_seq_bytes(s->kv, s->rr[i].seq);
    release(s, i);
    s->rr[i].st = ST_DONE;
    s->done++;
    if (s->cfg->progress) fc_progress_add(&s->prog, 1);
}

/* ---- stages ---- */

static void arrivals(run_state *s) {
    double t = now(s);
    while (s->next_arrival < s->n && s->reqs[s->next_arrival].t_arrival <= t) {
        s->rr[s->next_arrival].st = ST_WAITING;
        s->waitq[s->n_wait++] = s->next_arrival++;
    }
}

static fc_err stage_compress(run_state *s, bool *ran) {
    int nb = s->n_cq < s->cfg->compress_batch ? s->n_cq : s->cfg->compress_batch;
    if (nb == 0) return FC_OK;
    *ran = true;
    double t_start = now(s);
    for (int k = 0; k < nb; k++) {
        int i = s->cq[0];
        req_run *r = &s->rr[i];
        fc_serve_req *q = &s->reqs[i];
        fc_compress_span spans[FC_VLM_MAX_IMAGES * 16];
        int ns = 0;
        for (int j = 0; j < r->prompt.n_spans && ns < (int)(sizeof spans / sizeof spans[0]); j++)
            if (r->prompt.spans[j].start + r->prompt.spans[j].len <= q->n_cached)
                spans[ns++] = (fc_compress_span){r->prompt.spans[j].start, r->prompt.spans[j].start + r->prompt.spans[j].len};
        fc_compress_seq_result res;
        q->t_compress_start = now(s);
        fc_err e = fc_compress_sequence(s->kv, r->seq, s->cfg->method, s->llm->cfg.num_heads, spans, ns,
                                        fc_llm_capture_extras, r->cap, &res);
        if (e) return fc_err_prefix(e, "request %d: compress", q->id);
        q->t_compress_end = now(s);
        q->n_kept = res.len_after;
        q->kv_bytes_kept = fc_kv_seq_bytes(s->kv, r->seq);
        fc_llm_capture_free(r->cap);
        r->cap = NULL;
        fc_vlm_request_free(&r->prompt);
        list_remove(s->cq, &s->n_cq, i);
        r->st = ST_READY;
    }
    s->tr->s_compress += now(s) - t_start;
    s->tr->n_compress_batches++;
    return sample(s);
}

static fc_err stage_prefill(run_state *s, bool *ran) {
    const fc_serve_config *c = s->cfg;
    long free_blocks = pool_free_blocks(s->kv);
    int nb = 0;
    double t_start = now(s);
    while (nb < c->prefill_batch && s->n_wait > 0 && s->n_active < c->decode_batch && s->n_swq == 0) {
        int i = s->waitq[0];
        long need = pool_prompt_blocks(s->kv, s->reqs[i].n_cached);
        long spare = (long)s->L * (s->n_active + 1); /* one block per layer for each sequence in flight */
        if (free_blocks - need < spare) break;       /* strict FCFS: the head waits, nobody overtakes it */
        free_blocks -= need;
        memmove(s->waitq, s->waitq + 1, (size_t)(s->n_wait - 1) * sizeof *s->waitq);
        s->n_wait--;
        s->active[s->n_active++] = i;
        s->batch[nb++] = i;
        s->reqs[i].t_admit = t_start;
        s->rr[i].st = ST_PREFILLED;
    }
    if (nb == 0) return FC_OK;
    *ran = true;
    fc_err e = FC_OK;
    for (int k = 0; k < nb && !e; k++) {
        int i = s->batch[k];
        req_run *r = &s->rr[i];
        fc_serve_req *q = &s->reqs[i];
        fc_rng_seed(&r->rng, c->gen.seed, (uint64_t)q->id);
        if ((e = s->w->build(s->w->ctx, q->record, &r->prompt))) {
            e = fc_err_prefix(e, "request %d (record %d)", q->id, q->record);
            break;
        }
        if (r->prompt.n_ids != q->n_prompt) {
            e = fc_err_set(FC_EINVAL, "request %d (record %d): the prompt has %d tokens, its length said %d", q->id,
                           q->record, r->prompt.n_ids, q->n_prompt);
            break;
        }
        if (r->prompt.n_embeds > 0 && r->prompt.embeds_start + r->prompt.n_embeds > q->n_cached) {
            e = fc_err_set(FC_EINVAL, "request %d (record %d): the image rows end at token %d, after the cached prompt (%d)",
                           q->id, q->record, r->prompt.embeds_start + r->prompt.n_embeds, q->n_cached);
            break;
        }
        if ((e = fc_kv_seq_create(s->kv, &r->seq))) break;
        if (c->method && (e = fc_llm_capture_create(&r->cap, s->llm, c->method))) break;
        s->in[k] = fc_vlm_seq_input(&r->prompt, r->seq);
        s->in[k].n = q->n_cached;
        s->in[k].capture = r->cap;
        r->next_in = r->prompt.ids[q->n_prompt - 1];
    }
    if (!e) e = fc_llm_forward_each(s->llm, s->kv, s->in, nb, FC_LLM_ROWS_LAST, NULL, NULL, s->status, NULL);
    if (e) return e;
    double t_end = now(s);
    /* a prompt the pool refused (admission counted its blocks, so only if the count was off) goes back to
     * the head of the queue, in order, its sequence and buffers released; a bad input is a bug: an error */
    for (int k = nb - 1; k >= 0; k--) {
        int i = s->batch[k];
        if (s->status[k] == FC_OK) continue;
        if (s->status[k] != FC_ENOMEM)
            return fc_err_set(s->status[k], "request %d: prefill refused: %s", s->reqs[i].id, fc_errmsg());
        release(s, i);
        s->rr[i].st = ST_WAITING;
        reset_times(&s->reqs[i]);
        memmove(s->waitq + 1, s->waitq, (size_t)s->n_wait * sizeof *s->waitq);
        s->waitq[0] = i;
        s->n_wait++;
    }
    for (int k = 0; k < nb; k++) {
        int i = s->batch[k];
        req_run *r = &s->rr[i];
        fc_serve_req *q = &s->reqs[i];
        if (s->status[k] != FC_OK) continue;
        q->t_prefill_end = t_end;
        q->kv_bytes_prefill = fc_kv_seq_bytes(s->kv, r->seq);
        if (c->method) {
            s->cq[s->n_cq++] = i;
        } else {
            q->t_compress_start = q->t_compress_end = t_end;
            q->n_kept = q->n_cached;
            q->kv_bytes_kept = q->kv_bytes_prefill;
            fc_vlm_request_free(&r->prompt);
            r->st = ST_READY;
        }
    }
    s->tr->s_prefill += t_end - t_start;
    s->tr->n_prefill_batches++;
    return sample(s);
}

static fc_err stage_decode(run_state *s, bool *ran) {
    const fc_serve_config *c = s->cfg;
    int nb;
    for (;;) { /* the step's batch: every admitted sequence ready to decode, in admission order */
        nb = 0;
        long need = 0;
        for (int a = 0; a < s->n_active; a++) {
            int i = s->active[a];
            if (s->rr[i].st == ST_READY || s->rr[i].st == ST_DECODING) {
                s->batch[nb++] = i;
                FC_TRY(pool_append_blocks(s->kv, s->rr[i].seq, &need));
            }
        }
        if (nb == 0 || need <= pool_free_blocks(s->kv)) break;
        if (nb == 1) {
            /* alone and out of blocks: compressions still queued free some next iteration; if none are,
             * it holds the whole pool (swapped sequences hold none) and can never grow */
            if (s->n_cq > 0) return FC_OK;
            const fc_serve_req *q = &s->reqs[s->batch[0]];
            return fc_err_set(FC_EINVAL,
                              "request %d: the KV pool is full with it alone (%d prompt tokens, %d generated, %ld blocks "
                              "needed for the next token, %ld free): raise --kv-budget / --kv-blocks or lower "
                              "--max-new-tokens",
                              q->id, q->n_prompt, q->n_out, need, pool_free_blocks(s->kv));
        }
        FC_TRY(preempt(s, s->batch[nb - 1])); /* the most recently admitted of the step */
    }
    if (nb == 0) return FC_OK;
    *ran = true;
    for (int k = 0; k < nb; k++)
        s->in[k] = (fc_llm_seq_input){.seq = s->rr[s->batch[k]].seq, .ids = &s->rr[s->batch[k]].next_in, .n = 1};
    double t_start = now(s);
    FC_TRY(fc_llm_forward_each(s->llm, s->kv, s->in, nb, FC_LLM_ROWS_LAST, s->logits, NULL, s->status, NULL));
    double t = now(s);
    s->tr->s_decode += t - t_start;
    s->tr->n_decode_steps++;
    s->tr->tokens_decoded += nb;
    s->last_decoding = nb;
    if (nb > s->tr->max_decoding) s->tr->max_decoding = nb;
    for (int k = 0; k < nb; k++) {
        int i = s->batch[k];
        req_run *r = &s->rr[i];
        fc_serve_req *q = &s->reqs[i];
        if (s->status[k] == FC_ENOMEM) continue; /* refused for blocks (not expected after the count): next step */
        if (s->status[k] != FC_OK) return fc_err_set(s->status[k], "request %d: decode refused: %s", q->id, fc_errmsg());
        int32_t tok = fc_sample(s->logits + (size_t)k * s->V, s->V, &c->gen, &r->rng, &s->smp);
        if (r->st == ST_READY) q->t_first_token = t, r->st = ST_DECODING;
        bool eos = false;
        for (int j = 0; j < c->gen.n_eos; j++) eos |= tok == c->gen.eos_ids[j];
        if (eos) {
            q->hit_eos = true;
            finish(s, i, t);
            continue;
        }
        q->out[q->n_out++] = tok;
        r->next_in = tok;
        if (q->n_out >= c->gen.max_new_tokens) finish(s, i, t);
    }
    return sample(s);
}

/* Sleeps until the next arrival (absolute, so the wake-up does not drift). */
static void idle_until_next(run_state *s) {
    double t_start = now(s);
    double wake = s->t0 + s->reqs[s->next_arrival].t_arrival;
    struct timespec ts = {.tv_sec = (time_t)wake, .tv_nsec = (long)((wake - floor(wake)) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    s->tr->s_idle += now(s) - t_start;
}

/* ---- the loop ---- */

fc_err fc_serve_check_fits(const fc_kv_pool *kv, const fc_serve_req *reqs, int n, const fc_serve_config *cfg) {
    fc_kv_stats st;
    fc_kv_pool_stats(kv, &st);
    long total = st.layer_blocks_total, L = (long)(fc_kv_blocks_for_new(kv, 1)); /* one block of every layer */
    for (int i = 0; i < n; i++) {
        const fc_serve_req *q = &reqs[i];
        int life = q->n_cached + (cfg->method ? 1 : cfg->gen.max_new_tokens);
        long need = pool_prompt_blocks(kv, q->n_cached) + L;
        long need_life = pool_prompt_blocks(kv, life);
        if (need_life > need) need = need_life;
        if (need > total)
            return fc_err_set(FC_EINVAL,
                              "request %d: %d prompt tokens%s need %ld KV blocks (%zu bytes), the whole pool has %ld "
                              "(%zu bytes): it could never run; raise --kv-budget or --kv-blocks",
                              q->id, q->n_prompt, cfg->method ? "" : " + --max-new-tokens", need / L,
                              (size_t)need * st.bytes_per_layer_block, total / L, st.bytes_capacity);
    }
    return FC_OK;
}

void fc_serve_trace_free(fc_serve_trace *t) {
    if (!t) return;
    free(t->samples);
    t->samples = NULL;
    t->n_samples = t->cap_samples = 0;
}

fc_err fc_serve_run(fc_llm *llm, fc_kv_pool *kv, const fc_serve_workload *w, const fc_serve_config *cfg,
                    fc_serve_req *reqs, int n, fc_serve_trace *trace) {
    memset(trace, 0, sizeof *trace);
    if (n < 1) return fc_err_set(FC_EINVAL, "load: no requests");
    if (cfg->prefill_batch < 1 || cfg->compress_batch < 1 || cfg->decode_batch < 1)
        return fc_err_set(FC_EINVAL, "load: batch limits P=%d C=%d D=%d must be >= 1", cfg->prefill_batch,
                          cfg->compress_batch, cfg->decode_batch);
    if (cfg->gen.max_new_tokens < 1) return fc_err_set(FC_EINVAL, "load: max_new_tokens must be >= 1");
    for (int i = 0; i < n; i++) {
        reqs[i].n_cached = reqs[i].n_prompt - 1;
        if (reqs[i].n_cached < 1)
            return fc_err_set(FC_EINVAL, "request %d: a prompt of %d token(s); serving needs at least 2", i,
                              reqs[i].n_prompt);
        if (i && reqs[i].t_arrival < reqs[i - 1].t_arrival)
            return fc_err_set(FC_EINVAL, "load: arrival times must not decrease (request %d)", i);
    }
    FC_TRY(fc_serve_check_fits(kv, reqs, n, cfg));
    run_state s = {.llm = llm, .kv = kv, .w = w, .cfg = cfg, .reqs = reqs, .n = n, .L = llm->cfg.num_layers,
                   .V = llm->cfg.vocab_size, .tr = trace};
    int D = cfg->decode_batch, Bmax = D > cfg->prefill_batch ? D : cfg->prefill_batch;
    fc_err e = FC_OK;
    s.rr = fc_calloc((size_t)n, sizeof *s.rr, "load requests");
    s.waitq = fc_malloc((size_t)n * sizeof(int), "load queue");
    s.active = fc_malloc((size_t)n * sizeof(int), "load queue");
    s.cq = fc_malloc((size_t)n * sizeof(int), "load queue");
    s.swq = fc_malloc((size_t)n * sizeof(int), "load queue");
    s.batch = fc_malloc((size_t)Bmax * sizeof(int), "load batch");
    s.in = fc_malloc((size_t)Bmax * sizeof *s.in, "load batch");
    s.status = fc_malloc((size_t)Bmax * sizeof *s.status, "load batch");
    s.logits = fc_malloc((size_t)D * (size_t)s.V * sizeof(float), "load logits");
    if (!s.rr || !s.waitq || !s.active || !s.cq || !s.swq || !s.batch || !s.in || !s.status || !s.logits) e = FC_ENOMEM;
    if (!e) e = fc_sampler_init(&s.smp, s.V);
    for (int i = 0; i < n && !e; i++) {
        fc_serve_req *q = &reqs[i];
        s.rr[i].seq = FC_KV_NONE;
        reset_times(q);
        q->n_out = q->preemptions = 0;
        q->hit_eos = false;
        free(q->out);
        if (!(q->out = fc_malloc((size_t)cfg->gen.max_new_tokens * sizeof(int32_t), "load answers"))) e = FC_ENOMEM;
    }
    if (e) goto done;
    if (cfg->progress) fc_progress_begin(&s.prog, "load", n);
    s.t0 = fc_time_now();
    if ((e = sample(&s))) goto done;
    while (s.done < n) {
        bool ran = false;
        arrivals(&s);
        if ((e = swap_in(&s, &ran))) break;
        if ((e = stage_compress(&s, &ran))) break;
        if ((e = stage_prefill(&s, &ran))) break;
        if ((e = stage_decode(&s, &ran))) break;
        if (ran) continue;
        if (s.next_arrival < n) {
            idle_until_next(&s);
            continue;
        }
        e = fc_err_set(FC_EINVAL, "load: internal: %d requests waiting, %d in flight, nothing can run", s.n_wait,
                       s.n_active);
        break;
    }
    trace->t_end = now(&s);
    if (cfg->progress) fc_progress_end(&s.prog);
done:
    for (int i = 0; i < n && s.rr; i++)
        if (!fc_kv_handle_is_none(s.rr[i].seq) || s.rr[i].cap || s.rr[i].prompt.ids) release(&s, i);
    fc_sampler_free(&s.smp);
    free(s.rr), free(s.waitq), free(s.active), free(s.cq), free(s.swq), free(s.batch), free(s.in), free(s.status), free(s.logits);
    return e;
}
