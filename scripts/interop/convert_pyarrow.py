#!/usr/bin/env python3
"""Checks `pitwall convert`'s Parquet and CSV output against the frames of the recording, decoded
independently here. The expected columns come from the proto descriptor and the table's
conventions (pitwall-table's docs): flat columns, per-wheel `_fl _fr _rl _rr`, vectors `_x _y _z`,
contact points `_<wheel>_<axis>`, `car_damage_<slot>`, enums as lower-case names without the
prefix (dictionary int8), strings and the session id (UUID text) as dictionary int32, nulls for
absent messages; then the derived columns lap, lap_time_ms, lap_distance_m, session_time_s.

Usage: convert_pyarrow.py STUBS RECORDING PARQUET CSV
"""

import gzip
import math
import sys
import uuid

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        if failed <= 20:
            print(f"FAIL: {what}")


def main():
    stubs, rec, parquet_path, csv_path = sys.argv[1:5]
    sys.path.insert(0, stubs)
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from google.protobuf.descriptor import FieldDescriptor as FD
    from google.protobuf.internal.decoder import _DecodeVarint32
    from telemetry.v1 import telemetry_pb2

    frames = []
    with gzip.open(rec, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        n, pos = _DecodeVarint32(data, pos)
        frames.append(telemetry_pb2.TelemetryFrame.FromString(data[pos:pos + n]))
        pos += n
    print(f"{len(frames)} frames decoded from the recording")

    wheels = ["fl", "fr", "rl", "rr"]
    axes = ["x", "y", "z"]
    damage = ["front", "rear", "left", "right", "centre"]
    scalar = {FD.TYPE_FLOAT: pa.float32(), FD.TYPE_INT32: pa.int32(), FD.TYPE_UINT32: pa.uint32(),
              FD.TYPE_INT64: pa.int64(), FD.TYPE_UINT64: pa.uint64(), FD.TYPE_BOOL: pa.bool_()}
    enum_t = pa.dictionary(pa.int8(), pa.string())
    str_t = pa.dictionary(pa.int32(), pa.string())

    def enum_name(fd, v):
        prefix = {"GameStatus": "GAME_STATUS_", "SessionType": "SESSION_TYPE_", "Flag": "FLAG_"}[fd.enum_type.name]
        ev = fd.enum_type.values_by_number.get(v)
        return ev.name[len(prefix):].lower() if ev else f"value_{v}"

    # (column, arrow type, getter(frame) -> python value or None)
    columns = []
    for fd in telemetry_pb2.TelemetryFrame.DESCRIPTOR.fields:
        name = fd.name
        if name == "session":
            continue
        if name == "session_id":
            columns.append((name, str_t, lambda f: str(uuid.UUID(bytes=f.session_id))))
        elif fd.type == FD.TYPE_ENUM:
            columns.append((name, enum_t, lambda f, fd=fd: enum_name(fd, getattr(f, fd.name))))
        elif fd.type == FD.TYPE_STRING:
            columns.append((name, str_t, lambda f, n=name: getattr(f, n)))
        elif fd.type == FD.TYPE_MESSAGE and fd.label == FD.LABEL_REPEATED:
            for wi, w in enumerate(wheels):
                for a in axes:
                    columns.append((f"{name}_{w}_{a}", pa.float32(),
                                    lambda f, n=name, wi=wi, a=a: getattr(getattr(f, n)[wi], a) if len(getattr(f, n)) > wi else None))
        elif fd.type == FD.TYPE_MESSAGE:
            parts = wheels if fd.message_type.name == "Wheels" else axes
            for p in parts:
                columns.append((f"{name}_{p}", pa.float32(),
                                lambda f, n=name, p=p: getattr(getattr(f, n), p) if f.HasField(n) else None))
        elif fd.label == FD.LABEL_REPEATED:
            for i, s in enumerate(damage):
                columns.append((f"{name}_{s}", pa.float32(),
                                lambda f, n=name, i=i: getattr(f, n)[i] if len(getattr(f, n)) > i else None))
        else:
            columns.append((name, scalar[fd.type], lambda f, n=name: getattr(f, n)))
    derived = [("lap", pa.uint32()), ("lap_time_ms", pa.int64()), ("lap_distance_m", pa.float32()),
               ("session_time_s", pa.float64())]

    def same(a, b, t):
        if a is None or b is None:
            return a is None and b is None
        if t == pa.float32():
            return (math.isnan(a) and math.isnan(b)) or np.float32(a) == np.float32(b)
        return a == b

    # ── Parquet through pyarrow
    table = pq.read_table(parquet_path)
    check(table.num_rows == len(frames), f"parquet rows {table.num_rows} == frames {len(frames)}")
    expected_names = [c[0] for c in columns] + [d[0] for d in derived]
    check(table.column_names == expected_names, "parquet column names and order")
    for name, t in [(c[0], c[1]) for c in columns] + derived:
        if name not in table.column_names:
            check(False, f"parquet has column {name}")
            continue
        check(table.schema.field(name).type == t, f"{name} is {table.schema.field(name).type}, expected {t}")
    speed_unit = table.schema.field("speed_kmh").metadata.get(b"unit")
    check(speed_unit == b"km/h", f"speed_kmh unit metadata {speed_unit}")
    for name, t, get in columns:
        if name not in table.column_names:
            continue
        values = table.column(name).to_pylist()
        bad = [i for i, f in enumerate(frames) if not same(get(f), values[i], t)]
        check(not bad, f"parquet {name}: {len(bad)} rows differ, first row {bad[:1]}")
    session_ids = table.column("session_id").to_pylist()
    change = next(i for i, s in enumerate(session_ids) if s != session_ids[0])
    laps = table.column("lap").to_pylist()
    times = table.column("session_time_s").to_pylist()
    check(laps[0] == 1 and laps[change] == 1 and times[change] == 0.0, "derived columns restart with the session")
    check(all(b >= a for a, b in zip(times[:change - 1], times[1:change])), "session time grows")
    check(table.to_pandas()["status"].dtype.name == "category", "enums read as pandas categories")

    # ── CSV through pandas
    df = pd.read_csv(csv_path, keep_default_na=False, na_values=[""], dtype=str)
    check(len(df) == len(frames), f"csv rows {len(df)} == frames {len(frames)}")
    units = {f.name: (f.metadata or {}).get(b"unit", b"").decode() for f in table.schema}
    header = [f"{n} [{units[n]}]" if units[n] else n for n in expected_names]
    check(list(df.columns) == header, "csv header: names with units")
    for (name, t, get), col in zip(columns, header):
        texts = df[col].tolist()
        bad = []
        for i, f in enumerate(frames):
            want, text = get(f), texts[i]
            if isinstance(text, float) and math.isnan(text):
                text = None
            if want is None or text is None:
                ok = want is None and text is None
            elif t == pa.float32():
                ok = np.float32(float(text)) == np.float32(want) or (math.isnan(want) and text == "NaN")
            elif t == pa.bool_():
                ok = text == ("true" if want else "false")
            elif t in (str_t, enum_t):
                ok = text == want
            else:
                ok = int(text) == want
            if not ok:
                bad.append(i)
        check(not bad, f"csv {name}: {len(bad)} rows differ, first row {bad[:1]}")
    check([int(x) for x in df["lap"]] == laps, "csv lap column equals parquet's")

    print(f"convert pyarrow: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
