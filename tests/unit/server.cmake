# Unit tests of the daemon's pure modules: request validation, verdicts and
# the runner's bundle stream (no engine, no network).
sce_unit_test(test_request unit/server/test_request.c sce_server_core)
sce_unit_test(test_verdict unit/server/test_verdict.c sce_server_core)
sce_unit_test(test_bundle unit/server/test_bundle.c sce_server_core PkgConfig::JANSSON)

# The SQLite history store: paging, filters, retention, restart, and the
# failures that must not take a run down (corrupt, locked, full queue).
sce_unit_test(test_history unit/server/test_history.c sce_server_core PkgConfig::SQLITE3)
