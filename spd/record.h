/*
 * record.h — spd's recordings: every published stream written to an FLV file
 * (`record = { enabled = true; dir = "…"; max_bytes = 0; min_free_bytes = …; }`),
 * DIR/APP/NAME-UNIXTIME.flv, by a writer thread per recording so the event loop never
 * waits for the disk (record.c says how, and what is dropped when the disk is slow).
 */
#ifndef SPD_RECORD_H
#define SPD_RECORD_H

#include <stdint.h>

struct ls_hub;
struct spd_recorder;

struct spd_record_config {
    const char *dir;           /* borrowed for the call */
    uint64_t max_bytes;        /* a file ends before the tag that would pass it; 0 = none */
    uint64_t min_free_bytes;   /* a file ends when its filesystem has less free; 0 = none */
};

/* Starts recording stream `id` (a hidden hub subscriber). NULL after logging why (the
 * publish itself is never refused for a recording problem). */
struct spd_recorder *spd_record_start(struct ls_hub *hub, const struct spd_record_config *cfg,
                                      const char *id);
/* Stops taking tags; what is queued still reaches the file, from the event loop and the
 * writer thread, and the recorder frees itself when the file is complete (logged). The
 * handle is invalid after this call. */
void spd_record_stop(struct spd_recorder *rec);
const char *spd_record_id(const struct spd_recorder *rec);
/* At exit, after the loop has stopped: finishes every recording still writing (each
 * stopped first), waiting at most 2 s in all for the disk. */
void spd_record_finish_all(void);

#endif /* SPD_RECORD_H */
