//! A recording replayed: its frames re-sent with their own session ids and seqs.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;

use super::Speed;
use crate::error::BridgeError;
use crate::metrics::Metrics;
use crate::state::Sampling;

/// Opens the recording at `path`, which must not be `record`, the one this bridge writes.
pub(super) fn open(path: &Path, record: &Path) -> Result<record::RecordReader, BridgeError> {
    if same_file(path, record) {
        return Err(BridgeError::config(
            "--source replay",
            format!(
                "{} is also the recording this bridge writes; give --record another file",
                path.display()
            ),
        ));
    }
    // A damaged stretch is skipped (and reported), and the replay goes on after it.
    let options = record::ReadOptions { resync: true, ..Default::default() };
    Ok(record::RecordReader::open_with(path, options)?)
}

/// Whether `a` and `b` name the same file (compared as canonical paths where both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Sends the recording's frames, paced by their own clock at `speed`, until its end or a stop.
pub(super) fn run(mut reader: record::RecordReader, speed: Speed, ctx: &mut Sampling<'_>) {
    // (frame clock, host clock) of the frame that pacing is measured from.
    let mut base: Option<(i64, Instant)> = None;
    let mut last_mono = i64::MIN;
    let mut last_session = Bytes::new();
    while !ctx.should_stop() {
        let Some(raw) = reader.next_raw() else { break };
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) if e.is_damage() => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "the replayed recording is damaged; skipping the damaged part");
                continue;
            }
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "cannot read the replayed recording; stopping");
                break;
            }
        };
        let frame = match TelemetryFrame::decode(raw.clone()) {
            Ok(f) => f,
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "a replayed frame does not decode; stopping");
                break;
            }
        };
        if let Speed::Factor(x) = speed {
            // A new base when the frames' clock goes back or jumps far ahead (another bridge
            // run, a host that slept): replay pauses as recorded, but not for hours.
            let jump = frame.mono_time_ns.saturating_sub(last_mono);
            if base.is_none() || !(0..=60_000_000_000).contains(&jump) {
                base = Some((frame.mono_time_ns, Instant::now()));
            }
            if let Some((mono0, host0)) = base {
                let offset = (frame.mono_time_ns.saturating_sub(mono0)).max(0) as f64 / x;
                let target = host0 + Duration::from_nanos(offset as u64);
                while !ctx.should_stop() {
                    let wait = target.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        break;
                    }
                    ctx.housekeeping(Instant::now());
                    ctx.sleep(wait.min(Duration::from_millis(50)));
                }
            }
            last_mono = frame.mono_time_ns;
        }
        if frame.session_id != last_session {
            last_session = frame.session_id.clone();
            if frame.session.is_some() || frame.seq == 0 {
                ctx.new_session(&frame, "replayed");
            }
        }
        Metrics::add(&ctx.metrics().missed_steps, u64::from(frame.missed_steps));
        // Copied: the raw bytes share the member's whole buffer, which the window would keep.
        ctx.emit_encoded(Bytes::copy_from_slice(&raw), &frame.session_id, frame.seq);
        ctx.housekeeping(Instant::now());
    }
}
