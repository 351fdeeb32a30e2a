/*
 * watchdog.h - sce-gateway's slow-client watchdog.
 *
 * libmicrohttpd's connection timeout only counts idle time, so a client
 * sending one byte a second would hold its connection (and its thread) for
 * ever.  Each connection is registered when it opens with the time by which
 * its request must be in; a thread of its own shuts the socket of any
 * connection whose request is overdue (shutdown() only: the descriptor
 * stays libmicrohttpd's, whose connection thread sees the end of the
 * stream and closes it the usual way).  An entry is removed under the same
 * lock before libmicrohttpd closes the socket, so the watchdog never
 * touches a descriptor that was closed and reused.
 *
 * What it does not do: count connections against caps (guard.c) or decide
 * what a connection is answered (http.c).
 *
 * Threads: one watchdog thread, from gw_watchdog_start() to
 * gw_watchdog_stop(); every other function may be called from any thread
 * and takes the watchdog's lock.  Ownership: entries are allocated by
 * gw_watchdog_add() and freed by gw_watchdog_remove(), or by
 * gw_watchdog_free() for those never removed.
 */
#ifndef SCE_GATEWAY_WATCHDOG_H
#define SCE_GATEWAY_WATCHDOG_H

#include <netinet/in.h>
#include <stdint.h>

#include "client_key.h"
#include "guard.h"

/* One open connection.  fd and addr are the watchdog's; key and admit are
 * the caller's (set at gw_watchdog_add(), read-only after); the rest is
 * guarded by the watchdog's lock. */
typedef struct gw_watch {
    struct gw_watch *prev, *next;
    int fd;
    int64_t read_deadline_ms; /* sce_clock_ms() by which a request must be in; 0: none pending */
    int cut;                  /* the watchdog shut the socket */
    unsigned requests;        /* requests completed on it (kept alive) */
    char addr[INET6_ADDRSTRLEN];
    unsigned char key[GW_CLIENT_KEY_BYTES]; /* its client, for the connection caps */
    gw_admit admit;                         /* served, or answered 503 (guard.h) */
} gw_watch;

typedef struct gw_watchdog gw_watchdog;

/* Starts the thread; a request must arrive within read_timeout_ms.
 * SCE_ERR_INTERNAL (thread) or SCE_ERR_NO_MEMORY with one line in err. */
int gw_watchdog_start(int64_t read_timeout_ms, gw_watchdog **out, char *err, size_t errlen);

/* Stops and joins the thread; entries stay registered.  NULL accepted. */
void gw_watchdog_stop(gw_watchdog *wd);

/* Frees the watchdog (stopping it if needed) and any entry still there
 * (only if libmicrohttpd never reported a connection closed).  NULL
 * accepted. */
void gw_watchdog_free(gw_watchdog *wd);

/* Registers a connection just opened, whose first request must be in
 * within_ms from now.  `addr` is its peer, for the log.  NULL when out of
 * memory (the connection then goes unwatched: only the idle timeout
 * applies to it). */
gw_watch *gw_watchdog_add(gw_watchdog *wd, int fd, const char *addr,
                          const unsigned char key[GW_CLIENT_KEY_BYTES], gw_admit admit,
                          int64_t within_ms);

/* Forgets a connection about to be closed, and frees w.  NULL accepted. */
void gw_watchdog_remove(gw_watchdog *wd, gw_watch *w);

/* Sets the time by which its request must be in (0: none is being read,
 * e.g. the request is in and being answered).  NULL w accepted. */
void gw_watchdog_set(gw_watchdog *wd, gw_watch *w, int64_t deadline_ms);

/* A request on w ended: counts it and gives the kept-alive connection
 * read_timeout for its next one.  Returns 1 if the watchdog had cut it.
 * NULL w accepted (returns 0). */
int gw_watchdog_request_done(gw_watchdog *wd, gw_watch *w);

/* read_timeout_ms as given to gw_watchdog_start(). */
int64_t gw_watchdog_read_timeout_ms(const gw_watchdog *wd);

#endif
