/*
 * smdlink.c — registry messages on a connection (see smdlink.h). Layer: connection, above
 * conn.c and the pure registry codec (smdproto.c); below smd/registry.c and
 * spd/registry.c, which both use it.
 */
#include "libstream/buf.h"
#include "libstream/rtmp.h"
#include "libstream/smdlink.h"
#include "libstream/smdreport.h"

void ls_smdlink_conn_config(struct ls_conn_config *cfg)
{
    ls_conn_config_defaults(cfg);
    cfg->handshake_timeout_ms = 5000;
    cfg->idle_timeout_ms = 0;
    cfg->chunk.max_chunk_size = 65536;
    cfg->chunk.max_message_size = LS_SMD_MESSAGE_MAX;
    cfg->chunk.max_chunk_streams = 8;
    cfg->chunk.max_pending_bytes = 4 * LS_SMD_MESSAGE_MAX;
    cfg->out_chunk_size = 4096;
    /* A node's requests come in bursts (an spd re-announces every stream it holds at
     * once), each answered; before hello a peer can make us queue one answer. */
    cfg->max_control_queue_bytes = 64u << 20;
}

int ls_smdlink_send(struct ls_conn *c, const struct ls_smd_msg *m)
{
    struct ls_buf b;
    int rc;

    ls_buf_init(&b, LS_SMD_MESSAGE_MAX);
    rc = ls_smd_encode(&b, m);
    if (rc == LS_OK)
        rc = ls_conn_send(c, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, b.data, b.len);
    ls_buf_free(&b);
    return rc;
}

void ls_smdlink_server_conn_config(struct ls_conn_config *cfg)
{
    ls_smdlink_conn_config(cfg);
    cfg->chunk.max_message_size = LS_SMD_REPORT_MAX;
    /* one report being assembled, and room for the small messages around it */
    cfg->chunk.max_pending_bytes = LS_SMD_REPORT_MAX + 4 * LS_SMD_MESSAGE_MAX;
}
