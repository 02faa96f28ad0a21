#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A stand-in for journald's native socket (systemd.journal-fields(7)).

    journal-listen.py SOCKET OUT

Binds a datagram socket at SOCKET and appends every entry it receives to
OUT as one JSON object per line, {"FIELD": "value", ...}, plus
"_RECEIPT_MONO_NS" (CLOCK_MONOTONIC at receipt). Runs until killed. The
tests make SOCKET appear as /run/systemd/journal/socket to ttwsd (a mount
namespace, journal.sh) and read OUT.

The datagram format is journald's native protocol
(https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): fields separated by
newlines, each either NAME=value (value without a newline) or NAME, a
newline, the value's length as a little-endian 64-bit integer, the value,
a newline. An entry too large for a datagram comes as an empty datagram
with a sealed memfd holding it (SCM_RIGHTS).
"""
import array
import json
import os
import socket
import struct
import sys
import time


def parse(data):
    """The fields of one entry; a malformed tail is dropped."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            break
        line = data[i:nl]
        eq = line.find(b"=")
        if eq >= 0:
            name, value, i = line[:eq], line[eq + 1:], nl + 1
        else:
            if nl + 9 > len(data):
                break
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            start = nl + 9
            if start + n + 1 > len(data):
                break
            name, value, i = line, data[start:start + n], start + n + 1
        fields[name.decode("ascii", "replace")] = value.decode(
            "utf-8", "replace")
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    fds = array.array("i")
    with open(out, "a", buffering=1) as f:
        while True:
            data, anc, _, _ = sock.recvmsg(1 << 20,
                                           socket.CMSG_SPACE(fds.itemsize))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fd = struct.unpack("i", payload[:4])[0]
                    with os.fdopen(fd, "rb") as m:
                        data = m.read()
            entry = parse(data)
            entry["_RECEIPT_MONO_NS"] = time.monotonic_ns()
            f.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
