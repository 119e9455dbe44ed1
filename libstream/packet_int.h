/*
 * packet_int.h — one message of a live stream as the hub fans it out (private to the hub).
 *
 * A packet holds the source message (payload shared by reference) and, built lazily on
 * first use and then shared by every subscriber, its outgoing encodings: the RTMP chunked
 * form for message stream 1 at the hub's chunk size, and the FLV tag form for HTTP-FLV.
 * A subscriber on another message stream id gets a private encoding (rare: players use
 * the first stream id they create).
 */
#ifndef LIBSTREAM_PACKET_INT_H
#define LIBSTREAM_PACKET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/frame.h"

struct ls_packet {
    uint32_t refcount;
    uint8_t cls;             /* enum ls_outq_class */
    bool keyframe;           /* video keyframe with picture data: a GOP starts here */
    bool sequence_header;    /* AVC/HEVC/AAC decoder configuration */
    bool metadata;           /* onMetaData */
    uint32_t timestamp;      /* on the stream's timeline (source timestamp + offset) */
    uint32_t chunk_size;
    struct ls_frame *msg;    /* source message: type and payload (one reference) */
    struct ls_frame *rtmp;   /* chunked bytes for stream id 1, or NULL until needed */
    struct ls_frame *flv;    /* FLV tag bytes, or NULL until needed */
};

/* Takes over the caller's reference to `msg`. NULL on allocation failure (msg released). */
struct ls_packet *ls_packet_new(struct ls_frame *msg, uint32_t timestamp, uint8_t cls,
                                uint32_t chunk_size);
struct ls_packet *ls_packet_ref(struct ls_packet *p);
void ls_packet_unref(struct ls_packet *p);
/* A new reference to the RTMP bytes for message stream `stream_id`; NULL on ENOMEM. */
struct ls_frame *ls_packet_rtmp(struct ls_packet *p, uint32_t stream_id);
/* A new reference to the FLV tag bytes; NULL on ENOMEM or when the message has no FLV
 * form (AMF3 data). */
struct ls_frame *ls_packet_flv(struct ls_packet *p);

#endif /* LIBSTREAM_PACKET_INT_H */
