# sce-gateway over HTTP against the real server and engine (fixture `stack`
# from integration.cmake).  The test also starts servers and gateways of its
# own for the statuses the stack cannot produce (429, 503, 504, shutdown),
# so it needs both programs built.
if(NOT DEFINED SCE_STACK_ENV)
  set(SCE_STACK_ENV ${CMAKE_BINARY_DIR}/test-stack.env)
endif()
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
add_executable(test_gateway integration/gateway/test_gateway.c)
target_link_libraries(test_gateway PRIVATE PkgConfig::CMOCKA PkgConfig::CURL PkgConfig::JANSSON
                      Threads::Threads)
target_compile_definitions(test_gateway PRIVATE
  SCE_GATEWAY_PATH="$<TARGET_FILE:sce-gateway>"
  SCE_SERVER_PATH="$<TARGET_FILE:sce-server>")
add_dependencies(test_gateway sce-gateway sce-server)
add_test(NAME gateway_http COMMAND test_gateway)
set_tests_properties(gateway_http PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# POST /run-zip, POST /run-batch and GET /history over HTTP: good projects
# and batches on the stack's gateway; hostile archives, limits and history
# pages on a server and gateways of its own (its own instance, so the
# engine's events show that no hostile archive got a container).
add_executable(test_gateway_project integration/gateway/test_gateway_project.c)
target_link_libraries(test_gateway_project PRIVATE PkgConfig::CMOCKA PkgConfig::CURL
                      PkgConfig::JANSSON PkgConfig::LIBARCHIVE)
target_compile_definitions(test_gateway_project PRIVATE
  SCE_GATEWAY_PATH="$<TARGET_FILE:sce-gateway>"
  SCE_SERVER_PATH="$<TARGET_FILE:sce-server>")
add_dependencies(test_gateway_project sce-gateway sce-server)
add_test(NAME gateway_project COMMAND test_gateway_project)
set_tests_properties(gateway_project PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# Streamed runs over HTTP (curl -N): lines as they come, stdin through
# POST /runs/{id}/stdin (Python, Node.js), a client that hangs up (its run
# cancelled, its container gone within 5 s), 404/409, and a slow reader
# that cannot grow the gateway's memory; the stack's server behind a
# gateway of the test's own.
add_test(NAME gateway_stream
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/gateway/test_gateway_stream.sh
                 $<TARGET_FILE:sce-gateway>)
set_tests_properties(gateway_stream PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# GET /api/v2/connect driven as Piston's own CLI drives Piston (npm's `ws`
# client, tests/piston): interactive Python and Node.js runs, the close
# codes 4000/4001/4003, an unknown runtime (error + 4002), the output cap,
# a cross-site Origin (403), and a client that leaves mid-run (its
# container gone within 5 s).
include(${PROJECT_SOURCE_DIR}/cmake/npm.cmake)
sce_require_node("the Piston WebSocket test")
sce_npm_ci(${CMAKE_CURRENT_SOURCE_DIR}/piston _piston_stamp "Piston WebSocket test")
add_custom_target(sce_piston_test_deps ALL DEPENDS ${_piston_stamp})
add_test(NAME gateway_piston_ws
         COMMAND ${SCE_NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/piston/piston_ws.test.mjs)
set_tests_properties(gateway_piston_ws PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# Piston v2's REST routes (GET /api/v2/runtimes, POST /api/v2/execute)
# driven by npm's `piston-client`, unchanged (tests/piston): runtimes, Python
# and Node.js runs, stdin and args, an unknown language, stdout and stderr
# interleaved in `output`, a signal, a timeout (TO).
add_test(NAME gateway_piston_client
         COMMAND ${SCE_NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/piston/piston_client.test.mjs)
set_tests_properties(gateway_piston_client PROPERTIES FIXTURES_REQUIRED stack LABELS docker
                     TIMEOUT 300 ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# Piston's documented requests and answers (tests/piston/fixtures/*.json,
# from its readme and docs/api-v2.md) through the gateway: status, shape
# (keys and types) and the deterministic values.
add_test(NAME gateway_piston_fixtures
         COMMAND ${SCE_NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/piston/piston_fixtures.test.mjs)
set_tests_properties(gateway_piston_fixtures PROPERTIES FIXTURES_REQUIRED stack LABELS docker
                     TIMEOUT 300 ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
