/*
 * hex.h — hexadecimal digits: the one place libstream turns bytes into hex text and hex
 * text back into values (signatures, tokens, percent-escapes). Pure: no allocation, no
 * global state.
 */
#ifndef LIBSTREAM_HEX_H
#define LIBSTREAM_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value 0..15 of a hex digit in either case; -1 for any other character. */
int ls_hex_value(char c);

/* Writes the 2 * n lower-case hex digits of p[0..n) and a NUL into out[2 * n + 1]. */
void ls_hex_encode(const uint8_t *p, size_t n, char *out);

/*
 * Copies the n characters of s into out[n + 1] in lower case, NUL-terminated, so that hex
 * text of either case can be compared with ls_hex_encode's output. Returns false when a
 * character is not a hex digit (out is then unspecified but NUL-terminated).
 */
bool ls_hex_lower(const char *s, size_t n, char *out);

#endif /* LIBSTREAM_HEX_H */
