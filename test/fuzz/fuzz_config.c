/*
 * fuzz_config — libconfig text through the schema loader (config.c): parse, integer
 * literal scan, every key type's validation (addresses, CIDR lists, URLs, groups, lists of
 * groups with their checks: spd's push and pull), error formatting, and freeing. Inputs with @include are skipped: they would read arbitrary
 * files, which is libconfig's business, not ours.
 *
 * libconfig 1.5 itself leaks its 64-byte string buffer on some syntax errors (a string,
 * a stray token, then another string: `s = "a"C"b";`). That is not ours to fix here, so
 * leaks allocated from inside libconfig are suppressed; any other leak still fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libstream/config.h"
#include "libstream/log.h"
#include "libstream/relayconf.h"

struct auth {
    char *secret;
    char *auth_url;
};

struct conf {
    char *node_id;
    int log_level;
    struct ls_addr listen, advertise;
    int64_t max_connections, any_int;
    bool gop_cache;
    struct ls_addr_list source_managers, upstream;
    struct ls_cidr_list allow;
    struct auth publish;
    struct ls_conf_list push, pull;
};

static const struct ls_conf_key auth_keys[] = {
    { .name = "secret", .type = LS_CONF_STRING, .offset = offsetof(struct auth, secret) },
    { .name = "auth_url", .type = LS_CONF_URL, .offset = offsetof(struct auth, auth_url),
      .def = "http://127.0.0.1/auth" },
    { .name = NULL },
};

static const struct ls_conf_key keys[] = {
    { .name = "node_id", .type = LS_CONF_STRING, .offset = offsetof(struct conf, node_id) },
    { .name = "log_level", .type = LS_CONF_LOG_LEVEL, .offset = offsetof(struct conf, log_level) },
    { .name = "listen", .type = LS_CONF_LISTEN_ADDR, .offset = offsetof(struct conf, listen),
      .def = "*:1935" },
    { .name = "advertise", .type = LS_CONF_PEER_ADDR, .offset = offsetof(struct conf, advertise) },
    { .name = "max_connections", .type = LS_CONF_INT,
      .offset = offsetof(struct conf, max_connections), .def_int = 10, .min = 1, .max = 1000 },
    { .name = "any_int", .type = LS_CONF_INT, .offset = offsetof(struct conf, any_int) },
    { .name = "gop_cache", .type = LS_CONF_BOOL, .offset = offsetof(struct conf, gop_cache) },
    { .name = "source_managers", .type = LS_CONF_ADDR_LIST,
      .offset = offsetof(struct conf, source_managers) },
    { .name = "upstream", .type = LS_CONF_ADDR_LIST, .offset = offsetof(struct conf, upstream),
      .flags = LS_CONF_PREFERENCE },
    { .name = "allow", .type = LS_CONF_CIDR_LIST, .offset = offsetof(struct conf, allow) },
    { .name = "publish", .type = LS_CONF_GROUP, .offset = offsetof(struct conf, publish),
      .children = auth_keys },
    { .name = "push", .type = LS_CONF_GROUP_LIST, .offset = offsetof(struct conf, push),
      .children = ls_relay_push_keys, .elem_size = sizeof(struct ls_relay_push_conf),
      .elem_check = ls_relay_push_check },
    { .name = "pull", .type = LS_CONF_GROUP_LIST, .offset = offsetof(struct conf, pull),
      .children = ls_relay_pull_keys, .elem_size = sizeof(struct ls_relay_pull_conf),
      .elem_check = ls_relay_pull_check },
    { .name = NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void) { return "leak:libconfig.so\n"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf c;
    char err[256];
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strstr(text, "@include") == NULL) {
        if (ls_config_load_string(text, "fuzz.conf", keys, &c, err, sizeof err) == LS_OK) {
            char out[LS_ADDR_STRLEN];

            size_t i, j;

            if (ls_addr_format(&c.listen, out, sizeof out) != LS_OK)
                abort(); /* LS_ADDR_STRLEN must always suffice */
            /* a preference list never names one address twice */
            for (i = 0; i < c.upstream.n; i++)
                for (j = 0; j < i; j++)
                    if (c.upstream.v[i].port == c.upstream.v[j].port &&
                        strcasecmp(c.upstream.v[i].host, c.upstream.v[j].host) == 0)
                        abort();
            ls_config_free(keys, &c);
        } else if (memchr(err, '\n', strnlen(err, sizeof err)) != NULL) {
            abort(); /* errors are one line */
        }
    }
    free(text);
    return 0;
}
