# ttft_vs_rate.gp: time to first token percentiles (p50, p90, p99) against the request rate, one line per
# method and ratio. Columns of load_file_k: 1 rate, 4 TTFT p50, 5 p90, 6 p99 (seconds).
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1600, 560) : term_svg(1600, 560))
    set output sprintf("%s/ttft_vs_rate.%s", outdir, fmt)
    set multiplot layout 1,3 title "Time to first token vs request rate (queueing + prefill + compression + first step)" font ",14"
    set xlabel "request rate (requests/s)"
    set ylabel "TTFT (s)"
    unset key
    do for [c = 4:6] {
        set title sprintf("p%s", c == 4 ? "50" : c == 5 ? "90" : "99")
        if (c == 6) { set key outside right top vertical Left reverse noenhanced box }
        plot for [i=1:n_load] value(sprintf("load_file_%d", i)) using 1:c with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) title (c == 6 ? value(sprintf("load_title_%d", i)) : "")
    }
    unset multiplot
    unset output
}
