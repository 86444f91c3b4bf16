//! A file holding all three pages at one instant: for test fixtures and bug reports.
//!
//! Format (all integers little-endian):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `PWSHMSNP` |
//! | 8 | 4 | format version, `1` |
//! | 12 | 4 | physics page length P |
//! | 16 | 4 | graphics page length G |
//! | 20 | 4 | static page length S |
//! | 24 | P + G + S | the pages' bytes, in that order |
//!
//! The lengths make the format outlive today's struct sizes: a physics page of 580 bytes (no
//! tail) loads with a zeroed tail, and a longer page (say ACC's 800-byte physics) loads its
//! prefix, up to [`SNAPSHOT_MAX_PAGE_LEN`] bytes a page. Nothing may follow the last page.
//!
//! The format has no checksum: a flipped byte in a page loads as an odd value in that page
//! (which a dump then shows), a flipped byte in the header as an error.

use std::io::Read as _;
use std::path::Path;

use crate::dir::{OpenError, open_regular};
use crate::error::ShmError;
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};
use crate::page::Page;
use crate::source::PageSource;
use crate::view::Pages;

/// Magic bytes at the start of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"PWSHMSNP";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;
/// Length of the snapshot header.
pub const SNAPSHOT_HEADER_LEN: usize = 24;
/// The longest page a snapshot may hold, bytes. AC's pages are well under 1 KiB and mappings
/// come in 4 KiB pages: a header claiming more is damaged, and is refused before anything that
/// size is read or allocated.
pub const SNAPSHOT_MAX_PAGE_LEN: u32 = 64 * 1024;
/// The longest snapshot file: the header and three pages of the longest length.
pub const SNAPSHOT_MAX_LEN: u64 = SNAPSHOT_HEADER_LEN as u64 + 3 * SNAPSHOT_MAX_PAGE_LEN as u64;

/// The three pages, captured together. It is also a [`PageSource`], so a saved snapshot can
/// stand in for the game.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The physics page.
    pub physics: PhysicsPage,
    /// The graphics page.
    pub graphics: GraphicsPage,
    /// The static page.
    pub static_page: StaticPage,
}

impl Snapshot {
    /// Reads all three pages from `source` (graphics and physics with the torn-read guard).
    pub fn capture<S: PageSource + ?Sized>(source: &mut S) -> Result<Self, ShmError> {
        let mut snapshot = Snapshot::default();
        source.read_static(&mut snapshot.static_page)?;
        source.read_graphics(&mut snapshot.graphics)?;
        source.read_physics(&mut snapshot.physics)?;
        Ok(snapshot)
    }

    /// The decoded view of all three pages.
    pub fn decode(&self) -> Pages {
        Pages {
            physics: self.physics.decode(),
            graphics: self.graphics.decode(),
            static_page: self.static_page.decode(),
        }
    }

    fn page_bytes(&self, page: Page) -> &[u8] {
        match page {
            Page::Physics => self.physics.as_bytes(),
            Page::Graphics => self.graphics.as_bytes(),
            Page::Static => self.static_page.as_bytes(),
        }
    }

    /// Encodes the snapshot (header, then the three pages).
    pub fn to_bytes(&self) -> Vec<u8> {
        let pages = Page::ALL.map(|page| self.page_bytes(page));
        let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + pages.iter().map(|p| p.len()).sum::<usize>());
        out.extend_from_slice(&SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        for bytes in pages {
            // Our page structs are a few hundred bytes: the length always fits.
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
        for bytes in pages {
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Decodes a snapshot, checking the magic, the version, that each page is
    /// [`Page::min_size`] to [`SNAPSHOT_MAX_PAGE_LEN`] bytes and that the pages fill the rest
    /// exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShmError> {
        Self::parse(bytes, bytes.len() as u64)
    }

    /// [`from_bytes`](Self::from_bytes) of the first bytes of a snapshot of `actual` bytes in
    /// all: a file longer than any snapshot is read only as far as needed to say so.
    fn parse(bytes: &[u8], actual: u64) -> Result<Self, ShmError> {
        let magic = bytes.get(..SNAPSHOT_MAGIC.len()).unwrap_or(bytes);
        if magic != SNAPSHOT_MAGIC {
            // A file shorter than the magic that matches as far as it goes is truncated;
            // anything else is not a snapshot at all.
            if SNAPSHOT_MAGIC.starts_with(magic) && !magic.is_empty() {
                return Err(ShmError::SnapshotTruncated {
                    part: "header",
                    needed: SNAPSHOT_HEADER_LEN as u64,
                    actual,
                });
            }
            return Err(ShmError::SnapshotMagic { found: magic.to_vec(), expected: SNAPSHOT_MAGIC });
        }
        let Some(header) = bytes.get(..SNAPSHOT_HEADER_LEN) else {
            return Err(ShmError::SnapshotTruncated {
                part: "header",
                needed: SNAPSHOT_HEADER_LEN as u64,
                actual,
            });
        };
        let word = |i: usize| -> u32 {
            let mut w = [0u8; 4];
            w.copy_from_slice(&header[8 + 4 * i..12 + 4 * i]);
            u32::from_le_bytes(w)
        };
        let version = word(0);
        if version != SNAPSHOT_VERSION {
            return Err(ShmError::SnapshotVersion { found: version, supported: SNAPSHOT_VERSION });
        }
        let lens = [word(1), word(2), word(3)];
        for (i, (page, &len)) in Page::ALL.iter().zip(&lens).enumerate() {
            if (len as usize) < page.min_size() || len > SNAPSHOT_MAX_PAGE_LEN {
                return Err(ShmError::SnapshotPageLength {
                    page: *page,
                    offset: 12 + 4 * i,
                    len,
                    min: page.min_size(),
                    max: SNAPSHOT_MAX_PAGE_LEN,
                });
            }
        }
        // u64 arithmetic: three u32 lengths cannot overflow it.
        let expected = SNAPSHOT_HEADER_LEN as u64 + lens.iter().map(|&l| u64::from(l)).sum::<u64>();
        if actual < expected {
            return Err(ShmError::SnapshotTruncated { part: "pages", needed: expected, actual });
        }
        if actual > expected {
            return Err(ShmError::SnapshotTrailing { extra: actual - expected, expected });
        }

        let mut snapshot = Snapshot::default();
        let mut at = SNAPSHOT_HEADER_LEN;
        for (page, &len) in Page::ALL.iter().zip(&lens) {
            let len = len as usize;
            // In range: the total was checked against `bytes.len()` above.
            let src = bytes.get(at..at + len).unwrap_or_default();
            let dst = match page {
                Page::Physics => snapshot.physics.as_mut_bytes(),
                Page::Graphics => snapshot.graphics.as_mut_bytes(),
                Page::Static => snapshot.static_page.as_mut_bytes(),
            };
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            at += len;
        }
        Ok(snapshot)
    }

    /// Writes the snapshot to a file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ShmError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|source| ShmError::Io {
            op: "writing snapshot",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a snapshot from a file. Every error names the file. Only a regular file is read
    /// (a FIFO in its place would block, a device never end), and of it no more than the
    /// longest snapshot, [`SNAPSHOT_MAX_LEN`] bytes, and one more to tell a longer file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ShmError> {
        let path = path.as_ref();
        let io = |source| ShmError::Io { op: "reading snapshot", path: path.to_path_buf(), source };
        let (file, meta) = open_regular(path, false).map_err(|e| match e {
            OpenError::Open(source) | OpenError::Stat(source) => io(source),
            OpenError::NotAFile(kind) => ShmError::SnapshotNotAFile { path: path.to_path_buf(), kind },
        })?;
        let mut bytes = Vec::new();
        file.take(SNAPSHOT_MAX_LEN + 1).read_to_end(&mut bytes).map_err(io)?;
        let read = bytes.len() as u64;
        // Past the longest snapshot, the file's own length is the one to report (and if the file
        // changed meanwhile, at least what was read).
        let actual = if read > SNAPSHOT_MAX_LEN { meta.len().max(read) } else { read };
        Self::parse(&bytes, actual)
            .map_err(|source| ShmError::Snapshot { path: path.to_path_buf(), source: Box::new(source) })
    }
}

impl PageSource for Snapshot {
    fn location(&self, page: Page) -> String {
        format!("snapshot {page} page")
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        Ok(self.page_bytes(page).len() as u64)
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let bytes = self.page_bytes(page);
        let src =
            usize::try_from(offset).ok().and_then(|start| bytes.get(start..start.checked_add(buf.len())?));
        match src {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(ShmError::PageTooShort {
                page,
                location: self.location(page),
                actual: bytes.len() as u64,
                needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(buf.len()),
            }),
        }
    }
}
