#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The smoke test's ASHA central: Bumble as a GATT client and LE
credit-based channel initiator on its own emulated controller, against
the two aids of asha-peer.py (no ttwsd). Runs in the Bumble root
filesystem through run-peer.sh --script smoke-central.py.

  smoke-central.py run --left ADDR --right ADDR [--frames N]
  smoke-central.py verify
  smoke-central.py starts --left ADDR --right ADDR
  smoke-central.py drop --left ADDR --right ADDR --peer-pid PID

run: connects to the left aid, then the right one (public addresses),
and for each: discovers the ASHA service (0xFDF0), reads
ReadOnlyProperties (17 octets, parsed: version 1, the side bit, the
binaural bit, the G.722 bit of the codec bitmap; the HiSyncId equal on
both), reads LE_PSM_OUT, subscribes to AudioStatus, writes Start (G.722,
media, volume, other side's state) and waits for AudioStatus 0, opens the
LE credit-based channel on the PSM (MTU and MPS 167), then tells the left
aid that the right one is connected (Status 2). Then N SDUs to each ear,
one per 20 ms slot, the same sequence number to both in a slot: the
sequence octet and 160 octets of G.722 (64 kbit/s, 16 kHz) encoding a
tone (left 700 Hz, right 1100 Hz) with spandsp's encoder (libspandsp,
through ctypes), then a Volume write and Stop. What was sent goes to
/out/central.json. Any check that fails ends it with status 1.

verify (after the peer has ended and written its WAV files): the aids'
records (/out/EAR.jsonl) hold every SDU sent, in order, with its
sequence number, 161 octets and the same payload; Start with the fields
sent; the Status; the Volume; Stop; and Bumble's decoding of each ear
(/out/EAR.wav) correlates with the tone sent to it at 0.9 or more.

starts: against aids that do not answer / refuse their first Start (see
starts()), the central sees exactly that, and 0 on the second Start.

drop: the right aid leaves and comes back while the left streams on (see
drop()).
"""

import argparse
import asyncio
import ctypes
import json
import math
import os
import signal
import struct
import sys
import time
import wave

OUT = '/out'
EARS = ('left', 'right')
TONE_HZ = {'left': 700.0, 'right': 1100.0}
AMPLITUDE = 8000
RATE = 16000
FRAME_SAMPLES = 320          # 20 ms at 16 kHz
FRAME_OCTETS = 160           # G.722 at 64 kbit/s: one octet per 2 samples
VOLUME = -20                 # dB steps as the spec's int8 (-128..0)
START_VOLUME = -10
MIN_CORRELATION = 0.9


def fail(msg):
    print('smoke-central: FAIL: ' + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def tone(ear, n_samples):
    w = 2 * math.pi * TONE_HZ[ear] / RATE
    return [int(AMPLITUDE * math.sin(w * i)) for i in range(n_samples)]


class G722Encoder:
    """spandsp's G.722 encoder (libspandsp2, spandsp/g722.h:
    g722_encode_init(s, rate, options), g722_encode(s, out, amp, len),
    g722_encode_free(s)), 64 kbit/s, 16 kHz input, one code per octet
    with the high band in the top two bits, as ASHA carries it."""

    def __init__(self):
        self.lib = ctypes.CDLL('libspandsp.so.2')
        self.lib.g722_encode_init.restype = ctypes.c_void_p
        self.lib.g722_encode_init.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                              ctypes.c_int]
        self.lib.g722_encode.restype = ctypes.c_int
        self.lib.g722_encode.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8),
            ctypes.POINTER(ctypes.c_int16), ctypes.c_int]
        self.lib.g722_encode_free.argtypes = [ctypes.c_void_p]
        self.state = self.lib.g722_encode_init(None, 64000, 0)
        if not self.state:
            raise RuntimeError('g722_encode_init failed')

    def encode(self, samples):
        amp = (ctypes.c_int16 * len(samples))(*samples)
        out = (ctypes.c_uint8 * (len(samples) // 2))()
        n = self.lib.g722_encode(self.state, out, amp, len(samples))
        if n != len(samples) // 2:
            raise RuntimeError('g722_encode returned %d' % n)
        return bytes(out)

    def close(self):
        self.lib.g722_encode_free(self.state)


def parse_rop(value):
    """ReadOnlyProperties (ASHA spec): version, DeviceCapabilities,
    HiSyncId (8), FeatureMap, RenderDelay (ms, LE 16), 2 reserved,
    SupportedCodecs (LE 16)."""
    if len(value) != 17:
        fail('ReadOnlyProperties has %d octets, not 17' % len(value))
    (version, caps, hisyncid, features, delay, _reserved,
     codecs) = struct.unpack('<BB8sBH2sH', value)
    return {'raw': value.hex(), 'version': version, 'capabilities': caps,
            'right': bool(caps & 0x01), 'binaural': bool(caps & 0x02),
            'csis': bool(caps & 0x04), 'hisyncid': hisyncid.hex(),
            'feature_map': features, 'render_delay_ms': delay,
            'codecs': codecs}


class Ear:
    """The central's view of one aid: its link, ASHA proxy, AudioStatus
    notifications and report entry."""

    def __init__(self, name, report, key=None):
        self.name = name
        self.r = report.setdefault(key or name, {})
        self.statuses = asyncio.Queue()
        self.r['audio_status'] = []
        self.connection = self.proxy = self.channel = None

    def on_status(self, value):
        value = bytes(value)
        self.r['audio_status'].append(value.hex())
        self.statuses.put_nowait(value)

    async def connect(self, device, address):
        """Connects, discovers the ASHA service, reads and checks
        ReadOnlyProperties and LE_PSM_OUT, subscribes to AudioStatus."""
        from bumble import hci
        from bumble.device import Peer
        from bumble.profiles import asha

        ear, r = self.name, self.r
        t0 = time.monotonic()
        self.connection = await device.connect(
            hci.Address(address, hci.Address.PUBLIC_DEVICE_ADDRESS),
            own_address_type=hci.OwnAddressType.PUBLIC, timeout=15)
        r.update(address=address, handle=self.connection.handle)
        self.proxy = await asyncio.wait_for(
            Peer(self.connection).discover_service_and_create_proxy(
                asha.AshaServiceProxy), 10)
        if self.proxy is None:
            fail(ear + ': no ASHA service (0xFDF0)')
        rop = parse_rop(bytes(
            await self.proxy.read_only_properties_characteristic.read_value()))
        r['rop'] = rop
        if rop['version'] != 1 or rop['right'] != (ear == 'right') or \
                not rop['binaural'] or not rop['codecs'] & 0x02 or \
                not rop['feature_map'] & 0x01:
            fail('%s: ReadOnlyProperties %s' % (ear, rop))
        psm_value = bytes(await self.proxy.psm_characteristic.read_value())
        if len(psm_value) != 2:
            fail('%s: LE_PSM_OUT has %d octets' % (ear, len(psm_value)))
        r['psm'] = struct.unpack('<H', psm_value)[0]
        if not 0x80 <= r['psm'] <= 0xFF:
            fail('%s: LE_PSM_OUT 0x%04x is not an LE dynamic PSM' %
                 (ear, r['psm']))
        await self.proxy.audio_status_point_characteristic.subscribe(
            self.on_status)
        r['connect_s'] = round(time.monotonic() - t0, 3)

    async def write_acp(self, value, wait_s):
        """Writes VALUE to AudioControlPoint (with response) and returns
        the AudioStatus notified within WAIT_S seconds, or None."""
        await self.proxy.audio_control_point_characteristic.write_value(
            value, with_response=True)
        try:
            return await asyncio.wait_for(self.statuses.get(), wait_s)
        except TimeoutError:
            return None

    async def start(self, other_state, wait_s=5):
        from bumble.profiles import asha
        value = bytes([asha.OpCode.START, asha.Codec.G_722_16KHZ,
                       asha.AudioType.MEDIA, START_VOLUME & 0xFF,
                       other_state])
        self.r.setdefault('starts', []).append(value.hex())
        return await self.write_acp(value, wait_s)

    async def open_channel(self, device):
        from bumble import l2cap
        self.channel = await device.create_l2cap_channel(
            self.connection, l2cap.LeCreditBasedChannelSpec(
                psm=self.r['psm'], mtu=167, mps=167, max_credits=8))
        c = self.channel
        self.r['coc'] = {'mtu': c.mtu, 'mps': c.mps, 'peer_mtu': c.peer_mtu,
                         'peer_mps': c.peer_mps, 'credits': c.credits}
        if c.peer_mtu < 161:
            fail('%s: the aid takes SDUs of %d octets only' %
                 (self.name, c.peer_mtu))


async def send_slot(ears, seq, payloads):
    """One 20 ms slot: SDU seq + PAYLOADS[ear] to each of EARS, each
    written alone and drained (Bumble's channel would otherwise join
    queued writes into one SDU: l2cap.py, process_output())."""
    for e in ears:
        e.channel.write(bytes([seq]) + payloads[e.name])
    for e in ears:
        await asyncio.wait_for(e.channel.drain(), 5)


async def open_central(args):
    from bumble import hci
    from bumble.device import Device
    from bumble.transport import open_transport

    transport = await open_transport(args.hci)
    device = Device.with_hci('ttws-smoke-central',
                             hci.Address('F0:00:00:00:00:C0'),
                             transport.source, transport.sink)
    await device.power_on()
    return transport, device


async def disconnect_all(device):
    links = [c.disconnect() for c in device.connections.values()]
    await asyncio.wait_for(asyncio.gather(*links), 5)


def write_report(report, name):
    tmp = os.path.join(OUT, '.' + name)
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(report, f)
    os.replace(tmp, os.path.join(OUT, name))


async def run(args):
    from bumble.profiles import asha

    t_start = time.monotonic()
    transport, device = await open_central(args)
    report = {}
    ears = {ear: Ear(ear, report) for ear in EARS}
    addresses = {'left': args.left, 'right': args.right}
    # Left first, before the right is connected (other side: 0), then
    # the right (other side connected: 1), and the left told so (Status
    # OTHER_PERIPHERAL_CONNECTED).
    for ear, other in (('left', 0), ('right', 1)):
        e = ears[ear]
        await e.connect(device, addresses[ear])
        status = await e.start(other)
        if status != b'\x00':
            fail('%s: AudioStatus %s after Start, not 00' %
                 (ear, status.hex() if status else 'none'))
        await e.open_channel(device)
    if report['left']['rop']['hisyncid'] != report['right']['rop']['hisyncid']:
        fail('HiSyncId differs: left %s, right %s' % (
            report['left']['rop']['hisyncid'],
            report['right']['rop']['hisyncid']))
    status = bytes([asha.OpCode.STATUS,
                    asha.PeripheralStatus.OTHER_PERIPHERAL_CONNECTED])
    if await ears['left'].write_acp(status, 0.2) is not None:
        fail('left: AudioStatus notified after Status')
    report['left']['status'] = status.hex()

    # The audio: the same sequence number to both ears in a slot.
    pcm = {ear: tone(ear, args.frames * FRAME_SAMPLES) for ear in EARS}
    encoders = {ear: G722Encoder() for ear in EARS}
    sent = {ear: [] for ear in EARS}
    slot0 = time.monotonic()
    for k in range(args.frames):
        seq = k & 0xFF
        payloads = {}
        for ear in EARS:
            chunk = pcm[ear][k * FRAME_SAMPLES:(k + 1) * FRAME_SAMPLES]
            payloads[ear] = encoders[ear].encode(chunk)
            if len(payloads[ear]) != FRAME_OCTETS:
                fail('encoder gave %d octets' % len(payloads[ear]))
            sent[ear].append({'seq': seq, 'payload': payloads[ear].hex()})
        await send_slot(ears.values(), seq, payloads)
        delay = slot0 + (k + 1) * 0.020 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    for enc in encoders.values():
        enc.close()

    for ear in EARS:
        e = ears[ear]
        await e.proxy.volume_characteristic.write_value(
            bytes([VOLUME & 0xFF]), with_response=False)
        stop_status = await e.write_acp(bytes([asha.OpCode.STOP]), 5)
        if stop_status != b'\x00':
            fail('%s: AudioStatus %s after Stop' % (ear, stop_status))
        report[ear]['sent'] = sent[ear]
    report['frames'] = args.frames
    report['seconds'] = round(time.monotonic() - t_start, 3)
    # Both links ended as a central does (HCI Disconnect): btvirt would
    # drop them without telling the aids when this controller goes.
    await disconnect_all(device)
    write_report(report, 'central.json')
    for ear in EARS:
        r = report[ear]
        print('smoke-central: %s: %s, psm 0x%02x, hisyncid %s, coc %s, '
              'connected in %.2f s' % (ear, r['rop']['raw'], r['psm'],
                                       r['rop']['hisyncid'], r['coc'],
                                       r['connect_s']), flush=True)
    await transport.close()


async def starts(args):
    """Against aids told --start-answer left:none --start-answer
    right:illegal-parameters --start-answer-times 1: the first Start gets
    no AudioStatus from the left and -2 from the right; the second gets 0
    from both (a central that retries)."""
    transport, device = await open_central(args)
    report = {}
    ears = {ear: Ear(ear, report) for ear in EARS}
    await ears['left'].connect(device, args.left)
    await ears['right'].connect(device, args.right)
    want = {'left': [None, '00'], 'right': ['fe', '00']}
    for ear in EARS:
        got = []
        for _ in range(2):
            status = await ears[ear].start(1, wait_s=1.0)
            got.append(status.hex() if status is not None else None)
        report[ear]['answers'] = got
        print('smoke-central: %s: AudioStatus after two Starts: %s' %
              (ear, got), flush=True)
        if got != want[ear]:
            fail('%s: AudioStatus after two Starts %s, not %s' %
                 (ear, got, want[ear]))
    await disconnect_all(device)
    write_report(report, 'starts.json')
    await transport.close()


async def drop(args):
    """One ear taken out and put back: both ears started and streaming,
    then the right aid told (SIGUSR2 to the peer, --peer-pid) to end its
    link; the left goes on alone, told OTHER_PERIPHERAL_DISCONNECTED; the
    central connects to the right again as soon as it advertises, starts
    it (other side connected), tells the left OTHER_PERIPHERAL_CONNECTED,
    and both get audio again, then Stop. 5 slots each time, sequence
    numbers 0-14 (160 octets of the sequence number: no audio is
    checked)."""
    from bumble.profiles import asha

    transport, device = await open_central(args)
    report = {}
    ears = {ear: Ear(ear, report) for ear in EARS}
    addresses = {'left': args.left, 'right': args.right}
    for ear, other in (('left', 0), ('right', 1)):
        await ears[ear].connect(device, addresses[ear])
        if await ears[ear].start(other) != b'\x00':
            fail(ear + ': no AudioStatus 0 after Start')
        await ears[ear].open_channel(device)

    def frame(seq):
        return {ear: bytes([seq]) * FRAME_OCTETS for ear in EARS}

    for seq in range(0, 5):
        await send_slot(ears.values(), seq, frame(seq))
    # A read answered comes after the SDUs before it on the same link:
    # they have reached the aid before it is told to go.
    for e in ears.values():
        await e.proxy.audio_status_point_characteristic.read_value()
    lost = asyncio.Event()
    ears['right'].connection.once('disconnection', lambda _r: lost.set())
    t_drop = time.monotonic()
    os.kill(args.peer_pid, signal.SIGUSR2)
    await asyncio.wait_for(lost.wait(), 5)
    left = ears['left']
    if await left.write_acp(bytes([
            asha.OpCode.STATUS,
            asha.PeripheralStatus.OTHER_PERIPHERAL_DISCONNECTED]),
            0.2) is not None:
        fail('left: AudioStatus notified after Status')
    for seq in range(5, 10):
        await send_slot([left], seq, frame(seq))

    # The right aid advertises again after its silence: connect as soon
    # as it does (btvirt refuses a connection to a controller that is
    # not advertising).
    again = Ear('right', report, key='right_again')
    deadline = time.monotonic() + 15
    while True:
        try:
            await again.connect(device, args.right)
            break
        except Exception as e:
            if time.monotonic() > deadline:
                fail('right: no reconnection in 15 s (%s)' % e)
            await asyncio.sleep(0.1)
    report['reconnect_s'] = round(time.monotonic() - t_drop, 3)
    if await again.start(1) != b'\x00':
        fail('right: no AudioStatus 0 after the second Start')
    await again.open_channel(device)
    if await left.write_acp(bytes([
            asha.OpCode.STATUS,
            asha.PeripheralStatus.OTHER_PERIPHERAL_CONNECTED]),
            0.2) is not None:
        fail('left: AudioStatus notified after Status')
    for seq in range(10, 15):
        await send_slot([left, again], seq, frame(seq))
    # Stop, answered after the SDUs before it on the same link (drained
    # means handed to Bumble's host, not yet delivered).
    for e in (left, again):
        if await e.write_acp(bytes([asha.OpCode.STOP]), 5) != b'\x00':
            fail(e.name + ': no AudioStatus 0 after Stop')
    await disconnect_all(device)
    write_report(report, 'drop.json')
    print('smoke-central: right dropped and back after %.2f s' %
          report['reconnect_s'], flush=True)
    await transport.close()


def correlation(x, y, max_lag=48):
    """The largest normalized cross-correlation of Y delayed by 0 to
    MAX_LAG samples against X (G.722's QMF pair delays ~23 samples), and
    that delay."""
    best, best_lag = 0.0, 0
    for lag in range(max_lag + 1):
        c = normalized(x, y, 0, min(len(x), len(y) - lag), lag)
        if c > best:
            best, best_lag = c, lag
    return best, best_lag


def normalized(x, y, start, end, lag):
    """The normalized correlation of X[start:end] and Y[start+lag:...]."""
    a = x[start:end]
    b = y[start + lag:end + lag]
    saa = sum(p * p for p in a)
    sbb = sum(q * q for q in b)
    if not saa or not sbb or len(a) != len(b):
        return 0.0
    return sum(p * q for p, q in zip(a, b)) / math.sqrt(saa * sbb)


def worst_frame(x, y, lag, frames):
    """The lowest correlation of one 20 ms frame of X with Y delayed by
    LAG (the last frame's tail, past the end of Y, is left out): a frame
    lost or decoded out of place shows here, not in the whole."""
    worst = 1.0
    for k in range(frames):
        end = min((k + 1) * FRAME_SAMPLES, len(y) - lag)
        worst = min(worst, normalized(x, y, k * FRAME_SAMPLES, end, lag))
    return worst


def verify():
    with open(os.path.join(OUT, 'central.json'), encoding='utf-8') as f:
        report = json.load(f)
    for ear in EARS:
        r = report[ear]
        with open(os.path.join(OUT, ear + '.jsonl'), encoding='utf-8') as f:
            events = [json.loads(line) for line in f]
        sdus = [e for e in events if e['ev'] == 'sdu']
        got = [(e['seq'], e['len'], e['payload']) for e in sdus]
        want = [(s['seq'], 1 + len(s['payload']) // 2, s['payload'])
                for s in r['sent']]
        if got != want:
            fail('%s: %d SDUs recorded, %d sent, or they differ' %
                 (ear, len(got), len(want)))
        acp = [e for e in events if e['ev'] == 'acp']
        ops = [e['op'] for e in acp]
        want_ops = ['start', 'status', 'stop'] if ear == 'left' else \
            ['start', 'stop']
        if ops != want_ops:
            fail('%s: AudioControlPoint writes %s, not %s' %
                 (ear, ops, want_ops))
        s = acp[0]
        other = 0 if ear == 'left' else 1
        if (s['raw'], s['codec'], s['audio_type'], s['volume'],
                s['other_state'], s['valid'], s['answer']) != \
                (r['starts'][0], 1, 3, START_VOLUME, other, True, 'ok'):
            fail('%s: Start recorded as %s' % (ear, s))
        if ear == 'left' and (acp[1]['status'], acp[1]['valid']) != (2, True):
            fail('left: Status recorded as %s' % acp[1])
        vols = [e['volume'] for e in events if e['ev'] == 'volume']
        if vols != [VOLUME]:
            fail('%s: Volume writes recorded %s, not [%d]' %
                 (ear, vols, VOLUME))
        if not any(e['ev'] == 'subscribed' and e['notify'] for e in events):
            fail('%s: no AudioStatus subscription recorded' % ear)
        opens = [e for e in events if e['ev'] == 'coc_open']
        if len(opens) != 1 or opens[0]['peer_mtu'] != 167:
            fail('%s: CoC opens recorded: %s' % (ear, opens))
        with wave.open(os.path.join(OUT, ear + '.wav'), 'rb') as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != \
                    (1, 2, RATE):
                fail('%s.wav is not mono s16 16 kHz' % ear)
            raw = w.readframes(w.getnframes())
        decoded = list(struct.unpack('<%dh' % (len(raw) // 2), raw))
        frames = report['frames']
        if len(decoded) != frames * FRAME_SAMPLES:
            fail('%s.wav: %d samples, not %d' %
                 (ear, len(decoded), frames * FRAME_SAMPLES))
        mine = tone(ear, frames * FRAME_SAMPLES)
        c, lag = correlation(mine, decoded)
        per_frame = worst_frame(mine, decoded, lag, frames)
        other_c, _ = correlation(
            tone('right' if ear == 'left' else 'left',
                 frames * FRAME_SAMPLES), decoded)
        print('smoke-central: %s: %d SDUs as sent, Start %s, decoded '
              'correlation %.3f with its tone (delay %d samples, worst '
              'frame %.3f), %.3f with the other ear\'s' %
              (ear, len(got), s['raw'], c, lag, per_frame, other_c),
              flush=True)
        if c < MIN_CORRELATION or per_frame < MIN_CORRELATION:
            fail('%s: decoded audio correlates %.3f with its tone, %.3f '
                 'in its worst frame' % (ear, c, per_frame))
        if other_c >= MIN_CORRELATION:
            fail('%s: decoded audio is the other ear\'s tone' % ear)


def main(argv):
    p = argparse.ArgumentParser(description='ASHA smoke-test central')
    sub = p.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('--hci', default=os.environ.get(
        'TTWS_ASHA_SOCKET', 'unix:/bt/bt-server-le'))
    r.add_argument('--left', required=True)
    r.add_argument('--right', required=True)
    r.add_argument('--frames', type=int, default=25)
    t = sub.add_parser('starts')
    t.add_argument('--hci', default=os.environ.get(
        'TTWS_ASHA_SOCKET', 'unix:/bt/bt-server-le'))
    t.add_argument('--left', required=True)
    t.add_argument('--right', required=True)
    d = sub.add_parser('drop')
    d.add_argument('--hci', default=os.environ.get(
        'TTWS_ASHA_SOCKET', 'unix:/bt/bt-server-le'))
    d.add_argument('--left', required=True)
    d.add_argument('--right', required=True)
    d.add_argument('--peer-pid', type=int, required=True)
    sub.add_parser('verify')
    args = p.parse_args(argv)
    if args.cmd == 'drop':
        asyncio.run(asyncio.wait_for(drop(args), 60))
        return 0
    if args.cmd == 'verify':
        verify()
        return 0
    if args.cmd == 'starts':
        asyncio.run(asyncio.wait_for(starts(args), 60))
        return 0
    if not 1 <= args.frames <= 3000:
        p.error('--frames: 1-3000')
    asyncio.run(asyncio.wait_for(run(args), 60))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
