# Fault tests (ctest labels docker and fault), included by tests/CMakeLists.txt.
#
#   fault_engine_restart  dockerd restarted under in-flight runs: clear
#                         answers, the server recovers by itself, no leftover
#   fault_burst           200 concurrent requests through the gateway against
#                         a small queue: 200 or 429 only, no leak, memory back
#
# Both run alone (RUN_SERIAL): the first restarts the engine, which kills
# every container on the machine; the second loads both cores.  The engine
# restart also waits for the `stack` fixture to be stopped (DEPENDS), so
# that it never pulls the engine from under the stack's server while other
# tests use it.  RUN_SERIAL only orders one ctest run: on a machine shared
# with other test runs, leave both out with `ctest -LE fault`.
#
# The third fault of the list, a server killed with SIGKILL mid-run whose
# successor removes its leftovers, is the last case of
# tests/integration/test_cli.sh.
add_test(NAME fault_engine_restart
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/faults/test_engine_restart.sh ${CMAKE_BINARY_DIR}
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(fault_engine_restart PROPERTIES LABELS "docker;fault" RUN_SERIAL TRUE
                     TIMEOUT 240 DEPENDS stack_stop)

add_test(NAME fault_burst
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/faults/test_burst.sh ${CMAKE_BINARY_DIR})
set_tests_properties(fault_burst PROPERTIES LABELS "docker;fault" RUN_SERIAL TRUE TIMEOUT 240)
