/*
 * flv_file.h — an FLV file loaded whole into memory, for the test and benchmark tools
 * that publish a file at real-time pace (lcpub, rtmpbench, floorsrv).
 *
 * The caller owns the loaded tags (one reference each) until flv_file_free().
 */
#ifndef LC_TEST_FLV_FILE_H
#define LC_TEST_FLV_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/frame.h"

struct flv_file {
    struct ls_frame **tags;  /* every tag, in file order */
    size_t ntags;
    uint32_t first_ts;       /* timestamp of the first tag */
    uint32_t loop_ms;        /* one pass: first tag until the frame after the last is due */
    uint64_t payload_bytes;  /* sum of tag payload lengths */
};

/*
 * Reads every tag of the FLV file at `path`. Returns 0, or -1 with a message naming the
 * file in `err` (nothing is kept on failure). A file without tags is an error.
 */
int flv_file_load(const char *path, struct flv_file *file, char *err, size_t errlen);

/* Drops the tags' references and the array; `file` may then be loaded again. */
void flv_file_free(struct flv_file *file);

#endif
