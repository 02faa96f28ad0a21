#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Control clients that fill ttwsd's control bounds (bounds.sh).

  bounds-clients.py many SOCKET N
      Open N connections to the private control socket at once and hold
      them; after a second, print how many ttwsd closed (it keeps at most
      CONTROL_MAX_CLIENTS, and closes the rest at accept) as
      "opened N closed K".

  bounds-clients.py slow SOCKET CALLS
      One client that authenticates, sends CALLS GetStats calls without
      reading a single reply, then waits up to 5 s for ttwsd to drop it;
      prints "sent N dropped yes|no".

D-Bus is spoken by hand (the wire format of the D-Bus specification,
"Message Protocol"): a client that never reads is what no library
offers.
"""
import os
import socket
import struct
import sys
import time


def many(path, n):
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        conns.append(s)
    time.sleep(1.0)
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print("opened %d closed %d" % (n, closed))
    for s in conns:
        s.close()


def pad(buf, align):
    buf.extend(b"\0" * (-len(buf) % align))


def put_string(buf, s):
    pad(buf, 4)
    b = s.encode()
    buf.extend(struct.pack("<I", len(b)) + b + b"\0")


def header_field(buf, code, sig, value):
    pad(buf, 8)
    buf.extend(struct.pack("<B", code) + bytes([1]) + sig.encode() + b"\0")
    put_string(buf, value)


def method_call(serial, path, iface, member):
    fields = bytearray()
    header_field(fields, 1, "o", path)
    header_field(fields, 2, "s", iface)
    header_field(fields, 3, "s", member)
    msg = bytearray(b"l" + struct.pack("<BBBII", 1, 0, 1, 0, serial))
    msg.extend(struct.pack("<I", len(fields)))
    msg.extend(fields)
    pad(msg, 8)
    return bytes(msg)


def auth(s):
    """EXTERNAL authentication; False when ttwsd closed the connection."""
    uid = str(os.getuid()).encode().hex()
    line = b""
    try:
        s.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        while not line.endswith(b"\r\n"):
            chunk = s.recv(256)
            if not chunk:
                return False
            line += chunk
    except (BrokenPipeError, ConnectionResetError):
        return False
    if not line.startswith(b"OK "):
        raise SystemExit("slow: AUTH refused: %r" % line)
    s.sendall(b"BEGIN\r\n")
    # Not in the same read as the first call: sd-bus (systemd 252) then
    # leaves that call in its buffer until more bytes arrive.
    time.sleep(0.1)
    return True


def connect(path):
    """An authenticated connection. ttwsd frees the slots of clients that
    went away on its next control tick: right after a flood of clients
    it may still be full and close a new one at once, so try for 5 s."""
    deadline = time.monotonic() + 5.0
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        if auth(s):
            return s
        s.close()
        if time.monotonic() > deadline:
            raise SystemExit("slow: ttwsd kept closing the connection")
        time.sleep(0.1)


def slow(path, calls):
    s = connect(path)
    s.settimeout(5.0)
    sent = 0
    try:
        for i in range(calls):
            s.sendall(method_call(i + 1, "/org/ttws/Daemon",
                                  "org.ttws.Daemon1", "GetStats"))
            sent += 1
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    # Still not reading: ttwsd either drops us (bounded) or keeps our
    # replies queued. Peek, without taking anything, whether the socket
    # ended: a closed peer shows as an error once its buffer drains.
    dropped = "no"
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            s.send(b"")
            # A write to a socket ttwsd shut down fails with EPIPE.
            s.sendall(method_call(calls + 1, "/org/ttws/Daemon",
                                  "org.ttws.Daemon1", "Ping"))
        except (BrokenPipeError, ConnectionResetError):
            dropped = "yes"
            break
        except socket.timeout:
            pass
        time.sleep(0.2)
    print("sent %d dropped %s" % (sent, dropped))
    s.close()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("many", "slow"):
        sys.exit(__doc__)
    if sys.argv[1] == "many":
        many(sys.argv[2], int(sys.argv[3]))
    else:
        slow(sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    main()
