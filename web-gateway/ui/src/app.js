// sce web page: edit a snippet, POST it to /run, show the verdict.
// Everything the server or the program sends is put on the page with
// textContent only, never parsed as HTML.

import { createEditor } from "./editor.js";
import { EXAMPLES, findExample } from "./examples.js";

const CODE_LIMIT = 5000; // the server's default; it has the final word
const FETCH_TIMEOUT_MS = 120_000;

const $ = (id) => document.getElementById(id);
const el = {
  language: $("language"),
  example: $("example"),
  loadExample: $("load-example"),
  timeout: $("timeout"),
  run: $("run"),
  runShortcut: $("run-shortcut"),
  editor: $("editor"),
  charCount: $("char-count"),
  stdin: $("stdin"),
  args: $("args"),
  verdict: $("verdict"),
  summary: $("summary"),
  meta: $("meta"),
  exitCode: $("exit-code"),
  wall: $("wall"),
  ranWith: $("ran-with"),
  limits: $("limits"),
  output: $("output"),
  outputNote: $("output-note"),
  errors: $("errors"),
  errorsNote: $("errors-note"),
  requestId: $("request-id"),
  serverState: $("server-state"),
  serverStateText: $("server-state-text"),
};

// Verdict badge text for each status of a 200 answer and for the
// page's own states (a failed request never has a program verdict).
const VERDICTS = {
  idle: "Not run yet",
  running: "Running…",
  ok: "OK",
  runtime_error: "Runtime error",
  timeout: "Timeout",
  memory_limit: "Memory limit",
  output_limit: "Output limit",
  internal_error: "Internal error",
  rejected: "Rejected",
  busy: "Server busy",
  unavailable: "Server down",
  deadline: "No answer",
  error: "Error",
};

const SIGNALS = { 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };

const LANGUAGE_NAMES = { python: "Python", node: "JavaScript (Node.js)" };

let running = false;
let loadedExample = null; // {id, language} of the example whose text is in the editor, untouched
let serverRetry = 0;

// ---------- formatting ----------

function countChars(text) {
  let n = 0;
  for (const _ of text) n++; // code points, as the server counts them
  return n;
}

function fmtMs(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, "")} s`;
}

function fmtBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) { n /= 1024; i++; }
  return `${n} ${units[i]}`;
}

function parseArgs(text) {
  return text.split(/\s+/).filter((a) => a !== "");
}

// ---------- editor, selectors ----------

const editor = createEditor(el.editor, {
  doc: findExample("hello").python,
  language: "python",
  onRun: () => run(),
  onChange: (text) => { loadedExample = null; updateCount(text); },
});
loadedExample = { id: "hello", language: "python" };

function updateCount(text) {
  const n = countChars(text);
  el.charCount.textContent = `${n.toLocaleString("en-US")} / ${CODE_LIMIT.toLocaleString("en-US")} characters`;
  el.charCount.dataset.over = String(n > CODE_LIMIT);
}
updateCount(editor.getCode());

for (const ex of EXAMPLES) {
  const opt = document.createElement("option");
  opt.value = ex.id;
  opt.textContent = ex.title;
  el.example.append(opt);
}

function loadExample(id, language) {
  const ex = findExample(id);
  if (!ex) return;
  editor.setCode(ex[language]);
  el.stdin.value = ex.stdin || "";
  loadedExample = { id, language };
  updateCount(ex[language]);
}

el.loadExample.addEventListener("click", () => {
  loadExample(el.example.value, el.language.value);
  editor.focus();
});

el.language.addEventListener("change", () => {
  const lang = el.language.value;
  editor.setLanguage(lang);
  // An example left as it was follows the language switch.
  if (loadedExample && loadedExample.language !== lang) loadExample(loadedExample.id, lang);
});

const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
if (isMac) el.runShortcut.textContent = "⌘ Enter";

el.run.addEventListener("click", () => run());
// Ctrl/Cmd+Enter anywhere on the page (the editor handles its own and
// marks the event handled).
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {
    e.preventDefault();
    run();
  }
});

// ---------- result display ----------

function setVerdict(status, text) {
  el.verdict.dataset.status = status;
  el.verdict.textContent = text || VERDICTS[status] || status;
}

function setPanel(pre, note, text, truncated) {
  pre.textContent = text || "";
  note.textContent = truncated ? "truncated at the output limit" : "";
}

function clearResult() {
  setPanel(el.output, el.outputNote, "", false);
  setPanel(el.errors, el.errorsNote, "", false);
  el.meta.hidden = true;
  el.requestId.textContent = "–";
}

function showAnswer(data) {
  const status = typeof data.status === "string" && VERDICTS[data.status] ? data.status : "error";
  setVerdict(status);

  const stdout = typeof data.stdout === "string" ? data.stdout : (data.output || "");
  setPanel(el.output, el.outputNote, stdout, data.stdout_truncated === true);
  setPanel(el.errors, el.errorsNote, typeof data.stderr === "string" ? data.stderr : "",
    data.stderr_truncated === true);

  const hasExit = typeof data.exit_code === "number";
  const signal = data.signal ? ` (${SIGNALS[data.signal] || `signal ${data.signal}`})` : "";
  el.exitCode.textContent = (hasExit ? String(data.exit_code) : "–") + signal;
  el.wall.textContent = fmtMs(data.wall_ms);
  const name = LANGUAGE_NAMES[data.language] || data.language || "";
  el.ranWith.textContent = `${name} ${data.language_version || ""}`.trim() || "–";
  const l = data.limits || {};
  el.limits.textContent = `${fmtMs(l.timeout_ms)} · ${fmtBytes(l.memory_bytes)} memory · ${fmtBytes(l.output_limit_bytes)} output`;
  el.meta.hidden = false;
  el.requestId.textContent = data.request_id || "–";

  // The server's one-line message says it best; these cover its absence.
  const detail = (data.error || data.message || "").trim();
  let summary;
  switch (status) {
    case "ok": summary = `OK: finished in ${fmtMs(data.wall_ms)}, exit code ${hasExit ? data.exit_code : 0}.`; break;
    case "timeout": summary = `stopped at the time limit of ${fmtMs(l.timeout_ms)}.`; break;
    case "memory_limit": summary = `the program used more than ${fmtBytes(l.memory_bytes)} of memory.`; break;
    case "output_limit": summary = `the program wrote more than ${fmtBytes(l.output_limit_bytes)}.`; break;
    case "runtime_error": summary = hasExit ? `exit code ${data.exit_code}.` : "the program failed."; break;
    case "internal_error": summary = "the server could not run the program."; break;
    default: summary = "unexpected answer from the server.";
  }
  if (status !== "ok") summary = `${VERDICTS[status]}: ${detail || summary}`;
  el.summary.textContent = summary;
}

// A non-2xx answer, or no answer at all.
function showFailure(kind, message, requestId) {
  setVerdict(kind);
  clearResult();
  el.summary.textContent = message;
  if (requestId) el.requestId.textContent = requestId;
}

function setServerState(state, text) {
  el.serverState.dataset.state = state;
  el.serverStateText.textContent = text;
  clearTimeout(serverRetry);
  if (state === "down" || state === "unreachable") serverRetry = setTimeout(checkServer, 15_000);
}

// ---------- requests ----------

async function run() {
  if (running) return;
  running = true;
  el.run.setAttribute("aria-disabled", "true");
  el.run.classList.add("is-running");
  document.body.setAttribute("aria-busy", "true");
  setVerdict("running");
  el.summary.textContent = "Running…";

  const body = {
    code: editor.getCode(),
    language: el.language.value,
    stdin: el.stdin.value,
    args: parseArgs(el.args.value),
  };
  if (el.timeout.value) body.timeout_ms = Number(el.timeout.value);

  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
  try {
    let res;
    try {
      res = await fetch("/run", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
        signal: ctrl.signal,
      });
    } catch (e) {
      if (ctrl.signal.aborted) {
        showFailure("deadline", `No answer from the gateway in ${FETCH_TIMEOUT_MS / 1000} s. Try again.`);
      } else {
        showFailure("unavailable", "Cannot reach the gateway: it is down or the network is off. Try again in a moment.");
        setServerState("unreachable", "Gateway unreachable");
      }
      return;
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON: handled below */ }
    handleResponse(res, data);
  } finally {
    clearTimeout(timer);
    running = false;
    el.run.removeAttribute("aria-disabled");
    el.run.classList.remove("is-running");
    document.body.removeAttribute("aria-busy");
  }
}

function handleResponse(res, data) {
  const msg = data && typeof data.error === "string" ? data.error : "";
  const rid = data && data.request_id;
  if (res.ok && data && typeof data === "object") {
    showAnswer(data);
    setServerState("up", "Server ready");
    return;
  }
  if (res.status === 429) {
    const after = Number(res.headers.get("Retry-After"));
    const wait = Number.isFinite(after) && after > 0 ? `in ${after} s` : "in a moment";
    showFailure("busy", `The server is busy with other runs. Try again ${wait}.${msg ? ` (${msg})` : ""}`, rid);
    setServerState("busy", "Server busy");
  } else if (res.status === 503) {
    showFailure("unavailable", `The server is down or not reachable from the gateway. Try again shortly.${msg ? ` (${msg})` : ""}`, rid);
    setServerState("down", "Server down");
  } else if (res.status === 504) {
    showFailure("deadline", `The server did not answer in time. Try again.${msg ? ` (${msg})` : ""}`, rid);
  } else if (res.status >= 400 && res.status < 500) {
    showFailure("rejected", `Rejected: ${msg || `HTTP ${res.status}`}`, rid);
  } else {
    showFailure("error", `The gateway answered HTTP ${res.status}.${msg ? ` ${msg}` : ""}`, rid);
  }
}

// Language versions for the selector, and whether the server is up.
async function checkServer() {
  let res, data;
  try {
    res = await fetch("/languages", { headers: { Accept: "application/json" }, cache: "no-store" });
    data = await res.json();
  } catch {
    if (!res) { setServerState("unreachable", "Gateway unreachable"); return; }
  }
  if (!res.ok || !data || !Array.isArray(data.languages)) {
    setServerState(res.status === 429 ? "busy" : "down", res.status === 429 ? "Server busy" : "Server down");
    return;
  }
  for (const lang of data.languages) {
    const opt = [...el.language.options].find((o) => o.value === lang.name);
    if (!opt) continue;
    const base = LANGUAGE_NAMES[lang.name];
    const version = lang.version ? ` ${lang.version}` : "";
    opt.textContent = lang.name === "node" ? `JavaScript (Node.js${version})` : `${base}${version}`;
    if (lang.available === false) opt.textContent += " (unavailable)";
  }
  setServerState("up", "Server ready");
}

checkServer();
