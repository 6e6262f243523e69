/* chat.h: the chat templates of LLaVA-1.5 (HF) and MiniCPM-V-2.6, written in code, and the expansion of
 * their image placeholders into the token layout the vision code fills.
 *
 * LLaVA-1.5 (llava-hf chat_template.json): per message, "ROLE: " (not for system), one "<image>\n" per
 * image, then the text + " "; with a generation prompt "ASSISTANT:". Expansion replaces each "<image>"
 * with image_tokens (576) copies, as LlavaProcessor does to the string before tokenising.
 *   "USER: <image>\nWhat are these? ASSISTANT:"
 *
 * MiniCPM-V-2.6 (tokenizer_config.json chat_template, ChatML): model.chat() joins a message's parts with
 * "\n", an image part being "(<image>./</image>)"; the template adds the default system turn
 * "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" when the first message is not a system
 * message, then "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message and "<|im_start|>assistant\n".
 * Expansion (MiniCPMVProcessor) replaces image k's "(<image>./</image>)" with
 *   "<image_id>k</image_id>" (use_image_id) + "<image>" + "<unk>" x 64 + "</image>"
 *   + for a sliced image, rows of cols x ("<slice>" + "<unk>" x 64 + "</slice>") joined by "\n".
 *
 * All returned strings are malloc'd, NUL-terminated; the caller frees them. Nothing is changed on error.
 */
#ifndef FC_TEXT_CHAT_H
#define FC_TEXT_CHAT_H

#include <stdbool.h>

#include "core/base/err.h"

typedef enum { FC_CHAT_SYSTEM, FC_CHAT_USER, FC_CHAT_ASSISTANT } fc_chat_role;

typedef struct {
    fc_chat_role role;
    int n_images;     /* images in this message; placed before the text, as both models' chat() do */
    const char *text; /* NULL: the message has no text part */
} fc_chat_msg;

/* A MiniCPM-V slice grid: cols x rows slices; {0, 0} means the image is not sliced. */
typedef struct {
    int cols, rows;
} fc_chat_grid;

#define FC_CHAT_LLAVA_IMAGE_TOKENS 576 /* (336/14)^2 */
#define FC_CHAT_MINICPMV_QUERY_NUM 64  /* resampler queries per image or slice */

/* LLaVA-1.5 template, placeholders unexpanded. */
fc_err fc_chat_llava_render(const fc_chat_msg *msgs, int n_msgs, bool add_generation_prompt, char **out);
/* Replaces every "<image>" in prompt by image_tokens copies (1 .. 65536). */
fc_err fc_chat_llava_expand(const char *prompt, int image_tokens, char **out);
/* Render (with the generation prompt) + expand: the text to tokenise for a LLaVA request. */
fc_err fc_chat_llava_prompt(const fc_chat_msg *msgs, int n_msgs, int image_tokens, char **out);

/* MiniCPM-V-2.6 template, placeholders unexpanded. */
fc_err fc_chat_minicpmv_render(const fc_chat_msg *msgs, int n_msgs, bool add_generation_prompt, char **out);
/* Replaces the k-th "(<image>./</image>)" by image k's placeholder (grids[k], query_num <unk>s); the prompt
 * must hold exactly n_images of them. */
fc_err fc_chat_minicpmv_expand(const char *prompt, const fc_chat_grid *grids, int n_images, int query_num,
                               bool use_image_id, char **out);
/* Render (with the generation prompt) + expand with 64 queries and image ids, as model.chat() does. grids
 * holds one entry per image over the whole conversation, in order. */
fc_err fc_chat_minicpmv_prompt(const fc_chat_msg *msgs, int n_msgs, const fc_chat_grid *grids, int n_images,
                               char **out);

#endif
