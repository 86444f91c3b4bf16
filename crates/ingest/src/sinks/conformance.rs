//! The conformance test every sink passes.
//!
//! [`run`] drives a sink the way the pipeline does, with crashes in between, and checks after
//! each step what a fresh reader finds in the sink's output:
//!
//! 1. **empty at start**: a new sink holds nothing;
//! 2. **flush means durable**: batches written and flushed are all there, each once, when the
//!    sink is then abandoned without another call (`mem::forget`: a SIGKILL right after the
//!    flush returned) and the output is read back;
//! 3. **nothing lost, nothing twice across a crash**: batches written after the last flush and
//!    then abandoned may or may not be there; after reopening, the pipeline re-delivers every
//!    frame after the later of the checkpoint and [`Sink::durable_position`], and then every
//!    frame is there exactly once;
//! 4. **a failed write is reported and retried**: wrapped in [`FailingSink`], the first writes
//!    and the first flush fail; the pipeline's retry logic writes again and nothing is lost or
//!    doubled;
//! 5. **never a panic**: a panic anywhere is caught and reported as a failure of its step.
//!
//! A sink whose output cannot be read back (the null sink) passes [`nothing_to_read`]: the steps
//! still run, the content checks are skipped.
//!
//! ```
//! use ingest::sinks::conformance;
//! use ingest::sinks::null::{NullConfig, NullSink};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let report = conformance::run(
//!     || async { Ok(NullSink::new(&NullConfig::default())) },
//!     conformance::nothing_to_read,
//! )
//! .await
//! .unwrap();
//! assert_eq!(report.write_failures, 3);
//! # });
//! ```

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use prost::Message as _;
use proto::telemetry::v1::{TelemetryFrame, Wheels};
use tokio_util::sync::CancellationToken;

use super::pipeline::{Backoff, Retried, flush_with_retry, write_with_retry};
use super::{Recovery, Sink, SinkError, WalFrame, WalPosition};
use crate::error::ErrorChain;
use crate::session::SessionId;
use crate::stats::Stats;
use crate::wal::format;

/// What a sink's output holds: one (session, seq) per stored frame, duplicates included.
pub type Keys = Vec<(SessionId, u64)>;

/// A failed conformance step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step, as listed in the module docs.
    pub step: &'static str,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sink conformance, step \"{}\": {}", self.step, self.message)
    }
}

impl std::error::Error for Failure {}

/// What a passing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Frames handed to the sink (re-deliveries included).
    pub frames_written: usize,
    /// Injected write failures the pipeline retried.
    pub write_failures: u32,
    /// Injected flush failures the pipeline retried.
    pub flush_failures: u32,
    /// Whether the output was read back and checked.
    pub read_back: bool,
}

/// The reader for sinks that keep nothing.
pub async fn nothing_to_read() -> Result<Option<Keys>, SinkError> {
    Ok(None)
}

/// Writes that fail before the first `k` reach the sink, and flushes likewise.
#[derive(Debug)]
pub struct FailingSink<S> {
    inner: S,
    writes_to_fail: u32,
    flushes_to_fail: u32,
}

impl<S: Sink> FailingSink<S> {
    /// Wraps `inner`: the next `writes` writes and `flushes` flushes fail without reaching it.
    pub fn new(inner: S, writes: u32, flushes: u32) -> Self {
        FailingSink { inner, writes_to_fail: writes, flushes_to_fail: flushes }
    }

    /// The wrapped sink.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Sink> Sink for FailingSink<S> {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        if self.writes_to_fail > 0 {
            self.writes_to_fail -= 1;
            return Err(SinkError::other("injected write failure"));
        }
        self.inner.write(batch).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        if self.flushes_to_fail > 0 {
            self.flushes_to_fail -= 1;
            return Err(SinkError::other("injected flush failure"));
        }
        self.inner.flush().await
    }

    async fn durable_position(&mut self) -> Result<Option<WalPosition>, SinkError> {
        self.inner.durable_position().await
    }

    fn next_seq(&self, session: &SessionId) -> Option<u64> {
        self.inner.next_seq(session)
    }

    async fn recover(&mut self) -> Result<Recovery, SinkError> {
        self.inner.recover().await
    }
}

/// Runs the conformance test. `make_sink` opens the sink on the same storage each time it is
/// called (a fresh storage per `run`); `read_back` reads what that storage holds, independently
/// of any sink instance, or returns `None` for a sink that keeps nothing.
pub async fn run<S, M, MF, R, RF>(make_sink: M, read_back: R) -> Result<Report, Failure>
where
    S: Sink,
    M: FnMut() -> MF,
    MF: Future<Output = Result<S, SinkError>>,
    R: FnMut() -> RF,
    RF: Future<Output = Result<Option<Keys>, SinkError>>,
{
    let step = Cell::new("empty at start");
    match CatchUnwind(Box::pin(steps(make_sink, read_back, &step))).await {
        Ok(result) => result,
        Err(panic) => Err(Failure { step: step.get(), message: format!("panicked: {panic}") }),
    }
}

/// Sessions, batch sizes (0 = an empty batch) and segments of the generated parts: A, B
/// (flushed), C (written, not flushed, then re-delivered), D (through failures).
const PARTS: [&[usize]; 4] = [&[1, 7, 64, 250, 3], &[100, 0, 33, 2], &[40, 90, 1], &[5, 120, 60, 9]];
const SESSIONS: usize = 3;

async fn steps<S, M, MF, R, RF>(
    mut make_sink: M,
    mut read_back: R,
    step: &Cell<&'static str>,
) -> Result<Report, Failure>
where
    S: Sink,
    M: FnMut() -> MF,
    MF: Future<Output = Result<S, SinkError>>,
    R: FnMut() -> RF,
    RF: Future<Output = Result<Option<Keys>, SinkError>>,
{
    let fail = |message: String| Failure { step: step.get(), message };
    let parts = plan();
    let stats = Stats::default();
    let never = CancellationToken::new();
    let quick = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(4) };
    let mut report = Report::default();
    let mut flushed: BTreeSet<(SessionId, u64)> = BTreeSet::new();
    let mut unflushed: BTreeSet<(SessionId, u64)> = BTreeSet::new();

    // 1. A new sink holds nothing.
    let mut sink = make_sink().await.map_err(|e| fail(format!("opening the sink: {}", ErrorChain(&e))))?;
    check(&mut read_back, &flushed, &unflushed, &mut report).await.map_err(fail)?;

    // 2. Write part A, flush, die.
    step.set("flush means durable");
    for batch in &parts[0] {
        sink.write(batch)
            .await
            .map_err(|e| fail(format!("write of {} frames: {}", batch.len(), ErrorChain(&e))))?;
        report.frames_written += batch.len();
    }
    sink.flush().await.map_err(|e| fail(format!("flush: {}", ErrorChain(&e))))?;
    let mut checkpoint = last_end(&parts[0]);
    flushed.extend(keys(&parts[0]));
    std::mem::forget(sink);
    check(&mut read_back, &flushed, &unflushed, &mut report).await.map_err(fail)?;

    // 3. Reopen, write and flush B, write C without flushing, die; reopen and let the
    //    pipeline re-deliver from the resume point.
    step.set("nothing lost, nothing twice across a crash");
    let mut sink = make_sink().await.map_err(|e| fail(format!("reopening the sink: {}", ErrorChain(&e))))?;
    for batch in &parts[1] {
        sink.write(batch)
            .await
            .map_err(|e| fail(format!("write of {} frames: {}", batch.len(), ErrorChain(&e))))?;
        report.frames_written += batch.len();
    }
    sink.flush().await.map_err(|e| fail(format!("flush: {}", ErrorChain(&e))))?;
    checkpoint = last_end(&parts[1]).max(checkpoint);
    flushed.extend(keys(&parts[1]));
    for batch in &parts[2] {
        sink.write(batch)
            .await
            .map_err(|e| fail(format!("write of {} frames: {}", batch.len(), ErrorChain(&e))))?;
        report.frames_written += batch.len();
    }
    unflushed.extend(keys(&parts[2]));
    std::mem::forget(sink);
    check(&mut read_back, &flushed, &unflushed, &mut report).await.map_err(fail)?;

    let mut sink = make_sink().await.map_err(|e| fail(format!("reopening the sink: {}", ErrorChain(&e))))?;
    let resume = resume_point(&mut sink, checkpoint).await.map_err(fail)?;
    for batch in &parts[2] {
        let todo: Vec<WalFrame> = batch.iter().filter(|f| f.end() > resume).cloned().collect();
        sink.write(&todo)
            .await
            .map_err(|e| fail(format!("re-delivery of {} frames: {}", todo.len(), ErrorChain(&e))))?;
        report.frames_written += todo.len();
    }
    sink.flush().await.map_err(|e| fail(format!("flush: {}", ErrorChain(&e))))?;
    checkpoint = last_end(&parts[2]).max(checkpoint);
    flushed.append(&mut unflushed);
    std::mem::forget(sink);
    check(&mut read_back, &flushed, &unflushed, &mut report).await.map_err(fail)?;

    // 4. Failures injected in front of the sink; the pipeline's retries must get D through.
    step.set("a failed write is reported and retried");
    let sink = make_sink().await.map_err(|e| fail(format!("reopening the sink: {}", ErrorChain(&e))))?;
    let mut failing = FailingSink::new(sink, 3, 1);
    let resume = resume_point(&mut failing, checkpoint).await.map_err(fail)?;
    let mut streak = 0;
    for batch in &parts[3] {
        let todo: Vec<WalFrame> = batch.iter().filter(|f| f.end() > resume).cloned().collect();
        let failures =
            match write_with_retry(&mut failing, "conformance", &todo, quick, &mut streak, &never, &stats)
                .await
            {
                Retried::Done(failures) => failures,
                other => return Err(fail(format!("write retry ended with {other:?}"))),
            };
        report.write_failures += failures;
        report.frames_written += todo.len();
    }
    report.flush_failures =
        match flush_with_retry(&mut failing, "conformance", quick, &mut streak, &never, &stats).await {
            Retried::Done(failures) => failures,
            other => return Err(fail(format!("flush retry ended with {other:?}"))),
        };
    if (report.write_failures, report.flush_failures) != (3, 1) {
        return Err(fail(format!(
            "expected 3 failed writes and 1 failed flush to be retried, saw {} and {}",
            report.write_failures, report.flush_failures
        )));
    }
    let counted = stats.snapshot();
    if (counted.sink_write_failures, counted.sink_flush_failures) != (3, 1) {
        return Err(fail(format!(
            "failures not reported: counted {} writes and {} flushes",
            counted.sink_write_failures, counted.sink_flush_failures
        )));
    }
    flushed.extend(keys(&parts[3]));
    std::mem::forget(failing);
    check(&mut read_back, &flushed, &unflushed, &mut report).await.map_err(fail)?;
    Ok(report)
}

/// Where the pipeline would resume: the later of the checkpoint and the sink's durable position,
/// which may not be behind the checkpoint (flush means durable).
async fn resume_point<S: Sink>(sink: &mut S, checkpoint: WalPosition) -> Result<WalPosition, String> {
    match sink.durable_position().await.map_err(|e| format!("durable_position: {}", ErrorChain(&e)))? {
        Some(p) if p < checkpoint => {
            Err(format!("durable_position {p} is behind the position {checkpoint} flushed before"))
        }
        Some(p) => Ok(p),
        None => Ok(checkpoint),
    }
}

/// Reads the output back: every flushed frame exactly once, unflushed ones at most once,
/// nothing else.
async fn check<R, RF>(
    read_back: &mut R,
    flushed: &BTreeSet<(SessionId, u64)>,
    unflushed: &BTreeSet<(SessionId, u64)>,
    report: &mut Report,
) -> Result<(), String>
where
    R: FnMut() -> RF,
    RF: Future<Output = Result<Option<Keys>, SinkError>>,
{
    let Some(found) =
        read_back().await.map_err(|e| format!("reading the output back: {}", ErrorChain(&e)))?
    else {
        return Ok(());
    };
    report.read_back = true;
    let mut counts: BTreeMap<(SessionId, u64), usize> = BTreeMap::new();
    for k in found {
        *counts.entry(k).or_default() += 1;
    }
    if let Some(((s, seq), n)) = counts.iter().find(|(_, n)| **n > 1) {
        return Err(format!("session {s} seq {seq} stored {n} times"));
    }
    if let Some((s, seq)) = flushed.iter().find(|k| !counts.contains_key(k)) {
        return Err(format!(
            "session {s} seq {seq} was flushed but is missing ({} of {} flushed frames found)",
            flushed.iter().filter(|k| counts.contains_key(k)).count(),
            flushed.len()
        ));
    }
    if let Some((s, seq)) = counts.keys().find(|k| !flushed.contains(k) && !unflushed.contains(k)) {
        return Err(format!("session {s} seq {seq} is in the output but was never written"));
    }
    Ok(())
}

fn keys(batches: &[Vec<WalFrame>]) -> impl Iterator<Item = (SessionId, u64)> + '_ {
    batches.iter().flatten().map(|f| (f.session_id, f.seq))
}

fn last_end(batches: &[Vec<WalFrame>]) -> WalPosition {
    batches.iter().flatten().last().map(WalFrame::end).unwrap_or_default()
}

/// The frames of [`PARTS`]: sessions take turns per batch, seqs count up per session, positions
/// advance like a real log's and move to a new segment after part B.
fn plan() -> Vec<Vec<Vec<WalFrame>>> {
    let sessions: Vec<SessionId> = (0..SESSIONS)
        .map(|i| {
            let mut id = [0x5a; 16];
            id[0] = 0x01;
            id[15] = i as u8;
            SessionId(id)
        })
        .collect();
    let mut next_seq = [0u64; SESSIONS];
    let mut pos = WalPosition { segment: 1, offset: format::SEGMENT_HEADER_LEN + 13 };
    let mut turn = 0usize;
    let mut parts = Vec::new();
    for (p, sizes) in PARTS.iter().enumerate() {
        if p == 2 {
            pos = WalPosition { segment: 2, offset: format::SEGMENT_HEADER_LEN + 37 };
        }
        let mut batches = Vec::new();
        for &size in sizes.iter() {
            let s = turn % SESSIONS;
            turn += 1;
            let mut batch = Vec::with_capacity(size);
            for _ in 0..size {
                let seq = next_seq[s];
                next_seq[s] += 1;
                let bytes = sample_frame(sessions[s], seq).encode_to_vec();
                let frame = WalFrame { position: pos, session_id: sessions[s], seq, bytes: bytes.into() };
                pos = frame.end();
                batch.push(frame);
            }
            batches.push(batch);
        }
        parts.push(batches);
    }
    parts
}

fn sample_frame(session: SessionId, seq: u64) -> TelemetryFrame {
    let t = seq as f32 * 0.003;
    TelemetryFrame {
        session_id: session.0.to_vec().into(),
        seq,
        wall_time_ns: 1_700_000_000_000_000_000 + seq as i64 * 3_003_003,
        mono_time_ns: seq as i64 * 3_003_003,
        physics_packet_id: seq as i32 + 100,
        graphics_packet_id: (seq / 5) as i32,
        throttle: (t.sin() + 1.0) / 2.0,
        brake: 0.0,
        steering: t.cos() * 0.5,
        gear: 3,
        rpm: 6500,
        speed_kmh: 150.0 + t,
        normalized_position: (seq % 1000) as f32 / 1000.0,
        tyre_pressure_psi: Some(Wheels { fl: 27.1, fr: 27.2, rl: 26.4, rr: 26.5 }),
        ..Default::default()
    }
}

/// Turns a panic while polling the wrapped future into an error (the future is boxed so it can
/// be polled without pin projection).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".into());
                Poll::Ready(Err(msg))
            }
        }
    }
}
