/*
 * err.h — the one error convention of libstream.
 *
 * Every fallible libstream function returns either a non-negative result (0, or for
 * decoders the number of bytes consumed) or one of the negative codes below. Decoders
 * also take an optional `const char **why` that receives a static, human-readable reason
 * for LS_EPROTO / LS_ELIMIT, for the caller's log line. libstream never logs from inside
 * a codec and never exits; the caller decides what to close and what to log.
 */
#ifndef LIBSTREAM_ERR_H
#define LIBSTREAM_ERR_H

enum ls_err {
    LS_OK = 0,
    LS_AGAIN = -1,     /* need more input bytes (or output space); not an error */
    LS_EPROTO = -2,    /* malformed or unexpected input from the peer */
    LS_ELIMIT = -3,    /* a configured bound (size, count, depth, time) was hit */
    LS_ENOMEM = -4,    /* allocation failed */
    LS_EIO = -5,       /* a socket or file operation failed */
    LS_ECONF = -6,     /* invalid configuration */
    LS_ESTATE = -7,    /* call not valid in the current state (a caller bug) */
    LS_ENOTFOUND = -8, /* named thing (stream, key, property) does not exist */
    LS_EAUTH = -9,     /* authentication or authorisation refused */
    LS_EBUSY = -10,    /* resource already taken (stream id already published) */
    LS_EINVAL = -11,   /* invalid argument (bad stream id, bad address) */
    LS_EUNSUPPORTED = -12, /* valid input that this implementation refuses */
};

/* Static name and description of an error code ("LS_EPROTO: protocol error"). Never NULL. */
const char *ls_strerror(int err);

/* Marks functions whose result must be checked. */
#define LS_MUST_CHECK __attribute__((warn_unused_result))

/* printf-style format checking for logging helpers. */
#define LS_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))

/* Stores a static reason in an optional `why` out-parameter. */
#define LS_WHY(why, text) do { if ((why) != NULL) *(why) = (text); } while (0)

#endif /* LIBSTREAM_ERR_H */
