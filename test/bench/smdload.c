/*
 * smdload — load for smd's cluster view (docs/performance.md "smd: the cluster view"):
 * opens N fake node sessions to one smd and makes each report S streams, with a share of
 * them changing their viewer counts every report, as edges carrying the same channels
 * would. It measures the smd process given with -p from /proc: CPU time and resident
 * memory over a window after a warm-up.
 *
 *   smdload [-n NODES] [-s STREAMS] [-f CHANGED] [-t SECONDS] [-w WARMUP] [-p SMD_PID]
 *           [-k KEEP] [-S SECRET] HOST:PORT
 *
 *   -n 50       nodes (each its own session, node_id load-N, role epd)
 *   -s 2000     streams per node: ids live/s0 ... (the same ids on every node)
 *   -f 0.1      share of a node's streams whose viewers change in each report (0..1)
 *   -t 30 -w 5  measurement window and warm-up, seconds
 *   -k 0        then stop changing, and stay connected KEEP seconds more (reporting
 *               nothing new) so the caller can compare smd's sums with "viewers-final"
 *
 * Each node reports every report_ms (what smd's hello answer says), at a random offset in
 * the interval so the nodes do not all report in the same millisecond; the first report
 * is full, later ones carry the changed streams. Prints, for the window: smd CPU (% of
 * one core and ms per report), reports and stream lines per second, smd RSS, and the sum
 * of viewers the nodes hold (what smd's livecluster_cluster_viewers should say).
 * Exit 0 when every node stayed connected through the window, 1 otherwise, 2 for usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/nodereport.h"
#include "libstream/rtmp.h"
#include "libstream/smdlink.h"
#include "libstream/smdproto.h"
#include "libstream/smdreport.h"

struct node {
    int index;
    struct ls_conn *conn;
    char node_id[32];
    bool up;
    bool closed;
    uint64_t report_ms;
    struct event *timer;
    bool full_sent;
    uint32_t *viewers;
    uint64_t *bytes;
    struct ls_node_report nr;
};

static struct event_base *base;
static struct node *nodes;
static int nnodes = 50, nstreams = 2000;
static double changed = 0.1;
static int duration_s = 30, warmup_s = 5;
static long smd_pid;
static const char *secret = "";
static int keep_s;
static uint64_t sent_reports, sent_lines, sent_bytes, closed_nodes;

static int node_send(struct node *n, struct ls_buf *msg)
{
    int rc = ls_conn_send(n->conn, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, msg->data,
                          msg->len);

    if (rc != LS_OK)
        fprintf(stderr, "smdload: %s: cannot queue a report\n", n->node_id);
    sent_bytes += msg->len;
    return rc;
}

/* One report: the node line, then the streams (all of them the first time). */
static void node_report(struct node *n)
{
    struct ls_buf body, msg;
    int i, nchanged;
    bool first = true;

    ls_buf_init(&body, 0);
    ls_buf_init(&msg, 0);
    n->nr.counters[LS_NODE_PLAY_REQUESTS] += 3;
    n->nr.counters[LS_NODE_PLAY_START + 2] += 3;
    n->nr.counters[LS_NODE_PLAY_START_COUNT] += 3;
    n->nr.counters[LS_NODE_PLAY_START_SUM_MS] += 240;
    n->nr.connections = 1000;
    ls_node_report_write(&body, &n->nr);
    nchanged = n->full_sent ? (int)(changed * nstreams + 0.5) : nstreams;
    for (i = 0; i < nchanged; i++) {
        int s = n->full_sent ? rand() % nstreams : i;
        char id[32];

        if (n->full_sent) {
            int d = rand() % 5 - 2;

            n->viewers[s] = (uint32_t)((int)n->viewers[s] + d < 0 ? 0 : (int)n->viewers[s] + d);
            n->bytes[s] += 125000;
        }
        snprintf(id, sizeof id, "live/s%d", s);
        if (body.len + 64 > LS_SMD_REPORT_BODY_MAX) {
            ls_buf_reset(&msg);
            if (ls_smd_report_encode(&msg, first && !n->full_sent, true, (const char *)body.data,
                                     body.len) == LS_OK)
                node_send(n, &msg);
            sent_reports++;
            first = false;
            ls_buf_reset(&body);
        }
        ls_smd_report_put_stream(&body, id, n->viewers[s], n->bytes[s]);
        sent_lines++;
    }
    ls_buf_reset(&msg);
    if (ls_smd_report_encode(&msg, first && !n->full_sent, false, (const char *)body.data,
                             body.len) == LS_OK)
        node_send(n, &msg);
    sent_reports++;
    n->full_sent = true;
    ls_conn_flush(n->conn);
    ls_buf_free(&body);
    ls_buf_free(&msg);
}

static void node_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;
    struct timeval tv;

    (void)fd;
    (void)what;
    if (n->conn == NULL || !n->up)
        return;
    node_report(n);
    tv.tv_sec = (time_t)(n->report_ms / 1000);
    tv.tv_usec = (suseconds_t)(n->report_ms % 1000) * 1000;
    evtimer_add(n->timer, &tv);
}

static void node_on_ready(struct ls_conn *c, void *owner)
{
    struct ls_buf b;

    (void)owner;
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK)
        fprintf(stderr, "smdload: cannot queue the chunk size\n");
    ls_buf_free(&b);
}

static void node_on_message(struct ls_conn *c, void *owner, struct ls_frame *f)
{
    struct node *n = owner;
    struct ls_smd_msg m;

    if (f->type == LS_MSG_USER_CONTROL || ls_smd_decode_frame(f, &m, NULL) != LS_OK)
        return;
    if (m.kind == LS_SMD_CHALLENGE) {
        struct ls_smd_msg h;
        uint64_t ts = (uint64_t)ls_unix_time();

        ls_smd_msg_init(&h, LS_SMD_HELLO, 1);
        ls_smd_set_str(&h, LS_SMD_F_NODE_ID, n->node_id);
        ls_smd_set_str(&h, LS_SMD_F_ORIGIN, "127.0.0.1:1935");
        ls_smd_set_num(&h, LS_SMD_F_TS, ts);
        ls_smd_set_str(&h, LS_SMD_F_VERSION, LS_SMD_VERSION);
        ls_smd_set_str(&h, LS_SMD_F_NONCE, m.nonce);
        ls_smd_set_str(&h, LS_SMD_F_ROLE, "epd");
        if (ls_smd_hello_sign(secret, n->node_id, "127.0.0.1:1935", ts, m.nonce, m.node_id,
                              h.sig) == LS_OK)
            h.fields |= LS_SMD_F_SIG;
        if (ls_smdlink_send(c, &h) != LS_OK)
            fprintf(stderr, "smdload: %s: cannot queue hello\n", n->node_id);
        ls_conn_flush(c);
    } else if (m.kind == LS_SMD_RESULT && m.txid == 1 && !n->up) {
        struct timeval tv;
        uint64_t first;

        n->up = true;
        n->report_ms = (m.fields & LS_SMD_F_REPORT_MS) ? m.report_ms : 1000;
        first = (uint64_t)rand() % n->report_ms;
        tv.tv_sec = (time_t)(first / 1000);
        tv.tv_usec = (suseconds_t)(first % 1000) * 1000;
        evtimer_add(n->timer, &tv);
    } else if (m.kind == LS_SMD_RESYNC) {
        n->full_sent = false;
    } else if (m.kind == LS_SMD_ERROR) {
        fprintf(stderr, "smdload: %s: smd refused: %s\n", n->node_id, m.code);
    }
}

static void node_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct node *n = owner;

    (void)c;
    (void)err;
    n->conn = NULL;
    n->closed = true;
    closed_nodes++;
    fprintf(stderr, "smdload: %s closed: %s\n", n->node_id, why != NULL ? why : "");
}

static const struct ls_conn_ops node_ops = {
    .on_ready = node_on_ready,
    .on_message = node_on_message,
    .on_close = node_on_close,
};

/* utime + stime of a process, in clock ticks; -1 when it cannot be read. */
static long long proc_cpu_ticks(long pid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    unsigned long utime, stime;
    size_t n;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command may hold spaces */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime) != 2)
        return -1;
    return (long long)utime + (long long)stime;
}

static long proc_rss_kb(long pid)
{
    char path[64], line[256];
    FILE *f;
    long kb = -1;

    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(base);
}

static void run_for(int seconds)
{
    struct timeval tv = { seconds, 0 };
    struct event *ev = evtimer_new(base, stop_cb, NULL);

    evtimer_add(ev, &tv);
    event_base_dispatch(base);
    event_free(ev);
}

static uint64_t viewers_held(void)
{
    uint64_t v = 0;
    int i, s;

    for (i = 0; i < nnodes; i++)
        for (s = 0; s < nstreams; s++)
            v += nodes[i].viewers[s];
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: smdload [-n NODES] [-s STREAMS] [-f CHANGED] [-t SECONDS] "
                    "[-w WARMUP] [-p SMD_PID] [-k KEEP] [-S SECRET] HOST:PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct ls_conn_config cfg;
    struct sockaddr_storage ss;
    socklen_t sslen;
    long long t0, t1;
    uint64_t w0, w1, r0, l0, b0;
    double secs, cpu_s;
    int opt, i, s, up = 0;

    while ((opt = getopt(argc, argv, "n:s:f:t:w:p:k:S:")) != -1) {
        switch (opt) {
        case 'n': nnodes = atoi(optarg); break;
        case 's': nstreams = atoi(optarg); break;
        case 'f': changed = atof(optarg); break;
        case 't': duration_s = atoi(optarg); break;
        case 'w': warmup_s = atoi(optarg); break;
        case 'p': smd_pid = atol(optarg); break;
        case 'k': keep_s = atoi(optarg); break;
        case 'S': secret = optarg; break;
        default: usage();
        }
    }
    if (optind + 1 != argc || nnodes < 1 || nstreams < 1 || changed < 0 || changed > 1)
        usage();
    ls_log_set_level(LS_LOG_WARNING);
    srand(42);
    base = event_base_new();
    if (base == NULL || ls_net_resolve(argv[optind], false, &ss, &sslen) != LS_OK) {
        fprintf(stderr, "smdload: cannot resolve %s\n", argv[optind]);
        return 2;
    }
    ls_smdlink_conn_config(&cfg);
    nodes = calloc((size_t)nnodes, sizeof *nodes);
    for (i = 0; i < nnodes; i++) {
        struct node *n = &nodes[i];
        int fd = ls_net_connect((struct sockaddr *)&ss, sslen);

        n->index = i;
        snprintf(n->node_id, sizeof n->node_id, "load-%d", i);
        n->viewers = calloc((size_t)nstreams, sizeof *n->viewers);
        n->bytes = calloc((size_t)nstreams, sizeof *n->bytes);
        n->timer = evtimer_new(base, node_timer_cb, n);
        for (s = 0; s < nstreams; s++)
            n->viewers[s] = (uint32_t)(rand() % 20);
        if (fd == -1 || (n->conn = ls_conn_new(base, fd, LS_HS_CLIENT, &cfg, &node_ops, n)) == NULL ||
            ls_conn_start(n->conn) != LS_OK) {
            fprintf(stderr, "smdload: cannot connect node %d\n", i);
            return 1;
        }
    }
    run_for(warmup_s);
    for (i = 0; i < nnodes; i++)
        up += nodes[i].up;
    t0 = smd_pid > 0 ? proc_cpu_ticks(smd_pid) : -1;
    w0 = ls_now_ms();
    r0 = sent_reports;
    l0 = sent_lines;
    b0 = sent_bytes;
    run_for(duration_s);
    t1 = smd_pid > 0 ? proc_cpu_ticks(smd_pid) : -1;
    w1 = ls_now_ms();
    secs = (double)(w1 - w0) / 1000.0;
    printf("nodes %d (up after warm-up %d), streams per node %d, changed per report %.0f%%\n",
           nnodes, up, nstreams, changed * 100);
    printf("window %.1f s: %.0f report messages/s, %.0f stream lines/s, %.0f KiB/s to smd\n",
           secs, (double)(sent_reports - r0) / secs, (double)(sent_lines - l0) / secs,
           (double)(sent_bytes - b0) / 1024.0 / secs);
    if (t0 >= 0 && t1 >= 0) {
        cpu_s = (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK);
        printf("smd cpu %.2f s in %.1f s = %.1f%% of one core; %.3f ms per report message; "
               "rss %ld KiB\n", cpu_s, secs, 100.0 * cpu_s / secs,
               sent_reports > r0 ? 1000.0 * cpu_s / (double)(sent_reports - r0) : 0.0,
               proc_rss_kb(smd_pid));
    }
    fflush(stdout);
    if (keep_s > 0) {
        /* nothing changes from now on; the reports that are out land within a second */
        changed = 0;
        run_for(2);
        printf("viewers-final %llu\n", (unsigned long long)viewers_held());
        fflush(stdout);
        run_for(keep_s);
    }
    return closed_nodes == 0 && up == nnodes ? 0 : 1;
}
