//! The HTTP side over real loopback connections: the pages and assets, the JSON APIs against
//! a real follower and a real records database, the token, and hostile requests.

use std::time::Duration;

use dashboard::{Dashboard, DashboardConfig, DashboardError};
use serde_json::Value;

use crate::client::{self, get};
use crate::support::{self, E30, MX5, VALLELUNGA};

fn records_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("records.sqlite");
    support::fill_records(&path);
    (dir, path)
}

/// (name, car, time) of every row.
fn rows(answer: &Value) -> Vec<(String, String, u64)> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["car"].as_str().unwrap_or_default().to_owned(),
                r["time_ms"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_and_assets_are_embedded() {
    let dash = support::dashboard(None, None, None).await;
    for (path, kind, needle) in [
        ("/", "text/html", "standings"),
        ("/records", "text/html", "f-cars"),
        ("/assets/style.css", "text/css", "--purple"),
        ("/assets/common.js", "text/javascript", "PW"),
        ("/assets/timing.js", "text/javascript", "/ws/timing"),
        ("/assets/records.js", "text/javascript", "/api/records"),
        ("/assets/vendor/uplot/uPlot.iife.min.js", "text/javascript", "uPlot"),
        ("/assets/vendor/uplot/uPlot.min.css", "text/css", ".uplot"),
        ("/assets/vendor/uplot/LICENSE", "text/plain", "MIT"),
    ] {
        let r = get(dash.addr, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").is_some_and(|t| t.starts_with(kind)),
            "{path}: {:?}",
            r.header("content-type")
        );
        assert!(r.text().contains(needle), "{path} lacks {needle:?}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    let page = get(dash.addr, "/").await;
    assert!(page.header("content-security-policy").is_some_and(|p| p.contains("default-src 'self'")));
    dash.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_nothing_comes_from_the_filesystem() {
    let dash = support::dashboard(None, None, None).await;
    for path in [
        "/nope",
        "/index.html",
        "/assets/",
        "/assets/nope.js",
        "/assets/style.css/x",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/vendor/uplot/../../../src/lib.rs",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/etc/passwd",
        "/api",
        "/api/nope",
        "/ws",
    ] {
        let r = get(dash.addr, path).await;
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert!(!r.text().contains("[package]") && !r.text().contains("root:"), "{path} served a file");
    }
    // Read-only: nothing but GET.
    for (method, path) in
        [("POST", "/api/board"), ("PUT", "/api/records"), ("DELETE", "/"), ("POST", "/ws/timing")]
    {
        let r = client::request(dash.addr, method, path, &[], Some(b"{}")).await;
        assert_eq!(r.status, 405, "{method} {path}");
    }
    dash.stop().await;
}

#[tokio::test]
async fn hostile_query_strings_are_400_and_counted() {
    let (_dir, db) = records_db();
    let dash = support::dashboard(None, Some(&db), None).await;
    let huge = format!("/api/records?track={}", "a".repeat(10_000));
    let many = format!(
        "/api/records?track=x&{}",
        (0..100).map(|i| format!("car={i}")).collect::<Vec<_>>().join("&")
    );
    let hostile = [
        "/api/records",
        "/api/records?track=",
        "/api/records?track=ks_vallelunga%00",
        "/api/records?track=a%0d%0aSet-Cookie:%20x=1",
        "/api/records?track=%ff%fe%fd",
        "/api/records?track=a&limit=-5",
        "/api/records?track=a&limit=99999999999999999999",
        "/api/records?track=a&limit=abc",
        "/api/records?track=a&invalid=perhaps",
        "/api/records?track=a&ranking=%7B%7D",
        "/api/records?track=a&session=1",
        "/api/records?track=a&since=last%20week",
        "/api/records?track=a&since=2026-13-45",
        "/api/records?track=a&track=b",
        "/api/records?track=a&sql=drop%20table%20laps",
        "/api/board?x=1",
        "/api/tracks?track=a",
        "/ws/timing?x=1",
        "/?a=%01",
        "/records?track=%7f",
        huge.as_str(),
        many.as_str(),
    ];
    for target in hostile {
        let r = get(dash.addr, target).await;
        assert_eq!(r.status, 400, "{target}: {}", r.text());
        assert!(r.json()["error"].as_str().is_some_and(|e| !e.is_empty()), "{target}");
    }
    assert_eq!(dash.stats.snapshot().bad_requests, hostile.len() as u64);
    // Bytes no client would send: raw control characters, a request line too long for HTTP.
    for raw in [
        b"GET /api/records?track=a\x01b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        format!(
            "GET /api/records?track={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "b".repeat(200_000)
        )
        .into_bytes(),
        b"\x00\x01\x02garbage\r\n\r\n".to_vec(),
    ] {
        let r = client::raw(dash.addr, &raw).await;
        assert!((400..500).contains(&r.status), "{}", r.status);
    }
    // Still serving.
    let ok = get(dash.addr, "/api/records?track=ks_vallelunga&layout=club_circuit").await;
    assert_eq!(ok.status, 200);
    dash.stop().await;
}

#[tokio::test]
async fn records_are_ranked_and_filtered() {
    let (_dir, db) = records_db();
    let dash = support::dashboard(None, Some(&db), None).await;
    let base = format!("/api/records?track={}&layout={}", VALLELUNGA.0, VALLELUNGA.1);

    // One best per driver and car, fastest first, gaps to the first.
    let all = get(dash.addr, &base).await.json();
    let want: Vec<(String, String, u64)> = vec![
        ("Ada".into(), E30.into(), support::lap_time(0, E30, 1, 1).into()),
        ("Bruno".into(), E30.into(), support::lap_time(1, E30, 1, 1).into()),
        ("Dario".into(), E30.into(), support::lap_time(3, E30, 1, 1).into()),
        ("Ada".into(), MX5.into(), support::lap_time(0, MX5, 1, 1).into()),
        ("Bruno".into(), MX5.into(), support::lap_time(1, MX5, 1, 1).into()),
        ("Chiara".into(), MX5.into(), support::lap_time(2, MX5, 1, 1).into()),
    ];
    assert_eq!(rows(&all), want);
    let first = all["rows"][0]["time_ms"].as_u64().unwrap_or_default();
    for r in all["rows"].as_array().into_iter().flatten() {
        assert_eq!(r["gap_ms"].as_u64(), r["time_ms"].as_u64().map(|t| t - first));
        assert_eq!(r["sectors"].as_array().map(Vec::len), Some(3));
    }
    assert_eq!(all["query"]["ranking"], "best_per_driver");

    // Cars, session type, dates, every lap, invalid laps.
    let mx5 = get(dash.addr, &format!("{base}&car={MX5}")).await.json();
    assert_eq!(rows(&mx5), want[3..].to_vec());
    let both = get(dash.addr, &format!("{base}&car={MX5},{E30}")).await.json();
    assert_eq!(rows(&both), want);
    let practice = get(dash.addr, &format!("{base}&session=practice")).await.json();
    assert_eq!(rows(&practice).len(), 6);
    assert_eq!(rows(&practice)[0].2, u64::from(support::lap_time(0, E30, 0, 1)));
    let day1 = get(dash.addr, &format!("{base}&until=2026-12-02")).await.json();
    assert_eq!(rows(&day1), rows(&practice));
    let day2 = get(dash.addr, &format!("{base}&since=2026-12-02")).await.json();
    assert_eq!(rows(&day2), want);
    let every = get(dash.addr, &format!("{base}&ranking=every")).await.json();
    assert_eq!(rows(&every).len(), 6 * 2 * 2, "two valid laps per entry and session");
    let with_cuts = get(dash.addr, &format!("{base}&ranking=every&invalid=true&limit=1000")).await.json();
    assert_eq!(rows(&with_cuts).len(), 6 * 3 * 2);
    assert!(with_cuts["rows"].as_array().into_iter().flatten().any(|r| r["valid"] == false));
    let limited = get(dash.addr, &format!("{base}&ranking=every&limit=5")).await.json();
    assert_eq!(rows(&limited).len(), 5);
    let nowhere = get(dash.addr, "/api/records?track=nowhere").await.json();
    assert_eq!(rows(&nowhere), Vec::new());
    dash.stop().await;
}

#[tokio::test]
async fn tracks_list_the_layouts_and_cars_with_laps() {
    let (_dir, db) = records_db();
    let dash = support::dashboard(None, Some(&db), None).await;
    let tracks = get(dash.addr, "/api/tracks").await.json();
    let list: Vec<(String, String, Vec<String>)> = tracks
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| {
            (
                t["track"].as_str().unwrap_or_default().to_owned(),
                t["layout"].as_str().unwrap_or_default().to_owned(),
                t["cars"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["car"].as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        list,
        vec![
            ("ks_vallelunga".into(), "club_circuit".into(), vec![E30.to_owned(), MX5.to_owned()]),
            ("magione".into(), String::new(), vec![MX5.to_owned()]),
        ]
    );
    let mx5 = &tracks[0]["cars"][1];
    assert_eq!(mx5["laps"], 3 * 3 * 2);
    assert_eq!(mx5["valid_laps"], 3 * 2 * 2);
    assert_eq!(mx5["best_ms"], support::lap_time(0, MX5, 1, 1));
    assert_eq!(tracks[0]["session_types"], serde_json::json!(["practice", "race"]));
    dash.stop().await;
}

#[tokio::test]
async fn without_records_or_live_timing_the_apis_say_so() {
    let dash = support::dashboard(None, None, None).await;
    for path in ["/api/board", "/api/records?track=x", "/api/tracks", "/ws/timing"] {
        let r = get(dash.addr, path).await;
        assert_eq!(r.status, 503, "{path}");
    }
    dash.stop().await;
}

#[tokio::test]
async fn the_board_is_the_followed_servers() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let board = loop {
        let board = get(dash.addr, "/api/board").await.json();
        if board["rows"].as_array().map(Vec::len) == Some(usize::from(support::CARS)) {
            break board;
        }
        assert!(tokio::time::Instant::now() < deadline, "every car within a minute: {board}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(board["session"]["track"], "ks_red_bull_ring");
    assert_eq!(board["session"]["session_type"], "race");
    assert_eq!(board["server_down"], false);
    dash.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn a_token_guards_everything() {
    let (_dir, db) = records_db();
    let token = "s3cret-token_1";
    let dash = support::dashboard(None, Some(&db), Some(token)).await;
    for path in ["/", "/records", "/api/tracks", "/api/board", "/nope", "/ws/timing"] {
        assert_eq!(get(dash.addr, path).await.status, 401, "{path} without a token");
        let wrong =
            client::request(dash.addr, "GET", path, &[("Authorization", "Bearer s3cret-token_2")], None)
                .await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
    }
    // The embedded assets hold no data: the pages load them with plain tags, without the token.
    assert_eq!(get(dash.addr, "/assets/style.css").await.status, 200);
    assert_eq!(get(dash.addr, "/assets/nope.css").await.status, 404);
    assert_eq!(get(dash.addr, "/api/tracks?token=s3cret-token_1x").await.status, 401);
    assert_eq!(get(dash.addr, &format!("/api/tracks?token={token}")).await.status, 200);
    assert_eq!(get(dash.addr, &format!("/?token={token}")).await.status, 200);
    assert_eq!(get(dash.addr, &format!("/nope?token={token}")).await.status, 404);
    let bearer = format!("Bearer {token}");
    let r = client::request(dash.addr, "GET", "/api/tracks", &[("Authorization", &bearer)], None).await;
    assert_eq!(r.status, 200);
    assert!(dash.stats.snapshot().unauthorized >= 13);
    dash.stop().await;
}

#[tokio::test]
async fn the_configuration_is_checked_at_start() {
    let open = |listen: &str, token: Option<&str>| DashboardConfig {
        listen: listen.parse().expect("an address"),
        token: token.map(str::to_owned),
        records_db: None,
        dataset: None,
    };
    let err = Dashboard::bind(open("0.0.0.0:0", None), None).await.err();
    assert!(matches!(err, Some(DashboardError::TokenRequired { .. })), "{err:?}");
    let err = Dashboard::bind(open("[::]:0", None), None).await.err();
    assert!(matches!(err, Some(DashboardError::TokenRequired { .. })), "{err:?}");
    for bad in ["short", "with space in it", "new\nline-token", ""] {
        let err = Dashboard::bind(open("127.0.0.1:0", Some(bad)), None).await.err();
        assert!(matches!(err, Some(DashboardError::BadToken)), "{bad:?}: {err:?}");
    }
    assert!(Dashboard::bind(open("0.0.0.0:0", Some("a-long-enough-token")), None).await.is_ok());
    let missing = DashboardConfig {
        records_db: Some("/nonexistent/records.sqlite".into()),
        ..open("127.0.0.1:0", None)
    };
    let err = Dashboard::bind(missing, None).await.err();
    assert!(matches!(err, Some(DashboardError::RecordsDbMissing { .. })), "{err:?}");
    assert_eq!(DashboardConfig::default().listen, "127.0.0.1:8080".parse().expect("an address"));
}
