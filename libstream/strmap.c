/*
 * strmap.c — the string-keyed hash table (see strmap.h). Layer: foundations (no sockets,
 * no libevent, no logging).
 *
 *   buckets[hash & (nbuckets - 1)] ──▶ node ──next──▶ node ──next──▶ NULL
 *                          ▲            │pprev
 *                          └────────────┘      (pprev: the pointer that points at us,
 *                                               so a node leaves its chain in O(1))
 *
 * The hash is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012) keyed per map from RAND_bytes: stream ids are chosen by clients, and an unkeyed
 * hash (FNV) lets them pick ids that all share one chain, turning every lookup linear.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "libstream/bytes.h"
#include "libstream/strmap.h"

#define STRMAP_FIRST_BUCKETS 64

/* ---- SipHash-2-4 ---- */

static uint64_t sip_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t sip_le64(const uint8_t *p)
{
    return (uint64_t)ls_get_le32(p) | (uint64_t)ls_get_le32(p + 4) << 32;
}

#define SIP_ROUND(v0, v1, v2, v3)                                                     \
    do {                                                                              \
        v0 += v1; v1 = sip_rotl(v1, 13); v1 ^= v0; v0 = sip_rotl(v0, 32);             \
        v2 += v3; v3 = sip_rotl(v3, 16); v3 ^= v2;                                    \
        v0 += v3; v3 = sip_rotl(v3, 21); v3 ^= v0;                                    \
        v2 += v1; v1 = sip_rotl(v1, 17); v1 ^= v2; v2 = sip_rotl(v2, 32);             \
    } while (0)

uint64_t ls_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = sip_le64(key), k1 = sip_le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575u, v1 = k1 ^ 0x646f72616e646f6du;
    uint64_t v2 = k0 ^ 0x6c7967656e657261u, v3 = k1 ^ 0x7465646279746573u;
    uint64_t b = (uint64_t)len << 56, m;
    size_t left = len;
    unsigned i;

    for (; left >= 8; p += 8, left -= 8) {
        m = sip_le64(p);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    for (i = 0; i < left; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (i = 0; i < 4; i++)
        SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the table ---- */

static uint64_t strmap_hash(const struct ls_strmap *m, const char *key)
{
    return ls_siphash24(m->seed, key, strlen(key));
}

int ls_strmap_init(struct ls_strmap *m)
{
    memset(m, 0, sizeof *m);
    if (RAND_bytes(m->seed, sizeof m->seed) != 1)
        return LS_EIO;
    return LS_OK;
}

void ls_strmap_free(struct ls_strmap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
    m->count = 0;
}

size_t ls_strmap_count(const struct ls_strmap *m)
{
    return m->count;
}

struct ls_strmap_node *ls_strmap_find(const struct ls_strmap *m, const char *key)
{
    uint64_t h;
    struct ls_strmap_node *n;

    if (m->count == 0)
        return NULL;
    h = strmap_hash(m, key);
    for (n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->next)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

static void strmap_link(struct ls_strmap_node **head, struct ls_strmap_node *node)
{
    node->next = *head;
    if (node->next != NULL)
        node->next->pprev = &node->next;
    node->pprev = head;
    *head = node;
}

/* Doubles the bucket array; on allocation failure the old one stays. */
static void strmap_grow(struct ls_strmap *m)
{
    size_t nb = m->nbuckets * 2, i;
    struct ls_strmap_node **b = calloc(nb, sizeof *b);

    if (b == NULL)
        return;
    for (i = 0; i < m->nbuckets; i++) {
        struct ls_strmap_node *n = m->buckets[i], *next;

        for (; n != NULL; n = next) {
            next = n->next;
            strmap_link(&b[n->hash & (nb - 1)], n);
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int ls_strmap_insert(struct ls_strmap *m, struct ls_strmap_node *node)
{
    if (ls_strmap_find(m, node->key) != NULL)
        return LS_EBUSY;
    if (m->buckets == NULL) {
        m->buckets = calloc(STRMAP_FIRST_BUCKETS, sizeof *m->buckets);
        if (m->buckets == NULL)
            return LS_ENOMEM;
        m->nbuckets = STRMAP_FIRST_BUCKETS;
    } else if (m->count >= m->nbuckets) {
        strmap_grow(m);
    }
    node->hash = strmap_hash(m, node->key);
    strmap_link(&m->buckets[node->hash & (m->nbuckets - 1)], node);
    m->count++;
    return LS_OK;
}

void ls_strmap_remove(struct ls_strmap *m, struct ls_strmap_node *node)
{
    *node->pprev = node->next;
    if (node->next != NULL)
        node->next->pprev = node->pprev;
    node->next = NULL;
    node->pprev = NULL;
    m->count--;
}

/* ---- iteration ---- */

/* Chooses the next node to return, starting with the chain after `from` (NULL: the next
 * bucket). */
static void strmap_iter_advance(struct ls_strmap_iter *it, struct ls_strmap_node *from)
{
    if (from != NULL && from->next != NULL) {
        it->next = from->next;
        return;
    }
    it->next = NULL;
    while (it->bucket < it->m->nbuckets && it->next == NULL)
        it->next = it->m->buckets[it->bucket++];
}

void ls_strmap_iter_init(struct ls_strmap_iter *it, const struct ls_strmap *m)
{
    it->m = m;
    it->bucket = 0;
    strmap_iter_advance(it, NULL);
}

struct ls_strmap_node *ls_strmap_iter_next(struct ls_strmap_iter *it)
{
    struct ls_strmap_node *n = it->next;

    /* The successor is chosen now, so the caller may remove (and free) `n`. */
    if (n != NULL)
        strmap_iter_advance(it, n);
    return n;
}
