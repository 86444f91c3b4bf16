//! [`GameWriter`]: puts the simulator's frames into `acpmf_*` files, the way the game (through
//! a Proton bridge) fills `/dev/shm`, torn writes included — or, on Windows, into the game's
//! own named mappings `Local\acpmf_*` ([`GameWriter::create_mappings`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use shm::{BRIDGE_FILE_LEN, DirWriter, Page, ShmError};

use super::sim::Frame;

/// One write into a page file: `bytes` over the start of the file, in one system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWrite {
    /// The page (file) written.
    pub page: Page,
    /// The bytes written at offset 0.
    pub bytes: Vec<u8>,
}

/// Writes [`Frame`]s into the three page files of a directory.
///
/// A frame becomes, in order: the static page (at a session start), the physics page, the
/// graphics page. A physics page marked [`torn`](Frame::torn) is written in three writes:
/// the first half of the new page under the *old* `packetId`, then the new `packetId`, then the
/// whole new page. Between the second and the third, the file holds the new id over a half-old
/// page: a reader copying then gets an inconsistent page whose ids agree (the usual id check of
/// docs/shm.md cannot tell), and a reader whose copy overlaps a write sees the id change and
/// retries. [`plan`](Self::plan) exposes the writes so a test can interleave them with reads.
#[derive(Debug)]
pub struct GameWriter {
    dir: PathBuf,
    files: Target,
    /// The physics `packetId` in the file now (as far as our writes go).
    file_physics_id: i32,
    tear_pause: Duration,
}

/// Where the pages go.
#[derive(Debug)]
enum Target {
    Files(DirWriter),
    #[cfg(windows)]
    Mappings(shm::MappingWriter),
}

impl GameWriter {
    /// Creates (or opens) the page files in `dir`, 2048 bytes each as a bridge makes them.
    pub fn create(dir: impl AsRef<Path>) -> Result<GameWriter, ShmError> {
        let dir = dir.as_ref().to_path_buf();
        let files = Target::Files(DirWriter::create(&dir, BRIDGE_FILE_LEN)?);
        Ok(GameWriter { dir, files, file_physics_id: 0, tear_pause: Duration::ZERO })
    }

    /// Creates the game's named mappings `Local\acpmf_physics`, `_graphics` and `_static`, as
    /// Assetto Corsa does on Windows, so that any reader of the real game reads the simulator.
    /// They live as long as this writer (or any reader holding them open). [`dir`](Self::dir)
    /// is then empty.
    #[cfg(windows)]
    pub fn create_mappings() -> Result<GameWriter, ShmError> {
        let files = Target::Mappings(shm::MappingWriter::create()?);
        Ok(GameWriter { dir: PathBuf::new(), files, file_physics_id: 0, tear_pause: Duration::ZERO })
    }

    /// Sleeps this long in the middle of each torn write (default: none), widening the window
    /// in which a concurrent reader can catch it.
    pub fn with_tear_pause(mut self, pause: Duration) -> GameWriter {
        self.tear_pause = pause;
        self
    }

    /// The directory written (empty for the named mappings).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The writes a frame amounts to, in order. Apply them all, in order, with
    /// [`apply`](Self::apply) (or let [`write_frame`](Self::write_frame) do it).
    pub fn plan(&mut self, frame: &Frame) -> Vec<PageWrite> {
        let mut writes = Vec::with_capacity(5);
        if let Some(page) = &frame.static_page {
            writes.push(PageWrite { page: Page::Static, bytes: page.as_bytes().to_vec() });
        }
        if let Some(page) = &frame.physics {
            let bytes = page.as_bytes();
            if frame.torn {
                let half = bytes.len() / 2;
                let mut first = bytes[..half].to_vec();
                first[..4].copy_from_slice(&self.file_physics_id.to_le_bytes());
                writes.push(PageWrite { page: Page::Physics, bytes: first });
                writes.push(PageWrite { page: Page::Physics, bytes: bytes[..4].to_vec() });
            }
            writes.push(PageWrite { page: Page::Physics, bytes: bytes.to_vec() });
            self.file_physics_id = page.packet_id;
        }
        if let Some(page) = &frame.graphics {
            writes.push(PageWrite { page: Page::Graphics, bytes: page.as_bytes().to_vec() });
        }
        writes
    }

    /// Performs one write.
    pub fn apply(&mut self, write: &PageWrite) -> Result<(), ShmError> {
        match &mut self.files {
            Target::Files(f) => f.write_bytes(write.page, &write.bytes),
            #[cfg(windows)]
            Target::Mappings(m) => m.write_bytes(write.page, &write.bytes),
        }
    }

    /// Writes a frame's pages; returns how many writes that took.
    pub fn write_frame(&mut self, frame: &Frame) -> Result<usize, ShmError> {
        let writes = self.plan(frame);
        for (i, write) in writes.iter().enumerate() {
            self.apply(write)?;
            // The pause goes after the new id lands, before the rest of the page does.
            let id_only = write.page == Page::Physics && write.bytes.len() == 4;
            if id_only && !self.tear_pause.is_zero() && i + 1 < writes.len() {
                std::thread::sleep(self.tear_pause);
            }
        }
        Ok(writes.len())
    }
}

#[cfg(test)]
mod tests {
    use shm::{DirSource, PageSource, PhysicsPage, Snapshot};

    use super::super::{GameConfig, GameSim};
    use super::*;

    #[test]
    fn a_frame_is_written_static_then_physics_then_graphics() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = GameWriter::create(dir.path()).unwrap();
        let mut sim = GameSim::new(GameConfig::default()).unwrap();
        let frame = sim.step();
        let writes = writer.plan(&frame);
        let pages: Vec<Page> = writes.iter().map(|w| w.page).collect();
        assert_eq!(pages, [Page::Static, Page::Physics, Page::Graphics]);
        for w in &writes {
            writer.apply(w).unwrap();
        }
        let mut source = DirSource::open(dir.path()).unwrap();
        assert_eq!(Snapshot::capture(&mut source).unwrap(), sim.snapshot());
        assert_eq!(source.page_len(Page::Physics).unwrap(), BRIDGE_FILE_LEN);
    }

    #[test]
    fn a_torn_write_puts_the_new_id_over_a_half_old_page() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = GameWriter::create(dir.path()).unwrap();
        let mut sim = GameSim::new(GameConfig::default()).unwrap();
        let first = sim.step();
        writer.write_frame(&first).unwrap();
        let mut frame = sim.advance(Duration::from_secs(3)).unwrap();
        frame.static_page = None;
        frame.torn = true;
        let new = frame.physics.unwrap();
        let writes = writer.plan(&frame);
        assert_eq!(writes.iter().map(|w| w.bytes.len()).collect::<Vec<_>>(), [356, 4, 712, 296]);
        assert_eq!(&writes[0].bytes[..4], &1i32.to_le_bytes(), "the first half keeps the old id");
        assert_eq!(&writes[1].bytes[..], &new.packet_id.to_le_bytes());

        let read = |dir: &Path| {
            let mut page = PhysicsPage::new();
            DirSource::open(dir).unwrap().read_physics(&mut page).unwrap();
            page
        };
        writer.apply(&writes[0]).unwrap();
        writer.apply(&writes[1]).unwrap();
        // Mid-tear: a copy has the new id and agrees with itself, but its tail is the old step.
        let torn = read(dir.path());
        assert_eq!(torn.packet_id, new.packet_id);
        assert_eq!(torn.speed_kmh, new.speed_kmh, "the first half is new");
        assert_eq!(torn.tyre_temp, first.physics.unwrap().tyre_temp, "the second half is old");
        writer.apply(&writes[2]).unwrap();
        assert_eq!(read(dir.path()), new);
    }
}
