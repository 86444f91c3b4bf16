//! Page files read through memory maps: how Linux apps read the files a Proton bridge creates in
//! `/dev/shm`, by mapping them into memory (docs/shm.md, "Where the pages are").
//!
//! The file is the backing store of the game's mapping, so a shared read-only map of it shows
//! the game's writes as they happen, and a copy of a page is a memory copy: no system call, where
//! [`DirSource`](crate::DirSource) makes one or more per copy (the torn-read guard copies each
//! page twice, 333 times a second: most of a sampler's time outside its wake-ups).
//!
//! The one hazard of a file map: reading past the end of a file that was cut shorter after it was
//! mapped raises SIGBUS. The bridges size their files once (`ftruncate` to 2048 bytes) and
//! never shorten them; a bridge restarted creates them anew (a new file: this map keeps the old
//! one alive, harmlessly). So the files' sizes and identities are looked at again every
//! [`CHECK_EVERY`] (a replaced file is mapped again, a shrunk one too, or refused when too
//! short), which leaves only a file cut in place between two checks — something no known bridge
//! does — able to stop the process. This module and `windows.rs` are the only ones with
//! `unsafe`.
#![allow(unsafe_code)] // mmap/munmap, and reads through the mapped view; each block says why it is sound.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::io::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::{Duration, Instant};

use crate::dir::open_page_file;
use crate::error::ShmError;
use crate::page::Page;
use crate::source::PageSource;

/// How often the files are looked at again (size, identity).
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

const PAGES: [Page; 3] = [Page::Physics, Page::Graphics, Page::Static];

/// A read-only shared map of a whole file, unmapped on drop.
#[derive(Debug)]
struct Map {
    base: *const u8,
    len: usize,
    /// The file mapped (kept open: its identity is compared with the path's).
    file: File,
    /// Device and inode of `file`.
    id: (u64, u64),
}

// SAFETY: the map is only read through `read_at`, which copies with volatile loads; the pointer
// is not aliased mutably by this process, so moving it to another thread is sound.
unsafe impl Send for Map {}

impl Map {
    fn open(page: Page, path: &Path) -> Result<Map, ShmError> {
        let (file, meta) = open_page_file(page, path)?;
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        // SAFETY: a fresh read-only shared mapping of `len` bytes of an open file: no existing
        // memory is affected, and the result is checked before use.
        let base = unsafe {
            libc::mmap(ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0)
        };
        if base == libc::MAP_FAILED {
            return Err(ShmError::Io {
                op: "mapping",
                path: path.to_owned(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(Map { base: base.cast::<u8>().cast_const(), len, file, id: (meta.dev(), meta.ino()) })
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        if offset.checked_add(buf.len()).is_none_or(|end| end > self.len) {
            return false;
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: `offset + i < offset + buf.len() <= self.len`, inside the map, which stays
            // mapped until `self` drops. The game writes the page concurrently from another
            // process, so each byte is read with a volatile load: the compiler must not assume
            // the memory is stable; tearing across bytes is caught by the torn-read guard
            // (`read_page`). The file is at least `self.len` long as of the last check (see the
            // module's note on SIGBUS).
            *byte = unsafe { ptr::read_volatile(self.base.add(offset + i)) };
        }
        true
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly what mmap returned and was given; nothing reads
        // the map after this (it is dropped).
        unsafe {
            libc::munmap(self.base.cast_mut().cast::<libc::c_void>(), self.len);
        }
    }
}

/// Reads the pages from `acpmf_physics`, `acpmf_graphics` and `acpmf_static` in a directory
/// through memory maps (see the module's notes). Same checks and errors as
/// [`DirSource`](crate::DirSource).
#[derive(Debug)]
pub struct MappedDir {
    dir: PathBuf,
    /// `None` after a check found the file unusable (gone, too short): never read a map whose
    /// file shrank.
    maps: [Option<Map>; 3],
    checked: Instant,
    check_every: Duration,
}

impl MappedDir {
    /// Maps the three page files of `dir`, checking that each holds at least
    /// [`Page::min_size`] bytes. A missing or short file is an error naming it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ShmError> {
        Self::open_checking_every(dir, CHECK_EVERY)
    }

    /// As [`open`](Self::open), looking at the files again every `check_every`.
    pub fn open_checking_every(dir: impl AsRef<Path>, check_every: Duration) -> Result<Self, ShmError> {
        let dir = dir.as_ref().to_path_buf();
        let map = |page: Page| Map::open(page, &dir.join(page.file_name()));
        let maps = [Some(map(Page::Physics)?), Some(map(Page::Graphics)?), Some(map(Page::Static)?)];
        Ok(MappedDir { dir, maps, checked: Instant::now(), check_every })
    }

    /// The path of one page's file.
    pub fn path(&self, page: Page) -> PathBuf {
        self.dir.join(page.file_name())
    }

    /// Maps again each file that was replaced (another file at its path) or whose size
    /// changed; a file that cannot be used any more is unmapped and the error returned.
    fn check(&mut self) -> Result<(), ShmError> {
        self.checked = Instant::now();
        for page in PAGES {
            let path = self.path(page);
            let slot = &mut self.maps[page.index()];
            let unchanged = match slot {
                Some(map) => {
                    let at_path = std::fs::metadata(&path).ok().map(|m| (m.dev(), m.ino()));
                    let len = map.file.metadata().ok().map(|m| m.len());
                    at_path == Some(map.id) && len == Some(map.len as u64)
                }
                None => false,
            };
            if !unchanged {
                *slot = None;
                *slot = Some(Map::open(page, &path)?);
            }
        }
        Ok(())
    }

    /// The map of `page`, mapping it again first if a check had to drop it.
    fn map(&mut self, page: Page) -> Result<&Map, ShmError> {
        if self.maps[page.index()].is_none() {
            self.check()?;
        }
        self.maps[page.index()].as_ref().ok_or_else(|| ShmError::PageTooShort {
            page,
            location: self.path(page).display().to_string(),
            actual: 0,
            needed: page.min_size(),
        })
    }
}

impl PageSource for MappedDir {
    fn location(&self, page: Page) -> String {
        self.path(page).display().to_string()
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        if self.checked.elapsed() >= self.check_every {
            self.check()?;
        }
        Ok(self.map(page)?.len as u64)
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let map = self.map(page)?;
        if usize::try_from(offset).is_ok_and(|offset| map.read_at(offset, buf)) {
            return Ok(());
        }
        let actual = map.len as u64;
        Err(ShmError::PageTooShort {
            page,
            location: self.location(page),
            actual,
            needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(buf.len()),
        })
    }
}
