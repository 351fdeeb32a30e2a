/*
 * sce/err.h - the one error-code enum shared by the client library, the
 * server and the gateway.
 *
 * The values are the gRPC status codes and equal the StatusCode enum of
 * proto/sce.proto, so a code travels unchanged from the server to any client
 * and the gateway maps it to one HTTP status.  Codes are never renumbered or
 * reused; retired ones stay listed.
 */
#ifndef SCE_ERR_H
#define SCE_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sce_err {
    SCE_OK = 0,
    SCE_ERR_CANCELLED = 1,
    SCE_ERR_UNKNOWN = 2,
    SCE_ERR_INVALID_ARGUMENT = 3,
    SCE_ERR_DEADLINE_EXCEEDED = 4,
    SCE_ERR_NOT_FOUND = 5,
    SCE_ERR_PERMISSION_DENIED = 7, /* the gateway: a Host or Origin it does not serve */
    SCE_ERR_RESOURCE_EXHAUSTED = 8,
    SCE_ERR_FAILED_PRECONDITION = 9, /* a followed run's stdin written after it closed or the run ended */
    SCE_ERR_UNIMPLEMENTED = 12,
    SCE_ERR_INTERNAL = 13,
    SCE_ERR_UNAVAILABLE = 14,
    SCE_ERR_UNAUTHENTICATED = 16, /* the gateway: no or a wrong bearer token */
} sce_err;

/* Out of memory in the server, the gateway or this library.  It is not the
 * caller's doing and not "busy, retry in a second" (RESOURCE_EXHAUSTED: a
 * full queue, a rate limit), so it travels as INTERNAL, and the gateway
 * answers 500. */
#define SCE_ERR_NO_MEMORY SCE_ERR_INTERNAL

/* A short, static, lower-case name for the code ("invalid argument");
 * "unknown error" for a value that is not a code.  Never NULL. */
const char *sce_strerror(int err);

/* The code's upper-case name as in the proto ("INVALID_ARGUMENT"). */
const char *sce_err_name(int err);

/* 1 when err is one of the codes above (SCE_OK included), else 0: a code
 * from a newer server is passed on as SCE_ERR_UNKNOWN. */
int sce_err_known(int err);

#ifdef __cplusplus
}
#endif

#endif /* SCE_ERR_H */
