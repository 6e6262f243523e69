/* cmd_data.c: `fc-eval data`: read a dataset with the data/ readers and print what was kept and skipped,
 * and optionally every record; checks a data file before a quality run or a training run uses it. */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "data/dataset.h"
#include "eval/commands.h"

static void print_escaped(const char *s) {
    for (; *s; s++) {
        if (*s == '\n') fputs("\\n", stdout);
        else if (*s == '\t') fputs("\\t", stdout);
        else fputc(*s, stdout);
    }
}

static const fc_cli_option options[] = {
    {"--format", "F", 1,
     "the layout (default auto: folder = milebench, JSON object = gqa, array of\n"
     "records with 'conversations' = llava, other array = gqa)"},
    {"--images", "DIR", 1,
     "image paths are relative to DIR (default: the data file's folder;\n"
     "MileBench always uses each task's images/)"},
    {"--lenient", NULL, 1, "skip bad records (counted by reason) instead of stopping"},
    {"--text-only", NULL, 1, "keep records without an image (refused by default)"},
    {"--image-prefix", "D", 1, "keep only records whose first image lies under D/ (the original's 'gqa')"},
    {"--limit", "N", 1, "stop after N records kept"},
    {"--records", NULL, 1, "print each record: id, images, question and answer (tab-separated)"},
    {0}};

static int cmd_data(const fc_cli_args *a) {
    const char *fmt = fc_cli_value(a, "--format");
    fc_data_opts o = {.images_dir = fc_cli_value(a, "--images"),
                      .image_prefix = fc_cli_value(a, "--image-prefix"),
                      .lenient = fc_cli_flag(a, "--lenient"),
                      .allow_text_only = fc_cli_flag(a, "--text-only")};
    bool records = fc_cli_flag(a, "--records");
    if (a->n_args != 1) return fc_cli_error("data: give a dataset PATH (see fc-eval data --help)"), 2;
    const char *path = a->args[0];
    fc_err e = fmt ? fc_data_format_parse(fmt, &o.format) : FC_OK;
    long lim = 0;
    if (!e) e = fc_cli_long(a, "--limit", 1, 1L << 30, &lim);
    if (e) return fc_cli_fail(e), 2;
    o.limit = (int)lim;
    fc_dataset d;
    if ((e = fc_dataset_read(path, &o, &d))) return fc_cli_fail(e);
    fc_dataset_print_summary(&d, stdout);
    for (int i = 0; records && i < d.n; i++) {
        const fc_data_record *r = &d.recs[i];
        print_escaped(r->id); /* an id, like the text, may hold a tab or a newline: one record, one line */
        printf("\t");
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

const fc_cli_command fc_cmd_data = {
    "data", cmd_data, "read a dataset (LLaVA JSON, GQA questions, MileBench) and count what is kept and skipped",
    "PATH [--format auto|llava|gqa|milebench] [--images DIR] [--lenient]\n"
    "                     [--text-only] [--image-prefix DIR] [--limit N] [--records]",
    "Reads a dataset and prints \"PATH: N records (FORMAT), skipped: ...\"; stops at the first bad\n"
    "record with one line naming the file, the record (index and id) and the problem.\n"
    "  PATH  LLaVA conversation JSON (mix665k layout), GQA questions (dict or list),\n"
    "        or a MileBench task folder X (X/X.json, X/images/) or a folder above several",
    options, 1, NULL};
