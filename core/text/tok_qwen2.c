/* tok_qwen2.c: the Qwen2 tokenizer (MiniCPM-V-2.6's), built from vocab.json + merges.txt +
 * tokenizer_config.json exactly as transformers' Qwen2Converter builds the fast tokenizer:
 * NFC -> Split(Qwen2 regex, isolated) -> ByteLevel(no prefix space, no regex) -> BPE (no unk, no byte
 * fallback) ; decoder ByteLevel ; no post-processor tokens. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/text/tok_internal.h"
#include "core/text/utf8.h"
#include "core/base/file.h"

/* The Qwen2 split regex (transformers' Qwen2Converter / tokenization_qwen2.py):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * The library runs it with Oniguruma, whose \s is the Unicode White_Space property; PCRE2's \s under
 * UCP also takes U+180E (and which set it takes changed in 10.43), so \s is spelt out as White_Space. */
#define WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char qwen2_pattern[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
                                    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
                                    "|\\p{N}"
                                    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
                                    "|[" WS "]*[\\r\\n]+"
                                    "|[" WS "]+(?![^" WS "])"
                                    "|[" WS "]+";

static fc_err load_vocab(fc_tokenizer *t, const char *path) {
    cJSON *root;
    FC_TRY(fc_tok_read_json(path, &root));
    fc_err e = FC_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 30) || it->valuedouble != it->valueint) {
            e = fc_err_set(FC_EFORMAT, "%s: entry '%s' is not a valid id", path, it->string);
            break;
        }
        if ((e = fc_bpe_add_token(&t->bpe, it->string, strlen(it->string), it->valueint, false))) {
            fc_err_prefix(e, "%s", path);
            break;
        }
    }
    cJSON_Delete(root);
    return e;
}

/* merges.txt: one "a b" per line; an optional "#version:" first line and blank lines are skipped; a pair
 * seen twice keeps its first rank (transformers builds bpe_ranks as a dict and passes its keys in order).
 * Ranks count the distinct pairs, as they do there. */
static fc_err load_merges(fc_tokenizer *t, const char *path) {
    char *data;
    size_t len;
    FC_TRY(fc_file_read(path, FC_TOK_MAX_FILE_BYTES, "a tokenizer file", &data, &len));
    fc_err e = FC_OK;
    uint32_t rank = 0;
    size_t line_no = 0;
    char buf[1024];
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && data[j] != '\n') j++;
        line_no++;
        size_t a = i, b = j;
        while (a < b && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r')) a++;
        while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\r')) b--;
        i = j + 1;
        if (a == b || (line_no == 1 && b - a >= 9 && !memcmp(data + a, "#version:", 9))) continue;
        size_t sp = a;
        while (sp < b && data[sp] != ' ') sp++;
        size_t c = sp;
        while (c < b && data[c] == ' ') c++;
        size_t d = c;
        while (d < b && data[d] != ' ') d++;
        if (sp == b || d != b || sp - a + (b - c) >= sizeof buf) {
            e = fc_err_set(FC_EFORMAT, "%s:%zu: a merge line is two tokens separated by a space", path, line_no);
            break;
        }
        int32_t ia = fc_bpe_lookup(&t->bpe, data + a, sp - a), ib = fc_bpe_lookup(&t->bpe, data + c, b - c);
        memcpy(buf, data + a, sp - a), memcpy(buf + (sp - a), data + c, b - c);
        int32_t ic = fc_bpe_lookup(&t->bpe, buf, sp - a + b - c);
        if (ia < 0 || ib < 0 || ic < 0) {
            e = fc_err_set(FC_EFORMAT, "%s:%zu: merge '%.*s %.*s' uses a token not in vocab.json", path, line_no,
                           (int)(sp - a), data + a, (int)(b - c), data + c);
            break;
        }
        uint32_t r;
        int32_t nid;
        if (fc_bpe_find_merge(&t->bpe, ia, ib, &r, &nid)) continue;
        if ((e = fc_bpe_add_merge(&t->bpe, ia, ib, rank++, ic))) break;
    }
    free(data);
    return e;
}

fc_err fc_tok_qwen2_check_class(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    cJSON *root;
    FC_TRY(fc_tok_read_json(path, &root));
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "tokenizer_class");
    fc_err e = FC_OK;
    if (!cJSON_IsString(cls) || !(strstr(cls->valuestring, "Qwen2") || strstr(cls->valuestring, "MiniCPMV")))
        e = fc_err_set(FC_EUNSUPPORTED, "%s: tokenizer_class '%s' is not a Qwen2 tokenizer", path,
                       cJSON_IsString(cls) ? cls->valuestring : "?");
    cJSON_Delete(root);
    return e;
}

fc_err fc_tok_qwen2_load(fc_tokenizer *t, const char *dir) {
    char path[4096];
    FC_TRY(fc_tok_qwen2_check_class(dir));
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    FC_TRY(load_vocab(t, path));
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    FC_TRY(load_merges(t, path));
    FC_TRY(fc_tok_load_config(t, dir, true, true));
    for (unsigned b = 0; b < 256; b++) {
        char s[4];
        int n = fc_utf8_encode(fc_tok_byte_char(b), s);
        t->byte_tok[b] = fc_bpe_lookup(&t->bpe, s, (size_t)n);
        if (t->byte_tok[b] < 0)
            return fc_err_set(FC_EFORMAT, "%s/vocab.json: no token for byte 0x%02X ('%.*s')", dir, b, n, s);
    }
    t->norm[t->n_norm++].kind = FC_NORM_NFC;
    t->dec[t->n_dec++].kind = FC_DEC_BYTE_LEVEL;
    int err;
    PCRE2_SIZE off;
    t->re = pcre2_compile((PCRE2_SPTR)qwen2_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                          &err, &off, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return fc_err_set(FC_EUNSUPPORTED, "Qwen2 regex: PCRE2 error at %zu: %s", (size_t)off, (char *)msg);
    }
    t->re_jit = pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE) == 0;
    return FC_OK;
}

/* Byte-level BPE of one pre-token: bytes -> byte-map tokens -> merges. */
static fc_err encode_piece(const fc_tokenizer *t, fc_bpe_work *w, const unsigned char *s, size_t n, int32_t *sym,
                           fc_tok_ids *out) {
    const int32_t *cached;
    int ns;
    if (fc_bpe_cache_get(w, (const char *)s, n, &cached, &ns)) {
        for (int i = 0; i < ns; i++) FC_TRY(fc_tok_ids_push(out, cached[i]));
        return FC_OK;
    }
    ns = (int)n;
    for (size_t i = 0; i < n; i++) sym[i] = t->byte_tok[s[i]];
    FC_TRY(fc_bpe_merge(&t->bpe, w, sym, &ns));
    FC_TRY(fc_bpe_cache_put(w, (const char *)s, n, sym, ns));
    for (int i = 0; i < ns; i++) FC_TRY(fc_tok_ids_push(out, sym[i]));
    return FC_OK;
}

fc_err fc_tok_qwen2_encode_segment(const fc_tokenizer *t, fc_bpe_work *w, pcre2_match_data *md, const char *s,
                                   size_t n, fc_tok_ids *out) {
    char *norm;
    size_t len;
    FC_TRY(fc_tok_normalize(t, s, n, &norm, &len));
    int32_t *sym = fc_malloc((len + 1) * sizeof(int32_t), "tokenizer");
    if (!sym) {
        free(norm);
        return FC_ENOMEM;
    }
    fc_err e = FC_OK;
    const unsigned char *u = (const unsigned char *)norm;
    size_t pos = 0;
    while (pos < len && !e) {
        int rc = t->re_jit ? pcre2_jit_match(t->re, u, len, pos, 0, md, NULL)
                           : pcre2_match(t->re, u, len, pos, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            e = fc_err_set(FC_EINVAL, "tokenizer: regex match failed at byte %zu: %s", pos, (char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* the pattern cannot match empty; guard against looping anyway */
            e = fc_err_set(FC_EINVAL, "tokenizer: empty regex match at byte %zu", ms);
            break;
        }
        /* Split "isolated": the text between matches is a piece too */
        if (ms > pos) e = encode_piece(t, w, u + pos, ms - pos, sym, out);
        if (!e) e = encode_piece(t, w, u + ms, me - ms, sym, out);
        pos = me;
    }
    if (!e && pos < len) e = encode_piece(t, w, u + pos, len - pos, sym, out);
    free(sym);
    free(norm);
    return e;
}
