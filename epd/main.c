/*
 * epd — the livecluster edge. Viewers play here (RTMP, HTTP-FLV); each stream is pulled
 * once from the first of the edge's upstream spds that is up (failing over to the next).
 * The role lives in edge.c and upstream.c; ls_daemon_main runs the command line and
 * lifecycle.
 */
#include "libstream/daemon.h"
#include "libstream/mediaconf.h"
#include "epd.h"

static void *epd_start(struct event_base *base, const char *path)
{
    return epd_edge_new(base, path);
}

static int epd_reload(void *e) { return epd_edge_reload(e); }
static void epd_stop(void *e) { epd_edge_stop(e); }
static void epd_status(char *out, size_t cap, void *e) { epd_edge_status(e, out, cap); }
static void epd_free(void *e) { epd_edge_free(e); }

static const struct ls_role epd_role = {
    .name = "epd",
    .schema = ls_epd_schema,
    .conf_size = sizeof(struct ls_media_conf),
    .start = epd_start,
    .ops = { .reload = epd_reload, .stop = epd_stop, .status = epd_status },
    .free = epd_free,
};

int main(int argc, char **argv)
{
    return ls_daemon_main(argc, argv, &epd_role);
}
