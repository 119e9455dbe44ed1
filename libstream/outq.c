/*
 * outq.c — reference-holding output queue flushed with writev (see outq.h).
 *
 * The ring holds (blob, class) pairs; `head_offset` is how much of the head blob the
 * kernel has already taken, so a partial writev resumes mid-blob:
 *
 *   ring: [head: blob A, 1200 of 4108 bytes sent][blob B][blob C] ...
 *   iov:  { A->data + 1200, 2908 } { B->data, B->len } { C->data, C->len } ...
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "libstream/outq.h"

#define OUTQ_IOV_MAX 64

void ls_outq_init(struct ls_outq *q)
{
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
    q->count = 0;
    q->head_offset = 0;
    q->bytes = 0;
    q->tracked_bytes = 0;
}

void ls_outq_clear(struct ls_outq *q)
{
    uint32_t i;

    for (i = 0; i < q->count; i++)
        ls_frame_unref(q->ring[(q->head + i) & (q->cap - 1)].blob);
    free(q->ring);
    ls_outq_init(q);
}

static int outq_grow(struct ls_outq *q)
{
    uint32_t cap = q->cap != 0 ? q->cap * 2 : 16;
    struct ls_outq_entry *ring;
    uint32_t i;

    if (cap < q->cap)
        return LS_ENOMEM;
    ring = malloc(sizeof *ring * cap);
    if (ring == NULL)
        return LS_ENOMEM;
    for (i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return LS_OK;
}

static int outq_push(struct ls_outq *q, struct ls_frame *blob, enum ls_outq_class cls,
                     bool tracked)
{
    struct ls_outq_entry *e;

    if (q->count == q->cap && outq_grow(q) != LS_OK) {
        ls_frame_unref(blob);
        return LS_ENOMEM;
    }
    e = &q->ring[(q->head + q->count) & (q->cap - 1)];
    e->blob = blob;
    e->cls = (uint8_t)cls;
    e->tracked = tracked;
    q->count++;
    q->bytes += blob->len;
    if (tracked)
        q->tracked_bytes += blob->len;
    return LS_OK;
}

int ls_outq_push(struct ls_outq *q, struct ls_frame *blob, enum ls_outq_class cls)
{
    return outq_push(q, blob, cls, false);
}

int ls_outq_push_tracked(struct ls_outq *q, struct ls_frame *blob, enum ls_outq_class cls)
{
    return outq_push(q, blob, cls, true);
}

/* Drops `n` written bytes from the front of the queue. */
static void outq_consume(struct ls_outq *q, size_t n)
{
    q->bytes -= n;
    while (n > 0) {
        struct ls_outq_entry *e = &q->ring[q->head];
        size_t left = e->blob->len - q->head_offset;

        if (n < left) {
            q->head_offset += (uint32_t)n;
            if (e->tracked)
                q->tracked_bytes -= n;
            return;
        }
        if (e->tracked)
            q->tracked_bytes -= left;
        n -= left;
        ls_frame_unref(e->blob);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->head_offset = 0;
    }
    /* Whole entries done; also release zero-length blobs sitting at the head. */
    while (q->count > 0 && q->ring[q->head].blob->len == q->head_offset) {
        ls_frame_unref(q->ring[q->head].blob);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->head_offset = 0;
    }
}

ssize_t ls_outq_write(struct ls_outq *q, int fd)
{
    struct iovec iov[OUTQ_IOV_MAX];
    size_t total = 0;

    while (q->count > 0) {
        int n = 0;
        uint32_t i;
        size_t want = 0;
        ssize_t w;

        for (i = 0; i < q->count && n < OUTQ_IOV_MAX; i++) {
            const struct ls_frame *b = q->ring[(q->head + i) & (q->cap - 1)].blob;
            size_t skip = i == 0 ? q->head_offset : 0;

            if (b->len == skip)
                continue;
            iov[n].iov_base = (void *)(b->data + skip);
            iov[n].iov_len = b->len - skip;
            want += iov[n].iov_len;
            n++;
        }
        if (n == 0) {
            outq_consume(q, 0);
            break;
        }
        w = writev(fd, iov, n);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        outq_consume(q, (size_t)w);
        total += (size_t)w;
        if ((size_t)w < want)
            break; /* socket buffer full */
    }
    return (ssize_t)total;
}

size_t ls_outq_copy_out(const struct ls_outq *q, uint8_t *out, size_t cap)
{
    size_t copied = 0;
    uint32_t i;

    for (i = 0; i < q->count && copied < cap; i++) {
        const struct ls_frame *b = q->ring[(q->head + i) & (q->cap - 1)].blob;
        size_t skip = i == 0 ? q->head_offset : 0;
        size_t n = b->len - skip;

        if (n > cap - copied)
            n = cap - copied;
        memcpy(out + copied, b->data + skip, n);
        copied += n;
    }
    return copied;
}

void ls_outq_consume(struct ls_outq *q, size_t n)
{
    outq_consume(q, n < q->bytes ? n : q->bytes);
}

ssize_t ls_outq_move_to_evbuffer(struct ls_outq *q, struct evbuffer *out)
{
    return ls_outq_move_to_evbuffer_max(q, out, SIZE_MAX);
}

ssize_t ls_outq_move_to_evbuffer_max(struct ls_outq *q, struct evbuffer *out, size_t max)
{
    size_t moved = 0;

    while (q->count > 0 && moved < max) {
        struct ls_outq_entry *e = &q->ring[q->head];
        size_t skip = q->head_offset;
        size_t len = e->blob->len - skip;

        if (len > 0) {
            if (evbuffer_add_reference(out, e->blob->data + skip, len, ls_frame_unref_cb,
                                       e->blob) == -1)
                return moved > 0 ? (ssize_t)moved : LS_ENOMEM;
        } else {
            ls_frame_unref(e->blob);
        }
        /* the evbuffer now owns the reference */
        if (e->tracked)
            q->tracked_bytes -= len;
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->head_offset = 0;
        q->bytes -= len;
        moved += len;
    }
    return (ssize_t)moved;
}

size_t ls_outq_shed(struct ls_outq *q, enum ls_outq_class min_cls)
{
    uint32_t read, write, kept = 0;
    size_t removed = 0, removed_tracked = 0;

    /* Compact in place; the head entry stays if it is partly written. */
    for (read = 0, write = 0; read < q->count; read++) {
        struct ls_outq_entry e = q->ring[(q->head + read) & (q->cap - 1)];
        bool started = read == 0 && q->head_offset > 0;

        if (!started && e.cls >= (uint8_t)min_cls) {
            removed += e.blob->len;
            if (e.tracked)
                removed_tracked += e.blob->len;
            ls_frame_unref(e.blob);
            continue;
        }
        q->ring[(q->head + write) & (q->cap - 1)] = e;
        write++;
        kept++;
    }
    q->count = kept;
    q->bytes -= removed;
    q->tracked_bytes -= removed_tracked;
    return removed;
}
