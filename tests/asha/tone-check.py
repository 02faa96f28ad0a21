#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""How much of a decoded ASHA recording is the tone ttwsd sent (issue 15).

    tone-check.py WAV HZ [OTHER_HZ] [--frames FIRST END]

WAV: what asha-peer.py decoded for one aid with Bumble's own G.722 decoder
(mono, s16le, 16 kHz; silence where a sequence number was missing). The
phase of ttwsd's tone at the aid's first frame is unknown, so the tone is
fitted with both quadratures over each 20 ms frame that is not silence:

    c = |<x, e^(jwt)>| / (|x| |e^(jwt)| / sqrt(2))

which is the normalized correlation with the best-phased sine of HZ (1.0:
x is exactly that sine). Prints one JSON line: frames (not silent),
silent, corr (over all non-silent frames together, per-frame phase), worst
(the lowest frame), other (the same against OTHER_HZ, which must be low:
the ears were not swapped). --frames: only frames FIRST..END-1 (20 ms
each, from the file's start). Pure Python: no numpy on the host.
"""

import json
import math
import struct
import sys
import wave

RATE = 16000
FRAME = 320  # 20 ms


def frame_fit(x, hz):
    """(|<x, sin>|^2 + |<x, cos>|^2), |x|^2 and |sin|^2 for one frame."""
    w = 2 * math.pi * hz / RATE
    s = c = 0.0
    for i, v in enumerate(x):
        s += v * math.sin(w * i)
        c += v * math.cos(w * i)
    return s * s + c * c, sum(v * v for v in x), len(x) / 2.0


def main(argv):
    first, end = 0, None
    if '--frames' in argv:
        k = argv.index('--frames')
        first, end = int(argv[k + 1]), int(argv[k + 2])
        argv = argv[:k] + argv[k + 3:]
    path, hz = argv[1], float(argv[2])
    other_hz = float(argv[3]) if len(argv) > 3 else None
    with wave.open(path, 'rb') as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != \
                (1, 2, RATE):
            print('tone-check: %s is not mono s16 16 kHz' % path,
                  file=sys.stderr)
            return 1
        raw = w.readframes(w.getnframes())
    x = struct.unpack('<%dh' % (len(raw) // 2), raw)
    frames = silent = 0
    num = den = onum = 0.0
    worst = 1.0
    for k in range(first, min(len(x) // FRAME, end or len(x) // FRAME)):
        f = x[k * FRAME:(k + 1) * FRAME]
        if max(abs(v) for v in f) < 64:
            silent += 1
            continue
        p, e, n = frame_fit(f, hz)
        frames += 1
        num += math.sqrt(p)
        den += math.sqrt(e * n)
        worst = min(worst, math.sqrt(p / (e * n)) if e else 0.0)
        if other_hz:
            onum += math.sqrt(frame_fit(f, other_hz)[0])
    out = {
        'frames': frames,
        'silent': silent,
        'corr': round(num / den, 4) if den else 0.0,
        'worst': round(worst, 4) if frames else 0.0,
    }
    if other_hz:
        out['other'] = round(onum / den, 4) if den else 0.0
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
