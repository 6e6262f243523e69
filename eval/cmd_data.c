/* cmd_data.c: `fc-eval data`: read a dataset with the data/ readers and print what was kept and skipped,
 * and optionally every record; checks a data file before a quality run or a training run uses it. */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "data/dataset.h"
#include "eval/commands.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fc-eval data PATH [--format auto|llava|gqa|milebench] [--images DIR] [--lenient]\n"
               "                    [--text-only] [--image-prefix DIR] [--limit N] [--records]\n"
               "Reads a dataset and prints \"PATH: N records (FORMAT), skipped: ...\"; stops at the first bad\n"
               "record with one line naming the file, the record (index and id) and the problem.\n"
               "  PATH               LLaVA conversation JSON (mix665k layout), GQA questions (dict or list),\n"
               "                     or a MileBench task folder X (X/X.json, X/images/) or a folder above several\n"
               "  --format F         the layout (default auto: folder = milebench, JSON object = gqa, array of\n"
               "                     records with 'conversations' = llava, other array = gqa)\n"
               "  --images DIR       image paths are relative to DIR (default: the data file's folder;\n"
               "                     MileBench always uses each task's images/)\n"
               "  --lenient          skip bad records (counted by reason) instead of stopping\n"
               "  --text-only        keep records without an image (refused by default)\n"
               "  --image-prefix D   keep only records whose first image lies under D/ (the original's 'gqa')\n"
               "  --limit N          stop after N records kept\n"
               "  --records          print each record: id, images, question and answer (tab-separated)\n");
}

static void print_escaped(const char *s) {
    for (; *s; s++) {
        if (*s == '\n') fputs("\\n", stdout);
        else if (*s == '\t') fputs("\\t", stdout);
        else fputc(*s, stdout);
    }
}

int fc_cmd_data(int argc, char **argv) {
    const char *path = NULL, *fmt = NULL, *limit = NULL;
    fc_data_opts o = {0};
    bool records = false, missing = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--format", &fmt, &missing) ||
            fc_cli_opt(argc, argv, &i, "--images", &o.images_dir, &missing) ||
            fc_cli_opt(argc, argv, &i, "--image-prefix", &o.image_prefix, &missing) ||
            fc_cli_opt(argc, argv, &i, "--limit", &limit, &missing))
            continue;
        if (missing) return 2;
        if (!strcmp(argv[i], "--lenient")) o.lenient = true;
        else if (!strcmp(argv[i], "--text-only")) o.allow_text_only = true;
        else if (!strcmp(argv[i], "--records")) records = true;
        else if (argv[i][0] == '-' || path) return fc_cli_error("data: unknown option '%s' (see fc-eval data --help)", argv[i]), 2;
        else path = argv[i];
    }
    if (!path) return fc_cli_error("data: give a dataset PATH (see fc-eval data --help)"), 2;
    fc_err e = fmt ? fc_data_format_parse(fmt, &o.format) : FC_OK;
    long lim = 0;
    if (!e && limit) e = fc_cli_parse_long("--limit", limit, 1, 1L << 30, &lim);
    if (e) return fc_cli_fail(e), 2;
    o.limit = (int)lim;
    fc_dataset d;
    if ((e = fc_dataset_read(path, &o, &d))) return fc_cli_fail(e);
    fc_dataset_print_summary(&d, stdout);
    for (int i = 0; records && i < d.n; i++) {
        const fc_data_record *r = &d.recs[i];
        printf("%s\t", r->id);
        for (int k = 0; k < r->n_images; k++) printf(k ? ",%s" : "%s", r->images[k]);
        printf("\t");
        print_escaped(r->question);
        printf("\t");
        print_escaped(r->answer);
        if (r->answer_choice >= 0) printf(" (%c)", 'A' + r->answer_choice);
        printf("\t%d turns\n", r->n_turns);
    }
    fc_dataset_free(&d);
    return 0;
}
