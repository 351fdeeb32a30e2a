#!/usr/bin/env bash
# tests/runners/test_runners.sh - run the in-container runners for real.
#
# Feeds runner inputs (see server/runner_input.h) to server/runners/python_runner.py
# and node_runner.js inside the runtime images, with the limits the server
# uses, and checks exit codes, stdout and stderr. Prints one line per case;
# exits non-zero if any case fails.
#
# Images: SCE_PYTHON_IMAGE (sce-python:latest), SCE_NODE_IMAGE
# (sce-node:latest); build them with scripts/images.sh.
# Only one language: test_runners.sh python|node
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY_IMAGE=${SCE_PYTHON_IMAGE:-sce-python:latest}
NODE_IMAGE=${SCE_NODE_IMAGE:-sce-node:latest}
PY_SRC=$(cat "$ROOT/server/runners/python_runner.py")
NODE_SRC=$(cat "$ROOT/server/runners/node_runner.js")
# shellcheck disable=SC2054  # the commas belong to --tmpfs's value
LIMITS=(--network none --read-only --tmpfs /tmp:rw,nosuid,nodev,size=16m,mode=1777
    --user 65534:65534 --init --memory 128m --memory-swap 128m --pids-limit 64
    --log-driver none -e HOME=/tmp -e LANG=C.UTF-8 -e PYTHONDONTWRITEBYTECODE=1 -w /tmp)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0
FAILED=()

# --- building blocks -------------------------------------------------------

# src PATH <<'EOF' ... : write a source file of the current case.
src() {
    mkdir -p "$(dirname "$WORK/src/$1")"
    cat >"$WORK/src/$1"
}

# bundle ENTRY ARGS_JSON FILE... : the bundle of the current case's files
# (paths are plain ASCII here, so they need no JSON escaping).  With NONCE
# set, the header carries it: the runner then ends both streams with its end
# marker, as it does for the server.  With LINGER set too, linger_ms: the
# runner waits that long after its marker (gVisor runs).
bundle() {
    local entry=$1 args=$2 f files="" sep="" header
    shift 2
    for f in "$@"; do
        files+="$sep{\"path\":\"$f\",\"size\":$(stat -c %s "$WORK/src/$f")}"
        sep=,
    done
    header="{\"entry\":\"$entry\",\"args\":$args${NONCE:+,\"nonce\":\"$NONCE\"}"
    header+="${LINGER:+,\"linger_ms\":$LINGER},\"files\":[$files]}"
    printf 'SCE1 %d\n%s' "$(printf '%s' "$header" | wc -c)" "$header" >"$WORK/bundle"
    for f in "$@"; do cat "$WORK/src/$f" >>"$WORK/bundle"; done
}

# run LANG [STDIN_FILE]: feed $WORK/bundle (+ stdin) to the runner; sets RC.
run() {
    local image cmd
    if [ "$1" = python ]; then
        image=$PY_IMAGE
        cmd=(python3 -u -I -c "$PY_SRC")
    else
        image=$NODE_IMAGE
        cmd=(node -e "$NODE_SRC")
    fi
    set +e
    cat "$WORK/bundle" "${2:-/dev/null}" |
        docker run -i --rm "${LIMITS[@]}" "$image" "${cmd[@]}" >"$WORK/out" 2>"$WORK/err"
    RC=${PIPESTATUS[1]}
    set -e
}

# Checks on the last run; each failing check adds a reason.
REASONS=()
rc_is() { [ "$RC" = "$1" ] || REASONS+=("exit code $RC, expected $1"); }
out_is() { [ "$(cat "$WORK/out")" = "$1" ] || REASONS+=("stdout differs, expected: $1"); }
err_is() { [ "$(cat "$WORK/err")" = "$1" ] || REASONS+=("stderr differs, expected: $1"); }
err_has() { grep -qF -- "$1" "$WORK/err" || REASONS+=("stderr lacks: $1"); }
err_lacks() { ! grep -qF -- "$1" "$WORK/err" || REASONS+=("stderr contains: $1"); }

# marker_is STATUS MIN_CPU_US MIN_PEAK_BYTES: stdout and stderr each end with
# the end marker of nonce abc123 (the 3-field form: status, CPU time since
# the bundle arrived, peak memory), with this status, at least these
# figures, and a peak no larger than the memory limit (128 MiB).
marker_is() {
    local f line
    for f in out err; do
        line=$(tail -c 200 "$WORK/$f" | tr '\036' '^' | tail -n 1)
        if [[ ! $line =~ \^SCE-END:abc123:([0-9]+):([0-9]+):([0-9]+)$ ]]; then
            REASONS+=("std$f does not end with a 3-field end marker: $line")
            continue
        fi
        [ "${BASH_REMATCH[1]}" = "$1" ] || REASONS+=("std$f marker: status ${BASH_REMATCH[1]}")
        [ "${BASH_REMATCH[2]}" -ge "$2" ] ||
            REASONS+=("std$f marker: cpu_us ${BASH_REMATCH[2]}, expected >= $2")
        [ "${BASH_REMATCH[3]}" -ge "$3" ] && [ "${BASH_REMATCH[3]}" -le $((128 << 20)) ] ||
            REASONS+=("std$f marker: peak ${BASH_REMATCH[3]}, expected $3 to 128 MiB")
    done
}

# case_start NAME: a new case with an empty source directory.
CASE=""
case_start() {
    CASE=$1
    REASONS=()
    rm -rf "$WORK/src"
    mkdir -p "$WORK/src"
}

case_end() {
    if [ ${#REASONS[@]} -eq 0 ]; then
        PASS=$((PASS + 1))
        echo "PASS  $CASE"
    else
        FAIL=$((FAIL + 1))
        FAILED+=("$CASE")
        echo "FAIL  $CASE"
        printf '        - %s\n' "${REASONS[@]}"
        echo "        exit code: $RC"
        sed 's/^/        stdout| /' "$WORK/out" | head -n 20
        sed 's/^/        stderr| /' "$WORK/err" | head -n 20
    fi
}

# malformed LANG NAME: run a hand-made bad bundle in $WORK/bundle, expect 125.
malformed() {
    case_start "$1: malformed: $2"
    run "$1"
    rc_is 125
    # exactly one line, "sce-runner: <reason>"
    [ "$(wc -l <"$WORK/err")" = 1 ] && grep -q '^sce-runner: ' "$WORK/err" ||
        REASONS+=("stderr is not one 'sce-runner: ' line")
    out_is ""
    case_end
}

# Writes the malformed bundles shared by both languages; $1 = entry name.
malformed_cases() {
    local lang=$1 e=$2 h
    printf 'SCE2 2\n{}' >"$WORK/bundle"
    malformed "$lang" "bad magic"
    : >"$WORK/bundle"
    malformed "$lang" "empty input"
    printf 'SCE1 100\n{"entry":' >"$WORK/bundle"
    malformed "$lang" "truncated header"
    h="{\"entry\":\"$e\",\"args\":[],\"files\":[{\"path\":\"$e\",\"size\":50}]}"
    printf 'SCE1 %d\n%sprint(1)' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "truncated file content"
    h='{"entry":"x","args":[],"files":[{"path":"x","size":1}]'
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "invalid JSON"
    h="{\"entry\":\"../$e\",\"args\":[],\"files\":[{\"path\":\"../$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "'..' in path"
    h="{\"entry\":\"/tmp/$e\",\"args\":[],\"files\":[{\"path\":\"/tmp/$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "absolute path"
    h="{\"entry\":\"a//$e\",\"args\":[],\"files\":[{\"path\":\"a//$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "empty path segment"
    h="{\"entry\":\"other\",\"args\":[],\"files\":[{\"path\":\"$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "entry not among the files"
    h="{\"entry\":\"$e\",\"args\":[1],\"files\":[{\"path\":\"$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "non-string argument"
    h="{\"entry\":\"$e\",\"args\":[],\"linger_ms\":-1,\"files\":[{\"path\":\"$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "negative linger_ms"
    h="{\"entry\":\"$e\",\"args\":[],\"linger_ms\":\"1\",\"files\":[{\"path\":\"$e\",\"size\":1}]}"
    printf 'SCE1 %d\n%sx' "${#h}" "$h" >"$WORK/bundle"
    malformed "$lang" "linger_ms not a number"
}

# linger LANG ENTRY: with linger_ms 1500 the marker comes as usual and the
# process ends 1.5 s after it, with the program's status.
linger_case() {
    local lang=$1 e=$2 t0 ms
    case_start "$lang: linger_ms keeps the process 1.5 s after its marker"
    if [ "$lang" = python ]; then src "$e" <<<'exit(4)'; else src "$e" <<<'process.exitCode = 4;'; fi
    NONCE=abc123 LINGER=1500 bundle "$e" '[]' "$e"
    t0=$(date +%s%N)
    run "$lang"
    ms=$((($(date +%s%N) - t0) / 1000000))
    rc_is 4; marker_is 4 0 1
    [ "$ms" -ge 1500 ] || REASONS+=("ended after $ms ms, expected at least 1500")
    case_end
}

# A binary test file with all 256 byte values, and its hash.
make_binary() {
    local i
    # shellcheck disable=SC2059  # the format is the byte to print
    for i in $(seq 0 255); do printf "\\x$(printf %02x "$i")"; done >"$WORK/src/$1"
    sha256sum "$WORK/src/$1" | cut -c1-64
}

printf 'first line\nsecond line\nthird line\n' >"$WORK/stdin3"

# --- Python ----------------------------------------------------------------
python_tests() {
    local sum
    echo "== python runner, image $PY_IMAGE"

    case_start "python: hello"
    src main.py <<<'print("hello, world")'
    bundle main.py '[]' main.py
    run python
    rc_is 0; out_is "hello, world"; err_is ""
    case_end

    case_start "python: args"
    src main.py <<<'import sys; print(sys.argv)'
    bundle main.py '["a", "b c", "-x", "\u00fc"]' main.py
    run python
    rc_is 0; out_is "['main.py', 'a', 'b c', '-x', 'ü']"
    case_end

    case_start "python: stdin after the bundle (input + sys.stdin.read)"
    src main.py <<'EOF'
import sys
first = input()
print("input:", first)
print("rest:", repr(sys.stdin.read()))
EOF
    bundle main.py '[]' main.py
    run python "$WORK/stdin3"
    rc_is 0; out_is "input: first line
rest: 'second line\nthird line\n'"
    case_end

    case_start "python: empty stdin"
    src main.py <<<'import sys; print(repr(sys.stdin.read()))'
    bundle main.py '[]' main.py
    run python
    rc_is 0; out_is "''"
    case_end

    case_start "python: __main__, __file__, cwd, sys.path, no runner names"
    src main.py <<'EOF'
import os, sys, __main__
print(__name__, __file__, os.getcwd(), sys.path[0])
print(__main__.__dict__ is globals(), sorted(k for k in globals() if not k.startswith("__")))
if __name__ == "__main__":
    print("main guard ok")
EOF
    bundle main.py '[]' main.py
    run python
    rc_is 0; out_is "__main__ /tmp/code/main.py /tmp/code /tmp/code
True ['os', 'sys']
main guard ok"
    case_end

    case_start "python: traceback names /tmp/code/main.py, no runner frames"
    src main.py <<'EOF'
def f(x):
    return 1 / x
print("before")
f(0)
EOF
    bundle main.py '[]' main.py
    run python
    rc_is 1; out_is "before"
    err_has "Traceback (most recent call last):"
    err_has 'File "/tmp/code/main.py", line 4, in <module>'
    err_has 'File "/tmp/code/main.py", line 2, in f'
    err_has "ZeroDivisionError: division by zero"
    err_lacks "<string>"; err_lacks "_sce"
    [ "$(grep -c '^  File ' "$WORK/err")" = 2 ] || REASONS+=("expected exactly 2 frames")
    case_end

    case_start "python: SyntaxError"
    src main.py <<'EOF'
print("never")
def broken(:
    pass
EOF
    bundle main.py '[]' main.py
    run python
    rc_is 1; out_is ""
    err_has 'File "/tmp/code/main.py", line 2'
    err_has "SyntaxError: "
    err_lacks "Traceback"; err_lacks "<string>"
    case_end

    case_start "python: exit(3)"
    src main.py <<<'print("bye"); exit(3)'
    bundle main.py '[]' main.py
    run python
    rc_is 3; out_is "bye"; err_is ""
    case_end

    case_start "python: sys.exit(\"msg\")"
    src main.py <<<'import sys; sys.exit("msg")'
    bundle main.py '[]' main.py
    run python
    rc_is 1; out_is ""; err_is "msg"
    case_end

    case_start "python: KeyboardInterrupt"
    src main.py <<<'raise KeyboardInterrupt'
    bundle main.py '[]' main.py
    run python
    rc_is 130; err_has 'File "/tmp/code/main.py", line 1'; err_has KeyboardInterrupt
    err_lacks "<string>"
    case_end

    case_start "python: sibling import"
    src main.py <<<'import util; print(util.twice(21))'
    src util.py <<<'def twice(x): return 2 * x'
    bundle main.py '[]' main.py util.py
    run python
    rc_is 0; out_is 42; err_is ""
    case_end

    case_start "python: nested path pkg/mod.py, file modes"
    src main.py <<'EOF'
import os, stat
from pkg.mod import NAME
import pkg.sub.deep as d
print(NAME, d.DEEP, open("pkg/data.txt").read().strip())
print(oct(stat.S_IMODE(os.stat("pkg/mod.py").st_mode)), oct(stat.S_IMODE(os.stat("pkg/sub").st_mode)))
EOF
    src pkg/mod.py <<<'NAME = "mod"'
    src pkg/sub/deep.py <<<'DEEP = "deep"'
    src pkg/data.txt <<<'data'
    bundle main.py '[]' main.py pkg/mod.py pkg/sub/deep.py pkg/data.txt
    run python
    rc_is 0; out_is "mod deep data
0o644 0o755"
    case_end

    case_start "python: entry in a subdirectory"
    src app/run.py <<<'import sys, os; print(sys.argv[0], __file__, os.getcwd())'
    bundle app/run.py '[]' app/run.py
    run python
    rc_is 0; out_is "app/run.py /tmp/code/app/run.py /tmp/code"
    case_end

    case_start "python: binary file content and binary stdin"
    sum=$(make_binary data.bin)
    src main.py <<'EOF'
import hashlib, sys
print(hashlib.sha256(open("data.bin", "rb").read()).hexdigest())
print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())
EOF
    bundle main.py '[]' data.bin main.py
    run python "$WORK/src/data.bin"
    rc_is 0; out_is "$sum
$sum"
    case_end

    case_start "python: full standard library"
    src main.py <<<'import json, ctypes, sqlite3, multiprocessing, resource, http.client, zoneinfo, decimal; print("ok")'
    bundle main.py '[]' main.py
    run python
    rc_is 0; out_is ok; err_is ""
    case_end

    case_start "python: end marker with exit status, CPU time and peak memory"
    src main.py <<'EOF'
import time
x = bytearray(60 << 20)
for i in range(0, len(x), 4096):
    x[i] = 1
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
exit(3)
EOF
    NONCE=abc123 bundle main.py '[]' main.py
    run python
    rc_is 3; marker_is 3 300000 $((60 << 20))
    case_end

    case_start "python: memory bomb is OOM-killed (137)"
    src main.py <<<'x = "a" * 10**9'
    bundle main.py '[]' main.py
    run python
    rc_is 137
    case_end

    malformed_cases python main.py
    linger_case python main.py
}

# --- Node.js ---------------------------------------------------------------
node_tests() {
    local sum plain
    echo "== node runner, image $NODE_IMAGE"

    case_start "node: hello"
    src main.js <<<'console.log("hello, world");'
    bundle main.js '[]' main.js
    run node
    rc_is 0; out_is "hello, world"; err_is ""
    case_end

    case_start "node: args"
    src main.js <<<'console.log(JSON.stringify(process.argv.slice(1)), process.argv[0] === process.execPath);'
    bundle main.js '["a", "b c", "-x", "\u00fc"]' main.js
    run node
    rc_is 0; out_is '["/tmp/code/main.js","a","b c","-x","ü"] true'
    case_end

    case_start "node: stdin after the bundle (process.stdin)"
    src main.js <<'EOF'
let data = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { data += d; });
process.stdin.on("end", () => console.log(JSON.stringify(data)));
EOF
    bundle main.js '[]' main.js
    run node "$WORK/stdin3"
    rc_is 0; out_is '"first line\nsecond line\nthird line\n"'
    case_end

    case_start "node: stdin after the bundle (fs.readFileSync(0))"
    src main.js <<'EOF'
console.log(JSON.stringify(require("fs").readFileSync(0, "utf8")));
EOF
    bundle main.js '[]' main.js
    run node "$WORK/stdin3"
    rc_is 0; out_is '"first line\nsecond line\nthird line\n"'
    case_end

    case_start "node: stdin via readline"
    src main.js <<'EOF'
const rl = require("readline").createInterface({ input: process.stdin });
const lines = [];
rl.on("line", (l) => lines.push(l)).on("close", () => console.log(lines.join("|")));
EOF
    bundle main.js '[]' main.js
    run node "$WORK/stdin3"
    rc_is 0; out_is "first line|second line|third line"
    case_end

    case_start "node: require.main === module, __filename, cwd, no runner globals"
    src main.js <<'EOF'
console.log(require.main === module, __filename, __dirname, process.cwd());
console.log(typeof globalThis.require, typeof globalThis.module, typeof fs, typeof process._eval,
            JSON.stringify(process.execArgv));
EOF
    bundle main.js '[]' main.js
    run node
    rc_is 0; out_is "true /tmp/code/main.js /tmp/code /tmp/code
undefined undefined undefined undefined []"
    case_end

    case_start "node: same globals as a plain 'node file.js'"
    src main.js <<<'console.log(Object.getOwnPropertyNames(globalThis).sort().join(" "));'
    bundle main.js '[]' main.js
    run node
    plain=$(docker run -i --rm "${LIMITS[@]}" "$NODE_IMAGE" \
        sh -c 'cat >/tmp/plain.js && exec node /tmp/plain.js' <"$WORK/src/main.js")
    rc_is 0; out_is "$plain"
    case_end

    case_start "node: uncaught exception names /tmp/code/main.js, no runner frames"
    src main.js <<'EOF'
function f() {
  throw new Error("boom");
}
console.log("before");
f();
EOF
    bundle main.js '[]' main.js
    run node
    rc_is 1; out_is "before"
    err_has "/tmp/code/main.js:2"
    err_has "Error: boom"
    err_has "at f (/tmp/code/main.js:2:9)"
    err_has "at Object.<anonymous> (/tmp/code/main.js:5:1)"
    err_lacks "[eval]"
    case_end

    case_start "node: uncaught exception in a callback"
    src main.js <<<'setTimeout(() => { null.x; }, 1);'
    bundle main.js '[]' main.js
    run node
    rc_is 1; err_has "TypeError: Cannot read properties of null"; err_has "/tmp/code/main.js:1"
    err_lacks "[eval]"
    case_end

    case_start "node: SyntaxError"
    src main.js <<'EOF'
console.log("never");
function (
EOF
    bundle main.js '[]' main.js
    run node
    rc_is 1; out_is ""
    err_has "/tmp/code/main.js:2"; err_has "SyntaxError: "
    err_lacks "[eval]"
    case_end

    case_start "node: process.exit(3)"
    src main.js <<<'console.log("bye"); process.exit(3);'
    bundle main.js '[]' main.js
    run node
    rc_is 3; out_is "bye"; err_is ""
    case_end

    case_start "node: process.exitCode = 4"
    src main.js <<<'process.exitCode = 4;'
    bundle main.js '[]' main.js
    run node
    rc_is 4; err_is ""
    case_end

    case_start "node: sibling require"
    src main.js <<<'console.log(require("./util").twice(21));'
    src util.js <<<'exports.twice = (x) => 2 * x;'
    bundle main.js '[]' main.js util.js
    run node
    rc_is 0; out_is 42; err_is ""
    case_end

    case_start "node: nested path pkg/mod.js, file modes"
    src main.js <<'EOF'
const fs = require("fs");
console.log(require("./pkg/mod").NAME, require("./pkg/sub/deep").DEEP,
            fs.readFileSync("pkg/data.txt", "utf8").trim());
console.log((fs.statSync("pkg/mod.js").mode & 0o777).toString(8),
            (fs.statSync("pkg/sub").mode & 0o777).toString(8));
EOF
    src pkg/mod.js <<<'exports.NAME = "mod";'
    src pkg/sub/deep.js <<<'exports.DEEP = "deep";'
    src pkg/data.txt <<<'data'
    bundle main.js '[]' main.js pkg/mod.js pkg/sub/deep.js pkg/data.txt
    run node
    rc_is 0; out_is "mod deep data
644 755"
    case_end

    case_start "node: binary file content and binary stdin"
    sum=$(make_binary data.bin)
    src main.js <<'EOF'
const fs = require("fs"), crypto = require("crypto");
const h = (b) => crypto.createHash("sha256").update(b).digest("hex");
console.log(h(fs.readFileSync("data.bin")));
console.log(h(fs.readFileSync(0)));
EOF
    bundle main.js '[]' data.bin main.js
    run node "$WORK/src/data.bin"
    rc_is 0; out_is "$sum
$sum"
    case_end

    case_start "node: end marker with exit status, CPU time and peak memory"
    src main.js <<'EOF'
const b = Buffer.alloc(60 << 20, 1);
const t = process.cpuUsage();
let u;
do { u = process.cpuUsage(t); } while (u.user + u.system < 300000);
process.exitCode = 3;
EOF
    NONCE=abc123 bundle main.js '[]' main.js
    run node
    rc_is 3; marker_is 3 300000 $((60 << 20))
    case_end

    case_start "node: memory bomb is OOM-killed (137)"
    src main.js <<<'let a = []; while (true) a.push(new Array(1e6).fill(1));'
    bundle main.js '[]' main.js
    run node
    rc_is 137
    case_end

    malformed_cases node main.js
    linger_case node main.js
}

# --- main ------------------------------------------------------------------
WANT=("$@")
[ ${#WANT[@]} -gt 0 ] || WANT=(python node)
for lang in "${WANT[@]}"; do
    case "$lang" in
        python) image=$PY_IMAGE ;;
        node) image=$NODE_IMAGE ;;
        *) echo "usage: $0 [python|node]..." >&2; exit 2 ;;
    esac
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        echo "FAIL  image $image not found (build it with scripts/images.sh)" >&2
        exit 1
    fi
    "${lang}_tests"
done

echo "== $PASS passed, $FAIL failed"
if [ "$FAIL" -gt 0 ]; then
    printf 'failed: %s\n' "${FAILED[@]}"
    exit 1
fi
