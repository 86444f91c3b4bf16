//! The routes: the pages, the embedded assets, the JSON APIs, and the token check in front of
//! them all. Every handler reads; none changes anything.

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use records::{LeaderRow, Ranking, SessionType};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::assets::{self, Asset};
use crate::params::{self, BadRequest};
use crate::{Counters, Shared, lap_routes, ws};

/// Every page's policy: scripts, styles and connections from the dashboard only. Inline
/// styles are allowed because uPlot sizes its canvas with them.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The router of a dashboard.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(timing_page))
        .route("/records", get(records_page))
        .route("/telemetry", get(telemetry_page))
        .route("/assets/{*name}", get(asset))
        .route("/api/board", get(api_board))
        .route("/api/map", get(api_map))
        .route("/api/records", get(api_records))
        .route("/api/tracks", get(api_tracks))
        .route("/api/telemetry", get(api_telemetry))
        .route("/api/sessions", get(lap_routes::api_sessions))
        .route("/api/session/laps", get(lap_routes::api_session_laps))
        .route("/api/lap", get(lap_routes::api_lap))
        .route("/api/lap/download", get(lap_routes::api_lap_download))
        .route("/sessions", get(sessions_page))
        .route("/lap", get(lap_page))
        .route("/ws/timing", get(ws::timing))
        .route("/ws/telemetry", get(ws::telemetry))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), guard))
        .with_state(shared)
}

/// In front of every route: the token check, and the headers every answer carries.
///
/// The embedded assets under `/assets/` are the only thing served without the token: they are
/// the same in every copy of pitwall and hold no data, and a page opened with `?token=` loads
/// them through plain `<script>` and `<link>` tags, which cannot carry it. The pages, the APIs
/// and the WebSocket all need it.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let public = request.uri().path().starts_with("/assets/");
    if let Some(expected) = shared.token.as_ref().filter(|_| !public) {
        let given = bearer(request.headers()).or_else(|| params::token(request.uri().query()));
        if !given.is_some_and(|given| same(given.as_bytes(), expected.as_bytes())) {
            Counters::add(&shared.counters.unauthorized, 1);
            tracing::warn!(path = request.uri().path(), "dashboard request without the right token");
            let mut response =
                (StatusCode::UNAUTHORIZED, "a token is required: ?token= or Authorization: Bearer\n")
                    .into_response();
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    // The token may be in the page's URL: never send it on as a referrer.
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    headers.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// Compares two tokens in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 400 answer, counted and logged.
pub(crate) fn bad_request(shared: &Shared, uri: &Uri, reason: BadRequest) -> Response {
    Counters::add(&shared.counters.bad_requests, 1);
    tracing::warn!(path = uri.path(), reason = %reason.0, "bad dashboard request");
    error(StatusCode::BAD_REQUEST, &reason.0)
}

/// An error answer: `{"error": "…"}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard answer not serializable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn serve_asset(asset: &'static Asset, csp: bool) -> Response {
    let mut response = ([(CONTENT_TYPE, asset.content_type)], asset.body).into_response();
    if csp {
        response
            .headers_mut()
            .insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP));
    }
    response
}

async fn timing_page(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    // The page's own parameters (the token) are read by its script; check them all the same.
    match params::pairs(query.as_deref()) {
        Ok(_) => serve_asset(&assets::TIMING_PAGE, true),
        Err(reason) => bad_request(&shared, &uri, reason),
    }
}

async fn records_page(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    match params::pairs(query.as_deref()) {
        Ok(_) => serve_asset(&assets::RECORDS_PAGE, true),
        Err(reason) => bad_request(&shared, &uri, reason),
    }
}

async fn telemetry_page(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    // `session` (the car to show first) and the token are read by the page's script.
    match params::pairs(query.as_deref()) {
        Ok(_) => serve_asset(&assets::TELEMETRY_PAGE, true),
        Err(reason) => bad_request(&shared, &uri, reason),
    }
}

async fn sessions_page(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    match params::pairs(query.as_deref()) {
        Ok(_) => serve_asset(&assets::SESSIONS_PAGE, true),
        Err(reason) => bad_request(&shared, &uri, reason),
    }
}

async fn lap_page(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    // The laps to show (`l=UUID:N`, repeated) are read by the page's script.
    match params::pairs(query.as_deref()) {
        Ok(_) => serve_asset(&assets::LAP_PAGE, true),
        Err(reason) => bad_request(&shared, &uri, reason),
    }
}

/// `/api/telemetry`: the live sessions of the telemetry tap, most recently seen first.
async fn api_telemetry(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    if let Err(reason) = params::none(query.as_deref()) {
        return bad_request(&shared, &uri, reason);
    }
    match shared.telemetry.get() {
        Some(hub) => json(StatusCode::OK, &hub.sessions()),
        None => error(StatusCode::SERVICE_UNAVAILABLE, ws::NO_TELEMETRY),
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::find(&name) {
        Some(asset) => serve_asset(asset, false),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

async fn api_board(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    if let Err(reason) = params::none(query.as_deref()) {
        return bad_request(&shared, &uri, reason);
    }
    match &shared.live {
        Some(live) => {
            let board = Arc::clone(&live.board.borrow());
            json(StatusCode::OK, &*board)
        }
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no live timing: the dashboard follows no server"),
    }
}

/// `/api/map`: the outline of the live session's track, learned from the cars' positions:
/// `{"outline": null}` until enough of the lap has been seen.
async fn api_map(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    if let Err(reason) = params::none(query.as_deref()) {
        return bad_request(&shared, &uri, reason);
    }
    match &shared.live {
        Some(live) => {
            let outline = live.outline.borrow().clone();
            json(StatusCode::OK, &serde_json::json!({ "outline": outline.as_deref() }))
        }
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no live timing: the dashboard follows no server"),
    }
}

/// `/api/records`: the query as understood, and the rows.
#[derive(Debug, Serialize)]
struct RecordsAnswer<'a> {
    query: QueryEcho<'a>,
    rows: Vec<LeaderRow>,
}

/// A [`records::Query`] as JSON.
#[derive(Debug, Serialize)]
struct QueryEcho<'a> {
    track: &'a str,
    layout: &'a str,
    cars: &'a [String],
    session: Option<SessionType>,
    include_invalid: bool,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    ranking: Ranking,
    limit: Option<u32>,
}

async fn api_records(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    let query = match params::records_query(query.as_deref()) {
        Ok(q) => q,
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    if shared.records.is_none() {
        return no_records();
    }
    let task_shared = Arc::clone(&shared);
    let task_query = query.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let store = task_shared.records.as_ref()?;
        // A panic while the lock was held cannot leave a read-only store half-changed.
        let store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(store.leaderboard(&task_query))
    })
    .await;
    match rows {
        Ok(Some(Ok(rows))) => json(
            StatusCode::OK,
            &RecordsAnswer {
                query: QueryEcho {
                    track: &query.track,
                    layout: &query.layout,
                    cars: &query.cars,
                    session: query.session_type,
                    include_invalid: query.include_invalid,
                    since_ms: query.since_ms,
                    until_ms: query.until_ms,
                    ranking: query.ranking,
                    limit: query.limit,
                },
                rows,
            },
        ),
        Ok(Some(Err(e))) => {
            tracing::error!(error = %e, "records leaderboard failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
        }
        Ok(None) => no_records(),
        Err(e) => {
            tracing::error!(error = %e, "records leaderboard task failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
        }
    }
}

pub(crate) fn no_records() -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "no records: the dashboard has no records database")
}

/// A track layout of the records database, with its cars and session types.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TrackInfo {
    track: String,
    layout: String,
    session_types: Vec<String>,
    cars: Vec<CarInfo>,
}

/// A car at a track layout: its laps and best valid lap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CarInfo {
    car: String,
    laps: u64,
    valid_laps: u64,
    best_ms: Option<u32>,
}

async fn api_tracks(State(shared): State<Arc<Shared>>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    if let Err(reason) = params::none(query.as_deref()) {
        return bad_request(&shared, &uri, reason);
    }
    let Some(path) = shared.records_db.clone() else { return no_records() };
    match tokio::task::spawn_blocking(move || tracks(&path)).await {
        Ok(Ok(tracks)) => json(StatusCode::OK, &tracks),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "records track list failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
        }
        Err(e) => {
            tracing::error!(error = %e, "records track list task failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
        }
    }
}

/// The track layouts and cars that have laps in the records database, read straight from its
/// tables (`records` has no such query yet) on a read-only connection.
pub(crate) fn tracks(path: &FsPath) -> rusqlite::Result<Vec<TrackInfo>> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut out: Vec<TrackInfo> = Vec::new();
    let mut cars = conn.prepare(
        "SELECT c.track, c.layout, c.car_model, COUNT(l.id), COALESCE(SUM(l.valid), 0),
                MIN(CASE WHEN l.valid = 1 THEN l.time_ms END)
         FROM combos c JOIN laps l ON l.combo_id = c.id
         GROUP BY c.id ORDER BY c.track, c.layout, c.car_model",
    )?;
    let rows = cars.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            CarInfo { car: r.get(2)?, laps: r.get(3)?, valid_laps: r.get(4)?, best_ms: r.get(5)? },
        ))
    })?;
    for row in rows {
        let (track, layout, car) = row?;
        match out.last_mut() {
            Some(last) if last.track == track && last.layout == layout => last.cars.push(car),
            _ => out.push(TrackInfo { track, layout, session_types: Vec::new(), cars: vec![car] }),
        }
    }
    let mut types = conn.prepare(
        "SELECT DISTINCT s.track, s.layout, s.session_type FROM sessions s
         WHERE EXISTS (SELECT 1 FROM laps l WHERE l.session_id = s.id)
         ORDER BY s.track, s.layout, s.session_type",
    )?;
    let rows = types
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    for row in rows {
        let (track, layout, session_type) = row?;
        if let Some(info) = out.iter_mut().find(|t| t.track == track && t.layout == layout) {
            info.session_types.push(session_type);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abcdefgh", b"abcdefgh"));
        assert!(!same(b"abcdefgh", b"abcdefgx"));
        assert!(!same(b"abcdefgh", b"abcdefg"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn a_bearer_token_is_read_from_its_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc.def"));
        assert_eq!(bearer(&headers).as_deref(), Some("abc.def"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
