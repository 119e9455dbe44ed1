/*
 * control.c — RTMP protocol control messages (Adobe RTMP 1.0 §5.4: types 1, 2, 3, 5, 6)
 * and user control messages (§6.2 / §7.1.7: type 4), built and parsed.
 *
 * Every builder emits one type-0 chunk on chunk stream 2 with message stream id 0 and
 * timestamp 0 (§5.4: "protocol control messages MUST have message stream ID 0 and be
 * sent in chunk stream ID 2"):
 *
 *   02 | 00 00 00 | 00 00 LL | TT | 00 00 00 00 | payload (LL <= 10 bytes)
 *
 * Payload layouts are listed in control.h.
 */
#include <string.h>

#include "libstream/bytes.h"
#include "libstream/chunk.h"
#include "libstream/control.h"

/* Largest control payload: Set Buffer Length, 2 + 4 + 4 bytes. */
#define CONTROL_MAX 10

static void put_control(struct ls_buf *b, uint8_t type, const uint8_t *payload, uint32_t len)
{
    ls_chunk_write(b, LS_CSID_CONTROL, type, 0, 0, payload, len, LS_RTMP_DEFAULT_CHUNK_SIZE);
}

static void put_u32_message(struct ls_buf *b, uint8_t type, uint32_t v)
{
    uint8_t p[4];

    ls_put_be32(p, v);
    put_control(b, type, p, sizeof p);
}

static void invalid(struct ls_buf *b)
{
    if (b->err == LS_OK)
        b->err = LS_EINVAL;
}

void ls_control_write_set_chunk_size(struct ls_buf *b, uint32_t size)
{
    if (size == 0 || size > LS_RTMP_MAX_CHUNK_SIZE) {
        invalid(b);
        return;
    }
    put_u32_message(b, LS_MSG_SET_CHUNK_SIZE, size);
}

void ls_control_write_abort(struct ls_buf *b, uint32_t csid)
{
    put_u32_message(b, LS_MSG_ABORT, csid);
}

void ls_control_write_ack(struct ls_buf *b, uint32_t sequence)
{
    put_u32_message(b, LS_MSG_ACK, sequence);
}

void ls_control_write_window_ack_size(struct ls_buf *b, uint32_t window)
{
    put_u32_message(b, LS_MSG_WINDOW_ACK_SIZE, window);
}

void ls_control_write_set_peer_bandwidth(struct ls_buf *b, uint32_t window, uint8_t limit_type)
{
    uint8_t p[5];

    if (limit_type > LS_PEER_BW_DYNAMIC) {
        invalid(b);
        return;
    }
    ls_put_be32(p, window);
    p[4] = limit_type;
    put_control(b, LS_MSG_SET_PEER_BANDWIDTH, p, sizeof p);
}

/* A user control message: event type followed by one or two 32-bit values. */
static void put_event(struct ls_buf *b, uint16_t event, uint32_t v1, const uint32_t *v2)
{
    uint8_t p[CONTROL_MAX];

    ls_put_be16(p, event);
    ls_put_be32(p + 2, v1);
    if (v2 != NULL)
        ls_put_be32(p + 6, *v2);
    put_control(b, LS_MSG_USER_CONTROL, p, v2 != NULL ? 10 : 6);
}

void ls_control_write_stream_begin(struct ls_buf *b, uint32_t stream_id)
{
    put_event(b, LS_UC_STREAM_BEGIN, stream_id, NULL);
}

void ls_control_write_stream_eof(struct ls_buf *b, uint32_t stream_id)
{
    put_event(b, LS_UC_STREAM_EOF, stream_id, NULL);
}

void ls_control_write_stream_dry(struct ls_buf *b, uint32_t stream_id)
{
    put_event(b, LS_UC_STREAM_DRY, stream_id, NULL);
}

void ls_control_write_stream_is_recorded(struct ls_buf *b, uint32_t stream_id)
{
    put_event(b, LS_UC_STREAM_IS_RECORDED, stream_id, NULL);
}

void ls_control_write_set_buffer_length(struct ls_buf *b, uint32_t stream_id, uint32_t ms)
{
    put_event(b, LS_UC_SET_BUFFER_LENGTH, stream_id, &ms);
}

void ls_control_write_ping_request(struct ls_buf *b, uint32_t timestamp)
{
    put_event(b, LS_UC_PING_REQUEST, timestamp, NULL);
}

void ls_control_write_ping_response(struct ls_buf *b, uint32_t timestamp)
{
    put_event(b, LS_UC_PING_RESPONSE, timestamp, NULL);
}

static int parse_user_control(const struct ls_frame *f, struct ls_control *out,
                              const char **why)
{
    uint32_t need;

    if (f->len < 2) {
        LS_WHY(why, "user control message shorter than its event type");
        return LS_EPROTO;
    }
    out->event = ls_get_be16(f->data);
    out->event_data_len = f->len - 2;
    out->event_data = out->event_data_len > 0 ? f->data + 2 : NULL;
    switch (out->event) {
    case LS_UC_STREAM_BEGIN:
    case LS_UC_STREAM_EOF:
    case LS_UC_STREAM_DRY:
    case LS_UC_STREAM_IS_RECORDED:
    case LS_UC_PING_REQUEST:
    case LS_UC_PING_RESPONSE:
        need = 4;
        break;
    case LS_UC_SET_BUFFER_LENGTH:
        need = 8;
        break;
    default:
        return LS_OK; /* known_event stays false; the caller may ignore it */
    }
    if (out->event_data_len < need) {
        LS_WHY(why, "user control event data too short");
        return LS_EPROTO;
    }
    out->known_event = true;
    if (out->event == LS_UC_PING_REQUEST || out->event == LS_UC_PING_RESPONSE) {
        out->timestamp = ls_get_be32(f->data + 2);
    } else {
        out->stream_id = ls_get_be32(f->data + 2);
        if (out->event == LS_UC_SET_BUFFER_LENGTH)
            out->buffer_ms = ls_get_be32(f->data + 6);
    }
    return LS_OK;
}

int ls_control_parse(const struct ls_frame *f, struct ls_control *out, const char **why)
{
    uint32_t v;

    memset(out, 0, sizeof *out);
    if (f->type < LS_MSG_SET_CHUNK_SIZE || f->type > LS_MSG_SET_PEER_BANDWIDTH) {
        LS_WHY(why, "not a protocol control message type");
        return LS_EINVAL;
    }
    out->type = f->type;
    if (f->type == LS_MSG_USER_CONTROL)
        return parse_user_control(f, out, why);
    if (f->len < (f->type == LS_MSG_SET_PEER_BANDWIDTH ? 5u : 4u)) {
        LS_WHY(why, "protocol control message too short");
        return LS_EPROTO;
    }
    v = ls_get_be32(f->data);
    switch (f->type) {
    case LS_MSG_SET_CHUNK_SIZE:
        return ls_chunk_size_decode(f->data, &out->chunk_size, why);
    case LS_MSG_ABORT:
        out->csid = v;
        break;
    case LS_MSG_ACK:
        out->sequence = v;
        break;
    case LS_MSG_WINDOW_ACK_SIZE:
        out->window = v;
        break;
    default: /* LS_MSG_SET_PEER_BANDWIDTH */
        out->window = v;
        out->limit_type = f->data[4];
        break;
    }
    return LS_OK;
}
