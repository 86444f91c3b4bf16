//! The recording sink (`type = "recording"`): one recording per session, in the bridge's format
//! (`pitwall-record`: gzip members of varint-length-delimited `TelemetryFrame`s), holding the
//! frames exactly as the bridge sent them.
//!
//! ```text
//! DATA/sinks/<name>/                 (or `path`)
//!   <session uuid>.pb.gz             one per session; any gzip reader reads it
//!   _state.json                      the WAL position the last flush committed
//! ```
//!
//! Frames are appended as they come; [`Sink::flush`] finishes the open gzip member of every
//! session written to and fsyncs the file, then stores the WAL position of the last frame in
//! `_state.json` (atomically). A file whose session has been quiet for `close_after_flushes`
//! flushes is closed, so open files do not pile up over days.
//!
//! **Exactly once.** A session's file only ever grows in whole members and in seq order, so the
//! frames it holds are a prefix of the session: the first time a session is written to after a
//! start, its file is opened with [`record::RecordWriter::open_append`] (which cuts a member torn
//! by a crash), the last seq in it says what is there, and re-delivered frames below it are
//! skipped. [`Sink::durable_position`] is the position in `_state.json`.
//!
//! ```toml
//! [[sinks]]
//! name = "recordings"
//! type = "recording"
//! flush_interval_ms = 1000         # one gzip member per session per flush
//! # path = "/srv/recordings"       # default: DATA/sinks/<name>
//! # level = 1                      # deflate level
//! # close_after_flushes = 60
//! ```

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use record::{RecordOptions, RecordWriter};
use serde::{Deserialize, Serialize};

use super::{Sink, SinkContext, SinkError, WalFrame, WalPosition};
use crate::session::SessionId;
use crate::wal;

/// Name of the sidecar holding the committed WAL position.
pub const STATE_FILE: &str = "_state.json";

/// `type = "recording"` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Folder of the recordings; default `DATA/sinks/<name>`.
    pub path: Option<PathBuf>,
    /// Deflate level, 0..9.
    pub level: u32,
    /// Close a session's file after this many flushes without a frame for it.
    pub close_after_flushes: u32,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig { path: None, level: record::DEFAULT_LEVEL, close_after_flushes: 60 }
    }
}

impl RecordingConfig {
    /// The recordings folder for a sink built in `ctx`.
    pub fn root(&self, ctx: &SinkContext) -> PathBuf {
        self.path.clone().unwrap_or_else(|| ctx.dir.clone())
    }
}

/// Path of session `id`'s recording in `root`.
pub fn recording_path(root: &Path, id: &SessionId) -> PathBuf {
    root.join(format!("{id}.pb.gz"))
}

#[derive(Debug)]
struct Open {
    writer: Option<RecordWriter>,
    /// Frames with a lower seq are in the file.
    next_seq: u64,
    /// Frames appended since the last sync.
    dirty: bool,
    idle_flushes: u32,
}

/// The recording sink. File work runs on tokio's blocking pool.
#[derive(Debug)]
pub struct RecordingSink {
    inner: Option<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    config: RecordingConfig,
    sessions: HashMap<SessionId, Open>,
    written_end: Option<WalPosition>,
    committed: Option<WalPosition>,
    skipped: u64,
    repaired: Vec<PathBuf>,
}

fn read_state(path: &Path) -> Result<Option<WalPosition>, SinkError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SinkError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SinkError::io("read", path, e)),
    }
}

impl RecordingSink {
    /// Opens the recordings folder `root` (created if missing). Session files are opened, and a
    /// torn tail cut, when their session is first written to.
    pub fn open(root: impl Into<PathBuf>, config: &RecordingConfig) -> Result<Self, SinkError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| SinkError::io("create", &root, e))?;
        let committed = read_state(&root.join(STATE_FILE))?;
        Ok(RecordingSink {
            inner: Some(Inner {
                root,
                config: config.clone(),
                sessions: HashMap::new(),
                written_end: committed,
                committed,
                skipped: 0,
                repaired: Vec::new(),
            }),
        })
    }

    /// Frames skipped because their recording already held them.
    pub fn skipped(&self) -> u64 {
        self.inner.as_ref().map_or(0, |i| i.skipped)
    }

    /// Recordings whose torn tail was cut when they were reopened.
    pub fn repaired(&self) -> &[PathBuf] {
        self.inner.as_ref().map_or(&[], |i| &i.repaired)
    }

    async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Inner) -> Result<T, SinkError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let Some(mut inner) = self.inner.take() else {
            return Err(SinkError::other("the recording sink lost its state to a panic; restart the server"));
        };
        let (inner, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut inner);
            (inner, r)
        })
        .await
        .map_err(|e| SinkError::other(format!("recording sink task: {e}")))?;
        self.inner = Some(inner);
        result
    }
}

impl Inner {
    fn options(&self) -> RecordOptions {
        RecordOptions { level: self.config.level.min(9), ..RecordOptions::default() }
    }

    /// Session `id`'s state, opening its file (and cutting a torn tail) if it is not open.
    fn session<'a>(
        sessions: &'a mut HashMap<SessionId, Open>,
        root: &Path,
        options: &RecordOptions,
        repaired: &mut Vec<PathBuf>,
        id: SessionId,
    ) -> Result<&'a mut Open, SinkError> {
        let open =
            sessions.entry(id).or_insert(Open { writer: None, next_seq: 0, dirty: false, idle_flushes: 0 });
        if open.writer.is_none() {
            let path = recording_path(root, &id);
            let (writer, repair) =
                RecordWriter::open_append(&path, options.clone()).map_err(SinkError::other)?;
            if let Some(r) = repair {
                tracing::warn!(file = %path.display(), repair = %r,
                    "recording damaged (nothing intact removed; frames it lacks are re-read from the WAL)");
                repaired.push(path);
            }
            open.next_seq = writer.index().last_frame().map_or(0, |f| f.seq + 1).max(open.next_seq);
            open.writer = Some(writer);
        }
        Ok(open)
    }

    fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        let options = self.options();
        for f in batch {
            let open =
                Self::session(&mut self.sessions, &self.root, &options, &mut self.repaired, f.session_id)?;
            if f.seq < open.next_seq {
                self.skipped += 1;
                continue;
            }
            let Some(w) = open.writer.as_mut() else { continue };
            // On failure nothing of the frame is in the file and next_seq is unchanged: the
            // pipeline's retry of the batch skips what went in and writes the rest.
            w.append_encoded(&f.bytes).map_err(SinkError::other)?;
            open.next_seq = f.seq + 1;
            open.dirty = true;
        }
        if let Some(last) = batch.last() {
            self.written_end = Some(last.end());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let close_after = self.config.close_after_flushes;
        for open in self.sessions.values_mut() {
            if open.dirty {
                if let Some(w) = open.writer.as_mut() {
                    w.sync().map_err(SinkError::other)?;
                }
                open.dirty = false;
                open.idle_flushes = 0;
            } else {
                open.idle_flushes += 1;
            }
        }
        // Quiet sessions: everything in them is synced; drop the handles (the skip point stays).
        for open in self.sessions.values_mut() {
            if open.idle_flushes >= close_after {
                open.writer = None;
            }
        }
        if self.written_end != self.committed {
            if let Some(pos) = self.written_end {
                let path = self.root.join(STATE_FILE);
                let tmp = self.root.join(format!("{STATE_FILE}.tmp"));
                let text = serde_json::to_vec(&pos).map_err(SinkError::other)?;
                let mut f = File::create(&tmp).map_err(|e| SinkError::io("create", &tmp, e))?;
                f.write_all(&text).map_err(|e| SinkError::io("write", &tmp, e))?;
                f.sync_all().map_err(|e| SinkError::io("fsync", &tmp, e))?;
                fs::rename(&tmp, &path).map_err(|e| SinkError::io("rename", &tmp, e))?;
                wal::sync_dir(&self.root).map_err(SinkError::other)?;
            }
            self.committed = self.written_end;
        }
        Ok(())
    }
}

impl Sink for RecordingSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.to_vec();
        self.run(move |inner| inner.write(&batch)).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.run(Inner::flush).await
    }

    async fn durable_position(&mut self) -> Result<Option<WalPosition>, SinkError> {
        Ok(self.inner.as_ref().and_then(|i| i.committed))
    }
}
