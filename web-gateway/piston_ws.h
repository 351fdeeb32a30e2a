/*
 * piston_ws.h - Piston's interactive protocol (engineer-man/piston,
 * GET /api/v2/connect) on sce's followed runs, so Piston's clients work
 * unchanged against sce-gateway.  The socket is ws.h's.
 *
 * The conversation, as Piston has it:
 *   client  {"type":"init", language, version, files:[{name, content,
 *           encoding}], args, run_timeout, run_memory_limit, ...}
 *           within PISTON_INIT_TIMEOUT_MS of the upgrade, else 4001;
 *   server  {"type":"runtime","language","version"}  once the run started,
 *           {"type":"stage","stage":"run"},
 *           {"type":"data","stream":"stdout"|"stderr","data":TEXT} ...,
 *   client  {"type":"data","stream":"stdin","data":TEXT} at any time,
 *           {"type":"signal","signal":"SIGTERM"},
 *   server  {"type":"exit","stage":"run","code":N|null,"signal":NAME|null}
 *           and the close 4999 "Job Completed".
 * A message that cannot be read, an init Piston would refuse, a run that
 * cannot start and a run lost after its start are {"type":"error",
 * "message":TEXT} and the close 4002 "Notified Error".  Messages of an
 * unknown type are ignored, as Piston ignores them.
 *
 * Where sce differs (docs/API.md): the output cap holds (a run over it
 * exits as Piston reports a killed run, signal "SIGKILL", and no data
 * message is longer than the cap); the languages are sce's (Piston's names
 * and aliases of Python and JavaScript); a signal that would end a program
 * cancels the run (sce can only kill it; Piston passes it on), others are
 * accepted and ignored; closing the socket cancels the run; init's stdin
 * is ignored, as Piston ignores it on this route.
 *
 * The init's fields, the runtime, the exit of a result and the output's
 * text are piston_request.h's, shared with POST /api/v2/execute.  The
 * pure parts here (reading a message, writing one, cutting text) are
 * exported for the tests.
 *
 * Threads: piston_ws_serve runs on the connection's thread (the socket's
 * loop, which also sends stdin and signals on) and starts one thread for
 * the run (start, then polls, at most one poll answer held, waiting until
 * its messages are written before the next).  Ownership: documented per
 * function; the config is borrowed for the call.
 */
#ifndef SCE_GATEWAY_PISTON_WS_H
#define SCE_GATEWAY_PISTON_WS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends.h"
#include "live.h"
#include "piston_request.h"
#include "sce/client.h"

#define PISTON_INIT_TIMEOUT_MS 1000         /* Piston's: no init by then, 4001 */
#define PISTON_POLL_WAIT_MS 1000            /* each poll's wait, below SCE_RUN_READER_GONE_MS */
#define PISTON_STDIN_PENDING_MAX (64 << 10) /* stdin sent before the run started, held */
#define PISTON_DATA_MAX_BYTES (64 << 10) /* a data message's text, at most (and at most the cap)   \
                                          */
#define PISTON_STDIN_RETRY_MS 5000       /* a full stdin buffer is retried this long */

/* Piston's close codes, with their reasons. */
enum {
    PISTON_CLOSE_ALREADY_INITIALIZED = 4000,
    PISTON_CLOSE_INIT_TIMEOUT = 4001,
    PISTON_CLOSE_NOTIFIED_ERROR = 4002,
    PISTON_CLOSE_NOT_INITIALIZED = 4003,
    PISTON_CLOSE_STDIN_ONLY = 4004,
    PISTON_CLOSE_INVALID_SIGNAL = 4005,
    PISTON_CLOSE_JOB_COMPLETED = 4999,
};

/* The reason Piston gives with a close code ("Already Initialized", ...);
 * "" for another. */
const char *piston_ws_close_reason(int code);

/* What one message from the client asks for. */
typedef enum piston_action {
    PISTON_IGNORE = 0, /* a type Piston does not know: nothing */
    PISTON_INIT,       /* m->json is the init message */
    PISTON_STDIN,      /* m->data, m->len: bytes for the program's stdin */
    PISTON_SIGNAL,     /* m->kill: 1 if it ends the program (the run is cancelled) */
    PISTON_CLOSE,      /* close with m->close_code, nothing sent before */
    PISTON_ERROR,      /* send the error m->error, then close 4002 */
} piston_action;

typedef struct piston_msg {
    piston_action action;
    json_t *json;     /* the message parsed, the caller's (json_decref); NULL if it was not JSON */
    const char *data; /* PISTON_STDIN: inside json */
    size_t len;
    int kill;
    int close_code;
    char error[256];
} piston_msg;

/* Reads one message (a text or binary frame's bytes) as Piston does, given
 * whether an init was already taken.  Pure. */
void piston_ws_read(const char *text, size_t len, int initialized, piston_msg *m);

/* The length of the longest prefix of text[0..len) that is at most max
 * bytes and ends on a character boundary (text is valid UTF-8). */
size_t piston_text_cut(const char *text, size_t len, size_t max);

/* The server's messages, as compact JSON text (malloc'd; NULL when out of
 * memory). */
char *piston_ws_msg_runtime(const char *language, const char *version);
char *piston_ws_msg_stage(const char *stage);
char *piston_ws_msg_data(const char *stream, const char *text, size_t len);
char *piston_ws_msg_exit(const char *stage, const piston_exit *e);
char *piston_ws_msg_error(const char *message);

/* What a socket's conversation needs. */
typedef struct piston_ws_config {
    gw_backends *backends;
    gw_live *live;
    const char *tenant;  /* "" or NULL: none */
    const char *refusal; /* not NULL: no live run could be had; only this error is sent */
} piston_ws_config;

/* Holds the conversation on an upgraded socket until it is over (ws.h's
 * gw_ws_serve), and cancels the run if it has not ended by then. */
void piston_ws_serve(int sock, const char *extra, size_t extra_len, const piston_ws_config *cfg);

#endif
