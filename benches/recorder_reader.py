#!/usr/bin/env python3
"""The seed's recording reader, as its README describes `tools/recorder_reader.py`: reads
`telemetry_record.pb.gz` with gzip, `_DecodeVarint32` and `TelemetryFrame.FromString`, builds a
pandas DataFrame of useful columns (timestamps, speed, inputs, lap/position, …) and writes it to
Parquet with pyarrow. The baseline of `benches/convert.sh`.

Usage: recorder_reader.py STUBS_DIR IN.pb.gz OUT.parquet
(STUBS_DIR holds `telemetry/v1/telemetry_pb2.py`, generated from proto/ with grpc_tools.protoc.)
"""

import gzip
import sys


def main() -> int:
    stubs, src, dst = sys.argv[1:4]
    sys.path.insert(0, stubs)
    import pandas as pd
    from google.protobuf.internal.decoder import _DecodeVarint32
    from telemetry.v1 import telemetry_pb2

    rows = []
    with gzip.open(src, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        frame = telemetry_pb2.TelemetryFrame.FromString(data[pos:pos + size])
        pos += size
        rows.append({
            "session_id": frame.session_id.hex(),
            "seq": frame.seq,
            "wall_time_ns": frame.wall_time_ns,
            "mono_time_ns": frame.mono_time_ns,
            "speed_kmh": frame.speed_kmh,
            "rpm": frame.rpm,
            "gear": frame.gear,
            "throttle": frame.throttle,
            "brake": frame.brake,
            "clutch": frame.clutch,
            "steering": frame.steering,
            "fuel_l": frame.fuel_l,
            "completed_laps": frame.completed_laps,
            "position": frame.position,
            "current_lap_ms": frame.current_lap_ms,
            "last_lap_ms": frame.last_lap_ms,
            "best_lap_ms": frame.best_lap_ms,
            "normalized_position": frame.normalized_position,
            "current_sector": frame.current_sector,
            "in_pit_lane": frame.in_pit_lane,
            "pos_x": frame.position_m.x,
            "pos_y": frame.position_m.y,
            "pos_z": frame.position_m.z,
            "acc_g_x": frame.acc_g.x,
            "acc_g_y": frame.acc_g.y,
            "acc_g_z": frame.acc_g.z,
            "tyre_core_temp_c_fl": frame.tyre_core_temp_c.fl,
            "tyre_core_temp_c_fr": frame.tyre_core_temp_c.fr,
            "tyre_core_temp_c_rl": frame.tyre_core_temp_c.rl,
            "tyre_core_temp_c_rr": frame.tyre_core_temp_c.rr,
            "tyre_pressure_psi_fl": frame.tyre_pressure_psi.fl,
            "tyre_pressure_psi_fr": frame.tyre_pressure_psi.fr,
            "tyre_pressure_psi_rl": frame.tyre_pressure_psi.rl,
            "tyre_pressure_psi_rr": frame.tyre_pressure_psi.rr,
        })
    df = pd.DataFrame(rows)
    df.to_parquet(dst, index=False)
    print(f"Wrote {dst} with {len(df)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
