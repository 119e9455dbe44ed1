/*
 * spd — the livecluster origin. Broadcasters publish here; viewers and edges play from
 * here; in a cluster it registers its streams with smd and pulls other origins' streams.
 * The role lives in origin.c; ls_daemon_main runs the command line and lifecycle.
 */
#include "libstream/daemon.h"
#include "libstream/mediaconf.h"
#include "spd.h"

static void *spd_start(struct event_base *base, const char *path)
{
    return spd_origin_new(base, path);
}

static int spd_reload(void *o) { return spd_origin_reload(o); }
static void spd_stop(void *o) { spd_origin_stop(o); }
static void spd_status(char *out, size_t cap, void *o) { spd_origin_status(o, out, cap); }
static void spd_free(void *o) { spd_origin_free(o); }

static const struct ls_role spd_role = {
    .name = "spd",
    .schema = ls_spd_schema,
    .conf_size = sizeof(struct ls_media_conf),
    .start = spd_start,
    .ops = { .reload = spd_reload, .stop = spd_stop, .status = spd_status },
    .free = spd_free,
};

int main(int argc, char **argv)
{
    return ls_daemon_main(argc, argv, &spd_role);
}
