/* fuzz_data.c: libFuzzer target for the dataset readers (data/dataset.h): the input is written to a file and
 * read as LLaVA conversation JSON and as GQA questions, strict and lenient, without the image check (so any
 * path is accepted as far as its form goes). Every read either gives records that keep the readers' promises
 * (an id, a question, an answer, turns alternating human/gpt in pairs, image paths inside the images folder,
 * skips counted) or fails with a message naming the file; never a crash, leak or hang. Built and run by
 * tests/fuzz/run.sh, seeded from tests/corpus/data. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const fc_dataset *d) {
    int skipped = 0;
    for (int k = 0; k < FC_DATA_SKIP_COUNT; k++) skipped += d->skipped[k];
    if (d->n + skipped != d->n_seen) __builtin_trap();
    for (int i = 0; i < d->n; i++) {
        const fc_data_record *r = &d->recs[i];
        if (!r->id || !r->question || !r->answer || r->n_turns < 2 || r->n_turns % 2) __builtin_trap();
        for (int t = 0; t < r->n_turns; t++)
            if (!r->turns[t].text || r->turns[t].role != (t % 2 ? FC_DATA_GPT : FC_DATA_HUMAN)) __builtin_trap();
        for (int k = 0; k < r->n_images; k++)
            if (strncmp(r->images[k], "imgs/", 5) || strstr(r->images[k], "/../")) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fc_fuzz_data_%d.json", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    for (int fmt = FC_DATA_LLAVA; fmt <= FC_DATA_GQA; fmt++)
        for (int lenient = 0; lenient < 2; lenient++) {
            fc_data_opts o = {.format = (fc_data_format)fmt, .images_dir = "imgs", .no_image_check = true,
                              .lenient = lenient, .allow_text_only = lenient};
            fc_dataset d;
            if (fc_dataset_read(path, &o, &d) != FC_OK) {
                if (strncmp(fc_errmsg(), path, strlen(path))) __builtin_trap(); /* the message names the file */
                if (d.n || d.recs) __builtin_trap();
            } else {
                check(&d);
            }
            fc_dataset_free(&d);
        }
    unlink(path);
    return 0;
}
