//! Where pages come from, and how to copy one without tearing it.

use crate::error::ShmError;
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};
use crate::page::Page;

/// How many times a page read is retried when its `packetId` changed during the copy, by
/// default. The physics page changes every 3 ms and a copy takes microseconds, so more than a
/// couple of retries in a row means something is wrong.
pub const DEFAULT_MAX_RETRIES: u32 = 8;

/// A place the three pages can be read from: the game's Windows mappings, the files a Proton
/// bridge creates in `/dev/shm`, or a [`Snapshot`](crate::Snapshot).
///
/// Implementors supply two raw operations; the provided methods build consistent page reads
/// on top of them (see [`read_page`]).
pub trait PageSource {
    /// A human-readable name of where `page` lives (a path, a mapping name), for errors.
    fn location(&self, page: Page) -> String;

    /// How many bytes the source holds for `page` (a Proton bridge's file is usually 2048
    /// bytes: larger than the page).
    fn page_len(&mut self, page: Page) -> Result<u64, ShmError>;

    /// Copies `buf.len()` bytes of `page`, starting at `offset`, into `buf`. Reading past the
    /// end is an error ([`ShmError::PageTooShort`]), never a panic.
    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError>;

    /// Reads the physics page consistently (retrying torn copies up to
    /// [`DEFAULT_MAX_RETRIES`] times).
    fn read_physics(&mut self, out: &mut PhysicsPage) -> Result<ReadInfo, ShmError> {
        read_page(self, Page::Physics, out.as_mut_bytes(), DEFAULT_MAX_RETRIES)
    }

    /// Reads the graphics page consistently (retrying torn copies up to
    /// [`DEFAULT_MAX_RETRIES`] times).
    fn read_graphics(&mut self, out: &mut GraphicsPage) -> Result<ReadInfo, ShmError> {
        read_page(self, Page::Graphics, out.as_mut_bytes(), DEFAULT_MAX_RETRIES)
    }

    /// Reads the static page. It has no `packetId`, so it is copied once; the game writes it
    /// only when a session loads.
    fn read_static(&mut self, out: &mut StaticPage) -> Result<ReadInfo, ShmError> {
        read_page(self, Page::Static, out.as_mut_bytes(), 0)
    }
}

impl<S: PageSource + ?Sized> PageSource for &mut S {
    fn location(&self, page: Page) -> String {
        (**self).location(page)
    }
    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        (**self).page_len(page)
    }
    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        (**self).read_at(page, offset, buf)
    }
}

impl<S: PageSource + ?Sized> PageSource for Box<S> {
    fn location(&self, page: Page) -> String {
        (**self).location(page)
    }
    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        (**self).page_len(page)
    }
    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        (**self).read_at(page, offset, buf)
    }
}

/// What a consistent read took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadInfo {
    /// Copies thrown away because the page changed during them.
    pub retries: u32,
    /// Bytes the source held for the page (may be more than were copied).
    pub source_len: u64,
}

/// Copies `page` from `source` into `buf` (the page struct's bytes), guarding against torn
/// reads.
///
/// The game overwrites its pages in place with no lock, so a copy can mix two steps. For pages
/// with a `packetId`, the page is copied twice and kept only when both copies are equal;
/// otherwise it is retried, at most `max_retries` times, then [`ShmError::Torn`] is returned
/// (callers count and skip it). This catches every write that overlaps the read — what the
/// usual id-before-and-after heuristic catches (docs/shm.md), and a writer that updates the id first.
///
/// The source must hold at least [`Page::min_size`] bytes. When it holds less than `buf`
/// (a physics page without its optional tail), the rest of `buf` is zeroed.
pub fn read_page<S: PageSource + ?Sized>(
    source: &mut S,
    page: Page,
    buf: &mut [u8],
    max_retries: u32,
) -> Result<ReadInfo, ShmError> {
    let source_len = source.page_len(page)?;
    if source_len < page.min_size() as u64 {
        return Err(ShmError::PageTooShort {
            page,
            location: source.location(page),
            actual: source_len,
            needed: page.min_size(),
        });
    }
    // Copy what both sides have: a 2048-byte bridge file fills the whole struct, a 580-byte
    // physics page leaves the optional tail zeroed.
    let n = usize::try_from(source_len).map_or(buf.len(), |len| len.min(buf.len()));
    let (copy, rest) = buf.split_at_mut(n);
    rest.fill(0);

    let Some(id_offset) = page.packet_id_offset() else {
        source.read_at(page, 0, copy)?;
        return Ok(ReadInfo { retries: 0, source_len });
    };
    // Two copies, kept only when they are equal. A write that overlaps either copy makes them
    // differ (the page's packetId alone moves on every write, docs/shm.md), so this catches all a
    // check of the id before and after the copy catches — a write before the first copy leaves
    // two equal copies of the new step, which is a consistent read, not a torn one — and also
    // a writer that updates packetId first and the rest after. It misses only a writer stalled
    // mid-page for the whole read, as the id check does. Two reads per attempt, not four: on
    // page files each is a system call, 333 times a second.
    let mut second = [0u8; MAX_PAGE_LEN];
    let Some(check) = second.get_mut(..copy.len()) else {
        // Never for our pages (all shorter than MAX_PAGE_LEN); fall back to the id check alone.
        return read_checked_by_id(source, page, copy, id_offset, max_retries, source_len);
    };
    for attempt in 0..=max_retries {
        source.read_at(page, 0, copy)?;
        source.read_at(page, 0, check)?;
        if copy == check {
            return Ok(ReadInfo { retries: attempt, source_len });
        }
    }
    Err(ShmError::Torn { page, attempts: max_retries.saturating_add(1) })
}

/// Longest page we copy (the physics page with its tail is 712 bytes).
const MAX_PAGE_LEN: usize = 1024;

fn read_checked_by_id<S: PageSource + ?Sized>(
    source: &mut S,
    page: Page,
    copy: &mut [u8],
    id_offset: usize,
    max_retries: u32,
    source_len: u64,
) -> Result<ReadInfo, ShmError> {
    for attempt in 0..=max_retries {
        let before = read_id(source, page, id_offset)?;
        source.read_at(page, 0, copy)?;
        let after = read_id(source, page, id_offset)?;
        let copied = copy.get(id_offset..id_offset + 4).and_then(|b| <[u8; 4]>::try_from(b).ok());
        if before == after && copied == Some(before.to_le_bytes()) {
            return Ok(ReadInfo { retries: attempt, source_len });
        }
    }
    Err(ShmError::Torn { page, attempts: max_retries.saturating_add(1) })
}

pub(crate) fn read_id<S: PageSource + ?Sized>(
    source: &mut S,
    page: Page,
    offset: usize,
) -> Result<i32, ShmError> {
    let mut id = [0u8; 4];
    source.read_at(page, offset as u64, &mut id)?;
    Ok(i32::from_le_bytes(id))
}
