# The Swarm deployment on this machine: scripts/swarm.sh up --servers 3,
# runs through its gateway, scripts/swarm.sh down (tests/swarm/test_swarm.sh).
# It makes a one-node swarm when the engine is in none and leaves it again,
# so nothing else may use the engine meanwhile: RUN_SERIAL.  Fails, never
# skips, when it cannot run.
add_test(NAME swarm COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/swarm/test_swarm.sh ${CMAKE_BINARY_DIR})
set_tests_properties(swarm PROPERTIES LABELS "docker;swarm" TIMEOUT 1200 RUN_SERIAL TRUE
                     WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
