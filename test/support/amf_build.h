/*
 * amf_build.h — AMF values in one expression, for tests that build the values they
 * encode or expect a decoder to produce:
 *
 *   struct ls_amf_value o = amf_container(LS_AMF_OBJECT, NULL);
 *   amf_add(&o, "app", amf_str("live"));
 *   amf_push(&arr, amf_num(1));
 *
 * A builder returns a value the caller owns (ls_amf_clear), or moves it into a container.
 * The builders are scaffolding, not what a test checks: a failure (out of memory, a value
 * added to what is not a container) prints the cause and aborts the program, so the test
 * program fails without every call site asserting.
 */
#ifndef LC_TEST_AMF_BUILD_H
#define LC_TEST_AMF_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/amf.h"

struct ls_amf_value amf_num(double d);
struct ls_amf_value amf_int(int32_t i);          /* an AMF3 integer */
struct ls_amf_value amf_bool(bool b);
struct ls_amf_value amf_str(const char *s);      /* NUL-terminated, copied */
/* An empty container of `type`; class_name (copied; may be NULL) as ls_amf_container_new. */
struct ls_amf_value amf_container(enum ls_amf_type type, const char *class_name);
/* Moves `v` into `obj` as member `name` (an object, typed object or ECMA array). */
void amf_add(struct ls_amf_value *obj, const char *name, struct ls_amf_value v);
/* Moves `v` into `arr` as its next dense member (any container). */
void amf_push(struct ls_amf_value *arr, struct ls_amf_value v);

#endif
