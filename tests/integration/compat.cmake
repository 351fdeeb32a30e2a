# Judge0 CE 1.13's API on sce-gateway against the real server and engine
# (fixture `stack`): the requests and answers of Judge0's documentation
# replayed (tests/judge0/fixtures.json), and what Judge0 decides (Accepted,
# Wrong Answer, TLE, NZEC, SIGSEGV, SIGFPE, wait=false, 404, 422, fields=*,
# base64), on a gateway of the test's own without a rate limit.
if(NOT DEFINED SCE_STACK_ENV)
  set(SCE_STACK_ENV ${CMAKE_BINARY_DIR}/test-stack.env)
endif()
find_program(SCE_JUDGE0_NODE node REQUIRED)
add_test(NAME judge0_api
         COMMAND ${SCE_JUDGE0_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/judge0/judge0.test.mjs
                 $<TARGET_FILE:sce-gateway>)
set_tests_properties(judge0_api PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
