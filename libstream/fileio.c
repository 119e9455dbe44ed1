/*
 * fileio.c — the file worker pool (see fileio.h). Layer: roles' tools; the one place in
 * libstream where threads run (spd/record.c has its own writer threads).
 *
 *   loop ─submit─▶ queue (mutex, bounded) ─▶ worker: work() ─▶ done list ─eventfd─▶ loop:
 *                                                                          done(job)
 *
 * Workers block every signal (signals belong to the loop's thread). The done list is
 * drained by one eventfd event on the loop; a worker writes the eventfd only when the list
 * was empty, so a burst of completions costs the loop one wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/fileio.h"
#include "libstream/log.h"

#define FILEIO_MAX_THREADS 64
#define FILEIO_STACK_BYTES (256 * 1024)

TAILQ_HEAD(fileio_jobs, ls_fileio_job);

struct ls_fileio {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct fileio_jobs queue;      /* waiting for a worker */
    struct fileio_jobs finished;   /* waiting for the loop */
    size_t nqueued, max_queued;
    bool stopping;
    int efd;
    struct event *ev;
    pthread_t threads[FILEIO_MAX_THREADS];
    unsigned nthreads;
};

static void *fileio_worker(void *arg)
{
    struct ls_fileio *io = arg;
    struct ls_fileio_job *job;
    bool was_empty;
    uint64_t one = 1;

    pthread_mutex_lock(&io->lock);
    for (;;) {
        while (!io->stopping && TAILQ_EMPTY(&io->queue))
            pthread_cond_wait(&io->wake, &io->lock);
        if (io->stopping)
            break;
        job = TAILQ_FIRST(&io->queue);
        TAILQ_REMOVE(&io->queue, job, link);
        job->queued = false;
        io->nqueued--;
        pthread_mutex_unlock(&io->lock);
        job->work(job);
        pthread_mutex_lock(&io->lock);
        was_empty = TAILQ_EMPTY(&io->finished);
        TAILQ_INSERT_TAIL(&io->finished, job, link);
        /* an eventfd counter cannot overflow from these writes; a full one still wakes */
        if (was_empty && write(io->efd, &one, sizeof one) == -1 && errno != EAGAIN)
            ls_log(LS_LOG_ERR, "fileio: cannot wake the loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&io->lock);
    return NULL;
}

/* Reports finished jobs on the loop (their `done` may submit or cancel others). */
static void fileio_drain(struct ls_fileio *io)
{
    struct fileio_jobs batch;
    struct ls_fileio_job *job;

    TAILQ_INIT(&batch);
    pthread_mutex_lock(&io->lock);
    TAILQ_CONCAT(&batch, &io->finished, link);
    pthread_mutex_unlock(&io->lock);
    while ((job = TAILQ_FIRST(&batch)) != NULL) {
        TAILQ_REMOVE(&batch, job, link);
        job->done(job, job->cancelled);
    }
}

static void fileio_ready(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
        ls_log(LS_LOG_ERR, "fileio: eventfd read: %s", strerror(errno));
    fileio_drain(arg);
}

struct ls_fileio *ls_fileio_new(struct event_base *base, unsigned threads, size_t max_queued)
{
    struct ls_fileio *io = calloc(1, sizeof *io);
    pthread_attr_t attr;
    sigset_t all, old;
    unsigned i;
    int rc = 0;

    if (io == NULL)
        return NULL;
    if (threads < 1)
        threads = 1;
    if (threads > FILEIO_MAX_THREADS)
        threads = FILEIO_MAX_THREADS;
    TAILQ_INIT(&io->queue);
    TAILQ_INIT(&io->finished);
    io->max_queued = max_queued;
    io->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (io->efd == -1 || pthread_mutex_init(&io->lock, NULL) != 0) {
        ls_log(LS_LOG_ERR, "fileio: cannot set up: %s", strerror(errno));
        if (io->efd != -1)
            close(io->efd);
        free(io);
        return NULL;
    }
    pthread_cond_init(&io->wake, NULL);
    io->ev = event_new(base, io->efd, EV_READ | EV_PERSIST, fileio_ready, io);
    if (io->ev == NULL || event_add(io->ev, NULL) != 0) {
        ls_log(LS_LOG_ERR, "fileio: cannot set up: out of memory");
        ls_fileio_free(io);
        return NULL;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, FILEIO_STACK_BYTES);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the workers */
    for (i = 0; i < threads; i++) {
        rc = pthread_create(&io->threads[i], &attr, fileio_worker, io);
        if (rc != 0)
            break;
        io->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (io->nthreads == 0) {
        ls_log(LS_LOG_ERR, "fileio: cannot start a worker thread: %s", strerror(rc));
        ls_fileio_free(io);
        return NULL;
    }
    if (io->nthreads < threads)
        ls_log(LS_LOG_WARNING, "fileio: started %u of %u worker threads: %s", io->nthreads,
               threads, strerror(rc));
    return io;
}

void ls_fileio_free(struct ls_fileio *io)
{
    struct ls_fileio_job *job;
    unsigned i;

    if (io == NULL)
        return;
    pthread_mutex_lock(&io->lock);
    io->stopping = true;
    /* jobs no worker took: reported as cancelled without running */
    while ((job = TAILQ_FIRST(&io->queue)) != NULL) {
        TAILQ_REMOVE(&io->queue, job, link);
        job->queued = false;
        job->cancelled = true;
        TAILQ_INSERT_TAIL(&io->finished, job, link);
    }
    io->nqueued = 0;
    pthread_cond_broadcast(&io->wake);
    pthread_mutex_unlock(&io->lock);
    for (i = 0; i < io->nthreads; i++)
        pthread_join(io->threads[i], NULL);
    /* the pool is going: nothing it ran counts as a success any more */
    TAILQ_FOREACH(job, &io->finished, link)
        job->cancelled = true;
    fileio_drain(io);
    if (io->ev != NULL)
        event_free(io->ev);
    close(io->efd);
    pthread_cond_destroy(&io->wake);
    pthread_mutex_destroy(&io->lock);
    free(io);
}

int ls_fileio_submit(struct ls_fileio *io, struct ls_fileio_job *job)
{
    pthread_mutex_lock(&io->lock);
    if (io->stopping || io->nqueued >= io->max_queued) {
        pthread_mutex_unlock(&io->lock);
        return LS_ELIMIT;
    }
    job->cancelled = false;
    job->queued = true;
    TAILQ_INSERT_TAIL(&io->queue, job, link);
    io->nqueued++;
    pthread_cond_signal(&io->wake);
    pthread_mutex_unlock(&io->lock);
    return LS_OK;
}

void ls_fileio_cancel(struct ls_fileio *io, struct ls_fileio_job *job)
{
    uint64_t one = 1;
    bool was_empty;

    pthread_mutex_lock(&io->lock);
    job->cancelled = true;
    if (job->queued) {
        /* not started: straight to the loop, reported on its next turn */
        TAILQ_REMOVE(&io->queue, job, link);
        job->queued = false;
        io->nqueued--;
        was_empty = TAILQ_EMPTY(&io->finished);
        TAILQ_INSERT_TAIL(&io->finished, job, link);
        if (was_empty && write(io->efd, &one, sizeof one) == -1 && errno != EAGAIN)
            ls_log(LS_LOG_ERR, "fileio: cannot wake the loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&io->lock);
}

size_t ls_fileio_queued(struct ls_fileio *io)
{
    size_t n;

    pthread_mutex_lock(&io->lock);
    n = io->nqueued;
    pthread_mutex_unlock(&io->lock);
    return n;
}
