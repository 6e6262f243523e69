/* fuzz_json_config.c: libFuzzer target for the config.json reader (core/io/hfconfig). Any input must either
 * parse into a config whose sizes satisfy the reader's own promises (positive, bounded, heads divisible)
 * or fail with a message naming the file; never crash, leak or hang. Built and run by tests/fuzz/run.sh,
 * seeded from tests/corpus/config. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/io/hfconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_model_config c;
    if (fc_hfconfig_parse(&c, "config.json", (const char *)data, size) != FC_OK) {
        const char *m = fc_errmsg();
        if (!m[0] || m[0] != 'c') __builtin_trap(); /* a failure must say why, starting with the file name */
        return 0;
    }
    const fc_llm_config *t = &c.text;
    if (t->hidden_size <= 0 || t->num_heads <= 0 || t->num_kv_heads <= 0 || t->head_dim <= 0 || t->vocab_size <= 0 ||
        t->num_layers <= 0 || t->intermediate_size <= 0 || t->num_heads % t->num_kv_heads != 0 ||
        (int64_t)t->num_heads * t->head_dim >= FC_HFCONFIG_MAX_COUNT || t->vocab_size >= FC_HFCONFIG_MAX_VOCAB ||
        !(t->rms_norm_eps > 0) || !(t->rope_theta > 0) || (unsigned)t->hidden_act >= FC_ACT_COUNT)
        __builtin_trap();
    if (c.vision.present && (c.vision.num_heads <= 0 || c.vision.hidden_size % c.vision.num_heads != 0 ||
                             c.vision.patch_size > c.vision.image_size))
        __builtin_trap();
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        fc_hfconfig_print(&c, sink);
        fclose(sink);
    }
    return 0;
}
