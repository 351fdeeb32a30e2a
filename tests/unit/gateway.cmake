# Unit tests of sce-gateway's pure parts: the JSON <-> libsce mapping.
sce_unit_test(test_json unit/gateway/test_json.c sce_gateway_core)
# ... and of POST /run-batch, GET /history and the /run-zip Content-Type.
sce_unit_test(test_json_project unit/gateway/test_json_project.c sce_gateway_core)
