/*
 * record.h — spd's recordings: every published stream written to an FLV file
 * (`record = { enabled = true; dir = "…"; }`), DIR/APP/NAME-UNIXTIME.flv.
 */
#ifndef SPD_RECORD_H
#define SPD_RECORD_H

struct ls_hub;
struct spd_recorder;

/* Starts recording stream `id` into `dir` (a hidden hub subscriber). NULL after logging
 * why (the publish itself is never refused for a recording problem). */
struct spd_recorder *spd_record_start(struct ls_hub *hub, const char *dir, const char *id);
/* Finishes the file (everything queued is written) and frees the recorder. */
void spd_record_stop(struct spd_recorder *rec);
const char *spd_record_id(const struct spd_recorder *rec);

#endif /* SPD_RECORD_H */
