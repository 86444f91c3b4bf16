"""A plugin behind `pitwall relay`: acudpclient 1.1.0 (PyPI), an independent implementation,
as the third plugin of the relay's end-to-end test (crates/cli/tests/it/relay.rs runs it; it is
not an interop check of its own, so scripts/test does not run it directly).

Usage: relay_acudpclient.py <listen port> <relay reply port> <seconds> <car id>

It listens on the port, prints `ready`, asks the current session at once and the car's info
after a second, reads every event for the given seconds, then prints one JSON object:
  names      the name of every event that is not a car update, in order
  updates    car updates per car id
  car_info   car ids of the CAR_INFO events it got
  errors     events it could not parse (acudpclient's exceptions)
"""

import json
import select
import sys
import time

import acudpclient.client
# acudpclient.client never imports the packet classes, and its factory finds them through
# ACUDPPacket.__subclasses__(): without this import no event type is known.
import acudpclient.packets  # noqa: F401

port, reply, seconds, car = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])

client = acudpclient.client.ACUDPClient(port=port, host="127.0.0.1", remote_port=reply)
client.listen()
print("ready", flush=True)
client.get_session_info(-1)

names, updates, car_info, errors = [], {}, [], []
start = time.monotonic()
asked = False
while (left := start + seconds - time.monotonic()) > 0:
    if not asked and time.monotonic() - start >= 1.0:
        client.get_car_info(car)
        asked = True
    # acudpclient reads its socket through a non-blocking buffered file and raises TypeError
    # when nothing is there: parse only once a datagram is readable (or still buffered).
    readable, _, _ = select.select([client.sock], [], [], min(left, 0.05))
    if not readable:
        continue
    try:
        # call_subscribers=True fails on Python 3 (dict.itervalues).
        event = client.get_next_event(call_subscribers=False)
    except Exception as e:  # noqa: BLE001 - every parse failure is reported, none stops us
        errors.append(f"{type(e).__name__}: {e}")
        continue
    if event is None:
        continue
    name = event.packet_name()
    if name == "ACSP_CAR_UPDATE":
        updates[str(event.car_id)] = updates.get(str(event.car_id), 0) + 1
    else:
        names.append(name)
        if name == "ACSP_CAR_INFO":
            car_info.append(event.car_id)

print(json.dumps({"names": names, "updates": updates, "car_info": car_info, "errors": errors}), flush=True)
