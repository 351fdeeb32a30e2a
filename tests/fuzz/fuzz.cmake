# libFuzzer drivers (ctest label: fuzz), included by tests/CMakeLists.txt.
#
# Built only with clang and -DSCE_FUZZ=ON, which instruments every library
# for coverage and needs SCE_SANITIZE (top-level CMakeLists.txt); with gcc,
# or without SCE_FUZZ, there is nothing here.  Each driver links with
# -fsanitize=fuzzer (libFuzzer's main) on top of ASan and UBSan.
#
# ctest runs each for SCE_FUZZ_SECONDS over a fresh copy of its seed corpus
# (tests/fuzz/corpus/<name>) in <build>/fuzz/<name>/corpus, so the source
# tree is never written; a crashing input lands in <build>/fuzz/<name>/
# artifacts/.  By hand, for longer:
#
#   CC=clang cmake -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCE_SANITIZE=ON -DSCE_FUZZ=ON \
#         -DSCE_WERROR=OFF
#   cmake --build build-asan && ctest --test-dir build-asan -L fuzz
#   build-asan/tests/fuzz_json -max_total_time=300 -dict=tests/fuzz/json.dict \
#         build-asan/fuzz/json/corpus
#   build-asan/tests/fuzz_json crash-<sha1>                 (replay one input)
#
# tests/fuzz/make_corpus.py writes the seed corpora.

if(NOT SCE_FUZZ OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  return()
endif()

set(SCE_FUZZ_SECONDS 20 CACHE STRING "seconds ctest runs each fuzzer")
set(_sce_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})

# Copies the corpus ($2) to $1/corpus, then runs the fuzzer (the remaining
# arguments) on that copy.
set(_sce_fuzz_run [=[w=$1 && c=$2 && shift 2 && rm -rf "$w" && mkdir -p "$w/artifacts" && cp -R "$c" "$w/corpus" && exec "$@" "$w/corpus"]=])

# sce_fuzzer(NAME LIBS...) builds fuzz_NAME from tests/fuzz/fuzz_NAME.c and
# registers the bounded run; NAME.dict, when present, is its dictionary.
function(sce_fuzzer name)
  set(target fuzz_${name})
  set(work ${CMAKE_BINARY_DIR}/fuzz/${name})
  add_executable(${target} ${_sce_fuzz_dir}/${target}.c)
  target_link_libraries(${target} PRIVATE ${ARGN})
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  set(dict)
  if(EXISTS ${_sce_fuzz_dir}/${name}.dict)
    set(dict -dict=${_sce_fuzz_dir}/${name}.dict)
  endif()
  add_test(NAME ${target}
           COMMAND sh -c "${_sce_fuzz_run}" sce-fuzz ${work} ${_sce_fuzz_dir}/corpus/${name}
                   $<TARGET_FILE:${target}> -max_total_time=${SCE_FUZZ_SECONDS} -timeout=5
                   -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix=${work}/artifacts/
                   ${dict})
  math(EXPR limit "${SCE_FUZZ_SECONDS} + 120")
  set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT ${limit} PROCESSORS 1)
endfunction()

# Envelope decode + request validation + bundle (server/request.c, runner_input.c).
sce_fuzzer(request sce_server_core)
# The attach-stream demuxer (server/docker_stream.c).
sce_fuzzer(stream sce_docker)
# The runner's end marker (server/marker.c), whole and piece by piece.
sce_fuzzer(marker sce_server_core)
# The gateway's JSON mapping (web-gateway/json.c).
if(TARGET sce_gateway_core)
  sce_fuzzer(json sce_gateway_core)
  # Piston's and Judge0's request/answer mapping (piston_request.c, judge0_*.c).
  sce_fuzzer(compat sce_gateway_core)
endif()
# libsce's ZIP intake (client/bundle.c), checked against request_check_run.
sce_fuzzer(zip sce sce_server_core)
