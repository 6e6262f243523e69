/* safetensors_write.c: the safetensors writer, byte-compatible with the Python `safetensors` library.
 *
 * The Python library (Rust core, safetensors 0.4+) orders tensors by dtype, largest enum value first
 * (F32 > I32 > BF16 > F16 among ours), then by name, packs their data in that order, writes a compact JSON
 * header in the same order with __metadata__ first, and pads the header with spaces to a multiple of 8
 * so the data area starts 8-byte aligned. Doing the same keeps every tensor aligned to its element size
 * and lets the tests compare our output with the library's byte for byte.
 */
#include "core/io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/mem.h"

#define ST_WRITE_MAX_RANK 8

typedef struct {
    char *name;
    fc_dtype dtype;
    int ndim;
    int64_t shape[ST_WRITE_MAX_RANK];
    const void *data;
    uint64_t nbytes;
    uint64_t begin;
} st_item;

struct fc_st_writer {
    st_item *items;
    int n, cap;
    char **keys, **vals;
    int n_meta, cap_meta;
};

/* The library's dtype order for ours (higher is written first). */
static int dtype_rank(fc_dtype t) {
    switch (t) {
    case FC_DTYPE_F32: return 3;
    case FC_DTYPE_I32: return 2;
    case FC_DTYPE_BF16: return 1;
    default: return 0; /* F16 */
    }
}

static const char *st_name(fc_dtype t) {
    switch (t) {
    case FC_DTYPE_F32: return "F32";
    case FC_DTYPE_I32: return "I32";
    case FC_DTYPE_BF16: return "BF16";
    default: return "F16";
    }
}

fc_err fc_st_writer_create(fc_st_writer **w) {
    *w = fc_calloc(1, sizeof **w, "safetensors writer");
    return *w ? FC_OK : FC_ENOMEM;
}

void fc_st_writer_free(fc_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->items[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->keys[i]);
        free(w->vals[i]);
    }
    free(w->items);
    free(w->keys);
    free(w->vals);
    free(w);
}

fc_err fc_st_writer_add(fc_st_writer *w, const char *name, fc_dtype dtype, int ndim, const int64_t *shape,
                        const void *data) {
    if (!name || !name[0]) return fc_err_set(FC_EINVAL, "safetensors writer: empty tensor name");
    if (!strcmp(name, "__metadata__"))
        return fc_err_set(FC_EINVAL, "safetensors writer: '__metadata__' is reserved, not a tensor name");
    if ((unsigned)dtype >= FC_DTYPE_COUNT)
        return fc_err_set(FC_EUNSUPPORTED, "safetensors writer: tensor '%s': unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > ST_WRITE_MAX_RANK)
        return fc_err_set(FC_EINVAL, "safetensors writer: tensor '%s': ndim %d outside 0..%d", name, ndim,
                          ST_WRITE_MAX_RANK);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->items[i].name, name))
            return fc_err_set(FC_EINVAL, "safetensors writer: tensor '%s' added twice", name);
    st_item it = {.dtype = dtype, .ndim = ndim, .data = data};
    size_t bytes = fc_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return fc_err_set(FC_EINVAL, "safetensors writer: tensor '%s': negative dim %lld", name,
                              (long long)shape[i]);
        if (!fc_mul_size(bytes, (size_t)shape[i], &bytes))
            return fc_err_set(FC_EINVAL, "safetensors writer: tensor '%s': size overflows", name);
        it.shape[i] = shape[i];
    }
    it.nbytes = bytes;
    if (bytes && !data) return fc_err_set(FC_EINVAL, "safetensors writer: tensor '%s': NULL data", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_item *p = fc_realloc(w->items, (size_t)cap * sizeof *p, "safetensors writer");
        if (!p) return FC_ENOMEM;
        w->items = p;
        w->cap = cap;
    }
    if (!(it.name = fc_strdup(name))) return FC_ENOMEM;
    w->items[w->n++] = it;
    return FC_OK;
}

fc_err fc_st_writer_add_tensor(fc_st_writer *w, const char *name, const fc_tensor *t) {
    if (t->device != FC_DEVICE_CPU)
        return fc_err_set(FC_EUNSUPPORTED, "safetensors writer: tensor '%s' is on %s; copy it to the CPU first",
                          name, fc_device_name(t->device));
    return fc_st_writer_add(w, name, t->dtype, t->ndim, t->shape, t->data);
}

fc_err fc_st_writer_meta(fc_st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->keys[i], key)) {
            char *v = fc_strdup(value);
            if (!v) return FC_ENOMEM;
            free(w->vals[i]);
            w->vals[i] = v;
            return FC_OK;
        }
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **k = fc_realloc(w->keys, (size_t)cap * sizeof *k, "safetensors writer");
        if (!k) return FC_ENOMEM;
        w->keys = k;
        char **v = fc_realloc(w->vals, (size_t)cap * sizeof *v, "safetensors writer");
        if (!v) return FC_ENOMEM;
        w->vals = v;
        w->cap_meta = cap;
    }
    char *k = fc_strdup(key), *v = fc_strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return FC_ENOMEM;
    }
    w->keys[w->n_meta] = k;
    w->vals[w->n_meta++] = v;
    return FC_OK;
}

/* ---- header text ---- */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = fc_realloc(b->s, cap, "safetensors header");
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* A JSON string as serde_json writes it: short escapes for " \ \b \f \n \r \t, \u00XX for the other
 * control characters, everything else (UTF-8 included) as is. */
static void sb_json_string(strbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': sb_str(b, "\\\""); break;
        case '\\': sb_str(b, "\\\\"); break;
        case '\b': sb_str(b, "\\b"); break;
        case '\f': sb_str(b, "\\f"); break;
        case '\n': sb_str(b, "\\n"); break;
        case '\r': sb_str(b, "\\r"); break;
        case '\t': sb_str(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                sb_str(b, esc);
            } else {
                sb_put(b, (const char *)p, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

static int cmp_item(const void *a, const void *b) {
    const st_item *x = a, *y = b;
    int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
    if (rx != ry) return ry - rx;
    return strcmp(x->name, y->name);
}

static int cmp_meta_idx(const void *a, const void *b, void *ctx) {
    char **keys = ctx;
    return strcmp(keys[*(const int *)a], keys[*(const int *)b]);
}

/* Orders the items, assigns their offsets and builds the padded header. */
static fc_err st_build_header(fc_st_writer *w, strbuf *b) {
    if (w->n > 1) qsort(w->items, (size_t)w->n, sizeof *w->items, cmp_item);
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        w->items[i].begin = off;
        off += w->items[i].nbytes;
    }
    sb_put(b, "{", 1);
    bool first = true;
    if (w->n_meta) {
        int *order = fc_calloc((size_t)w->n_meta, sizeof *order, "safetensors writer");
        if (!order) return FC_ENOMEM;
        for (int i = 0; i < w->n_meta; i++) order[i] = i;
        qsort_r(order, (size_t)w->n_meta, sizeof *order, cmp_meta_idx, w->keys);
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i) sb_put(b, ",", 1);
            sb_json_string(b, w->keys[order[i]]);
            sb_put(b, ":", 1);
            sb_json_string(b, w->vals[order[i]]);
        }
        sb_put(b, "}", 1);
        free(order);
        first = false;
    }
    for (int i = 0; i < w->n; i++) {
        const st_item *it = &w->items[i];
        char num[64];
        if (!first) sb_put(b, ",", 1);
        first = false;
        sb_json_string(b, it->name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, st_name(it->dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < it->ndim; d++) {
            snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)it->shape[d]);
            sb_str(b, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)it->begin,
                 (unsigned long long)(it->begin + it->nbytes));
        sb_str(b, num);
    }
    sb_put(b, "}", 1);
    while (!b->oom && b->len % 8) sb_put(b, " ", 1);
    if (b->oom) return FC_ENOMEM;
    if (b->len > FC_ST_MAX_HEADER)
        return fc_err_set(FC_EINVAL, "safetensors writer: header of %zu bytes exceeds the %llu-byte limit", b->len,
                          (unsigned long long)FC_ST_MAX_HEADER);
    return FC_OK;
}

static fc_err write_all(int fd, const void *p, uint64_t n, const char *path) {
    const unsigned char *c = p;
    while (n) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)n;
        ssize_t k = write(fd, c, chunk);
        if (k < 0) {
            if (errno == EINTR) continue;
            return fc_err_set(FC_EIO, "%s: write failed: %s", path, strerror(errno));
        }
        c += k;
        n -= (uint64_t)k;
    }
    return FC_OK;
}

/* Makes the rename itself durable; best effort, as some filesystems refuse fsync on a directory. */
static void fsync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

fc_err fc_st_writer_write(fc_st_writer *w, const char *path) {
    strbuf hb = {0};
    fc_err e = st_build_header(w, &hb);
    if (e != FC_OK) {
        free(hb.s);
        return e;
    }
    size_t tl = strlen(path) + 32;
    char *tmp = fc_malloc(tl, "path");
    if (!tmp) {
        free(hb.s);
        return FC_ENOMEM;
    }
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = fc_err_set(FC_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hb.len >> (8 * i));
    e = write_all(fd, len8, 8, tmp);
    if (e == FC_OK) e = write_all(fd, hb.s, hb.len, tmp);
    for (int i = 0; i < w->n && e == FC_OK; i++) e = write_all(fd, w->items[i].data, w->items[i].nbytes, tmp);
    if (e == FC_OK && fsync(fd) != 0) e = fc_err_set(FC_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && e == FC_OK) e = fc_err_set(FC_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (e == FC_OK && rename(tmp, path) != 0)
        e = fc_err_set(FC_EIO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (e != FC_OK) unlink(tmp);
    else fsync_parent(path);
done:
    free(tmp);
    free(hb.s);
    return e;
}
