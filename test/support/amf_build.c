/*
 * amf_build.c — AMF value builders for tests (see amf_build.h). Layer: test scaffolding
 * over libstream's value type (amf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/err.h"
#include "support/amf_build.h"

static void amf_build_check(int rc, const char *what)
{
    if (rc == LS_OK)
        return;
    fprintf(stderr, "amf_build: %s failed: %s\n", what, ls_strerror(rc));
    abort();
}

struct ls_amf_value amf_num(double d)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    ls_amf_set_number(&v, d);
    return v;
}

struct ls_amf_value amf_int(int32_t i)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    ls_amf_set_integer(&v, i);
    return v;
}

struct ls_amf_value amf_bool(bool b)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    ls_amf_set_bool(&v, b);
    return v;
}

struct ls_amf_value amf_str(const char *s)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    amf_build_check(ls_amf_set_string(&v, s, strlen(s)), "ls_amf_set_string");
    return v;
}

struct ls_amf_value amf_container(enum ls_amf_type type, const char *class_name)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    amf_build_check(ls_amf_container_new(&v, type, class_name,
                                         class_name != NULL ? strlen(class_name) : 0),
                    "ls_amf_container_new");
    return v;
}

void amf_add(struct ls_amf_value *obj, const char *name, struct ls_amf_value v)
{
    amf_build_check(ls_amf_object_add(obj, name, &v), "ls_amf_object_add");
}

void amf_push(struct ls_amf_value *arr, struct ls_amf_value v)
{
    amf_build_check(ls_amf_array_push(arr, &v), "ls_amf_array_push");
}
