/*
 * bytes.h — the single home of byte-order helpers and the bounds-checked read cursor.
 *
 * RTMP, AMF and FLV are big-endian except for one field: the chunk message header's
 * message stream id, which is little-endian (ls_get_le32). Nothing else in libstream
 * assembles integers from bytes by hand.
 */
#ifndef LIBSTREAM_BYTES_H
#define LIBSTREAM_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t ls_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t ls_get_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t ls_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t ls_get_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline double ls_get_be_double(const uint8_t *p)
{
    uint64_t bits = (uint64_t)ls_get_be32(p) << 32 | ls_get_be32(p + 4);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline void ls_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void ls_put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void ls_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void ls_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void ls_put_be_double(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    ls_put_be32(p, (uint32_t)(bits >> 32));
    ls_put_be32(p + 4, (uint32_t)bits);
}

/*
 * A read cursor over borrowed bytes. Every ls_rd_* call checks the remaining length first
 * and returns false without moving when too few bytes are left, so a decoder built on it
 * cannot over-read.
 */
struct ls_reader {
    const uint8_t *data; /* borrowed; must outlive the reader */
    size_t len;
    size_t pos;
};

static inline void ls_rd_init(struct ls_reader *r, const uint8_t *data, size_t len)
{
    r->data = data; r->len = len; r->pos = 0;
}
static inline size_t ls_rd_left(const struct ls_reader *r) { return r->len - r->pos; }
static inline const uint8_t *ls_rd_ptr(const struct ls_reader *r) { return r->data + r->pos; }
static inline bool ls_rd_skip(struct ls_reader *r, size_t n)
{
    if (ls_rd_left(r) < n) return false;
    r->pos += n;
    return true;
}
static inline bool ls_rd_u8(struct ls_reader *r, uint8_t *v)
{
    if (ls_rd_left(r) < 1) return false;
    *v = r->data[r->pos++];
    return true;
}
static inline bool ls_rd_be16(struct ls_reader *r, uint16_t *v)
{
    if (ls_rd_left(r) < 2) return false;
    *v = ls_get_be16(r->data + r->pos); r->pos += 2;
    return true;
}
static inline bool ls_rd_be24(struct ls_reader *r, uint32_t *v)
{
    if (ls_rd_left(r) < 3) return false;
    *v = ls_get_be24(r->data + r->pos); r->pos += 3;
    return true;
}
static inline bool ls_rd_be32(struct ls_reader *r, uint32_t *v)
{
    if (ls_rd_left(r) < 4) return false;
    *v = ls_get_be32(r->data + r->pos); r->pos += 4;
    return true;
}
static inline bool ls_rd_be_double(struct ls_reader *r, double *v)
{
    if (ls_rd_left(r) < 8) return false;
    *v = ls_get_be_double(r->data + r->pos); r->pos += 8;
    return true;
}
/* Borrows n bytes: *out points into the reader's data. */
static inline bool ls_rd_bytes(struct ls_reader *r, size_t n, const uint8_t **out)
{
    if (ls_rd_left(r) < n) return false;
    *out = r->data + r->pos; r->pos += n;
    return true;
}

#endif /* LIBSTREAM_BYTES_H */
