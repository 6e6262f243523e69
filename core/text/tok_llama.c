/* tok_llama.c: the Llama tokenizer from tokenizer.json (LLaVA-1.5's): a byte-fallback BPE model with no
 * pre-tokenizer, Prepend/Replace normaliser steps, a TemplateProcessing post-processor and a
 * Replace/ByteFallback/Fuse/Strip decoder. Anything else in the file is reported as unsupported rather
 * than silently tokenised differently. */
#include <cjson/cJSON.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/text/tok_internal.h"
#include "core/text/utf8.h"

#define META "\xe2\x96\x81" /* U+2581 "▁" */

/* True when a "▁" at s[i] follows a character that is not "▁": a word boundary no merge can cross when
 * t->split_words holds (see fc_tok_llama_load). */
static bool word_start(const char *s, size_t len, size_t i) {
    if (i == 0 || i + 3 > len || memcmp(s + i, META, 3)) return false;
    return i < 3 || memcmp(s + i - 3, META, 3) != 0;
}

static const char *str_item(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup(const char *s) {
    char *d = fc_malloc(strlen(s) + 1, "tokenizer");
    if (d) strcpy(d, s);
    return d;
}

/* {"String": "x"} pattern of Replace steps (Regex patterns are not supported) */
static const char *pattern_string(const cJSON *step) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(step, "pattern");
    return str_item(p, "String");
}

static fc_err load_normalizer(fc_tokenizer *t, const cJSON *norm, const char *path) {
    if (!norm || cJSON_IsNull(norm)) return FC_OK;
    const cJSON *steps = norm, *one = NULL;
    const char *type = str_item(norm, "type");
    if (type && !strcmp(type, "Sequence")) steps = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
    else one = norm;
    int n = one ? 1 : cJSON_GetArraySize(steps);
    if (!one && !cJSON_IsArray(steps)) return fc_err_set(FC_EFORMAT, "%s: normalizer.normalizers is not a list", path);
    if (n > 4) return fc_err_set(FC_EUNSUPPORTED, "%s: %d normalizer steps (at most 4 supported)", path, n);
    for (int i = 0; i < n; i++) {
        const cJSON *st = one ? one : cJSON_GetArrayItem(steps, i);
        const char *ty = str_item(st, "type");
        fc_norm_step *ns = &t->norm[t->n_norm];
        if (ty && !strcmp(ty, "Prepend") && str_item(st, "prepend")) {
            ns->kind = FC_NORM_PREPEND;
            if (!(ns->a = dup(str_item(st, "prepend")))) return FC_ENOMEM;
        } else if (ty && !strcmp(ty, "Replace") && pattern_string(st) && str_item(st, "content")) {
            ns->kind = FC_NORM_REPLACE;
            ns->a = dup(pattern_string(st));
            ns->b = dup(str_item(st, "content"));
            if (!ns->a || !ns->b) return FC_ENOMEM;
        } else if (ty && !strcmp(ty, "NFC")) {
            ns->kind = FC_NORM_NFC;
        } else {
            return fc_err_set(FC_EUNSUPPORTED, "%s: normalizer step %d ('%s') is not supported", path, i,
                              ty ? ty : "?");
        }
        t->n_norm++;
    }
    return FC_OK;
}

static fc_err load_decoder(fc_tokenizer *t, const cJSON *dec, const char *path) {
    if (!dec || cJSON_IsNull(dec)) return fc_err_set(FC_EUNSUPPORTED, "%s: no decoder", path);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(dec, "decoders");
    const char *type = str_item(dec, "type");
    bool seq = type && !strcmp(type, "Sequence");
    int n = seq ? cJSON_GetArraySize(steps) : 1;
    if (seq && !cJSON_IsArray(steps)) return fc_err_set(FC_EFORMAT, "%s: decoder.decoders is not a list", path);
    if (n > 6) return fc_err_set(FC_EUNSUPPORTED, "%s: %d decoder steps (at most 6 supported)", path, n);
    for (int i = 0; i < n; i++) {
        const cJSON *st = seq ? cJSON_GetArrayItem(steps, i) : dec;
        const char *ty = str_item(st, "type");
        fc_dec_step *ds = &t->dec[t->n_dec];
        if (ty && !strcmp(ty, "Replace") && pattern_string(st) && str_item(st, "content")) {
            ds->kind = FC_DEC_REPLACE;
            ds->from = dup(pattern_string(st));
            ds->to = dup(str_item(st, "content"));
            if (!ds->from || !ds->to) return FC_ENOMEM;
        } else if (ty && !strcmp(ty, "ByteFallback")) {
            ds->kind = FC_DEC_BYTE_FALLBACK;
        } else if (ty && !strcmp(ty, "Fuse")) {
            ds->kind = FC_DEC_FUSE;
        } else if (ty && !strcmp(ty, "Strip")) {
            const char *c = str_item(st, "content");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "start"), *b = cJSON_GetObjectItemCaseSensitive(st, "stop");
            uint32_t cp;
            if (!c || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valueint < 0 || b->valueint < 0 || !*c ||
                fc_utf8_decode((const unsigned char *)c, strlen(c), &cp) != (int)strlen(c))
                return fc_err_set(FC_EFORMAT, "%s: decoder Strip step %d is malformed", path, i);
            ds->kind = FC_DEC_STRIP;
            ds->strip_char = cp, ds->strip_start = a->valueint, ds->strip_stop = b->valueint;
        } else if (ty && !strcmp(ty, "ByteLevel")) {
            ds->kind = FC_DEC_BYTE_LEVEL;
        } else {
            return fc_err_set(FC_EUNSUPPORTED, "%s: decoder step %d ('%s') is not supported", path, i, ty ? ty : "?");
        }
        t->n_dec++;
    }
    return FC_OK;
}

/* TemplateProcessing "single": [SpecialToken*, Sequence A, SpecialToken*] */
static fc_err load_post(fc_tokenizer *t, const cJSON *post, const char *path) {
    if (!post || cJSON_IsNull(post)) return FC_OK;
    const char *type = str_item(post, "type");
    if (!type || strcmp(type, "TemplateProcessing"))
        return fc_err_set(FC_EUNSUPPORTED, "%s: post_processor '%s' is not supported", path, type ? type : "?");
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(post, "special_tokens");
    bool seen_seq = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, single) {
        if (cJSON_GetObjectItemCaseSensitive(it, "Sequence")) {
            seen_seq = true;
            continue;
        }
        const char *name = str_item(cJSON_GetObjectItemCaseSensitive(it, "SpecialToken"), "id");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(specials, name ? name : ""), "ids");
        int n = cJSON_GetArraySize(ids);
        if (!name || !cJSON_IsArray(ids))
            return fc_err_set(FC_EFORMAT, "%s: post_processor.single names a special token it does not define", path);
        const cJSON *idv;
        cJSON_ArrayForEach(idv, ids) {
            int *cnt = seen_seq ? &t->n_suffix : &t->n_prefix;
            int32_t *arr = seen_seq ? t->suffix : t->prefix;
            if (*cnt >= 4 || !cJSON_IsNumber(idv) || n > 4)
                return fc_err_set(FC_EUNSUPPORTED, "%s: post_processor adds too many tokens", path);
            arr[(*cnt)++] = idv->valueint;
        }
    }
    if (!seen_seq) return fc_err_set(FC_EFORMAT, "%s: post_processor.single has no Sequence", path);
    return FC_OK;
}

static fc_err load_model(fc_tokenizer *t, const cJSON *model, const char *path) {
    const char *type = str_item(model, "type");
    if (!type || strcmp(type, "BPE")) return fc_err_set(FC_EUNSUPPORTED, "%s: model.type '%s' is not BPE", path, type ? type : "?");
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (drop && !cJSON_IsNull(drop)) return fc_err_set(FC_EUNSUPPORTED, "%s: BPE dropout is not supported", path);
    const char *cont = str_item(model, "continuing_subword_prefix"), *eow = str_item(model, "end_of_word_suffix");
    if ((cont && *cont) || (eow && *eow))
        return fc_err_set(FC_EUNSUPPORTED, "%s: continuing_subword_prefix/end_of_word_suffix are not supported", path);
    t->byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    t->fuse_unk = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "fuse_unk"));
    t->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges"));
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) return fc_err_set(FC_EFORMAT, "%s: model.vocab is not an object", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 30) || it->valuedouble != it->valueint)
            return fc_err_set(FC_EFORMAT, "%s: model.vocab['%s'] is not a valid id", path, it->string);
        fc_err e = fc_bpe_add_token(&t->bpe, it->string, strlen(it->string), it->valueint, false);
        if (e) return fc_err_prefix(e, "%s: model.vocab", path);
    }
    const char *unk = str_item(model, "unk_token");
    t->unk = unk ? fc_bpe_lookup(&t->bpe, unk, strlen(unk)) : -1;
    if (unk && t->unk < 0) return fc_err_set(FC_EFORMAT, "%s: unk_token '%s' is not in the vocabulary", path, unk);
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges)) return fc_err_set(FC_EFORMAT, "%s: model.merges is not a list", path);
    uint32_t rank = 0;
    char buf[1024];
    cJSON_ArrayForEach(it, merges) {
        const char *a, *b;
        size_t al, bl;
        if (cJSON_IsString(it)) { /* older files: "a b" */
            const char *sp = strchr(it->valuestring, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return fc_err_set(FC_EFORMAT, "%s: merge %u '%s' is not two tokens", path, rank, it->valuestring);
            a = it->valuestring, al = (size_t)(sp - a), b = sp + 1, bl = strlen(b);
        } else if (cJSON_GetArraySize(it) == 2 && cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            a = cJSON_GetArrayItem(it, 0)->valuestring, al = strlen(a);
            b = cJSON_GetArrayItem(it, 1)->valuestring, bl = strlen(b);
        } else {
            return fc_err_set(FC_EFORMAT, "%s: merge %u is neither \"a b\" nor [a, b]", path, rank);
        }
        if (al + bl >= sizeof buf) return fc_err_set(FC_EFORMAT, "%s: merge %u is too long", path, rank);
        int32_t ia = fc_bpe_lookup(&t->bpe, a, al), ib = fc_bpe_lookup(&t->bpe, b, bl);
        memcpy(buf, a, al), memcpy(buf + al, b, bl);
        int32_t ic = fc_bpe_lookup(&t->bpe, buf, al + bl);
        if (ia < 0 || ib < 0 || ic < 0)
            return fc_err_set(FC_EFORMAT, "%s: merge %u ('%.*s' '%.*s') uses a token not in the vocabulary", path,
                              rank, (int)al, a, (int)bl, b);
        FC_TRY(fc_bpe_add_merge(&t->bpe, ia, ib, rank, ic));
        rank++;
    }
    return FC_OK;
}

fc_err fc_tok_llama_load(fc_tokenizer *t, const char *path) {
    cJSON *root;
    FC_TRY(fc_tok_read_json(path, &root));
    fc_err e = FC_OK;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (pre && !cJSON_IsNull(pre)) {
        e = fc_err_set(FC_EUNSUPPORTED, "%s: a pre_tokenizer ('%s') is not supported for tokenizer.json models", path,
                       str_item(pre, "type") ? str_item(pre, "type") : "?");
        goto done;
    }
    if (!cJSON_IsObject(model)) {
        e = fc_err_set(FC_EFORMAT, "%s: no model object", path);
        goto done;
    }
    if ((e = load_model(t, model, path))) goto done;
    if (!t->byte_fallback) {
        e = fc_err_set(FC_EUNSUPPORTED, "%s: a BPE model without byte_fallback is not supported here", path);
        goto done;
    }
    if ((e = load_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path))) goto done;
    if ((e = load_decoder(t, cJSON_GetObjectItemCaseSensitive(root, "decoder"), path))) goto done;
    if ((e = load_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), path))) goto done;
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), *it;
    cJSON_ArrayForEach(it, added) {
        const char *c = str_item(it, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!c || !cJSON_IsNumber(id) || id->valueint < 0 || id->valueint >= (1 << 30)) {
            e = fc_err_set(FC_EFORMAT, "%s: added_tokens entry is malformed", path);
            goto done;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "normalized")) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "lstrip")) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "rstrip")) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "single_word"))) {
            e = fc_err_set(FC_EUNSUPPORTED, "%s: added token '%s' uses normalized/lstrip/rstrip/single_word", path, c);
            goto done;
        }
        if ((e = fc_tok_add_added(t, c, strlen(c), id->valueint, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"))))) {
            fc_err_prefix(e, "%s", path);
            goto done;
        }
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = fc_bpe_lookup(&t->bpe, name, 6);
    }
    for (int c = 0; c < 128; c++) {
        char s = (char)c;
        t->ascii_tok[c] = fc_bpe_lookup(&t->bpe, &s, 1);
    }
    /* Words may be merged one by one (fc_tok_llama_encode_segment) when every byte has a fallback token
     * (so no unk can fuse across a cut), "▁" is a token, and no token holds "▁" after another character. */
    t->split_words = t->byte_fallback && fc_bpe_lookup(&t->bpe, META, 3) >= 0;
    for (int b = 0; b < 256; b++) t->split_words &= t->byte_tok[b] >= 0;
    for (int32_t id = 0; id < t->bpe.n_tokens && t->split_words; id++) {
        size_t l;
        const char *tok = fc_bpe_token(&t->bpe, id, &l);
        for (size_t i = 1; tok && i + 3 <= l; i++)
            if (word_start(tok, l, i)) t->split_words = false;
    }
    /* bos/eos default to the post-processor's first token; tokenizer_config.json may override */
    if (t->n_prefix) t->bos = t->prefix[0];
done:
    cJSON_Delete(root);
    return e;
}

/* One word: characters -> ids (byte fallback, unk fusing), then BPE merges; cached per call. sym has room
 * for n ids. */
static fc_err encode_word(const fc_tokenizer *t, fc_bpe_work *w, const char *s, size_t n, int32_t *sym,
                          fc_tok_ids *out) {
    const int32_t *cached;
    int nc;
    if (fc_bpe_cache_get(w, s, n, &cached, &nc)) {
        for (int i = 0; i < nc; i++) FC_TRY(fc_tok_ids_push(out, cached[i]));
        return FC_OK;
    }
    int ns = 0;
    bool pending_unk = false;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = u[i] < 0x80 ? 1 : fc_utf8_decode(u + i, n - i, &cp);
        if (k < 0) k = 1; /* an ill-formed byte is a symbol of its own; it never matches the vocabulary */
        int32_t id = u[i] < 0x80 ? t->ascii_tok[u[i]] : fc_bpe_lookup(&t->bpe, s + i, (size_t)k);
        if (id >= 0) {
            if (pending_unk) sym[ns++] = t->unk, pending_unk = false;
            sym[ns++] = id;
        } else {
            bool all = true;
            for (int j = 0; j < k; j++) all &= t->byte_tok[u[i + j]] >= 0;
            if (t->byte_fallback && all) {
                /* the library adds the pending unk only when a vocabulary symbol follows */
                for (int j = 0; j < k; j++) sym[ns++] = t->byte_tok[u[i + j]];
            } else if (t->unk >= 0) {
                if (pending_unk && !t->fuse_unk) sym[ns++] = t->unk;
                pending_unk = true;
            }
        }
        i += (size_t)k;
    }
    if (pending_unk) sym[ns++] = t->unk;
    FC_TRY(fc_bpe_merge(&t->bpe, w, sym, &ns));
    FC_TRY(fc_bpe_cache_put(w, s, n, sym, ns));
    for (int i = 0; i < ns; i++) FC_TRY(fc_tok_ids_push(out, sym[i]));
    return FC_OK;
}

/* One normalised segment. Without a pre-tokenizer the library runs BPE over the whole segment as one word;
 * when no vocabulary token holds "▁" after another character, no merge joins across such a point, so the
 * segment is cut there and each piece is merged (and cached) alone: the same ids, found faster. */
fc_err fc_tok_llama_encode_segment(const fc_tokenizer *t, fc_bpe_work *w, const char *s, size_t n, fc_tok_ids *out) {
    char *norm;
    size_t len;
    FC_TRY(fc_tok_normalize(t, s, n, &norm, &len));
    fc_err e = FC_OK;
    int32_t *sym = NULL;
    int32_t whole = t->ignore_merges ? fc_bpe_lookup(&t->bpe, norm, len) : -1;
    if (whole >= 0) {
        e = fc_tok_ids_push(out, whole);
        goto done;
    }
    sym = fc_malloc((len + 1) * sizeof(int32_t), "tokenizer");
    if (!sym) {
        e = FC_ENOMEM;
        goto done;
    }
    if (!t->split_words) {
        e = encode_word(t, w, norm, len, sym, out);
        goto done;
    }
    size_t start = 0;
    for (size_t i = 1; i <= len && !e; i++) {
        if (i < len && !word_start(norm, len, i)) continue;
        e = encode_word(t, w, norm + start, i - start, sym, out);
        start = i;
    }
done:
    free(sym);
    free(norm);
    return e;
}
