/* cmd_tokenize.c: `fc-eval tokenize`: encode a text (or decode ids) with a model folder's tokenizer.
 * Works on a folder that holds only tokenizer files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/file.h"
#include "core/text/tokenizer.h"
#include "eval/commands.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fc-eval tokenize --model DIR (--text STR | --file PATH) [--no-special] [--decode]\n"
               "Prints the token ids of the text on one line, space-separated.\n"
               "  --model DIR    folder with tokenizer.json (Llama) or vocab.json + merges.txt (Qwen2)\n"
               "  --text STR     the text to encode (with --decode: ids, e.g. \"1 2 3\")\n"
               "  --file PATH    read the text (or the ids) from a file instead\n"
               "  --no-special   encode: do not add the post-processor's tokens (Llama's BOS);\n"
               "                 decode: drop special tokens from the output\n"
               "  --decode       decode ids to text and print it\n");
}

int fc_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *file = NULL;
    bool no_special = false, decode = false, missing = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--model", &model, &missing) ||
            fc_cli_opt(argc, argv, &i, "--text", &text, &missing) ||
            fc_cli_opt(argc, argv, &i, "--file", &file, &missing))
            continue;
        if (missing) return 2;
        if (!strcmp(argv[i], "--no-special")) no_special = true;
        else if (!strcmp(argv[i], "--decode")) decode = true;
        else return fc_cli_error("tokenize: unknown option '%s' (see fc-eval tokenize --help)", argv[i]), 2;
    }
    if (!model) return fc_cli_error("tokenize: --model DIR is required"), 2;
    if (!text == !file) return fc_cli_error("tokenize: give exactly one of --text and --file"), 2;
    char *buf = NULL;
    size_t len = 0;
    fc_err e = FC_OK;
    if (file) {
        if ((e = fc_file_read(file, (size_t)1 << 31, "tokenize input", &buf, &len))) return fc_cli_fail(e);
        text = buf;
    } else {
        len = strlen(text);
    }
    fc_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    int n = 0;
    char *out = NULL;
    if ((e = fc_tokenizer_load(&tok, model))) goto done;
    if (decode) {
        if ((e = fc_cli_parse_ids("--decode", text, len, &ids, &n))) goto done;
        size_t out_len;
        if ((e = fc_tokenizer_decode_n(tok, ids, n, no_special, &out, &out_len))) goto done;
        fwrite(out, 1, out_len, stdout); /* the text may hold NULs */
        fputc('\n', stdout);
    } else {
        if ((e = fc_tokenizer_encode(tok, text, len, !no_special, &ids, &n))) goto done;
        for (int i = 0; i < n; i++) printf(i ? " %" PRId32 : "%" PRId32, ids[i]);
        fputc('\n', stdout);
    }
done:
    free(out), free(ids), free(buf);
    fc_tokenizer_free(tok);
    return e ? fc_cli_fail(e) : 0;
}
