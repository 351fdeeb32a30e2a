# works.py - what CPython programs commonly do must still work under the
# hardened container (seccomp profile, rlimits, private IPC, read-only root).
# Prints one line per feature and "ALL OK" at the end; any failure raises.
import asyncio, ctypes, json, mmap, multiprocessing as mp, os, resource, shutil
import socket, sqlite3, subprocess, tempfile, threading


def square(x):
    return x * x


def main():
    with mp.Pool(2) as pool:
        print("pool", pool.map(square, range(6)))
    for method in ("fork", "spawn", "forkserver"):
        q = mp.get_context(method).Queue()
        p = mp.get_context(method).Process(target=q.put, args=(method,))
        p.start()
        print("process", q.get(timeout=20))
        p.join()
    lock = mp.Lock()  # a POSIX semaphore in /dev/shm
    with lock:
        print("semaphore ok")
    threads = [threading.Thread(target=square, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print("threads ok")
    print("subprocess", subprocess.run(["sh", "-c", "echo $((6*7))"], capture_output=True,
                                       text=True, check=True).stdout.strip())

    async def amain():
        proc = await asyncio.create_subprocess_exec("echo", "async", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        await asyncio.sleep(0.01)
        return out.decode().strip()
    print("asyncio", asyncio.run(amain()))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"ping")
    print("loopback", conn.recv(4).decode())
    a, b = socket.socketpair()
    a.sendall(b"pair")
    print("socketpair", b.recv(4).decode())
    print("ctypes", ctypes.CDLL(None).getpid() == os.getpid())
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "a"), "w") as f:
        f.write("copied")
    shutil.copy(os.path.join(d, "a"), os.path.join(d, "b"))
    print("files", open(os.path.join(d, "b")).read())
    print("sqlite", sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])
    m = mmap.mmap(-1, 1 << 20)
    m[:5] = b"mmap!"
    print("mmap", m[:5].decode())
    print("json", json.dumps({"rlimit_nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))
    print("ALL OK")


if __name__ == "__main__":
    main()
