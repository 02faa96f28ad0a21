#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A control client that sends garbage (flood.sh, sigterm.sh; issue 14).

    garbage.py SOCKET SECONDS OUT
    garbage.py squat SOCKET N SECONDS
    garbage.py hold SOCKET SECONDS

Until SECONDS have passed, opens connection after connection to ttwsd's
private control socket (D-Bus peer to peer, AF_UNIX stream), one at a
time, and in each misbehaves one way, in turn:

  noise       bytes that are no SASL handshake (not starting with NUL);
  badhdr      a valid handshake (AUTH EXTERNAL, BEGIN), then a random
              message header;
  hugebody    a valid handshake, then a method call header that announces
              a 1 GiB body;
  badsig      a valid handshake, then a well-formed method call to
              GetStats whose signature claims arguments the body lacks;
  pipelined   not garbage: a valid GetStats call sent right behind BEGIN,
              as libdbus and GDBus clients send it; it must be answered;
  truncated   a valid handshake, half a message, and a close;
  deaf        a valid handshake, then call after call without reading a
              single reply.

What is expected of ttwsd, as recorded, one line per connection in OUT
("MODE RESULT MS"; the test reads OUT): noise, badhdr, hugebody, deaf
closed ("closed": EOF or a reset; deaf once 64 replies wait unread); badsig an error reply and pipelined an
answer ("error-reply", "reply"); truncated is ours to close ("sent").
Anything else is "open" (nothing within WAIT_S, 10 s: with 200 other
clients queueing at ttwsd's main thread an answer may take a second) or
"error:KIND". The D-Bus wire format is from the D-Bus specification,
"Message Format" and "Authentication Protocol".

With "squat": N connections that never finish the handshake (half say
nothing, half send a handshake line that never ends), held for SECONDS;
prints "squat N opened C closed", C the ones ttwsd closed. With "hold":
one connection that never speaks and one that sends call after call
without reading a reply, both held for SECONDS (sigterm.sh: ttwsd must
stop all the same).
"""
import os
import socket
import struct
import sys
import threading
import time

QUICK = ["noise", "badhdr", "hugebody", "badsig", "pipelined", "truncated",
         "deaf"]
# How long an answer or a close may take: generous, as 200 other clients
# queue at ttwsd's one main thread (their round trips reach a second).
WAIT_S = 10.0


def auth(s, behind_begin=b""):
    """The SASL handshake; behind_begin goes out in BEGIN's write."""
    uid = str(os.getuid()).encode().hex().encode()
    s.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
    reply = b""
    s.settimeout(WAIT_S)
    while not reply.endswith(b"\r\n"):
        chunk = s.recv(256)
        if not chunk:
            raise ConnectionResetError("closed during the handshake")
        reply += chunk
    if not reply.startswith(b"OK"):
        raise ConnectionResetError("handshake refused: %r" % reply)
    s.sendall(b"BEGIN\r\n" + behind_begin)


def header(serial, body_len, fields):
    # little-endian, METHOD_CALL (1), flags 0, version 1
    fixed = struct.pack("<cBBBII", b"l", 1, 0, 1, body_len, serial)
    arr = b""
    for code, sig, value in fields:
        while len(arr) % 8:
            arr += b"\0"
        if sig == b"o" or sig == b"s":
            v = value.encode()
            arr += struct.pack("<B", code) + b"\x01" + sig + b"\0"
            arr += struct.pack("<I", len(v)) + v + b"\0"
        elif sig == b"g":
            v = value.encode()
            arr += struct.pack("<B", code) + b"\x01g\0"
            arr += struct.pack("<B", len(v)) + v + b"\0"
    msg = fixed + struct.pack("<I", len(arr)) + arr
    while len(msg) % 8:
        msg += b"\0"
    return msg


CALL = [(1, b"o", "/org/ttws/Daemon"), (2, b"s", "org.ttws.Daemon1"),
        (3, b"s", "GetStats")]


def misbehave(s, mode, serial):
    if mode == "noise":
        # Not the NUL byte a handshake starts with.
        s.sendall(b"\x01" + os.urandom(511))
    elif mode == "badhdr":
        auth(s)
        s.sendall(os.urandom(256))
    elif mode == "hugebody":
        auth(s)
        s.sendall(header(serial, 1 << 30, CALL))
        s.sendall(b"\0" * 4096)
    elif mode == "badsig":
        auth(s)
        s.sendall(header(serial, 0, CALL + [(8, b"g", "sa{sv}")]))
    elif mode == "pipelined":
        auth(s, header(serial, 0, CALL))
    elif mode == "deaf":
        # Calls without reading a reply, until the daemon gives up on us.
        auth(s)
        s.setblocking(False)
        t0 = time.monotonic()
        serial += 1000000
        while time.monotonic() - t0 < WAIT_S:
            try:
                s.send(header(serial, 0, CALL))
                serial += 1
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                return "closed"
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    return "closed"
            except BlockingIOError:
                pass
            except OSError:
                return "closed"
        return "open"
    elif mode == "truncated":
        auth(s)
        h = header(serial, 0, CALL)
        s.sendall(h[:len(h) // 2])
        return "sent"
    return None


def wait_error_reply(s, limit):
    """An ERROR message (type 3) back, or the connection closed."""
    s.settimeout(limit)
    try:
        data = s.recv(4096)
    except socket.timeout:
        return "open"
    except OSError:
        return "closed"
    if not data:
        return "closed"
    return "error-reply" if len(data) > 1 and data[1] == 3 else "reply"


def wait_closed(s, limit):
    s.settimeout(0.05)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            data = s.recv(4096)
            if not data:
                return "closed"
        except socket.timeout:
            continue
        except OSError:
            return "closed"
    return "open"


def squat(path, n, seconds):
    """N connections that say nothing (half with a handshake line that
    never ends), held for SECONDS: how many the daemon closed."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            if i % 2:
                s.sendall(b"\0AUTH " + b"A" * 4096)
        except OSError:
            pass  # refused at once: the backlog, or the daemon
        socks.append(s)
        s.setblocking(False)
    time.sleep(seconds)
    closed = 0
    for s in socks:
        try:
            if s.recv(4096) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("squat %d opened %d closed" % (n, closed), flush=True)


def one(path, mode, serial, f, lock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t0 = time.monotonic()
    try:
        s.connect(path)
        note = misbehave(s, mode, serial)
        if note in ("closed", "open"):
            result = note
        elif note == "sent":
            # Ours to close: the daemon must shrug it off.
            result = "sent"
        elif mode in ("badsig", "pipelined"):
            result = wait_error_reply(s, WAIT_S)
        else:
            result = wait_closed(s, WAIT_S)
    except OSError as e:
        # A reset while we wrote is the daemon closing on us.
        result = "closed" if isinstance(
            e, (ConnectionResetError, BrokenPipeError)) else \
            "error:" + type(e).__name__
    finally:
        s.close()
    with lock:
        f.write("%s %s %d\n" % (mode, result,
                                (time.monotonic() - t0) * 1000))


def hold(path, seconds):
    """Two connections that would keep a careless daemon from stopping:
    one that never speaks, one that calls and calls and never reads a
    reply. Held for SECONDS."""
    quiet = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    quiet.connect(path)
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deaf.connect(path)
    auth(deaf)
    deaf.setblocking(False)
    end = time.monotonic() + seconds
    serial = 1
    while time.monotonic() < end:
        try:
            deaf.send(header(serial, 0, CALL))
            serial += 1
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            break  # closed by the daemon: fine, it did not wait for us
    print("held: %d calls sent unread" % (serial - 1), flush=True)
    # The silent one stays to the end, whatever became of the other.
    time.sleep(max(0.0, end - time.monotonic()))
    quiet.close()


def main():
    if sys.argv[1] == "hold":
        hold(sys.argv[2], float(sys.argv[3]))
        return
    if sys.argv[1] == "squat":
        squat(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    path, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    end = time.monotonic() + seconds
    lock = threading.Lock()
    with open(out, "a", buffering=1) as f:
        i = 0
        while time.monotonic() < end:
            one(path, QUICK[i % len(QUICK)], i + 1, f, lock)
            i += 1
            time.sleep(0.02)  # one client, not a connection storm


if __name__ == "__main__":
    main()
