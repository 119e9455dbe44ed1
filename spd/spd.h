/*
 * spd.h — the origin role: what spd's files share.
 */
#ifndef SPD_SPD_H
#define SPD_SPD_H

#include <stddef.h>

struct event_base;
struct spd_origin;

/* Starts the origin with the config at `path` (already validated once by main). NULL with
 * a logged reason on failure. */
struct spd_origin *spd_origin_new(struct event_base *base, const char *path);
/* SIGHUP: reloads `path`; an invalid file is logged and the old config stays. */
int spd_origin_reload(struct spd_origin *o);
/* Graceful stop: stop accepting, unpublish and close everything. */
void spd_origin_stop(struct spd_origin *o);
void spd_origin_status(struct spd_origin *o, char *out, size_t cap);
void spd_origin_free(struct spd_origin *o);

#endif /* SPD_SPD_H */
