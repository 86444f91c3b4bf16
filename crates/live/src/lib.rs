//! # pitwall-live: live timing of an Assetto Corsa server, put to work
//!
//! The timing engine ([`timing`]) is sans-IO; this crate gives it its inputs and keeps its
//! outputs: a UDP client following a server, lap records stored in a [`records::Store`], chat
//! commands answered, and captures replayed through the same path.
