#!/usr/bin/python3
"""The ASHA reference's skew per 20 ms slot, from one run's records.

    skew.py OUT_DIR   (prints one JSON object)

OUT_DIR holds trace.btsnoop (btmon -w of the central's controller, hci0:
btsnoop with the monitor datalink 2001, each record's flags the index
<< 16 | the monitor opcode, timestamps in us), ready.json and
left.jsonl / right.jsonl (tests/asha/asha-peer.py's records).

Send time of an SDU: the Number Of Completed Packets event (Core 5.4,
Vol 4, Part E, 7.7.19) that completes the last ACL packet of that SDU on
its connection handle; completions are counted per handle in the order
the packets were sent. An SDU is found by reassembling L2CAP PDUs per
handle (basic header: length, CID) and, on dynamic CIDs (LE credit based
channels), K-frames: the first of an SDU starts with its 2-octet SDU
length (Core 5.4, Vol 3, Part A, 3.4.3), the ASHA SDU's first octet is
its sequence number (ASHA spec, "Audio packet format"). Handles map to
ears through LE (Enhanced) Connection Complete events and the aids'
addresses in ready.json.

Arrival time: the aids' `sdu` records (CLOCK_MONOTONIC). Both: the two
ears' SDUs of one 20 ms slot carry one sequence number (see pair()).
"""
import json
import struct
import sys

OP_COMMAND, OP_EVENT, OP_ACL_TX = 2, 3, 4
EV_NOCP, EV_LE_META = 0x13, 0x3E
LE_CONN_COMPLETE = (0x01, 0x0A, 0x29)


def read_btsnoop(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'btsnoop\0':
        raise SystemExit('%s: not a btsnoop file' % path)
    version, link = struct.unpack('>II', data[8:16])
    if link != 2001:
        raise SystemExit('%s: datalink %d, not btmon\'s 2001' % (path, link))
    off = 16
    while off + 24 <= len(data):
        _orig, incl, flags, _drops, ts = struct.unpack('>IIIIq', data[off:off + 24])
        off += 24
        yield flags >> 16, flags & 0xFFFF, ts, data[off:off + incl]
        off += incl


def addr(b):
    return ':'.join('%02X' % x for x in reversed(b))


def send_times(path, ear_of_addr):
    """{ear: [(seq, t_us)]} in send order, and the handles seen."""
    fifo = {}         # handle -> list of SDU keys (None: not an SDU's end)
    pdu = {}          # handle -> [expected len, bytearray] of a PDU
    sdu_left = {}     # (handle, cid) -> octets of the SDU still to come
    ear_of = {}       # handle -> ear
    out = {'left': [], 'right': []}
    pending = {}      # id -> (ear, seq)
    nid = 0
    for index, op, ts, pkt in read_btsnoop(path):
        if index != 0:
            continue
        if op == OP_EVENT and len(pkt) >= 2:
            code, plen = pkt[0], pkt[1]
            p = pkt[2:2 + plen]
            if code == EV_LE_META and p and p[0] in LE_CONN_COMPLETE and p[1] == 0:
                h = struct.unpack('<H', p[2:4])[0] & 0x0FFF
                a = addr(p[6:12])
                ear_of[h] = ear_of_addr.get(a, a)
                fifo[h] = []
            elif code == EV_NOCP:
                for i in range(p[0]):
                    h, n = struct.unpack('<HH', p[1 + 4 * i:5 + 4 * i])
                    h &= 0x0FFF
                    q = fifo.get(h, [])
                    done, fifo[h] = q[:n], q[n:]
                    for key in done:
                        if key is not None and key in pending:
                            e, seq = pending.pop(key)
                            out.setdefault(e, []).append((seq, ts))
        elif op == OP_ACL_TX and len(pkt) >= 4:
            hf, ln = struct.unpack('<HH', pkt[:4])
            h, pb = hf & 0x0FFF, (hf >> 12) & 0x3
            body = pkt[4:4 + ln]
            q = fifo.setdefault(h, [])
            if pb in (0, 2):
                if len(body) < 4:
                    q.append(None)
                    continue
                pdu[h] = [struct.unpack('<H', body[:2])[0] + 4, bytearray(body)]
            elif h in pdu:
                pdu[h][1] += body
            else:
                q.append(None)
                continue
            want, buf = pdu[h]
            if len(buf) < want:
                q.append(None)
                continue
            del pdu[h]
            plen, cid = struct.unpack('<HH', buf[:4])
            pl = bytes(buf[4:4 + plen])
            key = None
            if cid >= 0x40:
                left = sdu_left.get((h, cid), 0)
                if left == 0 and len(pl) >= 3:
                    sdu_len = struct.unpack('<H', pl[:2])[0]
                    left = sdu_len - (len(pl) - 2)
                    cur = pl[2]
                    sdu_left[(h, cid, 'seq')] = cur
                else:
                    left -= len(pl)
                    cur = sdu_left.get((h, cid, 'seq'))
                sdu_left[(h, cid)] = max(left, 0)
                if left <= 0 and cur is not None:
                    key = nid
                    nid += 1
                    pending[key] = (ear_of.get(h, 'handle-%d' % h), cur)
            q.append(key)
    return out, ear_of


SLOT_US = 20000


def unwrap(v):
    """(seq, t_us) in arrival order -> (n, t_us), n the sequence number
    counted on past 255 (a step of 1-255 forward each time; PipeWire's
    ASHA sink numbers a packet by the 20 ms slots since the set's start,
    asha_seqnum() in spa/plugins/bluez5/media-sink.c, so a slot it could
    not send leaves a gap, not a shift)."""
    out, n, prev = [], None, None
    for seq, t in v:
        n = seq if n is None else n + ((seq - prev) & 0xFF or 256)
        prev = seq
        out.append((n, t))
    return out


def pair(l, r, shift=0):
    """Signed differences left - right (us) of the slots both ears have,
    l and r lists of (seq, t_us): one slot is one sequence number. The
    two ears' counts past 255 are aligned by their first SDUs' times (the
    right ear's first number moved by whole turns of 256 to agree with
    them best). SHIFT pairs slot n of the left ear with slot n + SHIFT of
    the right (a check that the pairing is the closest one). When nothing
    was dropped this is tests/bench/asha.sh's pairing (from the first
    number both ears have, the k-th SDU of each)."""
    if not l or not r:
        return []
    ul, ur = unwrap(l), unwrap(r)
    (nl, tl), (nr, tr) = ul[0], ur[0]
    turns = min(range(-2, 3), key=lambda k: abs(
        (nr + 256 * k - nl) * SLOT_US - (tr - tl)))
    right = {n + 256 * turns: t for n, t in ur}
    return [t - right[n + shift] for n, t in ul if n + shift in right]


def check(l, r):
    """How the pairing came out: each ear's first sequence number, the
    median signed skew (left - right, us), the slots over 20 ms apart,
    and the median absolute skew with the right ear shifted by one slot
    either way (larger than the paired one when the pairing is right),
    and the median signed skew of each tenth of the run (a drift)."""
    d = pair(l, r)
    offsets = {}
    for x in d:
        k = round(x / SLOT_US)
        offsets[k] = offsets.get(k, 0) + 1
    within = sorted(abs(x - round(x / SLOT_US) * SLOT_US) for x in d)

    def med(v):
        return round(sorted(v)[len(v) // 2], 1) if v else None
    return {'first_seq': [l[0][0] if l else None, r[0][0] if r else None],
            'median_signed_us': med(d),
            'over_20ms': sum(abs(x) > SLOT_US for x in d),
            'median_abs_shift_minus1_us': med([abs(x) for x in pair(l, r, -1)]),
            'median_abs_shift_plus1_us': med([abs(x) for x in pair(l, r, 1)]),
            'median_signed_by_tenth_us': [med(d[len(d) * i // 10:
                                                len(d) * (i + 1) // 10])
                                            for i in range(10)],
            # whole slots between the ears' SDUs of one number (PipeWire
            # numbering the two sides a slot apart), and what is left
            # within the slot
            'slot_offsets': {str(k): n for k, n in sorted(offsets.items())},
            'within_slot_p50_us': med(within),
            'within_slot_p99_us': (round(within[int(0.99 * len(within))], 1)
                                   if within else None)}


def stats(name, skew):
    if not skew:
        return {name + '_slots': 0}

    def pct(p):
        return round(skew[min(len(skew) - 1, int(p / 100 * len(skew)))], 1)
    return {name + '_slots': len(skew), name + '_p50_us': pct(50),
            name + '_p99_us': pct(99), name + '_max_us': round(skew[-1], 1)}


def main(out):
    with open(out + '/ready.json') as f:
        ready = json.load(f)
    ear_of_addr = {ready[e]['address'].upper(): e for e in ready}
    sent, handles = send_times(out + '/trace.btsnoop', ear_of_addr)
    arr = {}
    for e in ('left', 'right'):
        with open('%s/%s.jsonl' % (out, e)) as f:
            arr[e] = [(r['seq'], r['t_ns'] / 1e3) for r in map(json.loads, f)
                      if r['ev'] == 'sdu' and r['seq'] is not None]
    res = {'handles': {'0x%04x' % h: e for h, e in handles.items()},
           'sent_sdus': {e: len(v) for e, v in sent.items()},
           'arrived_sdus': {e: len(v) for e, v in arr.items()}}
    sl, sr = sent.get('left', []), sent.get('right', [])
    res.update(stats('send_skew', sorted(abs(x) for x in pair(sl, sr))))
    res.update(stats('arrival_skew',
                     sorted(abs(x) for x in pair(arr['left'], arr['right']))))
    res['check'] = {'send': check(sl, sr),
                    'arrival': check(arr['left'], arr['right'])}
    print(json.dumps(res))


if __name__ == '__main__':
    main(sys.argv[1])
