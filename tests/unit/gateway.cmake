# Unit tests of sce-gateway's pure parts: the JSON <-> libsce mapping.
sce_unit_test(test_json unit/gateway/test_json.c sce_gateway_core)
# ... and of POST /run-batch, GET /history and the /run-zip Content-Type.
sce_unit_test(test_json_project unit/gateway/test_json_project.c sce_gateway_core)
# ... and of its front door: Host and Origin (tables), the per-client key (an
# IPv6 /64 is one client) and the connection counts behind the 503s.
sce_unit_test(test_guard unit/gateway/test_guard.c sce_gateway_core)
# ... and of its token file: tenants, admins, the single token of before
# tenants, every malformed line refused by number, the look-up by token.
sce_unit_test(test_tenants unit/gateway/test_tenants.c sce_gateway_core)
# ... and of the pieces http.c was split into: the rate limiter's buckets on
# a driven clock, the bearer check, and the answers every route shares
# (Retry-After, 413).
sce_unit_test(test_rate_limit unit/gateway/test_rate_limit.c sce_gateway_core)
# ... and of GET /metrics: the Prometheus text writer (escaping, numbers,
# cumulative buckets) and the registry (counts from several threads, the
# bounded label sets, the backends' views).
sce_unit_test(test_prom unit/gateway/test_prom.c sce_gateway_core)
sce_unit_test(test_metrics unit/gateway/test_metrics.c sce_gateway_core)
# The whole exposition as Prometheus reads it: test_metrics --sample, parsed
# by Debian's python3-prometheus-client (so Debian's python3, not another on
# PATH) and checked line by line against the text format.
find_program(SCE_DEBIAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)
add_test(NAME metrics_parse
         COMMAND ${SCE_DEBIAN_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/unit/gateway/prom_parse.py
                 $<TARGET_FILE:test_metrics>)
set_tests_properties(metrics_parse PROPERTIES LABELS unit TIMEOUT 60)
# ... and of its backends (backends.c) against fake sce-servers on
# 127.0.0.1 (unit/client/fake_server.c), no Docker: the --server list and
# dns://, health polls, the least busy backend, at most once, busy and
# never-sent runs going on to another backend, a stop that ends its threads.
sce_unit_test(test_backends unit/gateway/test_backends.c sce_gateway_core sce_test_fake_server)
# ... and of GET /api/v2/connect's pure parts: Piston's version ranges, its
# messages read and written, an init made into a run request, the exit of a
# result, output bytes into text, the WebSocket accept key.
sce_unit_test(test_piston unit/gateway/test_piston.c sce_gateway_core)
# ... and of what POST /api/v2/execute shares with that init
# (piston_request.c): execute's fields, the runtime in a server's language
# list, GET /api/v2/runtimes, every verdict's status/code/signal/message,
# the output in the order written.
sce_unit_test(test_piston_request unit/gateway/test_piston_request.c sce_gateway_core)
# ... and of the live-run caps (live.c): the gateway's and each client's,
# the gauge and refusals in the metrics, the counts under threads.
sce_unit_test(test_live_caps unit/gateway/test_live_caps.c sce_gateway_core)
