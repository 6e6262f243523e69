/* gemm_dnnl.c: linear layers through oneDNN's matmul, weights packed once (see gemm_dnnl.h).
 *
 * oneDNN describes the product as dst (M, N) = src (M, K) . wei (K, N); our weight (N, K) row-major is wei
 * in the "ba" layout. At pack time the weight is rounded to the compute dtype (our own round-to-nearest-
 * even, the same as torch's .to(torch.bfloat16)), then reordered by oneDNN into the layout its kernel
 * asked for when offered format "any" at a prefill-sized M; every later primitive (any M) is made with
 * that fixed layout, so the packed copy serves decode and prefill alike. The library runs on the same
 * OpenMP runtime as our kernels (Debian builds it with DNNL_CPU_RUNTIME=OMP), so there is one pool.
 */
#include "kernels/cpu/gemm_dnnl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemv_bf16.h"

#ifdef FC_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

#define PRIM_SLOTS 8     /* primitives kept per pack, by M (least recently made is replaced) */
#define PACK_QUERY_M 512 /* the M at which the kernel is asked for its preferred weight layout */

typedef struct {
    int64_t M; /* 0: empty */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    bool has_bias;
} prim_slot;

struct fc_wpack {
    int64_t N, K;
    fc_dtype cdt;
    dnnl_memory_desc_t wmd; /* the packed layout */
    void *wdata;
    size_t wbytes;
    pthread_mutex_t mu;
    prim_slot slots[PRIM_SLOTS * 2]; /* with and without bias */
    int next;
    int64_t Kp; /* > 0: the layout is BA16a64b2a with K padded to Kp, and M <= FC_GEMV_BF16_MAX_M runs our
                 * streaming loop (kernels/cpu/gemv_bf16.c) instead of a primitive */
};

/* Kp when wmd is the "BA16a64b2a" bf16 layout that fc_cpu_gemv_bf16_packed reads, else 0. */
static int64_t gemv_layout(const dnnl_memory_desc_t *md) {
    if (!fc_cpu_gemv_bf16_built() || md->data_type != dnnl_bf16 || md->ndims != 2 ||
        md->format_kind != dnnl_blocked)
        return 0;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int64_t Kp = md->padded_dims[0], Np = md->padded_dims[1];
    bool ok = b->inner_nblks == 3 && b->inner_blks[0] == 16 && b->inner_idxs[0] == 0 && b->inner_blks[1] == 64 &&
              b->inner_idxs[1] == 1 && b->inner_blks[2] == 2 && b->inner_idxs[2] == 0 && b->strides[0] == 2048 &&
              b->strides[1] == Kp * 64 && Kp % 32 == 0 && Np % 64 == 0 && md->offset0 == 0 && md->extra.flags == 0;
    return ok ? Kp : 0;
}

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) {
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
    if (engine_status == dnnl_success) engine_status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
}

static fc_err dnnl_fail(dnnl_status_t st, const char *what) {
    return fc_err_set(st == dnnl_out_of_memory ? FC_ENOMEM : FC_EUNSUPPORTED, "oneDNN: %s failed (status %d)", what,
                      (int)st);
}

static fc_err engine_get(void) {
    pthread_once(&engine_once, engine_init);
    if (engine_status != dnnl_success) return dnnl_fail(engine_status, "creating the CPU engine");
    return FC_OK;
}

bool fc_dnnl_built(void) { return true; }

const char *fc_dnnl_version(void) {
    static char buf[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

const char *fc_dnnl_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}

static dnnl_data_type_t dnnl_dt(fc_dtype t) { return t == FC_DTYPE_BF16 ? dnnl_bf16 : dnnl_f32; }

/* The matmul descriptor for M rows; wmd NULL asks for format "any". */
static fc_err make_pd(dnnl_primitive_desc_t *pd, int64_t M, int64_t N, int64_t K, fc_dtype cdt,
                      const dnnl_memory_desc_t *wmd, bool bias) {
    dnnl_memory_desc_t smd, anyw, bmd, dmd;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, bd = {1, N}, dd = {M, N};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_dt(cdt), dnnl_ab);
    if (st == dnnl_success && !wmd) st = dnnl_memory_desc_init_by_tag(&anyw, 2, wd, dnnl_dt(cdt), dnnl_format_tag_any);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ab);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t md;
    /* the scratchpad (oneDNN's copies of the A panels) is ours, a grow-only per-thread buffer: with the
     * library's, every call of a large product re-faulted fresh pages (perf: ~15% of a prefill in the
     * kernel's page-fault and unmap paths) */
    dnnl_primitive_attr_t attr = NULL;
    if (st == dnnl_success) st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&md, &smd, wmd ? wmd : &anyw, bias ? &bmd : NULL, &dmd);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &md, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        char what[96];
        snprintf(what, sizeof what, "matmul %lld x %lld x %lld (%s)", (long long)M, (long long)N, (long long)K,
                 fc_dtype_name(cdt));
        return dnnl_fail(st, what);
    }
    return FC_OK;
}

static const char *pd_impl(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "?";
    return s;
}

/* Reorders the plain weight at src (dtype cdt) into the packed buffer. oneDNN's wei is (K, N) of the pack's
 * product; tag says how src holds it: dnnl_ba for the forward's PyTorch (N, K) row-major weight, dnnl_ab for
 * the backward's W (N, K), which is the wei of dx = dy . W in that layout. */
static fc_err reorder_in(fc_wpack *p, const void *src, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t pmd;
    dnnl_dims_t wd = {p->K, p->N};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&pmd, 2, wd, dnnl_dt(p->cdt), tag);
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    if (st == dnnl_success) st = dnnl_memory_create(&ms, &pmd, engine, (void *)src);
    if (st == dnnl_success) st = dnnl_memory_create(&md, &p->wmd, engine, p->wdata);
    if (st == dnnl_success) st = dnnl_reorder_primitive_desc_create(&rpd, &pmd, engine, &p->wmd, engine, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        st = dnnl_primitive_execute(r, stream, 2, args);
    }
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(md);
    dnnl_memory_destroy(ms);
    return st == dnnl_success ? FC_OK : dnnl_fail(st, "reordering a weight into the packed layout");
}

fc_err fc_dnnl_w_create(fc_wpack **out, const void *w, fc_dtype wdt, int64_t N, int64_t K, fc_dtype cdt) {
    *out = NULL;
    FC_TRY(engine_get());
    if (cdt != FC_DTYPE_BF16 && cdt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear: compute dtype %s (want bf16 or f32)", fc_dtype_name(cdt));
    if (N <= 0 || K <= 0) return fc_err_set(FC_ESHAPE, "oneDNN linear: empty weight [%lld,%lld]", (long long)N,
                                            (long long)K);
    fc_wpack *p = fc_calloc(1, sizeof *p, "packed weight");
    if (!p) return FC_ENOMEM;
    p->N = N, p->K = K, p->cdt = cdt;
    pthread_mutex_init(&p->mu, NULL);
    dnnl_primitive_desc_t pd = NULL;
    fc_err e = make_pd(&pd, PACK_QUERY_M, N, K, cdt, NULL, false);
    if (e) goto fail;
    p->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    p->wbytes = dnnl_memory_desc_get_size(&p->wmd);
    p->Kp = gemv_layout(&p->wmd);
    p->wdata = fc_cpu_weight_alloc(p->wbytes); /* 2 MiB pages for large weights (gemv_bf16.h) */
    if (!p->wdata) {
        e = fc_err_set(FC_ENOMEM, "oneDNN linear: out of memory packing a [%lld,%lld] weight (%zu bytes)",
                       (long long)N, (long long)K, p->wbytes);
        goto fail;
    }
    if (wdt == cdt) {
        e = reorder_in(p, w, dnnl_ba);
    } else { /* round to the compute dtype first, in a transient plain copy */
        size_t n = (size_t)N * (size_t)K;
        void *tmp = malloc(n * fc_dtype_size(cdt));
        if (!tmp) {
            e = fc_err_set(FC_ENOMEM, "oneDNN linear: out of memory converting a [%lld,%lld] weight", (long long)N,
                           (long long)K);
            goto fail;
        }
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < N; r++)
            fc_dtype_convert((char *)tmp + (size_t)r * K * fc_dtype_size(cdt), cdt,
                             (const char *)w + (size_t)r * K * fc_dtype_size(wdt), wdt, (size_t)K);
        e = reorder_in(p, tmp, dnnl_ba);
        free(tmp);
    }
    if (e) goto fail;
    *out = p;
    return FC_OK;
fail:
    fc_dnnl_w_free(p);
    return e;
}

void fc_dnnl_w_free(fc_wpack *p) {
    if (!p) return;
    for (int i = 0; i < PRIM_SLOTS * 2; i++) {
        dnnl_primitive_destroy(p->slots[i].prim);
        dnnl_primitive_desc_destroy(p->slots[i].pd);
    }
    pthread_mutex_destroy(&p->mu);
    free(p->wdata);
    free(p);
}

/* The slot for M rows (made on first use); called with p->mu held. */
static fc_err slot_get(fc_wpack *p, int64_t M, bool bias, prim_slot **out) {
    prim_slot *base = p->slots + (bias ? PRIM_SLOTS : 0);
    for (int i = 0; i < PRIM_SLOTS; i++)
        if (base[i].M == M) {
            *out = &base[i];
            return FC_OK;
        }
    prim_slot *s = &base[p->next % PRIM_SLOTS];
    p->next++;
    dnnl_primitive_destroy(s->prim);
    dnnl_primitive_desc_destroy(s->pd);
    memset(s, 0, sizeof *s);
    FC_TRY(make_pd(&s->pd, M, p->N, p->K, p->cdt, &p->wmd, bias));
    dnnl_status_t st = dnnl_primitive_create(&s->prim, s->pd);
    if (st != dnnl_success) {
        dnnl_primitive_desc_destroy(s->pd);
        s->pd = NULL;
        return dnnl_fail(st, "creating a matmul primitive");
    }
    s->M = M;
    s->has_bias = bias;
    *out = s;
    return FC_OK;
}

fc_err fc_dnnl_w_impl(fc_wpack *p, int64_t M, char *buf, size_t cap) {
    if (p->Kp && M <= FC_GEMV_BF16_MAX_M) {
        snprintf(buf, cap, "fc:gemv_avx512_bf16");
        return FC_OK;
    }
    pthread_mutex_lock(&p->mu);
    prim_slot *s;
    fc_err e = slot_get(p, M, false, &s);
    if (!e) snprintf(buf, cap, "%s", pd_impl(s->pd));
    pthread_mutex_unlock(&p->mu);
    return e;
}

static void round_rows_bf16(uint16_t *dst, const float *src, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) dst[i] = fc_f32_to_bf16(src[i]);
}

/* M <= FC_GEMV_BF16_MAX_M on the packed layout: x rounded into rows of Kp (zero tail), our streaming loop. */
static fc_err linear_few_rows(float *y, const float *x, int64_t M, fc_wpack *p, const void *b, fc_dtype bdt) {
    float *buf = fc_cpu_scratch(0, (size_t)(M * p->Kp + 1) / 2);
    if (!buf) return fc_err_prefix(FC_ENOMEM, "bf16 gemv");
    uint16_t *xb = (uint16_t *)buf;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t k = 0; k < p->K; k++) xb[m * p->Kp + k] = fc_f32_to_bf16(x[m * p->K + k]);
        memset(xb + m * p->Kp + p->K, 0, sizeof(uint16_t) * (size_t)(p->Kp - p->K));
    }
    const float *bias = NULL;
    if (b) {
        float *bb = fc_cpu_scratch(1, (size_t)p->N);
        if (!bb) return fc_err_prefix(FC_ENOMEM, "bf16 gemv");
        fc_cpu_load_f32(bb, b, bdt, p->N);
        bias = bb;
    }
    fc_cpu_gemv_bf16_packed(y, xb, M, p->Kp, p->wdata, p->N, bias);
    return FC_OK;
}

fc_err fc_dnnl_linear(float *y, const float *x, int64_t M, fc_wpack *p, const void *b, fc_dtype bdt) {
    if (M <= 0) return FC_OK;
    if (p->Kp && M <= FC_GEMV_BF16_MAX_M) return linear_few_rows(y, x, M, p, b, bdt);
    const void *src = x;
    if (p->cdt == FC_DTYPE_BF16) {
        float *buf = fc_cpu_scratch(0, (size_t)(M * p->K + 1) / 2);
        if (!buf) return fc_err_prefix(FC_ENOMEM, "oneDNN linear");
        round_rows_bf16((uint16_t *)buf, x, M * p->K);
        src = buf;
    }
    const float *bias = NULL;
    if (b && bdt == FC_DTYPE_F32) {
        bias = b;
    } else if (b) {
        float *bb = fc_cpu_scratch(1, (size_t)p->N);
        if (!bb) return fc_err_prefix(FC_ENOMEM, "oneDNN linear");
        fc_cpu_load_f32(bb, b, bdt, p->N);
        bias = bb;
    }
    pthread_mutex_lock(&p->mu);
    prim_slot *s;
    fc_err e = slot_get(p, M, bias != NULL, &s);
    if (e) {
        pthread_mutex_unlock(&p->mu);
        return e;
    }
    /* memory objects are cheap wrappers (no allocation for user-provided handles) */
    dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL, mpad = NULL;
    const dnnl_memory_desc_t *padmd = dnnl_primitive_desc_query_md(s->pd, dnnl_query_scratchpad_md, 0);
    size_t padbytes = padmd ? dnnl_memory_desc_get_size(padmd) : 0;
    void *pad = padbytes ? fc_cpu_scratch(2, padbytes / sizeof(float) + 1) : NULL;
    if (padbytes && !pad) {
        pthread_mutex_unlock(&p->mu);
        return fc_err_prefix(FC_ENOMEM, "oneDNN linear scratchpad");
    }
    dnnl_status_t st = dnnl_memory_create(&ms, dnnl_primitive_desc_query_md(s->pd, dnnl_query_src_md, 0), engine,
                                          (void *)src);
    if (st == dnnl_success) st = dnnl_memory_create(&mw, &p->wmd, engine, p->wdata);
    if (st == dnnl_success && bias)
        st = dnnl_memory_create(&mb, dnnl_primitive_desc_query_md(s->pd, dnnl_query_weights_md, 1), engine,
                                (void *)bias);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, dnnl_primitive_desc_query_md(s->pd, dnnl_query_dst_md, 0), engine, y);
    if (st == dnnl_success && pad) st = dnnl_memory_create(&mpad, padmd, engine, pad);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
        int n = 3;
        if (pad) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mpad};
        if (bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        st = dnnl_primitive_execute(s->prim, stream, n, args);
    }
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    pthread_mutex_unlock(&p->mu);
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(md);
    dnnl_memory_destroy(mpad);
    return st == dnnl_success ? FC_OK : dnnl_fail(st, "running a matmul");
}

size_t fc_dnnl_w_bytes(const fc_wpack *p) { return p ? p->wbytes : 0; }
int64_t fc_dnnl_w_rows(const fc_wpack *p) { return p->N; }
int64_t fc_dnnl_w_cols(const fc_wpack *p) { return p->K; }
fc_dtype fc_dnnl_w_dtype(const fc_wpack *p) { return p->cdt; }


/* ---- the backward's packs: dx = dy . W, W (N, K) stacked from parts (gemm_dnnl.h) ---- */

fc_err fc_dnnl_wt_create(fc_wpack **out, int n_parts, const void *const *w, const fc_dtype *wdt, const int64_t *rows,
                         int64_t K, fc_dtype cdt) {
    *out = NULL;
    FC_TRY(engine_get());
    if (cdt != FC_DTYPE_BF16 && cdt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear backward: compute dtype %s (want bf16 or f32)",
                          fc_dtype_name(cdt));
    int64_t N = 0;
    for (int i = 0; i < n_parts; i++) N += rows[i];
    if (n_parts <= 0 || N <= 0 || K <= 0)
        return fc_err_set(FC_ESHAPE, "oneDNN linear backward: empty weight stack (%d parts, %lld rows of %lld)",
                          n_parts, (long long)N, (long long)K);
    fc_wpack *p = fc_calloc(1, sizeof *p, "packed weight");
    if (!p) return FC_ENOMEM;
    p->N = K, p->K = N, p->cdt = cdt; /* this product's outputs are W's columns, its reduction W's rows */
    pthread_mutex_init(&p->mu, NULL);
    dnnl_primitive_desc_t pd = NULL;
    void *tmp = NULL;
    fc_err e = make_pd(&pd, PACK_QUERY_M, p->N, p->K, cdt, NULL, false);
    if (e) goto fail;
    p->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    p->wbytes = dnnl_memory_desc_get_size(&p->wmd);
    p->Kp = gemv_layout(&p->wmd);
    p->wdata = aligned_alloc(64, (p->wbytes + 63) & ~(size_t)63);
    size_t esz = fc_dtype_size(cdt);
    if (!p->wdata) {
        e = fc_err_set(FC_ENOMEM, "oneDNN linear backward: out of memory packing a [%lld,%lld] weight stack",
                       (long long)N, (long long)K);
        goto fail;
    }
    if (n_parts == 1 && wdt[0] == cdt) { /* already plain in the compute dtype: no staging copy */
        e = reorder_in(p, w[0], dnnl_ab);
        if (e) goto fail;
        *out = p;
        return FC_OK;
    }
    tmp = malloc((size_t)N * (size_t)K * esz); /* the stack, plain, in the compute dtype */
    if (!tmp) {
        e = fc_err_set(FC_ENOMEM, "oneDNN linear backward: out of memory packing a [%lld,%lld] weight stack",
                       (long long)N, (long long)K);
        goto fail;
    }
    int64_t r0 = 0;
    for (int i = 0; i < n_parts; r0 += rows[i], i++) {
        const char *src = w[i];
        size_t in_row = (size_t)K * fc_dtype_size(wdt[i]);
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows[i]; r++)
            fc_dtype_convert((char *)tmp + (size_t)(r0 + r) * K * esz, cdt, src + (size_t)r * in_row, wdt[i], (size_t)K);
    }
    e = reorder_in(p, tmp, dnnl_ab);
    free(tmp);
    tmp = NULL;
    if (e) goto fail;
    *out = p;
    return FC_OK;
fail:
    free(tmp);
    fc_dnnl_w_free(p);
    return e;
}

#else /* built without oneDNN */

#define NO_DNNL "this binary was built without oneDNN (install libdnnl-dev and rebuild)"

bool fc_dnnl_built(void) { return false; }
const char *fc_dnnl_version(void) { return "none"; }
const char *fc_dnnl_isa(void) { return "none"; }
fc_err fc_dnnl_w_create(fc_wpack **out, const void *w, fc_dtype wdt, int64_t N, int64_t K, fc_dtype cdt) {
    (void)w, (void)wdt, (void)N, (void)K, (void)cdt;
    *out = NULL;
    return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear: %s", NO_DNNL);
}
void fc_dnnl_w_free(fc_wpack *p) { (void)p; }
size_t fc_dnnl_w_bytes(const fc_wpack *p) { (void)p; return 0; }
int64_t fc_dnnl_w_rows(const fc_wpack *p) { (void)p; return 0; }
int64_t fc_dnnl_w_cols(const fc_wpack *p) { (void)p; return 0; }
fc_dtype fc_dnnl_w_dtype(const fc_wpack *p) { (void)p; return FC_DTYPE_F32; }
fc_err fc_dnnl_linear(float *y, const float *x, int64_t M, fc_wpack *p, const void *b, fc_dtype bdt) {
    (void)y, (void)x, (void)M, (void)p, (void)b, (void)bdt;
    return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear: %s", NO_DNNL);
}
fc_err fc_dnnl_w_impl(fc_wpack *p, int64_t M, char *buf, size_t cap) {
    (void)p, (void)M;
    snprintf(buf, cap, "none");
    return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear: %s", NO_DNNL);
}

fc_err fc_dnnl_wt_create(fc_wpack **out, int n_parts, const void *const *w, const fc_dtype *wdt, const int64_t *rows,
                         int64_t K, fc_dtype cdt) {
    (void)n_parts, (void)w, (void)wdt, (void)rows, (void)K, (void)cdt;
    *out = NULL;
    return fc_err_set(FC_EUNSUPPORTED, "oneDNN linear backward: %s", NO_DNNL);
}

#endif
