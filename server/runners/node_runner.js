// sce Node.js runner. Started as: node -e <this source>
//
// Reads a code bundle from fd 0:
//   "SCE1 <header_len>\n" + <header_len bytes of JSON> + file contents
//   (in header order) + the user's own stdin until EOF
// header: {"entry": "main.js", "args": [...], "files": [{"path", "size"}...]}
// writes the files under /tmp/code and runs the entry as the main module,
// as `node <entry> <args...>` would from /tmp/code.
// A malformed bundle: one line "sce-runner: <reason>" on stderr, exit 125.
//
// Nothing is printed before the bundle has been read (a warm pool starts
// this before the code is known), and the runner leaves no globals behind.
'use strict';
(() => {
  const fs = require('fs');
  const path = require('path');
  const Module = require('module');
  const ROOT = '/tmp/code';

  const fail = (reason) => {
    fs.writeSync(2, `sce-runner: ${reason}\n`);
    process.exit(125);
  };

  // Read exactly n bytes from fd 0, never more, so the user's stdin stays
  // unread in the pipe for process.stdin. fd 0 may be non-blocking: on
  // EAGAIN wait 2 ms (synchronously) and retry.
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const readExact = (n) => {
    const buf = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      let got;
      try {
        got = fs.readSync(0, buf, off, n - off, null);
      } catch (e) {
        if (e.code === 'EAGAIN') { Atomics.wait(nap, 0, 0, 2); continue; }
        if (e.code === 'EINTR') continue;
        fail(`cannot read the bundle: ${e.code || e.message}`);
      }
      if (got === 0) fail('truncated bundle');
      off += got;
    }
    return buf;
  };

  // 0. Warm-up, before any code is known (a pooled container sits here):
  // the first use of the stdout/stderr streams, of the UTF-8 decoder, of
  // the module loader and of console formatting each costs milliseconds
  // that would otherwise land on the program's clock.  Nothing of it stays
  // visible: the warm-up module leaves the loader's caches and the disk.
  // Writes to pipes block when the pipe is full (as node documents for
  // Linux), so a program that floods its output is held back by the reader
  // instead of queueing the flood in its own memory.
  for (const stream of [process.stdout, process.stderr]) {
    if (stream._handle && typeof stream._handle.setBlocking === 'function') {
      stream._handle.setBlocking(true);
    }
  }
  new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from('{}'));
  {
    const warm = '/tmp/.sce-warm.js';
    fs.writeFileSync(warm, 'module.exports = 1;\n');
    Module._load(warm, null, false);
    delete Module._cache[warm];
    for (const key of Object.keys(Module._pathCache)) {
      if (key.includes(warm)) delete Module._pathCache[key];
    }
    fs.unlinkSync(warm);
    const discard = new (require('stream').Writable)({ write: (chunk, enc, done) => done() });
    new console.Console(discard).log('%s %d', 'x', 4);
  }

  // The run's figures for the end marker (step 6): CPU time and peak
  // memory of the container's own cgroup (read-only at /sys/fs/cgroup),
  // which count every process of the run; where no cgroup file can be read
  // (gVisor, odd hosts), process.resourceUsage() of this process.  The
  // cgroup's CPU counter lags a running thread by up to a scheduler tick, so
  // the CPU time is at least this process's own (process.cpuUsage), which
  // does not.  Each reader returns a number or throws; 0 means "not known".
  const usage = (() => {
    const small = Buffer.alloc(4096);
    const readFile = (p) => {
      const fd = fs.openSync(p, 'r');
      try {
        return small.toString('latin1', 0, fs.readSync(fd, small, 0, small.length, null));
      } finally {
        fs.closeSync(fd);
      }
    };
    const int = (text) => {
      if (!/^\s*[0-9]{1,19}\s*$/.test(text)) throw new Error('not a number');
      return Number(text.trim());
    };
    // cgroup v2: our own group, as /proc/self/cgroup names it ("0::/"
    // inside a private cgroup namespace, Docker's default on v2).
    const v2Dir = () => {
      const m = /^0::(.*)$/m.exec(readFile('/proc/self/cgroup'));
      if (!m) throw new Error('no cgroup v2 entry');
      return `/sys/fs/cgroup${m[1].replace(/\/+$/, '')}/`;
    };
    const cpuReaders = [
      () => Math.floor(int(readFile('/sys/fs/cgroup/cpuacct/cpuacct.usage')) / 1000),
      () => Math.floor(int(readFile('/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage')) / 1000),
      () => {
        const m = /^usage_usec ([0-9]+)$/m.exec(readFile(`${v2Dir()}cpu.stat`));
        if (!m) throw new Error('no usage_usec');
        return int(m[1]);
      },
      () => { const u = process.resourceUsage(); return u.userCPUTime + u.systemCPUTime; },
    ];
    const peakReaders = [
      () => int(readFile('/sys/fs/cgroup/memory/memory.max_usage_in_bytes')),
      () => int(readFile(`${v2Dir()}memory.peak`)),
      () => process.resourceUsage().maxRSS * 1024, // KiB
    ];
    const ownCpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
    let cpuRead = null;
    let cpuBase = 0;
    let ownBase = 0;
    return {
      start() {
        ownBase = ownCpu();
        for (const read of cpuReaders) {
          try { cpuBase = read(); cpuRead = read; return; } catch (e) { /* the next one */ }
        }
      },
      // [cpu_us since start(), peak_bytes], integers below 10^19; never throws.
      end() {
        let cpu = 0;
        let peak = 0;
        try {
          cpu = ownCpu() - ownBase;
          if (cpuRead) cpu = Math.max(cpuRead() - cpuBase, cpu);
        } catch (e) { /* what was read so far */ }
        for (const read of peakReaders) {
          try { peak = read(); break; } catch (e) { /* the next one */ }
        }
        const ok = (v) => (Number.isSafeInteger(v) && v >= 0 ? v : 0);
        return [ok(cpu), ok(peak)];
      },
    };
  })();

  // 5. `node -e` defines globals that `node file.js` does not: require,
  // module, exports, __filename, __dirname, and a lazy getter for each
  // built-in module (fs, path, ...: those whose setter is named setReal).
  // Removed from the tick queue (see the end), as node sets `module` again
  // after this script returns.
  const evalOnly = ['require', 'module', 'exports', '__filename', '__dirname'];
  const removeEvalGlobals = () => {
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      const d = Object.getOwnPropertyDescriptor(globalThis, name);
      if (evalOnly.includes(name) || (d.configurable && d.set && d.set.name === 'setReal')) {
        delete globalThis[name];
      }
    }
  };

  // Steps 1-7 run from the tick queue, once node has finished with the
  // `-e` script and the eval-only globals can be removed for good.
  const start = () => {
    // 1. The first line, byte by byte: "SCE1 <header_len>\n".
    let line = '';
    while (!line.endsWith('\n')) {
      line += String.fromCharCode(readExact(1)[0]);
      if (line.length > 24) fail('bad bundle magic');
    }
    // The bundle has arrived: the run's clock starts (the warm-up above and
    // node's own start-up are not the program's time).
    usage.start();
    const m = /^SCE1 ([0-9]{1,9})\n$/.exec(line);
    if (!m) fail('bad bundle magic');
    if (Number(m[1]) > 1 << 24) fail('bad bundle header: longer than 16 MiB');

    // 2. The JSON header, checked field by field.
    let header;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readExact(Number(m[1]))));
    } catch (e) {
      fail(`bad bundle header: ${e.message}`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
      fail('bad bundle header: not an object');
    }
    const { entry, args = [], files, nonce = '', linger_ms: linger = 0 } = header;
    if (typeof nonce !== 'string' || !/^[A-Za-z0-9]{0,64}$/.test(nonce)) {
      fail('bad bundle header: nonce must be letters and digits');
    }
    if (!Number.isSafeInteger(linger) || linger < 0 || linger > 10000) {
      fail('bad bundle header: linger_ms must be 0 to 10000');
    }
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
      fail('bad bundle header: args must be a list of strings');
    }
    if (!Array.isArray(files)) fail('bad bundle header: files must be a list');
    const paths = new Set();
    for (const f of files) {
      const p = f !== null && typeof f === 'object' ? f.path : undefined;
      if (typeof p !== 'string' || p === '' || p.includes('\0') || p.startsWith('/') ||
          p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
        fail(`bad file path: ${JSON.stringify(p)}`);
      }
      if (!Number.isSafeInteger(f.size) || f.size < 0) fail(`bad file size for ${JSON.stringify(p)}`);
      if (paths.has(p)) fail(`duplicate file path: ${JSON.stringify(p)}`);
      paths.add(p);
    }
    if (typeof entry !== 'string' || !paths.has(entry)) {
      fail(`entry ${JSON.stringify(entry)} is not one of the files`);
    }

    // 3. The file contents, streamed to /tmp/code/<path>.
    const oldMask = process.umask(0o022);
    let current = '';
    try {
      fs.mkdirSync(ROOT, { recursive: true, mode: 0o755 });
      for (const f of files) {
        current = f.path;
        const dest = path.join(ROOT, f.path);
        fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
        const fd = fs.openSync(dest, 'wx', 0o644);
        for (let left = f.size; left > 0;) {
          const chunk = readExact(Math.min(left, 1 << 20));
          for (let off = 0; off < chunk.length;) off += fs.writeSync(fd, chunk, off);
          left -= chunk.length;
        }
        fs.closeSync(fd);
      }
    } catch (e) {
      fail(`cannot write ${current}: ${e.code || e.message}`);
    }
    process.umask(oldMask);

    // 4. Set the scene like `cd /tmp/code && node <entry> <args>`.
    process.chdir(ROOT);
    const main = path.join(ROOT, entry);
    process.argv = [process.execPath, main, ...args];
    // Drop `-e <runner source>` so child_process.fork() does not inherit it.
    process.execArgv = process.execArgv.filter((a, i, all) =>
      !(a === '-e' || a === '--eval' || a.startsWith('--eval=') ||
        (i > 0 && (all[i - 1] === '-e' || all[i - 1] === '--eval'))));
    delete process._eval;

    // 6. With a nonce, report the program's end: once every 'exit' listener
    // (the user's too) has run, write the same marker with the exit code,
    // the CPU time in microseconds and the peak memory in bytes (0: not
    // known; see above) on stdout and on stderr, so the server need not
    // wait for the container's teardown.  Writes to pipes are synchronous on Linux, so all the
    // program's output is out before the marker.
    // An uncaught exception emits 'exit' before node prints the error, so
    // then no marker: the server reads on to the end of the stream.  With
    // linger_ms (gVisor), the process then waits that long before it exits,
    // so the container is still there when the server reads its figures
    // from the host; the server kills it once it has them.
    if (nonce) {
      const emit = process.emit;
      let crashed = false;
      process.on('uncaughtExceptionMonitor', () => { crashed = true; });
      process.emit = function (event, ...rest) {
        const r = emit.call(this, event, ...rest);
        if (event === 'exit' && !crashed) {
          const code = process.exitCode ?? rest[0] ?? 0;
          const [cpuUs, peakBytes] = usage.end();
          const marker = `\x1eSCE-END:${nonce}:${code}:${cpuUs}:${peakBytes}\n`;
          for (const fd of [1, 2]) {
            try { fs.writeSync(fd, marker); } catch (e) { /* closed by the program */ }
          }
          if (linger > 0) Atomics.wait(nap, 0, 0, linger);
        }
        return r;
      };
    }

    // 7. Run it the way `node file.js` does (Module.runMain: require.main ===
    // module, CommonJS or ES module as package.json says). Called from the
    // tick queue after this script has returned, so no runner frame is on the
    // stack: uncaught errors print as in a plain run, and exit 1.
    process.nextTick(Module.runMain.bind(Module, main));
  };

  process.nextTick(() => {
    removeEvalGlobals();
    start();
  });
})();
