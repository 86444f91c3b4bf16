//! The leaderboards and a driver's own records.

use rusqlite::types::{Type, Value};
use rusqlite::{Row, params_from_iter};
use serde::Serialize;

use crate::{RecordsError, SessionKey, SessionType, Store, TelemetryRef};

/// Which laps of the matching ones a leaderboard shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Each driver's best lap in each car: a driver appears once per car.
    #[default]
    BestPerDriver,
    /// Every lap, fastest first.
    EveryLap,
}

/// What a leaderboard shows. [`Query::new`] gives the default: valid laps of every car, in
/// every session type and at any date, one best per driver and car.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Track folder.
    pub track: String,
    /// Track layout; empty for a track without layouts.
    pub layout: String,
    /// Car models to include; empty for all.
    pub cars: Vec<String>,
    /// Only laps of this session type.
    pub session_type: Option<SessionType>,
    /// Laps with cuts too (default: valid laps only).
    pub include_invalid: bool,
    /// Laps completed at or after this time, Unix ms.
    pub since_ms: Option<i64>,
    /// Laps completed before this time, Unix ms.
    pub until_ms: Option<i64>,
    /// One best per driver and car, or every lap.
    pub ranking: Ranking,
    /// At most this many rows.
    pub limit: Option<u32>,
}

impl Query {
    /// The default leaderboard of a track layout.
    pub fn new(track: &str, layout: &str) -> Query {
        Query {
            track: track.to_owned(),
            layout: layout.to_owned(),
            cars: Vec::new(),
            session_type: None,
            include_invalid: false,
            since_ms: None,
            until_ms: None,
            ranking: Ranking::default(),
            limit: None,
        }
    }
}

/// One row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderRow {
    /// 1 for the fastest; equal times share a position.
    pub position: u32,
    /// The driver's Steam GUID.
    pub guid: String,
    /// The driver's latest name.
    pub name: String,
    /// Car model.
    pub car: String,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Behind the first row, ms.
    pub gap_ms: u32,
    /// Sector times, ms (empty when unknown).
    pub sectors: Vec<u32>,
    /// Cuts on the lap.
    pub cuts: u32,
    /// Whether the lap was valid (no cuts).
    pub valid: bool,
    /// Tyre compound, when known.
    pub tyre: Option<String>,
    /// Grip level the server reported with the lap, when known.
    pub grip: Option<f32>,
    /// Top speed on the lap, km/h, when known.
    pub top_speed_kmh: Option<f32>,
    /// When the lap was completed, Unix ms.
    pub finished_at_ms: i64,
    /// The lap's session.
    pub session: SessionKey,
    /// The session's name.
    pub session_name: String,
    /// The session's type (`"race"`, …).
    pub session_type: String,
    /// The server's name.
    pub server: String,
    /// The telemetry lap linked to this lap (the driver streamed telemetry; see the
    /// `telemetry` module's rule), or `None`.
    pub telemetry: Option<TelemetryRef>,
}

/// A driver's best valid lap on a track layout in one car.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonalBest {
    /// Track folder.
    pub track: String,
    /// Track layout.
    pub layout: String,
    /// Car model.
    pub car: String,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Sector times, ms.
    pub sectors: Vec<u32>,
    /// When, Unix ms.
    pub finished_at_ms: i64,
    /// The lap's session.
    pub session: SessionKey,
    /// The telemetry lap linked to this lap, or `None` (as [`LeaderRow::telemetry`]).
    pub telemetry: Option<TelemetryRef>,
}

/// The lap a driver would do with their best sectors together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TheoreticalBest {
    /// Best time of each sector over the driver's valid laps, ms.
    pub sectors: Vec<u32>,
    /// Their sum, ms.
    pub time_ms: u32,
    /// The driver's best real lap, ms, for comparison.
    pub best_lap_ms: u32,
    /// Valid laps with sector times the sectors were taken from.
    pub laps: u32,
}

/// The linked telemetry lap in columns `i` (session) and `i + 1` (lap) of a LEFT JOIN.
fn telemetry_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<TelemetryRef>> {
    Ok(match (r.get::<_, Option<String>>(i)?, r.get::<_, Option<u32>>(i + 1)?) {
        (Some(session_id), Some(lap)) => Some(TelemetryRef { session_id, lap }),
        _ => None,
    })
}

pub(crate) fn sectors_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<u32>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

impl Store {
    /// The leaderboard of `q`, fastest first; equal times in the order the laps were completed.
    pub fn leaderboard(&self, q: &Query) -> Result<Vec<LeaderRow>, RecordsError> {
        // The combos (track layout and car) asked for; then their laps, read from the
        // `laps_rank` index, which also has what the filters test.
        let mut args = vec![Value::from(q.track.clone()), Value::from(q.layout.clone())];
        let mut combos = String::from("SELECT id FROM combos WHERE track = ? AND layout = ?");
        if !q.cars.is_empty() {
            combos.push_str(" AND car_model IN (");
            for (i, car) in q.cars.iter().enumerate() {
                combos.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(Value::from(car.clone()));
            }
            combos.push(')');
        }
        let mut filters = String::new();
        if !q.include_invalid {
            filters.push_str(" AND l.valid = 1");
        }
        if let Some(t) = q.session_type {
            filters.push_str(
                " AND l.session_id IN (SELECT id FROM sessions WHERE track = ? AND layout = ? AND session_type = ?)",
            );
            args.extend([q.track.clone(), q.layout.clone(), t.as_str().to_owned()].map(Value::from));
        }
        if let Some(t) = q.since_ms {
            filters.push_str(" AND l.finished_at_ms >= ?");
            args.push(Value::from(t));
        }
        if let Some(t) = q.until_ms {
            filters.push_str(" AND l.finished_at_ms < ?");
            args.push(Value::from(t));
        }
        // One best per driver and car: `min()` with the lap's other columns "bare" takes them
        // from the row of the minimum (SQLite's documented behaviour), and the `laps_rank`
        // index gives each driver's laps fastest first, so the group is read without a sort
        // and a tie goes to the lap completed first. Eight times faster than a window function
        // numbering the laps, which materializes and sorts every one of them. (With invalid
        // laps included the index is read valid and invalid apart: of one driver's laps of
        // equal time, either may be shown.)
        let (time, group) = match q.ranking {
            Ranking::BestPerDriver => ("MIN(l.time_ms)", " GROUP BY l.combo_id, l.driver_id"),
            Ranking::EveryLap => ("l.time_ms", ""),
        };
        // The limit applies before the details are joined: only the rows shown are looked up.
        let limit = match q.limit {
            Some(n) => format!(" LIMIT {n}"),
            None => String::new(),
        };
        let sql = format!(
            "WITH ranked AS (
                 SELECT l.id AS lap_id, {time} AS time_ms, l.finished_at_ms
                 FROM laps l
                 WHERE l.combo_id IN ({combos}){filters}{group}
                 ORDER BY time_ms, l.finished_at_ms, l.id{limit})
             SELECT r.time_ms, l.sectors, l.cuts, l.valid, l.tyre, r.finished_at_ms, c.car_model, d.guid, d.name,
                    s.id, s.name, s.session_type, sv.name, l.grip, l.top_speed_kmh, t.session_uuid, t.lap
             FROM ranked r JOIN laps l ON l.id = r.lap_id JOIN combos c ON c.id = l.combo_id
                  JOIN drivers d ON d.id = l.driver_id JOIN sessions s ON s.id = l.session_id
                  JOIN servers sv ON sv.id = s.server_id LEFT JOIN telemetry_laps t ON t.lap_id = l.id
             ORDER BY r.time_ms, r.finished_at_ms, r.lap_id"
        );
        let mut rows = self
            .query_rows(&sql, params_from_iter(args), |r| {
                Ok(LeaderRow {
                    position: 0,
                    gap_ms: 0,
                    time_ms: r.get(0)?,
                    sectors: sectors_at(r, 1)?,
                    cuts: r.get(2)?,
                    valid: r.get(3)?,
                    tyre: r.get(4)?,
                    finished_at_ms: r.get(5)?,
                    car: r.get(6)?,
                    guid: r.get(7)?,
                    name: r.get(8)?,
                    session: SessionKey(r.get(9)?),
                    session_name: r.get(10)?,
                    session_type: r.get(11)?,
                    server: r.get(12)?,
                    grip: r.get::<_, Option<f64>>(13)?.map(|v| v as f32),
                    top_speed_kmh: r.get::<_, Option<f64>>(14)?.map(|v| v as f32),
                    telemetry: telemetry_at(r, 15)?,
                })
            })
            .map_err(self.db_err("read a leaderboard"))?;
        let first = rows.first().map_or(0, |r| r.time_ms);
        let mut previous = (0, u32::MAX);
        for (i, row) in rows.iter_mut().enumerate() {
            row.position = if row.time_ms == previous.1 { previous.0 } else { i as u32 + 1 };
            row.gap_ms = row.time_ms - first;
            previous = (row.position, row.time_ms);
        }
        Ok(rows)
    }

    /// A driver's best valid lap on every track layout, in every car they drove there, by
    /// track, layout and car.
    pub fn personal_bests(&self, guid: &str) -> Result<Vec<PersonalBest>, RecordsError> {
        // As in `leaderboard`: the bare columns of `min()` come from the fastest lap.
        self.query_rows(
            "WITH best AS (
                 SELECT l.id AS lap_id, MIN(l.time_ms) AS time_ms
                 FROM laps l
                 WHERE l.driver_id = (SELECT id FROM drivers WHERE guid = ?1) AND l.valid = 1
                 GROUP BY l.combo_id)
             SELECT c.track, c.layout, c.car_model, b.time_ms, l.sectors, l.finished_at_ms, l.session_id,
                    t.session_uuid, t.lap
             FROM best b JOIN laps l ON l.id = b.lap_id JOIN combos c ON c.id = l.combo_id
                  LEFT JOIN telemetry_laps t ON t.lap_id = l.id
             ORDER BY c.track, c.layout, c.car_model",
            [guid],
            |r| {
                Ok(PersonalBest {
                    track: r.get(0)?,
                    layout: r.get(1)?,
                    car: r.get(2)?,
                    time_ms: r.get(3)?,
                    sectors: sectors_at(r, 4)?,
                    finished_at_ms: r.get(5)?,
                    session: SessionKey(r.get(6)?),
                    telemetry: telemetry_at(r, 7)?,
                })
            },
        )
        .map_err(self.db_err("read personal bests"))
    }

    /// The sum of a driver's best sectors on a track layout in one car, over their valid laps
    /// with sector times; `None` without such a lap. Laps split into a different number of
    /// sectors than most (a track whose sectors were redefined) are left out.
    pub fn theoretical_best(
        &self,
        guid: &str,
        track: &str,
        layout: &str,
        car: &str,
    ) -> Result<Option<TheoreticalBest>, RecordsError> {
        let laps: Vec<(u32, Vec<u32>)> = self
            .query_rows(
                "SELECT l.time_ms, l.sectors FROM laps l
                 WHERE l.combo_id = (SELECT id FROM combos WHERE track = ?2 AND layout = ?3 AND car_model = ?4)
                   AND l.valid = 1 AND l.driver_id = (SELECT id FROM drivers WHERE guid = ?1)",
                [guid, track, layout, car],
                |r| Ok((r.get(0)?, sectors_at(r, 1)?)),
            )
            .map_err(self.db_err("read a theoretical best"))?;
        let Some(best_lap_ms) = laps.iter().map(|l| l.0).min() else { return Ok(None) };
        // The most common number of sectors (the larger on a tie).
        let mut counts = std::collections::BTreeMap::<usize, u32>::new();
        for (_, s) in laps.iter().filter(|l| !l.1.is_empty()) {
            *counts.entry(s.len()).or_default() += 1;
        }
        let Some((&n, _)) = counts.iter().max_by_key(|&(len, count)| (*count, *len)) else { return Ok(None) };
        let mut sectors = vec![u32::MAX; n];
        let mut used = 0;
        for (_, s) in laps.iter().filter(|l| l.1.len() == n) {
            used += 1;
            for (best, &t) in sectors.iter_mut().zip(s) {
                *best = (*best).min(t);
            }
        }
        let time_ms = sectors.iter().fold(0u32, |sum, &t| sum.saturating_add(t));
        Ok(Some(TheoreticalBest { sectors, time_ms, best_lap_ms, laps: used }))
    }
}
