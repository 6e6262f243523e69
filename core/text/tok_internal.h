/* tok_internal.h: the tokenizer's private layout, shared by tokenizer.c (loading dispatch, added-token
 * splitting, the encode/decode drivers) and the per-model files tok_llama.c and tok_qwen2.c. */
#ifndef FC_TEXT_TOK_INTERNAL_H
#define FC_TEXT_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>

#include "core/text/bpe.h"
#include "core/text/tokenizer.h"

typedef struct {
    char *text;
    size_t len;
    int32_t id;
    bool special;
} fc_tok_added;

/* a growing id list */
typedef struct {
    int32_t *v;
    size_t n, cap;
} fc_tok_ids;

/* decoder steps of a tokenizer.json "decoder" Sequence, applied in order */
typedef enum { FC_DEC_REPLACE, FC_DEC_BYTE_FALLBACK, FC_DEC_FUSE, FC_DEC_STRIP, FC_DEC_BYTE_LEVEL } fc_dec_kind;
typedef struct {
    fc_dec_kind kind;
    char *from, *to;       /* REPLACE */
    uint32_t strip_char;   /* STRIP: content */
    int strip_start, strip_stop;
} fc_dec_step;

/* normaliser steps (Llama: Prepend, Replace; Qwen2: NFC) */
typedef enum { FC_NORM_PREPEND, FC_NORM_REPLACE, FC_NORM_NFC } fc_norm_kind;
typedef struct {
    fc_norm_kind kind;
    char *a, *b; /* PREPEND: a; REPLACE: a -> b */
} fc_norm_step;

struct fc_tokenizer {
    fc_tokenizer_kind kind;
    fc_bpe bpe;
    fc_tok_added *added;
    int n_added;
    bool added_first[256]; /* bytes that begin some added token */
    int32_t vocab_size, bos, eos;
    int32_t prefix[4], suffix[4]; /* post-processor's special tokens around the sequence */
    int n_prefix, n_suffix;
    fc_norm_step norm[4];
    int n_norm;
    fc_dec_step dec[6];
    int n_dec;
    /* Llama BPE options */
    bool byte_fallback, fuse_unk, ignore_merges;
    bool split_words; /* segments may be cut before each word-initial "▁" (tok_llama.c) */
    int32_t unk;
    int32_t byte_tok[256];  /* Llama: id of <0xXX>; Qwen2: id of the byte-mapped 1-char token; -1 none */
    int32_t ascii_tok[128]; /* Llama: id of each 1-byte symbol, -1 if absent */
    /* Qwen2 */
    pcre2_code *re;
    bool re_jit;
};

/* Tokenizer files (vocab.json, merges.txt, tokenizer.json) are tens of MB at most. */
#define FC_TOK_MAX_FILE_BYTES ((size_t)256 << 20)

/* helpers in tokenizer.c */

/* Reads a tokenizer JSON file whose top level must be an object: FC_EFORMAT "<path>: not a JSON object"
 * otherwise, file errors as fc_file_read. The caller deletes *root. */
fc_err fc_tok_read_json(const char *path, cJSON **root);

fc_err fc_tok_ids_push(fc_tok_ids *ids, int32_t id);
fc_err fc_tok_add_added(fc_tokenizer *t, const char *s, size_t n, int32_t id, bool special);
const fc_tok_added *fc_tok_find_added_id(const fc_tokenizer *t, int32_t id);
fc_err fc_tok_normalize(const fc_tokenizer *t, const char *s, size_t n, char **out, size_t *out_len);

/* per-model parts */
fc_err fc_tok_llama_load(fc_tokenizer *t, const char *path);           /* tokenizer.json */
fc_err fc_tok_llama_encode_segment(const fc_tokenizer *t, fc_bpe_work *w, const char *s, size_t n, fc_tok_ids *out);
fc_err fc_tok_qwen2_load(fc_tokenizer *t, const char *dir);            /* vocab.json + merges.txt */
/* FC_OK when dir/tokenizer_config.json names a Qwen2 / MiniCPM-V tokenizer class */
fc_err fc_tok_qwen2_check_class(const char *dir);
fc_err fc_tok_qwen2_encode_segment(const fc_tokenizer *t, fc_bpe_work *w, pcre2_match_data *md, const char *s,
                                   size_t n, fc_tok_ids *out);
/* shared by both: the tokenizer_config.json extras (added_tokens_decoder, bos/eos); missing file is ok
 * unless required */
fc_err fc_tok_load_config(fc_tokenizer *t, const char *dir, bool required, bool take_added);
/* GPT-2 bytes_to_unicode: the code point that stands for byte b (tok_decode.c) */
uint32_t fc_tok_byte_char(unsigned b);
/* decoder chain over token strings (tok_decode.c) */
fc_err fc_tok_decode_chain(const fc_tokenizer *t, const char **tok, const size_t *tok_len, int n, char **out,
                           size_t *out_len);

#endif
