/* cmd_compare.c: `fc-eval compare A B`: are two safetensors files the same tensors, within a tolerance?
 * B is the reference: every tensor of B must be in A (and the reverse), with the same dtype and shape;
 * float tensors (F32, F16, BF16) agree when |a - b| <= atol + rtol * |b| element by element (written so
 * that NaN fails), every other dtype byte for byte. Used to check `logits --prompts` against one prompt at
 * a time, and handy against a reference run's logits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/io/safetensors.h"
#include "core/tensor/dtype.h"
#include "eval/commands.h"

static bool is_float(fc_st_dtype t) { return t == FC_ST_F32 || t == FC_ST_F16 || t == FC_ST_BF16; }

static double value(const fc_st_entry *e, size_t i) {
    if (e->st_dtype == FC_ST_F32) {
        float f;
        memcpy(&f, (const char *)e->data + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, (const char *)e->data + 2 * i, 2);
    return e->st_dtype == FC_ST_F16 ? fc_f16_to_f32(h) : fc_bf16_to_f32(h);
}

static void shape_str(const fc_st_entry *e, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < e->ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, d ? ",%lld" : "%lld", (long long)e->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* One tensor: prints its line; on a mismatch sets the error and returns it. */
static fc_err compare_one(const char *pa, const fc_st_entry *a, const fc_st_entry *b, double atol, double rtol) {
    char sa[96], sb[96];
    shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb);
    if (a->st_dtype != b->st_dtype || strcmp(sa, sb))
        return fc_err_set(FC_ESHAPE, "%s: tensor '%s': %s %s, the reference has %s %s", pa, a->name,
                          fc_st_dtype_name(a->st_dtype), sa, fc_st_dtype_name(b->st_dtype), sb);
    size_t bytes = (size_t)(a->end - a->begin);
    if (!is_float(a->st_dtype)) {
        if (bytes && memcmp(a->data, b->data, bytes))
            return fc_err_set(FC_EINVAL, "%s: tensor '%s' (%s) differs from the reference", pa, a->name,
                              fc_st_dtype_name(a->st_dtype));
        printf("%-24s %-5s %-16s equal\n", a->name, fc_st_dtype_name(a->st_dtype), sa);
        return FC_OK;
    }
    size_t n = bytes / fc_st_dtype_size(a->st_dtype), worst = 0;
    double max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        double x = value(a, i), y = value(b, i), d = fabs(x - y), tol = atol + rtol * fabs(y);
        if (!(d <= tol) && !(x == y)) /* x == y: equal infinities */
            return fc_err_set(FC_EINVAL, "%s: tensor '%s'[%zu]: %.9g, the reference has %.9g (|diff| %.3g > tol %.3g)",
                              pa, a->name, i, x, y, d, tol);
        if (d > max_diff) max_diff = d, worst = i;
    }
    printf("%-24s %-5s %-16s max |diff| %.3g at [%zu]\n", a->name, fc_st_dtype_name(a->st_dtype), sa, max_diff, worst);
    return FC_OK;
}

static fc_err compare(const char *pa, const char *pb, double atol, double rtol) {
    fc_st_file a, b;
    fc_err e = fc_st_open(&a, pa);
    if (e) return e;
    if ((e = fc_st_open(&b, pb))) {
        fc_st_close(&a);
        return e;
    }
    for (int i = 0; !e && i < b.n_entries; i++)
        if (!fc_st_find(&a, b.entries[i].name))
            e = fc_err_set(FC_ENOTFOUND, "%s: no tensor '%s' (the reference %s has it)", pa, b.entries[i].name, pb);
    for (int i = 0; !e && i < a.n_entries; i++) {
        const fc_st_entry *r = fc_st_find(&b, a.entries[i].name);
        e = r ? compare_one(pa, &a.entries[i], r, atol, rtol)
              : fc_err_set(FC_ENOTFOUND, "%s: tensor '%s' is not in the reference %s", pa, a.entries[i].name, pb);
    }
    fc_st_close(&a);
    fc_st_close(&b);
    return e;
}

static const fc_cli_option options[] = {
    {"--atol", "X", 1, "absolute tolerance of float tensors (default 0)"},
    {"--rtol", "X", 1, "tolerance relative to the reference's |value| (default 0)"},
    {0}};

static int cmd_compare(const fc_cli_args *a) {
    if (a->n_args != 2) return fc_cli_error("compare: give two files, A and the reference B"), 2;
    double atol = 0, rtol = 0;
    fc_err e;
    if ((e = fc_cli_double(a, "--atol", 0, 1e30, &atol)) || (e = fc_cli_double(a, "--rtol", 0, 1e30, &rtol)))
        return fc_cli_fail(e);
    fflush(stdout);
    e = compare(a->args[0], a->args[1], atol, rtol);
    fflush(stdout);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_compare = {
    "compare", cmd_compare, "two safetensors files: the same tensors, within a tolerance",
    "A.safetensors B.safetensors [--atol X] [--rtol X]",
    "B is the reference. Every tensor must be in both, with the same dtype and shape; floats (F32, F16,\n"
    "BF16) must agree within atol + rtol * |b| element by element (NaN never agrees), other dtypes byte\n"
    "for byte. Prints one line per tensor (the largest difference); the first mismatch is the error.",
    options, 2, NULL};
