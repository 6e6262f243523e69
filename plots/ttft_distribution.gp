# ttft_distribution.gp: the distribution of time to first token over the requests of each series' run at
# its highest rate, as a cumulative share. Columns of ttft_file_k: 1 TTFT (s, sorted), 2 share of requests.
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1100, 600) : term_svg(1100, 600))
    set output sprintf("%s/ttft_distribution.%s", outdir, fmt)
    set title "Distribution of time to first token (cumulative, at each series' highest request rate)" font ",13"
    set xlabel "time to first token (s)"
    set ylabel "requests with TTFT at most x (%)"
    set yrange [0:100]
    plot for [i=1:n_runs] value(sprintf("ttft_file_%d", i)) using 1:($2 * 100) with steps lw 2 lc lc_of(i) dt dt_of(i) title value(sprintf("run_title_%d", i))
    unset output
}
