/* synth_questions.c: the questions about a synthetic scene and their answers (synth_vqa.h).
 *
 * Each kind needs the picture: a blind model can only guess from the answer prior, which the choices below
 * keep flat where they can (every yes/no kind answers yes half the time; counts of a colour or shape ask
 * about one that is present half the time). Objects are named either by their cell or by a colour + shape that is
 * unique in the scene, so every question has exactly one right answer.
 */
#include <stdio.h>
#include <string.h>

#include "data/synth_vqa.h"

const char *const fc_synth_qtype_names[FC_SYNTH_NQTYPES] = {
    "color_at", "shape_at", "exist_at", "count", "count_color", "count_shape", "color_of",
    "shape_of", "where",    "exist",    "left_of", "above",     "same_color",  "same_shape"};
_Static_assert(FC_SYNTH_NQTYPES == 14, "one name per question kind");

static int rand_below(fc_rng *r, int n) { return (int)(fc_rng_uniform(r) * n); }
static bool coin(fc_rng *r) { return fc_rng_uniform(r) < 0.5; }

static int count_combo(const fc_synth_scene *s, int color, int shape) {
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += (color < 0 || s->obj[i].color == color) && (shape < 0 || s->obj[i].shape == shape);
    return n;
}

/* the objects that a colour + shape names unambiguously */
static int unique_objects(const fc_synth_scene *s, int *idx) {
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (count_combo(s, s->obj[i].color, s->obj[i].shape) == 1) idx[n++] = i;
    return n;
}

static void cell_of(const fc_synth_config *c, const fc_synth_object *o, char *out) {
    fc_synth_cell_name(c, o->row, o->col, out);
}

static const char *cname(const fc_synth_object *o) { return fc_synth_color_names[o->color]; }
static const char *sname(const fc_synth_object *o) { return fc_synth_shape_names[o->shape]; }

/* A relation between two uniquely named objects that differ along the axis (column for left_of, row for
 * above); the answer is drawn first so that yes and no are equally likely. */
static bool relation(const fc_synth_scene *s, fc_rng *r, bool by_col, fc_synth_question *q) {
    int u[FC_SYNTH_MAX_OBJECTS], n = unique_objects(s, u), pa[FC_SYNTH_MAX_OBJECTS * FC_SYNTH_MAX_OBJECTS][2], np = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const fc_synth_object *a = &s->obj[u[i]], *b = &s->obj[u[j]];
            if (by_col ? a->col < b->col : a->row < b->row) pa[np][0] = u[i], pa[np][1] = u[j], np++;
        }
    if (np == 0) return false;
    int k = rand_below(r, np);
    bool yes = coin(r);
    const fc_synth_object *a = &s->obj[pa[k][yes ? 0 : 1]], *b = &s->obj[pa[k][yes ? 1 : 0]];
    snprintf(q->text, sizeof q->text, "Is the %s %s %s the %s %s?", cname(a), sname(a), by_col ? "left of" : "above",
             cname(b), sname(b));
    snprintf(q->answer, sizeof q->answer, "%s", yes ? "yes" : "no");
    q->n_objects = 2;
    return true;
}

/* Two objects named by their cells, compared on colour or shape. Asked only about scenes that have both a
 * matching and a differing pair, and then "yes" half the time: where only one answer is possible the kind
 * is skipped, so that its answer prior stays flat (falling back to the possible answer made 5 in 6 "no"). */
static bool same(const fc_synth_config *c, const fc_synth_scene *s, fc_rng *r, bool color, fc_synth_question *q) {
    if (s->n < 2) return false;
    int pairs[2][FC_SYNTH_MAX_OBJECTS * FC_SYNTH_MAX_OBJECTS][2], np[2] = {0, 0};
    for (int i = 0; i < s->n; i++)
        for (int j = i + 1; j < s->n; j++) {
            int eq = color ? s->obj[i].color == s->obj[j].color : s->obj[i].shape == s->obj[j].shape;
            pairs[eq][np[eq]][0] = i, pairs[eq][np[eq]][1] = j, np[eq]++;
        }
    if (!np[0] || !np[1]) return false;
    int want = coin(r), k = rand_below(r, np[want]);
    int a = pairs[want][k][0], b = pairs[want][k][1];
    if (coin(r)) { int t = a; a = b, b = t; }
    const fc_synth_object *oa = &s->obj[a], *ob = &s->obj[b];
    char ca[32], cb[32];
    cell_of(c, oa, ca), cell_of(c, ob, cb);
    snprintf(q->text, sizeof q->text, "Do the objects at the %s and the %s have the same %s?", ca, cb,
             color ? "color" : "shape");
    snprintf(q->answer, sizeof q->answer, "%s", want ? "yes" : "no");
    q->n_objects = 2;
    return true;
}

/* One question of kind t, or false when the scene has none of that kind (e.g. no unique shape). */
static bool make_one(const fc_synth_config *c, const fc_synth_scene *s, fc_rng *r, fc_synth_qtype t,
                     fc_synth_question *q) {
    char cell[32];
    int u[FC_SYNTH_MAX_OBJECTS], n;
    memset(q, 0, sizeof *q);
    q->type = t;
    q->n_objects = 1;
    const fc_synth_object *o = &s->obj[rand_below(r, s->n)];
    switch (t) {
    case FC_SYNTH_Q_COLOR_AT:
        cell_of(c, o, cell);
        snprintf(q->text, sizeof q->text, "What color is the object at the %s?", cell);
        snprintf(q->answer, sizeof q->answer, "%s", cname(o));
        return true;
    case FC_SYNTH_Q_SHAPE_AT:
        cell_of(c, o, cell);
        snprintf(q->text, sizeof q->text, "What shape is at the %s?", cell);
        snprintf(q->answer, sizeof q->answer, "%s", sname(o));
        return true;
    case FC_SYNTH_Q_EXIST_AT: {
        int cells = c->grid * c->grid, empty[FC_SYNTH_MAX_OBJECTS], ne = 0;
        for (int k = 0; k < cells; k++)
            if (fc_synth_object_at(s, k / c->grid, k % c->grid) < 0) empty[ne++] = k;
        if (ne == 0) return false; /* a full grid: only "yes" possible, which would skew the prior */
        bool yes = coin(r);
        int k = yes ? o->row * c->grid + o->col : empty[rand_below(r, ne)];
        fc_synth_cell_name(c, k / c->grid, k % c->grid, cell);
        snprintf(q->text, sizeof q->text, "Is there an object at the %s?", cell);
        snprintf(q->answer, sizeof q->answer, "%s", yes ? "yes" : "no");
        q->n_objects = 0;
        return true;
    }
    case FC_SYNTH_Q_COUNT:
        snprintf(q->text, sizeof q->text, "How many objects are there?");
        snprintf(q->answer, sizeof q->answer, "%d", s->n);
        q->n_objects = 0;
        return true;
    case FC_SYNTH_Q_COUNT_COLOR: {
        int col = coin(r) ? o->color : rand_below(r, FC_SYNTH_NCOLORS);
        snprintf(q->text, sizeof q->text, "How many %s objects are there?", fc_synth_color_names[col]);
        snprintf(q->answer, sizeof q->answer, "%d", count_combo(s, col, -1));
        q->n_objects = 0;
        return true;
    }
    case FC_SYNTH_Q_COUNT_SHAPE: {
        int sh = coin(r) ? o->shape : rand_below(r, FC_SYNTH_NSHAPES);
        snprintf(q->text, sizeof q->text, "How many %ss are there?", fc_synth_shape_names[sh]);
        snprintf(q->answer, sizeof q->answer, "%d", count_combo(s, -1, sh));
        q->n_objects = 0;
        return true;
    }
    case FC_SYNTH_Q_COLOR_OF:
        n = 0;
        for (int i = 0; i < s->n; i++)
            if (count_combo(s, -1, s->obj[i].shape) == 1) u[n++] = i;
        if (!n) return false;
        o = &s->obj[u[rand_below(r, n)]];
        snprintf(q->text, sizeof q->text, "What color is the %s?", sname(o));
        snprintf(q->answer, sizeof q->answer, "%s", cname(o));
        return true;
    case FC_SYNTH_Q_SHAPE_OF:
        n = 0;
        for (int i = 0; i < s->n; i++)
            if (count_combo(s, s->obj[i].color, -1) == 1) u[n++] = i;
        if (!n) return false;
        o = &s->obj[u[rand_below(r, n)]];
        snprintf(q->text, sizeof q->text, "What shape is the %s object?", cname(o));
        snprintf(q->answer, sizeof q->answer, "%s", sname(o));
        return true;
    case FC_SYNTH_Q_WHERE:
        if (!(n = unique_objects(s, u))) return false;
        o = &s->obj[u[rand_below(r, n)]];
        cell_of(c, o, cell);
        snprintf(q->text, sizeof q->text, "Where is the %s %s?", cname(o), sname(o));
        snprintf(q->answer, sizeof q->answer, "%s", cell);
        return true;
    case FC_SYNTH_Q_EXIST: {
        int col = o->color, sh = o->shape, absent[FC_SYNTH_NCOLORS * FC_SYNTH_NSHAPES], na = 0;
        for (int k = 0; k < FC_SYNTH_NCOLORS * FC_SYNTH_NSHAPES; k++)
            if (!count_combo(s, k / FC_SYNTH_NSHAPES, k % FC_SYNTH_NSHAPES)) absent[na++] = k;
        if (na == 0) return false; /* every combination present: only "yes" possible */
        if (!coin(r)) { /* a combination the scene lacks */
            int k = absent[rand_below(r, na)];
            col = k / FC_SYNTH_NSHAPES, sh = k % FC_SYNTH_NSHAPES;
        }
        snprintf(q->text, sizeof q->text, "Is there a %s %s?", fc_synth_color_names[col], fc_synth_shape_names[sh]);
        snprintf(q->answer, sizeof q->answer, "%s", count_combo(s, col, sh) ? "yes" : "no");
        q->n_objects = 0;
        return true;
    }
    case FC_SYNTH_Q_LEFT_OF: return relation(s, r, true, q);
    case FC_SYNTH_Q_ABOVE: return relation(s, r, false, q);
    case FC_SYNTH_Q_SAME_COLOR: return same(c, s, r, true, q);
    case FC_SYNTH_Q_SAME_SHAPE: return same(c, s, r, false, q);
    default: return false;
    }
}

int fc_synth_questions_make(const fc_synth_config *c, const fc_synth_scene *s, fc_rng *rng, fc_synth_question *q,
                            int max) {
    if (s->n < 1 || max < 1) return 0;
    int order[FC_SYNTH_NQTYPES], n = 0;
    for (int i = 0; i < FC_SYNTH_NQTYPES; i++) order[i] = i;
    for (int i = FC_SYNTH_NQTYPES - 1; i > 0; i--) { /* a fresh order of kinds per scene */
        int j = rand_below(rng, i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    /* one question per kind at most, kinds in a fresh order: a second question of a yes/no kind would skew
     * its prior (distinct "yes" texts run out first: a scene has few objects and many absent combinations) */
    for (int k = 0; k < FC_SYNTH_NQTYPES && n < max; k++)
        if (make_one(c, s, rng, (fc_synth_qtype)order[k], &q[n])) n++;
    return n;
}
