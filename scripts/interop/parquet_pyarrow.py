"""Interop check of the ingest server's Parquet sink with pyarrow and pandas (see
parquet_pyarrow.sh).

    parquet_pyarrow.py send  STUBS ADDR SENT_JSON    stream frames to a running server
    parquet_pyarrow.py check STUBS ROOT SENT_JSON    read the dataset back and compare

The frames are built here from the proto's descriptor, every field set to a value derived from
its field number and the frame's seq (with the validated fields kept in range), so the check
knows every value without asking Rust; the expected columns follow the documented convention
(scalars by name, Wheels as _fl/_fr/_rl/_rr, Vec3 as _x/_y/_z, contact points as _fl_x.._rr_z,
car_damage slots by name, enums as dictionary-encoded lower-case names, session_id as UUID text).
"""

import json
import sqlite3
import struct
import sys
import uuid

SESSIONS = 2
FRAMES = 3000
WHEELS = ["fl", "fr", "rl", "rr"]
AXES = ["x", "y", "z"]
DAMAGE = ["front", "rear", "left", "right", "centre"]

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def session_ids():
    return [uuid.UUID(int=(0x0193_5C2A_1000_7000_8000_0000_0000_0000 + n)) for n in range(SESSIONS)]


def wheels_absent(field_number, seq):
    # Some optional messages are missing on some frames: their columns must be null there.
    return field_number in (40, 41) and seq % 10 == 0


def build_frame(pb, sid, n, seq):
    f = pb.TelemetryFrame()
    for fd in pb.TelemetryFrame.DESCRIPTOR.fields:
        num, name = fd.number, fd.name
        base = num + seq * 0.25
        if name == "session_id":
            f.session_id = sid.bytes
        elif name == "seq":
            f.seq = seq
        elif name == "session":
            if seq == 0:
                m = f.session
                m.car_model = "ks_mazda_mx5_cup" if n == 0 else "ks_porsche_911_gt3_r_2016"
                m.track = "ks_vallelunga"
                m.track_configuration = "club_circuit"
                m.player_name = f"Driver{n}"
                m.player_surname = "Py"
                m.session_type = 3
                m.max_rpm = 7500
        elif fd.message_type is not None and fd.message_type.name == "Wheels":
            if not wheels_absent(num, seq):
                w = getattr(f, name)
                w.fl, w.fr, w.rl, w.rr = base, base + 1000, base + 2000, base + 3000
        elif fd.message_type is not None and fd.message_type.name == "Vec3":
            if fd.is_repeated:
                for k in range(4):
                    p = getattr(f, name).add()
                    p.x, p.y, p.z = base + k * 10, base + k * 10 + 1000, -(base + k * 10)
            else:
                v = getattr(f, name)
                v.x, v.y, v.z = base, base + 1000, -base
        elif name == "car_damage":
            f.car_damage.extend([base + k for k in range(5)])
        elif fd.enum_type is not None:
            setattr(f, name, seq % len(fd.enum_type.values))
        elif fd.type == fd.TYPE_FLOAT:
            setattr(f, name, base)
        elif fd.type == fd.TYPE_BOOL:
            setattr(f, name, (seq + num) % 2 == 0)
        elif fd.type == fd.TYPE_STRING:
            setattr(f, name, "Soft" if seq < FRAMES // 2 else "Hard")
        elif fd.type in (fd.TYPE_INT32, fd.TYPE_INT64):
            setattr(f, name, num * 1000 + seq)
        elif fd.type in (fd.TYPE_UINT32, fd.TYPE_UINT64):
            setattr(f, name, num * 1000 + seq)
        else:
            raise SystemExit(f"no value for field {name}")
    # The validated fields, in range.
    f.throttle = f32((seq % 100) / 100)
    f.brake = f32((seq % 50) / 100)
    f.clutch = 0.0
    f.steering = f32(((seq % 200) - 100) / 100)
    f.gear = seq % 8 - 1
    f.rpm = 1000 + seq
    f.speed_kmh = seq * 0.5
    f.normalized_position = f32((seq % 1000) / 1000)
    f.tyres_out = seq % 5
    f.wall_time_ns = 1_731_000_000_000_000_000 + seq * 3_003_003
    return f


def send(stubs, addr, sent_path):
    import grpc
    from telemetry.v1 import telemetry_pb2 as pb
    from telemetry.v1 import telemetry_pb2_grpc as pbg

    ids = session_ids()

    def frames():
        for seq in range(FRAMES):
            for n, sid in enumerate(ids):
                yield build_frame(pb, sid, n, seq)

    with grpc.insecure_channel(addr) as channel:
        stub = pbg.TelemetryIngestStub(channel)
        acked = {}
        for ack in stub.StreamFrames(frames()):
            acked[ack.session_id] = max(acked.get(ack.session_id, 0), ack.next_seq)
    for sid in ids:
        check(f"acked {sid}", acked.get(sid.bytes) == FRAMES, acked.get(sid.bytes))
    with open(sent_path, "w") as out:
        json.dump({"sessions": [str(s) for s in ids], "frames": FRAMES}, out)
    print(f"sent {FRAMES * SESSIONS} frames in {SESSIONS} sessions")


def expected_columns(pb):
    """(column, proto field descriptor, part) in schema order, from the descriptor."""
    cols = []
    for fd in pb.TelemetryFrame.DESCRIPTOR.fields:
        if fd.name == "session":
            continue
        if fd.message_type is not None and fd.message_type.name == "Wheels":
            cols += [(f"{fd.name}_{w}", fd, ("wheel", i)) for i, w in enumerate(WHEELS)]
        elif fd.message_type is not None and fd.message_type.name == "Vec3":
            if fd.is_repeated:
                cols += [(f"{fd.name}_{w}_{a}", fd, ("point", i, j)) for i, w in enumerate(WHEELS) for j, a in enumerate(AXES)]
            else:
                cols += [(f"{fd.name}_{a}", fd, ("axis", j)) for j, a in enumerate(AXES)]
        elif fd.name == "car_damage":
            cols += [(f"car_damage_{s}", fd, ("slot", i)) for i, s in enumerate(DAMAGE)]
        else:
            cols.append((fd.name, fd, None))
    return cols


def expected_type(pa, fd, part):
    if part is not None:
        return pa.float32()
    if fd.name == "session_id" or fd.type == fd.TYPE_STRING:
        return pa.dictionary(pa.int32(), pa.string())
    if fd.enum_type is not None:
        return pa.dictionary(pa.int8(), pa.string())
    return {
        fd.TYPE_FLOAT: pa.float32(),
        fd.TYPE_INT32: pa.int32(),
        fd.TYPE_UINT32: pa.uint32(),
        fd.TYPE_INT64: pa.int64(),
        fd.TYPE_UINT64: pa.uint64(),
        fd.TYPE_BOOL: pa.bool_(),
    }[fd.type]


def enum_name(fd, value):
    names = [v.name for v in fd.enum_type.values]
    prefix = len(names[0])
    for other in names:
        common = 0
        while common < min(len(names[0]), len(other)) and names[0][common] == other[common]:
            common += 1
        prefix = min(prefix, common)
    return fd.enum_type.values_by_number[value].name[prefix:].lower()


def expected_value(pb, fd, part, frame):
    value = getattr(frame, fd.name)
    if part is None:
        if fd.name == "session_id":
            return str(uuid.UUID(bytes=bytes(value)))
        if fd.enum_type is not None:
            return enum_name(fd, value)
        return value
    kind = part[0]
    if kind == "wheel":
        return getattr(value, WHEELS[part[1]]) if frame.HasField(fd.name) else None
    if kind == "axis":
        return getattr(value, AXES[part[1]]) if frame.HasField(fd.name) else None
    if kind == "point":
        return getattr(value[part[1]], AXES[part[2]]) if len(value) > part[1] else None
    return value[part[1]] if len(value) > part[1] else None


def check_dataset(stubs, root, sent_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    from telemetry.v1 import telemetry_pb2 as pb

    sent = json.load(open(sent_path))
    ids = [uuid.UUID(s) for s in sent["sessions"]]
    dataset = ds.dataset(root, format="parquet", partitioning="hive")
    table = dataset.to_table()
    check("row count", table.num_rows == SESSIONS * FRAMES, table.num_rows)
    check("hive partitions", "session" in table.column_names and "car" in table.column_names, table.column_names[-3:])

    cols = expected_columns(pb)
    file_schema = pq.read_schema(dataset.files[0])
    names = [c for c, _, _ in cols]
    check("columns in order", file_schema.names == names, set(file_schema.names) ^ set(names))
    for name, fd, part in cols:
        if name not in file_schema.names:
            check(f"column {name}", False, "missing")
            continue
        field = file_schema.field(name)
        want = expected_type(pa, fd, part)
        check(f"type of {name}", field.type == want, f"{field.type} != {want}")
        check(f"nullability of {name}", field.nullable == (part is not None), field.nullable)
        meta = field.metadata or {}
        check(f"unit and description of {name}", b"unit" in meta and meta.get(b"description"), meta)
    check("unit of speed_kmh", file_schema.field("speed_kmh").metadata[b"unit"] == b"km/h")
    check("unit of tyre_pressure_psi_fl", file_schema.field("tyre_pressure_psi_fl").metadata[b"unit"] == "psi".encode())

    # Every value, row by row, against the frame built again from (session, seq).
    rows = table.to_pylist()
    seen = {}
    mismatches = 0
    for row in rows:
        sid = uuid.UUID(row["session_id"])
        n = ids.index(sid)
        seq = row["seq"]
        seen[(sid, seq)] = seen.get((sid, seq), 0) + 1
        frame = build_frame(pb, sid, n, seq)
        for name, fd, part in cols:
            want = expected_value(pb, fd, part, frame)
            got = row[name]
            if isinstance(want, float) and got is not None:
                ok = f32(want) == got
            else:
                ok = want == got
            if not ok:
                mismatches += 1
                if mismatches <= 5:
                    print(f"  {sid} seq {seq} {name}: got {got!r}, sent {want!r}")
        if row["session"] != str(sid):
            mismatches += 1
    check("every value equals what was sent", mismatches == 0, f"{mismatches} mismatches")
    check("every (session, seq) exactly once", len(seen) == SESSIONS * FRAMES and set(seen.values()) == {1}, len(seen))
    nulls = table.column("slip_ratio_fl").null_count
    check("absent messages are null", nulls == SESSIONS * FRAMES // 10, nulls)
    check("present messages are not", table.column("tyre_pressure_psi_rr").null_count == 0)

    # The session metadata in each file's key-value metadata.
    for path in dataset.files:
        kv = pq.ParquetFile(path).metadata.metadata
        meta = json.loads(kv[b"pitwall.session"])
        check(f"metadata of {path.split('/')[-3]}", meta["track"] == "ks_vallelunga" and meta["session_type"] == "race", meta)
        check(f"car folder of {path}", f"car={meta['car_model']}" in path)

    # pandas, as an analyst opens it.
    df = pd.read_parquet(root)
    check("pandas rows", len(df) == SESSIONS * FRAMES, len(df))
    check("pandas float32", str(df["tyre_core_temp_c_fl"].dtype) == "float32", df["tyre_core_temp_c_fl"].dtype)
    check("pandas enums are categories", str(df["flag"].dtype) == "category", df["flag"].dtype)
    check("pandas flag names", set(df["flag"].unique()) == {enum_name(pb.TelemetryFrame.DESCRIPTOR.fields_by_name["flag"], v) for v in range(9)})
    laps = df.groupby("session_id", observed=True)["speed_kmh"].count()
    check("pandas groupby session", sorted(laps.tolist()) == [FRAMES] * SESSIONS, laps.tolist())

    # The catalogue.
    con = sqlite3.connect(f"file:{root}/_catalogue.sqlite?mode=ro", uri=True)
    summary = {r[0]: r for r in con.execute("SELECT session_id, track, layout, car, driver, session_type, frames, laps, missed_steps, first_wall_ns, last_wall_ns FROM session_summary")}
    check("catalogue sessions", sorted(summary) == sorted(str(s) for s in ids), sorted(summary))
    for n, sid in enumerate(ids):
        r = summary.get(str(sid))
        if r is None:
            continue
        first, last = build_frame(pb, sid, n, 0), build_frame(pb, sid, n, FRAMES - 1)
        want = (str(sid), "ks_vallelunga", "club_circuit", first.session.car_model, f"Driver{n} Py", "race", FRAMES,
                max(build_frame(pb, sid, n, s).completed_laps for s in (0, FRAMES - 1)),
                sum(7 * 1000 + s for s in range(FRAMES)), first.wall_time_ns, last.wall_time_ns)
        check(f"catalogue row {sid}", tuple(r) == want, f"{tuple(r)} != {want}")


def main():
    mode, stubs = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stubs)
    if mode == "send":
        send(stubs, sys.argv[3], sys.argv[4])
    else:
        check_dataset(stubs, sys.argv[3], sys.argv[4])
    print(f"parquet pyarrow {mode}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
