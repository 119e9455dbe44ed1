/*
 * smdproto.h — the registry protocol between spd (client) and smd (server): message
 * builders and parsers, and the hello signature (docs/protocol.md; docs/architecture.md
 * decision 6).
 *
 * Framing is libstream's own: an RTMP handshake, then the chunk stream carrying AMF0
 * command messages (type 20, message stream 0) of exactly this shape:
 *
 *   name (string)  transaction id (number)  null  { one object of named fields }
 *
 *   smd -> spd   challenge (first, unasked: the nonce hello must sign)   txid 0
 *   spd -> smd   hello register unregister lookup watch unwatch ping      txid >= 1
 *   smd -> spd   probe                                                    txid >= 1
 *   smd -> spd   revoked registered resync                                txid 0
 *   node -> smd  report (smdreport.h: its own codec, the body is large)   txid 0
 *   both         _result _error (answer to the request with that txid)    txid >= 1
 *
 * A message is a fixed-size struct ls_smd_msg: no allocation survives a call, and every
 * string is bounded and validated both when it is parsed and when it is built, so a
 * message that decodes re-encodes to the same bytes and a message that encodes decodes.
 * Fields a message does not use are ignored on input (forward compatibility) and refused
 * on output. Everything here is pure computation (the hello signature included);
 * connection settings and sending are smdlink.h.
 */
#ifndef LIBSTREAM_SMDPROTO_H
#define LIBSTREAM_SMDPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/addr.h"
#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/streamid.h"

/* Protocol version sent in challenge and hello. 2: the challenge, derived keys. 3: the
 * node's role in hello, reports (smdreport.h) and resync (docs/protocol.md "Version 3"). */
#define LS_SMD_VERSION "3"
/* hello role: "spd" (also when absent: a node of version 2) or "epd". */
#define LS_SMD_ROLE_MAX 7
/* report_ms in the hello answer: how often a node reports at most. */
#define LS_SMD_REPORT_MS_MIN 100
#define LS_SMD_REPORT_MS_MAX 60000
/* HKDF label of the registry key (hmac.h): never the pulls'. */
#define LS_SMD_KEY_LABEL "livecluster registry v2"
/* challenge/hello nonce: 32 hex digits (nonce.h). */
#define LS_SMD_NONCE_HEX 32
/* node_id: 1..63 characters of [A-Za-z0-9_.-]. */
#define LS_SMD_NODE_ID_MAX 63
/* _error code: 1..31 characters of [A-Za-z]. */
#define LS_SMD_CODE_MAX 31
/* hello version: 1..31 printable ASCII characters. */
#define LS_SMD_VERSION_MAX 31
/* _error description: 0..127 bytes, no NUL (free text for logs). */
#define LS_SMD_DESCRIPTION_MAX 127
/* hello sig: hex HMAC-SHA256, 64 hex digits. */
#define LS_SMD_SIG_HEX 64
/* A hello's ts must lie within this many seconds of the receiver's clock. */
#define LS_SMD_MAX_SKEW_S 300
/* Numbers travel as AMF0 doubles: integers up to 2^53 - 1 are exact. */
#define LS_SMD_UINT_MAX 9007199254740991ull
/* Largest message payload either side accepts (its chunk reader's max_message_size);
 * the largest valid message is well under 1 KiB. */
#define LS_SMD_MESSAGE_MAX 4096u

/* Error codes of _error {code}. */
#define LS_SMD_CODE_BUSY "Busy"               /* register: the id is owned elsewhere */
#define LS_SMD_CODE_NOT_FOUND "NotFound"      /* lookup/unregister/probe: no such id */
#define LS_SMD_CODE_STALE "Stale"             /* unregister: not the current generation */
#define LS_SMD_CODE_UNAUTHORIZED "Unauthorized" /* hello refused (then the smd closes) */
#define LS_SMD_CODE_LIMIT "Limit"             /* a per-session bound was hit */
#define LS_SMD_CODE_UNSUPPORTED "Unsupported" /* unknown command */
#define LS_SMD_CODE_INVALID "Invalid"         /* request invalid in this state */

enum ls_smd_kind {
    LS_SMD_UNKNOWN = 0, /* a well-formed command of another name (answer Unsupported) */
    LS_SMD_HELLO,
    LS_SMD_REGISTER,
    LS_SMD_UNREGISTER,
    LS_SMD_LOOKUP,
    LS_SMD_WATCH,
    LS_SMD_UNWATCH,
    LS_SMD_PING,
    LS_SMD_PROBE,
    LS_SMD_REVOKED,
    LS_SMD_REGISTERED,
    LS_SMD_RESULT,
    LS_SMD_ERROR,
    LS_SMD_CHALLENGE,
    LS_SMD_RESYNC,      /* smd -> node: send a full report next (version 3) */
    LS_SMD_KIND_COUNT
};

/* Field bits of struct ls_smd_msg.fields; the wire key follows each. */
#define LS_SMD_F_ID              (1u << 0)  /* "id"           stream id APP/NAME */
#define LS_SMD_F_NODE_ID         (1u << 1)  /* "node_id" */
#define LS_SMD_F_ORIGIN          (1u << 2)  /* "origin" ("advertise" in hello): host:port */
#define LS_SMD_F_TS              (1u << 3)  /* "ts"           UNIX seconds */
#define LS_SMD_F_SIG             (1u << 4)  /* "sig" */
#define LS_SMD_F_VERSION         (1u << 5)  /* "version" */
#define LS_SMD_F_GENERATION      (1u << 6)  /* "generation"   >= 1 */
#define LS_SMD_F_SINCE           (1u << 7)  /* "since"        UNIX seconds */
#define LS_SMD_F_TAKEOVER_IDLE_MS (1u << 8) /* "takeover_idle_ms" */
#define LS_SMD_F_IDLE_MS         (1u << 9)  /* "idle_ms" */
#define LS_SMD_F_LEASE_SECONDS   (1u << 10) /* "lease_seconds" 1..86400 */
#define LS_SMD_F_CODE            (1u << 11) /* "code" */
#define LS_SMD_F_DESCRIPTION     (1u << 12) /* "description" */
#define LS_SMD_F_REANNOUNCE      (1u << 13) /* "reannounce"   boolean */
#define LS_SMD_F_NONCE           (1u << 14) /* "nonce"        32 hex digits */
#define LS_SMD_F_ROLE            (1u << 15) /* "role"         "spd" | "epd" (hello, v3) */
#define LS_SMD_F_REPORT_MS       (1u << 16) /* "report_ms"    100..60000 (hello answer, v3) */
#define LS_SMD_F_ALL             ((1u << 17) - 1)

/*
 * One protocol message. Strings are NUL-terminated inside the struct; numbers are
 * integers 0..LS_SMD_UINT_MAX. `fields` says which members are present: only those are
 * encoded, and after decoding only those hold values (the rest are zero).
 */
struct ls_smd_msg {
    enum ls_smd_kind kind;
    uint32_t txid;
    unsigned fields;
    char id[LS_STREAM_ID_MAX + 1];
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char origin[LS_ADDR_STRLEN];
    char sig[LS_SMD_SIG_HEX + 1];
    char version[LS_SMD_VERSION_MAX + 1];
    char code[LS_SMD_CODE_MAX + 1];
    char description[LS_SMD_DESCRIPTION_MAX + 1];
    char nonce[LS_SMD_NONCE_HEX + 1];
    char role[LS_SMD_ROLE_MAX + 1];
    uint64_t ts;
    uint64_t generation;
    uint64_t since;
    uint64_t takeover_idle_ms;
    uint64_t idle_ms;
    uint64_t lease_seconds;
    uint64_t report_ms;
    bool reannounce;
};

/* Static wire name of a kind ("hello", "_result"); "unknown" for LS_SMD_UNKNOWN or junk. */
const char *ls_smd_kind_name(enum ls_smd_kind kind);

/*
 * Fields a kind requires and the fields it may carry (_result and _error may carry any;
 * _error requires code):
 *   challenge   nonce node_id version (smd's)
 *   hello       node_id origin(advertise) ts sig version [nonce role]
 *   register    id takeover_idle_ms               [since reannounce]
 *   unregister  id generation
 *   lookup, watch, unwatch, probe                 id
 *   ping                                          (none)
 *   revoked     id generation
 *   registered  id origin node_id generation
 *   resync                                        (none)
 * Both return 0 for LS_SMD_UNKNOWN and out-of-range kinds.
 */
unsigned ls_smd_required_fields(enum ls_smd_kind kind);
unsigned ls_smd_allowed_fields(enum ls_smd_kind kind);

/* Clears *m and sets its kind and transaction id. */
void ls_smd_msg_init(struct ls_smd_msg *m, enum ls_smd_kind kind, uint32_t txid);

/*
 * Sets one string field (LS_SMD_F_ID, NODE_ID, ORIGIN, SIG, VERSION, CODE, DESCRIPTION,
 * NONCE or ROLE) to a copy of `s` and marks it present. Returns LS_OK, or LS_EINVAL when
 * `bit` is not one string field or `s` is NULL or does not fit (the field is then left
 * absent). Content is validated by ls_smd_encode, not here. The result may be ignored:
 * a required field that failed to set makes ls_smd_encode refuse the message.
 */
int ls_smd_set_str(struct ls_smd_msg *m, unsigned bit, const char *s);
/* Sets one number field (TS, GENERATION, SINCE, TAKEOVER_IDLE_MS, IDLE_MS,
 * LEASE_SECONDS, REPORT_MS) and marks it present. LS_EINVAL for another bit (nothing set). */
int ls_smd_set_num(struct ls_smd_msg *m, unsigned bit, uint64_t v);

/* True for 1..LS_SMD_NODE_ID_MAX characters of [A-Za-z0-9_.-]. */
bool ls_smd_node_id_valid(const char *s);

/*
 * Appends the command message payload (name, txid, null, object) for *m to `b`.
 * Returns LS_OK; LS_EINVAL when the kind is LS_SMD_UNKNOWN or out of range, a required
 * field is missing, a field the kind does not allow is present, a field fails the
 * validation ls_smd_decode applies, or the txid breaks the kind's rule (0 for challenge,
 * revoked, registered and resync, >= 1 for everything else) — nothing is appended then; or the buffer's
 * sticky error (LS_ENOMEM, LS_ELIMIT).
 */
LS_MUST_CHECK int ls_smd_encode(struct ls_buf *b, const struct ls_smd_msg *m);

/*
 * Decodes one command message payload (a whole type-20 message) into *out (which need
 * not be initialised; it is zeroed first). Returns `len` (> 0), or:
 *   LS_EPROTO  malformed AMF0, not name/txid/null/object, a txid that is not an integer
 *              0..2^32-1 or breaks the kind's rule, a missing required field, a field of
 *              the wrong type, or a field value that fails validation (bad stream id,
 *              bad node id, bad address, number not an integer 0..2^53-1, ...)
 *   LS_ELIMIT  the payload exceeds LS_SMD_MESSAGE_MAX, or the AMF decoder's bounds
 *              (depth 2, 64 values, 1 KiB strings)
 *   LS_ENOMEM
 * A well-formed command with an unknown name decodes as LS_SMD_UNKNOWN (txid kept, no
 * fields), so the receiver can answer Unsupported. Fields the kind does not use are
 * ignored, even when malformed. No LS_AGAIN: the payload is a whole message. On error
 * *out is zeroed and the optional *why names the reason (static string).
 */
LS_MUST_CHECK ssize_t ls_smd_decode(const uint8_t *p, size_t len, struct ls_smd_msg *out,
                                    const char **why);

/*
 * As ls_smd_decode, for a received frame: LS_EPROTO unless it is a type-20 command on
 * message stream 0. Returns LS_OK or the negative code. `f` is borrowed.
 */
LS_MUST_CHECK int ls_smd_decode_frame(const struct ls_frame *f, struct ls_smd_msg *out,
                                      const char **why);

/*
 * Writes the hello signature, lower-case hex of HMAC-SHA256(K_reg,
 * "hello:NODE:ADVERTISE:TS:NONCE:SMD") with K_reg = ls_hmac_derive_key(secret,
 * LS_SMD_KEY_LABEL), NUL-terminated, into out[LS_SMD_SIG_HEX + 1]. NONCE and SMD are the
 * challenge's nonce and node_id: the signature is good on that connection to that smd
 * only. `secret` may be "" (an unauthenticated cluster still sends a signature). Returns
 * LS_OK, or LS_EINVAL for NULL arguments or strings longer than the messages allow, or
 * LS_ENOMEM when the HMAC computation fails.
 */
LS_MUST_CHECK int ls_smd_hello_sign(const char *secret, const char *node_id,
                                    const char *advertise, uint64_t ts, const char *nonce,
                                    const char *smd_node, char out[LS_SMD_SIG_HEX + 1]);

/*
 * Checks a decoded hello at time `now` (UNIX seconds), received on the connection whose
 * challenge was `nonce`, by the smd named `smd_node`. With an empty or NULL `secret` every
 * hello passes (the cluster is unauthenticated). Otherwise LS_OK only when the hello
 * carries that nonce, ts is within LS_SMD_MAX_SKEW_S of now and sig (either case) matches,
 * compared in constant time; else LS_EAUTH with *why "not a hello", "no nonce (protocol
 * version 1?)", "nonce of another connection", "timestamp out of range" or "bad
 * signature".
 */
LS_MUST_CHECK int ls_smd_hello_verify(const char *secret, const struct ls_smd_msg *hello,
                                      const char *nonce, const char *smd_node, uint64_t now,
                                      const char **why);

#endif /* LIBSTREAM_SMDPROTO_H */
