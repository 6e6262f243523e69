/* nfc.c: NFC normalisation (see nfc.h). Code points are held as uint32 in one buffer per call; an
 * ill-formed input byte b travels as FC_NFC_RAW + b, a value no table contains, so it is a starter that
 * composes with nothing and is written back as the same single byte. */
#include "core/text/nfc.h"

#include <stdbool.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/text/unicode_nfc_table.h"
#include "core/text/utf8.h"

#define FC_NFC_RAW 0x110000u

/* Hangul constants (Unicode §3.12) */
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21, TCOUNT = 28,
       NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *fc_nfc_unicode_version(void) { return FC_NFC_UNICODE_VERSION; }

int fc_nfc_ccc(uint32_t cp) {
    if (cp < 0x300 || cp >= FC_NFC_RAW) return 0;
    size_t lo = 0, hi = NELEM(fc_nfc_ccc_table);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < fc_nfc_ccc_table[mid].lo) hi = mid;
        else if (cp > fc_nfc_ccc_table[mid].hi) lo = mid + 1;
        else return fc_nfc_ccc_table[mid].ccc;
    }
    return 0;
}

static const fc_nfc_decomp_entry *find_decomp(uint32_t cp) {
    if (cp < 0xC0 || cp >= FC_NFC_RAW) return NULL;
    size_t lo = 0, hi = NELEM(fc_nfc_decomp);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < fc_nfc_decomp[mid].cp) hi = mid;
        else if (cp > fc_nfc_decomp[mid].cp) lo = mid + 1;
        else return &fc_nfc_decomp[mid];
    }
    return NULL;
}

uint32_t fc_nfc_compose_pair(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    size_t lo = 0, hi = NELEM(fc_nfc_comp);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const fc_nfc_comp_entry *e = &fc_nfc_comp[mid];
        if (a < e->first || (a == e->first && b < e->second)) hi = mid;
        else if (a > e->first || b > e->second) lo = mid + 1;
        else return e->composite;
    }
    return 0;
}

/* Appends the full canonical decomposition of cp to buf (room for 4 is guaranteed by the caller). */
static size_t decompose_one(uint32_t cp, uint32_t *buf) {
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE, t = s % TCOUNT;
        buf[0] = LBASE + s / NCOUNT;
        buf[1] = VBASE + (s % NCOUNT) / TCOUNT;
        if (t) buf[2] = TBASE + t;
        return t ? 3 : 2;
    }
    const fc_nfc_decomp_entry *e = find_decomp(cp);
    if (!e) {
        buf[0] = cp;
        return 1;
    }
    memcpy(buf, fc_nfc_decomp_pool + e->off, e->len * sizeof(uint32_t));
    return e->len;
}

/* Stable sort of one run of non-starters by combining class. Runs are short in real text; a long
 * adversarial run falls back to a counting sort (classes are < 256), which is stable too. */
static void sort_run(uint32_t *cp, uint8_t *cc, size_t n, uint32_t *tmp_cp) {
    if (n < 32) {
        for (size_t i = 1; i < n; i++) {
            uint32_t c = cp[i];
            uint8_t k = cc[i];
            size_t j = i;
            for (; j > 0 && cc[j - 1] > k; j--) cp[j] = cp[j - 1], cc[j] = cc[j - 1];
            cp[j] = c, cc[j] = k;
        }
        return;
    }
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) count[cc[i] + 1]++;
    for (int i = 1; i < 257; i++) count[i] += count[i - 1];
    for (size_t i = 0; i < n; i++) tmp_cp[count[cc[i]]++] = cp[i];
    memcpy(cp, tmp_cp, n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) cc[i] = (uint8_t)fc_nfc_ccc(cp[i]);
}

fc_err fc_nfc_normalize(const char *s, size_t n, char **out, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)s;
    /* quick check: every code point below U+0300 is NFC-stable and a starter, and its UTF-8 lead byte
     * is below 0xCC; stray continuation bytes below 0xCC pass through unchanged as well */
    size_t i = 0;
    while (i < n && u[i] < 0xCC) i++;
    if (i == n) {
        char *o = fc_malloc(n + 1, "nfc");
        if (!o) return FC_ENOMEM;
        memcpy(o, s, n);
        o[n] = 0;
        *out = o, *out_len = n;
        return FC_OK;
    }
    size_t cap; /* at most 4 code points per input byte (below), 4 output bytes per input byte */
    if (!fc_mul_size(n, 4 * sizeof(uint32_t), &cap) || cap == SIZE_MAX)
        return fc_err_set(FC_ENOMEM, "nfc: text of %zu bytes too large", n);
    uint32_t *cps = fc_malloc(cap, "nfc");
    uint32_t *tmp = fc_malloc(cap, "nfc");
    uint8_t *ccs = fc_malloc(n * 4, "nfc");
    char *o = fc_malloc(n * 4 + 1, "nfc"); /* NFC output is never longer than 3 bytes per input byte */
    if (!cps || !tmp || !ccs || !o) {
        free(cps), free(tmp), free(ccs), free(o);
        return FC_ENOMEM;
    }
    /* 1. decode + decompose (at most 4 code points per input byte: a 1-byte char yields 1, a Hangul
     *    syllable 3 bytes -> 3, the longest table entry is 4 code points from >= 2 bytes) */
    size_t m = 0;
    for (i = 0; i < n;) {
        uint32_t cp;
        int k = fc_utf8_decode(u + i, n - i, &cp);
        if (k < 0) {
            /* an ill-formed byte: keep it, one at a time, as an opaque starter */
            cps[m++] = FC_NFC_RAW + u[i];
            i++;
            continue;
        }
        i += (size_t)k;
        m += decompose_one(cp, cps + m);
    }
    /* 2. canonical ordering of each run of non-starters */
    for (size_t j = 0; j < m; j++) ccs[j] = (uint8_t)fc_nfc_ccc(cps[j]);
    for (size_t j = 0; j < m;) {
        if (!ccs[j]) {
            j++;
            continue;
        }
        size_t e = j;
        while (e < m && ccs[e]) e++;
        if (e - j > 1) sort_run(cps + j, ccs + j, e - j, tmp);
        j = e;
    }
    /* 3. canonical composition: after ordering, the last character written after the starter has the
     *    highest class among those between, so it alone decides whether the next one is blocked */
    size_t k = 0;
    long starter = -1;
    int prev_cc = 0;
    for (size_t j = 0; j < m; j++) {
        uint32_t c = cps[j];
        int cc = ccs[j];
        if (starter >= 0 && cps[starter] < FC_NFC_RAW && c < FC_NFC_RAW) {
            bool adjacent = k == (size_t)starter + 1;
            if (adjacent || (prev_cc != 0 && prev_cc < cc)) {
                uint32_t comp = fc_nfc_compose_pair(cps[starter], c);
                if (comp) {
                    cps[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = (long)k;
        cps[k++] = c;
        prev_cc = cc;
    }
    /* 4. encode */
    size_t len = 0;
    for (size_t j = 0; j < k; j++) {
        if (cps[j] >= FC_NFC_RAW) o[len++] = (char)(cps[j] - FC_NFC_RAW);
        else len += (size_t)fc_utf8_encode(cps[j], o + len);
    }
    o[len] = 0;
    free(cps), free(tmp), free(ccs);
    *out = o, *out_len = len;
    return FC_OK;
}
