/*
 * smdconf.h — the configuration of an in-process smd registry, for the daemons' unit tests
 * that run one (test/unit/smd/, and spd's tests against a real registry). Header only: it
 * needs smd's own header (those tests are built with -Ismd), which test/support's objects
 * are not.
 */
#ifndef LC_TEST_SMDCONF_H
#define LC_TEST_SMDCONF_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smd.h"

#define SMDCONF_TEST_NODE "smd-test"

/* A registry on 127.0.0.1:`port` with no cluster secret and roomy bounds; a test sets what
 * it is about afterwards. Keys left 0 take their defaults in the registry. */
static inline void smdconf_for_test(struct smd_conf *c, uint16_t port, int log_level)
{
    static char node[] = SMDCONF_TEST_NODE;
    static char no_secret[] = "";

    memset(c, 0, sizeof *c);
    c->node_id = node;
    c->log_level = log_level;
    snprintf(c->listen.host, sizeof c->listen.host, "127.0.0.1");
    c->listen.port = port;
    c->cluster_secret = no_secret;
    c->max_connections = 1000;
    c->lease_seconds = 10;
    c->hello_timeout = 5;
    c->max_streams_per_node = 100000;
    c->max_watches_per_node = 100000;
    c->probe_timeout_ms = 2000;
}

#endif /* LC_TEST_SMDCONF_H */
