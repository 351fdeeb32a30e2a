# The PostgreSQL history.  test_history_pg: its pure parts always (unit);
# with a database (SCE_TEST_PG_URL) also two stores sharing it.  history_pg:
# a throwaway PostgreSQL (pg.sh) shared by three sce-servers on the real
# engine: one history in time order, nothing lost to kill -9 or to the
# database stopped for 10 s (it also runs test_history_pg against it).
sce_unit_test(test_history_pg unit/server/test_history_pg.c sce_server_core PkgConfig::LIBPQ)

add_test(NAME history_pg
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_history_pg.sh ${CMAKE_BINARY_DIR}
                 $<TARGET_FILE:test_history_pg>)
set_tests_properties(history_pg PROPERTIES LABELS docker TIMEOUT 600)
