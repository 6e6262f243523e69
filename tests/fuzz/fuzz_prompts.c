/* fuzz_prompts.c: libFuzzer target for the --prompts reader (core/io/prompts). Any input must parse into
 * prompts that each have an id and exactly one of text and ids, or fail with a "p.jsonl" message and
 * leave nothing to free; never crash, leak or hang. Built and run by tests/fuzz/run.sh, seeded from
 * tests/corpus/prompts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/io/prompts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_prompt_list l;
    if (fc_prompts_parse(&l, "p.jsonl", (const char *)data, size) != FC_OK) {
        if (strncmp(fc_errmsg(), "p.jsonl", 7) != 0 || l.n != 0 || l.items) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < l.n; i++)
        if (!l.items[i].id || !l.items[i].text == !l.items[i].ids || l.items[i].line < 1) __builtin_trap();
    fc_prompts_free(&l);
    return 0;
}
