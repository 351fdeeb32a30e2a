# network.py - every way out of the container a snippet might try.
# argv: GATEWAY_PORT SERVER_PORT BRIDGE_GATEWAY_IP
# Prints one JSON object {attempt: result}: "blocked: <errno name or error>"
# when the attempt failed, anything else when it got somewhere.
import errno, json, socket, sys

gw_port, srv_port, bridge = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = {}


def why(e):
    if isinstance(e, socket.gaierror):
        return "blocked: gaierror %d" % e.errno
    if isinstance(e, socket.timeout):
        return "blocked: timeout"
    return "blocked: " + errno.errorcode.get(e.errno, str(e.errno))


def tcp(name, host, port, family=socket.AF_INET):
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect((host, port))
        out[name] = "connected"
    except OSError as e:
        out[name] = why(e)


def udp(name, host, port):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
                 (host, port))
        s.recvfrom(512)
        out[name] = "answered"
    except OSError as e:
        out[name] = why(e)


for name in ("example.com", "pypi.org", "host.docker.internal", "metadata.google.internal"):
    try:
        out["dns " + name] = "resolved %s" % socket.getaddrinfo(name, 80)[0][4][0]
    except OSError as e:
        out["dns " + name] = why(e)
udp("udp 8.8.8.8:53", "8.8.8.8", 53)
tcp("tcp 1.1.1.1:80", "1.1.1.1", 80)
tcp("tcp 8.8.8.8:443", "8.8.8.8", 443)
tcp("tcp6 [2606:4700:4700::1111]:80", "2606:4700:4700::1111", 80, socket.AF_INET6)
tcp("bridge gateway %s:%d (gateway port)" % (bridge, gw_port), bridge, gw_port)
tcp("bridge gateway %s:2375 (engine)" % bridge, bridge, 2375)
tcp("bridge gateway %s:22" % bridge, bridge, 22)
tcp("127.0.0.1:%d (the gateway's port)" % gw_port, "127.0.0.1", gw_port)
tcp("127.0.0.1:%d (the server's port)" % srv_port, "127.0.0.1", srv_port)
tcp("[::1]:%d (the gateway's port)" % gw_port, "::1", gw_port, socket.AF_INET6)
tcp("169.254.169.254:80 (cloud metadata)", "169.254.169.254", 80)
tcp("169.254.170.2:80 (container metadata)", "169.254.170.2", 80)
for name, args in (("raw icmp socket", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                   ("packet socket", (socket.AF_PACKET, socket.SOCK_RAW, 0))):
    try:
        socket.socket(*args)
        out[name] = "opened"
    except OSError as e:
        out[name] = why(e)
out["interfaces"] = sorted(n for _, n in socket.if_nameindex())
print(json.dumps(out, sort_keys=True))
