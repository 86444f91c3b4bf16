//! Generates the Rust types and the tonic service from `proto/telemetry/v1/telemetry.proto`.
//! The .proto is compiled by `protox`, a protobuf compiler in pure Rust, so no system `protoc`
//! is needed to build pitwall.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("telemetry/v1/telemetry.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let descriptors = protox::compile([&file], [&root])?;
    tonic_prost_build::configure()
        // Session ids are 16 raw bytes: `Bytes` lets the decoder slice them out of the input
        // instead of allocating a Vec per frame.
        .bytes(".telemetry.v1")
        .compile_fds(descriptors)?;
    Ok(())
}
