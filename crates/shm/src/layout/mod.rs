//! The three pages as `#[repr(C)]` plain data, byte for byte as the game writes them.
//!
//! Every scalar is 4 bytes (`int`, `float`, and the enums, which are typedef'd `int`), so the
//! game's `#pragma pack(4)` and Rust's natural alignment give the same layout. The only padding
//! is 2 bytes after some `wchar_t` arrays; it is an explicit `_pad` field here, because the
//! zerocopy derives (which give us safe byte views) refuse implicit padding. Sizes and every
//! field offset are asserted at compile time beside each struct.
//!
//! Numeric fields are public and already in our names and units (`speed_kmh`, `wheel_slip`
//! in FL, FR, RL, RR order, ...). Fields whose raw form is not their natural type have a
//! same-named accessor that decodes them: strings (`track_configuration()` → `String`), enums
//! (`status()` → [`Status`](crate::Status)) and 0/1 ints (`is_in_pit()` → `bool`), with
//! `set_*` counterparts for writers such as the game simulator.

mod graphics;
mod physics;
mod static_page;

pub use graphics::GraphicsPage;
pub use physics::PhysicsPage;
pub use static_page::StaticPage;

/// Size of [`PhysicsPage`]: the documented 580 bytes plus the optional tail up to `tyreTemp`.
pub const PHYSICS_SIZE: usize = 712;
/// Size of the physics page as the AC doc describes it (SM 1.7, up to `localVelocity`). A
/// source must hold at least this much.
pub const PHYSICS_DOCUMENTED_SIZE: usize = 580;
/// Size of [`GraphicsPage`] (AC1; ACC's graphics page is a different, larger layout).
pub const GRAPHICS_SIZE: usize = 296;
/// Size of [`StaticPage`] (AC1, with `trackConfiguration` as 33 UTF-16 units).
pub const STATIC_SIZE: usize = 684;

#[cfg(target_endian = "big")]
compile_error!("the page layouts mirror AC's little-endian memory; big-endian hosts are not supported");

/// Asserts, at compile time, a struct's size and the byte offset of each listed field.
macro_rules! assert_layout {
    ($ty:ty, size = $size:expr, { $($field:ident = $offset:expr),* $(,)? }) => {
        const _: () = assert!(size_of::<$ty>() == $size);
        $( const _: () = assert!(core::mem::offset_of!($ty, $field) == $offset); )*
    };
}

/// Accessors for fields the game stores as 0/1 ints.
macro_rules! flag_accessors {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("`", stringify!($field), "` as a bool (the page stores an int, 0 or 1).")]
                pub fn $field(&self) -> bool {
                    self.$field != 0
                }
            )*
        }
    };
}

/// Accessors for the fixed-size UTF-16 strings: a lossy decode up to the first NUL, and a
/// setter that truncates at a character boundary (returning `false` when it had to).
macro_rules! string_accessors {
    ($ty:ty { $($field:ident / $setter:ident),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("`", stringify!($field), "`, decoded from UTF-16 up to the first NUL.")]
                pub fn $field(&self) -> String {
                    crate::text::decode_utf16(&self.$field)
                }

                #[doc = concat!("Sets `", stringify!($field), "`; returns `false` if the text had to be cut to fit.")]
                pub fn $setter(&mut self, text: &str) -> bool {
                    crate::text::encode_utf16(&mut self.$field, text)
                }
            )*
        }
    };
}

/// `Default` (all zeros), `new`, and the byte views every page shares.
macro_rules! page_common {
    ($ty:ty, $page:expr) => {
        impl $ty {
            /// A page of zeros, as the game's mapping starts out.
            pub fn new() -> Self {
                zerocopy::FromZeros::new_zeroed()
            }

            /// The page's bytes, exactly as the game lays them out.
            pub fn as_bytes(&self) -> &[u8] {
                zerocopy::IntoBytes::as_bytes(self)
            }

            /// The page's bytes, writable (readers copy into this).
            pub fn as_mut_bytes(&mut self) -> &mut [u8] {
                zerocopy::IntoBytes::as_mut_bytes(self)
            }

            /// Reads a page from the start of `bytes`, as a reader would: bytes past the struct
            /// are ignored (the Proton bridges' files are 2048 bytes long), and a shorter slice
            /// of at least [`Page::min_size`](crate::Page::min_size) bytes (a physics page
            /// without its optional tail) is zero-extended. `None` when `bytes` is too short.
            pub fn from_prefix(bytes: &[u8]) -> Option<Self> {
                let mut page = Self::new();
                let dst = page.as_mut_bytes();
                let n = bytes.len().min(dst.len());
                if n < $page.min_size() {
                    return None;
                }
                dst[..n].copy_from_slice(&bytes[..n]);
                Some(page)
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

// Path-based imports of the macros, so the submodules (declared above the definitions, where
// textual scoping would not reach) can `use super::…` them.
use {assert_layout, flag_accessors, page_common, string_accessors};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_of::<PhysicsPage>(), PHYSICS_SIZE);
        assert_eq!(size_of::<GraphicsPage>(), GRAPHICS_SIZE);
        assert_eq!(size_of::<StaticPage>(), STATIC_SIZE);
    }

    #[test]
    fn default_is_all_zeros() {
        assert!(PhysicsPage::default().as_bytes().iter().all(|&b| b == 0));
        assert!(GraphicsPage::default().as_bytes().iter().all(|&b| b == 0));
        assert!(StaticPage::default().as_bytes().iter().all(|&b| b == 0));
    }

    #[test]
    fn from_prefix_accepts_longer_and_refuses_shorter() {
        let mut bytes = vec![0u8; 2048];
        bytes[28..32].copy_from_slice(&123.5f32.to_le_bytes());
        let page = PhysicsPage::from_prefix(&bytes).unwrap();
        assert_eq!(page.speed_kmh, 123.5);
        // The physics tail is optional: 580 bytes are enough, 579 are not.
        let short = PhysicsPage::from_prefix(&bytes[..PHYSICS_DOCUMENTED_SIZE]).unwrap();
        assert_eq!(short.speed_kmh, 123.5);
        assert!(PhysicsPage::from_prefix(&bytes[..PHYSICS_DOCUMENTED_SIZE - 1]).is_none());
        assert!(GraphicsPage::from_prefix(&bytes[..GRAPHICS_SIZE - 1]).is_none());
        assert!(StaticPage::from_prefix(&bytes[..STATIC_SIZE]).is_some());
    }
}
