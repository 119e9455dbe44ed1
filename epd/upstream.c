/*
 * upstream.c — epd's upstream list and its health (see upstream.h). Layer: the edge
 * role, on top of libstream's RTMP client (a probe is a client that stops at connect).
 *
 *   up ──a pull fails there (edge.c)──▶ down ──probe timer──▶ probing ──connect answered──▶ up
 *                                         ▲                      │
 *                                         └──── backoff ◀── fails (refused, silent, timeout)
 *
 * Each upstream is allocated on its own so that a probe in flight can outlive its place
 * in the list: an upstream dropped by a reload (or by shutdown) while its probe runs is
 * "retired" (set = NULL) and freed by the probe's on_close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/prom.h"
#include "libstream/resolver.h"
#include "upstream.h"

#define PROBE_FIRST_MS 500u

struct upstream {
    struct epd_upstreams *set; /* NULL once retired */
    char addr[LS_ADDR_STRLEN];
    bool down;
    bool probe_ok;             /* this probe's connect was answered */
    unsigned backoff_ms;
    struct event *timer;       /* the next probe of a down upstream */
    struct ls_resolve *dns;
    struct ls_client *probe;
};

struct epd_upstreams {
    struct event_base *base;
    struct epd_upstreams_config cfg;
    struct upstream **v;
    size_t n;
    uint64_t switches[EPD_SWITCH_COUNT];
    bool stopped;
};

static const char *const switch_names[EPD_SWITCH_COUNT] = {
    [EPD_SWITCH_LOST] = "lost",
    [EPD_SWITCH_SILENT] = "silent",
    [EPD_SWITCH_REFUSED] = "refused",
    [EPD_SWITCH_NOT_FOUND] = "not_found",
    [EPD_SWITCH_REMOVED] = "removed",
};

const char *epd_switch_reason_name(enum epd_switch_reason r)
{
    return (unsigned)r < EPD_SWITCH_COUNT ? switch_names[r] : "unknown";
}

static const struct ls_client_ops probe_ops;

static void upstream_free(struct upstream *up)
{
    if (up->timer != NULL)
        event_free(up->timer);
    free(up);
}

/* Out of the list: nothing of it runs any more; freed now, or by its probe's on_close. */
static void upstream_retire(struct upstream *up)
{
    up->set = NULL;
    if (up->timer != NULL)
        evtimer_del(up->timer);
    ls_resolve_cancel(up->dns);
    up->dns = NULL;
    if (up->probe != NULL)
        ls_client_close(up->probe, "upstream no longer probed"); /* on_close frees it */
    else
        upstream_free(up);
}

static void probe_schedule(struct upstream *up)
{
    struct timeval tv;
    unsigned max = up->set->cfg.probe_max_ms;

    up->backoff_ms = up->backoff_ms == 0 ? PROBE_FIRST_MS : up->backoff_ms * 2;
    if (max >= PROBE_FIRST_MS && up->backoff_ms > max)
        up->backoff_ms = max;
    tv.tv_sec = up->backoff_ms / 1000;
    tv.tv_usec = (suseconds_t)(up->backoff_ms % 1000) * 1000;
    evtimer_add(up->timer, &tv);
}

static void upstream_mark_up(struct upstream *up)
{
    if (!up->down)
        return;
    up->down = false;
    up->backoff_ms = 0;
    evtimer_del(up->timer);
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(NULL, up->addr), "upstream %s is up again (it accepted "
               "an RTMP connect): new pulls may use it", up->addr);
}

static void probe_failed(struct upstream *up, const char *why)
{
    ls_log(LS_LOG_DEBUG, "upstream %s: probe failed (%s)", up->addr, why);
    if (up->down && !up->set->stopped)
        probe_schedule(up);
}

static void probe_connect(struct upstream *up, const struct sockaddr *sa, socklen_t len)
{
    struct epd_upstreams *u = up->set;
    struct ls_client_config cfg = u->cfg.client;
    char tc_url[LS_ADDR_STRLEN + 16];

    cfg.start_timeout_ms = u->cfg.probe_timeout_ms;
    cfg.conn.handshake_timeout_ms = u->cfg.probe_timeout_ms;
    cfg.silence_timeout_ms = 0; /* the start timeout bounds a probe */
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/probe", up->addr);
    up->probe_ok = false;
    /* A play client that is closed as soon as connect is answered: never plays. */
    up->probe = ls_client_start(u->base, sa, len, LS_CLIENT_PLAY, tc_url, "probe", "probe", &cfg,
                                &probe_ops, up);
    if (up->probe == NULL)
        probe_failed(up, "cannot open a connection");
}

static void probe_resolved(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct upstream *up = arg;

    up->dns = NULL;
    if (result != LS_OK)
        probe_failed(up, "does not resolve");
    else
        probe_connect(up, sa, len);
}

static void probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct upstream *up = arg;
    struct sockaddr_storage ss;
    socklen_t len;

    (void)fd;
    (void)what;
    if (!up->down || up->probe != NULL || up->dns != NULL || up->set->stopped)
        return;
    if (up->set->cfg.resolver != NULL) {
        up->dns = ls_resolver_resolve(up->set->cfg.resolver, up->addr, probe_resolved, up);
        if (up->dns == NULL)
            probe_failed(up, "out of memory");
        return;
    }
    if (ls_net_resolve(up->addr, false, &ss, &len) != LS_OK)
        probe_failed(up, "does not resolve");
    else
        probe_connect(up, (struct sockaddr *)&ss, len);
}

static void probe_on_connected(struct ls_client *cl, void *arg, const struct ls_amf_value *info)
{
    struct upstream *up = arg;

    (void)info;
    up->probe_ok = true;
    ls_client_close(cl, "probe done");
}

static void probe_on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct upstream *up = arg;

    (void)cl;
    up->probe = NULL;
    if (up->set == NULL) {
        upstream_free(up); /* retired while probing */
        return;
    }
    if (up->probe_ok)
        upstream_mark_up(up);
    else
        probe_failed(up, why != NULL ? why : ls_strerror(err));
}

static const struct ls_client_ops probe_ops = {
    .on_connected = probe_on_connected,
    .on_close = probe_on_close,
};

struct epd_upstreams *epd_upstreams_new(struct event_base *base)
{
    struct epd_upstreams *u = calloc(1, sizeof *u);

    if (u != NULL)
        u->base = base;
    return u;
}

static struct upstream *upstream_new(struct epd_upstreams *u, const char *addr)
{
    struct upstream *up = calloc(1, sizeof *up);

    if (up == NULL)
        return NULL;
    up->set = u;
    snprintf(up->addr, sizeof up->addr, "%s", addr);
    up->timer = evtimer_new(u->base, probe_timer_cb, up);
    if (up->timer == NULL) {
        free(up);
        return NULL;
    }
    return up;
}

/* The i-th address of a configured list as pulls get it: "host:port". */
static void list_addr(const struct ls_addr_list *list, size_t i, char out[LS_ADDR_STRLEN])
{
    if (ls_addr_format(&list->v[i], out, LS_ADDR_STRLEN) != LS_OK)
        out[0] = '\0'; /* cannot happen: LS_ADDR_STRLEN always fits */
}

static bool listed_before(const struct ls_addr_list *list, size_t i)
{
    char a[LS_ADDR_STRLEN], b[LS_ADDR_STRLEN];
    size_t j;

    list_addr(list, i, a);
    for (j = 0; j < i; j++) {
        list_addr(list, j, b);
        if (strcmp(a, b) == 0)
            return true;
    }
    return false;
}

int epd_upstreams_set(struct epd_upstreams *u, const struct ls_addr_list *list,
                      const struct epd_upstreams_config *cfg)
{
    struct upstream **v = list->n > 0 ? calloc(list->n, sizeof *v) : NULL;
    size_t i, j;

    if (list->n > 0 && v == NULL)
        return LS_ENOMEM;
    /* First what is new, so that running out of memory leaves the old list whole. (An
     * address listed twice — the config refuses that — is new the second time.) */
    for (i = 0; i < list->n; i++) {
        char addr[LS_ADDR_STRLEN];

        list_addr(list, i, addr);
        if ((epd_upstreams_find(u, addr) < 0 || listed_before(list, i)) &&
            (v[i] = upstream_new(u, addr)) == NULL) {
            for (j = 0; j < i; j++)
                if (v[j] != NULL)
                    upstream_free(v[j]);
            free(v);
            return LS_ENOMEM;
        }
    }
    /* Then what stays: an address still listed keeps its state and its probe. */
    for (i = 0; i < list->n; i++) {
        char addr[LS_ADDR_STRLEN];
        int at;

        if (v[i] != NULL)
            continue;
        list_addr(list, i, addr);
        at = epd_upstreams_find(u, addr);
        v[i] = u->v[at];
        u->v[at] = NULL;
    }
    for (j = 0; j < u->n; j++)
        if (u->v[j] != NULL)
            upstream_retire(u->v[j]);
    free(u->v);
    u->v = v;
    u->n = list->n;
    u->cfg = *cfg;
    return LS_OK;
}

size_t epd_upstreams_count(const struct epd_upstreams *u)
{
    return u->n;
}

const char *epd_upstreams_addr(const struct epd_upstreams *u, size_t i)
{
    return i < u->n ? u->v[i]->addr : "";
}

int epd_upstreams_find(const struct epd_upstreams *u, const char *addr)
{
    size_t i;

    for (i = 0; i < u->n; i++)
        if (u->v[i] != NULL && strcmp(u->v[i]->addr, addr) == 0)
            return (int)i;
    return -1;
}

bool epd_upstreams_is_up(const struct epd_upstreams *u, size_t i)
{
    return i < u->n && !u->v[i]->down;
}

size_t epd_upstreams_choose(const struct epd_upstreams *u, int from, bool skip_from)
{
    size_t i;

    for (i = 0; i < u->n; i++)
        if (!u->v[i]->down && !(skip_from && (int)i == from))
            return i;
    if (from < 0 || u->n == 0)
        return 0;
    return ((size_t)from + 1) % u->n;
}

void epd_upstreams_mark_down(struct epd_upstreams *u, size_t i, const char *why)
{
    struct upstream *up;

    if (i >= u->n || u->stopped || u->v[i]->down)
        return;
    up = u->v[i];
    up->down = true;
    up->backoff_ms = 0;
    ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(NULL, up->addr), "upstream %s is down (%s): new pulls "
               "avoid it until it accepts an RTMP connect again", up->addr, why);
    if (up->probe == NULL && up->dns == NULL)
        probe_schedule(up);
}

void epd_upstreams_count_switch(struct epd_upstreams *u, enum epd_switch_reason r)
{
    if ((unsigned)r < EPD_SWITCH_COUNT)
        u->switches[r]++;
}

uint64_t epd_upstreams_switches(const struct epd_upstreams *u, enum epd_switch_reason r)
{
    return (unsigned)r < EPD_SWITCH_COUNT ? u->switches[r] : 0;
}

void epd_upstreams_metrics(const struct epd_upstreams *u, const uint64_t *playing,
                           struct ls_buf *out)
{
    size_t i;

    ls_prom_counter_by(out, "livecluster_upstream_switches_total",
                       "Pulls that left an upstream for another, by reason.", "reason",
                       switch_names, u->switches, EPD_SWITCH_COUNT);
    ls_prom_header(out, "livecluster_upstream_up", "gauge",
                   "1 when the upstream is taken for new pulls, 0 while it is down and probed.");
    for (i = 0; i < u->n; i++) {
        const char *labels[] = { "upstream", u->v[i]->addr, NULL };

        ls_prom_sample_u64(out, "livecluster_upstream_up", labels, u->v[i]->down ? 0 : 1);
    }
    ls_prom_header(out, "livecluster_upstream_pulls", "gauge",
                   "Pulls playing from each upstream now.");
    for (i = 0; i < u->n; i++) {
        const char *labels[] = { "upstream", u->v[i]->addr, NULL };

        ls_prom_sample_u64(out, "livecluster_upstream_pulls", labels,
                           playing != NULL ? playing[i] : 0);
    }
}

void epd_upstreams_stop(struct epd_upstreams *u)
{
    size_t i;

    u->stopped = true;
    for (i = 0; i < u->n; i++) {
        struct upstream *up = u->v[i];

        evtimer_del(up->timer);
        ls_resolve_cancel(up->dns);
        up->dns = NULL;
        if (up->probe != NULL)
            ls_client_close(up->probe, "shutting down"); /* on_close: probe = NULL */
    }
}

void epd_upstreams_free(struct epd_upstreams *u)
{
    size_t i;

    if (u == NULL)
        return;
    epd_upstreams_stop(u);
    for (i = 0; i < u->n; i++)
        upstream_retire(u->v[i]);
    free(u->v);
    free(u);
}
