#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Two ASHA hearing aids played by Google's Bumble, for ttws's tests.

Runs inside the Bumble root filesystem (bumble-root.sh) with its python3,
started by run-peer.sh. Each aid is a bumble.device.Device on its own
controller (by default a new connection to BlueZ's emulator, btvirt -s:
every connection to its server socket is a new emulated controller, and
Bumble speaks H4 over it) serving Bumble's own ASHA service,
bumble.profiles.asha.AshaService (0.0.236: ReadOnlyProperties,
AudioControlPoint, AudioStatus, Volume, LE_PSM_OUT, and an LE credit-based
channel server on a dynamic PSM). Left has capability 0x02 (binaural,
left), right 0x03 (binaural, right), both the same HiSyncId (ASHA spec,
"ReadOnlyProperties"; source.android.com, Bluetooth, ASHA).

What each aid does is written as JSON lines to OUT/EAR.jsonl, one object
per event, each with "t_ns" (CLOCK_MONOTONIC, ns: the host's clock, the
chroot shares the kernel) and "ev":
  ready       address, address_type, psm, capability, hisyncid, bumble
  connected   peer, handle, role ("peripheral": a central; "central": a
              link this aid made itself, --take-handles)
  att_mtu     mtu
  subscribed  notify, indicate (the AudioStatus CCCD)
  acp         an AudioControlPoint write: op (start/stop/status/unknown),
              raw (hex), valid (the spec's lengths and values), codec,
              audio_type, volume (int8), other_state (start), status
              (status), answer ("ok": AudioStatus 0 notified, "none":
              nothing notified (Status, or --start-answer none), or the
              AudioStatus sent: -1 unknown command, -2 illegal
              parameters)
  volume      volume (int8), raw
  coc_open    psm, mtu, mps, peer_mtu, peer_mps, credits, peer_credits
  sdu         seq (the first octet), len (octets, with seq), payload
              (hex, the octets after seq)
  coc_close, disconnected (reason), drop (this aid ends its link), wav,
  hold_credits (seconds), release_credits (credits): --hold-credits;
  conn_update (error): --update-conn
Every SDU's audio is decoded with Bumble's G.722 decoder
(bumble.decoder.G722Decoder, 64 kbit/s, 16 kHz) into OUT/EAR.wav when the
peer ends (not while it runs: the pure-Python decoder takes ~2.5 ms per
20 ms frame here, which would disturb arrival times): mono, 16 kHz,
s16le, the decoder reset at each Start (answered or not), silence for
missing sequence numbers (gaps of 1-64). `asha-peer.py decode EAR.jsonl
OUT.wav` does the same from a record.

When every aid is advertising, OUT/ready.json holds their ready objects
and "asha-peer: ready" goes to stdout. SIGTERM/SIGINT: each aid ends its
links (HCI Disconnect), the WAV files are written, exit 0. SIGUSR1 /
SIGUSR2: the left / right aid ends its link to the central (reason 0x13)
and stays silent for --drop-for seconds before advertising again.

Options for failure tests (EAR: prefix = that aid only):
  --start-answer [EAR:]MODE  answer Start with ok (Bumble's own), none
                             (never answer, do not start), unknown-command
                             (AudioStatus -1) or illegal-parameters (-2)
  --start-answer-times N     only the first N Starts get MODE, then ok
  --strict                   answer malformed writes as the spec says
                             (Bumble answers every write with OK)
  --take-handles [EAR:]N     see Aid.take_handles (btvirt's handle bug)
  --hold-credits [EAR:]S+D   see Aid.hold_credits (a congested aid)
  --update-conn [EAR:]S      see Aid.update_conn (new connection parameters)
"""

import argparse
import asyncio
import json
import os
import signal
import struct
import sys
import time
import traceback
import wave

from bumble import hci
from bumble import l2cap
from bumble.device import Device
from bumble.decoder import G722Decoder
from bumble.profiles import asha
from bumble.transport import open_transport

try:
    from bumble import __version__ as BUMBLE_VERSION
except ImportError:  # pragma: no cover (older layouts)
    BUMBLE_VERSION = 'unknown'

EARS = ('left', 'right')
# ASHA spec, ReadOnlyProperties, DeviceCapabilities: bit 0 side (0 left,
# 1 right), bit 1 binaural; so 0x02 left, 0x03 right.
CAPABILITY = {'left': asha.DeviceCapabilities.IS_DUAL,
              'right': asha.DeviceCapabilities.IS_DUAL
              | asha.DeviceCapabilities.IS_RIGHT}
# The AudioStatus values (ASHA spec, AudioStatusPoint; int8).
ANSWERS = {'ok': 0, 'unknown-command': -1, 'illegal-parameters': -2}
# HCI Disconnect reason: Remote User Terminated Connection (Core 5.4,
# Vol 1, Part F, 2.19).
REASON_USER = 0x13
# Sequence gaps longer than this are a new stream, not lost frames.
MAX_GAP = 64


def now_ns():
    return time.monotonic_ns()


def int8(octet):
    return octet - 256 if octet > 127 else octet


class ClippingG722Decoder(G722Decoder):
    """Bumble's G.722 decoder with its output limited to 16 bits.

    0.0.236's update_decoded_result() converts xout >> 11 to two octets
    without limiting it and raises OverflowError when a frame (random
    octets, a corrupt stream) drives the QMF past 16 bits; G.722's
    decoder output is a 16-bit sample, so this clips as a fixed-point
    decoder would. Only that one step is changed."""

    LIMIT = 32767 << 11

    def update_decoded_result(self, xout, byte_length, byte_array):
        xout = max(-self.LIMIT - (1 << 11), min(self.LIMIT, xout))
        return super().update_decoded_result(xout, byte_length, byte_array)


def write_wav(path, frames):
    """Decodes FRAMES (a list of (stream, seq, payload bytes), in arrival
    order) into a 16 kHz mono s16le WAV at PATH. Returns a summary."""
    decoder = None
    stream = prev = None
    samples = gaps = 0
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for s, seq, payload in frames:
            if s != stream:
                decoder = ClippingG722Decoder()
                stream, prev = s, None
            elif prev is not None:
                gap = (seq - prev - 1) & 0xFF
                if 0 < gap <= MAX_GAP:
                    # G.722 at 64 kbit/s: two 16 kHz samples per octet.
                    w.writeframes(bytes(gap * len(payload) * 4))
                    samples += gap * len(payload) * 2
                    gaps += gap
            pcm = decoder.decode_frame(payload)
            w.writeframes(bytes(pcm))
            samples += len(pcm) // 2
            prev = seq
    return {'path': path, 'frames': len(frames), 'samples': samples,
            'missing': gaps}


class Recorder:
    """One aid's JSON-lines record, line-buffered so that a test reading
    it while the peer runs sees whole lines."""

    def __init__(self, path, ear):
        self.ear = ear
        self.f = open(path, 'w', buffering=1, encoding='utf-8')

    def write(self, ev, t_ns=None, **fields):
        if self.f.closed:  # a late event while the peer ends
            return None
        obj = {'t_ns': now_ns() if t_ns is None else t_ns, 'ear': self.ear,
               'ev': ev}
        obj.update(fields)
        self.f.write(json.dumps(obj, separators=(',', ':')) + '\n')
        return obj

    def close(self):
        self.f.close()


class RecordingAshaService(asha.AshaService):
    """Bumble's AshaService, every write recorded first.

    The answers stay Bumble's (its _on_audio_control_point_write sets its
    state and notifies AudioStatus with the characteristic's value) except
    where a test asks otherwise: for an error answer the value is set to
    the error before Bumble's handler notifies it; for "none" Bumble's
    handler is not called. Writes too short for Bumble's parser (it
    indexes value[1..4] unchecked) are not passed to it."""

    def __init__(self, aid, **kwargs):
        self.aid = aid
        super().__init__(**kwargs)

    @staticmethod
    def parse(value):
        """The fields of an AudioControlPoint write and whether the ASHA
        spec's lengths and values hold (Start: 5 octets, a codec of the
        bitmap, audio type 0-3, other state 0/1; Stop: 1; Status: 2 with
        1-3)."""
        if not value:
            return {'op': 'empty', 'valid': False}
        op = value[0]
        if op == asha.OpCode.START:
            f = {'op': 'start', 'valid': len(value) == 5}
            if len(value) >= 5:
                f.update(codec=value[1], audio_type=value[2],
                         volume=int8(value[3]), other_state=value[4])
                f['valid'] = (f['valid']
                              and asha.SupportedCodecs.G_722_16KHZ
                              & (1 << value[1]) != 0
                              and value[2] <= 3 and value[4] <= 1)
            return f
        if op == asha.OpCode.STOP:
            return {'op': 'stop', 'valid': len(value) == 1}
        if op == asha.OpCode.STATUS:
            f = {'op': 'status', 'valid': len(value) == 2}
            if len(value) >= 2:
                f['status'] = value[1]
                f['valid'] = f['valid'] and 1 <= value[1] <= 3
            return f
        return {'op': 'unknown', 'valid': False}

    async def _on_audio_control_point_write(self, connection, value):
        value = bytes(value)
        f = self.parse(value)
        bumble_can_parse = (
            (f['op'] == 'start' and len(value) >= 5)
            or (f['op'] == 'status' and len(value) >= 2)
            or f['op'] in ('stop', 'unknown'))
        if f['op'] == 'start':
            answer = self.aid.start_answer()
        else:
            answer = 'ok'
        if self.aid.args.strict and not f['valid']:
            answer = ('unknown-command' if f['op'] in ('unknown', 'empty')
                      else 'illegal-parameters')
        if not bumble_can_parse and answer == 'ok':
            answer = 'illegal-parameters'
        if f['op'] == 'status' and answer == 'ok':
            # Bumble sends no AudioStatus for Status (nor does the spec
            # ask for one).
            answer = 'none'
        self.aid.rec.write('acp', raw=value.hex(), answer=(
            answer if answer in ('ok', 'none') else ANSWERS[answer]), **f)
        if f['op'] == 'start':
            # A new stream for the WAV (decoder reset), whatever the
            # answer: what a central sends after a refused Start is
            # recorded and decoded too.
            self.aid.stream += 1
            if answer == 'none':
                return
        if f['op'] == 'status' and answer == 'none':
            # Bumble's handler, which notifies nothing for Status.
            await super()._on_audio_control_point_write(connection, value)
            return
        self.audio_status_characteristic.value = bytes(
            [ANSWERS.get(answer, 0) & 0xFF])
        if bumble_can_parse and f['op'] != 'status':
            await super()._on_audio_control_point_write(connection, value)
        else:
            # An error Bumble would not send (it notifies nothing for
            # Status, and cannot parse a short write): sent here.
            await self.device.notify_subscribers(
                self.audio_status_characteristic, force=True)

    def _on_volume_write(self, connection, value):
        value = bytes(value)
        self.aid.rec.write('volume', raw=value.hex(),
                           volume=int8(value[0]) if value else None,
                           valid=len(value) == 1)
        if value:
            super()._on_volume_write(connection, value)

    def _on_connection(self, channel):
        super()._on_connection(channel)
        self.aid.rec.write(
            'coc_open', psm=channel.psm, mtu=channel.mtu, mps=channel.mps,
            peer_mtu=channel.peer_mtu, peer_mps=channel.peer_mps,
            credits=channel.credits, peer_credits=channel.peer_credits,
            handle=channel.connection.handle)
        channel.on('close', lambda: self.aid.rec.write('coc_close'))
        update = self.aid.opt(self.aid.args.update_conn, '')
        if update:
            asyncio.get_running_loop().call_later(
                float(update), lambda: asyncio.ensure_future(
                    self.aid.update_conn(channel.connection)))
        hold = self.aid.opt(self.aid.args.hold_credits, '')
        if hold:
            start_s, _, for_s = hold.partition('+')
            self.aid.hold_credits(channel, float(start_s), float(for_s))


class Aid:
    """One hearing aid: its controller, device, service and record."""

    def __init__(self, ear, args, hisyncid):
        self.ear = ear
        self.args = args
        self.hisyncid = hisyncid
        self.rec = Recorder(os.path.join(args.out, ear + '.jsonl'), ear)
        self.frames = []          # (stream, seq, payload) for the WAV
        self.stream = 0           # Starts answered OK so far
        self.starts = 0           # Starts seen
        self.transports = []
        self.silent_until = 0.0   # monotonic s: no advertising before
        self.closing = False
        self.device = None
        self.service = None
        self.ready = None
        self.adv_task = None

    async def update_conn(self, connection):
        """Asks the central for a 15 ms connection interval (the link
        layer's Connection Parameters Request, through the controller), as
        an aid that wants to save power might. Records conn_update (error,
        or none)."""
        err = None
        try:
            await connection.update_parameters(15, 15, 0, 2000)
        except Exception as e:  # pylint: disable=broad-except
            err = repr(e)
        self.rec.write('conn_update', error=err)

    def hold_credits(self, channel, start_s, for_s):
        """From START_S after the channel opened, for FOR_S seconds, this
        aid gives the central no credit back (an aid whose buffer or radio
        falls behind): the LE Flow Control Credit frames Bumble would send
        are held, and their sum sent when the time is up. Records
        hold_credits and release_credits (credits)."""
        state = {'holding': False, 'owed': 0}
        send = channel.send_control_frame

        def held_send(frame):
            if state['holding'] and \
                    isinstance(frame, l2cap.L2CAP_LE_Flow_Control_Credit):
                state['owed'] += frame.credits
                return
            send(frame)

        def begin():
            state['holding'] = True
            self.rec.write('hold_credits', seconds=for_s)

        def end():
            state['holding'] = False
            self.rec.write('release_credits', credits=state['owed'])
            if state['owed'] and \
                    channel.state == channel.State.CONNECTED:
                send(l2cap.L2CAP_LE_Flow_Control_Credit(
                    identifier=channel.manager.next_identifier(
                        channel.connection),
                    cid=channel.source_cid, credits=state['owed']))
            state['owed'] = 0

        channel.send_control_frame = held_send
        loop = asyncio.get_running_loop()
        loop.call_later(start_s, begin)
        loop.call_later(start_s + for_s, end)

    def opt(self, values, default):
        """The value of an EAR:-prefixable option for this aid."""
        out = default
        for v in values or ():
            ear, sep, rest = v.rpartition(':')
            if not sep or ear == self.ear:
                out = rest
        return out

    def start_answer(self):
        self.starts += 1
        mode = self.opt(self.args.start_answer, 'ok')
        times = self.args.start_answer_times
        if times and self.starts > times:
            return 'ok'
        return mode

    def on_sdu(self, sdu):
        t = now_ns()
        if not sdu:
            self.rec.write('sdu', t_ns=t, seq=None, len=0, payload='')
            return
        self.rec.write('sdu', t_ns=t, seq=sdu[0], len=len(sdu),
                       payload=sdu[1:].hex())
        self.frames.append((self.stream, sdu[0], bytes(sdu[1:])))

    def on_connection(self, connection):
        role = ('central' if connection.role == hci.Role.CENTRAL
                else 'peripheral')
        self.rec.write('connected', peer=str(connection.peer_address),
                       handle=connection.handle, role=role)
        connection.on('disconnection',
                      lambda reason: self.on_disconnection(connection,
                                                           reason))
        connection.on('connection_att_mtu_update',
                      lambda: self.rec.write('att_mtu',
                                             mtu=connection.att_mtu))

    def on_disconnection(self, connection, reason):
        self.rec.write('disconnected', handle=connection.handle,
                       reason=int(reason))
        if connection.role == hci.Role.PERIPHERAL and not self.closing:
            self.advertise_later()

    def advertise_later(self):
        if self.adv_task and not self.adv_task.done():
            return
        self.adv_task = asyncio.ensure_future(self.advertise_after_silence())

    async def advertise_after_silence(self):
        delay = self.silent_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if not self.closing:
            await self.advertise()

    def advertising_data(self):
        """Flags (LE General Discoverable, no BR/EDR), the ASHA service
        UUID and Bumble's ASHA service data (version, capability,
        HiSyncId's first four octets); the name goes in the scan response
        (31 octets each at most: Core 5.4, Vol 3, Part C, 11)."""
        ad = (bytes([2, 0x01, 0x06])
              + bytes([3, 0x03]) + struct.pack('<H', 0xFDF0)
              + self.service.get_advertising_data())
        name = self.device.name.encode()[:29]
        return ad, bytes([len(name) + 1, 0x09]) + name

    async def advertise(self):
        ad, scan_response = self.advertising_data()
        await self.device.start_advertising(
            own_address_type=self.own_address_type(),
            advertising_data=ad, scan_response_data=scan_response,
            auto_restart=False)

    def own_address_type(self):
        return (hci.OwnAddressType.RANDOM if self.args.random_address
                else hci.OwnAddressType.PUBLIC)

    async def open_device(self, name, index):
        transport = await open_transport(self.args.hci)
        self.transports.append(transport)
        # A random static address (top bits 11) per device, used when
        # --random-address; otherwise the controller's public address.
        address = hci.Address('F0:00:00:00:%02X:%02X' % (
            EARS.index(self.ear) + 1, index))
        device = Device.with_hci(name, address, transport.source,
                                 transport.sink)
        return device

    async def open(self):
        self.device = await self.open_device('ttws-asha-' + self.ear, 0)
        self.device.on('connection', self.on_connection)
        self.service = RecordingAshaService(
            self, capability=CAPABILITY[self.ear], hisyncid=self.hisyncid,
            device=self.device, psm=self.args.psm, audio_sink=self.on_sdu,
            render_delay_milliseconds=self.args.render_delay_ms)
        self.device.add_service(self.service)
        self.service.audio_status_characteristic.on(
            'subscription',
            lambda bearer, notify, indicate: self.rec.write(
                'subscribed', notify=bool(notify), indicate=bool(indicate)))
        await self.device.power_on()
        await self.take_handles(int(self.opt(self.args.take_handles, '0')))
        await self.advertise()
        if self.args.random_address:
            address, kind = self.device.random_address, 'random'
        else:
            address, kind = self.device.public_address, 'public'
        self.ready = self.rec.write(
            'ready', address=str(address).split('/')[0], address_type=kind,
            psm=self.service.psm, capability=int(CAPABILITY[self.ear]),
            hisyncid=self.hisyncid.hex(), bumble=BUMBLE_VERSION,
            render_delay_ms=self.args.render_delay_ms)

    async def take_handles(self, n):
        """Makes N links from this aid's controller to spare controllers
        of the same emulator before it advertises.

        btvirt (BlueZ 5.66, and master of 2026: emulator/btdev.c
        conn_link(), le_conn_complete(), send_acl()) numbers a link on
        each controller from the lowest free handle (0x002A up), reports
        the central's number to both ends and forwards ACL headers
        unchanged. A central's second link is 0x002B on its controller
        but 0x002A on a fresh peripheral's, which then drops what its
        host sends on the reported 0x002B. With N links of its own first,
        this aid's next link is numbered 0x002A + N here too: give the
        aid that will be a single central controller's (N+1)-th link N.
        A central with one controller per aid needs none."""
        for i in range(n):
            spare = await self.open_device('ttws-spare-%s-%d' % (self.ear, i),
                                           i + 1)
            await spare.power_on()
            await spare.start_advertising(
                own_address_type=hci.OwnAddressType.PUBLIC,
                advertising_data=bytes([2, 0x01, 0x06]))
            await self.device.connect(
                spare.public_address,
                own_address_type=hci.OwnAddressType.PUBLIC, timeout=10)

    async def drop(self):
        """Ends the link(s) to the central and stays silent for
        --drop-for seconds (a hearing aid taken out of the ear)."""
        self.silent_until = time.monotonic() + self.args.drop_for
        centrals = [c for c in self.device.connections.values()
                    if c.role == hci.Role.PERIPHERAL]
        self.rec.write('drop', links=len(centrals),
                       silent_s=self.args.drop_for)
        for c in centrals:
            try:
                await c.disconnect(REASON_USER)
            except Exception as e:  # a link that went meanwhile
                self.rec.write('error', what='disconnect', error=str(e))
        if not centrals:
            self.advertise_later()

    async def close(self):
        self.closing = True
        if self.adv_task:
            self.adv_task.cancel()
        if self.device:
            # The links to a central, all at once, a second at most: one
            # whose central's controller is gone is no longer in btvirt
            # (it answers Unknown Connection Identifier). The spare links
            # go with their controllers.
            links = [c.disconnect(REASON_USER)
                     for c in self.device.connections.values()
                     if c.role == hci.Role.PERIPHERAL]
            if links:
                try:
                    await asyncio.wait_for(
                        asyncio.gather(*links, return_exceptions=True), 1.0)
                except TimeoutError:
                    pass
        for t in self.transports:
            try:
                await t.close()
            except Exception:
                pass

    def finish(self):
        if not self.args.no_wav:
            self.rec.write('wav', **write_wav(
                os.path.join(self.args.out, self.ear + '.wav'), self.frames))
        self.rec.close()


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='Two ASHA hearing aids on Bumble (see the module doc).')
    p.add_argument('--hci', default=os.environ.get(
        'TTWS_ASHA_SOCKET', 'unix:/bt/bt-server-le'),
        help='Bumble transport of each controller (default: %(default)s)')
    p.add_argument('--ears', default='left,right',
                   help='left,right (default), left or right')
    p.add_argument('--hisyncid', default='7477730000001500',
                   help='HiSyncId, 8 octets in hex (default %(default)s)')
    p.add_argument('--out', default='/out', help='record folder')
    p.add_argument('--psm', type=int, default=0,
                   help='LE_PSM_OUT (default: a free dynamic one)')
    p.add_argument('--render-delay-ms', type=int, default=40,
                   help='RenderDelay in ReadOnlyProperties (ms)')
    p.add_argument('--start-answer', action='append',
                   help='[EAR:]ok|none|unknown-command|illegal-parameters')
    p.add_argument('--start-answer-times', type=int, default=0,
                   help='only the first N Starts get --start-answer')
    p.add_argument('--strict', action='store_true',
                   help='answer malformed writes with -1/-2')
    p.add_argument('--take-handles', action='append',
                   help='[EAR:]N spare links first (btvirt handle bug)')
    p.add_argument('--update-conn', action='append',
                   help='[EAR:]SECONDS after the audio channel opens, ask '
                   'for a 15 ms connection interval')
    p.add_argument('--hold-credits', action='append',
                   help='[EAR:]START+SECONDS: from START s after the audio '
                   'channel opens, give no credit back for SECONDS')
    p.add_argument('--drop-for', type=float, default=2.0,
                   help='seconds of silence after SIGUSR1/SIGUSR2')
    p.add_argument('--random-address', action='store_true',
                   help='advertise a random static address, not public')
    p.add_argument('--no-wav', action='store_true',
                   help='do not decode to WAV at the end')
    a = p.parse_args(argv)
    ears = a.ears.split(',')
    if not ears or any(e not in EARS for e in ears) or len(set(ears)) != \
            len(ears):
        p.error('--ears: left, right or left,right')
    a.ears = ears
    try:
        a.hisyncid = bytes.fromhex(a.hisyncid)
    except ValueError:
        p.error('--hisyncid: hex')
    if len(a.hisyncid) != 8:
        p.error('--hisyncid: 8 octets')
    for v in a.start_answer or ():
        ear, sep, mode = v.rpartition(':')
        if (sep and ear not in EARS) or mode not in ('ok', 'none',
                                                     *ANSWERS):
            p.error('--start-answer: [EAR:]ok|none|unknown-command|'
                    'illegal-parameters, not ' + v)
    for v in a.take_handles or ():
        ear, sep, n = v.rpartition(':')
        if (sep and ear not in EARS) or not n.isdigit() or int(n) > 8:
            p.error('--take-handles: [EAR:]N with N 0-8, not ' + v)
    # LE dynamic PSMs are 0x80-0xFF (Core 5.4, Vol 3, Part A, 4.22).
    if not (a.psm == 0 or 0x80 <= a.psm <= 0xFF) or \
            a.render_delay_ms not in range(0, 65536):
        p.error('--psm 0 or 128-255, --render-delay-ms 0-65535')
    if a.start_answer_times < 0 or a.drop_for < 0:
        p.error('--start-answer-times and --drop-for: not negative')
    return a


async def run(args):
    os.makedirs(args.out, exist_ok=True)
    aids = [Aid(ear, args, args.hisyncid) for ear in args.ears]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for sig, ear in ((signal.SIGUSR1, 'left'), (signal.SIGUSR2, 'right')):
        for aid in aids:
            if aid.ear == ear:
                loop.add_signal_handler(
                    sig, lambda a=aid: asyncio.ensure_future(a.drop()))
    rc = 0
    try:
        for aid in aids:
            await aid.open()
        tmp = os.path.join(args.out, '.ready.json')
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump({a.ear: a.ready for a in aids}, f)
        os.replace(tmp, os.path.join(args.out, 'ready.json'))
        print('asha-peer: ready', flush=True)
        await stop.wait()
    except Exception:
        traceback.print_exc()
        print('asha-peer: failed', file=sys.stderr)
        rc = 1
    for aid in aids:
        await aid.close()
    for aid in aids:
        aid.finish()
    return rc


def decode_main(argv):
    """asha-peer.py decode EAR.jsonl OUT.wav: the WAV from a record."""
    if len(argv) != 2:
        print('usage: asha-peer.py decode EAR.jsonl OUT.wav',
              file=sys.stderr)
        return 2
    frames, stream = [], 0
    with open(argv[0], encoding='utf-8') as f:
        for line in f:
            e = json.loads(line)
            if e.get('ev') == 'acp' and e.get('op') == 'start':
                stream += 1
            elif e.get('ev') == 'sdu' and e.get('len'):
                frames.append((stream, e['seq'],
                               bytes.fromhex(e['payload'])))
    print(json.dumps(write_wav(argv[1], frames)))
    return 0


def main(argv):
    if argv[:1] == ['decode']:
        return decode_main(argv[1:])
    return asyncio.run(run(parse_args(argv)))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
