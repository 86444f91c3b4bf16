//! Telemetry laps, and the join: each server lap linked to the telemetry lap of the same drive.
//!
//! Two halves of pitwall time the same lap. The dedicated server's timing engine stores server
//! laps ([`Store::add_lap`]: driver GUID and name, car, time, cuts, sectors, collisions). When
//! the driver also streams telemetry, `pitwall serve`'s laps sink runs the lap detector over
//! their frames and stores each completed telemetry lap here ([`Store::add_telemetry_lap`]:
//! the bridge's session UUID, the lap number, the car and names as the game reports them, the
//! time, why it is invalid, the frames it spans). The store links the two.
//!
//! ## The rule
//!
//! A server lap and a telemetry lap are **candidates** of each other when all of these hold:
//!
//! 1. **Same car model**, compared exactly (both come from the car's folder name).
//! 2. **Same driver**: the server's name for the driver (the entry's name in that session),
//!    trimmed and compared case-insensitively, equals the game's player name, or its name and
//!    surname joined by one space, or its nickname ([`GameIdentity::matches_driver`]). An
//!    empty name matches nothing.
//! 3. **Lap times within [`LAP_TIME_TOLERANCE_MS`] (5 ms)**, inclusive. AC's server takes the
//!    lap time from the client, which times it with the same clock that fills the shared
//!    memory's last lap time; the two differ by rounding only (whole ms each). 5 ms leaves
//!    room for that and for a lap the detector timed from the monotonic clock, while a 6 ms
//!    difference is already another lap: a driver's consecutive laps of equal time to 5 ms
//!    are rare, and the window below separates them anyway.
//! 4. **Lap ends within [`CLOCK_WINDOW_MS`] (±10 s)**, inclusive: the server's completion
//!    time (its own clock) against the telemetry lap's end (the car PC's wall clock). The two
//!    clocks are different machines': a PC synchronised by NTP is within a second, one that
//!    is not can be off by a few; the server also learns of the lap a network trip later.
//!    The window is 20 s wide, and a lap of any real track takes longer, so a driver's
//!    previous and next laps fall outside it.
//!
//! The track is not compared: a driver in one car is in one place at a time, and the window
//! already says when (and the server and the game spell layouts their own ways on some tracks).
//!
//! A pair is **linked** when each is the other's only candidate. A lap with two or more
//! candidates (or whose one candidate has another) links to none, and the attempt is counted
//! ([`LinkStats::ambiguous`]): a wrong link is worse than none. Each server lap links to at
//! most one telemetry lap and each telemetry lap to at most one server lap (a unique column).
//!
//! Linking runs whenever either side is stored, in the same transaction: whichever arrives
//! second links. Because the links are a function of the candidates alone, the order does not
//! matter: a lap stored later that becomes a second candidate of an already linked lap undoes
//! that link ([`LinkStats::undone`]), exactly as if it had been there first. Every server lap
//! takes part, valid or not, and so does every telemetry lap (a cut, an out-lap).
//!
//! ## What shows where
//!
//! - [`Store::leaderboard`] rows carry [`LeaderRow::telemetry`](crate::LeaderRow::telemetry):
//!   the linked telemetry session and lap, or `None`.
//! - [`Store::telemetry_laps`] and [`Store::telemetry_lap`] give telemetry laps with their
//!   linked [`ServerLap`] (validity, cuts, sectors, collisions during the lap).
//! - [`Store::linked_telemetry`] lists the links of one server entry, lap by lap.
//!
//! ```
//! use records::{
//!     EntryInput, GameIdentity, LapInput, LinkOutcome, SessionInput, SessionType, Store,
//!     TelemetryLapInput,
//! };
//!
//! # fn main() -> Result<(), records::RecordsError> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let mut store = Store::open(&dir.path().join("records.sqlite"))?;
//! // The car side: the game calls the driver "Ada" "Lovelace"; its PC's clock is 2.5 s ahead.
//! let game = GameIdentity {
//!     car_model: "ks_mazda_mx5_cup".into(),
//!     track: "ks_vallelunga".into(),
//!     layout: "club_circuit".into(),
//!     player_name: "Ada".into(),
//!     player_surname: "Lovelace".into(),
//!     player_nick: String::new(),
//! };
//! let telemetry = TelemetryLapInput {
//!     session_id: [7; 16],
//!     lap: 2,
//!     game,
//!     time_ms: 71_234,
//!     invalid: Vec::new(),
//!     finished_at_ms: 1_700_000_102_500,
//!     first_seq: 24_000,
//!     last_seq: 47_700,
//!     frames: 23_701,
//!     missed_steps: 0,
//!     sectors_ms: vec![24_100, 23_900, 23_234],
//! };
//! assert_eq!(store.add_telemetry_lap(&telemetry)?, LinkOutcome::NoCandidate);
//!
//! // The server side, later: "Ada Lovelace" in the same car, 1 ms apart.
//! let session = store.begin_session(&SessionInput {
//!     server: "pitwall".into(),
//!     track: "ks_vallelunga".into(),
//!     layout: "club_circuit".into(),
//!     session_type: SessionType::Practice,
//!     name: "Practice".into(),
//!     started_at_ms: 1_700_000_000_000,
//!     laps_limit: None,
//!     time_limit_s: None,
//! })?;
//! let entry = store.add_entry(session, &EntryInput {
//!     guid: "76561198000000001".into(),
//!     name: "ada lovelace".into(),
//!     team: String::new(),
//!     car_id: 0,
//!     car_model: "ks_mazda_mx5_cup".into(),
//!     skin: String::new(),
//! })?;
//! store.add_lap(entry, &LapInput {
//!     lap: 1,
//!     time_ms: 71_235,
//!     sectors: Vec::new(),
//!     cuts: 1,
//!     grip: None,
//!     top_speed_kmh: None,
//!     tyre: None,
//!     finished_at_ms: 1_700_000_100_000,
//! })?;
//!
//! let lap = store.telemetry_lap(&[7; 16], 2)?.expect("stored");
//! let server = lap.server.expect("linked");
//! assert_eq!((server.lap, server.cuts, server.valid), (1, 1, false));
//! assert_eq!(store.link_stats().linked, 1);
//! # Ok(())
//! # }
//! ```

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::query::sectors_at;
use crate::{EntryKey, RecordsError, SessionKey, Store};

/// Most a server lap's and a telemetry lap's times may differ and still match, ms (inclusive).
pub const LAP_TIME_TOLERANCE_MS: u32 = 5;

/// Most a server lap's and a telemetry lap's end times may differ and still match, ms
/// (inclusive): the difference of two machines' wall clocks and the network's delay.
pub const CLOCK_WINDOW_MS: i64 = 10_000;

/// Who drove what where, as the game reports it (the telemetry's session metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GameIdentity {
    /// Car model folder (`ks_mazda_mx5_cup`).
    pub car_model: String,
    /// Track folder.
    pub track: String,
    /// Track layout, empty for a track without layouts.
    pub layout: String,
    /// The player's name as set in the game.
    pub player_name: String,
    /// The player's surname.
    pub player_surname: String,
    /// The player's nickname.
    pub player_nick: String,
}

impl GameIdentity {
    /// Whether the server's name for a driver is this player (rule 2 of the module docs): the
    /// name, the name and surname joined by a space, or the nickname, each trimmed and
    /// compared case-insensitively. Empty names match nothing.
    pub fn matches_driver(&self, server_name: &str) -> bool {
        let server = normalize(server_name);
        if server.is_empty() {
            return false;
        }
        let full = format!("{} {}", self.player_name.trim(), self.player_surname.trim());
        [normalize(&self.player_name), normalize(&full), normalize(&self.player_nick)]
            .iter()
            .any(|candidate| !candidate.is_empty() && *candidate == server)
    }
}

fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A telemetry session's metadata, kept so that a reader resuming in the middle of the
/// session (its metadata rides only on the first frames) still knows the car and the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySessionInput {
    /// The bridge's session UUID.
    pub session_id: [u8; 16],
    /// Car, track and names.
    pub game: GameIdentity,
    /// When the session was first seen, Unix ms (the car PC's clock).
    pub started_at_ms: i64,
}

/// A completed telemetry lap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryLapInput {
    /// The bridge's session UUID.
    pub session_id: [u8; 16],
    /// The lap detector's lap number, from 1. Storing a number again for a session keeps the
    /// first (a sink that restarts may see a lap again).
    pub lap: u32,
    /// Car, track and names.
    pub game: GameIdentity,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Why the lap is not representative (`"cut"`, `"out-lap"`, … as the analysis crate names
    /// them); empty for a valid lap.
    pub invalid: Vec<String>,
    /// When the lap ended (the line crossing), Unix ms (the car PC's clock).
    pub finished_at_ms: i64,
    /// `seq` of the lap's first frame.
    pub first_seq: u64,
    /// `seq` of its last frame.
    pub last_seq: u64,
    /// Frames in the lap.
    pub frames: u64,
    /// Physics steps the game skipped during the lap (frames the bridge could not read).
    pub missed_steps: u64,
    /// Sector times, ms, as the game timed them; empty when unknown.
    pub sectors_ms: Vec<u32>,
}

/// A telemetry lap, as a leaderboard row names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TelemetryRef {
    /// The bridge's session UUID (`0190a1b2-…`, lower case).
    pub session_id: String,
    /// The telemetry lap's number.
    pub lap: u32,
}

/// A server lap linked to a telemetry lap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerLap {
    /// The server's name.
    pub server: String,
    /// The session on the server.
    pub session: SessionKey,
    /// The driver in the car.
    pub entry: EntryKey,
    /// The driver's GUID.
    pub guid: String,
    /// The driver's name in that session.
    pub name: String,
    /// Car model.
    pub car_model: String,
    /// The server's car slot.
    pub car_id: u8,
    /// The entry's lap number.
    pub lap: u32,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Sector times, ms; empty when unknown.
    pub sectors: Vec<u32>,
    /// Cuts on the lap.
    pub cuts: u32,
    /// Whether the server counts it (no cuts).
    pub valid: bool,
    /// Collisions of the entry during the lap.
    pub collisions: u32,
    /// When the lap was completed, Unix ms (the server's clock).
    pub finished_at_ms: i64,
}

/// A stored telemetry lap, with the server lap linked to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryLap {
    /// The bridge's session UUID (`0190a1b2-…`, lower case).
    pub session_id: String,
    /// Lap number.
    pub lap: u32,
    /// Car, track and names, as the game reported them.
    pub game: GameIdentity,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Why the lap is not representative; empty for a valid lap.
    pub invalid: Vec<String>,
    /// When the lap ended, Unix ms (the car PC's clock).
    pub finished_at_ms: i64,
    /// `seq` of its first frame.
    pub first_seq: u64,
    /// `seq` of its last frame.
    pub last_seq: u64,
    /// Frames in the lap (0 for a lap stored before the count was kept).
    pub frames: u64,
    /// Physics steps the game skipped during the lap.
    pub missed_steps: u64,
    /// Sector times, ms; empty when unknown.
    pub sectors_ms: Vec<u32>,
    /// The linked server lap, if any.
    pub server: Option<ServerLap>,
}

/// What storing a lap did about its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Linked to the other side's lap.
    Linked,
    /// No lap of the other side matches (yet).
    NoCandidate,
    /// Two or more laps are candidates, on one side or the other: none is linked.
    Ambiguous {
        /// How many candidates the side with more than one had.
        candidates: usize,
    },
    /// The lap was stored before (same session and number, or same entry and number); nothing
    /// changed.
    AlreadyStored,
}

/// Link attempts counted by an open [`Store`] since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Pairs linked.
    pub linked: u64,
    /// Laps left unlinked because of two or more candidates.
    pub ambiguous: u64,
    /// Links undone because a lap stored later is a second candidate.
    pub undone: u64,
}

/// The session UUID as text: 8-4-4-4-12 lower-case hex digits.
pub fn session_id_text(id: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What the rule compares of one lap.
struct Facts {
    car_model: String,
    time_ms: i64,
    finished_at_ms: i64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a telemetry session's metadata (replacing what was stored for it).
    pub fn add_telemetry_session(&mut self, s: &TelemetrySessionInput) -> Result<(), RecordsError> {
        self.write_begin("add a telemetry session")?;
        let g = &s.game;
        self.conn
            .prepare_cached(
                "INSERT INTO telemetry_sessions (session_uuid, car_model, track, layout, player_name,
                                                 player_surname, player_nick, started_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (session_uuid) DO UPDATE SET
                     car_model = excluded.car_model, track = excluded.track, layout = excluded.layout,
                     player_name = excluded.player_name, player_surname = excluded.player_surname,
                     player_nick = excluded.player_nick",
            )
            .and_then(|mut st| {
                st.execute(params![
                    session_id_text(&s.session_id),
                    g.car_model,
                    g.track,
                    g.layout,
                    g.player_name,
                    g.player_surname,
                    g.player_nick,
                    s.started_at_ms
                ])
            })
            .map_err(self.db_err("add a telemetry session"))?;
        self.write_done()
    }

    /// A telemetry session's metadata, if stored.
    pub fn telemetry_session(
        &self,
        session_id: &[u8; 16],
    ) -> Result<Option<TelemetrySessionInput>, RecordsError> {
        self.conn
            .prepare_cached(
                "SELECT car_model, track, layout, player_name, player_surname, player_nick, started_at_ms
                 FROM telemetry_sessions WHERE session_uuid = ?1",
            )
            .and_then(|mut st| {
                st.query_row([session_id_text(session_id)], |r| {
                    Ok(TelemetrySessionInput {
                        session_id: *session_id,
                        game: GameIdentity {
                            car_model: r.get(0)?,
                            track: r.get(1)?,
                            layout: r.get(2)?,
                            player_name: r.get(3)?,
                            player_surname: r.get(4)?,
                            player_nick: r.get(5)?,
                        },
                        started_at_ms: r.get(6)?,
                    })
                })
                .optional()
            })
            .map_err(self.db_err("read a telemetry session"))
    }

    /// Records a completed telemetry lap and links it to its server lap by the rule of the
    /// module docs. A lap number already stored for the session is ignored (the first stays).
    pub fn add_telemetry_lap(&mut self, lap: &TelemetryLapInput) -> Result<LinkOutcome, RecordsError> {
        self.write_begin("add a telemetry lap")?;
        let outcome = self.insert_telemetry_lap(lap).map_err(self.db_err("add a telemetry lap"))?;
        self.write_done()?;
        Ok(outcome)
    }

    fn insert_telemetry_lap(&self, lap: &TelemetryLapInput) -> rusqlite::Result<LinkOutcome> {
        let g = &lap.game;
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO telemetry_laps (session_uuid, lap, car_model, track, layout, player_name, player_surname,
                                             player_nick, time_ms, invalid, finished_at_ms, first_seq, last_seq,
                                             frames, missed_steps, sectors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (session_uuid, lap) DO NOTHING",
            )?
            .execute(params![
                session_id_text(&lap.session_id),
                lap.lap,
                g.car_model,
                g.track,
                g.layout,
                g.player_name,
                g.player_surname,
                g.player_nick,
                lap.time_ms,
                lap.invalid.join(", "),
                lap.finished_at_ms,
                to_i64(lap.first_seq),
                to_i64(lap.last_seq),
                to_i64(lap.frames),
                to_i64(lap.missed_steps),
                serde_json::to_string(&lap.sectors_ms).unwrap_or_else(|_| "[]".to_owned())
            ])?;
        if n == 0 {
            return Ok(LinkOutcome::AlreadyStored);
        }
        let id = self.conn.last_insert_rowid();
        let facts = Facts {
            car_model: g.car_model.clone(),
            time_ms: i64::from(lap.time_ms),
            finished_at_ms: lap.finished_at_ms,
        };
        let candidates = self.server_candidates(g, &facts)?;
        // A new candidate of a linked server lap makes that lap ambiguous: its link goes.
        for &s in &candidates {
            let undone = self
                .conn
                .prepare_cached("UPDATE telemetry_laps SET lap_id = NULL WHERE lap_id = ?1 AND id != ?2")?
                .execute([s, id])?;
            self.count_undone(undone);
        }
        self.settle(id, &candidates, |s| self.telemetry_candidates_of_server_lap(s), |s| (id, s))
    }

    /// Links a server lap just stored (`laps.id`) by the rule of the module docs. Runs inside
    /// the caller's transaction.
    pub(crate) fn link_server_lap(
        &self,
        lap_id: i64,
        entry: EntryKey,
        time_ms: u32,
        finished_at_ms: i64,
    ) -> rusqlite::Result<LinkOutcome> {
        let candidates = self.telemetry_candidates(entry, time_ms, finished_at_ms)?;
        // A linked telemetry lap that gains this second candidate loses its link.
        for &t in &candidates {
            let undone = self
                .conn
                .prepare_cached("UPDATE telemetry_laps SET lap_id = NULL WHERE id = ?1 AND lap_id != ?2")?
                .execute([t, lap_id])?;
            self.count_undone(undone);
        }
        self.settle(lap_id, &candidates, |t| self.server_candidates_of_telemetry_lap(t), |t| (t, lap_id))
    }

    /// The rule's last step, the same from either side: the lap `me` just stored links to its
    /// one candidate when it is that candidate's one candidate too (`back_of` gives a
    /// candidate's own candidates; `pair` the telemetry lap's and the server lap's ids of the
    /// link). Counts the outcome.
    fn settle(
        &self,
        me: i64,
        candidates: &[i64],
        back_of: impl Fn(i64) -> rusqlite::Result<Vec<i64>>,
        pair: impl Fn(i64) -> (i64, i64),
    ) -> rusqlite::Result<LinkOutcome> {
        let outcome = match candidates {
            [] => LinkOutcome::NoCandidate,
            &[other] => {
                let back = back_of(other)?;
                if back == [me] {
                    let (telemetry, server) = pair(other);
                    self.conn
                        .prepare_cached("UPDATE telemetry_laps SET lap_id = ?2 WHERE id = ?1")?
                        .execute([telemetry, server])?;
                    LinkOutcome::Linked
                } else {
                    LinkOutcome::Ambiguous { candidates: back.len() }
                }
            }
            many => LinkOutcome::Ambiguous { candidates: many.len() },
        };
        self.count(outcome);
        Ok(outcome)
    }

    fn count(&self, outcome: LinkOutcome) {
        let mut stats = self.links.get();
        match outcome {
            LinkOutcome::Linked => stats.linked += 1,
            LinkOutcome::Ambiguous { .. } => stats.ambiguous += 1,
            LinkOutcome::NoCandidate | LinkOutcome::AlreadyStored => {}
        }
        self.links.set(stats);
    }

    fn count_undone(&self, n: usize) {
        let mut stats = self.links.get();
        stats.undone += n as u64;
        self.links.set(stats);
    }

    /// The telemetry laps that are candidates of server lap `lap_id` (rules 1 to 4).
    fn telemetry_candidates_of_server_lap(&self, lap_id: i64) -> rusqlite::Result<Vec<i64>> {
        let Some((entry, time_ms, finished_at_ms)) = self
            .conn
            .prepare_cached("SELECT entry_id, time_ms, finished_at_ms FROM laps WHERE id = ?1")?
            .query_row([lap_id], |r| Ok((EntryKey(r.get(0)?), r.get(1)?, r.get(2)?)))
            .optional()?
        else {
            return Ok(Vec::new());
        };
        self.telemetry_candidates(entry, time_ms, finished_at_ms)
    }

    /// The telemetry laps that are candidates of a lap of `entry` (rules 1 to 4). The window
    /// is looked up first and the entry only when something is in it: storing a server lap
    /// costs one index probe when nobody streams telemetry.
    fn telemetry_candidates(
        &self,
        entry: EntryKey,
        time_ms: u32,
        finished_at_ms: i64,
    ) -> rusqlite::Result<Vec<i64>> {
        let tolerance = i64::from(LAP_TIME_TOLERANCE_MS);
        let time_ms = i64::from(time_ms);
        let rows = self.query_rows(
            "SELECT id, car_model, track, layout, player_name, player_surname, player_nick FROM telemetry_laps
             WHERE finished_at_ms BETWEEN ?1 AND ?2 AND time_ms BETWEEN ?3 AND ?4
             ORDER BY id",
            params![
                finished_at_ms.saturating_sub(CLOCK_WINDOW_MS),
                finished_at_ms.saturating_add(CLOCK_WINDOW_MS),
                time_ms - tolerance,
                time_ms + tolerance
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    GameIdentity {
                        car_model: r.get(1)?,
                        track: r.get(2)?,
                        layout: r.get(3)?,
                        player_name: r.get(4)?,
                        player_surname: r.get(5)?,
                        player_nick: r.get(6)?,
                    },
                ))
            },
        )?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let Some((name, car_model)) = self
            .conn
            .prepare_cached("SELECT name, car_model FROM entries WHERE id = ?1")?
            .query_row([entry.0], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .optional()?
        else {
            return Ok(Vec::new());
        };
        Ok(rows
            .into_iter()
            .filter(|(_, game)| game.car_model == car_model && game.matches_driver(&name))
            .map(|(id, _)| id)
            .collect())
    }

    /// The server laps that are candidates of telemetry lap `id` (rules 1 to 4).
    fn server_candidates_of_telemetry_lap(&self, id: i64) -> rusqlite::Result<Vec<i64>> {
        let Some((game, facts)) = self
            .conn
            .prepare_cached(
                "SELECT car_model, track, layout, player_name, player_surname, player_nick, time_ms, finished_at_ms
                 FROM telemetry_laps WHERE id = ?1",
            )?
            .query_row([id], |r| {
                let game = GameIdentity {
                    car_model: r.get(0)?,
                    track: r.get(1)?,
                    layout: r.get(2)?,
                    player_name: r.get(3)?,
                    player_surname: r.get(4)?,
                    player_nick: r.get(5)?,
                };
                let facts = Facts { car_model: game.car_model.clone(), time_ms: r.get(6)?, finished_at_ms: r.get(7)? };
                Ok((game, facts))
            })
            .optional()?
        else {
            return Ok(Vec::new());
        };
        self.server_candidates(&game, &facts)
    }

    /// The server laps that are candidates of a telemetry lap of `game` (rules 1 to 4). The
    /// drivers come first, by every name they have had (each entry's name is among them); then
    /// each one's laps in the car are read from the leaderboards' index (`laps_rank`: combo,
    /// validity, driver, time), so no index on the laps is added for the join.
    fn server_candidates(&self, game: &GameIdentity, facts: &Facts) -> rusqlite::Result<Vec<i64>> {
        let names = self.query_rows("SELECT driver_id, name FROM driver_names", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut drivers: Vec<i64> =
            names.into_iter().filter(|(_, name)| game.matches_driver(name)).map(|(d, _)| d).collect();
        drivers.sort_unstable();
        drivers.dedup();
        let tolerance = i64::from(LAP_TIME_TOLERANCE_MS);
        let mut out = Vec::new();
        for driver in drivers {
            let rows = self.query_rows(
                "SELECT l.id, e.name FROM laps l JOIN entries e ON e.id = l.entry_id
                 WHERE l.combo_id IN (SELECT id FROM combos WHERE car_model = ?1) AND l.valid IN (0, 1)
                   AND l.driver_id = ?2 AND l.time_ms BETWEEN ?3 AND ?4 AND l.finished_at_ms BETWEEN ?5 AND ?6
                   AND e.car_model = ?1",
                params![
                    facts.car_model,
                    driver,
                    facts.time_ms - tolerance,
                    facts.time_ms + tolerance,
                    facts.finished_at_ms.saturating_sub(CLOCK_WINDOW_MS),
                    facts.finished_at_ms.saturating_add(CLOCK_WINDOW_MS)
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?;
            out.extend(rows.into_iter().filter(|(_, name)| game.matches_driver(name)).map(|(id, _)| id));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The link attempts this open store has counted.
    pub fn link_stats(&self) -> LinkStats {
        self.links.get()
    }

    /// The telemetry laps of a session, by lap number, each with its linked server lap.
    pub fn telemetry_laps(&self, session_id: &[u8; 16]) -> Result<Vec<TelemetryLap>, RecordsError> {
        self.read_telemetry_laps(session_id, None)
    }

    /// The last frame `seq` of the session's stored telemetry laps (`None` without any): where
    /// a reader resuming the session's frames finds its laps stored already.
    pub fn telemetry_last_seq(&self, session_id: &[u8; 16]) -> Result<Option<u64>, RecordsError> {
        self.conn
            .prepare_cached("SELECT MAX(last_seq) FROM telemetry_laps WHERE session_uuid = ?1")
            .and_then(|mut st| st.query_row([session_id_text(session_id)], |r| r.get::<_, Option<i64>>(0)))
            .map(|seq| seq.map(|s| s.max(0) as u64))
            .map_err(self.db_err("read telemetry laps"))
    }

    /// One telemetry lap of a session, with its linked server lap.
    pub fn telemetry_lap(
        &self,
        session_id: &[u8; 16],
        lap: u32,
    ) -> Result<Option<TelemetryLap>, RecordsError> {
        Ok(self.read_telemetry_laps(session_id, Some(lap))?.pop())
    }

    fn read_telemetry_laps(
        &self,
        session_id: &[u8; 16],
        lap: Option<u32>,
    ) -> Result<Vec<TelemetryLap>, RecordsError> {
        let err = self.db_err("read telemetry laps");
        let rows = self
            .query_rows(
                "SELECT session_uuid, lap, car_model, track, layout, player_name, player_surname, player_nick,
                        time_ms, invalid, finished_at_ms, first_seq, last_seq, lap_id, frames, missed_steps, sectors
                 FROM telemetry_laps WHERE session_uuid = ?1 AND (?2 IS NULL OR lap = ?2) ORDER BY lap",
                params![session_id_text(session_id), lap],
                |r| {
                    let invalid: String = r.get(9)?;
                    let lap = TelemetryLap {
                        session_id: r.get(0)?,
                        lap: r.get(1)?,
                        game: GameIdentity {
                            car_model: r.get(2)?,
                            track: r.get(3)?,
                            layout: r.get(4)?,
                            player_name: r.get(5)?,
                            player_surname: r.get(6)?,
                            player_nick: r.get(7)?,
                        },
                        time_ms: r.get(8)?,
                        invalid: invalid.split(", ").filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                        finished_at_ms: r.get(10)?,
                        first_seq: r.get::<_, i64>(11)?.max(0) as u64,
                        last_seq: r.get::<_, i64>(12)?.max(0) as u64,
                        frames: r.get::<_, i64>(14)?.max(0) as u64,
                        missed_steps: r.get::<_, i64>(15)?.max(0) as u64,
                        sectors_ms: sectors_at(r, 16)?,
                        server: None,
                    };
                    Ok((lap, r.get::<_, Option<i64>>(13)?))
                },
            )
            .map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (mut lap, server) in rows {
            if let Some(id) = server {
                lap.server = self.server_lap(id).map_err(self.db_err("read a linked server lap"))?;
            }
            out.push(lap);
        }
        Ok(out)
    }

    fn server_lap(&self, lap_id: i64) -> rusqlite::Result<Option<ServerLap>> {
        self.conn
            .prepare_cached(
                "SELECT sv.name, l.session_id, l.entry_id, d.guid, e.name, e.car_model, e.car_id, l.lap, l.time_ms,
                        l.sectors, l.cuts, l.valid, l.finished_at_ms,
                        (SELECT COUNT(*) FROM collisions c WHERE c.entry_id = l.entry_id
                             AND c.at_ms > l.finished_at_ms - l.time_ms AND c.at_ms <= l.finished_at_ms)
                 FROM laps l JOIN entries e ON e.id = l.entry_id JOIN drivers d ON d.id = l.driver_id
                      JOIN sessions s ON s.id = l.session_id JOIN servers sv ON sv.id = s.server_id
                 WHERE l.id = ?1",
            )?
            .query_row([lap_id], |r| {
                Ok(ServerLap {
                    server: r.get(0)?,
                    session: SessionKey(r.get(1)?),
                    entry: EntryKey(r.get(2)?),
                    guid: r.get(3)?,
                    name: r.get(4)?,
                    car_model: r.get(5)?,
                    car_id: r.get(6)?,
                    lap: r.get(7)?,
                    time_ms: r.get(8)?,
                    sectors: sectors_at(r, 9)?,
                    cuts: r.get(10)?,
                    valid: r.get(11)?,
                    finished_at_ms: r.get(12)?,
                    collisions: r.get(13)?,
                })
            })
            .optional()
    }

    /// The server lap the rule would link a telemetry lap to if it were stored, without storing
    /// anything: for a lap read from a recording that never went through `pitwall serve`.
    /// `None` when no server lap, or more than one, is a candidate, or when the one candidate
    /// has a stored telemetry lap as a candidate already (then the two would be ambiguous).
    pub fn match_server_lap(
        &self,
        game: &GameIdentity,
        time_ms: u32,
        finished_at_ms: i64,
    ) -> Result<Option<ServerLap>, RecordsError> {
        let err = self.db_err("match a telemetry lap");
        let facts = Facts { car_model: game.car_model.clone(), time_ms: i64::from(time_ms), finished_at_ms };
        let candidates = self.server_candidates(game, &facts).map_err(err)?;
        let &[s] = candidates.as_slice() else { return Ok(None) };
        let err = self.db_err("match a telemetry lap");
        if !self.telemetry_candidates_of_server_lap(s).map_err(err)?.is_empty() {
            return Ok(None);
        }
        self.server_lap(s).map_err(self.db_err("read a server lap"))
    }

    /// The links of a server entry: each of its laps that has telemetry, by lap number, with
    /// the telemetry lap it is linked to.
    pub fn linked_telemetry(&self, entry: EntryKey) -> Result<Vec<(u32, TelemetryRef)>, RecordsError> {
        self.query_rows(
            "SELECT l.lap, t.session_uuid, t.lap FROM laps l JOIN telemetry_laps t ON t.lap_id = l.id
             WHERE l.entry_id = ?1 ORDER BY l.lap",
            [entry.0],
            |r| Ok((r.get(0)?, TelemetryRef { session_id: r.get(1)?, lap: r.get(2)? })),
        )
        .map_err(self.db_err("read linked telemetry"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(name: &str, surname: &str, nick: &str) -> GameIdentity {
        GameIdentity {
            player_name: name.into(),
            player_surname: surname.into(),
            player_nick: nick.into(),
            ..GameIdentity::default()
        }
    }

    #[test]
    fn the_server_name_is_the_name_or_the_full_name_or_the_nick_in_any_case() {
        let g = game(" Ada", "Lovelace ", "countess");
        for ok in ["Ada", "ada", "ADA LOVELACE", " ada lovelace ", "Countess"] {
            assert!(g.matches_driver(ok), "{ok:?}");
        }
        for no in ["", " ", "Lovelace", "Ada  Lovelace", "Ada L", "Adam"] {
            assert!(!g.matches_driver(no), "{no:?}");
        }
        // Empty names on the game's side match nothing, not an empty server name.
        assert!(!game("", "", "").matches_driver(""));
        assert!(!game("", "", "").matches_driver(" "));
        // Unicode case folding, not only ASCII.
        assert!(game("Ólafur", "", "").matches_driver("ÓLAFUR"));
    }

    #[test]
    fn session_ids_print_as_uuids() {
        let mut id = [0u8; 16];
        id[0] = 0x01;
        id[15] = 0xab;
        assert_eq!(session_id_text(&id), "01000000-0000-0000-0000-0000000000ab");
    }
}
