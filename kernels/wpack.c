/* wpack.c: the process-wide GEMM precision and the packing of weights for it (see wpack.h). */
#include "kernels/wpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "kernels/cpu/gemm_dnnl.h"

const char *const fc_precision_names[] = {[FC_PREC_F32] = "f32", [FC_PREC_BF16] = "bf16", [FC_PREC_COUNT] = NULL};

static fc_precision current = FC_PREC_F32;

const char *fc_precision_name(fc_precision p) { return (unsigned)p < FC_PREC_COUNT ? fc_precision_names[p] : "?"; }

fc_err fc_precision_from_name(const char *name, fc_precision *out) {
    for (int i = 0; i < FC_PREC_COUNT; i++)
        if (name && strcmp(name, fc_precision_names[i]) == 0) {
            *out = (fc_precision)i;
            return FC_OK;
        }
    return fc_err_set(FC_EINVAL, "precision '%s' (want f32 or bf16)", name ? name : "");
}

/* Whether /proc/cpuinfo lists `flag` for the first CPU (Linux; false elsewhere). */
static bool cpu_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return false;
    char line[8192];
    bool found = false;
    size_t n = strlen(flag);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag))
            if ((p == line || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) found = true;
        break;
    }
    fclose(f);
    return found;
}

bool fc_precision_bf16_usable(void) {
    if (!fc_dnnl_built()) return false;
    const char *isa = fc_dnnl_isa();
    return strcmp(isa, "avx512_core_amx") == 0 || strcmp(isa, "avx512_core_bf16") == 0;
}

fc_err fc_precision_set(fc_precision p) {
    if ((unsigned)p >= FC_PREC_COUNT) return fc_err_set(FC_EINVAL, "precision %d out of range", (int)p);
    if (p == FC_PREC_BF16 && !fc_precision_bf16_usable()) {
        if (!fc_dnnl_built())
            return fc_err_set(FC_EUNSUPPORTED, "precision bf16: this binary was built without oneDNN "
                                               "(install libdnnl-dev and rebuild)");
        return fc_err_set(FC_EUNSUPPORTED,
                          "precision bf16: this CPU has neither AMX-BF16 nor AVX-512 BF16 (oneDNN isa %s), so "
                          "bf16 GEMMs would run oneDNN's slow reference code",
                          fc_dnnl_isa());
    }
    current = p;
    return FC_OK;
}

fc_precision fc_precision_get(void) { return current; }

static bool chosen; /* a value came from --precision or FC_PRECISION */

bool fc_precision_chosen(void) { return chosen; }

fc_err fc_precision_take_option(int *argc, char **argv) {
    const char *val = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--precision")) {
            if (i + 1 >= *argc) return fc_err_set(FC_EINVAL, "option --precision needs a value (f32 or bf16)");
            v = argv[++i];
        } else if (!strncmp(argv[i], "--precision=", 12)) {
            v = argv[i] + 12;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (val) return fc_err_set(FC_EINVAL, "option --precision given twice");
        val = v;
    }
    *argc = out;
    argv[out] = NULL;
    const char *from = "--precision";
    if (!val && (val = getenv("FC_PRECISION")) && *val) from = "FC_PRECISION";
    if (!val || !*val) return FC_OK;
    fc_precision p;
    fc_err e = fc_precision_from_name(val, &p);
    if (e) return fc_err_prefix(e, "%s", from);
    chosen = true;
    if (fc_precision_set(p) != FC_OK) { /* bf16 without its kernels: say why, and run the f32 path */
        fc_log_warn("%s: %s; running with f32", from, fc_errmsg());
        fc_err_clear();
    }
    return FC_OK;
}

/* The implementation oneDNN picks for a probe weight of n x n at M rows, into buf. */
static void probe_impl(char *buf, size_t cap, fc_dtype cdt, int64_t n, int64_t M) {
    static uint16_t w[256 * 256]; /* zeros are a valid weight in both dtypes' bit patterns */
    fc_wpack *p;
    if (fc_dnnl_w_create(&p, w, FC_DTYPE_BF16, n, n, cdt) != FC_OK) {
        snprintf(buf, cap, "unavailable (%s)", fc_errmsg());
        return;
    }
    if (fc_dnnl_w_impl(p, M, buf, cap) != FC_OK) snprintf(buf, cap, "unavailable (%s)", fc_errmsg());
    fc_dnnl_w_free(p);
}

const char *fc_precision_describe(void) {
    static char buf[1024];
    static const char *const flags[] = {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", NULL};
    size_t off = (size_t)snprintf(buf, sizeof buf, "cpu:");
    for (int i = 0; flags[i]; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, " %s%s", cpu_flag(flags[i]) ? "" : "no-", flags[i]);
    off += (size_t)snprintf(buf + off, sizeof buf - off, "\nprecision: %s (f32: OpenBLAS sgemm + own gemv",
                            fc_precision_name(current));
    if (!fc_dnnl_built()) {
        snprintf(buf + off, sizeof buf - off, "; bf16: unavailable, built without oneDNN)");
        return buf;
    }
    char big[160], one[160];
    probe_impl(big, sizeof big, FC_DTYPE_BF16, 256, 512);
    probe_impl(one, sizeof one, FC_DTYPE_BF16, 256, 1);
    snprintf(buf + off, sizeof buf - off, "; bf16: oneDNN %s isa %s%s, linear %s at M=512, %s at M=1)",
             fc_dnnl_version(), fc_dnnl_isa(), fc_precision_bf16_usable() ? "" : " [not usable: no bf16 kernels]",
             big, one);
    return buf;
}

fc_err fc_wpack_tensor(fc_tensor *w) {
    if (w->pack || current == FC_PREC_F32 || !w->data) return FC_OK;
    if (w->device != FC_DEVICE_CPU || w->ndim != 2) return FC_OK; /* only CPU Linear weights are packed */
    fc_err e = fc_dnnl_w_create(&w->pack, w->data, w->dtype, w->shape[0], w->shape[1], FC_DTYPE_BF16);
    if (e) return fc_err_prefix(e, "packing a [%lld,%lld] %s weight for bf16", (long long)w->shape[0],
                                (long long)w->shape[1], fc_dtype_name(w->dtype));
    return FC_OK;
}

void fc_wpack_release(fc_tensor *w) {
    if (!w) return;
    fc_dnnl_w_free(w->pack);
    w->pack = NULL;
}

size_t fc_wpack_bytes(const fc_tensor *w) { return w ? fc_dnnl_w_bytes(w->pack) : 0; }
