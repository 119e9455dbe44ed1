/*
 * libFuzzer target for smdproto.c: arbitrary bytes as a registry message payload, alone
 * and as a received frame. Oracles: a failed decode leaves the message zeroed; whatever
 * decodes to a known kind re-encodes (the encoder accepts everything the decoder does)
 * and decodes again to the identical message; an unknown kind is never encodable; hello
 * verification never crashes whatever the fields hold.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/frame.h"
#include "libstream/rtmp.h"
#include "libstream/smdproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ls_smd_msg zero;
    struct ls_smd_msg m, again;
    struct ls_buf b;
    const char *why = NULL;
    ssize_t rc = ls_smd_decode(data, size, &m, &why);

    if (rc < 0) {
        if (memcmp(&m, &zero, sizeof m) != 0 || why == NULL)
            abort();
    } else {
        if ((size_t)rc != size)
            abort();
        ls_buf_init(&b, 0);
        if (m.kind == LS_SMD_UNKNOWN) {
            if (ls_smd_encode(&b, &m) != LS_EINVAL || b.len != 0)
                abort();
        } else {
            if (ls_smd_encode(&b, &m) != LS_OK)
                abort();
            if (ls_smd_decode(b.data, b.len, &again, NULL) != (ssize_t)b.len ||
                memcmp(&m, &again, sizeof m) != 0)
                abort();
            (void)ls_smd_hello_verify("secret", &m, m.nonce, "smd-1", 1700000000, NULL);
            (void)ls_smd_hello_verify("", &m, NULL, "smd-1", 1700000000, NULL);
        }
        ls_buf_free(&b);
    }
    if (size <= LS_RTMP_MAX_MESSAGE_LENGTH) {
        struct ls_frame *f = ls_frame_new_copy(LS_MSG_COMMAND_AMF0, 0, 0, data, (uint32_t)size);

        if (f != NULL) {
            if ((ls_smd_decode_frame(f, &again, NULL) == LS_OK) != (rc >= 0))
                abort();
            ls_frame_unref(f);
        }
    }
    return 0;
}
