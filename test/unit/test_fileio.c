/*
 * Unit tests for fileio.c, on a real event loop: every submitted job is reported exactly
 * once on the loop thread (after its work ran on another thread), a job cancelled before a
 * worker took it is reported as cancelled without running, the queue bound refuses
 * without reporting, and freeing the pool reports what is left as cancelled.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/fileio.h"
#include "support/evloop.h"

struct job {
    struct ls_fileio_job job;
    pthread_t worker;        /* set by work */
    bool worked;
    unsigned sleep_ms;
    int reported;            /* done calls */
    bool cancelled;
    pthread_t reported_on;
};

static pthread_t loop_thread;
static unsigned done_count;

static void job_work(struct ls_fileio_job *j)
{
    struct job *t = (struct job *)j;

    t->worker = pthread_self();
    if (t->sleep_ms > 0)
        usleep(t->sleep_ms * 1000);
    t->worked = true;
}

static void job_done(struct ls_fileio_job *j, bool cancelled)
{
    struct job *t = (struct job *)j;

    t->reported++;
    t->cancelled = cancelled;
    t->reported_on = pthread_self();
    done_count++;
}

static void init_job(struct job *t, unsigned sleep_ms)
{
    memset(t, 0, sizeof *t);
    t->job.work = job_work;
    t->job.done = job_done;
    t->sleep_ms = sleep_ms;
}

static void test_jobs_run_off_the_loop(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_fileio *io = ls_fileio_new(base, 3, 100);
    struct job jobs[20];
    size_t i;

    (void)state;
    assert_non_null(io);
    loop_thread = pthread_self();
    done_count = 0;
    for (i = 0; i < 20; i++) {
        init_job(&jobs[i], i % 3);
        assert_int_equal(ls_fileio_submit(io, &jobs[i].job), LS_OK);
    }
    EVLOOP_WAIT(base, done_count == 20, 5000);
    for (i = 0; i < 20; i++) {
        assert_int_equal(jobs[i].reported, 1);
        assert_false(jobs[i].cancelled);
        assert_true(jobs[i].worked);
        assert_false(pthread_equal(jobs[i].worker, loop_thread));
        assert_true(pthread_equal(jobs[i].reported_on, loop_thread));
    }
    assert_int_equal(ls_fileio_queued(io), 0);
    ls_fileio_free(io);
    event_base_free(base);
}

static void test_cancel_and_bound(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_fileio *io = ls_fileio_new(base, 1, 3);
    struct job busy, queued[3], extra;
    size_t i;

    (void)state;
    assert_non_null(io);
    done_count = 0;
    init_job(&busy, 300);
    assert_int_equal(ls_fileio_submit(io, &busy.job), LS_OK);
    usleep(50 * 1000); /* the one worker takes it */
    for (i = 0; i < 3; i++) {
        init_job(&queued[i], 0);
        assert_int_equal(ls_fileio_submit(io, &queued[i].job), LS_OK);
    }
    init_job(&extra, 0);
    assert_int_equal(ls_fileio_submit(io, &extra.job), LS_ELIMIT); /* never reported */
    assert_int_equal(ls_fileio_queued(io), 3);
    ls_fileio_cancel(io, &queued[1].job);
    assert_int_equal(queued[1].reported, 0); /* never inside cancel */
    ls_fileio_cancel(io, &busy.job);         /* running: finishes, reported cancelled */
    EVLOOP_WAIT(base, done_count == 4, 5000);
    assert_int_equal(done_count, 4);
    assert_true(queued[1].cancelled);
    assert_false(queued[1].worked);
    assert_true(busy.cancelled && busy.worked);
    assert_false(queued[0].cancelled || queued[2].cancelled);
    assert_int_equal(extra.reported, 0);
    ls_fileio_free(io);
    event_base_free(base);
}

static void test_free_reports_the_rest(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_fileio *io = ls_fileio_new(base, 1, 10);
    struct job busy, queued[4];
    size_t i;

    (void)state;
    assert_non_null(io);
    done_count = 0;
    init_job(&busy, 200);
    assert_int_equal(ls_fileio_submit(io, &busy.job), LS_OK);
    usleep(50 * 1000);
    for (i = 0; i < 4; i++) {
        init_job(&queued[i], 0);
        assert_int_equal(ls_fileio_submit(io, &queued[i].job), LS_OK);
    }
    ls_fileio_free(io); /* joins the worker: busy finishes; everything reported now */
    assert_int_equal(done_count, 5);
    assert_true(busy.worked && busy.cancelled);
    for (i = 0; i < 4; i++) {
        assert_int_equal(queued[i].reported, 1);
        assert_true(queued[i].cancelled);
        assert_false(queued[i].worked);
    }
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_run_off_the_loop),
        cmocka_unit_test(test_cancel_and_bound),
        cmocka_unit_test(test_free_reports_the_rest),
    };
    return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
