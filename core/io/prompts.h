/* prompts.h: a file of prompts for the batch modes of `fc-eval logits` and `fc-eval generate` (--prompts).
 *
 * One prompt a line; blank lines are skipped. A line whose first non-blank character is '{' is a JSON object
 *   {"id": "q1", "text": "What is shown?", "images": ["a.jpg", "b.jpg"]}
 *   {"id": 7, "ids": [1, 450, 1424]}
 * with "text" (a non-empty string) or "ids" (token ids), exactly one; "id" (a string of letters, digits,
 * '.', '_', '-', not starting with '.', at most 100 characters, or a non-negative integer) names the
 * prompt's output (it becomes a file name); "images" (image files, at most FC_PROMPTS_MAX_IMAGES). Any other
 * line is the prompt's text, as written (a trailing "\r" dropped). A prompt without "id" is named by its
 * line number. Every error names the file and line: "p.jsonl:3: unknown key 'txt' (expected id, text, ids,
 * images)", "p.jsonl:9: id 'q1' is also on line 2", "p.jsonl: no prompts".
 */
#ifndef FC_IO_PROMPTS_H
#define FC_IO_PROMPTS_H

#include <stdint.h>

#include "core/base/err.h"

#define FC_PROMPTS_MAX_BYTES (64u << 20) /* a file of prompts */
#define FC_PROMPTS_MAX_COUNT 1000000
#define FC_PROMPTS_MAX_IMAGES 64         /* per prompt: as FC_VLM_MAX_IMAGES */
#define FC_PROMPTS_MAX_ID 100

typedef struct {
    char *id;       /* never NULL */
    char *text;     /* NULL when ids are given */
    int32_t *ids;   /* (n_ids) NULL when text is given */
    int n_ids;
    char **images;  /* (n_images) image files, as written (relative to the working directory) */
    int n_images;
    int line;       /* 1-based line in the file */
} fc_prompt;

typedef struct {
    fc_prompt *items; /* (n) in file order */
    int n;
} fc_prompt_list;

/* Reads and checks the file at path (name for messages: path). On failure *l is empty. Free with
 * fc_prompts_free. */
fc_err fc_prompts_load(fc_prompt_list *l, const char *path);
/* The same on buf[0..len), messages naming `name`. */
fc_err fc_prompts_parse(fc_prompt_list *l, const char *name, const char *buf, size_t len);
void fc_prompts_free(fc_prompt_list *l); /* accepts an empty list */

#endif
