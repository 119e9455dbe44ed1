/*
 * smdreport.c — cluster reports of the registry protocol (see smdreport.h,
 * docs/protocol.md "Reports"). Layer: beside smdproto.c, above the command layer
 * (command.c) for the envelope; the body is a line format of its own:
 *
 *   "report" 0 null {full: true, more: false, body: "n connections=3 cpu_ms=120 ...\n
 *                                                     s live/cam 12 1048576\n
 *                                                     x live/old\n"}
 *
 * Reading checks each line as it goes and never allocates: a stream line costs one copy
 * of its id, the id's validation and two number parses.
 */
#include <string.h>

#include "libstream/amf.h"
#include "libstream/amf0.h"
#include "libstream/command.h"
#include "libstream/smdreport.h"

#define REPORT_UINT_MAX 9007199254740991ull /* 2^53 - 1: exact as an AMF0 number */

/* The envelope: name, txid, null, one object of three scalar fields and the body. */
static const struct ls_amf_limits report_amf_limits = {
    .max_depth = 2,
    .max_nodes = 16,
    .max_string = LS_SMD_REPORT_BODY_MAX,
    .max_bytes = 2 * LS_SMD_REPORT_MAX,
};

bool ls_smd_report_is(const uint8_t *p, size_t len)
{
    static const uint8_t name[] = { 0x02, 0x00, 0x06, 'r', 'e', 'p', 'o', 'r', 't' };

    return len >= sizeof name && memcmp(p, name, sizeof name) == 0;
}

void ls_smd_report_clear(struct ls_smd_report *r)
{
    ls_command_free(&r->_cmd);
    memset(r, 0, sizeof *r);
}

/* An optional boolean field: absent = false; another type = malformed. */
static bool get_flag(const struct ls_amf_value *obj, const char *key, bool *out)
{
    const struct ls_amf_value *v = ls_amf_get(obj, key);

    *out = false;
    if (v == NULL)
        return true;
    if (v->type != LS_AMF_BOOLEAN)
        return false;
    *out = v->u.boolean;
    return true;
}

ssize_t ls_smd_report_decode(const uint8_t *p, size_t len, struct ls_smd_report *out,
                             const char **why)
{
    const struct ls_amf_value *obj, *body;
    ssize_t rc;

    memset(out, 0, sizeof *out);
    if (len > LS_SMD_REPORT_MAX) {
        LS_WHY(why, "report too large");
        return LS_ELIMIT;
    }
    rc = ls_command_decode(p, len, false, &report_amf_limits, &out->_cmd, why);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = LS_EPROTO;
    if (!ls_command_is(&out->_cmd, LS_SMD_REPORT_NAME) || out->_cmd.transaction_id != 0 ||
        out->_cmd.command_object.type != LS_AMF_NULL || out->_cmd.nargs != 1 ||
        out->_cmd.args[0].type != LS_AMF_OBJECT) {
        LS_WHY(why, "report: not \"report\", 0, null, object");
        goto fail;
    }
    obj = &out->_cmd.args[0];
    body = ls_amf_get(obj, "body");
    if (body == NULL || body->type != LS_AMF_STRING ||
        strlen(body->u.str.ptr) != body->u.str.len) {
        LS_WHY(why, "report: body missing, not a string, or holding a NUL");
        goto fail;
    }
    if (!get_flag(obj, "full", &out->full) || !get_flag(obj, "more", &out->more)) {
        LS_WHY(why, "report: full or more is not a boolean");
        goto fail;
    }
    out->body = body->u.str.ptr;
    out->body_len = body->u.str.len;
    return (ssize_t)len;
fail:
    ls_smd_report_clear(out);
    return rc;
}

int ls_smd_report_encode(struct ls_buf *b, bool full, bool more, const char *body, size_t len)
{
    if (len > LS_SMD_REPORT_BODY_MAX || (len > 0 && memchr(body, '\0', len) != NULL))
        return LS_EINVAL;
    ls_amf0_write_cstring(b, LS_SMD_REPORT_NAME);
    ls_amf0_write_number(b, 0);
    ls_amf0_write_null(b);
    ls_amf0_write_object_begin(b);
    if (full) {
        ls_amf0_write_ckey(b, "full");
        ls_amf0_write_bool(b, true);
    }
    if (more) {
        ls_amf0_write_ckey(b, "more");
        ls_amf0_write_bool(b, true);
    }
    ls_amf0_write_ckey(b, "body");
    ls_amf0_write_string(b, len > 0 ? body : "", len);
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

/* ---- building ---- */

static void put_str(struct ls_buf *b, const char *s) { ls_buf_append(b, s, strlen(s)); }

static void put_uint(struct ls_buf *b, uint64_t v)
{
    char t[24];
    size_t n = sizeof t;

    if (v > REPORT_UINT_MAX)
        v = REPORT_UINT_MAX;
    do {
        t[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    ls_buf_append(b, t + n, sizeof t - n);
}

void ls_smd_report_put_stream(struct ls_buf *b, const char *id, uint64_t viewers,
                              uint64_t bytes_out)
{
    put_str(b, "s ");
    put_str(b, id);
    ls_buf_put_u8(b, ' ');
    put_uint(b, viewers);
    ls_buf_put_u8(b, ' ');
    put_uint(b, bytes_out);
    ls_buf_put_u8(b, '\n');
}

void ls_smd_report_put_gone(struct ls_buf *b, const char *id)
{
    put_str(b, "x ");
    put_str(b, id);
    ls_buf_put_u8(b, '\n');
}

void ls_smd_report_node_begin(struct ls_buf *b)
{
    ls_buf_put_u8(b, 'n');
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
static bool value_char(char c) { return c > 0x20 && c < 0x7f && c != '='; }

static bool token_valid(const char *s, size_t max, bool (*ok)(char c))
{
    size_t n;

    for (n = 0; s[n] != '\0'; n++)
        if (n >= max || !ok(s[n]))
            return false;
    return n > 0;
}

static void put_key(struct ls_buf *b, const char *key)
{
    ls_buf_put_u8(b, ' ');
    put_str(b, token_valid(key, LS_SMD_REPORT_KEY_MAX, key_char) ? key : "invalid");
    ls_buf_put_u8(b, '=');
}

void ls_smd_report_node_num(struct ls_buf *b, const char *key, uint64_t v)
{
    put_key(b, key);
    put_uint(b, v);
}

void ls_smd_report_node_str(struct ls_buf *b, const char *key, const char *v)
{
    put_key(b, key);
    put_str(b, v != NULL && token_valid(v, LS_SMD_REPORT_VALUE_MAX, value_char) ? v : "-");
}

void ls_smd_report_node_end(struct ls_buf *b)
{
    ls_buf_put_u8(b, '\n');
}

/* ---- reading ---- */

void ls_smd_report_iter_init(struct ls_smd_report_iter *it, const char *body, size_t len)
{
    it->p = body;
    it->end = body + len;
}

/* A decimal number 0..2^53-1 of exactly the n bytes at s. */
static bool parse_uint(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 16)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > REPORT_UINT_MAX)
        return false;
    *out = v;
    return true;
}

/* Splits the next space-separated field off [*p, end): its start and length. */
static bool next_field(const char **p, const char *end, const char **f, size_t *n)
{
    const char *s = *p, *e;

    if (s >= end || *s != ' ')
        return false;
    s++;
    e = memchr(s, ' ', (size_t)(end - s));
    if (e == NULL)
        e = end;
    *f = s;
    *n = (size_t)(e - s);
    *p = e;
    return *n > 0;
}

static bool parse_id(const char *f, size_t n, char *out)
{
    struct ls_stream_ref ref;

    if (n > LS_STREAM_ID_MAX)
        return false;
    memcpy(out, f, n);
    out[n] = '\0';
    return ls_streamid_parse_id(out, &ref, NULL) == LS_OK;
}

int ls_smd_report_next(struct ls_smd_report_iter *it, struct ls_smd_report_line *line,
                       const char **why)
{
    for (;;) {
        const char *s = it->p, *nl, *p, *f;
        size_t n, fn;

        if (s >= it->end)
            return 0;
        n = (size_t)(it->end - s);
        nl = memchr(s, '\n', n < LS_SMD_REPORT_LINE_MAX ? n : LS_SMD_REPORT_LINE_MAX);
        if (nl == NULL) {
            LS_WHY(why, n < LS_SMD_REPORT_LINE_MAX ? "report: last line without a newline"
                                                   : "report: line too long");
            return LS_EPROTO;
        }
        it->p = nl + 1;
        if (nl == s)
            continue; /* an empty line: nothing */
        p = s + 1;
        switch (*s) {
        case 'n':
            line->kind = LS_SMD_LINE_NODE;
            line->pairs = p;
            line->pairs_len = (size_t)(nl - p);
            return 1;
        case 's':
            line->kind = LS_SMD_LINE_STREAM;
            if (!next_field(&p, nl, &f, &fn) || !parse_id(f, fn, line->id) ||
                !next_field(&p, nl, &f, &fn) || !parse_uint(f, fn, &line->viewers) ||
                !next_field(&p, nl, &f, &fn) || !parse_uint(f, fn, &line->bytes_out) ||
                p != nl) {
                LS_WHY(why, "report: malformed stream line");
                return LS_EPROTO;
            }
            return 1;
        case 'x':
            line->kind = LS_SMD_LINE_GONE;
            if (!next_field(&p, nl, &f, &fn) || !parse_id(f, fn, line->id) || p != nl) {
                LS_WHY(why, "report: malformed gone line");
                return LS_EPROTO;
            }
            return 1;
        default:
            continue; /* a kind of a later version */
        }
    }
}

int ls_smd_report_next_pair(const char **p, const char *end, struct ls_smd_report_pair *out,
                            const char **why)
{
    const char *f, *eq;
    size_t n, kn, vn, i;

    if (*p >= end)
        return 0;
    if (!next_field(p, end, &f, &n) || (eq = memchr(f, '=', n)) == NULL) {
        LS_WHY(why, "report: malformed node pair");
        return LS_EPROTO;
    }
    kn = (size_t)(eq - f);
    vn = n - kn - 1;
    if (kn == 0 || kn > LS_SMD_REPORT_KEY_MAX || vn == 0 || vn > LS_SMD_REPORT_VALUE_MAX) {
        LS_WHY(why, "report: node key or value of a bad length");
        return LS_EPROTO;
    }
    for (i = 0; i < kn; i++)
        if (!key_char(f[i])) {
            LS_WHY(why, "report: node key outside [a-z0-9_]");
            return LS_EPROTO;
        }
    for (i = 0; i < vn; i++)
        if (!value_char(eq[1 + i])) {
            LS_WHY(why, "report: node value with a bad character");
            return LS_EPROTO;
        }
    memcpy(out->key, f, kn);
    out->key[kn] = '\0';
    memcpy(out->value, eq + 1, vn);
    out->value[vn] = '\0';
    out->is_num = parse_uint(out->value, vn, &out->num);
    if (!out->is_num)
        out->num = 0;
    return 1;
}
