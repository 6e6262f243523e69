/* fuzz_st_index.c: libFuzzer target for model.safetensors.index.json reading (fc_st_index_load takes a path,
 * so each input is written to one temporary file, removed at exit). Any input must load, with every tensor mapped to a
 * shard that stays inside the folder, or fail with a message. Built and run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_tmp(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fc_fuzz_index_%ld.json", (long)getpid());
        atexit(remove_tmp); /* one file, rewritten for every input */
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    fc_st_index ix;
    if (fc_st_index_load(&ix, path) != FC_OK) {
        if (!fc_errmsg()[0]) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < ix.n_tensors; i++) {
        if (ix.shard_of[i] < 0 || ix.shard_of[i] >= ix.n_shards) __builtin_trap();
        const char *s = ix.shards[ix.shard_of[i]];
        if (s[0] == '/' || !strncmp(s, "../", 3) || strstr(s, "/../")) __builtin_trap();
        if (i && strcmp(ix.names[i - 1], ix.names[i]) >= 0) __builtin_trap(); /* sorted, unique */
    }
    fc_st_index_free(&ix);
    return 0;
}
