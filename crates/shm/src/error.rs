//! Errors of the readers and of the snapshot format. Every variant names where the bytes came
//! from (a file path, a mapping name, "snapshot") and, for size problems, both sizes.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::page::Page;

/// Why a page could not be read, or a snapshot loaded or saved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShmError {
    /// A page file could not be opened (most often: it does not exist because no bridge is
    /// running).
    #[error("cannot open the {page} page file {}", path.display())]
    Open {
        /// Which page.
        page: Page,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A page file is not a regular file (a FIFO, a directory, a device): reading it would
    /// block, fail, or read something else than a page.
    #[error("the {page} page file {} is {kind}, not a regular file", path.display())]
    NotAFile {
        /// Which page.
        page: Page,
        /// The file.
        path: PathBuf,
        /// What it is instead, e.g. `a FIFO`.
        kind: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{op} {}", path.display())]
    Io {
        /// What was being done, e.g. "reading", "writing snapshot".
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The source holds fewer bytes than the page needs.
    #[error("{location} holds {actual} bytes, but the {page} page needs at least {needed}")]
    PageTooShort {
        /// Which page.
        page: Page,
        /// Where the page was read from: a file path, a mapping name, or "snapshot".
        location: String,
        /// Bytes the source holds.
        actual: u64,
        /// Bytes the page needs.
        needed: usize,
    },
    /// A Windows named mapping could not be opened or mapped (the game is not running, or not
    /// in a session yet).
    #[error("cannot {op} the {page} mapping {name}: Windows error {code}")]
    Mapping {
        /// Which page.
        page: Page,
        /// The mapping name, e.g. `Local\acpmf_physics`.
        name: &'static str,
        /// The call that failed, e.g. "open", "map", "query".
        op: &'static str,
        /// `GetLastError()`.
        code: u32,
    },
    /// The page's `packetId` changed during every copy: the game kept writing while we read.
    #[error("the {page} page changed during each of {attempts} copies (torn reads)")]
    Torn {
        /// Which page.
        page: Page,
        /// How many copies were tried.
        attempts: u32,
    },
    /// The snapshot does not start with our magic bytes.
    #[error("not a pitwall page snapshot: magic is {found:02x?}, expected {expected:02x?}")]
    SnapshotMagic {
        /// The first bytes found.
        found: Vec<u8>,
        /// The magic we expected.
        expected: [u8; 8],
    },
    /// The snapshot has a format version this build cannot read.
    #[error(
        "snapshot format version {found} (at offset 8) is not supported (this build reads version {supported})"
    )]
    SnapshotVersion {
        /// Version in the file.
        found: u32,
        /// Version we read.
        supported: u32,
    },
    /// The snapshot is shorter than its header says.
    #[error("snapshot is {actual} bytes, but {needed} are needed for its {part}")]
    SnapshotTruncated {
        /// What was being read: "header" or "pages".
        part: &'static str,
        /// Bytes needed up to the end of that part.
        needed: u64,
        /// Bytes in the snapshot.
        actual: u64,
    },
    /// A page length in the snapshot's header is shorter than the page's minimum or longer
    /// than any page.
    #[error("the snapshot's {page} page length (at offset {offset}) is {len} bytes, not {min} to {max}")]
    SnapshotPageLength {
        /// Which page.
        page: Page,
        /// Offset of the length field in the snapshot.
        offset: usize,
        /// The length found.
        len: u32,
        /// The least a page may be.
        min: usize,
        /// The most a page may be.
        max: u32,
    },
    /// The snapshot file is not a regular file (a FIFO, a device, a directory).
    #[error("the snapshot {} is {kind}, not a regular file", path.display())]
    SnapshotNotAFile {
        /// The file.
        path: PathBuf,
        /// What it is instead, e.g. `a FIFO`.
        kind: &'static str,
    },
    /// A snapshot file could not be decoded: the file, and why.
    #[error("{} is not a usable page snapshot", path.display())]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: Box<ShmError>,
    },
    /// The snapshot has bytes after its last page.
    #[error("snapshot has {extra} unexpected bytes after its pages, from offset {expected}")]
    SnapshotTrailing {
        /// Bytes after the last page.
        extra: u64,
        /// Total length the header describes.
        expected: u64,
    },
}
