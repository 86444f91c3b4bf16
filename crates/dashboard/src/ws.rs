//! `/ws/timing`: the live board and notices to one browser.
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
            message = socket.recv() => match message {
                None | Some(Ok(Message::Close(_))) => break None,
                Some(Err(e)) => {
                    // Above HARD_LIMIT, or not WebSocket at all.
                    Counters::add(&counters.oversized_messages, 1);
                    tracing::warn!(error = %e, "dashboard WebSocket read failed");
                    break Some((TOO_BIG, "message too big or malformed"));
                }
                Some(Ok(Message::Text(text))) if text.len() > MAX_INBOUND_MESSAGE => {
                    Counters::add(&counters.oversized_messages, 1);
                    tracing::warn!(bytes = text.len(), "dashboard WebSocket message too big");
                    break Some((TOO_BIG, "message too big"));
                }
                Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_INBOUND_MESSAGE => {
                    Counters::add(&counters.oversized_messages, 1);
                    tracing::warn!(bytes = bytes.len(), "dashboard WebSocket message too big");
                    break Some((TOO_BIG, "message too big"));
                }
                // The feed is one-way: pings are answered by the WebSocket layer, the rest is
                // ignored.
                Some(Ok(_)) => {}
            },
            changed = board.changed(), if !board_due => match changed {
                Ok(()) => board_due = true,
                Err(_) => break Some((GOING_AWAY, "the timing feed ended")),
            },
            () = sleep_until(next_board), if board_due => {
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
    match timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Sent::Yes,
        Ok(Err(_)) => Sent::Gone,
        Err(_) => Sent::TimedOut,
    }
}
