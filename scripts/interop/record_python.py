"""Reads pitwall recordings with the original bridge's Python recipe (the seed README's reader:
gzip.open, a varint length read with protobuf's _DecodeVarint32, TelemetryFrame.FromString)
and compares every frame with what the Rust writer says it wrote.

Usage: record_python.py STUBS_DIR WORK_DIR SUMMARY_JSON

STUBS_DIR holds the Python stubs generated from proto/telemetry/v1/telemetry.proto
(telemetry/v1/telemetry_pb2.py); WORK_DIR holds sample.pb.gz and sample-truncated.pb.gz as
the record crate's write_sample example wrote them, and SUMMARY_JSON is what it printed.

Checks:
- the whole file: frame count, each frame's bytes (CRC-32, length, and re-serialised by Python
  protobuf to the same bytes), a dozen decoded field values, SessionMetadata on each session's
  first frame;
- each gzip member alone (gzip.decompress of the bytes the Rust index names) holds exactly its
  frames: the index's offsets are real member boundaries;
- the truncated copy and cuts of the file at other offsets: Python's gzip raises EOFError at
  the torn member; the frames read before it equal the Rust salvaging reader's count, and the
  file up to the Rust reader's damage offset reads cleanly, with exactly the frames the Rust
  reader reports complete.
The last line is `record python: N passed, M failed`; the exit status is non-zero on failure.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib

from google.protobuf.internal.decoder import _DecodeVarint32


def read_frames(path):
    """The seed's reader loop, yielding (encoded bytes, TelemetryFrame) per frame."""
    with gzip.open(path, "rb") as f:
        while True:
            head = f.read(1)
            if not head:
                return
            while head[-1] & 0x80:
                byte = f.read(1)
                if not byte:
                    raise EOFError("recording ends inside a frame's length")
                head += byte
            size, _ = _DecodeVarint32(head, 0)
            data = f.read(size)
            if len(data) != size:
                raise EOFError("recording ends inside a frame")
            yield data, TelemetryFrame.FromString(data)


def read_until_eof(path):
    """Frames of a possibly torn recording: those before the error, and whether one came.
    Python's gzip raises EOFError for a member torn anywhere but in its first two bytes; a
    single byte of a member's magic left it calls BadGzipFile."""
    frames = []
    try:
        for data, _ in read_frames(path):
            frames.append(data)
    except (EOFError, gzip.BadGzipFile):
        return frames, True
    return frames, False


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")


def compare_frame(checks, i, data, frame, want):
    got = {
        "session_id": frame.session_id.hex(),
        "seq": frame.seq,
        "crc32": zlib.crc32(data),
        "len": len(data),
        "wall_time_ns": frame.wall_time_ns,
        "physics_packet_id": frame.physics_packet_id,
        "speed_kmh": frame.speed_kmh,
        "rpm": frame.rpm,
        "gear": frame.gear,
        "throttle": frame.throttle,
        "tyre_pressure_psi_fl": frame.tyre_pressure_psi.fl,
        "tyre_pressure_psi_rr": frame.tyre_pressure_psi.rr,
        "position_m_x": frame.position_m.x,
        "tyre_contact_points": len(frame.tyre_contact_point_m),
        "tyre_compound": frame.tyre_compound,
        "car_model": frame.session.car_model if frame.HasField("session") else None,
        "max_rpm": frame.session.max_rpm if frame.HasField("session") else None,
    }
    diffs = [f"{k}: python {got[k]!r}, rust {want[k]!r}" for k in want if got[k] != want[k]]
    # Python's own encoding of what it decoded: the same bytes, so nothing was lost or misread.
    if frame.SerializeToString() != data:
        diffs.append("re-serialised bytes differ")
    checks.check(not diffs, f"frame {i}: " + "; ".join(diffs))


def check_cut(checks, full, cut, work):
    """A prefix of the recording, as a crash leaves it, read by Python and by Rust."""
    at = cut["at"]
    path = os.path.join(work, f"cut-{at}.pb.gz")
    with open(path, "wb") as f:
        f.write(full[:at])
    frames, eof = read_until_eof(path)
    torn = cut["damage_offset"] is not None
    checks.check(
        eof == torn,
        f"cut at {at}: python stopped early: {eof}, rust damage {cut['damage']!r}",
    )
    checks.check(
        len(frames) == cut["salvaged_frames"],
        f"cut at {at}: python read {len(frames)} frames before the end, "
        f"rust salvaging reader {cut['salvaged_frames']}",
    )
    checks.check(
        frames == FULL_FRAMES[: len(frames)],
        f"cut at {at}: the frames python read are not the recording's first ones",
    )
    if torn:
        # Up to the damage offset Rust reports: whole members only, which Python reads cleanly.
        with open(path, "wb") as f:
            f.write(full[: cut["damage_offset"]])
        good, eof = read_until_eof(path)
        checks.check(
            not eof and len(good) == cut["complete_frames"],
            f"cut at {at}: up to rust's damage offset {cut['damage_offset']} python reads "
            f"{len(good)} frames (EOFError {eof}), rust {cut['complete_frames']} complete",
        )
    os.remove(path)
    return len(frames), cut["complete_frames"]


def main():
    global TelemetryFrame, FULL_FRAMES
    stubs, work, summary_path = sys.argv[1:4]
    sys.path.insert(0, stubs)
    from telemetry.v1.telemetry_pb2 import TelemetryFrame  # noqa: PLC0415

    with open(summary_path) as f:
        summary = json.load(f)
    checks = Checks()
    path = os.path.join(work, summary["file"])
    with open(path, "rb") as f:
        full = f.read()
    checks.check(len(full) == summary["file_len"], "file length")

    # The whole recording, frame by frame.
    frames = list(read_frames(path))
    want = summary["frames"]
    checks.check(len(frames) == summary["frame_count"] == len(want), f"{len(frames)} frames read")
    for i, ((data, frame), w) in enumerate(zip(frames, want)):
        compare_frame(checks, i, data, frame, w)
    FULL_FRAMES = [data for data, _ in frames]
    firsts = [i for i, (_, frame) in enumerate(frames) if frame.seq == 0]
    checks.check(
        len(firsts) == 2 and all(frames[i][1].HasField("session") for i in firsts),
        f"two sessions, each starting with its SessionMetadata (first frames at {firsts})",
    )
    checks.check(
        sum(frame.HasField("session") for _, frame in frames) == 2,
        "SessionMetadata only on the sessions' first frames",
    )
    print(f"full recording: {len(frames)} frames, {len(summary['members'])} gzip members")

    # Each member alone, at the offsets the Rust index gives.
    start = 0
    for m in summary["members"]:
        member = full[m["offset"] : m["offset"] + m["len"]]
        inflated = gzip.decompress(member)
        n = 0
        pos = 0
        while pos < len(inflated):
            size, pos = _DecodeVarint32(inflated, pos)
            checks.check(inflated[pos : pos + size] == FULL_FRAMES[start + n], f"member at {m['offset']}: frame {n}")
            pos += size
            n += 1
        checks.check(n == m["frames"], f"member at {m['offset']}: {n} frames, rust index {m['frames']}")
        start += n

    # The truncated copy Rust wrote, then cuts at other offsets.
    t = summary["truncated"]
    frames_t, eof = read_until_eof(os.path.join(work, t["file"]))
    checks.check(eof, "the truncated copy ends with EOFError in Python's gzip")
    _, rust = check_cut(checks, full, t["read"], work)
    print(
        f"truncated copy (cut at byte {t['at']}): python reads {len(frames_t)} frames before EOFError "
        f"(rust salvaging reader: {t['read']['salvaged_frames']}); the last complete member ends at "
        f"byte {t['read']['damage_offset']}, where both read {rust} frames"
    )
    for cut in summary["cuts"]:
        check_cut(checks, full, cut, work)
    print(f"{len(summary['cuts'])} more cuts checked the same way")

    print(f"record python: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
