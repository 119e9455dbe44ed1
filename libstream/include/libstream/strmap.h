/*
 * strmap.h — the one string-keyed table of libstream and the daemons: the hub's streams,
 * smd's registrations and watches, spd's claimed and watched ids.
 *
 * Chained hashing with intrusive nodes: the caller embeds a `struct ls_strmap_node` in
 * its own struct and points `key` at a NUL-terminated string inside it, so inserting
 * allocates nothing per entry. The bucket array doubles whenever the map holds as many
 * entries as buckets; it never shrinks. Find, insert and remove are O(1) on average.
 *
 * Keys come from the network (stream ids, node ids), so the hash is SipHash-2-4 keyed with
 * 128 random bits drawn when the map is initialised: a peer that cannot learn the key
 * cannot choose ids that all land in one bucket.
 *
 * Iteration (ls_strmap_iter_next) returns each entry once and tolerates the removal of
 * the entry it just returned; removing any other entry, or inserting, while iterating may
 * skip or repeat entries (never touches freed memory as long as only the returned entry
 * is freed).
 */
#ifndef LIBSTREAM_STRMAP_H
#define LIBSTREAM_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

struct ls_strmap_node {
    const char *key;                /* set by the caller before insert; must stay valid and
                                     * unchanged while the node is in a map */
    /* private */
    struct ls_strmap_node *next;
    struct ls_strmap_node **pprev;
    uint64_t hash;
};

/* Embedded by the owner; fields are private. */
struct ls_strmap {
    struct ls_strmap_node **buckets; /* NULL until the first insert */
    size_t nbuckets;                 /* a power of two, or 0 */
    size_t count;
    uint8_t seed[16];
};

/* The struct that embeds `node` as `member`. */
#define LS_STRMAP_ENTRY(node, type, member) \
    ((type *)(void *)((char *)(node) - offsetof(type, member)))

/* An empty map with a fresh random hash key. LS_EIO when no randomness is available. */
LS_MUST_CHECK int ls_strmap_init(struct ls_strmap *m);
/* Frees the bucket array (not the entries, which belong to the caller); the map is empty
 * and must be initialised again before reuse. */
void ls_strmap_free(struct ls_strmap *m);

/* The node whose key equals `key`, or NULL. */
struct ls_strmap_node *ls_strmap_find(const struct ls_strmap *m, const char *key);
/*
 * Adds `node` (its key set, not already in a map). LS_EBUSY when the key is present (the
 * map is unchanged), LS_ENOMEM when the first bucket array cannot be allocated. A failed
 * growth keeps the smaller array: still correct, only slower.
 */
LS_MUST_CHECK int ls_strmap_insert(struct ls_strmap *m, struct ls_strmap_node *node);
/* Takes `node` (which must be in `m`) out of the map; O(1). */
void ls_strmap_remove(struct ls_strmap *m, struct ls_strmap_node *node);
size_t ls_strmap_count(const struct ls_strmap *m);

struct ls_strmap_iter {
    const struct ls_strmap *m;
    size_t bucket;                   /* next bucket to look at */
    struct ls_strmap_node *next;     /* next node to return, already chosen */
};

/* Iterates in no particular order (see the top of the file for what may change meanwhile). */
void ls_strmap_iter_init(struct ls_strmap_iter *it, const struct ls_strmap *m);
/* The next entry, or NULL at the end. */
struct ls_strmap_node *ls_strmap_iter_next(struct ls_strmap_iter *it);

/* SipHash-2-4 of `len` bytes under a 16-byte key (exposed for the test vectors). */
uint64_t ls_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif /* LIBSTREAM_STRMAP_H */
