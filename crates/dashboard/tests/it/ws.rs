//! `/ws/timing` with a real WebSocket client against a dashboard following the simulator: the
//! board decimated, the notices, the limits, and the close codes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use timing::Notice;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::get;
use crate::support;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr) -> Socket {
    let (socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/timing")).await.expect("a WebSocket");
    socket
}

/// The next JSON message, or the close code; `None` at the end of the stream.
async fn next(socket: &mut Socket) -> Option<Result<Value, u16>> {
    loop {
        let message =
            timeout(Duration::from_secs(60), socket.next()).await.expect("a message within a minute")?;
        match message {
            Ok(Message::Text(text)) => return Some(Ok(serde_json::from_str(&text).expect("JSON"))),
            Ok(Message::Close(frame)) => return Some(Err(frame.map_or(1005, |f| u16::from(f.code)))),
            Ok(_) => {}
            Err(e) => panic!("WebSocket error: {e}"),
        }
    }
}

#[tokio::test]
async fn the_board_comes_at_most_four_times_a_second_and_the_notices_as_they_happen() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut socket = connect(dash.addr).await;
    let first = next(&mut socket).await.expect("a message").expect("not closed");
    assert_eq!(first["kind"], "board", "the board comes first: {first}");

    // Three seconds of the feed, with every car on the board by then or soon after.
    let start = Instant::now();
    let mut boards = vec![first];
    let mut notices = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        let message = next(&mut socket).await.expect("a message").expect("not closed");
        match message["kind"].as_str() {
            Some("board") => boards.push(message),
            Some("notice") => notices.push(message),
            other => panic!("unknown message kind {other:?}"),
        }
    }
    let limit = 3.0 / dashboard::BOARD_EVERY.as_secs_f64() + 2.0;
    assert!((boards.len() as f64) <= limit, "{} boards in 3 s", boards.len());
    // About 12 when the machine keeps up; far fewer only if it is very busy.
    assert!(boards.len() >= 4, "only {} boards in 3 s", boards.len());
    let times: Vec<u64> = boards.iter().map(|b| b["board"]["at_ms"].as_u64().unwrap_or_default()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "boards in order: {times:?}");
    for n in &notices {
        assert!(
            n["unix_ms"].is_i64() && n["notice"]["at_ms"].is_u64() && n["notice"]["type"].is_string(),
            "{n}"
        );
    }

    // A lap completes within a few real seconds at this speed: its notice comes whole.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lap = loop {
        let message = next(&mut socket).await.expect("a message").expect("not closed");
        if message["kind"] == "notice" && message["notice"]["type"] == "lap_completed" {
            break message;
        }
        assert!(Instant::now() < deadline, "no lap completed within a minute");
    };
    let notice = &lap["notice"];
    assert!(notice["car_id"].as_u64().is_some_and(|id| id < u64::from(support::CARS)), "{lap}");
    assert!(notice["laps"].as_u64().is_some_and(|l| l >= 1), "{lap}");
    assert!(notice["personal_best"].is_boolean() && notice["counted"].is_boolean(), "{lap}");
    dash.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn an_oversized_message_closes_the_socket_with_1009() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut socket = connect(dash.addr).await;
    // A small message is ignored: the feed is one-way.
    socket.send(Message::text("hello")).await.expect("send");
    socket.send(Message::text("x".repeat(dashboard::MAX_INBOUND_MESSAGE + 1))).await.expect("send");
    let code = loop {
        match next(&mut socket).await {
            Some(Ok(_)) => {}
            Some(Err(code)) => break code,
            None => panic!("closed without a close frame"),
        }
    };
    assert_eq!(code, 1009);
    assert_eq!(dash.stats.snapshot().oversized_messages, 1);
    // Past what the WebSocket layer reads at all: closed all the same.
    let mut socket = connect(dash.addr).await;
    socket.send(Message::binary(vec![0u8; 200 * 1024])).await.expect("send");
    let end = loop {
        match next(&mut socket).await {
            Some(Ok(_)) => {}
            end => break end,
        }
    };
    assert_eq!(end, Some(Err(1009)));
    assert_eq!(dash.stats.snapshot().oversized_messages, 2);
    dash.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn sockets_beyond_the_limit_are_refused() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut open = Vec::new();
    for _ in 0..dashboard::MAX_SOCKETS {
        open.push(connect(dash.addr).await);
    }
    match tokio_tungstenite::connect_async(format!("ws://{}/ws/timing", dash.addr)).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        Err(e) => panic!("refused the wrong way: {e}"),
        Ok(_) => panic!("a WebSocket beyond the limit was accepted"),
    }
    assert_eq!(dash.stats.snapshot().sockets_refused, 1);
    // One closed, one more fits again.
    let mut closing = open.pop().expect("a socket");
    closing.close(None).await.expect("close");
    let deadline = Instant::now() + Duration::from_secs(30);
    while dash.stats.snapshot().sockets_open >= dashboard::MAX_SOCKETS as u64 {
        assert!(Instant::now() < deadline, "the closed socket's slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    open.push(connect(dash.addr).await);
    drop(open);
    dash.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn a_browser_that_never_reads_slows_nobody() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    // Opened and never read from again.
    let _stalled: Vec<Socket> = vec![connect(dash.addr).await, connect(dash.addr).await];
    let mut reader = connect(dash.addr).await;
    let start = Instant::now();
    let mut boards = 0;
    while start.elapsed() < Duration::from_secs(3) {
        if next(&mut reader).await.expect("a message").is_ok_and(|m| m["kind"] == "board") {
            boards += 1;
        }
    }
    // About 12 when the machine keeps up; a stalled feed would give 0 or 1.
    assert!(boards >= 4, "the reading browser got {boards} boards in 3 s");
    let before = Instant::now();
    assert_eq!(get(dash.addr, "/api/board").await.status, 200);
    assert!(before.elapsed() < Duration::from_secs(2));
    dash.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn stopping_the_dashboard_closes_its_sockets_with_1001() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut socket = connect(dash.addr).await;
    assert!(next(&mut socket).await.expect("a message").is_ok());
    let reading = tokio::spawn(async move {
        loop {
            match next(&mut socket).await {
                Some(Ok(_)) => {}
                Some(Err(code)) => return Some(code),
                None => return None,
            }
        }
    });
    let stats = dash.stop().await;
    assert_eq!(reading.await.expect("the reader"), Some(1001));
    assert_eq!(stats.sockets_opened, 1);
    assert!(stats.boards_sent >= 1);
    live.stop().await;
}

#[tokio::test]
async fn the_latest_board_wins_and_stale_ones_are_skipped() {
    let (boards, _notices, feed) = support::hand_fed(16);
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut socket = connect(dash.addr).await;
    let first = next(&mut socket).await.expect("a message").expect("not closed");
    assert_eq!(first["board"]["at_ms"], 0);
    // A hundred boards at once: the browser gets the last one, and at most a couple between.
    for at in 1..=100 {
        boards.send_replace(Arc::new(support::empty_board(at)));
    }
    let mut seen = Vec::new();
    while seen.last() != Some(&100) {
        let message = next(&mut socket).await.expect("a message").expect("not closed");
        seen.push(message["board"]["at_ms"].as_u64().expect("a board"));
    }
    assert!(seen.len() <= 2, "stale boards were sent: {seen:?}");
    dash.stop().await;
}

#[tokio::test]
async fn notices_a_browser_cannot_take_in_time_are_dropped_and_counted() {
    let (boards, notices, feed) = support::hand_fed(16);
    let dash = support::dashboard(Some(feed), None, None).await;
    let mut socket = connect(dash.addr).await;
    assert!(next(&mut socket).await.expect("a message").is_ok());
    // Sent without yielding: on this single-threaded runtime the socket's task cannot take
    // any of them before the 16 kept are all that is left.
    for at in 1..=1000 {
        let _ = notices.send(support::timed(at, Notice::ServerUp));
    }
    let mut received = Vec::new();
    while received.len() < 16 {
        let message = next(&mut socket).await.expect("a message").expect("not closed");
        if message["kind"] == "notice" {
            received.push(message["notice"]["at_ms"].as_u64().expect("a time"));
        }
    }
    assert_eq!(received, (985..=1000).collect::<Vec<u64>>(), "the newest notices, in order");
    assert_eq!(dash.stats.snapshot().notices_dropped, 984);
    // The next board tells the browser how many it missed.
    boards.send_replace(Arc::new(support::empty_board(2000)));
    let board = loop {
        let message = next(&mut socket).await.expect("a message").expect("not closed");
        if message["kind"] == "board" {
            break message;
        }
    };
    assert_eq!(board["dropped_notices"], 984);
    dash.stop().await;
}
