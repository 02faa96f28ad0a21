# SPDX-License-Identifier: MIT
"""A third-party LE Secure Connections peer for ttws's own host: Google's
Bumble (bumble/smp.py, its own AES-CMAC and P-256) as an LE peripheral on
an emulated controller, for smp-bumble.sh.

    python3 smp-bumble-peer.py SOCKET KEYFILE PSM [legacy]

SOCKET: an H4 stream socket of a controller (btvirt's, through
hci-proxy). The peer advertises connectable from a static random
address, answers pairing as a device without input or output would
(Secure Connections, bonding, no MITM: Just Works; with "legacy", LE
legacy pairing only, which ttws must refuse), keeps its keys in KEYFILE
(Bumble's JSON key store), serves an L2CAP LE credit-based channel on
PSM and echoes every SDU. One JSON line per event on stdout.
"""
import asyncio
import json
import sys

from bumble import l2cap
from bumble.device import Device
from bumble.hci import Address
from bumble.keys import JsonKeyStore
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport import open_transport

# Static random: the two most significant bits set (Core 5.4, Vol 6,
# Part B, 1.3.2.1).
ADDRESS = 'C0:77:73:00:00:01'
LEGACY_ADDRESS = 'C0:77:73:00:00:02'


def say(**kw):
    print(json.dumps(kw), flush=True)


async def main(socket, keyfile, psm, legacy):
    address = LEGACY_ADDRESS if legacy else ADDRESS
    async with await open_transport('unix:' + socket) as (source, sink):
        device = Device.with_hci('ttws-bumble', Address(address), source,
                                 sink)
        device.keystore = JsonKeyStore(namespace=None, filename=keyfile)
        device.pairing_config_factory = lambda connection: PairingConfig(
            sc=not legacy, mitm=False, bonding=True,
            delegate=PairingDelegate(
                io_capability=PairingDelegate.NO_OUTPUT_NO_INPUT))

        def on_channel(channel):
            say(event='channel')

            def echo(sdu):
                channel.write(sdu)
            channel.sink = echo

        device.create_l2cap_server(
            spec=l2cap.LeCreditBasedChannelSpec(psm=psm, mtu=2048, mps=247,
                                                max_credits=8),
            handler=on_channel)

        def on_connection(connection):
            say(event='connection', peer=str(connection.peer_address))

            def on_pairing(keys):
                ltk = keys.ltk.value.hex() if keys.ltk else None
                say(event='paired', ltk=ltk,
                    authenticated=bool(keys.ltk and keys.ltk.authenticated))

            def on_failure(reason):
                say(event='pairing_failure', reason=int(reason))

            def on_encryption():
                say(event='encryption', encrypted=connection.is_encrypted)

            def on_disconnection(reason):
                say(event='disconnection', reason=int(reason))

            connection.on(connection.EVENT_PAIRING, on_pairing)
            connection.on(connection.EVENT_PAIRING_FAILURE, on_failure)
            connection.on(connection.EVENT_CONNECTION_ENCRYPTION_CHANGE,
                          on_encryption)
            connection.on(connection.EVENT_DISCONNECTION, on_disconnection)

        device.on(device.EVENT_CONNECTION, on_connection)
        await device.power_on()
        await device.start_advertising(auto_restart=True)
        say(event='ready', address=address)
        await asyncio.get_running_loop().create_future()


if __name__ == '__main__':
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3], 0),
                     len(sys.argv) > 4 and sys.argv[4] == 'legacy'))
