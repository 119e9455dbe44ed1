/*
 * epd.h — the edge role: what epd's files share.
 */
#ifndef EPD_EPD_H
#define EPD_EPD_H

#include <stddef.h>

struct event_base;
struct epd_edge;

struct epd_edge *epd_edge_new(struct event_base *base, const char *path);
int epd_edge_reload(struct epd_edge *e);
void epd_edge_stop(struct epd_edge *e);
void epd_edge_status(struct epd_edge *e, char *out, size_t cap);
void epd_edge_free(struct epd_edge *e);

#endif /* EPD_EPD_H */
