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
    void *map;                   /* whole file mapped read-only */
    size_t map_size;
    uint64_t header_len;
    const unsigned char *data;   /* start of the data area */
    fc_st_entry *entries;        /* sorted by name */
    int n_entries;
    char **meta_keys, **meta_vals; /* __metadata__ */
    int n_meta;
} fc_st_file;

/* Opens and validates one file. On failure *f is zeroed and fc_st_close accepts it. */
fc_err fc_st_open(fc_st_file *f, const char *path);
void fc_st_close(fc_st_file *f);
/* NULL if absent. */
const fc_st_entry *fc_st_find(const fc_st_file *f, const char *name);
const char *fc_st_meta(const fc_st_file *f, const char *key);

/* A checkpoint: one file, or the shards named by a model.safetensors.index.json (every shard opened,
 * every tensor of the weight_map present in the shard it names, no tensor in two shards). */
typedef struct {
    char *dir;
    fc_st_file *files;
    int n_files;
    const fc_st_entry **entries; /* all tensors of all shards, sorted by name */
    int n_entries;
    uint64_t total_bytes;
} fc_st_model;

/* `path` may be a .safetensors file, an index .json, or a folder holding model.safetensors or
 * model.safetensors.index.json. */
fc_err fc_st_model_open(fc_st_model *m, const char *path);
void fc_st_model_close(fc_st_model *m);
const fc_st_entry *fc_st_model_find(const fc_st_model *m, const char *name);

/* A non-owning CPU tensor view of an entry (dtype F32/F16/BF16/I32 only; FC_EUNSUPPORTED otherwise). */
fc_err fc_st_tensor(const fc_st_entry *e, fc_tensor *out);

/* Writer: collects tensors (borrowed pointers, must stay valid until write) and metadata, then writes
 * `path.tmp.<pid>`, fsyncs, and renames it over `path`, so a killed run never leaves a partial file. */
typedef struct fc_st_writer fc_st_writer;
fc_err fc_st_writer_create(fc_st_writer **w);
/* Fails on a duplicate name or an unsupported dtype. `data` holds numel x dtype size bytes. */
fc_err fc_st_writer_add(fc_st_writer *w, const char *name, fc_dtype dtype, int ndim, const int64_t *shape,
                        const void *data);
fc_err fc_st_writer_add_tensor(fc_st_writer *w, const char *name, const fc_tensor *t); /* CPU tensors */
fc_err fc_st_writer_meta(fc_st_writer *w, const char *key, const char *value);
fc_err fc_st_writer_write(fc_st_writer *w, const char *path);
void fc_st_writer_free(fc_st_writer *w);

#endif
