// Server-sent events read from a fetch() answer's body (POST /run with
// `Accept: text/event-stream`): EventSource only does GET, so the page
// parses the stream itself, as the HTML standard's "event stream
// interpretation" says: lines end in CRLF, LF or CR; `field: value` (one
// space after the colon dropped); `event`, `data` (several joined with
// "\n") and `id` are kept, other fields and `:` comments ignored; a blank
// line dispatches the event (none when it had no data).

// True when this browser can read an answer's body while it arrives.
export function canStream() {
  return typeof ReadableStream === "function" && typeof TextDecoder === "function" &&
    typeof Response === "function" && "body" in Response.prototype &&
    typeof ReadableStream.prototype.getReader === "function";
}

// A parser fed text in pieces of any size; onEvent({event, data, id}) is
// called for each complete event, in order.
export function sseParser(onEvent) {
  let buf = "";
  let event = "";
  let data = [];
  let id = "";

  function line(l) {
    if (l === "") {
      if (data.length) onEvent({ event: event || "message", data: data.join("\n"), id });
      event = "";
      data = [];
      return;
    }
    if (l[0] === ":") return; // a comment (the gateway's keep-alive)
    const colon = l.indexOf(":");
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? "" : l.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
  }

  return {
    // More text; `last` when the stream has ended (an unfinished event
    // is then dropped, as the standard says).
    push(text, last = false) {
      buf += text;
      let at = 0;
      for (;;) {
        const m = /\r\n|\n|\r/g;
        m.lastIndex = at;
        const hit = m.exec(buf);
        if (!hit) break;
        // A CR at the very end may be the first half of a CRLF.
        if (hit[0] === "\r" && hit.index === buf.length - 1 && !last) break;
        line(buf.slice(at, hit.index));
        at = hit.index + hit[0].length;
      }
      buf = buf.slice(at);
      if (last) buf = "";
    },
  };
}

// Reads a fetch() answer's event stream to its end, calling onEvent for
// each event and onData (no argument) whenever bytes arrived, keep-alives
// included. Without a readable body (an old browser) the whole text is
// read first. Throws what the read throws (an abort, a lost connection).
export async function readSse(res, onEvent, onData = () => {}) {
  const parser = sseParser(onEvent);
  if (!res.body || typeof res.body.getReader !== "function") {
    parser.push(await res.text(), true);
    return;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder("utf-8");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onData();
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode(), true);
}
