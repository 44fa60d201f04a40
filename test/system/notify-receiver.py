#!/usr/bin/python3
"""A stand-in for systemd's notification socket: binds a unix datagram socket at argv[1],
prints every datagram as one JSON line on stdout, and closes any file descriptors passed
with it (SCM_RIGHTS), as systemd does with ones it does not keep."""
import array, json, os, socket, sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print(json.dumps({"listening": path}), flush=True)
fd_size = array.array("i").itemsize
while True:
    data, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(16 * fd_size))
    fds = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", payload[: len(payload) - (len(payload) % fd_size)]))
    for fd in fds:
        os.close(fd)
    print(json.dumps({"message": data.decode("utf-8", "replace"), "fds": len(fds)}), flush=True)
