# The docs' option tables and config examples agree with the programs'
# --help (tests/docs/options_docs.py; --write regenerates the tables).
find_program(SCE_PYTHON3 python3 REQUIRED)
add_test(NAME docs_options
         COMMAND ${SCE_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/options_docs.py --check
                 --server $<TARGET_FILE:sce-server> --gateway $<TARGET_FILE:sce-gateway>
                 --build-dir ${CMAKE_BINARY_DIR} --source-dir ${PROJECT_SOURCE_DIR})
set_tests_properties(docs_options PROPERTIES LABELS unit TIMEOUT 60)
