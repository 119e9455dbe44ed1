/*
 * buf.h — a growable byte buffer for encoders.
 *
 * Encoders append many small pieces; checking every append would bury the logic, so
 * errors are sticky: the first failed append (allocation failure, or growing past
 * `limit`) sets `err`, every later append is a no-op, and the encoder reports
 * ls_buf_status() once at the end. The buffer owns `data` until ls_buf_free() or
 * ls_buf_steal() hands it over.
 */
#ifndef LIBSTREAM_BUF_H
#define LIBSTREAM_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

struct ls_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t limit;  /* maximum len; 0 = unbounded */
    int err;       /* LS_OK, or the first error (LS_ENOMEM / LS_ELIMIT) */
};

/* An empty buffer that may grow to `limit` bytes (0 = no limit). Allocates nothing. */
void ls_buf_init(struct ls_buf *b, size_t limit);
/* Frees the data and returns the buffer to the empty state (limit kept, error cleared). */
void ls_buf_free(struct ls_buf *b);
/* Empties the buffer but keeps its memory for reuse; clears the error. */
void ls_buf_reset(struct ls_buf *b);
/* LS_OK or the first error of any append since init/reset. */
static inline int ls_buf_status(const struct ls_buf *b) { return b->err; }
/*
 * Hands the data to the caller (who must free() it) and leaves the buffer empty.
 * Returns NULL when the buffer is empty or in error; *len receives the length.
 */
uint8_t *ls_buf_steal(struct ls_buf *b, size_t *len);

/* Ensures room for `n` more bytes; returns LS_OK or sets and returns the sticky error. */
int ls_buf_reserve(struct ls_buf *b, size_t n);
void ls_buf_append(struct ls_buf *b, const void *p, size_t n);
void ls_buf_put_u8(struct ls_buf *b, uint8_t v);
void ls_buf_put_be16(struct ls_buf *b, uint16_t v);
void ls_buf_put_be24(struct ls_buf *b, uint32_t v);
void ls_buf_put_be32(struct ls_buf *b, uint32_t v);
void ls_buf_put_le32(struct ls_buf *b, uint32_t v);
void ls_buf_put_be_double(struct ls_buf *b, double v);

#endif /* LIBSTREAM_BUF_H */
