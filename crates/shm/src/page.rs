//! Which page is which: names, sizes and where the packet id lives.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::layout::{GRAPHICS_SIZE, PHYSICS_DOCUMENTED_SIZE, PHYSICS_SIZE, STATIC_SIZE};

/// One of AC's three shared-memory pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    /// `acpmf_physics`: the car, written once per physics step (333 Hz).
    Physics,
    /// `acpmf_graphics`: session and timing, written once per graphics step.
    Graphics,
    /// `acpmf_static`: car, track and rules, written once when a session loads.
    Static,
}

impl Page {
    /// The three pages, in the order snapshots store them.
    pub const ALL: [Page; 3] = [Page::Physics, Page::Graphics, Page::Static];

    /// Short lower-case name: `physics`, `graphics` or `static`.
    pub fn name(self) -> &'static str {
        match self {
            Page::Physics => "physics",
            Page::Graphics => "graphics",
            Page::Static => "static",
        }
    }

    /// File name the Proton bridges create in `/dev/shm`, e.g. `acpmf_physics`.
    pub fn file_name(self) -> &'static str {
        match self {
            Page::Physics => "acpmf_physics",
            Page::Graphics => "acpmf_graphics",
            Page::Static => "acpmf_static",
        }
    }

    /// Name of the game's Windows file mapping, e.g. `Local\acpmf_physics`.
    pub fn mapping_name(self) -> &'static str {
        match self {
            Page::Physics => r"Local\acpmf_physics",
            Page::Graphics => r"Local\acpmf_graphics",
            Page::Static => r"Local\acpmf_static",
        }
    }

    /// Size of our struct for this page: the number of bytes a reader copies when the source
    /// holds that many.
    pub fn size(self) -> usize {
        match self {
            Page::Physics => PHYSICS_SIZE,
            Page::Graphics => GRAPHICS_SIZE,
            Page::Static => STATIC_SIZE,
        }
    }

    /// The fewest bytes a source must hold for this page to be read. It is smaller than
    /// [`size`](Self::size) for physics only: the fields past the documented 580 bytes are
    /// optional, and read as zeros when the source is shorter.
    pub fn min_size(self) -> usize {
        match self {
            Page::Physics => PHYSICS_DOCUMENTED_SIZE,
            Page::Graphics => GRAPHICS_SIZE,
            Page::Static => STATIC_SIZE,
        }
    }

    /// Byte offset of the page's `packetId` (an `i32`), if it has one. The static page has
    /// none: it is written once per session.
    pub fn packet_id_offset(self) -> Option<usize> {
        match self {
            Page::Physics | Page::Graphics => Some(0),
            Page::Static => None,
        }
    }

    /// Position in [`Page::ALL`], for per-page arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Page::Physics => 0,
            Page::Graphics => 1,
            Page::Static => 2,
        }
    }
}

impl fmt::Display for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes() {
        assert_eq!(Page::Physics.file_name(), "acpmf_physics");
        assert_eq!(Page::Static.mapping_name(), "Local\\acpmf_static");
        assert_eq!(Page::Physics.size(), 712);
        assert_eq!(Page::Physics.min_size(), 580);
        assert_eq!(Page::Graphics.size(), Page::Graphics.min_size());
        assert_eq!(Page::Static.packet_id_offset(), None);
        for (i, page) in Page::ALL.into_iter().enumerate() {
            assert_eq!(page.index(), i);
            assert_eq!(page.to_string(), page.name());
        }
    }
}
