//! Sink checkpoints: per sink, the WAL position its output is durable up to, in
//! `DATA/checkpoints/<sink>.json`, replaced atomically (write, fsync, rename, fsync the folder).
//! Storing a checkpoint is also when WAL segments every sink has passed are deleted.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{SinkError, WalPosition};
use crate::stats::Stats;
use crate::wal;

/// Where the checkpoints of a data directory live.
pub(crate) fn checkpoint_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("checkpoints")
}

fn checkpoint_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// The stored checkpoint of sink `name` in data directory `data_dir`, if it has one.
pub fn load_checkpoint(data_dir: &Path, name: &str) -> Result<Option<WalPosition>, SinkError> {
    read(&checkpoint_path(&checkpoint_dir(data_dir), name))
}

fn read(path: &Path) -> Result<Option<WalPosition>, SinkError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SinkError::Config(format!("checkpoint {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SinkError::io("read", path, e)),
    }
}

/// The checkpoints of the configured sinks, and the WAL trimming that follows them.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    dir: PathBuf,
    wal_dir: PathBuf,
    /// Current position of every configured sink (stored or, before the first store, where it
    /// starts). Segments below the lowest are deleted.
    positions: Mutex<BTreeMap<String, WalPosition>>,
    stats: Arc<Stats>,
}

impl Checkpoints {
    pub(crate) fn new(data_dir: &Path, wal_dir: &Path, stats: Arc<Stats>) -> Result<Self, SinkError> {
        let dir = checkpoint_dir(data_dir);
        fs::create_dir_all(&dir).map_err(|e| SinkError::io("create", &dir, e))?;
        Ok(Checkpoints { dir, wal_dir: wal_dir.to_owned(), positions: Mutex::default(), stats })
    }

    pub(crate) fn load(&self, name: &str) -> Result<Option<WalPosition>, SinkError> {
        read(&checkpoint_path(&self.dir, name))
    }

    /// Declares a sink and where it starts; a segment is kept until every declared sink is past it.
    pub(crate) fn register(&self, name: &str, start: WalPosition) {
        self.positions.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_owned(), start);
    }

    /// Where every sink is now (its last stored checkpoint, or where it started).
    pub(crate) fn positions(&self) -> BTreeMap<String, WalPosition> {
        self.positions.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Stores `pos` for sink `name` durably, then deletes the segments every sink has passed.
    /// Blocking file I/O.
    pub(crate) fn store(&self, name: &str, pos: WalPosition) -> Result<(), SinkError> {
        let path = checkpoint_path(&self.dir, name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec(&pos).map_err(SinkError::other)?;
        let mut f = File::create(&tmp).map_err(|e| SinkError::io("create", &tmp, e))?;
        f.write_all(&text).map_err(|e| SinkError::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| SinkError::io("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| SinkError::io("rename", &path, e))?;
        wal::sync_dir(&self.dir).map_err(SinkError::other)?;

        let mut positions = self.positions.lock().unwrap_or_else(PoisonError::into_inner);
        positions.insert(name.to_owned(), pos);
        let Some(lowest) = positions.values().min().copied() else { return Ok(()) };
        // Segments strictly below the lowest checkpoint's segment are covered by every sink.
        // The writer's current segment is never among them: no checkpoint is ahead of it.
        let segments = wal::list_segments(&self.wal_dir).map_err(SinkError::other)?;
        let mut deleted = 0u64;
        for index in segments.into_iter().filter(|i| *i < lowest.segment) {
            let seg = wal::segment_path(&self.wal_dir, index);
            match fs::remove_file(&seg) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SinkError::io("delete", &seg, e)),
            }
        }
        if deleted > 0 {
            wal::sync_dir(&self.wal_dir).map_err(SinkError::other)?;
            Stats::add(&self.stats.segments_deleted, deleted);
            tracing::debug!(
                deleted,
                below = lowest.segment,
                "WAL segments materialised by every sink deleted"
            );
        }
        Ok(())
    }
}
