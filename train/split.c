/* split.c: validation split by id (split.h). */
#include "train/split.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "data/dataset.h"

typedef struct {
    uint64_t h;
    size_t i;
} keyed;

static int by_hash(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int by_str(const void *a, const void *b) {
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

static uint64_t hash_id(const char *s, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) h = (h ^ *c) * 1099511628211ULL;
    /* splitmix64 finaliser: FNV alone leaves the low bits of short ids poorly mixed */
    h ^= h >> 30, h *= 0xBF58476D1CE4E5B9ULL, h ^= h >> 27, h *= 0x94D049BB133111EBULL, h ^= h >> 31;
    return h;
}

fc_err fc_train_split(const char *const *ids, size_t n, double val_frac, const char *const *val_ids, size_t n_val_ids,
                      uint64_t seed, const char *where, bool *is_val) {
    memset(is_val, 0, n * sizeof *is_val);
    /* unique ids: sort a copy of the pointers */
    const char **sorted = fc_malloc((n ? n : 1) * sizeof *sorted, "sample ids");
    if (!sorted) return FC_ENOMEM;
    memcpy(sorted, ids, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_str);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) {
            char shown[160]; /* ids come from the data file: one line, cut */
            fc_err e = fc_err_set(FC_EINVAL, "%s: sample id '%s' appears more than once (the validation split is by id)",
                                  where, fc_data_id_for_message(sorted[i], shown, sizeof shown));
            free(sorted);
            return e;
        }
    if (n_val_ids) {
        for (size_t k = 0; k < n_val_ids; k++) {
            const char **hit = bsearch(&val_ids[k], sorted, n, sizeof *sorted, by_str);
            if (!hit) {
                free(sorted);
                char shown[160];
                return fc_err_set(FC_EINVAL, "%s: validation id '%s' is not a sample of the data", where,
                                  fc_data_id_for_message(val_ids[k], shown, sizeof shown));
            }
            for (size_t j = 0; j < k; j++) /* a repeat is a typo or a pasted list: say so, do not merge */
                if (!strcmp(val_ids[j], val_ids[k])) {
                    free(sorted);
                    char shown[160];
                    return fc_err_set(FC_EINVAL, "%s: validation id '%s' is given twice", where,
                                      fc_data_id_for_message(val_ids[k], shown, sizeof shown));
                }
        }
        size_t n_val = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < n_val_ids && !is_val[i]; k++)
                if (!strcmp(ids[i], val_ids[k])) is_val[i] = true, n_val++;
        free(sorted);
        if (n_val == n) return fc_err_set(FC_EINVAL, "%s: every sample is a validation id: nothing left to train on", where);
        return FC_OK;
    }
    free(sorted);
    if (val_frac <= 0 || n < 2) return FC_OK;
    size_t n_val = (size_t)(val_frac * (double)n + 0.5);
    if (n_val < 1) n_val = 1;
    if (n_val > n - 1) n_val = n - 1;
    keyed *k = fc_malloc(n * sizeof *k, "split keys");
    if (!k) return FC_ENOMEM;
    for (size_t i = 0; i < n; i++) k[i] = (keyed){hash_id(ids[i], seed), i};
    qsort(k, n, sizeof *k, by_hash);
    for (size_t i = 0; i < n_val; i++) is_val[k[i].i] = true;
    free(k);
    return FC_OK;
}

char *fc_train_json_strings(const char *const *s, size_t n) {
    size_t cap = 3;
    for (size_t i = 0; i < n; i++) cap += 6 * strlen(s[i]) + 3;
    char *o = fc_malloc(cap, "id list");
    if (!o) return NULL;
    size_t k = 0;
    o[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i) o[k++] = ',';
        o[k++] = '"';
        for (const unsigned char *c = (const unsigned char *)s[i]; *c; c++) {
            if (*c == '"' || *c == '\\') o[k++] = '\\', o[k++] = (char)*c;
            else if (*c < 0x20) k += (size_t)snprintf(o + k, cap - k, "\\u%04x", *c);
            else o[k++] = (char)*c;
        }
        o[k++] = '"';
    }
    o[k++] = ']';
    o[k] = '\0';
    return o;
}
