/*
 * auth.h — the admission step every publish and play passes (docs/interface.md "Tokens").
 *
 * With a `secret`, the request's query must carry a valid `expires`/`token` pair
 * (token.h). With an `auth_url`, the daemon POSTs app, name, token, expires, client_ip and
 * action (form-encoded) there and allows only on a 2xx answer within `timeout_ms`. Both
 * may be set (the token is checked first). The answer is always delivered through the
 * callback from the event loop, never from inside ls_auth_check, so callers have one
 * code path whether or not a network round trip happens.
 *
 * The auth server is trusted to decide, not to be well-behaved (docs/security.md): each
 * request has a total deadline (`timeout_ms`, from the start to the last byte of the
 * answer, however slowly it trickles), the answer's header block and body are each read
 * up to `max_answer_bytes` and the request fails past that, and at most `max_inflight`
 * requests are open at once in the process (one daemon per process: the cap is per
 * daemon). A check over the cap is refused at once with LS_ELIMIT, without a request.
 */
#ifndef LIBSTREAM_AUTH_H
#define LIBSTREAM_AUTH_H

#include <stdbool.h>

#include "libstream/streamid.h"

struct event_base;
struct evdns_base;
struct ls_auth_request;

struct ls_auth_config {
    const char *secret;      /* "" or NULL = no token check */
    const char *auth_url;    /* "" or NULL = no external check; http:// only */
    unsigned timeout_ms;     /* auth_url total deadline (default 3000) */
    unsigned max_inflight;   /* auth_url requests open at once; 0 = LS_AUTH_MAX_INFLIGHT */
    unsigned max_answer_bytes; /* header block and body bound; 0 = LS_AUTH_MAX_ANSWER */
    struct evdns_base *dns;  /* resolves auth_url's host without blocking (resolver.h);
                              * NULL = evhttp's blocking lookup, for tools and tests */
};

/* Defaults of the bounds (config keys auth_max_inflight, auth_max_answer_bytes). */
#define LS_AUTH_MAX_INFLIGHT 512
#define LS_AUTH_MAX_ANSWER 16384

/*
 * `result` is LS_OK (allowed), LS_EAUTH (refused; `why` says why, for the log), or
 * LS_ELIMIT (not asked: max_inflight requests were already open; the caller refuses the
 * client as overloaded, not as unauthorised).
 */
typedef void (*ls_auth_cb)(void *arg, int result, const char *why);

/*
 * Starts the check. Returns a handle for ls_auth_cancel, or NULL when the callback could
 * not even be scheduled (out of memory: treat as refused). The config strings are copied.
 */
struct ls_auth_request *ls_auth_check(struct event_base *base, const struct ls_auth_config *cfg,
                                      const char *action, const struct ls_stream_ref *ref,
                                      const char *client_ip, ls_auth_cb cb, void *arg);
/* Cancels a pending check: the callback will not run. */
void ls_auth_cancel(struct ls_auth_request *req);
/* auth_url requests open right now in this process. */
unsigned ls_auth_inflight(void);

#endif /* LIBSTREAM_AUTH_H */
