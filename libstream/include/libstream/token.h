/*
 * token.h — signed, expiring publish/play tokens (docs/interface.md "Tokens").
 *
 * When publish.secret (or play.secret) is set, a request's query must carry
 *
 *   expires=<unix seconds>&token=<hex HMAC-SHA256(secret, "APP/NAME:<expires>")>
 *
 * e.g. for live/cam1 until 2100-01-01 with secret "s3cret":
 *   printf '%s' 'live/cam1:4102444800' | openssl dgst -sha256 -hmac 's3cret'
 *
 * The token binds the exact stream id and expiry; the comparison is constant-time; hex
 * is accepted in either case. Stateless: no allocation, no global state.
 */
#ifndef LIBSTREAM_TOKEN_H
#define LIBSTREAM_TOKEN_H

#include <time.h>

#include "libstream/err.h"

/* Hex characters in a token (SHA-256 = 32 bytes). */
#define LS_TOKEN_HEX_LEN 64

/*
 * Checks the token in `query` (the raw query of a struct ls_stream_ref; may be NULL)
 * for stream `id` ("APP/NAME") at time `now`. All strings borrowed.
 * Returns LS_OK when `secret` is NULL or empty (tokens not required) or the token is
 * valid and expires >= now; otherwise LS_EAUTH with a static reason in the optional *why:
 * "missing expires", "malformed expires" (not 1..19 decimal digits), "missing token",
 * "malformed token" (not 64 hex digits), "wrong token", "expired token", or
 * "missing stream id" / "stream id too long" (over 512 bytes) / "HMAC failure" (refused
 * rather than waved through).
 */
LS_MUST_CHECK int ls_token_verify(const char *secret, const char *id, const char *query,
                                  time_t now, const char **why);

/*
 * Writes the lower-case hex token for `id` and `expires` (>= 0) under `secret` into
 * out[LS_TOKEN_HEX_LEN + 1], NUL-terminated; for tests and tools. Returns LS_OK,
 * LS_EINVAL (NULL argument, negative expires, id longer than 512 bytes), or LS_ENOMEM
 * (the HMAC computation failed).
 */
LS_MUST_CHECK int ls_token_make(const char *secret, const char *id, long expires,
                                char out[LS_TOKEN_HEX_LEN + 1]);

#endif /* LIBSTREAM_TOKEN_H */
