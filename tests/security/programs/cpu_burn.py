# cpu_burn.py - two busy processes (as many as the host's cores; one CPU is
# the limit); prints "CPU_SECONDS WALL_SECONDS WORK_RATIO" for a window of
# 1.5 s in which both burn.  CPU_SECONDS is what the kernel charged them
# (the host's kernel on runc; on gVisor its own kernel's account, which
# counts a task as running while the host holds it back, so the test does
# not trust it there).  WORK_RATIO is the work the two did per second in
# the window over what the first did per second alone right after it (the
# other stopped): about 1 under a limit of one CPU whatever the kernel, 2
# on two free cores (on gVisor, 0.8-1.2 and 1.6-2.8 measured here).
# The burners start, report ready and wait for a signal, so start-up (slow
# on a busy host) stays out of the window, and a busy host can only lower
# the figures.
import multiprocessing as mp
import os
import time

N, BATCH = 2, 20000


def burn(ready, go, done, i):
    ready.release()
    go.wait()
    n = 0
    while True:
        for _ in range(BATCH):
            pass
        n += 1
        done[i] = n


def cpu_seconds(procs):
    total = 0
    for p in procs:
        fields = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    return total / os.sysconf("SC_CLK_TCK")


ready, go = mp.Semaphore(0), mp.Event()
done = mp.Array("q", N, lock=False)
procs = [mp.Process(target=burn, args=(ready, go, done, i)) for i in range(N)]
for p in procs:
    p.start()
for p in procs:
    ready.acquire()
c0, t0 = cpu_seconds(procs), time.monotonic()
go.set()
time.sleep(1.5)
c1, t1, work = cpu_seconds(procs), time.monotonic(), sum(done)
for p in procs[1:]:
    p.kill()
    p.join()
time.sleep(0.2)
a0, s0 = done[0], time.monotonic()
time.sleep(0.5)
alone = (done[0] - a0) / (time.monotonic() - s0)
procs[0].kill()
print("%.3f %.3f %.3f" % (c1 - c0, t1 - t0, work / (t1 - t0) / alone))
