# Unit tests of libsce and of the sce command-line client, against a scripted
# fake server (unit/client/fake_server.c) on 127.0.0.1 or a temporary ipc://
# socket.  No sce-server, no Docker.
add_library(sce_test_fake_server STATIC unit/client/fake_server.c unit/client/tcp_tap.c)
target_link_libraries(sce_test_fake_server PUBLIC sce_proto nng::nng Threads::Threads)

sce_unit_test(test_client unit/client/test_client.c sce sce_test_fake_server)

# The CLI test runs the built `sce` binary as a child process, so it needs
# the binary's path and the binary built first.
sce_unit_test(test_cli unit/client/test_cli.c sce_test_fake_server PkgConfig::JANSSON)
target_compile_definitions(test_cli PRIVATE SCE_CLI_PATH="$<TARGET_FILE:sce_cli>")
add_dependencies(test_cli sce_cli)

# Project intake: ZIP archives (good and hostile, built by the test with
# libarchive) and directories.
sce_unit_test(test_zip unit/client/test_zip.c sce PkgConfig::LIBARCHIVE)
