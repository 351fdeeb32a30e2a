# cpu_burn.py - four busy processes (more than the host's two cores); prints
# "CPU_SECONDS WALL_SECONDS" for a window of 1.5 s in which all of them burn.
# The burners start, report ready and wait for a signal, so start-up (slow
# on a busy host) stays out of the window, and a busy host can only lower
# the figure.
import multiprocessing as mp
import os
import time


def burn(ready, go):
    ready.release()
    go.wait()
    while True:
        pass


def cpu_seconds(procs):
    total = 0
    for p in procs:
        fields = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    return total / os.sysconf("SC_CLK_TCK")


ready, go = mp.Semaphore(0), mp.Event()
procs = [mp.Process(target=burn, args=(ready, go)) for _ in range(4)]
for p in procs:
    p.start()
for p in procs:
    ready.acquire()
c0, t0 = cpu_seconds(procs), time.monotonic()
go.set()
time.sleep(1.5)
c1, t1 = cpu_seconds(procs), time.monotonic()
for p in procs:
    p.kill()
print("%.3f %.3f" % (c1 - c0, t1 - t0))
