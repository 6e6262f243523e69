# latency_vs_rate.gp: end-to-end latency percentiles (p50, p90, p99) against the request rate, one line per
# method and ratio. Columns of load_file_k: 1 rate, 7 e2e p50, 8 e2e p90, 9 e2e p99 (seconds).
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1600, 560) : term_svg(1600, 560))
    set output sprintf("%s/latency_vs_rate.%s", outdir, fmt)
    set multiplot layout 1,3 title "End-to-end request latency vs request rate (arrival to last token)" font ",14"
    set xlabel "request rate (requests/s)"
    set ylabel "latency (s)"
    unset key
    do for [c = 7:9] {
        set title sprintf("p%s", c == 7 ? "50" : c == 8 ? "90" : "99")
        if (c == 9) { set key outside right top vertical Left reverse noenhanced box }
        plot for [i=1:n_load] value(sprintf("load_file_%d", i)) using 1:c with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) title (c == 9 ? value(sprintf("load_title_%d", i)) : "")
    }
    unset multiplot
    unset output
}
