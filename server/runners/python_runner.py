# sce Python runner. Started as: python3 -u -I -c <this source>
#
# Reads a code bundle from fd 0:
#   b"SCE1 <header_len>\n" + <header_len bytes of JSON> + file contents
#   (in header order) + the user's own stdin until EOF
# header: {"entry": "main.py", "args": [...], "files": [{"path", "size"}...]}
# writes the files under /tmp/code and runs the entry as __main__, as
# `python3 <entry> <args...>` would from /tmp/code.
# A malformed bundle: one line "sce-runner: <reason>" on stderr, exit 125.
#
# Everything lives inside one function so no runner name is visible to the
# user's program, and nothing is printed before the bundle has been read
# (a warm pool starts this before the code is known).


def _sce_run():
    import builtins, json, os, sys, time
    from importlib.machinery import SourceFileLoader

    globals().pop("_sce_run", None)  # hide the runner from user code
    ROOT = "/tmp/code"

    def fail(reason):
        os.write(2, ("sce-runner: %s\n" % reason).encode("utf-8", "replace"))
        os._exit(125)

    def read_exact(n):
        # os.read on fd 0: never reads past what we ask for, so the user's
        # stdin stays unread in the pipe for sys.stdin / input().
        parts = []
        while n > 0:
            chunk = os.read(0, min(n, 1 << 20))
            if not chunk:
                fail("truncated bundle")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    # The run's figures for the end marker (step 5): CPU time and peak
    # memory of the container's own cgroup (read-only at /sys/fs/cgroup),
    # which count every process of the run; where no cgroup file can be
    # read (gVisor, odd hosts), getrusage of this process and its waited-for
    # children.  The cgroup's CPU counter lags a running thread by up to a
    # scheduler tick, so the CPU time is at least this process's own CPU
    # clock, which does not.  Each reader returns an int or raises; 0 means
    # "not known".
    def read_file(path):
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.read(fd, 4096)
        finally:
            os.close(fd)

    def v2_dir():
        # cgroup v2: our own group, as /proc/self/cgroup names it ("0::/"
        # inside a private cgroup namespace, Docker's default on v2).
        for entry in read_file("/proc/self/cgroup").splitlines():
            if entry.startswith(b"0::"):
                return "/sys/fs/cgroup" + entry[3:].decode().rstrip("/") + "/"
        raise OSError("no cgroup v2 entry")

    def v2_cpu_us():
        for entry in read_file(v2_dir() + "cpu.stat").splitlines():
            if entry.startswith(b"usage_usec "):
                return int(entry.split()[1])
        raise OSError("no usage_usec")

    def rusage(what):
        import resource
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        if what == "cpu":
            return int((own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime) * 1e6)
        return max(own.ru_maxrss, kids.ru_maxrss) * 1024  # KiB on Linux

    cpu_readers = (lambda: int(read_file("/sys/fs/cgroup/cpuacct/cpuacct.usage")) // 1000,
                   lambda: int(read_file("/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage")) // 1000,
                   v2_cpu_us, lambda: rusage("cpu"))
    peak_readers = (lambda: int(read_file("/sys/fs/cgroup/memory/memory.max_usage_in_bytes")),
                    lambda: int(read_file(v2_dir() + "memory.peak")), lambda: rusage("peak"))
    own_cpu_us = lambda: time.process_time_ns() // 1000
    cpu_base = [None, 0, 0]  # the reader that worked, its reading, own_cpu_us()

    def cpu_start():
        cpu_base[2] = own_cpu_us()
        for read in cpu_readers:
            try:
                cpu_base[:2] = [read, read()]
                return
            except Exception:
                pass

    def usage_end():
        # (cpu_us since cpu_start, peak_bytes); never raises.
        cpu = peak = 0
        try:
            cpu = own_cpu_us() - cpu_base[2]
            if cpu_base[0] is not None:
                cpu = max(cpu_base[0]() - cpu_base[1], cpu)
        except Exception:
            pass
        for read in peak_readers:
            try:
                peak = read()
                break
            except Exception:
                pass
        return (cpu if 0 <= cpu < 10**19 else 0, peak if 0 <= peak < 10**19 else 0)

    # 1. The first line, byte by byte: "SCE1 <header_len>\n".
    line = b""
    while not line.endswith(b"\n"):
        line += read_exact(1)
        if len(line) > 24:
            fail("bad bundle magic")
    # The bundle has arrived: the run's clock starts (a warm container's
    # interpreter start-up is not the program's time).
    cpu_start()
    magic, _, length = line[:-1].partition(b" ")
    if magic != b"SCE1" or not length.isdigit() or len(length) > 9:
        fail("bad bundle magic")
    if int(length) > 1 << 24:
        fail("bad bundle header: longer than 16 MiB")

    # 2. The JSON header, checked field by field.
    try:
        header = json.loads(read_exact(int(length)).decode("utf-8"))
    except ValueError as e:
        fail("bad bundle header: %s" % e)
    if not isinstance(header, dict):
        fail("bad bundle header: not an object")
    entry, args, files = header.get("entry"), header.get("args", []), header.get("files")
    nonce = header.get("nonce", "")
    if not (isinstance(nonce, str) and len(nonce) <= 64 and nonce.isalnum() or nonce == ""):
        fail("bad bundle header: nonce must be letters and digits")
    linger = header.get("linger_ms", 0)
    if type(linger) is not int or not 0 <= linger <= 10000:
        fail("bad bundle header: linger_ms must be 0 to 10000")
    if not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
        fail("bad bundle header: args must be a list of strings")
    if not isinstance(files, list):
        fail("bad bundle header: files must be a list")
    paths = []
    for f in files:
        path, size = (f.get("path"), f.get("size")) if isinstance(f, dict) else (None, None)
        if not isinstance(path, str) or not path or "\0" in path or path.startswith("/") \
                or any(seg in ("", ".", "..") for seg in path.split("/")):
            fail("bad file path: %r" % (path,))
        if type(size) is not int or size < 0:
            fail("bad file size for %r" % path)
        if path in paths:
            fail("duplicate file path: %r" % path)
        paths.append(path)
    if not isinstance(entry, str) or entry not in paths:
        fail("entry %r is not one of the files" % (entry,))

    # 3. The file contents, streamed to /tmp/code/<path>.
    old_umask = os.umask(0o022)
    current = ROOT
    try:
        os.makedirs(ROOT, 0o755, exist_ok=True)
        for f in files:
            current = f["path"]
            dest = os.path.join(ROOT, current)
            os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            left = f["size"]
            while left > 0:
                data = read_exact(min(left, 1 << 20))
                while data:
                    data = data[os.write(fd, data):]
                left -= min(left, 1 << 20)
            os.close(fd)
    except OSError as e:
        fail("cannot write %s: %s" % (current, e.strerror))
    os.umask(old_umask)

    # 4. Set the scene like `cd /tmp/code && python3 <entry> <args>`.
    os.chdir(ROOT)
    path = os.path.join(ROOT, entry)
    sys.argv = [entry] + args
    if sys.path and sys.path[0] == "":
        sys.path[0] = ROOT
    else:
        sys.path.insert(0, ROOT)
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE
    old_main = sys.modules["__main__"]  # keep it alive while we run
    main = type(sys)("__main__")
    main.__dict__.update(__file__=path, __cached__=None, __annotations__={},
                         __builtins__=builtins,
                         __loader__=SourceFileLoader("__main__", path))
    sys.modules["__main__"] = main

    # 5. With a nonce, report the program's end: the same marker with the
    # exit status, the CPU time in microseconds and the peak memory in
    # bytes (0: not known; see above) on stdout and on stderr (the engine
    # keeps the order within each stream, not across them), written by an
    # exit handler registered before the program's own, so it runs after
    # theirs and after the interpreter has waited for the program's threads.
    # The server then has the status at once instead of when the container
    # has been torn down.
    # A forked child of the program runs exit handlers too: only this
    # process reports.  Without the marker (os._exit, a signal) the server
    # falls back to the end of the stream.  With linger_ms (gVisor), the
    # process then waits that long before it exits, so the container is
    # still there when the server reads its figures from the host; the
    # server kills it once it has them.
    status = [0]
    if nonce:
        import atexit
        marker, me = "\x1eSCE-END:%s:" % nonce, os.getpid()

        def report_end():
            if os.getpid() == me:
                end = ("%s%d:%d:%d\n" % ((marker, status[0]) + usage_end())).encode()
                for fd in (1, 2):
                    try:
                        os.write(fd, end)
                    except OSError:
                        pass
                if linger:
                    time.sleep(linger / 1000)

        atexit.register(report_end)
    del nonce

    # 6. Run it. An uncaught exception propagates to the interpreter, which
    # prints it and exits as a plain run would (exit 1; SystemExit and
    # KeyboardInterrupt as usual); we only hide the runner's own frames
    # (filename "<string>") from the traceback handed to sys.excepthook.
    try:
        with open(path, "rb") as src:
            code = compile(src.read(), path, "exec", dont_inherit=True)
        del src
        exec(code, main.__dict__)
    except SystemExit as e:
        # The status the interpreter will exit with (see Py_Exit).
        c = e.code
        status[0] = 0 if c is None else (c & 0xFF if isinstance(c, int) else 1)
        raise
    except BaseException as e:
        status[0] = 130 if isinstance(e, KeyboardInterrupt) else 1
        hook = sys.excepthook  # the user's, if they set one

        def strip_runner_frames(etype, value, tb):
            while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
                tb = tb.tb_next
            hook(etype, value.with_traceback(tb), tb)

        sys.excepthook = strip_runner_frames
        raise


_sce_run()
