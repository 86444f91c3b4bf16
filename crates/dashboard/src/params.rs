//! Query strings, checked before anything reads them: a bounded length, a bounded number of
//! parameters, no control characters, known keys only, values of the right type. Anything else
//! is a [`BadRequest`], answered with 400 and a log line.

use records::{Query, Ranking, SessionType};

/// The longest query string accepted, bytes.
pub(crate) const MAX_QUERY: usize = 2048;
/// The most parameters in one query string.
const MAX_PARAMS: usize = 64;
/// The longest value of one parameter, characters.
const MAX_VALUE: usize = 256;
/// The most rows a leaderboard request may ask for.
pub(crate) const MAX_LIMIT: u32 = 1000;
/// The rows of a leaderboard when the request does not say.
pub(crate) const DEFAULT_LIMIT: u32 = 100;

/// Why a request was refused, for the log line and the answer's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

impl BadRequest {
    fn new(reason: impl Into<String>) -> BadRequest {
        BadRequest(reason.into())
    }
}

/// The decoded parameters of a query string, in order; repeated keys are kept.
pub(crate) fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, BadRequest> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    if raw.len() > MAX_QUERY {
        return Err(BadRequest::new(format!("query string of {} bytes (at most {MAX_QUERY})", raw.len())));
    }
    let mut out = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        if out.len() == MAX_PARAMS {
            return Err(BadRequest::new(format!("more than {MAX_PARAMS} parameters")));
        }
        for text in [&key, &value] {
            // Invalid UTF-8 decodes to U+FFFD: refuse it as well as control characters.
            if text.chars().any(|c| c.is_control() || c == '\u{FFFD}') {
                return Err(BadRequest::new(format!(
                    "parameter {:?}: control character or invalid UTF-8",
                    key
                )));
            }
            if text.chars().count() > MAX_VALUE {
                return Err(BadRequest::new(format!(
                    "parameter {key:?}: longer than {MAX_VALUE} characters"
                )));
            }
        }
        out.push((key.into_owned(), value.into_owned()));
    }
    Ok(out)
}

/// The value of `token` in a query string, if it has one (and is otherwise well formed).
pub(crate) fn token(raw: Option<&str>) -> Option<String> {
    pairs(raw).ok()?.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v)
}

/// Checks that a query has no parameters but `token`.
pub(crate) fn none(raw: Option<&str>) -> Result<(), BadRequest> {
    match pairs(raw)?.into_iter().find(|(k, _)| k != "token") {
        Some((key, _)) => Err(BadRequest::new(format!("unknown parameter {key:?}"))),
        None => Ok(()),
    }
}

/// The parameters of a query that takes `allowed` keys, each at most once (and `token`), as
/// `(key, value)` in the order of `allowed`; a key not given is left out.
pub(crate) fn single<'a>(
    raw: Option<&str>,
    allowed: &[&'a str],
) -> Result<Vec<(&'a str, String)>, BadRequest> {
    let mut out: Vec<(&'a str, String)> = Vec::new();
    for (key, value) in pairs(raw)? {
        if key == "token" {
            continue;
        }
        let Some(&known) = allowed.iter().find(|&&a| a == key) else {
            return Err(BadRequest::new(format!("unknown parameter {key:?}")));
        };
        if out.iter().any(|(k, _)| *k == known) {
            return Err(BadRequest::new(format!("parameter {key:?} given twice")));
        }
        out.push((known, value));
    }
    out.sort_by_key(|(k, _)| allowed.iter().position(|a| a == k));
    Ok(out)
}

/// A telemetry session id as the records write it (`0190a1b2-…`, 36 characters) or as 32 hex
/// digits.
pub(crate) fn session_uuid(key: &str, value: &str) -> Result<[u8; 16], BadRequest> {
    let hex: String = if value.len() == 36 && [8, 13, 18, 23].iter().all(|&i| value.as_bytes()[i] == b'-') {
        value.chars().filter(|&c| c != '-').collect()
    } else {
        value.to_owned()
    };
    crate::telemetry::parse_session(&hex).ok_or_else(|| {
        BadRequest::new(format!("{key} {value:?} is not a session id (a UUID or 32 hex digits)"))
    })
}

/// A whole number in `range`, named `key` in the error.
pub(crate) fn number<T>(key: &str, value: &str, range: std::ops::RangeInclusive<T>) -> Result<T, BadRequest>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    // `parse` takes a leading `+`: digits only.
    let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .then(|| value.parse::<T>().ok())
        .flatten();
    match parsed {
        Some(n) if range.contains(&n) => Ok(n),
        _ => Err(BadRequest::new(format!(
            "{key} {value:?} is not a number from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// The session of `/ws/telemetry?session=HEX`: required, 32 hex digits; no other parameter but
/// `token`.
pub(crate) fn telemetry_session(raw: Option<&str>) -> Result<[u8; 16], BadRequest> {
    let mut session = None;
    for (key, value) in pairs(raw)? {
        match key.as_str() {
            "token" => {}
            "session" if session.is_some() => {
                return Err(BadRequest::new("parameter \"session\" given twice"));
            }
            "session" => {
                session = Some(crate::telemetry::parse_session(&value).ok_or_else(|| {
                    BadRequest::new(format!("session {value:?} is not a session id (32 hex digits)"))
                })?);
            }
            _ => return Err(BadRequest::new(format!("unknown parameter {key:?}"))),
        }
    }
    session.ok_or_else(|| BadRequest::new("parameter \"session\" is required"))
}

/// A leaderboard [`Query`] from `/api/records`'s parameters:
///
/// - `track` (required), `layout` (default: none);
/// - `car`, repeated or comma-separated (default: every car);
/// - `session`: `practice`, `qualify`, `race` or `booking`;
/// - `since`, `until`: a UTC date (`2026-12-03`, `2026-12-03T13:05`) or Unix ms; `until` is
///   exclusive;
/// - `ranking`: `best` (one best per driver and car, the default) or `every` (every lap);
/// - `invalid`: `true`/`1` to include laps with cuts;
/// - `limit`: 1..=1000 rows (default 100).
pub(crate) fn records_query(raw: Option<&str>) -> Result<Query, BadRequest> {
    let mut track = None;
    let mut query = Query::new("", "");
    query.limit = Some(DEFAULT_LIMIT);
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in pairs(raw)? {
        if key != "car" && key != "token" {
            if seen.contains(&key) {
                return Err(BadRequest::new(format!("parameter {key:?} given twice")));
            }
            seen.push(key.clone());
        }
        match key.as_str() {
            "token" => {}
            "track" => {
                if value.is_empty() {
                    return Err(BadRequest::new("parameter \"track\" is empty"));
                }
                track = Some(value);
            }
            "layout" => query.layout = value,
            "car" => {
                for car in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    if query.cars.len() == 32 {
                        return Err(BadRequest::new("more than 32 cars"));
                    }
                    query.cars.push(car.to_owned());
                }
            }
            "session" => {
                query.session_type = match SessionType::parse(&value) {
                    Some(t) => Some(t),
                    None if value.is_empty() => None,
                    None => return Err(bad_value(&key, &value, "practice, qualify, race or booking")),
                }
            }
            "since" => query.since_ms = time(&key, &value)?,
            "until" => query.until_ms = time(&key, &value)?,
            "ranking" => {
                query.ranking = match value.as_str() {
                    "" | "best" => Ranking::BestPerDriver,
                    "every" => Ranking::EveryLap,
                    _ => return Err(bad_value(&key, &value, "best or every")),
                }
            }
            "invalid" => {
                query.include_invalid = match value.as_str() {
                    "" | "0" | "false" => false,
                    "1" | "true" => true,
                    _ => return Err(bad_value(&key, &value, "true or false")),
                }
            }
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => query.limit = Some(n),
                _ => return Err(bad_value(&key, &value, "a number of rows, 1 to 1000")),
            },
            _ => return Err(BadRequest::new(format!("unknown parameter {key:?}"))),
        }
    }
    query.track = track.ok_or_else(|| BadRequest::new("parameter \"track\" is missing"))?;
    if let (Some(since), Some(until)) = (query.since_ms, query.until_ms) {
        if since >= until {
            return Err(BadRequest::new("\"since\" is not before \"until\""));
        }
    }
    Ok(query)
}

/// An empty value (no bound), Unix ms, or a date [`records::parse_date`] reads.
fn time(key: &str, value: &str) -> Result<Option<i64>, BadRequest> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().map(Some).map_err(|_| bad_value(key, value, "Unix ms or a date"));
    }
    records::parse_date(value)
        .map(Some)
        .ok_or_else(|| bad_value(key, value, "Unix ms or a date like 2026-12-03"))
}

fn bad_value(key: &str, value: &str, expected: &str) -> BadRequest {
    BadRequest::new(format!("parameter {key:?} is {value:?}; expected {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_query_is_read() {
        let q = records_query(Some(
            "track=ks_vallelunga&layout=club_circuit&car=a,b&car=c&session=race&since=2026-12-01&until=1800000000000&ranking=every&invalid=1&limit=5&token=x",
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.track, "ks_vallelunga");
        assert_eq!(q.layout, "club_circuit");
        assert_eq!(q.cars, ["a", "b", "c"]);
        assert_eq!(q.session_type, Some(SessionType::Race));
        assert_eq!(q.since_ms, records::parse_date("2026-12-01"));
        assert_eq!(q.until_ms, Some(1_800_000_000_000));
        assert_eq!(q.ranking, Ranking::EveryLap);
        assert!(q.include_invalid);
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn empty_values_mean_no_filter() {
        let q = records_query(Some("track=t&layout=&car=&session=&since=&until=&ranking=&invalid="))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q, Query { limit: Some(DEFAULT_LIMIT), ..Query::new("t", "") });
    }

    #[test]
    fn hostile_queries_are_refused() {
        let long = format!("track={}", "a".repeat(MAX_QUERY));
        let many = (0..70).map(|i| format!("car={i}")).collect::<Vec<_>>().join("&");
        for raw in [
            "",
            "layout=x",
            "track=",
            "track=a&track=b",
            "track=a%00",
            "track=a%0d%0aX-Injected:%201",
            "track=%ff%fe",
            "track=a&limit=-1",
            "track=a&limit=0",
            "track=a&limit=1001",
            "track=a&limit=1e3",
            "track=a&invalid=maybe",
            "track=a&ranking=worst",
            "track=a&session=endurance",
            "track=a&since=yesterday",
            "track=a&since=99999999999999999999999",
            "track=a&since=2026-12-03&until=2026-12-01",
            "track=a&drop=table",
            long.as_str(),
            many.as_str(),
        ] {
            assert!(records_query(Some(raw)).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn only_the_token_is_allowed_where_nothing_is_expected() {
        assert_eq!(none(None), Ok(()));
        assert_eq!(none(Some("token=abc")), Ok(()));
        assert!(none(Some("x=1")).is_err());
        assert_eq!(token(Some("a=1&token=s%3Dcret")), Some("s=cret".into()));
        assert_eq!(token(Some("a=%00&token=secret")), None);
    }

    #[test]
    fn numbers_and_session_ids_are_read_strictly() {
        assert_eq!(number("lap", "12", 1..=u32::MAX), Ok(12));
        for bad in ["", "0", "+3", "-3", "1e3", "12a", " 12", "99999999999999999999"] {
            assert!(number("lap", bad, 1..=u32::MAX).is_err(), "{bad:?}");
        }
        let id = [0x01, 0x93, 0x2b, 0x6e, 0x40, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 7];
        assert_eq!(session_uuid("s", "01932b6e-4000-7000-8000-000000000007"), Ok(id));
        assert_eq!(session_uuid("s", "01932B6E400070008000000000000007"), Ok(id));
        for bad in [
            "",
            "01932b6e-4000-7000-8000-00000000000g",
            "01932b6e_4000_7000_8000_000000000007",
            "-1932b6e-4000-7000-8000-000000000007",
        ] {
            assert!(session_uuid("s", bad).is_err(), "{bad:?}");
        }
        assert_eq!(single(Some("b=2&a=1&token=x"), &["a", "b"]).map(|p| p.len()), Ok(2));
        assert!(single(Some("a=1&a=2"), &["a"]).is_err());
        assert!(single(Some("c=1"), &["a"]).is_err());
    }

    proptest::proptest! {
        /// Whatever a browser sends, the parameter readers answer a value or a 400, never a
        /// panic, and a number they accept is the one written.
        #[test]
        fn any_query_is_read_or_refused(raw in "\\PC{0,80}", value in "[-+0-9a-f]{0,40}") {
            let _ = pairs(Some(&raw));
            let _ = single(Some(&raw), &["session", "lap", "format"]);
            let _ = records_query(Some(&raw));
            let _ = telemetry_session(Some(&raw));
            let _ = session_uuid("session", &value);
            if let Ok(n) = number("lap", &value, 1..=u32::MAX) {
                proptest::prop_assert_eq!(n.to_string(), value.trim_start_matches('0'));
            }
        }
    }
}
