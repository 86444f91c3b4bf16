//! Any bytes, as a page file's contents and as a snapshot file. Beyond "no panic", it checks the
//! parsers' promises:
//! - a page parses exactly when the input holds at least the page's minimum size, and what it
//!   parsed is the input's prefix (zero-extended only for the physics page's optional tail);
//! - decoding a parsed page into its JSON view always works and serialises to valid JSON (NaN
//!   floats, lossy UTF-16 and unknown enum codes included);
//! - a snapshot that parses re-encodes to bytes that parse to the same snapshot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm::{GraphicsPage, Page, PhysicsPage, Snapshot, StaticPage};

fuzz_target!(|data: &[u8]| {
    pages(data);
    snapshot(data);
});

fn pages(data: &[u8]) {
    let physics = PhysicsPage::from_prefix(data);
    assert_eq!(physics.is_some(), data.len() >= Page::Physics.min_size());
    if let Some(p) = physics {
        let n = data.len().min(p.as_bytes().len());
        assert_eq!(&p.as_bytes()[..n], &data[..n]);
        assert!(p.as_bytes()[n..].iter().all(|&b| b == 0), "the missing tail is zeroed");
        valid_json(&p.decode());
    }
    let graphics = GraphicsPage::from_prefix(data);
    assert_eq!(graphics.is_some(), data.len() >= Page::Graphics.min_size());
    if let Some(g) = graphics {
        assert_eq!(g.as_bytes(), &data[..g.as_bytes().len()]);
        valid_json(&g.decode());
    }
    let stat = StaticPage::from_prefix(data);
    assert_eq!(stat.is_some(), data.len() >= Page::Static.min_size());
    if let Some(s) = stat {
        assert_eq!(s.as_bytes(), &data[..s.as_bytes().len()]);
        valid_json(&s.decode());
    }
}

fn valid_json<T: serde::Serialize>(view: &T) {
    let json = serde_json::to_string(view).expect("a page view serialises");
    let _: serde_json::Value = serde_json::from_str(&json).expect("into valid JSON");
}

fn snapshot(data: &[u8]) {
    if let Ok(snap) = Snapshot::from_bytes(data) {
        let bytes = snap.to_bytes();
        let again = Snapshot::from_bytes(&bytes).expect("a snapshot's own bytes parse");
        // Bytes, not values: a page may hold NaN floats.
        assert_eq!(again.to_bytes(), bytes);
        let _ = snap.decode();
    }
}
