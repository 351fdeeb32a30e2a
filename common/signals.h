/*
 * signals.h - how a daemon of sce (the server, the gateway) learns it should
 * stop: SIGINT and SIGTERM are blocked in every thread and taken by
 * sigwait in the main thread, so no handler runs in the middle of a
 * library call and the main thread does the orderly shutdown itself.
 */
#ifndef SCE_SIGNALS_H
#define SCE_SIGNALS_H

#include <signal.h>

/* Blocks SIGINT and SIGTERM in the calling thread (call it before any other
 * thread exists, so that all inherit the mask) and ignores SIGPIPE (a peer
 * that hangs up is an error return, not a death).  Fills set for
 * sce_signals_wait. */
void sce_signals_block(sigset_t *set);

/* Waits for SIGINT or SIGTERM and returns it. */
int sce_signals_wait(const sigset_t *set);

/* "SIGINT" or "SIGTERM" (for the log line that says why it stops). */
const char *sce_signal_name(int sig);

#endif
