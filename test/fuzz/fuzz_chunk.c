/*
 * libFuzzer target for the chunk reader (chunk.c) and the control parser (control.c).
 *
 * Arbitrary bytes go through a reader with small limits three ways: whole, one byte at
 * a time, and split at a point chosen by the input. The three must agree on every
 * message and on the final status (a split-dependent result is a reassembly bug), and
 * every returned frame is parsed when it is a control message and then unreferenced.
 * Whatever the reader returns is then re-encoded by the writer and read back, which
 * must give the same message.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/control.h"
#include "libstream/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ls_chunk_limits fuzz_limits = {
    .max_chunk_size = 4096,
    .max_message_size = 64 * 1024,
    .max_chunk_streams = 8,
    .max_pending_bytes = 96 * 1024,
};

/* Order-sensitive digest of everything the reader returned. */
struct digest {
    uint64_t h;
    size_t msgs;
    int err;
};

static void mix(struct digest *d, uint64_t v)
{
    d->h = (d->h ^ v) * 0x100000001b3ull;
}

/* Writes `f` with the writer and reads it back; the copy must be identical. */
static void round_trip(const struct ls_frame *f)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_buf out;
    struct ls_frame *back = NULL;
    uint32_t cs = (f->len % 300) + 1;
    size_t off = 0;
    ssize_t n;

    if (r == NULL)
        abort();
    ls_buf_init(&out, 0);
    ls_control_write_set_chunk_size(&out, cs);
    ls_chunk_write(&out, 3 + f->len % 400, f->type, f->timestamp, f->stream_id, f->data,
                   f->len, cs);
    if (ls_buf_status(&out) != LS_OK)
        abort();
    for (int i = 0; i < 2; i++) {
        n = ls_chunk_reader_feed(r, out.data + off, out.len - off, &back, NULL);
        if (n < 0 || back == NULL)
            abort();
        off += (size_t)n;
        if (i == 0)
            ls_frame_unref(back);
    }
    if (off != out.len || back->type != f->type || back->timestamp != f->timestamp ||
        back->stream_id != f->stream_id || back->len != f->len ||
        memcmp(back->data, f->data, f->len) != 0)
        abort();
    ls_frame_unref(back);
    ls_buf_free(&out);
    ls_chunk_reader_free(r);
}

static void on_message(struct digest *d, struct ls_frame *f, bool check)
{
    struct ls_control c;
    uint32_t i;

    d->msgs++;
    mix(d, f->type);
    mix(d, f->timestamp);
    mix(d, f->stream_id);
    mix(d, f->len);
    for (i = 0; i < f->len; i++)
        mix(d, f->data[i]);
    if (check) {
        if (f->type >= 1 && f->type <= 6 && ls_control_parse(f, &c, NULL) == LS_OK &&
            c.type != f->type)
            abort();
        round_trip(f);
    }
    ls_frame_unref(f);
}

/* Feeds one piece with the documented caller loop. False once the reader failed. */
static bool feed(struct ls_chunk_reader *r, const uint8_t *p, size_t left,
                 struct digest *d, bool check)
{
    struct ls_frame *msg;
    uint32_t seq;
    ssize_t n;

    do {
        n = ls_chunk_reader_feed(r, p, left, &msg, NULL);
        if (n < 0) {
            if (msg != NULL)
                abort();
            d->err = (int)n;
            return false;
        }
        if ((size_t)n > left || (msg == NULL && (size_t)n != left))
            abort();
        p += n;
        left -= (size_t)n;
        if (msg != NULL)
            on_message(d, msg, check);
        (void)ls_chunk_reader_ack_due(r, &seq);
    } while (msg != NULL);
    return true;
}

static void run(const uint8_t *data, size_t size, int mode, size_t at, struct digest *d)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(&fuzz_limits);
    size_t i;

    if (r == NULL)
        abort();
    memset(d, 0, sizeof *d);
    d->h = 0xcbf29ce484222325ull;
    if (mode == 0) {
        feed(r, data, size, d, true);
    } else if (mode == 1) {
        for (i = 0; i < size; i++)
            if (!feed(r, data + i, 1, d, false))
                break;
    } else if (feed(r, data, at, d, false)) {
        feed(r, data + at, size - at, d, false);
    }
    if (d->err == LS_OK && ls_chunk_reader_bytes_received(r) != size)
        abort();
    ls_chunk_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct digest whole, bytes, split;
    size_t at = size > 0 ? (size_t)data[0] * 257 % (size + 1) : 0;

    run(data, size, 0, 0, &whole);
    run(data, size, 1, 0, &bytes);
    run(data, size, 2, at, &split);
    if (whole.h != bytes.h || whole.msgs != bytes.msgs || whole.err != bytes.err ||
        whole.h != split.h || whole.msgs != split.msgs || whole.err != split.err)
        abort();
    return 0;
}
