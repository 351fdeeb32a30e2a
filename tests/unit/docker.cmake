# Unit tests of the Docker layer: the frame demuxer, and docker.c against a
# fake Engine API on a temporary unix socket (no real engine needed).
sce_unit_test(test_docker_stream unit/server/test_docker_stream.c sce_docker)
sce_unit_test(test_docker unit/server/test_docker.c sce_docker Threads::Threads
              PkgConfig::JANSSON)
