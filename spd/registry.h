/*
 * registry.h — spd's client of every smd in source_managers (docs/protocol.md).
 */
#ifndef SPD_REGISTRY_H
#define SPD_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/config.h"

struct event_base;
struct spd_registry;
struct spd_claim;
struct spd_lookup;

struct spd_registry_config {
    const char *node_id;
    const char *advertise;
    const char *secret;
    const struct ls_addr_list *smds;
    unsigned takeover_idle_ms;
};

struct spd_registry_hooks {
    /* smd probes a publisher's idleness: LS_OK + *idle_ms, or LS_ENOTFOUND (no publisher). */
    int (*publisher_idle)(void *arg, const char *id, uint64_t *idle_ms);
    /* Our registration of `id` was taken over elsewhere: drop the local publisher. */
    void (*revoked)(void *arg, const char *id);
    /* A watched id was registered (origin "host:port", node_id). */
    void (*registered)(void *arg, const char *id, const char *origin, const char *node_id);
    void *arg;
};

struct spd_registry *spd_registry_new(struct event_base *base, const struct spd_registry_config *cfg,
                                      const struct spd_registry_hooks *hooks);
void spd_registry_free(struct spd_registry *reg);
void spd_registry_reload(struct spd_registry *reg, const struct spd_registry_config *cfg);
bool spd_registry_enabled(const struct spd_registry *reg);
struct spd_claim *spd_registry_claim(struct spd_registry *reg, const char *id, int64_t since,
                                     void (*cb)(void *arg, int result, const char *why), void *arg);
void spd_registry_claim_cancel(struct spd_claim *c);
void spd_registry_release(struct spd_registry *reg, const char *id);
struct spd_lookup *spd_registry_lookup(struct spd_registry *reg, const char *id,
    void (*cb)(void *arg, int result, const char *origin, const char *node_id), void *arg);
void spd_registry_lookup_cancel(struct spd_lookup *l);
void spd_registry_watch(struct spd_registry *reg, const char *id);
void spd_registry_unwatch(struct spd_registry *reg, const char *id);

#endif /* SPD_REGISTRY_H */
