/* test_synth_vqa.c: the synthetic visual-QA generator (data/synth_vqa.h).
 *
 * The answers are checked by an independent solver: it parses each question's text back (its own reading of
 * the templates) and answers it from the scene's object list, so a wrong answer in the generator, a question
 * that names an object ambiguously, or a text that does not say what the generator meant all fail here.
 * The pictures are checked against the scene (each object's colour at its centre, the background in empty
 * cells), and the writers by reading the files back with the project's decoders.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/file.h"
#include "core/image/encode.h"
#include "core/image/image.h"
#include "data/synth_vqa.h"
#include "tests/test.h"

static int find_name(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* the cell a name denotes, by trying every cell of the grid; -1 if none */
static int cell_by_name(const fc_synth_config *c, const char *name) {
    char buf[32];
    for (int k = 0; k < c->grid * c->grid; k++) {
        fc_synth_cell_name(c, k / c->grid, k % c->grid, buf);
        if (!strcmp(buf, name)) return k;
    }
    return -1;
}

/* the only object with this colour and/or shape (-1 for "any"); -1 when none or several */
static int unique(const fc_synth_scene *s, int color, int shape) {
    int found = -1, n = 0;
    for (int i = 0; i < s->n; i++)
        if ((color < 0 || s->obj[i].color == color) && (shape < 0 || s->obj[i].shape == shape)) found = i, n++;
    return n == 1 ? found : -1;
}

static int count(const fc_synth_scene *s, int color, int shape) {
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += (color < 0 || s->obj[i].color == color) && (shape < 0 || s->obj[i].shape == shape);
    return n;
}

/* whole-string sscanf: true only if the format matched to the last character */
#define MATCH(text, fmt, ...) (n_ = -1, sscanf(text, fmt "%n", __VA_ARGS__, &n_), n_ == (int)strlen(text))

/* Answers `text` from the scene; false if the text is not one of the known forms or names no single object. */
static bool solve(const fc_synth_config *c, const fc_synth_scene *s, const char *text, char *ans) {
    char a[64], b[64], d[64], e[64];
    int n_ = -1, k;
    if (!strcmp(text, "How many objects are there?")) return sprintf(ans, "%d", s->n), true;
    if (MATCH(text, "What color is the object at the %63[^?]?", a)) {
        if ((k = cell_by_name(c, a)) < 0 || (k = fc_synth_object_at(s, k / c->grid, k % c->grid)) < 0) return false;
        return strcpy(ans, fc_synth_color_names[s->obj[k].color]), true;
    }
    if (MATCH(text, "What shape is at the %63[^?]?", a)) {
        if ((k = cell_by_name(c, a)) < 0 || (k = fc_synth_object_at(s, k / c->grid, k % c->grid)) < 0) return false;
        return strcpy(ans, fc_synth_shape_names[s->obj[k].shape]), true;
    }
    if (MATCH(text, "Is there an object at the %63[^?]?", a)) {
        if ((k = cell_by_name(c, a)) < 0) return false;
        return strcpy(ans, fc_synth_object_at(s, k / c->grid, k % c->grid) >= 0 ? "yes" : "no"), true;
    }
    if (MATCH(text, "How many %63s objects are there?", a)) {
        int col = find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, a);
        return col >= 0 && sprintf(ans, "%d", count(s, col, -1));
    }
    if (MATCH(text, "How many %63[a-z] are there?", a)) {
        size_t L = strlen(a);
        if (L < 2 || a[L - 1] != 's') return false;
        a[L - 1] = 0;
        int sh = find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, a);
        return sh >= 0 && sprintf(ans, "%d", count(s, -1, sh));
    }
    if (MATCH(text, "What shape is the %63s object?", a)) {
        int col = find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, a);
        if (col < 0 || (k = unique(s, col, -1)) < 0) return false;
        return strcpy(ans, fc_synth_shape_names[s->obj[k].shape]), true;
    }
    if (MATCH(text, "What color is the %63[a-z]?", a)) {
        int sh = find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, a);
        if (sh < 0 || (k = unique(s, -1, sh)) < 0) return false;
        return strcpy(ans, fc_synth_color_names[s->obj[k].color]), true;
    }
    if (MATCH(text, "Where is the %63s %63[a-z]?", a, b)) {
        int col = find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, a), sh = find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, b);
        if (col < 0 || sh < 0 || (k = unique(s, col, sh)) < 0) return false;
        fc_synth_cell_name(c, s->obj[k].row, s->obj[k].col, ans);
        return true;
    }
    if (MATCH(text, "Is there a %63s %63[a-z]?", a, b)) {
        int col = find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, a), sh = find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, b);
        return col >= 0 && sh >= 0 && strcpy(ans, count(s, col, sh) ? "yes" : "no");
    }
    bool left = MATCH(text, "Is the %63s %63s left of the %63s %63[a-z]?", a, b, d, e);
    if (left || MATCH(text, "Is the %63s %63s above the %63s %63[a-z]?", a, b, d, e)) {
        int i = unique(s, find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, a), find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, b));
        int j = unique(s, find_name(fc_synth_color_names, FC_SYNTH_NCOLORS, d), find_name(fc_synth_shape_names, FC_SYNTH_NSHAPES, e));
        if (i < 0 || j < 0 || i == j) return false;
        bool yes = left ? s->obj[i].col < s->obj[j].col : s->obj[i].row < s->obj[j].row;
        return strcpy(ans, yes ? "yes" : "no"), true;
    }
    const char *pre = "Do the objects at the ", *mid = " and the ", *sc = " have the same color?", *ss = " have the same shape?";
    if (!strncmp(text, pre, strlen(pre))) {
        const char *p = text + strlen(pre), *m = strstr(p, mid), *end = text + strlen(text) - strlen(sc);
        bool color = !strcmp(end, sc);
        if (!m || (!color && strcmp(end, ss)) || m > end) return false;
        snprintf(a, sizeof a, "%.*s", (int)(m - p), p);
        snprintf(b, sizeof b, "%.*s", (int)(end - m - strlen(mid)), m + strlen(mid));
        int ca = cell_by_name(c, a), cb = cell_by_name(c, b);
        if (ca < 0 || cb < 0 || ca == cb) return false;
        int i = fc_synth_object_at(s, ca / c->grid, ca % c->grid), j = fc_synth_object_at(s, cb / c->grid, cb % c->grid);
        if (i < 0 || j < 0) return false;
        bool eq = color ? s->obj[i].color == s->obj[j].color : s->obj[i].shape == s->obj[j].shape;
        return strcpy(ans, eq ? "yes" : "no"), true;
    }
    return false;
}

static void test_synth_answers_match_scene(fc_test *t) {
    int grids[] = {2, 3, 4};
    for (int g = 0; g < 3; g++) {
        fc_synth_config c = fc_synth_config_default();
        c.grid = grids[g], c.max_objects = grids[g] * grids[g] < 7 ? grids[g] * grids[g] : 7, c.seed = 5 + (uint64_t)g;
        int yes[FC_SYNTH_NQTYPES] = {0}, yesno[FC_SYNTH_NQTYPES] = {0}, per_type[FC_SYNTH_NQTYPES] = {0};
        for (int j = 0; j < 400; j++) {
            fc_synth_scene s;
            fc_synth_question q[20];
            fc_rng r;
            fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &s);
            FC_CHECK(t, s.n >= c.min_objects && s.n <= c.max_objects, "scene %d: %d objects", j, s.n);
            fc_rng_seed(&r, c.seed, FC_SYNTH_STREAM_QUESTION | (uint64_t)j);
            int nq = fc_synth_questions_make(&c, &s, &r, q, 20);
            FC_CHECK(t, nq >= 4, "grid %d scene %d: only %d questions", c.grid, j, nq);
            for (int i = 0; i < nq; i++) {
                char want[64];
                FC_CHECK(t, solve(&c, &s, q[i].text, want), "grid %d scene %d: cannot solve '%s'", c.grid, j, q[i].text);
                FC_CHECK(t, !strcmp(want, q[i].answer), "grid %d scene %d: '%s' answered '%s', the scene says '%s'", c.grid,
                         j, q[i].text, q[i].answer, want);
                for (int m = 0; m < i; m++) FC_CHECK(t, strcmp(q[m].text, q[i].text), "repeated question '%s'", q[i].text);
                per_type[q[i].type]++;
                if (!strcmp(q[i].answer, "yes") || !strcmp(q[i].answer, "no"))
                    yes[q[i].type] += !strcmp(q[i].answer, "yes"), yesno[q[i].type]++;
            }
        }
        for (int k = 0; k < FC_SYNTH_NQTYPES; k++)
            FC_CHECK(t, per_type[k] > 50, "grid %d: kind %s asked %d times in 400 scenes", c.grid, fc_synth_qtype_names[k], per_type[k]);
        /* a blind model must not profit from a skewed yes/no prior, in any kind */
        for (int k = 0; k < FC_SYNTH_NQTYPES; k++)
            FC_CHECK(t, yes[k] >= 0.4 * yesno[k] && yes[k] <= 0.6 * yesno[k], "grid %d: %s: %d of %d answers are yes",
                     c.grid, fc_synth_qtype_names[k], yes[k], yesno[k]);
    }
}

static void test_synth_picture_matches_scene(fc_test *t) {
    fc_synth_config c = fc_synth_config_default();
    int S = c.image_size, cell = S / c.grid;
    static uint8_t rgb[336 * 336 * 3];
    for (int j = 0; j < 50; j++) {
        fc_synth_scene s;
        fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &s);
        fc_synth_scene_render(&c, &s, rgb);
        for (int r = 0; r < c.grid; r++)
            for (int col = 0; col < c.grid; col++) {
                int k = fc_synth_object_at(&s, r, col);
                if (k < 0) { /* an empty cell is background all over */
                    for (int y = r * cell; y < (r + 1) * cell; y++)
                        for (int x = col * cell; x < (col + 1) * cell; x++)
                            FC_CHECK(t, !memcmp(rgb + 3 * (y * S + x), fc_synth_background_rgb, 3),
                                     "scene %d: empty cell (%d,%d) drawn at (%d,%d)", j, r, col, x, y);
                    continue;
                }
                const fc_synth_object *o = &s.obj[k];
                FC_CHECK(t, !memcmp(rgb + 3 * (o->cy * S + o->cx), o->rgb, 3), "scene %d: object %d not at its centre", j, k);
                for (int m = 0; m < 3; m++) /* the drawn colour stays near the named one */
                    FC_CHECK(t, abs(o->rgb[m] - fc_synth_color_rgb[o->color][m]) <= 12, "scene %d: colour jitter", j);
                FC_CHECK(t, o->cx - o->size / 2 >= col * cell && o->cx + o->size / 2 < (col + 1) * cell &&
                                o->cy - o->size / 2 >= r * cell && o->cy + o->size / 2 < (r + 1) * cell,
                         "scene %d: object %d leaves its cell", j, k);
            }
        /* the shapes differ where a circle and a square differ: a square fills its corners */
        for (int k = 0; k < s.n; k++) {
            const fc_synth_object *o = &s.obj[k];
            int x = o->cx - o->size / 2 + 1, y = o->cy - o->size / 2 + 1; /* near the top-left corner */
            bool filled = !memcmp(rgb + 3 * (y * S + x), o->rgb, 3);
            FC_CHECK(t, filled == (o->shape == FC_SYNTH_SQUARE), "scene %d: %s corner filled=%d", j,
                     fc_synth_shape_names[o->shape], filled);
        }
    }
}

static void test_synth_split_follows_content(fc_test *t) {
    fc_synth_config c = fc_synth_config_default(), c2 = c;
    c2.seed = 99;
    int n[FC_SYNTH_NSPLITS] = {0};
    for (int j = 0; j < 5000; j++) {
        fc_synth_scene s, s2;
        fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &s);
        fc_synth_split k = fc_synth_scene_split(&c, &s);
        n[k]++;
        /* same layout, other jitter and colours' noise: same split */
        s2 = s;
        for (int i = 0; i < s2.n; i++) s2.obj[i].cx++, s2.obj[i].size--, s2.obj[i].rgb[0] ^= 1;
        FC_CHECK(t, fc_synth_scene_split(&c, &s2) == k, "scene %d: the split depends on the jitter", j);
        fc_synth_scene_make(&c2, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &s2);
        FC_CHECK(t, s2.n != s.n || memcmp(s2.obj, s.obj, sizeof s.obj[0] * (size_t)s.n), "seed makes no difference");
    }
    FC_CHECK(t, n[FC_SYNTH_TEST] > 400 && n[FC_SYNTH_TEST] < 600 && n[FC_SYNTH_VALIDATION] > 400 &&
                    n[FC_SYNTH_VALIDATION] < 600,
             "splits of 5000 scenes: train %d validation %d test %d", n[0], n[1], n[2]);
}

static void test_synth_same_seed_same_scene(fc_test *t) {
    fc_synth_config c = fc_synth_config_default();
    c.seed = 1234567890123ull;
    for (int j = 0; j < 100; j++) {
        fc_synth_scene a, b;
        fc_synth_question qa[8], qb[8];
        fc_rng ra, rb;
        fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &a);
        fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, (uint64_t)j, &b);
        FC_CHECK(t, !memcmp(&a, &b, sizeof a), "scene %d differs between two calls", j);
        fc_rng_seed(&ra, c.seed, FC_SYNTH_STREAM_QUESTION | (uint64_t)j);
        fc_rng_seed(&rb, c.seed, FC_SYNTH_STREAM_QUESTION | (uint64_t)j);
        int na = fc_synth_questions_make(&c, &a, &ra, qa, 8), nb = fc_synth_questions_make(&c, &b, &rb, qb, 8);
        FC_CHECK(t, na == nb && !memcmp(qa, qb, sizeof qa[0] * (size_t)na), "scene %d: questions differ", j);
    }
}

static void test_synth_describe_lists_every_object(fc_test *t) {
    fc_synth_config c = fc_synth_config_default();
    fc_synth_scene s;
    char d[2048], want[64];
    fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, 3, &s);
    FC_CHECK(t, fc_synth_describe(&c, &s, d, sizeof d) == FC_OK, "%s", fc_errmsg());
    for (int i = 0; i < s.n; i++) {
        char cell[32];
        fc_synth_cell_name(&c, s.obj[i].row, s.obj[i].col, cell);
        snprintf(want, sizeof want, "%s %s at %s", fc_synth_color_names[s.obj[i].color],
                 fc_synth_shape_names[s.obj[i].shape], cell);
        FC_CHECK(t, strstr(d, want), "'%s' lacks '%s'", d, want);
    }
    FC_CHECK(t, fc_synth_describe(&c, &s, d, 8) == FC_EINVAL, "a too-small buffer must fail");
}

static void test_synth_config_rejects_bad_values(fc_test *t) {
    fc_synth_config c = fc_synth_config_default();
    FC_CHECK(t, fc_synth_config_check(&c) == FC_OK, "%s", fc_errmsg());
    c.grid = 7;
    FC_CHECK(t, fc_synth_config_check(&c) == FC_EINVAL && strstr(fc_errmsg(), "grid 7"), "%s", fc_errmsg());
    c = fc_synth_config_default(), c.max_objects = 10;
    FC_CHECK(t, fc_synth_config_check(&c) == FC_EINVAL && strstr(fc_errmsg(), "objects"), "%s", fc_errmsg());
    c = fc_synth_config_default(), c.min_objects = 0;
    FC_CHECK(t, fc_synth_config_check(&c) == FC_EINVAL, "0 objects accepted");
    c = fc_synth_config_default(), c.image_size = 10;
    FC_CHECK(t, fc_synth_config_check(&c) == FC_EINVAL && strstr(fc_errmsg(), "image size"), "%s", fc_errmsg());
}

static void test_image_write_png_jpeg_roundtrip(fc_test *t) {
    fc_synth_config c = fc_synth_config_default();
    static uint8_t rgb[336 * 336 * 3];
    fc_synth_scene s;
    fc_synth_scene_make(&c, FC_SYNTH_STREAM_SCENE, 7, &s);
    fc_synth_scene_render(&c, &s, rgb);
    char png[64], jpg[64];
    snprintf(png, sizeof png, "/tmp/fc_test_synth_%d.png", (int)getpid());
    snprintf(jpg, sizeof jpg, "/tmp/fc_test_synth_%d.jpg", (int)getpid());
    fc_image im = {0};
    FC_CHECK(t, fc_image_write_png(png, rgb, 336, 336) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_image_load(&im, png) == FC_OK, "%s", fc_errmsg());
    bool same = im.w == 336 && im.h == 336 && !memcmp(im.rgb, rgb, sizeof rgb);
    fc_image_free(&im);
    FC_CHECK(t, same, "PNG does not read back the same pixels");
    FC_CHECK(t, fc_image_write_jpeg(jpg, rgb, 336, 336, 95) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_image_load(&im, jpg) == FC_OK, "%s", fc_errmsg());
    double err = 0;
    for (size_t i = 0; i < sizeof rgb; i++) err += abs((int)im.rgb[i] - (int)rgb[i]);
    err /= (double)sizeof rgb;
    fc_image_free(&im);
    FC_CHECK(t, err < 2.0, "JPEG q95 mean error %.2f levels", err); /* flat shapes: near lossless at q95 */
    unlink(png), unlink(jpg);
    FC_CHECK(t, fc_image_write_png("/nonexistent-dir/x.png", rgb, 336, 336) == FC_EIO && strstr(fc_errmsg(), "/nonexistent-dir"),
             "%s", fc_errmsg());
    FC_CHECK(t, fc_image_write_jpeg(jpg, rgb, 336, 336, 0) == FC_EINVAL, "quality 0 accepted");
    FC_CHECK(t, fc_image_write_png(png, rgb, 0, 5) == FC_EINVAL, "a 0-wide image accepted");
}

static const fc_test_case cases[] = {
    FC_CASE(test_synth_answers_match_scene),      FC_CASE(test_synth_picture_matches_scene),
    FC_CASE(test_synth_split_follows_content),    FC_CASE(test_synth_same_seed_same_scene),
    FC_CASE(test_synth_describe_lists_every_object), FC_CASE(test_synth_config_rejects_bad_values),
    FC_CASE(test_image_write_png_jpeg_roundtrip),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
