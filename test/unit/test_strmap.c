/*
 * Unit tests for strmap.c: SipHash-2-4 against the reference vectors, insert/find/remove,
 * many keys, growth (nodes stay where they are), removal during iteration, seeding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/strmap.h"

struct item {
    char key[32];
    struct ls_strmap_node node;
    unsigned visits;
    bool in_map;
};

static struct item *item_of(struct ls_strmap_node *n)
{
    return LS_STRMAP_ENTRY(n, struct item, node);
}

static struct item *items_new(size_t n, const char *prefix)
{
    struct item *v = calloc(n, sizeof *v);
    size_t i;

    assert_non_null(v);
    for (i = 0; i < n; i++) {
        snprintf(v[i].key, sizeof v[i].key, "%s%zu", prefix, i);
        v[i].node.key = v[i].key;
    }
    return v;
}

static void insert_all(struct ls_strmap *m, struct item *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        assert_int_equal(ls_strmap_insert(m, &v[i].node), LS_OK);
        v[i].in_map = true;
    }
}

/* Reference implementation's test.c: key 00..0f, message 00..(n-1), n = 0..16. */
static void test_siphash_vectors(void **state)
{
    static const uint64_t want[] = {
        0x726fdb47dd0e0e31u, 0x74f839c593dc67fdu, 0x0d6c8009d9a94f5au, 0x85676696d7fb7e2du,
        0xcf2794e0277187b7u, 0x18765564cd99a68du, 0xcbc9466e58fee3ceu, 0xab0200f58b01d137u,
        0x93f5f5799a932462u, 0x9e0082df0ba9e4b0u, 0x7a5dbbc594ddb9f3u, 0xf4b32f46226bada7u,
        0x751e8fbc860ee5fbu, 0x14ea5627c0843d90u, 0xf723ca908e7af2eeu, 0xa129ca6149be45e5u,
        0x3f2acc7f57c29bdbu,
    };
    uint8_t key[16], msg[sizeof want / sizeof want[0]];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)i;
    for (i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    for (i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_true(ls_siphash24(key, msg, i) == want[i]);
}

static void test_basic(void **state)
{
    struct ls_strmap m;
    struct item a = { .key = "live/a" }, b = { .key = "live/b" }, dup = { .key = "live/a" },
                empty = { .key = "" };

    (void)state;
    a.node.key = a.key;
    b.node.key = b.key;
    dup.node.key = dup.key;
    empty.node.key = empty.key;
    assert_int_equal(ls_strmap_init(&m), LS_OK);
    assert_null(ls_strmap_find(&m, "live/a"));
    assert_int_equal(ls_strmap_count(&m), 0);
    assert_int_equal(ls_strmap_insert(&m, &a.node), LS_OK);
    assert_int_equal(ls_strmap_insert(&m, &b.node), LS_OK);
    assert_int_equal(ls_strmap_insert(&m, &empty.node), LS_OK);
    assert_int_equal(ls_strmap_insert(&m, &dup.node), LS_EBUSY);
    assert_int_equal(ls_strmap_count(&m), 3);
    assert_ptr_equal(ls_strmap_find(&m, "live/a"), &a.node);
    assert_ptr_equal(item_of(ls_strmap_find(&m, "live/b")), &b);
    assert_ptr_equal(ls_strmap_find(&m, ""), &empty.node);
    assert_null(ls_strmap_find(&m, "live/"));
    assert_null(ls_strmap_find(&m, "live/ab"));
    ls_strmap_remove(&m, &a.node);
    assert_null(ls_strmap_find(&m, "live/a"));
    assert_ptr_equal(ls_strmap_find(&m, "live/b"), &b.node);
    assert_int_equal(ls_strmap_count(&m), 2);
    /* the key is free again */
    assert_int_equal(ls_strmap_insert(&m, &dup.node), LS_OK);
    assert_ptr_equal(ls_strmap_find(&m, "live/a"), &dup.node);
    ls_strmap_remove(&m, &b.node);
    ls_strmap_remove(&m, &dup.node);
    ls_strmap_remove(&m, &empty.node);
    assert_int_equal(ls_strmap_count(&m), 0);
    assert_null(ls_strmap_find(&m, "live/b"));
    ls_strmap_free(&m);
    ls_strmap_free(&m); /* twice is harmless */
}

static void test_many_keys(void **state)
{
    enum { N = 100000 };
    struct ls_strmap m;
    struct item *v = items_new(N, "app/stream-");
    size_t i;

    (void)state;
    assert_int_equal(ls_strmap_init(&m), LS_OK);
    insert_all(&m, v, N);
    assert_int_equal(ls_strmap_count(&m), N);
    for (i = 0; i < N; i++)
        assert_ptr_equal(ls_strmap_find(&m, v[i].key), &v[i].node);
    for (i = 0; i < N; i += 2)
        ls_strmap_remove(&m, &v[i].node);
    assert_int_equal(ls_strmap_count(&m), N / 2);
    for (i = 0; i < N; i++) {
        if (i % 2 == 0)
            assert_null(ls_strmap_find(&m, v[i].key));
        else
            assert_ptr_equal(ls_strmap_find(&m, v[i].key), &v[i].node);
    }
    /* removed nodes go back in */
    for (i = 0; i < N; i += 2)
        assert_int_equal(ls_strmap_insert(&m, &v[i].node), LS_OK);
    assert_int_equal(ls_strmap_count(&m), N);
    for (i = 0; i < N; i++)
        assert_ptr_equal(ls_strmap_find(&m, v[i].key), &v[i].node);
    /* the load factor stays at most one: chains stay short */
    assert_true(m.nbuckets >= N);
    ls_strmap_free(&m);
    free(v);
}

static void test_growth(void **state)
{
    enum { N = 1000 };
    struct ls_strmap m;
    struct item *v = items_new(N, "g");
    size_t i, buckets = 0, grew = 0;

    (void)state;
    assert_int_equal(ls_strmap_init(&m), LS_OK);
    assert_int_equal(m.nbuckets, 0); /* nothing allocated before the first insert */
    for (i = 0; i < N; i++) {
        size_t j;

        assert_int_equal(ls_strmap_insert(&m, &v[i].node), LS_OK);
        if (m.nbuckets != buckets) {
            assert_true(buckets == 0 || m.nbuckets == 2 * buckets);
            buckets = m.nbuckets;
            grew++;
            /* everything inserted so far is still found, at the same address */
            for (j = 0; j <= i; j++)
                assert_ptr_equal(ls_strmap_find(&m, v[j].key), &v[j].node);
        }
        assert_true(ls_strmap_count(&m) <= m.nbuckets);
    }
    assert_true(grew >= 5); /* 64 → 128 → 256 → 512 → 1024 */
    ls_strmap_free(&m);
    free(v);
}

/* Counts the entries an iteration returns, removing those `drop` selects as it goes. */
static size_t iterate(struct ls_strmap *m, bool (*drop)(const struct item *))
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    size_t seen = 0;

    ls_strmap_iter_init(&it, m);
    while ((n = ls_strmap_iter_next(&it)) != NULL) {
        struct item *x = item_of(n);

        x->visits++;
        seen++;
        if (drop != NULL && drop(x)) {
            ls_strmap_remove(m, n);
            x->in_map = false;
            /* poison the node as a free() would leave it */
            memset(&x->node, 0xa5, sizeof x->node);
            x->node.key = x->key;
        }
    }
    return seen;
}

static bool drop_all(const struct item *x)
{
    (void)x;
    return true;
}

static bool drop_odd(const struct item *x)
{
    return x->key[strlen(x->key) - 1] % 2 == 1;
}

static void test_iteration_with_removal(void **state)
{
    enum { N = 5000 };
    struct ls_strmap m;
    struct item *v = items_new(N, "it/");
    size_t i, kept = 0;

    (void)state;
    assert_int_equal(ls_strmap_init(&m), LS_OK);
    assert_int_equal(iterate(&m, NULL), 0); /* empty, no bucket array yet */
    insert_all(&m, v, N);
    assert_int_equal(iterate(&m, NULL), N);
    for (i = 0; i < N; i++)
        assert_int_equal(v[i].visits, 1);
    /* remove every other entry while iterating: each entry is still seen exactly once */
    assert_int_equal(iterate(&m, drop_odd), N);
    for (i = 0; i < N; i++) {
        assert_int_equal(v[i].visits, 2);
        if (v[i].in_map) {
            kept++;
            assert_ptr_equal(ls_strmap_find(&m, v[i].key), &v[i].node);
        } else {
            assert_null(ls_strmap_find(&m, v[i].key));
        }
    }
    assert_int_equal(ls_strmap_count(&m), kept);
    assert_int_equal(kept, N / 2);
    /* remove everything while iterating */
    assert_int_equal(iterate(&m, drop_all), kept);
    assert_int_equal(ls_strmap_count(&m), 0);
    assert_int_equal(iterate(&m, NULL), 0);
    for (i = 0; i < N; i++)
        assert_null(ls_strmap_find(&m, v[i].key));
    ls_strmap_free(&m);
    free(v);
}

/* Two maps hash with different keys, so a bucket layout learnt from one says nothing about
 * the other. */
static void test_seeded(void **state)
{
    struct ls_strmap a, b;

    (void)state;
    assert_int_equal(ls_strmap_init(&a), LS_OK);
    assert_int_equal(ls_strmap_init(&b), LS_OK);
    assert_memory_not_equal(a.seed, b.seed, sizeof a.seed);
    assert_true(ls_siphash24(a.seed, "live/x", 6) != ls_siphash24(b.seed, "live/x", 6));
    ls_strmap_free(&a);
    ls_strmap_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_iteration_with_removal),
        cmocka_unit_test(test_seeded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
