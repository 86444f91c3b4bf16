//! The join: server laps linked to telemetry laps by the rule of `records::telemetry`
//! (docs/join.md): same car, same driver by name, lap times within 5 ms, lap ends within ±10 s,
//! one candidate each way, whatever the order the two sides arrive in.

use records::{
    CollisionInput, EntryKey, GameIdentity, LinkOutcome, Query, Ranking, SessionType, Store,
    TelemetryLapInput, TelemetryRef, TelemetrySessionInput,
};

use crate::{T0, entry, lap, session, store};

const CAR: &str = "ks_mazda_mx5_cup";

fn game(name: &str, surname: &str, nick: &str, car: &str) -> GameIdentity {
    GameIdentity {
        car_model: car.into(),
        track: "monza".into(),
        layout: String::new(),
        player_name: name.into(),
        player_surname: surname.into(),
        player_nick: nick.into(),
    }
}

/// Telemetry lap `n` of session `sid`, of `time_ms`, ended at `at` (car PC's clock).
fn tlap(sid: u8, n: u32, game: &GameIdentity, time_ms: u32, at: i64) -> TelemetryLapInput {
    TelemetryLapInput {
        session_id: [sid; 16],
        lap: n,
        game: game.clone(),
        time_ms,
        invalid: Vec::new(),
        finished_at_ms: at,
        first_seq: u64::from(n) * 1000,
        last_seq: u64::from(n) * 1000 + 999,
        frames: 1000,
        missed_steps: u64::from(sid % 3),
        sectors_ms: Vec::new(),
    }
}

/// A server entry named `name` in `car` in a fresh practice session.
fn server_entry(store: &mut Store, guid: &str, name: &str, car: &str) -> EntryKey {
    let s = session(store, "monza", SessionType::Practice, 0);
    entry(store, s, guid, name, car)
}

fn linked(store: &Store, sid: u8, n: u32) -> Option<u32> {
    store.telemetry_lap(&[sid; 16], n).unwrap().and_then(|l| l.server).map(|s| s.lap)
}

#[test]
fn a_server_lap_links_to_the_telemetry_lap_of_the_same_driver_by_name_full_name_or_nick() {
    let (_dir, _path, mut store) = store();
    // Server names, each against a game identity it must match.
    let cases = [
        ("Ada", game("Ada", "Lovelace", "", CAR)),
        ("ada lovelace", game("Ada", "Lovelace", "", CAR)),
        ("  ADA LOVELACE ", game(" Ada ", "Lovelace", "", CAR)),
        ("Countess", game("Ada", "Lovelace", "countess", CAR)),
    ];
    for (i, (server_name, g)) in cases.iter().enumerate() {
        let i = i as u8 + 1;
        // Each case an hour apart, so that none is another's candidate.
        let at = T0 + i64::from(i) * 3_600_000;
        assert_eq!(store.add_telemetry_lap(&tlap(i, 3, g, 90_000, at)).unwrap(), LinkOutcome::NoCandidate);
        let e = server_entry(&mut store, &format!("guid{i}"), server_name, CAR);
        store.add_lap(e, &lap(2, 90_000, 30_000, 30_000, 0, at)).unwrap();
        assert_eq!(linked(&store, i, 3), Some(2), "{server_name:?} against {g:?}");
        assert_eq!(
            store.linked_telemetry(e).unwrap(),
            [(2, TelemetryRef { session_id: records::session_id_text(&[i; 16]), lap: 3 })]
        );
    }
    assert_eq!(store.link_stats().linked, 4);

    // A name that is none of them: no link.
    let at = T0 + 10 * 3_600_000;
    store.add_telemetry_lap(&tlap(20, 1, &game("Ada", "Lovelace", "countess", CAR), 90_000, at)).unwrap();
    let e = server_entry(&mut store, "g20", "Lovelace", CAR);
    store.add_lap(e, &lap(1, 90_000, 30_000, 30_000, 0, at)).unwrap();
    assert_eq!(linked(&store, 20, 1), None);
}

#[test]
fn lap_times_5_ms_apart_link_and_6_ms_apart_do_not() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    for (i, (server_ms, telemetry_ms, links)) in
        [(90_000, 90_005, true), (90_005, 90_000, true), (90_000, 90_006, false), (90_006, 90_000, false)]
            .into_iter()
            .enumerate()
    {
        let i = i as u8 + 1;
        let at = T0 + i64::from(i) * 3_600_000;
        store.add_telemetry_lap(&tlap(i, 1, &g, telemetry_ms, at)).unwrap();
        let e = server_entry(&mut store, &format!("g{i}"), "Ada", CAR);
        store.add_lap(e, &lap(1, server_ms, 30_000, 30_000, 0, at)).unwrap();
        assert_eq!(
            linked(&store, i, 1).is_some(),
            links,
            "server {server_ms} ms, telemetry {telemetry_ms} ms"
        );
    }
}

#[test]
fn clocks_10_s_apart_still_link_and_further_apart_do_not() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    for (i, (skew, links)) in [
        (0, true),
        (2_500, true),
        (-7_000, true),
        (10_000, true),
        (-10_000, true),
        (10_001, false),
        (-10_001, false),
    ]
    .into_iter()
    .enumerate()
    {
        let i = i as u8 + 1;
        let at = T0 + i64::from(i) * 3_600_000;
        // The car PC's clock is `skew` ahead of the server's.
        store.add_telemetry_lap(&tlap(i, 1, &g, 90_000, at + skew)).unwrap();
        let e = server_entry(&mut store, &format!("g{i}"), "Ada", CAR);
        store.add_lap(e, &lap(1, 90_000, 30_000, 30_000, 0, at)).unwrap();
        assert_eq!(linked(&store, i, 1).is_some(), links, "skew {skew} ms");
    }
}

#[test]
fn a_lap_of_another_car_is_never_linked() {
    let (_dir, _path, mut store) = store();
    store.add_telemetry_lap(&tlap(1, 1, &game("Ada", "", "", "ks_bmw_m3_e30"), 90_000, T0)).unwrap();
    let e = server_entry(&mut store, "g1", "Ada", CAR);
    store.add_lap(e, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    assert_eq!(linked(&store, 1, 1), None);
    assert!(store.linked_telemetry(e).unwrap().is_empty());
    assert_eq!(store.link_stats().linked, 0);
}

#[test]
fn two_candidates_link_none_and_are_counted() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    // Two server laps (two servers, one name) against one telemetry lap.
    let a = server_entry(&mut store, "g1", "Ada", CAR);
    let b = server_entry(&mut store, "g2", "ada", CAR);
    store.add_lap(a, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    store.add_lap(b, &lap(1, 90_002, 30_000, 30_000, 0, T0 + 1_000)).unwrap();
    assert_eq!(
        store.add_telemetry_lap(&tlap(1, 1, &g, 90_001, T0)).unwrap(),
        LinkOutcome::Ambiguous { candidates: 2 }
    );
    assert_eq!(linked(&store, 1, 1), None);
    assert_eq!(store.link_stats().ambiguous, 1);

    // Two telemetry laps (two game sessions of one player) against one server lap.
    let at = T0 + 3_600_000;
    store.add_telemetry_lap(&tlap(2, 1, &g, 90_000, at)).unwrap();
    store.add_telemetry_lap(&tlap(3, 1, &g, 90_000, at + 500)).unwrap();
    let c = server_entry(&mut store, "g3", "Ada", CAR);
    store.add_lap(c, &lap(1, 90_000, 30_000, 30_000, 0, at)).unwrap();
    assert_eq!((linked(&store, 2, 1), linked(&store, 3, 1)), (None, None));
    assert_eq!(store.link_stats().ambiguous, 2);
}

#[test]
fn a_second_candidate_arriving_later_undoes_the_link() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    let a = server_entry(&mut store, "g1", "Ada", CAR);
    store.add_lap(a, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    assert_eq!(store.add_telemetry_lap(&tlap(1, 1, &g, 90_000, T0)).unwrap(), LinkOutcome::Linked);
    let b = server_entry(&mut store, "g2", "Ada", CAR);
    store.add_lap(b, &lap(1, 90_000, 30_000, 30_000, 0, T0 + 2_000)).unwrap();
    assert_eq!(linked(&store, 1, 1), None, "two server laps now claim it");
    assert_eq!(store.link_stats().undone, 1);
}

/// The links of a set of laps, stored in the order `order` gives (indexes into the laps).
fn links_in_order(order: &[usize]) -> Vec<(u8, u32, Option<u32>)> {
    let (_dir, _path, mut store) = store();
    let ada = game("Ada", "Lovelace", "", CAR);
    let bob = game("Bob", "", "bobby", CAR);
    // Entries first (they carry no laps); then laps in the given order.
    let ea = server_entry(&mut store, "ga", "Ada Lovelace", CAR);
    let eb = server_entry(&mut store, "gb", "bobby", CAR);
    let ec = server_entry(&mut store, "gc", "Ada Lovelace", CAR);
    enum Item {
        Server(EntryKey, u32, u32, i64),
        Telemetry(Box<TelemetryLapInput>),
    }
    let items = [
        // Ada's laps 1 and 2, both sides, 3 s clock skew, times 1 ms apart.
        Item::Server(ea, 1, 95_000, T0 + 95_000),
        Item::Server(ea, 2, 91_000, T0 + 186_000),
        Item::Telemetry(Box::new(tlap(1, 1, &ada, 95_001, T0 + 98_000))),
        Item::Telemetry(Box::new(tlap(1, 2, &ada, 91_000, T0 + 189_000))),
        // Bob's lap: linked by nick.
        Item::Server(eb, 1, 93_000, T0 + 93_000),
        Item::Telemetry(Box::new(tlap(2, 1, &bob, 92_998, T0 + 92_000))),
        // A second "Ada Lovelace" on another server with Ada's lap 2 time: ambiguous with it.
        Item::Server(ec, 1, 91_003, T0 + 187_000),
    ];
    for &i in order {
        match &items[i] {
            Item::Server(e, n, t, at) => store.add_lap(*e, &lap(*n, *t, 30_000, 30_000, 0, *at)).unwrap(),
            Item::Telemetry(l) => {
                store.add_telemetry_lap(l).unwrap();
            }
        }
    }
    let mut out = Vec::new();
    for (sid, n) in [(1, 1), (1, 2), (2, 1)] {
        out.push((sid, n, store.telemetry_lap(&[sid; 16], n).unwrap().and_then(|l| l.server).map(|s| s.lap)));
    }
    out
}

#[test]
fn the_links_do_not_depend_on_the_order_the_laps_arrive_in() {
    let expected = vec![(1, 1, Some(1)), (1, 2, None), (2, 1, Some(1))];
    let n = 7;
    let orders: Vec<Vec<usize>> = vec![
        (0..n).collect(),
        (0..n).rev().collect(),
        vec![2, 3, 5, 0, 1, 4, 6],
        vec![6, 1, 3, 0, 2, 5, 4],
        vec![0, 2, 1, 3, 4, 5, 6],
        vec![3, 6, 1, 5, 4, 2, 0],
    ];
    for order in orders {
        assert_eq!(links_in_order(&order), expected, "order {order:?}");
    }
}

#[test]
fn the_linked_server_lap_brings_its_cuts_sectors_and_collisions() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    let e = server_entry(&mut store, "g1", "Ada", CAR);
    let other = server_entry(&mut store, "g2", "Bob", CAR);
    // A collision during the lap (which ran from T0 - 90 s to T0), one before it.
    store
        .add_collision(e, &CollisionInput { other: Some(other), impact_speed_kmh: 30.0, at_ms: T0 - 1_000 })
        .unwrap();
    store
        .add_collision(e, &CollisionInput { other: None, impact_speed_kmh: 80.0, at_ms: T0 - 95_000 })
        .unwrap();
    store.add_lap(e, &lap(4, 90_000, 29_000, 31_000, 2, T0)).unwrap();
    let mut t = tlap(1, 5, &g, 90_000, T0 + 1_200);
    t.invalid = vec!["cut".into()];
    assert_eq!(store.add_telemetry_lap(&t).unwrap(), LinkOutcome::Linked);
    assert_eq!(store.add_telemetry_lap(&t).unwrap(), LinkOutcome::AlreadyStored);

    let laps = store.telemetry_laps(&[1; 16]).unwrap();
    assert_eq!(laps.len(), 1);
    assert_eq!((laps[0].lap, laps[0].time_ms, &laps[0].invalid), (5, 90_000, &vec!["cut".to_owned()]));
    assert_eq!((laps[0].first_seq, laps[0].last_seq), (5000, 5999));
    let s = laps[0].server.as_ref().unwrap();
    assert_eq!((s.lap, s.cuts, s.valid, s.collisions), (4, 2, false, 1));
    assert_eq!(s.sectors, [29_000, 31_000, 30_000]);
    assert_eq!((s.guid.as_str(), s.name.as_str(), s.car_model.as_str()), ("g1", "Ada", CAR));
}

#[test]
fn leaderboard_rows_name_their_telemetry_lap() {
    let (_dir, _path, mut store) = store();
    let a = server_entry(&mut store, "g1", "Ada", CAR);
    let b = server_entry(&mut store, "g2", "Bob", CAR);
    store.add_lap(a, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    store.add_lap(b, &lap(1, 91_000, 30_000, 30_000, 0, T0)).unwrap();
    store.add_telemetry_lap(&tlap(9, 2, &game("Ada", "", "", CAR), 90_000, T0 - 400)).unwrap();
    let q = Query { ranking: Ranking::EveryLap, ..Query::new("monza", "") };
    let rows = store.leaderboard(&q).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].telemetry,
        Some(TelemetryRef { session_id: records::session_id_text(&[9; 16]), lap: 2 })
    );
    assert_eq!(rows[1].telemetry, None);
    let json = serde_json::to_value(&rows[0]).unwrap();
    assert_eq!(json["telemetry"]["lap"], 2);
    assert_eq!(store.personal_bests("g1").unwrap()[0].telemetry, rows[0].telemetry);
    assert_eq!(store.personal_bests("g2").unwrap()[0].telemetry, None);
}

#[test]
fn telemetry_sessions_keep_the_games_identity_and_laps_survive_a_reopen() {
    let (_dir, path, mut store) = store();
    let s =
        TelemetrySessionInput { session_id: [3; 16], game: game("Ada", "L", "al", CAR), started_at_ms: T0 };
    assert_eq!(store.telemetry_session(&[3; 16]).unwrap(), None);
    store.add_telemetry_session(&s).unwrap();
    store.add_telemetry_lap(&tlap(3, 1, &s.game, 90_000, T0 + 90_000)).unwrap();
    store.flush().unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.telemetry_session(&[3; 16]).unwrap(), Some(s));
    assert_eq!(store.telemetry_laps(&[3; 16]).unwrap().len(), 1);
    assert_eq!(store.telemetry_last_seq(&[3; 16]).unwrap(), Some(1999));
    assert_eq!(store.telemetry_last_seq(&[4; 16]).unwrap(), None);
}

#[test]
fn a_lap_not_stored_is_matched_by_the_same_rule_without_storing_it() {
    let (_dir, _path, mut store) = store();
    let g = game("Ada", "", "", CAR);
    let e = server_entry(&mut store, "g1", "Ada", CAR);
    store.add_lap(e, &lap(1, 90_000, 30_000, 30_000, 1, T0)).unwrap();
    let m = store.match_server_lap(&g, 90_004, T0 + 9_000).unwrap().unwrap();
    assert_eq!((m.lap, m.cuts, m.valid), (1, 1, false));
    assert_eq!(store.match_server_lap(&g, 90_006, T0).unwrap(), None, "6 ms off");
    assert_eq!(store.match_server_lap(&game("Bob", "", "", CAR), 90_000, T0).unwrap(), None);
    // Once a stored telemetry lap claims the server lap, another one would be ambiguous.
    store.add_telemetry_lap(&tlap(1, 1, &g, 90_000, T0)).unwrap();
    assert_eq!(store.match_server_lap(&g, 90_000, T0).unwrap(), None);
    assert_eq!(store.telemetry_laps(&[2; 16]).unwrap(), []);
}

#[test]
fn the_catalogue_lists_sessions_their_laps_and_what_each_lap_has() {
    let (_dir, path, mut store) = store();
    let g = game("Ada", "Lovelace", "", CAR);
    let s = session(&mut store, "monza", SessionType::Race, 0);
    let ada = entry(&mut store, s, "guid-ada", "Ada", CAR);
    let bea = entry(&mut store, s, "guid-bea", "Bea", CAR);
    // Ada's two laps have telemetry (the second with missed steps and a cut); Bea's has none.
    store
        .add_telemetry_session(&TelemetrySessionInput {
            session_id: [4; 16],
            game: g.clone(),
            started_at_ms: T0 - 200_000,
        })
        .unwrap();
    store.add_lap(ada, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    store.add_lap(ada, &lap(2, 91_000, 30_000, 30_000, 1, T0 + 91_000)).unwrap();
    store.add_lap(bea, &lap(1, 95_000, 30_000, 30_000, 0, T0 + 5_000)).unwrap();
    let mut first = tlap(4, 1, &g, 90_000, T0 + 300);
    (first.sectors_ms, first.missed_steps) = (vec![30_000, 30_000, 30_000], 0);
    let mut second = tlap(4, 2, &g, 91_000, T0 + 91_300);
    (second.missed_steps, second.invalid) = (12, vec!["cut".into()]);
    assert_eq!(store.add_telemetry_lap(&first).unwrap(), LinkOutcome::Linked);
    assert_eq!(store.add_telemetry_lap(&second).unwrap(), LinkOutcome::Linked);
    // Two collisions of Ada's on her second lap, one just before it.
    store
        .add_collision(ada, &CollisionInput { other: Some(bea), impact_speed_kmh: 42.0, at_ms: T0 + 20_000 })
        .unwrap();
    store
        .add_collision(ada, &CollisionInput { other: None, impact_speed_kmh: 88.0, at_ms: T0 + 60_000 })
        .unwrap();
    store.add_collision(ada, &CollisionInput { other: None, impact_speed_kmh: 10.0, at_ms: T0 }).unwrap();
    store.flush().unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();

    let sessions = store.server_sessions(10).unwrap();
    assert_eq!(sessions.len(), 1);
    let summary = &sessions[0];
    assert_eq!(
        (
            summary.id,
            summary.track.as_str(),
            summary.session_type.as_str(),
            summary.drivers,
            summary.laps,
            summary.laps_with_telemetry
        ),
        (s.id(), "monza", "race", 2, 3, 2)
    );
    let laps = store.server_session_laps(records::SessionKey::from_id(summary.id)).unwrap();
    type Seen<'a> = (&'a str, u32, bool, Option<(u32, u64)>);
    let seen: Vec<Seen<'_>> = laps
        .iter()
        .map(|l| (l.driver.as_str(), l.lap, l.valid, l.telemetry.as_ref().map(|t| (t.lap, t.missed_steps))))
        .collect();
    assert_eq!(
        seen,
        [("Ada", 1, true, Some((1, 0))), ("Bea", 1, true, None), ("Ada", 2, false, Some((2, 12)))]
    );
    assert_eq!(laps[0].telemetry.as_ref().map(|t| t.frames), Some(1000));
    assert!(store.server_session_laps(records::SessionKey::from_id(999)).unwrap().is_empty());

    let telemetry = store.telemetry_sessions(10).unwrap();
    assert_eq!(telemetry.len(), 1);
    let t = &telemetry[0];
    assert_eq!(
        (
            t.session_id.as_str(),
            t.started_at_ms,
            t.laps,
            t.valid_laps,
            t.best_ms,
            t.frames,
            t.missed_steps,
            t.linked_laps
        ),
        (records::session_id_text(&[4; 16]).as_str(), T0 - 200_000, 2, 1, Some(90_000), 2000, 12, 2)
    );
    let back = store.telemetry_lap(&[4; 16], 1).unwrap().expect("lap 1");
    assert_eq!((back.frames, back.sectors_ms.as_slice()), (1000, &[30_000, 30_000, 30_000][..]));

    let hits = store.lap_collisions(ada, T0, T0 + 91_000).unwrap();
    let hits: Vec<(i64, Option<&str>)> = hits.iter().map(|c| (c.at_ms, c.other.as_deref())).collect();
    assert_eq!(hits, [(T0 + 20_000, Some("Bea")), (T0 + 60_000, None)]);
}
