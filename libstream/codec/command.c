/*
 * command.c — RTMP command and data messages (Adobe RTMP 1.0 §7.1.1 command message,
 * §7.1.2 data message, §7.2 NetConnection/NetStream commands; RTMP errata and addenda
 * §6.2 for types 17/15; Enhanced RTMP v1/v2 for fourCcList, capsEx and FourCC codec ids).
 * The layer above AMF0/AMF3 (amf0.c, amf3.c) and below the session state machines.
 *
 *   type 20 / 18:  [AMF0 value] [AMF0 value] ...
 *   type 17 / 15:  00 [AMF0 value | 11 AMF3 value] ...     (00 = format selector)
 *
 *   command:  "name"  txid  command-object|null  arg...
 *   data:     "name"  value...
 *
 * The decoders own what they return; the typed views only borrow from a decoded command.
 * Builders write AMF0 directly into a struct ls_buf (no temporary trees) so that a reply
 * is one contiguous payload, sent with one write.
 */
#include <stdlib.h>
#include <string.h>

#include "libstream/amf0.h"
#include "libstream/command.h"

static const char set_data_frame[] = "@setDataFrame";

/* Decodes every value of a type 20/18 body, or of a type 17/15 body after its format byte. */
static ssize_t decode_body(const uint8_t *p, size_t len, bool amf3_message,
                           const struct ls_amf_limits *lim, struct ls_amf_value **vals,
                           size_t *count, const char **why)
{
    ssize_t rc;
    size_t skip = 0;

    *vals = NULL;
    *count = 0;
    if (amf3_message) {
        if (len == 0 || p[0] != 0) {
            LS_WHY(why, "AMF3 message: format selector is not 0");
            return LS_EPROTO;
        }
        skip = 1;
    }
    rc = ls_amf0_decode_all(p + skip, len - skip, lim, vals, count, why);
    if (rc < 0)
        return rc;
    if (*count == 0 || (*vals)[0].type != LS_AMF_STRING) {
        ls_amf_values_free(*vals, *count);
        *vals = NULL;
        *count = 0;
        LS_WHY(why, "message does not start with a name string");
        return LS_EPROTO;
    }
    return (ssize_t)len;
}

/* Moves the string out of `v` (leaving it NULL). */
static char *take_string(struct ls_amf_value *v, size_t *len)
{
    char *s = v->u.str.ptr;

    *len = v->u.str.len;
    memset(v, 0, sizeof *v);
    return s;
}

/* Drops the first `n` values of vals[0..*count) (already moved out) by sliding the rest. */
static struct ls_amf_value *drop_front(struct ls_amf_value *vals, size_t *count, size_t n)
{
    if (*count <= n) {
        free(vals);
        *count = 0;
        return NULL;
    }
    memmove(vals, vals + n, (*count - n) * sizeof *vals);
    *count -= n;
    return vals;
}

ssize_t ls_command_decode(const uint8_t *p, size_t len, bool amf3_message,
                          const struct ls_amf_limits *lim, struct ls_command *out,
                          const char **why)
{
    struct ls_amf_value *vals;
    size_t count, used = 1;
    ssize_t rc;

    memset(out, 0, sizeof *out);
    rc = decode_body(p, len, amf3_message, lim, &vals, &count, why);
    if (rc < 0)
        return rc;
    if (count >= 2 && !ls_amf_as_number(&vals[1], &out->transaction_id)) {
        ls_amf_values_free(vals, count);
        LS_WHY(why, "command transaction id is not a number");
        return LS_EPROTO;
    }
    out->name = take_string(&vals[0], &out->name_len);
    if (count >= 2)
        used = 2;
    if (count >= 3) {
        out->command_object = vals[2];
        memset(&vals[2], 0, sizeof vals[2]);
        used = 3;
    }
    out->args = drop_front(vals, &count, used);
    out->nargs = count;
    return rc;
}

void ls_command_free(struct ls_command *cmd)
{
    if (cmd == NULL)
        return;
    free(cmd->name);
    ls_amf_clear(&cmd->command_object);
    ls_amf_values_free(cmd->args, cmd->nargs);
    memset(cmd, 0, sizeof *cmd);
}

bool ls_command_is(const struct ls_command *cmd, const char *name)
{
    size_t len = strlen(name);

    return cmd->name != NULL && cmd->name_len == len && memcmp(cmd->name, name, len) == 0;
}

/* ---- typed views ------------------------------------------------------------------------ */

static const struct ls_amf_value *arg(const struct ls_command *cmd, size_t i)
{
    return i < cmd->nargs ? &cmd->args[i] : NULL;
}

/* Absent, null and undefined all mean "use the default". */
static bool absent(const struct ls_amf_value *v)
{
    return v == NULL || v->type == LS_AMF_NULL || v->type == LS_AMF_UNDEFINED;
}

static bool is_object(const struct ls_amf_value *v)
{
    return v != NULL && (v->type == LS_AMF_OBJECT || v->type == LS_AMF_TYPED_OBJECT ||
                         v->type == LS_AMF_ECMA_ARRAY);
}

int ls_command_parse_connect(const struct ls_command *cmd, struct ls_connect_params *out)
{
    const struct ls_amf_value *o = &cmd->command_object;

    memset(out, 0, sizeof *out);
    if (!is_object(o) || (out->app = ls_amf_get_string(o, "app")) == NULL)
        return LS_EPROTO;
    out->tc_url = ls_amf_get_string(o, "tcUrl");
    out->swf_url = ls_amf_get_string(o, "swfUrl");
    out->page_url = ls_amf_get_string(o, "pageUrl");
    out->flash_ver = ls_amf_get_string(o, "flashVer");
    out->type = ls_amf_get_string(o, "type");
    (void)ls_amf_get_number(o, "objectEncoding", &out->object_encoding);
    out->has_capabilities = ls_amf_get_number(o, "capabilities", &out->capabilities);
    out->has_audio_codecs = ls_amf_get_number(o, "audioCodecs", &out->audio_codecs);
    out->has_video_codecs = ls_amf_get_number(o, "videoCodecs", &out->video_codecs);
    out->has_caps_ex = ls_amf_get_number(o, "capsEx", &out->caps_ex);
    out->fourcc_list = ls_amf_get(o, "fourCcList");
    out->has_fourcc_list = out->fourcc_list != NULL;
    return LS_OK;
}

static int string_arg(const struct ls_command *cmd, size_t i, const char **out)
{
    const struct ls_amf_value *v = arg(cmd, i);

    if (v == NULL || v->type != LS_AMF_STRING)
        return LS_EPROTO;
    *out = v->u.str.ptr;
    return LS_OK;
}

static int number_arg(const struct ls_command *cmd, size_t i, double def, double *out)
{
    const struct ls_amf_value *v = arg(cmd, i);

    if (absent(v)) {
        *out = def;
        return LS_OK;
    }
    return ls_amf_as_number(v, out) ? LS_OK : LS_EPROTO;
}

int ls_command_parse_publish(const struct ls_command *cmd, const char **name, const char **type)
{
    const struct ls_amf_value *t = arg(cmd, 1);

    if (string_arg(cmd, 0, name) != LS_OK)
        return LS_EPROTO;
    if (absent(t)) {
        *type = "live";
        return LS_OK;
    }
    return string_arg(cmd, 1, type);
}

int ls_command_parse_play(const struct ls_command *cmd, const char **name, double *start,
                          double *duration, bool *reset)
{
    const struct ls_amf_value *r = arg(cmd, 3);
    double d;

    if (string_arg(cmd, 0, name) != LS_OK || number_arg(cmd, 1, -2, start) != LS_OK ||
        number_arg(cmd, 2, -1, duration) != LS_OK)
        return LS_EPROTO;
    if (absent(r))
        *reset = true;
    else if (r->type == LS_AMF_BOOLEAN)
        *reset = r->u.boolean;
    else if (ls_amf_as_number(r, &d))
        *reset = d != 0;
    else
        return LS_EPROTO;
    return LS_OK;
}

int ls_command_parse_stream_name(const struct ls_command *cmd, const char **name)
{
    return string_arg(cmd, 0, name);
}

int ls_command_parse_delete_stream(const struct ls_command *cmd, double *stream_id)
{
    return ls_amf_as_number(arg(cmd, 0), stream_id) ? LS_OK : LS_EPROTO;
}

/* ---- builders --------------------------------------------------------------------------- */

static void prop_str(struct ls_buf *b, const char *key, const char *val)
{
    ls_amf0_write_ckey(b, key);
    ls_amf0_write_cstring(b, val);
}

static void prop_num(struct ls_buf *b, const char *key, double val)
{
    ls_amf0_write_ckey(b, key);
    ls_amf0_write_number(b, val);
}

/* name, txid, null: the head of every call without a command object. */
static void head(struct ls_buf *b, const char *name, double txid)
{
    ls_amf0_write_cstring(b, name);
    ls_amf0_write_number(b, txid);
    ls_amf0_write_null(b);
}

int ls_command_build_connect_result(struct ls_buf *b, double txid, const char *fms_ver,
                                    double capabilities, double object_encoding,
                                    const char *description)
{
    return ls_command_build_connect_result_with(b, txid, fms_ver, capabilities, object_encoding,
                                                description, NULL, NULL, 0);
}

int ls_command_build_connect_result_with(struct ls_buf *b, double txid, const char *fms_ver,
                                         double capabilities, double object_encoding,
                                         const char *description, const char *const *keys,
                                         const char *const *values, size_t n)
{
    const char *version;
    size_t i;

    if (fms_ver == NULL)
        fms_ver = "FMS/3,0,1,123";
    if (description == NULL)
        description = "Connection succeeded.";
    version = strchr(fms_ver, '/') != NULL ? strchr(fms_ver, '/') + 1 : fms_ver;

    ls_amf0_write_cstring(b, "_result");
    ls_amf0_write_number(b, txid);
    ls_amf0_write_object_begin(b);
    prop_str(b, "fmsVer", fms_ver);
    prop_num(b, "capabilities", capabilities);
    prop_num(b, "mode", 1);
    ls_amf0_write_object_end(b);
    ls_amf0_write_object_begin(b);
    prop_str(b, "level", "status");
    prop_str(b, "code", "NetConnection.Connect.Success");
    prop_str(b, "description", description);
    prop_num(b, "objectEncoding", object_encoding);
    ls_amf0_write_ckey(b, "data");
    ls_amf0_write_ecma_begin(b, 1);
    prop_str(b, "version", version);
    ls_amf0_write_object_end(b);
    for (i = 0; i < n; i++)
        prop_str(b, keys[i], values[i] != NULL ? values[i] : "");
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

int ls_command_build_result(struct ls_buf *b, const char *name, double txid,
                            const struct ls_amf_value *command_object,
                            const struct ls_amf_value *info)
{
    ls_amf0_write_cstring(b, name);
    ls_amf0_write_number(b, txid);
    if (command_object != NULL)
        ls_amf0_encode(b, command_object);
    else
        ls_amf0_write_null(b);
    if (info != NULL)
        ls_amf0_encode(b, info);
    return ls_buf_status(b);
}

int ls_command_build_error(struct ls_buf *b, double txid, const char *code,
                           const char *description)
{
    head(b, "_error", txid);
    ls_amf0_write_object_begin(b);
    prop_str(b, "level", "error");
    prop_str(b, "code", code);
    prop_str(b, "description", description);
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

int ls_command_build_create_stream_result(struct ls_buf *b, double txid, double stream_id)
{
    head(b, "_result", txid);
    ls_amf0_write_number(b, stream_id);
    return ls_buf_status(b);
}

int ls_command_build_onstatus(struct ls_buf *b, const char *level, const char *code,
                              const char *description, const char *details)
{
    head(b, "onStatus", 0);
    ls_amf0_write_object_begin(b);
    prop_str(b, "level", level);
    prop_str(b, "code", code);
    prop_str(b, "description", description);
    if (details != NULL)
        prop_str(b, "details", details);
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

int ls_command_build_connect(struct ls_buf *b, double txid, const char *app,
                             const char *tc_url, const char *flash_ver, double object_encoding)
{
    ls_amf0_write_cstring(b, "connect");
    ls_amf0_write_number(b, txid);
    ls_amf0_write_object_begin(b);
    prop_str(b, "app", app);
    prop_str(b, "type", "nonprivate");
    if (flash_ver != NULL)
        prop_str(b, "flashVer", flash_ver);
    prop_str(b, "tcUrl", tc_url);
    ls_amf0_write_ckey(b, "fpad");
    ls_amf0_write_bool(b, false);
    prop_num(b, "capabilities", 15);
    prop_num(b, "audioCodecs", 4071);
    prop_num(b, "videoCodecs", 252);
    prop_num(b, "videoFunction", 1);
    prop_num(b, "objectEncoding", object_encoding);
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

int ls_command_build_call(struct ls_buf *b, const char *name, double txid,
                          const struct ls_amf_value *args, size_t nargs)
{
    size_t i;

    head(b, name, txid);
    for (i = 0; i < nargs; i++)
        ls_amf0_encode(b, &args[i]);
    return ls_buf_status(b);
}

int ls_command_build_create_stream(struct ls_buf *b, double txid)
{
    head(b, "createStream", txid);
    return ls_buf_status(b);
}

int ls_command_build_play(struct ls_buf *b, double txid, const char *name, double start,
                          double duration, bool reset)
{
    head(b, "play", txid);
    ls_amf0_write_cstring(b, name);
    ls_amf0_write_number(b, start);
    ls_amf0_write_number(b, duration);
    ls_amf0_write_bool(b, reset);
    return ls_buf_status(b);
}

int ls_command_build_publish(struct ls_buf *b, double txid, const char *name, const char *type)
{
    head(b, "publish", txid);
    ls_amf0_write_cstring(b, name);
    ls_amf0_write_cstring(b, type != NULL ? type : "live");
    return ls_buf_status(b);
}

int ls_command_build_delete_stream(struct ls_buf *b, double txid, double stream_id)
{
    head(b, "deleteStream", txid);
    ls_amf0_write_number(b, stream_id);
    return ls_buf_status(b);
}

/* ---- data messages ---------------------------------------------------------------------- */

ssize_t ls_data_decode(const uint8_t *p, size_t len, bool amf3_message,
                       const struct ls_amf_limits *lim, struct ls_data_message *out,
                       const char **why)
{
    struct ls_amf_value *vals;
    size_t count;
    ssize_t rc;

    memset(out, 0, sizeof *out);
    rc = decode_body(p, len, amf3_message, lim, &vals, &count, why);
    if (rc < 0)
        return rc;
    out->name = take_string(&vals[0], &out->name_len);
    out->values = drop_front(vals, &count, 1);
    out->nvalues = count;
    return rc;
}

void ls_data_free(struct ls_data_message *msg)
{
    if (msg == NULL)
        return;
    free(msg->name);
    ls_amf_values_free(msg->values, msg->nvalues);
    memset(msg, 0, sizeof *msg);
}

static bool str_is(const char *s, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

const struct ls_amf_value *ls_data_metadata(const struct ls_data_message *msg)
{
    const struct ls_amf_value *v = NULL;

    if (str_is(msg->name, msg->name_len, "onMetaData") && msg->nvalues >= 1)
        v = &msg->values[0];
    else if (str_is(msg->name, msg->name_len, set_data_frame) && msg->nvalues >= 2 &&
             msg->values[0].type == LS_AMF_STRING &&
             str_is(msg->values[0].u.str.ptr, msg->values[0].u.str.len, "onMetaData"))
        v = &msg->values[1];
    return is_object(v) ? v : NULL;
}

bool ls_data_strip_set_data_frame(const uint8_t *p, size_t len, const uint8_t **out,
                                  size_t *out_len)
{
    const size_t n = sizeof set_data_frame - 1;

    if (len >= 3 + n && p[0] == LS_AMF0_STRING && p[1] == 0 && p[2] == n &&
        memcmp(p + 3, set_data_frame, n) == 0) {
        *out = p + 3 + n;
        *out_len = len - 3 - n;
        return true;
    }
    *out = p;
    *out_len = len;
    return false;
}

int ls_data_build_metadata(struct ls_buf *b, const struct ls_amf_value *meta)
{
    const struct ls_amf_container *c;
    size_t i;

    if (!is_object(meta))
        return LS_EINVAL;
    ls_amf0_write_cstring(b, "onMetaData");
    if (meta->type == LS_AMF_ECMA_ARRAY) {
        ls_amf0_encode(b, meta);
        return ls_buf_status(b);
    }
    c = meta->u.c;
    ls_amf0_write_ecma_begin(b, c->nprops > UINT32_MAX ? UINT32_MAX : (uint32_t)c->nprops);
    for (i = 0; i < c->nprops; i++) {
        ls_amf0_write_key(b, c->props[i].name, c->props[i].name_len);
        ls_amf0_encode(b, &c->props[i].value);
    }
    ls_amf0_write_object_end(b);
    return ls_buf_status(b);
}

int ls_data_build_sample_access(struct ls_buf *b, bool audio, bool video)
{
    ls_amf0_write_cstring(b, "|RtmpSampleAccess");
    ls_amf0_write_bool(b, audio);
    ls_amf0_write_bool(b, video);
    return ls_buf_status(b);
}

/* ---- onMetaData ------------------------------------------------------------------------- */

static bool printable(uint32_t c)
{
    return c >= 0x20 && c < 0x7f;
}

/* Reads a codec id given as a number or a string, keeping both forms. */
static bool codec_id(const struct ls_amf_value *obj, const char *key, double *num, char *str)
{
    const struct ls_amf_value *v = ls_amf_get(obj, key);
    uint32_t fourcc;
    size_t n;

    str[0] = '\0';
    *num = 0;
    if (v != NULL && v->type == LS_AMF_STRING) {
        n = v->u.str.len < LS_METADATA_CODEC_LEN - 1 ? v->u.str.len : LS_METADATA_CODEC_LEN - 1;
        memcpy(str, v->u.str.ptr, n);
        str[n] = '\0';
        if (v->u.str.len == 4)
            *num = (double)((uint32_t)(uint8_t)str[0] << 24 | (uint32_t)(uint8_t)str[1] << 16 |
                            (uint32_t)(uint8_t)str[2] << 8 | (uint8_t)str[3]);
        return true;
    }
    if (!ls_amf_as_number(v, num))
        return false;
    if (*num >= 0x20202020 && *num <= 0x7e7e7e7e && *num == (double)(uint32_t)*num) {
        fourcc = (uint32_t)*num;
        if (printable(fourcc >> 24) && printable(fourcc >> 16 & 0xff) &&
            printable(fourcc >> 8 & 0xff) && printable(fourcc & 0xff)) {
            str[0] = (char)(fourcc >> 24);
            str[1] = (char)(fourcc >> 16);
            str[2] = (char)(fourcc >> 8);
            str[3] = (char)fourcc;
            str[4] = '\0';
        }
    }
    return true;
}

int ls_metadata_parse(const struct ls_amf_value *obj, struct ls_metadata *out)
{
    const struct ls_amf_value *stereo;

    memset(out, 0, sizeof *out);
    if (!is_object(obj))
        return LS_EINVAL;
    out->has_width = ls_amf_get_number(obj, "width", &out->width);
    out->has_height = ls_amf_get_number(obj, "height", &out->height);
    out->has_framerate = ls_amf_get_number(obj, "framerate", &out->framerate) ||
                         ls_amf_get_number(obj, "fps", &out->framerate);
    out->has_videodatarate = ls_amf_get_number(obj, "videodatarate", &out->videodatarate);
    out->has_audiodatarate = ls_amf_get_number(obj, "audiodatarate", &out->audiodatarate);
    out->has_audiosamplerate = ls_amf_get_number(obj, "audiosamplerate", &out->audiosamplerate);
    out->has_duration = ls_amf_get_number(obj, "duration", &out->duration);
    stereo = ls_amf_get(obj, "stereo");
    if (stereo != NULL && stereo->type == LS_AMF_BOOLEAN) {
        out->has_stereo = true;
        out->stereo = stereo->u.boolean;
    } else {
        double d;

        if (ls_amf_as_number(stereo, &d)) {
            out->has_stereo = true;
            out->stereo = d != 0;
        }
    }
    out->has_videocodecid = codec_id(obj, "videocodecid", &out->videocodecid, out->videocodec);
    out->has_audiocodecid = codec_id(obj, "audiocodecid", &out->audiocodecid, out->audiocodec);
    out->encoder = ls_amf_get_string(obj, "encoder");
    return LS_OK;
}
