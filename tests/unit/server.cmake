# Unit tests of the daemon's pure modules: request validation, verdicts and
# the runner's bundle stream (no engine, no network).
sce_unit_test(test_request unit/server/test_request.c sce_server_core)
sce_unit_test(test_verdict unit/server/test_verdict.c sce_server_core)
sce_unit_test(test_bundle unit/server/test_bundle.c sce_server_core PkgConfig::JANSSON)
