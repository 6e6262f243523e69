/* test_resize_order.c: which of Pillow's two bicubic passes runs first (issue 13), against fixtures made by
 * tools/make_resize_order_fixtures.py with Pillow 13.0.0 and, for --legacy-resize, Pillow 12.1.1 (versions
 * in tests/fixtures/image/resize_order/cases.json and the header of pairs.txt):
 * - the rule itself on 3000 random (src, dst) size pairs, a third of them on the threshold
 *   src_h - dst_h = 2 (src_w - dst_w) + {-1, 0, 1}: our resize equals Pillow 13's (CRC-32 of the RGB bytes),
 *   and the horizontal-first order equals Pillow 12.1's;
 * - tall noise images through the LLaVA (CLIPImageProcessor) and MiniCPM-V pipelines, default order vs
 *   Pillow 13, FC_RESIZE_H_FIRST vs Pillow 12.1.
 * The images are made here with the generator the script uses (noise below), so nothing large is committed. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/image/image.h"
#include "core/image/preprocess.h"
#include "tests/test.h"

#define FIX "tests/fixtures/image/resize_order"

static uint32_t crc32_bytes(const uint8_t *p, size_t n) { /* zlib's CRC-32 (reflected 0xEDB88320) */
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t crc_img(const fc_image *im) {
    return crc32_bytes(im->rgb, (size_t)im->w * im->h * 3);
}

/* The script's noise(w, h, seed): byte i of the RGB buffer is the top byte of murmur3's fmix32 of
 * (i + 1) * 0x9E3779B1 + seed * 0x85EBCA77 (mod 2^32). */
static fc_err noise(fc_image *im, int w, int h, uint32_t seed) {
    FC_TRY(fc_image_alloc(im, w, h));
    size_t n = (size_t)w * h * 3;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)(i + 1) * 0x9E3779B1u + seed * 0x85EBCA77u;
        x ^= x >> 16;
        x *= 0x85EBCA6Bu;
        x ^= x >> 13;
        x *= 0xC2B2AE35u;
        x ^= x >> 16;
        im->rgb[i] = (uint8_t)(x >> 24);
    }
    return FC_OK;
}

static cJSON *load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!s) return NULL;
    s[got] = 0;
    cJSON *j = cJSON_Parse(s);
    free(s);
    return j;
}

static int jint(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
}

static uint32_t jnum_at(const cJSON *arr, int i) {
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    return cJSON_IsNumber(v) ? (uint32_t)v->valuedouble : 0;
}

/* The rule on random size pairs: each pair's result equals Pillow 13's, and the legacy order Pillow 12.1's. */
static void test_pass_order_rule_matches_pillow13_on_size_pairs(fc_test *t) {
    FILE *f = fopen(FIX "/pairs.txt", "r");
    FC_CHECK(t, f, "cannot read " FIX "/pairs.txt (run tools/make_resize_order_fixtures.py)");
    char line[256];
    int n = 0, bad = 0, bad_legacy = 0, nv = 0, nh = 0, on_threshold = 0, legacy_differs = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        int sw, sh, dw, dh;
        unsigned crc13;
        char order, leg[16];
        if (sscanf(line, "%d %d %d %d %x %c %15s", &sw, &sh, &dw, &dh, &crc13, &order, leg) != 7) {
            fc_test_fail(t, "pairs.txt: cannot parse '%s'", line);
            bad++;
            break;
        }
        uint32_t want_legacy = strcmp(leg, "-") ? (uint32_t)strtoul(leg, NULL, 16) : crc13;
        fc_image src, out;
        FC_CHECK(t, noise(&src, sw, sh, (uint32_t)n) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, fc_image_resize_bicubic(&out, &src, dw, dh) == FC_OK, "%s", fc_errmsg());
        if (crc_img(&out) != crc13) {
            if (bad < 5)
                fc_test_fail(t, "pair %d: %dx%d -> %dx%d differs from Pillow 13 (which ran %s first)", n, sw, sh, dw, dh,
                             order == 'v' ? "the vertical pass" : order == 'h' ? "the horizontal pass" : "either pass");
            bad++;
        }
        fc_image_free(&out);
        FC_CHECK(t, fc_image_resize_bicubic_ex(&out, &src, dw, dh, 0, 0, dw, dh, FC_RESIZE_H_FIRST) == FC_OK, "%s",
                 fc_errmsg());
        if (crc_img(&out) != want_legacy) {
            if (bad_legacy < 5)
                fc_test_fail(t, "pair %d: %dx%d -> %dx%d, legacy order differs from Pillow 12.1", n, sw, sh, dw, dh);
            bad_legacy++;
        }
        fc_image_free(&out);
        fc_image_free(&src);
        nv += order == 'v';
        nh += order == 'h';
        int gap = (sh - dh) - 2 * (sw - dw);
        on_threshold += order != 'b' && gap >= -1 && gap <= 1;
        legacy_differs += want_legacy != crc13;
        n++;
    }
    fclose(f);
    t->checks += 2 * n;
    /* the pairs must really tell the orders apart, on both sides of the threshold and on it */
    FC_CHECK(t, n >= 3000 && bad == 0 && bad_legacy == 0 && nv >= 1000 && nh >= 1000 && on_threshold >= 500 &&
                    legacy_differs >= 1000,
             "%d pairs (Pillow 13: %d vertical first, %d horizontal first, %d on the threshold; %d differ from Pillow "
             "12.1): %d differ from Pillow 13, %d legacy results differ from Pillow 12.1",
             n, nv, nh, on_threshold, legacy_differs, bad, bad_legacy);
}

static cJSON *cases_or_fail(fc_test *t) {
    cJSON *j = load_json(FIX "/cases.json");
    if (!j) fc_test_fail(t, "cannot read " FIX "/cases.json (run tools/make_resize_order_fixtures.py)");
    return j;
}

static uint32_t case_seed(int w, int h) {
    return (uint32_t)(w * 7919 + h) & 0xFFFF;
}

/* LLaVA: the processor's 336x336 uint8 crop of tall noise images (400x1300, 350x2000, ... and sizes on both
 * sides of the threshold) equals Pillow 13's, and with --legacy-resize's order Pillow 12.1's. */
static void test_llava_tall_shrink_matches_pillow13(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    fc_clip_preproc_cfg cfg, legacy;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    FC_CHECK(t, fc_preproc_config_load(dir, FC_PREPROC_LLAVA, &cfg, NULL) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, cfg.order == FC_RESIZE_PILLOW, "the default order is not Pillow 13's");
    legacy = cfg;
    legacy.order = FC_RESIZE_H_FIRST;
    const cJSON *c;
    int n = 0, bad = 0, vfirst = 0, differ = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "llava")) {
        int w = jint(c, "w"), h = jint(c, "h");
        uint32_t want = (uint32_t)cJSON_GetObjectItemCaseSensitive(c, "crop_crc")->valuedouble;
        uint32_t want_legacy = (uint32_t)cJSON_GetObjectItemCaseSensitive(c, "crop_crc_legacy")->valuedouble;
        fc_image im, crop;
        FC_CHECK(t, noise(&im, w, h, case_seed(w, h)) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, fc_clip_preprocess_u8(&im, &cfg, &crop) == FC_OK, "%dx%d: %s", w, h, fc_errmsg());
        if (crop.w != 336 || crop.h != 336 || crc_img(&crop) != want) {
            fc_test_fail(t, "llava %dx%d: crop crc %08x, Pillow 13 %08x", w, h, crc_img(&crop), want);
            bad++;
        }
        fc_image_free(&crop);
        FC_CHECK(t, fc_clip_preprocess_u8(&im, &legacy, &crop) == FC_OK, "%dx%d: %s", w, h, fc_errmsg());
        if (crc_img(&crop) != want_legacy) {
            fc_test_fail(t, "llava %dx%d, legacy order: crop crc %08x, Pillow 12.1 %08x", w, h, crc_img(&crop),
                         want_legacy);
            bad++;
        }
        fc_image_free(&crop);
        fc_image_free(&im);
        vfirst += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "vertical_first"));
        differ += want != want_legacy;
        n++;
    }
    cJSON_Delete(j);
    t->checks += 2 * n;
    FC_CHECK(t, n >= 20 && vfirst >= 10 && differ >= 10 && bad == 0,
             "%d images (%d resized vertically first, %d where the orders differ), %d mismatches", n, vfirst, differ,
             bad);
}

/* MiniCPM-V: every piece (overview and slices) of tall noise images (200x3000, 500x1000, 333x999, ...)
 * equals the reference's under Pillow 13, and with the legacy order under Pillow 12.1. */
static void test_minicpmv_tall_shrink_matches_pillow13(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    fc_minicpmv_slice_cfg cfg, legacy;
    fc_minicpmv_slice_cfg_default(&cfg);
    FC_CHECK(t, cfg.order == FC_RESIZE_PILLOW, "the default order is not Pillow 13's");
    legacy = cfg;
    legacy.order = FC_RESIZE_H_FIRST;
    const cJSON *c;
    int n = 0, pieces = 0, bad = 0, differ = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "minicpmv")) {
        int w = jint(c, "w"), h = jint(c, "h");
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "pieces");
        const cJSON *want_legacy = cJSON_GetObjectItemCaseSensitive(c, "pieces_crc_legacy");
        const cJSON *grid = cJSON_GetObjectItemCaseSensitive(c, "grid");
        fc_image im;
        FC_CHECK(t, noise(&im, w, h, case_seed(w, h)) == FC_OK, "%s", fc_errmsg());
        for (int pass = 0; pass < 2; pass++) {
            fc_minicpmv_slices sl;
            FC_CHECK(t, fc_minicpmv_slice(&im, pass ? &legacy : &cfg, &sl) == FC_OK, "%dx%d: %s", w, h, fc_errmsg());
            if (sl.n != cJSON_GetArraySize(want) || sl.grid_cols != (int)jnum_at(grid, 0) ||
                sl.grid_rows != (int)jnum_at(grid, 1)) {
                fc_test_fail(t, "minicpmv %dx%d: grid %dx%d with %d pieces, reference %dx%d with %d", w, h, sl.grid_cols,
                             sl.grid_rows, sl.n, (int)jnum_at(grid, 0), (int)jnum_at(grid, 1), cJSON_GetArraySize(want));
                bad++;
            } else {
                for (int i = 0; i < sl.n; i++) {
                    const cJSON *p = cJSON_GetArrayItem(want, i);
                    uint32_t pc = pass ? jnum_at(want_legacy, i) : jnum_at(p, 2);
                    if (sl.u8[i].w != (int)jnum_at(p, 0) || sl.u8[i].h != (int)jnum_at(p, 1) || crc_img(&sl.u8[i]) != pc) {
                        fc_test_fail(t, "minicpmv %dx%d%s: piece %d is %dx%d crc %08x, Pillow %s %dx%d crc %08x", w, h,
                                     pass ? " (legacy order)" : "", i, sl.u8[i].w, sl.u8[i].h, crc_img(&sl.u8[i]),
                                     pass ? "12.1" : "13", (int)jnum_at(p, 0), (int)jnum_at(p, 1), pc);
                        bad++;
                    }
                    if (!pass) {
                        differ += pc != jnum_at(want_legacy, i);
                        pieces++;
                    }
                }
            }
            fc_minicpmv_slices_free(&sl);
        }
        fc_image_free(&im);
        n++;
    }
    cJSON_Delete(j);
    t->checks += 2 * pieces;
    FC_CHECK(t, n >= 14 && pieces >= 30 && differ >= 8 && bad == 0,
             "%d images, %d pieces (%d where the orders differ), %d mismatches", n, pieces, differ, bad);
}

/* The window a center crop reads must use the order of the whole resize (Pillow resizes the whole image,
 * the processor crops after): a window that alone would not shrink its height much still runs vertically
 * first when the full resize does. 400x1300 -> 336x1092 runs vertically first (208 > 2 * 64). */
static void test_window_uses_order_of_whole_resize(fc_test *t) {
    fc_image src, full, win, crop;
    FC_CHECK(t, noise(&src, 400, 1300, 7) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_image_resize_bicubic(&full, &src, 336, 1092) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_image_resize_bicubic_window(&win, &src, 336, 1092, 0, 378, 336, 336) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_image_crop(&crop, &full, 0, 378, 336, 336) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, !memcmp(win.rgb, crop.rgb, (size_t)336 * 336 * 3), "window differs from the crop of the full resize");
    fc_image_free(&win);
    FC_CHECK(t, fc_image_resize_bicubic_ex(&win, &src, 336, 1092, 0, 378, 336, 336, FC_RESIZE_H_FIRST) == FC_OK, "%s",
             fc_errmsg());
    FC_CHECK(t, memcmp(win.rgb, crop.rgb, (size_t)336 * 336 * 3), "both orders give the same pixels here");
    fc_image_free(&win);
    fc_image_free(&crop);
    fc_image_free(&full);
    fc_image_free(&src);
}

static const fc_test_case cases[] = {
    FC_CASE(test_pass_order_rule_matches_pillow13_on_size_pairs),
    FC_CASE(test_llava_tall_shrink_matches_pillow13),
    FC_CASE(test_minicpmv_tall_shrink_matches_pillow13),
    FC_CASE(test_window_uses_order_of_whole_resize),
};

int main(int argc, char **argv) {
    return fc_test_main(argc, argv, cases, FC_NCASES(cases));
}
