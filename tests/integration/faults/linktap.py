#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A wiretap between ttwsd and an earbud on the unix transport.

    linktap.py LOG EAR LISTEN UPSTREAM [EAR LISTEN UPSTREAM ...]

For each ear, listens on LISTEN (AF_UNIX SOCK_SEQPACKET, where ttwsd's
[link.EAR] path points) and, for every connection ttwsd makes there,
connects to UPSTREAM (the earbud simulator's socket) and forwards each
datagram both ways unchanged. Appends one line per message to LOG:

    CLOCK_MONOTONIC_NS EAR DIR TYPE FLAGS LEN FIRST_PAYLOAD_BYTE

DIR is "h2e" (host to earbud) or "e2h"; TYPE and FLAGS in hex from the
ttws-link header (include/ttws/link.h: magic, version, type, flags,
length, seq; 8 octets), FIRST_PAYLOAD_BYTE is -1 when there is none
(for STOP it is the reason: 1 = shutdown). "EAR close h2e|e2h" when a
side closes. Only the header is read: the tap judges nothing, the test
reads the log. Runs until killed.
"""
import os
import selectors
import socket
import sys
import time

HEADER = 8


def main():
    log = open(sys.argv[1], "a", buffering=1)
    args = sys.argv[2:]
    sel = selectors.DefaultSelector()
    for i in range(0, len(args), 3):
        ear, listen, upstream = args[i:i + 3]
        try:
            os.unlink(listen)
        except FileNotFoundError:
            pass
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ls.bind(listen)
        ls.listen(8)
        sel.register(ls, selectors.EVENT_READ, ("listen", ear, upstream))

    def note(ear, way, data):
        if len(data) >= HEADER:
            first = data[HEADER] if len(data) > HEADER else -1
            log.write("%d %s %s %02x %02x %d %d\n" % (
                time.monotonic_ns(), ear, way, data[2], data[3],
                len(data), first))
        else:
            log.write("%d %s %s short %d\n" % (
                time.monotonic_ns(), ear, way, len(data)))

    def drop(a, b, ear, way):
        log.write("%d %s close %s\n" % (time.monotonic_ns(), ear, way))
        for s in (a, b):
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    while True:
        for key, _ in sel.select():
            what = key.data
            if what[0] == "listen":
                _, ear, upstream = what
                host, _ = key.fileobj.accept()
                up = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                try:
                    up.connect(upstream)
                except OSError:
                    log.write("%d %s upstream-refused\n" %
                              (time.monotonic_ns(), ear))
                    host.close()
                    up.close()
                    continue
                sel.register(host, selectors.EVENT_READ,
                             ("fwd", ear, "h2e", up))
                sel.register(up, selectors.EVENT_READ,
                             ("fwd", ear, "e2h", host))
                continue
            _, ear, way, peer = what
            src = key.fileobj
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                drop(src, peer, ear, way)
                continue
            note(ear, way, data)
            try:
                peer.send(data)
            except OSError:
                drop(src, peer, ear, way)


if __name__ == "__main__":
    main()
