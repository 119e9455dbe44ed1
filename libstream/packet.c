/*
 * packet.c — the outgoing encodings of one stream message, built once and shared
 * (docs/architecture.md decision 2; see packet_int.h).
 *
 * RTMP form: the whole message as chunks with a type-0 first header carrying the absolute
 * timestamp and type-3 continuations, so the bytes are identical for every subscriber on
 * the same message stream id and chunk size. FLV form: an 11-byte tag header, the payload
 * and the 4-byte previous-tag-size trailer.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/chunk.h"
#include "libstream/flv.h"
#include "libstream/rtmp.h"
#include "packet_int.h"

struct ls_packet *ls_packet_new(struct ls_frame *msg, uint32_t timestamp, uint8_t cls,
                                uint32_t chunk_size)
{
    struct ls_packet *p = calloc(1, sizeof *p);

    if (p == NULL) {
        ls_frame_unref(msg);
        return NULL;
    }
    p->refcount = 1;
    p->cls = cls;
    p->timestamp = timestamp;
    p->chunk_size = chunk_size;
    p->msg = msg;
    return p;
}

struct ls_packet *ls_packet_ref(struct ls_packet *p)
{
    assert(p->refcount > 0);
    p->refcount++;
    return p;
}

void ls_packet_unref(struct ls_packet *p)
{
    if (p == NULL)
        return;
    assert(p->refcount > 0);
    if (--p->refcount > 0)
        return;
    ls_frame_unref(p->msg);
    ls_frame_unref(p->rtmp);
    ls_frame_unref(p->flv);
    free(p);
}

static uint32_t packet_csid(uint8_t type)
{
    switch (type) {
    case LS_MSG_AUDIO: return LS_CSID_AUDIO;
    case LS_MSG_VIDEO: return LS_CSID_VIDEO;
    default: return LS_CSID_DATA;
    }
}

static struct ls_frame *packet_encode_rtmp(const struct ls_packet *p, uint32_t stream_id)
{
    uint32_t csid = packet_csid(p->msg->type);
    size_t size = ls_chunk_encoded_size(csid, p->timestamp, p->msg->len, p->chunk_size);
    struct ls_frame *blob;

    if (size > UINT32_MAX)
        return NULL;
    blob = ls_frame_new(0, p->timestamp, stream_id, (uint32_t)size);
    if (blob == NULL)
        return NULL;
    ls_chunk_write_mem(blob->data, csid, p->msg->type, p->timestamp, stream_id, p->msg->data,
                       p->msg->len, p->chunk_size);
    return blob;
}

struct ls_frame *ls_packet_rtmp(struct ls_packet *p, uint32_t stream_id)
{
    if (stream_id != 1)
        return packet_encode_rtmp(p, stream_id);
    if (p->rtmp == NULL) {
        p->rtmp = packet_encode_rtmp(p, 1);
        if (p->rtmp == NULL)
            return NULL;
    }
    return ls_frame_ref(p->rtmp);
}

struct ls_frame *ls_packet_flv(struct ls_packet *p)
{
    uint8_t type = p->msg->type;

    if (type != LS_MSG_AUDIO && type != LS_MSG_VIDEO && type != LS_MSG_DATA_AMF0)
        return NULL;
    if (p->flv == NULL) {
        uint32_t len = p->msg->len;
        struct ls_frame *blob;

        if (len > UINT32_MAX - 15)
            return NULL;
        blob = ls_frame_new(0, p->timestamp, 0, len + 15);
        if (blob == NULL)
            return NULL;
        ls_flv_tag_header(blob->data, type, len, p->timestamp);
        memcpy(blob->data + 11, p->msg->data, len);
        ls_flv_tag_trailer(blob->data + 11 + len, len);
        p->flv = blob;
    }
    return ls_frame_ref(p->flv);
}
