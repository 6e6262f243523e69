/* answer_score.h: how a predicted answer is scored against a dataset's reference answer.
 *
 * Normalisation follows the VQA/GQA evaluation scripts that LLaVA-1.5's GQA numbers come from: lower case;
 * newlines and tabs as spaces; a comma between digits dropped ("1,000" -> "1000"); a period dropped unless
 * a digit follows ("3.5" stays, "u.s." is "us"); the other punctuation ; / [ ] " { } ( ) = + \ _ - > < @ ` ,
 * ? ! and : as spaces; the number words zero..ten and "none" as digits; the articles a, an, the removed;
 * runs of spaces as one; leading and trailing spaces and quotes trimmed. Not applied: VQA's contraction table
 * ("dont" -> "don't") and its rule that drops every punctuation mark outright once a text holds "1,000".
 *   exact:    normalised prediction == normalised answer
 *   contains: the normalised answer occurs in the normalised prediction as whole words
 * Multiple choice (MileBench): the option letter is read from the prediction (fc_answer_choice) and
 * compared with the answer's letter; "contains" also accepts the answer option's text as whole words.
 */
#ifndef FC_DATA_ANSWER_SCORE_H
#define FC_DATA_ANSWER_SCORE_H

#include <stdbool.h>

#include "core/base/err.h"

/* The normalised form of s, malloc'd (NULL when out of memory). */
char *fc_answer_normalize(const char *s);

/* The option a prediction picks among n choices (0-based; -1 when none can be read), in this order:
 * a leading letter within the choices ("B", "B.", "B)", "(B)", "B: ...", "B, ..."); then a choice's
 * normalised text as whole words in the normalised prediction (the earliest, the longest on a tie); then a
 * leading letter followed by a space and anything but a lower-case word ("B The door"; "A cat ..." is an
 * article); then "answer is B" / "option B" anywhere. */
int fc_answer_choice(const char *prediction, const char *const *choices, int n);

typedef struct {
    bool exact, contains;
    int choice; /* the option read from the prediction (multiple choice), else -1 */
} fc_answer_score;

/* Scores prediction against answer; choices/n_choices/answer_choice describe a multiple-choice record
 * (n_choices 0 and answer_choice -1 otherwise). FC_ENOMEM only. */
fc_err fc_answer_score_text(const char *prediction, const char *answer, const char *const *choices, int n_choices,
                            int answer_choice, fc_answer_score *out);

#endif
