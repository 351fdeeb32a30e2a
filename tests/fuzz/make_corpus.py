#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/<name>/.

    python3 tests/fuzz/make_corpus.py      (from anywhere; rewrites the seeds)

Each seed is small and deterministic (fixed timestamps, no randomness), so
running this again changes nothing unless the seeds below change.  Files
in corpus/<name>/ that this script does not write (regression inputs kept
after a fix) are left alone.

request: sce.v1.Request messages, encoded here by hand (the wire format is
    simple and the Python protobuf package is not a dependency): Run,
    RunProject, Batch, Languages, Health, valid and refused.
stream:  two control bytes (how the driver cuts the stream, how often its
    callback stops), then Docker attach frames.
marker:  three control bytes (the nonce: exec.c's 32 digits, a short one or
    none; how the driver cuts the output; a `from`), then a stream's output
    with the runner's end marker in it, whole, cut, or nearly a marker.
json:    POST /run and /run-batch bodies, good and bad, and GET /history
    parameters (limit&offset&verdict&language).
zip:     archives built with zipfile: good projects, every compression
    zipfile writes, and the hostile kinds the intake must refuse.
compat:  Piston execute bodies (tests/piston/fixtures/execute_*.json's
    requests) and Judge0 submissions (tests/judge0/fixtures.json's POST
    bodies, a batch's items one by one), then hostile bodies (wrong types,
    huge numbers, 1e300, nested arrays, base64 garbage, a meta with an
    out-of-range created_at_ms) and the strings the driver also reads the
    input as: a token, ?fields=, command_line_arguments, base64.
"""
import glob
import io
import json
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
TESTS = os.path.dirname(HERE)


def write(name, seed, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# ------------------------------------------------------------ protobuf

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3 | 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


# proto/sce.proto field numbers.
RUN, LANGUAGES, HEALTH, RUN_PROJECT, RUN_BATCH = 1, 2, 3, 4, 5


def limits(timeout_ms=0, memory_bytes=0, output_limit_bytes=0):
    out = b""
    if timeout_ms:
        out += f_varint(1, timeout_ms)
    if memory_bytes:
        out += f_varint(2, memory_bytes)
    if output_limit_bytes:
        out += f_varint(3, output_limit_bytes)
    return out


def run_request(language=None, code=None, stdin=None, args=(), lim=None, files=(), entry=None):
    out = b""
    if language is not None:
        out += f_bytes(1, language)
    if code is not None:
        out += f_bytes(2, code)
    if stdin is not None:
        out += f_bytes(3, stdin)
    for a in args:
        out += f_bytes(4, a)
    if lim is not None:
        out += f_bytes(5, lim)
    for path, content in files:
        out += f_bytes(6, f_bytes(1, path) + f_bytes(2, content))
    if entry is not None:
        out += f_bytes(7, entry)
    return out


def request(method, body_field=None, body=b"", rid="0123456789abcdef", deadline_ms=60000):
    out = f_varint(1, method) + f_bytes(2, rid) + f_varint(3, deadline_ms)
    if body_field is not None:
        out += f_bytes(body_field, body)
    return out


def requests():
    hello = run_request("python", "print('hello')\n")
    yield "run_python", request(RUN, 10, hello)
    yield "run_node_full", request(RUN, 10, run_request(
        "node", "const fs = require('fs');\nconsole.log(process.argv.slice(2), fs.readFileSync(0, 'utf8'));\n",
        stdin=b"line one\nline two\x00\xff", args=["-v", "two words", "\u00e9t\u00e9"],
        lim=limits(2000, 64 << 20, 4096)))
    yield "run_code_entry", request(RUN, 10, run_request("python", "print(1)", entry="app/run.py"))
    yield "run_utf8", request(RUN, 10, run_request("python", "print('h\u00e9llo \u2713 \U0001F600')\n"))
    yield "run_project", request(RUN_PROJECT, 13, run_request(
        "python", files=[("main.py", "import pkg.util\npkg.util.hi()\n"), ("pkg/__init__.py", ""),
                         ("pkg/util.py", "def hi():\n    print('hi')\n"), ("data/in.bin", b"\x00\x01\xfe")],
        entry="main.py"))
    yield "run_project_default_entry", request(RUN_PROJECT, 13, run_request(
        "node", files=[("main.js", "require('./lib/a.js')"), ("lib/a.js", "console.log('a')")]))
    yield "batch", request(RUN_BATCH, 14, f_bytes(1, hello) + f_bytes(1, run_request(
        "node", "console.log(2)", lim=limits(timeout_ms=500))))
    yield "languages", request(LANGUAGES, 11, b"")
    yield "health", request(HEALTH, 12, b"")
    # Refused, each for one reason.
    yield "bad_language", request(RUN, 10, run_request("ruby", "puts 1"))
    yield "bad_utf8", request(RUN, 10, run_request("python", b"print('\xc3\x28')"))
    yield "bad_both", request(RUN, 10, run_request("python", "x", files=[("main.py", "y")]))
    yield "bad_limits", request(RUN, 10, run_request("python", "x", lim=limits(3600000, 1 << 40, 1 << 30)))
    yield "bad_low_limits", request(RUN, 10, run_request("python", "x", lim=limits(1, 1, 1)))
    yield "bad_paths", request(RUN_PROJECT, 13, run_request(
        "python", files=[("main.py", "x"), ("a/../../etc/passwd", "y")], entry="main.py"))
    yield "bad_clash", request(RUN_PROJECT, 13, run_request(
        "python", files=[("a", "x"), ("a/b", "y")], entry="a"))
    yield "bad_entry", request(RUN_PROJECT, 13, run_request(
        "python", files=[("main.py", "x")], entry="other.py"))
    yield "bad_body", request(RUN, 11, b"")
    yield "bad_method", request(99, None)


# ------------------------------------------------------------ stream

def frame(stream, payload, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    return struct.pack(">BxxxI", stream, n) + payload


def streams():
    yield "out_err", b"\x07\x00" + frame(1, "hello\n") + frame(2, "Traceback: oops\n") + frame(1, "bye\n")
    yield "one_byte_pieces", b"\x00\x03" + frame(1, "a" * 40) + frame(2, "b" * 40)
    yield "zero_length", b"\x10\x01" + frame(1, "") + frame(0, "in") + frame(2, "") + frame(1, "x")
    yield "cut_header", b"\x05\x00" + frame(1, "ok") + b"\x01\x00\x00"
    yield "cut_payload", b"\x21\x02" + frame(2, "partial", length=1000)
    yield "bad_stream", b"\x03\x00" + frame(1, "fine") + frame(3, "bad")
    yield "bad_padding", b"\x08\x00" + frame(1, "fine") + b"\x01\x00\x01\x00\x00\x00\x00\x01z"
    yield "huge_length", b"\x3f\x05" + frame(1, "x" * 64, length=0xFFFFFFFF)
    yield "many_frames", b"\x3f\x06" + b"".join(frame(1 + i % 2, bytes([65 + i % 26]) * (i % 9)) for i in range(64))
    yield "utf8_split", b"\x01\x00" + frame(1, "\u00e9\u2713\U0001F600".encode())


# ------------------------------------------------------------ marker

# fuzz_marker.c's nonce, as exec.c writes it, and its short form.
NONCE = bytes([0x5c, 0xe0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
               0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x10]).hex().encode()
TAG = b"\x1eSCE-END:"


def marker(body, nonce=NONCE):
    return TAG + nonce + b":" + body


def markers():
    # Control bytes: nonce (0: 32 digits; 1 + 4 * (k - 1): k digits; 3: none),
    # piece length (n % 64 + 1 at most), from.
    full, short1, short4, none = 0, 1, 1 + 4 * 3, 3
    yield "full_form", bytes([full, 63, 0]) + b"hello\n" + marker(b"0:1234:56789012\n")
    yield "short_form", bytes([full, 63, 0]) + b"x" + marker(b"1\n")
    yield "split", bytes([full, 0, 0]) + b"out\n" + marker(b"3:250000:104857600\n") + b"after\n"
    yield "split_pieces", bytes([full, 6, 2]) + b"y" * 120 + marker(b"9999:9999999999999999999:1\n")
    yield "twentieth_digit", bytes([full, 17, 0]) + marker(b"0:12345678901234567890:1\n") + marker(b"2:3:4\n")
    yield "sign", bytes([full, 63, 0]) + marker(b"0:-1:2\n") + marker(b"0:1:2\n")
    yield "fourth_field", bytes([full, 9, 0]) + marker(b"0:1:2:3\n")
    yield "garbage", (bytes([full, 3, 40]) + b"\x1e\x1eSCE-END\x00\xff" + marker(b"7:8:9\n")
                      + b"\x1e" + marker(b"1:2:3\n")[:-1] + b"\x1eSCE")
    yield "pending", bytes([full, 1, 0]) + b"a" * 100 + marker(b"0:12:3")
    yield "short_nonce", bytes([short1, 2, 0]) + b"z" + marker(b"5:6:7\n", NONCE[:1]) + b"q"
    yield "short_nonce4", bytes([short4, 5, 8]) + marker(b"0\n", NONCE[:4]) + marker(b"1:2\n", NONCE[:4])
    yield "no_nonce", bytes([none, 4, 0]) + TAG + b":0:1:2\n" + marker(b"0:1:2\n")


# ------------------------------------------------------------ json

def jsons():
    yield "code", b'{"code": "print(1)"}'
    yield "full", (b'{"language": "node", "code": "console.log(process.argv)", '
                   b'"stdin": "x\\u0000y\\n", "args": ["a", "two words", "\\u00e9"], '
                   b'"timeout_ms": 1000, "memory_bytes": 67108864, "output_limit_bytes": 1024}')
    yield "files", (b'{"language": "python", "files": [{"path": "main.py", "content": "import util"}, '
                    b'{"path": "util.py", "content": "print(\\"u\\")\\u0000"}], "entry": "main.py"}')
    yield "nulls", b'{"code": "x", "language": null, "stdin": null, "args": null, "entry": null}'
    yield "utf8", '{"code": "print(\'h\u00e9llo \u2713 \U0001F600\')"}'.encode()
    yield "bad_type", b'{"code": 1}'
    yield "bad_args", b'{"code": "x", "args": ["a", 2]}'
    yield "bad_both", b'{"code": "x", "files": [{"path": "a", "content": "b"}]}'
    yield "bad_files", b'{"files": [{"path": "a"}, 3]}'
    yield "bad_empty_files", b'{"files": []}'
    yield "bad_nul", b'{"code": "a\\u0000b"}'
    yield "bad_dup", b'{"code": "a", "code": "b"}'
    yield "bad_limit", b'{"code": "x", "timeout_ms": 4294967296, "memory_bytes": -1}'
    yield "bad_float", b'{"code": "x", "output_limit_bytes": 1.5}'
    yield "not_object", b'[1, "two", {"three": 3}]'
    yield "scalar", b'42'
    yield "bad_json", b'{"code": "x",'
    yield "bad_utf8", b'{"code": "\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80"}'
    yield "surrogates", b'{"code": "\\ud83d\\ude00 \\ud800"}'
    yield "deep", b'{"code": "x", "args": ' + b"[" * 64 + b"]" * 64 + b"}"
    yield "content_type", b"application/json; charset=\"UTF-8\""
    yield "batch", (b'{"tasks": [{"code": "print(1)"}, {"language": "node", "code": "console.log(2)", '
                    b'"args": ["a"]}, {"files": [{"path": "main.py", "content": "x"}]}]}')
    yield "bad_batch", b'{"tasks": [{"code": "x"}, {"code": 2}]}'
    yield "bad_batch_empty", b'{"tasks": []}'
    yield "history", b"20&40&timeout&python"
    yield "bad_history", b"0&-1&nope&"


# ------------------------------------------------------------ compat

def compat_json(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def compats():
    for path in sorted(glob.glob(os.path.join(TESTS, "piston", "fixtures", "execute_*.json"))):
        with open(path, encoding="utf-8") as f:
            body = json.load(f)["request"]["body"]
        yield "piston_" + os.path.basename(path)[len("execute_"):-len(".json")], compat_json(body)
    with open(os.path.join(TESTS, "judge0", "fixtures.json"), encoding="utf-8") as f:
        fixtures = json.load(f)
    for key, case in sorted(fixtures.items()):
        req = case.get("request") if isinstance(case, dict) else None
        if req is None or req.get("method") != "POST":
            continue
        body = req["body"]
        if "submissions" in body:
            for i, item in enumerate(body["submissions"]):
                yield "judge0_%s_%d" % (key, i), compat_json(item)
        else:
            yield "judge0_" + key, compat_json(body)
    yield "piston_files", (b'{"language": "python3.11", "version": "3.x", "files": ['
                           b'{"name": "data.bin", "content": "AAEC/w==", "encoding": "base64"}, '
                           b'{"content": "import util"}, {"name": "util.py", "content": "7a", '
                           b'"encoding": "hex"}], "stdin": "no newline", "args": ["a", ""], '
                           b'"run_timeout": 1e300, "run_memory_limit": 1.8446744073709552e19}')
    yield "piston_bad_types", (b'{"language": "node", "version": 24, "files": [{"content": 1}], '
                               b'"args": [1], "stdin": {}, "run_timeout": -1}')
    yield "piston_nested", (b'{"language": "js", "version": ">=20 <25", "files": [{"content": "x"}], '
                            b'"args": ' + b"[" * 40 + b"]" * 40 + b"}")
    yield "judge0_huge", (b'{"source_code": "x", "language_id": 71, "cpu_time_limit": 1e300, '
                          b'"cpu_extra_time": -0.0, "wall_time_limit": "1e300", '
                          b'"memory_limit": 18014398509481988, "number_of_runs": 1.0000001}')
    yield "judge0_types", (b'{"source_code": ["x"], "language_id": {"id": 71}, "stdin": 5, '
                           b'"expected_output": true, "command_line_arguments": [["a"]], '
                           b'"callback_url": "http://169.254.169.254/", "enable_network": "yes"}')
    yield "judge0_base64_garbage", compat_json({
        "source_code": "cHJpbnQ(1)==!!", "language_id": "63", "stdin": "SnVk\nZ2Uw",
        "expected_output": "====", "additional_files": "UEsDBAoAAAAAAA=="})
    yield "judge0_args", compat_json({
        "source_code": "print(1)", "language_id": 92, "wall_time_limit": 2, "cpu_time_limit": 0.5,
        "cpu_extra_time": 0.25, "memory_limit": 2048,
        "command_line_arguments": "a \"b c\" 'd e' f\\ g"})
    yield "meta", (b'{"judge0": 1, "language_id": 71, "source_code": "cHJpbnQoMSk=", '
                   b'"expected_output": "aGk=", "cpu_time_limit": 1e300, "wall_time_limit": -1e300, '
                   b'"memory_limit": "x", "created_at_ms": 9223372036854775807}')
    # The first runs' findings, kept as seeds: a 2^64 run_memory_limit, and
    # a long non-ASCII message cut at 160 bytes (judge0_result.c).
    yield "piston_memory_2_64", b'{"language":"python","version":"*","files":[{"content":"x"}],"run_memory_limit":18446744073709551616.0}'
    yield "judge0_message_cut", b'{"source_code":"x","language_id":71,"p34":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93"}'
    yield "token", b"EB0DD001-66db-47f4-8a69-b736c9bc23f6"
    yield "fields", b"stdout,status_id,,language_id,*,foo"
    yield "args", b"a 'b c' \"d\\\"e\" f\\ g"
    yield "base64", b"aGVsbG8sIEp1ZGdlMAo=\n/go=\n"
    yield "output", b"hello \t\n\n\r\x00hello\r\n  \n"


# ------------------------------------------------------------ zip

DATE = (2024, 1, 1, 0, 0, 0)


def archive(entries, compression=zipfile.ZIP_DEFLATED, **kw):
    """entries: (name, data) or (name, data, unix_mode)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression, **kw) as z:
        for e in entries:
            name, data = e[0], e[1]
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = compression
            info.create_system = 3  # Unix, so the mode bits count
            mode = e[2] if len(e) > 2 else (0o40755 if name.endswith("/") else 0o100644)
            info.external_attr = mode << 16 | (0x10 if name.endswith("/") else 0)
            z.writestr(info, data)
    return buf.getvalue()


def zips():
    yield "main_py", archive([("main.py", "print('hello')\n")])
    yield "project", archive([("main.py", "import pkg.util\n"), ("pkg/", ""), ("pkg/__init__.py", ""),
                              ("pkg/util.py", "print('util')\n"), ("data/blob.bin", bytes(range(256)))],
                             compression=zipfile.ZIP_STORED)
    yield "node", archive([("main.js", "require('./lib')"), ("lib/index.js", "console.log(1)")])
    yield "bzip2", archive([("main.py", "print(2)\n" * 20)], compression=zipfile.ZIP_BZIP2)
    yield "lzma", archive([("main.py", "print(3)\n" * 20)], compression=zipfile.ZIP_LZMA)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(zipfile.ZipInfo("main.py", DATE), "w", force_zip64=True) as f:
            f.write(b"print('zip64')\n")
    yield "zip64", buf.getvalue()
    yield "bomb", archive([("main.py", "pass\n"), ("big.txt", b"\0" * (1 << 21))])
    yield "no_entry", archive([("lib/a.py", "x = 1\n"), ("README", "hi")])
    yield "empty", archive([])
    yield "dirs_only", archive([("a/", ""), ("a/b/", "")])
    yield "bad_symlink", archive([("main.py", "x"), ("link", "/etc/passwd", 0o120777)])
    yield "bad_fifo", archive([("main.py", "x"), ("fifo", "", 0o010644)])
    yield "bad_dotdot", archive([("main.py", "x"), ("a/../../etc/x", "y")])
    yield "bad_absolute", archive([("main.py", "x"), ("/etc/x", "y")])
    yield "bad_backslash", archive([("main.py", "x"), ("..\\evil.py", "y")])
    yield "bad_clash", archive([("main.py", "x"), ("a", "y"), ("a/b", "z")])
    yield "bad_control", archive([("main.py", "x"), ("a\x01b", "y")])
    # A name that is not UTF-8 (Latin-1, as old tools write it, flag bit 11
    # clear): written as ASCII, then the one byte swapped in both headers.
    raw = archive([("main.py", "x"), ("cafX.py", "y")])
    raw = raw.replace(b"cafX.py", b"caf\xe9.py")
    yield "latin1_name", raw
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("main.py", DATE), "x")
        z.writestr(zipfile.ZipInfo("main.py", DATE), "y")
    yield "bad_duplicate", buf.getvalue()
    yield "not_zip", b"print('this is not an archive')\n"
    yield "truncated", archive([("main.py", "print('cut')\n" * 10)])[:-30]


def main():
    import warnings
    warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
    for name, gen in (("request", requests), ("stream", streams), ("marker", markers), ("json", jsons),
                      ("zip", zips), ("compat", compats)):
        n = 0
        for seed, data in gen():
            write(name, seed, data)
            n += 1
        print(f"corpus/{name}: {n} seeds")


if __name__ == "__main__":
    main()
