/*
 * fileio.h — file reads off the event loop: a small pool of worker threads that run jobs
 * (open a file, read a chunk, a bounded step of indexing) and hand each result back to the
 * loop thread.
 *
 * The loop never touches the disk for files served on demand (vod.h): a read that waits
 * for a slow or cold disk, or a network filesystem, would stall every viewer of the
 * process (docs/architecture.md decision 1; the recordings' writer threads are the same
 * exception for writing, spd/record.c). A job's `work` runs on a worker and may block;
 * its `done` runs later on the loop. The two share only the job's own memory, which
 * belongs to the worker from submit until `done` is called: the loop side must not touch
 * it meanwhile. The pool's queue is bounded; what each caller may have queued is bounded by
 * its own rules (vod.c: one job per viewer and per index being built).
 *
 * Jobs are embedded in the caller's request structs (container_of via offsetof).
 */
#ifndef LIBSTREAM_FILEIO_H
#define LIBSTREAM_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "libstream/err.h"

struct event_base;
struct ls_fileio;
struct ls_fileio_job;

struct ls_fileio_job {
    /* On a worker thread: may block; touches only memory the job owns. */
    void (*work)(struct ls_fileio_job *job);
    /* On the loop thread, exactly once per submitted job: after `work`, or without it when
     * the job was cancelled before a worker took it or the pool is being freed (then
     * `cancelled` is true; `work` may or may not have run). */
    void (*done)(struct ls_fileio_job *job, bool cancelled);
    /* the pool's */
    TAILQ_ENTRY(ls_fileio_job) link;
    bool cancelled;
    bool queued;             /* waiting for a worker (loop thread's view, under the lock) */
};

/* `threads` workers (1..64) and at most `max_queued` jobs waiting for one. NULL with a
 * logged reason when threads or memory are short. */
struct ls_fileio *ls_fileio_new(struct event_base *base, unsigned threads, size_t max_queued);
/*
 * Joins the workers (each finishes the job it is running) and calls `done(job, true)` for
 * every job not yet reported, on the calling thread. Callers whose `done` frees state
 * must still be able to run it. NULL is ignored.
 */
void ls_fileio_free(struct ls_fileio *io);

/* Queues `job` (its `work` and `done` set). LS_ELIMIT when max_queued jobs wait already
 * (nothing queued: `done` will not be called). */
LS_MUST_CHECK int ls_fileio_submit(struct ls_fileio *io, struct ls_fileio_job *job);
/*
 * Asks for `job` not to be reported as a success: its `done` runs with cancelled = true
 * (later, from the loop, never inside this call). A job a worker is running finishes its
 * `work` first: memory it writes must stay allocated until `done`.
 */
void ls_fileio_cancel(struct ls_fileio *io, struct ls_fileio_job *job);

/* Jobs waiting for a worker now (for /metrics and tests). */
size_t ls_fileio_queued(struct ls_fileio *io);

#endif /* LIBSTREAM_FILEIO_H */
