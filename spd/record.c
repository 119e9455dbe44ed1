/*
 * record.c — recording a published stream to an FLV file. The recorder is a hub
 * subscriber of the FLV transport, so it writes exactly the tag bytes HTTP-FLV viewers
 * get, shared by reference, with one writev per flush window. It is "hidden": not a
 * viewer in the API.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libstream/clock.h"
#include "libstream/flv.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/outq.h"
#include "libstream/streamid.h"
#include "record.h"

struct spd_recorder {
    struct ls_subscriber sub;
    struct ls_outq outq;
    int fd;
    char id[258];
    char path[1024];
    bool failed;
};

static struct spd_recorder *record_from_sub(struct ls_subscriber *sub)
{
    return (struct spd_recorder *)((char *)sub - offsetof(struct spd_recorder, sub));
}

static void record_flush(struct ls_subscriber *sub)
{
    struct spd_recorder *rec = record_from_sub(sub);

    if (rec->failed)
        return;
    /* A regular file takes everything: no partial writes to wait for. */
    while (!ls_outq_empty(&rec->outq)) {
        if (ls_outq_write(&rec->outq, rec->fd) <= 0) {
            ls_log(LS_LOG_ERR, "record %s: write to %s failed: %s; recording stopped", rec->id,
                   rec->path, strerror(errno));
            rec->failed = true;
            ls_subscriber_detach(&rec->sub);
            ls_outq_clear(&rec->outq);
            return;
        }
    }
}

static void record_source_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    (void)sub;
    (void)ev; /* the publisher's end stops the recorder (spd_record_stop) */
}

static void record_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct spd_recorder *rec = record_from_sub(sub);

    ls_log(LS_LOG_ERR, "record %s: the disk cannot keep up (%s); recording stopped", rec->id,
           why);
    rec->failed = true;
    ls_subscriber_detach(&rec->sub);
    ls_outq_clear(&rec->outq);
}

static const struct ls_subscriber_ops record_ops = {
    .flush = record_flush,
    .source_event = record_source_event,
    .too_slow = record_too_slow,
};

struct spd_recorder *spd_record_start(struct ls_hub *hub, const char *dir, const char *id)
{
    struct spd_recorder *rec;
    struct ls_stream_ref ref;
    struct ls_stream *st = ls_hub_find(hub, id);
    char appdir[768];
    uint8_t header[13];
    struct ls_frame *blob;

    if (st == NULL || ls_streamid_parse_id(id, &ref, NULL) != LS_OK)
        return NULL;
    rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return NULL;
    snprintf(rec->id, sizeof rec->id, "%s", id);
    /* The id was validated ([A-Za-z0-9_.-], no leading dot): safe as path parts. */
    snprintf(appdir, sizeof appdir, "%s/%s", dir, ref.app);
    snprintf(rec->path, sizeof rec->path, "%s/%s-%lld.flv", appdir, ref.name,
             (long long)ls_unix_time());
    if ((mkdir(dir, 0750) == -1 && errno != EEXIST) ||
        (mkdir(appdir, 0750) == -1 && errno != EEXIST) ||
        (rec->fd = open(rec->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) == -1) {
        ls_log(LS_LOG_ERR, "record %s: cannot create %s: %s", id, rec->path, strerror(errno));
        free(rec);
        return NULL;
    }
    ls_outq_init(&rec->outq);
    ls_subscriber_init(&rec->sub, &record_ops, &rec->outq, LS_TRANSPORT_FLV, 0);
    rec->sub.hidden = true;
    ls_flv_file_header(header, true, true);
    blob = ls_frame_new_copy(0, 0, 0, header, sizeof header);
    if (blob == NULL || ls_outq_push(&rec->outq, blob, LS_OUTQ_KEEP) != LS_OK ||
        ls_stream_subscribe(st, &rec->sub) != LS_OK) {
        ls_log(LS_LOG_ERR, "record %s: out of memory", id);
        ls_outq_clear(&rec->outq);
        close(rec->fd);
        unlink(rec->path);
        free(rec);
        return NULL;
    }
    ls_log(LS_LOG_NOTICE, "record %s: writing %s", id, rec->path);
    return rec;
}

void spd_record_stop(struct spd_recorder *rec)
{
    if (rec == NULL)
        return;
    record_flush(&rec->sub);
    ls_subscriber_detach(&rec->sub);
    ls_outq_clear(&rec->outq);
    if (close(rec->fd) == -1)
        ls_log(LS_LOG_ERR, "record %s: closing %s failed: %s", rec->id, rec->path,
               strerror(errno));
    else if (!rec->failed)
        ls_log(LS_LOG_NOTICE, "record %s: finished %s", rec->id, rec->path);
    free(rec);
}

const char *spd_record_id(const struct spd_recorder *rec)
{
    return rec->id;
}
