/* utf8.c: strict UTF-8 decoding and the lossy replacement used by the decoders (see utf8.h). */
#include "core/text/utf8.h"

#include <string.h>

#include "core/base/mem.h"

int fc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte (Table 3-7) */
    uint32_t c;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1, c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2, c = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3, c = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) return -i;
        unsigned x = s[i];
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (x < l || x > h) return -i;
        c = (c << 6) | (x & 0x3F);
    }
    *cp = c;
    return need + 1;
}

int fc_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int fc_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int k = fc_utf8_decode(s + i, n - i, &cp);
        if (k < 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

fc_err fc_utf8_lossy(const unsigned char *s, size_t n, char **out, size_t *out_len) {
    /* each replaced subpart (>= 1 byte) grows to at most 3 bytes */
    size_t cap;
    if (!fc_mul_size(n, 3, &cap) || cap == SIZE_MAX) return fc_err_set(FC_ENOMEM, "utf8: text of %zu bytes too large", n);
    char *o = fc_malloc(cap + 1, "utf8 lossy");
    if (!o) return FC_ENOMEM;
    size_t i = 0, j = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            o[j++] = (char)s[i++];
            continue;
        }
        uint32_t cp;
        int k = fc_utf8_decode(s + i, n - i, &cp);
        if (k > 0) {
            memcpy(o + j, s + i, (size_t)k);
            j += (size_t)k, i += (size_t)k;
        } else {
            j += (size_t)fc_utf8_encode(0xFFFD, o + j);
            i += (size_t)(-k);
        }
    }
    o[j] = 0;
    *out = o;
    *out_len = j;
    return FC_OK;
}
