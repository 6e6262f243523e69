/* test_kv_stress.c: a randomized stress test of the paged KV pool (issue 10). Thousands of seeded operations
 * (create, append = reserve + write + commit, reserve ahead, truncate, per-layer truncate, fork, free,
 * stale frees and stale calls, swap out / in, all-or-nothing replace, mark + reserve + rollback, requests
 * past the pool) run against a shadow model of what every sequence must hold. After every operation
 * fc_kv_pool_check verifies that no block is lost or owned twice (refcounts equal table references, the
 * free list holds exactly the unreferenced blocks), refused operations must change nothing, and the
 * entries of the sequence touched (of all of them every 64 operations) must read back as the model says,
 * which catches a copy on write that was missed or done twice. */
#include <stdint.h>
#include <string.h>

#include "core/kv/kv_pool.h"
#include "tests/test.h"

enum { L = 3, HKV = 1, D = 2, BS = 4, NB = 16, MAXS = 8, CAP = NB * BS, OPS = 10000, STALE = 16 };

typedef struct {
    int state; /* 0 none, 1 live, 2 swapped out */
    fc_kv_handle h;
    int len[L], next;
    float tag[L][CAP]; /* what entry i of layer l holds: K = (tag, -tag), V = (tag + 0.5, l) */
} shadow;

typedef struct {
    fc_test *t;
    fc_kv_pool *pool;
    shadow s[MAXS];
    fc_kv_handle stale[STALE];
    int n_stale;
    uint64_t rng;
    float next_tag;
    int op;
} world;

static uint32_t rnd(world *w, uint32_t n) {
    w->rng ^= w->rng << 13, w->rng ^= w->rng >> 7, w->rng ^= w->rng << 17;
    return n ? (uint32_t)(w->rng % n) : 0;
}

static int max_len(const shadow *s) {
    int m = 0;
    for (int l = 0; l < L; l++) m = s->len[l] > m ? s->len[l] : m;
    return m;
}

/* The pool's entries of shadow s equal the model. */
static bool verify(world *w, const shadow *s) {
    if (s->state == 0) return true;
    for (int l = 0; l < L; l++)
        if (fc_kv_seq_layer_len(w->pool, s->h, l) != s->len[l])
            return fc_test_fail(w->t, "op %d: layer %d length %d, model %d", w->op, l,
                                fc_kv_seq_layer_len(w->pool, s->h, l), s->len[l]);
    if (fc_kv_seq_next_pos(w->pool, s->h) != s->next)
        return fc_test_fail(w->t, "op %d: next_pos %d, model %d", w->op, fc_kv_seq_next_pos(w->pool, s->h), s->next);
    if (s->state != 1) return true;
    float k[CAP * D], v[CAP * D];
    for (int l = 0; l < L; l++) {
        if (fc_kv_gather_layer(w->pool, s->h, l, k, v)) return fc_test_fail(w->t, "op %d: gather: %s", w->op, fc_errmsg());
        for (int i = 0; i < s->len[l]; i++)
            if (k[i * D] != s->tag[l][i] || k[i * D + 1] != -s->tag[l][i] || v[i * D] != s->tag[l][i] + 0.5f ||
                v[i * D + 1] != (float)l)
                return fc_test_fail(w->t, "op %d: slot %u layer %d entry %d holds %g, model %g", w->op, s->h.slot, l, i,
                                    k[i * D], s->tag[l][i]);
    }
    return true;
}

static shadow *pick(world *w, int state) {
    int n = 0, idx[MAXS];
    for (int i = 0; i < MAXS; i++)
        if (w->s[i].state == state) idx[n++] = i;
    return n ? &w->s[idx[rnd(w, (uint32_t)n)]] : NULL;
}

static shadow *empty_shadow(world *w) {
    for (int i = 0; i < MAXS; i++)
        if (w->s[i].state == 0) return &w->s[i];
    return NULL;
}

static void retire(world *w, shadow *s) {
    w->stale[w->n_stale++ % STALE] = s->h;
    memset(s, 0, sizeof *s);
}

/* One operation; returns false on a failed expectation. */
static bool step(world *w) {
    fc_kv_pool *pool = w->pool;
    int free0 = fc_kv_free_layer_blocks(pool);
    fc_err e;
    shadow *s;
    switch (rnd(w, 14)) {
    case 0: /* create */
        s = empty_shadow(w);
        {
            fc_kv_handle h;
            e = fc_kv_seq_create(pool, &h);
            if (!s) return e == FC_ENOMEM || fc_test_fail(w->t, "op %d: create in a full slot table: %d", w->op, e);
            if (e) return fc_test_fail(w->t, "op %d: create: %s", w->op, fc_errmsg());
            memset(s, 0, sizeof *s);
            s->state = 1, s->h = h;
        }
        return true;
    case 1:
    case 2: { /* append n: reserve, write every layer at its own length, commit */
        if (!(s = pick(w, 1))) return true;
        int n = 1 + (int)rnd(w, 9);
        for (int l = 0; l < L; l++)
            if (s->len[l] + n > CAP) return true; /* the model's arrays end here (the pool would take more) */
        int64_t need = 0;
        if (fc_kv_seq_blocks_needed(pool, s->h, n, &need)) return fc_test_fail(w->t, "op %d: %s", w->op, fc_errmsg());
        bool fits = need <= free0;
        e = fc_kv_seq_reserve(pool, s->h, n);
        if (e) {
            if (e != FC_ENOMEM || fits || fc_kv_free_layer_blocks(pool) != free0)
                return fc_test_fail(w->t, "op %d: reserve %d (need %lld, free %d): e=%d", w->op, n, (long long)need, free0, e);
            return verify(w, s);
        }
        if (free0 - fc_kv_free_layer_blocks(pool) != need)
            return fc_test_fail(w->t, "op %d: reserve took %d blocks, predicted %lld", w->op,
                                free0 - fc_kv_free_layer_blocks(pool), (long long)need);
        for (int l = 0; l < L; l++)
            for (int i = s->len[l]; i < s->len[l] + n; i++) {
                float tg = w->next_tag++, *k = fc_kv_slot_k(pool, s->h, l, i), *v = fc_kv_slot_v(pool, s->h, l, i);
                k[0] = tg, k[1] = -tg, v[0] = tg + 0.5f, v[1] = (float)l;
                s->tag[l][i] = tg;
            }
        if ((e = fc_kv_seq_commit(pool, s->h, n))) return fc_test_fail(w->t, "op %d: commit: %s", w->op, fc_errmsg());
        for (int l = 0; l < L; l++) s->len[l] += n;
        s->next += n;
        return verify(w, s);
    }
    case 3: /* reserve ahead (no commit) or a request past the pool */
        if (!(s = pick(w, 1))) return true;
        if (rnd(w, 4) == 0) {
            e = fc_kv_seq_reserve(pool, s->h, INT32_MAX / 2 + (int)rnd(w, 1000));
            return ((e == FC_ENOMEM || e == FC_EINVAL) && fc_kv_free_layer_blocks(pool) == free0) ||
                   fc_test_fail(w->t, "op %d: huge reserve: e=%d", w->op, e);
        }
        e = fc_kv_seq_reserve(pool, s->h, 1 + (int)rnd(w, 6));
        return e == FC_OK || e == FC_ENOMEM || fc_test_fail(w->t, "op %d: reserve ahead: %s", w->op, fc_errmsg());
    case 4: { /* truncate, or truncate one layer */
        if (!(s = pick(w, 1))) return true;
        if (rnd(w, 2)) {
            int S = (int)rnd(w, (uint32_t)max_len(s) + 1);
            if ((e = fc_kv_truncate(pool, s->h, S))) return fc_test_fail(w->t, "op %d: truncate: %s", w->op, fc_errmsg());
            for (int l = 0; l < L; l++) s->len[l] = s->len[l] < S ? s->len[l] : S;
        } else {
            int l = (int)rnd(w, L), S = (int)rnd(w, (uint32_t)s->len[l] + 1);
            if ((e = fc_kv_truncate_layer(pool, s->h, l, S))) return fc_test_fail(w->t, "op %d: %s", w->op, fc_errmsg());
            s->len[l] = S;
        }
        return verify(w, s);
    }
    case 5: { /* fork */
        shadow *p = pick(w, 1), *c = empty_shadow(w);
        if (!p) return true;
        fc_kv_handle h;
        e = fc_kv_seq_fork(pool, p->h, &h);
        if (!c) return e == FC_ENOMEM || fc_test_fail(w->t, "op %d: fork without a slot: %d", w->op, e);
        if (e) return fc_test_fail(w->t, "op %d: fork: %s", w->op, fc_errmsg());
        if (fc_kv_free_layer_blocks(pool) != free0) return fc_test_fail(w->t, "op %d: fork took blocks", w->op);
        *c = *p;
        c->h = h;
        return verify(w, c) && verify(w, p);
    }
    case 6: /* free a live or swapped-out sequence */
        if (!(s = pick(w, 1 + (int)rnd(w, 2)))) return true;
        if ((e = fc_kv_seq_free(pool, s->h))) return fc_test_fail(w->t, "op %d: free: %s", w->op, fc_errmsg());
        retire(w, s);
        return true;
    case 7: { /* a stale handle: free and reserve refused, nothing changed */
        if (w->n_stale == 0) return true;
        fc_kv_handle h = w->stale[rnd(w, (uint32_t)(w->n_stale < STALE ? w->n_stale : STALE))];
        if (fc_kv_seq_free(pool, h) != FC_EINVAL || fc_kv_seq_reserve(pool, h, 1) != FC_EINVAL ||
            fc_kv_truncate(pool, h, 0) != FC_EINVAL || fc_kv_free_layer_blocks(pool) != free0)
            return fc_test_fail(w->t, "op %d: a stale handle %u#%u was accepted", w->op, h.slot, h.gen);
        return true;
    }
    case 8: /* swap out */
        if (!(s = pick(w, 1))) return true;
        if ((e = fc_kv_seq_swap_out(pool, s->h))) return fc_test_fail(w->t, "op %d: swap out: %s", w->op, fc_errmsg());
        s->state = 2;
        return verify(w, s);
    case 9: { /* swap in: refused (nothing changed) when the blocks are not free */
        if (!(s = pick(w, 2))) return true;
        int64_t need = 0;
        for (int l = 0; l < L; l++) need += fc_kv_blocks_for(pool, s->len[l]);
        e = fc_kv_seq_swap_in(pool, s->h);
        if (e) return (e == FC_ENOMEM && need > free0 && fc_kv_free_layer_blocks(pool) == free0) ||
                      fc_test_fail(w->t, "op %d: swap in (need %lld, free %d): e=%d", w->op, (long long)need, free0, e);
        s->state = 1;
        return verify(w, s);
    }
    case 10: { /* replace: keep a random ordered subset of each layer, all or nothing */
        if (!(s = pick(w, 1))) return true;
        static float kb[L][CAP * D], vb[L][CAP * D];
        float keep[L][CAP];
        int lens[L];
        const float *ks[L], *vs[L];
        for (int l = 0; l < L; l++) {
            lens[l] = 0;
            for (int i = 0; i < s->len[l]; i++)
                if (rnd(w, 3)) {
                    float tg = s->tag[l][i];
                    keep[l][lens[l]] = tg;
                    kb[l][lens[l] * D] = tg, kb[l][lens[l] * D + 1] = -tg;
                    vb[l][lens[l] * D] = tg + 0.5f, vb[l][lens[l] * D + 1] = (float)l;
                    lens[l]++;
                }
            ks[l] = kb[l], vs[l] = vb[l];
        }
        e = fc_kv_seq_replace(pool, s->h, lens, ks, vs);
        if (e) {
            if (e != FC_ENOMEM || fc_kv_free_layer_blocks(pool) != free0)
                return fc_test_fail(w->t, "op %d: replace: e=%d", w->op, e);
            return verify(w, s);
        }
        for (int l = 0; l < L; l++) memcpy(s->tag[l], keep[l], sizeof(float) * lens[l]), s->len[l] = lens[l];
        return verify(w, s);
    }
    case 11: { /* mark, reserve, rollback: back to the mark */
        if (!(s = pick(w, 1))) return true;
        fc_kv_layer_mark m[L];
        if (fc_kv_seq_mark(pool, s->h, m)) return fc_test_fail(w->t, "op %d: mark: %s", w->op, fc_errmsg());
        fc_kv_seq_reserve(pool, s->h, 1 + (int)rnd(w, 10)); /* may be refused */
        if ((e = fc_kv_seq_rollback(pool, s->h, m)) || fc_kv_free_layer_blocks(pool) != free0)
            return fc_test_fail(w->t, "op %d: rollback: e=%d, free %d -> %d", w->op, e, free0,
                                fc_kv_free_layer_blocks(pool));
        return verify(w, s);
    }
    case 12: /* positions */
        if (!(s = pick(w, 1))) return true;
        s->next = (int)rnd(w, 1000);
        return fc_kv_seq_set_next_pos(pool, s->h, s->next) == FC_OK || fc_test_fail(w->t, "op %d: set_next_pos", w->op);
    default: /* a write of a layer's own entries back (copies shared blocks first) */
        if (!(s = pick(w, 1))) return true;
        {
            int l = (int)rnd(w, L);
            float k[CAP * D], v[CAP * D];
            if (fc_kv_gather_layer(pool, s->h, l, k, v)) return fc_test_fail(w->t, "op %d: %s", w->op, fc_errmsg());
            e = fc_kv_write_layer(pool, s->h, l, k, v, s->len[l]);
            if (e && (e != FC_ENOMEM || fc_kv_free_layer_blocks(pool) != free0))
                return fc_test_fail(w->t, "op %d: write_layer: e=%d", w->op, e);
        }
        return verify(w, s);
    }
}

static void run_seed(fc_test *t, uint64_t seed) {
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = HKV, .head_dim = D, .block_size = BS, .n_blocks = NB,
                           .max_seqs = MAXS, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CPU};
    static world w;
    memset(&w, 0, sizeof w);
    w.t = t, w.rng = seed * 0x9e3779b97f4a7c15ull + 1, w.next_tag = 1;
    FC_CHECK(t, fc_kv_pool_create(&w.pool, &p) == FC_OK, "%s", fc_errmsg());
    int shared_seen = 0, full_seen = 0;
    for (w.op = 0; w.op < OPS; w.op++) {
        if (!step(&w)) break;
        fc_err e = fc_kv_pool_check(w.pool);
        if (e) {
            fc_test_fail(t, "seed %llu op %d: %s", (unsigned long long)seed, w.op, fc_errmsg());
            break;
        }
        fc_kv_stats st;
        fc_kv_pool_stats(w.pool, &st);
        shared_seen += st.layer_blocks_shared > 0;
        full_seen += st.layer_blocks_used > st.layer_blocks_total - 4;
        if (w.op % 64 == 0)
            for (int i = 0; i < MAXS; i++)
                if (!verify(&w, &w.s[i])) goto out;
    }
out:
    t->checks++;
    /* the run must have exercised sharing and exhaustion, or it tested less than it claims */
    FC_CHECK(t, shared_seen > OPS / 20 && full_seen > OPS / 50, "seed %llu: shared in %d ops, near full in %d",
             (unsigned long long)seed, shared_seen, full_seen);
    for (int i = 0; i < MAXS; i++)
        if (w.s[i].state) FC_CHECK(t, fc_kv_seq_free(w.pool, w.s[i].h) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_free_layer_blocks(w.pool) == NB * L && fc_kv_pool_check(w.pool) == FC_OK, "blocks lost at the end");
    fc_kv_pool_free(w.pool);
}

static void test_kv_stress_seed1(fc_test *t) { run_seed(t, 1); }
static void test_kv_stress_seed2(fc_test *t) { run_seed(t, 2); }
static void test_kv_stress_seed3(fc_test *t) { run_seed(t, 3); }

static const fc_test_case cases[] = {
    FC_CASE(test_kv_stress_seed1),
    FC_CASE(test_kv_stress_seed2),
    FC_CASE(test_kv_stress_seed3),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
