# common.gp: what every chart script shares. The caller (fc-eval plot) sets plotsdir (this folder) and
#   series  the data/series.gp file it wrote: n_load, n_runs, n_quality and, per series k,
#           load_file_k / load_title_k, ttft_file_k / kv_file_k / run_title_k, quality_file_k / quality_title_k
#   outdir  where <chart>.png and <chart>.svg go
load series
set datafile commentschars "#"
set grid back lc rgb "#dddddd"
set border 3
set tics nomirror
set key outside right top vertical Left reverse noenhanced box lc rgb "#bbbbbb"
# one colour per series (8 repeat), a new dash pattern every 8, a point type per series
lc_of(i) = i
dt_of(i) = 1 + int((i - 1) / 8) % 5
pt_of(i) = 1 + (i - 1) % 13
# terminal for a format: PNG through cairo, SVG with its fonts scalable
term_png(w, h) = sprintf("set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,11' linewidth 1.2", w, h)
term_svg(w, h) = sprintf("set terminal svg size %d,%d dynamic enhanced font 'DejaVu Sans,11' linewidth 1.2", w, h)
