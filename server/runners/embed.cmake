# Writes the runner sources, and the seccomp profile (server/seccomp.json),
# as C string constants (hex bytes, so any character survives).  Called by
# server/CMakeLists.txt at build time.
function(embed var path)
  file(READ ${path} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR len "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  set(body "${body}const char ${var}[] = {${bytes}0};\nconst unsigned long ${var}_len = ${len};\n" PARENT_SCOPE)
endfunction()
set(body "/* Generated from server/runners/ and server/seccomp.json by embed.cmake; do not edit. */\n")
embed(sce_runner_python ${PYTHON})
embed(sce_runner_node ${NODE})
embed(sce_seccomp_profile ${SECCOMP})
file(WRITE ${OUT} "${body}")
