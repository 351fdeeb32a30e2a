# npm.cmake - Node.js and npm for the parts of the build that use them (the
# page in web-gateway/ui, the browser test), and `npm ci` done once per
# lock file.
#
#   sce_require_node(WHO)         fails the configure step, naming WHO, when
#                                 node or npm is missing
#   sce_npm_ci(DIR STAMP_VAR WHO) a command that runs `npm ci` in DIR only
#                                 when node_modules is missing or
#                                 package(-lock).json changed; STAMP_VAR gets
#                                 its output file, to depend on (the stamp
#                                 lives inside node_modules, so deleting it
#                                 reinstalls)
include_guard(GLOBAL)

find_program(SCE_NODE_EXECUTABLE NAMES node nodejs)
find_program(SCE_NPM_EXECUTABLE NAMES npm)

function(sce_require_node who)
  if(NOT SCE_NODE_EXECUTABLE OR NOT SCE_NPM_EXECUTABLE)
    message(FATAL_ERROR
      "${who} needs Node.js 18 or newer and npm, and node=${SCE_NODE_EXECUTABLE} "
      "npm=${SCE_NPM_EXECUTABLE}. Install them (Debian: apt-get install nodejs npm), or pass "
      "-DSCE_NODE_EXECUTABLE=/path/to/node -DSCE_NPM_EXECUTABLE=/path/to/npm.")
  endif()
endfunction()

function(sce_npm_ci dir stamp_var who)
  set(stamp ${dir}/node_modules/.sce-npm-ci.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${SCE_NPM_EXECUTABLE} ci --no-audit --no-fund
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${dir}/package.json ${dir}/package-lock.json
    WORKING_DIRECTORY ${dir}
    COMMENT "${who}: npm ci in ${dir}"
    VERBATIM)
  set(${stamp_var} ${stamp} PARENT_SCOPE)
endfunction()
