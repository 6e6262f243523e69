/* train_options.c: the command-line table of fc-train and its merge over the YAML config. */
#include "train/train_options.h"

#include <math.h>
#include <string.h>

#include "core/base/mem.h"

const fc_train_option fc_train_options[] = {
    {"--model", "model"},
    {"--tokenizer", "tokenizer"},
    {"--data", "data"},
    {"--val-data", "val_data"},
    {"--images", "image_root"},
    {"--out", "output"},
    {"--init", "init"},
    {"--resume", "resume"},
    {"--val-frac", "val_frac"},
    {"--val-ids", "val_ids"},
    {"--device", "device"},
    {"--threads", "threads"},
    /* taken out of argv by fc_precision_take_option before the table parser runs (it applies to every command);
     * listed here so --help and --list-options show it and the YAML key has its option */
    {"--precision", "precision"},
    {"--ratio", "compressor.ratio"},
    {"--window", "compressor.window"},
    {"--hidden", "compressor.hidden"},
    {"--depth", "compressor.depth"},
    {"--dropout", "compressor.dropout"},
    {"--min-segment", "compressor.min_segment"},
    {"--segment-rule", "compressor.segment_rule"},
    {"--position-rule", "compressor.position_rule"},
    {"--epochs", "training.epochs"},
    {"--max-steps", "training.max_steps"},
    {"--lr", "training.lr"},
    {"--batch", "training.batch"},
    {"--accum", "training.accum"},
    {"--seed", "training.seed"},
    {"--loss", "training.loss"},
    {"--tau", "training.tau"},
    {"--targets", "training.targets"},
    {"--max-new-tokens", "training.max_new_tokens"},
    {"--temperature", "training.temperature"},
    {"--top-k", "training.top_k"},
    {"--top-p", "training.top_p"},
    {"--max-samples", "training.max_samples"},
    {"--weight-decay", "training.weight_decay"},
    {"--beta1", "training.beta1"},
    {"--beta2", "training.beta2"},
    {"--eps", "training.eps"},
    {"--schedule", "training.schedule"},
    {"--warmup", "training.warmup"},
    {"--min-lr", "training.min_lr"},
    {"--plateau-factor", "training.plateau_factor"},
    {"--plateau-patience", "training.plateau_patience"},
    {"--clip", "training.clip"},
    {"--val-every", "training.val_every"},
    {"--save-every", "training.save_every"},
    {NULL, NULL},
};

/* The schema with its required flags cleared: a file may leave model/data/output to the command line; the
 * merged result is checked instead. Top-level rows only (no section has a required key). */
#define MAX_ROWS 64
static const fc_yaml_field *relaxed_schema(void) {
    static fc_yaml_field rows[MAX_ROWS];
    int n = 0;
    for (const fc_yaml_field *f = fc_train_config_schema; f->key && n < MAX_ROWS - 1; f++) {
        rows[n] = *f;
        rows[n++].required = false;
    }
    rows[n] = (fc_yaml_field)FC_YAML_END;
    return rows;
}

fc_err fc_train_options_merge(const fc_cli_args *a, fc_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    const char *config = fc_cli_value(a, "--config");
    const fc_yaml_field *schema = relaxed_schema();
    FC_TRY(config ? fc_yaml_load(schema, cfg, config) : fc_yaml_defaults(schema, cfg));
    bool set_ratio = false, set_window = false;
    fc_err e = FC_OK;
    for (const fc_train_option *o = fc_train_options; o->opt && !e; o++) {
        const char *v = fc_cli_value(a, o->opt);
        if (!v) continue;
        e = fc_yaml_set(fc_train_config_schema, cfg, o->key, v, o->opt);
        set_ratio |= !strcmp(o->opt, "--ratio");
        set_window |= !strcmp(o->opt, "--window");
    }
    /* a window of N tokens becomes one entry: the ratio is the window, so one sets the other */
    if (!e && set_ratio && !set_window) {
        if (cfg->compressor.ratio != floor(cfg->compressor.ratio) || cfg->compressor.ratio > 1024)
            e = fc_err_set(FC_EINVAL, "--ratio %gx: the window compressor needs a whole ratio (a window of N tokens "
                           "gives Nx)", cfg->compressor.ratio);
        else cfg->compressor.window = (long)cfg->compressor.ratio;
    }
    if (!e && set_window && !set_ratio) cfg->compressor.ratio = (double)cfg->compressor.window;
    if (!e && fabs(cfg->compressor.ratio - (double)cfg->compressor.window) > 1e-9)
        e = fc_err_set(FC_EINVAL, "compressor.ratio %gx does not match compressor.window %ld (a window of N tokens becomes "
                       "one entry, so the ratio is Nx)", cfg->compressor.ratio, cfg->compressor.window);
    if (!e && !cfg->model) e = fc_err_set(FC_EINVAL, "no model folder: give --model DIR (or model: in --config)");
    if (!e && !cfg->data) e = fc_err_set(FC_EINVAL, "no training data: give --data FILE.json (or data: in --config)");
    if (!e && !cfg->output)
        e = fc_err_set(FC_EINVAL, "no output: give --out FILE.safetensors (or output: in --config)");
    if (e) fc_train_config_free(cfg);
    return e;
}

void fc_train_options_table(fc_cli_option *rows, char (*help)[256]) {
    int n = 0;
    rows[n++] = (fc_cli_option){"--config", "FILE.yaml", 1, "a run config (kind: train); the options below override its keys"};
    for (const fc_train_option *o = fc_train_options; o->opt && n <= FC_TRAIN_OPTIONS_MAX; o++) {
        const fc_yaml_field *row = fc_yaml_find(fc_train_config_schema, o->key, NULL);
        char *h = help[n - 1];
        size_t k = (size_t)snprintf(h, 256, "%s (%s", row && row->help ? row->help : "", o->key);
        if (row && row->def && k < 256) k += (size_t)snprintf(h + k, 256 - k, ", default %s", row->def);
        if (row && row->type == FC_YAML_ENUM && k < 256) {
            k += (size_t)snprintf(h + k, 256 - k, "; one of");
            for (int j = 0; row->names[j] && k < 256; j++) k += (size_t)snprintf(h + k, 256 - k, " %s", row->names[j]);
        }
        if (k < 256) snprintf(h + k, 256 - k, ")");
        const char *arg = !row ? "X" : row->type == FC_YAML_STRINGS ? "A,B,..." : row->type == FC_YAML_ENUM ? "NAME"
                          : row->type == FC_YAML_STRING ? "PATH" : "N";
        rows[n++] = (fc_cli_option){o->opt, arg, 1, h};
    }
    rows[n] = (fc_cli_option){0};
}
