/*
 * smdlink.h — the registry protocol (smdproto.h) on a connection (conn.h): the connection
 * settings both ends of an spd <-> smd link use, and sending one message. Shared by smd's
 * registry (server side), spd's registry client and the test tools.
 */
#ifndef LIBSTREAM_SMDLINK_H
#define LIBSTREAM_SMDLINK_H

#include "libstream/conn.h"
#include "libstream/err.h"
#include "libstream/smdproto.h"

/*
 * Connection settings for a registry link (both ends): chunk limits sized for this
 * protocol (messages up to LS_SMD_MESSAGE_MAX, 8 chunk streams), 4096-byte outgoing
 * chunks, a 5 s handshake deadline and no idle timeout (the owner sets the lease).
 */
void ls_smdlink_conn_config(struct ls_conn_config *cfg);
/* smd's end: the same, taking messages up to LS_SMD_REPORT_MAX (nodes' reports,
 * smdreport.h); every other message is still refused past LS_SMD_MESSAGE_MAX by its
 * decoder. */
void ls_smdlink_server_conn_config(struct ls_conn_config *cfg);

/*
 * Encodes *m and queues it on `c` (chunk stream 3, type 20, stream 0); the caller
 * flushes. Returns LS_OK, an ls_smd_encode error, or an ls_conn_send error.
 */
LS_MUST_CHECK int ls_smdlink_send(struct ls_conn *c, const struct ls_smd_msg *m);

#endif /* LIBSTREAM_SMDLINK_H */
