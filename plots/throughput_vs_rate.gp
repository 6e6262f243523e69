# throughput_vs_rate.gp: generated tokens/s and completed requests/s against the request rate, one line per
# method and ratio (load series from fc-eval plot). Columns of load_file_k: 1 rate, 2 tokens/s, 3 requests/s.
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1300, 560) : term_svg(1300, 560))
    set output sprintf("%s/throughput_vs_rate.%s", outdir, fmt)
    set multiplot layout 1,2 title "Serving throughput vs request rate" font ",14"
    set xlabel "request rate (requests/s, mean arrival rate)"
    set ylabel "throughput (generated tokens/s)"
    set title "generated tokens per second"
    unset key
    plot for [i=1:n_load] value(sprintf("load_file_%d", i)) using 1:2 with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) notitle
    set ylabel "completed requests/s"
    set title "requests completed per second"
    set key outside right top vertical Left reverse noenhanced box
    plot for [i=1:n_load] value(sprintf("load_file_%d", i)) using 1:3 with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) title value(sprintf("load_title_%d", i))
    unset multiplot
    unset output
}
