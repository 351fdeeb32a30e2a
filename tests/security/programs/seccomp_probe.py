# seccomp_probe.py - tries each system call sce's seccomp profile denies, and
# a few it must allow, and prints one JSON object: {"call": "result"}.
#
# The calls that would change the process if they succeeded (clone into a
# new namespace, unshare, setns, ptrace(TRACEME)) or that may kill it (the
# x32 and 32-bit entry points) run in a child of their own (os.fork), so
# they cannot disturb the next probe and a kill by SIGSYS is seen; the rest
# run in this process, which keeps the probe cheap on a busy host.
# The result is "ok" (the call succeeded), an errno name ("EPERM"), or
# "SIG<n>" (the child was killed).  The arguments are chosen so that, without
# the profile, most calls would succeed or fail with another errno: the
# answer tells seccomp apart from the other layers.  The test, not this
# program, decides what is expected (tests/security/test_security.c).
import ctypes, errno, json, mmap, os, platform, sys

if platform.machine() != "x86_64":
    print(json.dumps({"error": "the probe knows x86_64 syscall numbers only, not %s"
                      % platform.machine()}))
    sys.exit(0)

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
P = ctypes.c_void_p
buf = ctypes.create_string_buffer(4096)
buf2 = ctypes.create_string_buffer(4096)
ptr = ctypes.cast(buf, P)
ptr2 = ctypes.cast(buf2, P)
S = ctypes.c_char_p
NEG = lambda n: ctypes.c_long(n)  # noqa: E731

def iov(b):
    class Iov(ctypes.Structure):
        _fields_ = [("base", P), ("len", ctypes.c_size_t)]
    return Iov(ctypes.cast(b, P), 16)

local, remote = iov(buf), iov(buf2)

class PerfAttr(ctypes.Structure):  # PERF_TYPE_SOFTWARE, CPU clock, user only
    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32),
                ("config", ctypes.c_uint64), ("rest", ctypes.c_uint64 * 14)]
perf = PerfAttr(1, ctypes.sizeof(PerfAttr), 0)
perf.rest[2] = (1 << 5) | (1 << 6)  # exclude_kernel | exclude_hv (flags word)

def ts():
    t = (ctypes.c_long * 2)(0, 0)
    return ctypes.cast(t, P)

CLONE_NEW = {"NEWNS": 0x20000, "NEWCGROUP": 0x2000000, "NEWUTS": 0x4000000,
             "NEWIPC": 0x8000000, "NEWUSER": 0x10000000, "NEWPID": 0x20000000,
             "NEWNET": 0x40000000}
SIGCHLD = 17

# name: (number, args...)
calls = {
    "mount": (165, S(b"none"), S(b"/tmp"), S(b"tmpfs"), 0, None),
    "umount2": (166, S(b"/tmp"), 0),
    "ptrace_traceme": (101, 0, 0, 0, 0),
    "process_vm_readv": (310, os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0),
    "process_vm_writev": (311, os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0),
    "keyctl": (250, 0, NEG(-3), 0),
    "add_key": (248, S(b"user"), S(b"sce"), S(b"x"), 1, NEG(-2)),
    "request_key": (249, S(b"user"), S(b"sce-none"), None, 0),
    "bpf": (321, 0, ptr, 72),
    "unshare_newuser": (272, CLONE_NEW["NEWUSER"]),
    "unshare_newns": (272, CLONE_NEW["NEWNS"]),
    "setns": (308, NEG(-1), 0),
    "clone3": (435, ptr, 88),
    "init_module": (175, ptr, 0, S(b"")),
    "finit_module": (313, NEG(-1), S(b""), 0),
    "delete_module": (176, S(b"sce_none"), 0),
    "kexec_load": (246, 0, 0, None, 0),
    "kexec_file_load": (320, NEG(-1), NEG(-1), 0, S(b""), 0),
    "reboot": (169, 0xfee1dead, 0, 0, None),
    "perf_event_open": (298, ctypes.byref(perf), 0, NEG(-1), NEG(-1), 0),
    "userfaultfd": (323, 1),
    "pivot_root": (155, S(b"/tmp"), S(b"/tmp")),
    "chroot": (161, S(b"/tmp")),
    "swapon": (167, S(b"/tmp/swap"), 0),
    "swapoff": (168, S(b"/tmp/swap")),
    "acct": (163, None),
    "quotactl": (179, 0, None, 0, None),
    "settimeofday": (164, None, None),
    "clock_settime": (227, 0, ts()),
    "adjtimex": (159, ptr),
    "clock_adjtime": (305, 0, ptr),
    "open_by_handle_at": (304, NEG(-1), ptr, 0),
    "name_to_handle_at": (303, NEG(-100), S(b"/etc/passwd"), ptr, ptr2, 0),
    "lookup_dcookie": (212, 0, ptr, 64),
    "iopl": (172, 3),
    "ioperm": (173, 0x80, 1, 1),
    "modify_ldt": (154, 0, ptr, 16),
    "personality_addr_no_randomize": (135, ctypes.c_ulong(0x0040000)),
    "syslog": (103, 10, None, 0),
    "mount_setattr": (442, NEG(-1), S(b""), 0, None, 0),
    "fsopen": (430, S(b"tmpfs"), 0),
    "fsconfig": (431, NEG(-1), 0, None, None, 0),
    "fsmount": (432, NEG(-1), 0, 0),
    "fspick": (433, NEG(-100), S(b"/tmp"), 0),
    "move_mount": (429, NEG(-1), S(b""), NEG(-100), S(b"/tmp"), 0),
    "open_tree": (428, NEG(-100), S(b"/tmp"), 0),
    "io_uring_setup": (425, 1, ptr),
    "io_setup": (206, 1, ptr),
    "kcmp": (312, os.getpid(), os.getpid(), 0, 0, 0),
    "pidfd_getfd": (438, NEG(-1), 0, 0),
    "process_madvise": (440, NEG(-1), ptr, 1, 0, 0),
    "memfd_secret": (447, 0),
    "splice": (275, NEG(-1), None, NEG(-1), None, 1, 0),
    "tee": (276, NEG(-1), NEG(-1), 1, 0),
    "vmsplice": (278, NEG(-1), ptr, 1, 0),
    "sync": (162,),
    "syncfs": (306, 1),
    "mlock": (149, ptr, 16),
    "sethostname": (170, S(b"x"), 1),
    "fanotify_init": (300, 0, 0),
    "set_mempolicy": (238, 0, None, 0),
    "socket_af_alg": (41, 38, 5, 0),
    "socket_af_vsock": (41, 40, 1, 0),
    "socket_af_packet": (41, 17, 3, 0),
    "socket_af_key": (41, 15, 3, 2),
    "x32_getpid": (0x40000000 | 39,),
    # Must be allowed: without these, every denial above could be vacuous.
    "getpid": (39,),
    "personality_query": (135, ctypes.c_ulong(0xffffffff)),
    "socket_af_unix": (41, 1, 1, 0),
    "socket_af_inet": (41, 2, 1, 0),
    "clone_plain": (56, SIGCHLD, 0, 0, 0, 0),
}
for flag, bit in CLONE_NEW.items():
    calls["clone_" + flag.lower()] = (56, SIGCHLD | bit, 0, 0, 0, 0)

def int80_getpid():
    # The 32-bit system call entry: the profile names x86_64 only.
    code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax,20; int 0x80; ret
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.write(code)
    f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
    r = f()
    return 0 if r > 0 else -r

def attempt(nr, *args):
    r = libc.syscall(nr, *args)
    if r == 0 and nr == 56:
        os._exit(0)  # the grandchild of a clone that succeeded
    return 0 if r >= 0 else ctypes.get_errno()

def in_child(fn, *args):
    pid = os.fork()
    if pid == 0:
        try:
            e = fn(*args)
        except BaseException:
            os._exit(254)
        os._exit(250 if e == 0 else min(e, 249))
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "SIG%d" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    if code == 250:
        return "ok"
    if code == 254:
        return "probe error"
    return errno.errorcode.get(code, "errno %d" % code)

FORKED = ("clone", "unshare", "setns", "ptrace", "x32")


def in_process(nr, *args):
    e = attempt(nr, *args)
    return "ok" if e == 0 else errno.errorcode.get(e, "errno %d" % e)


out = {name: (in_child(attempt, *spec) if name.startswith(FORKED) else in_process(*spec))
       for name, spec in calls.items()}
out["int80_getpid"] = in_child(int80_getpid)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
# "absent" where the kernel does not show the field (gVisor's does not).
out["status_seccomp"] = status["Seccomp"].split()[0] if "Seccomp" in status else "absent"
out["status_no_new_privs"] = (status["NoNewPrivs"].split()[0] if "NoNewPrivs" in status
                              else "absent")
print(json.dumps(out, sort_keys=True))
