/* nfc.h: Unicode Normalization Form C, as the Qwen2 tokenizer's normalizer applies it before splitting.
 *
 * The standard algorithm (UAX #15): full canonical decomposition, canonical ordering by combining class,
 * then canonical composition, with Hangul syllables handled algorithmically. The tables come from
 * Python's unicodedata through tools/make_unicode_tables.py (version in FC_NFC_UNICODE_VERSION).
 * Bytes that are not well-formed UTF-8 pass through unchanged and block composition across them, so
 * the byte-level tokenizer can still map them (our documented behaviour; Python cannot express it). */
#ifndef FC_TEXT_NFC_H
#define FC_TEXT_NFC_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* *out = malloc'd NFC form of s[0..n) (NUL-terminated, embedded NULs kept), *out_len its length.
 * Fails only on allocation; the caller frees *out. */
fc_err fc_nfc_normalize(const char *s, size_t n, char **out, size_t *out_len);

/* Canonical combining class of cp (0 for starters and for anything outside the table). */
int fc_nfc_ccc(uint32_t cp);

/* The primary composite of (a, b), or 0 when there is none (Hangul included). */
uint32_t fc_nfc_compose_pair(uint32_t a, uint32_t b);

/* The Unicode version of the tables. */
const char *fc_nfc_unicode_version(void);

#endif
