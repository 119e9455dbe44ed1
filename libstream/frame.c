/* frame.c — reference-counted RTMP messages (see frame.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/frame.h"

struct ls_frame *ls_frame_new(uint8_t type, uint32_t timestamp, uint32_t stream_id, uint32_t len)
{
    struct ls_frame *f = malloc(sizeof *f + len);

    if (f == NULL)
        return NULL;
    f->refcount = 1;
    f->type = type;
    f->timestamp = timestamp;
    f->stream_id = stream_id;
    f->len = len;
    return f;
}

struct ls_frame *ls_frame_new_copy(uint8_t type, uint32_t timestamp, uint32_t stream_id,
                                   const void *data, uint32_t len)
{
    struct ls_frame *f = ls_frame_new(type, timestamp, stream_id, len);

    if (f != NULL && len > 0)
        memcpy(f->data, data, len);
    return f;
}

struct ls_frame *ls_frame_resize(struct ls_frame *f, uint32_t len)
{
    struct ls_frame *g;

    assert(f->refcount == 1);
    g = realloc(f, sizeof *f + len);
    if (g == NULL)
        return NULL;
    g->len = len;
    return g;
}

struct ls_frame *ls_frame_ref(struct ls_frame *f)
{
    assert(f->refcount > 0);
    f->refcount++;
    return f;
}

void ls_frame_unref(struct ls_frame *f)
{
    if (f == NULL)
        return;
    assert(f->refcount > 0);
    if (--f->refcount == 0)
        free(f);
}

void ls_frame_unref_cb(const void *data, size_t len, void *frame)
{
    (void)data;
    (void)len;
    ls_frame_unref(frame);
}
