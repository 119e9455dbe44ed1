/*
 * handshake.h — the RTMP handshake (C0 C1 C2 / S0 S1 S2), server and client, as a pure
 * state machine: bytes in through ls_handshake_feed(), bytes out through
 * ls_handshake_output(). No sockets, no clock, no logging, no global state.
 *
 * Both the plain handshake of RTMP 1.0 §5.2 and the digest ("complex", Flash Player 9+)
 * handshake that ffmpeg, OBS, FMLE and Flash send are spoken; see handshake.c for the
 * byte layouts. Encrypted RTMP (RTMPE, C0 = 6, 8 or 9) is refused with LS_EUNSUPPORTED.
 *
 * Typical use (server side; the client is the same loop, it just has output first):
 *
 *     hs = ls_handshake_new(LS_HS_SERVER);
 *     on readable:  n = ls_handshake_feed(hs, in, len, &why);   n < 0: close, log why
 *                   drain n bytes from the input
 *                   while ((len = ls_handshake_output(hs, &out)) > 0)
 *                       write, then ls_handshake_output_consumed(hs, written)
 *                   if (ls_handshake_done(hs)) the remaining input is chunk stream
 *
 * Sizes are fixed by the protocol (1 + 1536 + 1536 bytes each way), so there is no limits
 * struct; bounding the time a peer may take is the caller's job (a timer).
 */
#ifndef LIBSTREAM_HANDSHAKE_H
#define LIBSTREAM_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/err.h"

/* The version byte of C0/S0 for plain RTMP. */
#define LS_HS_RTMP_VERSION 3u
/* Length of a C1/S1/C2/S2 packet and of an HMAC-SHA256 digest. */
#define LS_HS_PACKET_LEN 1536u
#define LS_HS_DIGEST_LEN 32u
/* Default version bytes (4..7 of C1/S1) we announce in a digest handshake, big-endian:
 * the server poses as FMS 4.5.0.1 (ffmpeg only checks a server digest when the first
 * byte is >= 3), the client as Flash Player 9.0.124.2 (what ffmpeg sends). */
#define LS_HS_DEFAULT_SERVER_VERSION 0x04050001u
#define LS_HS_DEFAULT_CLIENT_VERSION 0x09007c02u

enum ls_hs_role { LS_HS_SERVER, LS_HS_CLIENT };

/*
 * Where the digest of C1/S1 sits. Naming follows the byte that chooses the offset:
 *   LS_HS_DIGEST0: offset = 12 + (sum of bytes 8..11) % 728     (ffmpeg, OBS, rtmpdump
 *                  without encryption, nginx-rtmp's S1; SRS calls this "schema 1")
 *   LS_HS_DIGEST1: offset = 776 + (sum of bytes 772..775) % 728 (librtmp FP10 mode, Flash
 *                  Player with RTMPE; SRS calls this "schema 0")
 *   LS_HS_PLAIN:   no digest (RTMP 1.0 §5.2: zero version, random bytes, echo)
 */
enum ls_hs_scheme { LS_HS_PLAIN, LS_HS_DIGEST0, LS_HS_DIGEST1 };

/* How the peer's last packet (C2 for a server, S2 for a client) matched ours. */
enum ls_hs_check {
    LS_HS_CHECK_PENDING, /* not received yet */
    LS_HS_CHECK_FAILED,  /* neither a valid signature nor an echo of our packet */
    LS_HS_CHECK_ECHO,    /* echo of our C1/S1 (bytes 0..3 and 8..1535; 4..7 are "time2") */
    LS_HS_CHECK_DIGEST,  /* valid signature over our C1/S1 digest (digest handshake) */
};

/*
 * Knobs for ls_handshake_new_opts(). Fill with ls_handshake_options_init(), then change
 * what you need.
 *   scheme   client only: the layout of our C1. Default LS_HS_DIGEST0. LS_HS_PLAIN sends
 *            a zero version field and no digest (servers then answer plainly). Ignored by
 *            a server, which always answers in the scheme the client used.
 *   version  our version field (bytes 4..7, big-endian) in a digest C1/S1.
 *            Default LS_HS_DEFAULT_SERVER_VERSION / LS_HS_DEFAULT_CLIENT_VERSION. A zero
 *            value makes servers treat a digest C1 as plain. Plain packets always carry 0.
 */
struct ls_hs_options {
    enum ls_hs_scheme scheme;
    uint32_t version;
};

struct ls_handshake; /* opaque */

/* Fills `o` with the documented defaults for `role`. */
void ls_handshake_options_init(struct ls_hs_options *o, enum ls_hs_role role);

/*
 * A new handshake with default options. All random bytes it will ever send come from
 * OpenSSL RAND_bytes() here, so feed never fails for lack of entropy. A client has its
 * C0C1 (1537 bytes) ready in ls_handshake_output() on return.
 * Returns NULL on allocation failure, RNG failure or HMAC failure; free with
 * ls_handshake_free(). The object is about 6.2 KiB and is meant to be freed once done.
 */
LS_MUST_CHECK struct ls_handshake *ls_handshake_new(enum ls_hs_role role);
/* As ls_handshake_new() with explicit options (NULL = defaults). Also NULL for an invalid
 * role or scheme. `o` is only read during the call. */
LS_MUST_CHECK struct ls_handshake *ls_handshake_new_opts(enum ls_hs_role role,
                                                     const struct ls_hs_options *o);
/* Frees everything, including any output not yet consumed. NULL is ignored. */
void ls_handshake_free(struct ls_handshake *hs);

/*
 * Feeds bytes received from the peer; `in` is only read during the call.
 * Returns the number of bytes consumed, 0..len:
 *   - len while the handshake still needs more (the LS_AGAIN case: everything was taken,
 *     ls_handshake_done() is false; call again with the next bytes);
 *   - fewer than len exactly when the handshake completed inside this buffer: the bytes
 *     from `in + returned` on belong to the chunk stream, hand them to the chunk reader;
 *   - 0 once done (nothing more is ever consumed).
 * Or a negative code, with a static reason in *why when why != NULL:
 *   LS_EUNSUPPORTED  C0 asks for RTMPE (6, 8 or 9)
 *   LS_EPROTO        any other C0/S0 version than 3
 *   LS_ENOMEM        OpenSSL's HMAC failed (allocation inside OpenSSL)
 *   LS_EINVAL        in == NULL with len > 0
 * Errors are sticky: later calls return the same code. Accepts any split of the input,
 * one byte at a time included. New output may appear after each call (S0S1S2 as one
 * block once C0C1 is complete; C2 once S1 is complete).
 */
LS_MUST_CHECK ssize_t ls_handshake_feed(struct ls_handshake *hs, const uint8_t *in, size_t len,
                                        const char **why);

/*
 * Pending output to send to the peer. Returns its length (0 = nothing to send) and sets
 * *out to bytes owned by the handshake object, valid until the next feed/consumed/free
 * call. Nothing here is ever dropped: the caller must send all of it, including after
 * ls_handshake_done() (a client's C2 may still be pending if it was not flushed).
 */
size_t ls_handshake_output(struct ls_handshake *hs, const uint8_t **out);
/* Marks `n` bytes of the pending output as sent; n larger than what is pending is
 * clamped (a caller bug, but never an over-read). */
void ls_handshake_output_consumed(struct ls_handshake *hs, size_t n);

/* True once the peer's whole handshake (C0 C1 C2, or S0 S1 S2) has been consumed.
 * Output may still be pending (see ls_handshake_output). */
bool ls_handshake_done(const struct ls_handshake *hs);

/* The scheme in use: for a server the one found in C1, for a client the one found in S1
 * (LS_HS_PLAIN if the peer sent no valid digest). LS_HS_PLAIN until that packet arrived. */
enum ls_hs_scheme ls_handshake_scheme(const struct ls_handshake *hs);

/* The peer's version field (bytes 4..7 of C1 or S1) as a big-endian number, e.g.
 * 0x09007c02 for "9.0.124.2"; 0 until that packet arrived (or if the peer sent 0). */
uint32_t ls_handshake_peer_version(const struct ls_handshake *hs);

/*
 * How the peer's final packet (C2 for a server, S2 for a client) matched our C1/S1.
 * Informational only, never fatal: many peers send junk there (a client that answers a
 * digest S1 with an echo is common, ffmpeg publishing does it). For a client this is
 * "did the server's S2 validate": LS_HS_CHECK_DIGEST or LS_HS_CHECK_ECHO.
 */
enum ls_hs_check ls_handshake_response_check(const struct ls_handshake *hs);

/* Static names for logs: "plain", "digest0", "digest1"; "pending", "failed", "echo",
 * "digest". Never NULL. */
const char *ls_handshake_scheme_name(enum ls_hs_scheme s);
const char *ls_handshake_check_name(enum ls_hs_check c);

#endif /* LIBSTREAM_HANDSHAKE_H */
