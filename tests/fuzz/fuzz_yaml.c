/* fuzz_yaml.c: libFuzzer target for the YAML schema binder (core/io/yaml_config) with the two real run
 * schemas (train and eval). Any input must load (and then print and free cleanly) or fail with a
 * "file:line:" message and leave nothing to free; never crash, leak or hang. Built and run by
 * tests/fuzz/run.sh, seeded from tests/corpus/yaml.
 *
 * run.sh links the fuzz library from core/, kernels/ and data/ only, so the two schema files are compiled
 * into this target directly. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/io/yaml_config.h"
#include "eval/eval_config.c"
#include "train/train_config.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const fc_yaml_field *schema, void *obj, const uint8_t *data, size_t size) {
    if (fc_yaml_parse(schema, obj, "run.yaml", (const char *)data, size) != FC_OK) {
        if (strncmp(fc_errmsg(), "run.yaml", 8) != 0) __builtin_trap(); /* a failure names the file */
        return;
    }
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        fc_yaml_print(schema, obj, sink);
        fclose(sink);
    }
    fc_yaml_free(schema, obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_train_config t;
    fc_eval_config e;
    one(fc_train_config_schema, &t, data, size);
    one(fc_eval_config_schema, &e, data, size);
    return 0;
}
