# Three sce-servers on loopback behind one sce-gateway (issue 12): balance,
# /healthz and /metrics per backend, a server killed with runs in flight
# (its runs lost once, never twice), marked down, taken back after a
# restart; no container left.  Servers and a gateway of its own (instances
# cluster-PID-a/b/c), so no fixture.
add_test(NAME cluster COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_cluster.sh ${CMAKE_BINARY_DIR})
set_tests_properties(cluster PROPERTIES LABELS docker TIMEOUT 600 COST 500) # long: started early
