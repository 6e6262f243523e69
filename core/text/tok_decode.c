/* tok_decode.c: the decoder chain of the `tokenizers` library over a list of token strings: Replace,
 * ByteFallback, Fuse, Strip (Llama's tokenizer.json) and ByteLevel (Qwen2), each step as the library's
 * decode_chain does it, then the pieces joined. */
#include <string.h>

#include "core/base/mem.h"
#include "core/text/tok_internal.h"
#include "core/text/utf8.h"

uint32_t fc_tok_byte_char(unsigned b) {
    /* printable Latin-1 bytes stand for themselves; the other 68 (0x00-0x20, 0x7F-0xA0, 0xAD) are
     * numbered from U+0100 in byte order */
    if (b <= 0x20) return 256 + b;
    if (b >= 0x7F && b <= 0xA0) return 256 + 33 + (b - 0x7F);
    if (b == 0xAD) return 256 + 33 + 34;
    return b;
}

typedef struct {
    char **s;
    size_t *len;
    int n;
} toklist;

static void toklist_free(toklist *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s), free(l->len);
}

static char *dup_n(const char *s, size_t n) {
    char *d = fc_malloc(n + 1, "decode");
    if (d) memcpy(d, s, n), d[n] = 0;
    return d;
}

static fc_err step_replace(toklist *l, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to);
    for (int i = 0; i < l->n; i++) {
        size_t count = 0;
        for (size_t j = 0; fl && j + fl <= l->len[i];) {
            if (!memcmp(l->s[i] + j, from, fl)) count++, j += fl;
            else j++;
        }
        if (!count) continue;
        char *d = fc_malloc(l->len[i] + count * tl + 1, "decode");
        if (!d) return FC_ENOMEM;
        size_t k = 0;
        for (size_t j = 0; j < l->len[i];) {
            if (j + fl <= l->len[i] && !memcmp(l->s[i] + j, from, fl)) memcpy(d + k, to, tl), k += tl, j += fl;
            else d[k++] = l->s[i][j++];
        }
        d[k] = 0;
        free(l->s[i]);
        l->s[i] = d, l->len[i] = k;
    }
    return FC_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xXX>" -> byte, else -1 */
static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

/* A run of byte tokens becomes its UTF-8 text when the run is well-formed, else one U+FFFD per byte
 * (the library's ByteFallback, which does not look for a well-formed prefix). */
static fc_err step_byte_fallback(toklist *l) {
    int k = 0;
    for (int i = 0; i < l->n;) {
        if (byte_token(l->s[i], l->len[i]) < 0) {
            l->s[k] = l->s[i], l->len[k++] = l->len[i];
            i++;
            continue;
        }
        int j = i;
        while (j < l->n && byte_token(l->s[j], l->len[j]) >= 0) j++;
        size_t nb = (size_t)(j - i);
        unsigned char *bytes = fc_malloc(nb * 3 + 1, "decode");
        if (!bytes) return FC_ENOMEM;
        for (int x = i; x < j; x++) bytes[x - i] = (unsigned char)byte_token(l->s[x], l->len[x]);
        size_t len = nb;
        if (!fc_utf8_valid(bytes, nb)) {
            len = 0;
            for (size_t x = 0; x < nb; x++) len += (size_t)fc_utf8_encode(0xFFFD, (char *)bytes + len);
        }
        bytes[len] = 0;
        for (int x = i; x < j; x++) free(l->s[x]);
        l->s[k] = (char *)bytes, l->len[k++] = len;
        i = j;
    }
    l->n = k;
    return FC_OK;
}

static fc_err step_fuse(toklist *l) {
    if (l->n <= 1) return FC_OK;
    size_t total = 0;
    for (int i = 0; i < l->n; i++) total += l->len[i];
    char *d = fc_malloc(total + 1, "decode");
    if (!d) return FC_ENOMEM;
    size_t k = 0;
    for (int i = 0; i < l->n; i++) memcpy(d + k, l->s[i], l->len[i]), k += l->len[i], free(l->s[i]);
    d[k] = 0;
    l->s[0] = d, l->len[0] = k, l->n = 1;
    return FC_OK;
}

static void step_strip(toklist *l, uint32_t c, int start, int stop) {
    char enc[4];
    size_t cl = (size_t)fc_utf8_encode(c, enc);
    for (int i = 0; i < l->n; i++) {
        size_t b = 0, e = l->len[i];
        for (int k = 0; k < start && b + cl <= e && !memcmp(l->s[i] + b, enc, cl); k++) b += cl;
        for (int k = 0; k < stop && e >= b + cl && !memcmp(l->s[i] + e - cl, enc, cl); k++) e -= cl;
        memmove(l->s[i], l->s[i] + b, e - b);
        l->len[i] = e - b;
        l->s[i][e - b] = 0;
    }
}

/* Each token whose every character is in the byte map becomes those bytes, any other token its own
 * UTF-8; all are concatenated and made valid with U+FFFD (Rust from_utf8_lossy). */
static fc_err step_byte_level(toklist *l) {
    int16_t inv[324];
    for (int i = 0; i < 324; i++) inv[i] = -1;
    for (unsigned b = 0; b < 256; b++) inv[fc_tok_byte_char(b)] = (int16_t)b;
    size_t total = 0;
    for (int i = 0; i < l->n; i++) total += l->len[i];
    unsigned char *bytes = fc_malloc(total + 1, "decode");
    if (!bytes) return FC_ENOMEM;
    size_t k = 0;
    for (int i = 0; i < l->n; i++) {
        const unsigned char *s = (const unsigned char *)l->s[i];
        size_t start = k;
        bool ok = true;
        for (size_t j = 0; j < l->len[i];) {
            uint32_t cp;
            int m = fc_utf8_decode(s + j, l->len[i] - j, &cp);
            if (m < 0 || cp >= 324 || inv[cp] < 0) {
                ok = false;
                break;
            }
            bytes[k++] = (unsigned char)inv[cp];
            j += (size_t)m;
        }
        if (!ok) {
            k = start;
            memcpy(bytes + k, s, l->len[i]);
            k += l->len[i];
        }
        free(l->s[i]);
    }
    char *d;
    size_t dl;
    fc_err e = fc_utf8_lossy(bytes, k, &d, &dl);
    free(bytes);
    l->n = 0;
    if (e) return e;
    l->s[0] = d, l->len[0] = dl, l->n = 1;
    return FC_OK;
}

fc_err fc_tok_decode_chain(const fc_tokenizer *t, const char **tok, const size_t *tok_len, int n, char **out,
                           size_t *out_len) {
    toklist l = {fc_calloc((size_t)n + 1, sizeof(char *), "decode"), fc_calloc((size_t)n + 1, sizeof(size_t), "decode"),
                 0};
    fc_err e = FC_OK;
    if (!l.s || !l.len) {
        e = FC_ENOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        if (!(l.s[i] = dup_n(tok[i], tok_len[i]))) {
            e = FC_ENOMEM;
            goto done;
        }
        l.len[i] = tok_len[i], l.n = i + 1;
    }
    for (int k = 0; k < t->n_dec && !e; k++) {
        const fc_dec_step *st = &t->dec[k];
        switch (st->kind) {
        case FC_DEC_REPLACE: e = step_replace(&l, st->from, st->to); break;
        case FC_DEC_BYTE_FALLBACK: e = step_byte_fallback(&l); break;
        case FC_DEC_FUSE: e = step_fuse(&l); break;
        case FC_DEC_STRIP: step_strip(&l, st->strip_char, st->strip_start, st->strip_stop); break;
        case FC_DEC_BYTE_LEVEL: e = step_byte_level(&l); break;
        }
    }
    if (!e) e = step_fuse(&l); /* the library joins what the chain leaves with "" */
    if (!e) {
        if (l.n == 0) {
            *out = dup_n("", 0);
            *out_len = 0;
            if (!*out) e = FC_ENOMEM;
        } else {
            *out = l.s[0];
            *out_len = l.len[0];
            l.n = 0;
        }
    }
done:
    toklist_free(&l);
    return e;
}
