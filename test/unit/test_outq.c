/*
 * Unit tests for outq.c: the reference-holding output queue.
 *
 * Writes go through a real AF_UNIX socketpair whose send buffer is shrunk with SO_SNDBUF,
 * so partial writev() results (a blob cut in the middle) happen for real; what arrives at
 * the other end must be exactly the queued bytes in order. Shedding and the move into an
 * evbuffer are checked entry by entry, including the reference each blob holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "libstream/frame.h"
#include "libstream/outq.h"

/* A blob of `len` bytes whose content identifies it: byte i = seed + i. */
static struct ls_frame *blob(uint8_t seed, uint32_t len)
{
    struct ls_frame *f = ls_frame_new(0, 0, 0, len);
    uint32_t i;

    assert_non_null(f);
    for (i = 0; i < len; i++)
        f->data[i] = (uint8_t)(seed + i);
    return f;
}

static void push(struct ls_outq *q, struct ls_frame *f, enum ls_outq_class cls)
{
    assert_int_equal(ls_outq_push(q, f, cls), LS_OK);
}

/* The concatenation of the queue's unwritten bytes, by walking the public ring. */
static size_t queued_bytes(const struct ls_outq *q, uint8_t *out, size_t cap)
{
    size_t n = 0;
    uint32_t i;

    for (i = 0; i < q->count; i++) {
        const struct ls_frame *b = q->ring[(q->head + i) & (q->cap - 1)].blob;
        uint32_t skip = i == 0 ? q->head_offset : 0;

        assert_true(n + b->len - skip <= cap);
        memcpy(out + n, b->data + skip, b->len - skip);
        n += b->len - skip;
    }
    return n;
}

/* A non-blocking socketpair; fds[0] is written with a small send buffer. */
static void small_pair(int fds[2], int sndbuf)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

/* Reads whatever is available on fd (non-blocking) into out. */
static size_t drain_fd(int fd, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (;;) {
        ssize_t r = read(fd, out + n, cap - n);

        if (r <= 0) {
            assert_true(r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
            return n;
        }
        n += (size_t)r;
        assert_true(n < cap);
    }
}

static void test_empty_queue(void **state)
{
    struct ls_outq q;
    int fds[2];
    struct evbuffer *eb = evbuffer_new();

    (void)state;
    ls_outq_init(&q);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(ls_outq_bytes(&q), 0);
    small_pair(fds, 4096);
    assert_int_equal(ls_outq_write(&q, fds[0]), 0);
    assert_int_equal(ls_outq_shed(&q, LS_OUTQ_KEEP), 0);
    assert_int_equal(ls_outq_move_to_evbuffer(&q, eb), 0);
    assert_int_equal(evbuffer_get_length(eb), 0);
    ls_outq_clear(&q); /* on a never-used queue */
    ls_outq_clear(&q); /* twice */
    assert_true(ls_outq_empty(&q));
    evbuffer_free(eb);
    close(fds[0]);
    close(fds[1]);
}

static void test_push_counts_and_clear_drops_refs(void **state)
{
    struct ls_outq q;
    struct ls_frame *a = blob(1, 10), *b = blob(2, 20);

    (void)state;
    ls_outq_init(&q);
    push(&q, ls_frame_ref(a), LS_OUTQ_KEEP);
    push(&q, ls_frame_ref(b), LS_OUTQ_VIDEO);
    push(&q, ls_frame_ref(a), LS_OUTQ_AUDIO);
    assert_false(ls_outq_empty(&q));
    assert_int_equal(ls_outq_bytes(&q), 40);
    assert_int_equal(q.count, 3);
    assert_int_equal(a->refcount, 3);
    assert_int_equal(b->refcount, 2);
    ls_outq_clear(&q);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(ls_outq_bytes(&q), 0);
    assert_null(q.ring);
    assert_int_equal(a->refcount, 1);
    assert_int_equal(b->refcount, 1);
    ls_frame_unref(a);
    ls_frame_unref(b);
}

/* Whole queue written in one go to a roomy socket: bytes and order exact, refs dropped. */
static void test_write_all(void **state)
{
    struct ls_outq q;
    struct ls_frame *f[5];
    uint8_t want[4096], got[8192];
    size_t wn, gn;
    int fds[2], i;

    (void)state;
    ls_outq_init(&q);
    small_pair(fds, 65536);
    for (i = 0; i < 5; i++) {
        f[i] = blob((uint8_t)(i * 40), (uint32_t)(100 + i * 37));
        push(&q, ls_frame_ref(f[i]), LS_OUTQ_KEEP);
    }
    wn = queued_bytes(&q, want, sizeof want);
    assert_int_equal(wn, ls_outq_bytes(&q));
    assert_int_equal(ls_outq_write(&q, fds[0]), (ssize_t)wn);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(ls_outq_bytes(&q), 0);
    gn = drain_fd(fds[1], got, sizeof got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    for (i = 0; i < 5; i++) {
        assert_int_equal(f[i]->refcount, 1); /* the queue let go */
        ls_frame_unref(f[i]);
    }
    ls_outq_clear(&q);
    close(fds[0]);
    close(fds[1]);
}

/*
 * A small send buffer: each write stops mid-blob; the next resumes at head_offset. The
 * reader drains between writes; the concatenation must equal the queued stream. More than
 * 64 entries (one writev's iovec array) and ring wrap-around are exercised on the way.
 */
static void test_partial_writes_resume_mid_blob(void **state)
{
    struct ls_outq q;
    static uint8_t want[1 << 20], got[1 << 20];
    size_t wn = 0, gn = 0;
    int fds[2], i, rounds = 0, partial = 0;
    ssize_t w;

    (void)state;
    ls_outq_init(&q);
    small_pair(fds, 4096);
    for (i = 0; i < 300; i++) {
        struct ls_frame *f = blob((uint8_t)i, (uint32_t)(1 + (i * 97) % 3000));

        memcpy(want + wn, f->data, f->len);
        wn += f->len;
        push(&q, f, (enum ls_outq_class)(i % 4));
    }
    assert_int_equal(ls_outq_bytes(&q), wn);
    while (!ls_outq_empty(&q)) {
        size_t before = ls_outq_bytes(&q);

        w = ls_outq_write(&q, fds[0]);
        assert_true(w >= 0);
        assert_int_equal(ls_outq_bytes(&q), before - (size_t)w);
        if (q.head_offset > 0)
            partial++;
        gn += drain_fd(fds[1], got + gn, sizeof got - gn);
        assert_true(++rounds < 100000);
        /* Keep adding while writing: the ring wraps around its start. */
        if (rounds % 3 == 0 && wn < sizeof want - 4096) {
            struct ls_frame *f = blob((uint8_t)rounds, 777);

            memcpy(want + wn, f->data, f->len);
            wn += f->len;
            push(&q, f, LS_OUTQ_AUDIO);
        }
    }
    gn += drain_fd(fds[1], got + gn, sizeof got - gn);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    assert_true(partial > 0); /* the test really cut blobs */
    assert_true(rounds > 10);
    ls_outq_clear(&q);
    close(fds[0]);
    close(fds[1]);
}

/* A full socket: write returns 0 and leaves the queue as it was. */
static void test_full_socket_returns_zero(void **state)
{
    struct ls_outq q;
    int fds[2];
    ssize_t w;
    size_t left;

    (void)state;
    ls_outq_init(&q);
    small_pair(fds, 4096);
    push(&q, blob(0, 200000), LS_OUTQ_VIDEO);
    w = ls_outq_write(&q, fds[0]);
    assert_true(w > 0 && w < 200000);
    left = ls_outq_bytes(&q);
    assert_int_equal(left, 200000 - (size_t)w);
    assert_int_equal(ls_outq_write(&q, fds[0]), 0);
    assert_int_equal(ls_outq_bytes(&q), left);
    ls_outq_clear(&q);
    close(fds[0]);
    close(fds[1]);
}

/* Zero-length blobs are released as they reach the head, written or not. */
static void test_zero_length_blobs(void **state)
{
    struct ls_outq q;
    struct ls_frame *z1 = blob(0, 0), *z2 = blob(0, 0), *a = blob(5, 50);
    uint8_t got[128];
    int fds[2];

    (void)state;
    ls_outq_init(&q);
    small_pair(fds, 65536);
    push(&q, ls_frame_ref(z1), LS_OUTQ_KEEP);
    push(&q, ls_frame_ref(a), LS_OUTQ_KEEP);
    push(&q, ls_frame_ref(z2), LS_OUTQ_KEEP);
    assert_int_equal(ls_outq_write(&q, fds[0]), 50);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(z1->refcount, 1);
    assert_int_equal(z2->refcount, 1);
    assert_int_equal(drain_fd(fds[1], got, sizeof got), 50);
    assert_memory_equal(got, a->data, 50);
    /* a queue of nothing but an empty blob */
    push(&q, ls_frame_ref(z1), LS_OUTQ_KEEP);
    assert_int_equal(ls_outq_write(&q, fds[0]), 0);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(z1->refcount, 1);
    ls_frame_unref(z1);
    ls_frame_unref(z2);
    ls_frame_unref(a);
    ls_outq_clear(&q);
    close(fds[0]);
    close(fds[1]);
}

/* A socket error other than EAGAIN: -1 with errno, queue untouched. */
static void test_write_error(void **state)
{
    struct ls_outq q;
    int fds[2];

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    ls_outq_init(&q);
    small_pair(fds, 4096);
    close(fds[1]);
    push(&q, blob(1, 100), LS_OUTQ_KEEP);
    errno = 0;
    assert_int_equal(ls_outq_write(&q, fds[0]), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(ls_outq_bytes(&q), 100);
    assert_int_equal(ls_outq_write(&q, -1), -1);
    assert_int_equal(errno, EBADF);
    ls_outq_clear(&q);
    close(fds[0]);
}

/* Shedding: entries of class >= min go, the rest keep their order; counts follow. */
static void test_shed_classes(void **state)
{
    static const struct {
        enum ls_outq_class min;
        const char *kept; /* seeds of the entries left, in order */
        size_t removed;
    } cases[] = {
        { LS_OUTQ_VIDEO_KEY, "ABCDG", 10 }, /* E (empty) and F */
        { LS_OUTQ_VIDEO, "ABDG", 40 },
        { LS_OUTQ_AUDIO, "AD", 100 },
        { LS_OUTQ_KEEP, "", 120 },
    };
    /* seed letter, class, length */
    static const struct { char seed; enum ls_outq_class cls; uint32_t len; } entries[] = {
        { 'A', LS_OUTQ_KEEP, 10 },  { 'B', LS_OUTQ_AUDIO, 20 }, { 'C', LS_OUTQ_VIDEO, 30 },
        { 'D', LS_OUTQ_KEEP, 10 },  { 'E', LS_OUTQ_VIDEO_KEY, 0 }, { 'F', LS_OUTQ_VIDEO_KEY, 10 },
        { 'G', LS_OUTQ_AUDIO, 40 },
    };
    size_t c, i;

    (void)state;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct ls_outq q;
        char kept[16] = "";
        size_t total = 0;

        ls_outq_init(&q);
        for (i = 0; i < sizeof entries / sizeof entries[0]; i++) {
            push(&q, blob((uint8_t)entries[i].seed, entries[i].len), entries[i].cls);
            total += entries[i].len;
        }
        assert_int_equal(ls_outq_shed(&q, cases[c].min), cases[c].removed);
        assert_int_equal(ls_outq_bytes(&q), total - cases[c].removed);
        for (i = 0; i < q.count; i++) {
            const struct ls_outq_entry *e = &q.ring[(q.head + i) & (q.cap - 1)];

            kept[i] = e->blob->len > 0 ? (char)e->blob->data[0] : 'E';
        }
        assert_string_equal(kept, cases[c].kept);
        /* shedding again removes nothing more */
        assert_int_equal(ls_outq_shed(&q, cases[c].min), 0);
        ls_outq_clear(&q);
    }
}

/* The partly written head entry survives a shed of its class (the chunk stream would
 * break otherwise); everything after it of that class goes. */
static void test_shed_keeps_started_head(void **state)
{
    struct ls_outq q;
    int fds[2];
    ssize_t w;
    uint8_t got[300000];
    size_t gn;
    struct ls_frame *head = blob(9, 100000);

    (void)state;
    ls_outq_init(&q);
    small_pair(fds, 4096);
    push(&q, ls_frame_ref(head), LS_OUTQ_VIDEO);
    push(&q, blob(1, 500), LS_OUTQ_VIDEO);
    push(&q, blob(2, 600), LS_OUTQ_AUDIO);
    w = ls_outq_write(&q, fds[0]);
    assert_true(w > 0 && w < 100000);
    assert_int_equal(q.head_offset, (uint32_t)w);
    assert_int_equal(ls_outq_shed(&q, LS_OUTQ_VIDEO), 500);
    assert_int_equal(q.count, 2);
    assert_int_equal(ls_outq_bytes(&q), 100000 - (size_t)w + 600);
    /* the rest of the head and the audio entry still come out intact */
    gn = 0;
    while (!ls_outq_empty(&q)) {
        assert_true(ls_outq_write(&q, fds[0]) >= 0);
        gn += drain_fd(fds[1], got + gn, sizeof got - gn);
    }
    gn += drain_fd(fds[1], got + gn, sizeof got - gn);
    assert_int_equal(gn, 100000 + 600);
    assert_memory_equal(got, head->data, 100000);
    assert_int_equal(got[100000], 2);
    ls_frame_unref(head);
    ls_outq_clear(&q);
    close(fds[0]);
    close(fds[1]);
}

/* Moved into an evbuffer by reference: same bytes, the queue empties, and each blob's
 * reference is released only when the evbuffer lets go of it. */
static void test_move_to_evbuffer(void **state)
{
    struct ls_outq q;
    struct evbuffer *eb = evbuffer_new();
    struct ls_frame *a = blob(10, 3000), *b = blob(20, 0), *c = blob(30, 70);
    uint8_t want[4000], got[4000];
    size_t wn;

    (void)state;
    ls_outq_init(&q);
    push(&q, ls_frame_ref(a), LS_OUTQ_KEEP);
    push(&q, ls_frame_ref(b), LS_OUTQ_KEEP);
    push(&q, ls_frame_ref(c), LS_OUTQ_AUDIO);
    q.head_offset = 1000; /* as if a write had taken 1000 bytes of `a` */
    q.bytes -= 1000;
    wn = queued_bytes(&q, want, sizeof want);
    assert_int_equal(ls_outq_move_to_evbuffer(&q, eb), (ssize_t)wn);
    assert_true(ls_outq_empty(&q));
    assert_int_equal(ls_outq_bytes(&q), 0);
    assert_int_equal(q.head_offset, 0);
    assert_int_equal(evbuffer_get_length(eb), wn);
    assert_int_equal(a->refcount, 2); /* held by the evbuffer now */
    assert_int_equal(c->refcount, 2);
    assert_int_equal(b->refcount, 1); /* the empty blob was dropped, not moved */
    assert_int_equal(evbuffer_remove(eb, got, sizeof got), (int)wn);
    assert_memory_equal(got, want, wn);
    assert_memory_equal(got, a->data + 1000, 2000);
    assert_int_equal(a->refcount, 1);
    assert_int_equal(c->refcount, 1);
    /* the queue is reusable afterwards */
    push(&q, ls_frame_ref(c), LS_OUTQ_KEEP);
    assert_int_equal(ls_outq_move_to_evbuffer(&q, eb), 70);
    evbuffer_free(eb);
    assert_int_equal(c->refcount, 1);
    ls_frame_unref(a);
    ls_frame_unref(b);
    ls_frame_unref(c);
    ls_outq_clear(&q);
}

/* Ring growth keeps entries in order across a wrapped head. */
static void test_growth_with_wrapped_head(void **state)
{
    struct ls_outq q;
    struct evbuffer *eb = evbuffer_new();
    uint8_t got[64];
    int i;

    (void)state;
    ls_outq_init(&q);
    for (i = 0; i < 16; i++)
        push(&q, blob((uint8_t)i, 1), LS_OUTQ_KEEP);
    assert_int_equal(q.cap, 16);
    /* write 10 to a socket, then push 20 more: the ring wraps, then grows */
    {
        int fds[2];

        small_pair(fds, 4096);
        q.count = 10; /* hide the last 6 from this write */
        assert_int_equal(ls_outq_write(&q, fds[0]), 10);
        assert_int_equal(q.head, 10);
        q.count = 6;
        q.bytes = 6;
        assert_int_equal(drain_fd(fds[1], got, sizeof got), 10);
        close(fds[0]);
        close(fds[1]);
    }
    for (i = 16; i < 26; i++)
        push(&q, blob((uint8_t)i, 1), LS_OUTQ_KEEP);
    assert_int_equal(q.cap, 16); /* 16 entries, wrapped */
    assert_int_equal(q.head, 10);
    for (i = 26; i < 36; i++)
        push(&q, blob((uint8_t)i, 1), LS_OUTQ_KEEP);
    assert_int_equal(q.count, 26);
    assert_true(q.cap >= 32);
    assert_int_equal(ls_outq_move_to_evbuffer(&q, eb), 26);
    assert_int_equal(evbuffer_remove(eb, got, sizeof got), 26);
    for (i = 0; i < 26; i++)
        assert_int_equal(got[i], 10 + i);
    evbuffer_free(eb);
    ls_outq_clear(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_queue),
        cmocka_unit_test(test_push_counts_and_clear_drops_refs),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_partial_writes_resume_mid_blob),
        cmocka_unit_test(test_full_socket_returns_zero),
        cmocka_unit_test(test_zero_length_blobs),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_shed_classes),
        cmocka_unit_test(test_shed_keeps_started_head),
        cmocka_unit_test(test_move_to_evbuffer),
        cmocka_unit_test(test_growth_with_wrapped_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
