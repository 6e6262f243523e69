/* dataset.h: the dataset readers, one record type for all of them.
 *
 *   LLaVA conversation JSON (the llava_v1_5_mix665k layout): a JSON array of
 *       {"id": str (a number is taken as its decimal text), "image": "gqa/images/1.jpg" | ["a.jpg", "b.jpg"] | absent (text only),
 *        "conversations": [{"from": "human", "value": "<image>\nQ1"}, {"from": "gpt", "value": "A1"}, ...]}
 *     turns alternate human/gpt starting with human ("user"/"assistant" are accepted as the same roles; the
 *     FastCache demo file writes "assistant"); every "<image>" marker in the human turns stands for the next
 *     image, so the markers must number exactly the images.
 *   GQA question files: either the official dict {"<question id>": {"imageId": "n123", "question": str,
 *     "answer": str, ...}, ...} or a list of objects with "question_id" / "questionId" / "id" (string or
 *     integer), "imageId" / "image_id" / "image", "question", "answer". The image is <images>/<imageId>.jpg
 *     (an imageId that already ends in .jpg/.jpeg/.png is taken as it is).
 *   MileBench task folders: a folder X holding X/X.json and X/images/ (or a folder above several such task
 *     folders: every X below it that has both is read, in name order). X.json is {"meta_data":
 *     {"task_instruction": [str, ...], "question_type": "multi-choice" | "open-ended", ...}, "data": [
 *     {"sample_id": int|str, "task_instruction_id": int, "task_instance": {"context": "... {image#1} ...",
 *     "images_path": ["a.jpg", ...], "choice_list": [str, ...] (multi-choice)}, "response": str|number}]}.
 *     The question is the instruction, a newline, then the context with each {image#k} / {table#k} marker
 *     written "<Image k> " (images come before the text, as the VLMs' chat() places them), then for a
 *     multi-choice sample "\nChoice list: \nA. ...\nB. ...\nYour answer is: " (MileBench's own layout).
 *     Images are X/images/<images_path>.
 *
 * Every record carries its id (as the file spells it; MileBench "<task>/<sample_id>"), its position in the
 * file, its image paths (checked to exist unless told not to), every turn as written, and the first
 * question/answer pair cleaned for a prompt (image markers removed, whitespace trimmed).
 *
 * Errors: a malformed file or record, or a missing image, fails with one message naming the file, the
 * record (index and id) and the problem, e.g.
 *   "data.json: record 3 (id 'abc'): image 'gqa/images/9.jpg' not found in 'imgs'"
 * With opts.lenient, a bad record is skipped instead and counted by reason; the first skip's message is
 * kept. A file that is not JSON, or not the expected top-level shape, is always an error.
 *
 * Ownership: a fc_dataset owns its records and every string in them; free with fc_dataset_free (NULL ok).
 */
#ifndef FC_DATA_DATASET_H
#define FC_DATA_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/err.h"

typedef enum { FC_DATA_AUTO = 0, FC_DATA_LLAVA, FC_DATA_GQA, FC_DATA_MILEBENCH, FC_DATA_FORMAT_COUNT } fc_data_format;
extern const char *const fc_data_format_names[FC_DATA_FORMAT_COUNT]; /* "auto", "llava", "gqa", "milebench" */

typedef enum { FC_DATA_HUMAN = 0, FC_DATA_GPT } fc_data_role;

typedef struct {
    fc_data_role role;
    char *text; /* as in the file, "<image>" markers included */
} fc_data_turn;

/* Why a record was left out. */
typedef enum {
    FC_DATA_SKIP_NO_IMAGE = 0, /* text only, and opts.allow_text_only is off (lenient) */
    FC_DATA_SKIP_IMAGE_MISSING, /* an image file is not there (lenient) */
    FC_DATA_SKIP_MALFORMED,     /* a field missing or of the wrong type, bad turn order, marker count (lenient) */
    FC_DATA_SKIP_TOO_MANY_IMAGES, /* more than opts.max_images (lenient) */
    FC_DATA_SKIP_FILTERED,      /* first image outside opts.image_prefix (always a skip, never an error) */
    FC_DATA_SKIP_COUNT
} fc_data_skip;
extern const char *const fc_data_skip_names[FC_DATA_SKIP_COUNT]; /* "no image", "image missing", ... */

typedef struct {
    char *id;             /* LLaVA "id", GQA question id, MileBench "<task>/<sample_id>" */
    int index;            /* 0-based position in its file (MileBench: in its task's "data") */
    char **images;        /* (n_images) paths: the images folder joined with the file's path */
    int n_images;
    fc_data_turn *turns;  /* (n_turns) alternating human, gpt, ...; GQA/MileBench: one pair */
    int n_turns;
    char *question;       /* first human turn without its "<image>" markers, trimmed */
    char *answer;         /* first gpt turn, trimmed (never NULL nor empty: records without one are malformed) */
    char **choices;       /* (n_choices) multiple-choice options (MileBench multi-choice), else NULL */
    int n_choices;
    int answer_choice;    /* index of answer in choices (option letter 'A' + it), -1 when not multiple choice */
    char *task;           /* MileBench task name, else NULL */
} fc_data_record;

typedef struct {
    fc_data_format format;      /* the format read (never AUTO) */
    char *path;                 /* the file or folder read */
    fc_data_record *recs;       /* (n) records kept, in file order */
    int n;
    int n_seen;                 /* records looked at (kept + skipped) */
    int skipped[FC_DATA_SKIP_COUNT];
    char *first_skip;           /* message of the first skipped record (NULL when none was skipped) */
} fc_dataset;

typedef struct {
    fc_data_format format;      /* FC_DATA_AUTO: a folder is MileBench; a JSON object is GQA; a JSON array is
                                   LLaVA when its first element has "conversations", else GQA */
    const char *images_dir;     /* image paths are relative to it; NULL: the data file's folder (MileBench
                                   always uses each task's images/ folder) */
    bool lenient;               /* bad records become counted skips instead of errors */
    bool allow_text_only;       /* keep records without an image (n_images 0); off: they are refused */
    bool no_image_check;        /* do not check that image files exist */
    const char *image_prefix;   /* keep only records whose first image path starts with this folder ("gqa"
                                   keeps "gqa/..."; the original FastCache's filter); NULL: keep all */
    int max_images;             /* refuse records with more images than this (0: no limit) */
    int limit;                  /* stop once this many records are kept (0: all) */
} fc_data_opts;

/* Reads the dataset at `path` (a JSON file, or a MileBench task folder or a folder of task folders).
 * opts may be NULL (all defaults: auto format, strict). On success *out holds the records (possibly none,
 * when every record was filtered or skipped); on failure *out is empty (safe to free) and the message
 * says which file, record and problem. The files are bounded at 4 GiB. */
fc_err fc_dataset_read(const char *path, const fc_data_opts *opts, fc_dataset *out);
void fc_dataset_free(fc_dataset *d); /* accepts NULL and an empty or already freed dataset */

/* The format of one file (fc_dataset_read calls these by opts->format). */
fc_err fc_data_read_llava(const char *path, const fc_data_opts *opts, fc_dataset *out);
fc_err fc_data_read_gqa(const char *path, const fc_data_opts *opts, fc_dataset *out);
fc_err fc_data_read_milebench(const char *path, const fc_data_opts *opts, fc_dataset *out);

/* Parses "auto", "llava", "gqa", "milebench"; FC_EINVAL naming the value otherwise. */
fc_err fc_data_format_parse(const char *s, fc_data_format *out);

/* One line for people: "<path>: <n> records (<format>), skipped: 3 no image, 1 image missing" (or
 * "skipped: none"), then the first skip's message on a second line when there was one. */
void fc_dataset_print_summary(const fc_dataset *d, FILE *f);

/* The text of a human turn ready for a prompt: every "<image>" marker removed together with one newline
 * or space right after it, then leading and trailing whitespace trimmed. malloc'd; NULL when out of memory. */
char *fc_data_strip_image_markers(const char *text);
/* A record id as error messages quote it: on one line (control bytes written \n, \t, \xNN) and cut to
 * fit buf with "..." (ids come from the data file: a newline in one must not split an error line). Returns
 * buf. */
const char *fc_data_id_for_message(const char *id, char *buf, size_t cap);

/* Number of "<image>" markers in text. */
int fc_data_count_image_markers(const char *text);

#endif
