/* plot_render.h: the charts of a results folder, drawn by the gnuplot scripts in plots/.
 *
 * From a sweep folder (sweep_results.h): throughput vs request rate, TTFT and end-to-end latency
 * percentiles vs rate, the TTFT distribution and the KV memory over time of each series at its highest
 * rate (from load runs), answer accuracy and fidelity vs compression ratio per method (from quality runs).
 * From one `fc-eval load` folder: its TTFT distribution and KV memory over time.
 * Each chart is written as <name>.png and <name>.svg into out_dir. The data the scripts read is prepared here
 * as plain whitespace-separated files in out_dir/data/ (one per series, sorted), with out_dir/data/series.gp
 * naming them and their titles, so the scripts need no CSV parsing.
 *
 * The scripts are found in $FC_PLOTS_DIR, else ./plots, else <directory of the binary>/../plots; gnuplot
 * (Debian gnuplot-nox, pngcairo and svg terminals) is run as a child process. */
#ifndef FC_EVAL_PLOT_RENDER_H
#define FC_EVAL_PLOT_RENDER_H

#include "core/base/err.h"

/* Renders every chart the folder has data for; *n_files: images written. Errors: a folder with neither
 * runs nor a load run's files, gnuplot missing or failing (its message), unreadable results. */
fc_err fc_plot_render(const char *results_dir, const char *out_dir, int *n_files);

#endif
