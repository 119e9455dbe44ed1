/*
 * relayconf.c — the `push` and `pull` lists of spd's configuration (see relayconf.h).
 * Layer: daemon plumbing (configuration), on top of streamid.c's URL and id grammar.
 *
 * A configured URL is split once, the same way for `-t` and for the relays themselves, so
 * a file that passes `-t` never fails later for its form:
 *
 *   push  url "rtmp://h:1935/app?k=v", stream NAME, args "a=b"
 *         → connect app "app?k=v", tcUrl "rtmp://h:1935/app?k=v", publish "NAME?a=b"
 *         → shown as "rtmp://h:1935/app/NAME"
 *   pull  url "rtmp://h/app/name?token=t"
 *         → connect app "app", tcUrl "rtmp://h:1935/app", play "name?token=t"
 *         → shown as "rtmp://h/app/name"
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libstream/relayconf.h"

#define PUSH_OFF(f) offsetof(struct ls_relay_push_conf, f)
#define PULL_OFF(f) offsetof(struct ls_relay_pull_conf, f)

const struct ls_conf_key ls_relay_push_keys[] = {
    { .name = "app", .type = LS_CONF_STRING, .offset = PUSH_OFF(app), .flags = LS_CONF_REQUIRED,
      .help = "local app whose published streams are pushed" },
    { .name = "url", .type = LS_CONF_STRING, .offset = PUSH_OFF(url), .flags = LS_CONF_REQUIRED,
      .help = "rtmp://host[:port]/app: each stream NAME is published to URL/NAME" },
    { .name = "args", .type = LS_CONF_STRING, .offset = PUSH_OFF(args),
      .help = "query appended to the pushed name (NAME?ARGS); empty = none" },
    { .name = NULL },
};

const struct ls_conf_key ls_relay_pull_keys[] = {
    { .name = "id", .type = LS_CONF_STRING, .offset = PULL_OFF(id), .flags = LS_CONF_REQUIRED,
      .help = "local stream id APP/NAME the source is kept live as" },
    { .name = "url", .type = LS_CONF_STRING, .offset = PULL_OFF(url), .flags = LS_CONF_REQUIRED,
      .help = "rtmp://host[:port]/app/name of the external source" },
    { .name = NULL },
};

/* Appends `s` to out[cap] at *len; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n >= cap - *len)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return true;
}

static bool put_s(char *out, size_t cap, size_t *len, const char *s)
{
    return put(out, cap, len, s, strlen(s));
}

static int target_fail(const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
    return LS_EINVAL;
}

int ls_relay_target_make(const char *url, const char *name, const char *args,
                         struct ls_relay_target *out, const char **why)
{
    struct ls_rtmp_url u;
    char full[LS_RTMP_URL_MAX + 1];
    const char *query = "";
    size_t base_len, len = 0;
    int n;

    if (url == NULL || url[0] == '\0')
        return target_fail(why, "empty URL");
    if (strncasecmp(url, "rtmps://", 8) == 0)
        return target_fail(why, "rtmps:// is not supported (plain rtmp:// only)");
    if (strncasecmp(url, "rtmp://", 7) != 0)
        return target_fail(why, "must start with rtmp://");
    if (name != NULL) {
        const char *q = strchr(url, '?');

        base_len = q != NULL ? (size_t)(q - url) : strlen(url);
        query = q != NULL ? q : "";
        if (base_len > 7 && url[base_len - 1] == '/')
            base_len--; /* "rtmp://h/app/" + NAME: one slash between */
        if (memchr(url + 7, '/', base_len - 7) == NULL)
            return target_fail(why, "missing app"); /* NAME must not become the app */
        if (!put(full, sizeof full, &len, url, base_len) || !put_s(full, sizeof full, &len, "/") ||
            !put_s(full, sizeof full, &len, name))
            return target_fail(why, "URL too long");
    } else {
        if (!put_s(full, sizeof full, &len, url))
            return target_fail(why, "URL too long");
    }
    if (ls_rtmp_url_parse(full, &u) != LS_OK)
        return target_fail(why, "not rtmp://host[:port]/app (a host or port that does not "
                                "parse, user information, spaces or control characters)");
    if (strchr(u.app, '?') == u.app)
        return target_fail(why, "missing app");
    if (name == NULL && (u.name[0] == '\0' || u.name[0] == '?'))
        return target_fail(why, "missing the stream name (rtmp://host[:port]/app/name)");
    if (args != NULL && strlen(args) > LS_RELAY_ARGS_MAX)
        return target_fail(why, "args too long");
    n = snprintf(out->hostport, sizeof out->hostport,
                 strchr(u.host, ':') != NULL ? "[%s]:%u" : "%s:%u", u.host, (unsigned)u.port);
    if (n < 0 || (size_t)n >= sizeof out->hostport)
        return target_fail(why, "host too long");
    len = 0;
    out->app[0] = '\0';
    if (!put_s(out->app, sizeof out->app, &len, u.app) ||
        !put_s(out->app, sizeof out->app, &len, query))
        return target_fail(why, "URL too long");
    len = 0;
    out->tc_url[0] = '\0';
    if (!put_s(out->tc_url, sizeof out->tc_url, &len, u.tc_url) ||
        !put_s(out->tc_url, sizeof out->tc_url, &len, query))
        return target_fail(why, "URL too long");
    len = 0;
    out->name[0] = '\0';
    if (!put_s(out->name, sizeof out->name, &len, u.name) ||
        (args != NULL && args[0] != '\0' &&
         (!put_s(out->name, sizeof out->name, &len, "?") ||
          !put_s(out->name, sizeof out->name, &len, args))))
        return target_fail(why, "URL too long");
    len = 0;
    out->shown[0] = '\0';
    if (!put(out->shown, sizeof out->shown, &len, full, strcspn(full, "?")))
        return target_fail(why, "URL too long");
    return LS_OK;
}

/* args: what may follow '?' in a name — printable ASCII, no spaces, no '#' or '?'. */
static const char *args_problem(const char *args)
{
    size_t i;

    if (strlen(args) > LS_RELAY_ARGS_MAX)
        return "args longer than 1023 bytes";
    for (i = 0; args[i] != '\0'; i++) {
        unsigned char c = (unsigned char)args[i];

        if (c <= 0x20 || c >= 0x7f || c == '#' || c == '?')
            return "args may hold printable ASCII only, without spaces, '?' or '#' "
                   "(percent-encode the rest)";
    }
    return NULL;
}

int ls_relay_push_check(const void *elems, size_t i, const char **key, char *why, size_t whylen)
{
    const struct ls_relay_push_conf *v = elems, *e = &v[i];
    struct ls_relay_target t;
    struct ls_stream_ref ref;
    char id[LS_STREAM_PART_MAX + 8], q[300];
    const char *reason = NULL;
    size_t j;

    snprintf(id, sizeof id, "%.*s/x", LS_STREAM_PART_MAX + 1, e->app);
    if (ls_streamid_parse_id(id, &ref, &reason) != LS_OK || strlen(e->app) > LS_STREAM_PART_MAX) {
        *key = "app";
        snprintf(why, whylen, "invalid app \"%s\": 1-128 characters of [A-Za-z0-9_.-], "
                 "not starting with '.'", ls_config_quote(e->app, q, sizeof q));
        return LS_ECONF;
    }
    if ((reason = args_problem(e->args)) != NULL) {
        *key = "args";
        snprintf(why, whylen, "%s", reason);
        return LS_ECONF;
    }
    if (ls_relay_target_make(e->url, "NAME", e->args, &t, &reason) != LS_OK) {
        *key = "url";
        snprintf(why, whylen, "bad URL \"%s\": %s", ls_config_quote(e->url, q, sizeof q),
                 reason);
        return LS_ECONF;
    }
    for (j = 0; j < i; j++) {
        if (strcmp(v[j].app, e->app) == 0 && strcmp(v[j].url, e->url) == 0 &&
            strcmp(v[j].args, e->args) == 0) {
            *key = "url";
            snprintf(why, whylen, "duplicate of push[%zu] (same app, url and args)", j);
            return LS_ECONF;
        }
    }
    return LS_OK;
}

int ls_relay_pull_check(const void *elems, size_t i, const char **key, char *why, size_t whylen)
{
    const struct ls_relay_pull_conf *v = elems, *e = &v[i];
    struct ls_relay_target t;
    struct ls_stream_ref ref;
    const char *reason = NULL;
    char q[300];
    size_t j;

    if (ls_streamid_parse_id(e->id, &ref, &reason) != LS_OK) {
        *key = "id";
        snprintf(why, whylen, "invalid stream id \"%s\": %s", ls_config_quote(e->id, q, sizeof q),
                 reason);
        return LS_ECONF;
    }
    if (ls_relay_target_make(e->url, NULL, NULL, &t, &reason) != LS_OK) {
        *key = "url";
        snprintf(why, whylen, "bad URL \"%s\": %s", ls_config_quote(e->url, q, sizeof q),
                 reason);
        return LS_ECONF;
    }
    for (j = 0; j < i; j++) {
        if (strcmp(v[j].id, e->id) == 0) {
            *key = "id";
            snprintf(why, whylen, "duplicate id \"%s\" (also pull[%zu])", e->id, j);
            return LS_ECONF;
        }
    }
    return LS_OK;
}
