#!/usr/bin/env python3
# Seed corpora for the libFuzzer harnesses (tests/fuzz/fuzz-*.c), written
# to tests/fuzz/corpus/NAME/. Small, hand-made inputs that reach each
# harness's interesting states at once (a configured controller, an open
# channel, a locked link, every message type), so that the fuzzer spends
# its time past them. Deterministic: run it again after changing a
# harness's script format, and commit what it writes.
#
#   gen-corpus.py [ROOT]        ROOT: the repository (default: ../..)
import os
import struct
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = os.path.join(ROOT, 'tests', 'fuzz', 'corpus')


def put(name, seed, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), 'wb') as f:
        f.write(data)


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


# ---- ttws-link messages (include/ttws/link.h) -------------------------

def link_msg(typ, payload, seq=0, flags=0):
    return bytes([0xa7, 1, typ, flags]) + u16(len(payload)) + u16(seq) + \
        payload


def hello(codec=1):
    return link_msg(0x01, u8(1) + u8(1) + u8(codec) + u8(1) + u32(48000) +
                    u32(10000) + u16(960) + u16(0) + u32(40000))


def hello_ack(seq=0, ci=7500, res=1000, status=0, codec=1):
    return link_msg(0x41, u8(1) + u8(1) + u8(codec) + u8(status) +
                    u32(res) + u32(0x3f) + u16(64) + u16(0) + u32(ci), seq)


def sync_req(req=1, t1=10**9):
    return link_msg(0x02, u32(req) + u32(0) + u64(t1))


def sync_resp(req=1, t1=10**9, t2=5 * 10**9, t3=5 * 10**9 + 10**5, seq=1):
    return link_msg(0x42, u32(req) + u32(0) + u64(t1) + u64(t2) + u64(t3),
                    seq, 0x01)


def followup(req=1, t3=5 * 10**9 + 2 * 10**5, seq=2):
    return link_msg(0x43, u32(req) + u32(0) + u64(t3), seq)


def audio(frame=7, pts=6 * 10**9, data=b'\x00' * 16):
    return link_msg(0x03, u64(frame) + u64(pts) + u16(len(data)) + u16(0) +
                    data)


def report(frame=7, rx=6 * 10**9, render=6 * 10**9 + 4 * 10**7, seq=3):
    return link_msg(0x44, u64(frame) + u64(rx) + u64(render) + u16(8) +
                    u16(0) + u32(0) + u32(0) + u32(0), seq)


def volume():
    return link_msg(0x04, u16(0) + u8(0) + u8(0))


def stop():
    return link_msg(0x05, u8(0) + b'\0\0\0', 0, 0x01)


def status(seq=4, battery=80):
    return link_msg(0x45, u8(battery) + u8(0xc4) + u16(8) + u32(0) + u32(0) +
                    u32(0), seq)


def conn_update(seq=5, ci=30000, instant=7 * 10**9):
    return link_msg(0x46, u32(ci) + u32(0) + u64(instant), seq)


def proto_seeds():
    msgs = {
        'hello': hello(), 'hello-ack': hello_ack(), 'sync-req': sync_req(),
        'sync-resp': sync_resp(), 'followup': followup(), 'audio': audio(),
        'report': report(), 'volume': volume(), 'stop': stop(),
        'status': status(), 'conn-update': conn_update(),
        'short-header': b'\xa7\x01\x41',
        'bad-magic': b'\x00' * 8,
        'short-payload': hello_ack()[:20],
        'trailing': status() + b'\0',
        'unknown-type': link_msg(0x7e, b''),
        'audio-len': audio()[:-1],
    }
    for k, v in msgs.items():
        put('proto', k, v)


# ---- H4 / HCI (Core 5.4, Vol 4, Part E) -------------------------------

def evt(code, params):
    return bytes([code, len(params)]) + params


def cmd_complete(op, params=b'\x00', ncmd=1):
    return evt(0x0e, u8(ncmd) + u16(op) + params)


def acl(handle, payload, pb=0x2):
    return u16(handle | pb << 12) + u16(len(payload)) + payload


def l2cap(cid, payload):
    return u16(len(payload)) + u16(cid) + payload


def sig(code, ident, data):
    return l2cap(5, bytes([code, ident]) + u16(len(data)) + data)


def h4_seeds():
    put('h4', 'event', b'\x00' + b'\x04' + cmd_complete(0x0c03))
    put('h4', 'acl', b'\x00' + b'\x02' + acl(0x40, l2cap(0x40, b'\x02\x00hi')))
    put('h4', 'garbage-then-event', b'\x05' + b'\xff\x00\x13' + b'\x04' +
        evt(0x13, u8(1) + u16(0x40) + u16(1)))
    put('h4', 'iso-sco', b'\xff' + b'\x03' + u16(0x40) + b'\x02ab' + b'\x05' +
        u16(0x40) + u16(2) + b'xy')


def hci_seeds():
    # fuzz-hci: first octet selects hci (0), acl (1), sig (2), kframe (3)
    put('hci', 'evt-cmd-complete', b'\x00' + cmd_complete(0x2060, b'\x00' +
        u16(251) + u8(8) + u16(0) + u8(0)))
    put('hci', 'evt-nocp', b'\x00' + evt(0x13, u8(2) + u16(0x40) + u16(1) +
                                         u16(0x41) + u16(3)))
    put('hci', 'evt-le-conn', b'\x00' + evt(0x3e, b'\x01\x00' + u16(0x40) +
        b'\x00\x00' + bytes(6) + u16(6) + u16(0) + u16(200) + b'\x00'))
    put('hci', 'evt-adv-report', b'\x00' + evt(0x3e, b'\x02\x01\x00\x00' +
        bytes(6) + b'\x03\x02\x01\x06\xc4'))
    p1 = acl(0x001, l2cap(0x40, b'\x04\x00ab'))
    put('hci', 'acl-whole', b'\x01' + u8(len(p1)) + p1)
    first = acl(0x001, u16(6) + u16(0x40) + b'\x04\x00')
    cont = acl(0x001, b'ab', pb=0x1)
    put('hci', 'acl-fragments', b'\x01' + u8(len(first)) + first +
        u8(len(cont)) + cont)
    put('hci', 'sig-conn-req', b'\x02' + bytes([0x14, 1]) + u16(10) +
        u16(0x80) + u16(0x40) + u16(2048) + u16(247) + u16(8))
    put('hci', 'sig-credits', b'\x02' + bytes([0x16, 2]) + u16(4) + u16(0x40) +
        u16(5))
    put('hci', 'sig-disconn', b'\x02' + bytes([0x06, 3]) + u16(4) +
        u16(0x40) + u16(0x41))
    k1 = u16(6) + b'abc'
    k2 = b'def'
    put('hci', 'kframes', b'\x03' + u16(4) + u8(len(k1)) + k1 + u8(len(k2)) +
        k2)


# ---- fuzz-hcihost scripts (its step() opcodes) ------------------------

HH_RAW, HH_CC, HH_CS, HH_CONN, HH_DISC, HH_NOCP = 0, 1, 3, 4, 5, 6
HH_RSP, HH_REQ, HH_CREDIT, HH_SIG, HH_KFRAMES, HH_TICK = 7, 8, 9, 10, 11, 12
HH_OPEN, HH_CLOSE, HH_SEND, HH_START, HH_OTHER, HH_AUTO = 13, 14, 15, 16, 17, 18
HH_ENC, HH_SMP, HH_CRYPTO = 20, 21, 22


def hcihost_seeds():
    auto = bytes([HH_AUTO]) * 16
    put('hcihost', 'central-open', b'\x40' + auto)
    put('hcihost', 'peripheral-open', b'\x41' + auto)
    put('hcihost', 'central-traffic', b'\x5e' + auto +
        bytes([HH_SEND, 0]) + u16(300) + bytes([HH_SEND, 1]) + u16(40) +
        bytes([HH_NOCP, 2, 0, 3, 1, 2]) +
        bytes([HH_KFRAMES, 0]) + u16(100) + bytes([12, 0, 0]) +
        bytes([HH_CREDIT, 0, 0, 4, 1]) +
        bytes([HH_TICK, 50, HH_CLOSE, 0, HH_TICK, 10]) +
        bytes([HH_DISC, 0x80, 0, 0x13]))
    put('hcihost', 'fuzzed-answers', b'\x00' + bytes([HH_CC, 0, 1]) +
        bytes([HH_CC, 0, 1]) + bytes([HH_CC, 0, 1]) +
        bytes([HH_CC, 0, 1]) + bytes(6) +
        bytes([HH_CC, 0, 1]) + u16(27) + u8(3) +
        bytes([HH_OPEN, 0, HH_CS, 0, 1, HH_CONN, 0, 3]) + u16(6) + b'\x00' +
        bytes([HH_RSP]) + bytes([0x15]) + u16(2048) + u16(23) + u16(1) +
        bytes([0, 1]))
    put('hcihost', 'hardware-error', b'\x40' + auto +
        bytes([HH_OTHER, 0, 0x01, HH_START, 0]) + auto)
    put('hcihost', 'raw', b'\x00' + bytes([HH_RAW, 8]) + b'\x04\x0e\x04\x01'
        + u16(0x0c03) + b'\x00\xff')
    # Security: the link must be encrypted before its channel opens.
    pairing_rsp = bytes([0x02, 0x03, 0x00, 0x0d, 16, 0x00, 0x00])
    put('hcihost', 'security-central', b'\xc0' + auto +
        bytes([HH_SMP, 0, len(pairing_rsp)]) + pairing_rsp + b'\x00' +
        bytes([HH_CRYPTO, 0, 0]) + bytes(64) +
        bytes([HH_CRYPTO, 1, 0]) + bytes(32) +
        bytes([HH_ENC, 0, 0, 1]) + auto)
    put('hcihost', 'security-peripheral', b'\xc1' + auto +
        bytes([HH_CRYPTO, 2, 0]) + bytes(10) +
        bytes([HH_ENC, 0, 0, 1]) + auto)


# ---- fuzz-link scripts (its step() opcodes) ---------------------------

LK_OPEN, LK_RAW, LK_ACK, LK_RESP, LK_FUP, LK_REPORT = 0, 1, 2, 3, 5, 6
LK_STATUS, LK_CU, LK_REPLAY, LK_ADV, LK_FRAME, LK_STAMP = 7, 8, 9, 10, 11, 13
LK_RECONF, LK_RESET, LK_FAIL, LK_FF = 14, 15, 16, 17


def link_session(exchanges, frames):
    s = bytes([LK_OPEN, 1])
    # HELLO_ACK: every field well-formed; caps, buffer, ci, then seq how
    s += bytes([LK_ACK, 0x3f]) + u32(0x3f) + u16(64) + u8(0) + u8(1)
    for i in range(exchanges):
        s += bytes([LK_FF])        # up to the link's next SYNC_REQ
        s += bytes([LK_ADV, 10])   # 1 ms on the way
        s += bytes([LK_RESP, 0x0f]) + u16(30) + u16(5) + u8(1)
        s += bytes([LK_FUP, 0x03]) + u16(2) + u8(1)
        if i >= exchanges - frames:
            s += bytes([LK_FRAME, 0, 1])
            s += bytes([LK_REPORT, 0x01, 0]) + u16(3) + u8(40) + u16(8) + \
                u32(0) + u32(0) + u8(1)
    return s


def link_seeds():
    put('link', 'session', b'\x00' + link_session(40, 20))
    put('link', 'session-lc3-7.5ms', b'\x03' + link_session(30, 10))
    put('link', 'hostile-mix', b'\x00' + link_session(20, 5) +
        bytes([LK_REPLAY, 0, LK_REPLAY, 3]) +
        bytes([LK_STATUS, 150, 0]) + u16(0) + u32(0) + u8(1) +
        bytes([LK_CU, 1, 10]) + u16(100) + u8(1) +
        bytes([LK_CU, 1, 10]) + u16(100) + u8(230) +
        bytes([LK_RAW]) + u16(12) + bytes([1, 1, 0x41, 0]) + bytes(8) +
        bytes([LK_ACK, 0x00, 2, 3, 4, 0]) + u32(0) + u32(0) + u16(0) +
        u32(5000000) + u8(0) +
        bytes([LK_RESP, 0x00]) + u32(99) + u64(1) + bytes([0]) + u16(0) +
        bytes([0]) + u16(0) + u8(0) +
        bytes([LK_FAIL, LK_FRAME, 0, 1, LK_STAMP, 0, 1, 0, 0]) +
        bytes([LK_RECONF, 1, 3, LK_RESET, 0]) +
        bytes([LK_ADV, 250, LK_FF, LK_OPEN, 0]))
    put('link', 'flood', b'\x08' + link_session(10, 2) +
        (bytes([LK_RAW]) + u16(8) + bytes([0, 0, 0, 0, 0, 0, 0, 0])) * 20)


# ---- text formats -----------------------------------------------------

def conf_seeds():
    with open(os.path.join(ROOT, 'conf', 'ttwsd.conf')) as f:
        text = ''.join(line for line in f if not line.lstrip().startswith('#')
                       and line.strip())
    put('conf', 'ttwsd.conf', text.encode())
    put('conf', 'unix-pair', b'[rt]\npriority = 0\n[link.left]\n'
        b'transport = unix\npath = /tmp/l\n[link.right]\ntransport = unix\n'
        b'path = /tmp/r\n')
    put('conf', 'pairs', b'[pair.a]\nleft.transport = unix\nleft.path = /x\n'
        b'right.transport = l2cap\nright.address = 00:11:22:33:44:55\n'
        b'right.security = high\ndelay_ms = 60\ncodec = lc3\n'
        b'[pair.b-2]\nleft.transport = hci-uart\nleft.path = /dev/ttyUSB0\n'
        b'left.address = AA:BB:CC:DD:EE:FF\nleft.address_type = random\n')
    put('conf', 'errors', b'[servo]\nestimator = nope\n[nosuch]\nx = 1\n')


def scenario_seeds():
    d = os.path.join(ROOT, 'tests', 'scenarios')
    for n in sorted(os.listdir(d)):
        if n.endswith('.ini'):
            with open(os.path.join(d, n), 'rb') as f:
                put('scenario', n, f.read())


def control_seeds():
    put('control', 'get', b'\x00servo.estimator')
    put('control', 'get-pair', b'\x80pair.kitchen.left.path')
    put('control', 'set', b'\x01servo.estimator\x00naive')
    put('control', 'set-delay', b'\x81pair.desk-2.delay_ms\x0080')
    put('control', 'set-newline', b'\x01servo.estimator\x00ttws\nforged')
    put('control', 'capture', b'\x02/tmp/x.btsnoop')
    put('control', 'capture-relative', b'\x02x.btsnoop')


def framer_seeds():
    def rec(samples, pcm, nsec=10**9, pos=0, rate=1.0, flags=0):
        return b'\x01' + u8(samples >> 8) + u8(samples) + u64(nsec) + \
            u64(pos) + struct.pack('<d', rate) + u8(flags) + pcm
    stereo = b''.join(u16(i) + u16(-i) for i in range(64))
    put('framer', 's16-stereo', b'\x00' + (rec(64, stereo) + b'\x00') * 9)
    put('framer', 'f32-nan', b'\x01' + rec(2, struct.pack(
        '<4f', float('nan'), float('inf'), -1e30, 1e-40)) + b'\x00')
    put('framer', 'bad-records', b'\x00' + rec(0, b'') + b'\x00' +
        rec(300, b'') + b'\x00')


# ---- fuzz-smp scripts (its step() opcodes; 0x80 picks the responder) --

SM_AUTO, SM_DELIVER, SM_DROP, SM_INJECT, SM_ANSWER, SM_LINK_ENC = 0, 1, 2, 3, 4, 5
SM_ENC, SM_TICK, SM_START, SM_RESET, SM_RAW = 6, 7, 8, 9, 10
SM_R = 0x80


def smp_seeds():
    auto = bytes([SM_AUTO])
    # Config octet: 1 the central asks for the identity, 2 the
    # peripheral gives it, 4 it takes the central's, 8/0x10 random
    # addresses, 0x20 other keys asked, 0x40 the central offers its
    # identity, 0x80 the responder sees another initiator address.
    put('smp', 'pair-identity', b'\x07' + auto * 100)
    put('smp', 'pair-plain', b'\x00' + auto * 100)
    put('smp', 'pair-random-addresses', b'\x3b' + auto * 100)
    put('smp', 'addresses-differ', b'\x83' + auto * 100)
    put('smp', 'central-offers-identity', b'\x47' + auto * 100 +
        bytes([SM_TICK, 255, SM_TICK, 254, SM_TICK, 1]))
    # The 30 s timer: just before, then at the deadline.
    put('smp', 'timeout', b'\x03' + auto * 9 + bytes([SM_TICK, 254]) +
        auto + bytes([SM_TICK, 254, SM_TICK, 255]) + auto * 4)
    # Both sides fed by hand: a hostile initiator's request to R, a
    # public key off the curve, the debug key, a stray answer.
    put('smp', 'hostile-initiator', b'\x06' +
        bytes([SM_R | SM_INJECT, 0, 1]) + bytes([0x03]) +
        bytes([SM_R | SM_ANSWER, 0, SM_R | SM_ANSWER, 0]) +
        bytes([SM_R | SM_INJECT, 11, 7]) + auto * 6)
    put('smp', 'debug-key', b'\x06' +
        bytes([SM_R | SM_INJECT, 0, 0]) +
        bytes([SM_R | SM_ANSWER, 0]) +
        bytes([SM_R | SM_INJECT, 11, 6]) + auto * 6)
    put('smp', 'key-size-7', b'\x06' +
        bytes([SM_R | SM_INJECT, 0, 7]) + bytes([7]) + auto * 4)
    put('smp', 'controller-fails', b'\x03' + auto * 3 +
        bytes([SM_ANSWER, 0xd0, 0x12]) + auto * 4 +
        bytes([SM_R | SM_ANSWER, 0xf3, 0]) + auto * 10)
    # A full pairing is ~85 auto steps (one per AES block); at step 10
    # I's public key is next on the wire, at 67 its DHKey check, after 80
    # both wait for encryption.
    put('smp', 'tampered-key', b'\x03' + auto * 9 +
        bytes([SM_DELIVER, 3, 8]) + auto * 20)
    put('smp', 'tampered-check', b'\x03' + auto * 66 +
        bytes([SM_DELIVER, 0, 5, 1]) + auto * 20)
    put('smp', 'repair-after-reset', b'\x07' + auto * 20 +
        bytes([SM_RESET, SM_R | SM_RESET]) + auto * 100)
    put('smp', 'encryption-fails', b'\x03' + auto * 80 +
        bytes([SM_ENC, 0, SM_R | SM_ENC, 0]) + auto * 6)
    raw = (bytes([SM_RAW, 7]) + bytes([1, 3, 0, 0x0d, 16, 0, 2]) +
           bytes([SM_RAW, 8]) + bytes([9, 1, 1, 2, 3, 4, 5, 6]) +
           bytes([SM_RAW, 6]) + bytes([0x08, 4, 0, 0x40, 0, 1]) +
           bytes([SM_RAW, 36]) + bytes([0x3e, 34, 0x09, 0]) + bytes(32) +
           bytes([SM_RAW, 2]) + bytes([0x0e, 5]) +
           bytes([SM_RAW, 14]) + cmd_complete(0x2018, bytes(range(9))) +
           bytes([SM_RAW, 64]) + bytes(64))
    put('smp', 'raw-decoders', b'\x00' + raw)


# ---- bond files (core/smp_bond.h) --------------------------------------

def bond_text(identity=True, extra=b''):
    t = (b'# ttws bond: LE Secure Connections keys of one dongle and one '
         b'earbud\nversion=1\nlocal=00:AA:01:00:00:42\n'
         b'peer=00:AA:01:01:00:42\npeer_type=public\n'
         b'ltk=8d9e5a3c0b1f2e4d6a7b8c9d0e1f2a3b\nediv=0\n'
         b'rand=0000000000000000\nkey_size=16\nauthenticated=no\n'
         b'secure_connections=yes\n')
    if identity:
        t += (b'irk=00112233445566778899aabbccddeeff\n'
              b'identity=C0:11:22:33:44:55\nidentity_type=random\n')
    return t + extra


def bond_seeds():
    put('bond', 'full', bond_text())
    put('bond', 'no-identity', bond_text(False))
    put('bond', 'legacy-fields', bond_text(False).replace(
        b'ediv=0', b'ediv=65535').replace(b'key_size=16', b'key_size=7')
        .replace(b'secure_connections=yes', b'secure_connections=no')
        .replace(b'rand=0000000000000000', b'rand=FEDCBA9876543210'))
    put('bond', 'crlf', bond_text().replace(b'\n', b'\r\n'))
    put('bond', 'repeated-key', bond_text(extra=b'ltk=00\n'))
    put('bond', 'zero-ltk', bond_text().replace(
        b'8d9e5a3c0b1f2e4d6a7b8c9d0e1f2a3b', b'0' * 32))
    put('bond', 'half-identity', bond_text(False) +
        b'identity=C0:11:22:33:44:55\n')
    put('bond', 'long-line', bond_text(extra=b'#' + b'x' * 200 + b'\n'))
    put('bond', 'nul', bond_text().replace(b'version=1', b'version=1\0'))
    put('bond', 'key-size-17', bond_text().replace(b'key_size=16',
                                                   b'key_size=17'))
    put('bond', 'no-newline-at-end', bond_text()[:-1])


# ---- ATT / ASHA's GATT client (fuzz-att.c) ------------------------------

def att_seeds():
    # The first octet: our MTU (bits 0-1: 23, 64, 185, 517), the start
    # timeout (bits 2-4), callbacks calling back (0x20), no ashac_start()
    # until step 13 (0x40). Steps, by octet % 14: 0 auto answer, 1 raw
    # PDU (len, octets), 2 mutated answer (at, xor), 3 tick (ms, 16 bits),
    # 4 to the next deadline, 5 start (type/codec, volume), 6 stop,
    # 7 status (what), 8 volume, 9 AudioStatus (value; flags, 1: one
    # octet too many), 10 the aid's own request (len, which, octets),
    # 11 a failing send, 12 auto answers until nothing is out,
    # 13 ashac_start().
    AUTO, RAW, MUT, TICK, DEADLINE, START, STOP, STATUS, VOL, NOTIFY, \
        REQ, SENDFAIL, ALL, BEGIN = range(14)
    ready = bytes([0x02, ALL])
    start = bytes([START, 0x03, 0xec])
    put('att', 'discovery', ready)
    put('att', 'discovery-mtu23', bytes([0x00, ALL]))
    put('att', 'start-ok', ready + start + bytes([AUTO, STOP, AUTO]))
    put('att', 'start-refused', ready + start + bytes([NOTIFY, 0xfe, 0, AUTO]))
    put('att', 'start-timeout', ready + start +
        bytes([RAW, 1, 0x13, DEADLINE, START, 0x03, 0x00, AUTO]))
    put('att', 'queue', ready + start +
        bytes([VOL, 0xe2, VOL, 0xd8, STOP, STATUS, 2, STATUS, 3, VOL, 0x80,
               ALL, AUTO, ALL]))
    put('att', 'att-timeout', bytes([0x02, AUTO, DEADLINE, REQ, 2, 0, 0x17,
                                     0x00]))
    put('att', 'aid-speaks-first', bytes([0x42, REQ, 2, 0, 0x40, 0x00,
                                          REQ, 6, 2, 1, 0, 0xff, 0xff, 0x00,
                                          0x28, BEGIN, AUTO, REQ, 2, 5,
                                          0x21, 0x00, ALL]))
    put('att', 'reenter', bytes([0x22, ALL, AUTO, NOTIFY, 0x00, 0, NOTIFY, 0,
                                 1, ALL]))
    put('att', 'hostile', ready + bytes([
        RAW, 5, 0x01, 0x12, 0x17, 0x00, 0x0a,
        RAW, 4, 0x1b, 0x16, 0x00, 0x00,
        RAW, 3, 0x1d, 0x21, 0x00,
        RAW, 2, 0x03, 0x40]) + start + bytes([MUT, 0, 0x12, ALL]))
    put('att', 'mutated-discovery', bytes([0x01, AUTO, AUTO, MUT, 0x85, 0x10,
                                           ALL]))
    put('att', 'send-fail', ready + bytes([SENDFAIL, 0, VOL, 0xec, VOL, 0]))


def main():
    proto_seeds()
    h4_seeds()
    hci_seeds()
    hcihost_seeds()
    link_seeds()
    conf_seeds()
    scenario_seeds()
    control_seeds()
    framer_seeds()
    att_seeds()
    smp_seeds()
    bond_seeds()


if __name__ == '__main__':
    main()
