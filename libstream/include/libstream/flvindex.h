/*
 * flvindex.h — the seek index of an FLV file (Adobe FLV v10.1 annex E), for playing files
 * on demand (vod.h): where each keyframe starts, the file's real duration, and the
 * decoder configuration (sequence headers) and metadata a player needs when it starts
 * from a keyframe in the middle.
 *
 * The builder reads only what it needs, asking for it by file offset: the 9-byte file
 * header, then per tag its 11-byte header and the first LS_FLVINDEX_PEEK bytes of its body
 * (enough to tell a keyframe from an inter frame), and the whole body only of sequence
 * headers and of the first onMetaData (which it keeps, each up to LS_FLVINDEX_MAX_BLOB
 * bytes). A caller reads the file where the builder asks (`want`), feeds it, and
 * finishes. Fed exactly what it asks for, the builder needs about 43 bytes per tag plus
 * the kept bodies (the unit test's fixture: under a quarter of the file); a caller that
 * reads larger chunks trades bytes for system calls and skips only bodies longer than a
 * chunk (vod.c reads 64 KiB: for a 1 Mbit/s file, whose tags are a few KiB, that is
 * nearly the whole file — once per file version, and in pages the kernel reads ahead
 * anyway).
 *
 * Pure (docs/hacking.md): bytes in, an index out; no I/O, no global state. The caller
 * decides how to read (spd reads on its file worker threads, fileio.h).
 *
 * Timestamps in the index are relative to the file's first audio or video tag, so a
 * recording whose timeline starts at, say, 3600000 ms plays and seeks from 0. What stops
 * indexing early (a truncated last tag, a tag over max_tag_size, an encrypted tag) ends the
 * playable part of the file there, with `stop_why` saying so; only a file that is not FLV
 * at all is an error.
 */
#ifndef LIBSTREAM_FLVINDEX_H
#define LIBSTREAM_FLVINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

#define LS_FLVINDEX_PEEK 32u              /* body bytes looked at per audio/video tag */
#define LS_FLVINDEX_MAX_BLOB 65536u       /* largest sequence header / onMetaData kept */
#define LS_FLVINDEX_MAX_BLOBS 256u        /* distinct ones kept per file */
#define LS_FLVINDEX_DEFAULT_MAX_KEYS 65536u /* past it the index halves its resolution */
#define LS_FLVINDEX_AUDIO_POINT_MS 1000u  /* audio-only parts: a sync point per second */
#define LS_FLVINDEX_NONE 0xffffu          /* no blob */

struct ls_flvindex_limits {
    uint32_t max_tag_size;    /* a tag announcing more ends the index (default 16 MiB - 1) */
    uint32_t max_keys;        /* entries; a full index drops every other one and keeps
                               * only entries further apart from then on (default
                               * LS_FLVINDEX_DEFAULT_MAX_KEYS; at least 2) */
    uint32_t max_data_offset; /* largest DataOffset in the file header (default 1024) */
};

/* A point playing may start from: a video keyframe, or in a part without video an audio
 * tag at least LS_FLVINDEX_AUDIO_POINT_MS after the previous point. */
struct ls_flvindex_key {
    uint64_t offset;   /* the tag's first byte in the file */
    uint32_t ts;       /* relative ms (tag timestamp minus the first audio/video one) */
    uint16_t vseq;     /* blob of the last video sequence header before it, or NONE */
    uint16_t aseq;     /* blob of the last audio sequence header before it, or NONE */
};

/* A kept tag payload: a sequence header or the first onMetaData. */
struct ls_flvindex_blob {
    uint8_t type;      /* FLV tag type: 8 audio, 9 video, 18 script */
    uint32_t len;
    uint8_t *data;     /* owned by the index */
};

struct ls_flvindex {
    uint64_t file_size;       /* the size the index was built for */
    uint64_t data_start;      /* the first tag */
    uint64_t data_end;        /* just past the last whole tag (and its PreviousTagSize) */
    uint32_t first_ts;        /* file timestamp of the first audio/video tag */
    uint32_t duration_ms;     /* last relative audio/video timestamp */
    bool has_video, has_audio;
    uint64_t tags;            /* audio, video and script tags indexed */
    uint16_t meta;            /* blob of the first onMetaData, or NONE */
    const char *stop_why;     /* static: why indexing ended before file_size; NULL if not */
    struct ls_flvindex_blob *blobs;
    size_t nblobs;
    struct ls_flvindex_key *keys;
    size_t nkeys;
    size_t memory;            /* bytes this index holds (for a cache's bound) */
};

struct ls_flvindex_builder;

/* A builder for a file of `file_size` bytes. `lim` may be NULL (defaults); copied. NULL when
 * out of memory. */
struct ls_flvindex_builder *ls_flvindex_builder_new(uint64_t file_size,
                                                    const struct ls_flvindex_limits *lim);
/* Frees the builder and what it gathered. NULL is ignored. */
void ls_flvindex_builder_free(struct ls_flvindex_builder *b);

/*
 * What the builder needs next: at least `*len` bytes (at most LS_FLVINDEX_MAX_BLOB + 11;
 * fewer only at the end of the file) from file offset `*offset`. False when it needs
 * nothing more: call ls_flvindex_builder_finish. Reading more than asked (a 64 KiB chunk)
 * lets one feed index many tags.
 */
bool ls_flvindex_builder_want(const struct ls_flvindex_builder *b, uint64_t *offset,
                              size_t *len);

/*
 * Feeds `len` bytes read at file offset `offset`, which must be the offset `want` named
 * (LS_EINVAL otherwise; nothing changes). Every tag whose header and needed body bytes lie
 * within them is indexed; feeding more than was asked for saves reads. Fewer bytes than
 * asked are taken as the end of the file (it shrank under us): indexing ends there.
 * Returns LS_OK, LS_EPROTO when the file is not FLV (bad signature, DataOffset < 9 or over
 * the limit; `*why` says which), or LS_ENOMEM. Errors are sticky.
 */
LS_MUST_CHECK int ls_flvindex_builder_feed(struct ls_flvindex_builder *b, uint64_t offset,
                                           const uint8_t *p, size_t len, const char **why);

/*
 * Hands over the index of what was fed in `*out` (the caller owns it: ls_flvindex_free;
 * the builder keeps nothing, free it after). Called before `want` returned false, the file
 * ends where feeding stopped. Returns LS_OK, LS_EPROTO (not an FLV file, `*why` says why;
 * also for a file shorter than its header), or LS_ENOMEM; `*out` is NULL then.
 */
LS_MUST_CHECK int ls_flvindex_builder_finish(struct ls_flvindex_builder *b,
                                             struct ls_flvindex **out, const char **why);

void ls_flvindex_free(struct ls_flvindex *ix);

/* The last key at or before relative time `ms`; the first key when every key is later;
 * NULL when the index has none. */
const struct ls_flvindex_key *ls_flvindex_seek(const struct ls_flvindex *ix, uint32_t ms);

/* The blob with this number, or NULL for LS_FLVINDEX_NONE or one out of range. */
const struct ls_flvindex_blob *ls_flvindex_blob(const struct ls_flvindex *ix, uint16_t n);

/* A tag's relative timestamp on the index's timeline (0 for tags before the first media). */
static inline uint32_t ls_flvindex_rel_ts(const struct ls_flvindex *ix, uint32_t ts)
{
    return ts >= ix->first_ts ? ts - ix->first_ts : 0;
}

#endif /* LIBSTREAM_FLVINDEX_H */
