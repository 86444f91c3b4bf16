//! A `StreamFrames` client codec for frames already encoded.

use bytes::Bytes;
use prost::Message as _;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::telemetry::v1::Ack;

/// The `StreamFrames` codec of a sender that holds frames already encoded (the bridge sends the
/// bytes it recorded; the load generator and tests send bytes no well-behaved client would):
/// sends them as they are, decodes acks with prost.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// [`RawCodec`]'s encoder: the bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// [`RawCodec`]'s decoder: an `Ack`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AckDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Ack;
    type Encoder = RawEncoder;
    type Decoder = AckDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> AckDecoder {
        AckDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for AckDecoder {
    type Item = Ack;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Ack>, Status> {
        Ack::decode(src).map(Some).map_err(|e| Status::internal(format!("bad ack from the server: {e}")))
    }
}
