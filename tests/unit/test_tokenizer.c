/* test_tokenizer.c: both tokenizers against the `tokenizers` library (fixtures from
 * tools/make_tokenizer_fixtures.py), NFC against Python's unicodedata, the chat templates against
 * transformers' jinja rendering and processors, the reference's verified LLaVA ids, and our documented
 * behaviour on ill-formed UTF-8 (which Python cannot produce). */
#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>

#include "core/text/chat.h"
#include "core/text/nfc.h"
#include "core/text/tokenizer.h"
#include "core/text/utf8.h"
#include "tests/test.h"

#define FIX "tests/fixtures/tokenizer/"

static cJSON *load_json(fc_test *t, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_test_fail(t, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = 0;
    cJSON *j = cJSON_ParseWithLength(buf, got);
    free(buf);
    if (!j) fc_test_fail(t, "%s: bad JSON", path);
    return j;
}

static fc_tokenizer *load_tok(fc_test *t, const char *model) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/models/%s", fc_test_shared(), model);
    fc_tokenizer *tok = NULL;
    fc_err e = fc_tokenizer_load(&tok, dir);
    if (e) fc_test_fail(t, "load %s: %s", dir, fc_errmsg());
    return tok;
}

/* hex -> bytes (malloc'd, NUL-terminated); *n the length */
static char *unhex(const char *h, size_t *n) {
    size_t len = strlen(h) / 2;
    char *out = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    out[len] = 0;
    *n = len;
    return out;
}

/* compares ids with a JSON int array; on mismatch reports the first differing index */
static bool ids_equal(fc_test *t, const char *what, int idx, const int32_t *ids, int n, const cJSON *want) {
    int wn = cJSON_GetArraySize(want);
    int i = 0;
    for (; i < n && i < wn; i++)
        if (ids[i] != cJSON_GetArrayItem(want, i)->valueint) break;
    if (i == n && n == wn) return true;
    fc_test_fail(t, "%s[%d]: %d ids, want %d; first difference at %d: got %d want %d", what, idx, n, wn, i,
                 i < n ? ids[i] : -1, i < wn ? cJSON_GetArrayItem(want, i)->valueint : -1);
    return false;
}

static void check_corpus(fc_test *t, const char *model, const char *fixture) {
    fc_tokenizer *tok = load_tok(t, model);
    cJSON *corpus = load_json(t, FIX "corpus.json"), *ref = load_json(t, fixture);
    if (!tok || !corpus || !ref) goto done;
    const cJSON *strs = cJSON_GetObjectItem(corpus, "strings_hex"), *enc = cJSON_GetObjectItem(ref, "encode");
    FC_CHECK(t, cJSON_GetArraySize(strs) >= 500 && cJSON_GetArraySize(strs) == cJSON_GetArraySize(enc), "corpus size %d/%d",
             cJSON_GetArraySize(strs), cJSON_GetArraySize(enc));
    int bad = 0;
    for (int i = 0; i < cJSON_GetArraySize(strs) && bad < 5; i++) {
        size_t len;
        char *s = unhex(cJSON_GetArrayItem(strs, i)->valuestring, &len);
        const cJSON *e = cJSON_GetArrayItem(enc, i);
        for (int special = 1; special >= 0; special--) {
            int32_t *ids;
            int n;
            t->checks++;
            if (fc_tokenizer_encode(tok, s, len, special, &ids, &n)) {
                fc_test_fail(t, "encode[%d]: %s", i, fc_errmsg());
                bad++;
                continue;
            }
            if (!ids_equal(t, special ? "ids" : "ids_plain", i, ids, n,
                           cJSON_GetObjectItem(e, special ? "ids" : "ids_plain"))) {
                printf("       text: '%s'\n", s);
                bad++;
            }
            free(ids);
        }
        /* decode the library's ids both ways */
        const cJSON *want_ids = cJSON_GetObjectItem(e, "ids");
        int n = cJSON_GetArraySize(want_ids);
        int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
        for (int k = 0; k < n; k++) ids[k] = cJSON_GetArrayItem(want_ids, k)->valueint;
        for (int skip = 0; skip < 2; skip++) {
            char *out;
            size_t wl;
            char *want = unhex(cJSON_GetObjectItem(e, skip ? "decode_skip_hex" : "decode_hex")->valuestring, &wl);
            t->checks++;
            size_t gl;
            if (fc_tokenizer_decode_n(tok, ids, n, skip, &out, &gl)) {
                fc_test_fail(t, "decode[%d]: %s", i, fc_errmsg());
                bad++;
            } else {
                if (gl != wl || memcmp(out, want, wl) != 0) {
                    fc_test_fail(t, "decode[%d] skip=%d: got '%s' (%zu bytes) want '%s' (%zu bytes)", i, skip, out, gl,
                                 want, wl);
                    bad++;
                }
                free(out);
            }
            free(want);
        }
        free(ids);
        free(s);
    }
done:
    cJSON_Delete(corpus);
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

/* The whole corpus joined by "\n", twice, as one text: long segments, repeated words (the word cache). */
static void check_long(fc_test *t, const char *model, const char *fixture) {
    fc_tokenizer *tok = load_tok(t, model);
    cJSON *corpus = load_json(t, FIX "corpus.json"), *ref = load_json(t, fixture);
    char *text = NULL;
    if (!tok || !corpus || !ref) goto done;
    const cJSON *strs = cJSON_GetObjectItem(corpus, "strings_hex"), *it;
    size_t cap = 0, len = 0;
    cJSON_ArrayForEach(it, strs) cap += strlen(it->valuestring) / 2 + 1;
    text = malloc(2 * cap + 1);
    for (int rep = 0; rep < 2; rep++) {
        cJSON_ArrayForEach(it, strs) {
            size_t n;
            char *s = unhex(it->valuestring, &n);
            if (len) text[len++] = '\n';
            memcpy(text + len, s, n), len += n;
            free(s);
        }
    }
    int32_t *ids;
    int n;
    FC_CHECK(t, !fc_tokenizer_encode(tok, text, len, true, &ids, &n), "%s", fc_errmsg());
    t->checks++;
    ids_equal(t, "long_ids", 0, ids, n, cJSON_GetObjectItem(ref, "long_ids"));
    free(ids);
done:
    free(text);
    cJSON_Delete(corpus);
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

static void check_decode_random(fc_test *t, const char *model, const char *fixture) {
    fc_tokenizer *tok = load_tok(t, model);
    cJSON *ref = load_json(t, fixture);
    if (!tok || !ref) goto done;
    const cJSON *cases = cJSON_GetObjectItem(ref, "decode_random"), *c;
    FC_CHECK(t, cJSON_GetArraySize(cases) >= 50, "%d cases", cJSON_GetArraySize(cases));
    int i = 0;
    cJSON_ArrayForEach(c, cases) {
        const cJSON *ja = cJSON_GetObjectItem(c, "ids");
        int n = cJSON_GetArraySize(ja);
        int32_t ids[64];
        for (int k = 0; k < n; k++) ids[k] = cJSON_GetArrayItem(ja, k)->valueint;
        for (int skip = 0; skip < 2; skip++) {
            size_t wl;
            char *want = unhex(cJSON_GetObjectItem(c, skip ? "decode_skip_hex" : "decode_hex")->valuestring, &wl), *out;
            size_t gl;
            fc_err e = fc_tokenizer_decode_n(tok, ids, n, skip, &out, &gl);
            t->checks++;
            if (e) fc_test_fail(t, "decode_random[%d]: %s", i, fc_errmsg());
            else if (gl != wl || memcmp(out, want, wl)) fc_test_fail(t, "decode_random[%d] skip=%d: got '%s' want '%s'", i, skip, out, want);
            if (!e) free(out);
            free(want);
        }
        i++;
    }
done:
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

static void check_specials(fc_test *t, const char *model, const char *fixture) {
    fc_tokenizer *tok = load_tok(t, model);
    cJSON *ref = load_json(t, fixture);
    if (!tok || !ref) goto done;
    FC_CHECK(t, fc_tokenizer_vocab_size(tok) == cJSON_GetObjectItem(ref, "vocab_size")->valueint, "vocab %d",
             fc_tokenizer_vocab_size(tok));
    FC_CHECK(t, fc_tokenizer_bos(tok) == cJSON_GetObjectItem(ref, "bos")->valueint, "bos %d", fc_tokenizer_bos(tok));
    FC_CHECK(t, fc_tokenizer_eos(tok) == cJSON_GetObjectItem(ref, "eos")->valueint, "eos %d", fc_tokenizer_eos(tok));
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(ref, "token_ids")) {
        FC_CHECK(t, fc_tokenizer_token_id(tok, it->string) == it->valueint, "token_id(%s) = %d, want %d", it->string,
                 fc_tokenizer_token_id(tok, it->string), it->valueint);
    }
    FC_CHECK(t, fc_tokenizer_token_id(tok, "no such token at all") == -1, "absent token");
done:
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

static void test_llava_corpus(fc_test *t) { check_corpus(t, "llava-1.5-7b-hf", FIX "llava.json"); }
static void test_minicpmv_corpus(fc_test *t) { check_corpus(t, "minicpm-v-2_6", FIX "minicpmv.json"); }
static void test_llava_long(fc_test *t) { check_long(t, "llava-1.5-7b-hf", FIX "llava.json"); }
static void test_minicpmv_long(fc_test *t) { check_long(t, "minicpm-v-2_6", FIX "minicpmv.json"); }
static void test_llava_decode_random(fc_test *t) { check_decode_random(t, "llava-1.5-7b-hf", FIX "llava.json"); }
static void test_minicpmv_decode_random(fc_test *t) { check_decode_random(t, "minicpm-v-2_6", FIX "minicpmv.json"); }
static void test_llava_specials(fc_test *t) { check_specials(t, "llava-1.5-7b-hf", FIX "llava.json"); }
static void test_minicpmv_specials(fc_test *t) { check_specials(t, "minicpm-v-2_6", FIX "minicpmv.json"); }

/* reference §2.6: ids verified with Rust tokenizers 0.22.2 and an independent re-implementation */
static void test_llava_reference_ids(fc_test *t) {
    fc_tokenizer *tok = load_tok(t, "llava-1.5-7b-hf");
    if (!tok) return;
    static const int32_t want[] = {1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618,
                                   526, 1438, 29973, 319, 1799, 9047, 13566, 29901};
    static const int32_t hello[] = {1, 15043, 445, 338, 263, 1243};
    const char *q = "USER: <image>\nWhat are these? ASSISTANT:";
    int32_t *ids;
    int n;
    FC_CHECK(t, !fc_tokenizer_encode(tok, q, strlen(q), true, &ids, &n), "%s", fc_errmsg());
    bool same = n == 17 && !memcmp(ids, want, sizeof want);
    free(ids);
    FC_CHECK(t, same, "USER: <image> prompt: %d ids", n);
    FC_CHECK(t, !fc_tokenizer_encode(tok, "Hello this is a test", 20, true, &ids, &n), "%s", fc_errmsg());
    same = n == 6 && !memcmp(ids, hello, sizeof hello);
    free(ids);
    FC_CHECK(t, same, "Hello this is a test: %d ids", n);
    /* 592 after expansion: 16 text ids + 576 image ids */
    fc_chat_msg m = {FC_CHAT_USER, 1, "What are these?"};
    char *p;
    FC_CHECK(t, !fc_chat_llava_prompt(&m, 1, FC_CHAT_LLAVA_IMAGE_TOKENS, &p), "%s", fc_errmsg());
    fc_err e = fc_tokenizer_encode(tok, p, strlen(p), true, &ids, &n);
    free(p);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    int images = 0;
    for (int i = 0; i < n; i++) images += ids[i] == 32000;
    free(ids);
    FC_CHECK(t, n == 592 && images == 576, "%d ids, %d image ids", n, images);
    fc_tokenizer_free(tok);
}

static const char *role_str[] = {"system", "user", "assistant"};

static int parse_msgs(const cJSON *jm, fc_chat_msg *m) {
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, jm) {
        const char *role = cJSON_GetArrayItem(it, 0)->valuestring;
        m[n].role = !strcmp(role, "system") ? FC_CHAT_SYSTEM : !strcmp(role, "user") ? FC_CHAT_USER : FC_CHAT_ASSISTANT;
        m[n].n_images = cJSON_GetArrayItem(it, 1)->valueint;
        const cJSON *tx = cJSON_GetArrayItem(it, 2);
        m[n].text = cJSON_IsString(tx) ? tx->valuestring : NULL;
        n++;
    }
    return n;
}

static void test_chat_llava(fc_test *t) {
    fc_tokenizer *tok = load_tok(t, "llava-1.5-7b-hf");
    cJSON *ref = load_json(t, FIX "chat.json");
    if (!tok || !ref) goto done;
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "llava")) {
        fc_chat_msg m[8];
        int n = parse_msgs(cJSON_GetObjectItem(c, "messages"), m);
        char *r, *p;
        FC_CHECK(t, !fc_chat_llava_render(m, n, true, &r), "%s", fc_errmsg());
        const char *want = cJSON_GetObjectItem(c, "rendered")->valuestring;
        bool same = !strcmp(r, want);
        if (!same) fc_test_fail(t, "llava[%d] (%s...): rendered '%s' want '%s'", i, role_str[m[0].role], r, want);
        free(r);
        if (!same) break;
        FC_CHECK(t, !fc_chat_llava_prompt(m, n, FC_CHAT_LLAVA_IMAGE_TOKENS, &p), "%s", fc_errmsg());
        int32_t *ids;
        int nid;
        fc_err e = fc_tokenizer_encode(tok, p, strlen(p), true, &ids, &nid);
        free(p);
        FC_CHECK(t, !e, "%s", fc_errmsg());
        t->checks++;
        ids_equal(t, "llava chat ids", i, ids, nid, cJSON_GetObjectItem(c, "ids"));
        free(ids);
        i++;
    }
    FC_CHECK(t, i >= 5, "%d llava cases", i);
done:
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

static void test_chat_minicpmv(fc_test *t) {
    fc_tokenizer *tok = load_tok(t, "minicpm-v-2_6");
    cJSON *ref = load_json(t, FIX "chat.json");
    if (!tok || !ref) goto done;
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "minicpmv")) {
        fc_chat_msg m[8];
        fc_chat_grid g[8];
        int n = parse_msgs(cJSON_GetObjectItem(c, "messages"), m), ng = 0;
        const cJSON *jg;
        cJSON_ArrayForEach(jg, cJSON_GetObjectItem(c, "grids")) {
            g[ng].cols = cJSON_GetArrayItem(jg, 0)->valueint, g[ng].rows = cJSON_GetArrayItem(jg, 1)->valueint;
            ng++;
        }
        char *r, *p;
        FC_CHECK(t, !fc_chat_minicpmv_render(m, n, true, &r), "%s", fc_errmsg());
        const char *want = cJSON_GetObjectItem(c, "rendered")->valuestring;
        bool same = !strcmp(r, want);
        if (!same) fc_test_fail(t, "minicpmv[%d]: rendered '%s' want '%s'", i, r, want);
        free(r);
        if (!same) break;
        FC_CHECK(t, !fc_chat_minicpmv_prompt(m, n, g, ng, &p), "%s", fc_errmsg());
        same = !strcmp(p, cJSON_GetObjectItem(c, "expanded")->valuestring);
        if (!same) fc_test_fail(t, "minicpmv[%d]: expanded prompt differs", i);
        int32_t *ids;
        int nid;
        fc_err e = fc_tokenizer_encode(tok, p, strlen(p), true, &ids, &nid);
        free(p);
        FC_CHECK(t, !e, "%s", fc_errmsg());
        t->checks++;
        ids_equal(t, "minicpmv chat ids", i, ids, nid, cJSON_GetObjectItem(c, "ids"));
        free(ids);
        i++;
    }
    FC_CHECK(t, i >= 8, "%d minicpmv cases", i);
    /* a prompt whose placeholders and images disagree is an error, not a silent mismatch */
    fc_chat_msg m = {FC_CHAT_USER, 2, "x"};
    fc_chat_grid g = {0, 0};
    char *p = NULL;
    FC_CHECK(t, fc_chat_minicpmv_prompt(&m, 1, &g, 1, &p) == FC_EINVAL && !p, "2 placeholders, 1 image");
    FC_CHECK(t, strstr(fc_errmsg(), "image") != NULL, "message: %s", fc_errmsg());
done:
    cJSON_Delete(ref);
    fc_tokenizer_free(tok);
}

static void test_nfc(fc_test *t) {
    cJSON *corpus = load_json(t, FIX "corpus.json");
    if (!corpus) return;
    const cJSON *c;
    int i = 0, bad = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(corpus, "nfc_hex")) {
        size_t n, wn, gn;
        char *in = unhex(cJSON_GetArrayItem(c, 0)->valuestring, &n), *want = unhex(cJSON_GetArrayItem(c, 1)->valuestring, &wn);
        char *got;
        t->checks++;
        if (fc_nfc_normalize(in, n, &got, &gn)) fc_test_fail(t, "nfc[%d]: %s", i, fc_errmsg()), bad++;
        else {
            if (gn != wn || memcmp(got, want, wn)) fc_test_fail(t, "nfc[%d]: '%s' -> '%s' want '%s'", i, in, got, want), bad++;
            free(got);
        }
        free(in), free(want);
        i++;
        if (bad >= 5) break;
    }
    FC_CHECK(t, i > 2000, "%d nfc cases", i);
    cJSON_Delete(corpus);
    /* a long run of combining marks takes the counting-sort path and stays stable */
    char buf[4 * 200 + 2] = "a";
    size_t n = 1;
    for (int k = 0; k < 100; k++) n += (size_t)fc_utf8_encode(k % 2 ? 0x301 : 0x323, buf + n); /* ccc 230 / 220 */
    char *got;
    size_t gn;
    FC_CHECK(t, !fc_nfc_normalize(buf, n, &got, &gn), "%s", fc_errmsg());
    /* a + 0323 + 0301 composes to ... U+1EA1 (a with dot below) then 0301 blocked? no: 0301 (230) after
     * 0323 (220) is not blocked and a-dot-below + acute has no composite; expected from the definition:
     * U+1EA1, then 49 more U+0323, then 50 U+0301 in order */
    uint32_t cp;
    int k = fc_utf8_decode((const unsigned char *)got, gn, &cp);
    FC_CHECK(t, k == 3 && cp == 0x1EA1, "first code point U+%04X", cp);
    size_t off = 3;
    for (int j = 0; j < 99; j++) {
        k = fc_utf8_decode((const unsigned char *)got + off, gn - off, &cp);
        FC_CHECK(t, k == 2 && cp == (j < 49 ? 0x323u : 0x301u), "mark %d: U+%04X", j, cp);
        off += 2;
    }
    FC_CHECK(t, off == gn, "length %zu vs %zu", off, gn);
    free(got);
}

/* Our documented behaviour for ill-formed UTF-8 (tokenizer.h), checked from its definition. */
static void test_invalid_utf8(fc_test *t) {
    fc_tokenizer *ll = load_tok(t, "llava-1.5-7b-hf"), *qw = load_tok(t, "minicpm-v-2_6");
    if (!ll || !qw) goto done;
    int32_t *ids;
    int n;
    char *out;
    /* Llama: "x\xff" -> "▁x" then the byte-fallback token <0xFF>; decode: the lone byte is U+FFFD */
    FC_CHECK(t, !fc_tokenizer_encode(ll, "x\xff", 2, false, &ids, &n), "%s", fc_errmsg());
    bool ok = n == 2 && ids[0] == fc_tokenizer_token_id(ll, "\xe2\x96\x81x") && ids[1] == fc_tokenizer_token_id(ll, "<0xFF>");
    FC_CHECK(t, !fc_tokenizer_decode(ll, ids, n, true, &out), "%s", fc_errmsg());
    free(ids);
    FC_CHECK(t, ok, "llama x\\xff: %d ids", n);
    ok = !strcmp(out, "x\xef\xbf\xbd");
    free(out);
    FC_CHECK(t, ok, "llama decode of x\\xff");
    /* a truncated 3-byte sequence: 2 bytes, each its own symbol -> 2 byte tokens, decoded to 2 U+FFFD
     * (the library's ByteFallback replaces each byte of an ill-formed run) */
    FC_CHECK(t, !fc_tokenizer_encode(ll, "\xe4\xbd", 2, false, &ids, &n), "%s", fc_errmsg());
    ok = n == 3 && ids[1] == fc_tokenizer_token_id(ll, "<0xE4>") && ids[2] == fc_tokenizer_token_id(ll, "<0xBD>");
    FC_CHECK(t, !fc_tokenizer_decode(ll, ids, n, true, &out), "%s", fc_errmsg());
    free(ids);
    FC_CHECK(t, ok, "llama truncated sequence: %d ids", n);
    ok = !strcmp(out, "\xef\xbf\xbd\xef\xbf\xbd");
    free(out);
    FC_CHECK(t, ok, "llama decode of truncated sequence");
    /* Qwen2: "a\xffb" -> pieces "a", "\xff", "b"; the byte maps through the byte map (0xFF -> U+00FF "ÿ");
     * decode: U+FFFD for the lone byte (from_utf8_lossy) */
    FC_CHECK(t, !fc_tokenizer_encode(qw, "a\xff" "b", 3, true, &ids, &n), "%s", fc_errmsg());
    ok = n == 3 && ids[0] == fc_tokenizer_token_id(qw, "a") && ids[1] == fc_tokenizer_token_id(qw, "\xc3\xbf") &&
         ids[2] == fc_tokenizer_token_id(qw, "b");
    FC_CHECK(t, !fc_tokenizer_decode(qw, ids, n, false, &out), "%s", fc_errmsg());
    free(ids);
    FC_CHECK(t, ok, "qwen2 a\\xffb: %d ids", n);
    ok = !strcmp(out, "a\xef\xbf\xbd" "b");
    free(out);
    FC_CHECK(t, ok, "qwen2 decode of a\\xffb");
    /* Qwen2: a stray continuation byte inside NFD text: NFC composes around it, never across it */
    FC_CHECK(t, !fc_tokenizer_encode(qw, "e\xcc\x81\x80\xcc\x81", 6, true, &ids, &n), "%s", fc_errmsg());
    FC_CHECK(t, !fc_tokenizer_decode(qw, ids, n, false, &out), "%s", fc_errmsg());
    free(ids);
    ok = !strcmp(out, "\xc3\xa9\xef\xbf\xbd\xcc\x81");
    free(out);
    FC_CHECK(t, ok, "qwen2 e+acute, stray byte, acute");
    /* every byte string round-trips through Qwen2 exactly up to the lossy step: check on all 256 bytes */
    char all[256];
    for (int b = 0; b < 256; b++) all[b] = (char)b;
    FC_CHECK(t, !fc_tokenizer_encode(qw, all, 256, true, &ids, &n), "%s", fc_errmsg());
    size_t gl;
    FC_CHECK(t, !fc_tokenizer_decode_n(qw, ids, n, false, &out, &gl), "%s", fc_errmsg());
    free(ids);
    char *want;
    size_t wl;
    FC_CHECK(t, !fc_utf8_lossy((const unsigned char *)all, 256, &want, &wl), "lossy");
    ok = gl == wl && !memcmp(out, want, wl);
    free(out), free(want);
    FC_CHECK(t, ok, "qwen2 all bytes");
    /* decode: ids with no token are skipped; tokenizers 0.22.2's Tokenizer.decode on llava's tokenizer.json
     * gives 'Hello this' for these ids (32023 is one of the lm_head's padding rows) */
    int32_t unknown[5] = {1, 15043, 32023, 445, 99999};
    FC_CHECK(t, !fc_tokenizer_decode(ll, unknown, 5, true, &out), "%s", fc_errmsg());
    ok = !strcmp(out, "Hello this");
    FC_CHECK(t, ok, "ids without a token: got '%s'", out);
    free(out);
    /* empty text: Llama gives just BOS, Qwen2 nothing; NULL text with length 0 is fine */
    FC_CHECK(t, !fc_tokenizer_encode(ll, "", 0, true, &ids, &n) && n == 1 && ids[0] == 1, "llama empty: %d", n);
    free(ids);
    FC_CHECK(t, !fc_tokenizer_encode(qw, NULL, 0, true, &ids, &n) && n == 0 && ids, "qwen2 empty: %d", n);
    free(ids);
done:
    fc_tokenizer_free(ll);
    fc_tokenizer_free(qw);
}

static void test_utf8_lossy(fc_test *t) {
    /* maximal subparts (Unicode 15 Table 3-8): F1 80 80 is one subpart, E1 80 one, the rest single */
    const unsigned char in[] = {0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0x63};
    char *out;
    size_t n;
    FC_CHECK(t, !fc_utf8_lossy(in, sizeof in, &out, &n), "%s", fc_errmsg());
    const char want[] = "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c";
    bool ok = n == sizeof want - 1 && !memcmp(out, want, n);
    free(out);
    FC_CHECK(t, ok, "lossy conversion: %zu bytes", n);
}

/* Random byte strings (ill-formed UTF-8, NULs, fragments of added tokens, combining marks): no failure, valid
 * UTF-8 out, and for Qwen2 the exact round trip decode(encode(x)) == lossy(NFC(x)) our definition implies. */
static void test_random_bytes(fc_test *t) {
    fc_tokenizer *ll = load_tok(t, "llava-1.5-7b-hf"), *qw = load_tok(t, "minicpm-v-2_6");
    if (!ll || !qw) goto done;
    static const char *frag[] = {"<image>", "<unk>", "<|im_start|>", "<s>", "\xcc\x81", "\xe4\xbd\xa0", "<ima",
                                 "\xf0\x9f\x98", " ", "\n", "\r\n", "'s", "e\xcc\x81", "\xe1\x84\x80\xe1\x85\xa1"};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf[512];
    for (int it = 0; it < 300; it++) {
        size_t n = 0, want_len;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t target = (x >> 33) % 200;
        while (n < target) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(x >> 40);
            if (r % 4 == 0) {
                const char *f = frag[(r >> 4) % (sizeof frag / sizeof frag[0])];
                size_t fl = strlen(f);
                memcpy(buf + n, f, fl), n += fl;
            } else {
                buf[n++] = (char)(r % 3 == 0 ? (r >> 8) % 128 : (r >> 8) & 0xFF);
            }
        }
        fc_tokenizer *toks[2] = {ll, qw};
        for (int k = 0; k < 2; k++) {
            int32_t *ids;
            int nid;
            char *out;
            size_t ol;
            FC_CHECK(t, !fc_tokenizer_encode(toks[k], buf, n, true, &ids, &nid), "encode %d/%d: %s", it, k, fc_errmsg());
            fc_err e = fc_tokenizer_decode_n(toks[k], ids, nid, false, &out, &ol);
            free(ids);
            FC_CHECK(t, !e, "decode %d/%d: %s", it, k, fc_errmsg());
            bool valid = fc_utf8_valid((const unsigned char *)out, ol);
            bool same = true;
            if (k == 1) {
                char *nf, *want;
                size_t nl;
                FC_CHECK(t, !fc_nfc_normalize(buf, n, &nf, &nl), "nfc");
                FC_CHECK(t, !fc_utf8_lossy((const unsigned char *)nf, nl, &want, &want_len), "lossy");
                same = ol == want_len && !memcmp(out, want, ol);
                free(nf), free(want);
            }
            free(out);
            FC_CHECK(t, valid, "case %d tokenizer %d: decoded text is not valid UTF-8", it, k);
            FC_CHECK(t, same, "case %d: qwen2 round trip differs from lossy(NFC(x)) (%zu bytes)", it, n);
        }
    }
done:
    fc_tokenizer_free(ll);
    fc_tokenizer_free(qw);
}

static void test_load_errors(fc_test *t) {
    fc_tokenizer *tok = (fc_tokenizer *)1;
    FC_CHECK(t, fc_tokenizer_load(&tok, "/nonexistent/dir") == FC_ENOTFOUND && !tok, "missing dir");
    FC_CHECK(t, strstr(fc_errmsg(), "/nonexistent/dir"), "message: %s", fc_errmsg());
    /* a folder with a broken tokenizer.json */
    char dir[] = "/tmp/fc_tok_test_XXXXXX";
    FC_CHECK(t, mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    const char *bad[] = {"{", "[]", "{\"model\": {\"type\": \"WordPiece\"}}",
                         "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}",
                         "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": -3}, \"merges\": []}}"};
    const char *want[] = {"not a JSON object", "not a JSON object", "not BPE", "not in the vocabulary", "not a valid id"};
    for (int i = 0; i < 5; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        fc_err e = fc_tokenizer_load(&tok, dir);
        FC_CHECK(t, e != FC_OK && !tok, "bad tokenizer.json %d accepted", i);
        FC_CHECK(t, strstr(fc_errmsg(), want[i]) && strstr(fc_errmsg(), "tokenizer.json"), "case %d: %s", i, fc_errmsg());
    }
    remove(path);
    /* the Qwen2 files: a merge line that is not two tokens, a merge of unknown tokens, a missing byte token */
    char vpath[256], mpath[256], cpath[256];
    snprintf(vpath, sizeof vpath, "%s/vocab.json", dir);
    snprintf(mpath, sizeof mpath, "%s/merges.txt", dir);
    snprintf(cpath, sizeof cpath, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(cpath, "w");
    fputs("{\"tokenizer_class\": \"Qwen2Tokenizer\"}", f);
    fclose(f);
    f = fopen(vpath, "w");
    fputs("{\"a\": 0, \"b\": 1, \"ab\": 2}", f);
    fclose(f);
    const char *merges[] = {"#version: 0.2\na b\nabc\n", "a b\na q\n", "a b\n"};
    const char *mwant[] = {"merges.txt:3: a merge line is two tokens", "merges.txt:2: merge 'a q' uses a token not in vocab.json",
                           "vocab.json: no token for byte 0x00"};
    for (int i = 0; i < 3; i++) {
        f = fopen(mpath, "w");
        fputs(merges[i], f);
        fclose(f);
        fc_err e = fc_tokenizer_load(&tok, dir);
        FC_CHECK(t, e != FC_OK && !tok, "bad qwen2 files %d accepted", i);
        FC_CHECK(t, strstr(fc_errmsg(), mwant[i]), "qwen2 case %d: %s", i, fc_errmsg());
    }
    remove(vpath), remove(mpath), remove(cpath);
    rmdir(dir);
}

static const fc_test_case cases[] = {
    FC_CASE(test_llava_reference_ids), FC_CASE(test_llava_specials),      FC_CASE(test_minicpmv_specials),
    FC_CASE(test_llava_corpus),        FC_CASE(test_minicpmv_corpus),     FC_CASE(test_llava_long),
    FC_CASE(test_minicpmv_long),     FC_CASE(test_llava_decode_random),
    FC_CASE(test_minicpmv_decode_random), FC_CASE(test_chat_llava),       FC_CASE(test_chat_minicpmv),
    FC_CASE(test_nfc),                 FC_CASE(test_invalid_utf8),        FC_CASE(test_utf8_lossy),
    FC_CASE(test_random_bytes),        FC_CASE(test_load_errors),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
