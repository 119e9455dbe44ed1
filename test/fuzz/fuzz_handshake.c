/*
 * libFuzzer target for handshake.c: arbitrary peer bytes, in arbitrary splits, into a
 * server or a client handshake.
 *
 * Input layout: byte 0 = mode, byte 1 = split seed, the rest = what the peer sends.
 *   mode bit 0: 0 = feed a server (input is C0 C1 C2 ...), 1 = feed a client (S0 S1 S2 ...)
 *   mode bit 1: sign packet 1 with a valid digest first (random bytes almost never carry
 *               one, so without this the digest paths would stay unreached)
 *   mode bit 2: ... at the scheme-1 position (bytes 772..775) instead of scheme 0
 *   mode bit 3: sign packet 2 as a genuine C2/S2 for what the handshake sent, or with
 *               bit 5 set make it an echo of our C1/S1
 *   mode bit 4: consume the output in odd-sized pieces between feeds
 * Invariants checked: no negative result except LS_EPROTO/LS_EUNSUPPORTED (sticky), never
 * more than C0/S0 + 2 * 1536 bytes consumed, 0 consumed once done, done exactly when
 * 3073 bytes were consumed, output never larger than 3073 bytes in total.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libstream/handshake.h"

#define PKT 1536u
#define HS_LEN (1u + 2u * PKT)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t konst[32] = {
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};

static void key(uint8_t *k, size_t *len, int player, int full)
{
    const char *name = player ? "Genuine Adobe Flash Player 001"
                              : "Genuine Adobe Flash Media Server 001";
    size_t n = strlen(name);
    memcpy(k, name, n);
    memcpy(k + n, konst, 32);
    *len = n + (full ? 32 : 0);
}

static size_t digest_pos(const uint8_t *p, size_t off)
{
    return off + 4 + (size_t)(p[off] + p[off + 1] + p[off + 2] + p[off + 3]) % 728;
}

static void hmac_gap(const uint8_t *k, size_t klen, const uint8_t *p, size_t gap, uint8_t *out)
{
    uint8_t msg[PKT - 32];
    unsigned n = 0;
    memcpy(msg, p, gap);
    memcpy(msg + gap, p + gap + 32, PKT - 32 - gap);
    HMAC(EVP_sha256(), k, (int)klen, msg, sizeof msg, out, &n);
}

/* Signs a C1 (player key) or S1 (server key) in place. */
static void sign1(uint8_t *p, size_t off, int player)
{
    uint8_t k[68];
    size_t klen;
    if (p[4] == 0)
        p[4] = 1; /* a digest packet needs a non-zero version */
    key(k, &klen, player, 0);
    hmac_gap(k, klen, p, digest_pos(p, off), p + digest_pos(p, off));
}

/* Signs a C2 (player key) or S2 (server key) for `peer1_digest` in place. */
static void sign2(uint8_t *p, const uint8_t *peer1_digest, int player)
{
    uint8_t k[68], d[32];
    size_t klen;
    unsigned n = 0;
    key(k, &klen, player, 1);
    HMAC(EVP_sha256(), k, (int)klen, peer1_digest, 32, d, &n);
    HMAC(EVP_sha256(), d, 32, p, PKT - 32, p + PKT - 32, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode, seed, *in, sent[HS_LEN];
    size_t len, pos = 0, consumed = 0, out_total = 0;
    int client, result = 0;
    struct ls_handshake *hs;
    const uint8_t *out;

    if (size < 2)
        return 0;
    mode = data[0];
    seed = data[1];
    len = size - 2;
    in = malloc(len ? len : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data + 2, len);
    client = mode & 1;
    if ((mode & 2) && len >= 1 + PKT) {
        in[0] = 3;
        sign1(in + 1, (mode & 4) ? 772 : 8, !client);
    }
    hs = ls_handshake_new(client ? LS_HS_CLIENT : LS_HS_SERVER);
    if (hs == NULL) {
        free(in);
        return 0;
    }
    while (pos < len) {
        /* Piece sizes from a tiny LCG: 1..~2000 bytes, so every boundary gets hit. */
        size_t piece;
        ssize_t n;
        const char *why = NULL;
        seed = (uint8_t)(seed * 37u + 11u);
        piece = (size_t)seed * (seed & 1 ? 1 : 8) + 1;
        if (piece > len - pos)
            piece = len - pos;
        if (mode & 8) {
            /* Stop at the start of packet 2 so that our packet 1 exists before it is signed. */
            if (pos < 1 + PKT && pos + piece > 1 + PKT)
                piece = 1 + PKT - pos;
            if (pos == 1 + PKT && len >= HS_LEN) {
                size_t pending = ls_handshake_output(hs, &out);
                if (out_total + pending >= 1 + PKT) {
                    /* Our packet 1 = what was sent + what is pending; a client's C1 is
                     * always scheme 0, a server's S1 follows the signed C1. */
                    size_t off = client || !(mode & 4) ? 8 : 772;
                    if (out_total < 1 + PKT) /* peek at the rest of it, without consuming */
                        memcpy(sent + out_total, out, 1 + PKT - out_total);
                    if (mode & 32)
                        memcpy(in + 1 + PKT, sent + 1, PKT);
                    else
                        sign2(in + 1 + PKT, sent + 1 + digest_pos(sent + 1, off), !client);
                }
            }
        }
        n = ls_handshake_feed(hs, in + pos, piece, &why);
        if (n < 0) {
            if (n != LS_EPROTO && n != LS_EUNSUPPORTED)
                abort();
            if (why == NULL || ls_handshake_feed(hs, in, 1, NULL) != n)
                abort(); /* errors are sticky and explained */
            result = 1;
            break;
        }
        if ((size_t)n > piece)
            abort();
        consumed += (size_t)n;
        pos += (size_t)n;
        if ((size_t)n < piece && !ls_handshake_done(hs))
            abort(); /* a short count only ever means "done" */
        if ((mode & 16) && ls_handshake_output(hs, &out) > 0) {
            size_t take = ls_handshake_output(hs, &out);
            take = take > 7 ? take / 2 + 1 : take;
            memcpy(sent + out_total, out, take);
            ls_handshake_output_consumed(hs, take);
            out_total += take;
        }
        if (ls_handshake_done(hs))
            break;
    }
    if (result == 0) {
        if (consumed > HS_LEN || ls_handshake_done(hs) != (consumed == HS_LEN))
            abort();
        if (ls_handshake_done(hs) && pos < len && ls_handshake_feed(hs, in + pos, len - pos, NULL) != 0)
            abort();
    }
    if (ls_handshake_output(hs, &out) + out_total > HS_LEN)
        abort();
    (void)ls_handshake_scheme(hs);
    (void)ls_handshake_response_check(hs);
    (void)ls_handshake_peer_version(hs);
    ls_handshake_free(hs);
    free(in);
    return 0;
}
