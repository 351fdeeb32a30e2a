# Unit tests of libsce_common: the layered option loader and the capped buffer.
sce_unit_test(test_config unit/common/test_config.c sce_common)
sce_unit_test(test_buf unit/common/test_buf.c sce_common)
