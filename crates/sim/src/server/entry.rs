//! The entry list (who drives what), the chat lines drivers type, and the results file names.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One entry-list slot. Slots without a driver keep their car (the entry list defines the
/// cars) and have empty driver fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub driver_name: String,
    pub driver_guid: String,
    pub driver_team: String,
    pub car_model: String,
    pub car_skin: String,
}

/// Fictional drivers. Two names are not ASCII on purpose: driver names are wide strings on the
/// wire and plugins must cope with them.
const NAMES: [&str; 32] = [
    "Alex Marino",
    "Bea Lindqvist",
    "Carlos Ferreira",
    "Dana Okafor",
    "Elias Brandt",
    "Fiona Hale",
    "Gianni Russo",
    "Hana Sato",
    "Ivan Petrov",
    "Julia Novak",
    "Kofi Mensah",
    "Lena Vogel",
    "Mateo Cruz",
    "Nina Laurent",
    "Oskar Berg",
    "Priya Nair",
    "Quentin Moreau",
    "Rosa Delgado",
    "Sven Aalto",
    "Tara Quinn",
    "Umar Haddad",
    "Vera Kowalski",
    "Wes Carter",
    "Xin Zhao",
    "Yara Costa",
    "Zoltan Varga",
    "Renée Kovač",
    "José Núñez",
    "Mika Lehtonen",
    "Aiko Tanaka",
    "Bruno Silva",
    "Clara Weiss",
];

const TEAMS: [&str; 6] = ["Apex Racing", "Slipstream", "Kerb Hoppers", "Late Brakers", "", "Privateer"];

const MODELS: [&str; 4] =
    ["ks_porsche_911_gt3_r_2016", "ks_audi_r8_lms_2016", "ks_mclaren_650_gt3", "ks_ferrari_488_gt3"];

const SKINS: [&str; 5] =
    ["00_official", "01_racing_red", "02_blue_sky", "03_white_black", "04_yellow_stripes"];

/// What drivers say in the chat, now and then. One line is not ASCII (the real capture has an
/// Italian "è" in a chat line).
pub(crate) const CHAT_LINES: [&str; 8] = [
    "gg",
    "sorry, my bad",
    "blue flag please",
    "nice battle!",
    "lag?",
    "pitting this lap",
    "è stato bello",
    "careful at turn 1",
];

/// Builds `slots` entries; the first `drivers` have a driver.
pub(crate) fn entry_list(slots: u8, drivers: u8, rng: &mut ChaCha8Rng) -> Vec<Entry> {
    (0..slots)
        .map(|slot| {
            let car_model = MODELS[rng.random_range(0..MODELS.len())].to_owned();
            let car_skin = SKINS[rng.random_range(0..SKINS.len())].to_owned();
            if slot < drivers {
                let i = usize::from(slot);
                let driver_name = match NAMES.get(i) {
                    Some(n) => (*n).to_owned(),
                    None => format!("Driver {}", i + 1),
                };
                Entry {
                    driver_name,
                    // SteamID64s of individual accounts start with 7656119.
                    driver_guid: format!("7656119{:010}", rng.random_range(0..10_000_000_000u64)),
                    driver_team: TEAMS[i % TEAMS.len()].to_owned(),
                    car_model,
                    car_skin,
                }
            } else {
                Entry {
                    driver_name: String::new(),
                    driver_guid: String::new(),
                    driver_team: String::new(),
                    car_model,
                    car_skin,
                }
            }
        })
        .collect()
}

/// Start of the simulated calendar, used for results file names. A fixed date (not the wall
/// clock) keeps the event stream reproducible.
const EPOCH: time::PrimitiveDateTime = time::PrimitiveDateTime::new(
    match time::Date::from_calendar_date(2026, time::Month::November, 22) {
        Ok(d) => d,
        Err(_) => panic!("2026-11-22 is a date"),
    },
    match time::Time::from_hms(10, 0, 0) {
        Ok(t) => t,
        Err(_) => panic!("10:00 is a time"),
    },
);

/// The results path the stock server reports in END_SESSION, e.g.
/// `results/2026_11_22_10_30_RACE.json` (fields not zero-padded, as in the real capture's
/// `results/2016_7_24_22_52_QUALIFY.json`), for a session ending `server_ms` after the start.
pub(crate) fn results_filename(kind: &str, server_ms: u64) -> String {
    let minutes = i64::try_from(server_ms / 60_000).unwrap_or(i64::MAX);
    // Past the calendar's last year (9999, some 4 billion minutes on) the date stays at its end.
    let t = EPOCH.checked_add(time::Duration::minutes(minutes)).unwrap_or(time::PrimitiveDateTime::MAX);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    format!("results/{y}_{m}_{d}_{}_{}_{kind}.json", t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn results_names_follow_the_calendar() {
        assert_eq!(results_filename("RACE", 30 * 60_000), "results/2026_11_22_10_30_RACE.json");
        assert_eq!(results_filename("PRACTICE", 0), "results/2026_11_22_10_0_PRACTICE.json");
        // 14 h later is the next day; 9 days later is the next month; 40 days the next year.
        assert_eq!(results_filename("QUALIFY", 14 * 3_600_000), "results/2026_11_23_0_0_QUALIFY.json");
        assert_eq!(results_filename("RACE", 9 * 86_400_000), "results/2026_12_1_10_0_RACE.json");
        assert_eq!(results_filename("RACE", 40 * 86_400_000), "results/2027_1_1_10_0_RACE.json");
    }

    #[test]
    fn entry_list_has_drivers_then_empty_slots() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let list = entry_list(40, 35, &mut rng);
        assert_eq!(list.len(), 40);
        assert_eq!(list[0].driver_name, "Alex Marino");
        assert_eq!(list[34].driver_name, "Driver 35");
        assert!(list[35].driver_name.is_empty() && list[35].driver_guid.is_empty());
        assert!(!list[35].car_model.is_empty());
        assert!(list[..35].iter().all(|e| e.driver_guid.len() == 17 && e.driver_guid.starts_with("7656119")));
    }
}
