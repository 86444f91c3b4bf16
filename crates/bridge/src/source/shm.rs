//! The game's shared memory: its page files (mapped where possible) or, on Windows, its named
//! mappings, polled once a physics step.

use std::path::Path;
use std::time::{Duration, Instant};

use shm::{MonotonicClock, PageSource, Poller, Sample, StaticPage};

use super::{source_name, unix_now_ns};
use crate::error::BridgeError;
use crate::metrics::Metrics;
use crate::pacer::Pacer;
use crate::session::Sessionizer;
use crate::state::{BATCH_AGE, Sampling};

/// The page files of `dir` (the OS's usual place when `None`: the named mappings on Windows).
pub(super) fn open(dir: Option<&Path>) -> Result<Box<dyn PageSource + Send>, BridgeError> {
    #[cfg(unix)]
    {
        // Mapped, as Linux apps read a Proton bridge's files: a page copy is a memory copy, no
        // system call. Where a file cannot be mapped, read it instead.
        let dir = dir.unwrap_or(Path::new(shm::DEFAULT_DIR));
        match shm::MappedDir::open(dir) {
            Ok(mapped) => Ok(Box::new(mapped)),
            Err(e @ shm::ShmError::Io { op: "mapping", .. }) => {
                tracing::warn!(error = %e, "cannot map the page files; reading them with system calls");
                Ok(Box::new(shm::DirSource::open(dir)?))
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        match dir {
            Some(dir) => Ok(Box::new(shm::DirSource::open(dir)?)),
            None => Ok(shm::open_live()?),
        }
    }
}

/// A step read from the pages, waiting to become a frame.
struct Pending {
    sample: Sample,
    static_page: StaticPage,
    static_changed: bool,
    wall_ns: i64,
}

/// Steps gathered before they become frames together.
///
/// Building and encoding a frame 3 ms after the last one, with the game (and everything else)
/// running in between, finds caches cold: the frame builder, the encoder and the compressor ran
/// several times slower per frame than in a run of frames. So each poll only copies the pages
/// it read, and every [`BATCH_AGE`] (or [`PENDING_MAX`] steps) the steps become frames in one
/// go and go to the recording and the network side together. Timestamps are taken when the
/// step is read; a frame reaches the spool at most this much later (the batch the network side
/// sends was that old already).
const PENDING_MAX: usize = 112;

/// Polls the pages, paced by a [`Pacer`], until told to stop.
pub(super) fn run(source: Box<dyn PageSource + Send>, ctx: &mut Sampling<'_>) {
    let mut poller = Poller::new(source, MonotonicClock::new());
    let mut sessions = Sessionizer::new(source_name("shm")).with_driver_name(ctx.driver_name.clone());
    let mut pacer = Pacer::default();
    let mut next_static_check = Instant::now() + Duration::from_secs(1);
    // A static page that differed from the session's once; a second equal reading confirms it
    // (the game writes the static page while loading, and it has no packetId to guard a copy).
    let mut differing: Option<StaticPage> = None;
    let mut confirmed: Option<StaticPage> = None;
    let mut error_logged = false;
    // The physics packetId of the last sample, and when the pages were last read whole.
    let mut last_id: Option<i32> = None;
    let mut last_full = Instant::now();
    let mut id = [0u8; 4];
    let mut pending: Vec<Pending> = Vec::with_capacity(PENDING_MAX);
    let mut next_batch = Instant::now() + BATCH_AGE;
    let mut polls = 0u64;
    while !ctx.should_stop() {
        let now = Instant::now();
        polls += 1;
        // A poll copies both pages twice (the torn-read guard); most polls find the step
        // already sampled. Reading the physics packetId alone (offset 0) first skips those,
        // while a whole poll at least every 50 ms still follows the status and session when
        // physics stands still (pause, menus).
        let unchanged = last_id.is_some_and(|last| {
            now.saturating_duration_since(last_full) < Duration::from_millis(50)
                && poller.source_mut().read_at(shm::Page::Physics, 0, &mut id).is_ok()
                && i32::from_le_bytes(id) == last
        });
        let sampled = if unchanged {
            None
        } else {
            last_full = now;
            match poller.poll() {
                Ok(Some(sample)) => {
                    error_logged = false;
                    last_id = Some(sample.physics.packet_id);
                    let (static_page, static_changed) = match (sample.session_start, confirmed.take()) {
                        // A session start re-read the static page: the poller's is the freshest.
                        (None, Some(page)) => (page, true),
                        _ => (poller.static_page().copied().unwrap_or_else(StaticPage::new), false),
                    };
                    let id = sample.physics.packet_id;
                    pending.push(Pending { sample, static_page, static_changed, wall_ns: unix_now_ns() });
                    Some(id)
                }
                Ok(None) => None,
                Err(e) => {
                    Metrics::add(&ctx.metrics().source_errors, 1);
                    if !error_logged {
                        tracing::warn!(error = %e, "cannot read the shared memory; retrying");
                        error_logged = true;
                    }
                    ctx.sleep(Duration::from_millis(100));
                    None
                }
            }
        };
        let static_due = now >= next_static_check;
        if static_due || now >= next_batch || pending.len() >= PENDING_MAX {
            // Frames first: the static page is compared with the session the frames made.
            emit_pending(&mut pending, &mut sessions, ctx);
            publish_counts(ctx, poller.stats().torn_reads, polls);
            ctx.flush();
            ctx.housekeeping(now);
            next_batch = now + BATCH_AGE;
        }
        if static_due {
            next_static_check = now + Duration::from_secs(1);
            let mut page = StaticPage::new();
            if poller.source_mut().read_static(&mut page).is_ok() && sessions.static_differs(&page) {
                if differing.as_ref().is_some_and(|d| d.as_bytes() == page.as_bytes()) {
                    confirmed = Some(page);
                    differing = None;
                } else {
                    differing = Some(page);
                }
            } else {
                differing = None;
            }
        }
        let wait = pacer.next_wait(Instant::now(), sampled);
        ctx.sleep(wait);
    }
    emit_pending(&mut pending, &mut sessions, ctx);
    publish_counts(ctx, poller.stats().torn_reads, polls);
    ctx.flush();
}

/// Publishes the sampler's own counters to the status (at each batch, and when sampling ends).
fn publish_counts(ctx: &Sampling<'_>, torn_reads: u64, polls: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    ctx.metrics().torn_reads.store(torn_reads, Relaxed);
    ctx.metrics().polls.store(polls, Relaxed);
}

/// Turns the steps gathered into frames, recorded and handed to the network side.
fn emit_pending(pending: &mut Vec<Pending>, sessions: &mut Sessionizer, ctx: &mut Sampling<'_>) {
    for step in pending.drain(..) {
        let (frame, new) = sessions.frame(&step.sample, &step.static_page, step.static_changed, step.wall_ns);
        if let Some(why) = new {
            ctx.new_session(&frame, &format!("{why:?}"));
        }
        Metrics::add(&ctx.metrics().missed_steps, step.sample.missed_before);
        ctx.emit(&frame);
    }
}
