"""Checks pitwall's bridge and ingest server with Python's grpcio and protobuf.

Usage: bridge_grpcio.py STUBS_DIR SERVER_ADDR RECORDING REPLAYED

STUBS_DIR holds the stubs grpcio-tools generated from proto/telemetry/v1/telemetry.proto;
SERVER_ADDR is a running `pitwall serve`; RECORDING is what `pitwall bridge --source sim
--no-server --duration 2` wrote, REPLAYED what `pitwall bridge --source replay:RECORDING` wrote
while streaming it to the server.

The last line is `bridge grpcio: N passed, M failed`; the exit status is non-zero on failure.
"""

from __future__ import annotations

import gzip
import sys
import uuid
import zlib

from google.protobuf.internal.decoder import _DecodeVarint32

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def read_frames(path):
    """The seed README's reader: gzip, a varint length, TelemetryFrame.FromString."""
    data = gzip.open(path, "rb").read()
    pos = 0
    frames = []
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        frames.append(pb.TelemetryFrame.FromString(data[pos : pos + size]))
        pos += size
    return frames


def gzip_members(path):
    """Number of gzip members in the file, each complete (CRC and length checked by zlib)."""
    data = open(path, "rb").read()
    members = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data)
        if not d.eof:
            raise EOFError(f"member {members} is torn")
        members += 1
        data = d.unused_data
    return members


def check_recording(path):
    frames = read_frames(path)
    # 2 s at 333 Hz.
    check("the recording holds about two seconds of frames", 600 <= len(frames) <= 700, len(frames))
    sessions = {f.session_id for f in frames}
    check("one session", len(sessions) == 1, sessions)
    sid = frames[0].session_id
    check("the session id is 16 bytes", len(sid) == 16, sid)
    check("the session id is a UUIDv7", uuid.UUID(bytes=bytes(sid)).version == 7, sid.hex())
    check("seq runs 0, 1, 2, … without gaps", [f.seq for f in frames] == list(range(len(frames))))
    check("the first frame carries the session metadata", frames[0].HasField("session"))
    meta = frames[0].session
    check("metadata: the simulator's track", meta.track == "pitwall_ring", meta.track)
    check("metadata: the simulator's driver", meta.player_name == "Jürgen", meta.player_name)
    check("metadata: who produced it", meta.source.startswith("pitwall-bridge") and "(sim)" in meta.source, meta.source)
    check("metadata: max rpm", meta.max_rpm == 9250, meta.max_rpm)
    check("no other frame carries metadata", not any(f.HasField("session") for f in frames[1:]))
    ids = [f.physics_packet_id for f in frames]
    check("physics packetIds increase", all(b > a for a, b in zip(ids, ids[1:])))
    missed = sum(f.missed_steps for f in frames[1:])
    check(
        "frames plus missed steps account for every packetId",
        ids[-1] - ids[0] + 1 == len(frames) + missed,
        (ids[0], ids[-1], len(frames), missed),
    )
    mono = [f.mono_time_ns for f in frames]
    check("monotonic time increases", all(b > a for a, b in zip(mono, mono[1:])))
    check("wall time is plausible (after 2020)", frames[0].wall_time_ns > 1_577_836_800 * 10**9)
    check(
        "values are the engineers' (gear -1..8, speed >= 0, four tyre pressures)",
        all(-1 <= f.gear <= 8 and f.speed_kmh >= 0 and f.HasField("tyre_pressure_psi") for f in frames),
    )
    return frames


def check_replay(addr, frames, replayed_path):
    replayed = read_frames(replayed_path)
    check(
        "a replay records the same frames with the same ids",
        [(f.session_id, f.seq) for f in replayed] == [(f.session_id, f.seq) for f in frames],
    )
    with grpc.insecure_channel(addr) as channel:
        stub = pb_grpc.TelemetryIngestStub(channel)
        reply = stub.Resume(pb.ResumeRequest(session_ids=[frames[0].session_id]), timeout=10)
        check(
            "the server holds every replayed frame (Resume)",
            len(reply.sessions) == 1 and reply.sessions[0].next_seq == len(frames),
            reply,
        )


def frame(sid, seq):
    f = pb.TelemetryFrame(session_id=sid, seq=seq, speed_kmh=100.0 + seq % 50, gear=3, rpm=6000)
    f.tyre_pressure_psi.fl, f.tyre_pressure_psi.fr, f.tyre_pressure_psi.rl, f.tyre_pressure_psi.rr = 27, 27, 26, 26
    if seq == 0:
        f.session.track = "ks_vallelunga"
        f.session.source = "python grpcio"
    return f


def stream(stub, sid, seqs):
    """One StreamFrames call; returns the acks for `sid` and the final status code."""
    acks = []
    try:
        for ack in stub.StreamFrames(iter([frame(sid, s) for s in seqs]), timeout=30):
            check_ok = ack.session_id == sid
            if not check_ok:
                return acks, "ack for another session"
            acks.append(ack.next_seq)
        return acks, grpc.StatusCode.OK
    except grpc.RpcError as e:
        return acks, e.code()


def check_python_client(addr):
    sid = uuid.uuid4().bytes
    with grpc.insecure_channel(addr) as channel:
        stub = pb_grpc.TelemetryIngestStub(channel)
        reply = stub.Resume(pb.ResumeRequest(session_ids=[sid]), timeout=10)
        check("a new session resumes from 0", reply.sessions[0].next_seq == 0, reply)
        acks, code = stream(stub, sid, range(2000))
        check("a Python stream ends OK", code == grpc.StatusCode.OK, code)
        check("acks are cumulative and never go back", acks == sorted(acks) and len(acks) >= 1, acks[:10])
        check("the last ack covers every frame", acks and acks[-1] == 2000, acks[-1:] if acks else acks)
        # Resending an acked range with new frames after it: acked as a whole, stored once.
        acks, code = stream(stub, sid, range(1900, 2100))
        check("duplicates are accepted and acked past them", code == grpc.StatusCode.OK and acks[-1] == 2100, (code, acks[-1:]))
        reply = stub.Resume(pb.ResumeRequest(session_ids=[sid]), timeout=10)
        check("Resume tells the durable point", reply.sessions[0].next_seq == 2100, reply)
        acks, code = stream(stub, sid, [2105])
        check("a gap is refused with FAILED_PRECONDITION", code == grpc.StatusCode.FAILED_PRECONDITION, code)


def main():
    global pb, pb_grpc, grpc
    stubs, addr, recording, replayed = sys.argv[1:5]
    sys.path.insert(0, stubs)
    import grpc as grpc_module
    from telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc

    grpc, pb, pb_grpc = grpc_module, telemetry_pb2, telemetry_pb2_grpc
    members = gzip_members(recording)
    check("the recording is complete gzip members, about one per second", 2 <= members <= 4, members)
    frames = check_recording(recording)
    check_replay(addr, frames, replayed)
    check_python_client(addr)
    print(f"bridge grpcio: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
