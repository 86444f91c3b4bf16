//! Tests of the ACSP codec through its public API: a byte-exact vector for every message, one
//! test per quirk of real servers and clients, properties over generated values and bytes, and
//! the golden session and datagrams in `testdata/acsp/`, and a check that the hot path does not
//! allocate.

// Helpers that build inputs panic on failure by design, as the tests do; clippy.toml's
// `allow-unwrap-in-tests` covers `#[test]` functions but not the helpers beside them.
#![allow(clippy::unwrap_used)]

mod alloc;
mod burst;
mod golden;
mod hostile;
mod props;
mod quirks;
mod support;
mod vectors;
