/*
 * amf.c — the AMF value tree shared by AMF0 (Adobe "Action Message Format -- AMF 0",
 * 2007) and AMF3 (Adobe "Action Message Format -- AMF 3", 2013): ownership, deep copy
 * (bounded, for reference resolution), equality, builders and lookups. No wire format
 * lives here; see amf0.c and amf3.c.
 *
 *   struct ls_amf_value ──u.c──▶ struct ls_amf_container
 *                                  class_name ─▶ "Foo\0"
 *                                  props[] ───▶ { name "k\0", value }...   (ordered)
 *                                  items[] ───▶ value...                   (dense)
 *
 * Containers are separate allocations on purpose: a decoder's reference table keeps
 * pointers to them while their parent's props/items arrays are still growing (and being
 * moved by realloc).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/amf.h"
#include "amf_int.h"
#include "array_int.h"

const struct ls_amf_limits ls_amf_default_limits = {
    .max_depth = 32,
    .max_nodes = 65536,
    .max_string = 1u << 20,
    .max_bytes = 16u << 20,
};

const char *ls_amf_type_name(enum ls_amf_type type)
{
    switch (type) {
    case LS_AMF_NULL: return "null";
    case LS_AMF_NUMBER: return "number";
    case LS_AMF_BOOLEAN: return "boolean";
    case LS_AMF_STRING: return "string";
    case LS_AMF_OBJECT: return "object";
    case LS_AMF_UNDEFINED: return "undefined";
    case LS_AMF_ECMA_ARRAY: return "ecma-array";
    case LS_AMF_STRICT_ARRAY: return "strict-array";
    case LS_AMF_DATE: return "date";
    case LS_AMF_XML_DOC: return "xml-document";
    case LS_AMF_TYPED_OBJECT: return "typed-object";
    case LS_AMF_UNSUPPORTED: return "unsupported";
    case LS_AMF_INTEGER: return "integer";
    case LS_AMF_XML: return "xml";
    case LS_AMF_BYTE_ARRAY: return "byte-array";
    case LS_AMF_VECTOR_INT: return "vector-int";
    case LS_AMF_VECTOR_UINT: return "vector-uint";
    case LS_AMF_VECTOR_DOUBLE: return "vector-double";
    case LS_AMF_VECTOR_OBJECT: return "vector-object";
    case LS_AMF_DICTIONARY: return "dictionary";
    }
    return "invalid";
}

bool ls_amf_is_container(enum ls_amf_type type)
{
    switch (type) {
    case LS_AMF_OBJECT:
    case LS_AMF_TYPED_OBJECT:
    case LS_AMF_ECMA_ARRAY:
    case LS_AMF_STRICT_ARRAY:
    case LS_AMF_VECTOR_INT:
    case LS_AMF_VECTOR_UINT:
    case LS_AMF_VECTOR_DOUBLE:
    case LS_AMF_VECTOR_OBJECT:
    case LS_AMF_DICTIONARY:
        return true;
    default:
        return false;
    }
}

static bool is_stringish(enum ls_amf_type type)
{
    return type == LS_AMF_STRING || type == LS_AMF_XML_DOC || type == LS_AMF_XML ||
           type == LS_AMF_BYTE_ARRAY;
}

static bool has_props(enum ls_amf_type type)
{
    return type == LS_AMF_OBJECT || type == LS_AMF_TYPED_OBJECT || type == LS_AMF_ECMA_ARRAY;
}

/* A NUL-terminated heap copy of `len` bytes, or NULL. */
static char *dup_bytes(const void *p, size_t len)
{
    char *s;

    if (len == SIZE_MAX)
        return NULL;
    s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void container_free(struct ls_amf_container *c)
{
    size_t i;

    for (i = 0; i < c->nprops; i++) {
        free(c->props[i].name);
        ls_amf_clear(&c->props[i].value);
    }
    for (i = 0; i < c->nitems; i++)
        ls_amf_clear(&c->items[i]);
    free(c->props);
    free(c->items);
    free(c->class_name);
    free(c);
}

void ls_amf_clear(struct ls_amf_value *v)
{
    if (v == NULL)
        return;
    if (is_stringish(v->type))
        free(v->u.str.ptr);
    else if (ls_amf_is_container(v->type))
        container_free(v->u.c);
    memset(v, 0, sizeof *v);
    v->type = LS_AMF_NULL;
}

void ls_amf_free(struct ls_amf_value *v)
{
    ls_amf_clear(v);
    free(v);
}

void ls_amf_values_free(struct ls_amf_value *vals, size_t count)
{
    size_t i;

    if (vals == NULL)
        return;
    for (i = 0; i < count; i++)
        ls_amf_clear(&vals[i]);
    free(vals);
}

/* ---- copy ----------------------------------------------------------------------------- */

int ls_amf_spend(struct ls_amf_budget *left, size_t nodes, size_t bytes, unsigned version,
                 const char **why)
{
    if (left == NULL)
        return LS_OK;
    if (left->nodes < nodes) {
        LS_WHY(why, version == 3 ? "AMF3: more values than max_nodes"
                                 : "AMF0: more values than max_nodes");
        return LS_ELIMIT;
    }
    if (left->bytes < bytes) {
        LS_WHY(why, version == 3 ? "AMF3: more string bytes than max_bytes"
                                 : "AMF0: more string bytes than max_bytes");
        return LS_ELIMIT;
    }
    left->nodes -= nodes;
    left->bytes -= bytes;
    return LS_OK;
}

static int copy_rec(struct ls_amf_value *dst, const struct ls_amf_value *src, unsigned depth,
                    struct ls_amf_budget *left)
{
    const struct ls_amf_container *s;
    struct ls_amf_container *d;
    size_t i;
    int rc;

    memset(dst, 0, sizeof *dst);
    if (is_stringish(src->type)) {
        if (ls_amf_spend(left, 1, src->u.str.len, 0, NULL) != LS_OK)
            return LS_ELIMIT;
        dst->u.str.ptr = dup_bytes(src->u.str.ptr, src->u.str.len);
        if (dst->u.str.ptr == NULL)
            return LS_ENOMEM;
        dst->u.str.len = src->u.str.len;
        dst->type = src->type;
        return LS_OK;
    }
    if (!ls_amf_is_container(src->type)) {
        if (ls_amf_spend(left, 1, 0, 0, NULL) != LS_OK)
            return LS_ELIMIT;
        *dst = *src;
        return LS_OK;
    }
    s = src->u.c;
    if (depth == 0 || ls_amf_spend(left, 1, s->class_name_len, 0, NULL) != LS_OK)
        return LS_ELIMIT;
    rc = ls_amf_container_new(dst, src->type, s->class_name, s->class_name_len);
    if (rc != LS_OK)
        return rc;
    d = dst->u.c;
    d->nsealed = s->nsealed;
    d->dynamic = s->dynamic;
    d->fixed = s->fixed;
    d->weak_keys = s->weak_keys;
    if (s->nprops > 0) {
        d->props = calloc(s->nprops, sizeof *d->props);
        if (d->props == NULL)
            return LS_ENOMEM;
        d->props_cap = s->nprops;
        for (i = 0; i < s->nprops; i++) {
            if (ls_amf_spend(left, 0, s->props[i].name_len, 0, NULL) != LS_OK)
                return LS_ELIMIT;
            d->props[i].name = dup_bytes(s->props[i].name, s->props[i].name_len);
            if (d->props[i].name == NULL)
                return LS_ENOMEM;
            d->props[i].name_len = s->props[i].name_len;
            d->nprops++;
            rc = copy_rec(&d->props[i].value, &s->props[i].value, depth - 1, left);
            if (rc != LS_OK)
                return rc;
        }
    }
    if (s->nitems > 0) {
        d->items = calloc(s->nitems, sizeof *d->items);
        if (d->items == NULL)
            return LS_ENOMEM;
        d->items_cap = s->nitems;
        for (i = 0; i < s->nitems; i++) {
            d->nitems++;
            rc = copy_rec(&d->items[i], &s->items[i], depth - 1, left);
            if (rc != LS_OK)
                return rc;
        }
    }
    return LS_OK;
}

int ls_amf_copy_bounded(struct ls_amf_value *dst, const struct ls_amf_value *src,
                        unsigned max_depth, struct ls_amf_budget *left)
{
    struct ls_amf_value tmp;
    int rc;

    ls_amf_clear(dst);
    rc = copy_rec(&tmp, src, max_depth, left);
    if (rc != LS_OK) {
        ls_amf_clear(&tmp);
        return rc;
    }
    *dst = tmp;
    return LS_OK;
}

int ls_amf_copy(struct ls_amf_value *dst, const struct ls_amf_value *src)
{
    return ls_amf_copy_bounded(dst, src, UINT32_MAX, NULL);
}

/* ---- equality -------------------------------------------------------------------------- */

static bool bytes_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen || (a == NULL) != (b == NULL))
        return false;
    return alen == 0 || memcmp(a, b, alen) == 0;
}

static bool number_equal(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

bool ls_amf_equal(const struct ls_amf_value *a, const struct ls_amf_value *b)
{
    const struct ls_amf_container *x, *y;
    size_t i;

    if (a->type != b->type)
        return false;
    if (is_stringish(a->type))
        return bytes_equal(a->u.str.ptr, a->u.str.len, b->u.str.ptr, b->u.str.len);
    switch (a->type) {
    case LS_AMF_NUMBER: return number_equal(a->u.number, b->u.number);
    case LS_AMF_BOOLEAN: return a->u.boolean == b->u.boolean;
    case LS_AMF_INTEGER: return a->u.integer == b->u.integer;
    case LS_AMF_DATE: return number_equal(a->u.date.ms, b->u.date.ms) && a->u.date.tz == b->u.date.tz;
    default: break;
    }
    if (!ls_amf_is_container(a->type))
        return true;
    x = a->u.c;
    y = b->u.c;
    if (!bytes_equal(x->class_name, x->class_name_len, y->class_name, y->class_name_len) ||
        x->nprops != y->nprops || x->nitems != y->nitems || x->nsealed != y->nsealed ||
        x->dynamic != y->dynamic || x->fixed != y->fixed || x->weak_keys != y->weak_keys)
        return false;
    for (i = 0; i < x->nprops; i++)
        if (!bytes_equal(x->props[i].name, x->props[i].name_len, y->props[i].name,
                         y->props[i].name_len) ||
            !ls_amf_equal(&x->props[i].value, &y->props[i].value))
            return false;
    for (i = 0; i < x->nitems; i++)
        if (!ls_amf_equal(&x->items[i], &y->items[i]))
            return false;
    return true;
}

/* ---- builders -------------------------------------------------------------------------- */

void ls_amf_set_null(struct ls_amf_value *v)
{
    ls_amf_clear(v);
}

void ls_amf_set_undefined(struct ls_amf_value *v)
{
    ls_amf_clear(v);
    v->type = LS_AMF_UNDEFINED;
}

void ls_amf_set_number(struct ls_amf_value *v, double d)
{
    ls_amf_clear(v);
    v->type = LS_AMF_NUMBER;
    v->u.number = d;
}

void ls_amf_set_integer(struct ls_amf_value *v, int32_t i)
{
    ls_amf_clear(v);
    v->type = LS_AMF_INTEGER;
    v->u.integer = i;
}

void ls_amf_set_bool(struct ls_amf_value *v, bool b)
{
    ls_amf_clear(v);
    v->type = LS_AMF_BOOLEAN;
    v->u.boolean = b;
}

void ls_amf_set_date(struct ls_amf_value *v, double ms, int16_t tz)
{
    ls_amf_clear(v);
    v->type = LS_AMF_DATE;
    v->u.date.ms = ms;
    v->u.date.tz = tz;
}

int ls_amf_set_bytes(struct ls_amf_value *v, enum ls_amf_type type, const void *p, size_t len)
{
    char *s;

    ls_amf_clear(v);
    if (!is_stringish(type))
        return LS_EINVAL;
    s = dup_bytes(p, len);
    if (s == NULL)
        return LS_ENOMEM;
    v->type = type;
    v->u.str.ptr = s;
    v->u.str.len = len;
    return LS_OK;
}

int ls_amf_set_string(struct ls_amf_value *v, const char *s, size_t len)
{
    return ls_amf_set_bytes(v, LS_AMF_STRING, s, len);
}

int ls_amf_container_new(struct ls_amf_value *v, enum ls_amf_type type, const char *class_name,
                         size_t class_name_len)
{
    struct ls_amf_container *c;

    ls_amf_clear(v);
    if (!ls_amf_is_container(type))
        return LS_EINVAL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return LS_ENOMEM;
    if (class_name != NULL) {
        c->class_name = dup_bytes(class_name, class_name_len);
        if (c->class_name == NULL) {
            free(c);
            return LS_ENOMEM;
        }
        c->class_name_len = class_name_len;
    }
    c->dynamic = has_props(type);
    v->type = type;
    v->u.c = c;
    return LS_OK;
}

int ls_amf_object_new(struct ls_amf_value *v)
{
    return ls_amf_container_new(v, LS_AMF_OBJECT, NULL, 0);
}

int ls_amf_ecma_new(struct ls_amf_value *v)
{
    return ls_amf_container_new(v, LS_AMF_ECMA_ARRAY, NULL, 0);
}

int ls_amf_strict_array_new(struct ls_amf_value *v)
{
    return ls_amf_container_new(v, LS_AMF_STRICT_ARRAY, NULL, 0);
}

int ls_amf_typed_object_new(struct ls_amf_value *v, const char *class_name)
{
    return ls_amf_container_new(v, LS_AMF_TYPED_OBJECT, class_name,
                                class_name != NULL ? strlen(class_name) : 0);
}

int ls_amf_object_add_n(struct ls_amf_value *obj, const char *name, size_t name_len,
                        struct ls_amf_value *value)
{
    struct ls_amf_container *c;
    struct ls_amf_prop *p;
    char *copy;

    if (!has_props(obj->type)) {
        ls_amf_clear(value);
        return LS_EINVAL;
    }
    c = obj->u.c;
    copy = dup_bytes(name, name_len);
    if (copy == NULL || !ls_array_reserve((void **)&c->props, &c->props_cap, c->nprops,
                                          sizeof *c->props, 4)) {
        free(copy);
        ls_amf_clear(value);
        return LS_ENOMEM;
    }
    p = &c->props[c->nprops++];
    p->name = copy;
    p->name_len = name_len;
    p->value = *value;
    memset(value, 0, sizeof *value);
    return LS_OK;
}

int ls_amf_object_add(struct ls_amf_value *obj, const char *name, struct ls_amf_value *value)
{
    return ls_amf_object_add_n(obj, name, strlen(name), value);
}

int ls_amf_object_add_number(struct ls_amf_value *obj, const char *name, double d)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    ls_amf_set_number(&v, d);
    return ls_amf_object_add(obj, name, &v);
}

int ls_amf_object_add_bool(struct ls_amf_value *obj, const char *name, bool b)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;

    ls_amf_set_bool(&v, b);
    return ls_amf_object_add(obj, name, &v);
}

int ls_amf_object_add_string(struct ls_amf_value *obj, const char *name, const char *s)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    int rc = ls_amf_set_string(&v, s, strlen(s));

    if (rc != LS_OK)
        return rc;
    return ls_amf_object_add(obj, name, &v);
}

int ls_amf_array_push(struct ls_amf_value *arr, struct ls_amf_value *value)
{
    struct ls_amf_container *c;

    if (!ls_amf_is_container(arr->type)) {
        ls_amf_clear(value);
        return LS_EINVAL;
    }
    c = arr->u.c;
    if (!ls_array_reserve((void **)&c->items, &c->items_cap, c->nitems, sizeof *c->items, 4)) {
        ls_amf_clear(value);
        return LS_ENOMEM;
    }
    c->items[c->nitems++] = *value;
    memset(value, 0, sizeof *value);
    return LS_OK;
}

/* ---- lookups --------------------------------------------------------------------------- */

const struct ls_amf_value *ls_amf_get(const struct ls_amf_value *obj, const char *name)
{
    const struct ls_amf_container *c;
    size_t i, len;

    if (obj == NULL || !has_props(obj->type))
        return NULL;
    c = obj->u.c;
    len = strlen(name);
    for (i = 0; i < c->nprops; i++)
        if (c->props[i].name_len == len && memcmp(c->props[i].name, name, len) == 0)
            return &c->props[i].value;
    return NULL;
}

const char *ls_amf_get_string(const struct ls_amf_value *obj, const char *name)
{
    const struct ls_amf_value *v = ls_amf_get(obj, name);

    return v != NULL && v->type == LS_AMF_STRING ? v->u.str.ptr : NULL;
}

bool ls_amf_as_number(const struct ls_amf_value *v, double *out)
{
    if (v == NULL)
        return false;
    if (v->type == LS_AMF_NUMBER) {
        *out = v->u.number;
        return true;
    }
    if (v->type == LS_AMF_INTEGER) {
        *out = v->u.integer;
        return true;
    }
    return false;
}

bool ls_amf_get_number(const struct ls_amf_value *obj, const char *name, double *out)
{
    return ls_amf_as_number(ls_amf_get(obj, name), out);
}

bool ls_amf_get_bool(const struct ls_amf_value *obj, const char *name, bool *out)
{
    const struct ls_amf_value *v = ls_amf_get(obj, name);

    if (v == NULL || v->type != LS_AMF_BOOLEAN)
        return false;
    *out = v->u.boolean;
    return true;
}
