/* test_image.c: image decoding, Pillow's bicubic resize and the two VLM preprocessors against fixtures made
 * by tools/make_image_fixtures.py with Pillow and transformers' CLIPImageProcessor (versions in
 * tests/fixtures/image/VERSIONS). uint8 pixels must equal Pillow's exactly (compared by CRC-32 of the RGB
 * bytes, computed the same way on both sides); normalised f32 within 1e-5 of the processor; MiniCPM-V grids
 * equal over a 216-size sweep; every bad input in tests/corpus/image gives a clean error. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/mem.h"
#include "core/image/image.h"
#include "core/image/preprocess.h"
#include "core/io/safetensors.h"
#include "tests/test.h"

#define FIX "tests/fixtures/image"

/* ---- helpers ---- */

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

static cJSON *load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    s[got] = 0;
    cJSON *j = cJSON_Parse(s);
    free(s);
    return j;
}

static int jint(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return v ? (int)v->valuedouble : -1;
}

static uint32_t jcrc(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return v ? (uint32_t)v->valuedouble : 0;
}

static int jarr(const cJSON *o, const char *k, int i) {
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, k), i);
    return v ? (int)v->valuedouble : -1;
}

/* "gqa:<file>" or "edge:<file>" -> a path */
static void case_path(char *buf, size_t cap, const char *name) {
    if (!strncmp(name, "gqa:", 4))
        snprintf(buf, cap, "%s/data/gqa-demo/gqa/%s", fc_test_shared(), name + 4);
    else
        snprintf(buf, cap, FIX "/edge/%s", strchr(name, ':') + 1);
}

static cJSON *cases_or_fail(fc_test *t) {
    cJSON *j = load_json(FIX "/cases.json");
    if (!j) fc_test_fail(t, "cannot read " FIX "/cases.json (run tools/make_image_fixtures.py)");
    return j;
}

/* ---- decode ---- */

static void test_decode_matches_pillow(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    const cJSON *c;
    int n = 0, bad = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        char path[1024];
        case_path(path, sizeof path, name);
        fc_image im;
        fc_err e = fc_image_load(&im, path);
        t->checks++;
        if (e) {
            fc_test_fail(t, "%s: %s", name, fc_errmsg());
            bad++;
            continue;
        }
        if (im.w != jint(c, "w") || im.h != jint(c, "h") || crc_img(&im) != jcrc(c, "crc")) {
            fc_test_fail(t, "%s: decoded %dx%d crc %08x, Pillow %dx%d crc %08x", name, im.w, im.h, crc_img(&im),
                         jint(c, "w"), jint(c, "h"), jcrc(c, "crc"));
            bad++;
        }
        fc_image_free(&im);
        n++;
    }
    cJSON_Delete(j);
    FC_CHECK(t, n >= 99 && bad == 0, "%d images decoded, %d differ from Pillow", n, bad);
}

/* ---- resize and CLIP ---- */

static void test_clip_resize_and_crop_match_pillow(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    fc_clip_preproc_cfg cfg;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    FC_CHECK(t, fc_preproc_config_load(dir, FC_PREPROC_LLAVA, &cfg, NULL) == FC_OK, "%s", fc_errmsg());
    const cJSON *c;
    int n = 0, npad = 0, bad = 0, nskip = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        char path[1024];
        case_path(path, sizeof path, name);
        fc_image im, full, crop;
        FC_CHECK(t, fc_image_load(&im, path) == FC_OK, "%s", fc_errmsg());
        const cJSON *clip = cJSON_GetObjectItemCaseSensitive(c, "clip");
        int rw = jarr(clip, "resize", 0), rh = jarr(clip, "resize", 1);
        /* the full resize, as Pillow's Image.resize returns it (skipped for the strips of 40+ Mpixel that
         * 1 x N images become: their crop below goes through the same taps) */
        t->checks++;
        if ((int64_t)rw * rh > 4000000) {
            nskip++;
        } else if (fc_image_resize_bicubic(&full, &im, rw, rh) != FC_OK) {
            fc_test_fail(t, "%s: resize: %s", name, fc_errmsg());
            bad++;
        } else {
            if (crc_img(&full) != jcrc(clip, "resize_crc")) {
                fc_test_fail(t, "%s: resize to %dx%d crc %08x, Pillow %08x", name, rw, rh, crc_img(&full), jcrc(clip, "resize_crc"));
                bad++;
            }
            fc_image_free(&full);
        }
        /* the processor's uint8 crop, through the fused resize+crop window */
        t->checks++;
        if (fc_clip_preprocess_u8(&im, &cfg, &crop) != FC_OK) {
            fc_test_fail(t, "%s: clip: %s", name, fc_errmsg());
            bad++;
        } else {
            if (crop.w != 336 || crop.h != 336 || crc_img(&crop) != jcrc(clip, "crop_crc")) {
                fc_test_fail(t, "%s: clip crop %dx%d crc %08x, processor %08x", name, crop.w, crop.h, crc_img(&crop), jcrc(clip, "crop_crc"));
                bad++;
            }
            fc_image_free(&crop);
        }
        const cJSON *pad = cJSON_GetObjectItemCaseSensitive(c, "clip_pad");
        if (pad) {
            fc_clip_preproc_cfg pcfg = cfg;
            pcfg.pad_to_square = true;
            t->checks++;
            if (fc_clip_preprocess_u8(&im, &pcfg, &crop) != FC_OK || crc_img(&crop) != jcrc(pad, "crop_crc")) {
                fc_test_fail(t, "%s: expand2square + clip differs (%s)", name, fc_errmsg());
                bad++;
            }
            fc_image_free(&crop);
            npad++;
        }
        fc_image_free(&im);
        n++;
    }
    cJSON_Delete(j);
    FC_CHECK(t, n >= 99 && npad >= 5 && nskip <= 4 && bad == 0, "%d images (%d padded, %d full resizes skipped), %d mismatches",
             n, npad, nskip, bad);
}

static void test_resize_window_equals_crop_of_full(fc_test *t) {
    fc_image src, full, win, crop;
    FC_CHECK(t, fc_image_alloc(&src, 37, 23) == FC_OK, "%s", fc_errmsg());
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)37 * 23 * 3; i++) src.rgb[i] = (uint8_t)((s = s * 1103515245u + 12345u) >> 24);
    const int sizes[][2] = {{80, 50}, {11, 7}, {37, 90}, {120, 23}, {5, 5}};
    for (int k = 0; k < 5; k++) {
        int ow = sizes[k][0], oh = sizes[k][1];
        FC_CHECK(t, fc_image_resize_bicubic(&full, &src, ow, oh) == FC_OK, "%s", fc_errmsg());
        int x0 = ow / 3, y0 = oh / 4, ww = ow - x0 - ow / 5, wh = oh - y0 - 1;
        FC_CHECK(t, fc_image_resize_bicubic_window(&win, &src, ow, oh, x0, y0, ww, wh) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, fc_image_crop(&crop, &full, x0, y0, ww, wh) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, !memcmp(win.rgb, crop.rgb, (size_t)ww * wh * 3), "window of %dx%d differs from the crop", ow, oh);
        fc_image_free(&full);
        fc_image_free(&win);
        fc_image_free(&crop);
    }
    /* same size is a copy, as Pillow */
    FC_CHECK(t, fc_image_resize_bicubic(&full, &src, 37, 23) == FC_OK && !memcmp(full.rgb, src.rgb, (size_t)37 * 23 * 3),
             "same-size resize is not a copy");
    fc_image_free(&full);
    FC_CHECK(t, fc_image_resize_bicubic_window(&win, &src, 10, 10, 5, 5, 6, 1) == FC_EINVAL, "window outside accepted");
    FC_CHECK(t, fc_image_resize_bicubic(&win, &src, 0, 10) == FC_EINVAL, "empty target accepted");
    fc_image_free(&src);
}

/* ---- normalisation ---- */

static void test_normalization_matches_processors(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX "/norm.safetensors") == FC_OK, "%s", fc_errmsg());
    const fc_st_entry *clut = fc_st_find(&f, "clip_lut"), *mlut = fc_st_find(&f, "minicpmv_lut");
    FC_CHECK(t, clut && mlut && clut->st_dtype == FC_ST_F32 && mlut->st_dtype == FC_ST_F32, "luts missing");
    fc_image ramp;
    FC_CHECK(t, fc_image_alloc(&ramp, 256, 1) == FC_OK, "%s", fc_errmsg());
    for (int v = 0; v < 256; v++) ramp.rgb[3 * v] = ramp.rgb[3 * v + 1] = ramp.rgb[3 * v + 2] = (uint8_t)v;
    float got[3 * 256];
    fc_clip_preproc_cfg cfg;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    FC_CHECK(t, fc_preproc_config_load(dir, FC_PREPROC_LLAVA, &cfg, NULL) == FC_OK, "%s", fc_errmsg());
    fc_clip_normalize(&ramp, &cfg, got);
    /* 1e-5: the spec's bound on normalised pixels; in fact both sides do the same f32 operations */
    fc_test_close(t, "clip_lut", got, clut->data, 3 * 256, 1e-5, 0);
    fc_minicpmv_slice_cfg mcfg;
    fc_minicpmv_slice_cfg_default(&mcfg);
    mcfg.slice_mode = false; /* the piece is the image itself: a 256x1 ramp, normalised */
    fc_minicpmv_slices sl;
    FC_CHECK(t, fc_minicpmv_slice(&ramp, &mcfg, &sl) == FC_OK && sl.n == 1, "%s", fc_errmsg());
    fc_test_close(t, "minicpmv_lut", sl.pixels[0], mlut->data, 3 * 256, 1e-5, 0);
    fc_minicpmv_slices_free(&sl);
    fc_image_free(&ramp);
    /* one whole processor output, end to end from the JPEG file */
    int full = 0;
    for (int i = 0; i < f.n_entries; i++) {
        const fc_st_entry *e = &f.entries[i];
        if (strncmp(e->name, "clip.", 5)) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/data/gqa-demo/gqa/%s", fc_test_shared(), e->name + 5);
        fc_image im;
        FC_CHECK(t, fc_image_load(&im, path) == FC_OK, "%s", fc_errmsg());
        int h, w;
        FC_CHECK(t, fc_clip_output_size(&im, &cfg, &h, &w) == FC_OK && h == 336 && w == 336, "output size %dx%d", w, h);
        FC_CHECK(t, e->ndim == 3 && e->shape[0] == 3 && e->shape[1] == 336 && e->shape[2] == 336, "fixture shape");
        float *out = malloc(sizeof(float) * 3 * 336 * 336);
        FC_CHECK(t, fc_clip_preprocess(&im, &cfg, out) == FC_OK, "%s", fc_errmsg());
        fc_test_close(t, e->name, out, e->data, 3 * 336 * 336, 1e-5, 0);
        free(out);
        fc_image_free(&im);
        full++;
    }
    FC_CHECK(t, full >= 1, "no full clip tensor in the fixture");
    fc_st_close(&f);
}

/* ---- MiniCPM-V ---- */

static void test_minicpmv_pieces_match_reference(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    fc_minicpmv_slice_cfg cfg;
    fc_minicpmv_slice_cfg_default(&cfg);
    const cJSON *c;
    int n = 0, bad = 0, sliced = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        char path[1024];
        case_path(path, sizeof path, name);
        fc_image im;
        FC_CHECK(t, fc_image_load(&im, path) == FC_OK, "%s", fc_errmsg());
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "minicpmv");
        const cJSON *pieces = cJSON_GetObjectItemCaseSensitive(m, "pieces");
        fc_minicpmv_slices sl;
        t->checks++;
        if (fc_minicpmv_slice(&im, &cfg, &sl) != FC_OK) {
            fc_test_fail(t, "%s: %s", name, fc_errmsg());
            bad++;
            fc_image_free(&im);
            continue;
        }
        if (sl.grid_cols != jarr(m, "grid", 0) || sl.grid_rows != jarr(m, "grid", 1) || sl.n != cJSON_GetArraySize(pieces)) {
            fc_test_fail(t, "%s: grid %dx%d with %d pieces, reference %dx%d with %d", name, sl.grid_cols, sl.grid_rows,
                         sl.n, jarr(m, "grid", 0), jarr(m, "grid", 1), cJSON_GetArraySize(pieces));
            bad++;
        } else {
            for (int i = 0; i < sl.n; i++) {
                const cJSON *p = cJSON_GetArrayItem(pieces, i);
                int pw = (int)cJSON_GetArrayItem(p, 0)->valuedouble, ph = (int)cJSON_GetArrayItem(p, 1)->valuedouble;
                uint32_t pc = (uint32_t)cJSON_GetArrayItem(p, 2)->valuedouble;
                if (sl.u8[i].w != pw || sl.u8[i].h != ph || crc_img(&sl.u8[i]) != pc || sl.tgt[i][0] != ph / 14 ||
                    sl.tgt[i][1] != pw / 14) {
                    fc_test_fail(t, "%s: piece %d is %dx%d crc %08x, reference %dx%d crc %08x", name, i, sl.u8[i].w,
                                 sl.u8[i].h, crc_img(&sl.u8[i]), pw, ph, pc);
                    bad++;
                }
            }
        }
        sliced += sl.grid_cols > 0;
        fc_minicpmv_slices_free(&sl);
        fc_image_free(&im);
        n++;
    }
    cJSON_Delete(j);
    FC_CHECK(t, n >= 99 && sliced >= 10 && bad == 0, "%d images (%d sliced), %d mismatches", n, sliced, bad);
}

static void test_minicpmv_grid_sweep(fc_test *t) {
    cJSON *j = load_json(FIX "/grid_sweep.json");
    FC_CHECK(t, j, "cannot read " FIX "/grid_sweep.json");
    fc_minicpmv_slice_cfg cfg;
    fc_minicpmv_slice_cfg_default(&cfg);
    const cJSON *s;
    int n = 0, bad = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "sweep")) {
        int w = jint(s, "w"), h = jint(s, "h"), gc, gr, ow, oh, rw = 0, rh = 0;
        fc_minicpmv_grid(&cfg, w, h, &gc, &gr);
        fc_minicpmv_best_resize(&cfg, w, h, gc == 0, &ow, &oh);
        if (gc) fc_minicpmv_refine_size(&cfg, w, h, gc, gr, &rw, &rh);
        if (gc != jarr(s, "grid", 0) || gr != jarr(s, "grid", 1) || ow != jarr(s, "overview", 0) ||
            oh != jarr(s, "overview", 1) || rw != jarr(s, "refine", 0) || rh != jarr(s, "refine", 1)) {
            if (bad < 5)
                fc_test_fail(t, "%dx%d: grid %dx%d overview %dx%d refine %dx%d; reference grid %dx%d overview %dx%d refine %dx%d",
                             w, h, gc, gr, ow, oh, rw, rh, jarr(s, "grid", 0), jarr(s, "grid", 1), jarr(s, "overview", 0),
                             jarr(s, "overview", 1), jarr(s, "refine", 0), jarr(s, "refine", 1));
            bad++;
        }
        n++;
    }
    cJSON_Delete(j);
    FC_CHECK(t, n >= 200 && bad == 0, "%d sizes, %d differ", n, bad);
}

/* The worked examples of ../shared/reference/model-architectures.md §3.3 (input, grid, overview, slice). */
static void test_minicpmv_reference_table(fc_test *t) {
    static const int rows[][8] = {
        {224, 224, 0, 0, 448, 448, 0, 0},    {640, 480, 2, 1, 518, 392, 364, 546},
        {800, 600, 2, 2, 518, 392, 518, 392}, {1280, 720, 3, 2, 602, 336, 490, 406},
        {1920, 1080, 4, 2, 602, 336, 420, 476}, {1344, 1344, 3, 3, 448, 448, 448, 448},
        {4032, 3024, 3, 3, 518, 392, 518, 392}, {3000, 1000, 4, 2, 770, 252, 546, 364},
    };
    fc_minicpmv_slice_cfg cfg;
    fc_minicpmv_slice_cfg_default(&cfg);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const int *r = rows[i];
        int gc, gr, ow, oh, rw = 0, rh = 0;
        fc_minicpmv_grid(&cfg, r[0], r[1], &gc, &gr);
        fc_minicpmv_best_resize(&cfg, r[0], r[1], gc == 0, &ow, &oh);
        if (gc) fc_minicpmv_refine_size(&cfg, r[0], r[1], gc, gr, &rw, &rh);
        int sw = gc ? rw / gc : 0, sh = gc ? rh / gr : 0;
        FC_CHECK(t, gc == r[2] && gr == r[3] && ow == r[4] && oh == r[5] && sw == r[6] && sh == r[7],
                 "%dx%d: grid %dx%d overview %dx%d slice %dx%d", r[0], r[1], gc, gr, ow, oh, sw, sh);
    }
}

/* ---- configuration ---- */

static void test_config_and_kind_detection(fc_test *t) {
    char dir[1024];
    fc_preproc_kind k;
    snprintf(dir, sizeof dir, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    FC_CHECK(t, fc_preproc_detect_kind(dir, &k) == FC_OK && k == FC_PREPROC_LLAVA, "llava: %s", fc_errmsg());
    fc_clip_preproc_cfg c, d;
    fc_clip_preproc_cfg_default(&d);
    FC_CHECK(t, fc_preproc_config_load(dir, k, &c, NULL) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.shortest_edge == 336 && c.crop_h == 336 && c.crop_w == 336 && c.do_center_crop && !c.pad_to_square &&
                    c.mean[0] == 0.48145466f && c.std[2] == 0.27577711f && c.rescale_factor == d.rescale_factor,
             "llava config fields");
    snprintf(dir, sizeof dir, "%s/data/models/minicpm-v-2_6", fc_test_shared());
    FC_CHECK(t, fc_preproc_detect_kind(dir, &k) == FC_OK && k == FC_PREPROC_MINICPMV, "minicpm: %s", fc_errmsg());
    fc_minicpmv_slice_cfg m;
    FC_CHECK(t, fc_preproc_config_load(dir, k, NULL, &m) == FC_OK && m.scale_resolution == 448 && m.max_slice_nums == 9,
             "minicpm defaults: %s", fc_errmsg());
    FC_CHECK(t, fc_preproc_detect_kind(FIX "/edge", &k) == FC_ENOTFOUND && strstr(fc_errmsg(), "--model-type"),
             "undetectable folder: %s", fc_errmsg());
    /* a malformed preprocessor_config.json names the file and key */
    char tmpl[] = "/tmp/fc_test_image_XXXXXX";
    FC_CHECK(t, mkdtemp(tmpl), "mkdtemp");
    char path[1100];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", tmpl);
    const char *bad[][2] = {
        {"{\"crop_size\": {\"height\": -3, \"width\": 336}}", "crop_size.height"},
        {"{\"image_std\": [0.2, 0, 0.3]}", "image_std[1]"},
        {"{\"resample\": 2}", "resample"},
        {"{\"size\": \"big\"}", "size"},
        {"{\"do_resize\": 1", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i][0], f);
        fclose(f);
        fc_err e = fc_preproc_config_load(tmpl, FC_PREPROC_LLAVA, &c, NULL);
        FC_CHECK(t, e != FC_OK && strstr(fc_errmsg(), "preprocessor_config.json") && strstr(fc_errmsg(), bad[i][1]),
                 "'%s' gave %d '%s'", bad[i][0], e, fc_errmsg());
    }
    FILE *f = fopen(path, "w");
    fputs("{\"max_slice_nums\": 4, \"scale_resolution\": 224, \"norm_mean\": [0.1, 0.2, 0.3]}", f);
    fclose(f);
    FC_CHECK(t, fc_preproc_config_load(tmpl, FC_PREPROC_MINICPMV, NULL, &m) == FC_OK && m.max_slice_nums == 4 &&
                    m.scale_resolution == 224 && m.mean[2] == 0.3f && m.std[0] == 0.5f,
             "minicpm overrides: %s", fc_errmsg());
    remove(path);
    rmdir(tmpl);
}

/* ---- bad input ---- */

static void test_corpus_gives_clean_errors(fc_test *t) {
    static const struct {
        const char *file;
        fc_err code;
        const char *words;
    } cases[] = {
        {"truncated_half.jpg", FC_EFORMAT, "truncated"},
        {"truncated_header.jpg", FC_EFORMAT, "truncated"},
        {"truncated.png", FC_EFORMAT, "truncated"},
        {"empty.jpg", FC_EFORMAT, "empty"},
        {"not_an_image.jpg", FC_EFORMAT, "not a JPEG or PNG"},
        {"garbage_after_soi.jpg", FC_EFORMAT, "JPEG"},
        {"huge_100000x100000.png", FC_ESHAPE, "100000x100000"},
        {"huge_65000x65000.jpg", FC_ESHAPE, "65000x65000"},
        {"bad_ihdr_crc.png", FC_EFORMAT, "CRC"},
        {"zero_width.png", FC_EFORMAT, "0x20 is empty"},
        {"corrupt_idat.png", FC_EFORMAT, "PNG"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "tests/corpus/image/%s", cases[i].file);
        fc_image im = {0};
        fc_err e = fc_image_load(&im, path);
        FC_CHECK(t, e == cases[i].code && strstr(fc_errmsg(), path) && strstr(fc_errmsg(), cases[i].words) && !im.rgb,
                 "%s: got %s '%s'", cases[i].file, fc_err_name(e), fc_errmsg());
    }
    fc_image im;
    FC_CHECK(t, fc_image_load(&im, "tests/corpus/image/no_such_file.jpg") == FC_ENOTFOUND && strstr(fc_errmsg(), "no_such_file"),
             "missing file: %s", fc_errmsg());
    FC_CHECK(t, fc_image_load(&im, "tests/corpus/image") == FC_EIO, "a directory: %s", fc_errmsg());
}

/* Truncated files: a prefix must fail exactly when Pillow's Image.open(...).convert("RGB") fails (Pillow
 * does not need a JPEG's EOI or a PNG's trailing chunks), never crash, never come back with filler rows. */
static void test_truncation_matches_pillow(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    const cJSON *c;
    int files = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "truncation")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "file")->valuestring;
        int size = jint(c, "size"), min_ok = jint(c, "min_ok");
        char path[1024];
        case_path(path, sizeof path, name);
        FILE *f = fopen(path, "rb");
        FC_CHECK(t, f, "open %s", path);
        uint8_t *buf = malloc((size_t)size);
        size_t n = fread(buf, 1, (size_t)size, f);
        fclose(f);
        FC_CHECK(t, (int)n == size, "%s: %zu bytes, fixture says %d", path, n, size);
        int wrong = 0, first_wrong = -1;
        /* every length near the end, a sample of the rest */
        for (int len = 0; len <= size; len += len < size - 64 ? size / 97 + 1 : 1) {
            fc_image im;
            fc_err e = fc_image_load_mem(&im, buf, (size_t)len, "prefix");
            fc_image_free(&im);
            int ok_from = min_ok;
            if ((e == FC_OK) != (len >= ok_from) || (e != FC_OK && e != FC_EFORMAT)) {
                if (first_wrong < 0) first_wrong = len;
                wrong++;
            }
        }
        free(buf);
        FC_CHECK(t, wrong == 0, "%s: %d prefix lengths disagree with Pillow (first: %d bytes; Pillow opens from %d of %d)",
                 name, wrong, first_wrong, min_ok, size);
        files++;
    }
    cJSON_Delete(j);
    FC_CHECK(t, files >= 4, "only %d truncation fixtures", files);
}

/* Resizes that exercise both pass orders and single-axis resizes, against Pillow. */
static void test_resize_sweep_matches_pillow(fc_test *t) {
    cJSON *j = cases_or_fail(t);
    if (!j) return;
    const cJSON *c;
    int n = 0, bad = 0, orders_differ = 0;
    fc_image src = {0};
    char loaded[256] = "";
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "resize_sweep")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "src")->valuestring;
        if (strcmp(name, loaded)) {
            char path[1024];
            case_path(path, sizeof path, name);
            fc_image_free(&src);
            FC_CHECK(t, fc_image_load(&src, path) == FC_OK, "%s", fc_errmsg());
            snprintf(loaded, sizeof loaded, "%s", name);
        }
        int w = jint(c, "w"), h = jint(c, "h");
        fc_image out;
        FC_CHECK(t, fc_image_resize_bicubic(&out, &src, w, h) == FC_OK, "%s", fc_errmsg());
        if (crc_img(&out) != jcrc(c, "crc")) {
            if (bad < 5) fc_test_fail(t, "%s %dx%d -> %dx%d differs from Pillow", name, src.w, src.h, w, h);
            bad++;
        }
        fc_image_free(&out);
        FC_CHECK(t, fc_image_resize_bicubic_ex(&out, &src, w, h, 0, 0, w, h, FC_RESIZE_H_FIRST) == FC_OK, "%s", fc_errmsg());
        if (crc_img(&out) != jcrc(c, "crc_hfirst")) {
            if (bad < 5) fc_test_fail(t, "%s %dx%d -> %dx%d differs from Pillow's horizontal-first order", name, src.w, src.h, w, h);
            bad++;
        }
        orders_differ += jcrc(c, "crc") != jcrc(c, "crc_hfirst");
        fc_image_free(&out);
        n++;
    }
    fc_image_free(&src);
    cJSON_Delete(j);
    /* the sweep must contain sizes where the two orders really give different pixels */
    FC_CHECK(t, n >= 80 && bad == 0 && orders_differ >= 5, "%d resizes, %d differ, orders differ on %d", n, bad, orders_differ);
}

/* PNG chunk CRCs recomputed after a mutation, so that corrupted chunk data reaches the inflater and the
 * row filters instead of stopping at libpng's CRC check. */
static void png_fix_crcs(uint8_t *b, size_t n) {
    size_t p = 8;
    while (p + 12 <= n) {
        uint32_t len = (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | b[p + 3];
        if (len > n - p - 12) break;
        uint32_t c = crc32_bytes(b + p + 4, (size_t)len + 4);
        for (int k = 0; k < 4; k++) b[p + 8 + len + k] = (uint8_t)(c >> (24 - 8 * k));
        p += 12 + len;
    }
}

/* Random byte corruption never crashes or leaks (run under ASan/UBSan by make test); the decoder either
 * errors with a message naming the input or returns an image of the header's size. */
static void test_corrupted_bytes_never_crash(fc_test *t) {
    const char *files[] = {FIX "/edge/small_30x20.png", FIX "/edge/palette_4bit.png", FIX "/edge/grey16.png",
                           FIX "/edge/grey_L.jpg", FIX "/edge/progressive.jpg", FIX "/edge/cmyk.jpg"};
    uint32_t seed = 20240607u;
    int errors = 0, decoded = 0;
    for (int k = 0; k < 6; k++) {
        FILE *f = fopen(files[k], "rb");
        FC_CHECK(t, f, "open %s", files[k]);
        uint8_t *orig = malloc(1 << 16), *buf = malloc(1 << 16);
        size_t n = fread(orig, 1, 1 << 16, f);
        fclose(f);
        for (int rep = 0; rep < 150; rep++) {
            memcpy(buf, orig, n);
            int flips = 1 + rep % 4;
            for (int i = 0; i < flips; i++) {
                seed = seed * 1664525u + 1013904223u;
                size_t at = 8 + (seed >> 8) % (n - 8); /* keep the magic so the decoder is reached */
                seed = seed * 1664525u + 1013904223u;
                buf[at] ^= (uint8_t)(1u + (seed >> 24) % 255u);
            }
            if (buf[1] == 'P') png_fix_crcs(buf, n);
            fc_image im;
            fc_err e = fc_image_load_mem(&im, buf, n, "mutant");
            if (e == FC_OK) {
                decoded++;
                FC_CHECK(t, im.rgb && im.w >= 1 && im.h >= 1, "%s rep %d: OK without pixels", files[k], rep);
                fc_image_free(&im);
            } else {
                errors++;
                FC_CHECK(t, !im.rgb && strstr(fc_errmsg(), "mutant"), "%s rep %d: %s", files[k], rep, fc_errmsg());
            }
        }
        free(orig);
        free(buf);
    }
    FC_CHECK(t, errors > 50 && decoded > 50, "%d errors, %d decoded: the mutations did not exercise both paths", errors, decoded);
}

static const fc_test_case cases[] = {
    FC_CASE(test_decode_matches_pillow),
    FC_CASE(test_clip_resize_and_crop_match_pillow),
    FC_CASE(test_resize_window_equals_crop_of_full),
    FC_CASE(test_normalization_matches_processors),
    FC_CASE(test_minicpmv_pieces_match_reference),
    FC_CASE(test_minicpmv_grid_sweep),
    FC_CASE(test_minicpmv_reference_table),
    FC_CASE(test_config_and_kind_detection),
    FC_CASE(test_corpus_gives_clean_errors),
    FC_CASE(test_truncation_matches_pillow),
    FC_CASE(test_resize_sweep_matches_pillow),
    FC_CASE(test_corrupted_bytes_never_crash),
};

int main(int argc, char **argv) {
    return fc_test_main(argc, argv, cases, FC_NCASES(cases));
}
