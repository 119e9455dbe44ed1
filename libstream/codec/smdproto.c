/*
 * smdproto.c — the spd <-> smd registry protocol (see smdproto.h, docs/protocol.md).
 * Layer: above the command layer (command.c, AMF0 §2 of the AMF0 spec; RTMP 1.0 §7.1.1
 * command message), below the two state machines (smd/registry.c, spd/registry.c).
 *
 * One message, as the chunk stream delivers it (type 20, message stream 0):
 *
 *   02 00 08 "register"                    name
 *   00 <8-byte double> 7                   transaction id
 *   05                                     null command object
 *   03                                     object
 *      00 02 "id"   02 00 08 "live/cam"
 *      00 05 "since" 00 <1700000000.0>
 *      00 10 "takeover_idle_ms" 00 <5000.0>
 *   00 00 09                               object end
 *
 * The field table below is the single description of every field: its wire key, its
 * type, where it lives in struct ls_smd_msg and how it is validated. Decoding and
 * encoding both walk it, so they cannot disagree.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "libstream/amf.h"
#include "libstream/amf0.h"
#include "libstream/command.h"
#include "libstream/hex.h"
#include "libstream/hmac.h"
#include "libstream/rtmp.h"
#include "libstream/smdproto.h"

enum field_type { FT_STR, FT_NUM, FT_BOOL };
enum field_check {
    FC_NONE, FC_ID, FC_NODE, FC_ADDR, FC_SIG, FC_VERSION, FC_CODE, FC_TEXT, FC_NONCE, FC_ROLE
};

struct field {
    unsigned bit;
    const char *key;
    enum field_type type;
    size_t offset;           /* into struct ls_smd_msg */
    size_t cap;              /* FT_STR: size of the char array */
    enum field_check check;  /* FT_STR */
    uint64_t min, max;       /* FT_NUM */
};

#define STR_FIELD(b, k, member, chk) \
    { b, k, FT_STR, offsetof(struct ls_smd_msg, member), \
      sizeof(((struct ls_smd_msg *)0)->member), chk, 0, 0 }
#define NUM_FIELD(b, k, member, lo, hi) \
    { b, k, FT_NUM, offsetof(struct ls_smd_msg, member), 0, FC_NONE, lo, hi }

/* In wire order: the encoder writes present fields in this order. */
static const struct field fields[] = {
    STR_FIELD(LS_SMD_F_ID, "id", id, FC_ID),
    STR_FIELD(LS_SMD_F_NODE_ID, "node_id", node_id, FC_NODE),
    STR_FIELD(LS_SMD_F_ORIGIN, "origin", origin, FC_ADDR),
    NUM_FIELD(LS_SMD_F_TS, "ts", ts, 0, LS_SMD_UINT_MAX),
    STR_FIELD(LS_SMD_F_SIG, "sig", sig, FC_SIG),
    STR_FIELD(LS_SMD_F_VERSION, "version", version, FC_VERSION),
    NUM_FIELD(LS_SMD_F_GENERATION, "generation", generation, 1, LS_SMD_UINT_MAX),
    NUM_FIELD(LS_SMD_F_SINCE, "since", since, 0, LS_SMD_UINT_MAX),
    NUM_FIELD(LS_SMD_F_TAKEOVER_IDLE_MS, "takeover_idle_ms", takeover_idle_ms, 0,
              LS_SMD_UINT_MAX),
    NUM_FIELD(LS_SMD_F_IDLE_MS, "idle_ms", idle_ms, 0, LS_SMD_UINT_MAX),
    NUM_FIELD(LS_SMD_F_LEASE_SECONDS, "lease_seconds", lease_seconds, 1, 86400),
    STR_FIELD(LS_SMD_F_CODE, "code", code, FC_CODE),
    STR_FIELD(LS_SMD_F_DESCRIPTION, "description", description, FC_TEXT),
    { LS_SMD_F_REANNOUNCE, "reannounce", FT_BOOL, offsetof(struct ls_smd_msg, reannounce),
      0, FC_NONE, 0, 0 },
    STR_FIELD(LS_SMD_F_NONCE, "nonce", nonce, FC_NONCE),
    STR_FIELD(LS_SMD_F_ROLE, "role", role, FC_ROLE),
    NUM_FIELD(LS_SMD_F_REPORT_MS, "report_ms", report_ms, LS_SMD_REPORT_MS_MIN,
              LS_SMD_REPORT_MS_MAX),
};
_Static_assert(LS_SMD_SIG_HEX == LS_HMAC_HEX_LEN, "a hello sig is one HMAC-SHA256 in hex");

#define NFIELDS (sizeof fields / sizeof fields[0])

struct kind_info {
    const char *name;
    unsigned required, allowed;
    bool notification; /* txid 0 */
};

static const struct kind_info kinds[LS_SMD_KIND_COUNT] = {
    [LS_SMD_UNKNOWN] = { "unknown", 0, 0, false },
    [LS_SMD_HELLO] = { "hello",
        LS_SMD_F_NODE_ID | LS_SMD_F_ORIGIN | LS_SMD_F_TS | LS_SMD_F_SIG | LS_SMD_F_VERSION,
        LS_SMD_F_NODE_ID | LS_SMD_F_ORIGIN | LS_SMD_F_TS | LS_SMD_F_SIG | LS_SMD_F_VERSION |
            LS_SMD_F_NONCE | LS_SMD_F_ROLE,
        false },
    [LS_SMD_REGISTER] = { "register", LS_SMD_F_ID | LS_SMD_F_TAKEOVER_IDLE_MS,
        LS_SMD_F_ID | LS_SMD_F_TAKEOVER_IDLE_MS | LS_SMD_F_SINCE | LS_SMD_F_REANNOUNCE,
        false },
    [LS_SMD_UNREGISTER] = { "unregister", LS_SMD_F_ID | LS_SMD_F_GENERATION,
        LS_SMD_F_ID | LS_SMD_F_GENERATION, false },
    [LS_SMD_LOOKUP] = { "lookup", LS_SMD_F_ID, LS_SMD_F_ID, false },
    [LS_SMD_WATCH] = { "watch", LS_SMD_F_ID, LS_SMD_F_ID, false },
    [LS_SMD_UNWATCH] = { "unwatch", LS_SMD_F_ID, LS_SMD_F_ID, false },
    [LS_SMD_PING] = { "ping", 0, 0, false },
    [LS_SMD_PROBE] = { "probe", LS_SMD_F_ID, LS_SMD_F_ID, false },
    [LS_SMD_REVOKED] = { "revoked", LS_SMD_F_ID | LS_SMD_F_GENERATION,
        LS_SMD_F_ID | LS_SMD_F_GENERATION, true },
    [LS_SMD_REGISTERED] = { "registered",
        LS_SMD_F_ID | LS_SMD_F_ORIGIN | LS_SMD_F_NODE_ID | LS_SMD_F_GENERATION,
        LS_SMD_F_ID | LS_SMD_F_ORIGIN | LS_SMD_F_NODE_ID | LS_SMD_F_GENERATION, true },
    [LS_SMD_RESULT] = { "_result", 0, LS_SMD_F_ALL, false },
    [LS_SMD_ERROR] = { "_error", LS_SMD_F_CODE, LS_SMD_F_ALL, false },
    [LS_SMD_CHALLENGE] = { "challenge", LS_SMD_F_NONCE | LS_SMD_F_NODE_ID | LS_SMD_F_VERSION,
        LS_SMD_F_NONCE | LS_SMD_F_NODE_ID | LS_SMD_F_VERSION, true },
    [LS_SMD_RESYNC] = { "resync", 0, 0, true },
};

/* AMF decoder bounds for one message: name, txid, null, an object of flat fields. */
static const struct ls_amf_limits smd_amf_limits = {
    .max_depth = 2,
    .max_nodes = 64,
    .max_string = 1024,
    .max_bytes = 8192,
};

static bool valid_kind(enum ls_smd_kind kind)
{
    return (unsigned)kind > LS_SMD_UNKNOWN && (unsigned)kind < LS_SMD_KIND_COUNT;
}

const char *ls_smd_kind_name(enum ls_smd_kind kind)
{
    return valid_kind(kind) ? kinds[kind].name : "unknown";
}

unsigned ls_smd_required_fields(enum ls_smd_kind kind)
{
    return valid_kind(kind) ? kinds[kind].required : 0;
}

unsigned ls_smd_allowed_fields(enum ls_smd_kind kind)
{
    return valid_kind(kind) ? kinds[kind].allowed : 0;
}

void ls_smd_msg_init(struct ls_smd_msg *m, enum ls_smd_kind kind, uint32_t txid)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->txid = txid;
}

static const struct field *field_by_bit(unsigned bit)
{
    size_t i;

    for (i = 0; i < NFIELDS; i++)
        if (fields[i].bit == bit)
            return &fields[i];
    return NULL;
}

int ls_smd_set_str(struct ls_smd_msg *m, unsigned bit, const char *s)
{
    const struct field *f = field_by_bit(bit);
    size_t n;

    if (f == NULL || f->type != FT_STR || s == NULL)
        return LS_EINVAL;
    n = strlen(s);
    if (n >= f->cap)
        return LS_EINVAL;
    memcpy((char *)m + f->offset, s, n + 1);
    m->fields |= bit;
    return LS_OK;
}

int ls_smd_set_num(struct ls_smd_msg *m, unsigned bit, uint64_t v)
{
    const struct field *f = field_by_bit(bit);

    if (f == NULL || f->type != FT_NUM)
        return LS_EINVAL;
    memcpy((char *)m + f->offset, &v, sizeof v);
    m->fields |= bit;
    return LS_OK;
}

/* ---- validation (shared by decode and encode) ---- */

static bool node_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool ls_smd_node_id_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    for (n = 0; s[n] != '\0'; n++)
        if (n >= LS_SMD_NODE_ID_MAX || !node_char(s[n]))
            return false;
    return n > 0;
}

static bool hex_char(char c) { return ls_hex_value(c) >= 0; }
static bool version_char(char c) { return c >= 0x21 && c <= 0x7e; }
static bool code_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* True when `ok` accepts each of the n bytes at s. */
static bool all_chars(const char *s, size_t n, bool (*ok)(char c))
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!ok(s[i]))
            return false;
    return true;
}

/* `s` is NUL-terminated and shorter than its field's cap (the caller checked). */
static bool check_string(enum field_check check, const char *s, const char **why)
{
    struct ls_stream_ref ref;
    struct ls_addr addr;
    size_t n = strlen(s);
    const char *bad = NULL;

    switch (check) {
    case FC_ID:
        bad = ls_streamid_parse_id(s, &ref, NULL) != LS_OK ? "invalid stream id" : NULL;
        break;
    case FC_NODE:
        bad = !ls_smd_node_id_valid(s) ? "invalid node_id" : NULL;
        break;
    case FC_ADDR:
        bad = n == 0 || ls_addr_parse(s, false, &addr) != LS_OK ? "invalid host:port" : NULL;
        break;
    case FC_SIG:
        bad = n != LS_SMD_SIG_HEX || !all_chars(s, n, hex_char) ? "sig is not 64 hex digits"
                                                               : NULL;
        break;
    case FC_VERSION:
        bad = n == 0 || !all_chars(s, n, version_char) ? "invalid version" : NULL;
        break;
    case FC_CODE:
        bad = n == 0 || !all_chars(s, n, code_char) ? "invalid error code" : NULL;
        break;
    case FC_NONCE:
        bad = n != LS_SMD_NONCE_HEX || !all_chars(s, n, hex_char) ? "nonce is not 32 hex digits"
                                                                 : NULL;
        break;
    case FC_ROLE:
        bad = strcmp(s, "spd") != 0 && strcmp(s, "epd") != 0 ? "role is not spd or epd" : NULL;
        break;
    case FC_TEXT:
    case FC_NONE:
        break;
    }
    if (bad != NULL)
        LS_WHY(why, bad);
    return bad == NULL;
}

static bool check_number(const struct field *f, uint64_t v, const char **why)
{
    if (v < f->min || v > f->max) {
        LS_WHY(why, "number out of range");
        return false;
    }
    return true;
}

static bool check_txid(enum ls_smd_kind kind, uint32_t txid, const char **why)
{
    if (kind == LS_SMD_UNKNOWN)
        return true;
    if (kinds[kind].notification ? txid != 0 : txid == 0) {
        LS_WHY(why, kinds[kind].notification ? "notification with a transaction id"
                                             : "request or answer without a transaction id");
        return false;
    }
    return true;
}

/* ---- encoding ---- */

static const char *wire_key(const struct field *f, enum ls_smd_kind kind)
{
    return f->bit == LS_SMD_F_ORIGIN && kind == LS_SMD_HELLO ? "advertise" : f->key;
}

/* Validates everything ls_smd_decode would, so what we send, the peer accepts. */
static int encode_check(const struct ls_smd_msg *m)
{
    size_t i;

    if (!valid_kind(m->kind) || !check_txid(m->kind, m->txid, NULL))
        return LS_EINVAL;
    if ((m->fields & kinds[m->kind].required) != kinds[m->kind].required ||
        (m->fields & ~kinds[m->kind].allowed) != 0)
        return LS_EINVAL;
    for (i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        const char *p = (const char *)m + f->offset;

        if ((m->fields & f->bit) == 0)
            continue;
        if (f->type == FT_STR) {
            if (memchr(p, '\0', f->cap) == NULL || !check_string(f->check, p, NULL))
                return LS_EINVAL;
        } else if (f->type == FT_NUM) {
            uint64_t v;

            memcpy(&v, p, sizeof v);
            if (!check_number(f, v, NULL))
                return LS_EINVAL;
        }
    }
    return LS_OK;
}

int ls_smd_encode(struct ls_buf *b, const struct ls_smd_msg *m)
{
    size_t i;
    int rc = encode_check(m);

    if (rc != LS_OK)
        return rc;
    ls_amf0_write_cstring(b, kinds[m->kind].name);
    ls_amf0_write_number(b, (double)m->txid);
    ls_amf0_write_null(b);
    ls_amf0_write_object_begin(b);
    for (i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        const char *p = (const char *)m + f->offset;

        if ((m->fields & f->bit) == 0)
            continue;
        ls_amf0_write_ckey(b, wire_key(f, m->kind));
        if (f->type == FT_STR) {
            ls_amf0_write_cstring(b, p);
        } else if (f->type == FT_NUM) {
            uint64_t v;

            memcpy(&v, p, sizeof v);
            ls_amf0_write_number(b, (double)v);
        } else {
            ls_amf0_write_bool(b, m->reannounce);
        }
    }
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

/* ---- decoding ---- */

static enum ls_smd_kind kind_by_name(const struct ls_command *cmd)
{
    unsigned k;

    for (k = LS_SMD_UNKNOWN + 1; k < LS_SMD_KIND_COUNT; k++)
        if (ls_command_is(cmd, kinds[k].name))
            return (enum ls_smd_kind)k;
    return LS_SMD_UNKNOWN;
}

/* A double that is an exact integer in [0, max]. */
static bool as_uint(double d, uint64_t max, uint64_t *out)
{
    if (!(d >= 0) || d > (double)max || d != (double)(uint64_t)d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static int decode_field(const struct field *f, const struct ls_amf_value *v, enum ls_smd_kind kind,
                        struct ls_smd_msg *out, const char **why)
{
    char *p = (char *)out + f->offset;

    (void)kind;
    switch (f->type) {
    case FT_STR:
        if (v->type != LS_AMF_STRING) {
            LS_WHY(why, "string field of another type");
            return LS_EPROTO;
        }
        if (v->u.str.len >= f->cap || strlen(v->u.str.ptr) != v->u.str.len) {
            LS_WHY(why, "string field too long or holding NUL");
            return LS_EPROTO;
        }
        memcpy(p, v->u.str.ptr, v->u.str.len + 1);
        if (!check_string(f->check, p, why))
            return LS_EPROTO;
        break;
    case FT_NUM: {
        double d;
        uint64_t u;

        if (v->type != LS_AMF_NUMBER) {
            LS_WHY(why, "number field of another type");
            return LS_EPROTO;
        }
        d = v->u.number;
        if (!as_uint(d, LS_SMD_UINT_MAX, &u)) {
            LS_WHY(why, "number field is not an integer 0..2^53-1");
            return LS_EPROTO;
        }
        if (!check_number(f, u, why))
            return LS_EPROTO;
        memcpy(p, &u, sizeof u);
        break;
    }
    case FT_BOOL:
        if (v->type != LS_AMF_BOOLEAN) {
            LS_WHY(why, "boolean field of another type");
            return LS_EPROTO;
        }
        out->reannounce = v->u.boolean;
        break;
    }
    out->fields |= f->bit;
    return LS_OK;
}

ssize_t ls_smd_decode(const uint8_t *p, size_t len, struct ls_smd_msg *out, const char **why)
{
    struct ls_command cmd;
    const struct ls_amf_value *obj;
    ssize_t rc;
    uint64_t txid;
    size_t i;

    memset(out, 0, sizeof *out);
    if (len > LS_SMD_MESSAGE_MAX) {
        LS_WHY(why, "message too large");
        return LS_ELIMIT;
    }
    rc = ls_command_decode(p, len, false, &smd_amf_limits, &cmd, why);
    if (rc < 0)
        return rc;
    rc = LS_EPROTO;
    if (!as_uint(cmd.transaction_id, UINT32_MAX, &txid)) {
        LS_WHY(why, "transaction id is not an integer 0..2^32-1");
        goto out;
    }
    out->kind = kind_by_name(&cmd);
    out->txid = (uint32_t)txid;
    if (out->kind == LS_SMD_UNKNOWN) {
        rc = (ssize_t)len;
        goto out;
    }
    if (cmd.command_object.type != LS_AMF_NULL || cmd.nargs != 1 ||
        cmd.args[0].type != LS_AMF_OBJECT) {
        LS_WHY(why, "not name, txid, null, object");
        goto out;
    }
    if (!check_txid(out->kind, out->txid, why))
        goto out;
    obj = &cmd.args[0];
    for (i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        const struct ls_amf_value *v;

        if ((kinds[out->kind].allowed & f->bit) == 0)
            continue;
        v = ls_amf_get(obj, wire_key(f, out->kind));
        if (v == NULL)
            continue;
        if (decode_field(f, v, out->kind, out, why) != LS_OK)
            goto out;
    }
    if ((out->fields & kinds[out->kind].required) != kinds[out->kind].required) {
        LS_WHY(why, "required field missing");
        goto out;
    }
    rc = (ssize_t)len;
out:
    ls_command_free(&cmd);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int ls_smd_decode_frame(const struct ls_frame *f, struct ls_smd_msg *out, const char **why)
{
    ssize_t rc;

    if (f->type != LS_MSG_COMMAND_AMF0 || f->stream_id != 0) {
        memset(out, 0, sizeof *out);
        LS_WHY(why, "not a type-20 command on stream 0");
        return LS_EPROTO;
    }
    rc = ls_smd_decode(f->data, f->len, out, why);
    return rc < 0 ? (int)rc : LS_OK;
}

/* ---- hello signature ---- */

int ls_smd_hello_sign(const char *secret, const char *node_id, const char *advertise,
                      uint64_t ts, const char *nonce, const char *smd_node,
                      char out[LS_SMD_SIG_HEX + 1])
{
    char text[2 * LS_SMD_NODE_ID_MAX + LS_ADDR_STRLEN + LS_SMD_NONCE_HEX + 40];
    char key[LS_HMAC_HEX_LEN + 1];
    int n, rc;

    if (secret == NULL || node_id == NULL || advertise == NULL || nonce == NULL ||
        smd_node == NULL || out == NULL || strlen(node_id) > LS_SMD_NODE_ID_MAX ||
        strlen(advertise) >= LS_ADDR_STRLEN || strlen(nonce) > LS_SMD_NONCE_HEX ||
        strlen(smd_node) > LS_SMD_NODE_ID_MAX)
        return LS_EINVAL;
    n = snprintf(text, sizeof text, "hello:%s:%s:%llu:%s:%s", node_id, advertise,
                 (unsigned long long)ts, nonce, smd_node);
    if (n < 0 || (size_t)n >= sizeof text)
        return LS_EINVAL;
    rc = ls_hmac_derive_key(secret, LS_SMD_KEY_LABEL, key);
    if (rc == LS_OK)
        rc = ls_hmac_sha256_hex(key, text, (size_t)n, out);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int ls_smd_hello_verify(const char *secret, const struct ls_smd_msg *hello, const char *nonce,
                        const char *smd_node, uint64_t now, const char **why)
{
    char want[LS_SMD_SIG_HEX + 1], got[LS_SMD_SIG_HEX + 1];
    uint64_t skew;

    if (hello->kind != LS_SMD_HELLO ||
        (hello->fields & kinds[LS_SMD_HELLO].required) != kinds[LS_SMD_HELLO].required) {
        LS_WHY(why, "not a hello");
        return LS_EAUTH;
    }
    if (secret == NULL || secret[0] == '\0')
        return LS_OK;
    if ((hello->fields & LS_SMD_F_NONCE) == 0) {
        LS_WHY(why, "no nonce (protocol version 1?)");
        return LS_EAUTH;
    }
    /* Nonces are not secret: a plain comparison tells nothing an observer lacks. */
    if (nonce == NULL || strcmp(hello->nonce, nonce) != 0) {
        LS_WHY(why, "nonce of another connection");
        return LS_EAUTH;
    }
    skew = hello->ts > now ? hello->ts - now : now - hello->ts;
    if (skew > LS_SMD_MAX_SKEW_S) {
        LS_WHY(why, "timestamp out of range");
        return LS_EAUTH;
    }
    /* Either case is accepted: compare lower-case against lower-case, in constant time. */
    if (ls_smd_hello_sign(secret, hello->node_id, hello->origin, hello->ts, nonce,
                          smd_node != NULL ? smd_node : "", want) != LS_OK ||
        strlen(hello->sig) != LS_SMD_SIG_HEX || !ls_hex_lower(hello->sig, LS_SMD_SIG_HEX, got) ||
        CRYPTO_memcmp(got, want, LS_SMD_SIG_HEX) != 0) {
        LS_WHY(why, "bad signature");
        return LS_EAUTH;
    }
    return LS_OK;
}
