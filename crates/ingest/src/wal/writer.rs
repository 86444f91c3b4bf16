//! The WAL writer: one task that every stream hands its batches to, and the only place that
//! decides what is stored.
//!
//! Deduplication lives here, not in the stream handlers, because this is where the log's order
//! is decided: two streams carrying the same session (a bridge reconnected while the server
//! still holds its old, half-dead stream) can race, and only the single writer can say which copy
//! of a frame came first. Per session it keeps `accepted` (the next seq it will append, counting
//! frames in flight); a record below it is a duplicate and skipped, one above it is a gap and
//! ends the batch there.
//!
//! Group commit, pipelined: while one group is being written and fsync'd on a blocking thread,
//! the task keeps accepting batches into the next group. A group is committed when the previous
//! commit is done and either the commit interval has passed since the previous one started or
//! the group reached its byte budget. When the budget is full the task stops receiving, the
//! bounded queue fills and the streams wait: a slow disk slows the bridges instead of growing
//! memory.
//!
//! The stream handlers do the per-frame work that parallelises (decode, validate, CRC, framing
//! the record); the writer only compares seqs and collects slices, so one core keeps up.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::format;
use super::{Wal, WalPosition, segment_path, sync_dir};
use crate::error::WalError;
use crate::session::SessionId;
use crate::stats::Stats;

/// Writer settings (from [`crate::config::WalConfig`]).
#[derive(Debug, Clone)]
pub(crate) struct WriterConfig {
    pub(crate) segment_bytes: u64,
    pub(crate) commit_interval: Duration,
    pub(crate) group_max_bytes: usize,
    pub(crate) queue_batches: usize,
}

/// Records from one stream, framed by the stream handler: `buf` holds them back to back.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) buf: Bytes,
    pub(crate) records: Vec<RecordMeta>,
}

/// One record of a batch: its key and its length in `buf`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordMeta {
    pub(crate) session: SessionId,
    pub(crate) seq: u64,
    pub(crate) len: u32,
}

/// What became of a batch, sent once its group is durable.
#[derive(Debug, Default)]
pub(crate) struct BatchOutcome {
    /// For each session in the batch, its durable next_seq: what the stream acks.
    pub(crate) acks: Vec<(SessionId, u64)>,
    /// The record that jumped ahead, if one did; it and the rest of the batch were not stored.
    pub(crate) gap: Option<Gap>,
}

/// A seq ahead of the session's next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    pub(crate) session: SessionId,
    pub(crate) seq: u64,
    pub(crate) expected: u64,
}

/// The writer failed or stopped before the batch was durable; its text says why.
#[derive(Debug, Clone)]
pub(crate) struct Stopped(pub(crate) String);

pub(crate) type Reply = Result<BatchOutcome, Stopped>;

struct Submission {
    batch: Batch,
    reply: oneshot::Sender<Reply>,
}

/// State shared between the writer, the service (Resume) and the sink pipelines.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Each session's durable next_seq, updated after every commit.
    durable: Mutex<HashMap<SessionId, u64>>,
    /// End of the committed log: sinks may read up to here.
    committed: watch::Sender<WalPosition>,
    pub(crate) stats: Arc<Stats>,
}

/// Handle to the writer task. Cheap to clone: one per stream.
#[derive(Debug, Clone)]
pub(crate) struct WalWriter {
    tx: mpsc::Sender<Submission>,
    shared: Arc<Shared>,
}

impl WalWriter {
    /// Queues a batch; waits while the queue is full (backpressure). The receiver yields the
    /// outcome once the batch's group is durable.
    pub(crate) async fn submit(&self, batch: Batch) -> Result<oneshot::Receiver<Reply>, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Submission { batch, reply })
            .await
            .map_err(|_| Stopped("the WAL writer has stopped".into()))?;
        Ok(rx)
    }

    /// The durable next_seq of `session` (0 when unknown).
    pub(crate) fn durable_next_seq(&self, session: &SessionId) -> u64 {
        let durable = self.shared.durable.lock().unwrap_or_else(PoisonError::into_inner);
        durable.get(session).copied().unwrap_or(0)
    }

    /// Watches the end of the committed log.
    pub(crate) fn committed(&self) -> watch::Receiver<WalPosition> {
        self.shared.committed.subscribe()
    }
}

/// A segment to start: its index and its first bytes (header and sessions snapshot).
type NewSegment = (u64, Vec<u8>);

struct Segment {
    index: u64,
    file: File,
    path: PathBuf,
}

/// A batch's waiting stream, while its group fills.
struct Waiter {
    reply: oneshot::Sender<Reply>,
    sessions: Vec<SessionId>,
    gap: Option<Gap>,
}

#[derive(Default)]
struct Group {
    chunks: Vec<Bytes>,
    bytes: usize,
    frames: u64,
    waiters: Vec<Waiter>,
    /// The segment this group starts, with its header and sessions snapshot.
    new_segment: Option<NewSegment>,
}

/// A group on its way to disk: what to tell whom once it is durable.
struct Sealed {
    replies: Vec<(oneshot::Sender<Reply>, BatchOutcome)>,
    durable: Vec<(SessionId, u64)>,
    end: WalPosition,
    frames: u64,
    bytes: u64,
}

struct Task {
    dir: PathBuf,
    cfg: WriterConfig,
    rx: mpsc::Receiver<Submission>,
    accepted: HashMap<SessionId, u64>,
    shared: Arc<Shared>,
    /// `None` while a commit owns the file.
    segment: Option<Segment>,
    /// The segment the next record goes to, and its length counting records not yet written.
    seg_index: u64,
    seg_len: u64,
    group: Group,
    last_commit: Instant,
}

/// Starts the writer on a replayed log: creates a fresh segment (so old ones are never appended
/// to) holding the sessions snapshot, then runs until `stop` is cancelled and the queue drained.
pub(crate) fn start(
    wal: Wal,
    cfg: WriterConfig,
    stats: Arc<Stats>,
    stop: CancellationToken,
) -> Result<(WalWriter, JoinHandle<Result<(), WalError>>), WalError> {
    let index = wal.segments.last().map_or(0, |last| last + 1);
    let head = segment_start(index, &wal.sessions);
    let path = segment_path(&wal.dir, index);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| WalError::io("create", &path, e))?;
    file.write_all(&head).map_err(|e| WalError::io("write", &path, e))?;
    file.sync_data().map_err(|e| WalError::io("fsync", &path, e))?;
    sync_dir(&wal.dir)?;

    let end = WalPosition { segment: index, offset: head.len() as u64 };
    let (committed, _) = watch::channel(end);
    let shared = Arc::new(Shared { durable: Mutex::new(wal.sessions.clone()), committed, stats });
    let (tx, rx) = mpsc::channel(cfg.queue_batches.max(1));
    let task = Task {
        dir: wal.dir,
        cfg,
        rx,
        accepted: wal.sessions,
        shared: Arc::clone(&shared),
        segment: Some(Segment { index, file, path }),
        seg_index: index,
        seg_len: head.len() as u64,
        group: Group::default(),
        last_commit: Instant::now(),
    };
    let handle = tokio::spawn(task.run(stop));
    Ok((WalWriter { tx, shared }, handle))
}

/// A segment's first bytes: header and the snapshot of every session with something stored.
fn segment_start(index: u64, sessions: &HashMap<SessionId, u64>) -> Vec<u8> {
    let mut head = format::segment_header(index).to_vec();
    let mut known: Vec<(&SessionId, u64)> =
        sessions.iter().filter(|(_, n)| **n > 0).map(|(s, n)| (s, *n)).collect();
    known.sort_unstable();
    format::put_sessions_record(&mut head, known.into_iter());
    head
}

impl Task {
    async fn run(mut self, stop: CancellationToken) -> Result<(), WalError> {
        let mut io: Option<JoinHandle<(Segment, Result<(), WalError>)>> = None;
        let mut in_io: Option<Sealed> = None;
        let mut stopping = false;
        let mut closed = false;
        loop {
            if io.is_none() && !self.group.waiters.is_empty() {
                let due = closed
                    || self.group.bytes >= self.cfg.group_max_bytes
                    || self.last_commit.elapsed() >= self.cfg.commit_interval;
                if due {
                    let (sealed, chunks, new_segment) = self.seal();
                    let Some(mut segment) = self.segment.take() else {
                        return Err(WalError::WriterStopped { reason: "segment lost".into() });
                    };
                    let dir = self.dir.clone();
                    io = Some(tokio::task::spawn_blocking(move || {
                        let result = write_group(&dir, &mut segment, new_segment, &chunks);
                        (segment, result)
                    }));
                    in_io = Some(sealed);
                    self.last_commit = Instant::now();
                }
            }
            if closed && io.is_none() && self.group.waiters.is_empty() {
                return Ok(());
            }
            let receiving = !closed && self.group.bytes < self.cfg.group_max_bytes;
            let timer = io.is_none() && !self.group.waiters.is_empty();
            let deadline = self.last_commit + self.cfg.commit_interval;
            tokio::select! {
                done = async {
                    match io.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                }, if io.is_some() => {
                    io = None;
                    let sealed = in_io.take();
                    let (segment, result) = match done {
                        Ok(v) => v,
                        Err(e) => {
                            let reason = format!("WAL commit task failed: {e}");
                            if let Some(sealed) = sealed {
                                fail(sealed, &reason);
                            }
                            return Err(WalError::WriterStopped { reason });
                        }
                    };
                    self.segment = Some(segment);
                    let Some(sealed) = sealed else { continue };
                    if let Err(e) = result {
                        // After a failed write or fsync the file's state is unknown (and Linux may
                        // have dropped the dirty pages), so retrying could ack lost data. Stop;
                        // the bridges keep their frames and a restart replays what is durable.
                        tracing::error!(error = %e, "WAL commit failed; the writer stops");
                        fail(sealed, &e.to_string());
                        return Err(e);
                    }
                    self.complete(sealed);
                }
                msg = self.rx.recv(), if receiving => match msg {
                    Some(sub) => {
                        self.add(sub);
                        while self.group.bytes < self.cfg.group_max_bytes {
                            match self.rx.try_recv() {
                                Ok(sub) => self.add(sub),
                                Err(_) => break,
                            }
                        }
                    }
                    None => closed = true,
                },
                _ = tokio::time::sleep_until(deadline), if timer => {}
                _ = stop.cancelled(), if !stopping => {
                    // Refuse new batches but take everything already queued: those streams are
                    // waiting for their acks.
                    stopping = true;
                    self.rx.close();
                }
            }
        }
    }

    /// Takes a batch into the current group: skips duplicates, stops at a gap.
    fn add(&mut self, sub: Submission) {
        if self.group.waiters.is_empty() && self.seg_len >= self.cfg.segment_bytes {
            // Rotate at a group boundary so the new segment's snapshot is exactly the state
            // before its first record.
            let index = self.seg_index + 1;
            let head = segment_start(index, &self.accepted);
            self.seg_index = index;
            self.seg_len = head.len() as u64;
            self.group.new_segment = Some((index, head));
        }
        let Submission { batch, reply } = sub;
        let mut sessions: Vec<SessionId> = Vec::new();
        let mut duplicates = 0u32;
        let mut gap = None;
        let mut run_start = 0usize;
        let mut off = 0usize;
        let mut stored = 0u64;
        // The session being worked on and its next seq, written back when the session changes:
        // a batch is nearly always one session, so this is one hash lookup per batch.
        let mut cur: Option<(SessionId, u64)> = None;
        for r in &batch.records {
            let len = r.len as usize;
            if cur.map(|(s, _)| s) != Some(r.session) {
                if let Some((s, n)) = cur {
                    self.accepted.insert(s, n);
                }
                cur = Some((r.session, self.accepted.get(&r.session).copied().unwrap_or(0)));
                if !sessions.contains(&r.session) {
                    sessions.push(r.session);
                }
            }
            let Some((_, next)) = cur.as_mut() else { continue };
            if r.seq == *next {
                *next += 1;
                stored += 1;
                off += len;
            } else if r.seq < *next {
                duplicates += 1;
                self.push_run(&batch.buf, run_start, off);
                off += len;
                run_start = off;
            } else {
                gap = Some(Gap { session: r.session, seq: r.seq, expected: *next });
                break;
            }
        }
        if let Some((s, n)) = cur {
            self.accepted.insert(s, n);
        }
        self.push_run(&batch.buf, run_start, off);
        self.group.frames += stored;
        Stats::add(&self.shared.stats.duplicates, u64::from(duplicates));
        self.group.waiters.push(Waiter { reply, sessions, gap });
    }

    fn push_run(&mut self, buf: &Bytes, start: usize, end: usize) {
        if end > start {
            self.group.chunks.push(buf.slice(start..end));
            self.group.bytes += end - start;
            self.seg_len += (end - start) as u64;
        }
    }

    /// Closes the current group: computes each batch's acks from `accepted` as it stands now,
    /// which is exactly what will be durable once this group is.
    fn seal(&mut self) -> (Sealed, Vec<Bytes>, Option<NewSegment>) {
        let group = std::mem::take(&mut self.group);
        let mut durable: Vec<(SessionId, u64)> = Vec::new();
        let mut replies = Vec::with_capacity(group.waiters.len());
        for w in group.waiters {
            let acks: Vec<(SessionId, u64)> =
                w.sessions.iter().map(|s| (*s, self.accepted.get(s).copied().unwrap_or(0))).collect();
            for a in &acks {
                if !durable.iter().any(|(s, _)| *s == a.0) {
                    durable.push(*a);
                }
            }
            replies.push((w.reply, BatchOutcome { acks, gap: w.gap }));
        }
        let head_len = group.new_segment.as_ref().map_or(0, |(_, h)| h.len());
        let sealed = Sealed {
            replies,
            durable,
            end: WalPosition { segment: self.seg_index, offset: self.seg_len },
            frames: group.frames,
            bytes: (group.bytes + head_len) as u64,
        };
        (sealed, group.chunks, group.new_segment)
    }

    /// The group is durable: publish the new durable points, then tell the streams.
    fn complete(&mut self, sealed: Sealed) {
        {
            let mut durable = self.shared.durable.lock().unwrap_or_else(PoisonError::into_inner);
            for (s, n) in &sealed.durable {
                let e = durable.entry(*s).or_insert(0);
                *e = (*e).max(*n);
            }
        }
        let stats = &self.shared.stats;
        Stats::add(&stats.commits, 1);
        Stats::add(&stats.frames_stored, sealed.frames);
        Stats::add(&stats.bytes_committed, sealed.bytes);
        self.shared.committed.send_replace(sealed.end);
        for (reply, outcome) in sealed.replies {
            // A stream that went away no longer needs its ack; its frames are stored all the same.
            let _ = reply.send(Ok(outcome));
        }
    }
}

fn fail(sealed: Sealed, reason: &str) {
    for (reply, _) in sealed.replies {
        let _ = reply.send(Err(Stopped(format!("the WAL writer failed: {reason}"))));
    }
}

/// Writes one group and makes it durable. Runs on a blocking thread.
fn write_group(
    dir: &Path,
    segment: &mut Segment,
    new_segment: Option<NewSegment>,
    chunks: &[Bytes],
) -> Result<(), WalError> {
    let mut created = false;
    if let Some((index, head)) = new_segment {
        let path = segment_path(dir, index);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| WalError::io("create", &path, e))?;
        file.write_all(&head).map_err(|e| WalError::io("write", &path, e))?;
        *segment = Segment { index, file, path };
        created = true;
    }
    write_all_vectored(&mut segment.file, chunks).map_err(|e| WalError::io("write", &segment.path, e))?;
    segment.file.sync_data().map_err(|e| WalError::io("fsync", &segment.path, e))?;
    if created {
        // The new file's directory entry must be durable too, or a crash could lose the file.
        sync_dir(dir)?;
        tracing::debug!(segment = segment.index, "WAL segment started");
    }
    Ok(())
}

/// `writev` the chunks, as many per call as the OS takes (IOV_MAX is 1024 on Linux).
fn write_all_vectored(file: &mut File, chunks: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest: &mut [IoSlice<'_>] = &mut slices;
    while !rest.is_empty() {
        let upto = rest.len().min(1024);
        match file.write_vectored(&rest[..upto]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
