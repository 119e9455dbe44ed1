/*
 * input.c — exactly-sized input bytes for the decoder tests (see input.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/input.h"

static _Noreturn void input_die(const char *what, const char *path)
{
    fprintf(stderr, "input: %s%s%s\n", what, path != NULL ? ": " : "",
            path != NULL ? path : "");
    abort();
}

uint8_t *input_dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n != 0 ? n : 1);

    if (q == NULL)
        input_die("out of memory", NULL);
    if (n != 0)
        memcpy(q, p, n);
    return q;
}

uint8_t *input_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n = -1;

    if (f == NULL)
        input_die("cannot open (tests run from the repository root)", path);
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n <= 0 || fseek(f, 0, SEEK_SET) != 0)
        input_die("cannot size, or empty", path);
    data = malloc((size_t)n);
    if (data == NULL)
        input_die("out of memory", path);
    if (fread(data, 1, (size_t)n, f) != (size_t)n)
        input_die("short read", path);
    fclose(f);
    *len = (size_t)n;
    return data;
}
