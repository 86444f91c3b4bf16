"""The baseline of the ACSP decode benchmark: acudpclient 1.1.0 (PyPI), the Python plugin client
a user would otherwise run, decoding a raw ACSP capture (datagrams concatenated) the way it reads
its socket: as one byte stream, through ACUDPPacket.factory on a buffered file.

Usage: acsp_acudpclient.py CAPTURE [--json]

Without --json it decodes only (the least the Python side can do, the strictest baseline); with
--json it also prints every event as one JSON object per line, the work `pitwall acsp decode
--json` does. The event count goes to stderr, for the caller to check against pitwall's.
"""

import io
import json
import sys

# acudpclient.client never imports the packet classes, and the factory finds them through
# ACUDPPacket.__subclasses__(): without this import every message is "not implemented".
import acudpclient.packets  # noqa: F401
from acudpclient.packet_base import ACUDPPacket, ACUDPPacketData


def plain(value):
    """An acudpclient attribute as JSON data: vectors are tuples, leaderboards lists of objects."""
    if isinstance(value, ACUDPPacketData):
        return {name: plain(getattr(value, name)) for name, _ in type(value)._bytes}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main():
    path = sys.argv[1]
    as_json = "--json" in sys.argv[2:]
    with open(path, "rb") as f:
        size = len(f.read())
    events = 0
    out = sys.stdout
    with io.open(path, "rb", buffering=1 << 16) as stream:
        while stream.tell() < size:
            event = ACUDPPacket.factory(stream)
            events += 1
            if as_json:
                fields = {name: plain(getattr(event, name)) for name, _ in type(event)._bytes}
                fields["type"] = event.packet_name()
                out.write(json.dumps(fields))
                out.write("\n")
    out.flush()
    print(f"{events} events", file=sys.stderr)


if __name__ == "__main__":
    main()
