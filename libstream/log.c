/*
 * log.c — daemon logging (see log.h). Layer: process plumbing, not the media path.
 *
 * Format follows sd-daemon(3) for journal mode — a "<N>" syslog priority prefix per line
 * on a stream that journald reads — and RFC 3339 UTC timestamps with milliseconds in
 * plain mode:
 *
 *   journal:  <6>spd: publish live/x from 10.0.0.7:50512
 *   plain:    2026-11-24T03:04:05.123Z spd info: publish live/x from 10.0.0.7:50512
 *
 * A line is assembled completely in a stack buffer and handed to one write(2): stderr is a
 * pipe or socket under systemd, where writes below PIPE_BUF are atomic, so lines never mix.
 * errno is preserved across ls_log() so callers can log before reporting errno.
 *
 * Native journal mode (log.h) sends the same escaped message, without the prefix, as one
 * journald entry (journal.c) whose fields carry what the stderr line cannot: the stream id,
 * the peer and this node's id. The choice is made once, at ls_log_init.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libstream/clock.h"
#include "libstream/journal.h"
#include "libstream/json.h"
#include "libstream/log.h"

#define LOG_PEER_SLOTS 256
#define LOG_PEER_HOST_MAX 64

/* One address's token bucket (ls_log_peer); tokens in thousandths of a line. */
struct log_peer_slot {
    char host[LOG_PEER_HOST_MAX];
    uint64_t tokens;
    uint64_t refill_ms;
    uint64_t suppressed;
};

static struct {
    unsigned rate;   /* lines per second; 0 = no limit */
    unsigned burst;
    struct log_peer_slot slots[LOG_PEER_SLOTS];
} g_peer;

static struct {
    char ident[LS_LOG_IDENT_MAX + 1];
    int level;
    bool journal;            /* "<N>" prefixes on stderr */
    bool native;             /* entries to journald's socket first */
    void (*sink)(int level, const char *line, void *arg);
    void *sink_arg;
    char node_id[LS_LOG_FIELD_MAX + 1];   /* escaped */
} g_log = { "livecluster", LS_LOG_INFO, false, false, NULL, NULL, "" };

static const char *const level_names[] = {
    [LS_LOG_ERR] = "error",
    [LS_LOG_WARNING] = "warning",
    [LS_LOG_NOTICE] = "notice",
    [LS_LOG_INFO] = "info",
    [LS_LOG_DEBUG] = "debug",
};

static int clamp_level(int level)
{
    if (level < LS_LOG_ERR)
        return LS_LOG_ERR;
    if (level > LS_LOG_DEBUG)
        return LS_LOG_DEBUG;
    return level;
}

void ls_log_set_ident(const char *ident)
{
    if (ident == NULL)
        ident = "livecluster";
    snprintf(g_log.ident, sizeof g_log.ident, "%.*s", LS_LOG_IDENT_MAX, ident);
}

void ls_log_init(const char *ident)
{
    const char *js = getenv("JOURNAL_STREAM");
    const char *force = getenv("LIVECLUSTER_JOURNAL");

    ls_log_set_ident(ident);
    g_log.journal = js != NULL && js[0] != '\0';
    if (force != NULL && strcmp(force, "native") == 0)
        g_log.native = true;
    else if (force != NULL && strcmp(force, "off") == 0)
        g_log.native = false;
    else /* only when fd 2 is journald's stream, not merely a child of a process that had one */
        g_log.native = ls_journal_stream_is(js, STDERR_FILENO);
}

bool ls_log_native(void) { return g_log.native; }

void ls_log_set_level(int level) { g_log.level = clamp_level(level); }

int ls_log_get_level(void) { return g_log.level; }

bool ls_log_enabled(int level) { return clamp_level(level) <= g_log.level; }

int ls_log_parse_level(const char *text, int *level)
{
    int l;

    if (text == NULL)
        return LS_EINVAL;
    for (l = LS_LOG_ERR; l <= LS_LOG_DEBUG; l++) {
        if (strcmp(text, level_names[l]) == 0) {
            *level = l;
            return LS_OK;
        }
    }
    return LS_EINVAL;
}

const char *ls_log_level_name(int level) { return level_names[clamp_level(level)]; }

void ls_log_set_sink(void (*sink)(int level, const char *line, void *arg), void *arg)
{
    g_log.sink = sink;
    g_log.sink_arg = sink != NULL ? arg : NULL;
}

static size_t format_prefix(char *line, size_t cap, int level)
{
    struct timespec ts;
    struct tm tm;
    int n;

    if (g_log.journal) {
        n = snprintf(line, cap, "<%d>%s: ", level, g_log.ident);
    } else {
        if (clock_gettime(CLOCK_REALTIME, &ts) == -1) {
            ts.tv_sec = 0;
            ts.tv_nsec = 0;
        }
        gmtime_r(&ts.tv_sec, &tm);
        n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, g_log.ident, level_names[level]);
    }
    /* The ident is bounded, so the prefix always fits; clamp anyway. */
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);

        if (w == -1) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing stderr */
        }
        p += w;
        n -= (size_t)w;
    }
}

/*
 * Appends `src` escaped (log.h) to `out`, which holds `len` bytes, keeping the total within
 * `hard` bytes; `cut` says `src` is already a cut message. A cut result ends in "...", with
 * no escape or UTF-8 sequence split before it. Returns the new length (no NUL is written).
 */
static size_t log_escape(char *out, size_t len, size_t hard, const char *src, bool cut)
{
    const size_t soft = hard - 3;
    const unsigned char *p = (const unsigned char *)src;
    const unsigned char *end = p + strlen(src);
    size_t last_fit = len, elen;

    while (p < end) {
        char esc[8];
        const char *e = esc;
        size_t seq = 1;

        if (*p == '\n') {
            e = "\\n"; elen = 2;
        } else if (*p == '\r') {
            e = "\\r"; elen = 2;
        } else if (*p == '\t') {
            e = "\\t"; elen = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            elen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        } else if ((seq = ls_json_utf8_len(p, (size_t)(end - p))) == 0) {
            seq = 1;
            elen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        } else {
            e = (const char *)p;
            elen = seq;
        }
        if (len + elen > hard) {
            cut = true;
            break;
        }
        memcpy(out + len, e, elen);
        len += elen;
        p += seq;
        if (len <= soft)
            last_fit = len;
    }
    if (cut) {
        if (len > soft)
            len = last_fit;
        memcpy(out + len, "...", 3);
        len += 3;
    }
    return len;
}

/* `value` escaped and bounded as a field, NUL-terminated in `out` (LS_LOG_FIELD_MAX + 1). */
static const char *log_field(char *out, const char *value)
{
    if (value == NULL)
        return NULL;
    out[log_escape(out, 0, LS_LOG_FIELD_MAX, value, false)] = '\0';
    return out;
}

/* The message as one journald entry with the fields of `ctx`; false when journald did not
 * take it (the caller writes the line instead). */
static bool log_send_entry(int level, const struct ls_log_ctx *ctx, const char *msg, bool cut)
{
    enum { HARD = LS_LOG_LINE_MAX - 1 };
    char text[LS_LOG_LINE_MAX];
    char stream_id[LS_LOG_FIELD_MAX + 1], peer[LS_LOG_FIELD_MAX + 1];
    struct ls_journal_entry e = {
        .priority = level,
        .ident = g_log.ident,
        .message = text,
        .node_id = g_log.node_id,
    };

    text[log_escape(text, 0, HARD, msg, cut)] = '\0';
    if (ctx != NULL) {
        e.stream_id = log_field(stream_id, ctx->stream_id);
        e.peer = log_field(peer, ctx->peer);
    }
    return ls_journal_send(&e) == LS_OK;
}

void ls_vlog_ctx(int level, const struct ls_log_ctx *ctx, const char *fmt, va_list ap)
{
    /* Content (without the newline) may use LS_LOG_LINE_MAX - 1 bytes; a cut line keeps
     * room for "..." within that. */
    enum { HARD = LS_LOG_LINE_MAX - 1 };
    char msg[LS_LOG_LINE_MAX];
    char line[LS_LOG_LINE_MAX];
    size_t len;
    bool cut;
    int saved_errno = errno;
    int n;

    level = clamp_level(level);
    if (level > g_log.level)
        return;
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0) {
        msg[0] = '\0';
        n = 0;
    }
    cut = (size_t)n >= sizeof msg;
    if (g_log.native && g_log.sink == NULL && log_send_entry(level, ctx, msg, cut)) {
        errno = saved_errno;
        return;
    }
    len = format_prefix(line, sizeof line, level);
    len = log_escape(line, len, HARD, msg, cut);
    if (g_log.sink != NULL) {
        line[len] = '\0';
        g_log.sink(level, line, g_log.sink_arg);
    } else {
        line[len] = '\n';
        write_all(line, len + 1);
    }
    errno = saved_errno;
}

void ls_vlog(int level, const char *fmt, va_list ap) { ls_vlog_ctx(level, NULL, fmt, ap); }

void ls_log_ctx(int level, const struct ls_log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ls_vlog_ctx(level, ctx, fmt, ap);
    va_end(ap);
}

void ls_log_set_node_id(const char *node_id)
{
    if (node_id == NULL)
        node_id = "";
    log_field(g_log.node_id, node_id);
}

void ls_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ls_vlog(level, fmt, ap);
    va_end(ap);
}

void ls_log_set_peer_limit(unsigned lines_per_s, unsigned burst)
{
    memset(&g_peer, 0, sizeof g_peer);
    g_peer.rate = lines_per_s;
    g_peer.burst = burst > 0 ? burst : 1;
}

static void log_peer_report(const struct log_peer_slot *slot)
{
    ls_log(LS_LOG_NOTICE, "%s: %llu lines from this address suppressed (log_rate_limit)",
           slot->host, (unsigned long long)slot->suppressed);
}

/* The bucket of the address in `peer` (port cut off), reset when another address held
 * its slot. */
static struct log_peer_slot *log_peer_slot(const char *peer, uint64_t now)
{
    char host[LOG_PEER_HOST_MAX];
    const char *colon = strrchr(peer, ':');
    size_t n = colon != NULL && colon != peer ? (size_t)(colon - peer) : strlen(peer);
    uint32_t h = 2166136261u;
    struct log_peer_slot *slot;
    size_t i;

    if (n >= sizeof host)
        n = sizeof host - 1;
    memcpy(host, peer, n);
    host[n] = '\0';
    for (i = 0; i < n; i++)
        h = (h ^ (uint8_t)host[i]) * 16777619u;
    slot = &g_peer.slots[h % LOG_PEER_SLOTS];
    if (strcmp(slot->host, host) != 0) {
        if (slot->suppressed > 0)
            log_peer_report(slot);
        snprintf(slot->host, sizeof slot->host, "%s", host);
        slot->tokens = (uint64_t)g_peer.burst * 1000;
        slot->refill_ms = now;
        slot->suppressed = 0;
    }
    return slot;
}

/* Takes a token of `peer`'s bucket: false when the line is to be suppressed (counted). */
static bool log_peer_admit(const char *peer)
{
    uint64_t now, cap;
    struct log_peer_slot *slot;

    if (peer == NULL || g_peer.rate == 0)
        return true;
    now = ls_now_ms();
    slot = log_peer_slot(peer, now);
    cap = (uint64_t)g_peer.burst * 1000;
    slot->tokens += (now - slot->refill_ms) * g_peer.rate;
    if (slot->tokens > cap)
        slot->tokens = cap;
    slot->refill_ms = now;
    if (slot->tokens < 1000) {
        slot->suppressed++;
        return false;
    }
    slot->tokens -= 1000;
    if (slot->suppressed > 0) {
        log_peer_report(slot);
        slot->suppressed = 0;
    }
    return true;
}

void ls_log_peer(const char *peer, int level, const char *fmt, ...)
{
    va_list ap;

    if (!ls_log_enabled(level) || !log_peer_admit(peer))
        return;
    va_start(ap, fmt);
    ls_vlog(level, fmt, ap);
    va_end(ap);
}

void ls_log_peer_ctx(const struct ls_log_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    if (!ls_log_enabled(level) || !log_peer_admit(ctx != NULL ? ctx->peer : NULL))
        return;
    va_start(ap, fmt);
    ls_vlog_ctx(level, ctx, fmt, ap);
    va_end(ap);
}

static bool log_vlimited(struct ls_log_limit *lim, unsigned interval_ms, int level,
                         const struct ls_log_ctx *ctx, const char *fmt, va_list ap)
    LS_PRINTF(5, 0);

static bool log_vlimited(struct ls_log_limit *lim, unsigned interval_ms, int level,
                         const struct ls_log_ctx *ctx, const char *fmt, va_list ap)
{
    uint64_t now = ls_now_ms();
    char msg[LS_LOG_LINE_MAX];

    if (!ls_log_enabled(level))
        return false;
    if (now < lim->next_ms) {
        lim->suppressed++;
        return false;
    }
    lim->next_ms = now + interval_ms;
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (lim->suppressed > 0)
        ls_log_ctx(level, ctx, "%s (%u similar lines not logged)", msg, lim->suppressed);
    else
        ls_log_ctx(level, ctx, "%s", msg);
    lim->suppressed = 0;
    return true;
}

bool ls_log_limited(struct ls_log_limit *lim, unsigned interval_ms, int level, const char *fmt,
                    ...)
{
    va_list ap;
    bool written;

    va_start(ap, fmt);
    written = log_vlimited(lim, interval_ms, level, NULL, fmt, ap);
    va_end(ap);
    return written;
}

bool ls_log_limited_ctx(struct ls_log_limit *lim, unsigned interval_ms, int level,
                        const struct ls_log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    bool written;

    va_start(ap, fmt);
    written = log_vlimited(lim, interval_ms, level, ctx, fmt, ap);
    va_end(ap);
    return written;
}
