//! `/ws/timing`: the live board and notices to one browser; `/ws/telemetry`: one car's live
//! inputs and tyres (see [`crate::telemetry`] for how they are decimated).
//!
//! Each WebSocket has its own task, with its own clone of the feed's board (a `watch`: only
//! the latest board is ever sent, at most every [`BOARD_EVERY`]) and its own subscription to
//! the notices (a `broadcast`). The follower never waits for a browser: a browser that reads
//! slowly makes its own subscription lag, and the notices it missed are counted, dropped, and
//! reported to it with the next board; one that stops reading for [`SEND_TIMEOUT`] is closed.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use live::follow::TimedNotice;
use serde::Serialize;
use timing::{Board, StampedNotice};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};
use tokio::time::{Instant, sleep_until, timeout};

use crate::http::{bad_request, error};
use crate::telemetry::{SAMPLE_EVERY, TYRES_EVERY};
use crate::{BOARD_EVERY, Counters, MAX_INBOUND_MESSAGE, SEND_TIMEOUT, Shared, params};

/// Close codes (RFC 6455, 7.4.1).
const GOING_AWAY: u16 = 1001;
const TOO_BIG: u16 = 1009;
const TRY_AGAIN_LATER: u16 = 1013;

/// What tungstenite itself accepts before it gives up on a message: above our own limit, so
/// that a message a little too big is answered with a clean 1009 by us.
const HARD_LIMIT: usize = 64 * 1024;

/// A board on the WebSocket.
#[derive(Debug, Serialize)]
struct BoardMessage<'a> {
    kind: &'static str,
    /// Notices this WebSocket dropped so far because the browser read too slowly.
    dropped_notices: u64,
    board: &'a Board,
}

/// A notice on the WebSocket.
#[derive(Debug, Serialize)]
struct NoticeMessage<'a> {
    kind: &'static str,
    unix_ms: i64,
    notice: StampedNotice<'a>,
}

/// The upgrade: refused when there is no feed, when the query has anything but the token, or
/// when [`MAX_SOCKETS`](crate::MAX_SOCKETS) are open.
pub(crate) async fn timing(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(reason) = params::none(query.as_deref()) {
        return bad_request(&shared, &uri, reason);
    }
    let Some(live) = &shared.live else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no live timing: the dashboard follows no server");
    };
    // Checked after the query and the feed, so that those errors are the same for a plain GET.
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = Arc::clone(&shared.sockets).try_acquire_owned() else {
        Counters::add(&shared.counters.sockets_refused, 1);
        tracing::warn!("dashboard WebSocket refused: too many open");
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many live timing connections");
    };
    let board = live.board.clone();
    let notices = live.notices.resubscribe();
    let shared = Arc::clone(&shared);
    upgrade
        .max_message_size(HARD_LIMIT)
        .max_frame_size(HARD_LIMIT)
        .on_upgrade(move |socket| feed(socket, shared, board, notices, permit))
}

/// Sends the board and the notices until the browser leaves, the feed ends or the dashboard
/// stops.
async fn feed(
    mut socket: WebSocket,
    shared: Arc<Shared>,
    mut board: watch::Receiver<Arc<Board>>,
    mut notices: broadcast::Receiver<Arc<TimedNotice>>,
    _permit: OwnedSemaphorePermit,
) {
    let counters = &shared.counters;
    Counters::add(&counters.sockets_opened, 1);
    Counters::add(&counters.sockets_open, 1);
    let mut shutdown = shared.shutdown.clone();
    // The first board goes at once; later ones when the feed has a new one and BOARD_EVERY has
    // passed since the last.
    let mut board_due = true;
    let mut next_board = Instant::now();
    let mut dropped = 0u64;
    let mut notices_open = true;
    let close = loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break Some((GOING_AWAY, "the dashboard is stopping")),
            message = socket.recv() => match inbound(message, counters) {
                Inbound::Ignored => {}
                Inbound::End(close) => break close,
            },
            changed = board.changed(), if !board_due => match changed {
                Ok(()) => board_due = true,
                Err(_) => break Some((GOING_AWAY, "the timing feed ended")),
            },
            // Due now, it is ready now: a timer at an instant already past would only fire at
            // the timer's next tick, after a notice ready meanwhile (the first board must lead).
            () = async { if next_board > Instant::now() { sleep_until(next_board).await } }, if board_due => {
                let latest = Arc::clone(&board.borrow_and_update());
                let message = BoardMessage { kind: "board", dropped_notices: dropped, board: &latest };
                match send(&mut socket, &message).await {
                    Sent::Yes => Counters::add(&counters.boards_sent, 1),
                    Sent::TimedOut => {
                        Counters::add(&counters.sockets_timed_out, 1);
                        break Some((TRY_AGAIN_LATER, "the browser reads too slowly"));
                    }
                    Sent::Gone => break None,
                }
                board_due = false;
                next_board = Instant::now() + BOARD_EVERY;
            }
            notice = notices.recv(), if notices_open => match notice {
                Ok(timed) => {
                    let message = NoticeMessage {
                        kind: "notice",
                        unix_ms: timed.unix_ms,
                        notice: StampedNotice { at: timed.at, notice: &timed.notice },
                    };
                    match send(&mut socket, &message).await {
                        Sent::Yes => Counters::add(&counters.notices_sent, 1),
                        Sent::TimedOut => {
                            Counters::add(&counters.sockets_timed_out, 1);
                            break Some((TRY_AGAIN_LATER, "the browser reads too slowly"));
                        }
                        Sent::Gone => break None,
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    dropped += missed;
                    Counters::add(&counters.notices_dropped, missed);
                }
                // The follower stopped; its board's watch ends too, which closes the socket.
                Err(RecvError::Closed) => notices_open = false,
            },
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
    counters.sockets_open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

/// What a message from the browser means for its WebSocket.
enum Inbound {
    /// Nothing: the feeds are one-way (pings are answered by the WebSocket layer).
    Ignored,
    /// The WebSocket ends, with this close frame to send if any.
    End(Option<(u16, &'static str)>),
}

/// Reads one message from the browser: a close or the end of the connection ends the
/// WebSocket, a message over [`MAX_INBOUND_MESSAGE`] closes it with 1009, the rest is ignored.
fn inbound(message: Option<Result<Message, axum::Error>>, counters: &Counters) -> Inbound {
    match message {
        None | Some(Ok(Message::Close(_))) => Inbound::End(None),
        Some(Err(e)) => {
            // Above HARD_LIMIT, or not WebSocket at all.
            Counters::add(&counters.oversized_messages, 1);
            tracing::warn!(error = %e, "dashboard WebSocket read failed");
            Inbound::End(Some((TOO_BIG, "message too big or malformed")))
        }
        Some(Ok(Message::Text(text))) if text.len() > MAX_INBOUND_MESSAGE => {
            Counters::add(&counters.oversized_messages, 1);
            tracing::warn!(bytes = text.len(), "dashboard WebSocket message too big");
            Inbound::End(Some((TOO_BIG, "message too big")))
        }
        Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_INBOUND_MESSAGE => {
            Counters::add(&counters.oversized_messages, 1);
            tracing::warn!(bytes = bytes.len(), "dashboard WebSocket message too big");
            Inbound::End(Some((TOO_BIG, "message too big")))
        }
        Some(Ok(_)) => Inbound::Ignored,
    }
}

/// The upgrade of `/ws/telemetry?session=HEX`: refused when the dashboard has no telemetry
/// tap, when the query is not one session id (and the token), or when
/// [`MAX_SOCKETS`](crate::MAX_SOCKETS) are open. A session that is not live (yet) is waited
/// for: the page may open before the car's first frame, or stay open across a restart of the
/// bridge.
pub(crate) async fn telemetry(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let session = match params::telemetry_session(query.as_deref()) {
        Ok(session) => session,
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    if shared.telemetry.get().is_none() {
        return error(StatusCode::SERVICE_UNAVAILABLE, NO_TELEMETRY);
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = Arc::clone(&shared.sockets).try_acquire_owned() else {
        Counters::add(&shared.counters.sockets_refused, 1);
        tracing::warn!("dashboard WebSocket refused: too many open");
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many live connections");
    };
    let shared = Arc::clone(&shared);
    upgrade
        .max_message_size(HARD_LIMIT)
        .max_frame_size(HARD_LIMIT)
        .on_upgrade(move |socket| telemetry_feed(socket, shared, session, permit))
}

/// The answer when the dashboard has no telemetry tap.
pub(crate) const NO_TELEMETRY: &str = "no live telemetry: the dashboard is given no ingest server's frames";

/// Sends one session's latest sample every [`SAMPLE_EVERY`] (when there is a newer one) and its
/// tyres every [`TYRES_EVERY`], until the browser leaves or the dashboard stops.
async fn telemetry_feed(
    mut socket: WebSocket,
    shared: Arc<Shared>,
    session: [u8; 16],
    _permit: OwnedSemaphorePermit,
) {
    let counters = &shared.counters;
    Counters::add(&counters.sockets_opened, 1);
    Counters::add(&counters.sockets_open, 1);
    let mut shutdown = shared.shutdown.clone();
    // A late tick is skipped, not caught up with: a browser never gets a burst.
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent: Option<u64> = None;
    let mut tyres_sent: Option<u64> = None;
    let mut tyres_due = Instant::now();
    let close = loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break Some((GOING_AWAY, "the dashboard is stopping")),
            message = socket.recv() => match inbound(message, counters) {
                Inbound::Ignored => {}
                Inbound::End(close) => break close,
            },
            _ = tick.tick() => {
                let Some(sample) = shared.telemetry.get().and_then(|hub| hub.latest(&session)) else {
                    continue;
                };
                let mut out = Vec::with_capacity(2);
                if sent != Some(sample.seq) {
                    out.push(sample.inputs_json());
                    sent = Some(sample.seq);
                }
                let now = Instant::now();
                if now >= tyres_due && tyres_sent != Some(sample.seq) {
                    out.push(sample.tyres_json());
                    tyres_sent = Some(sample.seq);
                    tyres_due = now + TYRES_EVERY;
                }
                let mut result = Sent::Yes;
                for text in out {
                    let inputs = text.starts_with(r#"{"s""#);
                    result = send_text(&mut socket, text).await;
                    if result != Sent::Yes {
                        break;
                    }
                    if inputs {
                        Counters::add(&counters.telemetry_sent, 1);
                    }
                }
                match result {
                    Sent::Yes => {}
                    Sent::TimedOut => {
                        Counters::add(&counters.sockets_timed_out, 1);
                        break Some((TRY_AGAIN_LATER, "the browser reads too slowly"));
                    }
                    Sent::Gone => break None,
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
    counters.sockets_open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

/// What became of a message to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// It went out (or could not be serialized, and was skipped: not the browser's fault).
    Yes,
    /// The browser did not take it within [`SEND_TIMEOUT`].
    TimedOut,
    /// The connection failed: the browser left.
    Gone,
}

/// Sends one JSON message.
async fn send<T: Serialize>(socket: &mut WebSocket, message: &T) -> Sent {
    let text = match serde_json::to_string(message) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(error = %e, "dashboard message not serializable");
            return Sent::Yes;
        }
    };
    send_text(socket, text).await
}

/// Sends one text message.
async fn send_text(socket: &mut WebSocket, text: String) -> Sent {
    match timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Sent::Yes,
        Ok(Err(_)) => Sent::Gone,
        Err(_) => Sent::TimedOut,
    }
}
