/*
 * rtmpbench — load generator and meter for live-streaming servers (test tool, not a daemon).
 *
 *   rtmpbench [options] URL
 *     URL  rtmp://HOST[:PORT]/APP/NAME       RTMP players (connect, createStream, play)
 *          http://HOST[:PORT]/APP/NAME.flv   HTTP-FLV players
 *          rtmps://…, https://…              the same over TLS (no certificate check: the
 *                                            server is the one under test; start times
 *                                            include the TLS handshake)
 *          raw://HOST:PORT                   a bare chunk stream with no handshake and no
 *                                            commands (the "floor" servers, floorsrv.c)
 *
 * Opens N players, ramping connections at a chosen rate, optionally after M publishers
 * started sending an FLV file at real-time pace, or spread over -N names nobody publishes
 * here (files on demand: rtmp://HOST/vod/f with -N 200 plays f-0 … f-199). Per player it records the time from the
 * TCP connect() to the first video keyframe, bytes and frames received, timestamp
 * continuity (backward steps and forward jumps over 1 s per track), and stalls (no media
 * for more than 1 s). After the ramp and a warm-up it measures one window; the summary
 * gives start-time percentiles, the delivered bitrate against the source bitrate, how many
 * players kept up, and — for each process named with -p — CPU seconds and RSS from /proc,
 * so a benchmark script can compute CPU per GB delivered.
 *
 * Layers: this is an application on libstream's pure codecs (handshake, chunk reader,
 * control, command, FLV reader, codec inspection). Players do their own socket I/O instead
 * of using ls_client: the one thing a load generator must not do is cost as much as the
 * server it measures. A player reads on readiness until its first keyframe (so start times
 * are exact), then joins the sweep: every -i ms one recv() per started player drains
 * whatever arrived. That bounds rtmpbench's syscalls at players x 1000/i per second
 * whatever the server's write pattern is; stalls are still seen at sweep resolution, far
 * below the 1 s threshold. -i 0 keeps every player on readiness (use it to measure
 * latency). Publishers use ls_client (there are few of them).
 *
 * Kept up = still connected at the end of the window, no stall and no timestamp jump in
 * the window, and media time advanced by at least 95% of the window's wall time.
 *
 * Latency (only when this process publishes, -P): each video frame's send time is kept in
 * a ring indexed by its timestamp; a player that receives a frame with that timestamp in
 * the window records now - sent. Servers that rewrite timestamps give no samples.
 *
 * Plan mode (--plan FILE, for test/topology): instead of one URL and a measurement window,
 * each line of the plan is a viewer with its own URL, arrival and departure time; a viewer
 * the server closes connects again after --reconnect-ms, as a player application would, and
 * every arrival, start, gap in the media, timestamp step, close and, once a second, how many
 * viewers are receiving goes to an events file as JSON lines (see "plan mode" below).
 *
 * Exit status: 0 when every player received a keyframe and none failed, 1 otherwise (the
 * reasons are printed, grouped), 2 for usage errors and unusable URLs or files. In plan mode
 * 0 unless the events file cannot be written: the verdict is the reader's.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/client.h"
#include "libstream/codec.h"
#include "libstream/command.h"
#include "libstream/control.h"
#include "libstream/flv.h"
#include "libstream/frame.h"
#include "libstream/handshake.h"
#include "libstream/json.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/streamid.h"
#include "support/flv_file.h"

#define SCRATCH_SIZE (256 * 1024)
#define READ_ROUNDS 8                /* recv() calls per player per wake-up */
#define STALL_US 1000000             /* no media for longer than this is a stall */
#define TS_JUMP_MS 1000u             /* a forward timestamp jump larger than this */
#define KEPT_UP_RATIO 0.95           /* media time / wall time in the window */
#define HTTP_HEADER_MAX 16384
#define MAX_PROCS 8
#define LAT_RING 8192                /* ms of timestamps the latency ring tells apart */
#define OUT_CHUNK_SIZE 128           /* we never announce another chunk size */
#define CLIENT_WINDOW 2500000u

enum proto { PROTO_RTMP, PROTO_HTTP, PROTO_RAW };

enum pstate {
    ST_IDLE,        /* not launched yet */
    ST_CONNECTING,  /* connect() in progress */
    ST_TLS,         /* rtmps/https: the TLS handshake */
    ST_HANDSHAKE,   /* C0C1 sent, reading S0S1S2 */
    ST_SETUP,       /* connect / createStream / play in flight */
    ST_HTTP_HEADER, /* GET sent, reading the response header */
    ST_PLAYING,     /* Play.Start (RTMP), 200 (HTTP), connected (raw) */
    ST_CLOSED,
};

enum phase { PH_PREROLL, PH_RAMP, PH_WAIT_START, PH_WARMUP, PH_WINDOW, PH_DONE };

/* Chunked transfer decoding (RFC 9112 §7.1), byte by byte through the size lines. */
enum chunked_state { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_END };

struct track {
    bool have;
    uint32_t last_ts;
};

/* Counters copied at the start and at the end of the measurement window. */
struct snap {
    bool taken;
    bool alive;
    uint64_t bytes, payload, video, audio;
    uint32_t stalls, ts_back, ts_gap;
    bool have_ts;
    uint32_t media_ts;  /* last video timestamp (audio when there is no video) */
    int64_t last_media_us;
};

/* Where a player connects: the URL of the command line, or one line's of a --plan file. */
struct target {
    enum proto proto;
    char url[LS_RTMP_URL_MAX + 1];
    char host[LS_ADDR_HOST_MAX + 1];
    unsigned port;
    char app[LS_RTMP_URL_MAX + 1];
    char name[LS_RTMP_URL_MAX + 1];
    char tc_url[LS_RTMP_URL_MAX + 9];
    char path[LS_RTMP_URL_MAX + 1];   /* HTTP request target */
    bool tls;                         /* rtmps:// or https:// */
    struct sockaddr_storage sa;
    socklen_t salen;
};

struct player {
    int index;
    const struct target *tg;
    int fd;
    enum pstate st;
    struct event *ev;
    short ev_flags;         /* what ev is registered for (0 = not registered) */
    bool swept;             /* read by the sweep, not on readiness */
    bool failed;
    char why[160];

    SSL *ssl;               /* rtmps/https; NULL = plain */
    struct ls_handshake *hs;
    struct ls_chunk_reader *crd;
    struct ls_flv_reader *frd;
    char *hdr;              /* HTTP response header being accumulated */
    size_t hdr_len;
    bool chunked;
    enum chunked_state ch_state;
    uint64_t ch_left;

    struct ls_buf out;      /* bytes for the server not yet written */
    size_t out_off;
    uint32_t stream_id;
    const char *step;       /* what the server has yet to answer, for error messages */
    int pub;                /* which publisher's stream it plays (-m) */
    const char *name;       /* stream name it plays */

    /* µs since the bench started; 0 = not yet */
    int64_t t_start, t_conn, t_play, t_media, t_key;
    int64_t last_media_us;
    uint64_t bytes, payload, video, audio, keyframes, data;
    uint32_t stalls, ts_back, ts_gap;
    int64_t stall_us;
    struct track vt, at;
    struct snap w0, w1;

    /* plan mode: the viewer outlives its sessions (connections) */
    int64_t plan_start, plan_end;   /* µs; plan_end 0 = until the end */
    int64_t retry_at;               /* when to connect again (µs); 0 = not due */
    unsigned session;               /* sessions started so far */
    bool plan_over;                 /* has left (END reached, or the run ended) */
    bool gave_up;                   /* this session failed on our side (start timeout) */
    bool session_media;             /* this session received media */
};

struct lat_slot {
    uint32_t ts;
    int64_t sent_us; /* 0 = empty */
};

struct publisher {
    int index;
    char name[LS_RTMP_URL_MAX + 16];
    struct ls_client *cl;
    struct event *timer;
    bool started, closed;
    size_t next;            /* next tag to send */
    uint32_t offset;        /* added to the file's timestamps (loops) */
    unsigned loops;
    int64_t t0;             /* µs at which the first tag was due */
    uint64_t sent;
    int64_t late_max_us;    /* worst lateness of a send against its schedule */
    struct lat_slot *ring;
};

struct psample {
    bool ok;
    double cpu_s;
    long rss_kb, hwm_kb;
};

struct proc {
    char name[32];
    int pid;
    struct psample base, w0, w1;
};

/* ---- configuration and global state ---- */

static struct {
    int players;
    double rate;
    double warmup_s, duration_s, preroll_s;
    unsigned sweep_ms;
    unsigned start_timeout_s;
    const char *publish_file;
    const char *publish_url;
    int publishers;
    int names;                 /* -N: players spread over NAME-0..NAME-(N-1), not published */
    const char *source_file;
    const char *json_path;
    bool verbose, quiet;
    bool exit_on_close;
    const char *plan_path, *events_path;
    unsigned reconnect_ms, gap_ms;
} opt = {
    .players = 1, .rate = 100, .warmup_s = 2, .duration_s = 10, .preroll_s = 3,
    .sweep_ms = 50, .start_timeout_s = 10, .reconnect_ms = 1000, .gap_ms = 500,
};

static struct target cli_target;    /* the URL of the command line */
static struct event_base *base;
static SSL_CTX *tls_ctx;             /* players' TLS (no verification: see the top) */
static int64_t t_origin_ns;
static uint8_t scratch[SCRATCH_SIZE];

static struct player *players;
static int launched, open_players, started_players, key_players;
static enum phase phase = PH_PREROLL;
static struct event *ramp_ev, *sweep_ev, *house_ev, *phase_ev, *sig_int, *sig_term;
static double ramp_credit;
static int64_t ramp_t0, t_w0, t_w1;
static int64_t ramp_last_us;

static struct publisher *pubs;
static struct ls_frame **tags;
static size_t ntags;
static uint32_t file_duration_ms, file_first_ts;
static double source_kbps;          /* payload bitrate of the source file; 0 = unknown */

static struct proc procs[MAX_PROCS];
static int nprocs;

/* Every other process's CPU in the window: this machine may be shared, say so. */
struct other {
    int pid;
    char comm[32];
    double cpu0, cpu1;
};
static struct other *others;
static size_t nothers, others_cap;
static long clk_tck;
static double cpu_busy0[16], cpu_total0[16], cpu_busy_frac[16];
static int ncpus;

static int32_t *lat_us;             /* latency samples in the window (µs) */
static size_t lat_samples, lat_cap;

static int exit_status;

/* plan mode */
static bool plan_mode;
static FILE *events;
static struct event *plan_ev;
static uint64_t plan_sessions, plan_disconnects, plan_gaps, plan_long_gaps;

static void plan_gap(struct player *p, int64_t from, int64_t to, bool open);
static void plan_ts_step(struct player *p, const char *kind, int32_t d, int64_t now);
static void plan_on_close(struct player *p, const char *by);
static void plan_key(struct player *p, int64_t now);
static void plan_tick(int64_t now);
static void parse_url(struct target *t, const char *url);

/* ---- small helpers ---- */

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - t_origin_ns) / 1000;
}

static struct timeval tv_ms(double ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms - (double)tv.tv_sec * 1000) * 1000);
    return tv;
}

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "rtmpbench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; NAN when empty. */
static double pct(const double *v, size_t n, double q)
{
    size_t k;

    if (n == 0)
        return NAN;
    k = (size_t)ceil(q * (double)n);
    if (k < 1)
        k = 1;
    return v[k - 1];
}

/* ---- /proc sampling ---- */

static void proc_sample(int pid, struct psample *s)
{
    char path[64], buf[4096], *p;
    FILE *f;
    unsigned long ut = 0, st = 0;
    size_t n;

    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields restart after the last ')' */
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &ut, &st) != 2)
        return;
    s->cpu_s = (double)(ut + st) / (double)clk_tck;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(buf, sizeof buf, f) != NULL) {
        if (strncmp(buf, "VmRSS:", 6) == 0)
            s->rss_kb = strtol(buf + 6, NULL, 10);
        else if (strncmp(buf, "VmHWM:", 6) == 0)
            s->hwm_kb = strtol(buf + 6, NULL, 10);
    }
    fclose(f);
    s->ok = true;
}

/* Busy and total jiffies per CPU from /proc/stat. */
static int cpu_read(double *busy, double *total, int max)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[512];
    int n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL && n < max) {
        unsigned long long v[8] = { 0 };
        int cpu;

        if (strncmp(line, "cpu", 3) != 0 || !isdigit((unsigned char)line[3]))
            continue;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
            continue;
        /* user nice system idle iowait irq softirq steal */
        busy[n] = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
        total[n] = busy[n] + (double)(v[3] + v[4]);
        n++;
    }
    fclose(f);
    return n;
}

static void others_scan(int which);

static void procs_sample(int which)
{
    int i;

    for (i = 0; i < nprocs; i++) {
        struct psample *s = which == 0 ? &procs[i].base : which == 1 ? &procs[i].w0
                                                                     : &procs[i].w1;

        proc_sample(procs[i].pid, s);
    }
    if (which == 1) {
        ncpus = cpu_read(cpu_busy0, cpu_total0, 16);
        others_scan(0);
    } else if (which == 2) {
        others_scan(1);
        double busy[16], total[16];
        int n = cpu_read(busy, total, 16), i2;

        for (i2 = 0; i2 < n && i2 < ncpus; i2++) {
            double dt = total[i2] - cpu_total0[i2];

            cpu_busy_frac[i2] = dt > 0 ? (busy[i2] - cpu_busy0[i2]) / dt : 0;
        }
    }
}

static bool pid_measured(int pid)
{
    int i;

    for (i = 0; i < nprocs; i++)
        if (procs[i].pid == pid)
            return true;
    return false;
}

/* Reads one process's CPU seconds and name; false when it is gone or unreadable. */
static bool proc_cpu(int pid, double *cpu, char *comm, size_t cap)
{
    char path[64], buf[1024], *open_p, *close_p;
    unsigned long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    open_p = strchr(buf, '(');
    close_p = strrchr(buf, ')');
    if (open_p == NULL || close_p == NULL || close_p < open_p ||
        sscanf(close_p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return false;
    if (comm != NULL)
        snprintf(comm, cap, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
    *cpu = (double)(ut + st) / (double)clk_tck;
    return true;
}

/* which 0: remember every process's CPU; 1: compute what each used since. */
static void others_scan(int which)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t i;

    if (d == NULL)
        return;
    if (which == 0)
        nothers = 0;
    while ((e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        double cpu, before = 0;
        char comm[32];

        if (pid <= 0 || pid == getpid() || pid_measured(pid) ||
            !proc_cpu(pid, &cpu, comm, sizeof comm))
            continue;
        if (which == 1) {
            for (i = 0; i < nothers; i++)
                if (others[i].pid == pid)
                    break;
            if (i < nothers) {
                others[i].cpu1 = cpu;
                continue;
            }
            /* started during the window: all its CPU is from the window */
        } else {
            before = cpu;
        }
        if (nothers == others_cap) {
            size_t cap = others_cap ? others_cap * 2 : 512;
            struct other *o = realloc(others, cap * sizeof *o);

            if (o == NULL)
                break;
            others = o;
            others_cap = cap;
        }
        others[nothers].pid = pid;
        snprintf(others[nothers].comm, sizeof others[nothers].comm, "%s", comm);
        others[nothers].cpu0 = before;
        others[nothers].cpu1 = cpu;
        nothers++;
    }
    closedir(d);
}

/*
 * CPU (in cores) the machine spent on anything but the measured processes during the
 * window: busy time from /proc/stat minus theirs. Unlike the per-process scan this also
 * sees processes that started and ended inside the window (compilers, test runs).
 */
static double others_util(void)
{
    double busy = 0, ours = 0, win = (double)(t_w1 - t_w0) / 1e6;
    int i;

    if (win <= 0)
        return 0;
    for (i = 0; i < ncpus; i++)
        busy += cpu_busy_frac[i];
    for (i = 0; i < nprocs; i++)
        if (procs[i].w0.ok && procs[i].w1.ok)
            ours += (procs[i].w1.cpu_s - procs[i].w0.cpu_s) / win;
    return busy > ours ? busy - ours : 0;
}

static int cmp_other(const void *a, const void *b)
{
    const struct other *x = a, *y = b;
    double dx = x->cpu1 - x->cpu0, dy = y->cpu1 - y->cpu0;

    return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* ---- FLV source file ---- */

/* Loads every tag of an FLV file into `tags`. Exits on failure (a usage error). */
static void load_flv(const char *path)
{
    struct flv_file file;
    char err[512];

    if (flv_file_load(path, &file, err, sizeof err) != 0)
        die_usage("%s", err);
    tags = file.tags;
    ntags = file.ntags;
    file_first_ts = file.first_ts;
    file_duration_ms = file.loop_ms;
    source_kbps = (double)file.payload_bytes * 8 / file.loop_ms;
}

/* ---- player output ---- */

static void player_fail(struct player *p, const char *fmt, ...) LS_PRINTF(2, 3);
static void player_watch(struct player *p, short flags);

/* send(2) or SSL_write, in send's terms (-1 with errno EAGAIN: try again on readiness). */
static ssize_t player_send(struct player *p, const void *buf, size_t n)
{
    int r, err;

    if (p->ssl == NULL)
        return send(p->fd, buf, n, MSG_NOSIGNAL);
    ERR_clear_error();
    r = SSL_write(p->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    err = SSL_get_error(p->ssl, r);
    ERR_clear_error();
    errno = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
    return -1;
}

/* recv(2) or SSL_read, in recv's terms (0 = closed). */
static ssize_t player_recv(struct player *p, void *buf, size_t n)
{
    int r, err;

    if (p->ssl == NULL)
        return recv(p->fd, buf, n, 0);
    ERR_clear_error();
    r = SSL_read(p->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    err = SSL_get_error(p->ssl, r);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
        return 0;
    errno = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? EAGAIN
            : err == SSL_ERROR_SYSCALL ? errno : EPROTO;
    return -1;
}

/* Writes what is pending; on a full socket waits for writability (not in the sweep). */
static void player_flush(struct player *p)
{
    while (p->out_off < p->out.len) {
        ssize_t n = player_send(p, p->out.data + p->out_off, p->out.len - p->out_off);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            player_fail(p, "write failed: %s", strerror(errno));
            return;
        }
        p->out_off += (size_t)n;
    }
    if (p->out_off == p->out.len) {
        ls_buf_reset(&p->out);
        p->out_off = 0;
        if (!p->swept && p->st != ST_CONNECTING && p->st != ST_TLS)
            player_watch(p, EV_READ);
    } else if (!p->swept) {
        player_watch(p, EV_READ | EV_WRITE);
    }
}

/* Appends one command message (chunked at our chunk size) to the output. */
static void player_command(struct player *p, uint32_t stream_id, struct ls_buf *cmd)
{
    if (ls_buf_status(cmd) == LS_OK)
        ls_chunk_write(&p->out, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, stream_id, cmd->data,
                       (uint32_t)cmd->len, OUT_CHUNK_SIZE);
    else
        p->out.err = ls_buf_status(cmd);
    ls_buf_reset(cmd);
}

/* ---- player lifecycle ---- */

static void player_cb(evutil_socket_t fd, short what, void *arg);
static void check_progress(void);

static void player_watch(struct player *p, short flags)
{
    if (p->ev_flags == flags)
        return;
    if (p->ev_flags != 0)
        event_del(p->ev);
    p->ev_flags = flags;
    if (flags == 0)
        return;
    event_assign(p->ev, base, p->fd, flags | EV_PERSIST, player_cb, p);
    event_add(p->ev, NULL);
}

static void player_release(struct player *p)
{
    if (p->ev != NULL) {
        if (p->ev_flags != 0)
            event_del(p->ev);
        event_free(p->ev);
        p->ev = NULL;
    }
    SSL_free(p->ssl);
    p->ssl = NULL;
    if (p->fd != -1)
        close(p->fd);
    p->fd = -1;
    if (p->hs != NULL)
        ls_handshake_free(p->hs);
    p->hs = NULL;
    ls_chunk_reader_free(p->crd);
    p->crd = NULL;
    ls_flv_reader_free(p->frd);
    p->frd = NULL;
    free(p->hdr);
    p->hdr = NULL;
    ls_buf_free(&p->out);
}

static void player_close(struct player *p)
{
    if (p->st == ST_CLOSED || p->st == ST_IDLE)
        return;
    p->st = ST_CLOSED;
    player_release(p);
    open_players--;
}

static void player_fail(struct player *p, const char *fmt, ...)
{
    va_list ap;

    if (p->st == ST_CLOSED)
        return;
    p->failed = true;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    player_close(p);
    if (plan_mode)
        plan_on_close(p, p->gave_up ? "client" : "server");
    check_progress();
}

static void player_launch(struct player *p)
{
    p->t_start = now_us();
    p->fd = ls_net_connect((const struct sockaddr *)&p->tg->sa, p->tg->salen);
    if (p->fd == -1) {
        p->st = ST_CONNECTING;
        open_players++;
        player_fail(p, "cannot connect to %s:%u: %s", p->tg->host, p->tg->port,
                    strerror(errno));
        return;
    }
    p->st = ST_CONNECTING;
    open_players++;
    ls_buf_init(&p->out, 0);
    p->ev = event_new(base, -1, 0, player_cb, p);
    if (p->ev == NULL) {
        player_fail(p, "out of memory");
        return;
    }
    player_watch(p, EV_WRITE);
}

static void player_start(struct player *p, int64_t now);

/* rtmps/https: drives the TLS handshake on readiness; the protocol starts after it. */
static void player_tls(struct player *p, int64_t now)
{
    int r, err;

    ERR_clear_error();
    r = SSL_do_handshake(p->ssl);
    if (r == 1) {
        player_start(p, now);
        return;
    }
    err = SSL_get_error(p->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        player_watch(p, err == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
        return;
    }
    player_fail(p, "TLS handshake failed: %s",
                ERR_peek_error() != 0 ? ERR_reason_error_string(ERR_peek_error()) : "closed");
    ERR_clear_error();
}

/* The socket connected: TLS first (rtmps, https), then the protocol. */
static void player_connected(struct player *p, int64_t now)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        player_fail(p, "cannot connect to %s:%u: %s", p->tg->host, p->tg->port,
                    strerror(err != 0 ? err : errno));
        return;
    }
    p->t_conn = now;
    if (!p->tg->tls) {
        player_start(p, now);
        return;
    }
    p->ssl = SSL_new(tls_ctx);
    if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1) {
        player_fail(p, "out of memory");
        return;
    }
    SSL_set_connect_state(p->ssl);
    p->st = ST_TLS;
    p->step = "the TLS handshake";
    player_tls(p, now);
}

/* Sends the first bytes of the protocol. */
static void player_start(struct player *p, int64_t now)
{
    switch (p->tg->proto) {
    case PROTO_RTMP: {
        const uint8_t *out;
        size_t n;

        p->hs = ls_handshake_new(LS_HS_CLIENT);
        p->crd = ls_chunk_reader_new(NULL);
        if (p->hs == NULL || p->crd == NULL) {
            player_fail(p, "out of memory");
            return;
        }
        n = ls_handshake_output(p->hs, &out);
        ls_buf_append(&p->out, out, n);
        ls_handshake_output_consumed(p->hs, n);
        p->st = ST_HANDSHAKE;
        p->step = "the RTMP handshake";
        break;
    }
    case PROTO_HTTP: {
        char req[LS_RTMP_URL_MAX + 512];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: rtmpbench\r\n"
                         "Accept: */*\r\nConnection: close\r\n\r\n",
                         p->name, p->tg->host, p->tg->port);

        p->hdr = malloc(HTTP_HEADER_MAX + 1);
        p->frd = ls_flv_reader_new(NULL);
        if (p->hdr == NULL || p->frd == NULL || n < 0 || (size_t)n >= sizeof req) {
            player_fail(p, "out of memory");
            return;
        }
        ls_buf_append(&p->out, req, (size_t)n);
        p->st = ST_HTTP_HEADER;
        p->step = "the HTTP response";
        break;
    }
    case PROTO_RAW:
        p->crd = ls_chunk_reader_new(NULL);
        if (p->crd == NULL) {
            player_fail(p, "out of memory");
            return;
        }
        p->stream_id = 1;
        p->t_play = now;
        p->st = ST_PLAYING;
        started_players++;
        break;
    }
    player_watch(p, EV_READ);
    player_flush(p);
}

/* ---- media accounting (RTMP messages and FLV tags alike) ---- */

static void track_ts(struct player *p, struct track *t, uint32_t ts)
{
    if (t->have) {
        uint32_t d = ts - t->last_ts;

        if ((int32_t)d < 0)
            p->ts_back++;
        else if (d > TS_JUMP_MS)
            p->ts_gap++;
        if (plan_mode && t == &p->vt && ((int32_t)d < 0 || d > TS_JUMP_MS))
            plan_ts_step(p, (int32_t)d < 0 ? "back" : "jump", (int32_t)d, now_us());
    }
    t->have = true;
    t->last_ts = ts;
}

static void latency_sample(struct player *p, uint32_t ts, int64_t now)
{
    const struct lat_slot *s;
    int64_t us;

    if (pubs == NULL || phase != PH_WINDOW)
        return;
    s = &pubs[p->pub].ring[ts % LAT_RING];
    if (s->sent_us == 0 || s->ts != ts)
        return;
    if (lat_samples == lat_cap) {
        size_t cap = lat_cap ? lat_cap * 2 : 4096;
        int32_t *v = realloc(lat_us, cap * sizeof *v);

        if (v == NULL)
            return;
        lat_us = v;
        lat_cap = cap;
    }
    us = now - s->sent_us;
    lat_us[lat_samples++] = us > INT32_MAX ? INT32_MAX : (int32_t)us;
}

static void on_media(struct player *p, uint8_t type, uint32_t ts, const uint8_t *data,
                     uint32_t len, int64_t now)
{
    if (p->t_media == 0)
        p->t_media = now;
    if (plan_mode && p->last_media_us != 0 && now - p->last_media_us > (int64_t)opt.gap_ms * 1000)
        plan_gap(p, p->last_media_us, now, false);
    p->session_media = true;
    if (p->last_media_us != 0 && now - p->last_media_us > STALL_US) {
        p->stalls++;
        p->stall_us += now - p->last_media_us;
    }
    p->last_media_us = now;
    p->payload += len;
    if (type == LS_MSG_VIDEO) {
        struct ls_video_info vi;

        if (ls_codec_video_inspect(data, len, &vi, NULL) != LS_OK || vi.packet != LS_VPKT_FRAME)
            return; /* sequence headers and end-of-sequence are not frames */
        p->video++;
        track_ts(p, &p->vt, ts);
        latency_sample(p, ts, now);
        if (vi.keyframe) {
            p->keyframes++;
            if (p->t_key == 0) {
                p->t_key = now;
                key_players++;
                if (plan_mode)
                    plan_key(p, now);
                /* Start time is known: from now on the sweep reads this player. */
                if (opt.sweep_ms > 0) {
                    p->swept = true;
                    player_watch(p, 0);
                }
                check_progress();
            }
        }
    } else if (type == LS_MSG_AUDIO) {
        struct ls_audio_info ai;

        if (ls_codec_audio_inspect(data, len, &ai, NULL) == LS_OK && ai.sequence_header)
            return;
        p->audio++;
        track_ts(p, &p->at, ts);
    } else {
        p->data++;
    }
}

/* ---- RTMP ---- */

static void rtmp_on_command(struct player *p, const struct ls_frame *msg)
{
    struct ls_command cmd;
    const char *why = NULL;
    struct ls_buf b;

    if (ls_command_decode(msg->data, msg->len, msg->type == LS_MSG_COMMAND_AMF3,
                          &ls_amf_default_limits, &cmd, &why) < 0) {
        player_fail(p, "bad command from the server: %s", why != NULL ? why : "?");
        return;
    }
    ls_buf_init(&b, 0);
    if (strcmp(cmd.name, "_result") == 0 && cmd.transaction_id == 1) {
        ls_control_write_window_ack_size(&p->out, CLIENT_WINDOW);
        ls_command_build_create_stream(&b, 2);
        player_command(p, 0, &b);
        p->step = "createStream";
    } else if (strcmp(cmd.name, "_result") == 0 && cmd.transaction_id == 2) {
        double id = cmd.nargs >= 1 && cmd.args[0].type == LS_AMF_NUMBER ? cmd.args[0].u.number
                                                                         : 0;

        if (id < 1 || id > 1e6) {
            player_fail(p, "createStream answered without a stream id");
        } else {
            p->stream_id = (uint32_t)id;
            ls_command_build_play(&b, 0, p->name, -1000, -1, true);
            player_command(p, p->stream_id, &b);
            ls_control_write_set_buffer_length(&p->out, p->stream_id, 1000);
            p->step = "play (no NetStream.Play.Start)";
        }
    } else if (strcmp(cmd.name, "_error") == 0 || strcmp(cmd.name, "onStatus") == 0) {
        const struct ls_amf_value *info = NULL;
        const char *level, *code, *desc;
        size_t i;

        for (i = 0; i < cmd.nargs && info == NULL; i++)
            if (cmd.args[i].type == LS_AMF_OBJECT)
                info = &cmd.args[i];
        level = info != NULL ? ls_amf_get_string(info, "level") : NULL;
        code = info != NULL ? ls_amf_get_string(info, "code") : NULL;
        desc = info != NULL ? ls_amf_get_string(info, "description") : NULL;
        if (code != NULL && strcmp(code, "NetStream.Play.Start") == 0 && p->st == ST_SETUP) {
            p->st = ST_PLAYING;
            p->t_play = now_us();
            started_players++;
        } else if (strcmp(cmd.name, "_error") == 0 ||
                   (level != NULL && strcmp(level, "error") == 0)) {
            player_fail(p, "%s %s%s%s%s", cmd.transaction_id == 1 ? "connect rejected:"
                                          : strcmp(cmd.name, "_error") == 0 ? "_error:"
                                                                            : "RTMP error status",
                        code != NULL ? code : "(no code)", desc != NULL ? " (" : "",
                        desc != NULL ? desc : "", desc != NULL ? ")" : "");
        } else if (code != NULL && strcmp(code, "NetStream.Play.Stop") == 0) {
            player_fail(p, "server stopped the play: %s", code);
        }
    }
    ls_buf_free(&b);
    ls_command_free(&cmd);
}

static void rtmp_on_message(struct player *p, struct ls_frame *msg, int64_t now)
{
    switch (msg->type) {
    case LS_MSG_AUDIO:
    case LS_MSG_VIDEO:
    case LS_MSG_DATA_AMF0:
    case LS_MSG_DATA_AMF3:
        if (p->stream_id != 0 && msg->stream_id == p->stream_id)
            on_media(p, msg->type, msg->timestamp, msg->data, msg->len, now);
        return;
    case LS_MSG_AGGREGATE:
        /* Not split here: livecluster and nginx-rtmp send none to players. */
        if (p->stream_id != 0 && msg->stream_id == p->stream_id)
            on_media(p, LS_MSG_DATA_AMF0, msg->timestamp, msg->data, msg->len, now);
        return;
    case LS_MSG_COMMAND_AMF0:
    case LS_MSG_COMMAND_AMF3:
        if (p->tg->proto == PROTO_RTMP)
            rtmp_on_command(p, msg);
        return;
    case LS_MSG_USER_CONTROL: {
        struct ls_control ctl;

        if (ls_control_parse(msg, &ctl, NULL) == LS_OK && ctl.event == LS_UC_PING_REQUEST)
            ls_control_write_ping_response(&p->out, ctl.timestamp);
        return;
    }
    default:
        return; /* chunk size, window and abort were applied by the reader */
    }
}

/* Feeds chunk-stream bytes; returns false when the player closed. */
static bool rtmp_feed(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    struct ls_frame *msg;
    uint32_t seq;

    do {
        const char *why = NULL;
        ssize_t n = ls_chunk_reader_feed(p->crd, data, len, &msg, &why);

        if (n < 0) {
            player_fail(p, "bad chunk stream from the server: %s", why != NULL ? why : "?");
            return false;
        }
        data += n;
        len -= (size_t)n;
        if (msg != NULL) {
            rtmp_on_message(p, msg, now);
            ls_frame_unref(msg);
            if (p->st == ST_CLOSED)
                return false;
        }
    } while (msg != NULL);
    if (ls_chunk_reader_ack_due(p->crd, &seq))
        ls_control_write_ack(&p->out, seq);
    return true;
}

static bool rtmp_handshake(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    const char *why = NULL;
    ssize_t n = ls_handshake_feed(p->hs, data, len, &why);
    const uint8_t *out;
    size_t k;
    struct ls_buf b;

    if (n < 0) {
        player_fail(p, "bad handshake from the server: %s", why != NULL ? why : "?");
        return false;
    }
    while ((k = ls_handshake_output(p->hs, &out)) > 0) {
        ls_buf_append(&p->out, out, k);
        ls_handshake_output_consumed(p->hs, k);
    }
    if (!ls_handshake_done(p->hs))
        return true;
    ls_handshake_free(p->hs);
    p->hs = NULL;
    p->st = ST_SETUP;
    ls_buf_init(&b, 0);
    ls_command_build_connect(&b, 1, p->tg->app, p->tg->tc_url, "LNX 9,0,124,2", 0);
    player_command(p, 0, &b);
    p->step = "connect";
    ls_buf_free(&b);
    return rtmp_feed(p, data + n, len - (size_t)n, now);
}

/* ---- HTTP-FLV ---- */

static bool flv_feed(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    while (len > 0) {
        struct ls_flv_event ev;
        const char *why = NULL;
        ssize_t n = ls_flv_reader_feed(p->frd, data, len, &ev, &why);

        if (n == LS_AGAIN)
            return true;
        if (n < 0) {
            player_fail(p, "bad FLV from the server: %s", why != NULL ? why : "?");
            return false;
        }
        data += n;
        len -= (size_t)n;
        if (ev.type == LS_FLV_EV_TAG) {
            on_media(p, ev.tag->type, ev.tag->timestamp, ev.tag->data, ev.tag->len, now);
            ls_frame_unref(ev.tag);
        }
    }
    return true;
}

/* Removes chunked transfer framing, passing body bytes to the FLV reader. */
static bool http_body(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    if (!p->chunked)
        return flv_feed(p, data, len, now);
    while (len > 0) {
        uint8_t c = *data;

        switch (p->ch_state) {
        case CH_SIZE:
            if (isxdigit(c)) {
                if (p->ch_left > (UINT64_MAX >> 4)) {
                    player_fail(p, "bad chunked encoding: size too large");
                    return false;
                }
                p->ch_left = p->ch_left * 16 +
                             (uint64_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
            } else if (c == ';' || c == ' ' || c == '\t') {
                p->ch_state = CH_EXT;
            } else if (c == '\r') {
                p->ch_state = CH_SIZE_LF;
            } else {
                player_fail(p, "bad chunked encoding: unexpected byte 0x%02x", c);
                return false;
            }
            data++;
            len--;
            break;
        case CH_EXT:
            if (c == '\r')
                p->ch_state = CH_SIZE_LF;
            data++;
            len--;
            break;
        case CH_SIZE_LF:
            if (c != '\n') {
                player_fail(p, "bad chunked encoding: no LF after the size");
                return false;
            }
            p->ch_state = p->ch_left == 0 ? CH_END : CH_DATA;
            data++;
            len--;
            break;
        case CH_DATA: {
            size_t k = len < p->ch_left ? len : (size_t)p->ch_left;

            if (!flv_feed(p, data, k, now))
                return false;
            data += k;
            len -= k;
            p->ch_left -= k;
            if (p->ch_left == 0)
                p->ch_state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (c != (p->ch_state == CH_DATA_CR ? '\r' : '\n')) {
                player_fail(p, "bad chunked encoding: no CRLF after the data");
                return false;
            }
            p->ch_state = p->ch_state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
            data++;
            len--;
            break;
        case CH_END:
            player_fail(p, "server ended the response");
            return false;
        }
    }
    return true;
}

static bool http_header(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    size_t take = len, i, start = p->hdr_len >= 3 ? p->hdr_len - 3 : 0, prev = p->hdr_len;
    char *end = NULL, *line, *save = NULL;
    int status = 0;
    char reason[64] = "";

    if (take > HTTP_HEADER_MAX - p->hdr_len)
        take = HTTP_HEADER_MAX - p->hdr_len;
    memcpy(p->hdr + p->hdr_len, data, take);
    p->hdr_len += take;
    p->hdr[p->hdr_len] = '\0';
    for (i = start; i + 4 <= p->hdr_len; i++)
        if (memcmp(p->hdr + i, "\r\n\r\n", 4) == 0) {
            end = p->hdr + i;
            break;
        }
    if (end == NULL) {
        if (p->hdr_len == HTTP_HEADER_MAX) {
            player_fail(p, "HTTP response header longer than %d bytes", HTTP_HEADER_MAX);
            return false;
        }
        return true;
    }
    *end = '\0';
    /* bytes of this read that still belonged to the header; the body follows them */
    take = (size_t)(end + 4 - p->hdr) - prev;
    line = strtok_r(p->hdr, "\r\n", &save);
    if (line == NULL || sscanf(line, "HTTP/%*u.%*u %d %63[^\r\n]", &status, reason) < 1) {
        player_fail(p, "not an HTTP response");
        return false;
    }
    if (status != 200) {
        player_fail(p, "HTTP %d %s", status, reason);
        return false;
    }
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            for (i = 18; line[i] != '\0'; i++)
                line[i] = (char)tolower((unsigned char)line[i]);
            if (strstr(line + 18, "chunked") != NULL)
                p->chunked = true;
        }
    }
    free(p->hdr);
    p->hdr = NULL;
    p->st = ST_PLAYING;
    p->t_play = now;
    started_players++;
    return http_body(p, data + take, len - take, now);
}

/* ---- input dispatch ---- */

static void player_input(struct player *p, const uint8_t *data, size_t len, int64_t now)
{
    switch (p->st) {
    case ST_HANDSHAKE:
        rtmp_handshake(p, data, len, now);
        break;
    case ST_SETUP:
        rtmp_feed(p, data, len, now);
        break;
    case ST_HTTP_HEADER:
        http_header(p, data, len, now);
        break;
    case ST_PLAYING:
        if (p->tg->proto == PROTO_HTTP)
            http_body(p, data, len, now);
        else
            rtmp_feed(p, data, len, now);
        break;
    default:
        break;
    }
}

static void player_read(struct player *p, int64_t now)
{
    int round;

    /* TLS gives a record per call (and may hold more it read ahead): read until dry. */
    for (round = 0; round < (p->ssl != NULL ? 16 * READ_ROUNDS : READ_ROUNDS) &&
                    p->st != ST_CLOSED; round++) {
        ssize_t n = player_recv(p, scratch, sizeof scratch);

        if (n == 0) {
            if (p->st == ST_PLAYING)
                player_fail(p, "closed by the server");
            else
                player_fail(p, "closed by the server while waiting for %s", p->step);
            return;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                player_fail(p, "read failed: %s", strerror(errno));
            break;
        }
        p->bytes += (uint64_t)n;
        player_input(p, scratch, (size_t)n, now);
        if ((size_t)n < sizeof scratch && p->ssl == NULL)
            break;
    }
    if (p->st != ST_CLOSED && p->out.len > p->out_off)
        player_flush(p);
    if (p->st != ST_CLOSED && ls_buf_status(&p->out) != LS_OK)
        player_fail(p, "out of memory");
}

static void player_cb(evutil_socket_t fd, short what, void *arg)
{
    struct player *p = arg;
    int64_t now = now_us();

    (void)fd;
    if (p->st == ST_CONNECTING) {
        player_connected(p, now);
        return;
    }
    if (p->st == ST_TLS) {
        player_tls(p, now);
        return;
    }
    if (what & EV_WRITE)
        player_flush(p);
    if ((what & EV_READ) && p->st != ST_CLOSED)
        player_read(p, now);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = now_us();
    int i;

    (void)fd;
    (void)what;
    (void)arg;
    for (i = 0; i < launched; i++)
        if (players[i].swept && players[i].st == ST_PLAYING)
            player_read(&players[i], now);
}

/* ---- publishers ---- */

static void pub_schedule(struct publisher *pb);
static void finish(void);

/* --exit-on-close: an encoder that lost its server is restarted by whoever runs it. */
static void pubs_check_closed(void)
{
    int i;

    if (!opt.exit_on_close || opt.players > 0 || phase == PH_DONE || pubs == NULL)
        return;
    for (i = 0; i < opt.publishers; i++)
        if (!pubs[i].closed)
            return;
    exit_status = 1;
    finish();
}

static void pub_tick(evutil_socket_t fd, short what, void *arg)
{
    struct publisher *pb = arg;
    int64_t now = now_us();

    (void)fd;
    (void)what;
    while (!pb->closed) {
        struct ls_frame *t = tags[pb->next];
        uint32_t ts = t->timestamp - file_first_ts + pb->offset;
        int64_t due = pb->t0 + (int64_t)ts * 1000;
        bool skip = false;

        if (due > now)
            break;
        if (now - due > pb->late_max_us)
            pb->late_max_us = now - due;
        if (pb->loops > 0) {
            /* Metadata and sequence headers once; ffmpeg's end-of-sequence never mid-stream */
            if (t->type == LS_MSG_DATA_AMF0 || t->type == LS_MSG_DATA_AMF3) {
                skip = true;
            } else if (t->type == LS_MSG_VIDEO) {
                struct ls_video_info vi;

                skip = ls_codec_video_inspect(t->data, t->len, &vi, NULL) != LS_OK ||
                       vi.packet != LS_VPKT_FRAME;
            } else if (t->type == LS_MSG_AUDIO) {
                struct ls_audio_info ai;

                skip = ls_codec_audio_inspect(t->data, t->len, &ai, NULL) == LS_OK &&
                       ai.sequence_header;
            }
        } else if (t->type == LS_MSG_VIDEO && pb->next + 1 >= ntags) {
            struct ls_video_info vi;

            skip = ls_codec_video_inspect(t->data, t->len, &vi, NULL) == LS_OK &&
                   vi.packet == LS_VPKT_END_OF_SEQUENCE;
        }
        if (!skip) {
            struct ls_frame *f = ls_frame_new_copy(t->type, ts, 0, t->data, t->len);
            int rc = f != NULL ? ls_client_send(pb->cl, f) : LS_ENOMEM;

            ls_frame_unref(f);
            if (rc != LS_OK) {
                fprintf(stderr, "rtmpbench: publisher %d cannot send: %s\n", pb->index,
                        ls_strerror(rc));
                ls_client_close(pb->cl, "send failed");
                return;
            }
            pb->sent++;
            if (t->type == LS_MSG_VIDEO) {
                struct lat_slot *s = &pb->ring[ts % LAT_RING];

                s->ts = ts;
                s->sent_us = now;
            }
        }
        if (++pb->next == ntags) {
            pb->next = 0;
            pb->loops++;
            pb->offset += file_duration_ms;
        }
    }
    pub_schedule(pb);
}

static void pub_schedule(struct publisher *pb)
{
    const struct ls_frame *t = tags[pb->next];
    uint32_t ts = t->timestamp - file_first_ts + pb->offset;
    struct timeval tv = tv_ms((double)(pb->t0 + (int64_t)ts * 1000 - now_us()) / 1000.0);

    if (!pb->closed)
        evtimer_add(pb->timer, &tv);
}

static void pub_on_started(struct ls_client *cl, void *arg)
{
    struct publisher *pb = arg;

    (void)cl;
    pb->started = true;
    pb->t0 = now_us();
    pub_tick(-1, 0, pb);
}

static void pub_on_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    struct publisher *pb = arg;

    (void)cl;
    if (strcmp(level, "error") == 0)
        fprintf(stderr, "rtmpbench: publisher %d (%s): %s\n", pb->index, pb->name, code);
}

static void pub_on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct publisher *pb = arg;

    (void)cl;
    pb->closed = true;
    pb->cl = NULL;
    evtimer_del(pb->timer);
    if (phase != PH_DONE)
        fprintf(stderr, "rtmpbench: publisher %d (%s) closed: %s%s%s\n", pb->index, pb->name,
                why != NULL ? why : "", err != LS_OK ? " — " : "",
                err != LS_OK ? ls_strerror(err) : "");
    pubs_check_closed();
}

static const struct ls_client_ops pub_ops = {
    .on_started = pub_on_started,
    .on_status = pub_on_status,
    .on_close = pub_on_close,
};

static void pubs_start(void)
{
    struct ls_rtmp_url u;
    struct ls_client_config cfg;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char hostport[LS_ADDR_HOST_MAX + 16];
    int i;

    if (ls_rtmp_url_parse(opt.publish_url, &u) != LS_OK)
        die_usage("bad publish URL '%s': expected rtmp://HOST[:PORT]/APP/NAME", opt.publish_url);
    if (u.name[0] == '\0')
        die_usage("publish URL '%s' names no stream", opt.publish_url);
    snprintf(hostport, sizeof hostport, strchr(u.host, ':') ? "[%s]:%u" : "%s:%u", u.host,
             u.port);
    if (ls_net_resolve(hostport, false, &ss, &sslen) != LS_OK)
        die_usage("cannot resolve %s", hostport);
    ls_client_config_defaults(&cfg);
    pubs = calloc((size_t)opt.publishers, sizeof *pubs);
    if (pubs == NULL)
        die_usage("%s", "out of memory");
    for (i = 0; i < opt.publishers; i++) {
        struct publisher *pb = &pubs[i];

        pb->index = i;
        if (opt.publishers == 1)
            snprintf(pb->name, sizeof pb->name, "%s", u.name);
        else
            snprintf(pb->name, sizeof pb->name, "%s-%d", u.name, i);
        pb->ring = calloc(LAT_RING, sizeof *pb->ring);
        pb->timer = evtimer_new(base, pub_tick, pb);
        if (pb->ring == NULL || pb->timer == NULL)
            die_usage("%s", "out of memory");
        pb->cl = ls_client_start(base, (struct sockaddr *)&ss, sslen, LS_CLIENT_PUBLISH,
                                 u.tc_url, u.app, pb->name, &cfg, &pub_ops, pb);
        if (pb->cl == NULL) {
            fprintf(stderr, "rtmpbench: publisher %d cannot connect to %s: %s\n", i, hostport,
                    strerror(errno));
            pb->closed = true;
        }
    }
    pubs_check_closed();
}

/* ---- phases ---- */

static void window_snapshot(struct snap *s, const struct player *p)
{
    const struct track *t = p->vt.have ? &p->vt : &p->at;

    s->taken = true;
    s->alive = p->st == ST_PLAYING;
    s->bytes = p->bytes;
    s->payload = p->payload;
    s->video = p->video;
    s->audio = p->audio;
    s->stalls = p->stalls;
    s->ts_back = p->ts_back;
    s->ts_gap = p->ts_gap;
    s->have_ts = t->have;
    s->media_ts = t->last_ts;
    s->last_media_us = p->last_media_us;
}

static void phase_at(double ms, enum phase next);

static void finish(void)
{
    int i;

    if (phase == PH_DONE)
        return;
    phase = PH_DONE;
    event_base_loopexit(base, NULL);
    for (i = 0; i < opt.publishers && pubs != NULL; i++)
        if (pubs[i].cl != NULL)
            ls_client_close(pubs[i].cl, "benchmark done");
}

static void phase_cb(evutil_socket_t fd, short what, void *arg)
{
    enum phase next = (enum phase)(intptr_t)arg;
    int64_t now = now_us();
    int i;

    (void)fd;
    (void)what;
    switch (next) {
    case PH_RAMP:
        phase = PH_RAMP;
        procs_sample(0);
        ramp_t0 = ramp_last_us = now;
        {
            struct timeval tick = { 0, 10000 };

            evtimer_add(ramp_ev, &tick);
        }
        if (opt.sweep_ms > 0) {
            struct timeval sw = tv_ms(opt.sweep_ms);

            evtimer_add(sweep_ev, &sw);
        }
        break;
    case PH_WINDOW:
        phase = PH_WINDOW;
        t_w0 = now;
        for (i = 0; i < launched; i++) {
            /* a stall still in progress counts from here on, not before */
            struct player *p = &players[i];

            if (p->st == ST_PLAYING && p->last_media_us != 0 && now - p->last_media_us > STALL_US)
                p->last_media_us = now;
            window_snapshot(&p->w0, p);
        }
        procs_sample(1);
        phase_at(opt.duration_s * 1000, PH_DONE);
        break;
    case PH_DONE:
        t_w1 = now;
        if (opt.sweep_ms > 0)
            sweep_cb(-1, 0, NULL); /* read what arrived since the last sweep */
        for (i = 0; i < launched; i++) {
            struct player *p = &players[i];

            /* a stall in progress at the end is a stall */
            if (p->st == ST_PLAYING && p->last_media_us != 0 &&
                now - p->last_media_us > STALL_US) {
                p->stalls++;
                p->stall_us += now - p->last_media_us;
            }
            window_snapshot(&p->w1, p);
        }
        procs_sample(2);
        finish();
        break;
    default:
        break;
    }
}

static void phase_at(double ms, enum phase next)
{
    struct timeval tv = tv_ms(ms);

    event_assign(phase_ev, base, -1, 0, phase_cb, (void *)(intptr_t)next);
    evtimer_add(phase_ev, &tv);
}

/* Moves on once every player has been launched and has either a keyframe or failed. */
static void check_progress(void)
{
    int i, alive = 0;

    if (plan_mode)
        return;
    if (phase == PH_RAMP && launched == opt.players) {
        phase = PH_WAIT_START;
        evtimer_del(ramp_ev);
    }
    if (phase != PH_WAIT_START)
        return;
    for (i = 0; i < launched; i++) {
        const struct player *p = &players[i];

        if (p->st == ST_CLOSED)
            continue;
        alive++;
        if (p->t_key == 0)
            return;
    }
    if (alive == 0) {
        /* nobody to measure: stop now, the summary explains why */
        t_w0 = t_w1 = now_us();
        finish();
        return;
    }
    phase = PH_WARMUP;
    phase_at(opt.warmup_s * 1000, PH_WINDOW);
}

static void ramp_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = now_us();

    (void)fd;
    (void)what;
    (void)arg;
    ramp_credit += opt.rate * (double)(now - ramp_last_us) / 1e6;
    ramp_last_us = now;
    while (ramp_credit >= 1 && launched < opt.players) {
        struct player *p = &players[launched++];

        ramp_credit -= 1;
        player_launch(p);
    }
    if (launched < opt.players) {
        struct timeval tick = { 0, 10000 };

        evtimer_add(ramp_ev, &tick);
    }
    check_progress();
}

/* Once a second: start timeouts. */
static void house_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = now_us(), limit = (int64_t)opt.start_timeout_s * 1000000;
    int i;

    (void)fd;
    (void)what;
    (void)arg;
    for (i = 0; i < launched; i++) {
        struct player *p = &players[i];

        if (p->st == ST_CLOSED || p->st == ST_IDLE || p->t_key != 0 || now - p->t_start < limit)
            continue;
        p->gave_up = true;
        if (p->st == ST_PLAYING)
            player_fail(p, "no video keyframe within %u s of connecting", opt.start_timeout_s);
        else if (p->st == ST_CONNECTING)
            player_fail(p, "connect to %s:%u timed out", p->tg->host, p->tg->port);
        else
            player_fail(p, "no answer to %s within %u s", p->step, opt.start_timeout_s);
    }
    if (plan_mode)
        plan_tick(now);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (phase == PH_WINDOW) {
        event_del(phase_ev);
        phase_cb(-1, 0, (void *)(intptr_t)PH_DONE);
    } else {
        t_w0 = t_w1 = now_us();
        finish();
    }
}

/* ---- plan mode ----
 *
 * --plan FILE: one viewer a line, "START END URL" (seconds from the start of this process;
 * END 0 = until the end; '#' starts a comment). A viewer connects at START and leaves at
 * END; a session the server closes or that fails connects again after --reconnect-ms. The
 * viewer's media history spans its sessions: a gap is the time between two media messages
 * it received, a reconnection included. --events FILE gets one JSON object a line; t is
 * CLOCK_MONOTONIC in seconds, the clock every process of the machine shares:
 *   {"t","ev":"begin"}                                   the plan's time 0
 *   {"t","ev":"session","v","n"}                         viewer v connects (session n, from 1)
 *   {"t","ev":"key","v","n","ms"}                        first video keyframe, ms after connect()
 *   {"t","ev":"gap","v","from","ms"[,"open":true]}       media again after ms without it (over
 *                                                        --gap-ms); open: none until it left
 *   {"t","ev":"ts","v","n","kind":"back"|"jump","d"}     video timestamp step (ms) in a session
 *   {"t","ev":"close","v","n","by","media","why"}        by: server (closed, refused, reset),
 *                                                        client (start timeout), plan (left),
 *                                                        end (run over); media: had media
 *   {"t","ev":"tick","planned","playing","receiving","stalled"}   once a second: viewers due
 *                                                        now, connected and playing, with media
 *                                                        in the last second, without it (had some)
 */

static double mono_s(int64_t us)
{
    return ((double)t_origin_ns / 1e3 + (double)us) / 1e6;
}

static void ev_open(int64_t now, const char *what)
{
    fprintf(events, "{\"t\":%.3f,\"ev\":\"%s\"", mono_s(now), what);
}

/* ,"key":"value" with JSON escapes */
static void ev_str(const char *key, const char *v)
{
    fprintf(events, ",\"%s\":\"", key);
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;

        if (c == '"' || c == '\\')
            fprintf(events, "\\%c", c);
        else if (c < 0x20)
            fprintf(events, "\\u%04x", c);
        else
            fputc(c, events);
    }
    fputc('"', events);
}

static void ev_close(void)
{
    fputs("}\n", events);
}

static void plan_gap(struct player *p, int64_t from, int64_t to, bool open)
{
    double ms = (double)(to - from) / 1000;

    plan_gaps++;
    if (ms > STALL_US / 1000)
        plan_long_gaps++;
    ev_open(to, "gap");
    fprintf(events, ",\"v\":%d,\"from\":%.3f,\"ms\":%.1f%s", p->index, mono_s(from), ms,
            open ? ",\"open\":true" : "");
    ev_close();
}

static void plan_ts_step(struct player *p, const char *kind, int32_t d, int64_t now)
{
    ev_open(now, "ts");
    fprintf(events, ",\"v\":%d,\"n\":%u,\"kind\":\"%s\",\"d\":%" PRId32, p->index, p->session,
            kind, d);
    ev_close();
}

static void plan_key(struct player *p, int64_t now)
{
    ev_open(now, "key");
    fprintf(events, ",\"v\":%d,\"n\":%u,\"ms\":%.1f", p->index, p->session,
            (double)(now - p->t_start) / 1000);
    ev_close();
}

/* After a session closed (player_close done): log it and, unless the viewer left, retry. */
static void plan_on_close(struct player *p, const char *by)
{
    int64_t now = now_us();

    if (strcmp(by, "server") == 0 && p->session_media)
        plan_disconnects++;
    ev_open(now, "close");
    fprintf(events, ",\"v\":%d,\"n\":%u,\"by\":\"%s\",\"media\":%s", p->index, p->session, by,
            p->session_media ? "true" : "false");
    ev_str("why", p->why[0] != '\0' ? p->why : by);
    ev_close();
    if (!p->plan_over)
        p->retry_at = now + (int64_t)opt.reconnect_ms * 1000;
}

/* Forgets what the last connection had; the viewer's media history stays. */
static void plan_new_session(struct player *p)
{
    p->fd = -1;
    p->st = ST_IDLE;
    p->ev_flags = 0;
    p->swept = false;
    p->failed = false;
    p->gave_up = false;
    p->session_media = false;
    p->why[0] = '\0';
    p->hdr_len = 0;
    p->chunked = false;
    p->ch_state = CH_SIZE;
    p->ch_left = 0;
    p->out_off = 0;
    p->stream_id = 0;
    p->step = NULL;
    p->t_start = p->t_conn = p->t_play = p->t_media = p->t_key = 0;
    memset(&p->vt, 0, sizeof p->vt);
    memset(&p->at, 0, sizeof p->at);
    p->retry_at = 0;
}

static void plan_connect(struct player *p, int64_t now)
{
    plan_new_session(p);
    p->session++;
    plan_sessions++;
    ev_open(now, "session");
    fprintf(events, ",\"v\":%d,\"n\":%u", p->index, p->session);
    ev_close();
    player_launch(p);
}

/* The viewer leaves (by "plan" at END, or "end" of the run); a gap in progress is counted. */
static void plan_leave(struct player *p, int64_t now, const char *by)
{
    if (p->plan_over)
        return;
    p->plan_over = true;
    if (p->last_media_us != 0 && now - p->last_media_us > (int64_t)opt.gap_ms * 1000)
        plan_gap(p, p->last_media_us, now, true);
    if (p->st != ST_IDLE && p->st != ST_CLOSED) {
        player_close(p);
        plan_on_close(p, by);
    }
}

static void plan_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = now_us();
    int i;

    (void)fd;
    (void)what;
    (void)arg;
    for (i = 0; i < opt.players; i++) {
        struct player *p = &players[i];

        if (p->plan_over || now < p->plan_start)
            continue;
        if (p->plan_end != 0 && now >= p->plan_end)
            plan_leave(p, now, "plan");
        else if (p->st == ST_IDLE || (p->st == ST_CLOSED && p->retry_at != 0 &&
                                      now >= p->retry_at))
            plan_connect(p, now);
    }
}

static void plan_tick(int64_t now)
{
    int i, planned = 0, playing = 0, receiving = 0, stalled = 0;

    for (i = 0; i < opt.players; i++) {
        const struct player *p = &players[i];

        if (p->plan_over || now < p->plan_start)
            continue;
        planned++;
        playing += p->st == ST_PLAYING;
        if (p->last_media_us != 0 && now - p->last_media_us <= STALL_US)
            receiving++;
        else if (p->last_media_us != 0)
            stalled++;
    }
    ev_open(now, "tick");
    fprintf(events, ",\"planned\":%d,\"playing\":%d,\"receiving\":%d,\"stalled\":%d", planned,
            playing, receiving, stalled);
    ev_close();
    fflush(events);
}

/* Targets are shared by the viewers of one URL. */
static struct target **plan_targets;
static int nplan_targets;

static const struct target *plan_target(const char *url)
{
    struct target **v, *t;
    int i;

    for (i = 0; i < nplan_targets; i++)
        if (strcmp(plan_targets[i]->url, url) == 0)
            return plan_targets[i];
    v = realloc(plan_targets, (size_t)(nplan_targets + 1) * sizeof *v);
    t = calloc(1, sizeof *t);
    if (v == NULL || t == NULL)
        die_usage("%s", "out of memory");
    plan_targets = v;
    parse_url(t, url);
    plan_targets[nplan_targets++] = t;
    return t;
}

struct plan_line {
    double start, end;
    const struct target *tg;
};

/* Reads the plan; sets opt.players. Exits on a malformed line (a usage error). */
static struct plan_line *plan_load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[LS_RTMP_URL_MAX + 128], url[LS_RTMP_URL_MAX + 1];
    struct plan_line *v = NULL;
    int n = 0, lineno = 0;

    if (f == NULL)
        die_usage("cannot open the plan %s", path);
    while (fgets(line, sizeof line, f) != NULL) {
        char *hash = strchr(line, '#'), *p = line;
        double start, end;
        int used = 0;
        struct plan_line *w;

        lineno++;
        if (hash != NULL)
            *hash = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            continue;
        if (sscanf(p, "%lf %lf %2047s %n", &start, &end, url, &used) != 3 || p[used] != '\0' ||
            !(start >= 0) || !(end == 0 || end > start)) {
            fprintf(stderr, "rtmpbench: %s:%d: expected START END URL (END 0 or after START)\n",
                    path, lineno);
            exit(2);
        }
        w = realloc(v, (size_t)(n + 1) * sizeof *w);
        if (w == NULL)
            die_usage("%s", "out of memory");
        v = w;
        v[n].start = start;
        v[n].end = end;
        v[n].tg = plan_target(url);
        n++;
    }
    fclose(f);
    if (n == 0)
        die_usage("the plan %s names no viewer", path);
    opt.players = n;
    return v;
}

/* The run is over: every viewer still there leaves; a one-line summary. */
static void plan_finish(void)
{
    int64_t now = now_us();
    int i;

    for (i = 0; i < opt.players; i++)
        plan_leave(&players[i], now, "end");
    if (fflush(events) != 0 || ferror(events)) {
        fprintf(stderr, "rtmpbench: cannot write %s\n", opt.events_path);
        exit_status = 1;
    }
    if (!opt.quiet)
        printf("rtmpbench: plan of %d viewers: %" PRIu64 " sessions, %" PRIu64
               " disconnected by the server after media, %" PRIu64 " gaps over %u ms (%" PRIu64
               " over 1 s)\n", opt.players, plan_sessions, plan_disconnects, plan_gaps,
               opt.gap_ms, plan_long_gaps);
}

/* ---- report ---- */

struct stats {
    int started, with_key, failed, kept_up, alive_end;
    double *start_ms, *conn_ms, *play_ms, *media_ms;
    size_t nstart, nconn, nplay, nmedia;
    uint64_t bytes, payload, video, audio;
    uint32_t stalls, ts_back, ts_gap;
    double window_s;
    double delivered_kbps;  /* mean payload bitrate per player alive in the window */
    double source_kbps;
    double lat[4];          /* p50 p90 p99 max, ms */
};

static void lat_percentiles(double out[4])
{
    double *v = calloc(lat_samples + 1, sizeof *v);
    size_t i;

    for (i = 0; i < 4; i++)
        out[i] = NAN;
    if (v == NULL || lat_samples == 0) {
        free(v);
        return;
    }
    for (i = 0; i < lat_samples; i++)
        v[i] = lat_us[i] / 1000.0;
    qsort(v, lat_samples, sizeof *v, cmp_double);
    out[0] = pct(v, lat_samples, 0.5);
    out[1] = pct(v, lat_samples, 0.9);
    out[2] = pct(v, lat_samples, 0.99);
    out[3] = v[lat_samples - 1];
    free(v);
}

static void compute(struct stats *s)
{
    int i;
    double media_adv_max = 0;

    memset(s, 0, sizeof *s);
    s->start_ms = calloc((size_t)opt.players + 1, sizeof(double));
    s->conn_ms = calloc((size_t)opt.players + 1, sizeof(double));
    s->play_ms = calloc((size_t)opt.players + 1, sizeof(double));
    s->media_ms = calloc((size_t)opt.players + 1, sizeof(double));
    s->window_s = (double)(t_w1 - t_w0) / 1e6;
    for (i = 0; i < launched; i++) {
        struct player *p = &players[i];

        if (p->t_play != 0)
            s->started++;
        if (p->failed)
            s->failed++;
        if (p->t_conn != 0)
            s->conn_ms[s->nconn++] = (double)(p->t_conn - p->t_start) / 1000;
        if (p->t_play != 0)
            s->play_ms[s->nplay++] = (double)(p->t_play - p->t_start) / 1000;
        if (p->t_media != 0)
            s->media_ms[s->nmedia++] = (double)(p->t_media - p->t_start) / 1000;
        if (p->t_key != 0) {
            s->with_key++;
            s->start_ms[s->nstart++] = (double)(p->t_key - p->t_start) / 1000;
        }
        if (!p->w0.taken || !p->w1.taken)
            continue;
        s->bytes += p->w1.bytes - p->w0.bytes;
        s->payload += p->w1.payload - p->w0.payload;
        s->video += p->w1.video - p->w0.video;
        s->audio += p->w1.audio - p->w0.audio;
        s->stalls += p->w1.stalls - p->w0.stalls;
        s->ts_back += p->w1.ts_back - p->w0.ts_back;
        s->ts_gap += p->w1.ts_gap - p->w0.ts_gap;
        if (p->w1.alive)
            s->alive_end++;
        if (p->w0.alive && p->w1.alive && p->w0.have_ts && p->w1.have_ts && s->window_s > 0) {
            double adv = (double)(int32_t)(p->w1.media_ts - p->w0.media_ts) / 1000;
            double kbps = (double)(p->w1.payload - p->w0.payload) * 8 / 1000;

            if (adv > 0 && kbps / adv > media_adv_max)
                media_adv_max = kbps / adv; /* stream bitrate as one player saw it */
            if (p->w1.stalls == p->w0.stalls && p->w1.ts_back == p->w0.ts_back &&
                p->w1.ts_gap == p->w0.ts_gap && adv >= KEPT_UP_RATIO * s->window_s)
                s->kept_up++;
        }
    }
    qsort(s->start_ms, s->nstart, sizeof(double), cmp_double);
    qsort(s->conn_ms, s->nconn, sizeof(double), cmp_double);
    qsort(s->play_ms, s->nplay, sizeof(double), cmp_double);
    qsort(s->media_ms, s->nmedia, sizeof(double), cmp_double);
    if (s->alive_end > 0 && s->window_s > 0)
        s->delivered_kbps = (double)s->payload * 8 / 1000 / s->window_s / s->alive_end;
    s->source_kbps = source_kbps > 0 ? source_kbps : media_adv_max;
    lat_percentiles(s->lat);
}

static void json_pcts(struct ls_json *j, const char *key, const double *v, size_t n)
{
    ls_json_key(j, key);
    ls_json_object_begin(j);
    ls_json_kv_uint64(j, "n", n);
    ls_json_kv_double(j, "p50", pct(v, n, 0.5));
    ls_json_kv_double(j, "p90", pct(v, n, 0.9));
    ls_json_kv_double(j, "p99", pct(v, n, 0.99));
    ls_json_kv_double(j, "max", n > 0 ? v[n - 1] : NAN);
    ls_json_object_end(j);
}

/* Failure reasons, grouped: returns the number of distinct reasons in *out (sorted by count). */
struct reason {
    const char *why;
    int count;
};

static int group_reasons(struct reason *out, int max)
{
    int i, k, n = 0;

    for (i = 0; i < launched; i++) {
        if (!players[i].failed)
            continue;
        for (k = 0; k < n; k++)
            if (strcmp(out[k].why, players[i].why) == 0)
                break;
        if (k < n) {
            out[k].count++;
        } else if (n < max) {
            out[n].why = players[i].why;
            out[n++].count = 1;
        }
    }
    for (i = 1; i < n; i++) /* insertion sort, most frequent first */
        for (k = i; k > 0 && out[k].count > out[k - 1].count; k--) {
            struct reason t = out[k];

            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return n;
}

static void write_json(const struct stats *s, const struct reason *rs, int nr)
{
    struct ls_buf b;
    struct ls_json j;
    FILE *f;
    int i;

    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "url", cli_target.url);
    ls_json_kv_string(&j, "protocol",
                      cli_target.proto == PROTO_RTMP   ? (cli_target.tls ? "rtmps" : "rtmp")
                      : cli_target.proto == PROTO_HTTP ? (cli_target.tls ? "https-flv" : "http-flv")
                                                       : "raw");
    ls_json_kv_int64(&j, "players", opt.players);
    ls_json_kv_double(&j, "ramp_per_s", opt.rate);
    ls_json_kv_int64(&j, "sweep_ms", opt.sweep_ms);
    ls_json_kv_int64(&j, "publishers", pubs != NULL ? opt.publishers : 0);
    ls_json_kv_int64(&j, "started", s->started);
    ls_json_kv_int64(&j, "with_keyframe", s->with_key);
    ls_json_kv_int64(&j, "failed", s->failed);
    ls_json_kv_int64(&j, "alive_at_end", s->alive_end);
    ls_json_kv_int64(&j, "kept_up", s->kept_up);
    json_pcts(&j, "start_ms", s->start_ms, s->nstart);
    json_pcts(&j, "connect_ms", s->conn_ms, s->nconn);
    json_pcts(&j, "play_start_ms", s->play_ms, s->nplay);
    json_pcts(&j, "first_media_ms", s->media_ms, s->nmedia);
    ls_json_kv_double(&j, "window_s", s->window_s);
    ls_json_kv_uint64(&j, "window_bytes", s->bytes);
    ls_json_kv_uint64(&j, "window_payload_bytes", s->payload);
    ls_json_kv_uint64(&j, "window_video_frames", s->video);
    ls_json_kv_uint64(&j, "window_audio_frames", s->audio);
    ls_json_kv_int64(&j, "window_stalls", s->stalls);
    ls_json_kv_int64(&j, "window_ts_backwards", s->ts_back);
    ls_json_kv_int64(&j, "window_ts_jumps", s->ts_gap);
    ls_json_kv_double(&j, "delivered_kbps_per_player", s->delivered_kbps);
    ls_json_kv_double(&j, "source_kbps", s->source_kbps);
    ls_json_key(&j, "latency_ms");
    ls_json_object_begin(&j);
    ls_json_kv_uint64(&j, "n", (uint64_t)lat_samples);
    ls_json_kv_double(&j, "p50", s->lat[0]);
    ls_json_kv_double(&j, "p90", s->lat[1]);
    ls_json_kv_double(&j, "p99", s->lat[2]);
    ls_json_kv_double(&j, "max", s->lat[3]);
    ls_json_object_end(&j);
    ls_json_key(&j, "procs");
    ls_json_array_begin(&j);
    for (i = 0; i < nprocs; i++) {
        const struct proc *pr = &procs[i];
        double cpu = pr->w1.cpu_s - pr->w0.cpu_s;

        ls_json_object_begin(&j);
        ls_json_kv_string(&j, "name", pr->name);
        ls_json_kv_int64(&j, "pid", pr->pid);
        ls_json_kv_bool(&j, "ok", pr->base.ok && pr->w0.ok && pr->w1.ok);
        ls_json_kv_double(&j, "cpu_s", cpu);
        ls_json_kv_double(&j, "cpu_util", s->window_s > 0 ? cpu / s->window_s : NAN);
        ls_json_kv_double(&j, "cpu_s_per_gb", s->bytes > 0 ? cpu / ((double)s->bytes / 1e9) : NAN);
        ls_json_kv_int64(&j, "rss_kb_before", pr->base.rss_kb);
        ls_json_kv_int64(&j, "rss_kb_end", pr->w1.rss_kb);
        ls_json_kv_int64(&j, "hwm_kb", pr->w1.hwm_kb);
        ls_json_object_end(&j);
    }
    ls_json_array_end(&j);
    ls_json_key(&j, "cpu_busy");
    ls_json_array_begin(&j);
    for (i = 0; i < ncpus; i++)
        ls_json_double(&j, cpu_busy_frac[i]);
    ls_json_array_end(&j);
    ls_json_kv_double(&j, "others_cpu_util", s->window_s > 0 ? others_util() : NAN);
    ls_json_key(&j, "others_top");
    ls_json_array_begin(&j);
    if (nothers > 0)
        qsort(others, nothers, sizeof *others, cmp_other);
    for (i = 0; i < 5 && (size_t)i < nothers; i++) {
        ls_json_object_begin(&j);
        ls_json_kv_string(&j, "comm", others[i].comm);
        ls_json_kv_int64(&j, "pid", others[i].pid);
        ls_json_kv_double(&j, "cpu_s", others[i].cpu1 - others[i].cpu0);
        ls_json_object_end(&j);
    }
    ls_json_array_end(&j);
    ls_json_key(&j, "errors");
    ls_json_array_begin(&j);
    for (i = 0; i < nr; i++) {
        ls_json_object_begin(&j);
        ls_json_kv_string(&j, "why", rs[i].why);
        ls_json_kv_int64(&j, "players", rs[i].count);
        ls_json_object_end(&j);
    }
    ls_json_array_end(&j);
    if (pubs != NULL) {
        ls_json_key(&j, "publisher_late_max_ms");
        ls_json_array_begin(&j);
        for (i = 0; i < opt.publishers; i++)
            ls_json_double(&j, (double)pubs[i].late_max_us / 1000);
        ls_json_array_end(&j);
    }
    ls_json_object_end(&j);
    if (ls_json_finish(&j) != LS_OK || (f = fopen(opt.json_path, "w")) == NULL) {
        fprintf(stderr, "rtmpbench: cannot write %s\n", opt.json_path);
        exit_status = 1;
    } else {
        fwrite(b.data, 1, b.len, f);
        fputc('\n', f);
        fclose(f);
    }
    ls_buf_free(&b);
}

static void report(void)
{
    struct stats s;
    struct reason rs[16];
    int nr = group_reasons(rs, 16), i;

    compute(&s);
    if (opt.verbose) {
        for (i = 0; i < launched; i++) {
            const struct player *p = &players[i];

            printf("player=%d started=%d start_ms=%.1f bytes=%" PRIu64 " video=%" PRIu64
                   " keyframes=%" PRIu64 " audio=%" PRIu64 " data=%" PRIu64
                   " stalls=%u ts_backwards=%u ts_jumps=%u%s%s%s\n",
                   i, p->t_play != 0, p->t_key ? (double)(p->t_key - p->t_start) / 1000 : -1.0,
                   p->bytes, p->video, p->keyframes, p->audio, p->data, p->stalls, p->ts_back,
                   p->ts_gap, p->failed ? " error=\"" : "", p->failed ? p->why : "",
                   p->failed ? "\"" : "");
        }
    }
    if (!opt.quiet && opt.players > 0) {
        printf("rtmpbench: %s — %d players (%.0f/s), window %.1f s, sweep %u ms\n", cli_target.url,
               opt.players, opt.rate, s.window_s, opt.sweep_ms);
        printf("  started      %d/%d (keyframe %d), failed %d\n", s.started, opt.players,
               s.with_key, s.failed);
    }
    if (!opt.quiet && s.with_key > 0) {
        printf("  start time   p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms  (connect() to first "
               "video keyframe)\n", pct(s.start_ms, s.nstart, .5), pct(s.start_ms, s.nstart, .9),
               pct(s.start_ms, s.nstart, .99), s.nstart ? s.start_ms[s.nstart - 1] : NAN);
        printf("  first media  p50 %.1f  p99 %.1f ms; Play.Start p50 %.1f ms; TCP connect p50 "
               "%.2f ms\n", pct(s.media_ms, s.nmedia, .5), pct(s.media_ms, s.nmedia, .99),
               pct(s.play_ms, s.nplay, .5), pct(s.conn_ms, s.nconn, .5));
        printf("  delivered    %.0f kbit/s per player (source %.0f kbit/s: %.1f%%), %.3f GB on "
               "the wire in the window\n", s.delivered_kbps, s.source_kbps,
               s.source_kbps > 0 ? 100 * s.delivered_kbps / s.source_kbps : NAN,
               (double)s.bytes / 1e9);
        printf("  kept up      %d/%d  (window: %u stalls, %u timestamp steps back, %u jumps; "
               "%d connected at the end)\n", s.kept_up, opt.players, s.stalls, s.ts_back,
               s.ts_gap, s.alive_end);
        if (lat_samples > 0)
            printf("  latency      p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms  (publisher send "
                   "to player receive, %zu frames)\n", s.lat[0], s.lat[1], s.lat[2], s.lat[3],
                   lat_samples);
        for (i = 0; i < nprocs; i++) {
            const struct proc *pr = &procs[i];
            double cpu = pr->w1.cpu_s - pr->w0.cpu_s;

            if (!pr->w1.ok) {
                printf("  %-12s pid %d: not measured\n", pr->name, pr->pid);
                continue;
            }
            printf("  %-12s cpu %.2f s (%.0f%%), %.2f CPU-s/GB; rss %.1f MB (before %.1f MB, "
                   "%+.1f KB/player), peak %.1f MB\n", pr->name, cpu,
                   s.window_s > 0 ? 100 * cpu / s.window_s : 0,
                   s.bytes > 0 ? cpu / ((double)s.bytes / 1e9) : NAN, pr->w1.rss_kb / 1024.0,
                   pr->base.rss_kb / 1024.0,
                   opt.players > 0 ? (double)(pr->w1.rss_kb - pr->base.rss_kb) / opt.players : 0,
                   pr->w1.hwm_kb / 1024.0);
        }
        if (ncpus > 0) {
            printf("  cpu busy    ");
            for (i = 0; i < ncpus; i++)
                printf(" cpu%d %.0f%%", i, 100 * cpu_busy_frac[i]);
            printf("\n");
        }
        if (s.window_s > 0 && ncpus > 0) {
            if (nothers > 0)
                qsort(others, nothers, sizeof *others, cmp_other);
            printf("  others       %.0f%% of a core in the window", 100 * others_util());
            for (i = 0; i < 3 && (size_t)i < nothers && others[i].cpu1 - others[i].cpu0 >= 0.05 * s.window_s; i++)
                printf("%s %s %.0f%%", i == 0 ? ":" : ",", others[i].comm,
                       100 * (others[i].cpu1 - others[i].cpu0) / s.window_s);
            printf("\n");
        }
    }
    if (!opt.quiet && pubs != NULL) {
        uint64_t sent = 0;
        int64_t late = 0;

        for (i = 0; i < opt.publishers; i++) {
            sent += pubs[i].sent;
            if (pubs[i].late_max_us > late)
                late = pubs[i].late_max_us;
        }
        printf("  published    %" PRIu64 " messages by %d publisher%s, worst send %.1f ms late\n",
               sent, opt.publishers, opt.publishers == 1 ? "" : "s", (double)late / 1000);
    }
    if (!opt.quiet) {
        for (i = 0; i < nr; i++)
            printf("  error        %d player%s: %s\n", rs[i].count, rs[i].count == 1 ? "" : "s",
                   rs[i].why);
    }
    if (nr > 0 && opt.quiet)
        for (i = 0; i < nr; i++)
            fprintf(stderr, "rtmpbench: %d player%s: %s\n", rs[i].count,
                    rs[i].count == 1 ? "" : "s", rs[i].why);
    if (opt.json_path != NULL)
        write_json(&s, rs, nr);
    if (s.failed > 0 || s.with_key < opt.players)
        exit_status = 1;
    free(s.start_ms);
    free(s.conn_ms);
    free(s.play_ms);
    free(s.media_ms);
}

/* ---- command line ---- */

static void usage(void)
{
    fprintf(stderr,
        "usage: rtmpbench [options] URL\n"
        "  URL: rtmp[s]://HOST[:PORT]/APP/NAME | http[s]://HOST[:PORT]/APP/NAME.flv |\n"
        "       raw://HOST:PORT\n"
        "  -n, --players N         players (default 1; 0 = only publish)\n"
        "  -r, --rate R            new connections per second (default 100)\n"
        "  -w, --warmup SEC        after every player has a keyframe (default 2)\n"
        "  -d, --duration SEC      measurement window (default 10; with -n 0: run time,\n"
        "                          0 = until SIGINT/SIGTERM)\n"
        "  -i, --sweep-ms MS       read started players every MS ms (default 50; 0 = on\n"
        "                          readiness, for latency measurements)\n"
        "  -t, --start-timeout SEC keyframe deadline per player (default 10)\n"
        "  -P, --publish FILE      publish this FLV at real-time pace, looped\n"
        "  -m, --publishers M      with -P: M publishers, streams NAME-0..NAME-(M-1) when\n"
        "                          M > 1, players spread over them (default 1)\n"
        "  -U, --publish-url URL   publish there instead of the play URL (rtmp://)\n"
        "  -N, --names N           without -P: players spread over NAME-0..NAME-(N-1)\n"
        "                          (files on demand: one file per name)\n"
        "      --preroll SEC       with -P: wait this long before the first player (default 3)\n"
        "  -S, --source FILE       FLV the stream comes from (source bitrate; default -P FILE)\n"
        "  -p, --pid NAME=PID      measure this process's CPU and RSS (repeatable, max %d)\n"
        "  -j, --json FILE         write the summary as JSON\n"
        "  -v, --verbose           one line per player\n"
        "  -q, --quiet             no summary on stdout (errors still on stderr)\n"
        "      --exit-on-close     with -n 0: exit (status 1) once every publisher's\n"
        "                          connection has closed, for a supervisor to restart it\n"
        "  plan mode (no URL argument; see the source for the events):\n"
        "      --plan FILE         viewers, one a line: START END URL (seconds; END 0 = to\n"
        "                          the end); -d is then the run time (0 = until SIGTERM)\n"
        "      --events FILE       the timeline as JSON lines (required with --plan)\n"
        "      --reconnect-ms MS   a closed viewer connects again after MS (default 1000)\n"
        "      --gap-ms MS         log media gaps longer than MS (default 500)\n",
        MAX_PROCS);
    exit(2);
}

/* http[s]://HOST[:PORT]/PATH and raw://HOST:PORT */
static void parse_other_url(struct target *t, const char *url, bool http)
{
    const char *p = url + (http ? (t->tls ? 8 : 7) : 6), *host_end, *port_start = NULL, *path;
    size_t hlen;

    if (*p == '[') {
        host_end = strchr(p, ']');
        if (host_end == NULL)
            die_usage("bad URL '%s': unterminated IPv6 literal", url);
        hlen = (size_t)(host_end - p - 1);
        memcpy(t->host, p + 1, hlen < sizeof t->host ? hlen : 0);
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        hlen = (size_t)(host_end - p);
        if (hlen >= sizeof t->host)
            die_usage("bad URL '%s': host too long", url);
        memcpy(t->host, p, hlen);
        p = host_end;
    }
    t->host[hlen < sizeof t->host ? hlen : 0] = '\0';
    if (t->host[0] == '\0')
        die_usage("bad URL '%s': no host", url);
    t->port = http ? (t->tls ? 443 : 80) : 0;
    if (*p == ':') {
        char *end;
        unsigned long v;

        port_start = p + 1;
        v = strtoul(port_start, &end, 10);
        if (end == port_start || v == 0 || v > 65535 || (*end != '\0' && *end != '/'))
            die_usage("bad URL '%s': bad port", url);
        t->port = (unsigned)v;
        p = end;
    }
    if (!http) {
        if (t->port == 0 || (*p != '\0' && strcmp(p, "/") != 0))
            die_usage("bad URL '%s': expected raw://HOST:PORT", url);
        return;
    }
    path = *p == '\0' ? "/" : p;
    if (strlen(path) >= sizeof t->path || strpbrk(path, " \t\r\n") != NULL)
        die_usage("bad URL '%s': bad path", url);
    snprintf(t->path, sizeof t->path, "%s", path);
}

static void parse_url(struct target *t, const char *url)
{
    char hostport[LS_ADDR_HOST_MAX + 16];

    if (strlen(url) >= sizeof t->url)
        die_usage("URL too long: %.80s...", url);
    snprintf(t->url, sizeof t->url, "%s", url);
    if (strncasecmp(url, "rtmp://", 7) == 0 || strncasecmp(url, "rtmps://", 8) == 0) {
        struct ls_rtmp_url u;
        char plain[LS_RTMP_URL_MAX + 1];

        /* rtmps: the same URL over TLS (the port must be given: RTMPS has no fixed one) */
        t->tls = strncasecmp(url, "rtmps://", 8) == 0;
        snprintf(plain, sizeof plain, "rtmp://%s", url + (t->tls ? 8 : 7));
        if (ls_rtmp_url_parse(plain, &u) != LS_OK)
            die_usage("bad URL '%s': expected rtmp[s]://HOST[:PORT]/APP/NAME", url);
        if (u.name[0] == '\0')
            die_usage("bad URL '%s': no stream name after the app", url);
        t->proto = PROTO_RTMP;
        snprintf(t->host, sizeof t->host, "%s", u.host);
        t->port = u.port;
        snprintf(t->app, sizeof t->app, "%s", u.app);
        snprintf(t->name, sizeof t->name, "%s", u.name);
        snprintf(t->tc_url, sizeof t->tc_url, "%s", u.tc_url);
    } else if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) {
        t->proto = PROTO_HTTP;
        t->tls = strncasecmp(url, "https://", 8) == 0;
        parse_other_url(t, url, true);
        snprintf(t->name, sizeof t->name, "%s", t->path);
    } else if (strncasecmp(url, "raw://", 6) == 0) {
        t->proto = PROTO_RAW;
        parse_other_url(t, url, false);
    } else {
        die_usage("bad URL '%s': expected rtmp://HOST[:PORT]/APP/NAME, "
                  "http://HOST[:PORT]/APP/NAME.flv or raw://HOST:PORT", url);
    }
    snprintf(hostport, sizeof hostport, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host,
             t->port);
    if (ls_net_resolve(hostport, false, &t->sa, &t->salen) != LS_OK)
        die_usage("cannot resolve %s", hostport);
}

static double parse_num(const char *s, const char *what, double min, double max)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "rtmpbench: bad %s '%s' (%g..%g)\n", what, s, min, max);
        exit(2);
    }
    return v;
}

static void add_proc(const char *arg)
{
    const char *eq = strchr(arg, '=');
    struct proc *pr;

    if (nprocs == MAX_PROCS)
        die_usage("at most %s processes with -p", "8");
    pr = &procs[nprocs++];
    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof pr->name)
        die_usage("bad -p '%s': expected NAME=PID", arg);
    memcpy(pr->name, arg, (size_t)(eq - arg));
    pr->name[eq - arg] = '\0';
    pr->pid = (int)parse_num(eq + 1, "pid", 1, 1 << 30);
}

/* Per-player stream names: the URL's, or one publisher's of several. */
static char **player_names;
static int nnames;

static void assign_names(void)
{
    int i, m = pubs != NULL && opt.publishers > 1 ? opt.publishers
               : pubs == NULL && opt.names > 1 ? opt.names : 1;

    nnames = m;
    player_names = calloc((size_t)m, sizeof *player_names);
    if (player_names == NULL)
        die_usage("%s", "out of memory");
    for (i = 0; i < m; i++) {
        const char *base_name = cli_target.proto == PROTO_HTTP ? cli_target.path
                                                                : cli_target.name;
        size_t len = strlen(base_name) + 16;
        char *s = malloc(len);

        if (s == NULL)
            die_usage("%s", "out of memory");
        if (m == 1) {
            snprintf(s, len, "%s", base_name);
        } else if (cli_target.proto == PROTO_HTTP) {
            /* /app/name.flv → /app/name-i.flv */
            const char *dot = strrchr(base_name, '.');
            int stem = dot != NULL ? (int)(dot - base_name) : (int)strlen(base_name);

            snprintf(s, len, "%.*s-%d%s", stem, base_name, i, dot != NULL ? dot : "");
        } else {
            snprintf(s, len, "%s-%d", base_name, i);
        }
        player_names[i] = s;
    }
    for (i = 0; i < opt.players; i++) {
        players[i].pub = i % m;
        players[i].name = player_names[i % m];
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "players", required_argument, NULL, 'n' },
        { "rate", required_argument, NULL, 'r' },
        { "warmup", required_argument, NULL, 'w' },
        { "duration", required_argument, NULL, 'd' },
        { "sweep-ms", required_argument, NULL, 'i' },
        { "start-timeout", required_argument, NULL, 't' },
        { "publish", required_argument, NULL, 'P' },
        { "publishers", required_argument, NULL, 'm' },
        { "publish-url", required_argument, NULL, 'U' },
        { "names", required_argument, NULL, 'N' },
        { "preroll", required_argument, NULL, 1 },
        { "source", required_argument, NULL, 'S' },
        { "pid", required_argument, NULL, 'p' },
        { "json", required_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "exit-on-close", no_argument, NULL, 2 },
        { "plan", required_argument, NULL, 3 },
        { "events", required_argument, NULL, 4 },
        { "reconnect-ms", required_argument, NULL, 5 },
        { "gap-ms", required_argument, NULL, 6 },
        { NULL, 0, NULL, 0 },
    };
    struct timespec ts;
    struct rlimit rl;
    struct timeval sec = { 1, 0 };
    int c, i;
    char selfname[32];
    struct plan_line *plan = NULL;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    t_origin_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - 1000000; /* now_us() >= 1000 */
    clk_tck = sysconf(_SC_CLK_TCK);
    while ((c = getopt_long(argc, argv, "n:r:w:d:i:t:P:m:U:N:S:p:j:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': opt.players = (int)parse_num(optarg, "player count", 0, 1000000); break;
        case 'r': opt.rate = parse_num(optarg, "rate", 0.1, 1e6); break;
        case 'w': opt.warmup_s = parse_num(optarg, "warm-up", 0, 86400); break;
        case 'd': opt.duration_s = parse_num(optarg, "duration", 0, 86400 * 365); break;
        case 'i': opt.sweep_ms = (unsigned)parse_num(optarg, "sweep interval", 0, 10000); break;
        case 't': opt.start_timeout_s = (unsigned)parse_num(optarg, "start timeout", 1, 86400); break;
        case 'P': opt.publish_file = optarg; break;
        case 'm': opt.publishers = (int)parse_num(optarg, "publisher count", 1, 10000); break;
        case 'U': opt.publish_url = optarg; break;
        case 'N': opt.names = (int)parse_num(optarg, "name count", 1, 1000000); break;
        case 1: opt.preroll_s = parse_num(optarg, "preroll", 0, 3600); break;
        case 'S': opt.source_file = optarg; break;
        case 'p': add_proc(optarg); break;
        case 'j': opt.json_path = optarg; break;
        case 'v': opt.verbose = true; break;
        case 'q': opt.quiet = true; break;
        case 2: opt.exit_on_close = true; break;
        case 3: opt.plan_path = optarg; break;
        case 4: opt.events_path = optarg; break;
        case 5: opt.reconnect_ms = (unsigned)parse_num(optarg, "reconnect delay", 0, 3600000); break;
        case 6: opt.gap_ms = (unsigned)parse_num(optarg, "gap threshold", 1, 3600000); break;
        default: usage();
        }
    }
    plan_mode = opt.plan_path != NULL;
    if (plan_mode) {
        if (optind != argc || opt.events_path == NULL || opt.publish_file != NULL)
            die_usage("%s", "--plan takes no URL, needs --events FILE and no -P");
        plan = plan_load(opt.plan_path);
        snprintf(cli_target.url, sizeof cli_target.url, "plan %s", opt.plan_path);
        if ((events = fopen(opt.events_path, "w")) == NULL)
            die_usage("cannot write %s", opt.events_path);
    } else {
        if (optind != argc - 1)
            usage();
        parse_url(&cli_target, argv[optind]);
    }
    /* players' TLS, for rtmps:// and https:// targets (the plan's too) */
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (tls_ctx == NULL)
        die_usage("%s", "cannot set up TLS");
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* read ahead: a sweep's read takes what the socket holds in one call, as recv does */
    SSL_CTX_set_read_ahead(tls_ctx, 1);
    SSL_CTX_set_default_read_buffer_len(tls_ctx, 65536);
    if (opt.publishers > 0 && opt.publish_file == NULL)
        die_usage("%s", "-m needs -P FILE");
    if (opt.names > 0 && opt.publish_file != NULL)
        die_usage("%s", "-N plays names nobody publishes here: use -m with -P");
    if (opt.publish_file != NULL) {
        if (opt.publishers == 0)
            opt.publishers = 1;
        if (opt.publish_url == NULL) {
            if (cli_target.proto != PROTO_RTMP || cli_target.tls)
                die_usage("%s", "-P with an http[s]://, rtmps:// or raw:// play URL needs "
                                "-U rtmp://...");
            opt.publish_url = cli_target.url;
        }
        load_flv(opt.publish_file);
    } else if (opt.source_file != NULL) {
        load_flv(opt.source_file);
    }
    if (opt.publish_file != NULL && opt.source_file != NULL) {
        /* -S overrides the bitrate the publisher's file gives */
        struct ls_frame **keep = tags;
        size_t nkeep = ntags;
        uint32_t dur = file_duration_ms, first = file_first_ts;

        tags = NULL;
        ntags = 0;
        load_flv(opt.source_file);
        for (i = 0; (size_t)i < ntags; i++)
            ls_frame_unref(tags[i]);
        free(tags);
        tags = keep;
        ntags = nkeep;
        file_duration_ms = dur;
        file_first_ts = first;
    }
    /* Every player is a socket: raise the descriptor limit as far as allowed. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)opt.players + 64 > rl.rlim_cur)
        fprintf(stderr, "rtmpbench: warning: %d players but only %llu file descriptors\n",
                opt.players, (unsigned long long)rl.rlim_cur);
    signal(SIGPIPE, SIG_IGN);
    ls_log_init("rtmpbench");
    ls_log_set_level(LS_LOG_WARNING);
    snprintf(selfname, sizeof selfname, "rtmpbench=%d", (int)getpid());
    if (nprocs < MAX_PROCS)
        add_proc(selfname);

    base = event_base_new();
    players = calloc((size_t)opt.players + 1, sizeof *players);
    ramp_ev = evtimer_new(base, ramp_cb, NULL);
    sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, NULL);
    house_ev = event_new(base, -1, EV_PERSIST, house_cb, NULL);
    phase_ev = evtimer_new(base, phase_cb, NULL);
    sig_int = evsignal_new(base, SIGINT, signal_cb, NULL);
    sig_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
    if (base == NULL || players == NULL || ramp_ev == NULL || sweep_ev == NULL ||
        house_ev == NULL || phase_ev == NULL || sig_int == NULL || sig_term == NULL)
        die_usage("%s", "out of memory");
    for (i = 0; i < opt.players; i++) {
        players[i].index = i;
        players[i].fd = -1;
        players[i].tg = plan != NULL ? plan[i].tg : &cli_target;
    }
    evsignal_add(sig_int, NULL);
    evsignal_add(sig_term, NULL);
    evtimer_add(house_ev, &sec);
    if (opt.publish_file != NULL)
        pubs_start();
    assign_names();
    if (plan_mode) {
        struct timeval tick = { 0, 100000 };

        for (i = 0; i < opt.players; i++) {
            struct player *p = &players[i];

            p->name = p->tg->proto == PROTO_HTTP ? p->tg->path : p->tg->name;
            p->plan_start = (int64_t)(plan[i].start * 1e6);
            p->plan_end = (int64_t)(plan[i].end * 1e6);
        }
        free(plan);
        launched = opt.players; /* every loop over launched players sees them all */
        phase = PH_WINDOW;
        t_w0 = now_us();
        procs_sample(0);
        procs_sample(1);
        ev_open(now_us(), "begin");
        ev_close();
        plan_ev = event_new(base, -1, EV_PERSIST, plan_cb, NULL);
        if (plan_ev == NULL)
            die_usage("%s", "out of memory");
        event_add(plan_ev, &tick);
        if (opt.sweep_ms > 0) {
            struct timeval sw = tv_ms(opt.sweep_ms);

            evtimer_add(sweep_ev, &sw);
        }
        if (opt.duration_s > 0)
            phase_at(opt.duration_s * 1000, PH_DONE);
        plan_cb(-1, 0, NULL);
    } else if (opt.players == 0) {
        /* publish only: run for -d seconds (0 = until a signal) */
        if (opt.duration_s > 0) {
            phase = PH_WINDOW;
            t_w0 = now_us();
            procs_sample(0);
            procs_sample(1);
            phase_at(opt.duration_s * 1000, PH_DONE);
        }
    } else {
        phase_at(pubs != NULL ? opt.preroll_s * 1000 : 0, PH_RAMP);
    }
    event_base_dispatch(base);

    if (plan_mode)
        plan_finish();
    else
        report();
    for (i = 0; i < launched; i++)
        if (players[i].st != ST_CLOSED)
            player_close(&players[i]);
    /* let publishers' closes run */
    for (i = 0; i < 20 && pubs != NULL; i++) {
        int k, open = 0;

        for (k = 0; k < opt.publishers; k++)
            open += pubs[k].cl != NULL;
        if (open == 0)
            break;
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    for (i = 0; pubs != NULL && i < opt.publishers; i++) {
        if (pubs[i].cl != NULL)
            ls_client_close(pubs[i].cl, "exit");
        event_free(pubs[i].timer);
        free(pubs[i].ring);
    }
    for (i = 0; player_names != NULL && i < nnames; i++)
        free(player_names[i]);
    free(player_names);
    free(pubs);
    for (i = 0; (size_t)i < ntags; i++)
        ls_frame_unref(tags[i]);
    free(tags);
    free(players);
    free(lat_us);
    free(others);
    event_free(ramp_ev);
    event_free(sweep_ev);
    event_free(house_ev);
    event_free(phase_ev);
    event_free(sig_int);
    event_free(sig_term);
    if (plan_ev != NULL)
        event_free(plan_ev);
    for (i = 0; i < nplan_targets; i++)
        free(plan_targets[i]);
    free(plan_targets);
    if (events != NULL)
        fclose(events);
    event_base_free(base);
    return exit_status;
}
