# Unit tests of the daemon's pure modules: request validation, verdicts and
# the runner's bundle stream (no engine, no network).
sce_unit_test(test_request unit/server/test_request.c sce_server_core)
sce_unit_test(test_verdict unit/server/test_verdict.c sce_server_core)
sce_unit_test(test_options unit/server/test_options.c sce_server_core)
sce_unit_test(test_runner_input unit/server/test_runner_input.c sce_server_core PkgConfig::JANSSON)

# The SQLite history store: paging, filters, retention, restart, and the
# failures that must not take a run down (corrupt, locked, full queue).
sce_unit_test(test_history unit/server/test_history.c sce_server_core PkgConfig::SQLITE3)

# Followed runs' registry: chunks, polls, stdin caps, waiters, tenants,
# room, cancels and a reader gone (threads, no engine).
sce_unit_test(test_live unit/server/test_live.c sce_server_core)

# SIGTERM while requests keep arriving: every cycle must end the process
# (a sce-server with no engine and no pool; no Docker needed).
add_executable(test_shutdown unit/server/test_shutdown.c)
target_link_libraries(test_shutdown PRIVATE PkgConfig::CMOCKA sce Threads::Threads)
target_compile_definitions(test_shutdown PRIVATE SCE_SERVER_PATH="$<TARGET_FILE:sce-server>")
add_dependencies(test_shutdown sce-server)
add_test(NAME test_shutdown COMMAND test_shutdown)
set_tests_properties(test_shutdown PROPERTIES LABELS unit TIMEOUT 300)

# The runner's end marker: status and usage figures, bounded digits, split
# anywhere (a pure parser, table-tested).
sce_unit_test(test_marker unit/server/test_marker.c sce_server_core)

# The runtime of each language: gVisor told apart, runsc entries checked,
# and the create request on runc and on gVisor.
sce_unit_test(test_oci_runtime unit/server/test_oci_runtime.c sce_server_core PkgConfig::JANSSON)
