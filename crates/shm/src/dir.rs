//! Pages as files in a directory: what the Proton bridges (simshmbridge, shm-bridge, simd)
//! create in `/dev/shm` on Linux, and what a writer such as the game simulator can produce
//! anywhere for tests.
//!
//! The Linux file *is* the backing store of the game's mapping, so its bytes are exactly what
//! AC writes. Bridges size the files at 2048 bytes, larger than any page: lengths are checked
//! with `>=`, never `==`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::ShmError;
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};
use crate::page::Page;
use crate::source::PageSource;

/// Where the Proton bridges put the page files.
pub const DEFAULT_DIR: &str = "/dev/shm";

/// Length the Proton bridges give each page file, and the default of [`DirWriter::create`].
pub const BRIDGE_FILE_LEN: u64 = 2048;

/// Reads the pages from `acpmf_physics`, `acpmf_graphics` and `acpmf_static` in a directory.
///
/// The files stay open; each read is a seek and a read, so a writer updating them in place is
/// seen at once (with the usual torn-read guard of [`read_page`](crate::read_page)).
#[derive(Debug)]
pub struct DirSource {
    dir: PathBuf,
    files: [File; 3],
}

impl DirSource {
    /// Opens the three page files in `dir`, checking that each holds at least
    /// [`Page::min_size`] bytes. A missing or short file is an error naming it (and the sizes).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ShmError> {
        let dir = dir.as_ref().to_path_buf();
        let open = |page: Page| open_page_file(page, &dir.join(page.file_name())).map(|(file, _)| file);
        let files = [open(Page::Physics)?, open(Page::Graphics)?, open(Page::Static)?];
        Ok(DirSource { dir, files })
    }

    /// Opens the files in [`DEFAULT_DIR`] (`/dev/shm`).
    pub fn open_default() -> Result<Self, ShmError> {
        Self::open(DEFAULT_DIR)
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of one page's file.
    pub fn path(&self, page: Page) -> PathBuf {
        self.dir.join(page.file_name())
    }
}

impl PageSource for DirSource {
    fn location(&self, page: Page) -> String {
        self.path(page).display().to_string()
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        // Asked on every read, not cached: a bridge restarting may truncate and regrow the file.
        let meta = self.files[page.index()].metadata().map_err(|source| ShmError::Io {
            op: "reading the size of",
            path: self.path(page),
            source,
        })?;
        Ok(meta.len())
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let file = &mut self.files[page.index()];
        let result = file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_exact(buf));
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let actual = file.metadata().map(|m| m.len()).unwrap_or(0);
                Err(ShmError::PageTooShort {
                    page,
                    location: self.path(page).display().to_string(),
                    actual,
                    needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(buf.len()),
                })
            }
            Err(source) => Err(ShmError::Io { op: "reading", path: self.path(page), source }),
        }
    }
}

/// Opens one page's file for reading, checking that it is a regular file holding at least
/// [`Page::min_size`] bytes; a missing, short or special file is an error naming it (and the
/// sizes). Returns the file and its metadata as of the check.
pub(crate) fn open_page_file(page: Page, path: &Path) -> Result<(File, std::fs::Metadata), ShmError> {
    let (file, meta) = open_regular(path, false).map_err(|e| match e {
        OpenError::Open(source) => ShmError::Open { page, path: path.to_owned(), source },
        OpenError::Stat(source) => ShmError::Io { op: "reading the size of", path: path.to_owned(), source },
        OpenError::NotAFile(kind) => ShmError::NotAFile { page, path: path.to_owned(), kind },
    })?;
    if meta.len() < page.min_size() as u64 {
        return Err(ShmError::PageTooShort {
            page,
            location: path.display().to_string(),
            actual: meta.len(),
            needed: page.min_size(),
        });
    }
    Ok((file, meta))
}

/// Why [`open_regular`] failed.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Opening failed (the file is missing, say).
    Open(io::Error),
    /// Its metadata could not be read.
    Stat(io::Error),
    /// It is not a regular file; what it is instead, e.g. `a FIFO`.
    NotAFile(&'static str),
}

/// Opens `path` (for reading, and for writing too with `write`) only if it is a regular file,
/// without blocking or touching anything else: a FIFO, a device, a socket or a directory in its
/// place is refused, said for what it is. Returns the file and its metadata as of the check.
pub(crate) fn open_regular(path: &Path, write: bool) -> Result<(File, std::fs::Metadata), OpenError> {
    // Looked at before opening: opening a FIFO waits for the other end, and opening a device
    // can have effects of its own. A missing file is left to `open`, which says so (or, for a
    // writer, creates it).
    if let Ok(meta) = std::fs::metadata(path) {
        check_regular(&meta)?;
    }
    let mut options = OpenOptions::new();
    options.read(true);
    if write {
        options.write(true).create(true).truncate(false);
    }
    // Non-blocking, in case the file was replaced by a FIFO since the check above: the open
    // then returns at once and the check below refuses it. On a regular file the flag changes
    // nothing (reads and writes of regular files never block in that sense).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(OpenError::Open)?;
    let meta = file.metadata().map_err(OpenError::Stat)?;
    check_regular(&meta)?;
    Ok((file, meta))
}

/// Refuses anything but a regular file, saying what it is instead.
fn check_regular(meta: &std::fs::Metadata) -> Result<(), OpenError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(OpenError::NotAFile(if kind.is_dir() { "a directory" } else { special_kind(kind) }))
}

#[cfg(unix)]
fn special_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: std::fs::FileType) -> &'static str {
    "a special file"
}

/// Writes pages into `acpmf_*` files in a directory, in place, the way the game writes its
/// mapping (a Proton bridge's files, for the game simulator and for tests).
#[derive(Debug)]
pub struct DirWriter {
    dir: PathBuf,
    files: [File; 3],
}

impl DirWriter {
    /// Creates (or opens) the three files in `dir` and makes each at least `file_len` bytes
    /// long, and never shorter than its page. Existing contents are kept, as a bridge keeps
    /// them; write the pages next. A page file that exists and is not a regular file (a FIFO,
    /// a device, a directory) is refused with [`ShmError::NotAFile`].
    pub fn create(dir: impl AsRef<Path>, file_len: u64) -> Result<Self, ShmError> {
        let dir = dir.as_ref().to_path_buf();
        let create = |page: Page| -> Result<File, ShmError> {
            let path = dir.join(page.file_name());
            // Only a regular file is a page file: writing pages into a FIFO would block once its
            // buffer is full, into a device would write to the device.
            let (file, meta) = open_regular(&path, true).map_err(|e| match e {
                OpenError::Open(source) => ShmError::Open { page, path: path.clone(), source },
                OpenError::Stat(source) => {
                    ShmError::Io { op: "reading the size of", path: path.clone(), source }
                }
                OpenError::NotAFile(kind) => ShmError::NotAFile { page, path: path.clone(), kind },
            })?;
            let want = file_len.max(page.size() as u64);
            let len = meta.len();
            if len < want {
                file.set_len(want).map_err(|source| ShmError::Io { op: "resizing", path, source })?;
            }
            Ok(file)
        };
        let files = [create(Page::Physics)?, create(Page::Graphics)?, create(Page::Static)?];
        Ok(DirWriter { dir, files })
    }

    /// The path of one page's file.
    pub fn path(&self, page: Page) -> PathBuf {
        self.dir.join(page.file_name())
    }

    /// Writes raw page bytes at the start of the page's file, without truncating it (a reader
    /// must never see the file shrink).
    pub fn write_bytes(&mut self, page: Page, bytes: &[u8]) -> Result<(), ShmError> {
        let path = self.path(page);
        let file = &mut self.files[page.index()];
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(bytes))
            .and_then(|()| file.flush())
            .map_err(|source| ShmError::Io { op: "writing", path, source })
    }

    /// Writes the physics page.
    pub fn write_physics(&mut self, page: &PhysicsPage) -> Result<(), ShmError> {
        self.write_bytes(Page::Physics, page.as_bytes())
    }

    /// Writes the graphics page.
    pub fn write_graphics(&mut self, page: &GraphicsPage) -> Result<(), ShmError> {
        self.write_bytes(Page::Graphics, page.as_bytes())
    }

    /// Writes the static page.
    pub fn write_static(&mut self, page: &StaticPage) -> Result<(), ShmError> {
        self.write_bytes(Page::Static, page.as_bytes())
    }
}
