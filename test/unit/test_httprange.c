/*
 * Unit tests for httprange.c: a table of Range values against representation sizes, with
 * the answer each one must get (206 with the bytes, 200 whole when ignored, 416), the
 * digit bound, and every value fed from an exact-size heap copy (ASan catches a read past
 * the terminating NUL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/httprange.h"
#include "support/input.h"

struct range_case {
    const char *value;
    uint64_t size;
    int rc;
    uint64_t first, last;
};

static const struct range_case cases[] = {
    /* absent or ignored: the whole file */
    { NULL, 1000, LS_ENOTFOUND, 0, 0 },
    { "", 1000, LS_ENOTFOUND, 0, 0 },
    { "items=0-1", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes= , ,", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=a-b", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=-", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=5", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=5-4", 1000, LS_ENOTFOUND, 0, 0 },          /* last before first */
    { "bytes=0-1,5-4", 1000, LS_ENOTFOUND, 0, 0 },      /* one bad spec spoils the set */
    { "bytes=0-1;x", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=0-1 2-3", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=+1-2", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=--1", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes = 0-1", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=0x10-", 1000, LS_ENOTFOUND, 0, 0 },
    { "bytes=12345678901234567890-", 1000, LS_ENOTFOUND, 0, 0 }, /* 20 digits */
    /* ranges */
    { "bytes=0-499", 1000, LS_OK, 0, 499 },
    { "BYTES=0-0", 1000, LS_OK, 0, 0 },
    { "bytes=500-", 1000, LS_OK, 500, 999 },
    { "bytes=500-99999", 1000, LS_OK, 500, 999 },       /* clipped to the end */
    { "bytes=-200", 1000, LS_OK, 800, 999 },
    { "bytes=-5000", 1000, LS_OK, 0, 999 },             /* a suffix longer than the file */
    { "bytes=999-", 1000, LS_OK, 999, 999 },
    { " bytes=1-2 ", 1000, LS_OK, 1, 2 },
    { "bytes=0-1, 5-9", 1000, LS_OK, 0, 1 },            /* several: the first */
    { "bytes=2000-3000, 5-9", 1000, LS_OK, 5, 9 },      /* the first satisfiable */
    { "bytes=,\t0-1,", 1000, LS_OK, 0, 1 },             /* empty list elements */
    { "bytes=1234567890123456789-", UINT64_MAX, LS_OK, 1234567890123456789ULL,
      UINT64_MAX - 1 },
    { "bytes=0-1234567890123456789", 10, LS_OK, 0, 9 },
    /* not satisfiable */
    { "bytes=1000-", 1000, LS_ELIMIT, 0, 0 },
    { "bytes=1000-2000", 1000, LS_ELIMIT, 0, 0 },
    { "bytes=-0", 1000, LS_ELIMIT, 0, 0 },
    { "bytes=2000-, 1000-1001", 1000, LS_ELIMIT, 0, 0 },
    { "bytes=0-0", 0, LS_ELIMIT, 0, 0 },               /* nothing in an empty file */
    { "bytes=-1", 0, LS_ELIMIT, 0, 0 },
};

static void test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct range_case *c = &cases[i];
        uint64_t first = 77, last = 77;
        char *copy = NULL;
        int rc;

        if (c->value != NULL)
            copy = (char *)input_dup_exact((const uint8_t *)c->value, strlen(c->value) + 1);
        rc = ls_http_range_parse(copy, c->size, &first, &last);
        free(copy);
        if (rc != c->rc)
            fail_msg("case %zu \"%s\" size %llu: rc %d, want %d", i,
                     c->value != NULL ? c->value : "(null)", (unsigned long long)c->size, rc,
                     c->rc);
        if (rc == LS_OK) {
            assert_int_equal(first, c->first);
            assert_int_equal(last, c->last);
            assert_true(first <= last && last < c->size);
        } else {
            /* untouched unless a range is returned */
            assert_int_equal(first, 77);
            assert_int_equal(last, 77);
        }
    }
}

/* Many ranges parse in one pass and the first satisfiable one wins. */
static void test_long_list(void **state)
{
    char value[8192];
    size_t n = 0;
    uint64_t first, last;
    int i;

    (void)state;
    n += (size_t)snprintf(value + n, sizeof value - n, "bytes=");
    for (i = 0; i < 500; i++)
        n += (size_t)snprintf(value + n, sizeof value - n, "%d-%d,", 5000 + i, 5000 + i);
    snprintf(value + n, sizeof value - n, "7-8");
    assert_int_equal(ls_http_range_parse(value, 1000, &first, &last), LS_OK);
    assert_int_equal(first, 7);
    assert_int_equal(last, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_long_list),
    };
    return cmocka_run_group_tests_name("httprange", tests, NULL, NULL);
}
