/*
 * streamid.c — stream ids, query strings, RTMP and HTTP-FLV URLs (see streamid.h).
 * Layer: naming, between the RTMP command layer and the hub. Rules: docs/interface.md
 * "Streams and URLs"; query decoding per RFC 3986 2.1 and the HTML form encoding ('+').
 *
 *   connect app   "live?token=x"      \
 *                                      > app "live", name "cam1", id "live/cam1",
 *   play name     "cam1?expires=9"    /  query "token=x&expires=9"
 *
 *   rtmp://host[:port]/APP[/NAME...]      HTTP-FLV:  /APP/NAME.flv[?query]
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libstream/hex.h"
#include "libstream/streamid.h"

enum part { APP, NAME };

static const char *const why_empty[] = { "empty app", "empty name" };
static const char *const why_long[] = { "app longer than 128 characters",
                                        "name longer than 128 characters" };
static const char *const why_dot[] = { "app starts with '.'", "name starts with '.'" };
static const char *const why_slash[] = { "app contains '/'", "name contains '/'" };
static const char *const why_char[] = { "app contains a character outside [A-Za-z0-9_.-]",
                                        "name contains a character outside [A-Za-z0-9_.-]" };

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Validates s[0..n) as one id part and copies it into dst (LS_STREAM_PART_MAX + 1). */
static int take_part(const char *s, size_t n, enum part which, char *dst, const char **why)
{
    size_t i;

    if (n == 0) {
        LS_WHY(why, why_empty[which]);
        return LS_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (!id_char(s[i])) {
            LS_WHY(why, s[i] == '/' ? why_slash[which] : why_char[which]);
            return LS_EINVAL;
        }
    }
    if (n > LS_STREAM_PART_MAX) {
        LS_WHY(why, why_long[which]);
        return LS_EINVAL;
    }
    if (s[0] == '.') {
        LS_WHY(why, why_dot[which]);
        return LS_EINVAL;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return LS_OK;
}

static void make_id(struct ls_stream_ref *out)
{
    size_t a = strlen(out->app), n = strlen(out->name);

    memcpy(out->id, out->app, a);
    out->id[a] = '/';
    memcpy(out->id + a + 1, out->name, n + 1);
}

/* Appends q[0..n) to out->query, '&'-separated. */
static int add_query(struct ls_stream_ref *out, const char *q, size_t n, const char **why)
{
    size_t have = strlen(out->query);
    size_t sep = have > 0 ? 1 : 0;

    if (n == 0)
        return LS_OK;
    if (have + sep + n > LS_STREAM_QUERY_MAX) {
        LS_WHY(why, "query longer than 1023 bytes");
        return LS_EINVAL;
    }
    if (sep)
        out->query[have] = '&';
    memcpy(out->query + have + sep, q, n);
    out->query[have + sep + n] = '\0';
    return LS_OK;
}

int ls_streamid_parse(const char *app_part, const char *name_part, struct ls_stream_ref *out,
                      const char **why)
{
    const char *aq, *nq;
    size_t alen, nlen;

    if (app_part == NULL || name_part == NULL) {
        LS_WHY(why, app_part == NULL ? why_empty[APP] : why_empty[NAME]);
        return LS_EINVAL;
    }
    out->query[0] = '\0';
    aq = strchr(app_part, '?');
    alen = aq != NULL ? (size_t)(aq - app_part) : strlen(app_part);
    if (alen > 0 && app_part[alen - 1] == '/')
        alen--; /* "rtmp://host/live/" encoders send "live/" */
    nq = strchr(name_part, '?');
    nlen = nq != NULL ? (size_t)(nq - name_part) : strlen(name_part);
    if (take_part(app_part, alen, APP, out->app, why) != LS_OK ||
        take_part(name_part, nlen, NAME, out->name, why) != LS_OK)
        return LS_EINVAL;
    if ((aq != NULL && add_query(out, aq + 1, strlen(aq + 1), why) != LS_OK) ||
        (nq != NULL && add_query(out, nq + 1, strlen(nq + 1), why) != LS_OK))
        return LS_EINVAL;
    make_id(out);
    return LS_OK;
}

int ls_streamid_parse_id(const char *id, struct ls_stream_ref *out, const char **why)
{
    const char *slash = id != NULL ? strchr(id, '/') : NULL;

    if (slash == NULL) {
        LS_WHY(why, "stream id must be APP/NAME");
        return LS_EINVAL;
    }
    if (take_part(id, (size_t)(slash - id), APP, out->app, why) != LS_OK ||
        take_part(slash + 1, strlen(slash + 1), NAME, out->name, why) != LS_OK)
        return LS_EINVAL;
    out->query[0] = '\0';
    make_id(out);
    return LS_OK;
}

/* ---- queries -------------------------------------------------------------------------- */

/*
 * Percent-decodes s[0..n) into out[outlen]. Returns LS_OK, LS_EINVAL (malformed escape or
 * %00), or LS_ELIMIT (does not fit; out is then "").
 */
static int decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '%') {
            if (n - i < 3 || ls_hex_value(s[i + 1]) < 0 || ls_hex_value(s[i + 2]) < 0)
                return LS_EINVAL;
            c = (char)(ls_hex_value(s[i + 1]) << 4 | ls_hex_value(s[i + 2]));
            if (c == '\0')
                return LS_EINVAL;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= outlen) {
            if (outlen > 0)
                out[0] = '\0';
            return LS_ELIMIT;
        }
        out[o++] = c;
    }
    if (outlen == 0)
        return LS_ELIMIT;
    out[o] = '\0';
    return LS_OK;
}

int ls_query_get(const char *query, const char *key, char *out, size_t outlen)
{
    const char *p = query;

    if (query == NULL || key == NULL)
        return LS_ENOTFOUND;
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        char kbuf[256];

        if (len > 0 && decode(p, klen, kbuf, sizeof kbuf) == LS_OK && strcmp(kbuf, key) == 0) {
            if (klen == len) {
                if (outlen == 0)
                    return LS_ELIMIT;
                out[0] = '\0';
                return LS_OK;
            }
            return decode(p + klen + 1, len - klen - 1, out, outlen);
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return LS_ENOTFOUND;
}

/* ---- URLs ----------------------------------------------------------------------------- */

int ls_rtmp_url_parse(const char *url, struct ls_rtmp_url *out)
{
    struct ls_addr addr;
    const char *p, *path, *slash;
    size_t len, alen, i;
    int n;

    if (url == NULL || strncasecmp(url, "rtmp://", 7) != 0)
        return LS_EINVAL;
    len = strlen(url);
    if (len > LS_RTMP_URL_MAX)
        return LS_EINVAL;
    for (i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return LS_EINVAL;
    p = url + 7;
    alen = strcspn(p, "/");
    if (p[alen] != '/' || ls_addr_parse_authority(p, alen, 1935, &addr, NULL) != LS_OK)
        return LS_EINVAL;
    path = p + alen + 1;
    slash = strchr(path, '/');
    len = slash != NULL ? (size_t)(slash - path) : strlen(path);
    if (len == 0)
        return LS_EINVAL;
    memcpy(out->host, addr.host, sizeof out->host);
    out->port = addr.port;
    memcpy(out->app, path, len);
    out->app[len] = '\0';
    snprintf(out->name, sizeof out->name, "%s", slash != NULL ? slash + 1 : "");
    n = snprintf(out->tc_url, sizeof out->tc_url, strchr(addr.host, ':') != NULL
                                                      ? "rtmp://[%s]:%u/%s"
                                                      : "rtmp://%s:%u/%s",
                 addr.host, (unsigned)addr.port, out->app);
    return n > 0 && (size_t)n < sizeof out->tc_url ? LS_OK : LS_EINVAL;
}

int ls_http_flv_path_parse(const char *path, struct ls_stream_ref *out)
{
    const char *q, *slash, *name;
    size_t plen, nlen;

    if (path == NULL || path[0] != '/')
        return LS_EINVAL;
    path++;
    q = strchr(path, '?');
    plen = q != NULL ? (size_t)(q - path) : strlen(path);
    slash = memchr(path, '/', plen);
    if (slash == NULL)
        return LS_EINVAL;
    name = slash + 1;
    nlen = plen - (size_t)(name - path);
    if (nlen < 4 || memcmp(name + nlen - 4, ".flv", 4) != 0)
        return LS_EINVAL;
    out->query[0] = '\0';
    if (take_part(path, (size_t)(slash - path), APP, out->app, NULL) != LS_OK ||
        take_part(name, nlen - 4, NAME, out->name, NULL) != LS_OK)
        return LS_EINVAL;
    if (q != NULL && add_query(out, q + 1, strlen(q + 1), NULL) != LS_OK)
        return LS_EINVAL;
    make_id(out);
    return LS_OK;
}
