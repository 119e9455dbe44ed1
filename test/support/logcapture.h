/*
 * logcapture.h — a test's log lines, kept in one fixed buffer (through ls_log_set_sink) so
 * the test can check what the code said: a refusal, a reason, a line logged only once.
 * Lines past the buffer's end are dropped, never written beyond it.
 */
#ifndef LC_TEST_LOGCAPTURE_H
#define LC_TEST_LOGCAPTURE_H

#include <stdbool.h>

/* Empties the buffer and sends every log line to it (ls_log_set_level still filters). */
void logcapture_start(void);
/* Sends log lines back to stderr (the buffer keeps what it has). */
void logcapture_stop(void);
/* Forgets what was captured so far; capturing goes on. */
void logcapture_clear(void);
/* Every captured line, each ended by '\n'. */
const char *logcapture_text(void);
/* Whether some captured line contains `s`. */
bool logcapture_has(const char *s);
/* How many times `s` occurs in the captured lines. */
int logcapture_count(const char *s);

#endif /* LC_TEST_LOGCAPTURE_H */
