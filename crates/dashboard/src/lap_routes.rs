//! The routes of stored laps: the catalogue of sessions (`/api/sessions`,
//! `/api/session/laps`), one lap's traces (`/api/lap`) and its frames as a file
//! (`/api/lap/download`). Each reads the records database (and the Parquet dataset) on a
//! blocking thread.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use records::{SessionKey, Store};
use serde_json::json;

use crate::Shared;
use crate::http::{bad_request, error, json, no_records};
use crate::laps::{self, LapProblem};
use crate::params::{self, BadRequest};

/// The most sessions `/api/sessions` lists of each kind.
const MAX_SESSIONS: u32 = 500;

/// Runs `f` with the records on a blocking thread (rusqlite is sync); `None` without records.
async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Result<Option<T>, Response> {
    if shared.records.is_none() {
        return Ok(None);
    }
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let store = shared.records.as_ref()?;
        // Read only: a panic while the lock was held cannot have left the store half-changed.
        let store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(f(&store))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "records task failed");
        error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
    })
}

fn failed(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "the records database failed")
}

/// `/api/sessions[?limit=N]`: the server sessions and the telemetry sessions, most recent first.
pub(crate) async fn api_sessions(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let limit = match params::single(query.as_deref(), &["limit"]).and_then(|p| match p.first() {
        Some((key, value)) => params::number(key, value, 1..=MAX_SESSIONS),
        None => Ok(100),
    }) {
        Ok(limit) => limit,
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    let listed = with_store(&shared, move |store| {
        Ok::<_, records::RecordsError>((store.server_sessions(limit)?, store.telemetry_sessions(limit)?))
    })
    .await;
    match listed {
        Ok(Some(Ok((server, telemetry)))) => {
            json(StatusCode::OK, &json!({ "server": server, "telemetry": telemetry }))
        }
        Ok(Some(Err(e))) => failed("session list", &e),
        Ok(None) => no_records(),
        Err(response) => response,
    }
}

/// `/api/session/laps?server=ID` (a server session's laps, with their telemetry laps) or
/// `?telemetry=UUID` (a telemetry session's laps, with their server laps and fidelity).
pub(crate) async fn api_session_laps(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    enum Which {
        Server(i64),
        Telemetry([u8; 16]),
    }
    let which = params::single(query.as_deref(), &["server", "telemetry"]).and_then(|p| match p.as_slice() {
        [("server", id)] => params::number("server", id, 1..=i64::MAX).map(Which::Server),
        [("telemetry", id)] => params::session_uuid("telemetry", id).map(Which::Telemetry),
        _ => Err(BadRequest(
            "one of the parameters \"server\" (a session id) or \"telemetry\" (a UUID) is required".into(),
        )),
    });
    let which = match which {
        Ok(w) => w,
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    let laps = with_store(&shared, move |store| match which {
        Which::Server(id) => store.server_session_laps(SessionKey::from_id(id)).map(|l| json!(l)),
        Which::Telemetry(id) => store.telemetry_laps(&id).map(|l| json!(l)),
    })
    .await;
    match laps {
        Ok(Some(Ok(laps))) => json(StatusCode::OK, &laps),
        Ok(Some(Err(e))) => failed("session laps", &e),
        Ok(None) => no_records(),
        Err(response) => response,
    }
}

/// The lap named by `session=UUID&lap=N` (and, for a download, `format=`).
fn lap_params(raw: Option<&str>, download: bool) -> Result<([u8; 16], u32, Option<Download>), BadRequest> {
    let keys: &[&str] = if download { &["session", "lap", "format"] } else { &["session", "lap"] };
    let p = params::single(raw, keys)?;
    let get = |key: &str| p.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str());
    let session = params::session_uuid(
        "session",
        get("session").ok_or_else(|| BadRequest("parameter \"session\" is required".into()))?,
    )?;
    let lap = params::number(
        "lap",
        get("lap").ok_or_else(|| BadRequest("parameter \"lap\" is required".into()))?,
        1..=u32::MAX,
    )?;
    let format = match (download, get("format")) {
        (false, _) => None,
        (true, None) => {
            return Err(BadRequest("parameter \"format\" is required: csv, parquet or motec".into()));
        }
        (true, Some(f)) => Some(
            Download::parse(f)
                .ok_or_else(|| BadRequest(format!("format {f:?} is not one of csv, parquet, motec")))?,
        ),
    };
    Ok((session, lap, format))
}

fn lap_problem(shared: &Shared, uri: &Uri, problem: LapProblem) -> Response {
    match problem {
        LapProblem::Unknown => {
            tracing::warn!(
                path = uri.path(),
                query = uri.query().unwrap_or_default(),
                "no such telemetry lap"
            );
            error(StatusCode::NOT_FOUND, "no such telemetry lap in the records")
        }
        LapProblem::TooLong(frames) => bad_request(
            shared,
            uri,
            BadRequest(format!(
                "the lap has {frames} frames, more than {} (20 minutes)",
                laps::MAX_LAP_FRAMES
            )),
        ),
        LapProblem::NotYet { read } => error(
            StatusCode::NOT_FOUND,
            &format!(
                "the lap is not whole in the dataset yet ({read} of its frames are): the Parquet sink writes its \
                 files at each flush"
            ),
        ),
        LapProblem::Failed(e) => {
            tracing::error!(error = %e, "reading a lap failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "reading the lap failed")
        }
    }
}

fn no_dataset() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no dataset: the dashboard has no Parquet dataset to read laps from",
    )
}

/// `/api/lap?session=UUID&lap=N`: the lap's facts, its traces on a distance grid and its
/// events.
pub(crate) async fn api_lap(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let (session, lap, _) = match lap_params(query.as_deref(), false) {
        Ok(p) => p,
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    let Some(dataset) = shared.dataset.clone() else { return no_dataset() };
    let (found, hits) = match with_store(&shared, move |store| laps::facts(store, &session, lap)).await {
        Ok(Some(Ok(facts))) => facts,
        Ok(Some(Err(problem))) => return lap_problem(&shared, &uri, problem),
        Ok(None) => return no_records(),
        Err(response) => return response,
    };
    // The dataset is read without the records' lock: another request need not wait for it.
    match blocking(move || laps::answer(&dataset, &session, found, hits)).await {
        Ok(Ok(answer)) => json(StatusCode::OK, &answer),
        Ok(Err(problem)) => lap_problem(&shared, &uri, problem),
        Err(response) => response,
    }
}

/// The file formats of a lap's download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Download {
    Csv,
    Parquet,
    Motec,
}

impl Download {
    fn parse(s: &str) -> Option<Download> {
        match s {
            "csv" => Some(Download::Csv),
            "parquet" => Some(Download::Parquet),
            "motec" | "ld" => Some(Download::Motec),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Download::Csv => "csv",
            Download::Parquet => "parquet",
            Download::Motec => "ld",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Download::Csv => "text/csv; charset=utf-8",
            Download::Parquet | Download::Motec => "application/octet-stream",
        }
    }
}

/// `/api/lap/download?session=UUID&lap=N&format=csv|parquet|motec`: every frame of the lap,
/// converted as `pitwall convert` converts a recording (the same columns, derived ones
/// included); MoTeC is the `.ld` log.
pub(crate) async fn api_lap_download(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let (session, lap, format) = match lap_params(query.as_deref(), true) {
        Ok((s, l, Some(f))) => (s, l, f),
        Ok(_) => return bad_request(&shared, &uri, BadRequest("parameter \"format\" is required".into())),
        Err(reason) => return bad_request(&shared, &uri, reason),
    };
    let Some(dataset) = shared.dataset.clone() else { return no_dataset() };
    let found = match with_store(&shared, move |store| laps::find(store, &session, lap)).await {
        Ok(Some(Ok(found))) => found,
        Ok(Some(Err(problem))) => return lap_problem(&shared, &uri, problem),
        Ok(None) => return no_records(),
        Err(response) => return response,
    };
    let made = blocking(move || {
        let slice = laps::frames(&dataset, &session, &found, None)?;
        let name = file_name(&found, format);
        write_file(&slice.frames, format).map(|bytes| (name, bytes)).map_err(LapProblem::Failed)
    })
    .await;
    match made {
        Ok(Ok((name, bytes))) => {
            let mut response =
                (StatusCode::OK, [(CONTENT_TYPE, format.content_type())], bytes).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                response.headers_mut().insert(CONTENT_DISPOSITION, value);
            }
            response
        }
        Ok(Err(problem)) => lap_problem(&shared, &uri, problem),
        Err(response) => response,
    }
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "lap task failed");
        error(StatusCode::INTERNAL_SERVER_ERROR, "reading the lap failed")
    })
}

/// `<driver>-<track>-lap<N>.<ext>`, with only letters, digits, `-`, `_` and `.` kept.
fn file_name(lap: &records::TelemetryLap, format: Download) -> String {
    let raw = format!("{}-{}-lap{}", laps::driver(lap), lap.game.track, lap.lap);
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    format!("{clean}.{}", format.extension())
}

/// The frames as a file: written as a recording in a temporary folder, converted there by
/// `convert` (so a download is exactly what `pitwall convert` makes of the same frames), read
/// back, and the folder removed.
fn write_file(frames: &[proto::telemetry::v1::TelemetryFrame], format: Download) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    let input = dir.path().join("lap.pb.gz");
    let mut writer = record::RecordWriter::create(&input, record::RecordOptions::default())
        .map_err(|e| format!("writing the lap's frames: {e}"))?;
    for f in frames {
        writer.append(f).map_err(|e| format!("writing the lap's frames: {e}"))?;
    }
    writer.close().map_err(|e| format!("writing the lap's frames: {e}"))?;
    let output = dir.path().join(format!("lap.{}", format.extension()));
    convert::convert(&input, &output, &convert::ConvertOptions::default(), &mut |_| {})
        .map_err(|e| format!("converting the lap: {e}"))?;
    std::fs::read(&output).map_err(|e| format!("reading {}: {e}", output.display()))
}
