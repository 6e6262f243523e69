/* tokenizer.c: loading dispatch, tokenizer_config.json, added-token splitting and the encode/decode
 * drivers shared by both models (see tokenizer.h). The model-specific parts are in tok_llama.c and
 * tok_qwen2.c; the decoder chain in tok_decode.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/text/nfc.h"
#include "core/text/tok_internal.h"
#include "core/base/file.h"

fc_err fc_tok_read_json(const char *path, cJSON **root) {
    char *data;
    size_t len;
    *root = NULL;
    FC_TRY(fc_file_read(path, FC_TOK_MAX_FILE_BYTES, "a tokenizer file", &data, &len));
    cJSON *r = cJSON_ParseWithLength(data, len);
    free(data);
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        return fc_err_set(FC_EFORMAT, "%s: not a JSON object", path);
    }
    *root = r;
    return FC_OK;
}

fc_err fc_tok_ids_push(fc_tok_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = fc_realloc(ids->v, cap * sizeof(int32_t), "token ids");
        if (!v) return FC_ENOMEM;
        ids->v = v, ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return FC_OK;
}

fc_err fc_tok_add_added(fc_tokenizer *t, const char *s, size_t n, int32_t id, bool special) {
    if (!n) return fc_err_set(FC_EFORMAT, "added token %d is empty", (int)id);
    if (id < 0) return fc_err_set(FC_EFORMAT, "added token '%.*s' has id %d", (int)n, s, (int)id);
    for (int i = 0; i < t->n_added; i++) {
        if (t->added[i].len == n && !memcmp(t->added[i].text, s, n)) {
            /* the same token listed twice (tokenizer.json and tokenizer_config.json): keep one */
            if (t->added[i].id != id)
                return fc_err_set(FC_EFORMAT, "added token '%.*s' has two ids, %d and %d", (int)n, s,
                                  (int)t->added[i].id, (int)id);
            t->added[i].special |= special;
            return FC_OK;
        }
    }
    fc_tok_added *a = fc_realloc(t->added, (size_t)(t->n_added + 1) * sizeof *a, "added tokens");
    if (!a) return FC_ENOMEM;
    t->added = a;
    char *copy = fc_malloc(n + 1, "added tokens");
    if (!copy) return FC_ENOMEM;
    memcpy(copy, s, n);
    copy[n] = 0;
    a[t->n_added++] = (fc_tok_added){copy, n, id, special};
    t->added_first[(unsigned char)s[0]] = true;
    if (id + 1 > t->vocab_size) t->vocab_size = id + 1;
    return FC_OK;
}

const fc_tok_added *fc_tok_find_added_id(const fc_tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) return &t->added[i];
    return NULL;
}

static int32_t added_id(const fc_tokenizer *t, const char *s) {
    size_t n = strlen(s);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].text, s, n)) return t->added[i].id;
    return -1;
}

int32_t fc_tokenizer_token_id(const fc_tokenizer *t, const char *token) {
    int32_t id = added_id(t, token);
    return id >= 0 ? id : fc_bpe_lookup(&t->bpe, token, strlen(token));
}

/* token named by a tokenizer_config.json entry: a string or {"content": ...} */
static int32_t config_token(const fc_tokenizer *t, const cJSON *v) {
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v)) return -1;
    return fc_tokenizer_token_id(t, v->valuestring);
}

fc_err fc_tok_load_config(fc_tokenizer *t, const char *dir, bool required, bool take_added) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    cJSON *root;
    fc_err e = fc_tok_read_json(path, &root);
    if (e == FC_ENOTFOUND && !required) return FC_OK;
    if (e) return e;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "added_tokens_decoder");
    if (take_added && dec) {
        if (!cJSON_IsObject(dec)) {
            e = fc_err_set(FC_EFORMAT, "%s: added_tokens_decoder is not an object", path);
            goto done;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, dec) {
            char *end;
            errno = 0;
            long id = strtol(it->string, &end, 10);
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (*end || errno || id < 0 || id >= (1L << 30) || !cJSON_IsString(content)) {
                e = fc_err_set(FC_EFORMAT, "%s: added_tokens_decoder entry '%s' is malformed", path, it->string);
                goto done;
            }
            bool special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"));
            const cJSON *norm = cJSON_GetObjectItemCaseSensitive(it, "normalized");
            if (cJSON_IsTrue(norm) || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "lstrip")) ||
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "rstrip")) ||
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "single_word"))) {
                e = fc_err_set(FC_EUNSUPPORTED, "%s: added token '%s' uses normalized/lstrip/rstrip/single_word",
                               path, content->valuestring);
                goto done;
            }
            e = fc_tok_add_added(t, content->valuestring, strlen(content->valuestring), (int32_t)id, special);
            if (e) {
                fc_err_prefix(e, "%s", path);
                goto done;
            }
        }
    }
    t->bos = config_token(t, cJSON_GetObjectItemCaseSensitive(root, "bos_token"));
    t->eos = config_token(t, cJSON_GetObjectItemCaseSensitive(root, "eos_token"));
done:
    cJSON_Delete(root);
    return e;
}

static bool file_exists(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

fc_err fc_tokenizer_load(fc_tokenizer **out, const char *model_dir) {
    *out = NULL;
    if (strlen(model_dir) > 4000) return fc_err_set(FC_EINVAL, "model directory path too long");
    fc_tokenizer *t = fc_calloc(1, sizeof *t, "tokenizer");
    if (!t) return FC_ENOMEM;
    fc_bpe_init(&t->bpe);
    t->bos = t->eos = t->unk = -1;
    for (int i = 0; i < 256; i++) t->byte_tok[i] = -1;
    for (int i = 0; i < 128; i++) t->ascii_tok[i] = -1;
    fc_err e;
    char path[4096];
    bool has_json = file_exists(model_dir, "tokenizer.json");
    bool has_bpe_files = file_exists(model_dir, "vocab.json") && file_exists(model_dir, "merges.txt");
    /* vocab.json + merges.txt win when tokenizer_config.json names a Qwen2 class, or nothing else is there */
    if (has_bpe_files && has_json && fc_tok_qwen2_check_class(model_dir) != FC_OK) {
        fc_err_clear();
        has_bpe_files = false;
    }
    if (has_bpe_files) {
        t->kind = FC_TOK_QWEN2;
        e = fc_tok_qwen2_load(t, model_dir);
    } else if (has_json) {
        t->kind = FC_TOK_LLAMA;
        snprintf(path, sizeof path, "%s/tokenizer.json", model_dir);
        e = fc_tok_llama_load(t, path);
        if (!e) e = fc_tok_load_config(t, model_dir, false, false);
    } else {
        e = fc_err_set(FC_ENOTFOUND, "%s: no tokenizer.json, nor vocab.json + merges.txt", model_dir);
    }
    if (e) {
        fc_tokenizer_free(t);
        return e;
    }
    if (t->bpe.n_tokens > t->vocab_size) t->vocab_size = t->bpe.n_tokens;
    *out = t;
    return FC_OK;
}

void fc_tokenizer_free(fc_tokenizer *t) {
    if (!t) return;
    fc_bpe_free(&t->bpe);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].text);
    free(t->added);
    for (int i = 0; i < t->n_norm; i++) free(t->norm[i].a), free(t->norm[i].b);
    for (int i = 0; i < t->n_dec; i++) free(t->dec[i].from), free(t->dec[i].to);
    if (t->re) pcre2_code_free(t->re);
    free(t);
}

int fc_tokenizer_vocab_size(const fc_tokenizer *t) { return t->vocab_size; }
int32_t fc_tokenizer_bos(const fc_tokenizer *t) { return t->bos; }
int32_t fc_tokenizer_eos(const fc_tokenizer *t) { return t->eos; }
fc_tokenizer_kind fc_tokenizer_kind_of(const fc_tokenizer *t) { return t->kind; }

/* Applies the normaliser steps; *out malloc'd. */
fc_err fc_tok_normalize(const fc_tokenizer *t, const char *s, size_t n, char **out, size_t *out_len) {
    char *cur = fc_malloc(n + 1, "normalizer");
    if (!cur) return FC_ENOMEM;
    memcpy(cur, s, n);
    cur[n] = 0;
    size_t len = n;
    for (int k = 0; k < t->n_norm; k++) {
        const fc_norm_step *st = &t->norm[k];
        char *next = NULL;
        size_t nlen = 0;
        if (st->kind == FC_NORM_NFC) {
            fc_err e = fc_nfc_normalize(cur, len, &next, &nlen);
            if (e) {
                free(cur);
                return e;
            }
        } else if (st->kind == FC_NORM_PREPEND) {
            if (!len) continue; /* the library prepends only to non-empty text */
            size_t pl = strlen(st->a);
            next = fc_malloc(pl + len + 1, "normalizer");
            if (!next) {
                free(cur);
                return FC_ENOMEM;
            }
            memcpy(next, st->a, pl);
            memcpy(next + pl, cur, len + 1);
            nlen = pl + len;
        } else { /* REPLACE: every non-overlapping occurrence, left to right */
            size_t fl = strlen(st->a), tl = strlen(st->b), count = 0;
            for (size_t i = 0; fl && i + fl <= len;) {
                if (!memcmp(cur + i, st->a, fl)) count++, i += fl;
                else i++;
            }
            if (!count) continue;
            next = fc_malloc(len + count * tl + 1, "normalizer"); /* never shorter than needed */
            if (!next) {
                free(cur);
                return FC_ENOMEM;
            }
            for (size_t i = 0; i < len;) {
                if (i + fl <= len && !memcmp(cur + i, st->a, fl)) {
                    memcpy(next + nlen, st->b, tl);
                    nlen += tl, i += fl;
                } else {
                    next[nlen++] = cur[i++];
                }
            }
            next[nlen] = 0;
        }
        free(cur);
        cur = next, len = nlen;
    }
    *out = cur, *out_len = len;
    return FC_OK;
}

static fc_err encode_segment(const fc_tokenizer *t, fc_bpe_work *w, pcre2_match_data *md, const char *s, size_t n,
                             fc_tok_ids *out) {
    if (!n) return FC_OK;
    return t->kind == FC_TOK_LLAMA ? fc_tok_llama_encode_segment(t, w, s, n, out)
                                   : fc_tok_qwen2_encode_segment(t, w, md, s, n, out);
}

/* The longest added token that starts at s[0..n), or NULL. */
static const fc_tok_added *match_added(const fc_tokenizer *t, const char *s, size_t n) {
    const fc_tok_added *best = NULL;
    for (int i = 0; i < t->n_added; i++) {
        const fc_tok_added *a = &t->added[i];
        if (a->len <= n && (!best || a->len > best->len) && !memcmp(s, a->text, a->len)) best = a;
    }
    return best;
}

fc_err fc_tokenizer_encode(const fc_tokenizer *t, const char *text, size_t len, bool add_special, int32_t **ids,
                           int *n_ids) {
    *ids = NULL, *n_ids = 0;
    if (len > (size_t)INT32_MAX / 2) return fc_err_set(FC_EINVAL, "tokenizer: text of %zu bytes is too long", len);
    if (!text && len) return fc_err_set(FC_EINVAL, "tokenizer: NULL text");
    fc_tok_ids out = {0};
    fc_bpe_work w = {0};
    pcre2_match_data *md = NULL;
    fc_err e = FC_OK;
    if (t->re && !(md = pcre2_match_data_create_from_pattern(t->re, NULL))) {
        e = fc_err_set(FC_ENOMEM, "tokenizer: out of memory for regex match data");
        goto fail;
    }
    if (add_special)
        for (int i = 0; i < t->n_prefix && !e; i++) e = fc_tok_ids_push(&out, t->prefix[i]);
    size_t seg = 0;
    for (size_t i = 0; i < len && !e;) {
        const fc_tok_added *a = t->added_first[(unsigned char)text[i]] ? match_added(t, text + i, len - i) : NULL;
        if (!a) {
            i++;
            continue;
        }
        e = encode_segment(t, &w, md, text + seg, i - seg, &out);
        if (!e) e = fc_tok_ids_push(&out, a->id);
        i += a->len;
        seg = i;
    }
    if (!e) e = encode_segment(t, &w, md, text + seg, len - seg, &out);
    if (add_special)
        for (int i = 0; i < t->n_suffix && !e; i++) e = fc_tok_ids_push(&out, t->suffix[i]);
    if (!e && !out.v) { /* a non-NULL result even when empty */
        e = fc_tok_ids_push(&out, 0);
        out.n = 0;
    }
    if (!e && out.n > INT32_MAX) e = fc_err_set(FC_EINVAL, "tokenizer: too many tokens");
fail:
    fc_bpe_work_free(&w);
    if (md) pcre2_match_data_free(md);
    if (e) {
        free(out.v);
        return e;
    }
    *ids = out.v, *n_ids = (int)out.n;
    return FC_OK;
}

fc_err fc_tokenizer_decode(const fc_tokenizer *t, const int32_t *ids, int n, bool skip_special, char **text) {
    size_t len;
    return fc_tokenizer_decode_n(t, ids, n, skip_special, text, &len);
}

fc_err fc_tokenizer_decode_n(const fc_tokenizer *t, const int32_t *ids, int n, bool skip_special, char **text,
                             size_t *len) {
    *text = NULL, *len = 0;
    if (n < 0) return fc_err_set(FC_EINVAL, "tokenizer: negative token count %d", n);
    const char **tok = fc_malloc(((size_t)n + 1) * sizeof *tok, "decode");
    size_t *tok_len = fc_malloc(((size_t)n + 1) * sizeof *tok_len, "decode");
    if (!tok || !tok_len) {
        free(tok), free(tok_len);
        return FC_ENOMEM;
    }
    int m = 0;
    fc_err e = FC_OK;
    for (int i = 0; i < n; i++) {
        /* added tokens first, then the model vocabulary, as the library looks them up */
        const fc_tok_added *a = fc_tok_find_added_id(t, ids[i]);
        if (a) {
            if (skip_special && a->special) continue;
            tok[m] = a->text, tok_len[m++] = a->len;
            continue;
        }
        size_t l;
        const char *s = fc_bpe_token(&t->bpe, ids[i], &l);
        if (!s) continue; /* no token for this id: the library skips it (LLaVA's lm_head has 62 padding rows
                             beyond its 32002 tokens, so a model can emit such ids) */
        tok[m] = s, tok_len[m++] = l;
    }
    if (!e) e = fc_tok_decode_chain(t, tok, tok_len, m, text, len);
    free(tok), free(tok_len);
    return e;
}
