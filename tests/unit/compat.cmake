# Unit tests of the Piston and Judge0 compatibility routes' pure parts.
# Judge0 CE (web-gateway/judge0_*.c): tokens, the Wrong Answer comparison,
# statuses from verdicts, base64 as Ruby writes it, ?fields=, the
# serialiser, submissions checked with Judge0's 422 shapes, languages.
sce_unit_test(test_judge0 unit/gateway/test_judge0.c sce_gateway_core)
