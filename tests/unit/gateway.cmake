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
