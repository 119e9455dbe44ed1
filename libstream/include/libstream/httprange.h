/*
 * httprange.h — the HTTP Range request header (RFC 9110 §14.1.2, §14.2), for files served
 * with byte ranges (vodhttp.h).
 *
 *   Range: bytes=0-499          the first 500 bytes
 *   Range: bytes=500-           from byte 500 to the end
 *   Range: bytes=-500           the last 500 bytes
 *   Range: bytes=0-0, -1        several ranges: only the first satisfiable one is served
 *
 * A header the server may ignore (RFC 9110 §14.2) is ignored: another unit, any syntax
 * error, a range whose last position is before its first. The answer is then the whole
 * representation (200), as if no Range had been sent. Several ranges are answered with
 * the first satisfiable one alone (a single-part 206; multipart/byteranges is not
 * produced). Pure: no allocation, no global state.
 */
#ifndef LIBSTREAM_HTTPRANGE_H
#define LIBSTREAM_HTTPRANGE_H

#include <stdint.h>

#include "libstream/err.h"

/* Longest position or length accepted, in decimal digits (larger: a syntax error). */
#define LS_HTTP_RANGE_MAX_DIGITS 19

/*
 * Parses the value of a Range header (NULL = absent) against a representation of `size`
 * bytes. Returns:
 *   LS_OK         a range: bytes [*first, *last] (inclusive, *last < size): answer 206
 *                 with "Content-Range: bytes FIRST-LAST/SIZE";
 *   LS_ENOTFOUND  no range to honour (absent, or ignored as above): answer 200, whole;
 *   LS_ELIMIT     not satisfiable (every range starts at or past the end, a suffix of 0
 *                 bytes, or any range of an empty representation): answer 416 with
 *                 "Content-Range: bytes * /SIZE" (without the space).
 * *first and *last are written only with LS_OK.
 */
LS_MUST_CHECK int ls_http_range_parse(const char *value, uint64_t size, uint64_t *first,
                                      uint64_t *last);

#endif /* LIBSTREAM_HTTPRANGE_H */
