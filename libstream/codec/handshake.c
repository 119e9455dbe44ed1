/*
 * handshake.c — RTMP handshake, the layer below the chunk stream (handshake.h).
 *
 * Spec: Adobe RTMP 1.0 §5.2 (plain handshake). The digest ("complex") handshake that
 * Flash Player 9+ introduced is not in the published spec; its layout is the one every
 * implementation agrees on (ffmpeg rtmpproto.c, nginx-rtmp, librtmp, SRS).
 *
 *   C0/S0   1 byte: version, 3 = plain RTMP (6, 8, 9 = RTMPE, refused)
 *   C1/S1   1536 bytes:
 *             0        4          8                                           1536
 *             +--------+----------+--------------------------------------------+
 *             | time   | version  | random (digest embedded, see below)        |
 *             +--------+----------+--------------------------------------------+
 *   C2/S2   1536 bytes: plain = echo of the peer's C1/S1 (bytes 4..7 may carry "time2");
 *           digest = 1504 random bytes + a 32-byte signature.
 *
 * Digest position, chosen by four bytes of the packet itself (P = sum of those bytes):
 *
 *   LS_HS_DIGEST0   8..11 hold the offset bytes; digest at 12 + P % 728   (12..771)
 *             0  4  8  12                                  772            1536
 *             |tm|ver|off|....[digest 32]...................|...key block...|
 *   LS_HS_DIGEST1   772..775 hold the offset bytes; digest at 776 + P % 728 (776..1535)
 *             0  4  8                                      772 776          1536
 *             |tm|ver|......key block......................|off|..[digest]..|
 *
 *   digest  = HMAC-SHA256(key30/36, packet without its 32 digest bytes)  (1504 bytes)
 *             key30 = "Genuine Adobe Flash Player 001" (client C1),
 *             key36 = "Genuine Adobe Flash Media Server 001" (server S1).
 *   C2/S2 signature = HMAC-SHA256(HMAC-SHA256(key62/68, peer's digest), C2/S2[0..1504])
 *             key62 = key30 + K, key68 = key36 + K, K the well-known 32 bytes below:
 *             S2 proves the server read C1's digest, C2 proves the client read S1's.
 *
 * A server answers in the client's scheme when C1 has a non-zero version and a valid
 * digest; otherwise plainly (zero-version random S1, S2 = exact echo of C1). C2 is read
 * but never refused. A client always accepts S1: with a valid digest it signs C2, without
 * one it echoes S1. S2's check is reported, never fatal.
 *
 * Everything we send lives in one buffer laid out as it goes on the wire
 * (out[0] = C0/S0, out[1..1537) = C1/S1, out[1537..3073) = C2/S2); `out_len` says how much
 * of it exists yet and `out_pos` how much the caller has sent. Random bytes are drawn into
 * it at creation, so feeding never needs the RNG.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "libstream/bytes.h"
#include "libstream/handshake.h"

#define PKT LS_HS_PACKET_LEN
#define DIG LS_HS_DIGEST_LEN
#define OUT_LEN (1 + 2 * PKT)

/* "Genuine Adobe Flash Player 001" / "Genuine Adobe Flash Media Server 001" followed by
 * the same 32 constant bytes: the first 30/36 bytes sign C1/S1, all 62/68 sign C2/S2. */
static const uint8_t fp_key[62] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a',
    's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ', '0', '0', '1',
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e,
    0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36,
    0xcf, 0xeb, 0x31, 0xae,
};
static const uint8_t fms_key[68] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a',
    's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ', 'S', 'e', 'r', 'v', 'e', 'r', ' ', '0',
    '0', '1',
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e,
    0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36,
    0xcf, 0xeb, 0x31, 0xae,
};
#define FP_KEY_PARTIAL 30u
#define FMS_KEY_PARTIAL 36u

/* What we are waiting for from the peer. */
enum ls_hs_state {
    LS_HS_ST_VERSION, /* C0 or S0 */
    LS_HS_ST_PKT1,    /* C1 or S1 */
    LS_HS_ST_PKT2,    /* C2 or S2 */
    LS_HS_ST_DONE,
    LS_HS_ST_FAILED,
};

struct ls_handshake {
    enum ls_hs_role role;
    enum ls_hs_state state;
    enum ls_hs_scheme scheme;    /* found in the peer's C1/S1 */
    enum ls_hs_scheme own_scheme; /* of our own C1/S1 (== scheme for a server) */
    enum ls_hs_check check;
    int err;                     /* sticky error once state == FAILED */
    const char *why;
    uint32_t version;            /* ours, for a digest C1/S1 */
    uint32_t peer_version;
    size_t have;                 /* bytes of the current peer packet received */
    size_t out_len;              /* bytes of out[] produced so far */
    size_t out_pos;              /* bytes of out[] the caller has sent */
    uint8_t peer1[PKT];          /* the peer's C1/S1 */
    uint8_t peer2[PKT];          /* the peer's C2/S2 */
    uint8_t out[OUT_LEN];        /* our C0/S0, C1/S1, C2/S2 exactly as sent */
};

/* Our C1/S1 and C2/S2 inside out[]. */
#define OWN1(hs) ((hs)->out + 1)
#define OWN2(hs) ((hs)->out + 1 + PKT)

/* Offset of the digest inside a 1536-byte packet for a digest scheme: always leaves
 * 32 bytes inside the packet (max 739 + 32 and 1503 + 32). */
static size_t digest_offset(const uint8_t *pkt, enum ls_hs_scheme s)
{
    size_t base = s == LS_HS_DIGEST0 ? 8 : 772;
    unsigned sum = (unsigned)pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3];
    return base + 4 + sum % 728;
}

/* HMAC-SHA256 of `len` bytes. Returns false if OpenSSL failed. */
static bool hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[DIG])
{
    unsigned out_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL)
        return false;
    return out_len == DIG;
}

/* The digest of a packet whose digest sits at `pos`: HMAC over the other 1504 bytes. */
static bool packet_digest(const uint8_t *pkt, size_t pos, const uint8_t *key, size_t key_len,
                          uint8_t out[DIG])
{
    uint8_t msg[PKT - DIG];
    memcpy(msg, pkt, pos);
    memcpy(msg + pos, pkt + pos + DIG, PKT - DIG - pos);
    return hmac(key, key_len, msg, sizeof msg, out);
}

/* Writes the digest of `pkt` for scheme `s` in place. */
static bool sign_packet(uint8_t *pkt, enum ls_hs_scheme s, const uint8_t *key, size_t key_len)
{
    uint8_t d[DIG];
    size_t pos = digest_offset(pkt, s);
    if (!packet_digest(pkt, pos, key, key_len, d))
        return false;
    memcpy(pkt + pos, d, DIG);
    return true;
}

/* 1 if `pkt` carries a valid digest for scheme `s`, 0 if not, -1 if OpenSSL failed. */
static int has_digest(const uint8_t *pkt, enum ls_hs_scheme s, const uint8_t *key,
                      size_t key_len)
{
    uint8_t d[DIG];
    size_t pos = digest_offset(pkt, s);
    if (!packet_digest(pkt, pos, key, key_len, d))
        return -1;
    return memcmp(d, pkt + pos, DIG) == 0;
}

/* The scheme of a peer's C1/S1: a digest scheme only with a non-zero version field and a
 * valid digest. DIGEST0 is tried first (what nearly every encoder sends). Returns the
 * scheme, or -1 if OpenSSL failed. */
static int detect_scheme(const uint8_t *pkt, const uint8_t *key, size_t key_len)
{
    static const enum ls_hs_scheme order[] = { LS_HS_DIGEST0, LS_HS_DIGEST1 };
    size_t i;
    if (ls_get_be32(pkt + 4) == 0)
        return LS_HS_PLAIN;
    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        int r = has_digest(pkt, order[i], key, key_len);
        if (r != 0)
            return r < 0 ? -1 : (int)order[i];
    }
    return LS_HS_PLAIN;
}

/* The signature a C2/S2 must end with: HMAC(HMAC(key_full, digest), pkt2[0..1504]). */
static bool response_signature(const uint8_t *pkt2, const uint8_t peer_digest[DIG],
                               const uint8_t *key_full, size_t key_len, uint8_t out[DIG])
{
    uint8_t k[DIG];
    return hmac(key_full, key_len, peer_digest, DIG, k) && hmac(k, DIG, pkt2, PKT - DIG, out);
}

/* Bytes 0..3 and 8..1535 equal: the peer echoed our packet (4..7 may hold time2). */
static bool is_echo(const uint8_t *theirs, const uint8_t *ours)
{
    return memcmp(theirs, ours, 4) == 0 && memcmp(theirs + 8, ours + 8, PKT - 8) == 0;
}

static ssize_t fail(struct ls_handshake *hs, int err, const char *why_text, const char **why)
{
    hs->state = LS_HS_ST_FAILED;
    hs->err = err;
    hs->why = why_text;
    LS_WHY(why, why_text);
    return err;
}

void ls_handshake_options_init(struct ls_hs_options *o, enum ls_hs_role role)
{
    o->scheme = LS_HS_DIGEST0;
    o->version = role == LS_HS_SERVER ? LS_HS_DEFAULT_SERVER_VERSION
                                      : LS_HS_DEFAULT_CLIENT_VERSION;
}

struct ls_handshake *ls_handshake_new(enum ls_hs_role role)
{
    return ls_handshake_new_opts(role, NULL);
}

struct ls_handshake *ls_handshake_new_opts(enum ls_hs_role role, const struct ls_hs_options *o)
{
    struct ls_hs_options def;
    struct ls_handshake *hs;

    if (role != LS_HS_SERVER && role != LS_HS_CLIENT)
        return NULL;
    if (o == NULL) {
        ls_handshake_options_init(&def, role);
        o = &def;
    }
    if (o->scheme != LS_HS_PLAIN && o->scheme != LS_HS_DIGEST0 && o->scheme != LS_HS_DIGEST1)
        return NULL;
    hs = calloc(1, sizeof *hs);
    if (hs == NULL)
        return NULL;
    hs->role = role;
    hs->state = LS_HS_ST_VERSION;
    hs->scheme = LS_HS_PLAIN;
    hs->check = LS_HS_CHECK_PENDING;
    hs->version = o->version;
    /* Time fields (bytes 0..3) stay 0: the spec allows it and we keep no clock. */
    if (RAND_bytes(OWN1(hs) + 8, PKT - 8) != 1 || RAND_bytes(OWN2(hs), PKT) != 1)
        goto fail;
    hs->out[0] = LS_HS_RTMP_VERSION;
    if (role == LS_HS_CLIENT) {
        hs->own_scheme = o->scheme;
        if (o->scheme != LS_HS_PLAIN) {
            ls_put_be32(OWN1(hs) + 4, o->version);
            if (!sign_packet(OWN1(hs), o->scheme, fp_key, FP_KEY_PARTIAL))
                goto fail;
        }
        hs->out_len = 1 + PKT;
    }
    return hs;
fail:
    free(hs);
    return NULL;
}

void ls_handshake_free(struct ls_handshake *hs)
{
    free(hs);
}

/*
 * C1 (server) or S1 (client) complete. A server builds S0 S1 S2 in one block and answers
 * in the client's scheme; a client builds C2. Packet 2 echoes the peer's packet 1 when
 * that carried no digest, else is signed with our own full key.
 */
static ssize_t on_pkt1(struct ls_handshake *hs, const char **why)
{
    bool server = hs->role == LS_HS_SERVER;
    const uint8_t *own_key = server ? fms_key : fp_key;
    size_t own_len = server ? sizeof fms_key : sizeof fp_key;
    uint8_t d[DIG];
    int scheme = server ? detect_scheme(hs->peer1, fp_key, FP_KEY_PARTIAL)
                        : detect_scheme(hs->peer1, fms_key, FMS_KEY_PARTIAL);

    if (scheme < 0)
        return fail(hs, LS_ENOMEM, "handshake: HMAC-SHA256 failed", why);
    hs->scheme = (enum ls_hs_scheme)scheme;
    if (server)
        hs->own_scheme = hs->scheme;
    if (hs->scheme == LS_HS_PLAIN) {
        /* S1 keeps its zero version and random bytes; S2 (C2) echoes C1 (S1) exactly. */
        memcpy(OWN2(hs), hs->peer1, PKT);
    } else {
        if (server) {
            ls_put_be32(OWN1(hs) + 4, hs->version);
            if (!sign_packet(OWN1(hs), hs->scheme, fms_key, FMS_KEY_PARTIAL))
                return fail(hs, LS_ENOMEM, "handshake: HMAC-SHA256 failed", why);
        }
        if (!response_signature(OWN2(hs), hs->peer1 + digest_offset(hs->peer1, hs->scheme),
                                own_key, own_len, d))
            return fail(hs, LS_ENOMEM, "handshake: HMAC-SHA256 failed", why);
        memcpy(OWN2(hs) + PKT - DIG, d, DIG);
    }
    hs->out_len = OUT_LEN;
    return 0;
}

/* C2 (server) or S2 (client) complete: classify it against our C1/S1. The signature is
 * keyed by our own digest, so it is only checked when our packet carried one. */
static ssize_t on_pkt2(struct ls_handshake *hs, const char **why)
{
    uint8_t d[DIG];
    const uint8_t *own1 = OWN1(hs);

    hs->check = LS_HS_CHECK_FAILED;
    if (hs->own_scheme != LS_HS_PLAIN) {
        /* A client signs C2 with the player key, a server signs S2 with the server key. */
        const uint8_t *key = hs->role == LS_HS_SERVER ? fp_key : fms_key;
        size_t key_len = hs->role == LS_HS_SERVER ? sizeof fp_key : sizeof fms_key;
        if (!response_signature(hs->peer2, own1 + digest_offset(own1, hs->own_scheme), key,
                                key_len, d))
            return fail(hs, LS_ENOMEM, "handshake: HMAC-SHA256 failed", why);
        if (memcmp(d, hs->peer2 + PKT - DIG, DIG) == 0)
            hs->check = LS_HS_CHECK_DIGEST;
    }
    if (hs->check == LS_HS_CHECK_FAILED && is_echo(hs->peer2, own1))
        hs->check = LS_HS_CHECK_ECHO;
    return 0;
}

ssize_t ls_handshake_feed(struct ls_handshake *hs, const uint8_t *in, size_t len,
                          const char **why)
{
    size_t used = 0;

    if (hs->state == LS_HS_ST_FAILED) {
        LS_WHY(why, hs->why);
        return hs->err;
    }
    if (in == NULL && len > 0) {
        LS_WHY(why, "handshake: NULL input");
        return LS_EINVAL;
    }
    while (used < len && hs->state != LS_HS_ST_DONE) {
        size_t n;
        ssize_t r;
        uint8_t *dst;

        if (hs->state == LS_HS_ST_VERSION) {
            uint8_t v = in[used++];
            if (v == 6 || v == 8 || v == 9) {
                if (hs->role == LS_HS_SERVER)
                    return fail(hs, LS_EUNSUPPORTED,
                                "handshake: C0 asks for RTMPE (encrypted RTMP), not supported",
                                why);
                return fail(hs, LS_EPROTO, "handshake: S0 answers with RTMPE", why);
            }
            if (v != LS_HS_RTMP_VERSION)
                return fail(hs, LS_EPROTO, hs->role == LS_HS_SERVER
                                               ? "handshake: C0 is not RTMP version 3"
                                               : "handshake: S0 is not RTMP version 3",
                            why);
            hs->state = LS_HS_ST_PKT1;
            continue;
        }
        dst = hs->state == LS_HS_ST_PKT1 ? hs->peer1 : hs->peer2;
        n = PKT - hs->have;
        if (n > len - used)
            n = len - used;
        memcpy(dst + hs->have, in + used, n);
        hs->have += n;
        used += n;
        if (hs->have < PKT)
            break;
        hs->have = 0;
        /* Advance first: on failure the handlers move the state to FAILED themselves. */
        if (hs->state == LS_HS_ST_PKT1) {
            hs->state = LS_HS_ST_PKT2;
            hs->peer_version = ls_get_be32(hs->peer1 + 4);
            r = on_pkt1(hs, why);
        } else {
            hs->state = LS_HS_ST_DONE;
            r = on_pkt2(hs, why);
        }
        if (r < 0)
            return r;
    }
    return (ssize_t)used;
}

size_t ls_handshake_output(struct ls_handshake *hs, const uint8_t **out)
{
    *out = hs->out + hs->out_pos;
    return hs->out_len - hs->out_pos;
}

void ls_handshake_output_consumed(struct ls_handshake *hs, size_t n)
{
    size_t pending = hs->out_len - hs->out_pos;
    hs->out_pos += n < pending ? n : pending;
}

bool ls_handshake_done(const struct ls_handshake *hs)
{
    return hs->state == LS_HS_ST_DONE;
}

enum ls_hs_scheme ls_handshake_scheme(const struct ls_handshake *hs)
{
    return hs->scheme;
}

uint32_t ls_handshake_peer_version(const struct ls_handshake *hs)
{
    return hs->peer_version;
}

enum ls_hs_check ls_handshake_response_check(const struct ls_handshake *hs)
{
    return hs->check;
}

const char *ls_handshake_scheme_name(enum ls_hs_scheme s)
{
    switch (s) {
    case LS_HS_PLAIN: return "plain";
    case LS_HS_DIGEST0: return "digest0";
    case LS_HS_DIGEST1: return "digest1";
    }
    return "unknown";
}

const char *ls_handshake_check_name(enum ls_hs_check c)
{
    switch (c) {
    case LS_HS_CHECK_PENDING: return "pending";
    case LS_HS_CHECK_FAILED: return "failed";
    case LS_HS_CHECK_ECHO: return "echo";
    case LS_HS_CHECK_DIGEST: return "digest";
    }
    return "unknown";
}
