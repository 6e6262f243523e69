/* test_yaml_config.c: the YAML schema binder (core/io/yaml_config) on a test schema that uses every
 * type, every error kind with its "file:line: key:" message, print round trips, and the two real
 * schemas (train, eval) on the example files in configs/. Expected values are the definitions: what
 * the YAML text says, or the schema's default when it says nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/yaml_config.h"
#include "eval/eval_config.h"
#include "tests/test.h"
#include "train/train_config.h"

/* ---- a schema with every type ---- */

typedef struct {
    char *name;
    long weight;
} t_item;

typedef struct {
    double ratio;
    double dropout;
} t_comp;

typedef struct {
    double lr;
    long epochs;
    bool shuffle;
    int loss;
    t_comp comp;
} t_training;

typedef struct {
    char *model;
    char *note;
    t_training training;
    fc_yaml_strings tags;
    fc_yaml_sections items;
} t_cfg;

static const char *const losses[] = {"kl", "fastcache", NULL};

static bool no_spaces(const char *s, char *why, size_t cap) {
    if (!strchr(s, ' ')) return true;
    snprintf(why, cap, "'%s' contains a space", s);
    return false;
}

static const fc_yaml_field comp_schema[] = {
    FC_YAML_RATIO(t_comp, ratio, "ratio", 1, 100, "5x", "keep 1/N"),
    FC_YAML_DOUBLE(t_comp, dropout, "dropout", 0, 0.9, "0.4", "dropout"),
    FC_YAML_END,
};
static const fc_yaml_field training_schema[] = {
    FC_YAML_DOUBLE(t_training, lr, "lr", 0, 1, "1e-3", "learning rate"),
    FC_YAML_INT(t_training, epochs, "epochs", 1, 100, "3", "passes"),
    FC_YAML_BOOL(t_training, shuffle, "shuffle", "true", "shuffle samples"),
    FC_YAML_ENUM(t_training, loss, "loss", losses, "kl", "loss"),
    FC_YAML_SECTION(t_training, comp, "compressor", comp_schema, "compressor"),
    FC_YAML_END,
};
static const fc_yaml_field item_schema[] = {
    FC_YAML_STRING_REQ(t_item, name, "name", "item name"),
    FC_YAML_INT(t_item, weight, "weight", 0, 10, "1", "item weight"),
    FC_YAML_END,
};
static const fc_yaml_field schema[] = {
    FC_YAML_STRING_REQ(t_cfg, model, "model", "model folder"),
    FC_YAML_STRING(t_cfg, note, "note", "none", "free text"),
    FC_YAML_SECTION(t_cfg, training, "training", training_schema, "training"),
    FC_YAML_STRINGS_CHECKED(t_cfg, tags, "tags", 0, 3, no_spaces, "tags"),
    FC_YAML_SECTIONS(t_cfg, items, "items", t_item, item_schema, 0, 4, "items"),
    FC_YAML_END,
};

static fc_err parse(t_cfg *c, const char *text) {
    memset(c, 0xAB, sizeof *c); /* garbage in: the loader must not read it */
    return fc_yaml_parse(schema, c, "run.yaml", text, strlen(text));
}

static void test_full_file(fc_test *t) {
    const char *y = "model: /models/llava   # a comment\n"
                    "training:\n"
                    "  lr: 2.5e-4\n"
                    "  epochs: 7\n"
                    "  shuffle: false\n"
                    "  loss: fastcache\n"
                    "  compressor: {ratio: 2.5x, dropout: 0}\n"
                    "tags: [a, 'b-c', \"d\"]\n"
                    "items:\n"
                    "  - name: first\n"
                    "    weight: 3\n"
                    "  - {name: second}\n";
    t_cfg c;
    fc_err e = parse(&c, y);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, !strcmp(c.model, "/models/llava") && !strcmp(c.note, "none"), "model '%s' note '%s'", c.model, c.note);
    FC_CHECK(t, c.training.lr == 2.5e-4 && c.training.epochs == 7 && !c.training.shuffle && c.training.loss == 1,
             "training %g %ld %d %d", c.training.lr, c.training.epochs, c.training.shuffle, c.training.loss);
    FC_CHECK(t, c.training.comp.ratio == 2.5 && c.training.comp.dropout == 0, "comp %g %g", c.training.comp.ratio,
             c.training.comp.dropout);
    FC_CHECK(t, c.tags.n == 3 && !strcmp(c.tags.items[0], "a") && !strcmp(c.tags.items[1], "b-c") &&
                    !strcmp(c.tags.items[2], "d"), "tags");
    const t_item *it = c.items.items;
    FC_CHECK(t, c.items.n == 2 && !strcmp(it[0].name, "first") && it[0].weight == 3 && !strcmp(it[1].name, "second") &&
                    it[1].weight == 1, "items");
    fc_yaml_free(schema, &c);
    FC_CHECK(t, c.model == NULL && c.tags.n == 0 && c.items.items == NULL, "free zeroes");
    fc_yaml_free(schema, &c); /* twice is safe */
}

static void test_defaults(fc_test *t) {
    t_cfg c;
    fc_err e = parse(&c, "model: m\ntraining:\n");
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.training.lr == 1e-3 && c.training.epochs == 3 && c.training.shuffle && c.training.loss == 0 &&
                    c.training.comp.ratio == 5 && c.training.comp.dropout == 0.4, "defaults");
    FC_CHECK(t, c.tags.n == 0 && c.items.n == 0 && !strcmp(c.note, "none"), "empty lists");
    fc_yaml_free(schema, &c);
}

/* ---- every error kind ---- */

typedef struct {
    const char *what, *yaml;
    fc_err code;
    const char *msg; /* the message must contain this (it starts with file:line) */
} bad;

static const bad bads[] = {
    {"type: number", "model: m\ntraining:\n  lr: fast\n", FC_EFORMAT, "run.yaml:3: training.lr: expected a number, got 'fast'"},
    {"type: integer", "model: m\ntraining:\n  epochs: 3.5\n", FC_EFORMAT,
     "run.yaml:3: training.epochs: expected an integer, got '3.5'"},
    {"type: quoted number", "model: m\ntraining:\n  lr: \"0.1\"\n", FC_EFORMAT,
     "run.yaml:3: training.lr: expected a number, got the quoted string '0.1'"},
    {"type: bool", "model: m\ntraining:\n  shuffle: yes\n", FC_EFORMAT,
     "run.yaml:3: training.shuffle: expected true or false, got 'yes'"},
    {"type: enum", "model: m\ntraining:\n  loss: mse\n", FC_EINVAL,
     "run.yaml:3: training.loss: expected one of kl, fastcache; got 'mse'"},
    {"type: ratio without x", "model: m\ntraining:\n  compressor:\n    ratio: 0.8\n", FC_EFORMAT,
     "run.yaml:4: training.compressor.ratio: expected a ratio like '5x'"},
    {"type: nan", "model: m\ntraining:\n  lr: .nan\n", FC_EFORMAT, "run.yaml:3: training.lr: expected a number, got '.nan'"},
    {"type: hex", "model: m\ntraining:\n  epochs: 0x10\n", FC_EFORMAT, "run.yaml:3: training.epochs: expected an integer"},
    {"type: list for scalar", "model: [a, b]\n", FC_EFORMAT, "run.yaml:1: model: expected a string, got a list"},
    {"type: section for scalar", "model:\n  path: x\n", FC_EFORMAT, "run.yaml:2: model: expected a string, got a section"},
    {"type: scalar for section", "model: m\ntraining: fast\n", FC_EFORMAT,
     "run.yaml:2: training: expected a section (indented key: value lines), got 'fast'"},
    {"type: list for section", "model: m\ntraining: [1]\n", FC_EFORMAT, "run.yaml:2: training: expected a section"},
    {"type: scalar for list", "model: m\ntags: abc\n", FC_EFORMAT, "run.yaml:2: tags: expected a list"},
    {"type: section in string list", "model: m\ntags:\n  - a\n  - {x: 1}\n", FC_EFORMAT,
     "run.yaml:4: tags[1]: expected a string, got a section"},
    {"type: scalar in section list", "model: m\nitems:\n  - x\n", FC_EFORMAT, "run.yaml:3: items[0]: expected a section"},
    {"no value", "model: m\ntraining:\n  lr:\n", FC_EFORMAT, "run.yaml:3: training.lr: has no value"},
    {"NUL in string", "model: \"a\\0b\"\n", FC_EFORMAT, "run.yaml:1: model: contains a NUL character"},
    {"range: double", "model: m\ntraining:\n  lr: 5\n", FC_EINVAL, "run.yaml:3: training.lr: 5 is out of range [0, 1]"},
    {"range: integer", "model: m\ntraining:\n  epochs: 0\n", FC_EINVAL,
     "run.yaml:3: training.epochs: 0 is out of range [1, 100]"},
    {"range: integer overflow", "model: m\ntraining:\n  epochs: 99999999999999999999999\n", FC_EFORMAT,
     "run.yaml:3: training.epochs: expected an integer"},
    {"range: ratio", "model: m\ntraining:\n  compressor: {ratio: 0.5x}\n", FC_EINVAL,
     "run.yaml:3: training.compressor.ratio: 0.5x is out of range [1x, 100x]"},
    {"range: list length", "model: m\ntags: [a, b, c, d]\n", FC_EINVAL, "run.yaml:2: tags: has 4 items, expected 0 to 3"},
    {"check callback", "model: m\ntags: [a, 'b c']\n", FC_EINVAL, "run.yaml:2: tags[1]: 'b c' contains a space"},
    {"unknown key in section", "model: m\ntraining:\n  learnig_rate: 0.1\n", FC_EINVAL,
     "run.yaml:3: unknown key 'learnig_rate' in section 'training'"},
    {"unknown key with hint", "model: m\ntraining:\n  epoch: 2\n", FC_EINVAL,
     "run.yaml:3: unknown key 'epoch' in section 'training' (did you mean 'epochs'?)"},
    {"unknown key at top", "model: m\nmodle: x\n", FC_EINVAL, "run.yaml:2: unknown key 'modle' at top level (did you mean 'model'?)"},
    {"unknown key in list item", "model: m\nitems:\n  - name: a\n  - name: b\n    wieght: 2\n", FC_EINVAL,
     "run.yaml:5: unknown key 'wieght' in section 'items[1]' (did you mean 'weight'?)"},
    {"duplicate key", "model: m\ntraining:\n  lr: 0.1\n  epochs: 2\n  lr: 0.2\n", FC_EINVAL,
     "run.yaml:5: duplicate key 'lr' in section 'training' (first set at line 3)"},
    {"duplicate top key", "model: m\nmodel: n\n", FC_EINVAL, "run.yaml:2: duplicate key 'model' at top level (first set at line 1)"},
    {"missing required", "note: x\n", FC_ENOTFOUND, "run.yaml:1: missing required key 'model' at top level"},
    {"missing required in item", "model: m\nitems:\n  - weight: 2\n", FC_ENOTFOUND,
     "run.yaml:3: missing required key 'name' in section 'items[0]'"},
    {"key not a scalar", "model: m\n? [a, b]\n: 1\n", FC_EFORMAT, "run.yaml:2: a key must be plain text, got a list"},
    {"syntax error", "model: m\ntraining:\n  lr: [1, 2\n", FC_EFORMAT, "run.yaml:4:1: YAML syntax error:"},
    {"syntax error: bad indent", "model: m\ntraining:\n  lr: 1\n epochs: 2\n", FC_EFORMAT, "run.yaml:4:"},
    {"tabs", "model: m\ntraining:\n\tlr: 0.1\n", FC_EFORMAT,
     "run.yaml:3:1: YAML syntax error: found character that cannot start any token (while scanning for the next "
     "token that starts at line 3)"},
    {"error after the document", "model: m\n---\nx: [\n", FC_EFORMAT, "YAML syntax error"},
    {"two documents", "model: m\n---\nmodel: n\n", FC_EFORMAT, "run.yaml:3: a second YAML document"},
    {"empty", "", FC_EFORMAT, "run.yaml: file is empty"},
    {"only comments", "# nothing here\n\n", FC_EFORMAT, "run.yaml: file is empty (no YAML document)"},
    {"top-level scalar", "hello\n", FC_EFORMAT, "run.yaml:1: expected key: value lines at top level, got 'hello'"},
    {"top-level list", "- a\n- b\n", FC_EFORMAT, "run.yaml:1: expected key: value lines at top level, got a list"},
    {"not UTF-8", "model: m\nnote: caf\xff\n", FC_EFORMAT, "run.yaml:2: invalid text at byte offset 18: invalid leading UTF-8 octet"},
    {"Latin-1 text", "model: m\nnote: caf\xe9\n", FC_EFORMAT,
     "run.yaml:2: invalid text at byte offset 18: incomplete UTF-8 octet sequence"},
    {"control character", "model: m\x01\n", FC_EFORMAT, "run.yaml:1: invalid text at byte offset 8: control characters are not allowed"},
    {"alias cycle", "model: m\nitems: &a [*a]\n", FC_EFORMAT, "run.yaml:2: items[0]: expected a section"},
};

static void test_errors(fc_test *t) {
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        t_cfg c;
        fc_err_clear();
        fc_err e = parse(&c, bads[i].yaml);
        const char *m = fc_errmsg();
        FC_CHECK(t, e == bads[i].code, "%s: code %s want %s: %s", bads[i].what, fc_err_name(e), fc_err_name(bads[i].code), m);
        FC_CHECK(t, strstr(m, bads[i].msg) != NULL,
                 "%s: message\n         '%s'\n       lacks '%s'", bads[i].what, m, bads[i].msg);
        /* the contract after a failure: nothing to free, pointers zeroed */
        FC_CHECK(t, c.model == NULL && c.note == NULL && c.tags.items == NULL && c.items.items == NULL,
                 "%s: pointers left set after a failure", bads[i].what);
    }
}

/* ---- print ---- */

static char *print_to_string(const fc_yaml_field *s, const void *obj) {
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return NULL;
    fc_yaml_print(s, obj, f);
    fclose(f);
    return out;
}

static void test_print_round_trip(fc_test *t) {
    const char *y = "model: \"quote\\\" back\\\\slash\\ttab\"\n"
                    "training: {lr: 0.1, epochs: 9, compressor: {ratio: 3.3x}}\n"
                    "tags: [x, y]\n"
                    "items: [{name: a, weight: 0}, {name: 'b: c'}]\n";
    t_cfg a, b;
    FC_CHECK(t, parse(&a, y) == FC_OK, "%s", fc_errmsg());
    char *p1 = print_to_string(schema, &a);
    FC_CHECK(t, p1 != NULL, "print");
    fc_err e = parse(&b, p1);
    if (e) fc_test_fail(t, "printed text does not load: %s\n%s", fc_errmsg(), p1);
    char *p2 = e ? NULL : print_to_string(schema, &b);
    bool same = p2 && !strcmp(p1, p2);
    bool values = !e && !strcmp(a.model, b.model) && a.training.lr == b.training.lr &&
                  a.training.comp.ratio == b.training.comp.ratio && b.items.n == 2 &&
                  !strcmp(((t_item *)b.items.items)[1].name, "b: c") && b.tags.n == 2;
    if (!same) fc_test_fail(t, "print is not stable:\n%s---\n%s", p1, p2 ? p2 : "(none)");
    free(p1);
    free(p2);
    fc_yaml_free(schema, &a);
    fc_yaml_free(schema, &b);
    FC_CHECK(t, same && values, "round trip");
}

static void test_print_help(fc_test *t) {
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    FC_CHECK(t, f != NULL, "memstream");
    fc_yaml_print_help(schema, f);
    fclose(f);
    bool ok = strstr(out, "training.lr") && strstr(out, "training.compressor.ratio") && strstr(out, "kl|fastcache") &&
              strstr(out, "items[].weight") && strstr(out, "required");
    FC_CHECK(t, ok, "help:\n%s", out);
    free(out);
}

/* ---- the real schemas and example files ---- */

static void test_train_example(fc_test *t) {
    fc_train_config c;
    fc_err e = fc_train_config_load(&c, "configs/train-llava.yaml");
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, strstr(c.model, "llava-1.5-7b-hf") && c.data && c.output && c.image_root, "paths");
    FC_CHECK(t, c.compressor.ratio == 5 && c.compressor.window == 5 && c.compressor.depth == 3 &&
                    c.compressor.dropout == 0.4 && c.compressor.min_segment == 10, "compressor");
    FC_CHECK(t, c.training.epochs == 40 && c.training.lr == 5e-4 && c.training.batch == 1 && c.training.seed == 48 &&
                    c.training.loss == FC_TRAIN_LOSS_KL && c.training.max_new_tokens == 512 &&
                    c.training.temperature == 1.0, "training");
    char *p = print_to_string(fc_train_config_schema, &c);
    FC_CHECK(t, p && strstr(p, "ratio: 5x\n") && strstr(p, "loss: kl\n") && strstr(p, "# val_data: (unset)\n"), "print:\n%s", p);
    free(p);
    fc_train_config_free(&c);
}

static void test_eval_example(fc_test *t) {
    fc_eval_config c;
    fc_err e = fc_eval_config_load(&c, "configs/eval-llava.yaml");
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.methods.n == 5 && !strcmp(c.methods.items[3], "snapkv:ratio=5x,window=64"), "methods");
    FC_CHECK(t, c.arrival.process == FC_ARRIVAL_POISSON && c.arrival.rate == 10 && c.arrival.num_requests == 90, "arrival");
    FC_CHECK(t, c.batching.prefill == 15 && c.batching.compress == 45 && c.batching.decode == 90, "batching");
    FC_CHECK(t, c.max_new_tokens == 512 && !strcmp(c.output_dir, "results/llava"), "rest");
    fc_eval_config_free(&c);
}

static void test_kind_mismatch(fc_test *t) {
    fc_train_config c;
    fc_err e = fc_train_config_load(&c, "configs/eval-llava.yaml");
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "configs/eval-llava.yaml:3: kind: expected one of train; got 'eval'"),
             "%s", fc_errmsg());
}

static void test_train_cross_check(fc_test *t) {
    const char *y = "kind: train\nmodel: m\ndata: d\noutput: o\ncompressor: {ratio: 4x, window: 5}\n";
    char path[] = "/tmp/fc_test_yaml_XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(t, fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    fputs(y, f);
    fclose(f);
    fc_train_config c;
    fc_err e = fc_train_config_load(&c, path);
    remove(path);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "compressor.ratio 4x does not match compressor.window 5"), "%s",
             fc_errmsg());
}

static void test_method_specs(fc_test *t) {
    static const char *const good[] = {"none", "ccm:ratio=5x", "snapkv:ratio=5x,window=64", "tova-2:k=v"};
    static const char *const badspecs[] = {"", ":x=1", "snapkv:", "snapkv:ratio", "snapkv:ratio=", "a:b=1,",
                                           "a:b=1,,c=2", "a b", "a:b=c=d"};
    char why[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        FC_CHECK(t, fc_eval_method_spec_ok(good[i], why, sizeof why), "'%s' refused: %s", good[i], why);
    for (size_t i = 0; i < sizeof badspecs / sizeof badspecs[0]; i++)
        FC_CHECK(t, !fc_eval_method_spec_ok(badspecs[i], why, sizeof why) && strstr(why, "expected a method"),
                 "'%s' accepted", badspecs[i]);
}

static void test_files(fc_test *t) {
    t_cfg c;
    fc_err e = fc_yaml_load(schema, &c, "configs/no-such-file.yaml");
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "configs/no-such-file.yaml: cannot open"), "%s", fc_errmsg());
    FC_CHECK(t, c.model == NULL, "pointer zeroed");
    char *kind = NULL;
    size_t line = 0;
    FC_CHECK(t, fc_yaml_peek_scalar("configs/eval-llava.yaml", "kind", &kind, &line) == FC_OK && kind && !strcmp(kind, "eval") &&
                    line == 3,
             "peek: %s", fc_errmsg());
    free(kind);
    FC_CHECK(t, fc_yaml_peek_scalar("configs/eval-llava.yaml", "nope", &kind, NULL) == FC_OK && kind == NULL, "peek absent");
}

/* issue 15: 100,000 nested flow sequences (200 KB) took 72 s in libyaml's scanner. The load stops at the
 * first collection past FC_YAML_MAX_DEPTH: the message names depth 33 (the top mapping is level 1), which
 * it could only do by stopping there. Depth 32 itself is accepted by the bound (the schema then rejects
 * the list). */
static void test_yaml_issue15_deep_nesting_stops_at_the_bound(fc_test *t) {
    const int deep = 100000;
    char *text = malloc((size_t)2 * deep + 64);
    FC_CHECK(t, text != NULL, "malloc");
    int n = sprintf(text, "model: m\ntags: ");
    memset(text + n, '[', (size_t)deep), memset(text + n + deep, ']', (size_t)deep);
    strcpy(text + n + 2 * deep, "\n");
    t_cfg c;
    fc_err e = parse(&c, text);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "run.yaml:2:38: nesting depth 33 is over the limit of 32"),
             "%s", fc_errmsg());
    /* 31 levels under the top mapping: within the bound, so the schema's own error comes back */
    n = sprintf(text, "model: m\ntags: ");
    memset(text + n, '[', 31), memset(text + n + 31, ']', 31);
    strcpy(text + n + 62, "\n");
    e = parse(&c, text);
    FC_CHECK(t, e == FC_EFORMAT && !strstr(fc_errmsg(), "nesting depth") && strstr(fc_errmsg(), "tags"), "%s", fc_errmsg());
    /* the same bound for flow mappings and block collections */
    strcpy(text, "model: m\ntraining:\n");
    for (int i = 0; i < 40; i++) sprintf(text + strlen(text), "%*sa:\n", 2 * (i + 1), "");
    e = parse(&c, text);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "run.yaml:34:65: nesting depth 33"), "%s", fc_errmsg());
    free(text);
}

static const fc_test_case cases[] = {
    FC_CASE(test_yaml_issue15_deep_nesting_stops_at_the_bound),
    FC_CASE(test_full_file),
    FC_CASE(test_defaults),
    FC_CASE(test_errors),
    FC_CASE(test_print_round_trip),
    FC_CASE(test_print_help),
    FC_CASE(test_train_example),
    FC_CASE(test_eval_example),
    FC_CASE(test_kind_mismatch),
    FC_CASE(test_train_cross_check),
    FC_CASE(test_method_specs),
    FC_CASE(test_files),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
