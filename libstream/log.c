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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libstream/clock.h"
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
    bool journal;
    void (*sink)(int level, const char *line, void *arg);
    void *sink_arg;
} g_log = { "livecluster", LS_LOG_INFO, false, NULL, NULL };

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

    ls_log_set_ident(ident);
    g_log.journal = js != NULL && js[0] != '\0';
}

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

void ls_vlog(int level, const char *fmt, va_list ap)
{
    /* Content (without the newline) may use LS_LOG_LINE_MAX - 1 bytes; a cut line keeps
     * room for "..." within that. */
    enum { HARD = LS_LOG_LINE_MAX - 1, SOFT = HARD - 3 };
    char msg[LS_LOG_LINE_MAX];
    char line[LS_LOG_LINE_MAX];
    const unsigned char *p, *end;
    size_t len, last_fit, elen;
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
    len = format_prefix(line, sizeof line, level);
    last_fit = len;
    p = (const unsigned char *)msg;
    end = p + strlen(msg);
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
        if (len + elen > HARD) {
            cut = true;
            break;
        }
        memcpy(line + len, e, elen);
        len += elen;
        p += seq;
        if (len <= SOFT)
            last_fit = len;
    }
    if (cut) {
        if (len > SOFT)
            len = last_fit;
        memcpy(line + len, "...", 3);
        len += 3;
    }
    if (g_log.sink != NULL) {
        line[len] = '\0';
        g_log.sink(level, line, g_log.sink_arg);
    } else {
        line[len] = '\n';
        write_all(line, len + 1);
    }
    errno = saved_errno;
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

void ls_log_peer(const char *peer, int level, const char *fmt, ...)
{
    va_list ap;

    if (!ls_log_enabled(level))
        return;
    if (peer != NULL && g_peer.rate != 0) {
        uint64_t now = ls_now_ms();
        struct log_peer_slot *slot = log_peer_slot(peer, now);
        uint64_t cap = (uint64_t)g_peer.burst * 1000;

        slot->tokens += (now - slot->refill_ms) * g_peer.rate;
        if (slot->tokens > cap)
            slot->tokens = cap;
        slot->refill_ms = now;
        if (slot->tokens < 1000) {
            slot->suppressed++;
            return;
        }
        slot->tokens -= 1000;
        if (slot->suppressed > 0) {
            log_peer_report(slot);
            slot->suppressed = 0;
        }
    }
    va_start(ap, fmt);
    ls_vlog(level, fmt, ap);
    va_end(ap);
}

bool ls_log_limited(struct ls_log_limit *lim, unsigned interval_ms, int level, const char *fmt,
                    ...)
{
    uint64_t now = ls_now_ms();
    char msg[LS_LOG_LINE_MAX];
    va_list ap;

    if (!ls_log_enabled(level))
        return false;
    if (now < lim->next_ms) {
        lim->suppressed++;
        return false;
    }
    lim->next_ms = now + interval_ms;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lim->suppressed > 0)
        ls_log(level, "%s (%u similar lines not logged)", msg, lim->suppressed);
    else
        ls_log(level, "%s", msg);
    lim->suppressed = 0;
    return true;
}
