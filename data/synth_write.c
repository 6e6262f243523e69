/* synth_write.c: a synthetic visual-QA data set on disk: pictures, LLaVA conversations, GQA-style questions
 * and scene files per split, and the multi-image / long-context samples (synth_vqa.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "core/image/encode.h"
#include "data/synth_vqa.h"

/* question RNG streams of the multi-image kinds sit above their scene streams */
#define STREAM_SAMPLE_BIT ((uint64_t)1 << 39)
#define MAX_SAMPLE_IMAGES 64

fc_synth_write_opts fc_synth_write_opts_default(void) {
    return (fc_synth_write_opts){.cfg = fc_synth_config_default(), .png = true, .jpeg_quality = 90,
                                 .multi_min = 2, .multi_max = 4, .long_images = 8};
}

typedef struct {
    const fc_synth_write_opts *o;
    uint8_t *rgb; /* (S, S, 3) scratch picture */
    int n_files;
} writer;

static fc_err json_write(writer *w, const char *name, cJSON *j, bool pretty) {
    if (!j) return fc_err_set(FC_ENOMEM, "synth: out of memory building %s", name);
    char *path = fc_path_join(w->o->out_dir, name);
    char *text = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    fc_err e = !path || !text ? fc_err_set(FC_ENOMEM, "synth: out of memory writing %s", name) : FC_OK;
    if (!e) {
        size_t n = strlen(text);
        text[n] = '\n'; /* cJSON's buffer ends in a NUL we may overwrite: the length is passed */
        e = fc_file_write_atomic(path, text, n + 1);
    }
    if (!e) w->n_files++;
    free(path), free(text);
    return e;
}

/* Renders the scene and writes images/<id>.png and/or .jpg; *rel gets the name the JSON uses. */
static fc_err write_picture(writer *w, const fc_synth_scene *s, const char *id, char *rel, size_t cap) {
    const fc_synth_config *c = &w->o->cfg;
    fc_synth_scene_render(c, s, w->rgb);
    char name[160];
    fc_err e = FC_OK;
    for (int k = 0; k < 2 && !e; k++) {
        bool png = k == 0;
        if (png ? !w->o->png : !w->o->jpeg) continue;
        snprintf(name, sizeof name, "images/%s.%s", id, png ? "png" : "jpg");
        if (k == 0 || !w->o->png) snprintf(rel, cap, "%s", name);
        char *path = fc_path_join(w->o->out_dir, name);
        if (!path) return FC_ENOMEM;
        e = png ? fc_image_write_png(path, w->rgb, c->image_size, c->image_size)
                : fc_image_write_jpeg(path, w->rgb, c->image_size, c->image_size, w->o->jpeg_quality);
        free(path);
        if (!e) w->n_files++;
    }
    return e;
}

static cJSON *scene_json(const fc_synth_config *c, const fc_synth_scene *s, const char *rel) {
    cJSON *j = cJSON_CreateObject(), *objs = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "file", rel);
    cJSON_AddNumberToObject(j, "width", c->image_size);
    cJSON_AddNumberToObject(j, "height", c->image_size);
    cJSON_AddNumberToObject(j, "grid", c->grid);
    for (int i = 0; i < s->n; i++) {
        const fc_synth_object *o = &s->obj[i];
        cJSON *x = cJSON_CreateObject();
        char cell[32];
        fc_synth_cell_name(c, o->row, o->col, cell);
        cJSON_AddStringToObject(x, "color", fc_synth_color_names[o->color]);
        cJSON_AddStringToObject(x, "shape", fc_synth_shape_names[o->shape]);
        cJSON_AddNumberToObject(x, "row", o->row);
        cJSON_AddNumberToObject(x, "col", o->col);
        cJSON_AddStringToObject(x, "cell", cell);
        cJSON_AddNumberToObject(x, "x", o->cx);
        cJSON_AddNumberToObject(x, "y", o->cy);
        cJSON_AddNumberToObject(x, "size", o->size);
        cJSON_AddItemToArray(objs, x);
    }
    cJSON_AddItemToObject(j, "objects", objs);
    return j;
}

static void add_turn(cJSON *conv, bool human, const char *text) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "from", human ? "human" : "gpt");
    cJSON_AddStringToObject(t, "value", text);
    cJSON_AddItemToArray(conv, t);
}

/* one conversation entry: id, image (a string, or a list for several), conversations */
static cJSON *conversation(const char *id, const char (*rel)[160], int n_images, cJSON **conv) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "id", id);
    if (n_images == 1) {
        cJSON_AddStringToObject(e, "image", rel[0]);
    } else {
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; i < n_images; i++) cJSON_AddItemToArray(a, cJSON_CreateString(rel[i]));
        cJSON_AddItemToObject(e, "image", a);
    }
    *conv = cJSON_AddArrayToObject(e, "conversations");
    return e;
}

/* "<image>\n" per image, then the text: the first human turn of LLaVA's data */
static void first_turn(char *out, size_t cap, int n_images, const char *text) {
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < n_images && n + 9 < cap; i++) n += (size_t)snprintf(out + n, cap - n, "<image>\n");
    snprintf(out + n, cap - n, "%s", text);
}

static cJSON *question_json(const char *image_key, cJSON *image_val, const fc_synth_question *q) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, image_key, image_val);
    cJSON_AddStringToObject(j, "question", q->text);
    cJSON_AddStringToObject(j, "answer", q->answer);
    cJSON_AddStringToObject(j, "type", fc_synth_qtype_names[q->type]);
    cJSON_AddNumberToObject(j, "objects", q->n_objects);
    return j;
}

/* The single-image scenes of every split asked for, in one pass over the scene stream. */
static fc_err write_single(writer *w) {
    const fc_synth_write_opts *o = w->o;
    const fc_synth_config *c = &o->cfg;
    cJSON *conv[FC_SYNTH_NSPLITS] = {0}, *qs[FC_SYNTH_NSPLITS] = {0}, *sc[FC_SYNTH_NSPLITS] = {0};
    int have[FC_SYNTH_NSPLITS] = {0}, want = 0;
    fc_synth_question *q = fc_malloc((size_t)c->questions * sizeof *q, "synth questions");
    fc_synth_scene *s = fc_malloc(sizeof *s, "synth scene");
    fc_err e = q && s ? FC_OK : FC_ENOMEM;
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++) {
        want += o->n[k];
        if (o->n[k]) conv[k] = cJSON_CreateArray(), qs[k] = cJSON_CreateObject(), sc[k] = cJSON_CreateObject();
    }
    /* each split gets ~10% or more of the scenes; far more tries than that means a config whose scenes
     * cannot reach a split */
    uint64_t limit = (uint64_t)want * 200 + 100000;
    for (uint64_t j = 0; !e && want > 0; j++) {
        if (j == limit) {
            e = fc_err_set(FC_EINVAL, "synth: %llu scenes drawn and the splits are still not full (a grid with "
                                      "too few distinct layouts?)", (unsigned long long)j);
            break;
        }
        fc_synth_scene_make(c, FC_SYNTH_STREAM_SCENE, j, s);
        int k = (int)fc_synth_scene_split(c, s);
        if (have[k] >= o->n[k]) continue;
        char id[64], rel[1][160], text[FC_SYNTH_MAX_TEXT + 16];
        snprintf(id, sizeof id, "%s_%06d", fc_synth_split_names[k], have[k]);
        have[k]++, want--;
        if ((e = write_picture(w, s, id, rel[0], sizeof rel[0]))) break;
        cJSON_AddItemToObject(sc[k], id, scene_json(c, s, rel[0]));
        fc_rng r;
        fc_rng_seed(&r, c->seed, FC_SYNTH_STREAM_QUESTION | j);
        int nq = fc_synth_questions_make(c, s, &r, q, c->questions);
        cJSON *turns = NULL;
        if (o->pack) cJSON_AddItemToArray(conv[k], conversation(id, rel, 1, &turns));
        for (int i = 0; i < nq; i++) {
            char qid[80];
            snprintf(qid, sizeof qid, "%s_%d", id, i);
            cJSON_AddItemToObject(qs[k], qid, question_json("imageId", cJSON_CreateString(id), &q[i]));
            if (!o->pack) cJSON_AddItemToArray(conv[k], conversation(qid, rel, 1, &turns));
            first_turn(text, sizeof text, !o->pack || i == 0, q[i].text);
            add_turn(turns, true, text);
            add_turn(turns, false, q[i].answer);
        }
        if (o->describe) {
            char d[FC_SYNTH_MAX_OBJECTS * 48], did[80];
            if ((e = fc_synth_describe(c, s, d, sizeof d))) break;
            snprintf(did, sizeof did, "%s_describe", id);
            if (!o->pack) cJSON_AddItemToArray(conv[k], conversation(did, rel, 1, &turns));
            first_turn(text, sizeof text, !o->pack || nq == 0, "Describe the image.");
            add_turn(turns, true, text);
            add_turn(turns, false, d);
        }
    }
    for (int k = 0; k < FC_SYNTH_NSPLITS && !e; k++) {
        if (!o->n[k]) continue;
        char name[64];
        const char *sp = fc_synth_split_names[k];
        snprintf(name, sizeof name, "%s.json", sp);
        if ((e = json_write(w, name, conv[k], false))) break;
        snprintf(name, sizeof name, "%s_questions.json", sp);
        if ((e = json_write(w, name, qs[k], false))) break;
        snprintf(name, sizeof name, "%s_scenes.json", sp);
        e = json_write(w, name, sc[k], false);
    }
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++) cJSON_Delete(conv[k]), cJSON_Delete(qs[k]), cJSON_Delete(sc[k]);
    free(q), free(s);
    return e;
}

/* One question about a set of scenes that needs the right image: a cell's colour in image k, the image
 * that holds a colour + shape found in only one of them, how many images hold a shape, or how many objects
 * image k has. Returns false if the drawn kind does not apply (the caller redraws). */
static bool multi_question(const fc_synth_config *c, const fc_synth_scene *sc, int K, fc_rng *r, fc_synth_question *q) {
    int kind = (int)(fc_rng_uniform(r) * 4), k = (int)(fc_rng_uniform(r) * K);
    const fc_synth_scene *s = &sc[k];
    const fc_synth_object *o = &s->obj[(int)(fc_rng_uniform(r) * s->n)];
    char cell[32];
    memset(q, 0, sizeof *q);
    q->n_objects = 1;
    switch (kind) {
    case 0:
        fc_synth_cell_name(c, o->row, o->col, cell);
        q->type = FC_SYNTH_Q_COLOR_AT;
        snprintf(q->text, sizeof q->text, "What color is the object at the %s in image %d?", cell, k + 1);
        snprintf(q->answer, sizeof q->answer, "%s", fc_synth_color_names[o->color]);
        return true;
    case 1: {
        int holders = 0;
        for (int i = 0; i < K; i++)
            for (int m = 0; m < sc[i].n; m++)
                if (sc[i].obj[m].color == o->color && sc[i].obj[m].shape == o->shape) {
                    holders++;
                    break;
                }
        if (holders != 1) return false;
        q->type = FC_SYNTH_Q_EXIST;
        snprintf(q->text, sizeof q->text, "Which image has a %s %s? Answer with its number.",
                 fc_synth_color_names[o->color], fc_synth_shape_names[o->shape]);
        snprintf(q->answer, sizeof q->answer, "%d", k + 1);
        return true;
    }
    case 2: {
        int holders = 0;
        for (int i = 0; i < K; i++)
            for (int m = 0; m < sc[i].n; m++)
                if (sc[i].obj[m].shape == o->shape) {
                    holders++;
                    break;
                }
        q->type = FC_SYNTH_Q_COUNT_SHAPE;
        q->n_objects = 0;
        snprintf(q->text, sizeof q->text, "How many images have a %s?", fc_synth_shape_names[o->shape]);
        snprintf(q->answer, sizeof q->answer, "%d", holders);
        return true;
    }
    default:
        q->type = FC_SYNTH_Q_COUNT;
        q->n_objects = 0;
        snprintf(q->text, sizeof q->text, "How many objects are in image %d?", k + 1);
        snprintf(q->answer, sizeof q->answer, "%d", s->n);
        return true;
    }
}

/* Multi-image (kind "multi") or long-context ("long") samples: each draws its scenes from the kind's own
 * scene stream (only those of the sample's split) and its image count and question from its own stream. */
static fc_err write_multi(writer *w, const char *kind, uint64_t base, const int *n, int kmin, int kmax) {
    const fc_synth_write_opts *o = w->o;
    const fc_synth_config *c = &o->cfg;
    fc_synth_scene *sc = fc_malloc(MAX_SAMPLE_IMAGES * sizeof *sc, "synth scenes");
    char(*rel)[160] = fc_malloc(MAX_SAMPLE_IMAGES * sizeof *rel, "synth names");
    char *text = fc_malloc(MAX_SAMPLE_IMAGES * 8 + FC_SYNTH_MAX_TEXT, "synth text");
    fc_err e = sc && rel && text ? FC_OK : FC_ENOMEM;
    for (int k = 0; k < FC_SYNTH_NSPLITS && !e; k++) {
        if (!n[k]) continue;
        cJSON *conv = cJSON_CreateArray(), *qs = cJSON_CreateObject(), *scenes = cJSON_CreateObject();
        uint64_t cursor = 0; /* position in the kind's scene stream, for this split */
        int used = 0;        /* pictures written for this split */
        for (int i = 0; i < n[k] && !e; i++) {
            fc_rng r;
            fc_rng_seed(&r, c->seed, base | STREAM_SAMPLE_BIT | ((uint64_t)k << 32) | (uint64_t)i);
            int K = kmin + (int)(fc_rng_uniform(&r) * (kmax - kmin + 1));
            char sid[80];
            snprintf(sid, sizeof sid, "%s_%s_%06d", kind, fc_synth_split_names[k], i);
            cJSON *ids = cJSON_CreateArray();
            for (int m = 0; m < K && !e; m++) {
                for (uint64_t tries = 0;; tries++, cursor++) {
                    if (tries == 100000) {
                        e = fc_err_set(FC_EINVAL, "synth: %s: no %s scene in 100000 draws",
                                       kind, fc_synth_split_names[k]);
                        break;
                    }
                    fc_synth_scene_make(c, base, cursor, &sc[m]);
                    if ((int)fc_synth_scene_split(c, &sc[m]) == k) break;
                }
                cursor++;
                if (e) break;
                char id[80];
                snprintf(id, sizeof id, "%s_%s_%06d", kind, fc_synth_split_names[k], used++);
                if ((e = write_picture(w, &sc[m], id, rel[m], sizeof rel[m]))) break;
                cJSON_AddItemToObject(scenes, id, scene_json(c, &sc[m], rel[m]));
                cJSON_AddItemToArray(ids, cJSON_CreateString(id));
            }
            fc_synth_question q;
            int tries = 0;
            while (!e && !multi_question(c, sc, K, &r, &q))
                if (++tries == 1000) e = fc_err_set(FC_EINVAL, "synth: %s: no question found for %s", kind, sid);
            if (e) {
                cJSON_Delete(ids);
                break;
            }
            cJSON_AddItemToObject(qs, sid, question_json("imageIds", ids, &q));
            cJSON *turns;
            cJSON_AddItemToArray(conv, conversation(sid, (const char(*)[160])rel, K, &turns));
            first_turn(text, (size_t)K * 8 + FC_SYNTH_MAX_TEXT, K, q.text);
            add_turn(turns, true, text);
            add_turn(turns, false, q.answer);
        }
        char name[80];
        const char *sp = fc_synth_split_names[k];
        if (!e) snprintf(name, sizeof name, "%s_%s.json", kind, sp), e = json_write(w, name, conv, false);
        if (!e) snprintf(name, sizeof name, "%s_%s_questions.json", kind, sp), e = json_write(w, name, qs, false);
        if (!e) snprintf(name, sizeof name, "%s_%s_scenes.json", kind, sp), e = json_write(w, name, scenes, false);
        cJSON_Delete(conv), cJSON_Delete(qs), cJSON_Delete(scenes);
    }
    free(sc), free(rel), free(text);
    return e;
}

static cJSON *manifest(const fc_synth_write_opts *o) {
    const fc_synth_config *c = &o->cfg;
    cJSON *j = cJSON_CreateObject(), *counts = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(j, "generator", "fc-eval synth (data/synth_vqa.c) 1");
    cJSON_AddStringToObject(j, "seed", seed); /* a string: JSON numbers lose 64-bit seeds */
    cJSON_AddNumberToObject(j, "image_size", c->image_size);
    cJSON_AddNumberToObject(j, "grid", c->grid);
    cJSON_AddNumberToObject(j, "min_objects", c->min_objects);
    cJSON_AddNumberToObject(j, "max_objects", c->max_objects);
    cJSON_AddNumberToObject(j, "questions_per_image", c->questions);
    cJSON_AddBoolToObject(j, "pack", o->pack);
    cJSON_AddBoolToObject(j, "describe", o->describe);
    cJSON_AddNumberToObject(j, "multi_min_images", o->multi_min);
    cJSON_AddNumberToObject(j, "multi_max_images", o->multi_max);
    cJSON_AddNumberToObject(j, "long_images", o->long_images);
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "images", o->n[k]);
        cJSON_AddNumberToObject(x, "multi", o->n_multi[k]);
        cJSON_AddNumberToObject(x, "long", o->n_long[k]);
        cJSON_AddItemToObject(counts, fc_synth_split_names[k], x);
    }
    cJSON_AddItemToObject(j, "splits", counts);
    cJSON *colors = cJSON_CreateStringArray(fc_synth_color_names, FC_SYNTH_NCOLORS);
    cJSON *shapes = cJSON_CreateStringArray(fc_synth_shape_names, FC_SYNTH_NSHAPES);
    cJSON_AddItemToObject(j, "colors", colors);
    cJSON_AddItemToObject(j, "shapes", shapes);
    cJSON *bg = cJSON_CreateArray();
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(bg, cJSON_CreateNumber(fc_synth_background_rgb[k]));
    cJSON_AddItemToObject(j, "background_rgb", bg);
    return j;
}

fc_err fc_synth_write(const fc_synth_write_opts *o, int *n_files) {
    FC_TRY(fc_synth_config_check(&o->cfg));
    if (!o->png && !o->jpeg) return fc_err_set(FC_EINVAL, "synth: no picture format chosen");
    if (o->jpeg && (o->jpeg_quality < 1 || o->jpeg_quality > 100))
        return fc_err_set(FC_EINVAL, "synth: JPEG quality %d (want 1..100)", o->jpeg_quality);
    if (o->multi_min < 2 || o->multi_max < o->multi_min || o->multi_max > MAX_SAMPLE_IMAGES)
        return fc_err_set(FC_EINVAL, "synth: multi-image samples of %d..%d images (want 2 <= min <= max <= %d)",
                          o->multi_min, o->multi_max, MAX_SAMPLE_IMAGES);
    if (o->long_images < 2 || o->long_images > MAX_SAMPLE_IMAGES)
        return fc_err_set(FC_EINVAL, "synth: long samples of %d images (want 2..%d)", o->long_images, MAX_SAMPLE_IMAGES);
    for (int k = 0; k < FC_SYNTH_NSPLITS; k++)
        if (o->n[k] < 0 || o->n_multi[k] < 0 || o->n_long[k] < 0 || o->n[k] > 10000000 || o->n_multi[k] > 1000000 ||
            o->n_long[k] > 1000000)
            return fc_err_set(FC_EINVAL, "synth: sample counts of split %s out of range", fc_synth_split_names[k]);
    writer w = {.o = o};
    FC_TRY(fc_dir_ensure(o->out_dir));
    char *img = fc_path_join(o->out_dir, "images");
    if (!img) return FC_ENOMEM;
    fc_err e = fc_dir_ensure(img);
    free(img);
    if (e) return e;
    w.rgb = fc_malloc((size_t)o->cfg.image_size * o->cfg.image_size * 3, "synth picture");
    if (!w.rgb) return FC_ENOMEM;
    e = write_single(&w);
    if (!e) e = write_multi(&w, "multi", FC_SYNTH_STREAM_MULTI, o->n_multi, o->multi_min, o->multi_max);
    if (!e) e = write_multi(&w, "long", FC_SYNTH_STREAM_LONG, o->n_long, o->long_images, o->long_images);
    if (!e) {
        cJSON *m = manifest(o);
        e = json_write(&w, "synth.json", m, true);
        cJSON_Delete(m);
    }
    free(w.rgb);
    if (n_files) *n_files = w.n_files;
    return e;
}
