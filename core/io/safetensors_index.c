/* safetensors_index.c: sharded checkpoints. Reads model.safetensors.index.json (which tensor lives in
 * which shard), opens every shard, and merges their tensors into one sorted table.
 *
 * Shards resolve relative to the index's folder, as transformers does; a shard name that is absolute or
 * has a ".." component is refused so that an index cannot make us map files outside its checkpoint.
 */
#include "core/io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/base/file.h"

#define ST_INDEX_MAX_BYTES ((size_t)64 << 20) /* real indexes are a few hundred KiB */

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return fc_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = fc_malloc(n + 1, "path");
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* A shard name must stay inside the index's folder. */
static bool shard_name_ok(const char *s) {
    if (!s[0] || s[0] == '/') return false;
    for (const char *c = s; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.') return false;
        c += n + (e ? 1 : 0);
    }
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    const char *name, *shard;
} name_shard;

static int cmp_name_shard(const void *a, const void *b) {
    return strcmp(((const name_shard *)a)->name, ((const name_shard *)b)->name);
}

static fc_err index_fill(fc_st_index *ix, const cJSON *root) {
    const char *p = ix->path;
    if (!cJSON_IsObject(root)) return fc_err_set(FC_EFORMAT, "%s: not a JSON object", p);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *ts = meta ? cJSON_GetObjectItemCaseSensitive(meta, "total_size") : NULL;
    if (ts && cJSON_IsNumber(ts) && ts->valuedouble >= 0 && ts->valuedouble < 1.8e19)
        ix->total_size = (uint64_t)ts->valuedouble;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!wm) return fc_err_set(FC_EFORMAT, "%s: no 'weight_map'", p);
    if (!cJSON_IsObject(wm)) return fc_err_set(FC_EFORMAT, "%s: 'weight_map' is not a JSON object", p);
    int n = cJSON_GetArraySize(wm);
    name_shard *pairs = fc_calloc((size_t)n + 1, sizeof *pairs, "index");
    ix->names = fc_calloc((size_t)n + 1, sizeof(char *), "index");
    ix->shard_of = fc_calloc((size_t)n + 1, sizeof(int), "index");
    ix->shards = fc_calloc((size_t)n + 1, sizeof(char *), "index");
    fc_err e = FC_OK;
    if (!pairs || !ix->names || !ix->shard_of || !ix->shards) {
        e = FC_ENOMEM;
        goto done;
    }
    int k = 0;
    for (const cJSON *it = wm->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !it->valuestring[0]) {
            e = fc_err_set(FC_EFORMAT, "%s: weight_map['%s'] is not a shard file name", p, it->string);
            goto done;
        }
        if (!shard_name_ok(it->valuestring)) {
            e = fc_err_set(FC_EFORMAT, "%s: weight_map['%s']: shard path '%s' escapes the checkpoint folder", p,
                           it->string, it->valuestring);
            goto done;
        }
        pairs[k] = (name_shard){it->string, it->valuestring};
    }
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_name_shard);
    for (int i = 1; i < n; i++)
        if (!strcmp(pairs[i - 1].name, pairs[i].name)) {
            e = fc_err_set(FC_EFORMAT, "%s: tensor '%s' appears twice in weight_map", p, pairs[i].name);
            goto done;
        }
    /* distinct shard names, sorted: collect all, sort, squeeze */
    for (int i = 0; i < n; i++) ix->shards[i] = (char *)pairs[i].shard;
    qsort(ix->shards, (size_t)n, sizeof(char *), cmp_str);
    int ns = 0;
    for (int i = 0; i < n; i++)
        if (!ns || strcmp(ix->shards[ns - 1], ix->shards[i])) ix->shards[ns++] = ix->shards[i];
    for (int i = 0; i < n; i++) ix->shards[i] = i < ns ? fc_strdup(ix->shards[i]) : NULL;
    ix->n_shards = ns;
    for (int i = 0; i < ns; i++)
        if (!ix->shards[i]) {
            e = FC_ENOMEM;
            goto done;
        }
    for (int i = 0; i < n; i++) {
        const char *sh = pairs[i].shard;
        char **hit = bsearch(&sh, ix->shards, (size_t)ns, sizeof(char *), cmp_str);
        FC_ASSERT(hit);
        ix->shard_of[i] = (int)(hit - ix->shards);
        if (!(ix->names[i] = fc_strdup(pairs[i].name))) {
            e = FC_ENOMEM;
            goto done;
        }
        ix->n_tensors = i + 1;
    }
done:
    free(pairs);
    return e;
}

fc_err fc_st_index_load(fc_st_index *ix, const char *path) {
    memset(ix, 0, sizeof *ix);
    char *buf = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    fc_err e;
    if (!(ix->path = fc_strdup(path)) || !(ix->dir = dir_of(path))) {
        e = FC_ENOMEM;
        goto fail;
    }
    if ((e = fc_file_read(path, ST_INDEX_MAX_BYTES, "an index", &buf, &len)) != FC_OK) goto fail;
    size_t bad = fc_st_utf8_check(buf, len);
    if (bad < len) {
        e = fc_err_set(FC_EFORMAT, "%s: not valid UTF-8 at byte offset %zu", path, bad);
        goto fail;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    if (!root) {
        e = fc_err_set(FC_EFORMAT, "%s: not valid JSON (error near byte offset %zu)", path,
                       end && end >= buf && end <= buf + len ? (size_t)(end - buf) : (size_t)0);
        goto fail;
    }
    if ((e = index_fill(ix, root)) != FC_OK) goto fail;
    cJSON_Delete(root);
    free(buf);
    return FC_OK;
fail:
    cJSON_Delete(root);
    free(buf);
    fc_st_index_free(ix);
    return e;
}

void fc_st_index_free(fc_st_index *ix) {
    if (!ix) return;
    if (ix->shards)
        for (int i = 0; i < ix->n_shards; i++) free(ix->shards[i]);
    if (ix->names)
        for (int i = 0; i < ix->n_tensors; i++) free(ix->names[i]);
    free(ix->shards);
    free(ix->names);
    free(ix->shard_of);
    free(ix->path);
    free(ix->dir);
    memset(ix, 0, sizeof *ix);
}

/* ---- the model: one file or every shard of an index ---- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

fc_err fc_st_model_resolve(const char *path, char **out, bool *is_index) {
    *out = NULL;
    *is_index = false;
    struct stat st;
    if (stat(path, &st) != 0)
        return fc_err_set(errno == ENOENT ? FC_ENOTFOUND : FC_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        static const char *const names[] = {"model.safetensors", "model.safetensors.index.json"};
        for (int i = 0; i < 2; i++) {
            char *p = fc_path_join(path, names[i]);
            if (!p) return FC_ENOMEM;
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                *out = p;
                *is_index = i == 1;
                return FC_OK;
            }
            free(p);
        }
        return fc_err_set(FC_ENOTFOUND, "%s: folder holds no model.safetensors or model.safetensors.index.json",
                          path);
    }
    *is_index = ends_with(path, ".json");
    *out = fc_strdup(path);
    return *out ? FC_OK : FC_ENOMEM;
}

static int cmp_entry_ptr(const void *a, const void *b) {
    return strcmp((*(const fc_st_entry *const *)a)->name, (*(const fc_st_entry *const *)b)->name);
}

/* Builds m->entries from the open files: every tensor once, sorted by name. `where` names the index (or
 * the file) in messages. */
static fc_err model_merge(fc_st_model *m, const char *where) {
    size_t total = 0;
    for (int i = 0; i < m->n_files; i++) total += (size_t)m->files[i].n_entries;
    m->entries = fc_calloc(total + 1, sizeof *m->entries, "checkpoint entries");
    if (!m->entries) return FC_ENOMEM;
    for (int i = 0; i < m->n_files; i++)
        for (int j = 0; j < m->files[i].n_entries; j++) {
            m->files[i].entries[j].shard = i;
            m->entries[m->n_entries++] = &m->files[i].entries[j];
            m->total_bytes += m->files[i].entries[j].end - m->files[i].entries[j].begin;
        }
    qsort(m->entries, (size_t)m->n_entries, sizeof *m->entries, cmp_entry_ptr);
    for (int i = 1; i < m->n_entries; i++)
        if (!strcmp(m->entries[i - 1]->name, m->entries[i]->name))
            return fc_err_set(FC_EFORMAT, "%s: tensor '%s' is in two shards, %s and %s", where, m->entries[i]->name,
                              m->files[m->entries[i - 1]->shard].path, m->files[m->entries[i]->shard].path);
    return FC_OK;
}

static fc_err model_open_index(fc_st_model *m, const char *index_path) {
    fc_st_index ix;
    FC_TRY(fc_st_index_load(&ix, index_path));
    fc_err e = FC_OK;
    if (!(m->index_path = fc_strdup(index_path)) || !(m->dir = fc_strdup(ix.dir))) {
        e = FC_ENOMEM;
        goto done;
    }
    m->files = fc_calloc((size_t)ix.n_shards + 1, sizeof *m->files, "checkpoint shards");
    if (!m->files) {
        e = FC_ENOMEM;
        goto done;
    }
    for (int i = 0; i < ix.n_shards; i++) {
        char *sp = fc_path_join(ix.dir, ix.shards[i]);
        if (!sp) {
            e = FC_ENOMEM;
            goto done;
        }
        e = fc_st_open(&m->files[i], sp);
        m->n_files = i + 1;
        if (e == FC_ENOTFOUND)
            e = fc_err_set(FC_ENOTFOUND, "%s: shard '%s' is missing (%s)", index_path, ix.shards[i], sp);
        else if (e != FC_OK)
            e = fc_err_prefix(e, "%s", index_path);
        free(sp);
        if (e != FC_OK) goto done;
    }
    for (int i = 0; i < ix.n_tensors; i++)
        if (!fc_st_find(&m->files[ix.shard_of[i]], ix.names[i])) {
            e = fc_err_set(FC_EFORMAT, "%s: tensor '%s' is listed in shard '%s' but absent from it", index_path,
                           ix.names[i], ix.shards[ix.shard_of[i]]);
            goto done;
        }
    e = model_merge(m, index_path);
done:
    fc_st_index_free(&ix);
    return e;
}

fc_err fc_st_model_open(fc_st_model *m, const char *path) {
    memset(m, 0, sizeof *m);
    char *resolved;
    bool is_index;
    FC_TRY(fc_st_model_resolve(path, &resolved, &is_index));
    fc_err e;
    if (is_index) {
        e = model_open_index(m, resolved);
    } else if (!(m->dir = dir_of(resolved)) || !(m->files = fc_calloc(1, sizeof *m->files, "checkpoint"))) {
        e = FC_ENOMEM;
    } else {
        e = fc_st_open(&m->files[0], resolved);
        m->n_files = 1;
        if (e == FC_OK) e = model_merge(m, resolved);
    }
    free(resolved);
    if (e != FC_OK) fc_st_model_close(m);
    return e;
}

void fc_st_model_close(fc_st_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_files; i++) fc_st_close(&m->files[i]);
    free(m->files);
    free(m->entries);
    free(m->dir);
    free(m->index_path);
    memset(m, 0, sizeof *m);
}

const fc_st_entry *fc_st_model_find(const fc_st_model *m, const char *name) {
    if (!m->n_entries) return NULL;
    fc_st_entry key = {.name = (char *)name};
    const fc_st_entry *kp = &key;
    const fc_st_entry *const *hit =
        bsearch(&kp, m->entries, (size_t)m->n_entries, sizeof *m->entries, cmp_entry_ptr);
    return hit ? *hit : NULL;
}
