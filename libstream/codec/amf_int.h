/*
 * amf_int.h — what the AMF value tree (amf.c) shares with the two wire decoders, amf0.c
 * and amf3.c (private to libstream).
 */
#ifndef LIBSTREAM_AMF_INT_H
#define LIBSTREAM_AMF_INT_H

#include <stddef.h>

#include "libstream/amf.h"
#include "libstream/err.h"

/*
 * Takes `nodes` values and `bytes` string bytes from `left`, all or nothing; a NULL `left`
 * is unbounded. Returns LS_OK, or LS_ELIMIT with a static reason in the optional *why
 * naming the bound that ran out for AMF `version` (0 or 3; only the reason uses it).
 * The one budget check of every decoded value and string, and of bounded copies.
 */
LS_MUST_CHECK int ls_amf_spend(struct ls_amf_budget *left, size_t nodes, size_t bytes,
                               unsigned version, const char **why);

#endif /* LIBSTREAM_AMF_INT_H */
