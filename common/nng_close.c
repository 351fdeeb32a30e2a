/*
 * nng_close.c - nng_close with a bound on the wait (see nng_close.h).
 */
#include "common/nng_close.h"

#include "common/clock.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct closer {
    nng_socket sock;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} closer;

static void *close_main(void *arg)
{
    closer *c = arg;

    nng_close(c->sock);
    pthread_mutex_lock(&c->lock);
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int sce_nng_close_within(nng_socket s, int wait_ms)
{
    closer *c = calloc(1, sizeof(*c));
    pthread_t th;
    int done, started;

    if (c == NULL) {
        nng_close(s);
        return 0;
    }
    c->sock = s;
    pthread_mutex_init(&c->lock, NULL);
    sce_cond_init(&c->cond);
    started = pthread_create(&th, NULL, close_main, c) == 0;
    if (!started) {
        close_main(c);
    } else {
        int64_t deadline_ms = sce_clock_ms() + wait_ms;

        pthread_mutex_lock(&c->lock);
        while (!c->done && sce_cond_wait_until(&c->cond, &c->lock, deadline_ms) == 0)
            ;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&c->lock);
    done = c->done;
    pthread_mutex_unlock(&c->lock);
    if (!done) {
        /* The thread keeps c; both end with the process. */
        pthread_detach(th);
        return -1;
    }
    if (started)
        pthread_join(th, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return 0;
}
