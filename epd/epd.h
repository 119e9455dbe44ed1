/*
 * epd.h — the edge role: what epd's files share.
 */
#ifndef EPD_EPD_H
#define EPD_EPD_H

#include <stddef.h>

#include "libstream/buf.h"
#include "libstream/medianode.h"
#include "libstream/reporter.h"

struct event_base;
struct epd_edge;
struct epd_report;

struct epd_edge *epd_edge_new(struct event_base *base, const char *path);
int epd_edge_reload(struct epd_edge *e);
void epd_edge_stop(struct epd_edge *e);
void epd_edge_status(struct epd_edge *e, char *out, size_t cap);
void epd_edge_free(struct epd_edge *e);

/* ---- the cluster view (report.c) ---- */

/* Starts a reporting link to every smd of node->conf.source_managers (none: does nothing
 * but exist). `node` is borrowed; `hooks` copied. NULL on allocation failure. */
struct epd_report *epd_report_new(struct event_base *base, struct ls_media_node *node,
                                  const struct ls_reporter_hooks *hooks);
/* The node's config was reloaded: follows source_managers, node_id, advertise, secret. */
void epd_report_reload(struct epd_report *r);
/* Closes every link (the smds drop this edge's viewers at once) and frees. NULL ignored. */
void epd_report_free(struct epd_report *r);
size_t epd_report_up_count(const struct epd_report *r);
/* livecluster_registry_* of the edge's links, for /metrics (ls_http_set_metrics). */
void epd_report_metrics(struct ls_buf *out, void *r);

#endif /* EPD_EPD_H */
