// Example snippets offered by the page, one entry per example with a
// version for each language ("python" and "node", the API's names).
// `stdin` (optional) is put into the stdin box when the example is loaded.

// Builds a program that is over the server's 5000-character limit: a few
// real lines, then comment lines until `limit` characters are passed.
function overLong(comment, lines, limit = 5000) {
  const out = [...lines];
  let size = out.join("\n").length;
  for (let i = 1; size <= limit + 200; i++) {
    const line = `${comment} padding line ${String(i).padStart(3, "0")} ${"-".repeat(52)}`;
    out.push(line);
    size += line.length + 1;
  }
  return out.join("\n") + "\n";
}

export const EXAMPLES = [
  {
    id: "hello",
    title: "Hello, world",
    python: 'print("Hello, world!")\n',
    node: 'console.log("Hello, world!");\n',
  },
  {
    id: "stdin",
    title: "Read stdin",
    stdin: "Ada\nGrace\nLinus\n",
    python: [
      "import sys",
      "",
      "for line in sys.stdin:",
      "    name = line.strip()",
      "    if name:",
      '        print(f"Hello, {name}!")',
      "",
    ].join("\n"),
    node: [
      'const input = require("fs").readFileSync(0, "utf8");',
      "",
      'for (const name of input.split("\\n")) {',
      "  if (name.trim()) console.log(`Hello, ${name.trim()}!`);",
      "}",
      "",
    ].join("\n"),
  },
  {
    id: "loop",
    title: "Loop",
    python: [
      "total = 0",
      "for n in range(1, 11):",
      "    total += n * n",
      '    print(f"{n:2} squared is {n * n:3}")',
      'print("sum:", total)',
      "",
    ].join("\n"),
    node: [
      "let total = 0;",
      "for (let n = 1; n <= 10; n++) {",
      "  total += n * n;",
      "  console.log(`${String(n).padStart(2)} squared is ${String(n * n).padStart(3)}`);",
      "}",
      'console.log("sum:", total);',
      "",
    ].join("\n"),
  },
  {
    id: "infinite",
    title: "Infinite loop",
    python: [
      "# Never ends: the server stops it at the time limit.",
      "n = 0",
      "while True:",
      "    n += 1",
      "",
    ].join("\n"),
    node: [
      "// Never ends: the server stops it at the time limit.",
      "let n = 0;",
      "while (true) {",
      "  n++;",
      "}",
      "",
    ].join("\n"),
  },
  {
    id: "memory",
    title: "Memory bomb",
    python: [
      "# Allocates 16 MiB blocks until the memory limit stops it.",
      "blocks = []",
      "while True:",
      '    blocks.append(b"x" * (16 * 1024 * 1024))',
      '    print(len(blocks) * 16, "MiB", flush=True)',
      "",
    ].join("\n"),
    node: [
      "// Allocates 16 MiB blocks until the memory limit stops it.",
      "const blocks = [];",
      "while (true) {",
      "  blocks.push(Buffer.alloc(16 * 1024 * 1024, 1));",
      '  console.log(blocks.length * 16, "MiB");',
      "}",
      "",
    ].join("\n"),
  },
  {
    id: "ask",
    title: "Ask for input (interactive)",
    python: [
      "# Type the answers into the input line under the output while it runs.",
      'name = input("What is your name? ")',
      'age = int(input("How old are you? "))',
      'print(f"Hello, {name}! Next year you will be {age + 1}.")',
      "",
    ].join("\n"),
    node: [
      "// Type the answers into the input line under the output while it runs.",
      'const readline = require("readline");',
      "const rl = readline.createInterface({ input: process.stdin, output: process.stdout });",
      'rl.question("What is your name? ", (name) => {',
      '  rl.question("How old are you? ", (age) => {',
      "    console.log(`Hello, ${name}! Next year you will be ${Number(age) + 1}.`);",
      "    rl.close();",
      "    process.stdin.destroy(); // stdin is a pipe, not a terminal: let go of it to end",
      "  });",
      "});",
      "",
    ].join("\n"),
  },
  {
    id: "network",
    title: "Network call",
    python: [
      "# The sandbox has no network: this fails.",
      "import urllib.request",
      "",
      "try:",
      '    with urllib.request.urlopen("http://example.com", timeout=5) as r:',
      '        print("connected:", r.status)',
      "except OSError as e:",
      '    print("no network:", e)',
      "",
    ].join("\n"),
    node: [
      "// The sandbox has no network: this fails.",
      'const http = require("http");',
      "",
      'http.get("http://example.com", (res) => console.log("connected:", res.statusCode))',
      '  .on("error", (e) => console.log("no network:", e.code || e.message));',
      "",
    ].join("\n"),
  },
  {
    id: "files",
    title: "File write",
    python: [
      "# /tmp is a small writable scratch space; the rest is read-only.",
      "from pathlib import Path",
      "",
      'note = Path("/tmp/note.txt")',
      'note.write_text("written to /tmp\\n")',
      'print(note.read_text(), end="")',
      "",
      "try:",
      '    Path("/etc/sce-note.txt").write_text("x")',
      "except OSError as e:",
      '    print("outside /tmp:", e)',
      "",
    ].join("\n"),
    node: [
      "// /tmp is a small writable scratch space; the rest is read-only.",
      'const fs = require("fs");',
      "",
      'fs.writeFileSync("/tmp/note.txt", "written to /tmp\\n");',
      'process.stdout.write(fs.readFileSync("/tmp/note.txt", "utf8"));',
      "",
      "try {",
      '  fs.writeFileSync("/etc/sce-note.txt", "x");',
      "} catch (e) {",
      '  console.log("outside /tmp:", e.code, e.message);',
      "}",
      "",
    ].join("\n"),
  },
  {
    id: "html",
    title: "HTML in the output",
    python: 'print("<img src=x onerror=alert(1)>")\nprint("<b>not bold</b>")\n',
    node: 'console.log("<img src=x onerror=alert(1)>");\nconsole.log("<b>not bold</b>");\n',
  },
  {
    id: "error",
    title: "Runtime error",
    python: [
      "def divide(a, b):",
      "    return a / b",
      "",
      'print("before")',
      "print(divide(1, 0))",
      "",
    ].join("\n"),
    node: [
      "function parse(text) {",
      "  return JSON.parse(text);",
      "}",
      "",
      'console.log("before");',
      'console.log(parse("{not json"));',
      "",
    ].join("\n"),
  },
  {
    id: "too-long",
    title: "Over-long code",
    python: overLong("#", [
      "# This program is longer than the server's 5000-character limit,",
      "# so it is rejected before anything runs.",
      'print("you will not see this")',
    ]),
    node: overLong("//", [
      "// This program is longer than the server's 5000-character limit,",
      "// so it is rejected before anything runs.",
      'console.log("you will not see this");',
    ]),
  },
];

export function findExample(id) {
  return EXAMPLES.find((e) => e.id === id);
}
