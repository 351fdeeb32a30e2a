# Browser test of the gateway's page (ctest label: browser), included by
# tests/CMakeLists.txt.  Needs the `stack` fixture (server + gateway, whose
# URL it reads from ${CMAKE_BINARY_DIR}/test-stack.env) and Debian's
# /usr/bin/chromium; without either it fails, it never skips.
#
#   ctest -L browser --output-on-failure
#   SCE_GATEWAY=http://127.0.0.1:18080 node tests/browser/browser.test.mjs   (by hand)

set(_browser_dir ${CMAKE_CURRENT_LIST_DIR})

include(${PROJECT_SOURCE_DIR}/cmake/npm.cmake)
sce_require_node("the browser test")

# playwright-core only (it downloads no browser): npm ci when node_modules is
# missing or the lock file changed.
sce_npm_ci(${_browser_dir} _browser_stamp "browser test")
add_custom_target(sce_browser_test_deps ALL DEPENDS ${_browser_stamp})

add_test(NAME browser_ui
         COMMAND ${SCE_NODE_EXECUTABLE} ${_browser_dir}/browser.test.mjs
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(browser_ui PROPERTIES
  LABELS browser
  TIMEOUT 240
  FIXTURES_REQUIRED stack
  ENVIRONMENT "SCE_TEST_STACK_ENV=${CMAKE_BINARY_DIR}/test-stack.env")
