/*
 * vod.h — files on demand (spd's `vod = { dir = "DIR"; … }`): the directory, the files
 * opened in it, their seek indexes (flvindex.h) in a bounded cache, and the count of
 * viewers. The players are vodplay.h (rtmp://HOST/vod/NAME) and vodhttp.h
 * (GET /vod/NAME.flv); this module is what they share.
 *
 * Names: NAME follows the stream-id rules (streamid.h: 1..128 characters of
 * [A-Za-z0-9_.-], not starting with '.'), checked again here, and the file is DIR/NAME.flv.
 * Nothing outside DIR is ever opened: the name has no '/', and the file is opened with
 * openat2(RESOLVE_BENEATH) relative to DIR (a symlink is followed only when it stays
 * inside DIR); where openat2 is missing, with openat(O_NOFOLLOW) — no symlink at all — and
 * the opened file's path checked to be under DIR's real path. Only regular files are
 * served.
 *
 * The event loop never touches the disk: opening, indexing and reading run on the file
 * worker threads (fileio.h), and every answer comes back to the loop. Each index is built
 * once per file and kept in a cache bounded by `index_cache_bytes` (least recently used
 * first out); an entry is used only while the file's device, inode, size and modification
 * time are what they were when it was built, so a file that changes is indexed again.
 */
#ifndef LIBSTREAM_VOD_H
#define LIBSTREAM_VOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/flvindex.h"
#include "libstream/streamid.h"

struct event_base;
struct ls_vod;
struct ls_vod_file;
struct ls_vod_open;
struct ls_vod_read;

#define LS_VOD_APP "vod"                 /* rtmp://HOST/vod/NAME, GET /vod/NAME.flv */
#define LS_VOD_CHUNK 65536u              /* bytes per file read */
#define LS_VOD_INDEX_STEP_BYTES (1u << 20) /* bytes one indexing job reads at most */

struct ls_vod_config {
    const char *dir;           /* borrowed for the call; the directory of the files */
    unsigned max_viewers;      /* RTMP plays and HTTP downloads of files at once */
    size_t index_cache_bytes;  /* memory for cached indexes */
    unsigned read_ahead_ms;    /* how far ahead of real time a player sends */
    unsigned io_threads;       /* file worker threads (applies at start only) */
    uint32_t max_tag_size;     /* largest tag played (the node's max_message_size) */
    size_t queue_max_bytes;    /* a player's unsent output bound (viewer_queue_bytes) */
    unsigned slow_timeout_ms;  /* ... and how long it may stay there (slow_viewer_timeout) */
    unsigned idle_timeout_ms;  /* a play that ended, with nothing asked since, is closed
                                * after this (connect_timeout) */
};
/* Defaults: no dir, 1000 viewers, 16 MiB of indexes, 2000 ms ahead, 4 threads, 8 MiB
 * tags, 4 MiB queue, 10 s, 30 s. */
void ls_vod_config_defaults(struct ls_vod_config *cfg);

/*
 * Opens `cfg->dir` (a directory) and starts the workers. NULL after logging why (the
 * directory cannot be opened, no threads). The config is copied.
 */
struct ls_vod *ls_vod_new(struct event_base *base, const struct ls_vod_config *cfg);
/*
 * SIGHUP: applies a new config to new requests (a new `dir` is opened first: when that
 * fails, the old one stays and LS_EIO is returned, logged). `io_threads` changes only on
 * restart (a warning says so).
 */
int ls_vod_set_config(struct ls_vod *vod, const struct ls_vod_config *cfg);
const struct ls_vod_config *ls_vod_config(const struct ls_vod *vod);
struct event_base *ls_vod_base(const struct ls_vod *vod);
/* Stops the workers and frees the cache. Every player must be gone (their files released). */
void ls_vod_free(struct ls_vod *vod);

/* Whether `ref` names a file here: vod is on (non-NULL) and the app is LS_VOD_APP. */
bool ls_vod_owns(const struct ls_vod *vod, const struct ls_stream_ref *ref);

/* One viewer more (LS_ELIMIT at max_viewers: refused, counted, logged at most once a
 * second) or less. */
LS_MUST_CHECK int ls_vod_viewer_acquire(struct ls_vod *vod);
void ls_vod_viewer_release(struct ls_vod *vod);

/*
 * An open's answer, on the loop, never inside ls_vod_open: `rc` LS_OK with `file` (one
 * reference, the caller's: ls_vod_file_release), or LS_ENOTFOUND (no such regular file in
 * DIR, or a name that is not a stream name), LS_EPROTO (not an FLV file), LS_ELIMIT (the
 * workers' queue is full), LS_EIO; `why` is a static reason for the log line.
 */
typedef void (*ls_vod_open_cb)(void *arg, int rc, struct ls_vod_file *file, const char *why);

/*
 * Opens DIR/NAME.flv, with its index when `index` (from the cache, or built now). NULL
 * when out of memory or when the workers' queue is full (nothing will be called).
 */
struct ls_vod_open *ls_vod_open(struct ls_vod *vod, const char *name, bool index,
                                ls_vod_open_cb cb, void *arg);
/* The callback will not run; what the open holds is freed (now, or when its job ends). */
void ls_vod_open_cancel(struct ls_vod_open *op);

void ls_vod_file_ref(struct ls_vod_file *f);
void ls_vod_file_release(struct ls_vod_file *f);
/* The index (opened with `index`), or NULL. Valid while the file is held. */
const struct ls_flvindex *ls_vod_file_index(const struct ls_vod_file *f);
uint64_t ls_vod_file_size(const struct ls_vod_file *f);
int64_t ls_vod_file_mtime(const struct ls_vod_file *f); /* UNIX seconds */
const char *ls_vod_file_name(const struct ls_vod_file *f); /* NAME */

/*
 * A read's answer, on the loop, never inside ls_vod_read: LS_OK with `len` bytes (fewer
 * than asked only at the end of the file; `data` valid for the call), or LS_EIO.
 */
typedef void (*ls_vod_read_cb)(void *arg, int rc, const uint8_t *data, size_t len);

/* Reads `len` bytes (1..max_tag_size + LS_VOD_CHUNK) at `offset`. NULL when out of memory
 * or the queue is full (nothing will be called). */
struct ls_vod_read *ls_vod_read(struct ls_vod_file *f, uint64_t offset, size_t len,
                                ls_vod_read_cb cb, void *arg);
/* The callback will not run; the buffer and the file reference go when the job ends. */
void ls_vod_read_cancel(struct ls_vod_read *rd);

/* livecluster_vod_* families for /metrics (ls_http_set_metrics form). */
void ls_vod_metrics(struct ls_buf *out, void *arg);

#endif /* LIBSTREAM_VOD_H */
