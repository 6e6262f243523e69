/* synth_vqa.c: scenes, their split, their pictures (synth_vqa.h). Questions are in synth_questions.c. */
#include "data/synth_vqa.h"

#include <stdio.h>
#include <string.h>

const char *const fc_synth_split_names[FC_SYNTH_NSPLITS] = {"train", "validation", "test"};
const char *const fc_synth_color_names[FC_SYNTH_NCOLORS] = {"red", "green", "blue", "yellow", "purple"};
const char *const fc_synth_shape_names[FC_SYNTH_NSHAPES] = {"circle", "square", "triangle"};
/* far apart in RGB and from the background, so the colour of a patch is one linear read-out */
const uint8_t fc_synth_color_rgb[FC_SYNTH_NCOLORS][3] = {
    {220, 40, 40}, {40, 180, 60}, {40, 90, 230}, {235, 215, 40}, {160, 60, 200}};
const uint8_t fc_synth_background_rgb[3] = {110, 110, 110};

_Static_assert(FC_SYNTH_NSPLITS == 3, "split names");
_Static_assert(FC_SYNTH_NCOLORS == 5 && FC_SYNTH_NSHAPES == 3, "colour and shape tables");

fc_synth_config fc_synth_config_default(void) {
    return (fc_synth_config){.seed = 0, .image_size = 336, .grid = 3, .min_objects = 1, .max_objects = 5,
                             .questions = 6};
}

fc_err fc_synth_config_check(const fc_synth_config *c) {
    if (c->grid < 2 || c->grid > FC_SYNTH_MAX_GRID)
        return fc_err_set(FC_EINVAL, "synth: grid %d (want 2..%d)", c->grid, FC_SYNTH_MAX_GRID);
    if (c->image_size < 8 * c->grid || c->image_size > 4096)
        return fc_err_set(FC_EINVAL, "synth: image size %d (want %d..4096 for a %dx%d grid)", c->image_size,
                          8 * c->grid, c->grid, c->grid);
    int cells = c->grid * c->grid;
    if (c->min_objects < 1 || c->max_objects < c->min_objects || c->max_objects > cells)
        return fc_err_set(FC_EINVAL, "synth: objects %d..%d (want 1 <= min <= max <= %d cells)", c->min_objects,
                          c->max_objects, cells);
    if (c->questions < 1 || c->questions > 64)
        return fc_err_set(FC_EINVAL, "synth: %d questions per image (want 1..64)", c->questions);
    return FC_OK;
}

static int rand_below(fc_rng *r, int n) { return (int)(fc_rng_uniform(r) * n); }

static int clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

void fc_synth_scene_make(const fc_synth_config *c, uint64_t stream_base, uint64_t index, fc_synth_scene *s) {
    fc_rng r;
    fc_rng_seed(&r, c->seed, stream_base | index);
    int cells = c->grid * c->grid, cell_px = c->image_size / c->grid;
    int n = c->min_objects + rand_below(&r, c->max_objects - c->min_objects + 1);
    int order[FC_SYNTH_MAX_OBJECTS];
    bool used[FC_SYNTH_MAX_OBJECTS] = {0};
    for (int i = 0; i < cells; i++) order[i] = i;
    for (int i = 0; i < n; i++) { /* partial Fisher-Yates: n distinct cells */
        int j = i + rand_below(&r, cells - i), t = order[i];
        order[i] = order[j], order[j] = t;
        used[order[i]] = true;
    }
    memset(s, 0, sizeof *s);
    for (int cell = 0; cell < cells; cell++) {
        if (!used[cell]) continue;
        fc_synth_object *o = &s->obj[s->n++];
        o->row = (uint8_t)(cell / c->grid), o->col = (uint8_t)(cell % c->grid);
        o->color = (uint8_t)rand_below(&r, FC_SYNTH_NCOLORS);
        o->shape = (uint8_t)rand_below(&r, FC_SYNTH_NSHAPES);
        /* 55-80% of the cell, centred within +-40% of the room left, so a shape never leaves its cell */
        int size = (int)(cell_px * (0.55 + 0.25 * fc_rng_uniform(&r)));
        int room = (cell_px - size) / 2;
        int dx = (int)((fc_rng_uniform(&r) * 2 - 1) * 0.8 * room), dy = (int)((fc_rng_uniform(&r) * 2 - 1) * 0.8 * room);
        o->size = (int16_t)size;
        o->cx = (int16_t)(o->col * cell_px + cell_px / 2 + dx);
        o->cy = (int16_t)(o->row * cell_px + cell_px / 2 + dy);
        for (int k = 0; k < 3; k++)
            o->rgb[k] = (uint8_t)clamp255(fc_synth_color_rgb[o->color][k] + rand_below(&r, 25) - 12);
    }
}

fc_synth_split fc_synth_scene_split(const fc_synth_config *c, const fc_synth_scene *s) {
    uint8_t code[FC_SYNTH_MAX_OBJECTS] = {0};
    for (int i = 0; i < s->n; i++)
        code[s->obj[i].row * c->grid + s->obj[i].col] = (uint8_t)(1 + s->obj[i].color * FC_SYNTH_NSHAPES + s->obj[i].shape);
    uint64_t h = 1469598103934665603ull ^ (uint64_t)c->grid; /* FNV-1a, then a splitmix64 finish */
    for (int i = 0; i < c->grid * c->grid; i++) h = (h ^ code[i]) * 1099511628211ull;
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ull, h ^= h >> 27, h *= 0x94d049bb133111ebull, h ^= h >> 31;
    int b = (int)(h % 10);
    return b == 0 ? FC_SYNTH_TEST : b == 1 ? FC_SYNTH_VALIDATION : FC_SYNTH_TRAIN;
}

/* Is the pixel centre (x + 0.5, y + 0.5) inside the object? Twice the coordinates keep it in integers. */
static bool inside(const fc_synth_object *o, int x, int y) {
    long px = 2L * x + 1 - 2L * o->cx, py = 2L * y + 1 - 2L * o->cy, s = o->size; /* offsets, doubled */
    switch (o->shape) {
    case FC_SYNTH_CIRCLE: return px * px + py * py <= s * s;
    case FC_SYNTH_SQUARE: return px >= -s && px <= s && py >= -s && py <= s;
    default: /* upward triangle: apex at the top centre, base along the bottom edge */
        if (py < -s || py > s) return false;
        return 2 * (px < 0 ? -px : px) <= py + s;
    }
}

void fc_synth_scene_render(const fc_synth_config *c, const fc_synth_scene *s, uint8_t *rgb) {
    int W = c->image_size;
    for (long i = 0; i < (long)W * W; i++) memcpy(rgb + 3 * i, fc_synth_background_rgb, 3);
    for (int k = 0; s && k < s->n; k++) {
        const fc_synth_object *o = &s->obj[k];
        int x0 = o->cx - o->size / 2 - 1, x1 = o->cx + o->size / 2 + 1;
        int y0 = o->cy - o->size / 2 - 1, y1 = o->cy + o->size / 2 + 1;
        for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < W; y++)
            for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < W; x++)
                if (inside(o, x, y)) memcpy(rgb + 3 * ((long)y * W + x), o->rgb, 3);
    }
}

void fc_synth_cell_name(const fc_synth_config *c, int row, int col, char *out) {
    static const char *const rows3[3] = {"top", "", "bottom"}, *const cols3[3] = {"left", "", "right"};
    static const char *const rows2[2] = {"top", "bottom"}, *const cols2[2] = {"left", "right"};
    if (c->grid == 2) {
        snprintf(out, 32, "%s %s", rows2[row], cols2[col]);
    } else if (c->grid == 3) {
        if (row == 1 && col == 1) snprintf(out, 32, "center");
        else if (row == 1) snprintf(out, 32, "%s", cols3[col]);
        else if (col == 1) snprintf(out, 32, "%s", rows3[row]);
        else snprintf(out, 32, "%s %s", rows3[row], cols3[col]);
    } else {
        snprintf(out, 32, "row %d column %d", (unsigned char)(row + 1), (unsigned char)(col + 1)); /* grid <= 6 */
    }
}

int fc_synth_object_at(const fc_synth_scene *s, int row, int col) {
    for (int i = 0; i < s->n; i++)
        if (s->obj[i].row == row && s->obj[i].col == col) return i;
    return -1;
}

fc_err fc_synth_describe(const fc_synth_config *c, const fc_synth_scene *s, char *out, int cap) {
    int n = 0;
    out[0] = 0;
    for (int i = 0; i < s->n; i++) {
        char cell[32];
        fc_synth_cell_name(c, s->obj[i].row, s->obj[i].col, cell);
        int k = snprintf(out + n, (size_t)(cap - n), "%s%s %s at %s", i ? ", " : "",
                         fc_synth_color_names[s->obj[i].color], fc_synth_shape_names[s->obj[i].shape], cell);
        if (k < 0 || k >= cap - n) return fc_err_set(FC_EINVAL, "synth: a description of %d objects needs more than %d bytes", s->n, cap);
        n += k;
    }
    return FC_OK;
}
