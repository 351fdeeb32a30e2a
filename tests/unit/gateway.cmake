# Unit tests of sce-gateway's pure parts: the JSON <-> libsce mapping.
sce_unit_test(test_json unit/gateway/test_json.c sce_gateway_core)
