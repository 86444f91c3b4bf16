//! The pages in a real headless Chromium: the live timing table follows the simulated race,
//! and the records page's filters change its rows. Screenshots go to
//! `target/dashboard-screenshots/`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::client::get;
use crate::support::{self, E30, MX5, VALLELUNGA};
use crate::webdriver::Browser;

/// The standings as the page shows them.
const STANDINGS: &str = r#"
    return [...document.querySelectorAll('#standings tbody tr')].map((tr) => {
        const col = (name) => tr.querySelector(`[data-col="${name}"]`);
        return {
            car: Number(tr.dataset.carId),
            position: col('position').textContent,
            driver: col('driver').firstChild.textContent,
            laps: col('laps').textContent,
            last: col('last').firstChild ? col('last').firstChild.textContent : '',
            gap: col('gap').textContent,
            interval: col('interval').textContent,
        };
    });
"#;

/// The records table as the page shows it.
const RECORDS: &str = r#"
    return [...document.querySelectorAll('#records tbody tr')].map((tr) => {
        const col = (name) => tr.querySelector(`[data-col="${name}"]`).textContent;
        return { driver: col('driver'), car: col('car'), time: col('time'), gap: col('gap') };
    });
"#;

fn field<'a>(row: &'a Value, name: &str) -> &'a str {
    row[name].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timing_table_follows_the_race() {
    let (live, feed) = support::live_race().await;
    let dash = support::dashboard(Some(feed), None, None).await;
    let browser = Browser::start().await;
    browser.goto(&format!("http://{}/", dash.addr)).await;

    // Every simulated car, with the driver the board names.
    let cars = usize::from(support::CARS);
    let first = browser
        .wait_for(
            "every car in the table",
            Duration::from_secs(60),
            &format!(
                "const rows = (() => {{ {STANDINGS} }})(); return rows.length === {cars} ? rows : null;"
            ),
        )
        .await;
    let rows = first.as_array().expect("rows");
    let ids: BTreeSet<u64> = rows.iter().filter_map(|r| r["car"].as_u64()).collect();
    assert_eq!(ids, (0..u64::from(support::CARS)).collect(), "{first}");
    let board = get(dash.addr, "/api/board").await.json();
    for row in rows {
        let on_board = board["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["car_id"] == row["car"])
            .unwrap_or_else(|| panic!("car {} is not on the board", row["car"]));
        assert_eq!(field(row, "driver"), on_board["driver"].as_str().unwrap_or_default());
        assert!(!field(row, "driver").is_empty());
    }
    let positions: Vec<&str> = rows.iter().map(|r| field(r, "position")).collect();
    assert_eq!(positions, ["1", "2", "3", "4", "5", "6"]);
    let header = browser
        .eval("return [document.getElementById('s-track').textContent, document.getElementById('s-type').textContent, document.getElementById('connection').dataset.state];")
        .await;
    assert_eq!(header[0], "ks_red_bull_ring");
    assert!(header[1].as_str().is_some_and(|t| t.contains("race")), "{header}");
    assert_eq!(header[2], "live");

    // The table moves: laps, gaps or intervals change between two reads.
    let moving = |rows: &Value| -> Vec<(u64, String, String, String)> {
        rows.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let car = r["car"].as_u64().unwrap_or_default();
                (
                    car,
                    field(r, "laps").to_owned(),
                    field(r, "gap").to_owned(),
                    field(r, "interval").to_owned(),
                )
            })
            .collect()
    };
    let before = moving(&first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = browser.eval(STANDINGS).await;
        if moving(&now) != before && now.as_array().map(Vec::len) == Some(cars) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the table did not change in a minute: {now}");
    }

    // The map: the outline learned from the cars' positions, one dot per car, and the dots
    // move; clicking a row highlights its car on the map.
    let outline = browser
        .wait_for(
            "the track outline on the map",
            Duration::from_secs(60),
            "const svg = document.getElementById('map'); const d = document.getElementById('map-line').getAttribute('d'); return d && d.length > 100 && Number(svg.dataset.learned) >= 16 ? [d.length, Number(svg.dataset.points)] : null;",
        )
        .await;
    assert_eq!(outline[1], 512, "{outline}");
    let map = get(dash.addr, "/api/map").await.json();
    assert_eq!(map["outline"]["track"], "ks_red_bull_ring");
    assert_eq!(map["outline"]["points"].as_array().map(Vec::len), Some(512));
    const DOTS: &str = "return [...document.querySelectorAll('#map-cars circle')].map((c) => [Number(c.dataset.carId), c.getAttribute('cx'), c.getAttribute('cy')]);";
    let dots = browser
        .wait_for(
            "a dot per car",
            Duration::from_secs(30),
            &format!("const dots = (() => {{ {DOTS} }})(); return dots.length === {cars} ? dots : null;"),
        )
        .await;
    let dot_cars: BTreeSet<u64> =
        dots.as_array().into_iter().flatten().filter_map(|d| d[0].as_u64()).collect();
    assert_eq!(dot_cars, ids, "{dots}");
    browser
        .wait_for(
            "the dots to move",
            Duration::from_secs(30),
            &format!("const before = {dots}; const now = (() => {{ {DOTS} }})(); return now.length === before.length && now.some((d) => !before.some((b) => b[0] === d[0] && b[1] === d[1] && b[2] === d[2])) ? now : null;"),
        )
        .await;
    // Clicked from the page's script: the table is redrawn with every board, so an element
    // found by one WebDriver command may be gone by the next.
    browser
        .eval("document.querySelector('#standings tbody tr[data-car-id=\"2\"]').click(); return true;")
        .await;
    let chosen = browser
        .wait_for(
            "car 2 highlighted",
            Duration::from_secs(10),
            "const dot = document.querySelector('#map-cars circle.selected'); const row = document.querySelector('#standings tr.selected'); return dot && row ? [Number(dot.dataset.carId), Number(row.dataset.carId)] : null;",
        )
        .await;
    assert_eq!(chosen, serde_json::json!([2, 2]));
    browser.screenshot("timing-map").await;

    // Laps complete: a lap time in the table and a lap badge among the events.
    let lap = browser
        .wait_for(
            "a completed lap in the table",
            Duration::from_secs(90),
            &format!(
                "const rows = (() => {{ {STANDINGS} }})(); return rows.find((r) => /^\\d+:\\d\\d\\.\\d{{3}}$/.test(r.last) && Number(r.laps) >= 1) || null;"
            ),
        )
        .await;
    assert!(field(&lap, "last").contains(':'), "{lap}");
    browser
        .wait_for(
            "a lap badge",
            Duration::from_secs(90),
            "return document.querySelector('#events .badge[data-type=\"lap_completed\"]') !== null;",
        )
        .await;
    let shot = browser.screenshot("timing").await;
    assert!(shot.exists());
    browser.quit().await;
    dash.stop().await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_page_filters_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("records.sqlite");
    support::fill_records(&db);
    // With a token, as beyond loopback: the page passes it on to the API.
    let token = "browser-test-token";
    let dash = support::dashboard(None, Some(&db), Some(token)).await;
    let browser = Browser::start().await;
    browser
        .goto(&format!(
            "http://{}/records?track={}&layout={}&token={token}",
            dash.addr, VALLELUNGA.0, VALLELUNGA.1
        ))
        .await;

    let count = |n: usize| {
        format!("const rows = (() => {{ {RECORDS} }})(); return rows.length === {n} ? rows : null;")
    };
    let all = browser.wait_for("six records", Duration::from_secs(30), &count(6)).await;
    let drivers: Vec<(&str, &str)> =
        all.as_array().into_iter().flatten().map(|r| (field(r, "driver"), field(r, "car"))).collect();
    assert_eq!(
        drivers,
        [("Ada", E30), ("Bruno", E30), ("Dario", E30), ("Ada", MX5), ("Bruno", MX5), ("Chiara", MX5)]
    );
    assert_eq!(field(&all[0], "time"), "1:29.800");
    assert_eq!(field(&all[1], "gap"), "+0.700");
    let tracks = browser
        .eval("return [...document.querySelectorAll('#f-track option')].map((o) => o.textContent);")
        .await;
    assert_eq!(tracks, serde_json::json!(["ks_vallelunga — club_circuit", "magione"]));
    browser.screenshot("records").await;

    // One car: its drivers only.
    browser.click(&format!("#f-cars input[value=\"{MX5}\"]")).await;
    let mx5 = browser
        .wait_for(
            "the MX-5's records",
            Duration::from_secs(30),
            &format!("const rows = (() => {{ {RECORDS} }})(); return rows.length === 3 && rows.every((r) => r.car === '{MX5}') ? rows : null;"),
        )
        .await;
    let names: Vec<&str> = mx5.as_array().into_iter().flatten().map(|r| field(r, "driver")).collect();
    assert_eq!(names, ["Ada", "Bruno", "Chiara"]);
    assert_eq!(field(&mx5[0], "time"), "1:33.800");
    let url = browser.eval("return location.search;").await;
    assert!(url.as_str().is_some_and(|u| u.contains(&format!("car={MX5}")) && u.contains(token)), "{url}");
    let nav =
        browser.eval("return document.querySelector('nav a[href^=\"/?\"]').getAttribute('href');").await;
    assert_eq!(nav, format!("/?token={token}"), "the link to live timing keeps the token");

    // Practice only: the same drivers, slower.
    browser.click("#f-session option[value=\"practice\"]").await;
    let practice = browser
        .wait_for(
            "the MX-5's practice records",
            Duration::from_secs(30),
            "const rows = [...document.querySelectorAll('#records tbody tr [data-col=\"time\"]')].map((td) => td.textContent); return rows.length === 3 && rows[0] === '1:34.100' ? rows : null;",
        )
        .await;
    assert_eq!(practice, serde_json::json!(["1:34.100", "1:34.800", "1:35.500"]));

    // Every lap, cuts included: three laps per driver.
    browser.click("#f-ranking option[value=\"every\"]").await;
    browser.click("#f-invalid").await;
    browser.wait_for("every MX-5 practice lap", Duration::from_secs(30), &count(9)).await;
    let invalid = browser.eval("return document.querySelectorAll('#records tbody tr.invalid').length;").await;
    assert_eq!(invalid, 3);
    browser.screenshot("records-filtered").await;
    browser.quit().await;
    dash.stop().await;
}
