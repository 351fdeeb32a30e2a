#!/usr/bin/python3
"""prom_parse.py - the gateway's /metrics text, as Prometheus reads it.

Runs `test_metrics --sample FILE` (tests/unit/gateway/test_metrics.c), which
writes an exposition with a sample in every family, and reads it twice:

- with Prometheus's own Python parser (Debian's python3-prometheus-client):
  every family expected is there once, with its type, and its samples carry
  the expected names, labels and values (the escaped instance id reads back
  as it was sent);
- line by line against the text format 0.0.4, which that parser is too lax
  to check: HELP then TYPE once per family before its samples, names and
  label syntax, numbers Go's ParseFloat reads, and each histogram's buckets
  increasing in le, cumulative, ending with +Inf equal to _count.

A missing parser is a failure, not a skip.  Usage: prom_parse.py TEST_METRICS
"""
import math
import os
import re
import subprocess
import sys
import tempfile

from prometheus_client.parser import text_string_to_metric_families

# Every family of docs/API.md's "GET /metrics", with its type.
FAMILIES = {
    "sce_runs": "counter",
    "sce_http_requests": "counter",
    "sce_http_request_duration_seconds": "histogram",
    "sce_refused": "counter",
    "sce_live_runs": "gauge",
    "sce_rpc_duration_seconds": "histogram",
    "sce_rpc_failures": "counter",
    "sce_backend_up": "gauge",
    "sce_backend_in_flight": "gauge",
    "sce_backend_runs": "counter",
    "sce_backend_failures": "counter",
    "sce_server_engine_up": "gauge",
    "sce_server_workers": "gauge",
    "sce_server_busy_workers": "gauge",
    "sce_server_queued": "gauge",
    "sce_server_queue_capacity": "gauge",
    "sce_server_pool_ready": "gauge",
    "sce_server_pool_hits": "counter",
    "sce_server_pool_misses": "counter",
    "sce_server_runs": "counter",
    "sce_server_uptime_seconds": "gauge",
    "sce_server_info": "gauge",
}

A = "tcp://127.0.0.1:7701"
B = "tcp://127.0.0.1:7702"
# (sample name, labels, value) that must be there, as the sample wrote them.
EXPECTED = [
    ("sce_runs_total", {"language": "python", "verdict": "ok"}, 1),
    ("sce_runs_total", {"language": "node", "verdict": "error"}, 1),
    ("sce_runs_total", {"language": "other", "verdict": "timeout"}, 0),
    ("sce_http_requests_total", {"route": "/run", "code": "200"}, 2),
    ("sce_http_requests_total", {"route": "/run-batch", "code": "429"}, 1),
    ("sce_http_requests_total", {"route": "/history/{id}", "code": "other"}, 1),
    ("sce_http_request_duration_seconds_bucket", {"route": "/run", "le": "0.005"}, 1),
    ("sce_http_request_duration_seconds_bucket", {"route": "/run", "le": "0.5"}, 2),
    ("sce_http_request_duration_seconds_count", {"route": "/run"}, 2),
    ("sce_http_request_duration_seconds_sum", {"route": "/run"}, 0.304),
    ("sce_http_request_duration_seconds_bucket", {"route": "/history/{id}", "le": "60"}, 0),
    ("sce_http_request_duration_seconds_bucket", {"route": "/history/{id}", "le": "+Inf"}, 1),
    ("sce_refused_total", {"reason": "rate_limit"}, 1),
    ("sce_refused_total", {"reason": "busy"}, 1),
    ("sce_refused_total", {"reason": "unauthenticated"}, 0),
    ("sce_refused_total", {"reason": "live_runs"}, 0),
    ("sce_live_runs", {}, 0),
    ("sce_rpc_duration_seconds_count", {"backend": A, "method": "run"}, 2),
    ("sce_rpc_duration_seconds_bucket", {"backend": A, "method": "run", "le": "0.025"}, 1),
    ("sce_rpc_duration_seconds_sum", {"backend": A, "method": "run"}, 61.02),
    ("sce_rpc_duration_seconds_bucket", {"backend": B, "method": "health", "le": "0.5"}, 1),
    ("sce_rpc_failures_total", {"backend": A, "method": "run"}, 1),
    ("sce_rpc_failures_total", {"backend": B, "method": "health"}, 1),
    ("sce_backend_up", {"backend": A}, 1),
    ("sce_backend_up", {"backend": B}, 0),
    ("sce_backend_in_flight", {"backend": A}, 3),
    ("sce_backend_runs_total", {"backend": A}, 1240),
    ("sce_backend_failures_total", {"backend": B}, 5),
    ("sce_server_engine_up", {"backend": A}, 1),
    ("sce_server_workers", {"backend": A}, 4),
    ("sce_server_busy_workers", {"backend": A}, 3),
    ("sce_server_queued", {"backend": A}, 2),
    ("sce_server_queue_capacity", {"backend": A}, 64),
    ("sce_server_pool_ready", {"backend": A}, 5),
    ("sce_server_pool_hits_total", {"backend": A}, 1000),
    ("sce_server_pool_misses_total", {"backend": A}, 234),
    ("sce_server_runs_total", {"backend": A}, 1234),
    ("sce_server_uptime_seconds", {"backend": A}, 90.5),
    ("sce_server_info", {"backend": A, "instance_id": 'node "a"\\1\nx',
                         "server_version": "0.12.0", "engine_version": "24.0.5"}, 1),
]

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
# Go's strconv.ParseFloat as Prometheus uses it, less hex floats.
NUMBER = r"[+-]?(?:Inf|NaN|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?\})? (%s)$" % (NAME, LABEL, LABEL, NUMBER))
SUFFIXES = {"counter": [""], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_lines(text):
    """The format, line by line; returns the histograms' bucket rows."""
    if not text.endswith("\n"):
        fail("the text does not end with a newline")
    seen, family, typ, helped = set(), None, None, False
    buckets = {}  # (family, labels without le) -> [(le, value)]
    counts = {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            if not re.fullmatch(NAME, name) or name in seen:
                fail("line %d: HELP of %r again or malformed" % (n, name))
            seen.add(name)
            family, typ, helped = name, None, True
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[2] != family or not helped or typ is not None:
                fail("line %d: TYPE not right after its HELP: %r" % (n, line))
            typ = parts[3]
            if typ not in SUFFIXES:
                fail("line %d: type %r" % (n, typ))
            if typ == "counter" and not family.endswith("_total"):
                fail("line %d: counter %r without _total" % (n, family))
        else:
            m = SAMPLE.match(line)
            if not m:
                fail("line %d is no sample: %r" % (n, line))
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            if typ is None or name not in [family + s for s in SUFFIXES[typ]]:
                fail("line %d: %r outside its family (%s)" % (n, name, family))
            float(value.replace("Inf", "inf"))
            if typ == "histogram":
                parts = re.findall(LABEL, labels)
                les = [p for p in parts if p.startswith("le=")]
                rest = ",".join(p for p in parts if not p.startswith("le="))
                if name.endswith("_bucket"):
                    if len(les) != 1 or parts[-1] != les[0]:
                        fail("line %d: a bucket without le last" % n)
                    buckets.setdefault((family, rest), []).append((les[0][4:-1], float(value)))
                elif les:
                    fail("line %d: le on %s" % (n, name))
                elif name.endswith("_count"):
                    counts[(family, rest)] = float(value)
    for key, rows in buckets.items():
        les = [float(le.replace("Inf", "inf")) for le, _ in rows]
        values = [v for _, v in rows]
        if les != sorted(les) or len(set(les)) != len(les) or les[-1] != math.inf:
            fail("%s: le not increasing to +Inf: %s" % (key, les))
        if values != sorted(values):
            fail("%s: buckets not cumulative: %s" % (key, values))
        if counts.get(key) != values[-1]:
            fail("%s: _count %s is not the +Inf bucket %s" % (key, counts.get(key), values[-1]))
    if not buckets:
        fail("no histogram buckets at all")
    return seen


def main():
    if len(sys.argv) != 2:
        fail("usage: prom_parse.py TEST_METRICS")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "metrics.txt")
        subprocess.run([sys.argv[1], "--sample", path], check=True)
        with open(path, encoding="utf-8") as f:
            text = f.read()

    declared = check_lines(text)
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    if len(names) != len(set(names)):
        fail("a family appears twice: %s" % names)
    got = {f.name: f for f in families}
    if set(got) != set(FAMILIES):
        fail("families: extra %s, missing %s"
             % (sorted(set(got) - set(FAMILIES)), sorted(set(FAMILIES) - set(got))))
    for name, typ in FAMILIES.items():
        if got[name].type != typ:
            fail("%s is a %s, not a %s" % (name, got[name].type, typ))
        if not got[name].samples:
            fail("%s has no sample" % name)
        if not got[name].documentation:
            fail("%s has no HELP" % name)
        if (name + "_total" if typ == "counter" else name) not in declared:
            fail("%s declared under another name" % name)
    samples = [(s.name, s.labels, s.value) for f in families for s in f.samples]
    for name, labels, value in EXPECTED:
        match = [v for n, l, v in samples if n == name and l == labels]
        if len(match) != 1:
            fail("%d samples %s%s" % (len(match), name, labels))
        if not math.isclose(match[0], value, rel_tol=1e-12):
            fail("%s%s is %r, not %r" % (name, labels, match[0], value))
    print("ok: %d families, %d samples" % (len(families), len(samples)))


if __name__ == "__main__":
    main()
