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

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "folder with tokenizer.json (Llama) or vocab.json + merges.txt (Qwen2)"},
    {"--text", "STR", 1, "the text to encode (with --decode: ids, e.g. \"1 2 3\")"},
    {"--file", "PATH", 1, "read the text (or the ids) from a file instead"},
    {"--no-special", NULL, 1,
     "encode: do not add the post-processor's tokens (Llama's BOS);\n"
     "decode: drop special tokens from the output"},
    {"--decode", NULL, 1, "decode ids to text and print it"},
    {0}};

static int cmd_tokenize(const fc_cli_args *a) {
    const char *model = fc_cli_value(a, "--model"), *text = fc_cli_value(a, "--text"), *file = fc_cli_value(a, "--file");
    bool no_special = fc_cli_flag(a, "--no-special"), decode = fc_cli_flag(a, "--decode");
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

const fc_cli_command fc_cmd_tokenize = {
    "tokenize", cmd_tokenize, "encode a text to token ids, or decode ids, with a model's tokenizer",
    "--model DIR (--text STR | --file PATH) [--no-special] [--decode]",
    "Prints the token ids of the text on one line, space-separated.", options, 0, NULL};
