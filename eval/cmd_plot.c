/* cmd_plot.c: `fc-eval plot RESULTS --out DIR`: the gnuplot charts of a sweep or load results folder
 * (eval/plot_render.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cli.h"
#include "core/base/file.h"
#include "eval/commands.h"
#include "eval/plot_render.h"

static const fc_cli_option options[] = {
    {"--out", "DIR", 1, "where the images go (default RESULTS/plots); DIR/data/ keeps the data they show"},
    {0}};

static int cmd_plot(const fc_cli_args *cl) {
    const char *results = cl->n_args ? cl->args[0] : NULL, *out = fc_cli_value(cl, "--out");
    if (!results) return fc_cli_error("plot: give the RESULTS folder (see fc-eval plot --help)"), 2;
    char def[4096];
    if (!out) {
        snprintf(def, sizeof def, "%s/plots", results);
        out = def;
    }
    struct stat st;
    bool had_out = stat(out, &st) == 0;
    int n = 0;
    fc_err e = fc_plot_render(results, out, &n);
    if (e) return fc_cli_fail(e);
    if (!n) { /* a sweep folder none of whose runs finished: say so, and take back the empty data file */
        char *data = fc_path_join(out, "data"), *series = data ? fc_path_join(data, "series.gp") : NULL;
        if (series) remove(series);
        if (data) rmdir(data);
        if (!had_out) rmdir(out);
        free(series), free(data);
        return fc_cli_error("%s: no finished runs to plot (none of runs/ holds a summary.json or quality.csv)", results), 1;
    }
    printf("plots: %d files in %s/\n", n, out);
    return 0;
}

const fc_cli_command fc_cmd_plot = {
    "plot", cmd_plot, "gnuplot charts (PNG, SVG) of a sweep or load results folder", "RESULTS [--out DIR]",
    "Draws the charts of a results folder with gnuplot, each as PNG and SVG:\n"
    "  a sweep folder (fc-eval sweep / merge): throughput_vs_rate, latency_vs_rate, ttft_vs_rate,\n"
    "    ttft_distribution and kv_memory (from its load runs), accuracy_vs_ratio and fidelity_vs_ratio\n"
    "    (from its quality runs);\n"
    "  one fc-eval load folder: ttft_distribution and kv_memory.",
    options, 1, "The gnuplot scripts are read from $FC_PLOTS_DIR, ./plots or the plots/ folder beside bin/."};
