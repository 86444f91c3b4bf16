//! Windows: the game's named mappings `Local\acpmf_physics`, `_graphics`, `_static`, read by
//! [`MappingSource`] and created and written by [`MappingWriter`] (the game simulator's stand-in
//! for the game, so a Windows reader can be tested without AC).
//!
//! Opening or creating a named mapping and going through a raw view pointer needs Win32 calls,
//! so this module is the crate's only unsafe code, kept to the few calls a reader and a writer
//! need. Everything above it (the torn-read guard, the layouts) is the same safe code every
//! source uses.
#![allow(unsafe_code)] // Win32 FFI and accesses through the mapped view; each block says why it is sound.

use std::ffi::c_void;
use std::ptr;

use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP, FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_BASIC_INFORMATION,
    MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, OpenFileMappingW, PAGE_READWRITE, UnmapViewOfFile,
    VirtualQuery,
};

use crate::error::ShmError;
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};
use crate::page::Page;
use crate::source::PageSource;

/// One page's mapping, mapped into this process (read-only for a reader, read-write for a
/// writer).
#[derive(Debug)]
struct View {
    handle: HANDLE,
    base: *mut u8,
    len: usize,
}

/// The error of the Win32 call `op` on `page`'s mapping, with `GetLastError()`.
fn last_error(page: Page, op: &'static str) -> ShmError {
    // SAFETY: GetLastError has no preconditions.
    let code = unsafe { GetLastError() };
    ShmError::Mapping { page, name: page.mapping_name(), op, code }
}

fn wide_name(page: Page) -> Vec<u16> {
    page.mapping_name().encode_utf16().chain(Some(0)).collect()
}

impl View {
    /// Opens the existing mapping read-only, as a reader next to the game does.
    fn open(page: Page) -> Result<Self, ShmError> {
        let name = wide_name(page);
        // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call.
        let handle = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, name.as_ptr()) };
        if handle.is_null() {
            return Err(last_error(page, "open"));
        }
        Self::map(page, handle, FILE_MAP_READ)
    }

    /// Creates the mapping, backed by the paging file and `len` bytes long, as the game does
    /// when a session starts; opens it instead when it exists already (the existing size then
    /// wins, and writes are checked against it).
    fn create(page: Page, len: u32) -> Result<Self, ShmError> {
        let name = wide_name(page);
        // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call; a null
        // SECURITY_ATTRIBUTES pointer means the default security, and INVALID_HANDLE_VALUE
        // asks for a mapping backed by the paging file rather than by a file of ours.
        let handle = unsafe {
            CreateFileMappingW(INVALID_HANDLE_VALUE, ptr::null(), PAGE_READWRITE, 0, len, name.as_ptr())
        };
        if handle.is_null() {
            return Err(last_error(page, "create"));
        }
        // FILE_MAP_WRITE gives read-write access.
        Self::map(page, handle, FILE_MAP_WRITE)
    }

    /// Maps the whole of the mapping behind `handle` (which the view then owns, and which is
    /// closed on failure) and finds out how many bytes are mapped.
    fn map(page: Page, handle: HANDLE, access: FILE_MAP) -> Result<Self, ShmError> {
        // SAFETY: `handle` is a mapping handle we own; a length of 0 maps the whole mapping.
        let view = unsafe { MapViewOfFile(handle, access, 0, 0, 0) };
        if view.Value.is_null() {
            let err = last_error(page, "map");
            // SAFETY: `handle` is ours and not used again.
            unsafe { CloseHandle(handle) };
            return Err(err);
        }
        // A reader is not told the mapping's size: ask for the size of the mapped region (whole
        // 4 KiB pages, the rest zero-filled), so accesses are bounded by what is mapped.
        let mut info = MEMORY_BASIC_INFORMATION::default();
        // SAFETY: `info` is a valid, writable MEMORY_BASIC_INFORMATION of the size we pass.
        let got = unsafe { VirtualQuery(view.Value, &mut info, size_of::<MEMORY_BASIC_INFORMATION>()) };
        if got == 0 {
            let err = last_error(page, "query");
            // SAFETY: the view and handle are ours and not used again.
            unsafe {
                UnmapViewOfFile(view);
                CloseHandle(handle);
            }
            return Err(err);
        }
        // A view starts at its region's base; subtract any offset anyway to stay in bounds.
        let offset = (view.Value as usize).saturating_sub(info.BaseAddress as usize);
        Ok(View { handle, base: view.Value.cast::<u8>(), len: info.RegionSize.saturating_sub(offset) })
    }

    fn in_bounds(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        if !self.in_bounds(offset, buf.len()) {
            return false;
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: `offset + i < offset + buf.len() <= self.len`, inside the view, which
            // stays mapped until `self` drops. The game writes the page concurrently from
            // another process, so each byte is read with a volatile load: the compiler must not
            // assume the memory is stable, and tearing across bytes is caught by the packet-id
            // guard above us.
            *byte = unsafe { ptr::read_volatile(self.base.add(offset + i)) };
        }
        true
    }

    /// Only called on views mapped with FILE_MAP_WRITE (those of a [`MappingWriter`]).
    fn write_at(&mut self, offset: usize, bytes: &[u8]) -> bool {
        if !self.in_bounds(offset, bytes.len()) {
            return false;
        }
        for (i, &byte) in bytes.iter().enumerate() {
            // SAFETY: in bounds as in `read_at`, and the view is writable. Readers in other
            // processes copy the page concurrently, so the stores are volatile: each one must
            // really reach the shared memory, in order, as the game's do.
            unsafe { ptr::write_volatile(self.base.add(offset + i), byte) };
        }
        true
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: the view and the handle were obtained in `map` and are released only here.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: self.base.cast::<c_void>() });
            CloseHandle(self.handle);
        }
    }
}

/// Reads the pages from the running game's named mappings (Windows, or a Windows build under
/// Wine next to the game).
#[derive(Debug)]
pub struct MappingSource {
    views: [View; 3],
}

// SAFETY: the views are mappings owned by this value; mapped memory and the mapping handle may
// be used from any thread of the process, so moving the source to another thread is sound. It
// is not `Sync`: reads take `&mut self`.
unsafe impl Send for MappingSource {}

impl MappingSource {
    /// Opens the three mappings. Fails with [`ShmError::Mapping`] (naming the mapping and the
    /// Windows error) when the game is not running: AC creates them when it starts a session.
    pub fn open() -> Result<Self, ShmError> {
        Ok(MappingSource {
            views: [View::open(Page::Physics)?, View::open(Page::Graphics)?, View::open(Page::Static)?],
        })
    }
}

impl PageSource for MappingSource {
    fn location(&self, page: Page) -> String {
        page.mapping_name().to_owned()
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        Ok(self.views[page.index()].len as u64)
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let view = &self.views[page.index()];
        let ok = usize::try_from(offset).is_ok_and(|offset| view.read_at(offset, buf));
        if ok { Ok(()) } else { Err(too_short(page, view, offset, buf.len())) }
    }
}

fn too_short(page: Page, view: &View, offset: u64, len: usize) -> ShmError {
    ShmError::PageTooShort {
        page,
        location: page.mapping_name().to_owned(),
        actual: view.len as u64,
        needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(len),
    }
}

/// Creates the game's three named mappings and writes pages into them in place, the way the
/// game does: for the game simulator on Windows, so the Windows reader (the bridge) can run
/// against it without AC.
///
/// The mappings live as long as some process holds them: while this writer (or a reader)
/// exists. Readers in other processes of the same session (or the same Wine prefix) see every
/// write at once.
#[derive(Debug)]
pub struct MappingWriter {
    views: [View; 3],
}

// SAFETY: as for `MappingSource`: the views are owned by this value and usable from any
// thread; writes take `&mut self`.
unsafe impl Send for MappingWriter {}

impl MappingWriter {
    /// Creates (or opens, when they exist) the three mappings, each sized to its page struct as
    /// the game sizes them. New mappings start zeroed; write the pages next.
    pub fn create() -> Result<Self, ShmError> {
        // The page structs are under 1 KiB: the sizes fit a u32.
        let create = |page: Page| View::create(page, page.size() as u32);
        Ok(MappingWriter { views: [create(Page::Physics)?, create(Page::Graphics)?, create(Page::Static)?] })
    }

    /// Writes raw page bytes at the start of the page's mapping. Bytes past the mapping are
    /// refused ([`ShmError::PageTooShort`]), never written.
    pub fn write_bytes(&mut self, page: Page, bytes: &[u8]) -> Result<(), ShmError> {
        let view = &mut self.views[page.index()];
        if view.write_at(0, bytes) { Ok(()) } else { Err(too_short(page, view, 0, bytes.len())) }
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

// These run only in a Windows build (natively, or under Wine: scripts/interop/shm_windows.sh).
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{ManualClock, Poller, Snapshot, Status};

    /// The mapping names are global to the session, so the tests that create them take turns.
    static MAPPINGS: Mutex<()> = Mutex::new(());

    fn sample() -> Snapshot {
        let mut s = Snapshot::default();
        s.physics.packet_id = 41;
        s.physics.speed_kmh = 251.25;
        s.physics.wheel_load = [3500.5, 3600.25, 4100.0, -0.0];
        s.physics.tyre_temp = [88.0, 89.0, 92.0, 93.0];
        s.graphics.packet_id = 7;
        s.graphics.set_status(Status::Live);
        s.graphics.set_tyre_compound("Semislicks (SM) – «ß» 🏁");
        s.graphics.normalized_car_position = 0.4375;
        s.static_page.set_sm_version("1.7");
        s.static_page.set_track("ks_nürburgring");
        s.static_page.set_player_name("Zoë Ångström");
        s.static_page.pit_window_end = 23;
        s
    }

    fn write(writer: &mut MappingWriter, s: &Snapshot) {
        writer.write_static(&s.static_page).unwrap();
        writer.write_graphics(&s.graphics).unwrap();
        writer.write_physics(&s.physics).unwrap();
    }

    #[test]
    fn a_reader_sees_what_the_writer_wrote() {
        let _turn = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
        let mut writer = MappingWriter::create().unwrap();
        let written = sample();
        write(&mut writer, &written);

        let mut source = MappingSource::open().unwrap();
        for page in Page::ALL {
            assert!(source.page_len(page).unwrap() >= page.size() as u64, "{page} mapping too short");
            assert_eq!(source.location(page), page.mapping_name());
        }
        let read = Snapshot::capture(&mut source).unwrap();
        assert_eq!(read, written);
        assert_eq!(read.decode().static_page.player_name, "Zoë Ångström");

        // Writes in place are seen by a reader that is already open.
        let mut next = written.clone();
        next.physics.packet_id += 1;
        next.physics.speed_kmh = 252.0;
        writer.write_physics(&next.physics).unwrap();
        assert_eq!(Snapshot::capture(&mut source).unwrap(), next);
    }

    #[test]
    fn the_poller_yields_each_new_step_once() {
        let _turn = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
        let mut writer = MappingWriter::create().unwrap();
        let mut pages = sample();
        write(&mut writer, &pages);
        let clock = ManualClock::new(0);
        let mut poller = Poller::new(MappingSource::open().unwrap(), &clock);
        let mut seen = Vec::new();
        for id in [100, 101, 101, 104] {
            pages.physics.packet_id = id;
            writer.write_physics(&pages.physics).unwrap();
            clock.advance(3_000_000);
            if let Some(sample) = poller.poll().unwrap() {
                seen.push(sample.physics.packet_id);
            }
        }
        assert_eq!(seen, [100, 101, 104]);
        assert_eq!(poller.stats().duplicates, 1);
        assert_eq!(poller.stats().missed_steps, 2);
        assert_eq!(poller.static_page().map(|s| s.track()).as_deref(), Some("ks_nürburgring"));
    }

    #[test]
    fn writes_past_the_mapping_are_refused() {
        let _turn = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
        let mut writer = MappingWriter::create().unwrap();
        let err = writer.write_bytes(Page::Static, &vec![1u8; 1 << 20]).unwrap_err();
        assert!(matches!(err, ShmError::PageTooShort { page: Page::Static, .. }), "{err}");
    }

    #[test]
    fn opening_without_the_game_names_the_mapping() {
        let _turn = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
        // Another process of the session (a simulator) may hold the mappings; then there is
        // nothing to check here.
        if let Err(err) = MappingSource::open() {
            // ERROR_FILE_NOT_FOUND: no mapping of that name.
            assert!(matches!(err, ShmError::Mapping { op: "open", code: 2, .. }), "{err}");
            assert!(err.to_string().contains(r"Local\acpmf_physics"), "{err}");
        }
    }
}
