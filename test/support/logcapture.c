/* logcapture.c — a test's log lines in one buffer (see logcapture.h). */
#include <stddef.h>
#include <string.h>

#include "libstream/log.h"
#include "support/logcapture.h"

static char logbuf[1 << 17];
static size_t loglen;

static void capture_line(int level, const char *line, void *arg)
{
    size_t n = strlen(line);

    (void)level;
    (void)arg;
    if (loglen + n + 2 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = '\0';
    }
}

void logcapture_clear(void)
{
    loglen = 0;
    logbuf[0] = '\0';
}

void logcapture_start(void)
{
    logcapture_clear();
    ls_log_set_sink(capture_line, NULL);
}

void logcapture_stop(void)
{
    ls_log_set_sink(NULL, NULL);
}

const char *logcapture_text(void)
{
    return logbuf;
}

bool logcapture_has(const char *s)
{
    return strstr(logbuf, s) != NULL;
}

int logcapture_count(const char *s)
{
    const char *p = logbuf;
    int n = 0;

    while ((p = strstr(p, s)) != NULL) {
        n++;
        p += strlen(s);
    }
    return n;
}
