/* utf8.h: the UTF-8 steps the tokenizers share: strict decoding of one code point, encoding, and the
 * lossy conversion that turns ill-formed bytes into U+FFFD the way Rust's String::from_utf8_lossy (and
 * so the `tokenizers` library's decoders, and Python's errors="replace") do: one U+FFFD per maximal
 * subpart of an ill-formed sequence (Unicode 15, §3.9, "U+FFFD Substitution of Maximal Subparts"). */
#ifndef FC_TEXT_UTF8_H
#define FC_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* Decodes the well-formed code point at s[0..n) (n >= 1). Returns its byte length (1..4) and sets *cp, or
 * returns -(k) when s starts with an ill-formed sequence whose maximal subpart is k bytes (k >= 1). */
int fc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes cp (<= 0x10FFFF) as UTF-8 into out (room for 4 bytes); returns the byte count. */
int fc_utf8_encode(uint32_t cp, char *out);

/* True when s[0..n) is well-formed UTF-8. */
int fc_utf8_valid(const unsigned char *s, size_t n);

/* *out = malloc'd NUL-terminated copy of s[0..n) with every maximal ill-formed subpart replaced by U+FFFD;
 * *out_len its length. Embedded NULs are kept. Fails only on allocation. */
fc_err fc_utf8_lossy(const unsigned char *s, size_t n, char **out, size_t *out_len);

#endif
