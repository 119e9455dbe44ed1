/*
 * amf3.h — AMF3 codec (Adobe "Action Message Format -- AMF 3", January 2013).
 *
 * Decoding produces the shared value tree of amf.h. One decoder holds the three reference
 * tables of one message (strings, objects, traits) — AMF3 references point back to any
 * earlier value of the same message — so a decoder lives exactly as long as the message:
 * init, decode values, free. Resolved references become deep copies, counted against the
 * limits like any other value. Pure: bytes in, values out; no I/O, no logging.
 *
 * What the decoder refuses:
 *   LS_EPROTO        truncated or malformed input, unknown markers, references out of
 *                    range, a reference to an object still being decoded (a cycle)
 *   LS_EUNSUPPORTED  externalizable traits (their bytes are class-specific)
 *   LS_ELIMIT        any bound of struct ls_amf_limits (depth, nodes, table sizes,
 *                    string length, total string bytes)
 *   LS_ENOMEM        allocation failure
 */
#ifndef LIBSTREAM_AMF3_H
#define LIBSTREAM_AMF3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/err.h"

/* AMF3 markers (AMF3 spec §3.1). */
enum ls_amf3_marker {
    LS_AMF3_UNDEFINED = 0x00,
    LS_AMF3_NULL = 0x01,
    LS_AMF3_FALSE = 0x02,
    LS_AMF3_TRUE = 0x03,
    LS_AMF3_INTEGER = 0x04,
    LS_AMF3_DOUBLE = 0x05,
    LS_AMF3_STRING = 0x06,
    LS_AMF3_XML_DOC = 0x07,
    LS_AMF3_DATE = 0x08,
    LS_AMF3_ARRAY = 0x09,
    LS_AMF3_OBJECT = 0x0a,
    LS_AMF3_XML = 0x0b,
    LS_AMF3_BYTE_ARRAY = 0x0c,
    LS_AMF3_VECTOR_INT = 0x0d,
    LS_AMF3_VECTOR_UINT = 0x0e,
    LS_AMF3_VECTOR_DOUBLE = 0x0f,
    LS_AMF3_VECTOR_OBJECT = 0x10,
    LS_AMF3_DICTIONARY = 0x11,
};

#define LS_AMF3_U29_MAX 0x1fffffffu      /* largest U29 */
#define LS_AMF3_INT_MIN (-(1 << 28))     /* integer-type range (29-bit signed) */
#define LS_AMF3_INT_MAX ((1 << 28) - 1)
#define LS_AMF3_LENGTH_MAX 0x0fffffffu   /* largest length/count/index in a U29-vr */

/* Private: a string in the decoder's arena. */
struct ls_amf3_strref {
    size_t off;
    size_t len;
};

/* Private: one traits table entry (names are in the decoder's arena). */
struct ls_amf3_traits {
    struct ls_amf3_strref class_name;
    size_t first_name; /* index of the first sealed member name in _tnames */
    size_t nsealed;
    bool dynamic;
};

/*
 * Decoder state for one message. The public fields may be read; `left` and `depth` are
 * also set by the AMF0 decoder when it hands an AVM+ value over (amf0.c). Fields starting
 * with `_` are private.
 */
struct ls_amf3_decoder {
    struct ls_amf_limits lim;
    struct ls_amf_budget left; /* nodes and string bytes this message may still produce */
    unsigned depth;            /* containers enclosing the next value (0 = top level) */

    struct ls_buf _arena;      /* bytes of every string in the string table */
    struct ls_amf3_strref *_strings;
    size_t _nstrings, _strings_cap;
    struct ls_amf_ref *_objects;
    size_t _nobjects, _objects_cap;
    struct ls_amf3_traits *_traits;
    size_t _ntraits, _traits_cap;
    struct ls_amf3_strref *_tnames;
    size_t _ntnames, _tnames_cap;
};

/* Prepares `d` for one message; `lim` is copied (NULL = ls_amf_default_limits). Never fails. */
void ls_amf3_decoder_init(struct ls_amf3_decoder *d, const struct ls_amf_limits *lim);

/* Frees the reference tables and makes `d` ready for another message with the same
 * limits. Values already returned are not touched. */
void ls_amf3_decoder_free(struct ls_amf3_decoder *d);

/*
 * Decodes one AMF3 value from the `len` bytes at `p` into `out` (cleared first; owned by
 * the caller). Returns the number of bytes consumed (> 0), or a negative LS_ code (see the
 * top of this file; there is no LS_AGAIN: the input is a whole message, so a truncated
 * value is LS_EPROTO). On error `out` is LS_AMF_NULL, nothing is leaked, and `*why` (if
 * `why` is not NULL) names the reason.
 *
 * Lifetime: later values of the same message may reference objects inside earlier ones,
 * so every value returned by this decoder must stay alive and unmodified until
 * ls_amf3_decoder_free() (the decoder keeps borrowed pointers to their containers).
 */
LS_MUST_CHECK ssize_t ls_amf3_decode(struct ls_amf3_decoder *d, const uint8_t *p, size_t len,
                                     struct ls_amf_value *out, const char **why);

/*
 * Reads one U29 (1 to 4 bytes; the fourth byte contributes all 8 bits) into *out.
 * Returns bytes consumed (1..4) or LS_EPROTO when `len` is too short.
 */
LS_MUST_CHECK ssize_t ls_amf3_read_u29(const uint8_t *p, size_t len, uint32_t *out);

/* Appends a U29 in its shortest form; values above LS_AMF3_U29_MAX set LS_EINVAL on `b`. */
void ls_amf3_write_u29(struct ls_buf *b, uint32_t v);

/*
 * Appends the AMF3 encoding of `v` (no reference tables are used on output; strings are
 * always sent inline). INTEGER outside the 29-bit range is sent as a double; NUMBER always
 * as a double. OBJECT/TYPED_OBJECT become an object with inline traits: the first nsealed
 * props are sealed members, the rest dynamic members (the object is dynamic when it has
 * any). STRICT_ARRAY is a dense array; ECMA_ARRAY an array whose associative part is the
 * props and dense part the items. UNSUPPORTED is sent as undefined. Lengths and counts
 * above LS_AMF3_LENGTH_MAX, or a dictionary with an odd number of items, set LS_EINVAL on
 * `b`. Errors are sticky in `b` (check ls_buf_status()).
 */
void ls_amf3_encode(struct ls_buf *b, const struct ls_amf_value *v);

#endif /* LIBSTREAM_AMF3_H */
