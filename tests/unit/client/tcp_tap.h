/*
 * tcp_tap.h - a TCP relay that records what each client connection sent,
 * for the client tests.
 *
 * The tap listens on an ephemeral port of 127.0.0.1 and relays every
 * connection it accepts, byte for byte, to an upstream tcp:// address (the
 * fake server), counting the bytes the client sent before the connection
 * ended.  That makes visible how libsce uses its connections: nng 1.5's
 * listener sleeps 100 ms before its next accept when a peer hangs up
 * during the SP handshake (the 8-byte header each side sends first), so a
 * client connection that ends with fewer than 8 bytes sent costs every
 * connection behind it that much.  The tap does not parse SP, drop, delay
 * or alter anything, and serves at most TAP_MAX_CONNECTIONS connections.
 */
#ifndef SCE_TEST_TCP_TAP_H
#define SCE_TEST_TCP_TAP_H

#include <stddef.h>

#define TAP_MAX_CONNECTIONS 32

typedef struct tcp_tap tcp_tap;

/* Starts relaying to `upstream_url` (tcp://127.0.0.1:PORT); aborts the test
 * on failure. */
tcp_tap *tap_start(const char *upstream_url);

/* The tap's own URL, tcp://127.0.0.1:PORT.  Owned by the tap. */
const char *tap_url(tcp_tap *t);

/* Waits up to `wait_ms` for every connection made so far to end (nothing
 * left in the accept backlog, every accepted one closed by either side).
 * Returns 1 when that happened, 0 on timeout. */
int tap_wait_idle(tcp_tap *t, int wait_ms);

/* Connections accepted so far. */
int tap_connections(tcp_tap *t);

/* Connections that ended after the client had sent fewer than `min_bytes`
 * bytes. */
int tap_short_connections(tcp_tap *t, size_t min_bytes);

/* Stops the relay thread and closes every socket.  NULL is accepted. */
void tap_stop(tcp_tap *t);

#endif
