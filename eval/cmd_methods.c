/* cmd_methods.c: `fc-eval methods`: lists every KV compression method with its options, defaults, bounds
 * and help (from the one option table in core/compress/compress.c), or checks one spec and prints it
 * with every option spelled out. */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/compress/compress.h"
#include "eval/commands.h"

static void print_needs(unsigned needs) {
    static const struct {
        unsigned bit;
        const char *what;
    } n[] = {{FC_NEED_QWINDOW, "last-queries"}, {FC_NEED_QSTATS, "query-stats"}, {FC_NEED_ATTN_SUM, "attention-sums"},
             {FC_NEED_SPANS, "image-spans"},    {FC_NEED_LAYER, "layer-index"}};
    printf("needs: K V");
    for (size_t i = 0; i < sizeof n / sizeof *n; i++)
        if (needs & n[i].bit) printf(" %s", n[i].what);
    printf("\n");
}

static const fc_cli_option options[] = {
    {"--check", "SPEC", 1, "parse SPEC (and load ccm weights), print it in full with what it needs"},
    {0}};

static int cmd_methods(const fc_cli_args *a) {
    const char *check = fc_cli_value(a, "--check");
    if (check) {
        fc_compress_method *m;
        fc_err e = fc_compress_create(check, &m);
        if (e) return fc_cli_fail(e);
        printf("%s\n", fc_compress_spec(m));
        printf("ratio: %gx (kvpress compression_ratio %g)\n", fc_compress_ratio(m), fc_compress_kvpress_ratio(m));
        print_needs(fc_compress_needs(m));
        fc_compress_free(m);
        return 0;
    }
    for (int i = 0; i < fc_compress_n_methods(); i++) {
        const char *summary;
        const fc_compress_option_info *o;
        int n;
        const char *name = fc_compress_method_info(i, &summary, &o, &n);
        printf("%s\n    %s\n", name, summary);
        for (int j = 0; j < n; j++)
            printf("    %-12s default %-6s %-24s %s\n", o[j].name, o[j].def[0] ? o[j].def : "(none)", o[j].range,
                   o[j].help);
    }
    return 0;
}

const fc_cli_command fc_cmd_methods = {
    "methods", cmd_methods, "list the KV compression methods with their options and defaults", "[--check SPEC]",
    "Lists the KV compression methods, their options and defaults. A method is named by a spec\n"
    "\"name[:opt=value,...]\", e.g. \"snapkv:ratio=5,window=64\" or \"ccm:weights=ckpt/llava.safetensors\".\n"
    "Ratios are in the x form (5 keeps 1/5); kvpress's compression_ratio is 1 - 1/ratio.",
    options, 0, NULL};
