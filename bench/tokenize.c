/* tokenize.c: the C side of bench/tokenize.sh: load a model folder's tokenizer, encode one file REPS times,
 * print "<best seconds per encode> <token count> <sum of ids>" (the last two must equal the peer's). */
#include <stdio.h>
#include <stdlib.h>

#include "core/base/timer.h"
#include "core/text/tokenizer.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tokenize MODEL_DIR FILE REPS\n");
        return 2;
    }
    fc_tokenizer *tok;
    if (fc_tokenizer_load(&tok, argv[1])) {
        fprintf(stderr, "tokenize: %s\n", fc_errmsg());
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) return perror(argv[2]), 1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) return fprintf(stderr, "tokenize: read failed\n"), 1;
    fclose(f);
    double best = 1e30;
    long long count = 0, sum = 0;
    for (int r = 0; r < atoi(argv[3]); r++) {
        int32_t *ids;
        int k;
        double t0 = fc_time_now();
        if (fc_tokenizer_encode(tok, text, (size_t)n, true, &ids, &k)) return fprintf(stderr, "tokenize: %s\n", fc_errmsg()), 1;
        double dt = fc_time_now() - t0;
        if (dt < best) best = dt;
        count = k, sum = 0;
        for (int i = 0; i < k; i++) sum += ids[i];
        free(ids);
    }
    printf("%.6f %lld %lld\n", best, count, sum);
    free(text);
    fc_tokenizer_free(tok);
    return 0;
}
