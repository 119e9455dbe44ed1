/*
 * input.h — input bytes for the decoder tests: exactly-sized heap copies, so
 * AddressSanitizer reports a decoder that reads one byte past its input, and whole files
 * (fixtures, golden outputs) read the same way.
 *
 * Failures (out of memory, a missing file) print the cause and abort the program: tests
 * run from the repository root, and a fixture that is not there is not a test outcome.
 */
#ifndef LC_TEST_INPUT_H
#define LC_TEST_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* A malloc'd copy of p[0..n) in a block of exactly n bytes (1 when n is 0); free() it. */
uint8_t *input_dup_exact(const uint8_t *p, size_t n);

/* The whole file at `path` (relative to the repository root) in an exactly-sized malloc'd
 * block; its size in *len. A file must not be empty. */
uint8_t *input_read_file(const char *path, size_t *len);

#endif
