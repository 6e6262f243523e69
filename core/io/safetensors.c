/* safetensors.c: the reader of one safetensors file (mmap, zero copy) and its header validation.
 *
 * Not here: sharded checkpoints (safetensors_index.c) and the writer (safetensors_write.c).
 * The checks follow the Rust `safetensors` crate (bounded header, UTF-8, JSON, known dtypes, sizes that
 * match their byte ranges) with two deliberate differences: we bound the rank (8) and the integers
 * (2^53, what a JSON double holds exactly), and we do not require the tensors to cover the data area
 * without gaps, only that they do not overlap.
 */
#include "core/io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/mem.h"

#define ST_MAX_RANK 8
#define ST_MAX_INT ((double)((uint64_t)1 << 53)) /* largest integer a JSON double carries exactly */

static const struct {
    const char *name;
    size_t size;
} st_dtypes[] = {
    [FC_ST_F64] = {"F64", 8},         [FC_ST_F32] = {"F32", 4},   [FC_ST_F16] = {"F16", 2},
    [FC_ST_BF16] = {"BF16", 2},       [FC_ST_I64] = {"I64", 8},   [FC_ST_I32] = {"I32", 4},
    [FC_ST_I16] = {"I16", 2},         [FC_ST_I8] = {"I8", 1},     [FC_ST_U8] = {"U8", 1},
    [FC_ST_BOOL] = {"BOOL", 1},       [FC_ST_F8_E4M3] = {"F8_E4M3", 1}, [FC_ST_F8_E5M2] = {"F8_E5M2", 1},
    [FC_ST_U16] = {"U16", 2},         [FC_ST_U32] = {"U32", 4},   [FC_ST_U64] = {"U64", 8},
};
_Static_assert(sizeof(st_dtypes) / sizeof(st_dtypes[0]) == FC_ST_DTYPE_COUNT, "st_dtypes out of sync with fc_st_dtype");

const char *fc_st_dtype_name(fc_st_dtype t) { return (unsigned)t < FC_ST_DTYPE_COUNT ? st_dtypes[t].name : "?"; }

size_t fc_st_dtype_size(fc_st_dtype t) { return (unsigned)t < FC_ST_DTYPE_COUNT ? st_dtypes[t].size : 0; }

static bool st_dtype_parse(const char *s, fc_st_dtype *out) {
    for (int i = 0; i < FC_ST_DTYPE_COUNT; i++)
        if (!strcmp(s, st_dtypes[i].name)) {
            *out = (fc_st_dtype)i;
            return true;
        }
    return false;
}

size_t fc_st_utf8_check(const void *s, size_t n) {
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        /* headers are nearly all ASCII: skip 8 such bytes at a time */
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ull))) i += 8;
        if (i >= n) break;
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c == 0xe0) len = 3, lo = 0xa0;                 /* no overlong 3-byte forms */
        else if (c == 0xed) len = 3, hi = 0x9f;                 /* no UTF-16 surrogates */
        else if (c >= 0xe1 && c <= 0xef) len = 3;
        else if (c == 0xf0) len = 4, lo = 0x90;                 /* no overlong 4-byte forms */
        else if (c >= 0xf1 && c <= 0xf3) len = 4;
        else if (c == 0xf4) len = 4, hi = 0x8f;                 /* nothing above U+10FFFF */
        else return i;
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80) return i;
        i += len;
    }
    return n;
}

/* ---- header validation ---- */

/* Reads a JSON number that must be an integer in [0, 2^53]; `field` and `index` name it in messages
 * ("shape[1]"). The message is formatted only on failure: this runs for every number of every header. */
static fc_err st_get_uint(const cJSON *v, const char *file, const char *tensor, const char *field, int index,
                          uint64_t *out) {
    double d = v->valuedouble;
    if (cJSON_IsNumber(v) && d >= 0 && d <= ST_MAX_INT && d == (double)(uint64_t)d) {
        *out = (uint64_t)d;
        return FC_OK;
    }
    char what[48];
    snprintf(what, sizeof what, "%s[%d]", field, index);
    if (!cJSON_IsNumber(v))
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': %s is not a number", file, tensor, what);
    if (d < 0)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': %s is negative (%.0f)", file, tensor, what, d);
    if (!(d <= ST_MAX_INT))
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': %s is too large (%g > 2^53)", file, tensor, what, d);
    return fc_err_set(FC_EFORMAT, "%s: tensor '%s': %s is not an integer (%g)", file, tensor, what, d);
}

/* Fills e from one header entry and checks that shape x dtype size equals the byte range. */
static fc_err st_parse_entry(fc_st_entry *e, const cJSON *item, const char *file) {
    const char *name = item->string;
    if (!cJSON_IsObject(item)) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': entry is not a JSON object", file, name);
    const cJSON *dt = NULL, *sh = NULL, *off = NULL; /* the first of each, as a lookup by key would give */
    for (const cJSON *c = item->child; c; c = c->next) {
        if (!dt && !strcmp(c->string, "dtype")) dt = c;
        else if (!sh && !strcmp(c->string, "shape")) sh = c;
        else if (!off && !strcmp(c->string, "data_offsets")) off = c;
    }
    if (!dt) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': missing 'dtype'", file, name);
    if (!cJSON_IsString(dt)) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': dtype is not a string", file, name);
    if (!st_dtype_parse(dt->valuestring, &e->st_dtype))
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': unknown dtype '%.32s'", file, name, dt->valuestring);
    if (!sh) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': missing 'shape'", file, name);
    if (!cJSON_IsArray(sh)) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': shape is not an array", file, name);
    int rank = cJSON_GetArraySize(sh);
    if (rank > ST_MAX_RANK)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': shape has %d dims, more than %d", file, name, rank, ST_MAX_RANK);
    e->ndim = rank;
    /* bytes is accumulated as dtype size x dims in order, the order fc_tensor_view multiplies in, so a
     * shape accepted here can never overflow there (even [2^62, 0], whose total is 0) */
    uint64_t bytes = fc_st_dtype_size(e->st_dtype);
    bool overflow = false;
    int k = 0;
    for (const cJSON *d = sh->child; d; d = d->next, k++) {
        uint64_t v;
        FC_TRY(st_get_uint(d, file, name, "shape", k, &v));
        e->shape[k] = (int64_t)v;
        if (v && bytes > UINT64_MAX / v) overflow = true;
        else bytes *= v;
    }
    if (!off) return fc_err_set(FC_EFORMAT, "%s: tensor '%s': missing 'data_offsets'", file, name);
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': data_offsets is not an array of 2 integers", file, name);
    FC_TRY(st_get_uint(off->child, file, name, "data_offsets", 0, &e->begin));
    FC_TRY(st_get_uint(off->child->next, file, name, "data_offsets", 1, &e->end));
    if (e->begin > e->end)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': data_offsets [%llu,%llu] begin after end", file, name,
                          (unsigned long long)e->begin, (unsigned long long)e->end);
    if (!overflow && bytes == e->end - e->begin) return FC_OK;
    char shp[160];
    fc_shape_str(shp, sizeof shp, e->ndim, e->shape);
    if (overflow)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': shape %s x %s overflows 64 bits", file, name, shp,
                          fc_st_dtype_name(e->st_dtype));
    if (bytes != e->end - e->begin)
        return fc_err_set(FC_EFORMAT, "%s: tensor '%s': shape %s x %s = %llu bytes but data_offsets span %llu", file,
                          name, shp, fc_st_dtype_name(e->st_dtype), (unsigned long long)bytes,
                          (unsigned long long)(e->end - e->begin));
    return FC_OK;
}

static int st_cmp_name(const void *a, const void *b) {
    return strcmp(((const fc_st_entry *)a)->name, ((const fc_st_entry *)b)->name);
}

static int st_cmp_begin(const void *a, const void *b) {
    const fc_st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Names unique, ranges inside the data area, none overlapping (empty ranges overlap nothing). Leaves the
 * entries sorted by name. */
static fc_err st_check_layout(fc_st_file *f, uint64_t data_len) {
    for (int i = 0; i < f->n_entries; i++) {
        const fc_st_entry *e = &f->entries[i];
        if (e->end > data_len)
            return fc_err_set(FC_EFORMAT,
                              "%s: tensor '%s': data_offsets [%llu,%llu] run past the data area of %llu bytes "
                              "(file %zu bytes, header %llu; truncated file?)",
                              f->path, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                              (unsigned long long)data_len, f->map_size, (unsigned long long)f->header_len);
    }
    if (f->n_entries > 1) qsort(f->entries, (size_t)f->n_entries, sizeof *f->entries, st_cmp_name);
    for (int i = 1; i < f->n_entries; i++)
        if (!strcmp(f->entries[i - 1].name, f->entries[i].name))
            return fc_err_set(FC_EFORMAT, "%s: tensor '%s' appears twice in the header", f->path, f->entries[i].name);
    if (f->n_entries > 1) qsort(f->entries, (size_t)f->n_entries, sizeof *f->entries, st_cmp_begin);
    const fc_st_entry *last = NULL; /* the non-empty range reaching furthest so far */
    for (int i = 0; i < f->n_entries; i++) {
        const fc_st_entry *e = &f->entries[i];
        if (e->begin == e->end) continue;
        if (last && e->begin < last->end)
            return fc_err_set(FC_EFORMAT, "%s: tensors '%s' [%llu,%llu] and '%s' [%llu,%llu] overlap", f->path,
                              last->name, (unsigned long long)last->begin, (unsigned long long)last->end, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end);
        if (!last || e->end > last->end) last = e;
    }
    if (f->n_entries > 1) qsort(f->entries, (size_t)f->n_entries, sizeof *f->entries, st_cmp_name);
    for (int i = 0; i < f->n_entries; i++) f->entries[i].data = f->data + f->entries[i].begin;
    return FC_OK;
}

static fc_err st_parse_meta(fc_st_file *f, const cJSON *meta) {
    if (!cJSON_IsObject(meta)) return fc_err_set(FC_EFORMAT, "%s: __metadata__ is not a JSON object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = fc_calloc((size_t)n + 1, sizeof(char *), "safetensors metadata");
    f->meta_vals = fc_calloc((size_t)n + 1, sizeof(char *), "safetensors metadata");
    if (!f->meta_keys || !f->meta_vals) return FC_ENOMEM;
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return fc_err_set(FC_EFORMAT, "%s: __metadata__ '%s': value is not a string", f->path, m->string);
        f->meta_keys[f->n_meta] = fc_strdup(m->string);
        f->meta_vals[f->n_meta] = fc_strdup(m->valuestring);
        if (!f->meta_keys[f->n_meta] || !f->meta_vals[f->n_meta]) return FC_ENOMEM;
        f->n_meta++;
    }
    return FC_OK;
}

/* Parses and validates the header of the bytes already at f->map / f->map_size. */
static fc_err st_parse(fc_st_file *f) {
    const unsigned char *p = f->map;
    if (f->map_size == 0) return fc_err_set(FC_EFORMAT, "%s: empty file (0 bytes)", f->path);
    if (f->map_size < 8)
        return fc_err_set(FC_EFORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", f->path,
                          f->map_size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    f->header_len = n;
    if (n > FC_ST_MAX_HEADER)
        return fc_err_set(FC_EFORMAT, "%s: header length %llu exceeds the limit of %llu bytes", f->path,
                          (unsigned long long)n, (unsigned long long)FC_ST_MAX_HEADER);
    if (n > f->map_size - 8)
        return fc_err_set(FC_EFORMAT, "%s: header length %llu > file size %zu - 8 (truncated file?)", f->path,
                          (unsigned long long)n, f->map_size);
    if (n < 2) return fc_err_set(FC_EFORMAT, "%s: header length %llu is too short for a JSON object", f->path,
                                 (unsigned long long)n);
    const char *hdr = (const char *)p + 8;
    size_t bad = fc_st_utf8_check(hdr, n);
    if (bad < n)
        return fc_err_set(FC_EFORMAT, "%s: header is not valid UTF-8 at byte offset %zu", f->path, bad + 8);
    if (memchr(hdr, 0, n))
        return fc_err_set(FC_EFORMAT, "%s: header holds a NUL byte at byte offset %zu", f->path,
                          (size_t)((const char *)memchr(hdr, 0, n) - hdr) + 8);
    f->data = p + 8 + n;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, n, &end, false);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0;
        return fc_err_set(FC_EFORMAT, "%s: header is not valid JSON (error near byte offset %zu)", f->path, at + 8);
    }
    fc_err e = FC_OK;
    for (const char *q = end; q < hdr + n; q++) /* the Python writer pads with spaces; JSON allows whitespace */
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            e = fc_err_set(FC_EFORMAT, "%s: header has trailing bytes after the JSON at byte offset %zu", f->path,
                           (size_t)(q - hdr) + 8);
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        e = fc_err_set(FC_EFORMAT, "%s: header is not a JSON object", f->path);
        goto done;
    }
    int n_items = cJSON_GetArraySize(root);
    f->entries = fc_calloc((size_t)n_items + 1, sizeof *f->entries, "safetensors entries");
    if (!f->entries) {
        e = FC_ENOMEM;
        goto done;
    }
    bool seen_meta = false;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) {
            if (seen_meta) {
                e = fc_err_set(FC_EFORMAT, "%s: __metadata__ appears twice in the header", f->path);
                goto done;
            }
            seen_meta = true;
            if ((e = st_parse_meta(f, it)) != FC_OK) goto done;
            continue;
        }
        fc_st_entry *en = &f->entries[f->n_entries];
        if (!(en->name = fc_strdup(it->string))) {
            e = FC_ENOMEM;
            goto done;
        }
        f->n_entries++;
        if ((e = st_parse_entry(en, it, f->path)) != FC_OK) goto done;
    }
    e = st_check_layout(f, f->map_size - 8 - n);
done:
    cJSON_Delete(root);
    return e;
}

/* ---- open / close ---- */

fc_err fc_st_open_memory(fc_st_file *f, const char *name, const void *buf, size_t size) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!(f->path = fc_strdup(name))) return FC_ENOMEM;
    f->map = (void *)buf; /* not owned, never written */
    f->map_size = size;
    fc_err e = st_parse(f);
    if (e != FC_OK) fc_st_close(f);
    return e;
}

fc_err fc_st_open(fc_st_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    fc_err e = FC_OK;
    if (!(f->path = fc_strdup(path))) return FC_ENOMEM;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        e = fc_err_set(errno == ENOENT ? FC_ENOTFOUND : FC_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        e = fc_err_set(FC_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        e = fc_err_set(FC_EIO, "%s: not a regular file%s", path, S_ISDIR(st.st_mode) ? " (a directory)" : "");
        goto fail;
    }
    f->map_size = (size_t)st.st_size;
    if (f->map_size >= 8) {
        /* MAP_PRIVATE + PROT_READ: pages come from the page cache, nothing is copied until touched */
        void *m = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (m == MAP_FAILED) {
            e = fc_err_set(FC_EIO, "%s: mmap of %zu bytes failed: %s", path, f->map_size, strerror(errno));
            goto fail;
        }
        f->map = m;
        f->owns_map = true;
    }
    if ((e = st_parse(f)) != FC_OK) goto fail;
    return FC_OK;
fail:
    fc_st_close(f);
    return e;
}

void fc_st_close(fc_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n_entries; i++) free(f->entries[i].name);
    free(f->entries);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    /* a failed parse may leave one half-filled pair past n_meta */
    if (f->meta_keys) free(f->meta_keys[f->n_meta]);
    if (f->meta_vals) free(f->meta_vals[f->n_meta]);
    free(f->meta_keys);
    free(f->meta_vals);
    if (f->owns_map && f->map) munmap(f->map, f->map_size);
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

const fc_st_entry *fc_st_find(const fc_st_file *f, const char *name) {
    if (!f->n_entries) return NULL;
    fc_st_entry key = {.name = (char *)name};
    return bsearch(&key, f->entries, (size_t)f->n_entries, sizeof *f->entries, st_cmp_name);
}

const char *fc_st_meta(const fc_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
    return NULL;
}

fc_err fc_st_tensor(const fc_st_entry *e, fc_tensor *out) {
    fc_dtype dt;
    switch (e->st_dtype) {
    case FC_ST_F32: dt = FC_DTYPE_F32; break;
    case FC_ST_F16: dt = FC_DTYPE_F16; break;
    case FC_ST_BF16: dt = FC_DTYPE_BF16; break;
    case FC_ST_I32: dt = FC_DTYPE_I32; break;
    default:
        return fc_err_set(FC_EUNSUPPORTED, "tensor '%s': dtype %s is not one we compute with (F32, F16, BF16, I32)",
                          e->name, fc_st_dtype_name(e->st_dtype));
    }
    if (e->ndim > FC_MAX_DIMS)
        return fc_err_set(FC_EUNSUPPORTED, "tensor '%s': %d dims, more than the %d we compute with", e->name, e->ndim,
                          FC_MAX_DIMS);
    if ((uintptr_t)e->data % fc_dtype_size(dt))
        return fc_err_set(FC_EUNSUPPORTED, "tensor '%s': data at offset %llu is not aligned to its %zu-byte elements",
                          e->name, (unsigned long long)e->begin, fc_dtype_size(dt));
    /* the view is non-const by type only: the mapping is read-only */
    *out = fc_tensor_view((void *)e->data, dt, FC_DEVICE_CPU, e->ndim, e->shape);
    return FC_OK;
}
