//! This crate's own helpers: page files written in one call, and a source that tears reads on
//! demand. The sample pages themselves are the test kit's (`testkit::pages`), shared with the
//! examples.

use shm::{Page, PageSource, ShmError, Snapshot};

/// Writes the three pages of `snapshot` into bridge-sized files in `dir`.
pub fn write_all(dir: &std::path::Path, snapshot: &Snapshot) {
    let mut writer = shm::DirWriter::create(dir, shm::BRIDGE_FILE_LEN).unwrap();
    writer.write_physics(&snapshot.physics).unwrap();
    writer.write_graphics(&snapshot.graphics).unwrap();
    writer.write_static(&snapshot.static_page).unwrap();
}

/// When a tearing source changes the page's packet id, relative to the full copy.
#[derive(Debug, Clone, Copy)]
pub enum Tear {
    /// The game writes a new step just before the first copy: both copies hold it whole (a
    /// consistent read of the new step, not a tear).
    BeforeCopy,
    /// The game writes a new step just after the first copy: the second copy disagrees.
    AfterCopy,
    /// Only the first copy sees a different id; the page before and after is the same.
    InCopyOnly,
    /// The id never changes, but the page's content does between the two copies of an attempt:
    /// a writer that updated the id first and is still writing the rest.
    ContentOnly,
}

/// A snapshot whose physics (and graphics) `packet_id` changes during the next `left` full
/// copies of that page, as if the game wrote a step mid-read.
#[derive(Debug)]
pub struct TearingSource {
    pub inner: Snapshot,
    pub tear: Tear,
    pub left: [u32; 2],
    pub full_copies: [u32; 2],
}

impl TearingSource {
    pub fn new(inner: Snapshot, tear: Tear, physics_tears: u32, graphics_tears: u32) -> Self {
        TearingSource { inner, tear, left: [physics_tears, graphics_tears], full_copies: [0; 2] }
    }

    fn bump(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.packet_id += 1,
            Page::Graphics => self.inner.graphics.packet_id += 1,
            Page::Static => {}
        }
    }

    fn nudge_content(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.speed_kmh += 1.0,
            Page::Graphics => self.inner.graphics.distance_traveled += 1.0,
            Page::Static => {}
        }
    }

    fn unbump(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.packet_id -= 1,
            Page::Graphics => self.inner.graphics.packet_id -= 1,
            Page::Static => {}
        }
    }
}

impl PageSource for TearingSource {
    fn location(&self, page: Page) -> String {
        format!("tearing {page}")
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        self.inner.page_len(page)
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let i = match page {
            Page::Physics => 0,
            Page::Graphics => 1,
            Page::Static => return self.inner.read_at(page, offset, buf),
        };
        // Reads of 4 bytes are the id checks; anything longer is the page copy.
        let full = buf.len() > 4;
        if full {
            self.full_copies[i] += 1;
        }
        // read_page copies the page twice per attempt and compares: tear the first copy of each
        // attempt, so that k tears cost exactly k retries.
        let tear = full && self.left[i] > 0 && self.full_copies[i] % 2 == 1;
        if tear {
            self.left[i] -= 1;
            if matches!(self.tear, Tear::BeforeCopy | Tear::InCopyOnly) {
                self.bump(page);
            }
        }
        self.inner.read_at(page, offset, buf)?;
        if tear {
            match self.tear {
                Tear::AfterCopy => self.bump(page),
                Tear::InCopyOnly => self.unbump(page),
                Tear::ContentOnly => self.nudge_content(page),
                Tear::BeforeCopy => {}
            }
        }
        Ok(())
    }
}
