# escape.py - the classic ways out of a container, each tried for real.
# Prints one JSON object {attempt: result}: "blocked: <why>" when it failed.
import ctypes, errno, glob, json, os, subprocess

libc = ctypes.CDLL(None, use_errno=True)
out = {}


def err():
    return "blocked: " + errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def write(name, path, data):
    try:
        with open(path, "w") as f:
            f.write(data)
        out[name] = "written"
    except OSError as e:
        out[name] = "blocked: " + errno.errorcode.get(e.errno, str(e.errno))


write("write /proc/sysrq-trigger", "/proc/sysrq-trigger", "h")
write("write /proc/sys/kernel/core_pattern", "/proc/sys/kernel/core_pattern", "|/tmp/x")
agents = sorted(glob.glob("/sys/fs/cgroup/*/release_agent"))
out["release_agent files"] = agents
for path in agents or ["/sys/fs/cgroup/memory/release_agent"]:
    write("write " + path, path, "/tmp/x")
write("write notify_on_release", "/sys/fs/cgroup/memory/notify_on_release", "1")
write("write /sys/kernel/uevent_helper", "/sys/kernel/uevent_helper", "/tmp/x")
os.makedirs("/tmp/mnt", exist_ok=True)
for fstype in (b"tmpfs", b"cgroup", b"proc"):
    r = libc.mount(b"none", b"/tmp/mnt", fstype, 0, b"memory" if fstype == b"cgroup" else None)
    out["mount " + fstype.decode()] = "mounted" if r == 0 else err()
r = libc.unshare(0x10000000 | 0x20000)  # CLONE_NEWUSER | CLONE_NEWNS
out["unshare user+mount namespace"] = "unshared" if r == 0 else err()
for args in (["unshare", "-r", "id"], ["unshare", "-U", "id"]):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=10)
        out[" ".join(args)] = "ran: " + p.stdout.strip() if p.returncode == 0 else \
            "blocked: exit %d %s" % (p.returncode, p.stderr.strip()[:80])
    except OSError as e:
        out[" ".join(args)] = "blocked: " + e.strerror
PTRACE_ATTACH, PTRACE_TRACEME = 16, 0
r = libc.ptrace(PTRACE_ATTACH, 1, None, None)
out["ptrace attach pid 1"] = "attached" if r == 0 else err()
child = subprocess.Popen(["sleep", "30"])
r = libc.ptrace(PTRACE_ATTACH, child.pid, None, None)
out["ptrace attach own child"] = "attached" if r == 0 else err()
child.kill()
libc.syscall.restype = ctypes.c_long
r = libc.syscall(250, 0, ctypes.c_long(-3), 0)  # keyctl(KEYCTL_GET_KEYRING_ID, session)
out["keyctl"] = "ok" if r >= 0 else err()
r = libc.syscall(248, b"user", b"sce", b"x", 1, ctypes.c_long(-2))  # add_key
out["add_key"] = "ok" if r >= 0 else err()
try:
    os.setuid(0)
    out["setuid(0)"] = "root"
except OSError as e:
    out["setuid(0)"] = "blocked: " + errno.errorcode[e.errno]
suid = subprocess.run(["find", "/", "-xdev", "-perm", "-4000", "-type", "f"],
                      capture_output=True, text=True).stdout.split()
out["setuid binaries"] = suid
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
# A field the kernel does not show (gVisor's lacks CapAmb, NoNewPrivs,
# Seccomp) is ["absent"]: the test decides what it expects where.
for key in ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
            "Seccomp"):
    out["status " + key] = status[key].split() if key in status else ["absent"]
# A set-user-id copy of a binary in /tmp: the tmpfs is noexec and nosuid.
try:
    import shutil
    shutil.copy("/usr/bin/id", "/tmp/id")
    os.chmod("/tmp/id", 0o4755)
    p = subprocess.run(["/tmp/id", "-u"], capture_output=True, text=True)
    out["exec setuid copy in /tmp"] = "ran: uid %s" % p.stdout.strip()
except OSError as e:
    out["exec setuid copy in /tmp"] = "blocked: " + errno.errorcode[e.errno]
for dev in ("/dev/mem", "/dev/kmsg", "/dev/sda", "/dev/vda"):
    try:
        open(dev, "rb").read(1)
        out["read " + dev] = "read"
    except OSError as e:
        out["read " + dev] = "blocked: " + errno.errorcode[e.errno]
print(json.dumps(out, sort_keys=True))
