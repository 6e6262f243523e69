/* cmd_synth.c: `fc-eval synth`: write the synthetic visual-QA testbed (data/synth_vqa.h) to a folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "data/synth_vqa.h"
#include "eval/commands.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fc-eval synth --out DIR [--n N] [--seed S] [--split train|validation|test|all]\n"
            "                     [--n-train N] [--n-validation N] [--n-test N] [--questions Q] [--grid G]\n"
            "                     [--objects MIN..MAX] [--image-size PX] [--format png|jpeg|both] [--quality Q]\n"
            "                     [--pack] [--describe] [--multi N] [--multi-images MIN..MAX] [--long N]\n"
            "                     [--long-images K]\n"
            "Writes pictures of coloured shapes on a grid with questions whose answers need the picture (colour,\n"
            "shape, count, position, left-of/above, same colour/shape of two objects). Same seed, same options:\n"
            "byte-identical files. A scene's split follows from its content, so no test layout is in train.\n"
            "  --out DIR             output folder (created; existing files of the same names are replaced)\n"
            "  --n N                 images per selected split (default 100)\n"
            "  --split S             train, validation, test or all (default all)\n"
            "  --n-train/--n-validation/--n-test N   override --n for one split (0 skips it)\n"
            "  --seed S              RNG seed (default 0)\n"
            "  --questions Q         questions per image, each of another kind (default 6; 14: every kind the\n"
            "                        scene allows)\n"
            "  --grid G              G x G cells, 2..%d (default 3)\n"
            "  --objects MIN..MAX    objects per image (default 1..5)\n"
            "  --image-size PX       square pictures (default 336: LLaVA-1.5's CLIP input, no resize)\n"
            "  --format F            png (default), jpeg, or both (the JSON then names the PNG)\n"
            "  --quality Q           JPEG quality 1..100 (default 90)\n"
            "  --pack                one multi-turn conversation per image (all its questions) instead of one\n"
            "                        conversation per question\n"
            "  --describe            add a \"Describe the image.\" turn listing every object (training aid)\n"
            "  --multi N             N multi-image samples per selected split (own RNG stream: the single-image\n"
            "                        files stay the same), --multi-images MIN..MAX pictures each (default 2..4)\n"
            "  --long N              N long-context samples per selected split, --long-images K each (default 8)\n"
            "Files: DIR/images/*.png|jpg, DIR/<split>.json (LLaVA conversations), DIR/<split>_questions.json\n"
            "(GQA layout), DIR/<split>_scenes.json (what each picture holds), multi_<split>*.json and\n"
            "long_<split>*.json when asked for, DIR/synth.json (the settings).\n",
            FC_SYNTH_MAX_GRID);
}

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

int fc_cmd_synth(int argc, char **argv) {
    fc_synth_write_opts o = fc_synth_write_opts_default();
    const char *n_s = "100", *split = "all", *seed = NULL, *per[FC_SYNTH_NSPLITS] = {0};
    const char *questions = NULL, *grid = NULL, *objects = NULL, *size = NULL, *format = "png", *quality = NULL;
    const char *multi = NULL, *multi_images = NULL, *lng = NULL, *long_images = NULL;
    bool missing = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--out", &o.out_dir, &missing) || fc_cli_opt(argc, argv, &i, "--n", &n_s, &missing) ||
            fc_cli_opt(argc, argv, &i, "--split", &split, &missing) || fc_cli_opt(argc, argv, &i, "--seed", &seed, &missing) ||
            fc_cli_opt(argc, argv, &i, "--n-train", &per[FC_SYNTH_TRAIN], &missing) ||
            fc_cli_opt(argc, argv, &i, "--n-validation", &per[FC_SYNTH_VALIDATION], &missing) ||
            fc_cli_opt(argc, argv, &i, "--n-test", &per[FC_SYNTH_TEST], &missing) ||
            fc_cli_opt(argc, argv, &i, "--questions", &questions, &missing) ||
            fc_cli_opt(argc, argv, &i, "--grid", &grid, &missing) || fc_cli_opt(argc, argv, &i, "--objects", &objects, &missing) ||
            fc_cli_opt(argc, argv, &i, "--image-size", &size, &missing) ||
            fc_cli_opt(argc, argv, &i, "--format", &format, &missing) ||
            fc_cli_opt(argc, argv, &i, "--quality", &quality, &missing) || fc_cli_opt(argc, argv, &i, "--multi", &multi, &missing) ||
            fc_cli_opt(argc, argv, &i, "--multi-images", &multi_images, &missing) ||
            fc_cli_opt(argc, argv, &i, "--long", &lng, &missing) ||
            fc_cli_opt(argc, argv, &i, "--long-images", &long_images, &missing))
            continue;
        if (missing) return 2;
        if (!strcmp(argv[i], "--pack")) o.pack = true;
        else if (!strcmp(argv[i], "--describe")) o.describe = true;
        else return fc_cli_error("synth: unknown option '%s' (see fc-eval synth --help)", argv[i]), 2;
    }
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
    int files = 0;
    if ((e = fc_synth_write(&o, &files))) return fc_cli_fail(e);
    printf("synth: %d files in %s (seed %llu; images: train %d, validation %d, test %d", files, o.out_dir,
           (unsigned long long)o.cfg.seed, o.n[0], o.n[1], o.n[2]);
    if (n_multi) printf("; %ld multi-image samples per split", n_multi);
    if (n_long) printf("; %ld long samples per split", n_long);
    printf(")\n");
    return 0;
}
