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
//! Commit records: once a group's fsync has returned, the next write to the same segment starts
//! with a commit record, and a graceful stop writes a last one. A commit record therefore says
//! "everything before me was durable, and acked": replay uses it to tell damage in acked records
//! (keep what follows) from the group a crash interrupted (cut it; see [`super::format`]). It
//! rides in the next group's `writev`, so it costs no extra system call and no extra fsync.
//!
//! A failed write or fsync (a full disk, an I/O error) stops the acks, not the server. The
//! group is kept in memory, unacked; after a failed fsync the file's pages cannot be trusted
//! (Linux may have dropped them and will not say so twice), so the group is not retried in
//! place: each retry, with a backoff up to a second, removes any segment the failure began, cuts
//! the last durable segment back to its durable end, and writes the group whole into a fresh
//! segment. Meanwhile the streams stay open and simply get no acks (their batches wait, then
//! HTTP/2 flow control holds the bridges back), so when space returns everything carries on
//! with nothing lost and nothing stored twice. The episode is logged once at error level (the
//! file and the OS error) and once when it ends, and shows in the metrics
//! (`pitwall_ingest_wal_write_failing`, `pitwall_ingest_wal_write_failures_total`).
//!
//! The stream handlers do the per-frame work that parallelises (decode, validate, CRC, framing
//! the record); the writer only compares seqs and collects slices, so one core keeps up.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::format;
use super::{Wal, WalPosition, segment_path, sync_dir};
use crate::error::{ErrorChain, WalError};
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
    /// Per session, a seq below which frames are already stored elsewhere (JetStream, by
    /// another ingest node that had the session before): the writer treats them as
    /// duplicates, and the first frame at the floor is no gap.
    floors: Mutex<HashMap<SessionId, u64>>,
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

    /// Raises `session`'s floor to `next_seq`: frames below it are stored elsewhere (see
    /// [`Shared`]'s `floors`). Used when `Resume` is answered from JetStream.
    pub(crate) fn raise_floor(&self, session: SessionId, next_seq: u64) {
        let mut floors = self.shared.floors.lock().unwrap_or_else(PoisonError::into_inner);
        let f = floors.entry(session).or_insert(0);
        *f = (*f).max(next_seq);
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

impl Group {
    /// Whether committing this group writes anything to a segment.
    fn writes(&self) -> bool {
        !self.chunks.is_empty() || self.new_segment.is_some()
    }
}

/// A group on its way to disk: what to tell whom once it is durable.
struct Sealed {
    replies: Vec<(oneshot::Sender<Reply>, BatchOutcome)>,
    durable: Vec<(SessionId, u64)>,
    end: WalPosition,
    frames: u64,
    bytes: u64,
    /// Whether the group wrote anything (and so needs a commit record after it).
    wrote: bool,
    /// Whether the group's first chunk is a commit record (for the segment's previous group).
    commit_prefix: bool,
}

/// What a blocking thread did with a group.
struct IoDone {
    /// The segment written to: for a commit, the one handed over (or the new one it started);
    /// for a recovery, the new segment when it worked.
    segment: Option<Segment>,
    /// The group's chunks, back for another attempt if this one failed.
    chunks: Vec<Bytes>,
    result: Result<(), WalError>,
}

/// What a blocking thread was asked to do with a group.
#[derive(Debug, Clone, Copy)]
enum IoKind {
    /// Append it to the current segment (or the one it starts).
    Commit,
    /// Write it again, after a failure, into new segment `index`, whose head is `head_len` bytes.
    Recover { index: u64, head_len: u64 },
}

/// The WAL could not be written: from the failed commit until a retry succeeds.
#[derive(Debug)]
struct Episode {
    started: Instant,
    /// Failed attempts so far, the first commit included.
    attempts: u32,
    retry_at: Instant,
}

/// First delay between attempts to write the WAL again after a failure; it doubles per failed
/// attempt up to [`RETRY_MAX`], so a disk that gets space back is used again within a second.
const RETRY_INITIAL: Duration = Duration::from_millis(25);
const RETRY_MAX: Duration = Duration::from_secs(1);

fn retry_delay(attempts: u32) -> Duration {
    RETRY_INITIAL.saturating_mul(1 << attempts.saturating_sub(1).min(10)).min(RETRY_MAX)
}

/// Fault injection for tests that cannot fill a real disk (a size-limited tmpfs needs root on
/// Linux): while [`WalFaults::set_full`] is on, every WAL write fails as a full disk would.
/// Not for production use.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct WalFaults {
    full: AtomicBool,
}

impl WalFaults {
    /// Turns the simulated full disk on or off.
    pub fn set_full(&self, full: bool) {
        self.full.store(full, Ordering::Relaxed);
    }
}

fn check_faults(faults: Option<&WalFaults>, path: &Path) -> Result<(), WalError> {
    match faults {
        Some(f) if f.full.load(Ordering::Relaxed) => Err(WalError::io(
            "write",
            path,
            std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device (injected fault)"),
        )),
        _ => Ok(()),
    }
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
    /// The current segment has durable bytes that no commit record follows yet.
    uncommitted: bool,
    /// Set while the WAL cannot be written.
    failing: Option<Episode>,
    /// The group whose commit failed, waiting for the next attempt (its chunks without a
    /// leading commit record).
    retry: Option<(Sealed, Vec<Bytes>)>,
    faults: Option<Arc<WalFaults>>,
}

/// Starts the writer on a replayed log: creates a fresh segment (so old ones are never appended
/// to) holding the sessions snapshot, then runs until `stop` is cancelled and the queue drained.
pub(crate) fn start(
    wal: Wal,
    cfg: WriterConfig,
    stats: Arc<Stats>,
    stop: CancellationToken,
    faults: Option<Arc<WalFaults>>,
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
    let shared = Arc::new(Shared {
        durable: Mutex::new(wal.sessions.clone()),
        committed,
        floors: Mutex::default(),
        stats,
    });
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
        // The header and snapshot just written are durable: the next write attests them.
        uncommitted: true,
        failing: None,
        retry: None,
        faults,
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
        let mut io: Option<JoinHandle<IoDone>> = None;
        let mut in_io: Option<(Sealed, IoKind)> = None;
        let mut stopping = false;
        let mut closed = false;
        loop {
            if io.is_none() {
                if let Some(episode) = &self.failing {
                    // Stopping: one last attempt now, then give up (see below).
                    let now = stopping || Instant::now() >= episode.retry_at;
                    if now {
                        if let Some((sealed, chunks)) = self.retry.take() {
                            let (task, kind) = self.spawn_recovery(chunks);
                            io = Some(task);
                            in_io = Some((sealed, kind));
                        }
                    }
                } else if !self.group.waiters.is_empty() {
                    let due = closed
                        || self.group.bytes >= self.cfg.group_max_bytes
                        || self.last_commit.elapsed() >= self.cfg.commit_interval;
                    if due {
                        let (sealed, chunks, new_segment) = self.seal();
                        let Some(mut segment) = self.segment.take() else {
                            return Err(WalError::WriterStopped { reason: "segment lost".into() });
                        };
                        let dir = self.dir.clone();
                        let faults = self.faults.clone();
                        io = Some(tokio::task::spawn_blocking(move || {
                            let result = check_faults(faults.as_deref(), &segment.path)
                                .and_then(|()| write_group(&dir, &mut segment, new_segment, &chunks));
                            IoDone { segment: Some(segment), chunks, result }
                        }));
                        in_io = Some((sealed, IoKind::Commit));
                        self.last_commit = Instant::now();
                    }
                }
            }
            if closed && io.is_none() && self.group.waiters.is_empty() && self.failing.is_none() {
                return self.finish().await;
            }
            let receiving = !closed && self.group.bytes < self.cfg.group_max_bytes;
            let timer = io.is_none() && self.failing.is_none() && !self.group.waiters.is_empty();
            let deadline = self.last_commit + self.cfg.commit_interval;
            let retry_at = self.failing.as_ref().map(|e| e.retry_at);
            tokio::select! {
                done = async {
                    match io.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                }, if io.is_some() => {
                    io = None;
                    let Some((sealed, kind)) = in_io.take() else { continue };
                    let IoDone { segment, chunks, result } = match done {
                        Ok(v) => v,
                        Err(e) => {
                            let reason = format!("WAL commit task failed: {e}");
                            fail(sealed, &reason);
                            self.fail_group(&reason);
                            return Err(WalError::WriterStopped { reason });
                        }
                    };
                    match (kind, result) {
                        (IoKind::Commit, Ok(())) => {
                            self.segment = segment;
                            if sealed.wrote {
                                self.uncommitted = true;
                            }
                            self.complete(sealed);
                        }
                        (IoKind::Commit, Err(e)) => self.start_failing(sealed, chunks, &e),
                        (IoKind::Recover { index, head_len }, Ok(())) => {
                            self.recovered(sealed, segment, index, head_len, &chunks);
                        }
                        (IoKind::Recover { .. }, Err(e)) => {
                            Stats::add(&self.shared.stats.wal_write_failures, 1);
                            if stopping {
                                // Nobody will wait for space any more: the streams get their
                                // error (nothing of it was acked) and the server its.
                                tracing::error!(error = %ErrorChain(&e), "WAL still cannot be written at shutdown; its unacked frames stay with the bridges");
                                fail(sealed, &ErrorChain(&e).to_string());
                                self.fail_group(&ErrorChain(&e).to_string());
                                return Err(e);
                            }
                            if let Some(episode) = self.failing.as_mut() {
                                episode.attempts += 1;
                                episode.retry_at = Instant::now() + retry_delay(episode.attempts);
                                tracing::debug!(error = %ErrorChain(&e), attempts = episode.attempts, "WAL still cannot be written");
                            }
                            self.retry = Some((sealed, chunks));
                        }
                    }
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
                _ = async {
                    match retry_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                }, if io.is_none() && retry_at.is_some() => {}
                _ = stop.cancelled(), if !stopping => {
                    // Refuse new batches but take everything already queued: those streams are
                    // waiting for their acks.
                    stopping = true;
                    self.rx.close();
                }
            }
        }
    }

    /// A commit failed. After a failed write or fsync the file's state is unknown (Linux may
    /// have dropped the dirty pages and will not report it again), so the group is neither
    /// acked nor retried in place: it is kept in memory and written again, whole, into a fresh
    /// segment once the disk takes it ([`recover`]). Until then nothing is acked: the streams
    /// wait (their batches queue up to the byte budget, then HTTP/2 flow control holds the
    /// bridges back), and their frames stay with the bridges.
    fn start_failing(&mut self, mut sealed: Sealed, mut chunks: Vec<Bytes>, e: &WalError) {
        // The file handle is given up: the next write goes to a new segment.
        self.segment = None;
        if sealed.commit_prefix && !chunks.is_empty() {
            // It attested the segment's previous group, which stays where it is.
            chunks.remove(0);
            sealed.commit_prefix = false;
        }
        let stats = &self.shared.stats;
        Stats::add(&stats.wal_write_failures, 1);
        stats.wal_write_failing.store(1, Ordering::Relaxed);
        let path = match e {
            WalError::Io { path, .. } => path.display().to_string(),
            _ => self.dir.display().to_string(),
        };
        // Once per episode: the retries that follow are counted, and logged at debug level.
        tracing::error!(
            path,
            error = %ErrorChain(e),
            "WAL write failed: no frame is acked until the log can be written again; retrying (acked frames are safe, the rest stay with the bridges)"
        );
        let now = Instant::now();
        self.failing = Some(Episode { started: now, attempts: 1, retry_at: now + retry_delay(1) });
        self.retry = Some((sealed, chunks));
    }

    /// Starts writing the failed group again, on a blocking thread (see [`recover`]).
    fn spawn_recovery(&mut self, chunks: Vec<Bytes>) -> (JoinHandle<IoDone>, IoKind) {
        let durable = *self.shared.committed.borrow();
        let index = durable.segment + 1;
        // The new segment's snapshot is the state before the group: what is durable now.
        let snapshot = self.shared.durable.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let head = segment_start(index, &snapshot);
        let head_len = head.len() as u64;
        let dir = self.dir.clone();
        let faults = self.faults.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = recover(&dir, durable, index, &head, &chunks, faults.as_deref());
            match result {
                Ok(segment) => IoDone { segment: Some(segment), chunks, result: Ok(()) },
                Err(e) => IoDone { segment: None, chunks, result: Err(e) },
            }
        });
        (task, IoKind::Recover { index, head_len })
    }

    /// The failed group is durable in a new segment: the episode is over.
    fn recovered(
        &mut self,
        mut sealed: Sealed,
        segment: Option<Segment>,
        index: u64,
        head_len: u64,
        chunks: &[Bytes],
    ) {
        let len = head_len + chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        sealed.end = WalPosition { segment: index, offset: len };
        sealed.bytes = len;
        self.segment = segment;
        self.seg_index = index;
        // The group that filled meanwhile goes into this segment too, after the one just
        // written; a rotation it had planned is void (this segment is new).
        self.group.new_segment = None;
        self.seg_len = len + self.group.bytes as u64;
        self.uncommitted = true;
        self.shared.stats.wal_write_failing.store(0, Ordering::Relaxed);
        if let Some(episode) = self.failing.take() {
            tracing::warn!(
                failed_attempts = episode.attempts,
                after = ?episode.started.elapsed(),
                segment = index,
                "WAL writes succeed again; acks resume"
            );
        }
        self.complete(sealed);
    }

    /// Tells the batches of the group being filled that they will not be stored.
    fn fail_group(&mut self, reason: &str) {
        let group = std::mem::take(&mut self.group);
        for w in group.waiters {
            let _ = w.reply.send(Err(Stopped(format!("the WAL writer failed: {reason}"))));
        }
    }

    /// The session's floor (0 when none was set: a server without JetStream never sets one).
    fn floor(&self, session: &SessionId) -> u64 {
        let floors = self.shared.floors.lock().unwrap_or_else(PoisonError::into_inner);
        if floors.is_empty() {
            return 0;
        }
        floors.get(session).copied().unwrap_or(0)
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
                let accepted = self.accepted.get(&r.session).copied().unwrap_or(0);
                let floor = self.floor(&r.session);
                cur = Some((r.session, accepted.max(floor)));
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
        let mut commit_prefix = false;
        if self.group.new_segment.is_some() {
            // The old segment is complete; the new one starts with its own durable head.
            self.uncommitted = false;
        } else if self.uncommitted && !self.group.chunks.is_empty() {
            // The previous commit's fsync has returned: say so in front of this group.
            self.group.chunks.insert(0, Bytes::copy_from_slice(&format::commit_record()));
            self.group.bytes += format::COMMIT_RECORD_LEN;
            self.seg_len += format::COMMIT_RECORD_LEN as u64;
            self.uncommitted = false;
            commit_prefix = true;
        }
        let wrote = self.group.writes();
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
            wrote,
            commit_prefix,
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

    /// The writer's last act at a graceful stop: a commit record after the last group, made
    /// durable, so replay knows that group was acked.
    async fn finish(mut self) -> Result<(), WalError> {
        if !self.uncommitted {
            return Ok(());
        }
        let Some(mut segment) = self.segment.take() else { return Ok(()) };
        let written = tokio::task::spawn_blocking(move || {
            let r = segment
                .file
                .write_all(&format::commit_record())
                .map_err(|e| WalError::io("write", &segment.path, e));
            r.and_then(|()| segment.file.sync_data().map_err(|e| WalError::io("fsync", &segment.path, e)))
        })
        .await
        .map_err(|e| WalError::WriterStopped { reason: format!("WAL commit task failed: {e}") })?;
        // The committed end is left where it was: the record holds no frame, and sinks then
        // checkpoint at their last frame's end, as their own outputs record it.
        if let Err(e) = written {
            // Everything acked is durable already; without this record replay merely treats
            // damage in the last group as a crash's torn tail (and a torn record here is one).
            tracing::warn!(error = %ErrorChain(&e), "the WAL's closing commit record could not be written");
        }
        Ok(())
    }
}

/// Writes `chunks` again after a failed commit: the segments that commit began after the
/// durable end are removed, the durable segment is cut back to it (what the failed write left
/// there was never acked, and must not reach replay or the sinks next to its new copy), and a
/// new segment `index` is written with `head` and the chunks, then fsync'd with its directory.
/// Runs on a blocking thread; a failure at any step leaves nothing acked behind and is simply
/// tried again later.
fn recover(
    dir: &Path,
    durable: WalPosition,
    index: u64,
    head: &[u8],
    chunks: &[Bytes],
    faults: Option<&WalFaults>,
) -> Result<Segment, WalError> {
    let mut removed = false;
    for i in super::list_segments(dir)? {
        if i > durable.segment {
            let path = segment_path(dir, i);
            match std::fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WalError::io("remove", &path, e)),
            }
        }
    }
    let path = segment_path(dir, durable.segment);
    let file = OpenOptions::new().write(true).open(&path).map_err(|e| WalError::io("open", &path, e))?;
    let len = file.metadata().map_err(|e| WalError::io("stat", &path, e))?.len();
    if len > durable.offset {
        file.set_len(durable.offset).map_err(|e| WalError::io("truncate", &path, e))?;
    }
    file.sync_all().map_err(|e| WalError::io("fsync", &path, e))?;
    if removed {
        sync_dir(dir)?;
    }
    let path = segment_path(dir, index);
    check_faults(faults, &path)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| WalError::io("create", &path, e))?;
    file.write_all(head).map_err(|e| WalError::io("write", &path, e))?;
    write_all_vectored(&mut file, chunks).map_err(|e| WalError::io("write", &path, e))?;
    file.sync_data().map_err(|e| WalError::io("fsync", &path, e))?;
    sync_dir(dir)?;
    Ok(Segment { index, file, path })
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

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;

    #[tokio::test]
    async fn each_write_after_an_fsync_starts_with_a_commit_record_and_a_graceful_stop_ends_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        let cfg = test_config();
        let stop = CancellationToken::new();
        let (writer, task) = start(wal, cfg, Arc::new(Stats::default()), stop.clone(), None).unwrap();
        let id = SessionId([1; 16]);
        for first in [0u64, 5] {
            let outcome = writer.submit(batch(id, first..first + 5)).await.unwrap();
            assert_eq!(outcome.await.unwrap().unwrap().acks, vec![(id, first + 5)]);
        }
        stop.cancel();
        task.await.unwrap().unwrap();

        let data = std::fs::read(segment_path(dir.path(), 0)).unwrap();
        let scan = format::scan_segment(&data, true).unwrap();
        let kinds: Vec<u8> =
            scan.records.iter().map(|&(o, _)| data[o as usize + format::RECORD_HEADER_LEN]).collect();
        let (s, f, c) = (format::KIND_SESSIONS, format::KIND_FRAME, format::KIND_COMMIT);
        assert_eq!(kinds, [s, c, f, f, f, f, f, c, f, f, f, f, f, c]);
        assert!(data.ends_with(&format::commit_record()));
    }

    /// A writer with small groups and a 1 ms commit interval.
    fn test_config() -> WriterConfig {
        WriterConfig {
            segment_bytes: 1 << 20,
            commit_interval: Duration::from_millis(1),
            group_max_bytes: 1 << 20,
            queue_batches: 8,
        }
    }

    fn batch(id: SessionId, seqs: std::ops::Range<u64>) -> Batch {
        let mut buf = BytesMut::new();
        let mut records = Vec::new();
        for seq in seqs {
            let start = buf.len();
            format::put_frame_record(&mut buf, &id, seq, b"frame");
            records.push(RecordMeta { session: id, seq, len: (buf.len() - start) as u32 });
        }
        Batch { buf: buf.freeze(), records }
    }

    /// A commit that fails is not acked, not retried in place, and not fatal: the group is
    /// written again into a new segment once writes work, and acked then; the log holds every
    /// frame once.
    #[tokio::test]
    async fn a_failed_commit_is_acked_only_once_it_is_written_again_in_a_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        let cfg = test_config();
        let stop = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let faults = Arc::new(WalFaults::default());
        let (writer, task) =
            start(wal, cfg, Arc::clone(&stats), stop.clone(), Some(Arc::clone(&faults))).unwrap();
        let id = SessionId([2; 16]);
        let ok = writer.submit(batch(id, 0..5)).await.unwrap();
        assert_eq!(ok.await.unwrap().unwrap().acks, vec![(id, 5)]);

        faults.set_full(true);
        let mut first = writer.submit(batch(id, 5..10)).await.unwrap();
        let mut second = writer.submit(batch(id, 10..12)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(first.try_recv().is_err() && second.try_recv().is_err(), "nothing acked while failing");
        assert_eq!(writer.durable_next_seq(&id), 5);
        let s = stats.snapshot();
        assert!(s.wal_write_failing && s.wal_write_failures >= 2, "{s:?}");

        faults.set_full(false);
        // The two batches may have shared a group: an ack says what was durable at its commit.
        let acked = first.await.unwrap().unwrap().acks;
        assert!(acked == vec![(id, 10)] || acked == vec![(id, 12)], "{acked:?}");
        assert_eq!(second.await.unwrap().unwrap().acks, vec![(id, 12)]);
        assert!(!stats.snapshot().wal_write_failing);
        stop.cancel();
        task.await.unwrap().unwrap();

        assert_eq!(super::super::list_segments(dir.path()).unwrap(), vec![0, 1], "the retry began a segment");
        let seqs: Vec<u64> = Wal::read_all(dir.path()).unwrap().iter().map(|f| f.seq).collect();
        assert_eq!(seqs, (0..12).collect::<Vec<_>>());
        let replayed = Wal::open(dir.path()).unwrap();
        assert_eq!(replayed.sessions()[&id], 12);
        assert_eq!(replayed.report().torn_tail, None);
        assert!(replayed.report().damaged.is_empty());
    }
}
