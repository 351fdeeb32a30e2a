# readonly_root.py - the reference documents' experiments: read /etc/passwd,
# write to /tmp, write to the root filesystem.  Prints one JSON object.
# Also run by the suite in a container without a read-only root ("before").
import errno, json

out = {}
passwd = open("/etc/passwd").read()
out["passwd root line"] = passwd.splitlines()[0]
out["passwd lines"] = len(passwd.splitlines())
for path in ("/tmp/test.txt", "/var/tmp/test.txt", "/test.txt", "/etc/test.txt",
             "/usr/lib/test.txt", "/home/test.txt", "/etc/passwd", "/etc/hostname", "/etc/hosts",
             "/etc/resolv.conf", "/dev/shm/test.txt"):
    try:
        with open(path, "a") as f:
            f.write("hacked!")
        out[path] = "written"
    except OSError as e:
        out[path] = "blocked: " + errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(out, sort_keys=True))
