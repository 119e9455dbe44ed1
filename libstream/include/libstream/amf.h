/*
 * amf.h — the one value type shared by the AMF0 and AMF3 codecs (amf0.h, amf3.h), the
 * command layer (command.h) and everything that inspects metadata.
 *
 * A value is a tagged union. Scalars live inside it; strings and byte blobs are owned,
 * NUL-terminated heap copies; objects, arrays, vectors and dictionaries point to an owned
 * `struct ls_amf_container`. Values are deep-owned: ls_amf_clear() frees everything below
 * a value, and nothing in a value ever points into a decoder's input.
 *
 * Initialisation: a value whose bytes are all zero is a valid LS_AMF_NULL (LS_AMF_NULL is
 * 0), so `struct ls_amf_value v = {0};` or LS_AMF_VALUE_INIT is ready to use. Every setter
 * below first clears the value it is given, so it must hold either a valid value or zeros —
 * never uninitialised stack bytes.
 *
 * Which fields a type uses:
 *   NUMBER, (DATE)                 u.number (u.date for DATE: ms since epoch + tz minutes)
 *   BOOLEAN                        u.boolean
 *   INTEGER (AMF3 29-bit int)      u.integer
 *   STRING, XML_DOC, XML,          u.str: owned bytes + NUL; len excludes the NUL; the bytes
 *   BYTE_ARRAY                     may contain NULs (UTF-8 is not validated)
 *   OBJECT, TYPED_OBJECT           u.c: class_name (typed only), props in wire order
 *   ECMA_ARRAY                     u.c: props; AMF3 arrays with an associative part also
 *                                  keep their dense part in items
 *   STRICT_ARRAY                   u.c: items
 *   VECTOR_INT                     u.c: items are INTEGER; `fixed`
 *   VECTOR_UINT, VECTOR_DOUBLE     u.c: items are NUMBER; `fixed`
 *   VECTOR_OBJECT                  u.c: items of any type; class_name = element type name
 *   DICTIONARY                     u.c: items alternate key, value; `weak_keys`
 *   NULL, UNDEFINED, UNSUPPORTED   nothing
 */
#ifndef LIBSTREAM_AMF_H
#define LIBSTREAM_AMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

enum ls_amf_type {
    LS_AMF_NULL = 0, /* zeroed memory is a NULL value */
    LS_AMF_NUMBER,
    LS_AMF_BOOLEAN,
    LS_AMF_STRING,
    LS_AMF_OBJECT,
    LS_AMF_UNDEFINED,
    LS_AMF_ECMA_ARRAY,
    LS_AMF_STRICT_ARRAY,
    LS_AMF_DATE,
    LS_AMF_XML_DOC,
    LS_AMF_TYPED_OBJECT,
    LS_AMF_UNSUPPORTED,
    /* AMF3 only */
    LS_AMF_INTEGER,
    LS_AMF_XML,
    LS_AMF_BYTE_ARRAY,
    LS_AMF_VECTOR_INT,
    LS_AMF_VECTOR_UINT,
    LS_AMF_VECTOR_DOUBLE,
    LS_AMF_VECTOR_OBJECT,
    LS_AMF_DICTIONARY,
};

struct ls_amf_container;

struct ls_amf_value {
    enum ls_amf_type type;
    union {
        double number;
        bool boolean;
        int32_t integer;
        struct {
            char *ptr;  /* owned, NUL-terminated; never NULL for the string-like types */
            size_t len; /* excludes the NUL */
        } str;
        struct {
            double ms;  /* milliseconds since 1970-01-01 UTC */
            int16_t tz; /* AMF0 time-zone field (reserved, normally 0); 0 for AMF3 */
        } date;
        struct ls_amf_container *c; /* owned; never NULL for the container types */
    } u;
};

#define LS_AMF_VALUE_INIT { .type = LS_AMF_NULL }

struct ls_amf_prop {
    char *name;     /* owned, NUL-terminated; may contain NULs */
    size_t name_len;
    struct ls_amf_value value;
};

struct ls_amf_container {
    char *class_name;      /* owned; NULL for anonymous objects and arrays */
    size_t class_name_len;
    struct ls_amf_prop *props; /* named members in wire order; duplicates are kept */
    size_t nprops;
    size_t props_cap;
    struct ls_amf_value *items; /* dense members */
    size_t nitems;
    size_t items_cap;
    size_t nsealed;  /* AMF3 objects: the first nsealed props are the sealed members */
    bool dynamic;    /* objects: members may be added (AMF0 objects always are) */
    bool fixed;      /* vectors: fixed length */
    bool weak_keys;  /* dictionaries */
};

/*
 * Decoder bounds. Every decoder call counts against them; ls_amf_default_limits holds the
 * defaults, which daemons may expose as configuration keys.
 *   max_depth   containers nested inside each other (a top-level object is depth 1); a
 *               deeper one is LS_ELIMIT. Also bounds the decoders' recursion. Default 32.
 *   max_nodes   values produced by one decoder (one message), including every value
 *               created by resolving a reference, and the size of each reference table.
 *               Default 65536.
 *   max_string  bytes of one string, key, class name, XML or byte array. Default 1 MiB.
 *   max_bytes   bytes of all strings, keys and blobs produced by one decoder, including
 *               copies made by resolving references: a reference bomb built from one long
 *               string stops here rather than in the allocator. Default 16 MiB, the
 *               largest RTMP message, so only references can reach it.
 */
struct ls_amf_limits {
    unsigned max_depth;
    size_t max_nodes;
    size_t max_string;
    size_t max_bytes;
};

extern const struct ls_amf_limits ls_amf_default_limits;

/* What a decoder may still produce; see ls_amf_copy_bounded(). */
struct ls_amf_budget {
    size_t nodes;
    size_t bytes;
};

/*
 * One entry of a decoder's reference table (AMF0 complex objects, AMF3 objects). `v` is a
 * shallow, borrowed copy of a value the decoder produced: for containers it shares the
 * container pointer, which stays put while the value itself is moved around. `complete`
 * is false while the object is still being decoded: a reference to it then would be a
 * cycle, which a tree cannot hold. Used by amf0.c and amf3.c only.
 */
struct ls_amf_ref {
    struct ls_amf_value v;
    bool complete;
};

/* Static name of a type ("number", "ecma-array", ...); never NULL. */
const char *ls_amf_type_name(enum ls_amf_type type);

/* True for the types that use u.c. */
bool ls_amf_is_container(enum ls_amf_type type);

/* Frees everything `v` owns and leaves it LS_AMF_NULL. NULL is ignored. */
void ls_amf_clear(struct ls_amf_value *v);

/* Clears and frees a heap-allocated value. NULL is ignored. */
void ls_amf_free(struct ls_amf_value *v);

/* Clears `count` values and frees the array (as from ls_amf0_decode_all). NULL ok. */
void ls_amf_values_free(struct ls_amf_value *vals, size_t count);

/*
 * Deep copy. `dst` is cleared first; on failure it is left LS_AMF_NULL.
 * Returns LS_OK or LS_ENOMEM. `src` and `dst` must not be the same value.
 */
LS_MUST_CHECK int ls_amf_copy(struct ls_amf_value *dst, const struct ls_amf_value *src);

/*
 * Deep copy that refuses to go past `max_depth` nested containers (0 = only scalars) or to
 * take more than `left->nodes` values / `left->bytes` string bytes; what it takes is
 * subtracted from `left`. The decoders use it to resolve references. Returns LS_OK,
 * LS_ELIMIT (dst left LS_AMF_NULL, `left` partly spent) or LS_ENOMEM.
 */
LS_MUST_CHECK int ls_amf_copy_bounded(struct ls_amf_value *dst, const struct ls_amf_value *src,
                                      unsigned max_depth, struct ls_amf_budget *left);

/* Deep structural equality (NaN equals NaN; INTEGER never equals NUMBER). For tests. */
bool ls_amf_equal(const struct ls_amf_value *a, const struct ls_amf_value *b);

/* ---- builders -----------------------------------------------------------------------
 * Each clears `v` first (see the initialisation note above). Fallible ones return LS_OK
 * or LS_ENOMEM and leave `v` LS_AMF_NULL on failure.
 */
void ls_amf_set_null(struct ls_amf_value *v);
void ls_amf_set_undefined(struct ls_amf_value *v);
void ls_amf_set_number(struct ls_amf_value *v, double d);
void ls_amf_set_integer(struct ls_amf_value *v, int32_t i);
void ls_amf_set_bool(struct ls_amf_value *v, bool b);
void ls_amf_set_date(struct ls_amf_value *v, double ms, int16_t tz);
/* Copies `len` bytes (s may be NULL when len is 0) into a new LS_AMF_STRING. */
LS_MUST_CHECK int ls_amf_set_string(struct ls_amf_value *v, const char *s, size_t len);
/* Same for the string-like types LS_AMF_STRING/XML_DOC/XML/BYTE_ARRAY; else LS_EINVAL. */
LS_MUST_CHECK int ls_amf_set_bytes(struct ls_amf_value *v, enum ls_amf_type type,
                                   const void *p, size_t len);
/*
 * An empty container of a container type (LS_EINVAL for other types). `class_name`
 * (copied; may be NULL) is kept for TYPED_OBJECT, VECTOR_OBJECT and AMF3 objects.
 * Objects, typed objects and ECMA arrays start `dynamic`.
 */
LS_MUST_CHECK int ls_amf_container_new(struct ls_amf_value *v, enum ls_amf_type type,
                                       const char *class_name, size_t class_name_len);
LS_MUST_CHECK int ls_amf_object_new(struct ls_amf_value *v);
LS_MUST_CHECK int ls_amf_ecma_new(struct ls_amf_value *v);
LS_MUST_CHECK int ls_amf_strict_array_new(struct ls_amf_value *v);
LS_MUST_CHECK int ls_amf_typed_object_new(struct ls_amf_value *v, const char *class_name);

/*
 * Appends a named member to an OBJECT, TYPED_OBJECT or ECMA_ARRAY. The name is copied
 * (`name_len` bytes; ls_amf_object_add takes a NUL-terminated name). `value` is moved in:
 * whatever the outcome, *value is left LS_AMF_NULL (freed on failure). Existing members
 * of the same name are kept (wire order, duplicates allowed; ls_amf_get finds the first).
 * Returns LS_OK, LS_EINVAL (obj is not such a container) or LS_ENOMEM.
 */
LS_MUST_CHECK int ls_amf_object_add_n(struct ls_amf_value *obj, const char *name,
                                      size_t name_len, struct ls_amf_value *value);
LS_MUST_CHECK int ls_amf_object_add(struct ls_amf_value *obj, const char *name,
                                    struct ls_amf_value *value);
LS_MUST_CHECK int ls_amf_object_add_number(struct ls_amf_value *obj, const char *name, double d);
LS_MUST_CHECK int ls_amf_object_add_bool(struct ls_amf_value *obj, const char *name, bool b);
/* `s` is NUL-terminated. */
LS_MUST_CHECK int ls_amf_object_add_string(struct ls_amf_value *obj, const char *name,
                                           const char *s);
/*
 * Appends a dense member to any container (strict array, the dense part of an ECMA
 * array, a vector, a dictionary's key/value sequence). Moves `value` in like
 * ls_amf_object_add_n. Returns LS_OK, LS_EINVAL (not a container) or LS_ENOMEM.
 */
LS_MUST_CHECK int ls_amf_array_push(struct ls_amf_value *arr, struct ls_amf_value *value);

/* ---- lookups (everything returned is borrowed from `obj`) --------------------------- */

/* First member named `name` of an object, typed object or ECMA array; NULL if absent or obj
 * is not one of those. */
const struct ls_amf_value *ls_amf_get(const struct ls_amf_value *obj, const char *name);
/* Its string (NUL-terminated) when the member is a STRING, else NULL. */
const char *ls_amf_get_string(const struct ls_amf_value *obj, const char *name);
/* Stores a NUMBER or INTEGER member in *out and returns true; false (out untouched) else. */
bool ls_amf_get_number(const struct ls_amf_value *obj, const char *name, double *out);
/* Stores a BOOLEAN member in *out and returns true; false (out untouched) else. */
bool ls_amf_get_bool(const struct ls_amf_value *obj, const char *name, bool *out);
/* The numeric value of a NUMBER or INTEGER value into *out; false for other types. */
bool ls_amf_as_number(const struct ls_amf_value *v, double *out);

#endif /* LIBSTREAM_AMF_H */
