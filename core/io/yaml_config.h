/* yaml_config.h: YAML run configs bound to C structs through a schema table (redis config.c style).
 *
 * A schema is an array of rows, one per key, ended by FC_YAML_END. Each row says the key, the type, where
 * the value lives in the struct (offsetof), bounds, the default (as the YAML text it would be written
 * as), and one line of help. Loading fills the struct from the defaults, then from the file. Everything
 * is checked against the table: an unknown key is always an error (with a "did you mean" when a known key
 * is close), and so are a wrong type, a value out of bounds, a duplicate key, a scalar where a section is
 * expected (or the reverse), a missing required key, bad YAML syntax, an empty file and non-UTF-8 text.
 * Messages read "run.yaml:12: training.lr: expected a number, got 'fast'" (file:line: key: problem);
 * YAML syntax errors carry the column too ("run.yaml:4:9: YAML syntax error: ...").
 *
 * Storage per type (the struct field's C type):
 *   FC_YAML_INT      long         plain integer scalar, decimal; bounds [min, max]
 *   FC_YAML_DOUBLE   double       plain finite number; bounds [min, max]
 *   FC_YAML_BOOL     bool         true / false (YAML 1.2 core spelling; "yes"/"on" are errors)
 *   FC_YAML_STRING   char *       any scalar; heap copy owned by the struct (NULL when unset)
 *   FC_YAML_ENUM     int          index into the row's NULL-terminated names table
 *   FC_YAML_RATIO    double       "5x" (keep 1/5 of the entries); the number before x, bounds [min, max]
 *   FC_YAML_SECTION  (a struct)   nested mapping bound by row.fields; the struct is embedded at offset
 *   FC_YAML_STRINGS  fc_yaml_strings   sequence of scalars; count bounds [min, max] (max 0: no limit)
 *   FC_YAML_SECTIONS fc_yaml_sections  sequence of mappings, each an elem_size struct bound by row.fields
 * A mapping value in YAML is a "section"; keys are plain scalars.
 */
#ifndef FC_YAML_CONFIG_H
#define FC_YAML_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/err.h"

/* Bounds on a config file, checked before any document is built. A run config is a few KiB and nests a
 * few levels (section, list of sections, their keys); libyaml's scanner is quadratic in the flow nesting
 * depth (100,000 nested '[' took 72 s), so the file is first walked as an event stream that stops at the
 * first collection deeper than FC_YAML_MAX_DEPTH, with "<file>:<line>:<col>: nesting depth 33 is over the
 * limit of 32". */
#define FC_YAML_MAX_BYTES (1u << 20)
#define FC_YAML_MAX_DEPTH 32

typedef enum {
    FC_YAML_INT = 0,
    FC_YAML_DOUBLE,
    FC_YAML_BOOL,
    FC_YAML_STRING,
    FC_YAML_ENUM,
    FC_YAML_RATIO,
    FC_YAML_SECTION,
    FC_YAML_STRINGS,
    FC_YAML_SECTIONS,
    FC_YAML_TYPE_COUNT
} fc_yaml_type;

typedef struct {
    char **items; /* n heap strings */
    size_t n;
} fc_yaml_strings;

typedef struct {
    void *items; /* n structs of the row's elem_size, each bound by the row's fields */
    size_t n;
} fc_yaml_sections;

typedef struct fc_yaml_field fc_yaml_field;
struct fc_yaml_field {
    const char *key;             /* NULL ends the table */
    fc_yaml_type type;
    size_t offset;               /* of the value in the struct */
    double min, max;             /* value bounds (INT, DOUBLE, RATIO) or item-count bounds (lists; max 0 = none) */
    const char *def;             /* default as YAML text ("5x", "1e-4", "true", "kl"); NULL: 0 / false / NULL / first enum name */
    const char *help;            /* one line, shown by fc_yaml_print_help */
    const char *const *names;    /* ENUM: NULL-terminated names; the field stores the index */
    const fc_yaml_field *fields; /* SECTION, SECTIONS: the nested table */
    size_t elem_size;            /* SECTIONS: sizeof one element */
    bool required;               /* the file must set it */
    /* Optional extra check on the text of a scalar or of each item of a string list, run before it is
     * stored (e.g. the "name:key=value" form of a method spec). Returns false with a reason in why. */
    bool (*check)(const char *text, char *why, size_t cap);
};

/* Rows, written as FC_YAML_INT(my_cfg, training.epochs, "epochs", 1, 1000, "3", "passes over the data"). */
#define FC_YAML_ROW_(st, fld, k, t, lo, hi, d, h) \
    {.key = (k), .type = (t), .offset = offsetof(st, fld), .min = (lo), .max = (hi), .def = (d), .help = (h)}
#define FC_YAML_INT(st, fld, k, lo, hi, d, h) FC_YAML_ROW_(st, fld, k, FC_YAML_INT, lo, hi, d, h)
#define FC_YAML_DOUBLE(st, fld, k, lo, hi, d, h) FC_YAML_ROW_(st, fld, k, FC_YAML_DOUBLE, lo, hi, d, h)
#define FC_YAML_BOOL(st, fld, k, d, h) FC_YAML_ROW_(st, fld, k, FC_YAML_BOOL, 0, 0, d, h)
#define FC_YAML_STRING(st, fld, k, d, h) FC_YAML_ROW_(st, fld, k, FC_YAML_STRING, 0, 0, d, h)
#define FC_YAML_STRING_REQ(st, fld, k, h) \
    {.key = (k), .type = FC_YAML_STRING, .offset = offsetof(st, fld), .help = (h), .required = true}
#define FC_YAML_RATIO(st, fld, k, lo, hi, d, h) FC_YAML_ROW_(st, fld, k, FC_YAML_RATIO, lo, hi, d, h)
#define FC_YAML_ENUM(st, fld, k, nm, d, h) \
    {.key = (k), .type = FC_YAML_ENUM, .offset = offsetof(st, fld), .def = (d), .help = (h), .names = (nm)}
#define FC_YAML_SECTION(st, fld, k, tbl, h) \
    {.key = (k), .type = FC_YAML_SECTION, .offset = offsetof(st, fld), .help = (h), .fields = (tbl)}
#define FC_YAML_STRINGS(st, fld, k, lo, hi, h) FC_YAML_ROW_(st, fld, k, FC_YAML_STRINGS, lo, hi, NULL, h)
#define FC_YAML_STRINGS_CHECKED(st, fld, k, lo, hi, chk, h)                                                 \
    {.key = (k), .type = FC_YAML_STRINGS, .offset = offsetof(st, fld), .min = (lo), .max = (hi), .help = (h), \
     .check = (chk)}
#define FC_YAML_SECTIONS(st, fld, k, elem_t, tbl, lo, hi, h)                                              \
    {.key = (k), .type = FC_YAML_SECTIONS, .offset = offsetof(st, fld), .min = (lo), .max = (hi), .help = (h), \
     .fields = (tbl), .elem_size = sizeof(elem_t)}
#define FC_YAML_END {.key = NULL}

/* Fills *obj (zeroed first) from the schema's defaults. Fails only on a schema bug (a default that does
 * not parse), with a message naming the key. */
fc_err fc_yaml_defaults(const fc_yaml_field *schema, void *obj);

/* Defaults, then the YAML file at `path`. On failure the message is "<path>:<line>: <key>: <problem>",
 * and *obj holds nothing that needs freeing (it is released and zeroed). On success free it with
 * fc_yaml_free. */
fc_err fc_yaml_load(const fc_yaml_field *schema, void *obj, const char *path);

/* The same from `len` bytes in memory (need not be NUL-terminated); `name` stands for the file in
 * messages. The fuzz target's entry point. */
fc_err fc_yaml_parse(const fc_yaml_field *schema, void *obj, const char *name, const char *buf, size_t len);

/* Releases the strings and lists a load allocated and zeroes them; safe on a zeroed or already-freed
 * struct. */
void fc_yaml_free(const fc_yaml_field *schema, void *obj);

/* Writes the effective config as YAML that fc_yaml_load reads back to the same values. */
void fc_yaml_print(const fc_yaml_field *schema, const void *obj, FILE *f);

/* Writes one line per key: "  section.key  type  (default ...)  help". */
void fc_yaml_print_help(const fc_yaml_field *schema, FILE *f);

/* Reads the top-level scalar `key` (e.g. "kind") of a YAML file without a schema, for dispatching on
 * it. *out is a heap string (free it), or NULL when the key is absent; *line (may be NULL) gets its
 * 1-based line. Syntax errors are reported as by fc_yaml_load. */
fc_err fc_yaml_peek_scalar(const char *path, const char *key, char **out, size_t *line);

#endif
