/*
 * nng_close.h - nng_close with a bound on the wait.
 *
 * nng 1.5's socket close can wait for ever: seen on the server's REP
 * socket with a dozen clients sending while it stopped (every context and
 * the listener already closed), and filed upstream for REQ sockets as
 * "REQ protocol can hang on close" (nanomsg/nng#648, open).  A program that
 * is stopping, or a library asked to close a client, must not hang with it.
 * This does not cure the defect: a close that does not finish in time is
 * left running on a thread of its own, with the socket and whatever its
 * callbacks use, until the process exits.
 */
#ifndef SCE_NNG_CLOSE_H
#define SCE_NNG_CLOSE_H

#include <nng/nng.h>

/* Closes s, waiting at most wait_ms.  0 when it closed; -1 when it is
 * still closing: the caller must then keep alive everything nng's
 * callbacks on s may touch (pipe notifiers, aio callbacks), for good. */
int sce_nng_close_within(nng_socket s, int wait_ms);

#endif
