/*
 * rtmp.h — RTMP constants shared by every layer: message type ids, user control event
 * types, the chunk stream ids livecluster sends on, and protocol defaults.
 * (Adobe RTMP specification 1.0, sections 5.4, 6.2, 7.1.)
 */
#ifndef LIBSTREAM_RTMP_H
#define LIBSTREAM_RTMP_H

/* Message type ids (RTMP 1.0 §5.4 protocol control, §7.1 RTMP messages). */
enum ls_msg_type {
    LS_MSG_SET_CHUNK_SIZE = 1,
    LS_MSG_ABORT = 2,
    LS_MSG_ACK = 3,
    LS_MSG_USER_CONTROL = 4,
    LS_MSG_WINDOW_ACK_SIZE = 5,
    LS_MSG_SET_PEER_BANDWIDTH = 6,
    LS_MSG_AUDIO = 8,
    LS_MSG_VIDEO = 9,
    LS_MSG_DATA_AMF3 = 15,
    LS_MSG_SHARED_OBJECT_AMF3 = 16,
    LS_MSG_COMMAND_AMF3 = 17,
    LS_MSG_DATA_AMF0 = 18,
    LS_MSG_SHARED_OBJECT_AMF0 = 19,
    LS_MSG_COMMAND_AMF0 = 20,
    LS_MSG_AGGREGATE = 22,
};

/* User control event types (RTMP 1.0 §7.1.7). */
enum ls_user_control {
    LS_UC_STREAM_BEGIN = 0,
    LS_UC_STREAM_EOF = 1,
    LS_UC_STREAM_DRY = 2,
    LS_UC_SET_BUFFER_LENGTH = 3,
    LS_UC_STREAM_IS_RECORDED = 4,
    LS_UC_PING_REQUEST = 6,
    LS_UC_PING_RESPONSE = 7,
};

/* Set Peer Bandwidth limit types (RTMP 1.0 §5.4.5). */
enum ls_peer_bw_limit {
    LS_PEER_BW_HARD = 0,
    LS_PEER_BW_SOFT = 1,
    LS_PEER_BW_DYNAMIC = 2,
};

/* Chunk stream ids livecluster uses when sending (any csid is accepted on input). */
enum ls_csid {
    LS_CSID_CONTROL = 2,  /* protocol control and user control messages: must be 2 */
    LS_CSID_COMMAND = 3,
    LS_CSID_DATA = 5,     /* onMetaData, onStatus on the media stream */
    LS_CSID_AUDIO = 6,
    LS_CSID_VIDEO = 7,
};

#define LS_RTMP_DEFAULT_CHUNK_SIZE 128u
#define LS_RTMP_MAX_CHUNK_SIZE 0x7fffffffu   /* protocol ceiling; configs bound it lower */
#define LS_RTMP_MAX_MESSAGE_LENGTH 0xffffffu /* 24-bit length field */
#define LS_RTMP_HANDSHAKE_SIZE 1536u

#endif /* LIBSTREAM_RTMP_H */
