/*
 * origin.c — spd's role on top of the media node (medianode.h): a hub that takes
 * publishers. In a cluster (source_managers set) publishers are registered with smd before
 * they are answered, and plays of streams owned by another origin are pulled from it
 * (cluster.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "libstream/log.h"
#include "libstream/medianode.h"
#include "spd.h"

struct spd_origin {
    struct ls_media_node *node;
};

struct spd_origin *spd_origin_new(struct event_base *base, const char *path)
{
    struct spd_origin *o = calloc(1, sizeof *o);

    if (o == NULL)
        return NULL;
    o->node = ls_media_node_new(base, path, "spd", ls_spd_schema, true);
    if (o->node == NULL) {
        free(o);
        return NULL;
    }
    if (o->node->conf.source_managers.n == 0)
        ls_log(LS_LOG_NOTICE, "no source_managers: running as a standalone origin");
    return o;
}

int spd_origin_reload(struct spd_origin *o)
{
    return ls_media_node_reload(o->node);
}

void spd_origin_stop(struct spd_origin *o)
{
    ls_media_node_stop(o->node);
}

void spd_origin_status(struct spd_origin *o, char *out, size_t cap)
{
    ls_media_node_status(o->node, out, cap);
}

void spd_origin_free(struct spd_origin *o)
{
    if (o == NULL)
        return;
    ls_media_node_free(o->node);
    free(o);
}
