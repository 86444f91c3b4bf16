//! Windows reader: the game's named mappings `Local\acpmf_physics`, `_graphics`, `_static`.
//!
//! Opening a named mapping and reading through a raw view pointer needs Win32 calls, so this
//! module is the crate's only unsafe code, kept to the few calls a reader needs. Everything
//! above it (the torn-read guard, the layouts) is the same safe code every source uses.
#![allow(unsafe_code)] // Win32 FFI and reads through the mapped view; each block says why it is sound.

use std::ffi::c_void;
use std::ptr;

use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, HANDLE};
use windows_sys::Win32::System::Memory::{
    FILE_MAP_READ, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, OpenFileMappingW,
    UnmapViewOfFile, VirtualQuery,
};

use crate::error::ShmError;
use crate::page::Page;
use crate::source::PageSource;

/// One page's mapping, mapped read-only into this process.
#[derive(Debug)]
struct View {
    handle: HANDLE,
    base: *const u8,
    len: usize,
}

impl View {
    fn open(page: Page) -> Result<Self, ShmError> {
        let name = page.mapping_name();
        let fail = |op: &'static str| {
            // SAFETY: GetLastError has no preconditions.
            let code = unsafe { GetLastError() };
            ShmError::Mapping { page, name, op, code }
        };
        let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call.
        let handle = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, wide.as_ptr()) };
        if handle.is_null() {
            return Err(fail("open"));
        }
        // SAFETY: `handle` is a mapping handle we own; a length of 0 maps the whole mapping.
        let view = unsafe { MapViewOfFile(handle, FILE_MAP_READ, 0, 0, 0) };
        if view.Value.is_null() {
            let err = fail("map");
            // SAFETY: `handle` is ours and not used again.
            unsafe { CloseHandle(handle) };
            return Err(err);
        }
        // The mapping's size is not given by the game: ask for the size of the mapped region
        // (whole 4 KiB pages, the rest zero-filled), so reads are bounded by what is mapped.
        let mut info = MEMORY_BASIC_INFORMATION::default();
        // SAFETY: `info` is a valid, writable MEMORY_BASIC_INFORMATION of the size we pass.
        let got = unsafe { VirtualQuery(view.Value, &mut info, size_of::<MEMORY_BASIC_INFORMATION>()) };
        if got == 0 {
            let err = fail("query");
            // SAFETY: the view and handle are ours and not used again.
            unsafe {
                UnmapViewOfFile(view);
                CloseHandle(handle);
            }
            return Err(err);
        }
        // A view starts at its region's base; subtract any offset anyway to stay in bounds.
        let offset = (view.Value as usize).saturating_sub(info.BaseAddress as usize);
        Ok(View { handle, base: view.Value as *const u8, len: info.RegionSize.saturating_sub(offset) })
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(buf.len()) else { return false };
        if end > self.len {
            return false;
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: `offset + i < end <= self.len`, inside the view, which stays mapped until
            // `self` drops. The game writes the page concurrently from another process, so each
            // byte is read with a volatile load: the compiler must not assume the memory is
            // stable, and tearing across bytes is caught by the packet-id guard above us.
            *byte = unsafe { ptr::read_volatile(self.base.add(offset + i)) };
        }
        true
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: the view and the handle were obtained in `open` and are released only here.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: self.base as *mut c_void });
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

// SAFETY: the views are read-only mappings owned by this value; mapped memory and the mapping
// handle may be used from any thread of the process, so moving the source to another thread is
// sound. It is not `Sync`: reads take `&mut self`.
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
        if ok {
            Ok(())
        } else {
            Err(ShmError::PageTooShort {
                page,
                location: self.location(page),
                actual: view.len as u64,
                needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(buf.len()),
            })
        }
    }
}
