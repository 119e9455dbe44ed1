/*
 * nonce.h — challenges for the cluster's signatures: a fresh random value per connection,
 * which the peer must sign, so that a captured signature is worth nothing on any other
 * connection (the registry hello, smdproto.h; internal pulls, peersig.h).
 */
#ifndef LIBSTREAM_NONCE_H
#define LIBSTREAM_NONCE_H

#include "libstream/err.h"

/* A nonce: 16 random bytes as lower-case hex. */
#define LS_NONCE_HEX 32

/* A fresh nonce into out[LS_NONCE_HEX + 1] from the system's CSPRNG (OpenSSL RAND_bytes).
 * LS_OK, or LS_EIO when no randomness is available (out is then ""). */
LS_MUST_CHECK int ls_nonce_make(char out[LS_NONCE_HEX + 1]);

#endif /* LIBSTREAM_NONCE_H */
