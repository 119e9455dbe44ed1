/*
 * mediaconf.h — the configuration of the two media daemons, spd (origin) and epd (edge):
 * one struct, one schema per role (the keys they share come from one list), and the
 * mapping onto the server, connection and hub settings. Keys and defaults are documented
 * in conf/spd.conf and conf/epd.conf; docs/interface.md names the contract's keys.
 */
#ifndef LIBSTREAM_MEDIACONF_H
#define LIBSTREAM_MEDIACONF_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/config.h"
#include "libstream/hub.h"
#include "libstream/server.h"

struct ls_http;

struct ls_media_auth_conf {
    char *secret;
    char *auth_url;
};

struct ls_media_tls_conf {
    char *cert;                      /* PEM certificate chain file ("" = none) */
    char *key;                       /* PEM private key file */
};

struct ls_media_record_conf {
    bool enabled;
    char *dir;
    int64_t max_bytes;               /* a file stops growing here; 0 = no limit */
    int64_t min_free_bytes;          /* recording stops below this much free space */
};

struct ls_media_vod_conf {
    char *dir;                       /* "" = no files served */
    int64_t max_viewers;             /* file plays and downloads at once */
    int64_t read_ahead_ms;           /* an RTMP player's lead on real time */
    int64_t index_cache_bytes;       /* memory for cached seek indexes */
    int64_t io_threads;              /* file worker threads (restart to change) */
};

struct ls_media_conf {
    /* every daemon */
    char *node_id;
    int log_level;
    struct ls_addr listen;
    struct ls_addr http_listen;
    char *cluster_secret;
    int64_t max_connections;
    /* spd (advertise and source_managers: epd too, for the cluster view) */
    struct ls_addr advertise;
    struct ls_addr_list source_managers;
    int64_t publish_takeover_idle;   /* s */
    int64_t publisher_idle_timeout;  /* s */
    struct ls_media_auth_conf publish;
    struct ls_media_record_conf record;
    struct ls_conf_list push;        /* struct ls_relay_push_conf (relayconf.h) */
    struct ls_conf_list pull;        /* struct ls_relay_pull_conf */
    int64_t max_pushes;              /* pushes running at once */
    int64_t push_retry_max;          /* s: longest back-off between push attempts */
    int64_t push_timeout;            /* s: a push target that answers nothing is lost */
    struct ls_media_vod_conf vod;
    /* epd */
    struct ls_addr_list upstream;    /* in order of preference; at least one */
    /* both */
    struct ls_media_tls_conf tls;
    struct ls_addr rtmps_listen;     /* port 0 = off */
    struct ls_addr https_listen;     /* port 0 = off */
    int64_t tls_max_client_hello;    /* bytes a TLS ClientHello may announce */
    bool gop_cache;
    int64_t idle_timeout;            /* s: pulled stream kept this long without viewers */
    int64_t play_wait_timeout;       /* s */
    struct ls_media_auth_conf play;
    int64_t handshake_timeout;       /* s */
    int64_t connect_timeout;         /* s: connected, neither publishing nor playing */
    int64_t chunk_size;              /* our outgoing chunk size */
    int64_t max_chunk_size;          /* largest chunk size a peer may set */
    int64_t max_message_size;
    int64_t max_chunk_streams;
    int64_t viewer_queue_bytes;
    int64_t slow_viewer_timeout;     /* s */
    int64_t flush_interval_ms;
    int64_t gop_cache_max_bytes;
    int64_t gop_cache_max_messages;
    int64_t auth_timeout_ms;         /* total deadline of an auth_url request */
    int64_t auth_max_inflight;       /* auth_url requests open at once */
    int64_t auth_max_answer_bytes;   /* auth_url answer: header block and body, each */
    struct ls_cidr_list http_allow;  /* who may use /api and /metrics */
    int64_t pull_retry_max;          /* s: longest back-off between pull attempts */
    int64_t dns_timeout_ms;          /* deadline of one DNS lookup */
    struct ls_addr_list dns_servers; /* empty = /etc/resolv.conf */
    int64_t max_control_queue_bytes; /* unsent replies per connection */
    int64_t min_ack_window;          /* smallest acknowledgement window honoured */
    int64_t max_empty_messages;      /* zero-length messages in a row */
    int64_t http_max_connections;
    int64_t http_request_timeout;    /* s */
    int64_t log_rate_limit;          /* lines a second per peer address */
    int64_t log_rate_burst;
    int64_t upstream_timeout;        /* s: a silent pull upstream is lost (no media, no pong) */
    int64_t max_pulls;               /* internal pulls running at once */
    int64_t max_waiting_streams;     /* never-live streams viewers wait on */
    int64_t max_waiting_per_client;  /* ... made wanted by one client address */
    int64_t not_found_cache_ms;      /* spd: an id found not live is not looked up again */
};

extern const struct ls_conf_key ls_spd_schema[];
extern const struct ls_conf_key ls_epd_schema[];

/* Applies the keys of `conf` that bound the HTTP server (`http`; NULL: later) and
 * logging (ls_log_set_peer_limit, process-wide). */
void ls_media_conf_apply_process(const struct ls_media_conf *conf, struct ls_http *http);

/*
 * Fills the server and hub settings from a loaded config. String pointers in `srv` borrow
 * from `conf`: keep `conf` alive as long as the server uses them (until the next reload).
 */
void ls_media_conf_apply(const struct ls_media_conf *conf, bool allow_publish,
                         struct ls_server_config *srv, struct ls_hub_config *hub);

#endif /* LIBSTREAM_MEDIACONF_H */
