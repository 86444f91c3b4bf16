"""The seed's reference ingest server design, as the baseline of `pitwall bench ingest`.

A minimal asyncio gRPC server implementing TelemetryIngest.StreamFrames that acknowledges every
frame as it arrives (one Ack per frame, nothing persisted), like the original project's
`server/reference_ingest_server.py`. Our Ack is cumulative (`next_seq` = seq + 1), which is what
a per-frame ack means under our proto.

Usage (stubs generated from proto/ with grpcio-tools into STUBS):
    python benches/reference_ingest_server.py --port 50061 --stubs STUBS
Prints `listening on 127.0.0.1:PORT` once serving; stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import signal
import sys


async def serve(port: int) -> None:
    import grpc
    from telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc

    class Ingest(telemetry_pb2_grpc.TelemetryIngestServicer):
        async def StreamFrames(self, request_iterator, context):
            async for frame in request_iterator:
                yield telemetry_pb2.Ack(session_id=frame.session_id, next_seq=frame.seq + 1)

    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", 16 << 20)],
    )
    telemetry_pb2_grpc.add_TelemetryIngestServicer_to_server(Ingest(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"listening on 127.0.0.1:{bound}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=50051)
    parser.add_argument("--stubs", required=True, help="directory holding telemetry/v1/*_pb2*.py")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
