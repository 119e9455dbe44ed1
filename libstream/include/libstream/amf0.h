/*
 * amf0.h — AMF0 codec (Adobe "Action Message Format -- AMF 0", December 2007).
 *
 * Decoding produces the shared value tree of amf.h. AMF0 references (marker 0x07) point
 * back to earlier complex values of the same message, and the AVM+ marker (0x11) switches
 * one value to AMF3, whose reference tables also span the whole message; so a decoder is
 * made per message: init, decode values, free. Resolved references become deep copies,
 * counted against the limits. Pure: bytes in, values out; no I/O, no logging.
 *
 * What the decoder refuses:
 *   LS_EPROTO   truncated or malformed input; the reserved markers movieclip (0x04) and
 *               recordset (0x0e); an object-end marker outside an object; unknown markers;
 *               references out of range or to an object still being decoded (a cycle)
 *   LS_EUNSUPPORTED  AMF3 externalizable objects behind an AVM+ switch
 *   LS_ELIMIT   any bound of struct ls_amf_limits
 *   LS_ENOMEM   allocation failure
 * The ECMA-array count field is only a hint (real encoders get it wrong): members are read
 * up to the object-end marker, bounded by max_nodes.
 *
 * Encoding appends to a struct ls_buf whose errors are sticky (check ls_buf_status() once
 * at the end). Strings are bytes: UTF-8 is neither validated nor required.
 */
#ifndef LIBSTREAM_AMF0_H
#define LIBSTREAM_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/amf.h"
#include "libstream/amf3.h"
#include "libstream/buf.h"
#include "libstream/err.h"

/* AMF0 markers (AMF0 spec §2.1). */
enum ls_amf0_marker {
    LS_AMF0_NUMBER = 0x00,
    LS_AMF0_BOOLEAN = 0x01,
    LS_AMF0_STRING = 0x02,
    LS_AMF0_OBJECT = 0x03,
    LS_AMF0_MOVIECLIP = 0x04,  /* reserved, not supported */
    LS_AMF0_NULL = 0x05,
    LS_AMF0_UNDEFINED = 0x06,
    LS_AMF0_REFERENCE = 0x07,
    LS_AMF0_ECMA_ARRAY = 0x08,
    LS_AMF0_OBJECT_END = 0x09,
    LS_AMF0_STRICT_ARRAY = 0x0a,
    LS_AMF0_DATE = 0x0b,
    LS_AMF0_LONG_STRING = 0x0c,
    LS_AMF0_UNSUPPORTED = 0x0d,
    LS_AMF0_RECORDSET = 0x0e,  /* reserved, not supported */
    LS_AMF0_XML_DOC = 0x0f,
    LS_AMF0_TYPED_OBJECT = 0x10,
    LS_AMF0_AVMPLUS = 0x11,    /* the next value is AMF3 */
};

/*
 * Decoder state for one message. `lim` and `left` may be read; `_`-fields are private.
 * `amf3` is the AMF3 context used by every AVM+ value of the message.
 */
struct ls_amf0_decoder {
    struct ls_amf_limits lim;
    struct ls_amf_budget left; /* nodes and string bytes this message may still produce */
    struct ls_amf_ref *_refs;  /* complex values in order of appearance */
    size_t _nrefs, _refs_cap;
    struct ls_amf3_decoder amf3;
};

/* Prepares `d` for one message; `lim` is copied (NULL = ls_amf_default_limits). Never fails. */
void ls_amf0_decoder_init(struct ls_amf0_decoder *d, const struct ls_amf_limits *lim);

/* Frees the decoder's tables (not the values it returned) and makes `d` ready for
 * another message with the same limits. */
void ls_amf0_decoder_free(struct ls_amf0_decoder *d);

/*
 * Decodes one AMF0 value from the `len` bytes at `p` into `out` (cleared first; owned by
 * the caller, free with ls_amf_clear). Returns bytes consumed (> 0) or a negative LS_ code
 * (see the top of this file). There is no LS_AGAIN at this layer: the input is a whole
 * message, so a truncated value is LS_EPROTO. On error `out` is LS_AMF_NULL, nothing is
 * leaked, and `*why` (when `why` is not NULL) holds a static reason.
 *
 * Lifetime: later values of the message may reference complex values inside earlier
 * ones, so every value returned by this decoder must stay alive and unmodified until
 * ls_amf0_decoder_free() (the decoder keeps borrowed pointers to their containers).
 */
LS_MUST_CHECK ssize_t ls_amf0_decode(struct ls_amf0_decoder *d, const uint8_t *p, size_t len,
                                     struct ls_amf_value *out, const char **why);

/*
 * Decodes a whole message body: values back to back until `len` bytes are used. On
 * success returns `len` (0 for an empty body, with *vals NULL and *count 0) and hands the
 * caller an array of *count values (free with ls_amf_values_free). On error returns a
 * negative LS_ code (as ls_amf0_decode), *vals is NULL and *count 0. `lim` NULL = defaults;
 * max_nodes also bounds the number of top-level values.
 */
LS_MUST_CHECK ssize_t ls_amf0_decode_all(const uint8_t *p, size_t len,
                                         const struct ls_amf_limits *lim,
                                         struct ls_amf_value **vals, size_t *count,
                                         const char **why);

/*
 * Appends the AMF0 encoding of `v`:
 *   NUMBER, INTEGER → number · BOOLEAN · STRING → string, or long string above 65535
 *   bytes · OBJECT · NULL · UNDEFINED · ECMA_ARRAY (its items, if any, first as members
 *   "0", "1", ...; the count field is the member total) · STRICT_ARRAY · DATE · XML_DOC ·
 *   TYPED_OBJECT · UNSUPPORTED. The AMF3-only types XML, BYTE_ARRAY, VECTOR_* and
 *   DICTIONARY are written as an AVM+ switch followed by their AMF3 encoding.
 * A member name or class name longer than 65535 bytes sets LS_EINVAL on `b`.
 */
void ls_amf0_encode(struct ls_buf *b, const struct ls_amf_value *v);

/*
 * Direct writers, so command builders need no temporary trees. An object is
 * object_begin, then key + value pairs, then object_end; an ECMA array is ecma_begin(count)
 * the same way; a strict array is strict_array_begin(count) then count values.
 */
void ls_amf0_write_number(struct ls_buf *b, double d);
void ls_amf0_write_bool(struct ls_buf *b, bool v);
/* string (0x02), or long string (0x0c) when len > 65535; above 4 GiB sets LS_EINVAL. */
void ls_amf0_write_string(struct ls_buf *b, const char *s, size_t len);
/* ls_amf0_write_string of a NUL-terminated string. */
void ls_amf0_write_cstring(struct ls_buf *b, const char *s);
void ls_amf0_write_null(struct ls_buf *b);
void ls_amf0_write_undefined(struct ls_buf *b);
void ls_amf0_write_date(struct ls_buf *b, double ms, int16_t tz);
void ls_amf0_write_object_begin(struct ls_buf *b);
/* A member name (no marker); above 65535 bytes sets LS_EINVAL. */
void ls_amf0_write_key(struct ls_buf *b, const char *name, size_t len);
void ls_amf0_write_ckey(struct ls_buf *b, const char *name);
/* The empty name followed by the object-end marker: 00 00 09. */
void ls_amf0_write_object_end(struct ls_buf *b);
void ls_amf0_write_ecma_begin(struct ls_buf *b, uint32_t count);
void ls_amf0_write_strict_array_begin(struct ls_buf *b, uint32_t count);

#endif /* LIBSTREAM_AMF0_H */
