/*
 * vod.c — files on demand: the directory, opening files beneath it, the index cache, the
 * viewer count (see vod.h). Layer: roles' tools, under vodplay.c and vodhttp.c; every disk
 * access runs as a job on the file workers (fileio.h).
 *
 *   ls_vod_open ─▶ [worker] openat2(DIR, NAME.flv, RESOLVE_BENEATH) + fstat
 *        ─▶ [loop] cache: entry for NAME with the same (dev, inode, size, mtime)?
 *             ready ─────────────────────────────────────────────▶ answer (file + index)
 *             building ─▶ wait with the others ───────────────────▶ answer when built
 *             building, the file grown since ─▶ wait the same ──▶ (one build per file)
 *             none / stale ─▶ new entry, build: [worker] ≤ 1 MiB of reads where the
 *                             builder asks ─▶ [loop] again, until done ─▶ cache, answer all
 *
 * Lifetimes. The directory, open files and indexes are reference-counted on the loop
 * thread: a job holds what its worker uses (the directory an open resolves against, the
 * file a read or a build reads), so a reload that changes `dir` or a viewer that leaves
 * never closes a descriptor a worker is using. A build nobody waits for any more is
 * abandoned (its job cancelled), so a client cannot keep the workers busy by asking and
 * leaving.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "libstream/clock.h"
#include "libstream/fileio.h"
#include "libstream/flv.h"
#include "libstream/log.h"
#include "libstream/prom.h"
#include "libstream/strmap.h"
#include "libstream/vod.h"

#define VOD_FNAME_MAX (LS_STREAM_PART_MAX + 5) /* NAME.flv */
#define VOD_BUILD_BUF (LS_VOD_CHUNK + LS_FLVINDEX_MAX_BLOB + LS_FLV_TAG_HEADER_SIZE)

/* ---- the directory ---- */

struct vod_dir {
    int fd;               /* O_PATH | O_DIRECTORY */
    char *path;
    char *real;           /* its realpath, for the check without openat2 */
    unsigned refs;
};

/* What identifies one version of a file: a cached index is good only for the same. */
struct vod_ident {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
};

struct vod_index {
    struct ls_flvindex *ix;
    unsigned refs;
};

struct vod_entry;

struct ls_vod_file {
    struct ls_vod *vod;
    int fd;
    unsigned refs;
    struct vod_ident id;
    struct vod_index *index;   /* a reference, or NULL */
    char name[LS_STREAM_PART_MAX + 1];
};

enum vod_open_state { OPEN_OPENING, OPEN_WAITING, OPEN_DONE };

struct ls_vod_open {
    struct ls_fileio_job job;
    struct ls_vod *vod;
    struct vod_dir *dir;        /* a reference while the job runs */
    char name[LS_STREAM_PART_MAX + 1];
    char fname[VOD_FNAME_MAX + 1];
    bool want_index;
    ls_vod_open_cb cb;
    void *arg;
    enum vod_open_state state;
    bool cancelled;
    /* the worker's results */
    int fd;
    int err;                    /* errno of the failed step */
    const char *why;
    struct stat st;
    /* waiting for an index */
    struct ls_vod_file *file;
    struct vod_entry *entry;
    TAILQ_ENTRY(ls_vod_open) wait_link;
};

struct vod_build {
    struct ls_fileio_job job;
    struct vod_entry *entry;    /* NULL once abandoned */
    struct ls_vod_file *file;   /* a reference: the descriptor the worker reads */
    struct ls_flvindex_builder *b;
    uint8_t *buf;
    int rc;                     /* the worker's outcome: LS_OK, LS_EIO, LS_EPROTO */
    const char *why;
    uint64_t bytes_read;
};

struct vod_entry {
    struct ls_vod *vod;
    char name[LS_STREAM_PART_MAX + 1];
    struct ls_strmap_node node;
    bool in_map;
    struct vod_ident id;
    struct vod_index *index;    /* set once built (the cache's reference) */
    struct vod_build *build;    /* while building */
    TAILQ_HEAD(, ls_vod_open) waiters;
    TAILQ_ENTRY(vod_entry) lru; /* ready entries in the map, least recently used first */
    size_t bytes;
};

struct ls_vod_read {
    struct ls_fileio_job job;
    struct ls_vod_file *file;   /* a reference */
    uint64_t offset;
    size_t len;
    uint8_t *buf;
    ssize_t got;
    int err;
    ls_vod_read_cb cb;
    void *arg;
    bool cancelled;
};

struct vod_counters {
    uint64_t opens_ok, opens_not_found, opens_bad_file, opens_failed;
    uint64_t index_hits, index_builds, index_build_bytes, index_evictions;
    uint64_t refused;          /* at max_viewers */
    uint64_t read_bytes;
};

struct ls_vod {
    struct event_base *base;
    struct ls_vod_config cfg;
    struct vod_dir *dir;
    struct ls_fileio *io;
    struct ls_strmap entries;   /* by name */
    TAILQ_HEAD(, vod_entry) lru;
    size_t cache_bytes;
    unsigned viewers;
    unsigned files;             /* ls_vod_file objects alive */
    uint64_t refused_log_ms;
    struct vod_counters c;
};

void ls_vod_config_defaults(struct ls_vod_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->dir = "";
    cfg->max_viewers = 1000;
    cfg->index_cache_bytes = 16u << 20;
    cfg->read_ahead_ms = 2000;
    cfg->io_threads = 4;
    cfg->max_tag_size = 8u << 20;
    cfg->queue_max_bytes = 4u << 20;
    cfg->slow_timeout_ms = 10000;
    cfg->idle_timeout_ms = 30000;
}

static struct vod_dir *vod_dir_open(const char *path)
{
    struct vod_dir *d = calloc(1, sizeof *d);

    if (d == NULL)
        return NULL;
    d->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->fd == -1) {
        ls_log(LS_LOG_ERR, "vod: cannot open the directory %s: %s", path, strerror(errno));
        free(d);
        return NULL;
    }
    d->path = strdup(path);
    d->real = realpath(path, NULL);
    if (d->path == NULL || d->real == NULL) {
        ls_log(LS_LOG_ERR, "vod: cannot resolve the directory %s: %s", path,
               d->real == NULL ? strerror(errno) : "out of memory");
        close(d->fd);
        free(d->path);
        free(d->real);
        free(d);
        return NULL;
    }
    d->refs = 1;
    return d;
}

static void vod_dir_release(struct vod_dir *d)
{
    if (d == NULL || --d->refs > 0)
        return;
    close(d->fd);
    free(d->path);
    free(d->real);
    free(d);
}

/* ---- indexes and files ---- */

static void vod_index_release(struct vod_index *vi)
{
    if (vi == NULL || --vi->refs > 0)
        return;
    ls_flvindex_free(vi->ix);
    free(vi);
}

void ls_vod_file_ref(struct ls_vod_file *f)
{
    f->refs++;
}

void ls_vod_file_release(struct ls_vod_file *f)
{
    if (f == NULL || --f->refs > 0)
        return;
    close(f->fd);
    vod_index_release(f->index);
    f->vod->files--;
    free(f);
}

const struct ls_flvindex *ls_vod_file_index(const struct ls_vod_file *f)
{
    return f->index != NULL ? f->index->ix : NULL;
}

uint64_t ls_vod_file_size(const struct ls_vod_file *f)
{
    return (uint64_t)f->id.size;
}

int64_t ls_vod_file_mtime(const struct ls_vod_file *f)
{
    return f->id.mtime_ns / 1000000000;
}

const char *ls_vod_file_name(const struct ls_vod_file *f)
{
    return f->name;
}

static void ident_of(const struct stat *st, struct vod_ident *id)
{
    memset(id, 0, sizeof *id);
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool ident_equal(const struct vod_ident *a, const struct vod_ident *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

/* `now` is `then` written on since: the same file, no shorter, no older. */
static bool ident_grew(const struct vod_ident *then, const struct vod_ident *now)
{
    return then->dev == now->dev && then->ino == now->ino && now->size >= then->size &&
           now->mtime_ns >= then->mtime_ns;
}

/* ---- the cache ---- */

static void entry_unmap(struct vod_entry *e)
{
    struct ls_vod *vod = e->vod;

    if (!e->in_map)
        return;
    ls_strmap_remove(&vod->entries, &e->node);
    e->in_map = false;
    if (e->index != NULL) {
        TAILQ_REMOVE(&vod->lru, e, lru);
        vod->cache_bytes -= e->bytes;
    }
}

static void entry_free(struct vod_entry *e)
{
    entry_unmap(e);
    vod_index_release(e->index);
    free(e);
}

/* Makes room for `bytes` more: least recently used first. */
static void cache_evict(struct ls_vod *vod, size_t bytes)
{
    struct vod_entry *e;

    while (vod->cache_bytes + bytes > vod->cfg.index_cache_bytes &&
           (e = TAILQ_FIRST(&vod->lru)) != NULL) {
        vod->c.index_evictions++;
        entry_free(e); /* players keep their own reference to the index */
    }
}

/* ---- answering opens ---- */

static void open_free(struct ls_vod_open *op)
{
    vod_dir_release(op->dir);
    ls_vod_file_release(op->file);
    free(op);
}

/* Answers and frees the open. */
static void open_answer(struct ls_vod_open *op, int rc, const char *why)
{
    struct ls_vod_file *file = NULL;
    struct ls_vod *vod = op->vod;

    op->state = OPEN_DONE;
    if (rc == LS_OK) {
        file = op->file;
        op->file = NULL; /* the caller's reference now */
        vod->c.opens_ok++;
    } else if (rc == LS_ENOTFOUND) {
        vod->c.opens_not_found++;
    } else if (rc == LS_EPROTO) {
        vod->c.opens_bad_file++;
    } else {
        vod->c.opens_failed++;
    }
    op->cb(op->arg, rc, file, why);
    open_free(op);
}

/* Every open waiting on the entry gets the index (or the failure); the entry is built. */
static void entry_answer(struct vod_entry *e, int rc, const char *why)
{
    struct ls_vod_open *op;

    while ((op = TAILQ_FIRST(&e->waiters)) != NULL) {
        TAILQ_REMOVE(&e->waiters, op, wait_link);
        op->entry = NULL;
        if (rc == LS_OK) {
            e->index->refs++;
            op->file->index = e->index;
        }
        open_answer(op, rc, why);
    }
}

static void build_free(struct vod_build *bd)
{
    ls_flvindex_builder_free(bd->b);
    ls_vod_file_release(bd->file);
    free(bd->buf);
    free(bd);
}

/* On a worker: reads where the builder asks, up to LS_VOD_INDEX_STEP_BYTES. */
static void build_work(struct ls_fileio_job *job)
{
    struct vod_build *bd = (struct vod_build *)((char *)job - offsetof(struct vod_build, job));
    uint64_t off, budget = LS_VOD_INDEX_STEP_BYTES;
    size_t want;

    while (budget > 0 && ls_flvindex_builder_want(bd->b, &off, &want)) {
        size_t n = want > LS_VOD_CHUNK ? want : LS_VOD_CHUNK;
        ssize_t got;
        int rc;

        if (n > VOD_BUILD_BUF)
            n = VOD_BUILD_BUF;
        do
            got = pread(bd->file->fd, bd->buf, n, (off_t)off);
        while (got == -1 && errno == EINTR);
        if (got == -1) {
            bd->rc = LS_EIO;
            bd->why = "read error";
            return;
        }
        bd->bytes_read += (uint64_t)got;
        rc = ls_flvindex_builder_feed(bd->b, off, bd->buf, (size_t)got, &bd->why);
        if (rc != LS_OK) {
            bd->rc = rc;
            return;
        }
        budget = (uint64_t)got < budget ? budget - (uint64_t)got : 0;
        if (got == 0)
            break; /* the builder has stopped: the file is shorter than it was */
    }
}

static void build_done(struct ls_fileio_job *job, bool cancelled);

static int build_submit(struct ls_vod *vod, struct vod_build *bd)
{
    bd->job.work = build_work;
    bd->job.done = build_done;
    return ls_fileio_submit(vod->io, &bd->job);
}

static void build_done(struct ls_fileio_job *job, bool cancelled)
{
    struct vod_build *bd = (struct vod_build *)((char *)job - offsetof(struct vod_build, job));
    struct vod_entry *e = bd->entry;
    struct ls_vod *vod;
    struct ls_flvindex *ix = NULL;
    struct vod_index *vi = NULL;
    const char *why;
    uint64_t off;
    size_t want;
    int rc;

    if (e == NULL) {
        build_free(bd); /* abandoned: nobody waits */
        return;
    }
    vod = e->vod;
    vod->c.index_build_bytes += bd->bytes_read;
    bd->bytes_read = 0;
    rc = cancelled ? LS_EIO : bd->rc;
    why = cancelled ? "shutting down" : bd->why;
    if (rc == LS_OK && ls_flvindex_builder_want(bd->b, &off, &want)) {
        if (build_submit(vod, bd) == LS_OK)
            return; /* the next step */
        rc = LS_ELIMIT;
        why = "file workers busy";
    }
    if (rc == LS_OK)
        rc = ls_flvindex_builder_finish(bd->b, &ix, &why);
    if (rc == LS_OK && (vi = calloc(1, sizeof *vi)) == NULL) {
        ls_flvindex_free(ix);
        rc = LS_ENOMEM;
        why = "out of memory";
    }
    e->build = NULL;
    build_free(bd);
    if (rc != LS_OK) {
        ls_log(LS_LOG_NOTICE, "vod %s: cannot index: %s", e->name,
               why != NULL ? why : ls_strerror(rc));
        entry_unmap(e);
        entry_answer(e, rc, rc == LS_EPROTO ? "not an FLV file" : "cannot index the file");
        entry_free(e);
        return;
    }
    vi->ix = ix;
    vi->refs = 1;
    vod->c.index_builds++;
    if (ix->stop_why != NULL)
        ls_log(LS_LOG_NOTICE, "vod %s: plays up to byte %llu of %llu: %s", e->name,
               (unsigned long long)ix->data_end, (unsigned long long)ix->file_size,
               ix->stop_why);
    e->bytes = ix->memory;
    /* Cached when it fits; an index larger than the whole cache serves its viewers only. */
    if (e->in_map && e->bytes <= vod->cfg.index_cache_bytes) {
        cache_evict(vod, e->bytes);
        e->index = vi;
        TAILQ_INSERT_TAIL(&vod->lru, e, lru);
        vod->cache_bytes += e->bytes;
        entry_answer(e, LS_OK, NULL);
    } else {
        entry_unmap(e);
        e->index = vi;
        entry_answer(e, LS_OK, NULL);
        entry_free(e);
    }
}

/* No open waits for this build any more: stop it and forget the entry. */
static void entry_abandon(struct vod_entry *e)
{
    struct vod_build *bd = e->build;

    if (bd != NULL) {
        bd->entry = NULL;
        ls_fileio_cancel(e->vod->io, &bd->job); /* build_done frees it */
        e->build = NULL;
    }
    entry_free(e);
}

/* An opened file that wants its index: from the cache, or wait for / start a build. */
static void open_index(struct ls_vod_open *op)
{
    struct ls_vod *vod = op->vod;
    struct ls_vod_file *f = op->file;
    struct ls_strmap_node *n = ls_strmap_find(&vod->entries, op->name);
    struct vod_entry *e = n != NULL ? LS_STRMAP_ENTRY(n, struct vod_entry, node) : NULL;
    struct vod_build *bd;

    if (e != NULL && !ident_equal(&e->id, &f->id) &&
        !(e->build != NULL && ident_grew(&e->id, &f->id))) {
        /* The file changed since: the old index is no good for it. A build under way
         * still answers those who wait for it (they opened the old version). */
        if (e->build != NULL)
            entry_unmap(e);
        else
            entry_free(e);
        e = NULL;
    }
    /* A file being written (a recording in progress) differs at every open, so without
     * this each viewer would read the whole file for an index of its own. One that only
     * grew waits for the build under way instead: its index ends where that build's
     * size did (reads stop at data_end, and short reads end a play). So a growing file
     * has one build at a time, whatever the number of viewers. */
    if (e != NULL && e->index != NULL) {
        vod->c.index_hits++;
        TAILQ_REMOVE(&vod->lru, e, lru); /* most recently used */
        TAILQ_INSERT_TAIL(&vod->lru, e, lru);
        e->index->refs++;
        f->index = e->index;
        open_answer(op, LS_OK, NULL);
        return;
    }
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        bd = calloc(1, sizeof *bd);
        if (e != NULL && bd != NULL) {
            bd->buf = malloc(VOD_BUILD_BUF);
            bd->b = ls_flvindex_builder_new((uint64_t)f->id.size,
                                            &(struct ls_flvindex_limits){
                                                .max_tag_size = vod->cfg.max_tag_size });
        }
        if (e == NULL || bd == NULL || bd->buf == NULL || bd->b == NULL) {
            if (bd != NULL) {
                ls_flvindex_builder_free(bd->b);
                free(bd->buf);
            }
            free(bd);
            free(e);
            open_answer(op, LS_ENOMEM, "out of memory");
            return;
        }
        e->vod = vod;
        snprintf(e->name, sizeof e->name, "%s", op->name);
        e->node.key = e->name;
        e->id = f->id;
        TAILQ_INIT(&e->waiters);
        bd->entry = e;
        bd->file = f;
        ls_vod_file_ref(f);
        e->build = bd;
        if (build_submit(vod, bd) != LS_OK) {
            e->build = NULL;
            build_free(bd);
            free(e);
            open_answer(op, LS_ELIMIT, "file workers busy");
            return;
        }
        if (ls_strmap_insert(&vod->entries, &e->node) == LS_OK)
            e->in_map = true; /* else: built for these waiters only */
    }
    op->state = OPEN_WAITING;
    op->entry = e;
    TAILQ_INSERT_TAIL(&e->waiters, op, wait_link);
}

/* ---- opening ---- */

/* On a worker: DIR/NAME.flv, beneath DIR, a regular file. */
static void open_work(struct ls_fileio_job *job)
{
    struct ls_vod_open *op = (struct ls_vod_open *)((char *)job -
                                                     offsetof(struct ls_vod_open, job));
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = -1;

    op->fd = -1;
#ifdef SYS_openat2
    {
        struct open_how how;

        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)flags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        fd = (int)syscall(SYS_openat2, op->dir->fd, op->fname, &how, sizeof how);
    }
    if (fd == -1 && errno != ENOSYS && errno != EPERM && errno != E2BIG) {
        op->err = errno;
        op->why = errno == EXDEV || errno == ELOOP ? "a link leading out of the directory"
                                                   : "cannot open";
        return;
    }
#endif
    if (fd == -1) {
        /* No openat2 (old kernel, or a seccomp filter): no symlinks at all, and the file
         * must really be in DIR. The name has no '/', so it is an entry of DIR. */
        char link[64], path[PATH_MAX];
        size_t rl = strlen(op->dir->real);
        ssize_t n;

        fd = openat(op->dir->fd, op->fname, flags | O_NOFOLLOW);
        if (fd == -1) {
            op->err = errno;
            op->why = errno == ELOOP ? "a symlink (not followed without openat2)"
                                     : "cannot open";
            return;
        }
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof path - 1);
        if (n > 0) {
            path[n] = '\0';
            if (strncmp(path, op->dir->real, rl) != 0 || (rl > 1 && path[rl] != '/')) {
                close(fd);
                op->err = EXDEV;
                op->why = "a file outside the directory";
                return;
            }
        }
    }
    if (fstat(fd, &op->st) == -1) {
        op->err = errno;
        op->why = "cannot stat";
        close(fd);
        return;
    }
    if (!S_ISREG(op->st.st_mode)) {
        op->err = ENOENT;
        op->why = "not a regular file";
        close(fd);
        return;
    }
    (void)fcntl(fd, F_SETFL, 0); /* blocking reads on the workers */
    op->fd = fd;
}

static void open_done(struct ls_fileio_job *job, bool cancelled)
{
    struct ls_vod_open *op = (struct ls_vod_open *)((char *)job -
                                                     offsetof(struct ls_vod_open, job));
    struct ls_vod *vod = op->vod;
    struct ls_vod_file *f;

    vod_dir_release(op->dir);
    op->dir = NULL;
    if (cancelled || op->cancelled) {
        if (op->fd != -1)
            close(op->fd);
        if (!op->cancelled) /* the pool is going: still an answer */
            open_answer(op, LS_EIO, "shutting down");
        else
            open_free(op);
        return;
    }
    if (op->fd == -1) {
        int rc = op->err == ENOENT || op->err == ENOTDIR || op->err == ELOOP ||
                         op->err == EXDEV || op->err == EACCES || op->err == ENAMETOOLONG
                     ? LS_ENOTFOUND
                     : LS_EIO;

        if (rc == LS_ENOTFOUND && op->err != ENOENT)
            ls_log(LS_LOG_NOTICE, "vod %s: refused: %s (%s)", op->name, op->why,
                   strerror(op->err));
        open_answer(op, rc, op->err == ENOENT && strcmp(op->why, "cannot open") == 0
                                ? "no such file"
                                : op->why);
        return;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL) {
        close(op->fd);
        open_answer(op, LS_ENOMEM, "out of memory");
        return;
    }
    f->vod = vod;
    f->fd = op->fd;
    f->refs = 1;
    ident_of(&op->st, &f->id);
    snprintf(f->name, sizeof f->name, "%s", op->name);
    vod->files++;
    op->file = f;
    if (!op->want_index) {
        open_answer(op, LS_OK, NULL);
        return;
    }
    open_index(op);
}

/* The stream-id rules for a name, again: this builds a file name. */
static bool vod_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > LS_STREAM_PART_MAX || name[0] == '.')
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

struct ls_vod_open *ls_vod_open(struct ls_vod *vod, const char *name, bool index,
                                ls_vod_open_cb cb, void *arg)
{
    struct ls_vod_open *op;

    op = calloc(1, sizeof *op);
    if (op == NULL)
        return NULL;
    op->vod = vod;
    op->want_index = index;
    op->cb = cb;
    op->arg = arg;
    op->fd = -1;
    op->state = OPEN_OPENING;
    op->job.work = open_work;
    op->job.done = open_done;
    if (!vod_name_valid(name)) {
        /* Never a file name: answered "not found" through the worker like any other, so
         * the answer is never inside this call. */
        snprintf(op->fname, sizeof op->fname, "%s", ".");
        snprintf(op->name, sizeof op->name, "%s", "-");
    } else {
        snprintf(op->name, sizeof op->name, "%s", name);
        snprintf(op->fname, sizeof op->fname, "%s.flv", name);
    }
    op->dir = vod->dir;
    op->dir->refs++;
    if (ls_fileio_submit(vod->io, &op->job) != LS_OK) {
        vod_dir_release(op->dir);
        free(op);
        return NULL;
    }
    return op;
}

void ls_vod_open_cancel(struct ls_vod_open *op)
{
    struct vod_entry *e;

    if (op == NULL)
        return;
    switch (op->state) {
    case OPEN_OPENING:
        op->cancelled = true;
        ls_fileio_cancel(op->vod->io, &op->job); /* open_done frees it */
        break;
    case OPEN_WAITING:
        e = op->entry;
        TAILQ_REMOVE(&e->waiters, op, wait_link);
        if (TAILQ_EMPTY(&e->waiters) && e->build != NULL)
            entry_abandon(e);
        open_free(op);
        break;
    case OPEN_DONE:
        break; /* answered already: the callback freed it (callers do not cancel then) */
    }
}

/* ---- reads ---- */

static void read_work(struct ls_fileio_job *job)
{
    struct ls_vod_read *rd = (struct ls_vod_read *)((char *)job -
                                                     offsetof(struct ls_vod_read, job));
    size_t have = 0;

    while (have < rd->len) {
        ssize_t n = pread(rd->file->fd, rd->buf + have, rd->len - have,
                          (off_t)(rd->offset + have));

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            rd->err = errno;
            return;
        }
        if (n == 0)
            break; /* end of file */
        have += (size_t)n;
    }
    rd->got = (ssize_t)have;
}

static void read_done(struct ls_fileio_job *job, bool cancelled)
{
    struct ls_vod_read *rd = (struct ls_vod_read *)((char *)job -
                                                     offsetof(struct ls_vod_read, job));
    struct ls_vod *vod = rd->file->vod;

    if (!cancelled && !rd->cancelled) {
        if (rd->err != 0) {
            ls_log(LS_LOG_WARNING, "vod %s: read at %llu failed: %s", rd->file->name,
                   (unsigned long long)rd->offset, strerror(rd->err));
            rd->cb(rd->arg, LS_EIO, NULL, 0);
        } else {
            vod->c.read_bytes += (uint64_t)rd->got;
            rd->cb(rd->arg, LS_OK, rd->buf, (size_t)rd->got);
        }
    } else if (!rd->cancelled) {
        rd->cb(rd->arg, LS_EIO, NULL, 0); /* the pool is going */
    }
    ls_vod_file_release(rd->file);
    free(rd->buf);
    free(rd);
}

struct ls_vod_read *ls_vod_read(struct ls_vod_file *f, uint64_t offset, size_t len,
                                ls_vod_read_cb cb, void *arg)
{
    struct ls_vod_read *rd;

    if (len == 0 || len > (size_t)f->vod->cfg.max_tag_size + LS_VOD_CHUNK)
        return NULL;
    rd = calloc(1, sizeof *rd);
    if (rd == NULL)
        return NULL;
    rd->buf = malloc(len);
    if (rd->buf == NULL) {
        free(rd);
        return NULL;
    }
    rd->file = f;
    rd->offset = offset;
    rd->len = len;
    rd->cb = cb;
    rd->arg = arg;
    rd->job.work = read_work;
    rd->job.done = read_done;
    ls_vod_file_ref(f);
    if (ls_fileio_submit(f->vod->io, &rd->job) != LS_OK) {
        ls_vod_file_release(f);
        free(rd->buf);
        free(rd);
        return NULL;
    }
    return rd;
}

void ls_vod_read_cancel(struct ls_vod_read *rd)
{
    if (rd == NULL)
        return;
    rd->cancelled = true;
    ls_fileio_cancel(rd->file->vod->io, &rd->job); /* read_done frees it */
}

/* ---- the service ---- */

bool ls_vod_owns(const struct ls_vod *vod, const struct ls_stream_ref *ref)
{
    return vod != NULL && ref != NULL && strcmp(ref->app, LS_VOD_APP) == 0;
}

int ls_vod_viewer_acquire(struct ls_vod *vod)
{
    uint64_t now;

    if (vod->viewers < vod->cfg.max_viewers) {
        vod->viewers++;
        return LS_OK;
    }
    vod->c.refused++;
    now = ls_now_ms();
    if (now - vod->refused_log_ms >= 1000) {
        vod->refused_log_ms = now;
        ls_log(LS_LOG_WARNING, "vod: a viewer refused: vod.max_viewers (%u) reached",
               vod->cfg.max_viewers);
    }
    return LS_ELIMIT;
}

void ls_vod_viewer_release(struct ls_vod *vod)
{
    if (vod->viewers > 0)
        vod->viewers--;
}

/* The workers' queue: at most one job per viewer (its open or its next read) and per
 * index being built, which the viewer bound and the per-session request queue bound. */
static size_t vod_queue_bound(const struct ls_vod_config *cfg)
{
    return 2 * (size_t)cfg->max_viewers + 256;
}

struct ls_vod *ls_vod_new(struct event_base *base, const struct ls_vod_config *cfg)
{
    struct ls_vod *vod = calloc(1, sizeof *vod);

    if (vod == NULL)
        return NULL;
    vod->base = base;
    vod->cfg = *cfg;
    vod->cfg.dir = NULL;
    TAILQ_INIT(&vod->lru);
    if (ls_strmap_init(&vod->entries) != LS_OK) {
        free(vod);
        return NULL;
    }
    vod->dir = vod_dir_open(cfg->dir);
    if (vod->dir != NULL)
        vod->io = ls_fileio_new(base, cfg->io_threads, vod_queue_bound(cfg));
    if (vod->io == NULL) {
        vod_dir_release(vod->dir);
        ls_strmap_free(&vod->entries);
        free(vod);
        return NULL;
    }
    vod->cfg.dir = vod->dir->path;
    ls_log(LS_LOG_NOTICE, "vod: serving %s/NAME.flv at rtmp://…/%s/NAME and /%s/NAME.flv "
           "(%u file threads)", vod->dir->path, LS_VOD_APP, LS_VOD_APP, cfg->io_threads);
    return vod;
}

int ls_vod_set_config(struct ls_vod *vod, const struct ls_vod_config *cfg)
{
    struct vod_dir *dir = vod->dir;
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    unsigned threads = vod->cfg.io_threads;

    if (strcmp(cfg->dir, vod->dir->path) != 0) {
        dir = vod_dir_open(cfg->dir);
        if (dir == NULL) {
            ls_log(LS_LOG_WARNING, "vod: keeping the directory %s", vod->dir->path);
            return LS_EIO;
        }
        /* Another directory: nothing cached belongs to it (names may repeat). */
        ls_strmap_iter_init(&it, &vod->entries);
        while ((n = ls_strmap_iter_next(&it)) != NULL) {
            struct vod_entry *e = LS_STRMAP_ENTRY(n, struct vod_entry, node);

            if (e->build != NULL)
                entry_unmap(e);
            else
                entry_free(e);
        }
        vod_dir_release(vod->dir);
        vod->dir = dir;
        ls_log(LS_LOG_NOTICE, "vod: now serving %s", dir->path);
    }
    if (cfg->io_threads != threads)
        ls_log(LS_LOG_WARNING, "vod.io_threads changes need a restart");
    vod->cfg = *cfg;
    vod->cfg.io_threads = threads; /* what runs */
    vod->cfg.dir = vod->dir->path;
    cache_evict(vod, 0);
    return LS_OK;
}

const struct ls_vod_config *ls_vod_config(const struct ls_vod *vod)
{
    return &vod->cfg;
}

struct event_base *ls_vod_base(const struct ls_vod *vod)
{
    return vod->base;
}

void ls_vod_free(struct ls_vod *vod)
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;

    if (vod == NULL)
        return;
    /* Every job ends now: builds free themselves, their waiters hear "shutting down". */
    ls_fileio_free(vod->io);
    ls_strmap_iter_init(&it, &vod->entries);
    while ((n = ls_strmap_iter_next(&it)) != NULL)
        entry_free(LS_STRMAP_ENTRY(n, struct vod_entry, node));
    ls_strmap_free(&vod->entries);
    if (vod->files > 0)
        ls_log(LS_LOG_ERR, "vod: %u files still open at exit", vod->files);
    vod_dir_release(vod->dir);
    free(vod);
}

void ls_vod_metrics(struct ls_buf *out, void *arg)
{
    const struct ls_vod *vod = arg;
    const struct vod_counters *c = &vod->c;
    static const char *const results[] = { "ok", "not_found", "not_flv", "failed" };
    const uint64_t opens[] = { c->opens_ok, c->opens_not_found, c->opens_bad_file,
                               c->opens_failed };

    ls_prom_metric(out, "livecluster_vod_viewers", "gauge",
                   "Files being played or downloaded (RTMP and HTTP).", vod->viewers);
    ls_prom_metric(out, "livecluster_vod_refused_total", "counter",
                   "File plays and downloads refused at vod.max_viewers.", c->refused);
    ls_prom_counter_by(out, "livecluster_vod_opens_total", "File opens, by result.", "result",
                       results, opens, 4);
    ls_prom_metric(out, "livecluster_vod_index_hits_total", "counter",
                   "Opens answered from the index cache.", c->index_hits);
    ls_prom_metric(out, "livecluster_vod_index_builds_total", "counter",
                   "File indexes built.", c->index_builds);
    ls_prom_metric(out, "livecluster_vod_index_read_bytes_total", "counter",
                   "Bytes read to build indexes.", c->index_build_bytes);
    ls_prom_metric(out, "livecluster_vod_index_evictions_total", "counter",
                   "Indexes dropped from the cache for room.", c->index_evictions);
    ls_prom_metric(out, "livecluster_vod_index_cache_bytes", "gauge",
                   "Memory held by cached indexes.", vod->cache_bytes);
    ls_prom_metric(out, "livecluster_vod_read_bytes_total", "counter",
                   "Bytes read from files for players and downloads.", c->read_bytes);
}
