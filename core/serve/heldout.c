/* heldout.c: evaluated ids against a checkpoint's train_ids / val_ids (heldout.h). */
#include "core/serve/heldout.h"
#include "data/dataset.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/io/safetensors.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Parses a metadata value as a JSON array of strings into *arr (sorted; pointers into *root). */
static fc_err parse_ids(const char *ckpt, const char *key, const char *text, cJSON **root, const char ***arr, int *n) {
    *root = cJSON_Parse(text);
    *arr = NULL, *n = 0;
    if (!cJSON_IsArray(*root)) return fc_err_set(FC_EFORMAT, "%s: metadata '%s' is not a JSON array of ids", ckpt, key);
    int m = cJSON_GetArraySize(*root);
    if (m && !(*arr = fc_malloc((size_t)m * sizeof **arr, "checkpoint ids"))) return FC_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, *root) {
        if (!cJSON_IsString(it))
            return fc_err_set(FC_EFORMAT, "%s: metadata '%s': element %d is not a string", ckpt, key, *n);
        (*arr)[(*n)++] = it->valuestring;
    }
    if (*n) qsort(*arr, (size_t)*n, sizeof **arr, cmp_str);
    return FC_OK;
}

static int count_overlap(const char *const *ids, int n, const char **set, int n_set, char *example, size_t cap) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (n_set && bsearch(&ids[i], set, (size_t)n_set, sizeof *set, cmp_str)) {
            if (!k && !example[0]) fc_data_id_for_message(ids[i], example, cap); /* quoted in a one-line error */
            k++;
        }
    return k;
}

fc_err fc_heldout_check(const char *ckpt, const char *const *ids, int n, bool allow_overlap, fc_heldout_report *rep) {
    memset(rep, 0, sizeof *rep);
    fc_st_file f;
    FC_TRY(fc_st_open(&f, ckpt));
    const char *tr = fc_st_meta(&f, "train_ids"), *va = fc_st_meta(&f, "val_ids");
    fc_err e = FC_OK;
    cJSON *rt = NULL, *rv = NULL;
    const char **st = NULL, **sv = NULL;
    if (!tr || !va) {
        if (!allow_overlap)
            e = fc_err_set(FC_EINVAL, "%s: no %s metadata: cannot tell whether the evaluated ids are held out; pass "
                                      "--allow-overlap to evaluate anyway", ckpt,
                           !tr && !va ? "train_ids/val_ids" : !tr ? "train_ids" : "val_ids");
        goto done;
    }
    if ((e = parse_ids(ckpt, "train_ids", tr, &rt, &st, &rep->n_train)) ||
        (e = parse_ids(ckpt, "val_ids", va, &rv, &sv, &rep->n_val)))
        goto done;
    rep->has_ids = true;
    rep->train_overlap = count_overlap(ids, n, st, rep->n_train, rep->example, sizeof rep->example);
    rep->val_overlap = count_overlap(ids, n, sv, rep->n_val, rep->example, sizeof rep->example);
    if (!allow_overlap && (rep->train_overlap || rep->val_overlap)) {
        bool in_train = rep->train_overlap > 0;
        e = fc_err_set(FC_EINVAL, "%s: %d of the %d evaluated ids are in its %s (e.g. '%s'): not held out; pass "
                                  "--allow-overlap to evaluate anyway", ckpt,
                       in_train ? rep->train_overlap : rep->val_overlap, n, in_train ? "train_ids" : "val_ids",
                       rep->example);
    }
done:
    free(st), free(sv);
    cJSON_Delete(rt), cJSON_Delete(rv);
    fc_st_close(&f);
    return e;
}
