// Browser test of the gateway's page: Debian's Chromium driven by
// playwright-core (no browser download), plain node:test.
//
// The gateway's URL: SCE_GATEWAY in the file named by $SCE_TEST_STACK_ENV
// (lines KEY=VALUE), or $SCE_GATEWAY. Chromium: $SCE_CHROMIUM or
// /usr/bin/chromium. Either missing is a failure, never a skip.
// Screenshot: $SCE_SCREENSHOT or <repo>/docs/img/ui.png.
//
// Run: node tests/browser/browser.test.mjs

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const screenshotPath = process.env.SCE_SCREENSHOT || path.join(repo, "docs", "img", "ui.png");
const RUN_TIMEOUT = 30_000; // one run, from key press to verdict (the timeout case uses a 1 s limit)

function gatewayUrl() {
  const envFile = process.env.SCE_TEST_STACK_ENV;
  if (envFile && fs.existsSync(envFile)) {
    for (const line of fs.readFileSync(envFile, "utf8").split("\n")) {
      const m = /^\s*(?:export\s+)?SCE_GATEWAY=(.*)$/.exec(line);
      if (m) return m[1].trim().replace(/^["']|["']$/g, "");
    }
  }
  return process.env.SCE_GATEWAY || "";
}

function chromiumPath() {
  const candidates = process.env.SCE_CHROMIUM ? [process.env.SCE_CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((p) => fs.existsSync(p)) || "";
}

let browser;
let page;
let origin;
const requests = []; // every URL the page asked for
const consoleErrors = []; // console errors other than HTTP error statuses
const cspViolations = [];
const pageErrors = [];
const dialogs = [];
let pageLoaded = false; // later tests fail at once, not after each one's timeouts

// A test that needs the loaded page.
function pageTest(name, fn) {
  test(name, async () => {
    assert.ok(pageLoaded, "the page did not load (see the first test)");
    await fn();
  });
}

before(async () => {
  const url = gatewayUrl();
  assert.ok(url, "no gateway: set SCE_TEST_STACK_ENV (a file with SCE_GATEWAY=http://HOST:PORT) or SCE_GATEWAY");
  origin = new URL(url).origin;
  const exe = chromiumPath();
  assert.ok(exe, "no Chromium: install Debian's chromium (apt-get install chromium) or set SCE_CHROMIUM");

  // playwright adds --headless and a fresh temporary --user-data-dir itself.
  browser = await chromium.launch({
    executablePath: exe,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("dialog", (d) => { dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    const text = m.text();
    if (/Content Security Policy/i.test(text)) cspViolations.push(text);
    else if (m.type() === "error" && !/Failed to load resource: (the server responded with a status of (4\d\d|503|504)|net::ERR_CONNECTION_REFUSED)/.test(text)) consoleErrors.push(text);
  });
  // Violations that never reach the console are still reported as events.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation",
      (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} sample=${JSON.stringify(e.sample)} at ${e.composedPath().slice(0, 3).map((n) => n.outerHTML ? n.outerHTML.slice(0, 160) : String(n)).join(" < ")}`), true);
  });
});

after(async () => {
  if (browser) await browser.close();
});

// Replaces the editor's text: select all, then insert (as a paste would).
async function setCode(text) {
  await page.locator(".cm-content").click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.insertText(text);
}

// Presses Ctrl+Enter and waits for a verdict other than "running".
async function runWithKeyboard() {
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => {
    const s = document.getElementById("verdict").dataset.status;
    return s !== "running" && s !== "idle";
  }, null, { timeout: RUN_TIMEOUT });
  // The first check can race the start of the run: wait until it has ended.
  await page.waitForFunction(() => document.getElementById("run").getAttribute("aria-disabled") !== "true",
    null, { timeout: RUN_TIMEOUT });
  return page.locator("#verdict").getAttribute("data-status");
}

const outputText = () => page.locator("#output").evaluate((e) => e.textContent);
// The editor's text, line by line (CodeMirror draws one .cm-line per line).
const editorText = async () => (await page.locator(".cm-line").allTextContents()).join("\n");

// ---------- a tiny ZIP writer: stored entries, CRC-32, central directory ----------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A ZIP archive of `files` ({path: text}), each entry stored uncompressed:
// local header + data per file, then the central directory and its end record.
function makeZip(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  const entries = Object.entries(files);
  for (const [path, text] of entries) {
    const name = Buffer.from(path, "utf8");
    const data = Buffer.from(text, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); // compressed size
    local.writeUInt32LE(data.length, 22); // size
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0); // central directory header signature
    head.writeUInt16LE(20, 4); // made by: 2.0, MS-DOS (a plain file)
    head.writeUInt16LE(20, 6);
    head.writeUInt16LE(0x0800, 8);
    head.writeUInt16LE(0, 10);
    head.writeUInt16LE(0, 12);
    head.writeUInt16LE(0x21, 14);
    head.writeUInt32LE(crc, 16);
    head.writeUInt32LE(data.length, 20);
    head.writeUInt32LE(data.length, 24);
    head.writeUInt16LE(name.length, 28);
    // extra, comment, disk, internal and external attributes: 0
    head.writeUInt32LE(offset, 42); // where its local header is
    parts.push(local, name, data);
    central.push(head, name);
    offset += local.length + name.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

test("the page loads with the editor and the server's languages", async () => {
  const res = await page.goto(origin + "/", { waitUntil: "load" });
  assert.equal(res.status(), 200, `GET / answered ${res.status()}: ${(await res.text()).slice(0, 200)}`);
  const csp = res.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/, "the page is served with the gateway's CSP");
  await page.locator(".cm-editor .cm-content").waitFor({ state: "visible" });
  // CodeMirror's own CSS applied (it would not be if CSP had blocked it).
  const display = await page.locator(".cm-editor").evaluate((e) => getComputedStyle(e).display);
  assert.equal(display, "flex", "CodeMirror's styles are applied");
  await page.waitForFunction(() => document.getElementById("server-state").dataset.state !== "unknown");
  assert.equal(await page.locator("#server-state").getAttribute("data-state"), "up");
  const options = await page.locator("#language option").allTextContents();
  assert.ok(options.some((o) => /^Python \d/.test(o)), `python version shown: ${options}`);
  assert.ok(options.some((o) => /Node\.js \d/.test(o)), `node version shown: ${options}`);
  pageLoaded = true;
});

pageTest("keyboard: focus order reaches every control", async () => {
  await page.locator("body").click({ position: { x: 2, y: 2 } });
  const seen = [];
  for (let i = 0; i < 16; i++) {
    await page.keyboard.press("Tab");
    seen.push(await page.evaluate(() => {
      let a = document.activeElement;
      while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
      if (a && a.classList.contains("cm-content")) return "editor";
      return a ? a.id || a.className || a.tagName : "";
    }));
    if (seen.at(-1) === "editor") {
      // Tab indents in the editor; Escape then Tab moves on.
      await page.keyboard.press("Escape");
    }
  }
  const want = ["language", "example", "load-example", "timeout", "editor", "run", "stdin", "args", "output", "errors"];
  let at = 0;
  for (const id of seen) if (id === want[at]) at++;
  assert.equal(at, want.length, `focus order ${seen.join(" > ")}`);
  // Visible focus: the focused control draws an outline.
  await page.locator("#run").focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await page.locator("#run").evaluate((e) => getComputedStyle(e).outlineStyle);
  assert.notEqual(outline, "none", "focus is visible on the Run button");
});

pageTest("typed code runs with Ctrl+Enter and its output is shown", async () => {
  await page.locator(".cm-content").click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  await page.keyboard.type('print("typed", 6 * 7)');
  assert.equal(await page.locator(".cm-content").evaluate((e) => e.textContent), 'print("typed", 6 * 7)');
  assert.equal(await runWithKeyboard(), "ok");
  assert.equal(await outputText(), "typed 42\n");
  assert.equal(await page.locator("#exit-code").textContent(), "0");
  assert.match(await page.locator("#summary").textContent(), /^OK/);
  assert.equal(await page.locator("#summary").getAttribute("aria-live"), "polite");
});

pageTest("the infinite loop example ends with the timeout badge", async () => {
  await page.locator("#example").selectOption("infinite");
  await page.locator("#load-example").press("Enter");
  assert.match(await page.locator(".cm-content").evaluate((e) => e.textContent), /while True/);
  await page.locator("#timeout").selectOption("1000");
  await page.locator(".cm-content").click();
  const started = Date.now();
  assert.equal(await runWithKeyboard(), "timeout");
  assert.ok(Date.now() - started < 15_000, "stopped near the 1 s limit");
  assert.equal(await page.locator("#verdict").textContent(), "Timeout");
  await page.locator("#timeout").selectOption("");
});

pageTest("HTML printed by a program is shown as text", async () => {
  const payload = "<img src=x onerror=alert(1)>";
  await setCode(`print("${payload}")\n`);
  assert.equal(await runWithKeyboard(), "ok");
  assert.equal(await outputText(), payload + "\n");
  assert.equal(await page.locator("#output img").count(), 0, "no img element in the output panel");
  assert.equal(await page.locator("img").count(), 0, "no img element anywhere");
  await page.waitForTimeout(300); // a dialog would have fired by now
  assert.deepEqual(dialogs, [], "no dialog fired");
});

pageTest("over-long code is rejected with the server's message", async () => {
  await page.locator("#example").selectOption("too-long");
  await page.locator("#load-example").click();
  assert.equal(await page.locator("#char-count").getAttribute("data-over"), "true");
  await page.locator(".cm-content").click();
  assert.equal(await runWithKeyboard(), "rejected");
  assert.match(await page.locator("#summary").textContent(), /5000/);
});

pageTest("JavaScript: switching the language and running console.log", async () => {
  await page.locator("#language").selectOption("node");
  assert.match(await page.locator(".cm-content").getAttribute("aria-label"), /JavaScript/);
  await setCode('console.log("from node", [1, 2, 3].map((x) => x * 2).join(","));\n');
  assert.equal(await runWithKeyboard(), "ok");
  assert.equal(await outputText(), "from node 2,4,6\n");
  assert.match(await page.locator("#ran-with").textContent(), /Node\.js/);
});

// ---------- live runs: streamed output, stdin while it runs, Stop ----------

const FIRST_LINE_MS = Number(process.env.SCE_BROWSER_FIRST_LINE_MS) || 1500;

// Waits until the run started from the page has ended (verdict shown, Run free).
async function waitRunEnd() {
  await page.waitForFunction(() => document.getElementById("verdict").dataset.status !== "running" &&
    document.getElementById("run").getAttribute("aria-disabled") !== "true", null, { timeout: RUN_TIMEOUT });
  return page.locator("#verdict").getAttribute("data-status");
}

// Clicks Run with `code` in the editor (no stdin box: the input line is live).
async function startLive(language, code) {
  await page.locator("#language").selectOption(language);
  await page.locator("#timeout").selectOption("");
  await page.locator("#stdin").fill("");
  await setCode(code);
  await page.locator("#run").click();
}

pageTest("live output: each line appears as the program prints it", async () => {
  await startLive("python", 'import time\nfor i in range(5):\n    print("line", i)\n    time.sleep(0.5)\n');
  const clicked = Date.now();
  // The output's text, sampled until the run ends: [ms since the click, text].
  const samples = [];
  for (;;) {
    const [text, status] = await page.evaluate(() =>
      [document.getElementById("output").textContent, document.getElementById("verdict").dataset.status]);
    if (!samples.length || samples.at(-1)[1] !== text) samples.push([Date.now() - clicked, text]);
    if (status !== "running" || Date.now() - clicked > RUN_TIMEOUT) break;
    await page.waitForTimeout(50);
  }
  const shown = samples.map(([ms, t]) => `${ms} ms: ${JSON.stringify(t)}`).join("; ");
  const first = samples.find(([, t]) => t.includes("line 0"));
  const last = samples.find(([, t]) => t.includes("line 4"));
  assert.ok(first && first[0] <= FIRST_LINE_MS, `first line within ${FIRST_LINE_MS} ms of Run: ${shown}`);
  assert.ok(last && last[0] - first[0] >= 1500, `the last line came about 2 s after the first: ${shown}`);
  assert.ok(samples.filter(([, t]) => t.startsWith("line 0")).length >= 4, `the text grew line by line: ${shown}`);
  assert.equal(await waitRunEnd(), "ok");
  assert.equal(await outputText(), "line 0\nline 1\nline 2\nline 3\nline 4\n");
  assert.match(await page.locator("#summary").textContent(), /^OK/);
  assert.equal(await page.locator("#exit-code").textContent(), "0");
  assert.ok(await page.locator("#live").isHidden(), "the live controls are gone after the run");
});

// Types "Ada" into the input line once `prompt` is shown, presses Enter,
// and checks the program's answer and the echoed line. `closeAfter`: the
// program waits for the end of its input once it has answered (node's
// readline on a pipe, which stdin is here, keeps it alive until then).
async function inputRoundTrip(language, code, prompt, answer, closeAfter = false) {
  await startLive(language, code);
  const input = page.getByRole("textbox", { name: "Input to the program", exact: true }); // labelled
  await input.waitFor({ state: "visible", timeout: RUN_TIMEOUT });
  await page.waitForFunction((p) => document.getElementById("output").textContent.includes(p), prompt,
    { timeout: RUN_TIMEOUT });
  await input.focus();
  await page.keyboard.type("Ada");
  await page.keyboard.press("Enter");
  await page.waitForFunction((a) => document.getElementById("output").textContent.includes(a), answer,
    { timeout: RUN_TIMEOUT });
  if (closeAfter) {
    assert.equal(await page.locator("#verdict").getAttribute("data-status"), "running");
    await page.getByRole("button", { name: "Close input", exact: true }).click();
  }
  assert.equal(await waitRunEnd(), "ok", await page.locator("#summary").textContent());
  assert.equal(await outputText(), `${prompt}Ada\n${answer}\n`);
  assert.equal(await page.locator("#output .stdin-echo").textContent(), "Ada\n", "the typed line is echoed as input");
  assert.ok(await page.locator("#live").isHidden());
}

pageTest("input(): Python reads a line typed while it runs", async () => {
  await inputRoundTrip("python", 'name = input("name? ")\nprint("hello", name)\n', "name? ", "hello Ada");
});

pageTest("readline: Node.js reads a line typed while it runs", async () => {
  await inputRoundTrip("node", [
    'const readline = require("readline");',
    "const rl = readline.createInterface({ input: process.stdin, output: process.stdout });",
    'rl.question("name? ", (name) => { console.log("hello", name); rl.close(); });', "",
  ].join("\n"), "name? ", "hello Ada", true);
});

pageTest("Close input ends the program's stdin; the stdin box still feeds it whole", async () => {
  await startLive("python", 'import sys\nprint("got", repr(sys.stdin.read()))\n');
  const input = page.getByRole("textbox", { name: "Input to the program", exact: true });
  await input.waitFor({ state: "visible", timeout: RUN_TIMEOUT });
  await input.focus();
  await page.keyboard.type("one");
  await page.keyboard.press("Enter");
  // By keyboard: Tab from the input line reaches Close input.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "live-close");
  await page.keyboard.press("Enter");
  assert.equal(await waitRunEnd(), "ok", await page.locator("#summary").textContent());
  assert.equal(await outputText(), "one\ngot 'one\\n'\n");

  // Input given in the stdin box is all there is: no wait for Close input.
  await page.locator("#stdin").fill("Ada\nGrace\n");
  await page.locator("#run").click();
  assert.equal(await waitRunEnd(), "ok", await page.locator("#summary").textContent());
  assert.equal(await outputText(), "got 'Ada\\nGrace\\n'\n");
  await page.locator("#stdin").fill("");
});

pageTest("Stop cancels a running program", async () => {
  await startLive("python", "while True:\n    pass\n");
  const stop = page.getByRole("button", { name: "Stop", exact: true });
  await stop.waitFor({ state: "visible", timeout: RUN_TIMEOUT });
  assert.equal(await page.locator("#verdict").getAttribute("data-status"), "running");
  await stop.focus();
  await page.keyboard.press("Enter");
  assert.equal(await waitRunEnd(), "cancelled", await page.locator("#summary").textContent());
  assert.equal(await page.locator("#verdict").textContent(), "Cancelled");
  assert.match(await page.locator("#summary").textContent(), /^Cancelled/);
  assert.ok(await stop.isHidden(), "the Stop button is gone");
  assert.ok(await page.locator("#live").isHidden());
});

pageTest("a browser that cannot read a body as it arrives gets the plain answer", async () => {
  const plain = await page.context().newPage();
  try {
    await plain.addInitScript(() => { delete window.ReadableStream; });
    const accepts = [];
    plain.on("request", (r) => { if (new URL(r.url()).pathname === "/run") accepts.push(r.headers().accept); });
    await plain.goto(origin + "/", { waitUntil: "load" });
    await plain.locator(".cm-content").click();
    await plain.keyboard.press("ControlOrMeta+a");
    await plain.keyboard.insertText('print("plain", 1 + 1)\n');
    await plain.locator("#run").click();
    await plain.waitForFunction(() => !["running", "idle"].includes(document.getElementById("verdict").dataset.status),
      null, { timeout: RUN_TIMEOUT });
    assert.equal(await plain.locator("#verdict").getAttribute("data-status"), "ok");
    assert.equal(await plain.locator("#output").textContent(), "plain 2\n");
    assert.deepEqual(accepts, ["application/json"]);
  } finally {
    await plain.close();
  }
});

pageTest("server down, busy, slow or unreachable: a clear message", async () => {
  // The gateway's error answers, faked in the browser (no other host involved).
  const cases = [
    { status: 503, body: { error: "sce-server is not answering", status: "error", code: "UNAVAILABLE" },
      verdict: "unavailable", text: /server is down/ },
    { status: 429, headers: { "Retry-After": "2" }, body: { error: "busy", status: "rejected", code: "RESOURCE_EXHAUSTED" },
      verdict: "busy", text: /busy.*in 2 s/ },
    { status: 504, body: { error: "no answer", status: "error", code: "DEADLINE_EXCEEDED" },
      verdict: "deadline", text: /did not answer in time/ },
    { abort: true, verdict: "unavailable", text: /Cannot reach the gateway/ },
  ];
  await page.locator("#language").selectOption("python");
  await setCode('print("never runs")\n');
  try {
    for (const c of cases) {
      await page.unroute("**/run");
      await page.route("**/run", (route) => (c.abort ? route.abort("connectionrefused") : route.fulfill({
        status: c.status, contentType: "application/json", headers: c.headers || {}, body: JSON.stringify(c.body),
      })));
      assert.equal(await runWithKeyboard(), c.verdict, `HTTP ${c.status || "abort"}`);
      assert.match(await page.locator("#summary").textContent(), c.text);
    }
  } finally {
    await page.unroute("**/run");
  }
  // And back to normal.
  assert.equal(await runWithKeyboard(), "ok");
  assert.equal(await outputText(), "never runs\n");
});

pageTest("a ZIP project runs, its main.py importing a sibling module", async () => {
  const zip = makeZip({
    "main.py": "import helper\nprint(helper.greet('zip'), helper.__name__)\n",
    "helper.py": "def greet(name):\n    return f'hello from {name}'\n",
  });
  await page.locator("#zip-file").setInputFiles({ name: "project.zip", mimeType: "application/zip", buffer: zip });
  await page.locator("#zip-entry").fill("");
  await page.locator("#zip-language").selectOption("");
  await page.locator("#zip-run").press("Enter");
  await page.waitForFunction(() => document.getElementById("zip-run").getAttribute("aria-disabled") !== "true" &&
    !["running", "idle"].includes(document.getElementById("verdict").dataset.status), null, { timeout: RUN_TIMEOUT });
  assert.equal(await page.locator("#verdict").getAttribute("data-status"), "ok", await page.locator("#summary").textContent());
  assert.equal(await outputText(), "hello from zip helper\n");
  assert.match(await page.locator("#ran-with").textContent(), /Python/);
  assert.match(await page.locator("#zip-status").textContent(), /project\.zip/);

  // An archive that is not one: the gateway's message, as text.
  await page.locator("#zip-file").setInputFiles({ name: "notes.zip", mimeType: "application/zip", buffer: Buffer.from("<b>not a zip</b>") });
  await page.locator("#zip-run").click();
  await page.waitForFunction(() => document.getElementById("zip-run").getAttribute("aria-disabled") !== "true" &&
    document.getElementById("verdict").dataset.status === "rejected", null, { timeout: RUN_TIMEOUT });
  assert.match(await page.locator("#summary").textContent(), /zip: not a ZIP archive/);
  assert.equal(await page.locator("#summary b").count(), 0);
});

pageTest("history: choosing a past run loads its code and language", async () => {
  const code = 'const marker = "history-" + (6 * 7);\nconsole.log(marker);\n';
  await page.locator("#language").selectOption("node");
  await setCode(code);
  assert.equal(await runWithKeyboard(), "ok");
  assert.equal(await outputText(), "history-42\n");
  // Elsewhere now: another language, other code.
  await page.locator("#language").selectOption("python");
  await setCode('print("something else")\n');

  await page.locator("#history-refresh").click();
  // The page also reloads the list after each run: wait until the last
  // request has answered, so the item found is the one that stays.
  await page.locator('#history-list[aria-busy="false"]').waitFor();
  const item = page.locator(".history-item", { hasText: 'const marker = "history-" + (6 * 7);' }).first();
  await item.waitFor({ state: "visible" });
  assert.match(await item.textContent(), /JavaScript/);
  assert.equal(await item.locator(".badge").getAttribute("data-status"), "ok");
  await item.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("language").value === "node");
  assert.equal(await editorText(), code);
  assert.match(await page.locator(".cm-content").getAttribute("aria-label"), /JavaScript/);
  assert.match(await page.locator("#history-status").textContent(), /Loaded the JavaScript \(Node\.js\) run/);
  // The ZIP run of the test before is there too, with its entry file.
  const project = page.locator(".history-item", { hasText: "main.py, 2 files" }).first();
  await project.waitFor({ state: "visible" });
  await project.click();
  await page.waitForFunction(() => document.getElementById("language").value === "python");
  assert.equal(await editorText(), "import helper\nprint(helper.greet('zip'), helper.__name__)\n");
});

pageTest("batch: five examples at once, a verdict for each", async () => {
  // The server's own time limit: on a loaded machine five sandboxes
  // starting at once can take more than a second even for the quick ones.
  await page.locator("#language").selectOption("python");
  await page.locator("#timeout").selectOption("");
  await page.locator("#batch-run").click();
  await page.waitForFunction(() => document.getElementById("batch-run").getAttribute("aria-disabled") !== "true" &&
    document.querySelectorAll("#batch-results li").length > 0, null, { timeout: RUN_TIMEOUT * 2 });
  const items = page.locator("#batch-results li");
  assert.equal(await items.count(), 5, await page.locator("#batch-status").textContent());
  const statuses = await items.evaluateAll((lis) => lis.map((li) => li.dataset.status));
  const titles = await page.locator("#batch-results .batch-title").allTextContents();
  assert.deepEqual(titles, ["Hello, world", "Read stdin", "Loop", "Infinite loop", "Memory bomb"]);
  assert.deepEqual(statuses.slice(0, 4), ["ok", "ok", "ok", "timeout"], `verdicts ${statuses}`);
  assert.ok(["memory_limit", "timeout"].includes(statuses[4]), `memory bomb: ${statuses[4]}`);
  assert.equal(await items.nth(0).locator(".batch-detail").textContent(), "Hello, world!");
  assert.equal(await items.nth(1).locator(".batch-detail").textContent(), "Hello, Ada!");
  assert.match(await page.locator("#batch-status").textContent(), /5 runs, 3 OK/);
});

pageTest("phone width: no sideways scrolling, Run reachable", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  const box = await page.locator("#run").boundingBox();
  assert.ok(box && box.width > 0 && box.x >= 0 && box.x + box.width <= 390, "Run button fits");
  await page.setViewportSize({ width: 1280, height: 860 });
});

pageTest("screenshot", async () => {
  await page.locator("#language").selectOption("python");
  await page.locator("#example").selectOption("loop");
  await page.locator("#load-example").click();
  await page.locator(".cm-content").click();
  assert.equal(await runWithKeyboard(), "ok");
  await page.locator("#run").focus(); // no caret blinking in the picture
  await page.evaluate(() => document.activeElement.blur());
  fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  assert.ok(fs.statSync(screenshotPath).size > 10_000);
});

test("no request to another host, no CSP violation, no script error", async () => {
  const foreign = requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("data:"));
  assert.deepEqual(foreign, [], "requests to other hosts");
  const events = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual([...cspViolations, ...events], [], "CSP violations");
  assert.deepEqual(pageErrors, [], "uncaught page errors");
  assert.deepEqual(consoleErrors, [], "console errors");
});
