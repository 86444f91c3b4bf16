//! CAR_UPDATE is most of the traffic (one per car, up to 10 times a second), so decoding it, and
//! the other fixed-size messages, must not touch the heap. A counting global allocator checks it.

// A global allocator can only be written with `unsafe`; this one only counts and forwards to
// the system allocator, and lives in the test binary alone.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crate::vectors;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may already be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by this thread while running `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn fixed_size_events_decode_without_allocating() {
    for v in [
        vectors::car_update(),
        vectors::collision_with_car(),
        vectors::collision_with_env(),
        vectors::version(),
        vectors::client_loaded(),
    ] {
        let (event, n) = allocations(|| acsp::decode(&v.bytes));
        assert_eq!(event.as_ref(), Ok(&v.value));
        assert_eq!(n, 0, "{}: decode allocated", v.name);
        let (d, n) = allocations(|| acsp::decode_datagram(&v.bytes));
        assert_eq!(d.map(|d| d.message), Ok(v.value.clone()));
        assert_eq!(n, 0, "{}: decode_datagram allocated", v.name);
        let (d, n) = allocations(|| acsp::decode_prefix(&v.bytes, 0));
        assert!(d.is_ok());
        assert_eq!(n, 0, "{}: decode_prefix allocated", v.name);
    }
    // The counter does count: a chat line owns its text.
    let (chat, n) = allocations(|| acsp::decode(&vectors::chat().bytes));
    assert!(chat.is_ok());
    assert!(n >= 1, "{n}");
}

#[test]
fn encoding_into_a_reserved_buffer_does_not_allocate() {
    let mut out = Vec::with_capacity(4096);
    for v in vectors::events() {
        out.clear();
        let (r, n) = allocations(|| acsp::encode_event(&v.value, &mut out));
        assert_eq!(r, Ok(()));
        assert_eq!(n, 0, "{}: encode allocated", v.name);
    }
}
