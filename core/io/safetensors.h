/* safetensors.h: read (mmap, zero copy) and write safetensors files, and open sharded checkpoints.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
 * then the data area; offsets are relative to the data area.
 *
 * The reader distrusts every field: the header length is bounded (FC_ST_MAX_HEADER) and inside the file,
 * the JSON must be well-formed UTF-8, every dtype known, every shape x dtype size equal to its byte range,
 * ranges inside the data area and not overlapping, names unique. Any violation is FC_EFORMAT with a
 * message naming the file, the tensor and the problem. HF dtypes beyond ours (F64, I64, I8, U8, BOOL,
 * F8_*) are recognised and listed by `inspect`, but fc_st_tensor() refuses them for computation.
 */
#ifndef FC_SAFETENSORS_H
#define FC_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

#define FC_ST_MAX_HEADER ((uint64_t)100 << 20) /* 100 MiB, as the Rust safetensors crate */

/* Every dtype a safetensors header may name; FC_ST_* maps onto fc_dtype where we compute with it. */
typedef enum {
    FC_ST_F64, FC_ST_F32, FC_ST_F16, FC_ST_BF16, FC_ST_I64, FC_ST_I32, FC_ST_I16, FC_ST_I8, FC_ST_U8,
    FC_ST_BOOL, FC_ST_F8_E4M3, FC_ST_F8_E5M2, FC_ST_U16, FC_ST_U32, FC_ST_U64, FC_ST_DTYPE_COUNT
} fc_st_dtype;

const char *fc_st_dtype_name(fc_st_dtype t); /* "F32", ... */
size_t fc_st_dtype_size(fc_st_dtype t);

typedef struct {
    char *name;
    fc_st_dtype st_dtype;
    int ndim;                    /* 0..8 in the file; fc_st_tensor needs <= FC_MAX_DIMS */
    int64_t shape[8];
    uint64_t begin, end;         /* byte range within the data area */
    const void *data;            /* points into the mapping */
    int shard;                   /* index into fc_st_model's files (0 for a single file) */
} fc_st_entry;

typedef struct {
    char *path;
    int fd;
    void *map;                   /* whole file mapped read-only (or the caller's buffer, see open_memory) */
    size_t map_size;
    bool owns_map;               /* true: fc_st_close unmaps it */
    uint64_t header_len;
    const unsigned char *data;   /* start of the data area */
    fc_st_entry *entries;        /* sorted by name */
    int n_entries;
    char **meta_keys, **meta_vals; /* __metadata__ */
    int n_meta;
} fc_st_file;

/* Opens and validates one file. On failure *f is zeroed and fc_st_close accepts it. The entries' data
 * pointers stay valid until fc_st_close. */
fc_err fc_st_open(fc_st_file *f, const char *path);
/* Validates `size` bytes at `buf` as a safetensors file without copying them (fuzzing, embedded
 * checkpoints). `name` stands for the path in messages; buf must outlive *f. Same failure contract. */
fc_err fc_st_open_memory(fc_st_file *f, const char *name, const void *buf, size_t size);
/* Releases everything fc_st_open allocated and zeroes *f; accepts NULL, a zeroed and a failed file. */
void fc_st_close(fc_st_file *f);
/* NULL if absent. */
const fc_st_entry *fc_st_find(const fc_st_file *f, const char *name);
const char *fc_st_meta(const fc_st_file *f, const char *key);

/* Offset of the first byte of s[0..n) that is not part of well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), or n if all of it is; the rule Rust's str::from_utf8 applies. */
size_t fc_st_utf8_check(const void *s, size_t n);

/* A model.safetensors.index.json read on its own: which tensor lives in which shard. Shard names are
 * checked to stay inside the index's folder (no absolute paths, no ".." component) but the shards are
 * not opened, so `fc-eval inspect` can list a checkpoint whose shards are absent. */
typedef struct {
    char *path;            /* the index file, as given */
    char *dir;             /* its folder; shard names resolve against it */
    char **shards;         /* distinct shard file names, sorted (n_shards) */
    int n_shards;
    char **names;          /* tensor names, sorted (n_tensors) */
    int *shard_of;         /* per tensor: index into shards (n_tensors) */
    int n_tensors;
    uint64_t total_size;   /* metadata.total_size, 0 when absent */
} fc_st_index;

/* Reads and validates an index (UTF-8 JSON object; weight_map an object of non-empty string values).
 * On failure the message names the index file and *ix is zeroed, which fc_st_index_free accepts. */
fc_err fc_st_index_load(fc_st_index *ix, const char *path);
void fc_st_index_free(fc_st_index *ix);

/* A checkpoint: one file, or the shards named by a model.safetensors.index.json (every shard opened,
 * every tensor of the weight_map present in the shard it names, no tensor in two shards). */
typedef struct {
    char *dir;
    char *index_path;            /* the index file, NULL for a single file */
    fc_st_file *files;
    int n_files;
    const fc_st_entry **entries; /* all tensors of all shards, sorted by name */
    int n_entries;
    uint64_t total_bytes;
} fc_st_model;

/* `path` may be a .safetensors file, an index .json, or a folder holding model.safetensors or
 * model.safetensors.index.json. A shard that is missing, a tensor of the weight_map absent from the shard
 * it names, or a tensor found in two shards is an error naming the index file. On failure *m is zeroed. */
fc_err fc_st_model_open(fc_st_model *m, const char *path);
/* Resolves what fc_st_model_open would read: *is_index is set when `path` (a file or a folder) leads to an
 * index json; *out receives a malloc'd path to the file (caller frees). */
fc_err fc_st_model_resolve(const char *path, char **out, bool *is_index);
/* Closes every shard; accepts NULL and a zeroed or failed model. */
void fc_st_model_close(fc_st_model *m);
const fc_st_entry *fc_st_model_find(const fc_st_model *m, const char *name);

/* A non-owning CPU tensor view of an entry (dtype F32/F16/BF16/I32 only; FC_EUNSUPPORTED otherwise, and for
 * more than FC_MAX_DIMS dims or data not aligned to its element size). The view points into a read-only
 * mapping: never write through it. */
fc_err fc_st_tensor(const fc_st_entry *e, fc_tensor *out);

/* Writer: collects tensors (borrowed pointers, must stay valid until write) and metadata, then writes
 * `path.tmp.<pid>`, fsyncs, and renames it over `path`, so a killed run never leaves a partial file.
 * The bytes are those the Python `safetensors` library writes for the same tensors: compact JSON with
 * __metadata__ first (keys sorted), tensors ordered by dtype (F32, I32, BF16, F16) then name, data packed
 * in that order, the header padded with spaces to a multiple of 8 bytes. On failure the temporary file is
 * removed and `path` is untouched. */
typedef struct fc_st_writer fc_st_writer;
fc_err fc_st_writer_create(fc_st_writer **w);
/* Fails on a duplicate or empty name, "__metadata__", an unsupported dtype, ndim outside 0..8 or a
 * negative dim. `data` holds numel x dtype size bytes (may be NULL when that is 0). */
fc_err fc_st_writer_add(fc_st_writer *w, const char *name, fc_dtype dtype, int ndim, const int64_t *shape,
                        const void *data);
fc_err fc_st_writer_add_tensor(fc_st_writer *w, const char *name, const fc_tensor *t); /* CPU tensors */
/* Sets a __metadata__ string; a key set twice keeps the last value. */
fc_err fc_st_writer_meta(fc_st_writer *w, const char *key, const char *value);
fc_err fc_st_writer_write(fc_st_writer *w, const char *path);
void fc_st_writer_free(fc_st_writer *w); /* accepts NULL */

#endif
