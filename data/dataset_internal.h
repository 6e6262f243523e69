/* dataset_internal.h: what the three readers share (dataset.c): the JSON file load, growing the record
 * list, turning a bad record into an error or a counted skip, and image paths. Not for use outside data/. */
#ifndef FC_DATA_DATASET_INTERNAL_H
#define FC_DATA_DATASET_INTERNAL_H

#include <cjson/cJSON.h>

#include "data/dataset.h"

#define FC_DATA_MAX_FILE_BYTES ((size_t)4 << 30)

/* Parses the JSON file at path (bounded at 4 GiB). Errors: "<path>: not valid JSON (at byte N)". */
fc_err fc_data_load_json(const char *path, cJSON **root);

/* Appends an empty record (index idx) to d and returns it in *rec; FC_ENOMEM. */
fc_err fc_data_push(fc_dataset *d, int idx, fc_data_record **rec);
/* Drops the last record (after a failed parse) and frees what it held. */
void fc_data_pop(fc_dataset *d);
void fc_data_record_clear(fc_data_record *r);

/* Settles a record that failed to parse with error e (message already set, without file or record) for
 * reason `why`: prefixes "<file>: record <idx> (id '<id>')" (id NULL: no id part), then in lenient mode
 * (or for FC_DATA_SKIP_FILTERED, always) counts the skip, keeps the first message and returns FC_OK; else
 * returns e. Out-of-memory is never a skip. */
fc_err fc_data_settle(fc_dataset *d, const fc_data_opts *o, const char *file, int idx, const char *id, fc_err e,
                      fc_data_skip why);

/* Adds image `rel` of a record: refuses absolute paths and ".." parts (FC_EFORMAT, why MALFORMED), joins it
 * to dir and checks the file exists unless o->no_image_check (FC_ENOTFOUND "image 'rel' not found in
 * 'dir'", why IMAGE_MISSING). */
fc_err fc_data_add_image(fc_data_record *r, const char *dir, const char *rel, const fc_data_opts *o,
                         fc_data_skip *why);
/* Sets r's single question/answer turn pair (GQA, MileBench) and its cleaned question/answer. */
fc_err fc_data_set_qa(fc_data_record *r, const char *question, const char *answer);
/* Trimmed copy of s (malloc'd, NULL when out of memory). */
char *fc_data_trim_dup(const char *s);
/* The folder part of path ("." when it has none), malloc'd. */
char *fc_data_dirname(const char *path);

/* A JSON number as an id or answer text: "%lld" when it is an integer that a long long holds, else "%.17g"
 * (never a cast of an out-of-range double, which is undefined). Returns buf. */
const char *fc_data_number_text(double v, char *buf, size_t cap);

/* A string member of obj, or NULL when absent or not a string. */
const char *fc_data_str(const cJSON *obj, const char *key);

#endif
