/*
 * listen_guard.h - keeps an ipc:// listener of sce-server accepting.
 *
 * nng 1.5's ipc transport ends a listener's accept loop for good when a
 * peer hangs up in the middle of the SP handshake (a client killed while
 * connecting, or anyone with access to the socket file): the transport
 * still accepts and negotiates, but no pipe reaches the socket again, so
 * every later request waits for its deadline.  The guard notices and
 * listens again.  While connections keep arriving it does nothing; after a
 * quiet interval it connects to the listener itself, completes the
 * handshake (which never harms the listener) and waits for the server's
 * socket to report the new pipe.  When the pipe does not arrive, or the
 * socket file is gone, it closes the listener and listens on the same URL
 * again.  TCP listeners do not have the defect and get no guard.
 */
#ifndef SCE_LISTEN_GUARD_H
#define SCE_LISTEN_GUARD_H

#include <nng/nng.h>
#include <stddef.h>

typedef struct listen_guard listen_guard;

/* Whether listeners on `url` need a guard (ipc:// and abstract://). */
int listen_guard_needed(const char *url);

/* Starts guarding `listener`, which listens on `url` for `sock` (a REP
 * socket; the guard's probes speak REQ).  The guard takes over the
 * listener: it may close it and open a new one, and nng_close(sock) closes
 * whichever is current.  The guard installs the socket's ADD_POST pipe
 * callback.  On error nothing is started and err says why. */
int listen_guard_start(nng_socket sock, const char *url, nng_listener listener,
                       listen_guard **out, char *err, size_t errlen);

/* Stops the guard's thread and frees it; the listener stays open.  NULL is
 * accepted. */
void listen_guard_stop(listen_guard *g);

#endif
