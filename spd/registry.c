/*
 * registry.c — PLACEHOLDER until the smd client lands: every spd behaves as a standalone
 * origin (spd_registry_enabled is false, so origin.c never claims, looks up or watches).
 */
#include <stdlib.h>

#include "libstream/err.h"
#include "registry.h"

struct spd_registry {
    int unused;
};

struct spd_registry *spd_registry_new(struct event_base *base, const struct spd_registry_config *cfg,
                                      const struct spd_registry_hooks *hooks)
{
    (void)base;
    (void)cfg;
    (void)hooks;
    return calloc(1, sizeof(struct spd_registry));
}

void spd_registry_free(struct spd_registry *reg) { free(reg); }
void spd_registry_reload(struct spd_registry *reg, const struct spd_registry_config *cfg)
{
    (void)reg;
    (void)cfg;
}
bool spd_registry_enabled(const struct spd_registry *reg) { (void)reg; return false; }
struct spd_claim *spd_registry_claim(struct spd_registry *reg, const char *id, int64_t since,
                                     void (*cb)(void *arg, int result, const char *why), void *arg)
{
    (void)reg; (void)id; (void)since; (void)cb; (void)arg;
    return NULL;
}
void spd_registry_claim_cancel(struct spd_claim *c) { (void)c; }
void spd_registry_release(struct spd_registry *reg, const char *id) { (void)reg; (void)id; }
struct spd_lookup *spd_registry_lookup(struct spd_registry *reg, const char *id,
    void (*cb)(void *arg, int result, const char *origin, const char *node_id), void *arg)
{
    (void)reg; (void)id; (void)cb; (void)arg;
    return NULL;
}
void spd_registry_lookup_cancel(struct spd_lookup *l) { (void)l; }
void spd_registry_watch(struct spd_registry *reg, const char *id) { (void)reg; (void)id; }
void spd_registry_unwatch(struct spd_registry *reg, const char *id) { (void)reg; (void)id; }
