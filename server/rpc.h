/*
 * rpc.h - the nng REP front of sce-server.
 *
 * A fixed set of contexts receives requests.  Cheap methods (Languages,
 * Health) are answered at once from cached state; Run, RunProject,
 * RunBatch and History go to a bounded queue served by `workers` threads,
 * where blocking engine and database calls are made.
 * There are more contexts than workers + queue, so a full queue is answered
 * RESOURCE_EXHAUSTED at once instead of leaving the caller hanging.
 */
#ifndef SCE_RPC_H
#define SCE_RPC_H

#include <stddef.h>

#include "exec.h"
#include "history.h"
#include "options.h"

typedef struct rpc_server rpc_server;

/* Listens on o->listen and starts the workers.  `hist` (NULL: history off)
 * records every run and answers History; it must outlive the server.  err
 * gets e.g. "cannot listen on tcp://127.0.0.1:7700: Address in use". */
int rpc_start(const exec_env *env, history *hist, rpc_server **out, char *err, size_t errlen);

/* Stops receiving, lets queued and running requests finish and answer,
 * then closes the socket and frees.  NULL is accepted. */
void rpc_stop(rpc_server *s);

#endif
