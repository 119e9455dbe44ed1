/*
 * smdctl — a scriptable registry client for the integration tests.
 *
 * Raw mode speaks the protocol itself (smdproto.h over one ls_conn) to one smd, so tests
 * can send exactly what they want, including what a correct spd never would:
 *
 *   smdctl [options] HOST:PORT STEP...
 *     hello                          sends hello (needed before anything else)
 *     register ID [SINCE [re]]       → "register ID ok GEN" | "register ID error CODE [NODE ORIGIN]"
 *     unregister ID GEN|last         → "unregister ID ok" | "unregister ID error CODE"
 *     lookup ID                      → "lookup ID ok ORIGIN NODE GEN" | "lookup ID error CODE"
 *     watch ID | unwatch ID          → "watch ID ok"
 *     ping                           → "ping ok"
 *     unknown                        → an unknown command: "unknown error CODE"
 *     expect-close [MS]              → "closed: WHY" (fails unless the smd closes in time)
 *
 * Registry mode (-R) drives spd's own client (spd/registry.c) against every smd given
 * with -m, to test its multi-smd logic:
 *
 *   smdctl -R -m HOST:PORT [-m ...] [options] STEP...
 *     claim ID [SINCE]               → "claim ID ok" | "claim ID busy WHY" | "claim ID error CODE WHY"
 *     claim-cancel ID                claims and cancels at once: "claim-cancel ID done"
 *     release ID
 *     lookup ID                      → "lookup ID ok ORIGIN NODE" | "lookup ID notfound" | "lookup ID unreachable"
 *     watch ID | unwatch ID
 *     wait-up N [MS]                 → waits until N smds have a session
 *
 * Steps of both modes:
 *     sleep MS                       stays connected (answering probes, printing events)
 *     idle MS|none|mute              how probes are answered from now on (default 0)
 *     pings on|off                   (raw) automatic pings every lease/3 (default on)
 *     wait-event revoked|registered ID [MS]   until such an event has been printed
 *
 * Events print as they arrive: "event probe ID idle N|none|mute",
 * "event revoked ID [GEN]", "event registered ID ORIGIN NODE [GEN]".
 * Options: -s SECRET  -n NODE_ID (default ctl)  -a ADVERTISE (default 127.0.0.1:1935)
 *          -T TAKEOVER_IDLE_MS (default 5000)  -w STEP_TIMEOUT_MS (default 10000)
 *          -S TS (raw: hello timestamp, default now)  -b IPV4 (raw: source address)
 *          -V VERSION (raw: the hello's protocol version, default the current one: "2"
 *          plays an spd that predates reports)  -R  -m HOST:PORT
 * Exit status: 0 when every step ran; 1 when a step timed out or the connection was lost
 * while a step needed it; 2 for bad usage. Error answers are printed, not failures:
 * tests grep the output.
 */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/amf.h"
#include "libstream/clock.h"
#include "libstream/command.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/smdlink.h"
#include "libstream/smdproto.h"

/* The registry client is a daemon file, not libstream: test tools link only libstream,
 * so this tool compiles it in. */
#include "../../spd/registry.c"

static struct event_base *base;
static char **steps;
static int nsteps, cur = -1;
static int exit_status;
static struct event *step_timer, *next_ev, *ping_timer;
static unsigned step_timeout_ms = 10000;
static const char *secret = "", *node_id = "ctl", *advertise = "127.0.0.1:1935";
static unsigned takeover_idle_ms = 5000;
static long long hello_ts = -1;
static const char *hello_version = LS_SMD_VERSION;
static const char *bind_ip;
static enum { IDLE_MS, IDLE_NONE, IDLE_MUTE } idle_mode = IDLE_MS;
static uint64_t idle_ms;

/* what the current step waits for */
static enum { W_NOTHING, W_REPLY, W_CLOSE, W_EVENT, W_SLEEP, W_UP, W_CLAIM, W_LOOKUP } waiting;
static uint32_t wait_txid;
static char wait_event[160];

/* printed events, for wait-event */
static char **events;
static size_t nevents;

static void out(const char *fmt, ...) LS_PRINTF(1, 2);
static void out(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void record_event(const char *kind, const char *id)
{
    char key[160];
    char **grown;

    snprintf(key, sizeof key, "%s %s", kind, id);
    grown = realloc(events, (nevents + 1) * sizeof *events);
    if (grown == NULL)
        return;
    events = grown;
    events[nevents++] = strdup(key);
    if (waiting == W_EVENT && strcmp(key, wait_event) == 0) {
        struct timeval now = { 0, 0 };

        waiting = W_NOTHING;
        evtimer_add(next_ev, &now);
    }
}

static bool event_seen(const char *key)
{
    size_t i;

    for (i = 0; i < nevents; i++)
        if (events[i] != NULL && strcmp(events[i], key) == 0)
            return true;
    return false;
}

/* The current step is over: the next runs from its own event (never re-entrantly). */
static void step_done(void)
{
    struct timeval now = { 0, 0 };

    waiting = W_NOTHING;
    evtimer_del(step_timer);
    evtimer_add(next_ev, &now);
}

static void fail(const char *why)
{
    out("FAIL step %d (%s): %s", cur + 1, cur >= 0 && cur < nsteps ? steps[cur] : "-", why);
    exit_status = 1;
    event_base_loopexit(base, NULL);
}

static void wait_for(int what, unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    waiting = what;
    evtimer_add(step_timer, &tv);
}

static void step_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (waiting == W_SLEEP) {
        step_done();
        return;
    }
    fail("timed out");
}

/* True when word i exists and is a decimal number. */
static bool is_num(int i)
{
    return i < nsteps && steps[i][0] != '\0' && strspn(steps[i], "0123456789") == strlen(steps[i]);
}

static unsigned arg_ms(int i, unsigned dflt)
{
    return is_num(i) ? (unsigned)strtoul(steps[i], NULL, 10) : dflt;
}

static void set_idle(const char *v)
{
    if (strcmp(v, "none") == 0) {
        idle_mode = IDLE_NONE;
    } else if (strcmp(v, "mute") == 0) {
        idle_mode = IDLE_MUTE;
    } else {
        idle_mode = IDLE_MS;
        idle_ms = strtoull(v, NULL, 10);
    }
}

/* ============================ raw mode ============================ */

static struct ls_conn *conn;
static bool conn_ready, conn_closed, pings = true, said_hello, finishing;
static uint32_t next_txid;
static uint64_t lease_ms = 10000;
static char challenge_nonce[LS_SMD_NONCE_HEX + 1];
static char challenge_node[LS_SMD_NODE_ID_MAX + 1];
static struct { char id[LS_STREAM_ID_MAX + 1]; uint64_t gen; } gens[64];
static size_t ngens;

static void remember_gen(const char *id, uint64_t gen)
{
    size_t i;

    for (i = 0; i < ngens; i++)
        if (strcmp(gens[i].id, id) == 0)
            break;
    if (i == ngens) {
        if (ngens == sizeof gens / sizeof gens[0])
            return;
        ngens++;
    }
    snprintf(gens[i].id, sizeof gens[i].id, "%s", id);
    gens[i].gen = gen;
}

static uint64_t last_gen(const char *id)
{
    size_t i;

    for (i = 0; i < ngens; i++)
        if (strcmp(gens[i].id, id) == 0)
            return gens[i].gen;
    return 1;
}

static int raw_send(struct ls_smd_msg *m)
{
    int rc;

    if (conn == NULL)
        return LS_ESTATE;
    rc = ls_smdlink_send(conn, m);
    ls_conn_flush(conn);
    return rc;
}

static void raw_request(struct ls_smd_msg *m)
{
    if (++next_txid == 0)
        next_txid = 1;
    m->txid = next_txid;
    if (raw_send(m) != LS_OK) {
        fail("cannot send");
        return;
    }
    wait_txid = m->txid;
    wait_for(W_REPLY, step_timeout_ms);
}

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_smd_msg m;

    (void)fd;
    (void)what;
    (void)arg;
    if (!pings || !said_hello || conn == NULL)
        return;
    ls_smd_msg_init(&m, LS_SMD_PING, 0);
    m.txid = 0xfffffff0u; /* answers to it are not any step's */
    (void)raw_send(&m);
}

static void raw_print_reply(const char *step, const char *id, const struct ls_smd_msg *m)
{
    if (m->kind == LS_SMD_ERROR) {
        if (m->fields & LS_SMD_F_NODE_ID)
            out("%s%s%s error %s %s %s", step, id[0] ? " " : "", id, m->code, m->node_id,
                (m->fields & LS_SMD_F_ORIGIN) ? m->origin : "-");
        else
            out("%s%s%s error %s", step, id[0] ? " " : "", id, m->code);
        return;
    }
    if (strcmp(step, "register") == 0) {
        remember_gen(id, m->generation);
        out("register %s ok %llu", id, (unsigned long long)m->generation);
    } else if (strcmp(step, "lookup") == 0) {
        out("lookup %s ok %s %s %llu", id, m->origin, m->node_id,
            (unsigned long long)m->generation);
    } else if (strcmp(step, "hello") == 0) {
        said_hello = true;
        if (m->fields & LS_SMD_F_LEASE_SECONDS)
            lease_ms = m->lease_seconds * 1000;
        out("hello ok %s lease %llu", (m->fields & LS_SMD_F_NODE_ID) ? m->node_id : "-",
            (unsigned long long)(lease_ms / 1000));
        {
            struct timeval tv = { (time_t)(lease_ms / 3000),
                                  (suseconds_t)(lease_ms / 3 % 1000) * 1000 };

            evtimer_del(ping_timer);
            event_add(ping_timer, &tv);
        }
    } else {
        out("%s%s%s ok", step, id[0] ? " " : "", id);
    }
}

static void raw_on_message(struct ls_conn *c, void *owner, struct ls_frame *f)
{
    struct ls_smd_msg m, r;
    const char *why = "?";

    (void)c;
    (void)owner;
    if (f->type == LS_MSG_USER_CONTROL)
        return;
    if (ls_smd_decode_frame(f, &m, &why) != LS_OK) {
        out("bad message from smd: %s", why);
        return;
    }
    switch (m.kind) {
    case LS_SMD_CHALLENGE:
        /* what hello signs; the steps start once it is here */
        snprintf(challenge_nonce, sizeof challenge_nonce, "%s", m.nonce);
        snprintf(challenge_node, sizeof challenge_node, "%s", m.node_id);
        if (!conn_ready) {
            conn_ready = true;
            step_done();
        }
        break;
    case LS_SMD_PROBE:
        out("event probe %s %s", m.id, idle_mode == IDLE_MUTE ? "mute"
                                       : idle_mode == IDLE_NONE ? "none" : "idle");
        if (idle_mode == IDLE_MUTE)
            break;
        if (idle_mode == IDLE_NONE) {
            ls_smd_msg_init(&r, LS_SMD_ERROR, m.txid);
            ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
        } else {
            ls_smd_msg_init(&r, LS_SMD_RESULT, m.txid);
            ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, idle_ms);
        }
        (void)raw_send(&r);
        break;
    case LS_SMD_REVOKED:
        out("event revoked %s %llu", m.id, (unsigned long long)m.generation);
        record_event("revoked", m.id);
        break;
    case LS_SMD_REGISTERED:
        out("event registered %s %s %s %llu", m.id, m.origin, m.node_id,
            (unsigned long long)m.generation);
        record_event("registered", m.id);
        break;
    case LS_SMD_RESULT:
    case LS_SMD_ERROR:
        if (waiting == W_REPLY && m.txid == wait_txid) {
            const char *step = steps[cur];
            const char *id = cur + 1 < nsteps && strcmp(step, "hello") != 0 &&
                             strcmp(step, "ping") != 0 && strcmp(step, "unknown") != 0
                                 ? steps[cur + 1] : "";

            raw_print_reply(step, id, &m);
            step_done();
        }
        break;
    default:
        out("unexpected %s from smd", ls_smd_kind_name(m.kind));
        break;
    }
}

static void raw_on_ready(struct ls_conn *c, void *owner)
{
    struct ls_buf b;

    (void)owner;
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK)
        fail("cannot send");
    ls_buf_free(&b);
    /* ready once the smd's challenge arrives (raw_on_message) */
}

static void raw_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    (void)c;
    (void)owner;
    conn = NULL;
    conn_closed = true;
    if (finishing)
        return;
    out("closed: %s (%s)", why != NULL ? why : "", ls_strerror(err));
    if (waiting == W_CLOSE) {
        step_done();
    } else if (waiting == W_REPLY || !conn_ready) {
        fail("connection lost");
    }
}

static const struct ls_conn_ops raw_ops = {
    .on_ready = raw_on_ready,
    .on_message = raw_on_message,
    .on_close = raw_on_close,
};

/* Runs step `cur` of raw mode; returns the number of words it used. */
static int raw_step(void)
{
    const char *s = steps[cur];
    const char *id = cur + 1 < nsteps ? steps[cur + 1] : "";
    struct ls_smd_msg m;

    if (strcmp(s, "expect-close") == 0) {
        if (conn_closed) {
            step_done();
        } else {
            wait_for(W_CLOSE, arg_ms(cur + 1, step_timeout_ms));
        }
        return is_num(cur + 1) ? 2 : 1;
    }
    if (conn == NULL) {
        fail("not connected");
        return 1;
    }
    if (strcmp(s, "hello") == 0) {
        uint64_t ts = hello_ts >= 0 ? (uint64_t)hello_ts : (uint64_t)ls_unix_time();

        ls_smd_msg_init(&m, LS_SMD_HELLO, 0);
        ls_smd_set_str(&m, LS_SMD_F_NODE_ID, node_id);
        ls_smd_set_str(&m, LS_SMD_F_ORIGIN, advertise);
        ls_smd_set_num(&m, LS_SMD_F_TS, ts);
        ls_smd_set_str(&m, LS_SMD_F_VERSION, hello_version);
        ls_smd_set_str(&m, LS_SMD_F_NONCE, challenge_nonce);
        if (ls_smd_hello_sign(secret, node_id, advertise, ts, challenge_nonce, challenge_node,
                              m.sig) == LS_OK)
            m.fields |= LS_SMD_F_SIG;
        raw_request(&m);
        return 1;
    }
    if (strcmp(s, "ping") == 0) {
        ls_smd_msg_init(&m, LS_SMD_PING, 0);
        raw_request(&m);
        return 1;
    }
    if (strcmp(s, "unknown") == 0) {
        struct ls_buf b;
        struct ls_amf_value obj = LS_AMF_VALUE_INIT;

        ls_buf_init(&b, 0);
        if (ls_amf_object_new(&obj) != LS_OK ||
            ls_command_build_call(&b, "frobnicate", ++next_txid, &obj, 1) != LS_OK ||
            ls_conn_send(conn, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, b.data, b.len) !=
                LS_OK)
            fail("cannot send");
        ls_amf_clear(&obj);
        ls_buf_free(&b);
        ls_conn_flush(conn);
        wait_txid = next_txid;
        wait_for(W_REPLY, step_timeout_ms);
        return 1;
    }
    if (cur + 1 >= nsteps) {
        fail("missing argument");
        return 1;
    }
    if (strcmp(s, "register") == 0) {
        int used = 2;

        ls_smd_msg_init(&m, LS_SMD_REGISTER, 0);
        ls_smd_set_str(&m, LS_SMD_F_ID, id);
        ls_smd_set_num(&m, LS_SMD_F_TAKEOVER_IDLE_MS, takeover_idle_ms);
        if (is_num(cur + 2)) {
            ls_smd_set_num(&m, LS_SMD_F_SINCE, strtoull(steps[cur + 2], NULL, 10));
            used = 3;
            if (cur + 3 < nsteps && strcmp(steps[cur + 3], "re") == 0) {
                m.reannounce = true;
                m.fields |= LS_SMD_F_REANNOUNCE;
                used = 4;
            }
        }
        raw_request(&m);
        return used;
    }
    if (strcmp(s, "unregister") == 0) {
        const char *g = cur + 2 < nsteps ? steps[cur + 2] : "last";

        ls_smd_msg_init(&m, LS_SMD_UNREGISTER, 0);
        ls_smd_set_str(&m, LS_SMD_F_ID, id);
        ls_smd_set_num(&m, LS_SMD_F_GENERATION,
                       strcmp(g, "last") == 0 ? last_gen(id) : strtoull(g, NULL, 10));
        raw_request(&m);
        return 3;
    }
    if (strcmp(s, "lookup") == 0 || strcmp(s, "watch") == 0 || strcmp(s, "unwatch") == 0) {
        ls_smd_msg_init(&m, strcmp(s, "lookup") == 0 ? LS_SMD_LOOKUP
                            : strcmp(s, "watch") == 0 ? LS_SMD_WATCH : LS_SMD_UNWATCH, 0);
        ls_smd_set_str(&m, LS_SMD_F_ID, id);
        raw_request(&m);
        return 2;
    }
    if (strcmp(s, "pings") == 0) {
        pings = strcmp(id, "on") == 0;
        step_done();
        return 2;
    }
    fail("unknown step");
    return 1;
}

static int raw_start(const char *hostport)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct ls_conn_config cfg;
    int fd;

    if (ls_net_resolve(hostport, false, &ss, &len) != LS_OK) {
        fprintf(stderr, "smdctl: cannot resolve %s\n", hostport);
        return 2;
    }
    if (bind_ip != NULL) {
        struct sockaddr_in src;

        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd == -1 || inet_pton(AF_INET, bind_ip, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) == -1 ||
            (connect(fd, (struct sockaddr *)&ss, len) == -1 && errno != EINPROGRESS)) {
            fprintf(stderr, "smdctl: cannot connect from %s\n", bind_ip);
            return 2;
        }
    } else {
        fd = ls_net_connect((struct sockaddr *)&ss, len);
    }
    if (fd == -1) {
        out("closed: connect failed");
        return 1;
    }
    ls_smdlink_conn_config(&cfg);
    conn = ls_conn_new(base, fd, LS_HS_CLIENT, &cfg, &raw_ops, NULL);
    if (conn == NULL || ls_conn_start(conn) != LS_OK)
        return 1;
    ping_timer = event_new(base, -1, EV_PERSIST, ping_cb, NULL);
    wait_for(W_REPLY, step_timeout_ms); /* the handshake */
    cur = -1;
    return 0;
}

/* ============================ registry mode ============================ */

static struct spd_registry *reg;
static struct ls_addr_list smds;

static int hook_idle(void *arg, const char *id, uint64_t *out_ms)
{
    (void)arg;
    out("event probe %s %s", id, idle_mode == IDLE_NONE ? "none" : "idle");
    if (idle_mode != IDLE_MS)
        return LS_ENOTFOUND;
    *out_ms = idle_ms;
    return LS_OK;
}

static void hook_revoked(void *arg, const char *id)
{
    (void)arg;
    out("event revoked %s", id);
    record_event("revoked", id);
}

static void hook_registered(void *arg, const char *id, const char *origin, const char *node)
{
    (void)arg;
    out("event registered %s %s %s", id, origin, node);
    record_event("registered", id);
}

static char claim_id[LS_STREAM_ID_MAX + 1];

static void claim_cb(void *arg, int result, const char *why)
{
    (void)arg;
    if (result == LS_OK)
        out("claim %s ok%s%s", claim_id, why != NULL && why[0] ? " " : "", why != NULL ? why : "");
    else if (result == LS_EBUSY)
        out("claim %s busy %s", claim_id, why);
    else
        out("claim %s error %s %s", claim_id, ls_strerror(result), why);
    step_done();
}

static void lookup_cb(void *arg, int result, const char *origin, const char *node)
{
    (void)arg;
    if (result == LS_OK)
        out("lookup %s ok %s %s", claim_id, origin, node);
    else
        out("lookup %s %s", claim_id, result == LS_ENOTFOUND ? "notfound" : "unreachable");
    step_done();
}

static struct event *up_poll;
static unsigned want_up;

static void up_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (waiting == W_UP && spd_registry_up_count(reg) >= want_up) {
        out("up %zu", spd_registry_up_count(reg));
        event_del(up_poll);
        step_done();
    }
}

static int reg_step(void)
{
    const char *s = steps[cur];
    const char *id = cur + 1 < nsteps ? steps[cur + 1] : "";

    if (cur + 1 >= nsteps) {
        fail("missing argument");
        return 1;
    }
    snprintf(claim_id, sizeof claim_id, "%s", id);
    if (strcmp(s, "claim") == 0) {
        int64_t since = ls_unix_time();
        int used = 2;

        if (is_num(cur + 2)) {
            since = strtoll(steps[cur + 2], NULL, 10);
            used = 3;
        }
        wait_for(W_CLAIM, step_timeout_ms);
        if (spd_registry_claim(reg, id, since, 1, claim_cb, NULL) == NULL)
            fail("claim failed");
        return used;
    }
    if (strcmp(s, "claim-cancel") == 0) {
        struct spd_claim *c = spd_registry_claim(reg, id, ls_unix_time(), 1, claim_cb, NULL);

        if (c == NULL) {
            fail("claim failed");
            return 2;
        }
        spd_registry_claim_cancel(c);
        out("claim-cancel %s done", id);
        step_done();
        return 2;
    }
    if (strcmp(s, "release") == 0) {
        spd_registry_release(reg, id, 1);
        step_done();
        return 2;
    }
    if (strcmp(s, "lookup") == 0) {
        wait_for(W_LOOKUP, step_timeout_ms);
        if (spd_registry_lookup(reg, id, lookup_cb, NULL) == NULL)
            fail("lookup failed");
        return 2;
    }
    if (strcmp(s, "watch") == 0 || strcmp(s, "unwatch") == 0) {
        if (s[0] == 'w')
            spd_registry_watch(reg, id);
        else
            spd_registry_unwatch(reg, id);
        step_done();
        return 2;
    }
    if (strcmp(s, "wait-up") == 0) {
        struct timeval tv = { 0, 50000 };

        want_up = (unsigned)atoi(id);
        wait_for(W_UP, arg_ms(cur + 2, step_timeout_ms));
        event_add(up_poll, &tv);
        return is_num(cur + 2) ? 3 : 2;
    }
    fail("unknown step");
    return 1;
}

static int reg_start(void)
{
    struct spd_registry_config cfg = {
        .node_id = node_id, .advertise = advertise, .secret = secret, .smds = &smds,
        .takeover_idle_ms = takeover_idle_ms,
    };
    struct spd_registry_hooks hooks = {
        .publisher_idle = hook_idle, .revoked = hook_revoked, .registered = hook_registered,
    };

    reg = spd_registry_new(base, &cfg, &hooks);
    up_poll = event_new(base, -1, EV_PERSIST, up_poll_cb, NULL);
    if (reg == NULL || up_poll == NULL)
        return 1;
    step_done();
    return 0;
}

/* ============================ steps ============================ */

static bool registry_mode;

static void next_cb(evutil_socket_t fd, short what, void *arg)
{
    static int used = 1;
    const char *s;

    (void)fd;
    (void)what;
    (void)arg;
    if (exit_status != 0)
        return;
    cur = cur < 0 ? 0 : cur + used;
    used = 1;
    if (cur >= nsteps) {
        event_base_loopexit(base, NULL);
        return;
    }
    s = steps[cur];
    if (strcmp(s, "sleep") == 0) {
        wait_for(W_SLEEP, arg_ms(cur + 1, 0));
        used = 2;
    } else if (strcmp(s, "idle") == 0 && cur + 1 < nsteps) {
        set_idle(steps[cur + 1]);
        used = 2;
        step_done();
    } else if (strcmp(s, "wait-event") == 0 && cur + 2 < nsteps) {
        snprintf(wait_event, sizeof wait_event, "%s %s", steps[cur + 1], steps[cur + 2]);
        used = 3;
        if (is_num(cur + 3))
            used = 4;
        if (event_seen(wait_event))
            step_done();
        else
            wait_for(W_EVENT, used == 4 ? arg_ms(cur + 3, 0) : step_timeout_ms);
    } else {
        used = registry_mode ? reg_step() : raw_step();
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: smdctl [-s SECRET] [-n NODE] [-a ADVERTISE] [-T MS] [-w MS] [-S TS] [-b IP] "
                    "HOST:PORT STEP...\n"
                    "       smdctl -R -m HOST:PORT [-m HOST:PORT...] [options] STEP...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt, rc;
    size_t i;

    while ((opt = getopt(argc, argv, "s:n:a:T:w:S:V:b:Rm:")) != -1) {
        switch (opt) {
        case 's': secret = optarg; break;
        case 'n': node_id = optarg; break;
        case 'a': advertise = optarg; break;
        case 'T': takeover_idle_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'w': step_timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'S': hello_ts = strtoll(optarg, NULL, 10); break;
        case 'V': hello_version = optarg; break;
        case 'b': bind_ip = optarg; break;
        case 'R': registry_mode = true; break;
        case 'm': {
            struct ls_addr *v = realloc(smds.v, (smds.n + 1) * sizeof *v);

            if (v == NULL || ls_addr_parse(optarg, false, &v[smds.n]) != LS_OK)
                usage();
            smds.v = v;
            smds.n++;
            break;
        }
        default: usage();
        }
    }
    if (registry_mode ? smds.n == 0 : optind >= argc)
        usage();
    ls_log_init("smdctl");
    ls_log_set_level(getenv("SMDCTL_DEBUG") != NULL ? LS_LOG_DEBUG : LS_LOG_WARNING);
    base = event_base_new();
    step_timer = evtimer_new(base, step_timeout_cb, NULL);
    next_ev = evtimer_new(base, next_cb, NULL);
    if (registry_mode) {
        steps = argv + optind;
        nsteps = argc - optind;
        rc = reg_start();
    } else {
        steps = argv + optind + 1;
        nsteps = argc - optind - 1;
        rc = raw_start(argv[optind]);
    }
    if (rc != 0)
        return rc;
    event_base_dispatch(base);
    if (registry_mode)
        spd_registry_free(reg);
    else if (conn != NULL) {
        finishing = true;
        ls_conn_close(conn, LS_OK, "done");
    }
    if (up_poll != NULL)
        event_free(up_poll);
    if (ping_timer != NULL)
        event_free(ping_timer);
    event_free(step_timer);
    event_free(next_ev);
    event_base_free(base);
    for (i = 0; i < nevents; i++)
        free(events[i]);
    free(events);
    free(smds.v);
    return exit_status;
}
