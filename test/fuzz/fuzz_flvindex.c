/*
 * libFuzzer target for flvindex.c (the seek index of an FLV file).
 *
 * Input: one mode byte, then the file. The mode's low 6 bits times 97 are the bytes fed
 * beyond what the builder asks for (0 = exactly what it asks); its bit 6 selects tiny
 * limits (max_keys 4, max_tag_size 4096) so thinning and the tag bound are reached.
 * Checked beyond "no crash / leak / UB": every want names bytes inside the file and every
 * feed makes progress; the index built in exact reads equals the one built from the whole
 * file in one feed; keys are sorted, inside the playable part and point at audio or video
 * tags; blobs stay within their bounds; a seek never lands after the time asked unless it
 * is the first key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/flvindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int build(const uint8_t *file, size_t size, size_t extra,
                 const struct ls_flvindex_limits *lim, struct ls_flvindex **out)
{
    struct ls_flvindex_builder *b = ls_flvindex_builder_new(size, lim);
    uint64_t off;
    size_t want;
    int rc = LS_OK;
    unsigned rounds = 0;

    *out = NULL;
    if (b == NULL)
        return LS_ENOMEM;
    while (rc == LS_OK && ls_flvindex_builder_want(b, &off, &want)) {
        size_t n = want + extra;
        uint8_t *copy;

        if (off >= size || want == 0 || ++rounds > size + 16)
            abort();
        if (n > size - off)
            n = size - (size_t)off;
        copy = malloc(n);
        if (copy == NULL)
            break;
        memcpy(copy, file + off, n);
        rc = ls_flvindex_builder_feed(b, off, copy, n, NULL);
        free(copy);
    }
    if (rc == LS_OK)
        rc = ls_flvindex_builder_finish(b, out, NULL);
    ls_flvindex_builder_free(b);
    return rc;
}

static void check(const struct ls_flvindex *ix, const uint8_t *file, size_t size)
{
    size_t i;
    uint32_t t;

    if (ix->data_end > size || ix->data_start > ix->data_end + 4 || ix->file_size != size)
        abort();
    for (i = 0; i < ix->nkeys; i++) {
        const struct ls_flvindex_key *k = &ix->keys[i];

        if (k->offset < ix->data_start || k->offset >= ix->data_end)
            abort();
        if ((file[k->offset] & 0x1f) != 8 && (file[k->offset] & 0x1f) != 9)
            abort();
        if (i > 0 && k->ts < ix->keys[i - 1].ts)
            abort();
        if ((k->vseq != LS_FLVINDEX_NONE && k->vseq >= ix->nblobs) ||
            (k->aseq != LS_FLVINDEX_NONE && k->aseq >= ix->nblobs))
            abort();
    }
    if (ix->nblobs > LS_FLVINDEX_MAX_BLOBS)
        abort();
    for (i = 0; i < ix->nblobs; i++)
        if (ix->blobs[i].len > LS_FLVINDEX_MAX_BLOB)
            abort();
    for (t = 0; t < 70000; t += 997) {
        const struct ls_flvindex_key *k = ls_flvindex_seek(ix, t);

        if ((k == NULL) != (ix->nkeys == 0))
            abort();
        if (k != NULL && k->ts > t && k != &ix->keys[0])
            abort();
    }
}

static void same(const struct ls_flvindex *a, const struct ls_flvindex *b)
{
    size_t i;

    if (a->data_end != b->data_end || a->tags != b->tags || a->nkeys != b->nkeys ||
        a->nblobs != b->nblobs || a->duration_ms != b->duration_ms || a->meta != b->meta)
        abort();
    for (i = 0; i < a->nkeys; i++)
        if (a->keys[i].offset != b->keys[i].offset || a->keys[i].ts != b->keys[i].ts)
            abort();
    for (i = 0; i < a->nblobs; i++)
        if (a->blobs[i].len != b->blobs[i].len ||
            memcmp(a->blobs[i].data, b->blobs[i].data, a->blobs[i].len) != 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_flvindex_limits lim = { 0, 0, 0 };
    struct ls_flvindex *ix, *whole;
    size_t extra;
    int rc, rc_whole;

    if (size < 1)
        return 0;
    extra = (size_t)(data[0] & 0x3f) * 97;
    if (data[0] & 0x40) {
        lim.max_keys = 4;
        lim.max_tag_size = 4096;
    }
    data++;
    size--;
    rc = build(data, size, extra, &lim, &ix);
    rc_whole = build(data, size, size, &lim, &whole);
    if (rc == LS_OK && rc_whole == LS_OK) {
        check(ix, data, size);
        same(ix, whole);
    } else if (rc != rc_whole && rc != LS_ENOMEM && rc_whole != LS_ENOMEM) {
        abort();
    }
    ls_flvindex_free(ix);
    ls_flvindex_free(whole);
    return 0;
}
