/*
 * flv_file.c — load an FLV file's tags (see flv_file.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/err.h"
#include "libstream/flv.h"
#include "libstream/rtmp.h"
#include "support/flv_file.h"

/* Frame interval assumed when the file has fewer than two video frames (25 fps). */
#define FLV_FILE_DEFAULT_FRAME_MS 40u

static int append_tag(struct flv_file *file, size_t *cap, struct ls_frame *tag)
{
    if (file->ntags == *cap) {
        size_t new_cap = *cap != 0 ? *cap * 2 : 1024;
        struct ls_frame **grown = realloc(file->tags, new_cap * sizeof *grown);

        if (grown == NULL)
            return -1;
        file->tags = grown;
        *cap = new_cap;
    }
    file->tags[file->ntags++] = tag;
    return 0;
}

int flv_file_load(const char *path, struct flv_file *file, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct ls_flv_reader *reader = ls_flv_reader_new(NULL);
    static uint8_t chunk[1 << 16];
    uint32_t last_ts = 0, first_video = 0, last_video = 0, nvideo = 0;
    size_t cap = 0, n;
    int rc = -1;

    memset(file, 0, sizeof *file);
    if (f == NULL || reader == NULL) {
        snprintf(err, errlen, "cannot open %s", path);
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        const uint8_t *p = chunk;

        while (n > 0) {
            struct ls_flv_event ev;
            const char *why = NULL;
            ssize_t used = ls_flv_reader_feed(reader, p, n, &ev, &why);

            if (used == LS_AGAIN)
                break;
            if (used < 0) {
                snprintf(err, errlen, "%s: not a usable FLV file: %s", path,
                         why != NULL ? why : "malformed");
                goto out;
            }
            p += used;
            n -= (size_t)used;
            if (ev.type != LS_FLV_EV_TAG)
                continue;
            if (append_tag(file, &cap, ev.tag) != 0) {
                ls_frame_unref(ev.tag);
                snprintf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            if (file->ntags == 1)
                file->first_ts = ev.tag->timestamp;
            /* The file's last tag is not always its latest: ffmpeg ends with the video
             * end-of-sequence tag, audio may run past it. */
            if (file->ntags == 1 || (int32_t)(ev.tag->timestamp - last_ts) > 0)
                last_ts = ev.tag->timestamp;
            file->payload_bytes += ev.tag->len;
            if (ev.tag->type == LS_MSG_VIDEO) {
                if (nvideo++ == 0)
                    first_video = last_ts;
                last_video = last_ts;
            }
        }
    }
    if (file->ntags == 0) {
        snprintf(err, errlen, "%s holds no FLV tags", path);
        goto out;
    }
    file->loop_ms = last_ts - file->first_ts +
                    (nvideo > 1 ? (last_video - first_video) / (nvideo - 1)
                                : FLV_FILE_DEFAULT_FRAME_MS);
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    ls_flv_reader_free(reader);
    if (rc != 0)
        flv_file_free(file);
    return rc;
}

void flv_file_free(struct flv_file *file)
{
    for (size_t i = 0; i < file->ntags; i++)
        ls_frame_unref(file->tags[i]);
    free(file->tags);
    memset(file, 0, sizeof *file);
}
