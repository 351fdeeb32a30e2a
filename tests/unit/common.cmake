# Unit tests of libsce_common: the layered option loader and the capped buffer.
sce_unit_test(test_config unit/common/test_config.c sce_common)
sce_unit_test(test_buf unit/common/test_buf.c sce_common)
sce_unit_test(test_utf8 unit/common/test_utf8.c sce_common)
sce_unit_test(test_common unit/common/test_common.c sce_common sce_proto)
