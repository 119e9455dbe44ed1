/*
 * prom.h — Prometheus text exposition format (version 0.0.4) writer over struct ls_buf,
 * for GET /metrics (docs/interface.md "HTTP API"; names prefixed "livecluster_").
 *
 *   # HELP livecluster_play_failures_total Play requests refused, by reason.
 *   # TYPE livecluster_play_failures_total counter
 *   livecluster_play_failures_total{reason="auth"} 3
 *   livecluster_play_failures_total{reason="not_found"} 0
 *
 * Callers write one header per metric family, then its samples. Label values and HELP
 * text are escaped as the format requires (label values: \ " and newline; HELP: \ and
 * newline); bytes that are not valid UTF-8 become U+FFFD so one odd value cannot break a
 * whole scrape. Metric and label names are program constants: they are checked with
 * assert() (debug builds abort on an invalid name); with NDEBUG a line with an invalid
 * name is skipped rather than written. Append errors are the buffer's sticky error.
 */
#ifndef LIBSTREAM_PROM_H
#define LIBSTREAM_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/buf.h"

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool ls_prom_name_valid(const char *name);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus) */
bool ls_prom_label_name_valid(const char *name);

/*
 * "# HELP name help\n# TYPE name type\n". `type` is "counter", "gauge", "histogram" or
 * "untyped" (a histogram's samples are name_bucket{le=...}, name_sum and name_count);
 * `help` may be NULL (no HELP line). All strings borrowed for the call.
 */
void ls_prom_header(struct ls_buf *b, const char *name, const char *type, const char *help);

/*
 * One sample line "name{k="v",...} value\n". `labels` is NULL or a NULL-terminated array
 * of alternating names and values: { "reason", "auth", NULL }. Doubles are written in the
 * shortest form that reads back equal; NaN, +Inf and -Inf as the format spells them.
 */
void ls_prom_sample(struct ls_buf *b, const char *name, const char *const *labels, double value);
void ls_prom_sample_u64(struct ls_buf *b, const char *name, const char *const *labels,
                        uint64_t value);

/* A whole single-sample family: header, then "name value". */
void ls_prom_metric(struct ls_buf *b, const char *name, const char *type, const char *help,
                    uint64_t value);
/*
 * A counter family with one sample per value of one label: label=names[i] → values[i],
 * every one written (zeros included) so rate() works from the first scrape.
 */
void ls_prom_counter_by(struct ls_buf *b, const char *name, const char *help, const char *label,
                        const char *const *names, const uint64_t *values, size_t n);

#endif /* LIBSTREAM_PROM_H */
