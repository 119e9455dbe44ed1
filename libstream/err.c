/* err.c — names for the libstream error codes (see err.h). */
#include "libstream/err.h"

const char *ls_strerror(int err)
{
    switch (err) {
    case LS_OK: return "LS_OK: success";
    case LS_AGAIN: return "LS_AGAIN: need more data";
    case LS_EPROTO: return "LS_EPROTO: protocol error";
    case LS_ELIMIT: return "LS_ELIMIT: limit exceeded";
    case LS_ENOMEM: return "LS_ENOMEM: out of memory";
    case LS_EIO: return "LS_EIO: input/output error";
    case LS_ECONF: return "LS_ECONF: configuration error";
    case LS_ESTATE: return "LS_ESTATE: invalid state";
    case LS_ENOTFOUND: return "LS_ENOTFOUND: not found";
    case LS_EAUTH: return "LS_EAUTH: not authorised";
    case LS_EBUSY: return "LS_EBUSY: busy";
    case LS_EINVAL: return "LS_EINVAL: invalid argument";
    case LS_EUNSUPPORTED: return "LS_EUNSUPPORTED: unsupported";
    default: return err > 0 ? "success" : "unknown error";
    }
}
