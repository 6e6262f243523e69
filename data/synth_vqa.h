/* synth_vqa.h: the synthetic visual-QA testbed: scenes of coloured shapes on a grid, their pictures, and
 * questions whose answers need the picture (colour, shape, count, position, spatial relations, and questions
 * about two objects), with train/validation/test splits that share no scene.
 *
 * Why it exists: no real weights or data sets can be downloaded here, so the tiny models that the project
 * trains (tools/train_testbed.py) learn this task, and compressors are judged by whether answers stay right.
 *
 * Determinism: everything follows from one seed. Scene j of the single-image sequence comes from RNG stream
 * (seed, FC_SYNTH_STREAM_SCENE + j), its questions from (seed, FC_SYNTH_STREAM_QUESTION + j); the multi-image
 * and long-context samples draw from their own streams, so asking for them (or for more questions per image)
 * never changes the single-image scenes. A scene's split is a function of its content alone (a hash of the
 * colour and shape in each grid cell, not of the jitter): identical layouts always land in the same split, so
 * no test scene appears in training, and the test split is the same whatever else is generated.
 */
#ifndef FC_DATA_SYNTH_VQA_H
#define FC_DATA_SYNTH_VQA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/model/generate.h"

#define FC_SYNTH_MAX_GRID 6
#define FC_SYNTH_MAX_OBJECTS (FC_SYNTH_MAX_GRID * FC_SYNTH_MAX_GRID)
#define FC_SYNTH_MAX_TEXT 160

/* RNG stream bases (ORed with an index below 2^40). */
#define FC_SYNTH_STREAM_SCENE ((uint64_t)1 << 40)
#define FC_SYNTH_STREAM_QUESTION ((uint64_t)2 << 40)
#define FC_SYNTH_STREAM_MULTI ((uint64_t)3 << 40)
#define FC_SYNTH_STREAM_LONG ((uint64_t)4 << 40)

typedef enum { FC_SYNTH_TRAIN, FC_SYNTH_VALIDATION, FC_SYNTH_TEST, FC_SYNTH_NSPLITS } fc_synth_split;
extern const char *const fc_synth_split_names[FC_SYNTH_NSPLITS]; /* "train", "validation", "test" */

enum { FC_SYNTH_RED, FC_SYNTH_GREEN, FC_SYNTH_BLUE, FC_SYNTH_YELLOW, FC_SYNTH_PURPLE, FC_SYNTH_NCOLORS };
enum { FC_SYNTH_CIRCLE, FC_SYNTH_SQUARE, FC_SYNTH_TRIANGLE, FC_SYNTH_NSHAPES };
extern const char *const fc_synth_color_names[FC_SYNTH_NCOLORS];
extern const char *const fc_synth_shape_names[FC_SYNTH_NSHAPES];
extern const uint8_t fc_synth_color_rgb[FC_SYNTH_NCOLORS][3];
extern const uint8_t fc_synth_background_rgb[3]; /* also the "blank image" a blind model is tested on */

/* Question kinds; the name is what the question files record as the type. */
typedef enum {
    FC_SYNTH_Q_COLOR_AT,    /* What color is the object at the top left?            -> red */
    FC_SYNTH_Q_SHAPE_AT,    /* What shape is at the center?                          -> circle */
    FC_SYNTH_Q_EXIST_AT,    /* Is there an object at the bottom?                     -> yes / no */
    FC_SYNTH_Q_COUNT,       /* How many objects are there?                           -> 3 */
    FC_SYNTH_Q_COUNT_COLOR, /* How many blue objects are there?                      -> 0 */
    FC_SYNTH_Q_COUNT_SHAPE, /* How many squares are there?                           -> 2 */
    FC_SYNTH_Q_COLOR_OF,    /* What color is the triangle?  (the only triangle)      -> green */
    FC_SYNTH_Q_SHAPE_OF,    /* What shape is the yellow object? (the only yellow one) -> square */
    FC_SYNTH_Q_WHERE,       /* Where is the red circle?                              -> top right */
    FC_SYNTH_Q_EXIST,       /* Is there a blue square?                               -> yes / no */
    FC_SYNTH_Q_LEFT_OF,     /* Is the red circle left of the blue square?            -> yes / no */
    FC_SYNTH_Q_ABOVE,       /* Is the red circle above the blue square?              -> yes / no */
    FC_SYNTH_Q_SAME_COLOR,  /* Are the objects at the top and the left the same color? -> yes / no */
    FC_SYNTH_Q_SAME_SHAPE,  /* Are the objects at the top and the left the same shape? -> yes / no */
    FC_SYNTH_NQTYPES
} fc_synth_qtype;
extern const char *const fc_synth_qtype_names[FC_SYNTH_NQTYPES];

typedef struct {
    uint8_t color, shape; /* fc_synth_color_names / fc_synth_shape_names index */
    uint8_t row, col;     /* grid cell, row 0 at the top, col 0 at the left */
    int16_t cx, cy, size; /* centre and side (or diameter) in pixels */
    uint8_t rgb[3];       /* the drawn colour: the named one with a small jitter */
} fc_synth_object;

typedef struct {
    int n;                                     /* objects, one per occupied cell, in row-major cell order */
    fc_synth_object obj[FC_SYNTH_MAX_OBJECTS];
} fc_synth_scene;

typedef struct {
    fc_synth_qtype type;
    int n_objects; /* 1 or 2: how many objects the question names (counts and existence: 0) */
    char text[FC_SYNTH_MAX_TEXT];
    char answer[32];
} fc_synth_question;

typedef struct {
    uint64_t seed;
    int image_size;         /* square images, pixels (336: LLaVA-1.5's CLIP input, so no resize happens) */
    int grid;               /* grid x grid cells, 2..FC_SYNTH_MAX_GRID */
    int min_objects, max_objects;
    int questions;          /* questions per image: at most one per kind, so at most FC_SYNTH_NQTYPES */
} fc_synth_config;

/* The defaults: seed 0, 336 px, 3x3 grid, 1..5 objects, 6 questions. */
fc_synth_config fc_synth_config_default(void);
/* FC_EINVAL naming the field when a value is out of range. */
fc_err fc_synth_config_check(const fc_synth_config *c);

/* Scene `index` of the stream `stream_base` (FC_SYNTH_STREAM_SCENE for the single-image sequence). */
void fc_synth_scene_make(const fc_synth_config *c, uint64_t stream_base, uint64_t index, fc_synth_scene *s);
/* The split a scene belongs to: from a hash of its cells' (colour, shape) only; ~80/10/10. */
fc_synth_split fc_synth_scene_split(const fc_synth_config *c, const fc_synth_scene *s);
/* Draws the scene into rgb (image_size^2 * 3 bytes, row-major RGB); s == NULL or no objects: a blank image. */
void fc_synth_scene_render(const fc_synth_config *c, const fc_synth_scene *s, uint8_t *rgb);

/* The name of grid cell (row, col): "top left" ... "bottom right" on 2x2 and 3x3 grids, "row 2 column 4"
 * on larger ones. `out` holds at least 32 bytes. */
void fc_synth_cell_name(const fc_synth_config *c, int row, int col, char *out);

/* Up to `max` questions about scene s, at most one of each kind (so at most FC_SYNTH_NQTYPES), kinds in an
 * order drawn with rng and skipped where the scene has no such question; every yes/no kind answers yes half
 * the time. Returns how many were written. */
int fc_synth_questions_make(const fc_synth_config *c, const fc_synth_scene *s, fc_rng *rng, fc_synth_question *q,
                            int max);

/* "red circle at top left, blue square at center" (row-major): the dense describe-every-object answer
 * training may add. `out` holds `cap` bytes; returns FC_EINVAL if it does not fit. */
fc_err fc_synth_describe(const fc_synth_config *c, const fc_synth_scene *s, char *out, int cap);

/* Index of the object at (row, col), -1 if the cell is empty. */
int fc_synth_object_at(const fc_synth_scene *s, int row, int col);

/* ---- writing a data set (synth_write.c) ---- */

typedef struct {
    fc_synth_config cfg;
    const char *out_dir;           /* created if missing (one level); files inside are replaced */
    int n[FC_SYNTH_NSPLITS];       /* single-image scenes per split (0: none) */
    bool png, jpeg;                /* picture formats (at least one); the JSON names the PNG when both */
    int jpeg_quality;              /* 1..100 */
    bool pack;                     /* one multi-turn conversation per image instead of one per question */
    bool describe;                 /* add a "Describe the image." turn (conversation JSON only) */
    int n_multi[FC_SYNTH_NSPLITS]; /* multi-image samples per split, multi_min..multi_max images each */
    int multi_min, multi_max;
    int n_long[FC_SYNTH_NSPLITS];  /* long-context samples per split, long_images images each */
    int long_images;
} fc_synth_write_opts;

/* Defaults: the config's, PNG only, JPEG quality 90, no packing, no describe turn, no multi-image or long
 * samples (2..4 and 8 images when asked for), and no splits selected. */
fc_synth_write_opts fc_synth_write_opts_default(void);

/* Writes into o->out_dir, for each split s with scenes or samples:
 *   images/<id>.png|.jpg          the pictures (ids "<split>_000000", "multi_<split>_000000", ...)
 *   <s>.json                      LLaVA conversations (mix665k layout: id, image, conversations of
 *                                 {"from": "human"|"gpt", "value"}, "<image>\n" opening the first human turn)
 *   <s>_questions.json            GQA layout: question id -> {imageId, question, answer, type, ...}
 *   <s>_scenes.json               image id -> {width, height, grid, objects [{color, shape, row, col, ...}]}
 *   multi_<s>.json, multi_<s>_questions.json, long_<s>.json, long_<s>_questions.json when asked for:
 *                                 several images per prompt ("image" is a list, one "<image>\n" each)
 *   synth.json                    the settings and counts (what was generated, with which seed)
 * Prints nothing; *n_files (if not NULL) gets the number of files written. */
fc_err fc_synth_write(const fc_synth_write_opts *o, int *n_files);

#endif
