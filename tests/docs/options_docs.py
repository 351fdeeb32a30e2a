#!/usr/bin/env python3
"""options_docs.py - the option tables of the docs, made from --help.

The programs' option tables (server/options.c, web-gateway/options.c) are
the truth; `--help` prints them.  This script reads that output and

  --check   fails (exit 1, one line per difference) when a table in the docs
            or a config example disagrees with it (the `docs_options` ctest);
  --write   rewrites the generated tables in place.

Generated tables sit between `<!-- options:PROGRAM -->` and
`<!-- /options -->` in docs/ARCHITECTURE.md (sce-server) and docs/API.md
(sce-gateway).  The config examples (config/PROGRAM.conf.example) are prose
and are checked, not written: every option appears once, as `key = value`
(the default, as the file promises) or as a commented example
`# key = value`, and no key appears that the program does not know.  The
README's limit table may only name options that exist.

usage: options_docs.py --check|--write --server BIN --gateway BIN
                       [--build-dir DIR] [--source-dir DIR]
"""
import argparse
import os
import re
import subprocess
import sys

MARK_END = "<!-- /options -->"


def read_help(binary, build_dir):
    """[(key, help, default, env)] from `binary --help`."""
    out = subprocess.run([binary, "--help"], check=True, capture_output=True,
                         text=True).stdout
    opts = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^  --([a-z0-9-]+)\s+(.*)$", line)
        if not m:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        d = re.match(r"^\s+default: (.*); env: (\S+)$", nxt)
        if not d:
            raise SystemExit(f"{binary} --help: no default line after --{m.group(1)}")
        default = d.group(1)
        if build_dir:
            # A default inside the build tree (the gateway's static_dir) is
            # written as build/... whatever the build directory is called.
            default = default.replace(os.path.abspath(build_dir) + "/", "build/")
        opts.append((m.group(1).replace("-", "_"), m.group(2), default, d.group(2)))
    if not opts:
        raise SystemExit(f"{binary} --help: no options found")
    return opts


def code(text):
    return "`" + text.replace("|", "\\|") + "`"


def cell(text):
    return text.replace("|", "\\|")


def server_table(opts):
    rows = ["| option (file key; flag `--key-with-dashes`) | default | environment | meaning |",
            "| --- | --- | --- | --- |"]
    for key, help_, default, env in opts:
        rows.append(f"| {code(key)} | {code(default)} | {code(env)} | {cell(help_)} |")
    return rows


def gateway_table(opts):
    rows = ["| Option | Environment | Default | Meaning |", "|---|---|---|---|"]
    for key, help_, default, env in opts:
        flag = "--" + key.replace("_", "-")
        rows.append(f"| {code(flag)} | {code(env)} | {code(default)} | {cell(help_)} |")
    return rows


def splice(path, program, table, write, problems):
    """Replaces (or compares) the table between the markers of program."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start_mark = f"<!-- options:{program} -->"
    try:
        start = lines.index(start_mark)
        end = lines.index(MARK_END, start)
    except ValueError:
        problems.append(f"{path}: no '{start_mark}' ... '{MARK_END}' block")
        return
    have = lines[start + 1:end]
    if have == table:
        return
    if write:
        lines[start + 1:end] = table
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print(f"wrote {path} ({program}: {len(table) - 2} options)")
        return
    want_rows, have_rows = set(table), set(have)
    for row in table:
        if row not in have_rows:
            problems.append(f"{path}: {program}: missing or different: {row}")
    for row in have:
        if row not in want_rows:
            problems.append(f"{path}: {program}: not in --help: {row}")
    if not problems:
        problems.append(f"{path}: {program}: rows out of --help's order")


def check_example(path, program, opts, problems):
    known = {key: default for key, _, default, _ in opts}
    seen = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^(#\s*)?([a-z][a-z0-9_]*)\s*=(.*)$", line.rstrip("\n"))
            if not m:
                continue
            commented, key, rest = m.group(1) is not None, m.group(2), m.group(3)
            # The value ends where a comment starts: '#' after a blank.
            value = re.split(r"\s#", " " + rest, maxsplit=1)[0].strip()
            if key not in known:
                if not commented:
                    problems.append(f"{path}:{n}: {program} has no option '{key}'")
                continue
            if key in seen:
                problems.append(f"{path}:{n}: '{key}' again (first at line {seen[key]})")
                continue
            seen[key] = n
            default = "" if known[key] == "(none)" else known[key]
            if not commented and value != default:
                problems.append(f"{path}:{n}: {key} = {value!r}, but the default is "
                                f"{default!r} (the file promises the defaults; comment "
                                "out an example)")
    for key in known:
        if key not in seen:
            problems.append(f"{path}: {program} option '{key}' is not in the example")


def check_readme(path, opts, problems):
    known = {key for key, _, _, _ in opts}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\| limit \| default \| option \(`sce-server --help`\) \|\n((?:\|.*\n)+)", text)
    if not m:
        problems.append(f"{path}: no limit table (| limit | default | option ... |)")
        return
    for row in m.group(1).splitlines()[1:]:
        for name in re.findall(r"`([a-z_]+)`", row.split("|")[3]):
            if name not in known:
                problems.append(f"{path}: limit table names '{name}', not an sce-server option")


def main():
    ap = argparse.ArgumentParser()
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    ap.add_argument("--server", required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--build-dir")
    ap.add_argument("--source-dir",
                    default=os.path.dirname(os.path.dirname(os.path.dirname(
                        os.path.abspath(__file__)))))
    a = ap.parse_args()
    src = a.source_dir
    server = read_help(a.server, a.build_dir)
    gateway = read_help(a.gateway, a.build_dir)
    problems = []

    splice(os.path.join(src, "docs/ARCHITECTURE.md"), "sce-server", server_table(server),
           a.write, problems)
    splice(os.path.join(src, "docs/API.md"), "sce-gateway", gateway_table(gateway), a.write,
           problems)
    check_example(os.path.join(src, "config/sce-server.conf.example"), "sce-server", server,
                  problems)
    check_example(os.path.join(src, "config/sce-gateway.conf.example"), "sce-gateway", gateway,
                  problems)
    check_readme(os.path.join(src, "README.md"), server, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} difference(s) between the docs and --help; "
              "tables: tests/docs/options_docs.py --write ...", file=sys.stderr)
        return 1
    print(f"docs agree with --help: sce-server {len(server)} options, "
          f"sce-gateway {len(gateway)} options")
    return 0


if __name__ == "__main__":
    sys.exit(main())
