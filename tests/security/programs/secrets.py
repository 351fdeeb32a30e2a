# secrets.py - what of the host a snippet can see.  argv: HOST_PATH...
# (paths that exist on the host, which must not exist in here).
# Prints one JSON object.
import json, os, socket, stat, sys

out = {"environ": dict(os.environ)}
try:
    raw = open("/proc/1/environ", "rb").read()
    out["pid1_environ"] = sorted(k.split(b"=", 1)[0].decode() for k in raw.split(b"\0") if k)
except OSError as e:
    out["pid1_environ"] = "unreadable: %s" % e.strerror
out["host_paths_seen"] = [p for p in sys.argv[1:] if os.path.lexists(p)]

engine = {}
for path in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
             "/var/run/containerd/containerd.sock", "/run/podman/podman.sock"):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        engine[path] = "connected"
    except OSError as e:
        engine[path] = "blocked: %s" % e.strerror
out["engine_sockets"] = engine
# Every unix socket on the container's filesystem (there should be none).
found = []
for top in ("/run", "/var", "/tmp", "/etc", "/home", "/root", "/srv", "/opt", "/mnt", "/media"):
    for d, dirs, files in os.walk(top):
        for f in files:
            try:
                if stat.S_ISSOCK(os.lstat(os.path.join(d, f)).st_mode):
                    found.append(os.path.join(d, f))
            except OSError:
                pass
out["unix_sockets"] = found
# Mounts: where each comes from and whether it is writable.
mounts = []
for line in open("/proc/self/mountinfo"):
    f = line.split()
    sep = f.index("-")
    mounts.append({"point": f[4], "root": f[3], "opts": f[5], "fstype": f[sep + 1]})
out["mounts"] = mounts
masked = {}
for path in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
             "/sys/firmware", "/proc/acpi", "/proc/scsi", "/proc/interrupts",
             "/proc/softirqs", "/proc/diskstats", "/proc/vmstat",
             "/proc/zoneinfo", "/proc/locks", "/proc/modules"):
    try:
        if os.path.isdir(path):
            masked[path] = "dir with %d entries" % len(os.listdir(path))
        else:
            masked[path] = "%d bytes" % len(open(path, "rb").read(4096))
    except OSError as e:
        masked[path] = "blocked: %s" % e.strerror
out["masked"] = masked
out["passwd"] = open("/etc/passwd").read()
print(json.dumps(out, sort_keys=True))
