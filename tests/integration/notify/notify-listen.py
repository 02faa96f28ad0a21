#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A stand-in for the service manager's notification socket (sd_notify(3)).

    notify-listen.py SOCKET OUT

Binds a datagram socket at SOCKET and appends every notification it
receives to OUT as one line: CLOCK_MONOTONIC ns at receipt, a tab, the
message with its newlines written as "|" (e.g. "READY=1|STATUS=left
locked, right connecting; test tone"). Runs until killed. The tests set
NOTIFY_SOCKET=SOCKET for ttwsd and read OUT.
"""
import os
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out, "a", buffering=1) as f:
        while True:
            data = sock.recv(4096)
            now = time.monotonic_ns()
            text = data.decode("utf-8", "replace").strip("\n")
            f.write("%d\t%s\n" % (now, text.replace("\n", "|")))


if __name__ == "__main__":
    main()
