# The adversarial suite (docs/SECURITY.md): hostile programs and clients
# against the stack's real gateway, server and engine.  One ctest test per
# group, so that groups run side by side under ctest -j (all but the
# resources group).
add_executable(test_security security/test_security.c)
target_link_libraries(test_security PRIVATE PkgConfig::CMOCKA sce sce_proto PkgConfig::CURL
                      PkgConfig::JANSSON Threads::Threads)
foreach(group resources output network secrets escape seccomp input gateway config)
  add_test(NAME security_${group}
           COMMAND test_security ${group} ${CMAKE_CURRENT_SOURCE_DIR}/security/programs
                   $<TARGET_FILE:sce-server>)
  set_tests_properties(security_${group} PROPERTIES FIXTURES_REQUIRED stack LABELS docker
                       TIMEOUT 240 ENVIRONMENT SCE_TEST_STACK_ENV=${SCE_STACK_ENV})
endforeach()
# Its bombs and burners take the host's CPUs for seconds: alone, the other
# groups' runs (and their timeouts) do not compete with them.
set_tests_properties(security_resources PROPERTIES RUN_SERIAL TRUE)
