# accuracy_vs_ratio.gp: answer accuracy and fidelity to the uncompressed model against the achieved
# compression ratio, one line per method (quality series from fc-eval plot). Columns of quality_file_k:
# 1 nominal ratio (x), 2 achieved ratio (x), 3 exact-match accuracy, 4 contains-match accuracy,
# 5 top-1 agreement with the full cache (all fractions in [0, 1]). With a "none" series, ref_exact /
# ref_contains / ref_top1 (its values) are drawn as dashed lines across the chart.
if (!exists("ref_exact")) { ref_exact = NaN; ref_contains = NaN; ref_top1 = NaN }
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1300, 560) : term_svg(1300, 560))
    set output sprintf("%s/accuracy_vs_ratio.%s", outdir, fmt)
    set multiplot layout 1,2 title "Answer accuracy vs KV compression ratio" font ",14"
    set xlabel "achieved compression ratio (x: entries kept = 1/x)"
    set ylabel "accuracy (%)"
    set yrange [0:100]
    set title "normalised exact match"
    unset key
    plot for [i=1:n_quality] value(sprintf("quality_file_%d", i)) using 2:($3 * 100) with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) notitle, \
        ref_exact * 100 with lines dt 2 lw 1.5 lc rgb "#444444" notitle
    set title "answer contained in the output"
    set key outside right top vertical Left reverse noenhanced box
    plot for [i=1:n_quality] value(sprintf("quality_file_%d", i)) using 2:($4 * 100) with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) title value(sprintf("quality_title_%d", i)), \
        ref_contains * 100 with lines dt 2 lw 1.5 lc rgb "#444444" title (ref_contains == ref_contains ? "full cache (none)" : "")
    unset multiplot
    unset output
    eval (fmt eq "png" ? term_png(1000, 560) : term_svg(1000, 560))
    set output sprintf("%s/fidelity_vs_ratio.%s", outdir, fmt)
    set title "Fidelity to the uncompressed model vs KV compression ratio" font ",14"
    set ylabel "top-1 agreement with the full cache (%)"
    plot for [i=1:n_quality] value(sprintf("quality_file_%d", i)) using 2:($5 * 100) with linespoints lw 2 lc lc_of(i) dt dt_of(i) pt pt_of(i) title value(sprintf("quality_title_%d", i)), \
        ref_top1 * 100 with lines dt 2 lw 1.5 lc rgb "#444444" title (ref_top1 == ref_top1 ? "full cache (none)" : "")
    unset output
}
