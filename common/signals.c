/*
 * signals.c - blocked stop signals taken by sigwait (see signals.h).
 */
#include "common/signals.h"

#include <pthread.h>

void sce_signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int sce_signals_wait(const sigset_t *set)
{
    int sig;

    do {
        if (sigwait(set, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGINT && sig != SIGTERM);
    return sig;
}

const char *sce_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : "SIGTERM";
}
