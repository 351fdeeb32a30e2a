// sce web page: edit a snippet, POST it to /run, show the verdict. Also:
// run a ZIP project (POST /run-zip), the examples as one batch
// (POST /run-batch), and the server's history of runs (GET /history).
// Runs are streamed (`Accept: text/event-stream`, read by sse.js): the
// output appears as the program writes it, and while it runs an input
// line writes to its stdin (POST /runs/{id}/stdin), "Close input" ends
// its stdin and "Stop" cancels it (POST /runs/{id}/cancel). A browser
// that cannot read a body as it arrives gets the plain answer.
// Everything the server or the program sends is put on the page with
// textContent only, never parsed as HTML.

import { createEditor } from "./editor.js";
import { EXAMPLES, findExample } from "./examples.js";
import { canStream, readSse } from "./sse.js";

const CODE_LIMIT = 5000; // the server's default; it has the final word
const FETCH_TIMEOUT_MS = 120_000;
const ZIP_LIMIT = 2 * 1024 * 1024; // the gateway's; it has the final word
const BATCH_SIZE = 5; // the server's default batch limit
const HISTORY_PAGE = 10;

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
  live: $("live"),
  liveInputRow: $("live-input-row"),
  liveInput: $("live-input"),
  liveClose: $("live-close"),
  liveStop: $("live-stop"),
  liveStatus: $("live-status"),
  outputNote: $("output-note"),
  errors: $("errors"),
  errorsNote: $("errors-note"),
  requestId: $("request-id"),
  serverState: $("server-state"),
  serverStateText: $("server-state-text"),
  zipFile: $("zip-file"),
  zipEntry: $("zip-entry"),
  zipLanguage: $("zip-language"),
  zipRun: $("zip-run"),
  zipStatus: $("zip-status"),
  batchRun: $("batch-run"),
  batchStatus: $("batch-status"),
  batchResults: $("batch-results"),
  historyRefresh: $("history-refresh"),
  historyStatus: $("history-status"),
  historyList: $("history-list"),
  historyNewer: $("history-newer"),
  historyOlder: $("history-older"),
  historyPage: $("history-page"),
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
  cancelled: "Cancelled",
  rejected: "Rejected",
  busy: "Server busy",
  unavailable: "Server down",
  deadline: "No answer",
  error: "Error",
};

const SIGNALS = { 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };

const LANGUAGE_NAMES = { python: "Python", node: "JavaScript (Node.js)" };

let running = false;
let batchRunning = false;
let historyOffset = 0;
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

// A run's answer (a plain /run answer, or a stream's `result` event).
// `streamed` is the live run whose output is already on the page: when it
// is the answer's, it stays, with the input echoed into it.
function showAnswer(data, streamed = null) {
  const status = typeof data.status === "string" && VERDICTS[data.status] ? data.status : "error";
  setVerdict(status);

  const stdout = typeof data.stdout === "string" ? data.stdout : (data.output || "");
  if (streamed && streamed.stdout === stdout) {
    el.outputNote.textContent = data.stdout_truncated === true ? "truncated at the output limit" : "";
  } else {
    setPanel(el.output, el.outputNote, stdout, data.stdout_truncated === true);
  }
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
    case "cancelled": summary = "stopped before it ended."; break;
    default: summary = "unexpected answer from the server.";
  }
  if (status !== "ok") summary = `${VERDICTS[status]}: ${detail || summary}`;
  el.summary.textContent = summary;
}

// A non-2xx answer, or no answer at all. `keepOutput`: a stream that
// failed after the start leaves what the program wrote on the page.
function showFailure(kind, message, requestId, keepOutput = false) {
  setVerdict(kind);
  if (keepOutput) el.meta.hidden = true;
  else clearResult();
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
  const body = {
    code: editor.getCode(),
    language: el.language.value,
    stdin: el.stdin.value,
    args: parseArgs(el.args.value),
  };
  if (el.timeout.value) body.timeout_ms = Number(el.timeout.value);
  // Input typed in the stdin box is all the program gets; without any,
  // the input line under the output writes to it while it runs.
  await submit("/run", { "Content-Type": "application/json" }, JSON.stringify(body), el.run,
    { closeStdin: body.stdin !== "" });
}

// Sends one run (a snippet, or a ZIP project) and shows its answer in the
// result pane. `button` shows that it is busy. Streamed when the browser
// can read the answer as it arrives; `closeStdin`: the request carries
// all the program's stdin (the stdin box), so it is closed at the start.
async function submit(url, headers, body, button, { closeStdin = false } = {}) {
  if (running) return;
  running = true;
  button.setAttribute("aria-disabled", "true");
  button.classList.add("is-running");
  document.body.setAttribute("aria-busy", "true");
  setVerdict("running");
  el.summary.textContent = "Running…";

  const streamed = canStream();
  const ctrl = new AbortController();
  // The limit is on silence: a stream's bytes (keep-alives included) rearm it.
  let timer = 0;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
  };
  arm();
  try {
    let res;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { ...headers, Accept: streamed ? "text/event-stream" : "application/json" },
        body,
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
    // Errors before the start are JSON, as is the whole answer of a
    // gateway that does not stream.
    if (res.ok && /^text\/event-stream/i.test(res.headers.get("Content-Type") || "")) {
      await followRun(res, ctrl, arm, closeStdin);
      return;
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON: handled below */ }
    handleResponse(res, data);
    if (res.ok) loadHistory(0);
  } finally {
    clearTimeout(timer);
    endLive();
    running = false;
    button.removeAttribute("aria-disabled");
    button.classList.remove("is-running");
    document.body.removeAttribute("aria-busy");
  }
}

function handleResponse(res, data) {
  if (res.ok && data && typeof data === "object") {
    showAnswer(data);
    setServerState("up", "Server ready");
    return;
  }
  showError(res.status, data, res.headers.get("Retry-After"));
}

// An error answer: its HTTP status (a stream's `event: error` has the
// status its code maps to), the JSON error object, Retry-After.
function showError(status, data, retryAfter, keepOutput = false) {
  const msg = data && typeof data.error === "string" ? data.error : "";
  const rid = data && data.request_id;
  if (status === 429) {
    const after = Number(retryAfter);
    const wait = Number.isFinite(after) && after > 0 ? `in ${after} s` : "in a moment";
    showFailure("busy", `The server is busy with other runs. Try again ${wait}.${msg ? ` (${msg})` : ""}`, rid, keepOutput);
    setServerState("busy", "Server busy");
  } else if (status === 503) {
    showFailure("unavailable", `The server is down or not reachable from the gateway. Try again shortly.${msg ? ` (${msg})` : ""}`, rid, keepOutput);
    setServerState("down", "Server down");
  } else if (status === 504) {
    showFailure("deadline", `The server did not answer in time. Try again.${msg ? ` (${msg})` : ""}`, rid, keepOutput);
  } else if (status >= 400 && status < 500) {
    showFailure("rejected", `Rejected: ${msg || `HTTP ${status}`}`, rid, keepOutput);
  } else {
    showFailure("error", `The gateway answered HTTP ${status}.${msg ? ` ${msg}` : ""}`, rid, keepOutput);
  }
}

// The HTTP status the gateway gives each error code (web-gateway/json.c).
const CODE_STATUS = {
  INVALID_ARGUMENT: 400, UNAUTHENTICATED: 401, PERMISSION_DENIED: 403, NOT_FOUND: 404,
  FAILED_PRECONDITION: 409, RESOURCE_EXHAUSTED: 429, UNIMPLEMENTED: 501, UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

// ---------- a live run: its event stream, its stdin, Stop ----------

// The run being followed, while its stream is read: {id, ctrl, queue,
// closed, stopping, stopAborted, stdout, ended}; else null.
let live = null;

const runUrl = (run, what) => `/runs/${encodeURIComponent(run.id)}/${what}`;

// Appends text to an output panel, following it down when it was at its end.
function appendText(pre, text, className = "") {
  if (!text) return;
  const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 4;
  if (className) pre.append(span(className, text));
  else if (pre.lastChild && pre.lastChild.nodeType === Node.TEXT_NODE) pre.lastChild.appendData(text);
  else pre.append(document.createTextNode(text));
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

// Reads a run's event stream (200, text/event-stream) to its end.
async function followRun(res, ctrl, arm, closeStdin) {
  const run = {
    id: "", ctrl, queue: Promise.resolve(), closed: false, stopping: false, stopAborted: false,
    stdout: "", ended: false,
  };
  live = run;
  clearResult();
  const onEvent = (ev) => {
    if (run.ended) return;
    let d = null;
    try { d = JSON.parse(ev.data); } catch { /* not JSON: ignored */ }
    if (!d || typeof d !== "object") return;
    switch (ev.event) {
      case "start":
        if (typeof d.id !== "string" || !d.id) break;
        run.id = d.id;
        showLive(run);
        if (closeStdin) closeInput();
        break;
      case "stdout":
        if (typeof d.data !== "string") break;
        run.stdout += d.data;
        appendText(el.output, d.data);
        break;
      case "stderr":
        if (typeof d.data === "string") appendText(el.errors, d.data);
        break;
      case "result":
        run.ended = true;
        endLive();
        showAnswer(d, run);
        setServerState("up", "Server ready");
        loadHistory(0);
        break;
      case "error":
        run.ended = true;
        endLive();
        showError(CODE_STATUS[d.code] || 500, d, null, true);
        break;
      default:
        break;
    }
  };
  try {
    await readSse(res, onEvent, arm);
  } catch {
    if (run.ended) return;
    run.ended = true;
    if (run.stopAborted) {
      showFailure("cancelled", "Cancelled: the run was stopped (its connection closed).", "", true);
    } else if (ctrl.signal.aborted) {
      showFailure("deadline", `Nothing from the gateway in ${FETCH_TIMEOUT_MS / 1000} s; the run was dropped.`, "", true);
    } else {
      showFailure("unavailable", "The connection to the gateway was lost before the run ended. Try again.", "", true);
    }
    return;
  }
  if (!run.ended) {
    run.ended = true;
    showFailure("error", "The gateway ended the stream without the run's result. Try again.", "", true);
  }
}

// Shows the input line, Close input and Stop for a started run.
function showLive(run) {
  el.liveInput.value = "";
  el.liveStatus.textContent = "";
  el.liveStop.removeAttribute("aria-disabled");
  el.liveInputRow.hidden = run.closed;
  el.liveClose.hidden = run.closed;
  el.live.hidden = false;
}

// Hides them once the run has ended; focus inside goes to the output.
function endLive() {
  if (!live && el.live.hidden) return;
  const hadFocus = el.live.contains(document.activeElement);
  live = null;
  el.live.hidden = true;
  el.liveInput.value = "";
  if (hadFocus) el.output.focus();
}

// One line of what a failed stdin or cancel request says.
function liveFailureText(res, data) {
  if (res.status === 409) return "The program's input is closed: it has ended, or its input was closed.";
  if (res.status === 429) return "Too much input waits unread; send more once the program has read it.";
  if (res.status === 404) return "The gateway no longer knows this run.";
  return failureText(res, data);
}

// Writes to the run's stdin, in the order asked (each waits for the last).
function writeStdin(run, body, close) {
  run.queue = run.queue.then(async () => {
    if (run.ended) return;
    try {
      const { res, data } = await requestJson(runUrl(run, "stdin") + (close ? "?close=1" : ""), {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body,
      });
      if (!res.ok && !run.ended) el.liveStatus.textContent = liveFailureText(res, data);
    } catch {
      if (!run.ended) el.liveStatus.textContent = "Cannot reach the gateway to send the input.";
    }
  });
}

// Enter in the input line: the line and a newline go to the program, and
// are echoed into the output as a terminal would.
function sendLine() {
  const run = live;
  if (!run || run.closed || run.ended) return;
  const line = el.liveInput.value;
  el.liveInput.value = "";
  appendText(el.output, `${line}\n`, "stdin-echo");
  writeStdin(run, new TextEncoder().encode(`${line}\n`), false);
}

// "Close input": end of file on the program's stdin.
function closeInput() {
  const run = live;
  if (!run || run.closed || run.ended) return;
  run.closed = true;
  const hadFocus = el.liveInputRow.contains(document.activeElement) || document.activeElement === el.liveClose;
  el.liveInputRow.hidden = true;
  el.liveClose.hidden = true;
  if (hadFocus) el.liveStop.focus();
  writeStdin(run, "", true);
}

// "Stop": cancels the run; its result (verdict cancelled) ends the stream.
// When the gateway cannot be asked, dropping the stream cancels it too.
async function stopRun() {
  const run = live;
  if (!run || run.stopping || run.ended) return;
  run.stopping = true;
  el.liveStop.setAttribute("aria-disabled", "true");
  el.liveStatus.textContent = "Stopping…";
  let ok = false;
  try {
    const { res } = await requestJson(runUrl(run, "cancel"), { method: "POST" });
    ok = res.ok;
  } catch { /* below */ }
  if (!ok && !run.ended) {
    run.stopAborted = true;
    run.ctrl.abort();
  }
}

el.liveInput.addEventListener("keydown", (e) => {
  if (e.isComposing) return;
  if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    sendLine();
  } else if ((e.key === "d" || e.key === "D") && e.ctrlKey && !e.altKey && !e.metaKey && el.liveInput.value === "") {
    e.preventDefault(); // Ctrl+D on an empty line: end of file, as in a terminal
    closeInput();
  }
});
el.liveClose.addEventListener("click", () => closeInput());
el.liveStop.addEventListener("click", () => stopRun());

// Language versions for the selector, and whether the server is up.
async function checkServer() {
  let res, data;
  try {
    res = await fetch("/sce/languages", { headers: { Accept: "application/json" }, cache: "no-store" });
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

// ---------- other requests: ZIP projects, batches, history ----------

// GET or POST with a JSON answer; throws when the gateway cannot be reached.
async function requestJson(url, init = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      ...init,
      headers: { ...(init.headers || {}), Accept: "application/json" },
      cache: "no-store",
      signal: ctrl.signal,
    });
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    return { res, data };
  } finally {
    clearTimeout(timer);
  }
}

// One line for a failed answer, outside the result pane.
function failureText(res, data) {
  const msg = data && typeof data.error === "string" ? data.error : "";
  const more = msg ? ` (${msg})` : "";
  if (res.status === 429) return `The server is busy. Try again in a moment.${more}`;
  if (res.status === 503) return `The server is down or not reachable from the gateway.${more}`;
  if (res.status === 504) return `The server did not answer in time.${more}`;
  if (res.status >= 400 && res.status < 500) return `Rejected: ${msg || `HTTP ${res.status}`}`;
  return `The gateway answered HTTP ${res.status}.${msg ? ` ${msg}` : ""}`;
}

function span(className, text) {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
}

function badge(status) {
  const b = span("badge", VERDICTS[status] || status);
  b.dataset.status = VERDICTS[status] ? status : "error";
  return b;
}

function firstLine(text) {
  return (typeof text === "string" ? text : "").split("\n").find((l) => l.trim() !== "") || "";
}

function fmtTime(ms) {
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime())) return "–";
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

// ZIP: the archive, and the entry and language when given; the answer
// goes to the result pane like any run.
async function runZip() {
  if (running) return;
  const file = el.zipFile.files && el.zipFile.files[0];
  if (!file) {
    el.zipStatus.textContent = "Choose a ZIP archive first.";
    el.zipFile.focus();
    return;
  }
  if (file.size > ZIP_LIMIT) {
    el.zipStatus.textContent = `${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the limit is 2 MiB.`;
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  const entry = el.zipEntry.value.trim();
  if (entry) form.append("entry", entry);
  if (el.zipLanguage.value) form.append("language", el.zipLanguage.value);
  el.zipStatus.textContent = `Running ${file.name}…`;
  await submit("/run-zip", {}, form, el.zipRun);
  el.zipStatus.textContent = `${file.name}: the result is shown under Result.`;
}

el.zipRun.addEventListener("click", () => runZip());

// Batch: the first examples of the selected language, in one request.
function batchItem(example, r) {
  const li = document.createElement("li");
  let status;
  let detail;
  if (r && typeof r === "object" && "exit_code" in r) {
    status = VERDICTS[r.status] ? r.status : "error";
    detail = status === "ok" ? firstLine(r.stdout ?? r.output) : (r.error || firstLine(r.stderr));
  } else {
    status = r && r.status === "rejected" ? "rejected" : "error";
    detail = (r && r.error) || "did not run";
  }
  li.dataset.status = status;
  li.append(span("batch-title", example.title), badge(status), span("batch-detail", detail));
  return li;
}

async function runBatch() {
  if (batchRunning) return;
  batchRunning = true;
  el.batchRun.setAttribute("aria-disabled", "true");
  el.batchRun.classList.add("is-running");
  const lang = el.language.value;
  const examples = EXAMPLES.slice(0, BATCH_SIZE);
  const tasks = examples.map((ex) => {
    const t = { language: lang, code: ex[lang] };
    if (ex.stdin) t.stdin = ex.stdin;
    if (el.timeout.value) t.timeout_ms = Number(el.timeout.value);
    return t;
  });
  el.batchResults.replaceChildren();
  el.batchStatus.textContent = `Running ${tasks.length} ${LANGUAGE_NAMES[lang]} examples…`;
  try {
    const { res, data } = await requestJson("/run-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tasks }),
    });
    if (!res.ok || !data || !Array.isArray(data.results)) {
      el.batchStatus.textContent = failureText(res, data);
      return;
    }
    data.results.forEach((r, i) => { if (examples[i]) el.batchResults.append(batchItem(examples[i], r)); });
    const ok = data.results.filter((r) => r && r.status === "ok").length;
    el.batchStatus.textContent = `Done: ${data.results.length} runs, ${ok} OK.`;
    loadHistory(0);
  } catch {
    el.batchStatus.textContent = "Cannot reach the gateway. Try again in a moment.";
  } finally {
    batchRunning = false;
    el.batchRun.removeAttribute("aria-disabled");
    el.batchRun.classList.remove("is-running");
  }
}

el.batchRun.addEventListener("click", () => runBatch());

// History: a page of recent runs; choosing one loads its code.
let historySeq = 0;
let historyNote = ""; // what the last entry opened says; a refresh keeps it

// A page carries shortened text for long runs (`truncated`); the run
// itself comes whole from /history/{id} before it is loaded.
async function openHistory(listed) {
  let e = listed;
  if (listed.truncated) {
    try {
      const { res, data } = await requestJson(`/history/${encodeURIComponent(listed.id)}`);
      if (!res.ok || !data) {
        el.historyStatus.textContent = failureText(res, data);
        return;
      }
      e = data;
    } catch {
      el.historyStatus.textContent = "Cannot reach the gateway.";
      return;
    }
  }
  const lang = LANGUAGE_NAMES[e.language] ? e.language : el.language.value;
  const code = typeof e.code === "string" ? e.code : "";
  el.language.value = lang;
  editor.setLanguage(lang);
  editor.setCode(code);
  loadedExample = null;
  updateCount(code);
  let note = `Loaded the ${LANGUAGE_NAMES[lang]} run of ${fmtTime(e.time_ms)} into the editor`;
  if (e.entry) note += ` (the project's entry file, ${e.entry})`;
  if (e.code_truncated) note += "; its code was cut at the history's limit";
  historyNote = `${note}.`;
  el.historyStatus.textContent = historyNote;
  editor.focus();
}

function historyItem(e) {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "history-item";
  const meta = span("history-meta", "");
  meta.append(span("history-time", fmtTime(e.time_ms)),
    span("history-lang", LANGUAGE_NAMES[e.language] || e.language || "?"), badge(e.status));
  if (e.entry) meta.append(span("history-project", `${e.entry}, ${e.files} files`));
  b.append(meta, span("history-code", firstLine(e.code) || "(empty)"));
  b.addEventListener("click", () => openHistory(e));
  li.append(b);
  return li;
}

async function loadHistory(offset) {
  const seq = ++historySeq;
  let res;
  let data;
  // Busy until the latest request has answered, so that assistive
  // technology (and the browser test) knows the list may still change.
  el.historyList.setAttribute("aria-busy", "true");
  try {
    ({ res, data } = await requestJson(`/history?limit=${HISTORY_PAGE}&offset=${Math.max(0, offset)}`));
  } catch {
    if (seq === historySeq) {
      el.historyStatus.textContent = "Cannot reach the gateway.";
      el.historyList.setAttribute("aria-busy", "false");
    }
    return;
  }
  if (seq !== historySeq) return; // a later request superseded this one
  el.historyList.setAttribute("aria-busy", "false");
  if (!res.ok || !data || !Array.isArray(data.entries)) {
    el.historyStatus.textContent = failureText(res, data);
    return;
  }
  historyOffset = Math.max(0, offset);
  const total = Number(data.total) || 0;
  el.historyList.replaceChildren(...data.entries.map(historyItem));
  el.historyNewer.disabled = historyOffset === 0;
  el.historyOlder.disabled = historyOffset + data.entries.length >= total;
  el.historyPage.textContent = data.entries.length
    ? `${historyOffset + 1}–${historyOffset + data.entries.length} of ${total}` : "";
  if (data.enabled === false) el.historyStatus.textContent = "The server keeps no history.";
  else el.historyStatus.textContent = data.entries.length ? historyNote : "No runs yet.";
}

el.historyRefresh.addEventListener("click", () => loadHistory(historyOffset));
el.historyNewer.addEventListener("click", () => loadHistory(historyOffset - HISTORY_PAGE));
el.historyOlder.addEventListener("click", () => loadHistory(historyOffset + HISTORY_PAGE));

checkServer();
loadHistory(0);
