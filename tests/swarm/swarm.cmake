# The Swarm deployment on this machine: scripts/swarm.sh up --servers 3,
# runs through its gateway, scripts/swarm.sh down (tests/swarm/test_swarm.sh).
# It makes a one-node swarm when the engine is in none and leaves it again;
# tests beside it are not disturbed by that (their containers have no
# network, and each test checks only its own instances' containers), so it
# runs in parallel like the others.  The fault tests, which restart the
# engine, are RUN_SERIAL and so never overlap it.  Fails, never skips, when
# it cannot run.  COST: the longest test (it builds three images), so ctest
# starts it first and the rest runs beside it.
add_test(NAME swarm COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/swarm/test_swarm.sh ${CMAKE_BINARY_DIR})
set_tests_properties(swarm PROPERTIES LABELS "docker;swarm" TIMEOUT 1200 COST 1000
                     WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
