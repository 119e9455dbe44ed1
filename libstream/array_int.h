/*
 * array_int.h — growth of the heap arrays libstream keeps (private to libstream).
 *
 * Arrays grow by doubling; the bounds on what goes into them (nodes, GOP bytes, ...) are
 * checked by their owners before an element is added, so this only guards the arithmetic.
 */
#ifndef LIBSTREAM_ARRAY_INT_H
#define LIBSTREAM_ARRAY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Makes room for one more element of `size` bytes in *arr, which holds `n` of `*cap`:
 * when full, doubles the capacity (first allocation: `initial` elements). Returns false on
 * overflow or allocation failure, leaving *arr and *cap as they were.
 */
static inline bool ls_array_reserve(void **arr, size_t *cap, size_t n, size_t size,
                                    size_t initial)
{
    size_t want;
    void *grown;

    if (n < *cap)
        return true;
    want = *cap != 0 ? *cap * 2 : initial;
    if (want > SIZE_MAX / size)
        return false;
    grown = realloc(*arr, want * size);
    if (grown == NULL)
        return false;
    *arr = grown;
    *cap = want;
    return true;
}

#endif
