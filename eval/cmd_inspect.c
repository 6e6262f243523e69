/* cmd_inspect.c: `fc-eval inspect PATH`: what a checkpoint holds (config, tensors, metadata, totals).
 *
 * PATH is a .safetensors file, a model.safetensors.index.json, or a model folder. A folder whose index
 * names shards that are all absent (the configs-and-tokenizers-only folders in ../shared/data/models)
 * is listed from the index alone; that is not an error here, though opening such a checkpoint to run it
 * is. An index whose shards are partly present is a broken checkpoint and is reported as one.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "eval/commands.h"

typedef struct {
    const char *filter; /* substring a listed tensor name must contain; NULL lists all */
    bool json;
} inspect_opts;

typedef struct {
    uint64_t tensors, params, bytes;
} tally;

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The folder whose config describes this checkpoint: PATH itself, or the folder of an index json. NULL
 * for a lone .safetensors file (a compressor checkpoint carries its own metadata). */
static char *config_dir(const char *path, bool is_index) {
    if (is_dir(path)) return fc_strdup(path);
    if (!is_index) return NULL;
    const char *s = strrchr(path, '/');
    if (!s) return fc_strdup(".");
    char *d = fc_strdup(path);
    if (d) d[s == path ? 1 : s - path] = '\0';
    return d;
}

static fc_err print_config(const char *dir, bool json, cJSON *out) {
    static const char *const names[] = {"config.json", "llm_config.json"};
    char file[4096] = "";
    for (int i = 0; i < 2 && !file[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (is_file(p)) snprintf(file, sizeof file, "%s", p);
    }
    if (!file[0]) return FC_OK;
    fc_model_config cfg;
    FC_TRY(fc_hfconfig_load(&cfg, dir));
    if (json) {
        cJSON_AddStringToObject(out, "config", file);
        cJSON_AddStringToObject(out, "arch", fc_arch_name(cfg.arch));
    } else {
        printf("config: %s\n", file);
        fc_hfconfig_print(&cfg, stdout);
        printf("\n");
    }
    return FC_OK;
}

static void tally_add(tally *t, uint64_t params, uint64_t bytes) {
    t->tensors++;
    t->params += params;
    t->bytes += bytes;
}

static cJSON *tally_json(const tally *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tensors", (double)t->tensors);
    cJSON_AddNumberToObject(o, "parameters", (double)t->params);
    cJSON_AddNumberToObject(o, "bytes", (double)t->bytes);
    return o;
}

static bool listed(const inspect_opts *o, const char *name) { return !o->filter || strstr(name, o->filter); }

/* A checkpoint whose shards (or single file) are all present. */
static void list_model(const fc_st_model *m, const inspect_opts *o, cJSON *out) {
    tally all = {0}, by[FC_ST_DTYPE_COUNT] = {{0}};
    size_t w = 4;
    for (int i = 0; i < m->n_entries; i++)
        if (listed(o, m->entries[i]->name) && strlen(m->entries[i]->name) > w) w = strlen(m->entries[i]->name);
    if (w > 72) w = 72;
    cJSON *tensors = o->json ? cJSON_AddArrayToObject(out, "tensors") : NULL;
    if (!o->json) {
        printf("checkpoint: %s (%d file%s)\n", m->index_path ? m->index_path : m->files[0].path, m->n_files,
               m->n_files == 1 ? "" : "s");
        printf("tensors:\n  %-*s %-7s %-20s %14s  %s\n", (int)w, "name", "dtype", "shape", "bytes", "shard");
    }
    for (int i = 0; i < m->n_entries; i++) {
        const fc_st_entry *e = m->entries[i];
        if (!listed(o, e->name)) continue;
        uint64_t bytes = e->end - e->begin, params = bytes / fc_st_dtype_size(e->st_dtype);
        tally_add(&all, params, bytes);
        tally_add(&by[e->st_dtype], params, bytes);
        const char *shard = base_name(m->files[e->shard].path);
        if (o->json) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", e->name);
            cJSON_AddStringToObject(t, "dtype", fc_st_dtype_name(e->st_dtype));
            cJSON *sh = cJSON_AddArrayToObject(t, "shape");
            for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
            cJSON_AddNumberToObject(t, "bytes", (double)bytes);
            cJSON_AddStringToObject(t, "shard", shard);
            cJSON_AddItemToArray(tensors, t);
        } else {
            char shp[160];
            printf("  %-*s %-7s %-20s %14llu  %s\n", (int)w, e->name, fc_st_dtype_name(e->st_dtype),
                   fc_shape_str(shp, sizeof shp, e->ndim, e->shape), (unsigned long long)bytes, shard);
        }
    }
    cJSON *meta = o->json ? cJSON_AddObjectToObject(out, "metadata") : NULL;
    for (int f = 0; f < m->n_files; f++) {
        const fc_st_file *sf = &m->files[f];
        if (!sf->n_meta) continue;
        if (!o->json) printf("metadata (%s):\n", base_name(sf->path));
        cJSON *fm = o->json ? cJSON_AddObjectToObject(meta, base_name(sf->path)) : NULL;
        for (int k = 0; k < sf->n_meta; k++) {
            if (o->json) cJSON_AddStringToObject(fm, sf->meta_keys[k], sf->meta_vals[k]);
            else printf("  %s: %s\n", sf->meta_keys[k], sf->meta_vals[k]);
        }
    }
    if (o->json) {
        cJSON *tot = tally_json(&all);
        cJSON *bd = cJSON_AddObjectToObject(tot, "by_dtype");
        for (int d = 0; d < FC_ST_DTYPE_COUNT; d++)
            if (by[d].tensors) cJSON_AddItemToObject(bd, fc_st_dtype_name((fc_st_dtype)d), tally_json(&by[d]));
        cJSON_AddItemToObject(out, "totals", tot);
        return;
    }
    printf("totals: %llu tensors, %llu parameters, %llu bytes%s\n", (unsigned long long)all.tensors,
           (unsigned long long)all.params, (unsigned long long)all.bytes, o->filter ? " (filtered)" : "");
    for (int d = 0; d < FC_ST_DTYPE_COUNT; d++)
        if (by[d].tensors)
            printf("  %-8s %llu tensors, %llu parameters, %llu bytes\n", fc_st_dtype_name((fc_st_dtype)d),
                   (unsigned long long)by[d].tensors, (unsigned long long)by[d].params,
                   (unsigned long long)by[d].bytes);
}

/* An index whose shards are all absent: names and the shard map only. */
static void list_index_only(const fc_st_index *ix, const inspect_opts *o, cJSON *out) {
    int *per_shard = calloc((size_t)ix->n_shards + 1, sizeof(int));
    size_t w = 4;
    for (int i = 0; i < ix->n_tensors; i++)
        if (listed(o, ix->names[i]) && strlen(ix->names[i]) > w) w = strlen(ix->names[i]);
    if (w > 72) w = 72;
    cJSON *tensors = o->json ? cJSON_AddArrayToObject(out, "tensors") : NULL;
    if (!o->json) {
        printf("checkpoint: %s (index only: the %d shard%s it names %s absent)\n", ix->path, ix->n_shards,
               ix->n_shards == 1 ? "" : "s", ix->n_shards == 1 ? "is" : "are");
        printf("tensors (dtypes and shapes live in the absent shards):\n  %-*s  %s\n", (int)w, "name", "shard");
    }
    uint64_t n = 0;
    for (int i = 0; i < ix->n_tensors; i++) {
        if (!listed(o, ix->names[i])) continue;
        n++;
        if (per_shard) per_shard[ix->shard_of[i]]++;
        const char *shard = ix->shards[ix->shard_of[i]];
        if (o->json) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", ix->names[i]);
            cJSON_AddStringToObject(t, "shard", shard);
            cJSON_AddItemToArray(tensors, t);
        } else {
            printf("  %-*s  %s\n", (int)w, ix->names[i], shard);
        }
    }
    cJSON *shards = o->json ? cJSON_AddArrayToObject(out, "shards") : NULL;
    if (!o->json) printf("shards:\n");
    for (int s = 0; s < ix->n_shards; s++) {
        if (o->json) {
            cJSON *sj = cJSON_CreateObject();
            cJSON_AddStringToObject(sj, "file", ix->shards[s]);
            cJSON_AddBoolToObject(sj, "present", false);
            cJSON_AddNumberToObject(sj, "tensors", per_shard ? per_shard[s] : 0);
            cJSON_AddItemToArray(shards, sj);
        } else {
            printf("  %s: %d tensors (absent)\n", ix->shards[s], per_shard ? per_shard[s] : 0);
        }
    }
    free(per_shard);
    if (o->json) {
        cJSON *tot = cJSON_AddObjectToObject(out, "totals");
        cJSON_AddNumberToObject(tot, "tensors", (double)n);
        cJSON_AddNumberToObject(tot, "index_total_size", (double)ix->total_size);
        return;
    }
    printf("totals: %llu tensors in the index%s; metadata.total_size %llu bytes\n", (unsigned long long)n,
           o->filter ? " (filtered)" : "", (unsigned long long)ix->total_size);
}

/* Lists `file` (resolved from PATH). An index whose shards are all absent is listed from the index. */
static fc_err inspect_checkpoint(const char *file, bool is_index, const inspect_opts *o, cJSON *out) {
    if (is_index) {
        fc_st_index ix;
        FC_TRY(fc_st_index_load(&ix, file));
        int present = 0;
        for (int s = 0; s < ix.n_shards; s++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", ix.dir, ix.shards[s]);
            present += is_file(p);
        }
        if (present == 0 && ix.n_shards > 0) {
            if (o->json) {
                cJSON_AddStringToObject(out, "checkpoint", file);
                cJSON_AddBoolToObject(out, "shards_present", false);
            }
            list_index_only(&ix, o, out);
            fc_st_index_free(&ix);
            return FC_OK;
        }
        fc_st_index_free(&ix);
    }
    fc_st_model m;
    FC_TRY(fc_st_model_open(&m, file));
    if (o->json) {
        cJSON_AddStringToObject(out, "checkpoint", file);
        cJSON_AddBoolToObject(out, "shards_present", true);
        cJSON *shards = cJSON_AddArrayToObject(out, "shards");
        for (int f = 0; f < m.n_files; f++) {
            cJSON *sj = cJSON_CreateObject();
            cJSON_AddStringToObject(sj, "file", base_name(m.files[f].path));
            cJSON_AddBoolToObject(sj, "present", true);
            cJSON_AddNumberToObject(sj, "tensors", m.files[f].n_entries);
            cJSON_AddItemToArray(shards, sj);
        }
    }
    list_model(&m, o, out);
    fc_st_model_close(&m);
    return FC_OK;
}

static const fc_cli_option options[] = {
    {"--filter", "SUBSTR", 1, "list only tensors whose name contains SUBSTR (totals cover those)"},
    {"--json", NULL, 1, "machine-readable listing on stdout"},
    {0}};

static int cmd_inspect(const fc_cli_args *a) {
    inspect_opts o = {.filter = fc_cli_value(a, "--filter"), .json = fc_cli_flag(a, "--json")};
    if (a->n_args != 1) {
        fc_cli_error("inspect: PATH is missing (see fc-eval inspect --help)");
        return 2;
    }
    const char *path = a->args[0];
    char *file = NULL;
    bool is_index = false;
    fc_err e = fc_st_model_resolve(path, &file, &is_index);
    if (e != FC_OK) return fc_cli_fail(e);
    cJSON *out = o.json ? cJSON_CreateObject() : NULL;
    if (out) cJSON_AddStringToObject(out, "path", path);
    char *cdir = config_dir(path, is_index);
    if (cdir) e = print_config(cdir, o.json, out);
    free(cdir);
    if (e == FC_OK) e = inspect_checkpoint(file, is_index, &o, out);
    free(file);
    if (e == FC_OK && out) {
        char *s = cJSON_Print(out);
        if (s) printf("%s\n", s);
        else e = fc_err_set(FC_ENOMEM, "inspect: out of memory printing JSON");
        cJSON_free(s);
    }
    cJSON_Delete(out);
    if (e != FC_OK) {
        fflush(stdout);
        return fc_cli_fail(e);
    }
    return 0;
}

const fc_cli_command fc_cmd_inspect = {
    "inspect", cmd_inspect, "list a checkpoint: config, tensors, metadata, totals", "PATH [--filter SUBSTR] [--json]",
    "Lists a checkpoint: PATH is a .safetensors file, a model.safetensors.index.json, or a model\n"
    "folder. Shows the parsed config.json / llm_config.json when the folder has one, then every\n"
    "tensor (name, dtype, shape, bytes, shard), the __metadata__, and totals per dtype.",
    options, 1, NULL};
