# Browser test of the gateway's page (ctest label: browser), included by
# tests/CMakeLists.txt.  Needs the `stack` fixture (server + gateway, whose
# URL it reads from ${CMAKE_BINARY_DIR}/test-stack.env) and Debian's
# /usr/bin/chromium; without either it fails, it never skips.
#
#   ctest -L browser --output-on-failure
#   SCE_GATEWAY=http://127.0.0.1:18080 node tests/browser/browser.test.mjs   (by hand)

set(_browser_dir ${CMAKE_CURRENT_LIST_DIR})

find_program(SCE_NODE_EXECUTABLE NAMES node nodejs)
find_program(SCE_NPM_EXECUTABLE NAMES npm)
if(NOT SCE_NODE_EXECUTABLE OR NOT SCE_NPM_EXECUTABLE)
  message(FATAL_ERROR
    "the browser test needs Node.js 18 or newer and npm (Debian: apt-get install nodejs npm), "
    "or configure with -DSCE_BUILD_TESTS=OFF.")
endif()

# playwright-core only (it downloads no browser): npm ci when node_modules is
# missing or the lock file changed.
set(_browser_stamp ${_browser_dir}/node_modules/.sce-npm-ci.stamp)
add_custom_command(
  OUTPUT ${_browser_stamp}
  COMMAND ${SCE_NPM_EXECUTABLE} ci --no-audit --no-fund
  COMMAND ${CMAKE_COMMAND} -E touch ${_browser_stamp}
  DEPENDS ${_browser_dir}/package.json ${_browser_dir}/package-lock.json
  WORKING_DIRECTORY ${_browser_dir}
  COMMENT "browser test: npm ci in tests/browser"
  VERBATIM)
add_custom_target(sce_browser_test_deps ALL DEPENDS ${_browser_stamp})

add_test(NAME browser_ui
         COMMAND ${SCE_NODE_EXECUTABLE} ${_browser_dir}/browser.test.mjs
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(browser_ui PROPERTIES
  LABELS browser
  TIMEOUT 240
  FIXTURES_REQUIRED stack
  ENVIRONMENT "SCE_TEST_STACK_ENV=${CMAKE_BINARY_DIR}/test-stack.env")
