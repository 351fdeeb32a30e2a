/*
 * fake_server.h - a scripted stand-in for sce-server, for the client tests.
 *
 * One thread on an nng REP socket listening at a URL, by default TCP on an
 * ephemeral port of 127.0.0.1 (reachable by a forked `sce` binary too; nng
 * 1.5's ipc dialer leaks memory when closed mid-connect, which would spoil
 * the valgrind runs).  Each request is decoded and handed
 * to the test's handler together with a reply pre-filled as the real server
 * would answer (same method, echoed request id, STATUS_OK, an empty body of
 * the method's kind); the handler edits the reply, or asks for raw bytes,
 * silence or a hang-up.  It runs no code and knows no limits.
 */
#ifndef SCE_TEST_FAKE_SERVER_H
#define SCE_TEST_FAKE_SERVER_H

#include <stddef.h>

#include "sce.pb-c.h"

typedef enum fake_action {
    FAKE_REPLY,  /* pack and send reply->resp */
    FAKE_RAW,    /* send reply->raw/raw_len as they are */
    FAKE_SILENT, /* never answer this request */
    FAKE_HANGUP, /* close the socket without answering; the server is gone */
} fake_action;

#define FAKE_MAX_LANGUAGES 4

/* Storage for one answer; every sub-message is initialised and resp points
 * at those of the request's method.  Lives until the answer is sent. */
typedef struct fake_reply {
    fake_action action;
    Sce__V1__Response resp;
    Sce__V1__Status status;
    Sce__V1__RunResult run;
    Sce__V1__Limits limits;
    Sce__V1__LanguagesResult languages;
    Sce__V1__Language language[FAKE_MAX_LANGUAGES];
    Sce__V1__Language *language_ptrs[FAKE_MAX_LANGUAGES];
    Sce__V1__HealthResult health;
    const void *raw;
    size_t raw_len;
} fake_reply;

/* Called on the server thread.  `req` is NULL when the bytes do not decode. */
typedef void (*fake_handler)(const Sce__V1__Request *req, const void *bytes, size_t len,
                             fake_reply *reply, void *arg);

typedef struct fake_server fake_server;

/* Listens at `url` and serves until fake_stop; aborts the test on failure.
 * A URL ending in ":0" gets an ephemeral port: see fake_server_url. */
fake_server *fake_start(const char *url, fake_handler h, void *arg);

/* fake_start on tcp://127.0.0.1 with an ephemeral port. */
fake_server *fake_start_tcp(fake_handler h, void *arg);

/* The URL the fake listens at, with the real port.  Owned by the fake. */
const char *fake_server_url(fake_server *f);

/* Stops the thread and closes the socket (if a hang-up has not). */
void fake_stop(fake_server *f);

/* Requests received so far, and SP connections accepted so far. */
int fake_requests(fake_server *f);
int fake_connections(fake_server *f);

/* A copy of the last request that decoded, owned by the fake until the next
 * request or fake_stop; NULL if none. */
Sce__V1__Request *fake_last_request(fake_server *f);

/* A fresh ipc:// URL under /tmp for this process. */
void fake_url(char *buf, size_t len);

/* A tcp:// URL on 127.0.0.1 where nothing listens (a port just released). */
void fake_dead_tcp_url(char *buf, size_t len);

#endif
