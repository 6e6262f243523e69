/* cmd_methods.c: `fc-eval methods`: lists every KV compression method with its options, defaults, bounds
 * and help (from the one option table in core/compress/compress.c), or checks one spec and prints it
 * with every option spelled out. */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/compress/compress.h"
#include "core/compress/compress_notes.h"
#include "eval/commands.h"

/* What users comparing with kvpress need to know; each claim checked against kvpress 0.5.5
 * (kvpress/utils.py compute_n_kept, presses/snapkv_press.py, presses/pyramidkv_press.py). */
static const char kvpress_notes[] =
    "\nWhat the scoring methods really keep (as kvpress 0.5.5 does; ours follow it):\n"
    "  ratio=R      keeps n_kept = int(S * (1 - cr)) per kv head, cr = 1 - 1/R computed in floating point\n"
    "               (kvpress compute_n_kept), at least 1. For R = 5, 1 - 0.8 is 0.19999999999999996, so a\n"
    "               prefix of S tokens, S a multiple of 5 (S >= 10), keeps S/5 - 1: 100 tokens keep 19, 600 keep\n"
    "               119. Ratios 3 and 10 do the same on multiples of 3 and 10; 2, 4 and 8 keep exactly S/R.\n"
    "               The achieved ratio is therefore slightly above R; results report it with the KV bytes.\n"
    "  snapkv       the last `window` prefix tokens score above every other (max + 1), so the window is kept\n"
    "               whole only when n_kept >= window. Below it every kept entry is a window position and ties\n"
    "               among them decide which (torch.topk leaves the order of ties open; we keep the earliest):\n"
    "               run and quality warn when that happens. The prefix must be longer than the window.\n"
    "  pyramidkv    SnapKV scores with per-layer budgets from max_num (layer 0) down to min_num = S*(1-cr)/beta\n"
    "               (the same total as SnapKV). Whenever S*(1-cr)/beta < window it falls back to one uniform\n"
    "               budget, round(S*(1-cr)) per layer (Python round, so 100 tokens at R = 5 keep 20, not 19;\n"
    "               the one exception: when layer 0's budget would pass S - window, as near R = 2, it is cut\n"
    "               there and min_num becomes 2*S*(1-cr) - (S - window), which may reach the window again):\n"
    "               with window 64 and beta 20 no pyramid forms on prompts under 1280 x R tokens (6400 at R = 5;\n"
    "               a LLaVA prompt is about 600). The window caveat of snapkv applies per layer.\n"
    "               `fc-eval methods --check SPEC --tokens S --layers L` prints the budgets it would use; run\n"
    "               prints the shortest..longest layer, quality.json the budgets of each method.\n";

/* The budgets of m on S tokens over L layers, with the note in words. */
static void print_budgets(const fc_compress_method *m, int S, int L) {
    int budgets[1024];
    fc_compress_note n;
    fc_compress_note_make(m, S, L, budgets, &n);
    if (n.budget_min < 0) {
        printf("on %d tokens: a merger; its length depends on the segments (ccm.h)\n", S);
        return;
    }
    printf("on %d tokens, %d layers: keeps %d", S, L, n.budget_min);
    if (n.budget_max != n.budget_min) printf("..%d", n.budget_max);
    double kept = 0;
    for (int l = 0; l < L; l++) kept += budgets[l];
    printf(" per kv head per layer (%.4gx over all layers)\n", (double)S * L / kept);
    if (n.budget_max != n.budget_min || !strcmp(fc_compress_name(m), "pyramidkv")) {
        printf("per-layer budgets:");
        for (int l = 0; l < L; l++) printf(" %d", budgets[l]);
        printf("\n");
    }
    char text[8192];
    fc_compress_note_text(m, &n, NULL, L, text, sizeof text);
    if (text[0]) printf("note: %s\n", text);
}

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
    {"--tokens", "S", 1, "with --check: the entries it keeps per layer on a prefix of S tokens (and why)"},
    {"--layers", "L", 1, "with --tokens: the model's layer count (default 32, LLaVA-1.5-7B)"},
    {0}};

static int cmd_methods(const fc_cli_args *a) {
    const char *check = fc_cli_value(a, "--check");
    bool tokens = fc_cli_flag(a, "--tokens"), layers = fc_cli_flag(a, "--layers");
    if ((tokens || layers) && !check) return fc_cli_error("methods: --tokens and --layers need --check SPEC"), 2;
    if (layers && !tokens) return fc_cli_error("methods: --layers needs --tokens S"), 2;
    long S = 0, L = 32;
    fc_err e = fc_cli_long(a, "--tokens", 1, 1L << 30, &S);
    if (!e) e = fc_cli_long(a, "--layers", 1, 1024, &L);
    if (e) return fc_cli_fail(e), 2;
    if (check) {
        fc_compress_method *m;
        if ((e = fc_compress_create(check, &m))) return fc_cli_fail(e);
        printf("%s\n", fc_compress_spec(m));
        printf("ratio: %gx (kvpress compression_ratio %g)\n", fc_compress_ratio(m), fc_compress_kvpress_ratio(m));
        print_needs(fc_compress_needs(m));
        if (S) print_budgets(m, (int)S, (int)L);
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
    printf("%s", kvpress_notes);
    return 0;
}

const fc_cli_command fc_cmd_methods = {
    "methods", cmd_methods, "list the KV compression methods with their options and defaults", "[--check SPEC [--tokens S] [--layers L]]",
    "Lists the KV compression methods, their options and defaults. A method is named by a spec\n"
    "\"name[:opt=value,...]\", e.g. \"snapkv:ratio=5,window=64\" or \"ccm:weights=ckpt/llava.safetensors\".\n"
    "Ratios are in the x form (5 keeps 1/5); kvpress's compression_ratio is 1 - 1/ratio.",
    options, 0, kvpress_notes};
