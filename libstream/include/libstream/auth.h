/*
 * auth.h — the admission step every publish and play passes (docs/interface.md "Tokens").
 *
 * With a `secret`, the request's query must carry a valid `expires`/`token` pair
 * (token.h). With an `auth_url`, the daemon POSTs app, name, token, expires, client_ip and
 * action (form-encoded) there and allows only on a 2xx answer within `timeout_ms`. Both
 * may be set (the token is checked first). The answer is always delivered through the
 * callback from the event loop, never from inside ls_auth_check, so callers have one
 * code path whether or not a network round trip happens.
 */
#ifndef LIBSTREAM_AUTH_H
#define LIBSTREAM_AUTH_H

#include <stdbool.h>

#include "libstream/streamid.h"

struct event_base;
struct evdns_base;
struct ls_auth_request;

struct ls_auth_config {
    const char *secret;   /* "" or NULL = no token check */
    const char *auth_url; /* "" or NULL = no external check; http:// only */
    unsigned timeout_ms;  /* auth_url answer deadline (default 3000) */
    struct evdns_base *dns; /* resolves auth_url's host without blocking (resolver.h);
                             * NULL = evhttp's blocking lookup, for tools and tests */
};

/* `result` is LS_OK (allowed) or LS_EAUTH (refused; `why` says why, for the log). */
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

#endif /* LIBSTREAM_AUTH_H */
