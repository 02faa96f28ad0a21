#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A bus client that is slow to say Hello (control.sh).

    hello-order.py SOCKET GO_FILE

Connects to ttwsd's private control socket, authenticates and sends
BEGIN, prints "ready", then waits (up to 30 s) for GO_FILE to exist:
meanwhile control.sh changes a property, which ttwsd announces with
PropertiesChanged to its clients. Then it sends Hello() and reads the
first message back. A bus client (busctl --address, sd-bus with
bus_client set) fails its connection with EIO when anything but the
reply to its Hello comes first (libsystemd 252, sd-bus.c
process_hello()), so ttwsd must not signal a client before it has
spoken. Exit 0 when the first message is the method return to serial
1; else 1, with what came instead. Wire format: the D-Bus
specification, "Message Format".
"""
import os
import struct
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "faults"))
from garbage import auth, header  # noqa: E402

KINDS = {1: "method call", 2: "method return", 3: "error", 4: "signal"}


def read_message(s):
    """The first message's type and its header fields {code: value}."""
    data = b""
    s.settimeout(10.0)
    while len(data) < 16:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed before any message")
        data += chunk
    if data[0:1] != b"l":
        raise ValueError("not little-endian: %r" % data[:1])
    kind = data[1]
    (fields_len,) = struct.unpack_from("<I", data, 12)
    while len(data) < 16 + fields_len:
        data += s.recv(4096)
    fields, off, end = {}, 16, 16 + fields_len
    while off < end:
        off = (off + 7) & ~7
        code, siglen = data[off], data[off + 1]
        sig = data[off + 2:off + 2 + siglen]
        off += 3 + siglen
        if sig == b"u":
            off = (off + 3) & ~3
            fields[code] = struct.unpack_from("<I", data, off)[0]
            off += 4
        elif sig in (b"s", b"o"):
            off = (off + 3) & ~3
            (n,) = struct.unpack_from("<I", data, off)
            fields[code] = data[off + 4:off + 4 + n].decode()
            off += 5 + n
        elif sig == b"g":
            n = data[off]
            fields[code] = data[off + 1:off + 1 + n].decode()
            off += 2 + n
        else:
            break  # nothing this check reads follows an unknown type
    return kind, fields


def main():
    path, go = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    auth(s)
    print("ready", flush=True)
    end = time.monotonic() + 30
    while not os.path.exists(go) and time.monotonic() < end:
        time.sleep(0.05)
    s.sendall(header(1, 0, [(1, b"o", "/org/freedesktop/DBus"),
                            (2, b"s", "org.freedesktop.DBus"),
                            (3, b"s", "Hello"),
                            (6, b"s", "org.freedesktop.DBus")]))
    kind, fields = read_message(s)
    if kind == 2 and fields.get(5) == 1:
        print("first message: the reply to Hello", flush=True)
        return 0
    print("first message: %s %s.%s (reply to %s), not the reply to Hello"
          % (KINDS.get(kind, kind), fields.get(2), fields.get(3),
             fields.get(5)), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
