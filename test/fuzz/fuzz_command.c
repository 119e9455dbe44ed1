/*
 * libFuzzer target for command.c: arbitrary bytes as a command and a data message
 * payload, in both the AMF0 (type 20/18) and AMF3 (type 17/15) framings, then every typed
 * view, the metadata reader, and a rebuild of the decoded command.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void views(const struct ls_command *cmd)
{
    struct ls_connect_params cp;
    const char *name, *type;
    double start, duration, id;
    bool reset;
    struct ls_buf b;
    struct ls_command again;

    (void)ls_command_parse_connect(cmd, &cp);
    (void)ls_command_parse_publish(cmd, &name, &type);
    (void)ls_command_parse_play(cmd, &name, &start, &duration, &reset);
    (void)ls_command_parse_stream_name(cmd, &name);
    (void)ls_command_parse_delete_stream(cmd, &id);
    (void)ls_command_is(cmd, "connect");

    /* what we decoded, we can send back */
    ls_buf_init(&b, 0);
    if (ls_command_build_call(&b, cmd->name, cmd->transaction_id, cmd->args, cmd->nargs) != LS_OK)
        abort();
    if (ls_command_decode(b.data, b.len, false, NULL, &again, NULL) >= 0)
        ls_command_free(&again);
    ls_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_command cmd;
    struct ls_data_message msg;
    struct ls_metadata md;
    const struct ls_amf_value *meta;
    const uint8_t *rest;
    size_t rest_len;
    int amf3;

    for (amf3 = 0; amf3 <= 1; amf3++) {
        if (ls_command_decode(data, size, amf3, NULL, &cmd, NULL) >= 0) {
            views(&cmd);
            ls_command_free(&cmd);
        } else if (cmd.name != NULL || cmd.args != NULL) {
            abort();
        }
        if (ls_data_decode(data, size, amf3, NULL, &msg, NULL) >= 0) {
            meta = ls_data_metadata(&msg);
            if (meta != NULL && ls_metadata_parse(meta, &md) != LS_OK)
                abort();
            ls_data_free(&msg);
        }
    }
    if (ls_data_strip_set_data_frame(data, size, &rest, &rest_len) &&
        ls_data_decode(rest, rest_len, false, NULL, &msg, NULL) >= 0)
        ls_data_free(&msg);
    return 0;
}
