# Integration tests: the real sce-server (and sce-gateway) against the real
# Docker Engine.  The fixture `stack` starts them once for all tests and, on
# cleanup, fails if any container of its instance is left.
set(SCE_STACK_ENV ${CMAKE_BINARY_DIR}/test-stack.env)
set(SCE_STACK ${CMAKE_CURRENT_SOURCE_DIR}/integration/stack.sh)

add_test(NAME stack_start COMMAND ${SCE_STACK} start ${CMAKE_BINARY_DIR} ${SCE_STACK_ENV})
set_tests_properties(stack_start PROPERTIES FIXTURES_SETUP stack LABELS docker TIMEOUT 120)
add_test(NAME stack_stop COMMAND ${SCE_STACK} stop ${CMAKE_BINARY_DIR} ${SCE_STACK_ENV})
set_tests_properties(stack_stop PROPERTIES FIXTURES_CLEANUP stack LABELS docker TIMEOUT 120)

pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
add_executable(test_run integration/test_run.c)
target_link_libraries(test_run PRIVATE PkgConfig::CMOCKA sce sce_proto PkgConfig::CURL)
foreach(lang python node)
  add_test(NAME run_${lang} COMMAND test_run ${lang})
  set_tests_properties(run_${lang} PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                       ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
endforeach()

# Followed runs (RUN_START, RUN_POLL, RUN_STDIN, RUN_CANCEL) on the same
# stack: output as it comes, stdin, cancel, a reader gone, the output cap.
add_executable(test_follow integration/test_follow.c)
target_link_libraries(test_follow PRIVATE PkgConfig::CMOCKA sce PkgConfig::CURL)
foreach(lang python node)
  add_test(NAME follow_${lang} COMMAND test_follow ${lang})
  set_tests_properties(follow_${lang} PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                       ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
endforeach()

# The sce command line against the same stack, and the server's answers
# when the engine or an image is missing (servers of their own).
add_test(NAME cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_cli.sh ${CMAKE_BINARY_DIR})
set_tests_properties(cli PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})

# The in-container runners on their own, through `docker run -i` with the
# limit flags: bundle parsing, argv, stdin, tracebacks, exit codes.
add_test(NAME runners COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/runners/test_runners.sh)
set_tests_properties(runners PROPERTIES LABELS docker TIMEOUT 600
                     WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})

# The warm pool: refill, recycle, exhaustion, disabled, shutdown (servers of
# its own).
add_test(NAME pool COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_pool.sh ${CMAKE_BINARY_DIR})
set_tests_properties(pool PROPERTIES LABELS docker TIMEOUT 300)

# Projects, batches and history: projects and batches on the stack's server,
# history on servers the test starts itself (its own databases, a restart).
add_executable(test_project integration/test_project.c)
target_link_libraries(test_project PRIVATE PkgConfig::CMOCKA sce sce_proto PkgConfig::CURL
                      PkgConfig::LIBARCHIVE)
add_test(NAME project COMMAND test_project $<TARGET_FILE:sce-server>)
set_tests_properties(project PROPERTIES FIXTURES_REQUIRED stack LABELS docker TIMEOUT 300
                     ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
