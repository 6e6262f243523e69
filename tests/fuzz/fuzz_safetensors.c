/* fuzz_safetensors.c: libFuzzer target for the safetensors reader. Any input must either open (and then
 * every entry's bytes lie inside the input, which ASan checks by reading the first and last byte of each)
 * or fail with a message; never crash, leak or hang. Built and run by tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_st_file f;
    if (fc_st_open_memory(&f, "fuzz.safetensors", data, size) != FC_OK) {
        if (!fc_errmsg()[0]) __builtin_trap(); /* a failure must say why */
        return 0;
    }
    volatile unsigned sink = 0;
    for (int i = 0; i < f.n_entries; i++) {
        const fc_st_entry *e = &f.entries[i];
        if (fc_st_find(&f, e->name) != e) __builtin_trap(); /* names unique and sorted */
        if (e->end > e->begin) {
            const unsigned char *p = e->data;
            sink += p[0] + p[e->end - e->begin - 1];
        }
        fc_tensor t;
        if (fc_st_tensor(e, &t) == FC_OK && fc_tensor_nbytes(&t) != e->end - e->begin) __builtin_trap();
    }
    for (int i = 0; i < f.n_meta; i++) sink += (unsigned)strlen(fc_st_meta(&f, f.meta_keys[i]));
    (void)sink;
    fc_st_close(&f);
    return 0;
}
