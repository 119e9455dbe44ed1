/*
 * libFuzzer target for smdreport.c and nodereport.c: arbitrary bytes as a report message
 * payload (first byte even) or as a report body alone (odd: the line parser without the
 * envelope, where most of the work is). Oracles: a failed envelope decode leaves the
 * report cleared; every line that parses rebuilds (stream and gone lines byte for byte,
 * node lines through ls_node_report_write) into a body that parses to the same values;
 * the parser stops (no line is read twice) and never reads past the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/nodereport.h"
#include "libstream/smdreport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuilds one parsed line and checks it parses back to the same thing. */
static void check_line(const struct ls_smd_report_line *line)
{
    struct ls_buf b;
    struct ls_smd_report_iter it;
    struct ls_smd_report_line again;
    struct ls_node_report nr, nr2;

    ls_buf_init(&b, 0);
    switch (line->kind) {
    case LS_SMD_LINE_STREAM:
        ls_smd_report_put_stream(&b, line->id, line->viewers, line->bytes_out);
        break;
    case LS_SMD_LINE_GONE:
        ls_smd_report_put_gone(&b, line->id);
        break;
    case LS_SMD_LINE_NODE:
        if (ls_node_report_read(line->pairs, line->pairs_len, &nr, NULL) != LS_OK) {
            ls_buf_free(&b);
            return; /* a malformed pair: refused, fine */
        }
        ls_node_report_write(&b, &nr);
        break;
    }
    if (ls_buf_status(&b) != LS_OK)
        abort();
    ls_smd_report_iter_init(&it, (const char *)b.data, b.len);
    if (ls_smd_report_next(&it, &again, NULL) != 1 || again.kind != line->kind ||
        ls_smd_report_next(&it, &again, NULL) != 0)
        abort();
    ls_smd_report_iter_init(&it, (const char *)b.data, b.len);
    (void)ls_smd_report_next(&it, &again, NULL);
    if (line->kind != LS_SMD_LINE_NODE) {
        if (strcmp(again.id, line->id) != 0 ||
            (line->kind == LS_SMD_LINE_STREAM &&
             (again.viewers != line->viewers || again.bytes_out != line->bytes_out)))
            abort();
    } else {
        if (ls_node_report_read(again.pairs, again.pairs_len, &nr2, NULL) != LS_OK ||
            memcmp(&nr, &nr2, sizeof nr) != 0)
            abort();
    }
    ls_buf_free(&b);
}

static void walk_body(const char *body, size_t len)
{
    struct ls_smd_report_iter it;
    struct ls_smd_report_line line;
    size_t lines = 0;
    int rc;

    ls_smd_report_iter_init(&it, body, len);
    while ((rc = ls_smd_report_next(&it, &line, NULL)) == 1) {
        if (it.p > body + len || ++lines > len)
            abort();
        check_line(&line);
    }
    if (rc != 0 && rc != LS_EPROTO)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_smd_report r;
    const char *why = NULL;
    ssize_t rc;

    if (size == 0)
        return 0;
    if (data[0] & 1) {
        walk_body((const char *)data + 1, size - 1);
        return 0;
    }
    rc = ls_smd_report_decode(data + 1, size - 1, &r, &why);
    if (rc < 0) {
        if (r.body != NULL || r.body_len != 0 || why == NULL)
            abort();
        return 0;
    }
    if ((size_t)rc != size - 1 || r.body == NULL || strlen(r.body) != r.body_len)
        abort();
    walk_body(r.body, r.body_len);
    ls_smd_report_clear(&r);
    return 0;
}
