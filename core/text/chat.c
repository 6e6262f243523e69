/* chat.c: the chat templates and image-placeholder expansion of LLaVA-1.5 and MiniCPM-V-2.6 (chat.h). */
#include "core/text/chat.h"

#include <stdio.h>
#include <string.h>

#include "core/base/mem.h"

/* a growing string */
typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = fc_realloc(b->s, cap, "chat prompt");
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static fc_err sb_finish(sbuf *b, char **out) {
    if (!b->oom && !b->s) sb_add(b, "", 0);
    if (b->oom) {
        free(b->s);
        return FC_ENOMEM;
    }
    *out = b->s;
    return FC_OK;
}

static fc_err check_msgs(const fc_chat_msg *msgs, int n) {
    if (n < 0 || (n && !msgs)) return fc_err_set(FC_EINVAL, "chat: %d messages", n);
    for (int i = 0; i < n; i++) {
        if (msgs[i].role < FC_CHAT_SYSTEM || msgs[i].role > FC_CHAT_ASSISTANT)
            return fc_err_set(FC_EINVAL, "chat: message %d has an unknown role %d", i, (int)msgs[i].role);
        if (msgs[i].n_images < 0 || msgs[i].n_images > 1000)
            return fc_err_set(FC_EINVAL, "chat: message %d has %d images", i, msgs[i].n_images);
    }
    return FC_OK;
}

fc_err fc_chat_llava_render(const fc_chat_msg *msgs, int n, bool add_generation_prompt, char **out) {
    FC_TRY(check_msgs(msgs, n));
    sbuf b = {0};
    for (int i = 0; i < n; i++) {
        if (msgs[i].role == FC_CHAT_USER) sb_str(&b, "USER: ");
        else if (msgs[i].role == FC_CHAT_ASSISTANT) sb_str(&b, "ASSISTANT: ");
        for (int k = 0; k < msgs[i].n_images; k++) sb_str(&b, "<image>\n");
        if (msgs[i].text) {
            sb_str(&b, msgs[i].text);
            sb_str(&b, " ");
        }
    }
    if (add_generation_prompt) sb_str(&b, "ASSISTANT:");
    return sb_finish(&b, out);
}

fc_err fc_chat_llava_expand(const char *prompt, int image_tokens, char **out) {
    if (image_tokens < 1 || image_tokens > 65536)
        return fc_err_set(FC_EINVAL, "chat: %d image tokens (want 1..65536)", image_tokens);
    static const char tag[] = "<image>";
    sbuf b = {0};
    for (const char *p = prompt;;) {
        const char *q = strstr(p, tag);
        if (!q) {
            sb_str(&b, p);
            break;
        }
        sb_add(&b, p, (size_t)(q - p));
        for (int k = 0; k < image_tokens; k++) sb_add(&b, tag, sizeof tag - 1);
        p = q + sizeof tag - 1;
    }
    return sb_finish(&b, out);
}

fc_err fc_chat_llava_prompt(const fc_chat_msg *msgs, int n, int image_tokens, char **out) {
    char *r;
    FC_TRY(fc_chat_llava_render(msgs, n, true, &r));
    fc_err e = fc_chat_llava_expand(r, image_tokens, out);
    free(r);
    return e;
}

static const char *role_name(fc_chat_role r) {
    return r == FC_CHAT_SYSTEM ? "system" : r == FC_CHAT_USER ? "user" : "assistant";
}

#define MINICPMV_IMAGE_TAG "(<image>./</image>)"

fc_err fc_chat_minicpmv_render(const fc_chat_msg *msgs, int n, bool add_generation_prompt, char **out) {
    FC_TRY(check_msgs(msgs, n));
    sbuf b = {0};
    /* the template's default system turn: "loop.first and messages[0]['role'] != 'system'" */
    if (n > 0 && msgs[0].role != FC_CHAT_SYSTEM)
        sb_str(&b, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
    for (int i = 0; i < n; i++) {
        sb_str(&b, "<|im_start|>");
        sb_str(&b, role_name(msgs[i].role));
        sb_str(&b, "\n");
        for (int k = 0; k < msgs[i].n_images; k++) {
            if (k) sb_str(&b, "\n");
            sb_str(&b, MINICPMV_IMAGE_TAG);
        }
        if (msgs[i].text) {
            if (msgs[i].n_images) sb_str(&b, "\n");
            sb_str(&b, msgs[i].text);
        }
        sb_str(&b, "<|im_end|>\n");
    }
    if (add_generation_prompt) sb_str(&b, "<|im_start|>assistant\n");
    return sb_finish(&b, out);
}

static void add_block(sbuf *b, const char *open, const char *close, int query_num) {
    sb_str(b, open);
    for (int q = 0; q < query_num; q++) sb_str(b, "<unk>");
    sb_str(b, close);
}

fc_err fc_chat_minicpmv_expand(const char *prompt, const fc_chat_grid *grids, int n_images, int query_num,
                               bool use_image_id, char **out) {
    if (n_images < 0 || (n_images && !grids)) return fc_err_set(FC_EINVAL, "chat: %d images without grids", n_images);
    if (query_num < 1 || query_num > 4096) return fc_err_set(FC_EINVAL, "chat: query_num %d (want 1..4096)", query_num);
    for (int k = 0; k < n_images; k++) {
        const fc_chat_grid *g = &grids[k];
        bool none = g->cols == 0 && g->rows == 0;
        if (!none && (g->cols < 1 || g->rows < 1 || g->cols * g->rows > 100))
            return fc_err_set(FC_EINVAL, "chat: image %d has slice grid %dx%d", k, g->cols, g->rows);
    }
    sbuf b = {0};
    int k = 0;
    const char *p = prompt;
    for (;;) {
        const char *q = strstr(p, MINICPMV_IMAGE_TAG);
        if (!q) break;
        if (k == n_images) {
            free(b.s);
            return fc_err_set(FC_EINVAL, "chat: the prompt has more image placeholders than the %d images given", n_images);
        }
        sb_add(&b, p, (size_t)(q - p));
        if (use_image_id) {
            char id[48];
            snprintf(id, sizeof id, "<image_id>%d</image_id>", k);
            sb_str(&b, id);
        }
        add_block(&b, "<image>", "</image>", query_num);
        const fc_chat_grid *g = &grids[k];
        for (int r = 0; r < g->rows; r++) {
            if (r) sb_str(&b, "\n");
            for (int c = 0; c < g->cols; c++) add_block(&b, "<slice>", "</slice>", query_num);
        }
        k++;
        p = q + strlen(MINICPMV_IMAGE_TAG);
    }
    sb_str(&b, p);
    if (k != n_images) {
        free(b.s);
        return fc_err_set(FC_EINVAL, "chat: the prompt has %d image placeholders but %d images were given", k, n_images);
    }
    return sb_finish(&b, out);
}

fc_err fc_chat_minicpmv_prompt(const fc_chat_msg *msgs, int n, const fc_chat_grid *grids, int n_images, char **out) {
    char *r;
    FC_TRY(fc_chat_minicpmv_render(msgs, n, true, &r));
    fc_err e = fc_chat_minicpmv_expand(r, grids, n_images, FC_CHAT_MINICPMV_QUERY_NUM, true, out);
    free(r);
    return e;
}
