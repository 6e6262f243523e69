/* generate.c: RNG, the sampler and the batched generation loop (see generate.h). */
#include "core/model/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fc_rng_seed(fc_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ splitmix64(&stream);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fc_rng_next(fc_rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double fc_rng_uniform(fc_rng *r) { return (double)(fc_rng_next(r) >> 11) * 0x1.0p-53; }

fc_err fc_sampler_init(fc_sampler *s, int V) {
    memset(s, 0, sizeof *s);
    s->val = fc_malloc((size_t)V * sizeof(float), "sampler");
    s->idx = fc_malloc((size_t)V * sizeof(int32_t), "sampler");
    if (!s->val || !s->idx) {
        fc_sampler_free(s);
        return FC_ENOMEM;
    }
    s->cap = V;
    return FC_OK;
}

void fc_sampler_free(fc_sampler *s) {
    free(s->val);
    free(s->idx);
    memset(s, 0, sizeof *s);
}

static int32_t argmax(const float *x, int V) {
    int32_t best = -1;
    for (int i = 0; i < V; i++)
        if (x[i] == x[i] && (best < 0 || x[i] > x[best])) best = i;
    return best < 0 ? 0 : best;
}

/* Sorts idx[0..n) by val descending (val is indexed by position, moved along). Shell sort of pairs keeps
 * the call allocation-free; ties keep the lower id first. */
static void sort_desc(float *val, int32_t *idx, int n) {
    static const int gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    int g0 = n;
    for (int gi = 0; gi < 9; gi++) {
        int gap = gaps[gi];
        if (gap > g0) continue;
        for (int i = gap; i < n; i++) {
            float v = val[i];
            int32_t id = idx[i];
            int j = i;
            while (j >= gap && (val[j - gap] < v || (val[j - gap] == v && idx[j - gap] > id))) {
                val[j] = val[j - gap];
                idx[j] = idx[j - gap];
                j -= gap;
            }
            val[j] = v;
            idx[j] = id;
        }
    }
}

/* softmax(logits / T) when the best scaled score is infinite: a +inf logit, or logit / T past FLT_MAX for
 * a tiny T (+inf for a positive logit, -inf for a negative one, so with all logits negative every score is
 * -inf). The distribution's limit puts all mass on the candidates with the best scaled score and, among
 * those, the best raw logit (as T -> 0, the argmax); exact ties are drawn uniformly. n >= 1 candidates in
 * s->val / s->idx, mx the best of s->val. */
static int32_t sample_infinite(const float *logits, int n, float mx, fc_rng *rng, fc_sampler *s) {
    float best = -INFINITY;
    for (int i = 0; i < n; i++)
        if (s->val[i] == mx && logits[s->idx[i]] > best) best = logits[s->idx[i]];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (s->val[i] == mx && logits[s->idx[i]] == best) s->idx[m++] = s->idx[i];
    if (m <= 1) return s->idx[0];
    return s->idx[(int)(fc_rng_uniform(rng) * m)];
}

int32_t fc_sample(const float *logits, int V, const fc_gen_params *p, fc_rng *rng, fc_sampler *s) {
    if (!(p->temperature > 0)) return argmax(logits, V);
    /* candidates: finite scores only, scaled by 1/temperature */
    int n = 0;
    for (int i = 0; i < V; i++)
        if (isfinite(logits[i]) || logits[i] == INFINITY) s->val[n] = logits[i] / p->temperature, s->idx[n++] = i;
    if (n == 0) return 0;
    /* Keeping only the top candidates before sorting bounds the cost for 150k vocabularies: a token whose
     * probability is below 1e-12 of the best one's cannot be drawn in a double-precision draw anyway. */
    float mx = s->val[0];
    for (int i = 1; i < n; i++)
        if (s->val[i] > mx) mx = s->val[i];
    /* an infinite best score leaves no finite differences to exponentiate (inf - inf is NaN, which used to
     * empty the candidate list and read idx[-1]: issue 10, defect 1) */
    if (!isfinite(mx)) return sample_infinite(logits, n, mx, rng, s);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (s->val[i] - mx > -27.7f) s->val[m] = s->val[i], s->idx[m++] = s->idx[i];
    n = m;
    sort_desc(s->val, s->idx, n);
    if (p->top_k > 0 && p->top_k < n) {
        float kth = s->val[p->top_k - 1];
        int keep = p->top_k;
        while (keep < n && s->val[keep] == kth) keep++; /* HF removes only scores < the k-th: ties stay */
        n = keep;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)s->val[i] - (double)s->val[0]);
    if (p->top_p > 0 && p->top_p < 1) {
        double before = 0;
        int keep = 0;
        while (keep < n && (keep == 0 || before < p->top_p)) before += exp((double)s->val[keep] - s->val[0]) / sum, keep++;
        n = keep;
        sum = 0;
        for (int i = 0; i < n; i++) sum += exp((double)s->val[i] - (double)s->val[0]);
    }
    double u = fc_rng_uniform(rng) * sum, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += exp((double)s->val[i] - (double)s->val[0]);
        if (u < acc) return s->idx[i];
    }
    return s->idx[n - 1];
}

static bool is_eos(const fc_gen_params *p, int32_t tok) {
    for (int i = 0; i < p->n_eos; i++)
        if (p->eos_ids[i] == tok) return true;
    return false;
}

/* Records token `tok` for request r; returns true when the request is finished. */
static bool take(fc_gen_request *r, const fc_gen_params *p, int32_t tok) {
    if (is_eos(p, tok)) {
        r->hit_eos = true;
        return true;
    }
    r->out[r->n_out++] = tok;
    return r->n_out >= p->max_new_tokens;
}

fc_err fc_generate(fc_llm *m, fc_kv_pool *kv, fc_gen_request *reqs, int B, const fc_gen_params *p) {
    if (B < 1 || p->max_new_tokens < 1)
        return fc_err_set(FC_EINVAL, "generate: %d requests, max_new_tokens %d", B, p->max_new_tokens);
    if (p->top_p <= 0 || p->top_k < 0 || p->temperature != p->temperature)
        return fc_err_set(FC_EINVAL, "generate: top_p %g (want (0, 1]), top_k %d (want >= 0)", p->top_p, p->top_k);
    int V = m->cfg.vocab_size;
    fc_kv_handle *seq = fc_malloc((size_t)B * sizeof *seq, "generate");
    int *active = fc_malloc((size_t)B * sizeof(int), "generate");
    int32_t *tok = fc_malloc((size_t)B * sizeof(int32_t), "generate");
    fc_rng *rng = fc_malloc((size_t)B * sizeof(fc_rng), "generate");
    fc_kv_handle *seqs_now = fc_malloc((size_t)B * sizeof *seqs_now, "generate");
    fc_llm_seq_input *in = fc_malloc((size_t)B * sizeof *in, "generate");
    float *logits = fc_malloc((size_t)B * (size_t)V * sizeof(float), "generate logits");
    fc_sampler smp = {0};
    fc_err e = FC_OK;
    if (!seq || !active || !seqs_now || !tok || !rng || !in || !logits || (e = fc_sampler_init(&smp, V))) {
        e = e ? e : FC_ENOMEM;
        goto done;
    }
    for (int b = 0; b < B; b++) seq[b] = FC_KV_NONE;
    for (int b = 0; b < B; b++) {
        if ((e = fc_kv_seq_create(kv, &seq[b]))) goto done;
        reqs[b].n_out = 0;
        reqs[b].hit_eos = false;
        fc_rng_seed(&rng[b], p->seed, p->streams ? p->streams[b] : (uint64_t)b);
        in[b] = (fc_llm_seq_input){.seq = seq[b], .ids = reqs[b].prompt, .n = reqs[b].n_prompt,
                                   .embeds = reqs[b].embeds, .embeds_start = reqs[b].embeds_start,
                                   .n_embeds = reqs[b].n_embeds};
    }
    if ((e = fc_llm_forward(m, kv, in, B, FC_LLM_ROWS_LAST, logits, NULL))) goto done;
    int n_active = 0;
    for (int b = 0; b < B; b++) {
        int32_t t = fc_sample(logits + (size_t)b * V, V, p, &rng[b], &smp);
        if (take(&reqs[b], p, t)) {
            FC_ASSERT(fc_kv_seq_free(kv, seq[b]) == FC_OK);
            seq[b] = FC_KV_NONE;
        } else {
            active[n_active++] = b;
        }
    }
    while (n_active > 0) {
        for (int i = 0; i < n_active; i++) {
            int b = active[i];
            seqs_now[i] = seq[b];
            tok[i] = reqs[b].out[reqs[b].n_out - 1];
        }
        if ((e = fc_llm_decode(m, kv, seqs_now, tok, n_active, logits))) goto done;
        int still = 0;
        for (int i = 0; i < n_active; i++) {
            int b = active[i];
            int32_t t = fc_sample(logits + (size_t)i * V, V, p, &rng[b], &smp);
            if (take(&reqs[b], p, t)) {
                FC_ASSERT(fc_kv_seq_free(kv, seq[b]) == FC_OK);
                seq[b] = FC_KV_NONE;
            } else {
                active[still++] = b;
            }
        }
        n_active = still;
    }
done:
    for (int b = 0; seq && b < B; b++)
        fc_kv_seq_free(kv, seq[b]); /* FC_KV_NONE: nothing */
    fc_sampler_free(&smp);
    free(seq);
    free(active);
    free(seqs_now);
    free(tok);
    free(rng);
    free(in);
    free(logits);
    return e;
}
