//! # shm: Assetto Corsa's shared-memory pages
//!
//! AC (1.13–1.16, shared-memory version 1.7) publishes three pages of live data: physics (the
//! car, 333 Hz), graphics (session and timing) and static (car, track and rules, once per
//! session). On Windows they are the named mappings `Local\acpmf_*`; on Linux, a Proton bridge
//! backs them with files in `/dev/shm`. This crate is everything about those pages that is not
//! the bridge's business: their layouts, reading them safely, and sampling them.
//!
//! - **Layouts** ([`PhysicsPage`], [`GraphicsPage`], [`StaticPage`]) are `#[repr(C)]` plain
//!   data, byte for byte as the game writes them, with compile-time size and offset checks.
//!   They convert to and from bytes through zerocopy's safe views, so the game simulator can
//!   fill one and write [`as_bytes`](PhysicsPage::as_bytes).
//! - **Decoded views** ([`Physics`], [`Graphics`], [`Static`], all three in [`Pages`]) have
//!   every field under AC's name in snake_case, strings decoded, enums named
//!   ([`Status`], [`SessionType`], [`FlagType`], [`P2pStatus`]); they are the JSON of
//!   `pitwall shm dump --json`.
//! - **Sources** implement [`PageSource`]: [`DirSource`] (page files in a directory),
//!   `MappingSource` (Windows only), and [`Snapshot`] (all three pages in one file, for
//!   fixtures and bug reports). [`read_page`] guards every copy against torn reads.
//! - **Sampling:** a [`Poller`] over a source and an injected [`Clock`] yields each physics
//!   step once, paired with the latest graphics page, counting missed steps and duplicates,
//!   re-reading the static page when the session changes, and measuring its rate.
//! - **Listing:** [`listing::to_text`] writes every field of the decoded views as text, keeping
//!   NaN, infinities and unknown enum codes visible; it is `pitwall shm dump`'s text form.
//!
//! Errors are [`ShmError`]s that name the file or mapping and the sizes involved (and, for a
//! listing, a [`listing::ListingError`], the error type serde's serializer needs of its own).
//!
//! ```
//! use shm::{DirSource, DirWriter, ManualClock, Poller, Status};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A writer (here standing in for the game) fills pages in a directory, as a Proton bridge's
//! // files in /dev/shm are filled.
//! let dir = std::env::temp_dir().join(format!("pitwall-shm-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut game = DirWriter::create(&dir, shm::BRIDGE_FILE_LEN)?;
//! let mut graphics = shm::GraphicsPage::new();
//! graphics.set_status(Status::Live);
//! let mut statics = shm::StaticPage::new();
//! statics.set_track("ks_nordschleife");
//! game.write_graphics(&graphics)?;
//! game.write_static(&statics)?;
//!
//! let clock = ManualClock::new(0);
//! let mut poller = Poller::new(DirSource::open(&dir)?, &clock);
//! for packet_id in [1, 2, 2, 5] {
//!     let mut physics = shm::PhysicsPage::new();
//!     physics.packet_id = packet_id;
//!     physics.speed_kmh = 100.0 + packet_id as f32;
//!     game.write_physics(&physics)?;
//!     clock.advance(3_000_000);
//!     if let Some(sample) = poller.poll()? {
//!         println!("step {} at {} km/h", sample.physics.packet_id, sample.physics.speed_kmh);
//!     }
//! }
//! assert_eq!(poller.stats().samples, 3); // 1, 2 and 5
//! assert_eq!(poller.stats().duplicates, 1); // 2 again
//! assert_eq!(poller.stats().missed_steps, 2); // 3 and 4
//! assert_eq!(poller.static_page().map(|s| s.track()).as_deref(), Some("ks_nordschleife"));
//!
//! // The decoded view is what `pitwall shm dump --json` prints.
//! let snapshot = shm::Snapshot::capture(poller.source_mut())?;
//! let json = serde_json::to_value(snapshot.decode())?;
//! assert_eq!(json["graphics"]["status"], "live");
//! assert_eq!(json["physics"]["speed_kmh"], 105.0);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod clock;
mod dir;
mod enums;
mod error;
mod layout;
pub mod listing;
#[cfg(unix)]
mod mapped;
mod page;
mod poller;
mod snapshot;
mod source;
mod text;
mod view;
#[cfg(windows)]
mod windows;

pub use clock::{Clock, ManualClock, MonotonicClock};
pub use dir::{BRIDGE_FILE_LEN, DEFAULT_DIR, DirSource, DirWriter};
pub use enums::{FlagType, P2pStatus, SessionType, Status};
pub use error::ShmError;
pub use layout::{
    GRAPHICS_SIZE, GraphicsPage, PHYSICS_DOCUMENTED_SIZE, PHYSICS_SIZE, PhysicsPage, STATIC_SIZE, StaticPage,
};
#[cfg(unix)]
pub use mapped::MappedDir;
pub use page::Page;
pub use poller::{PollStats, Poller, PollerConfig, Sample, SessionStart};
pub use snapshot::{
    SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC, SNAPSHOT_MAX_LEN, SNAPSHOT_MAX_PAGE_LEN, SNAPSHOT_VERSION, Snapshot,
};
pub use source::{DEFAULT_MAX_RETRIES, PageSource, ReadInfo, read_page};
pub use text::{decode_utf16, encode_utf16};
pub use view::{Graphics, Pages, Physics, Static};
#[cfg(windows)]
pub use windows::{MappingSource, MappingWriter};

/// Opens the live game's pages the usual way for this OS: the named mappings on Windows, the
/// Proton bridge's files in `/dev/shm` elsewhere.
pub fn open_live() -> Result<Box<dyn PageSource + Send>, ShmError> {
    #[cfg(windows)]
    {
        Ok(Box::new(MappingSource::open()?))
    }
    #[cfg(not(windows))]
    {
        Ok(Box::new(DirSource::open_default()?))
    }
}
