/* cmd_plot.c: `fc-eval plot RESULTS --out DIR`: the gnuplot charts of a sweep or load results folder
 * (eval/plot_render.h). */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "eval/commands.h"
#include "eval/plot_render.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fc-eval plot RESULTS [--out DIR]\n"
               "Draws the charts of a results folder with gnuplot, each as PNG and SVG:\n"
               "  a sweep folder (fc-eval sweep / merge): throughput_vs_rate, latency_vs_rate, ttft_vs_rate,\n"
               "    ttft_distribution and kv_memory (from its load runs), accuracy_vs_ratio and fidelity_vs_ratio\n"
               "    (from its quality runs);\n"
               "  one fc-eval load folder: ttft_distribution and kv_memory.\n"
               "  --out DIR   where the images go (default RESULTS/plots); DIR/data/ keeps the data they show\n"
               "The gnuplot scripts are read from $FC_PLOTS_DIR, ./plots or the plots/ folder beside bin/.\n");
}

int fc_cmd_plot(int argc, char **argv) {
    const char *results = NULL, *out = NULL;
    bool missing = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--out", &out, &missing)) continue;
        if (missing) return 2;
        if (argv[i][0] == '-' || results) return fc_cli_error("plot: unexpected argument '%s' (see fc-eval plot --help)", argv[i]), 2;
        results = argv[i];
    }
    if (!results) return fc_cli_error("plot: give the RESULTS folder (see fc-eval plot --help)"), 2;
    char def[4096];
    if (!out) {
        snprintf(def, sizeof def, "%s/plots", results);
        out = def;
    }
    int n = 0;
    fc_err e = fc_plot_render(results, out, &n);
    if (e) return fc_cli_fail(e);
    printf("plots: %d files in %s/\n", n, out);
    return 0;
}
