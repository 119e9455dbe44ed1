/*
 * command.h — RTMP command messages (type 20 AMF0, type 17 AMF3) and data messages
 * (type 18 AMF0, type 15 AMF3): decoding into AMF values, typed views of the commands a
 * server and an internal pull client handle, payload builders for the replies, and
 * onMetaData handling. (Adobe RTMP 1.0 §7.1.1, §7.1.2, §7.2; RTMP errata §6.2 for the
 * type-17/15 layout; Enhanced RTMP v1/v2 for fourCcList and FourCC codec ids.)
 *
 * Payload layouts:
 *   command (20)   name (string), transaction id (number), command object (object or
 *                  null), arguments...
 *   data (18)      name (string), values...          e.g. "@setDataFrame" "onMetaData" {..}
 *   17 / 15        one format-selector byte that must be 0, then the same AMF0 values,
 *                  any of which may switch to AMF3 with the AVM+ marker 0x11.
 *
 * Pure: bytes in, values or bytes out. Builders append one complete message payload to a
 * struct ls_buf and return its status (LS_OK, or the buffer's sticky error: LS_ENOMEM,
 * LS_ELIMIT for a bounded buffer, LS_EINVAL for an unencodable value).
 */
#ifndef LIBSTREAM_COMMAND_H
#define LIBSTREAM_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/err.h"

/* ---- commands --------------------------------------------------------------------------- */

struct ls_command {
    char *name;                          /* owned, NUL-terminated (may contain NULs) */
    size_t name_len;
    double transaction_id;               /* 0 when the message has no transaction id */
    struct ls_amf_value command_object;  /* owned; LS_AMF_NULL when absent */
    struct ls_amf_value *args;           /* owned array of nargs values; NULL when none */
    size_t nargs;
};

/*
 * Decodes a command message payload. `amf3_message` is true for type 17 (format byte 0,
 * then AMF0 values with AVM+ switches), false for type 20. `lim` NULL = defaults. `out`
 * need not be initialised; on success the caller owns it (ls_command_free).
 * Returns `len` (> 0) or a negative LS_ code — LS_EPROTO for a missing or non-string name,
 * a transaction id that is not a number, a format byte other than 0, or any malformed AMF
 * (see amf0.h); LS_ELIMIT; LS_EUNSUPPORTED; LS_ENOMEM. There is no LS_AGAIN: the payload
 * is a whole message. On error `out` is zeroed and `*why` names the reason.
 * A message holding only a name is accepted (transaction id 0, no command object).
 */
LS_MUST_CHECK ssize_t ls_command_decode(const uint8_t *p, size_t len, bool amf3_message,
                                        const struct ls_amf_limits *lim,
                                        struct ls_command *out, const char **why);

/* Frees what the command owns and zeroes it. NULL is ignored. */
void ls_command_free(struct ls_command *cmd);

/* True when the command's name is exactly `name`. */
bool ls_command_is(const struct ls_command *cmd, const char *name);

/*
 * Typed views. They do not check the command's name (the caller dispatched on it).
 * Every pointer they return is borrowed from `cmd` and valid while it lives.
 * Return LS_OK, or LS_EPROTO when a required field is missing or of the wrong type.
 */
struct ls_connect_params {
    const char *app;        /* required string */
    const char *tc_url;     /* the optional strings are NULL when absent or not strings */
    const char *swf_url;
    const char *page_url;
    const char *flash_ver;
    const char *type;       /* "nonprivate" from FMLE-style encoders */
    double object_encoding; /* 0 (AMF0) when absent; 3 = AMF3 */
    bool has_capabilities;
    double capabilities;
    bool has_audio_codecs;
    double audio_codecs;
    bool has_video_codecs;
    double video_codecs;
    bool has_fourcc_list;   /* Enhanced RTMP: the client listed FourCC codecs */
    const struct ls_amf_value *fourcc_list; /* the list as sent (normally a strict array
                                             * of strings); NULL when absent */
    bool has_caps_ex;       /* Enhanced RTMP v2 capsEx */
    double caps_ex;
};

/* connect: the command object must be an object (or ECMA array) holding `app`. */
LS_MUST_CHECK int ls_command_parse_connect(const struct ls_command *cmd,
                                           struct ls_connect_params *out);

/*
 * publish: args[0] the publishing name (required string), args[1] the type ("live",
 * "record", "append"; absent, null or undefined = "live"; other strings are passed
 * through for the caller to accept or refuse; a non-string is LS_EPROTO).
 */
LS_MUST_CHECK int ls_command_parse_publish(const struct ls_command *cmd, const char **name,
                                           const char **type);

/*
 * play: args[0] stream name (required string); start (default -2: live, then recorded),
 * duration (default -1: until the end) and reset (default true). Optional arguments that
 * are absent, null or undefined take their default; reset may also be a number
 * (non-zero = true); any other type is LS_EPROTO.
 */
LS_MUST_CHECK int ls_command_parse_play(const struct ls_command *cmd, const char **name,
                                        double *start, double *duration, bool *reset);

/* releaseStream, FCPublish, FCUnpublish, FCSubscribe, getStreamLength: args[0] string. */
LS_MUST_CHECK int ls_command_parse_stream_name(const struct ls_command *cmd, const char **name);

/* deleteStream (and closeStream's argument, when sent): args[0] number. */
LS_MUST_CHECK int ls_command_parse_delete_stream(const struct ls_command *cmd,
                                                 double *stream_id);

/* ---- command builders (server side) ------------------------------------------------------
 * Transaction ids are echoed as given. NULL strings take the defaults noted.
 */

/*
 * "_result", txid, {fmsVer, capabilities, mode: 1},
 * {level: "status", code: "NetConnection.Connect.Success", description, objectEncoding,
 *  data: ECMA {version}} — the shape Flash, ffmpeg and OBS expect. `version` is fms_ver
 * after its "FMS/" prefix. Defaults: fms_ver "FMS/3,0,1,123", description
 * "Connection succeeded.".
 */
int ls_command_build_connect_result(struct ls_buf *b, double txid, const char *fms_ver,
                                    double capabilities, double object_encoding,
                                    const char *description);
/* As ls_command_build_connect_result, with n more string properties keys[i]: values[i]
 * at the end of the information object (a NULL value is sent as ""). */
int ls_command_build_connect_result_with(struct ls_buf *b, double txid, const char *fms_ver,
                                         double capabilities, double object_encoding,
                                         const char *description, const char *const *keys,
                                         const char *const *values, size_t n);

/* name ("_result" or "_error"), txid, command object (NULL → null), [info]. */
int ls_command_build_result(struct ls_buf *b, const char *name, double txid,
                            const struct ls_amf_value *command_object,
                            const struct ls_amf_value *info);

/* "_error", txid, null, {level: "error", code, description}. */
int ls_command_build_error(struct ls_buf *b, double txid, const char *code,
                           const char *description);

/* "_result", txid, null, stream_id. */
int ls_command_build_create_stream_result(struct ls_buf *b, double txid, double stream_id);

/* "onStatus", 0, null, {level, code, description[, details]} (details NULL = omitted). */
int ls_command_build_onstatus(struct ls_buf *b, const char *level, const char *code,
                              const char *description, const char *details);

/* ---- command builders (client side, for internal pulls) ---------------------------------- */

/*
 * "connect", txid, {app, type: "nonprivate", flashVer (omitted when NULL), tcUrl,
 * fpad: false, capabilities: 15, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1,
 * objectEncoding}.
 */
int ls_command_build_connect(struct ls_buf *b, double txid, const char *app,
                             const char *tc_url, const char *flash_ver, double object_encoding);

/* name, txid, null, args[0..nargs) (args may be NULL when nargs is 0). */
int ls_command_build_call(struct ls_buf *b, const char *name, double txid,
                          const struct ls_amf_value *args, size_t nargs);

/* "createStream", txid, null. */
int ls_command_build_create_stream(struct ls_buf *b, double txid);

/* "play", txid, null, name, start, duration, reset. */
int ls_command_build_play(struct ls_buf *b, double txid, const char *name, double start,
                          double duration, bool reset);

/* "publish", txid, null, name, type (NULL = "live"). */
int ls_command_build_publish(struct ls_buf *b, double txid, const char *name, const char *type);

/* "deleteStream", txid, null, stream_id. */
int ls_command_build_delete_stream(struct ls_buf *b, double txid, double stream_id);

/* ---- data messages ----------------------------------------------------------------------- */

struct ls_data_message {
    char *name;                 /* owned, NUL-terminated: "onMetaData", "@setDataFrame"... */
    size_t name_len;
    struct ls_amf_value *values; /* owned array of the values after the name */
    size_t nvalues;
};

/*
 * Decodes a data message payload (type 18, or type 15 when `amf3_message`). Same contract
 * as ls_command_decode: returns `len` or a negative LS_ code (LS_EPROTO when the first
 * value is not a string); `out` is zeroed on error; free with ls_data_free.
 */
LS_MUST_CHECK ssize_t ls_data_decode(const uint8_t *p, size_t len, bool amf3_message,
                                     const struct ls_amf_limits *lim,
                                     struct ls_data_message *out, const char **why);

/* Frees what the message owns and zeroes it. NULL is ignored. */
void ls_data_free(struct ls_data_message *msg);

/*
 * The metadata object of an "onMetaData" message (its first value) or of
 * "@setDataFrame" "onMetaData" (its second), when that value is an object or ECMA array;
 * NULL otherwise. Borrowed from `msg`.
 */
const struct ls_amf_value *ls_data_metadata(const struct ls_data_message *msg);

/*
 * When an AMF0 data payload (type 18) starts with the string "@setDataFrame", points
 * *out / *out_len at the rest (normally "onMetaData" + array: what players must receive)
 * and returns true; otherwise returns the input itself and false. Borrows `p`; no copy.
 */
bool ls_data_strip_set_data_frame(const uint8_t *p, size_t len, const uint8_t **out,
                                  size_t *out_len);

/*
 * "onMetaData" + ECMA array holding the members of `meta` (an OBJECT, TYPED_OBJECT or
 * ECMA_ARRAY; anything else returns LS_EINVAL and appends nothing).
 */
int ls_data_build_metadata(struct ls_buf *b, const struct ls_amf_value *meta);

/* "|RtmpSampleAccess", audio, video — lets Flash players read the stream's samples. */
int ls_data_build_sample_access(struct ls_buf *b, bool audio, bool video);

/* ---- onMetaData -------------------------------------------------------------------------- */

#define LS_METADATA_CODEC_LEN 16

struct ls_metadata {
    bool has_width, has_height, has_framerate, has_videodatarate, has_audiodatarate;
    bool has_audiosamplerate, has_stereo, has_videocodecid, has_audiocodecid, has_duration;
    double width, height;
    double framerate;       /* "framerate", or "fps" when framerate is absent */
    double videodatarate, audiodatarate; /* kbit/s as sent */
    double audiosamplerate;
    bool stereo;
    double duration;        /* seconds; 0 for live */
    /*
     * Codec ids as sent: a number (FLV codec id such as 7 = AVC, 10 = AAC, or an Enhanced
     * RTMP FourCC packed big-endian) or a string ("avc1", "hvc1", "mp4a"). Both forms are
     * kept: a string's FourCC is also given as a number (0 unless it is 4 bytes); a
     * number that packs four printable characters is also given as a string, else "".
     * Strings longer than LS_METADATA_CODEC_LEN - 1 bytes are truncated.
     */
    double videocodecid, audiocodecid;
    char videocodec[LS_METADATA_CODEC_LEN], audiocodec[LS_METADATA_CODEC_LEN];
    const char *encoder;    /* borrowed from the value; NULL when absent */
};

/*
 * Reads the well-known onMetaData fields of an OBJECT, TYPED_OBJECT or ECMA_ARRAY.
 * Fields of an unexpected type are treated as absent (has_ false). Numbers may be NUMBER
 * or INTEGER; stereo may be a boolean or a number. Returns LS_OK, or LS_EINVAL when `obj`
 * is not such a container (out is then all absent).
 */
LS_MUST_CHECK int ls_metadata_parse(const struct ls_amf_value *obj, struct ls_metadata *out);

#endif /* LIBSTREAM_COMMAND_H */
