/* buf.c — growable encoder buffer with a sticky error (see buf.h). */
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/bytes.h"

void ls_buf_init(struct ls_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->err = LS_OK;
}

void ls_buf_free(struct ls_buf *b)
{
    free(b->data);
    ls_buf_init(b, b->limit);
}

void ls_buf_reset(struct ls_buf *b)
{
    b->len = 0;
    b->err = LS_OK;
}

uint8_t *ls_buf_steal(struct ls_buf *b, size_t *len)
{
    uint8_t *data = b->err == LS_OK && b->len > 0 ? b->data : NULL;

    *len = data != NULL ? b->len : 0;
    if (data == NULL)
        free(b->data);
    ls_buf_init(b, b->limit);
    return data;
}

int ls_buf_reserve(struct ls_buf *b, size_t n)
{
    size_t want, cap;
    uint8_t *grown;

    if (b->err != LS_OK)
        return b->err;
    if (n > SIZE_MAX - b->len || (b->limit != 0 && b->len + n > b->limit)) {
        b->err = LS_ELIMIT;
        return b->err;
    }
    want = b->len + n;
    if (want <= b->cap)
        return LS_OK;
    cap = b->cap != 0 ? b->cap : 64;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (b->limit != 0 && cap > b->limit)
        cap = b->limit;
    grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->err = LS_ENOMEM;
        return b->err;
    }
    b->data = grown;
    b->cap = cap;
    return LS_OK;
}

void ls_buf_append(struct ls_buf *b, const void *p, size_t n)
{
    if (n == 0 || ls_buf_reserve(b, n) != LS_OK)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ls_buf_put_u8(struct ls_buf *b, uint8_t v)
{
    ls_buf_append(b, &v, 1);
}

void ls_buf_put_be16(struct ls_buf *b, uint16_t v)
{
    uint8_t tmp[2];

    ls_put_be16(tmp, v);
    ls_buf_append(b, tmp, sizeof tmp);
}

void ls_buf_put_be24(struct ls_buf *b, uint32_t v)
{
    uint8_t tmp[3];

    ls_put_be24(tmp, v);
    ls_buf_append(b, tmp, sizeof tmp);
}

void ls_buf_put_be32(struct ls_buf *b, uint32_t v)
{
    uint8_t tmp[4];

    ls_put_be32(tmp, v);
    ls_buf_append(b, tmp, sizeof tmp);
}

void ls_buf_put_le32(struct ls_buf *b, uint32_t v)
{
    uint8_t tmp[4];

    ls_put_le32(tmp, v);
    ls_buf_append(b, tmp, sizeof tmp);
}

void ls_buf_put_be_double(struct ls_buf *b, double v)
{
    uint8_t tmp[8];

    ls_put_be_double(tmp, v);
    ls_buf_append(b, tmp, sizeof tmp);
}
