/* tokenizer.h: the text tokenizers of the two target models, matching the Hugging Face `tokenizers`
 * library (the Rust code behind transformers 4.x fast tokenizers) token for token.
 *
 *   Llama (LLaVA-1.5): tokenizer.json; BPE with byte fallback, normalizer Prepend("▁") + Replace(" " -> "▁")
 *     applied to each text segment between added tokens, no pre-tokenizer, BOS prepended by the
 *     post-processor.
 *   Qwen2 (MiniCPM-V-2.6): vocab.json + merges.txt + tokenizer_config.json, built as transformers'
 *     Qwen2TokenizerFast builds it: NFC, the Qwen2 split regex (PCRE2), the GPT-2 byte map, BPE by merge
 *     rank; no BOS.
 *
 * Ill-formed UTF-8 in the input (which Python cannot pass to the library) is defined here: for Llama each
 * ill-formed byte is its own symbol and falls back to its <0xXX> token; for Qwen2 each ill-formed byte is
 * kept through NFC, matched by no regex class (it becomes its own piece, as unmatched text does) and maps
 * through the byte map like any other byte. Decoding is then an exact inverse for both. Embedded NULs
 * are ordinary characters (texts carry a length).
 *
 * A loaded tokenizer is read-only: encode/decode may run on many threads at once.
 */
#ifndef FC_TEXT_TOKENIZER_H
#define FC_TEXT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

typedef struct fc_tokenizer fc_tokenizer;

typedef enum { FC_TOK_LLAMA, FC_TOK_QWEN2 } fc_tokenizer_kind;

/* Loads the tokenizer in model_dir, picking the kind from its files: tokenizer.json with a byte-fallback
 * BPE model -> Llama; vocab.json + merges.txt with a Qwen2/MiniCPM-V tokenizer_class -> Qwen2. Errors
 * name the file and the key or line at fault; on failure *out is NULL. Free with fc_tokenizer_free. */
fc_err fc_tokenizer_load(fc_tokenizer **out, const char *model_dir);
/* Accepts NULL. */
void fc_tokenizer_free(fc_tokenizer *t);

/* Encodes text[0..len). add_special: add what the model's post-processor adds (Llama: BOS first; Qwen2:
 * nothing). Added/special tokens written in the text (<image>, <|im_start|>, <unk>, <slice>, ...) are
 * matched leftmost-longest before normalisation, as the library does. *ids is malloc'd (the caller frees
 * it; non-NULL even when *n_ids is 0). Fails only on allocation or a text over 2^31 bytes. */
fc_err fc_tokenizer_encode(const fc_tokenizer *t, const char *text, size_t len, bool add_special, int32_t **ids,
                           int *n_ids);

/* Decodes ids[0..n) as the library's Tokenizer.decode does (skip_special drops added tokens marked
 * special). *text is malloc'd, NUL-terminated, valid UTF-8 (ill-formed byte runs become U+FFFD as the
 * library does). Ids with no token (outside the vocabulary and the added tokens) are skipped, as the
 * library does. */
fc_err fc_tokenizer_decode(const fc_tokenizer *t, const int32_t *ids, int n, bool skip_special, char **text);
/* The same, also giving the length: a decoded text may hold NULs (token <0x00>, a NUL that was encoded). */
fc_err fc_tokenizer_decode_n(const fc_tokenizer *t, const int32_t *ids, int n, bool skip_special, char **text,
                             size_t *len);

/* Number of ids the tokenizer can produce: the largest model or added-token id + 1 (32002, 151666). */
int fc_tokenizer_vocab_size(const fc_tokenizer *t);
/* Id of an exact token string (added tokens first, then the model vocabulary), or -1. Model tokens are
 * spelt as in the vocabulary ("▁the", "Ġthe"). */
int32_t fc_tokenizer_token_id(const fc_tokenizer *t, const char *token);
/* The bos/eos tokens named by tokenizer_config.json (as transformers' bos_token_id / eos_token_id);
 * -1 if none. Note that Qwen2's add_special prepends nothing even though a bos_token is named. */
int32_t fc_tokenizer_bos(const fc_tokenizer *t);
int32_t fc_tokenizer_eos(const fc_tokenizer *t);
fc_tokenizer_kind fc_tokenizer_kind_of(const fc_tokenizer *t);

#endif
