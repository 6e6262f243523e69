/* cmd_synth.c: `fc-eval synth`: write the synthetic visual-QA testbed (data/synth_vqa.h) to a folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "data/synth_vqa.h"
#include "eval/commands.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const fc_cli_option options[] = {
    {"--out", "DIR", 1, "output folder (created; existing files of the same names are replaced)"},
    {"--n", "N", 1, "images per selected split (default 100)"},
    {"--split", "S", 1, "train, validation, test or all (default all)"},
    {"--n-train", "N", 1, "override --n for the train split (0 skips it)"},
    {"--n-validation", "N", 1, "override --n for the validation split (0 skips it)"},
    {"--n-test", "N", 1, "override --n for the test split (0 skips it)"},
    {"--seed", "S", 1, "RNG seed (default 0)"},
    {"--questions", "Q", 1, "questions per image, each of another kind (default 6; 14: every kind the\nscene allows)"},
    {"--grid", "G", 1, "G x G cells, 2.." STR(FC_SYNTH_MAX_GRID) " (default 3)"},
    {"--objects", "MIN..MAX", 1, "objects per image (default 1..5)"},
    {"--image-size", "PX", 1, "square pictures (default 336: LLaVA-1.5's CLIP input, no resize)"},
    {"--format", "F", 1, "png (default), jpeg, or both (the JSON then names the PNG)"},
    {"--quality", "Q", 1, "JPEG quality 1..100 (default 90)"},
    {"--pack", NULL, 1, "one multi-turn conversation per image (all its questions) instead of one\nconversation per question"},
    {"--describe", NULL, 1, "add a \"Describe the image.\" turn listing every object (training aid)"},
    {"--multi", "N", 1,
     "N multi-image samples per selected split (own RNG stream: the single-image\n"
     "files stay the same), --multi-images MIN..MAX pictures each"},
    {"--multi-images", "MIN..MAX", 1, "pictures per multi-image sample (default 2..4)"},
    {"--long", "N", 1, "N long-context samples per selected split, --long-images K each"},
    {"--long-images", "K", 1, "pictures per long-context sample (default 8)"},
    {0}};

/* "MIN..MAX" (or one number for both) within [lo, hi] */
static fc_err parse_range(const char *opt, const char *s, long lo, long hi, int *a, int *b) {
    const char *dots = strstr(s, "..");
    long x, y;
    if (!dots) {
        FC_TRY(fc_cli_parse_long(opt, s, lo, hi, &x));
        *a = *b = (int)x;
        return FC_OK;
    }
    char left[32];
    size_t n = (size_t)(dots - s);
    if (n == 0 || n >= sizeof left) return fc_err_set(FC_EINVAL, "%s: '%s' is not MIN..MAX", opt, s);
    memcpy(left, s, n), left[n] = 0;
    FC_TRY(fc_cli_parse_long(opt, left, lo, hi, &x));
    FC_TRY(fc_cli_parse_long(opt, dots + 2, lo, hi, &y));
    if (y < x) return fc_err_set(FC_EINVAL, "%s: '%s': MAX is below MIN", opt, s);
    *a = (int)x, *b = (int)y;
    return FC_OK;
}

static int cmd_synth(const fc_cli_args *a) {
    fc_synth_write_opts o = fc_synth_write_opts_default();
    const char *n_s = "100", *split = "all", *format = "png";
    if (fc_cli_value(a, "--n")) n_s = fc_cli_value(a, "--n");
    if (fc_cli_value(a, "--split")) split = fc_cli_value(a, "--split");
    if (fc_cli_value(a, "--format")) format = fc_cli_value(a, "--format");
    o.out_dir = fc_cli_value(a, "--out");
    const char *seed = fc_cli_value(a, "--seed");
    const char *per[FC_SYNTH_NSPLITS] = {fc_cli_value(a, "--n-train"), fc_cli_value(a, "--n-validation"),
                                         fc_cli_value(a, "--n-test")};
    const char *questions = fc_cli_value(a, "--questions"), *grid = fc_cli_value(a, "--grid");
    const char *objects = fc_cli_value(a, "--objects"), *size = fc_cli_value(a, "--image-size");
    const char *quality = fc_cli_value(a, "--quality"), *multi = fc_cli_value(a, "--multi");
    const char *multi_images = fc_cli_value(a, "--multi-images"), *lng = fc_cli_value(a, "--long");
    const char *long_images = fc_cli_value(a, "--long-images");
    o.pack = fc_cli_flag(a, "--pack"), o.describe = fc_cli_flag(a, "--describe");
    if (!o.out_dir) return fc_cli_error("synth: --out DIR is required"), 2;
    long x;
    fc_err e = FC_OK;
    bool sel[FC_SYNTH_NSPLITS] = {0};
    if (!strcmp(split, "all")) sel[0] = sel[1] = sel[2] = true;
    else {
        int k = 0;
        while (k < FC_SYNTH_NSPLITS && strcmp(split, fc_synth_split_names[k])) k++;
        if (k == FC_SYNTH_NSPLITS)
            return fc_cli_error("synth: --split '%s' (want train, validation, test or all)", split), 2;
        sel[k] = true;
    }
    long n_all = 0, n_multi = 0, n_long = 0;
    if ((e = fc_cli_parse_long("--n", n_s, 0, 10000000, &n_all))) return fc_cli_fail(e);
    if (multi && (e = fc_cli_parse_long("--multi", multi, 0, 1000000, &n_multi))) return fc_cli_fail(e);
    if (lng && (e = fc_cli_parse_long("--long", lng, 0, 1000000, &n_long))) return fc_cli_fail(e);
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++) {
        static const char *const names[] = {"--n-train", "--n-validation", "--n-test"};
        long nk = sel[k] ? n_all : 0;
        if (per[k] && (e = fc_cli_parse_long(names[k], per[k], 0, 10000000, &nk))) return fc_cli_fail(e);
        o.n[k] = (int)nk;
        o.n_multi[k] = sel[k] ? (int)n_multi : 0;
        o.n_long[k] = sel[k] ? (int)n_long : 0;
    }
    if (seed) {
        char *end = NULL;
        unsigned long long s = strtoull(seed, &end, 10);
        if (!*seed || *seed == '-' || *end) return fc_cli_error("synth: --seed '%s' is not a whole number >= 0", seed), 2;
        o.cfg.seed = s;
    }
    if (questions && !(e = fc_cli_parse_long("--questions", questions, 1, 64, &x))) o.cfg.questions = (int)x;
    if (!e && grid && !(e = fc_cli_parse_long("--grid", grid, 2, FC_SYNTH_MAX_GRID, &x))) o.cfg.grid = (int)x;
    if (!e && size && !(e = fc_cli_parse_long("--image-size", size, 16, 4096, &x))) o.cfg.image_size = (int)x;
    if (!e && quality && !(e = fc_cli_parse_long("--quality", quality, 1, 100, &x))) o.jpeg_quality = (int)x;
    if (!e && objects) e = parse_range("--objects", objects, 1, FC_SYNTH_MAX_OBJECTS, &o.cfg.min_objects, &o.cfg.max_objects);
    if (!e && multi_images) e = parse_range("--multi-images", multi_images, 2, 64, &o.multi_min, &o.multi_max);
    if (!e && long_images) {
        int a, b;
        if (!(e = parse_range("--long-images", long_images, 2, 64, &a, &b))) {
            if (a != b) e = fc_err_set(FC_EINVAL, "--long-images: one number, not a range");
            o.long_images = a;
        }
    }
    if (e) return fc_cli_fail(e);
    if (!strcmp(format, "png")) o.png = true, o.jpeg = false;
    else if (!strcmp(format, "jpeg") || !strcmp(format, "jpg")) o.png = false, o.jpeg = true;
    else if (!strcmp(format, "both")) o.png = o.jpeg = true;
    else return fc_cli_error("synth: --format '%s' (want png, jpeg or both)", format), 2;
    long total = 0;
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++) total += o.n[k] + o.n_multi[k] + o.n_long[k];
    if (!total) /* an empty data set would only be noticed later, by whatever reads it */
        return fc_cli_error("synth: nothing to write: every selected split has 0 pictures and 0 multi/long samples "
                            "(--n, --n-train/--n-validation/--n-test, --multi, --long)"), 2;
    int files = 0;
    if ((e = fc_synth_write(&o, &files))) return fc_cli_fail(e);
    printf("synth: %d files in %s (seed %llu; images: train %d, validation %d, test %d", files, o.out_dir,
           (unsigned long long)o.cfg.seed, o.n[0], o.n[1], o.n[2]);
    if (n_multi) printf("; %ld multi-image samples per split", n_multi);
    if (n_long) printf("; %ld long samples per split", n_long);
    printf(")\n");
    return 0;
}

const fc_cli_command fc_cmd_synth = {
    "synth", cmd_synth, "write the synthetic visual-QA testbed: shape pictures, questions, splits",
    "--out DIR [--n N] [--seed S] [--split train|validation|test|all]\n"
    "                     [--n-train N] [--n-validation N] [--n-test N] [--questions Q] [--grid G]\n"
    "                     [--objects MIN..MAX] [--image-size PX] [--format png|jpeg|both] [--quality Q]\n"
    "                     [--pack] [--describe] [--multi N] [--multi-images MIN..MAX] [--long N]\n"
    "                     [--long-images K]",
    "Writes pictures of coloured shapes on a grid with questions whose answers need the picture (colour,\n"
    "shape, count, position, left-of/above, same colour/shape of two objects). Same seed, same options:\n"
    "byte-identical files. A scene's split follows from its content, so no test layout is in train.",
    options, 0,
    "Files: DIR/images/*.png|jpg, DIR/<split>.json (LLaVA conversations), DIR/<split>_questions.json\n"
    "(GQA layout), DIR/<split>_scenes.json (what each picture holds), multi_<split>*.json and\n"
    "long_<split>*.json when asked for, DIR/synth.json (the settings).\n"};
