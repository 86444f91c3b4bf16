#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of the MoTeC crate: files written by `LdWriter` read back by the independent
//! reader, `.ldx` files, and hostile input.

mod corrupt;
mod interop;
mod ldx;
mod props;
mod roundtrip;
