/*
 * Unit tests for handshake.c: the RTMP handshake state machine, server and client.
 *
 * Our output is checked with a reference written here, independently of handshake.c:
 * it follows the exact steps ffmpeg's client (rtmpproto.c rtmp_handshake) and nginx-rtmp
 * take to accept a peer, and computes HMACs through OpenSSL's EVP_MAC API with the
 * digest gap skipped by two updates (handshake.c uses HMAC() over a copied buffer).
 * The reference itself is checked against the real ffmpeg <-> nginx-rtmp session in
 * test/fixtures, so it cannot silently agree with a wrong implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dlfcn.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "libstream/bytes.h"
#include "libstream/err.h"
#include "libstream/handshake.h"

#define PKT 1536u
#define HS_LEN (1u + 2u * PKT) /* C0 C1 C2 or S0 S1 S2 */

/* ---- reference algorithm ------------------------------------------------------------ */

static const uint8_t ref_const[32] = {
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};
static uint8_t ref_fp[62];  /* "Genuine Adobe Flash Player 001" + ref_const */
static uint8_t ref_fms[68]; /* "Genuine Adobe Flash Media Server 001" + ref_const */

static int setup_keys(void **state)
{
    (void)state;
    memcpy(ref_fp, "Genuine Adobe Flash Player 001", 30);
    memcpy(ref_fp + 30, ref_const, 32);
    memcpy(ref_fms, "Genuine Adobe Flash Media Server 001", 36);
    memcpy(ref_fms + 36, ref_const, 32);
    return 0;
}

/* ffmpeg ff_rtmp_calc_digest: HMAC-SHA256 over src[0..len) without the 32 bytes at `gap`
 * (gap 0 = no gap). */
static void ref_hmac(const uint8_t *src, size_t len, size_t gap, const uint8_t *key,
                     size_t key_len, uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    size_t out_len = 0;
    char digest_name[] = "SHA256";

    assert_non_null(mac);
    ctx = EVP_MAC_CTX_new(mac);
    assert_non_null(ctx);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_MAC_init(ctx, key, key_len, params), 1);
    if (gap == 0) {
        assert_int_equal(EVP_MAC_update(ctx, src, len), 1);
    } else {
        assert_int_equal(EVP_MAC_update(ctx, src, gap), 1);
        assert_int_equal(EVP_MAC_update(ctx, src + gap + 32, len - gap - 32), 1);
    }
    assert_int_equal(EVP_MAC_final(ctx, out, &out_len, 32), 1);
    assert_int_equal(out_len, 32);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

/* ffmpeg ff_rtmp_calc_digest_pos(buf, off, 728, off + 4). */
static size_t ref_pos(const uint8_t *pkt, size_t off)
{
    return (size_t)(pkt[off] + pkt[off + 1] + pkt[off + 2] + pkt[off + 3]) % 728 + off + 4;
}

/* Digest position if `pkt` carries a valid digest at the position chosen by bytes
 * off..off+3 (8 or 772), else 0 (ffmpeg rtmp_validate_digest / nginx find_digest). */
static size_t ref_validate(const uint8_t *pkt, size_t off, const uint8_t *key, size_t key_len)
{
    uint8_t d[32];
    size_t pos = ref_pos(pkt, off);
    ref_hmac(pkt, PKT, pos, key, key_len, d);
    return memcmp(d, pkt + pos, 32) == 0 ? pos : 0;
}

/* Writes a digest into `pkt` at the position chosen by bytes off..off+3. */
static void ref_sign(uint8_t *pkt, size_t off, const uint8_t *key, size_t key_len)
{
    size_t pos = ref_pos(pkt, off);
    ref_hmac(pkt, PKT, pos, key, key_len, pkt + pos);
}

/* True if pkt2 ends with HMAC(HMAC(key, digest), pkt2[0..1504]). */
static bool ref_response_ok(const uint8_t *pkt2, const uint8_t *digest, const uint8_t *key,
                            size_t key_len)
{
    uint8_t k[32], sig[32];
    ref_hmac(digest, 32, 0, key, key_len, k);
    ref_hmac(pkt2, PKT - 32, 0, k, 32, sig);
    return memcmp(sig, pkt2 + PKT - 32, 32) == 0;
}

/*
 * What ffmpeg's client does with S0 S1 S2 when it plays (rtmpproto.c): version byte 5 of
 * the S0S1 block >= 3, S1 digest at 772 else at 8 with the 36-byte server key, then S2's
 * last 32 bytes = HMAC(HMAC(68-byte key, C1's digest), S2[0..1504]). Returns the S1 base
 * offset found (8 or 772), 0 if ffmpeg would refuse.
 */
static size_t ffmpeg_accepts(const uint8_t *c1, size_t c1_off, const uint8_t *s0s1s2)
{
    const uint8_t *s1 = s0s1s2 + 1, *s2 = s0s1s2 + 1 + PKT;
    size_t base = 772;
    if (s0s1s2[0] != 3 || s0s1s2[5] < 3)
        return 0;
    if (ref_validate(s1, 772, ref_fms, 36) == 0) {
        base = 8;
        if (ref_validate(s1, 8, ref_fms, 36) == 0)
            return 0;
    }
    if (!ref_response_ok(s2, c1 + ref_pos(c1, c1_off), ref_fms, sizeof ref_fms))
        return 0;
    return base;
}

/* ---- fault injection -----------------------------------------------------------------
 * This program defines HMAC() and RAND_bytes() itself, so libstream's calls (linked
 * statically into it) land here; they forward to OpenSSL through dlsym(RTLD_NEXT) unless
 * a countdown says the n-th call from now must fail, as an allocation failure inside
 * OpenSSL would. The reference above uses EVP_MAC and is never affected.
 */
static int hmac_fail_in = -1; /* -1: never; n: the call after n more successes fails */
static int rand_fail_in = -1;
static int hmac_calls;

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data,
                    size_t data_len, unsigned char *md, unsigned int *md_len)
{
    unsigned char *(*real)(const EVP_MD *, const void *, int, const unsigned char *, size_t,
                           unsigned char *, unsigned int *);
    hmac_calls++;
    if (hmac_fail_in == 0) {
        hmac_fail_in = -1;
        return NULL;
    }
    if (hmac_fail_in > 0)
        hmac_fail_in--;
    *(void **)&real = dlsym(RTLD_NEXT, "HMAC");
    assert_non_null(real);
    return real(evp_md, key, key_len, data, data_len, md, md_len);
}

int RAND_bytes(unsigned char *buf, int num)
{
    int (*real)(unsigned char *, int);
    if (rand_fail_in == 0) {
        rand_fail_in = -1;
        return 0;
    }
    if (rand_fail_in > 0)
        rand_fail_in--;
    *(void **)&real = dlsym(RTLD_NEXT, "RAND_bytes");
    assert_non_null(real);
    return real(buf, num);
}

/* ---- helpers ------------------------------------------------------------------------ */

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    data = malloc((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static struct ls_handshake *new_hs(enum ls_hs_role role, enum ls_hs_scheme scheme)
{
    struct ls_hs_options o;
    struct ls_handshake *hs;
    ls_handshake_options_init(&o, role);
    o.scheme = scheme;
    hs = ls_handshake_new_opts(role, &o);
    assert_non_null(hs);
    return hs;
}

/* Feeds data[0..split) then data[split..len) (two calls, either may be empty). Returns
 * the bytes consumed in total; asserts that no error occurred and that a short count only
 * happens once the handshake is done. */
static size_t feed_split(struct ls_handshake *hs, const uint8_t *data, size_t len, size_t split)
{
    size_t total = 0;
    const char *why = NULL;
    ssize_t n = ls_handshake_feed(hs, data, split, &why);
    assert_true(n >= 0);
    total += (size_t)n;
    if ((size_t)n < split) {
        assert_true(ls_handshake_done(hs));
        return total;
    }
    n = ls_handshake_feed(hs, data + split, len - split, &why);
    assert_true(n >= 0);
    if ((size_t)n < len - split)
        assert_true(ls_handshake_done(hs));
    return total + (size_t)n;
}

/* Copies the pending output (asserting its length) and marks it sent. */
static void take_output(struct ls_handshake *hs, uint8_t *dst, size_t want)
{
    const uint8_t *out;
    size_t n = ls_handshake_output(hs, &out);
    assert_int_equal(n, want);
    memcpy(dst, out, n);
    ls_handshake_output_consumed(hs, n);
    assert_int_equal(ls_handshake_output(hs, &out), 0);
}

/* ---- server against ffmpeg's real C0 C1 C2 -------------------------------------------- */

/* Checks a server that has consumed ffmpeg's C0C1 (and maybe C2): S0S1S2 as ffmpeg
 * expects it, in one block. */
static void check_server_answer_to_ffmpeg(struct ls_handshake *hs, const uint8_t *c0c1)
{
    uint8_t s[HS_LEN];
    assert_int_equal(ls_handshake_scheme(hs), LS_HS_DIGEST0);
    assert_int_equal(ls_handshake_peer_version(hs), 0x09007c02u); /* ffmpeg's 9.0.124.2 */
    take_output(hs, s, HS_LEN);
    assert_int_equal(s[0], 3);
    assert_int_equal(ls_get_be32(s + 1 + 4), LS_HS_DEFAULT_SERVER_VERSION);
    /* Same scheme as the client: found at base 8, not 772. */
    assert_int_equal(ffmpeg_accepts(c0c1 + 1, 8, s), 8);
    assert_int_equal(ref_validate(s + 1, 772, ref_fms, 36), 0);
}

static void test_server_ffmpeg_c0c1(void **state)
{
    size_t len, i;
    uint8_t *c2s = load("test/fixtures/ffmpeg_publish.c2s", &len);
    const size_t in_len = HS_LEN + 64; /* C0 C1 C2 and the start of the chunk stream */
    struct ls_handshake *hs;
    const uint8_t *out;
    (void)state;
    assert_true(len > in_len);
    /* ffmpeg's C1 as our reference sees it: digest at base 8, with the player key. */
    assert_int_equal(c2s[0], 3);
    assert_int_not_equal(ref_validate(c2s + 1, 8, ref_fp, 30), 0);

    /* Whole. */
    hs = ls_handshake_new(LS_HS_SERVER);
    assert_non_null(hs);
    assert_int_equal(ls_handshake_output(hs, &out), 0); /* a server speaks second */
    assert_int_equal(ls_handshake_feed(hs, c2s, in_len, NULL), (ssize_t)HS_LEN);
    assert_true(ls_handshake_done(hs));
    check_server_answer_to_ffmpeg(hs, c2s);
    /* ffmpeg publishing echoes nginx's S1 as C2, which is not ours: reported, not fatal. */
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_FAILED);
    /* Done: nothing more is consumed; the chunk stream starts with a type-0 connect. */
    assert_int_equal(ls_handshake_feed(hs, c2s + HS_LEN, 64, NULL), 0);
    assert_int_equal(c2s[HS_LEN], 0x03);
    ls_handshake_free(hs);

    /* One byte at a time: no output until C0C1 is whole, then all of S0S1S2 at once. */
    hs = ls_handshake_new(LS_HS_SERVER);
    assert_non_null(hs);
    for (i = 0; i < in_len; i++) {
        ssize_t n = ls_handshake_feed(hs, c2s + i, 1, NULL);
        size_t pending = ls_handshake_output(hs, &out);
        assert_int_equal(n, i < HS_LEN ? 1 : 0);
        assert_int_equal(pending, i + 1 < 1 + PKT ? 0 : HS_LEN);
        assert_int_equal(ls_handshake_done(hs), i + 1 >= HS_LEN);
    }
    check_server_answer_to_ffmpeg(hs, c2s);
    ls_handshake_free(hs);

    /* Split at every offset. */
    for (i = 0; i <= in_len; i++) {
        hs = ls_handshake_new(LS_HS_SERVER);
        assert_non_null(hs);
        assert_int_equal(feed_split(hs, c2s, in_len, i), HS_LEN);
        assert_true(ls_handshake_done(hs));
        check_server_answer_to_ffmpeg(hs, c2s);
        ls_handshake_free(hs);
    }
    free(c2s);
}

/* ffprobe plays: its C2 is signed (for nginx's S1, so not for ours). */
static void test_server_ffprobe_c0c1(void **state)
{
    size_t len;
    uint8_t *c2s = load("test/fixtures/ffprobe_play.c2s", &len);
    struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
    (void)state;
    assert_non_null(hs);
    assert_true(len > HS_LEN);
    assert_int_equal(ls_handshake_feed(hs, c2s, len, NULL), (ssize_t)HS_LEN);
    assert_true(ls_handshake_done(hs));
    check_server_answer_to_ffmpeg(hs, c2s);
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_FAILED);
    ls_handshake_free(hs);
    free(c2s);
}

/* ---- client against nginx-rtmp's real S0 S1 S2 ----------------------------------------- */

/* The fixture itself, through the reference: nginx's S1 is signed at base 8 and its S2
 * signs ffmpeg's C1 digest. This is what makes the reference trustworthy. */
static void test_reference_matches_real_session(void **state)
{
    size_t clen, slen, plen, pslen;
    uint8_t *c2s = load("test/fixtures/ffmpeg_publish.c2s", &clen);
    uint8_t *s2c = load("test/fixtures/ffmpeg_publish.s2c", &slen);
    uint8_t *pc = load("test/fixtures/ffprobe_play.c2s", &plen);
    uint8_t *ps = load("test/fixtures/ffprobe_play.s2c", &pslen);
    size_t spos;
    (void)state;
    assert_int_equal(ffmpeg_accepts(c2s + 1, 8, s2c), 8);
    /* A flipped bit anywhere in S2's signature is refused. */
    s2c[HS_LEN - 1] ^= 1;
    assert_int_equal(ffmpeg_accepts(c2s + 1, 8, s2c), 0);
    s2c[HS_LEN - 1] ^= 1;
    /* ffprobe's C2 is signed with HMAC(62-byte key, nginx's S1 digest). */
    spos = ref_validate(ps + 1, 8, ref_fms, 36);
    assert_int_not_equal(spos, 0);
    assert_true(ref_response_ok(pc + 1 + PKT, ps + 1 + spos, ref_fp, sizeof ref_fp));
    assert_false(ref_response_ok(pc + 1 + PKT, ps + 1 + spos, ref_fms, sizeof ref_fms));
    free(c2s);
    free(s2c);
    free(pc);
    free(ps);
}

/* Checks a client that consumed nginx's S0S1S2: our C0C1 is what nginx accepts, our C2
 * is signed for nginx's S1. */
static void check_client_vs_nginx(struct ls_handshake *hs, const uint8_t *s2c,
                                  const uint8_t *c0c1c2)
{
    size_t spos = ref_validate(s2c + 1, 8, ref_fms, 36);
    assert_int_not_equal(spos, 0);
    assert_int_equal(ls_handshake_scheme(hs), LS_HS_DIGEST0);
    assert_int_equal(ls_handshake_peer_version(hs), 0x0d0e0a0du); /* nginx-rtmp's */
    /* S2 answers ffmpeg's C1, not ours. */
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_FAILED);
    /* Our C0C1: version 3, Flash Player version, digest at base 8 (nginx tries 772 then 8). */
    assert_int_equal(c0c1c2[0], 3);
    assert_int_equal(ls_get_be32(c0c1c2 + 1 + 4), LS_HS_DEFAULT_CLIENT_VERSION);
    assert_int_not_equal(ref_validate(c0c1c2 + 1, 8, ref_fp, 30), 0);
    assert_int_equal(ref_validate(c0c1c2 + 1, 772, ref_fp, 30), 0);
    /* Our C2: random + HMAC(HMAC(62-byte key, S1 digest), C2[0..1504]). */
    assert_true(ref_response_ok(c0c1c2 + 1 + PKT, s2c + 1 + spos, ref_fp, sizeof ref_fp));
}

static void test_client_nginx_s0s1s2(void **state)
{
    size_t len, i;
    uint8_t *s2c = load("test/fixtures/ffmpeg_publish.s2c", &len);
    uint8_t c[HS_LEN];
    struct ls_handshake *hs;
    const uint8_t *out;
    (void)state;
    assert_true(len > HS_LEN);

    /* Whole (S0S1S2 and nginx's first control messages in one buffer). */
    hs = ls_handshake_new(LS_HS_CLIENT);
    assert_non_null(hs);
    assert_int_equal(ls_handshake_scheme(hs), LS_HS_PLAIN); /* unknown until S1 */
    take_output(hs, c, 1 + PKT);                           /* C0C1 ready at creation */
    assert_int_equal(ls_handshake_feed(hs, s2c, len, NULL), (ssize_t)HS_LEN);
    assert_true(ls_handshake_done(hs));
    take_output(hs, c + 1 + PKT, PKT);
    check_client_vs_nginx(hs, s2c, c);
    assert_int_equal(ls_handshake_feed(hs, s2c + HS_LEN, len - HS_LEN, NULL), 0);
    ls_handshake_free(hs);

    /* One byte at a time: C2 appears exactly when S1 is complete. */
    hs = ls_handshake_new(LS_HS_CLIENT);
    assert_non_null(hs);
    take_output(hs, c, 1 + PKT);
    for (i = 0; i < HS_LEN + 16; i++) {
        ssize_t n = ls_handshake_feed(hs, s2c + i, 1, NULL);
        assert_int_equal(n, i < HS_LEN ? 1 : 0);
        assert_int_equal(ls_handshake_output(hs, &out), i + 1 < 1 + PKT ? 0 : PKT);
    }
    take_output(hs, c + 1 + PKT, PKT);
    check_client_vs_nginx(hs, s2c, c);
    ls_handshake_free(hs);

    /* Split at every offset, output left pending until the end (it is appended). */
    for (i = 0; i <= HS_LEN + 16; i++) {
        hs = ls_handshake_new(LS_HS_CLIENT);
        assert_non_null(hs);
        assert_int_equal(feed_split(hs, s2c, HS_LEN + 16, i), HS_LEN);
        take_output(hs, c, HS_LEN);
        check_client_vs_nginx(hs, s2c, c);
        ls_handshake_free(hs);
    }
    free(s2c);
}

/* ---- our client against our server, in memory ---------------------------------------- */

enum split_mode { WHOLE, BYTES, SPLIT_AT };

/* One direction of the connection: everything the sender has produced so far, then a
 * trailer standing for the chunk stream, and how far the receiver has read. */
struct wire {
    uint8_t data[HS_LEN + 16];
    size_t len, pos;
    enum split_mode mode;
    size_t split;
};

static const uint8_t trailer[8] = { 0x03, 'c', 'h', 'u', 'n', 'k', 0xc3, 0x00 };

/* Moves the sender's pending output onto the wire; once the sender's three packets are
 * all out, the trailer follows as a real peer's first chunk would. */
static void wire_send(struct wire *w, struct ls_handshake *from)
{
    const uint8_t *out;
    size_t n = ls_handshake_output(from, &out);
    assert_true(n == 0 || w->len + n <= HS_LEN);
    memcpy(w->data + w->len, out, n);
    w->len += n;
    ls_handshake_output_consumed(from, n);
    if (n > 0 && w->len == HS_LEN) {
        memcpy(w->data + w->len, trailer, sizeof trailer);
        w->len += sizeof trailer;
    }
}

/* Delivers what is on the wire in the pieces the mode asks for; stops once the receiver
 * is done (the rest is not the handshake's). Returns whether anything was consumed. */
static bool wire_deliver(struct wire *w, struct ls_handshake *to)
{
    bool progress = false;
    while (w->pos < w->len && !ls_handshake_done(to)) {
        size_t n = w->len - w->pos;
        ssize_t got;
        if (w->mode == BYTES)
            n = 1;
        else if (w->mode == SPLIT_AT && w->pos < w->split && w->split < w->len)
            n = w->split - w->pos;
        got = ls_handshake_feed(to, w->data + w->pos, n, NULL);
        assert_true(got >= 0);
        if ((size_t)got < n)
            assert_true(ls_handshake_done(to));
        w->pos += (size_t)got;
        progress = progress || got > 0;
        if ((size_t)got < n)
            break;
    }
    return progress;
}

/* Runs a whole handshake between `cli` and `srv` and checks both ends agree. */
static void run_pair(struct ls_handshake *cli, struct ls_handshake *srv, struct wire *c2s,
                     struct wire *s2c, enum ls_hs_scheme want)
{
    int rounds;
    for (rounds = 0; rounds < 10000; rounds++) {
        bool p;
        wire_send(c2s, cli);
        p = wire_deliver(c2s, srv);
        wire_send(s2c, srv);
        p = wire_deliver(s2c, cli) || p;
        if (ls_handshake_done(cli) && ls_handshake_done(srv))
            break;
        assert_true(p || rounds == 0);
    }
    assert_true(ls_handshake_done(cli));
    assert_true(ls_handshake_done(srv));
    wire_send(c2s, cli);
    /* Each side consumed exactly the peer's three packets; the trailer is left. */
    assert_int_equal(c2s->pos, HS_LEN);
    assert_int_equal(s2c->pos, HS_LEN);
    assert_int_equal(c2s->len, HS_LEN + sizeof trailer);
    assert_int_equal(s2c->len, HS_LEN + sizeof trailer);
    assert_int_equal(ls_handshake_scheme(cli), want);
    assert_int_equal(ls_handshake_scheme(srv), want);
    if (want == LS_HS_PLAIN) {
        assert_int_equal(ls_handshake_response_check(cli), LS_HS_CHECK_ECHO);
        assert_int_equal(ls_handshake_response_check(srv), LS_HS_CHECK_ECHO);
        assert_int_equal(ls_handshake_peer_version(srv), 0);
        assert_int_equal(ls_handshake_peer_version(cli), 0);
    } else {
        assert_int_equal(ls_handshake_response_check(cli), LS_HS_CHECK_DIGEST);
        assert_int_equal(ls_handshake_response_check(srv), LS_HS_CHECK_DIGEST);
        assert_int_equal(ls_handshake_peer_version(srv), LS_HS_DEFAULT_CLIENT_VERSION);
        assert_int_equal(ls_handshake_peer_version(cli), LS_HS_DEFAULT_SERVER_VERSION);
    }
}

/* Checks the bytes that went over the wire with the reference. */
static void check_wire(const struct wire *c2s, const struct wire *s2c, enum ls_hs_scheme s)
{
    const uint8_t *c1 = c2s->data + 1, *c2 = c2s->data + 1 + PKT;
    const uint8_t *s1 = s2c->data + 1, *s2 = s2c->data + 1 + PKT;
    size_t off = s == LS_HS_DIGEST0 ? 8 : 772, other = s == LS_HS_DIGEST0 ? 772 : 8;
    size_t cpos, spos;
    if (s == LS_HS_PLAIN) {
        assert_memory_equal(s2, c1, PKT);
        assert_memory_equal(c2, s1, PKT);
        assert_int_equal(ls_get_be32(s1 + 4), 0);
        assert_int_equal(ls_get_be32(c1 + 4), 0);
        return;
    }
    cpos = ref_validate(c1, off, ref_fp, 30);
    spos = ref_validate(s1, off, ref_fms, 36);
    assert_int_not_equal(cpos, 0);
    assert_int_not_equal(spos, 0);
    assert_int_equal(ref_validate(c1, other, ref_fp, 30), 0);
    assert_int_equal(ref_validate(s1, other, ref_fms, 36), 0);
    assert_true(ref_response_ok(s2, c1 + cpos, ref_fms, sizeof ref_fms));
    assert_true(ref_response_ok(c2, s1 + spos, ref_fp, sizeof ref_fp));
}

static void pair_once(enum ls_hs_scheme s, enum split_mode cm, size_t csplit,
                      enum split_mode sm, size_t ssplit)
{
    struct wire c2s = { .mode = cm, .split = csplit }, s2c = { .mode = sm, .split = ssplit };
    struct ls_handshake *cli = new_hs(LS_HS_CLIENT, s), *srv = new_hs(LS_HS_SERVER, s);
    run_pair(cli, srv, &c2s, &s2c, s);
    check_wire(&c2s, &s2c, s);
    ls_handshake_free(cli);
    ls_handshake_free(srv);
}

static void pair_all_splits(enum ls_hs_scheme s)
{
    size_t k;
    pair_once(s, WHOLE, 0, WHOLE, 0);
    pair_once(s, BYTES, 0, BYTES, 0);
    pair_once(s, BYTES, 0, WHOLE, 0);
    pair_once(s, WHOLE, 0, BYTES, 0);
    for (k = 0; k <= HS_LEN + sizeof trailer; k++) {
        pair_once(s, SPLIT_AT, k, WHOLE, 0);
        pair_once(s, WHOLE, 0, SPLIT_AT, k);
    }
}

static void test_pair_digest0(void **state) { (void)state; pair_all_splits(LS_HS_DIGEST0); }
static void test_pair_digest1(void **state) { (void)state; pair_all_splits(LS_HS_DIGEST1); }
static void test_pair_plain(void **state) { (void)state; pair_all_splits(LS_HS_PLAIN); }

/* Custom version fields travel to the peer. */
static void test_pair_custom_versions(void **state)
{
    struct ls_hs_options co, so;
    struct wire c2s = { .mode = WHOLE }, s2c = { .mode = WHOLE };
    struct ls_handshake *cli, *srv;
    int rounds;
    (void)state;
    ls_handshake_options_init(&co, LS_HS_CLIENT);
    ls_handshake_options_init(&so, LS_HS_SERVER);
    assert_int_equal(co.scheme, LS_HS_DIGEST0);
    assert_int_equal(co.version, LS_HS_DEFAULT_CLIENT_VERSION);
    assert_int_equal(so.version, LS_HS_DEFAULT_SERVER_VERSION);
    co.scheme = LS_HS_DIGEST1;
    co.version = 0x0b010203u;
    so.version = 0x05000001u;
    so.scheme = LS_HS_PLAIN; /* ignored by a server */
    cli = ls_handshake_new_opts(LS_HS_CLIENT, &co);
    srv = ls_handshake_new_opts(LS_HS_SERVER, &so);
    assert_non_null(cli);
    assert_non_null(srv);
    for (rounds = 0; rounds < 4; rounds++) {
        wire_send(&c2s, cli);
        wire_deliver(&c2s, srv);
        wire_send(&s2c, srv);
        wire_deliver(&s2c, cli);
    }
    assert_true(ls_handshake_done(cli) && ls_handshake_done(srv));
    assert_int_equal(ls_handshake_peer_version(srv), 0x0b010203u);
    assert_int_equal(ls_handshake_peer_version(cli), 0x05000001u);
    assert_int_equal(ls_handshake_scheme(srv), LS_HS_DIGEST1);
    assert_int_equal(ls_handshake_response_check(cli), LS_HS_CHECK_DIGEST);
    ls_handshake_free(cli);
    ls_handshake_free(srv);
}

/* ---- truncated input ---------------------------------------------------------------- */

static void test_truncated(void **state)
{
    size_t len;
    uint8_t *c2s = load("test/fixtures/ffmpeg_publish.c2s", &len);
    uint8_t *s2c = load("test/fixtures/ffmpeg_publish.s2c", &len);
    struct ls_handshake *srv = ls_handshake_new(LS_HS_SERVER);
    struct ls_handshake *cli = ls_handshake_new(LS_HS_CLIENT);
    const uint8_t *out;
    (void)state;
    assert_non_null(srv);
    assert_non_null(cli);
    /* Server: C0C1 one byte short: all consumed, no answer, not done. */
    assert_int_equal(ls_handshake_feed(srv, c2s, PKT, NULL), (ssize_t)PKT);
    assert_int_equal(ls_handshake_output(srv, &out), 0);
    assert_false(ls_handshake_done(srv));
    assert_int_equal(ls_handshake_feed(srv, c2s + PKT, 1, NULL), 1);
    assert_int_equal(ls_handshake_output(srv, &out), HS_LEN);
    /* C2 one byte short. */
    assert_int_equal(ls_handshake_feed(srv, c2s + 1 + PKT, PKT - 1, NULL), (ssize_t)(PKT - 1));
    assert_false(ls_handshake_done(srv));
    assert_int_equal(ls_handshake_response_check(srv), LS_HS_CHECK_PENDING);
    assert_int_equal(ls_handshake_feed(srv, c2s + HS_LEN - 1, 0, NULL), 0); /* empty feed */
    assert_false(ls_handshake_done(srv));
    assert_int_equal(ls_handshake_feed(srv, c2s + HS_LEN - 1, 2, NULL), 1);
    assert_true(ls_handshake_done(srv));
    /* Client: S0 alone, then S1 one byte short. */
    assert_int_equal(ls_handshake_feed(cli, s2c, 1, NULL), 1);
    assert_int_equal(ls_handshake_peer_version(cli), 0);
    assert_int_equal(ls_handshake_feed(cli, s2c + 1, PKT - 1, NULL), (ssize_t)(PKT - 1));
    assert_int_equal(ls_handshake_output(cli, &out), 1 + PKT); /* only C0C1 */
    assert_false(ls_handshake_done(cli));
    assert_int_equal(ls_handshake_feed(cli, s2c + PKT, PKT, NULL), (ssize_t)PKT);
    assert_int_equal(ls_handshake_output(cli, &out), HS_LEN); /* C2 appended */
    assert_false(ls_handshake_done(cli));
    assert_int_equal(ls_handshake_response_check(cli), LS_HS_CHECK_PENDING);
    ls_handshake_free(srv);
    ls_handshake_free(cli);
    free(c2s);
    free(s2c);
}

/* ---- malformed C0 / S0 --------------------------------------------------------------- */

static void test_bad_c0_versions(void **state)
{
    static const struct { uint8_t v; int err; } table[] = {
        { 0, LS_EPROTO },  { 1, LS_EPROTO },        { 2, LS_EPROTO },        { 4, LS_EPROTO },
        { 5, LS_EPROTO },  { 6, LS_EUNSUPPORTED },  { 7, LS_EPROTO },        { 8, LS_EUNSUPPORTED },
        { 9, LS_EUNSUPPORTED }, { 10, LS_EPROTO },  { 0x43, LS_EPROTO } /* 'C' of "CONNECT" */,
        { 0x47, LS_EPROTO } /* 'G' of an HTTP GET */, { 0x83, LS_EPROTO }, { 0xff, LS_EPROTO },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        uint8_t in[1 + PKT];
        const char *why = NULL, *why2 = NULL;
        const uint8_t *out;
        struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
        assert_non_null(hs);
        memset(in, 0x5a, sizeof in);
        in[0] = table[i].v;
        assert_int_equal(ls_handshake_feed(hs, in, sizeof in, &why), table[i].err);
        assert_non_null(why);
        assert_non_null(strstr(why, table[i].err == LS_EUNSUPPORTED ? "RTMPE" : "version 3"));
        /* Sticky, with the same reason; no answer is ever produced. */
        assert_int_equal(ls_handshake_feed(hs, in + 1, 4, &why2), table[i].err);
        assert_ptr_equal(why2, why);
        assert_int_equal(ls_handshake_feed(hs, in, 0, NULL), table[i].err);
        assert_int_equal(ls_handshake_output(hs, &out), 0);
        assert_false(ls_handshake_done(hs));
        ls_handshake_free(hs);
    }
}

static void test_bad_s0_versions(void **state)
{
    static const uint8_t bad[] = { 0, 2, 4, 6, 8, 9, 0xff };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad; i++) {
        const char *why = NULL;
        struct ls_handshake *hs = ls_handshake_new(LS_HS_CLIENT);
        assert_non_null(hs);
        assert_int_equal(ls_handshake_feed(hs, &bad[i], 1, &why), LS_EPROTO);
        assert_non_null(why);
        assert_non_null(strstr(why, "S0"));
        assert_int_equal(ls_handshake_feed(hs, &bad[i], 1, NULL), LS_EPROTO);
        ls_handshake_free(hs);
    }
}

/* ---- server fallbacks and schemes, with hand-built C1 -------------------------------- */

/* A C0C1 + C2 with random-looking bytes, version `ver`, optionally signed. */
static void make_c0c1c2(uint8_t *in, uint32_t ver, size_t sign_off)
{
    size_t i;
    in[0] = 3;
    for (i = 1; i < HS_LEN; i++)
        in[i] = (uint8_t)(i * 131u + (i >> 7) * 17u);
    ls_put_be32(in + 1, 0x00001234u); /* time */
    ls_put_be32(in + 1 + 4, ver);
    if (sign_off != 0)
        ref_sign(in + 1, sign_off, ref_fp, 30);
}

/* Server answer to a C1 it must treat as plain: zero-version S1, S2 = exact echo of C1. */
static void check_plain_answer(const uint8_t *in, uint32_t ver)
{
    uint8_t s[HS_LEN];
    struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
    assert_non_null(hs);
    assert_int_equal(ls_handshake_feed(hs, in, 1 + PKT, NULL), (ssize_t)(1 + PKT));
    assert_int_equal(ls_handshake_scheme(hs), LS_HS_PLAIN);
    assert_int_equal(ls_handshake_peer_version(hs), ver);
    take_output(hs, s, HS_LEN);
    assert_int_equal(s[0], 3);
    assert_int_equal(ls_get_be32(s + 1 + 4), 0);
    assert_memory_equal(s + 1 + PKT, in + 1, PKT);
    /* A C2 that echoes our S1 (with time2 in bytes 4..7) is an echo. */
    memcpy(s + 1 + 4, "\x00\x00\x00\x07", 4);
    assert_int_equal(ls_handshake_feed(hs, s + 1, PKT, NULL), (ssize_t)PKT);
    assert_true(ls_handshake_done(hs));
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_ECHO);
    ls_handshake_free(hs);
}

static void test_server_plain_fallbacks(void **state)
{
    uint8_t in[HS_LEN];
    (void)state;
    /* Zero version: plain even though a valid digest is present (spec: version 0 = plain). */
    make_c0c1c2(in, 0, 8);
    assert_int_not_equal(ref_validate(in + 1, 8, ref_fp, 30), 0);
    check_plain_answer(in, 0);
    /* Non-zero version but no digest (e.g. a client with a made-up version). */
    make_c0c1c2(in, 0x0a000000u, 0);
    assert_int_equal(ref_validate(in + 1, 8, ref_fp, 30), 0);
    assert_int_equal(ref_validate(in + 1, 772, ref_fp, 30), 0);
    check_plain_answer(in, 0x0a000000u);
    /* A digest made with the wrong key (the server's) does not count. */
    make_c0c1c2(in, 0x0a000000u, 0);
    ref_sign(in + 1, 8, ref_fms, 36);
    check_plain_answer(in, 0x0a000000u);
}

/* A C1 signed (by the reference) at base 772: the server answers with scheme 1. */
static void test_server_digest1(void **state)
{
    uint8_t in[HS_LEN], s[HS_LEN], c2[PKT];
    size_t spos, cpos;
    struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
    (void)state;
    assert_non_null(hs);
    make_c0c1c2(in, 0x80000302u, 772); /* librtmp FP10 */
    cpos = ref_validate(in + 1, 772, ref_fp, 30);
    assert_int_not_equal(cpos, 0);
    assert_int_equal(ls_handshake_feed(hs, in, 1 + PKT, NULL), (ssize_t)(1 + PKT));
    assert_int_equal(ls_handshake_scheme(hs), LS_HS_DIGEST1);
    take_output(hs, s, HS_LEN);
    assert_int_equal(ffmpeg_accepts(in + 1, 772, s), 772);
    /* librtmp's client check is the same as ffmpeg's S2 check. */
    spos = ref_validate(s + 1, 772, ref_fms, 36);
    assert_int_not_equal(spos, 0);
    /* Answer with a C2 signed as librtmp/ffmpeg do: the server reports DIGEST. */
    memset(c2, 0x77, sizeof c2);
    {
        uint8_t k[32];
        ref_hmac(s + 1 + spos, 32, 0, ref_fp, sizeof ref_fp, k);
        ref_hmac(c2, PKT - 32, 0, k, 32, c2 + PKT - 32);
    }
    assert_int_equal(ls_handshake_feed(hs, c2, PKT, NULL), (ssize_t)PKT);
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_DIGEST);
    ls_handshake_free(hs);
}

/* ---- client fallbacks ----------------------------------------------------------------- */

/* Feeds the client S0, an S1 with version `s1_ver` (signed at base 8 if `sign`), and an
 * S2 that echoes our C1 or is junk; checks scheme, check and C2. */
static void client_with_s1(uint32_t s1_ver, bool sign, bool s2_echo, enum ls_hs_scheme want_scheme,
                           enum ls_hs_check want_check)
{
    uint8_t c[HS_LEN], s[HS_LEN];
    size_t i;
    struct ls_handshake *hs = ls_handshake_new(LS_HS_CLIENT);
    assert_non_null(hs);
    take_output(hs, c, 1 + PKT);
    s[0] = 3;
    for (i = 1; i < HS_LEN; i++)
        s[i] = (uint8_t)(i * 7u + 3u);
    ls_put_be32(s + 1 + 4, s1_ver);
    if (sign)
        ref_sign(s + 1, 8, ref_fms, 36);
    if (s2_echo)
        memcpy(s + 1 + PKT, c + 1, PKT);
    assert_int_equal(ls_handshake_feed(hs, s, HS_LEN, NULL), (ssize_t)HS_LEN);
    assert_true(ls_handshake_done(hs));
    assert_int_equal(ls_handshake_scheme(hs), want_scheme);
    assert_int_equal(ls_handshake_peer_version(hs), s1_ver);
    assert_int_equal(ls_handshake_response_check(hs), want_check);
    take_output(hs, c + 1 + PKT, PKT);
    if (want_scheme == LS_HS_PLAIN)
        assert_memory_equal(c + 1 + PKT, s + 1, PKT); /* C2 echoes S1 */
    else
        assert_true(ref_response_ok(c + 1 + PKT, s + 1 + ref_pos(s + 1, 8), ref_fp,
                                    sizeof ref_fp));
    ls_handshake_free(hs);
}

static void test_client_fallbacks(void **state)
{
    (void)state;
    /* Zero-version S1 (RTMP 1.0 server), S2 echoes C1. */
    client_with_s1(0, false, true, LS_HS_PLAIN, LS_HS_CHECK_ECHO);
    /* Non-zero version, no digest: accepted as plain. */
    client_with_s1(0x01020304u, false, true, LS_HS_PLAIN, LS_HS_CHECK_ECHO);
    /* Junk S2: reported, not fatal. */
    client_with_s1(0x01020304u, false, false, LS_HS_PLAIN, LS_HS_CHECK_FAILED);
    /* Digest S1 but an S2 that merely echoes C1 (some servers): echo. */
    client_with_s1(0x04050001u, true, true, LS_HS_DIGEST0, LS_HS_CHECK_ECHO);
    client_with_s1(0x04050001u, true, false, LS_HS_DIGEST0, LS_HS_CHECK_FAILED);
}

/* ---- C0 C1 C2 captured from real clients by test/tools/hsprobe ------------------------- */

/* Replays a client's C0C1C2 (3073 bytes, captured against hsprobe) into a fresh server:
 * whole, one byte at a time, and split at every offset, with chunk bytes after it. The
 * C2 answered another S1 (ours are random), so it is reported FAILED, never refused. */
static void replay_client(const char *path, enum ls_hs_scheme want, uint32_t version)
{
    size_t len, k;
    uint8_t *v = load(path, &len), in[HS_LEN + 8], s[HS_LEN];
    assert_int_equal(len, HS_LEN);
    memcpy(in, v, HS_LEN);
    memcpy(in + HS_LEN, trailer, sizeof trailer);
    for (k = 0; k <= sizeof in + 1; k++) {
        struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
        assert_non_null(hs);
        if (k == sizeof in + 1) { /* one byte at a time */
            size_t i, used = 0;
            for (i = 0; i < sizeof in; i++)
                used += (size_t)ls_handshake_feed(hs, in + i, 1, NULL);
            assert_int_equal(used, HS_LEN);
        } else {
            assert_int_equal(feed_split(hs, in, sizeof in, k), HS_LEN);
        }
        assert_true(ls_handshake_done(hs));
        assert_int_equal(ls_handshake_scheme(hs), want);
        assert_int_equal(ls_handshake_peer_version(hs), version);
        assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_FAILED);
        take_output(hs, s, HS_LEN);
        if (want == LS_HS_PLAIN) {
            assert_int_equal(ls_get_be32(s + 1 + 4), 0);
            assert_memory_equal(s + 1 + PKT, in + 1, PKT); /* what librtmp and gst compare */
        } else {
            /* librtmp's client check is ffmpeg's: S1 digest at 772 or 8, S2 signature. */
            assert_int_equal(ffmpeg_accepts(in + 1, want == LS_HS_DIGEST0 ? 8 : 772, s),
                             want == LS_HS_DIGEST0 ? 8 : 772);
        }
        ls_handshake_free(hs);
    }
    free(v);
}

static void test_real_clients(void **state)
{
    (void)state;
    /* rtmpdump 2.4 (librtmp), default: plain handshake, zero version. */
    replay_client("test/unit/data/hs_rtmpdump_plain.c0c1c2", LS_HS_PLAIN, 0);
    /* rtmpdump with --swfhash/--swfsize: the FP9 digest handshake, Flash 10.0.45.2. */
    replay_client("test/unit/data/hs_rtmpdump_fp9.c0c1c2", LS_HS_DIGEST0, 0x0a002d02u);
    /* GStreamer 1.22 rtmp2src: plain. */
    replay_client("test/unit/data/hs_gst_rtmp2.c0c1c2", LS_HS_PLAIN, 0);
}

/* ---- API edges ------------------------------------------------------------------------ */

static void test_api_edges(void **state)
{
    struct ls_hs_options o;
    struct ls_handshake *hs;
    const uint8_t *out;
    const char *why = NULL;
    uint8_t b = 3;
    (void)state;
    ls_handshake_free(NULL);
    assert_null(ls_handshake_new((enum ls_hs_role)7));
    ls_handshake_options_init(&o, LS_HS_CLIENT);
    o.scheme = (enum ls_hs_scheme)9;
    assert_null(ls_handshake_new_opts(LS_HS_CLIENT, &o));

    hs = ls_handshake_new(LS_HS_CLIENT);
    assert_non_null(hs);
    assert_int_equal(ls_handshake_response_check(hs), LS_HS_CHECK_PENDING);
    assert_int_equal(ls_handshake_feed(hs, NULL, 0, NULL), 0);
    assert_int_equal(ls_handshake_feed(hs, NULL, 1, &why), LS_EINVAL);
    assert_non_null(why);
    assert_int_equal(ls_handshake_feed(hs, &b, 1, NULL), 1); /* EINVAL is not sticky */
    /* Partial sends, then an over-large consumed count is clamped. */
    assert_int_equal(ls_handshake_output(hs, &out), 1 + PKT);
    ls_handshake_output_consumed(hs, 100);
    assert_int_equal(ls_handshake_output(hs, &out), 1 + PKT - 100);
    ls_handshake_output_consumed(hs, 1u << 20);
    assert_int_equal(ls_handshake_output(hs, &out), 0);
    ls_handshake_output_consumed(hs, 5);
    assert_int_equal(ls_handshake_output(hs, &out), 0);
    ls_handshake_free(hs);

    assert_string_equal(ls_handshake_scheme_name(LS_HS_PLAIN), "plain");
    assert_string_equal(ls_handshake_scheme_name(LS_HS_DIGEST0), "digest0");
    assert_string_equal(ls_handshake_scheme_name(LS_HS_DIGEST1), "digest1");
    assert_string_equal(ls_handshake_scheme_name((enum ls_hs_scheme)42), "unknown");
    assert_string_equal(ls_handshake_check_name(LS_HS_CHECK_PENDING), "pending");
    assert_string_equal(ls_handshake_check_name(LS_HS_CHECK_FAILED), "failed");
    assert_string_equal(ls_handshake_check_name(LS_HS_CHECK_ECHO), "echo");
    assert_string_equal(ls_handshake_check_name(LS_HS_CHECK_DIGEST), "digest");
    assert_string_equal(ls_handshake_check_name((enum ls_hs_check)42), "unknown");
}

/* Two clients never send the same C1 (RAND_bytes, not a fixed seed). */
static void test_random_c1(void **state)
{
    uint8_t a[1 + PKT], b[1 + PKT];
    struct ls_handshake *x = ls_handshake_new(LS_HS_CLIENT), *y = ls_handshake_new(LS_HS_CLIENT);
    (void)state;
    assert_non_null(x);
    assert_non_null(y);
    take_output(x, a, 1 + PKT);
    take_output(y, b, 1 + PKT);
    assert_memory_not_equal(a + 9, b + 9, PKT - 8);
    assert_int_equal(ls_get_be32(a + 1), 0); /* time 0: we keep no clock */
    ls_handshake_free(x);
    ls_handshake_free(y);
}

/* ---- OpenSSL failures ------------------------------------------------------------------ */

/* ls_handshake_new returns NULL when the RNG or the C1 signature fails. */
static void test_new_fails_cleanly(void **state)
{
    int k;
    (void)state;
    for (k = 0; k < 2; k++) { /* S1 random, S2 random */
        rand_fail_in = k;
        assert_null(ls_handshake_new(LS_HS_SERVER));
        assert_int_equal(rand_fail_in, -1);
    }
    rand_fail_in = 1; /* a client draws twice as well: C1 and C2 random */
    assert_null(ls_handshake_new(LS_HS_CLIENT));
    hmac_fail_in = 0; /* the client signs C1 at creation */
    assert_null(ls_handshake_new(LS_HS_CLIENT));
    assert_int_equal(hmac_fail_in, -1);
    hmac_fail_in = 0; /* a plain client computes no HMAC */
    {
        struct ls_handshake *hs = new_hs(LS_HS_CLIENT, LS_HS_PLAIN);
        ls_handshake_free(hs);
    }
    assert_int_equal(hmac_fail_in, 0);
    hmac_fail_in = -1;
}

/* Fails the k-th HMAC of a whole handshake for every k: each failure is LS_ENOMEM, sticky,
 * and produces no further output. */
static void run_with_hmac_failure(enum ls_hs_role role, const uint8_t *in, size_t len)
{
    int k, calls;
    /* First count how many HMACs one run makes. */
    struct ls_handshake *hs = ls_handshake_new(role);
    assert_non_null(hs);
    hmac_calls = 0;
    assert_true(ls_handshake_feed(hs, in, len, NULL) > 0);
    assert_true(ls_handshake_done(hs));
    calls = hmac_calls;
    assert_true(calls >= 3);
    ls_handshake_free(hs);
    for (k = 0; k < calls; k++) {
        const char *why = NULL;
        const uint8_t *out;
        size_t before;
        hs = ls_handshake_new(role);
        assert_non_null(hs);
        before = ls_handshake_output(hs, &out);
        hmac_fail_in = k;
        assert_int_equal(ls_handshake_feed(hs, in, len, &why), LS_ENOMEM);
        assert_int_equal(hmac_fail_in, -1);
        assert_non_null(strstr(why, "HMAC"));
        assert_int_equal(ls_handshake_feed(hs, in, len, NULL), LS_ENOMEM);
        assert_false(ls_handshake_done(hs));
        /* The last two HMACs check C2/S2; a failure before them (while answering C1/S1)
         * adds no output, a failure in them leaves the answer already produced. */
        if (k < calls - 2)
            assert_int_equal(ls_handshake_output(hs, &out), before);
        else
            assert_int_equal(ls_handshake_output(hs, &out), 1 + 2 * PKT);
        ls_handshake_free(hs);
    }
}

static void test_hmac_failures(void **state)
{
    size_t clen, slen;
    uint8_t *c2s = load("test/fixtures/ffmpeg_publish.c2s", &clen);
    uint8_t *s2c = load("test/fixtures/ffmpeg_publish.s2c", &slen);
    (void)state;
    run_with_hmac_failure(LS_HS_SERVER, c2s, HS_LEN);
    run_with_hmac_failure(LS_HS_CLIENT, s2c, HS_LEN);
    free(c2s);
    free(s2c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_matches_real_session),
        cmocka_unit_test(test_server_ffmpeg_c0c1),
        cmocka_unit_test(test_server_ffprobe_c0c1),
        cmocka_unit_test(test_client_nginx_s0s1s2),
        cmocka_unit_test(test_pair_digest0),
        cmocka_unit_test(test_pair_digest1),
        cmocka_unit_test(test_pair_plain),
        cmocka_unit_test(test_pair_custom_versions),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_c0_versions),
        cmocka_unit_test(test_bad_s0_versions),
        cmocka_unit_test(test_server_plain_fallbacks),
        cmocka_unit_test(test_server_digest1),
        cmocka_unit_test(test_client_fallbacks),
        cmocka_unit_test(test_real_clients),
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_random_c1),
        cmocka_unit_test(test_new_fails_cleanly),
        cmocka_unit_test(test_hmac_failures),
    };
    return cmocka_run_group_tests_name("handshake", tests, setup_keys, NULL);
}
