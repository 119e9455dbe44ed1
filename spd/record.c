/*
 * record.c — spd's recordings (role layer): a published stream written to an FLV file.
 *
 * The recorder is a hidden hub subscriber of the FLV transport, so it gets exactly the tag
 * bytes HTTP-FLV viewers get, shared by reference. Disks stall (a full journal, a slow
 * network filesystem, another process's fsync), and a write() that blocks the event loop
 * stops every viewer of the process. So the loop never writes the file:
 *
 *   hub ─▶ outq (references) ─writev, non-blocking─▶ pipe ─▶ writer thread ─write()─▶ file
 *
 * One writer thread per recording reads the pipe and writes the file; it is the only code
 * that touches the file. The pipe (up to 1 MiB) is the bounded queue between the loop and
 * the disk. When it is full the tags wait in the outq, where the hub's slow-subscriber
 * policy applies as to any viewer (docs/architecture.md decision 3): past
 * viewer_queue_bytes whole video tags are shed up to the next keyframe, and a recorder
 * behind for slow_viewer_timeout is stopped with a log line. Only whole tags are ever
 * shed, and the writer cuts the file back to the last whole tag when it ends, so a
 * recording is always a valid FLV file. The thread shares no memory with the loop while it
 * runs (bytes cross through the kernel); it reports how it ended through an eventfd, and
 * the loop joins it and logs.
 *
 * Quota (docs/security.md): `record.max_bytes` ends a file before the tag that would pass
 * it; `record.min_free_bytes` ends it when its filesystem has less free space (checked
 * every MiB written). Either way the recording stops with a log line; the publish goes on.
 *
 * File layout (FLV 1.0 §E.2–E.4), which the writer follows to know where tags end:
 *   header(9) prevsize0(4) | type(1) size(3) ts(3) tsx(1) sid(3) data(size) prevsize(4) | ...
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/clock.h"
#include "libstream/flv.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/outq.h"
#include "libstream/streamid.h"
#include "record.h"

#define RECORD_PIPE_BYTES (1 << 20)        /* asked for; the kernel may give 64 KiB */
#define RECORD_IO_BYTES 65536              /* the writer's read buffer */
#define RECORD_FREE_CHECK_BYTES (1 << 20)  /* statvfs at most once per MiB written */
#define RECORD_STACK_BYTES (256 * 1024)
#define RECORD_FINISH_MS 2000              /* at exit: how long the last bytes may take */
#define RECORD_FLV_HEADER 13               /* file header + PreviousTagSize0 */
#define RECORD_TAG_HEADER 11

enum record_outcome {
    RECORD_FINISHED,   /* the loop closed the pipe: everything queued is in the file */
    RECORD_MAX_BYTES,  /* the next tag would have passed record.max_bytes */
    RECORD_NO_SPACE,   /* free space below record.min_free_bytes */
    RECORD_FAILED,     /* a read or write error (err) */
};

/* The writer thread's state: only the thread touches it between start and join. */
struct record_writer {
    int pipe_r;
    int fd;
    int done_fd;                /* eventfd: written once, when the thread ends */
    uint64_t max_bytes;         /* 0 = no limit */
    uint64_t min_free_bytes;    /* 0 = not checked */
    uint8_t *buf;
    /* where the tags are: pos = bytes seen, tag_end = where the current tag ends */
    uint64_t pos, tag_end, boundary, written, next_free_check;
    uint8_t hdr[RECORD_TAG_HEADER];
    unsigned hdr_have;
    bool in_hdr;
    enum record_outcome outcome;
    int err;
};

struct spd_recorder {
    struct ls_subscriber sub;
    struct ls_outq outq;
    struct event_base *base;
    char id[258];
    char path[1024];
    int pipe_w;                 /* the loop's end of the pipe; -1 once closed */
    struct event *write_ev;     /* the pipe has room again */
    struct event *done_ev;      /* the writer ended */
    pthread_t thread;
    bool thread_live;           /* started and not joined */
    bool subscribed;
    bool stopped;               /* spd_record_stop ran: free once the writer is done */
    bool failed;                /* stopped early (slow disk, quota, error): logged */
    struct record_writer w;
    LIST_ENTRY(spd_recorder) link;
};

/* Every recorder not yet freed: the ones still draining are finished at exit. */
static LIST_HEAD(, spd_recorder) record_all = LIST_HEAD_INITIALIZER(record_all);

/* ---- the writer thread ---- */

/*
 * Walks the tag layout over `n` new bytes. Returns how many of them may be written: all of
 * them, or fewer when a tag header says the tag would end past max_bytes (the file then
 * ends where that tag starts).
 */
static size_t record_track(struct record_writer *w, const uint8_t *p, size_t n)
{
    size_t i = 0;
    uint64_t start = w->pos;

    while (i < n) {
        if (!w->in_hdr) {
            uint64_t left = w->tag_end - w->pos;
            size_t take = left < n - i ? (size_t)left : n - i;

            i += take;
            w->pos += take;
            if (w->pos == w->tag_end) {
                w->boundary = w->pos;
                w->in_hdr = true;
                w->hdr_have = 0;
            }
            continue;
        }
        w->hdr[w->hdr_have++] = p[i++];
        w->pos++;
        if (w->hdr_have == RECORD_TAG_HEADER) {
            uint32_t size = (uint32_t)w->hdr[1] << 16 | (uint32_t)w->hdr[2] << 8 | w->hdr[3];

            w->tag_end = w->boundary + RECORD_TAG_HEADER + size + 4;
            w->in_hdr = false;
            if (w->max_bytes != 0 && w->tag_end > w->max_bytes) {
                w->outcome = RECORD_MAX_BYTES;
                return w->boundary > start ? (size_t)(w->boundary - start) : 0;
            }
        }
    }
    return n;
}

static bool record_space_left(struct record_writer *w, size_t n)
{
    struct statvfs vfs;

    if (w->min_free_bytes == 0 || w->written + n < w->next_free_check)
        return true;
    w->next_free_check = w->written + n + RECORD_FREE_CHECK_BYTES;
    if (fstatvfs(w->fd, &vfs) == -1)
        return true; /* cannot tell: the write itself will say */
    return (uint64_t)vfs.f_bavail * vfs.f_frsize >= w->min_free_bytes + n;
}

static bool record_write_all(struct record_writer *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);

        if (k == -1) {
            if (errno == EINTR)
                continue;
            w->outcome = RECORD_FAILED;
            w->err = errno;
            return false;
        }
        p += k;
        n -= (size_t)k;
        w->written += (uint64_t)k;
    }
    return true;
}

static void *record_thread(void *arg)
{
    struct record_writer *w = arg;
    uint64_t one = 1;

    w->outcome = RECORD_FINISHED;
    for (;;) {
        ssize_t n = read(w->pipe_r, w->buf, RECORD_IO_BYTES);
        size_t ok;

        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            w->outcome = RECORD_FAILED;
            w->err = errno;
            break;
        }
        ok = record_track(w, w->buf, (size_t)n);
        if (!record_space_left(w, ok)) {
            w->outcome = RECORD_NO_SPACE;
            break;
        }
        if (!record_write_all(w, w->buf, ok) || w->outcome != RECORD_FINISHED)
            break;
    }
    /* Only whole tags stay: a tag cut by an early end or an unfinished queue goes. */
    if (w->written > w->boundary && ftruncate(w->fd, (off_t)w->boundary) == -1 &&
        w->outcome == RECORD_FINISHED) {
        w->outcome = RECORD_FAILED;
        w->err = errno;
    }
    if (close(w->fd) == -1 && w->outcome == RECORD_FINISHED) {
        w->outcome = RECORD_FAILED;
        w->err = errno;
    }
    close(w->pipe_r); /* the loop's next write fails with EPIPE: it stops feeding */
    if (write(w->done_fd, &one, sizeof one) == -1) {
        /* an eventfd counter cannot overflow from one write */
    }
    return NULL;
}

/* ---- the loop's side ---- */

static struct spd_recorder *record_from_sub(struct ls_subscriber *sub)
{
    return (struct spd_recorder *)((char *)sub - offsetof(struct spd_recorder, sub));
}

static void record_close_pipe(struct spd_recorder *rec)
{
    if (rec->write_ev != NULL)
        event_del(rec->write_ev);
    if (rec->pipe_w != -1) {
        close(rec->pipe_w);
        rec->pipe_w = -1;
    }
}

/* Stops taking tags: what is in the pipe still reaches the file. */
static void record_unsubscribe(struct spd_recorder *rec)
{
    if (rec->subscribed) {
        ls_subscriber_detach(&rec->sub);
        rec->subscribed = false;
    }
}

static void record_give_up(struct spd_recorder *rec)
{
    rec->failed = true;
    record_unsubscribe(rec);
    ls_outq_clear(&rec->outq);
    record_close_pipe(rec);
}

static void record_free(struct spd_recorder *rec)
{
    LIST_REMOVE(rec, link);
    ls_outq_clear(&rec->outq);
    record_close_pipe(rec);
    if (rec->write_ev != NULL)
        event_free(rec->write_ev);
    if (rec->done_ev != NULL)
        event_free(rec->done_ev);
    if (rec->w.done_fd != -1)
        close(rec->w.done_fd);
    free(rec->w.buf);
    free(rec);
}

/* Moves queued tags into the pipe; when the pipe is full, waits for room. Once stopped,
 * an empty queue closes the pipe (the writer then finishes the file). */
static void record_push(struct spd_recorder *rec)
{
    if (rec->pipe_w == -1)
        return;
    if (!ls_outq_empty(&rec->outq) && ls_outq_write(&rec->outq, rec->pipe_w) == -1) {
        /* EPIPE: the writer ended on its own (quota, error); its outcome is logged when
         * it reports. Anything else on a pipe is as final. */
        record_give_up(rec);
        return;
    }
    if (!ls_outq_empty(&rec->outq))
        event_add(rec->write_ev, NULL);
    else if (rec->stopped)
        record_close_pipe(rec);
}

static void record_writable_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    record_push(arg);
}

static void record_log_outcome(struct spd_recorder *rec)
{
    const struct record_writer *w = &rec->w;

    switch (w->outcome) {
    case RECORD_FINISHED:
        if (!rec->failed)
            ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(rec->id, NULL), "record %s: finished %s (%llu "
                       "bytes)", rec->id, rec->path, (unsigned long long)w->boundary);
        break;
    case RECORD_MAX_BYTES:
        ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(rec->id, NULL), "record %s: %s reached "
                   "record.max_bytes (%llu); recording stopped", rec->id, rec->path,
                   (unsigned long long)w->max_bytes);
        break;
    case RECORD_NO_SPACE:
        ls_log_ctx(LS_LOG_ERR, LS_LOG_CTX(rec->id, NULL), "record %s: free space under "
                   "record.min_free_bytes (%llu) on the filesystem of %s; recording stopped",
                   rec->id, (unsigned long long)w->min_free_bytes, rec->path);
        break;
    case RECORD_FAILED:
        ls_log_ctx(LS_LOG_ERR, LS_LOG_CTX(rec->id, NULL), "record %s: write to %s failed: %s; "
                   "recording stopped", rec->id, rec->path, strerror(w->err));
        break;
    }
}

/* The writer ended: join it, say how, and free the recorder when its owner let go. */
static void record_join(struct spd_recorder *rec)
{
    pthread_join(rec->thread, NULL);
    rec->thread_live = false;
    record_log_outcome(rec);
    if (rec->w.outcome != RECORD_FINISHED)
        record_give_up(rec);
}

static void record_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct spd_recorder *rec = arg;
    uint64_t v;

    (void)what;
    if (read(fd, &v, sizeof v) == -1 && errno == EAGAIN)
        return;
    record_join(rec);
    if (rec->stopped)
        record_free(rec);
}

static void record_flush(struct ls_subscriber *sub)
{
    record_push(record_from_sub(sub));
}

static void record_source_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    (void)sub;
    (void)ev; /* the publisher's end stops the recorder (spd_record_stop) */
}

static void record_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct spd_recorder *rec = record_from_sub(sub);

    ls_log_ctx(LS_LOG_ERR, LS_LOG_CTX(rec->id, NULL), "record %s: the disk cannot keep up (%s); "
               "recording stopped", rec->id, why);
    /* What reached the pipe is written; the writer cuts any partial tag. */
    record_give_up(rec);
}

static const struct ls_subscriber_ops record_ops = {
    .flush = record_flush,
    .source_event = record_source_event,
    .too_slow = record_too_slow,
};

/* The pipe, the eventfd, the events and the thread (signals stay with the loop's thread). */
static int record_start_writer(struct spd_recorder *rec)
{
    int p[2];
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;

    if (pipe2(p, O_CLOEXEC) == -1)
        return -1;
    rec->w.pipe_r = p[0];
    rec->pipe_w = p[1];
    if (fcntl(rec->pipe_w, F_SETPIPE_SZ, RECORD_PIPE_BYTES) == -1) {
        /* the default pipe size (64 KiB) still works, with less slack */
    }
    if (fcntl(rec->pipe_w, F_SETFL, O_NONBLOCK) == -1)
        return -1;
    rec->w.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    rec->w.buf = malloc(RECORD_IO_BYTES);
    if (rec->w.done_fd == -1 || rec->w.buf == NULL)
        return -1;
    rec->write_ev = event_new(rec->base, rec->pipe_w, EV_WRITE, record_writable_cb, rec);
    rec->done_ev = event_new(rec->base, rec->w.done_fd, EV_READ | EV_PERSIST, record_done_cb, rec);
    if (rec->write_ev == NULL || rec->done_ev == NULL || event_add(rec->done_ev, NULL) == -1)
        return -1;
    rec->w.tag_end = RECORD_FLV_HEADER;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RECORD_STACK_BYTES);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&rec->thread, &attr, record_thread, &rec->w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    rec->thread_live = true;
    return 0;
}

struct spd_recorder *spd_record_start(struct ls_hub *hub, const struct spd_record_config *cfg,
                                      const char *id)
{
    struct spd_recorder *rec;
    struct ls_stream_ref ref;
    struct ls_stream *st = ls_hub_find(hub, id);
    char appdir[768];
    uint8_t header[RECORD_FLV_HEADER];
    struct ls_frame *blob;

    if (st == NULL || ls_streamid_parse_id(id, &ref, NULL) != LS_OK)
        return NULL;
    rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return NULL;
    rec->base = ls_hub_base(hub);
    rec->pipe_w = rec->w.pipe_r = rec->w.fd = rec->w.done_fd = -1;
    rec->w.max_bytes = cfg->max_bytes;
    rec->w.min_free_bytes = cfg->min_free_bytes;
    ls_outq_init(&rec->outq);
    LIST_INSERT_HEAD(&record_all, rec, link);
    snprintf(rec->id, sizeof rec->id, "%s", id);
    /* The id was validated ([A-Za-z0-9_.-], no leading dot): safe as path parts. */
    snprintf(appdir, sizeof appdir, "%s/%s", cfg->dir, ref.app);
    snprintf(rec->path, sizeof rec->path, "%s/%s-%lld.flv", appdir, ref.name,
             (long long)ls_unix_time());
    if ((mkdir(cfg->dir, 0750) == -1 && errno != EEXIST) ||
        (mkdir(appdir, 0750) == -1 && errno != EEXIST) ||
        (rec->w.fd = open(rec->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) == -1) {
        ls_log_ctx(LS_LOG_ERR, LS_LOG_CTX(id, NULL), "record %s: cannot create %s: %s", id,
                   rec->path, strerror(errno));
        record_free(rec);
        return NULL;
    }
    if (record_start_writer(rec) == -1) {
        ls_log(LS_LOG_ERR, "record %s: cannot start its writer: %s", id, strerror(errno));
        close(rec->w.fd);
        if (rec->w.pipe_r != -1)
            close(rec->w.pipe_r);
        unlink(rec->path);
        record_free(rec);
        return NULL;
    }
    ls_subscriber_init(&rec->sub, &record_ops, &rec->outq, LS_TRANSPORT_FLV, 0);
    rec->sub.hidden = true;
    ls_flv_file_header(header, true, true);
    blob = ls_frame_new_copy(0, 0, 0, header, sizeof header);
    if (blob == NULL || ls_outq_push(&rec->outq, blob, LS_OUTQ_KEEP) != LS_OK ||
        ls_stream_subscribe(st, &rec->sub) != LS_OK) {
        ls_log(LS_LOG_ERR, "record %s: out of memory", id);
        /* the writer finds an empty pipe and ends; spd_record_stop is not coming */
        record_give_up(rec);
        rec->stopped = true;
        return NULL;
    }
    rec->subscribed = true;
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(id, NULL), "record %s: writing %s", id, rec->path);
    return rec;
}

void spd_record_stop(struct spd_recorder *rec)
{
    if (rec == NULL)
        return;
    rec->stopped = true;
    record_unsubscribe(rec);
    if (!rec->thread_live) {
        record_free(rec);
        return;
    }
    record_push(rec); /* closes the pipe once the queue is in it */
}

/* Waits (bounded) until the pipe can take more, or the writer is gone. */
static bool record_wait_writable(int fd, uint64_t deadline_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    uint64_t now = ls_now_ms();

    if (now >= deadline_ms)
        return false;
    return poll(&p, 1, (int)(deadline_ms - now)) == 1;
}

void spd_record_finish_all(void)
{
    uint64_t deadline = ls_now_ms() + RECORD_FINISH_MS;
    struct spd_recorder *rec;

    while ((rec = LIST_FIRST(&record_all)) != NULL) {
        rec->stopped = true;
        record_unsubscribe(rec);
        while (rec->pipe_w != -1 && !ls_outq_empty(&rec->outq) &&
               record_wait_writable(rec->pipe_w, deadline))
            if (ls_outq_write(&rec->outq, rec->pipe_w) == -1)
                break;
        if (!ls_outq_empty(&rec->outq))
            ls_log(LS_LOG_WARNING, "record %s: the last %zu bytes were not written at exit",
                   rec->id, ls_outq_bytes(&rec->outq));
        record_close_pipe(rec);
        if (rec->thread_live) {
            struct timespec ts;
            uint64_t now = ls_now_ms(), wait = deadline > now ? deadline - now : 0;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(wait / 1000);
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (pthread_timedjoin_np(rec->thread, NULL, &ts) == 0) {
                rec->thread_live = false;
                record_log_outcome(rec);
            } else {
                /* A hung disk: the process exits without it (the file may end mid-tag).
                 * The thread still uses the recorder, which is left to the exit. */
                ls_log(LS_LOG_ERR, "record %s: the disk did not finish %s in time", rec->id,
                       rec->path);
                pthread_detach(rec->thread);
                LIST_REMOVE(rec, link);
                continue;
            }
        }
        record_free(rec);
    }
}

const char *spd_record_id(const struct spd_recorder *rec)
{
    return rec->id;
}
