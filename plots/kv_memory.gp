# kv_memory.gp: KV cache bytes in use and sequences decoding over the run, for each series' run at its
# highest rate. Columns of kv_file_k: 1 time since start (s), 2 KV in use (MiB), 3 sequences in the last step.
load plotsdir.'/common.gp'
do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png(1200, 800) : term_svg(1200, 800))
    set output sprintf("%s/kv_memory.%s", outdir, fmt)
    set multiplot layout 2,1 title "KV cache memory and concurrency over time (at each series' highest request rate)" font ",13"
    set xlabel "time since the start of the run (s)"
    set ylabel "KV cache in use (MiB)"
    set title "KV pool blocks in use"
    plot for [i=1:n_runs] value(sprintf("kv_file_%d", i)) using 1:2 with steps lw 2 lc lc_of(i) dt dt_of(i) title value(sprintf("run_title_%d", i))
    set ylabel "sequences decoding"
    set title "sequences in each decode step"
    unset key
    plot for [i=1:n_runs] value(sprintf("kv_file_%d", i)) using 1:3 with steps lw 2 lc lc_of(i) dt dt_of(i) notitle
    unset multiplot
    unset output
}
